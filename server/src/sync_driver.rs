//! The thin driver around the core's sans-IO sync round: limits, authentication checks, decoding,
//! the storage transaction on the blocking pool, metrics, and fan-out notices. Both transports use
//! [`run_round`]; the WebSocket transport also runs [`run_session`], which pushes other devices'
//! changes while the device is connected and ends the session on revocation, idle timeout or
//! server shutdown.
//!
//! Order of a round (DESIGN.md decisions 6–7): rate limit → decode (size-limited) → the device is
//! still not revoked → `Storage::sync_round` (validate on a fork, persist in one fsync'd
//! transaction) → only then encode the reply → notify the team's other sessions.
//!
//! Leaves out: HTTP details (upgrades, status codes: `http/sync.rs`) and the sync rules
//! themselves (`kefu_core::sync::server`).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use kefu_core::ids::{StaffId, Timestamp};
use kefu_core::sync::server::{RoundContext, RoundError};
use kefu_core::sync::session::SessionHeads;
use kefu_core::sync::{Cursor, Message, Push, Refusal, RefusalCode, Reply, decode, encode};
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Principal;
use crate::http::AppState;
use crate::sessions::SessionHandle;

/// How a round ended, for the transport (HTTP status) and metrics.
#[derive(Debug)]
pub enum RoundResult {
    /// A reply to send.
    Reply(Reply),
    /// The whole frame was refused; nothing was stored.
    Refused(Refusal),
}

impl RoundResult {
    /// The frame to send.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            RoundResult::Reply(reply) => encode(&Message::Reply(reply.clone())),
            RoundResult::Refused(refusal) => encode(&Message::Refuse(refusal.clone())),
        }
    }
}

/// WebSocket close code for policy refusals (RFC 6455: 1008 policy violation).
const CLOSE_POLICY: u16 = 1008;
/// WebSocket close code when the server goes away (RFC 6455: 1001 going away).
const CLOSE_GOING_AWAY: u16 = 1001;
/// WebSocket close code for a message too big to process (RFC 6455: 1009).
const CLOSE_TOO_BIG: u16 = 1009;

/// Whether a receive error is the WebSocket's size limit (twice `--max-message-bytes`) rather
/// than a broken connection: the former deserves a `frame.too_large` refusal before closing.
fn is_too_large(err: &axum::Error) -> bool {
    use std::error::Error as _;
    matches!(
        err.source().and_then(|source| source.downcast_ref::<tungstenite::Error>()),
        Some(tungstenite::Error::Capacity(_))
    )
}

/// Runs one round for `principal` on the bytes of one frame.
pub async fn run_round(
    state: &AppState,
    principal: &Principal,
    frame: &[u8],
    transport: &'static str,
    origin: Option<u64>,
    session: &mut SessionHeads,
) -> RoundResult {
    let started = Instant::now();
    state.metrics.bytes.with_label_values(&["in"]).inc_by(frame.len() as u64);
    let result = round_inner(state, principal, frame, origin, session).await;
    let outcome = match &result {
        RoundResult::Reply(reply) => {
            for refused in &reply.refusals {
                state.metrics.refusals.with_label_values(&[refused.refusal.code.code()]).inc();
                tracing::warn!(device_id = %principal.device, doc_id = %refused.id, code = refused.refusal.code.code(), "refused document");
            }
            "ok"
        }
        RoundResult::Refused(refusal) if refusal.code == RefusalCode::Internal => "error",
        RoundResult::Refused(refusal) => {
            state.metrics.refusals.with_label_values(&[refusal.code.code()]).inc();
            tracing::warn!(device_id = %principal.device, code = refusal.code.code(), "refused sync frame");
            "refused"
        }
    };
    state.metrics.rounds.with_label_values(&[transport, outcome]).inc();
    state.metrics.round_seconds.with_label_values(&[transport]).observe(started.elapsed().as_secs_f64());
    result
}

async fn round_inner(
    state: &AppState,
    principal: &Principal,
    frame: &[u8],
    origin: Option<u64>,
    session: &mut SessionHeads,
) -> RoundResult {
    if !state.rate.try_acquire(principal.device, Instant::now()) {
        return RoundResult::Refused(Refusal::new(
            RefusalCode::RateLimited,
            "too many sync rounds from this device; wait a moment and sync again",
        ));
    }
    let push = match decode(frame, state.limits.max_message_bytes) {
        Ok(Message::Push(push)) => push,
        Ok(_) => return RoundResult::Refused(Refusal::new(RefusalCode::Malformed, "expected a push frame")),
        Err(err) => return RoundResult::Refused(err.refusal()),
    };
    execute(state, principal, push, origin, session, false).await
}

/// The storage part of a round (also used for fan-out pulls, which have no frame). `session` is
/// what the connection delivered so far; it comes back with this round's reply added.
async fn execute(
    state: &AppState,
    principal: &Principal,
    push: Push,
    origin: Option<u64>,
    session: &mut SessionHeads,
    fan_out: bool,
) -> RoundResult {
    let storage = Arc::clone(&state.storage);
    let principal_for_task = principal.clone();
    let utc_offset_minutes = state.report_offset.local_minus_utc() / 60;
    let limits = (state.limits.max_docs_per_round, state.limits.max_updates_per_reply);
    let mut heads = std::mem::take(session);
    let round = tokio::task::spawn_blocking(move || {
        // Checked inside the round's task so a revocation committed before this instant is seen
        // even by a session opened earlier (the session's poll may not have fired yet).
        let record = match storage.device(principal_for_task.device) {
            Ok(Some(record)) if record.revoked_at.is_none() => record,
            Ok(_) => return (Err(RoundError::Refused(revoked())), heads),
            Err(err) => return (Err(RoundError::Storage(err.to_string())), heads),
        };
        let ctx = RoundContext {
            server_device: storage.server_device(),
            server_nonce: rand::random(),
            seal_key: storage.seal_key(),
            device: principal_for_task.device,
            staff: record.staff.as_deref().and_then(|staff| StaffId::new(staff).ok()),
            supervises: record.role != crate::auth::Role::Staff,
            now: Timestamp::now(),
            utc_offset_minutes,
            max_docs: limits.0,
            max_updates: limits.1,
            fan_out,
        };
        let result = storage.sync_round(principal_for_task.team_id, principal_for_task.device, &push, &ctx, &mut heads);
        (result, heads)
    });
    // The blocking task cannot be stopped; past the limit it is left to finish (or fail) on its
    // own and the device resends, which is safe: a round that commits late acks nothing twice.
    // What the session had delivered is forgotten with it (`session` stays empty): safe too.
    let Ok(outcome) = tokio::time::timeout(state.limits.round_timeout, round).await else {
        tracing::error!(device_id = %principal.device, timeout_s = state.limits.round_timeout.as_secs(), "sync round timed out");
        return RoundResult::Refused(Refusal::new(
            RefusalCode::Internal,
            "the server could not finish this sync in time; nothing was lost, try again",
        ));
    };
    let outcome = match outcome {
        Ok((result, heads)) => {
            *session = heads;
            Ok(result)
        }
        Err(join_error) => Err(join_error),
    };
    match outcome {
        Ok(Ok(outcome)) => {
            if outcome.stored_any {
                state.sessions.notify_team(principal.team_id, origin);
            }
            RoundResult::Reply(outcome.reply)
        }
        Ok(Err(RoundError::Refused(refusal))) => RoundResult::Refused(refusal),
        Ok(Err(RoundError::Storage(message))) => {
            tracing::error!(device_id = %principal.device, error = %message, "sync round failed in storage");
            RoundResult::Refused(internal())
        }
        Err(join_error) => {
            tracing::error!(device_id = %principal.device, error = %join_error, "sync round panicked");
            RoundResult::Refused(internal())
        }
    }
}

fn revoked() -> Refusal {
    Refusal::new(RefusalCode::Revoked, "this device's token was revoked; ask an administrator for a new one")
}

fn internal() -> Refusal {
    Refusal::new(RefusalCode::Internal, "the server could not finish this sync; nothing was lost, try again")
}

/// Drives one WebSocket session until the device leaves, is revoked, idles out, or the server
/// shuts down. A round in progress always finishes and its reply is sent before the session ends.
/// The caller instruments it with the `sync_session{team_id, device_id, conn_id}` span.
pub async fn run_session(state: AppState, principal: Principal, mut socket: WebSocket, mut handle: SessionHandle) {
    state.metrics.connections.inc();
    // The device's position in the team's sequence, known after its first push; pushes of
    // others' changes start only then.
    let mut cursor: Option<Cursor> = None;
    // What this connection delivered: fan-outs send only what is new since (see SessionHeads).
    let mut delivered = SessionHeads::default();
    // Only frames from the device count as activity: pushes to it do not keep a dead link open.
    let mut idle_deadline = tokio::time::Instant::now() + state.limits.idle_timeout;
    let close = loop {
        tokio::select! {
            biased;
            () = handle.revoked.cancelled() => {
                let _ = send(&state, &mut socket, encode(&Message::Refuse(revoked()))).await;
                break Some((CLOSE_POLICY, RefusalCode::Revoked.code()));
            }
            () = state.shutdown.cancelled() => {
                break Some((CLOSE_GOING_AWAY, "server.shutdown"));
            }
            received = socket.recv() => {
                idle_deadline = tokio::time::Instant::now() + state.limits.idle_timeout;
                let frame = match received {
                    Some(Ok(WsMessage::Binary(bytes))) => bytes,
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                    Some(Ok(WsMessage::Text(_))) => {
                        let refusal = Refusal::new(RefusalCode::Malformed, "sync frames are binary");
                        state.metrics.refusals.with_label_values(&[refusal.code.code()]).inc();
                        if send(&state, &mut socket, encode(&Message::Refuse(refusal))).await.is_err() { break None; }
                        continue;
                    }
                    Some(Err(err)) if is_too_large(&err) => {
                        let refusal = Refusal::new(
                            RefusalCode::TooLarge,
                            format!("frame exceeds {} bytes", state.limits.max_message_bytes),
                        );
                        state.metrics.refusals.with_label_values(&[refusal.code.code()]).inc();
                        tracing::warn!(code = refusal.code.code(), "refused oversized WebSocket frame");
                        let _ = send(&state, &mut socket, encode(&Message::Refuse(refusal))).await;
                        // The rest of the frame is still on the wire and cannot be skipped.
                        break Some((CLOSE_TOO_BIG, RefusalCode::TooLarge.code()));
                    }
                    Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break None,
                };
                let result = run_round(&state, &principal, &frame, "ws", Some(handle.conn_id), &mut delivered).await;
                if let RoundResult::Reply(reply) = &result {
                    cursor = Some(reply.cursor);
                }
                if send(&state, &mut socket, result.encode()).await.is_err() {
                    break None;
                }
                // Fatal refusals end the session (transport contract): nothing the device sends
                // on this connection can succeed.
                if let RoundResult::Refused(refusal) = &result
                    && matches!(refusal.code, RefusalCode::Revoked | RefusalCode::ProtocolVersion)
                {
                    break Some((CLOSE_POLICY, refusal.code.code()));
                }
            }
            notice = handle.team_changes.recv() => {
                let from_self = matches!(notice, Ok(notice) if notice.origin == Some(handle.conn_id));
                if matches!(notice, Err(RecvError::Closed)) || from_self {
                    continue;
                }
                let Some(known) = cursor else { continue };
                // A pull round: no documents, the session's cursor. Lagged notices are
                // coalesced into this one pull, which catches up on everything anyway.
                let started = Instant::now();
                let pull = Push { cursor: known, ..Push::default() };
                let result = execute(&state, &principal, pull, Some(handle.conn_id), &mut delivered, true).await;
                state.metrics.round_seconds.with_label_values(&["fanout"]).observe(started.elapsed().as_secs_f64());
                match result {
                    RoundResult::Reply(reply) if reply.updates.is_empty() && reply.cursor == known => {}
                    RoundResult::Reply(reply) => {
                        state.metrics.rounds.with_label_values(&["fanout", "ok"]).inc();
                        cursor = Some(reply.cursor);
                        if send(&state, &mut socket, encode(&Message::Reply(reply))).await.is_err() {
                            break None;
                        }
                    }
                    RoundResult::Refused(refusal) => {
                        state.metrics.rounds.with_label_values(&["fanout", "refused"]).inc();
                        if refusal.code == RefusalCode::Revoked {
                            let _ = send(&state, &mut socket, encode(&Message::Refuse(refusal))).await;
                            break Some((CLOSE_POLICY, RefusalCode::Revoked.code()));
                        }
                    }
                }
            }
            () = tokio::time::sleep_until(idle_deadline) => {
                state.metrics.refusals.with_label_values(&["conn.idle_timeout"]).inc();
                break Some((CLOSE_POLICY, "conn.idle_timeout"));
            }
        }
    };
    if let Some((code, reason)) = close {
        tracing::debug!(reason, "closing sync session");
        let _ = socket.send(WsMessage::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
    }
    state.metrics.connections.dec();
}

async fn send(state: &AppState, socket: &mut WebSocket, frame: Vec<u8>) -> Result<(), axum::Error> {
    state.metrics.bytes.with_label_values(&["out"]).inc_by(frame.len() as u64);
    socket.send(WsMessage::Binary(frame.into())).await
}
