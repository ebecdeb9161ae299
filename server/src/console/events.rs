//! `GET /console/events`: server-sent events on the server's change feed. Whenever a sync round
//! stores documents of the scope's team (from any device, over WebSocket or HTTP), the stream
//! sends an event `change`; the page then refetches from `/v1`. A keep-alive comment every 15 s
//! keeps proxies from closing an idle stream. The stream ends when the server shuts down.
//!
//! Leaves out: what changed (the page asks the API; the feed only says "something did").

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;

use super::session::ApiScope;
use crate::http::AppState;

/// The change feed of the caller's team (session or supervisor token).
pub async fn stream(State(state): State<AppState>, ApiScope(scope): ApiScope) -> Response {
    let mut changes = state.sessions.subscribe_team(scope.team_id);
    let shutdown = state.shutdown.clone();
    let events = async_stream(move |send| async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                received = changes.recv() => match received {
                    // Missed notices (a slow reader) still mean "something changed".
                    Ok(_) | Err(RecvError::Lagged(_)) => {
                        if send.send(Ok(Event::default().event("change").data("cases"))).await.is_err() {
                            return;
                        }
                    }
                    Err(RecvError::Closed) => return,
                },
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

/// A stream fed by a task through a small channel; the task stops when the client goes away.
pub(super) fn async_stream<F, Fut>(produce: F) -> impl futures_core::Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Event, Infallible>>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (send, receive) = tokio::sync::mpsc::channel(8);
    tokio::spawn(produce(send));
    ReceiverStream(receive)
}

/// An mpsc receiver as a stream.
struct ReceiverStream(tokio::sync::mpsc::Receiver<Result<Event, Infallible>>);

impl futures_core::Stream for ReceiverStream {
    type Item = Result<Event, Infallible>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(context)
    }
}
