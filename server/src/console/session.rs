//! Who is asking: browser sessions (an HttpOnly, SameSite=Strict cookie whose SHA-256 is stored),
//! their CSRF token, the throttle on failed sign-ins, and [`Scope`], the one team a request may
//! read, for the console's pages and the `/v1` JSON API alike.
//!
//! - A session cookie is 32 random bytes; the database keeps only their hash, so a leaked
//!   database signs nobody in. Sessions last [`SESSION_HOURS`] and end at sign-out.
//! - Every state-changing request of a session carries its CSRF token (form field `csrf` or
//!   header `x-csrf-token`), compared in constant time; the cookie is also SameSite=Strict, and
//!   a cross-origin `Origin` is refused before anything else.
//! - Device tokens (`Authorization: Bearer`) still reach the `/v1` API, never the pages: a staff
//!   token is refused by both, and pasted into the sign-in form it is refused as a password.
//! - A supervisor's scope is their team; asking for another (`?team=`) is 403. An admin may
//!   name any team.
//!
//! Leaves out: the pages themselves (`pages.rs`) and password hashing (`users.rs`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use kefu_core::ids::Timestamp;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::Role;
use crate::http::{ApiError, AppState, authenticate};
use crate::storage::WebSessionRecord;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "kefu_session";

/// How long a session lasts from sign-in.
pub const SESSION_HOURS: i64 = 12;

/// Failed sign-ins of one name within [`THROTTLE_WINDOW`] before it is locked.
pub const MAX_FAILURES: u32 = 5;

/// The window failures are counted in, and how long a locked name stays locked.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The team a request reads, and who is reading.
#[derive(Clone, Debug)]
pub struct Scope {
    /// The team's row id.
    pub team_id: i64,
    /// Its name.
    pub team_name: String,
    /// The signed-in session, if the request came from a browser (not a device token).
    pub session: Option<WebSessionRecord>,
    /// The device whose token made the request, if a token did.
    pub device: Option<kefu_core::ids::DeviceId>,
}

impl Scope {
    /// Who acts, as decisions and corrections record it: the user's name, or the device's tag.
    pub fn actor(&self) -> String {
        match (&self.session, self.device) {
            (Some(session), _) => session.user.name.clone(),
            (None, Some(device)) => format!("device {}", device.short_tag()),
            (None, None) => "unknown".to_string(),
        }
    }
}

#[derive(Deserialize)]
struct TeamParam {
    team: Option<String>,
}

/// The SHA-256 of a cookie value: what the database keys sessions by.
pub fn cookie_hash(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// The request's live session, if its cookie names one.
pub async fn session_of(state: &AppState, headers: &HeaderMap) -> Result<Option<WebSessionRecord>, ApiError> {
    let Some(value) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let hash = cookie_hash(value);
    let storage = Arc::clone(&state.storage);
    Ok(tokio::task::spawn_blocking(move || storage.web_session(&hash, Timestamp::now()))
        .await
        .map_err(|err| ApiError::Internal(err.to_string()))??)
}

/// The scope of a request: a device token if it sends one (supervisor or admin), else its
/// session; `?team=` picks another team, for admins only.
pub async fn scope_of(state: &AppState, parts: &Parts, tokens_allowed: bool) -> Result<Scope, ApiError> {
    let requested = Query::<TeamParam>::try_from_uri(&parts.uri).ok().and_then(|Query(param)| param.team);
    let requested = requested.filter(|team| !team.is_empty());
    if tokens_allowed && parts.headers.contains_key(header::AUTHORIZATION) {
        let principal = authenticate(state, &parts.headers).await?;
        if !principal.role.reads_team_cases() {
            return Err(ApiError::Forbidden { role: principal.role.code() });
        }
        let own = team_name(state, principal.team_id).await?;
        if let Some(team) = requested.filter(|team| *team != own) {
            return Err(ApiError::OtherTeam { team });
        }
        return Ok(Scope { team_id: principal.team_id, team_name: own, session: None, device: Some(principal.device) });
    }
    let Some(session) = session_of(state, &parts.headers).await? else {
        return Err(ApiError::Auth(crate::auth::AuthError::Missing));
    };
    let user = &session.user;
    let (team_id, team_name) = match requested {
        Some(team) if team != user.team_name => {
            if user.role != Role::Admin {
                return Err(ApiError::OtherTeam { team });
            }
            let storage = Arc::clone(&state.storage);
            let name = team.clone();
            let found = tokio::task::spawn_blocking(move || storage.team_by_name(&name))
                .await
                .map_err(|err| ApiError::Internal(err.to_string()))??;
            let found = found.ok_or_else(|| ApiError::NotFound {
                code: "team.not_found",
                message: format!("no team {:?}", team.chars().take(64).collect::<String>()),
            })?;
            (found.id, found.name)
        }
        _ => (user.team_id, user.team_name.clone()),
    };
    Ok(Scope { team_id, team_name, session: Some(session), device: None })
}

async fn team_name(state: &AppState, team_id: i64) -> Result<String, ApiError> {
    let storage = Arc::clone(&state.storage);
    let teams = tokio::task::spawn_blocking(move || storage.teams())
        .await
        .map_err(|err| ApiError::Internal(err.to_string()))??;
    teams
        .into_iter()
        .find(|team| team.id == team_id)
        .map(|team| team.name)
        .ok_or_else(|| ApiError::Internal(format!("team {team_id} of a device does not exist")))
}

/// A reader of the `/v1` API: a supervisor or admin device token, or a signed-in session.
pub struct ApiScope(pub Scope);

impl FromRequestParts<AppState> for ApiScope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(ApiScope(scope_of(state, parts, true).await?))
    }
}

/// Refuses a request from another origin (a page elsewhere posting to the console).
pub fn check_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok()) else { return Ok(()) };
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    if origin_host != host {
        return Err(ApiError::Csrf { reason: format!("the request comes from another origin ({origin})") });
    }
    Ok(())
}

/// Checks a state-changing request of `session`: same origin, and its CSRF token.
pub fn check_csrf(session: &WebSessionRecord, headers: &HeaderMap, form_token: Option<&str>) -> Result<(), ApiError> {
    check_origin(headers)?;
    let sent = form_token.or_else(|| headers.get("x-csrf-token").and_then(|value| value.to_str().ok()));
    let Some(sent) = sent else {
        return Err(ApiError::Csrf { reason: "the request carries no CSRF token".into() });
    };
    if !bool::from(sent.as_bytes().ct_eq(session.csrf.as_bytes())) {
        return Err(ApiError::Csrf { reason: "the CSRF token does not match this session".into() });
    }
    Ok(())
}

/// The throttle on failed sign-ins, per user name, counted in the database so that every process
/// serving it (PostgreSQL) and a restarted one share the count. A name with [`MAX_FAILURES`]
/// failures in [`THROTTLE_WINDOW`] is refused, right password or not, until the window ends.
/// That also lets anyone lock a known name for 15 minutes: the price of stopping password
/// guessing without CAPTCHAs.
pub mod throttle {
    use std::time::Duration;

    use kefu_core::ids::Timestamp;

    use super::{MAX_FAILURES, THROTTLE_WINDOW};
    use crate::storage::{Storage, StorageError};

    fn key(name: &str) -> String {
        name.trim().to_lowercase()
    }

    fn window_ms() -> i64 {
        i64::try_from(THROTTLE_WINDOW.as_millis()).unwrap_or(i64::MAX)
    }

    /// How long `name` stays locked at `now`, if it is.
    pub fn locked(storage: &dyn Storage, name: &str, now: Timestamp) -> Result<Option<Duration>, StorageError> {
        Ok(storage.sign_in_failures(&key(name))?.and_then(|(failures, since)| {
            let left = window_ms() - (now.0 - since.0);
            (failures >= MAX_FAILURES && left > 0).then(|| Duration::from_millis(left.unsigned_abs()))
        }))
    }

    /// Counts a failed sign-in of `name`.
    pub fn failed(storage: &dyn Storage, name: &str, now: Timestamp) -> Result<(), StorageError> {
        storage.sign_in_failed(&key(name), now, window_ms())
    }

    /// Forgets the failures of `name` after it signed in.
    pub fn succeeded(storage: &dyn Storage, name: &str) -> Result<(), StorageError> {
        storage.sign_in_succeeded(&key(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Storage;

    #[test]
    fn a_name_is_locked_after_five_failures_until_the_window_ends() {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::storage::SqliteStorage::open(&dir.path().join("kefu.db")).unwrap();
        let start = Timestamp(1_800_000_000_000);
        let window = i64::try_from(THROTTLE_WINDOW.as_millis()).unwrap();
        for _ in 0..MAX_FAILURES {
            assert_eq!(throttle::locked(&storage, "Wang.Li", start).unwrap(), None);
            throttle::failed(&storage, "wang.li", start).unwrap();
        }
        let wait = throttle::locked(&storage, "WANG.LI ", Timestamp(start.0 + 1_000)).unwrap();
        assert_eq!(wait, Some(THROTTLE_WINDOW - Duration::from_secs(1)), "names are compared case-insensitively");
        assert_eq!(throttle::locked(&storage, "zhao", start).unwrap(), None, "only that name is locked");
        let later = Timestamp(start.0 + window);
        assert_eq!(throttle::locked(&storage, "wang.li", later).unwrap(), None, "the lock ends with the window");
        throttle::failed(&storage, "wang.li", later).unwrap();
        assert_eq!(storage.sign_in_failures("wang.li").unwrap(), Some((1, later)), "a new window counts afresh");
        throttle::failed(&storage, "zhao", start).unwrap();
        throttle::succeeded(&storage, "Zhao").unwrap();
        assert_eq!(storage.sign_in_failures("zhao").unwrap(), None);
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, "kefu_lang=en; kefu_session=abc".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "kefu_lang"), Some("en"));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
