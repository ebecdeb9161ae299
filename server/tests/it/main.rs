//! End-to-end tests of `kefu serve` and `kefu admin`: the real binary in a temp dir, devices as
//! real `CaseStore`s speaking the wire protocol over HTTP and WebSocket.
//!
//! Leaves out: unit-level checks (in each `src/` file) and the device driver crate (kefu-client).

mod admin;
mod browser;
mod console;
mod console_roster;
mod crash;
mod demo;
mod hardening;
mod http_api;
mod import;
mod live;
mod pressure;
mod roster_phones;
mod scale_out;
mod security;
mod staff_requests;
mod supervisor_api;
mod support;
mod sync;
mod tls;
