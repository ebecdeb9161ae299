//! A live sync session over the `/v1/sync` WebSocket: local changes go out as the
//! app makes them, other devices' changes come in as the server pushes them.
//!
//! One push is in flight at a time; the server answers pushes in order and may send
//! unsolicited replies in between, which are applied as answers to an empty push.
//! Anything unacknowledged when the session ends stays pending in the store.

use futures_util::{SinkExt, StreamExt};
use kefu_core::sync::{Message, Push, decode, encode};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};

use crate::{ClientConfig, ClientError, SharedStore, with_store};

const MAX_FRAME_BYTES: usize = 256 << 20;

/// Runs a live session until `shutdown` resolves or the connection ends.
///
/// `local_change` is notified by the app (`notify_one`, which keeps the signal if the
/// session is busy) after it edits the store; `on_change` is
/// called with the ids of documents that arrived from the server.
pub async fn live(
    config: &ClientConfig,
    store: SharedStore,
    local_change: &Notify,
    on_change: impl Fn(&[String]),
    shutdown: impl Future<Output = ()>,
) -> Result<(), ClientError> {
    let url = format!("{}/v1/sync", config.base_url.replacen("http", "ws", 1));
    let offline = |reason: String| ClientError::Offline { url: url.clone(), reason };
    let mut request = url.as_str().into_client_request().map_err(|err| offline(err.to_string()))?;
    let bearer = format!("Bearer {}", config.token).parse().map_err(|_| ClientError::Protocol("token".into()))?;
    request.headers_mut().insert("authorization", bearer);
    let tls = tokio_tungstenite::Connector::Rustls(crate::tls::rustls_config(config)?);
    let connect = tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(tls));
    let (mut socket, _) = tokio::time::timeout(config.connect_timeout, connect)
        .await
        .map_err(|_| ClientError::Timeout(config.connect_timeout))?
        .map_err(|err| match err {
            tungstenite::Error::Http(response) => offline(format!("server answered {}", response.status())),
            other => offline(other.to_string()),
        })?;
    tokio::pin!(shutdown);
    let mut in_flight: Option<Push> = None;
    let mut wants_push = true;
    loop {
        if wants_push && in_flight.is_none() {
            let push = with_store(&store, |store| store.prepare_push(config.max_docs_per_round))?;
            let frame = encode(&Message::Push(push.clone()));
            socket.send(tungstenite::Message::binary(frame)).await.map_err(|err| offline(err.to_string()))?;
            in_flight = Some(push);
            wants_push = false;
        }
        tokio::select! {
            () = &mut shutdown => {
                let _ = socket.close(None).await;
                return Ok(());
            }
            () = local_change.notified() => wants_push = true,
            incoming = socket.next() => {
                let bytes = match incoming {
                    Some(Ok(tungstenite::Message::Binary(bytes))) => bytes,
                    Some(Ok(tungstenite::Message::Close(_))) | None => return Ok(()),
                    Some(Ok(_)) => continue,
                    Some(Err(err)) => return Err(offline(err.to_string())),
                };
                let reply = match decode(&bytes, MAX_FRAME_BYTES) {
                    Ok(Message::Reply(reply)) => reply,
                    Ok(Message::Refuse(refusal)) => return Err(ClientError::Refused(refusal)),
                    Ok(Message::Push(_)) => return Err(ClientError::Protocol("the server sent a push".into())),
                    Err(err) => return Err(ClientError::Protocol(err.to_string())),
                };
                let cursor = with_store(&store, |store| store.server_cursor())?;
                let answered = in_flight.take().unwrap_or(Push { cursor, docs: Vec::new() });
                let outcome = with_store(&store, |store| store.apply_reply(&answered, &reply))?;
                if !outcome.received.is_empty() {
                    on_change(&outcome.received);
                }
                // More to fetch, or local edits made while the push was in flight.
                let pending = with_store(&store, |store| store.pending_docs())?;
                wants_push |= outcome.more || (pending > 0 && outcome.acked_docs > 0);
            }
        }
    }
}
