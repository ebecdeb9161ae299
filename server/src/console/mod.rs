//! The supervisor console: server-rendered pages under `/console`, served by `kefu serve` itself
//! (askama templates compiled into the binary, one stylesheet and one small script embedded with
//! `include_str!`; no front-end build, no Node.js).
//!
//! Pages render their first view from the same functions that answer the `/v1` JSON API, and the
//! script refetches `/v1` when the server's change feed (`/console/events`, server-sent events)
//! says the team's documents changed.
//!
//! Modules: [`session`] (cookies, CSRF, throttle, team scope; also used by `/v1`), [`users`]
//! (accounts, argon2), [`i18n`] (zh-CN and English), `pages` (the HTML handlers), `events` (SSE),
//! `export` (CSV and XLSX), `openapi` (the API's description).
//!
//! [`roster`] holds the roster's pages: the team form, generate, the grid, moves, publish, exports.
//! `requests` (leave, 调休 and swap requests decided) and `attendance` (the month's ten-point
//! scale, corrections) serve what the phones send.
//!
//! Leaves out: the JSON API itself (`http/cases.rs`).

mod attendance;
mod events;
mod export;
pub mod i18n;
mod openapi;
mod pages;
mod requests;
pub mod roster;
pub mod session;
pub mod users;

use axum::Router;
use axum::http::header;
use axum::routing::{get, post};

use crate::http::AppState;

/// The console's routes (and `/v1/openapi.json`), to merge into the app's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/console", get(pages::home))
        .route("/console/", get(pages::home))
        .route("/console/sign-in", get(pages::sign_in_form).post(pages::sign_in))
        .route("/console/sign-out", post(pages::sign_out))
        .route("/console/lang/{code}", get(pages::switch_language))
        .route("/console/cases", get(pages::board))
        .route("/console/cases/{id}", get(pages::case_page))
        .route("/console/duty", get(pages::duty))
        .route("/console/monthly", get(pages::monthly))
        .route("/console/monthly.csv", get(export::csv))
        .route("/console/monthly.xlsx", get(export::xlsx))
        .route("/console/events", get(events::stream))
        .route("/console/roster", get(roster::pages::roster))
        .route("/console/roster/team", get(roster::pages::team).post(roster::pages::save_team))
        .route("/console/roster/team/import", post(roster::pages::import_team))
        .route("/console/roster/team.toml", get(roster::pages::team_toml))
        .route("/console/roster/generate", post(roster::pages::generate))
        .route("/console/roster/cancel", post(roster::pages::cancel))
        .route("/console/roster/progress", get(roster::pages::progress))
        .route("/console/roster/move", post(roster::pages::move_shift))
        .route("/console/roster/publish", post(roster::pages::publish))
        .route("/console/roster/print", get(roster::pages::print))
        .route("/console/roster.csv", get(roster::pages::csv))
        .route("/console/roster.xlsx", get(roster::pages::xlsx))
        .route("/console/roster.ics", get(roster::pages::ical))
        .route("/v1/roster", get(roster::pages::v1_roster))
        .route("/console/requests", get(requests::page))
        .route("/console/requests/decide", post(requests::decide_form))
        .route("/v1/requests", get(requests::v1_list))
        .route("/v1/requests/{id}/decision", post(requests::v1_decide))
        .route("/console/attendance", get(attendance::page))
        .route("/console/attendance/record", post(attendance::record_form))
        .route("/v1/attendance", get(attendance::v1_month))
        .route("/v1/attendance/records", post(attendance::v1_record))
        .route(
            "/console/assets/console.css",
            get(|| asset("text/css; charset=utf-8", include_str!("../../assets/console.css"))),
        )
        .route(
            "/console/assets/console.js",
            get(|| asset("text/javascript; charset=utf-8", include_str!("../../assets/console.js"))),
        )
        .route("/v1/openapi.json", get(openapi::document))
}

async fn asset(content_type: &'static str, body: &'static str) -> impl axum::response::IntoResponse {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body)
}
