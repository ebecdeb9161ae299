//! Running the server (mini-redis style): [`run`] takes an already-bound listener and any shutdown
//! future, so tests bind port 0 and the binary passes ctrl-c/SIGTERM ([`shutdown_signal`]).
//!
//! Shutdown: the signal stops accepting connections and cancels `AppState::shutdown`; in-flight
//! HTTP requests finish (axum's graceful shutdown), each WebSocket session finishes the round it
//! is in, sends its reply and closes with 1001; `run` waits for them up to the grace period.
//! A background task watches for tokens revoked by `kefu admin` (another process) and cuts their
//! live sessions.
//!
//! Leaves out: routes (`http/`), configuration parsing (`config.rs`), logging setup
//! (`telemetry.rs`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kefu_core::ids::Timestamp;
use tokio::net::TcpListener;

use crate::http::{AppState, app};
use crate::sessions::Sessions;
use crate::storage::Storage;

/// Serves `state` on `listener` until `shutdown` completes, then drains within `grace`.
pub async fn run(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    revocation_poll: Duration,
    grace: Duration,
) -> anyhow::Result<()> {
    let token = state.shutdown.clone();
    let watcher = tokio::spawn(watch_revocations(
        Arc::clone(&state.storage),
        Arc::clone(&state.sessions),
        revocation_poll,
        token.clone(),
    ));
    let tasks = state.tasks.clone();
    let signal_token = token.clone();
    let router = app(state);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight rounds");
            signal_token.cancel();
        })
        .await?;
    token.cancel();
    tasks.close();
    if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
        tracing::warn!(grace_s = grace.as_secs(), "sync sessions still open after the grace period");
    }
    watcher.abort();
    tracing::info!("stopped");
    Ok(())
}

/// A future that completes on ctrl-c or SIGTERM. The handlers are installed when this is called,
/// not when the future is first polled: a SIGTERM right after `listening on` is logged must
/// already be a graceful shutdown, not the default of dying on the spot.
#[cfg(unix)]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
    })
}

/// A future that completes on ctrl-c.
#[cfg(not(unix))]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Polls for revocations and cancels the revoked devices' live sessions. Every round also
/// re-checks its device, so this only matters for idle open sockets; the poll makes those close
/// within one interval instead of at their next frame.
async fn watch_revocations(
    storage: Arc<dyn Storage>,
    sessions: Arc<Sessions>,
    every: Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    // Revocations before start cannot have live sessions here (they fail authentication).
    let mut since = Timestamp::now();
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = interval.tick() => {}
        }
        let storage = Arc::clone(&storage);
        let query_since = since;
        match tokio::task::spawn_blocking(move || storage.revoked_since(query_since)).await {
            Ok(Ok(revoked)) => {
                for (device, at) in revoked {
                    since = since.max(at);
                    let n_sessions = sessions.revoke(device);
                    if n_sessions > 0 {
                        tracing::info!(device_id = %device, n_sessions, "revoked device: closing its sessions");
                    }
                }
            }
            Ok(Err(err)) => tracing::error!(error = %err, "cannot read revocations"),
            Err(err) => tracing::error!(error = %err, "revocation poll panicked"),
        }
    }
}
