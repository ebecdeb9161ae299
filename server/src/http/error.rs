//! [`ApiError`]: every failure of the JSON HTTP API, rendered as
//! `{"error":{"code":"case.not_found","message":"..."}}` with its status. Client mistakes say what
//! was wrong; internal failures answer a bare 500 and log the cause (with the request's span, so
//! its `request_id`), never database detail to the client.
//!
//! Leaves out: the sync endpoints, which answer in sync frames (`Refuse`), not JSON (`sync.rs`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::AuthError;
use crate::storage::StorageError;

/// A failed API request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Authentication failed (absent, invalid or revoked token).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The device's role may not use this endpoint.
    #[error("a {role} device cannot read the team's cases; a supervisor or admin token is needed")]
    Forbidden {
        /// The device's role code.
        role: &'static str,
    },
    /// A supervisor (or a device) asked for a team that is not theirs.
    #[error("you may read only your own team's cases, not those of team {team:?}")]
    OtherTeam {
        /// The team asked for.
        team: String,
    },
    /// A state-changing request without the session's CSRF token, or from another origin.
    #[error("refused as a possible cross-site request: {reason}")]
    Csrf {
        /// What was wrong.
        reason: String,
    },
    /// A query parameter or path segment is invalid.
    #[error("{message}")]
    BadRequest {
        /// Stable code, e.g. `query.invalid`.
        code: &'static str,
        /// What was wrong, naming the value.
        message: String,
    },
    /// The thing asked for does not exist in the caller's team.
    #[error("{message}")]
    NotFound {
        /// Stable code, e.g. `case.not_found`.
        code: &'static str,
        /// What was not found.
        message: String,
    },
    /// The request clashes with work under way (a roster already being generated).
    #[error("{message}")]
    Conflict {
        /// Stable code, e.g. `roster.busy`.
        code: &'static str,
        /// What clashes, naming it.
        message: String,
    },
    /// A server fault; details are logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        ApiError::Internal(err.to_string())
    }
}

impl ApiError {
    /// A `query.invalid` error.
    pub fn bad_query(message: impl Into<String>) -> Self {
        ApiError::BadRequest { code: "query.invalid", message: message.into() }
    }

    /// The status and stable code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Auth(AuthError::Missing) => (StatusCode::UNAUTHORIZED, "auth.missing_token"),
            ApiError::Auth(AuthError::Invalid) => (StatusCode::UNAUTHORIZED, "auth.invalid_token"),
            ApiError::Auth(AuthError::Revoked) => (StatusCode::UNAUTHORIZED, "auth.revoked"),
            ApiError::Auth(AuthError::Storage(_)) | ApiError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "server.internal")
            }
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "auth.forbidden_role"),
            ApiError::OtherTeam { .. } => (StatusCode::FORBIDDEN, "auth.other_team"),
            ApiError::Csrf { .. } => (StatusCode::FORBIDDEN, "auth.csrf"),
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::NotFound { code, .. } => (StatusCode::NOT_FOUND, code),
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            "internal server error".to_string()
        } else {
            self.to_string()
        };
        (status, Json(Body { error: Detail { code, message } })).into_response()
    }
}
