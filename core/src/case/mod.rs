//! Case documents: the schema, the typed edit API, status derivation, deadlines
//! and validation. Pure: no IO, no clock, no randomness beyond what callers pass.

mod admit;
pub mod codes;
mod deadline;
mod doc;
pub mod limits;
mod model;
mod number;
pub(crate) mod schema;
pub mod status;
mod validate;

pub use admit::{AdmissionBudget, AdmissionError, Admitted, admit_bytes};
pub use codes::{CaseKind, Channel, FeedbackDirection, Priority, Satisfaction, Service, Status, Tier};
pub use deadline::{Deadline, DeadlineState, Deadlines, REPLY_HOURS, reply_promised};
pub use doc::{CaseDoc, EditContext, EditError, FieldConflict, LoadError, TEXT_ENCODING};
pub(crate) use doc::{check_reloads, decode_guarded, fork_with, receive_validated};
pub use model::{AttachmentRef, Case, CaseEdit, CaseNumber, Customer, EntryBody, EntryId, NewCase, TimelineEntry};
pub use number::{is_server_number, provisional_number};
pub use schema::{CASE_TYPE, SCHEMA_VERSION, SchemaError, SchemaErrors};
pub use status::{CasePolicy, StatusView, TransitionError};
pub use validate::validate_case;
