//! A live sync session over the `/v1/sync` WebSocket: local changes go out as the
//! app makes them, other devices' changes come in as the server pushes them.
//!
//! One push is in flight at a time. Every reply names the round it answers; the
//! server's unsolicited replies (others' changes) carry round 0 and are applied as
//! such, so they are never mistaken for the answer to the push in flight.
//!
//! The session outlives its connections: it pings every
//! [`ClientConfig::heartbeat`] (so the server's idle timeout never closes a phone that
//! only watches), treats a connection silent for two heartbeats as dead, and
//! reconnects with exponential backoff and jitter after any connection ends, until
//! `shutdown` or a refusal that no retry can fix (revoked or unknown token, protocol
//! version). Anything unacknowledged when a connection ends stays pending in the
//! store and goes out on the next one.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kefu_core::sync::{Message, Push, RefusalCode, decode, encode};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{ClientConfig, ClientError, SharedStore, with_store};

const MAX_FRAME_BYTES: usize = 256 << 20;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a running session can tell the app: whether it is connected now, and how
/// many connections it has opened. An app shows the first as "online"; the count
/// tells a test (or a support engineer) whether heartbeats kept one connection up or
/// the session had to reconnect.
#[derive(Debug, Default)]
pub struct LiveStatus {
    connected: AtomicBool,
    connections: AtomicU32,
}

impl LiveStatus {
    /// Whether a connection to the server is open now.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// How many connections the session has opened so far (1 when it never had to
    /// reconnect).
    pub fn connections(&self) -> u32 {
        self.connections.load(Ordering::Relaxed)
    }

    fn set_connected(&self, up: bool) {
        self.connected.store(up, Ordering::Relaxed);
        if up {
            self.connections.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Runs a live session until `shutdown` resolves or the server refuses the device
/// for good.
///
/// `local_change` is notified by the app (`notify_one`, which keeps the signal if the
/// session is busy) after it edits the store; `on_change` is called with the ids of
/// documents that arrived from the server; `status` follows the connection. Returns
/// `Ok` on shutdown while connected; on shutdown while the server cannot be reached,
/// the last connection error.
pub async fn live(
    config: &ClientConfig,
    store: SharedStore,
    local_change: &Notify,
    status: &LiveStatus,
    on_change: impl Fn(&[String]),
    shutdown: impl Future<Output = ()>,
) -> Result<(), ClientError> {
    tokio::pin!(shutdown);
    let mut failures: u32 = 0;
    let mut last_error: Option<ClientError> = None;
    loop {
        let ended = tokio::select! {
            () = &mut shutdown => {
                // Connected at shutdown: a clean end, whatever failed before.
                let up = status.is_connected();
                status.set_connected(false);
                return if up { Ok(()) } else { last_error.map_or(Ok(()), Err) };
            }
            ended = connection(config, &store, local_change, &on_change, &mut failures, status) => ended,
        };
        status.set_connected(false);
        match ended {
            Ended::Fatal(err) => return Err(err),
            Ended::Lost(err) => last_error = err,
        }
        failures = failures.saturating_add(1);
        let wait = backoff(config, failures);
        tokio::select! {
            () = &mut shutdown => return last_error.map_or(Ok(()), Err),
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// How one connection ended.
enum Ended {
    /// Nothing will work on another connection either.
    Fatal(ClientError),
    /// Worth reconnecting; the error, if the connection failed rather than closed.
    Lost(Option<ClientError>),
}

/// The wait before reconnect attempt `failures`: doubling from the minimum to the
/// maximum, with up to half of it added at random so a server's phones do not all
/// return in the same instant after it restarts.
fn backoff(config: &ClientConfig, failures: u32) -> Duration {
    let base = config.reconnect_min.saturating_mul(1 << failures.saturating_sub(1).min(16)).min(config.reconnect_max);
    let jitter = base.mul_f64(rand::random::<f64>() * 0.5);
    base + jitter
}

/// One connection: connect, push, then serve pushes, replies and heartbeats until it ends.
async fn connection(
    config: &ClientConfig,
    store: &SharedStore,
    local_change: &Notify,
    on_change: &impl Fn(&[String]),
    failures: &mut u32,
    status: &LiveStatus,
) -> Ended {
    let url = format!("{}/v1/sync", config.base_url.replacen("http", "ws", 1));
    let offline = |reason: String| ClientError::Offline { url: url.clone(), reason };
    let mut socket = match connect(config, &url).await {
        Ok(socket) => socket,
        Err(err @ ClientError::Refused(_)) => return Ended::Fatal(err),
        Err(err) => return Ended::Lost(Some(err)),
    };
    status.set_connected(true);
    if let Err(err) = with_store(store, |store| crate::bind(store, config)) {
        return Ended::Fatal(err);
    }
    let mut in_flight: Option<Push> = None;
    let mut wants_push = true;
    let mut ping = tokio::time::interval(config.heartbeat);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut silent_since = tokio::time::Instant::now();
    loop {
        if wants_push && in_flight.is_none() {
            let push = match with_store(store, |store| store.prepare_push(config.max_docs_per_round)) {
                Ok(push) => push,
                Err(err) => return Ended::Fatal(err),
            };
            let frame = encode(&Message::Push(push.clone()));
            if let Err(err) = socket.send(tungstenite::Message::binary(frame)).await {
                return Ended::Lost(Some(offline(err.to_string())));
            }
            in_flight = Some(push);
            wants_push = false;
        }
        tokio::select! {
            () = local_change.notified() => wants_push = true,
            _ = ping.tick() => {
                if silent_since.elapsed() > config.heartbeat * 2 {
                    return Ended::Lost(Some(offline("no answer to heartbeats".into())));
                }
                if let Err(err) = socket.send(tungstenite::Message::Ping(Vec::new().into())).await {
                    return Ended::Lost(Some(offline(err.to_string())));
                }
            }
            incoming = socket.next() => {
                silent_since = tokio::time::Instant::now();
                let bytes = match incoming {
                    Some(Ok(tungstenite::Message::Binary(bytes))) => bytes,
                    // The server restarting, or closing a connection it judged idle, is an
                    // ordinary end: come back when it is up.
                    Some(Ok(tungstenite::Message::Close(_))) | None => return Ended::Lost(None),
                    Some(Ok(_)) => continue,
                    Some(Err(err)) => return Ended::Lost(Some(offline(err.to_string()))),
                };
                let reply = match decode(&bytes, MAX_FRAME_BYTES) {
                    Ok(Message::Reply(reply)) => reply,
                    Ok(Message::Refuse(refusal)) => {
                        let fatal = matches!(
                            refusal.code,
                            RefusalCode::Revoked | RefusalCode::Unauthorized | RefusalCode::ProtocolVersion
                        );
                        let err = ClientError::Refused(refusal);
                        return if fatal { Ended::Fatal(err) } else { Ended::Lost(Some(err)) };
                    }
                    Ok(Message::Push(_)) => return Ended::Lost(Some(ClientError::Protocol("the server sent a push".into()))),
                    Err(err) => return Ended::Lost(Some(ClientError::Protocol(err.to_string()))),
                };
                let outcome = if reply.round == 0 {
                    with_store(store, |store| store.apply_unsolicited(&reply))
                } else {
                    match in_flight.take() {
                        Some(push) if push.round == reply.round => with_store(store, |store| store.apply_reply(&push, &reply)),
                        other => {
                            let expected = other.map_or(0, |push| push.round);
                            return Ended::Lost(Some(ClientError::Protocol(format!(
                                "a reply to round {} arrived while round {expected} was in flight",
                                reply.round
                            ))));
                        }
                    }
                };
                let outcome = match outcome {
                    Ok(outcome) => outcome,
                    Err(err) => return Ended::Fatal(err),
                };
                // A reply arrived: the connection works, so the next loss starts the backoff anew.
                *failures = 0;
                if !outcome.received.is_empty() {
                    on_change(&outcome.received);
                }
                // More to fetch, local edits made while the push was in flight, or updates
                // this device could not apply (the server resends from what it reports).
                let pending = match with_store(store, |store| store.pending_docs()) {
                    Ok(pending) => pending,
                    Err(err) => return Ended::Fatal(err),
                };
                wants_push |= outcome.more
                    || !outcome.rejected_updates.is_empty()
                    || (pending > 0 && outcome.acked_docs > 0);
            }
        }
    }
}

/// Opens the WebSocket with the device's token.
async fn connect(config: &ClientConfig, url: &str) -> Result<Socket, ClientError> {
    let offline = |reason: String| ClientError::Offline { url: url.to_string(), reason };
    let mut request = url.into_client_request().map_err(|err| offline(err.to_string()))?;
    let bearer = format!("Bearer {}", config.token).parse().map_err(|_| ClientError::Protocol("token".into()))?;
    request.headers_mut().insert("authorization", bearer);
    let tls = tokio_tungstenite::Connector::Rustls(crate::tls::rustls_config(config)?);
    let connect = tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(tls));
    let (socket, _) = tokio::time::timeout(config.connect_timeout, connect)
        .await
        .map_err(|_| ClientError::Timeout(config.connect_timeout))?
        .map_err(|err| match err {
            tungstenite::Error::Http(response) => {
                let status = response.status();
                let refusal = response.body().as_deref().and_then(|body| match decode(body, MAX_FRAME_BYTES) {
                    Ok(Message::Refuse(refusal)) => Some(refusal),
                    _ => None,
                });
                match refusal {
                    Some(refusal)
                        if matches!(
                            refusal.code,
                            RefusalCode::Revoked | RefusalCode::Unauthorized | RefusalCode::ProtocolVersion
                        ) =>
                    {
                        ClientError::Refused(refusal)
                    }
                    _ => offline(format!("server answered {status}")),
                }
            }
            other => offline(other.to_string()),
        })?;
    Ok(socket)
}
