//! The HTTP surface: [`app`] builds the axum `Router` (so tests can drive it without a socket),
//! [`AppState`] is what every handler shares.
//!
//! Routes: `/healthz` (the database's file, a read and a committed write, within
//! [`HEALTH_TIMEOUT`]), `/readyz` (healthy and not shutting down: what a load balancer routes
//! by), `/metrics` (Prometheus), `/v1/sync` (WebSocket `GET`, request/response
//! `POST`; binary sync frames), the supervisor reads under `/v1/cases` and `/v1/reports`, and
//! the console's pages under `/console` (`crate::console`).
//! Every request gets an `x-request-id`, an `http_request{method, route, request_id}` span, and an
//! info line `finished processing request` with its status and latency when it is answered.
//!
//! Leaves out: binding, shutdown and background tasks (`server.rs`).

pub mod cases;
mod error;
mod sync;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, State};
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::FixedOffset;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::LatencyUnit;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use error::ApiError;

use crate::limits::{Limits, RateLimiter};
use crate::metrics::Metrics;
use crate::sessions::Sessions;
use crate::storage::Storage;

/// What every handler shares. Cheap to clone (all `Arc`s and tokens).
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub storage: Arc<dyn Storage>,
    /// Protocol and connection limits.
    pub limits: Arc<Limits>,
    /// Exported metrics.
    pub metrics: Arc<Metrics>,
    /// Live WebSocket sessions.
    pub sessions: Arc<Sessions>,
    /// Per-device rate limiter.
    pub rate: Arc<RateLimiter>,
    /// Cancelled when the shutdown signal arrives: `/readyz` answers 503 from then on.
    pub draining: CancellationToken,
    /// Cancelled when the listener closes after the drain period: sessions finish and close.
    pub shutdown: CancellationToken,
    /// A health check is running; another probe does not queue a second one behind it.
    pub health_busy: Arc<AtomicBool>,
    /// Tracks WebSocket sessions, so shutdown waits for their last round.
    pub tasks: TaskTracker,
    /// The team's offset from UTC for monthly figures.
    pub report_offset: FixedOffset,
    /// Session cookies carry `Secure` (the server speaks TLS).
    pub secure_cookies: bool,
    /// The console's roster solves (child processes), the newest per team.
    pub roster_jobs: Arc<crate::console::roster::jobs::Jobs>,
}

impl AppState {
    /// State over `storage` with `limits`.
    pub fn new(storage: Arc<dyn Storage>, limits: Limits, report_offset: FixedOffset) -> Self {
        let rate = Arc::new(RateLimiter::new(limits.rate_per_sec, limits.rate_burst));
        AppState {
            storage,
            limits: Arc::new(limits),
            metrics: Arc::new(Metrics::new()),
            sessions: Arc::new(Sessions::default()),
            rate,
            draining: CancellationToken::new(),
            shutdown: CancellationToken::new(),
            health_busy: Arc::new(AtomicBool::new(false)),
            tasks: TaskTracker::new(),
            report_offset,
            secure_cookies: false,
            roster_jobs: Arc::default(),
        }
    }
}

/// The router of the whole HTTP surface.
pub fn app(state: AppState) -> Router {
    let x_request_id = header::HeaderName::from_static("x-request-id");
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/sync", get(sync::websocket).post(sync::post))
        .route("/v1/cases", get(cases::list))
        .route("/v1/cases/{id}", get(cases::one))
        .route("/v1/reports/monthly", get(cases::monthly))
        .merge(crate::console::routes())
        .fallback(|| async { ApiError::NotFound { code: "route.not_found", message: "no such endpoint".into() } })
        .layer(
            TraceLayer::new_for_http()
                // One line per request at the default level, refusals (401/403/404) included, with
                // its status and latency on the request's span; 5xx are logged as failures too.
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros))
                .make_span_with(|request: &Request<axum::body::Body>| {
                    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
                    let request_id =
                        request.headers().get("x-request-id").and_then(|value| value.to_str().ok()).unwrap_or("");
                    tracing::info_span!(
                        "http_request",
                        method = %request.method(),
                        route,
                        request_id,
                        team_id = tracing::field::Empty,
                        device_id = tracing::field::Empty,
                    )
                }),
        )
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

/// How long `/healthz` waits for the database before answering 503. Below SQLite's 5 s busy
/// timeout, so a database locked by another process is reported rather than waited out.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

async fn healthz(State(state): State<AppState>) -> Response {
    match check_database(&state).await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy: {reason}\n")).into_response(),
    }
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: shutting down\n").into_response();
    }
    match check_database(&state).await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {reason}\n")).into_response(),
    }
}

/// Runs `Storage::health` on the blocking pool within [`HEALTH_TIMEOUT`]; the error is the reason
/// to show. At most one check runs at a time: a database that hangs must not collect a blocked
/// thread per probe.
async fn check_database(state: &AppState) -> Result<(), String> {
    if state.health_busy.swap(true, Ordering::AcqRel) {
        return Err("the previous health check has not finished; the database is slow or stuck".into());
    }
    let storage = Arc::clone(&state.storage);
    let busy = Running(Arc::clone(&state.health_busy));
    let check = tokio::task::spawn_blocking(move || {
        let _running = busy;
        storage.health(kefu_core::ids::Timestamp::now())
    });
    let result = match tokio::time::timeout(HEALTH_TIMEOUT, check).await {
        Ok(Ok(Ok(()))) => return Ok(()),
        Ok(Ok(Err(err))) => err.to_string(),
        Ok(Err(join_error)) => format!("the health check panicked: {join_error}"),
        Err(_) => format!("the database did not answer within {} s", HEALTH_TIMEOUT.as_secs()),
    };
    tracing::error!(reason = %result, "health check failed");
    Err(result)
}

/// Marks a health check as running until dropped, even if the check panics or outlives the
/// request that started it.
struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

/// Authenticates the request's `Authorization` header on the blocking pool and records the
/// device and team on the request span.
pub async fn authenticate(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<crate::auth::Principal, crate::auth::AuthError> {
    let header = headers.get(header::AUTHORIZATION).map(|value| value.to_str().unwrap_or("").to_string());
    let storage = Arc::clone(&state.storage);
    let principal = tokio::task::spawn_blocking(move || crate::auth::authenticate(storage.as_ref(), header.as_deref()))
        .await
        .map_err(|err| crate::auth::AuthError::Storage(crate::storage::StorageError::Corrupt(err.to_string())))??;
    let span = tracing::Span::current();
    span.record("team_id", principal.team_id);
    span.record("device_id", tracing::field::display(principal.device));
    Ok(principal)
}
