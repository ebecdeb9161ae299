//! `GET /v1/openapi.json`: the OpenAPI 3.1 description of the `/v1` API, written by hand in
//! `server/assets/openapi.json` and embedded in the binary. A test checks every `/v1` route of
//! the router is described in it.
//!
//! Leaves out: generating it from the handlers (the DTOs are few; a derive crate was not worth it).

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as shipped.
pub const DOCUMENT: &str = include_str!("../../assets/openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
