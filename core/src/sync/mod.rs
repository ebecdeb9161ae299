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

pub mod server;
pub mod wire;

pub use wire::{
    DecodeError, DocAck, DocPush, DocRefusal, DocUpdate, Message, PROTOCOL_VERSION, Push, Refusal, RefusalCode, Reply,
    decode, encode,
};
