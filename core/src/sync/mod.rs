//! The sans-IO sync protocol between devices and the server (DESIGN.md decision 5).
//!
//! - [`wire`]: versioned frames and messages (`Push`, `Reply`, `Refuse`).
//! - [`server`]: the server's half of a round over a [`server::SyncStorage`].
//! - The device's half lives with its storage: [`crate::store::CaseStore::prepare_push`]
//!   and [`crate::store::CaseStore::apply_reply`].
//!
//! One round is one request and one response: the device pushes every document with
//! unacknowledged changes (changes since the heads the server last acknowledged) and
//! its cursor into the server's per-team change sequence; the server answers with
//! acks, refusals and the changes the device lacks. Work and bytes follow what
//! changed: the device finds its dirty documents through an index, the server finds
//! others' changes through its sequence, and neither walks the whole catalogue.
//! Transports (WebSocket, HTTP) and clocks belong to the drivers.
//!
//! # Transport contract (`/v1`, a stability boundary)
//!
//! - `POST /v1/sync`, `Authorization: Bearer <device token>`, body one `Push` frame
//!   (`application/octet-stream`). `200` carries a `Reply` frame. Any other status
//!   carries a `Refuse` frame: `400` malformed, `401` unknown or revoked token,
//!   `403` forbidden, `413` too large or too many documents, `426` protocol version,
//!   `429` rate limited or too many connections, `500` internal.
//! - `GET /v1/sync` upgraded to a WebSocket, same header. Binary messages, one frame
//!   each. The device sends `Push`; the server answers each with a `Reply`, in order,
//!   and also sends unsolicited `Reply` frames (no acks, no refusals) when another
//!   device's commit changes the team's documents; the device applies those as the
//!   answer to an empty push at its current cursor. On a fatal refusal (revoked
//!   token, version) the server sends a `Refuse` frame and closes.

pub mod memory;
pub mod server;
pub mod session;
pub mod wire;

pub use wire::{
    Cursor, DecodeError, DocAck, DocHave, DocPush, DocRefusal, DocUpdate, Message, PROTOCOL_VERSION, Push, Refusal,
    RefusalCode, Reply, decode, encode,
};
