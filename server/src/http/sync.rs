//! The sync transports: `GET /v1/sync` upgrades to a WebSocket session (live pushes of other
//! devices' changes), `POST /v1/sync` is one round per request for simple or firewalled clients.
//! Both speak binary sync frames (`kefu_core::sync::encode`/`decode`); failures before a round
//! (authentication, connection limit, oversized body) answer an HTTP status whose body is a
//! `Refuse` frame, so a device reads every refusal the same way.
//!
//! Leaves out: the round and the session loop (`sync_driver.rs`).

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kefu_core::sync::session::SessionHeads;
use kefu_core::sync::{Message, Refusal, RefusalCode, encode};
use tracing::Instrument;

use super::{AppState, authenticate};
use crate::auth::AuthError;
use crate::sync_driver::{RoundResult, run_round, run_session};

/// The HTTP status a refusal travels with (the transport contract in `kefu_core::sync`).
fn status_of(code: RefusalCode) -> StatusCode {
    match code {
        RefusalCode::Unauthorized | RefusalCode::Revoked => StatusCode::UNAUTHORIZED,
        RefusalCode::Forbidden => StatusCode::FORBIDDEN,
        RefusalCode::TooLarge | RefusalCode::TooManyDocs => StatusCode::PAYLOAD_TOO_LARGE,
        RefusalCode::ProtocolVersion => StatusCode::UPGRADE_REQUIRED,
        RefusalCode::RateLimited | RefusalCode::TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
        RefusalCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn frame_response(status: StatusCode, frame: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/octet-stream")], frame).into_response()
}

fn refuse(state: &AppState, refusal: Refusal) -> Response {
    state.metrics.refusals.with_label_values(&[refusal.code.code()]).inc();
    tracing::warn!(code = refusal.code.code(), "refused sync request");
    frame_response(status_of(refusal.code), encode(&Message::Refuse(refusal)))
}

/// Whether reading a body failed because the connection ended early (a phone that lost
/// signal mid-push) rather than at the length limit: the error comes from hyper's reading
/// of the connection, somewhere in the chain.
fn cut_short(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(err) = source {
        if err.downcast_ref::<hyper::Error>().is_some() {
            return true;
        }
        source = err.source();
    }
    false
}

fn auth_refusal(err: AuthError) -> Refusal {
    match err {
        AuthError::Missing | AuthError::Invalid => Refusal::new(RefusalCode::Unauthorized, err.to_string()),
        AuthError::Revoked => Refusal::new(RefusalCode::Revoked, err.to_string()),
        AuthError::Storage(storage) => {
            tracing::error!(error = %storage, "authentication could not read the database");
            Refusal::new(RefusalCode::Internal, "the server could not check the token; try again")
        }
    }
}

/// `POST /v1/sync`: one push in the body, one reply (or refusal) back.
pub async fn post(State(state): State<AppState>, request: Request) -> Response {
    let principal = match authenticate(&state, request.headers()).await {
        Ok(principal) => principal,
        Err(err) => return refuse(&state, auth_refusal(err)),
    };
    let limit = state.limits.max_message_bytes;
    let deadline = state.limits.body_read_timeout;
    // Read at most one byte past the limit, so an oversized body is refused with its own code
    // without being buffered whole; and within the deadline, so a slow sender cannot hold the
    // connection. A late body is an incomplete frame: `frame.malformed` with 408.
    let body = match tokio::time::timeout(deadline, axum::body::to_bytes(request.into_body(), limit + 1)).await {
        Ok(Ok(body)) if body.len() <= limit => body,
        Ok(Err(err)) if cut_short(&err) => {
            let message = "the request body ended before its declared length; sync again";
            return refuse(&state, Refusal::new(RefusalCode::Malformed, message));
        }
        Ok(Ok(_) | Err(_)) => {
            return refuse(&state, Refusal::new(RefusalCode::TooLarge, format!("request body exceeds {limit} bytes")));
        }
        Err(_) => {
            let refusal = Refusal::new(
                RefusalCode::Malformed,
                format!("the request body did not arrive within {} s; sync again", deadline.as_secs()),
            );
            state.metrics.refusals.with_label_values(&[refusal.code.code()]).inc();
            tracing::warn!("sync request body timed out");
            return frame_response(StatusCode::REQUEST_TIMEOUT, encode(&Message::Refuse(refusal)));
        }
    };
    // One round per request: nothing was delivered before it.
    let result = run_round(&state, &principal, &body, "http", None, &mut SessionHeads::default()).await;
    let status = match &result {
        RoundResult::Reply(_) => StatusCode::OK,
        RoundResult::Refused(refusal) => status_of(refusal.code),
    };
    let frame = result.encode();
    state.metrics.bytes.with_label_values(&["out"]).inc_by(frame.len() as u64);
    frame_response(status, frame)
}

/// `GET /v1/sync`: authenticates, reserves a session slot, then upgrades.
pub async fn websocket(State(state): State<AppState>, headers: HeaderMap, upgrade: WebSocketUpgrade) -> Response {
    let principal = match authenticate(&state, &headers).await {
        Ok(principal) => principal,
        Err(err) => return refuse(&state, auth_refusal(err)),
    };
    if state.shutdown.is_cancelled() {
        return refuse(&state, Refusal::new(RefusalCode::Internal, "the server is shutting down; try again shortly"));
    }
    let handle =
        match state.sessions.register(principal.device, principal.team_id, state.limits.max_connections_per_device) {
            Ok(handle) => handle,
            Err(err) => return refuse(&state, Refusal::new(RefusalCode::TooManyConnections, err.to_string())),
        };
    let span = tracing::debug_span!(
        "sync_session",
        team_id = principal.team_id,
        device_id = %principal.device,
        conn_id = handle.conn_id
    );
    // Frames between the limit and twice it reach `decode`, which refuses them with
    // `frame.too_large` and keeps the session; larger ones are never buffered: the session
    // refuses them with `frame.too_large` and closes (`run_session`).
    let max_frame = state.limits.max_message_bytes.saturating_mul(2);
    let tasks = state.tasks.clone();
    upgrade
        .max_message_size(max_frame)
        .max_frame_size(max_frame)
        .on_upgrade(move |socket| tasks.track_future(run_session(state, principal, socket, handle).instrument(span)))
        .into_response()
}
