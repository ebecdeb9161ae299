//! Running the server (mini-redis style): [`run`] takes an already-bound listener and any shutdown
//! future, so tests bind port 0 and the binary passes ctrl-c/SIGTERM ([`shutdown_signal`]).
//!
//! The accept loop is ours rather than `axum::serve`'s because every connection needs limits that
//! `axum::serve` cannot set: at most [`ServeOptions::max_connections`] are open (the rest wait in
//! the kernel's listen backlog, so the process never runs out of file descriptors and `/healthz`
//! is answered as soon as a slot frees); the TLS handshake and each request's headers must arrive
//! within the header timeout, which also closes silent and idle keep-alive connections; a write
//! the peer accepts nothing of for the write-stall timeout fails (so a peer that stops reading
//! cannot pin a response or a WebSocket session); bodies and rounds have their own limits
//! (`Limits`). Connections are HTTP/1.1 only (WebSocket upgrades need it, and one protocol means
//! one set of limits to get right).
//!
//! Shutdown: the signal makes `/readyz` answer 503 for the drain period while requests are still
//! served, then stops accepting and cancels `AppState::shutdown`; in-flight HTTP requests finish,
//! each WebSocket session finishes the round it is in, sends its reply and closes with 1001.
//! `run` waits for them up to the grace period and then drops whatever is still open.
//! A background task watches for tokens revoked by `kefu admin` (another process) and cuts their
//! live sessions.
//!
//! Leaves out: routes (`http/`), configuration parsing (`config.rs`), logging setup
//! (`telemetry.rs`), loading TLS files (`tls.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use kefu_core::ids::Timestamp;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::http::{AppState, app};
use crate::sessions::Sessions;
use crate::storage::Storage;

/// File descriptors kept free of connections: the database (a writer and a reader, each with its
/// WAL and shared-memory files), the listener, stdio, tokio's driver, and room to spare.
const RESERVED_FDS: u64 = 64;

/// How [`run`] serves connections.
#[derive(Clone)]
pub struct ServeOptions {
    /// How often to look for tokens revoked by another process.
    pub revocation_poll: Duration,
    /// How long open connections get to finish after the listener closes.
    pub grace: Duration,
    /// How long `/readyz` answers 503 before the listener closes.
    pub drain: Duration,
    /// Time allowed for the TLS handshake and for each request's headers.
    pub header_read_timeout: Duration,
    /// A connection whose peer accepts no bytes of a pending write for this long is closed.
    pub write_stall_timeout: Duration,
    /// Most open connections (WebSocket sessions included).
    pub max_connections: usize,
    /// Terminate TLS with this acceptor; plain HTTP when `None`.
    pub tls: Option<TlsAcceptor>,
}

/// Raises the soft open-file limit to the hard one and returns how many connections fit under
/// it: `requested`, or fewer when the limit leaves less room (logged, because a connection cap
/// the administrator did not choose should not be a surprise).
pub fn connection_cap(requested: usize) -> usize {
    #[cfg(unix)]
    {
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(soft) => {
                let room = usize::try_from(soft.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX).max(1);
                if room < requested {
                    tracing::warn!(
                        requested,
                        open_file_limit = soft,
                        max_connections = room,
                        "the open-file limit leaves room for fewer connections than --max-connections"
                    );
                }
                requested.min(room)
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the open-file limit; keeping --max-connections");
                requested
            }
        }
    }
    #[cfg(not(unix))]
    {
        requested
    }
}

/// Serves `state` on `listener` until `shutdown` completes, then drains as [`ServeOptions`] says.
pub async fn run(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> anyhow::Result<()> {
    let watcher = tokio::spawn(watch_revocations(
        Arc::clone(&state.storage),
        Arc::clone(&state.sessions),
        options.revocation_poll,
        state.shutdown.clone(),
    ));
    // Signal, then the drain period with `/readyz` failing, then stop accepting.
    let stop_accepting = CancellationToken::new();
    tokio::spawn({
        let draining = state.draining.clone();
        let stop_accepting = stop_accepting.clone();
        let drain = options.drain;
        async move {
            shutdown.await;
            draining.cancel();
            tracing::info!(drain_s = drain.as_secs(), "shutting down: /readyz now answers 503");
            tokio::time::sleep(drain).await;
            stop_accepting.cancel();
        }
    });
    let router = app(state.clone());
    let permits = Arc::new(Semaphore::new(options.max_connections));
    let mut connections = JoinSet::new();
    loop {
        // A slot first: over the cap, connections wait in the listen backlog, costing no descriptor.
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => permit.expect("the semaphore is never closed"),
            () = stop_accepting.cancelled() => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(err) => {
                    // Out of descriptors or memory: wait for connections to close instead of spinning.
                    tracing::error!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stop_accepting.cancelled() => break,
        };
        connections.spawn(serve_connection(stream, permit, router.clone(), options.clone(), state.shutdown.clone()));
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    tracing::info!("shutting down: finishing in-flight rounds");
    state.shutdown.cancel();
    state.tasks.close();
    let finished = tokio::time::timeout(options.grace, async {
        while connections.join_next().await.is_some() {}
        state.tasks.wait().await;
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            grace_s = options.grace.as_secs(),
            open_connections = connections.len(),
            "connections still open after the grace period are dropped"
        );
        connections.abort_all();
    }
    watcher.abort();
    tracing::info!("stopped");
    Ok(())
}

/// One connection: the TLS handshake (if any) within the header timeout, then HTTP/1.1 with the
/// header timeout on every request; on shutdown, the request in flight finishes and the
/// connection closes.
async fn serve_connection(
    stream: TcpStream,
    permit: OwnedSemaphorePermit,
    router: axum::Router,
    options: ServeOptions,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    // The permit travels with the socket, into a WebSocket session after an upgrade too, and is
    // released when the socket is dropped.
    let stream = Guarded::new(stream, permit, options.write_stall_timeout);
    match &options.tls {
        None => serve_http(stream, router, options.header_read_timeout, shutdown).await,
        Some(acceptor) => match tokio::time::timeout(options.header_read_timeout, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => serve_http(stream, router, options.header_read_timeout, shutdown).await,
            Ok(Err(err)) => tracing::debug!(error = %err, "TLS handshake failed"),
            Err(_) => tracing::debug!("TLS handshake not finished within the header timeout"),
        },
    }
}

async fn serve_http<I>(io: I, router: axum::Router, header_read_timeout: Duration, shutdown: CancellationToken)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout).keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(router)).with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        // Timeouts and clients that go away are routine; they are counted, not alarming.
        tracing::debug!(error = %err, "connection ended with an error");
    }
}

/// A server socket that holds a connection slot until it is dropped, and fails a write the peer
/// accepts no byte of for `write_stall`: a peer that stops reading would otherwise hold a
/// response, or a WebSocket session blocked in `send`, open for ever.
struct Guarded<I> {
    io: I,
    _permit: OwnedSemaphorePermit,
    write_stall: Duration,
    // Started when a write first finds the socket full; cleared by any progress.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<I> Guarded<I> {
    fn new(io: I, permit: OwnedSemaphorePermit, write_stall: Duration) -> Self {
        Guarded { io, _permit: permit, write_stall, stalled: None }
    }

    /// Called when a write is pending: pending too until the stall limit, then the error.
    fn poll_stall<T>(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<T>> {
        let write_stall = self.write_stall;
        let sleep = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(write_stall)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("the peer accepted no bytes for {write_stall:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progress<T>(&mut self, result: Poll<std::io::Result<T>>, cx: &mut Context<'_>) -> Poll<std::io::Result<T>> {
        match result {
            Poll::Pending => self.poll_stall(cx),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Guarded<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Guarded<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write(cx, buf);
        self.progress(result, cx)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let result = Pin::new(&mut self.io).poll_flush(cx);
        self.progress(result, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let result = Pin::new(&mut self.io).poll_shutdown(cx);
        self.progress(result, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.progress(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
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
    stop: CancellationToken,
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_peer_that_stops_reading_fails_the_write_and_the_slot_is_freed() {
        let slots = Arc::new(Semaphore::new(1));
        let permit = Arc::clone(&slots).acquire_owned().await.unwrap();
        // The far end never reads; its buffer holds 16 bytes.
        let (near, _far) = tokio::io::duplex(16);
        let mut socket = Guarded::new(near, permit, Duration::from_millis(50));
        assert_eq!(slots.available_permits(), 0);
        socket.write_all(&[1; 16]).await.unwrap();
        let err = tokio::time::timeout(Duration::from_secs(30), socket.write_all(&[2; 1024]))
            .await
            .expect("the stall limit ends the write")
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(err.to_string(), "the peer accepted no bytes for 50ms");
        drop(socket);
        assert_eq!(slots.available_permits(), 1);
    }
}
