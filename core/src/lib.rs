//! kefu-core: the case log that floor and field staff edit offline.
//!
//! - [`case`]: one automerge document per case behind a typed API ([`case::CaseDoc`],
//!   [`case::CaseEdit`], [`case::Case`]); status derived from events; deadlines;
//!   schema validation for documents from elsewhere. Pure: no IO, no clock.
//! - [`duty_log`]: one document per shift (值班记录) with its handover list.
//! - [`roster`]: published rosters as documents the server writes and phones read offline.
//! - [`request`]: leave, 调休 and swap requests made on phones and decided by supervisors;
//!   the monthly allowance of four days.
//! - [`attendance`]: check-ins, corrections and recorded faults; the month's ten-point score.
//! - [`report`]: the monthly figures (处理率, 及时率, 满意率, 回访率) from a set of cases.
//! - [`store`]: [`store::CaseStore`], the device's durable store of documents with an
//!   index for listing and search. The only module here that does IO.
//! - [`ids`]: identifiers and [`ids::Timestamp`].
//! - [`realistic`]: cases shaped like the field's, for benchmarks and load runs.
//!
//! See ARCHITECTURE.md for the document layout, the merge and status rules and the
//! store format.

pub mod attendance;
pub mod case;
pub mod duty_log;
pub mod ids;
pub mod realistic;
pub mod report;
pub mod request;
pub mod roster;
pub mod store;
pub mod sync;
