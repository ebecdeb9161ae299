//! The console's HTML pages: sign-in and sign-out, the case board, one case, the duty logs with
//! their handover, and the monthly figures with a 12-month chart. Each page is an askama
//! template (`server/templates/`), escaped by default, filled from the same functions as the
//! `/v1` API. Pages need a signed-in session; without one they redirect to the sign-in form.
//!
//! Leaves out: exports (`export.rs`), the live feed (`events.rs`), sessions (`session.rs`).

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Datelike, Months, NaiveDate};
use kefu_core::case::{CaseKind, Status};
use kefu_core::duty_log::{DutyLogDoc, DutyShift, duty_log_id};
use kefu_core::ids::Timestamp;
use serde::Deserialize;

use super::i18n::{LANG_COOKIE, Lang, TEXTS};
use super::session::{
    SESSION_COOKIE, SESSION_HOURS, Scope, check_csrf, check_origin, cookie, cookie_hash, scope_of, throttle,
};
use super::users::verify_password;
use crate::auth::Role;
use crate::http::cases::{
    CaseDto, CaseSummaryDto, CountsDto, ListQuery, MonthlyDto, list_cases, monthly_figures, one_case,
};
use crate::http::{ApiError, AppState};
use crate::storage::UserRecord;

/// What every page's frame shows.
pub struct Page {
    /// The page's language.
    pub lang: Lang,
    /// The other language's cookie value, for the switch.
    pub other_lang: &'static str,
    /// The signed-in user.
    pub user: String,
    /// The team shown.
    pub team: String,
    /// Every team, for an admin's picker; empty for supervisors.
    pub teams: Vec<String>,
    /// `?team=<name>` for an admin viewing a team, else empty: appended to links.
    pub team_query: String,
    /// The session's CSRF token, for forms.
    pub csrf: String,
}

impl Page {
    /// A time of the API as the page shows it (see [`short_time`]).
    pub fn time(&self, time: &str) -> String {
        short_time(time)
    }
}

/// A signed-in page request: its scope and frame. Without a session it redirects to sign-in.
pub struct Console {
    pub(super) scope: Scope,
    pub(super) page: Page,
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = Lang::of(&parts.headers);
        let scope = match scope_of(state, parts, false).await {
            Ok(scope) => scope,
            Err(ApiError::Auth(_)) => return Err(Redirect::to("/console/sign-in").into_response()),
            Err(err) => return Err(error_page(lang, &err)),
        };
        let session = scope.session.as_ref().expect("pages are reached through sessions only");
        let teams = if session.user.role == Role::Admin {
            let storage = Arc::clone(&state.storage);
            tokio::task::spawn_blocking(move || storage.teams())
                .await
                .map_err(|err| error_page(lang, &ApiError::Internal(err.to_string())))?
                .map_err(|err| error_page(lang, &err.into()))?
                .into_iter()
                .map(|team| team.name)
                .collect()
        } else {
            Vec::new()
        };
        let team_query = if session.user.role == Role::Admin && scope.team_name != session.user.team_name {
            format!("?team={}", url_encode(&scope.team_name))
        } else {
            String::new()
        };
        let page = Page {
            lang,
            other_lang: if lang == Lang::Zh { "en" } else { "zh" },
            user: session.user.name.clone(),
            team: scope.team_name.clone(),
            teams,
            team_query,
            csrf: session.csrf.clone(),
        };
        Ok(Console { scope, page })
    }
}

/// Percent-encodes a query value.
pub(super) fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A failed page: the error's status with its message as a small HTML page.
pub(super) fn error_page(lang: Lang, err: &ApiError) -> Response {
    let (status, code) = err.status_and_code();
    if status.is_server_error() {
        tracing::error!(error = %err, "page failed");
    }
    let message = if status.is_server_error() { "internal server error".to_string() } else { err.to_string() };
    let body = format!(
        "<!doctype html><html lang=\"{}\"><meta charset=\"utf-8\"><title>{}</title><p class=\"error\" data-code=\"{code}\">{}</p><p><a href=\"/console/cases\">{}</a></p></html>",
        lang.code(),
        status.as_u16(),
        escape(&message),
        lang.t("nav.cases")
    );
    (status, Html(body)).into_response()
}

/// HTML-escapes text for the few strings written outside templates.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub(super) fn render(template: &impl Template, lang: Lang) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => error_page(lang, &ApiError::Internal(format!("template: {err}"))),
    }
}

/// The label texts a page's script needs, as JSON.
fn labels_json(lang: Lang) -> String {
    let map: serde_json::Map<String, serde_json::Value> =
        TEXTS.iter().map(|(key, _, _)| ((*key).to_string(), lang.t(key).into())).collect();
    // `</` cannot end the script element early.
    serde_json::Value::Object(map).to_string().replace("</", "<\\/")
}

/// `2026-11-03T09:30:00.000+08:00` as `2026-11-03 09:30` (the page states the team's zone).
pub fn short_time(time: impl AsRef<str>) -> String {
    let time = time.as_ref();
    time.get(..16).map_or_else(|| time.to_string(), |head| head.replace('T', " "))
}

pub async fn home() -> Redirect {
    Redirect::to("/console/cases")
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    lang: Lang,
    other_lang: &'static str,
    error: Option<String>,
    name: String,
}

fn sign_in_page(lang: Lang, status: StatusCode, error: Option<String>, name: String) -> Response {
    let other_lang = if lang == Lang::Zh { "en" } else { "zh" };
    let mut response = render(&SignInPage { lang, other_lang, error, name }, lang);
    *response.status_mut() = status;
    response
}

pub async fn sign_in_form(headers: HeaderMap) -> Response {
    sign_in_page(Lang::of(&headers), StatusCode::OK, None, String::new())
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct SignInForm {
    name: String,
    password: String,
}

/// How a sign-in attempt ended.
enum SignIn {
    User(UserRecord),
    /// The name is locked for this long.
    Throttled(std::time::Duration),
    /// A device token was offered as a name or password.
    Token,
    Failed,
}

/// `POST /console/sign-in`: checks the throttle and the password (argon2) on the blocking pool,
/// starts a session.
pub async fn sign_in(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<SignInForm>) -> Response {
    let lang = Lang::of(&headers);
    if let Err(err) = check_origin(&headers) {
        return error_page(lang, &err);
    }
    let name: String = form.name.trim().chars().take(64).collect();
    let password: String = form.password.chars().take(super::users::MAX_PASSWORD_CHARS + 1).collect();
    // A device token is never a password, whoever's it is.
    let token = form.password.starts_with("kefu_") || form.name.starts_with("kefu_");
    let storage = Arc::clone(&state.storage);
    let lookup = name.clone();
    let checked = tokio::task::spawn_blocking(move || -> Result<SignIn, ApiError> {
        let now = Timestamp::now();
        if let Some(wait) = throttle::locked(storage.as_ref(), &lookup, now)? {
            return Ok(SignIn::Throttled(wait));
        }
        if token {
            throttle::failed(storage.as_ref(), &lookup, now)?;
            return Ok(SignIn::Token);
        }
        let user = storage.user_by_name(&lookup)?;
        // An unknown name costs a hash too, so timing does not tell which names exist.
        let ok = verify_password(&password, user.as_ref().map_or(DUMMY_HASH.as_str(), |user| user.password.as_str()));
        match user.filter(|_| ok) {
            Some(user) => {
                throttle::succeeded(storage.as_ref(), &lookup)?;
                Ok(SignIn::User(user))
            }
            None => {
                throttle::failed(storage.as_ref(), &lookup, now)?;
                Ok(SignIn::Failed)
            }
        }
    })
    .await;
    let user = match checked {
        Ok(Ok(SignIn::User(user))) => user,
        Ok(Ok(SignIn::Throttled(wait))) => {
            tracing::warn!(user = %name, "sign-in throttled");
            let message = format!("{}{}", lang.t("sign_in.throttled"), wait.as_secs().max(1));
            let mut response = sign_in_page(lang, StatusCode::TOO_MANY_REQUESTS, Some(message), name);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
            return response;
        }
        Ok(Ok(SignIn::Token)) => {
            tracing::warn!(user = %name, "sign-in with a device token refused");
            return sign_in_page(lang, StatusCode::UNAUTHORIZED, Some(lang.t("sign_in.token")), name);
        }
        Ok(Ok(SignIn::Failed)) => {
            tracing::warn!(user = %name, "sign-in failed");
            return sign_in_page(lang, StatusCode::UNAUTHORIZED, Some(lang.t("sign_in.failed")), name);
        }
        Ok(Err(err)) => return error_page(lang, &err),
        Err(err) => return error_page(lang, &ApiError::Internal(err.to_string())),
    };
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let csrf = hex::encode(rand::random::<[u8; 32]>());
    let started = Timestamp::now();
    let expires = started.plus_hours(SESSION_HOURS);
    let storage = Arc::clone(&state.storage);
    let hash = cookie_hash(&secret);
    let stored =
        tokio::task::spawn_blocking(move || storage.insert_web_session(&hash, user.id, &csrf, started, expires)).await;
    match stored {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return error_page(lang, &err.into()),
        Err(err) => return error_page(lang, &ApiError::Internal(err.to_string())),
    }
    tracing::info!(user = %name, "signed in");
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        SESSION_HOURS * 3600
    );
    let mut response = Redirect::to("/console/cases").into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("ascii cookie"));
    response
}

/// The hash of a random password, verified against when the name is unknown (same cost as a
/// real check).
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    super::users::hash_password(&hex::encode(rand::random::<[u8; 16]>())).unwrap_or_default()
});

/// The sign-out form's field.
#[derive(Deserialize)]
pub struct CsrfForm {
    pub(super) csrf: Option<String>,
}

/// `POST /console/sign-out`: ends the session (CSRF-checked) and clears the cookie.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    let lang = Lang::of(&headers);
    let session = match super::session::session_of(&state, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return Redirect::to("/console/sign-in").into_response(),
        Err(err) => return error_page(lang, &err),
    };
    if let Err(err) = check_csrf(&session, &headers, form.csrf.as_deref()) {
        tracing::warn!(user = %session.user.name, error = %err, "sign-out refused");
        return error_page(lang, &err);
    }
    let hash = cookie_hash(cookie(&headers, SESSION_COOKIE).unwrap_or(""));
    let storage = Arc::clone(&state.storage);
    match tokio::task::spawn_blocking(move || storage.delete_web_session(&hash)).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return error_page(lang, &err.into()),
        Err(err) => return error_page(lang, &ApiError::Internal(err.to_string())),
    }
    tracing::info!(user = %session.user.name, "signed out");
    let mut response = Redirect::to("/console/sign-in").into_response();
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&clear).expect("ascii cookie"));
    response
}

/// `GET /console/lang/{zh|en}`: remembers the language (a preference, no server state) and goes
/// back to the page the switch was on.
pub async fn switch_language(Path(code): Path<String>, headers: HeaderMap) -> Response {
    let value = match code.as_str() {
        "en" => "en",
        "zh" => "zh",
        _ => {
            return (StatusCode::NOT_FOUND, "unknown language; use /console/lang/zh or /console/lang/en")
                .into_response();
        }
    };
    // Back to the same page of this site only (a path, never another origin).
    let back = headers
        .get(header::REFERER)
        .and_then(|value| value.to_str().ok())
        .and_then(|referer| referer.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|at| &rest[at..]))
        .filter(|path| path.starts_with("/console") && !path.starts_with("//"))
        .unwrap_or("/console/cases")
        .to_string();
    let mut response = Redirect::to(&back).into_response();
    let cookie = format!("{LANG_COOKIE}={value}; SameSite=Lax; Path=/; Max-Age=31536000");
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("ascii cookie"));
    response
}

/// The board's filters as the form shows them back.
#[derive(Default)]
struct Filters {
    q: String,
    status: String,
    kind: String,
    assignee: String,
    department: String,
    from: String,
    to: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    page: Page,
    filters: Filters,
    statuses: Vec<&'static str>,
    kinds: Vec<&'static str>,
    cases: Vec<CaseSummaryDto>,
    error: Option<String>,
    labels_json: String,
}

/// The board's query: the API's filters plus the admin's team (read by the scope).
#[derive(Deserialize)]
pub struct BoardQuery {
    q: Option<String>,
    status: Option<String>,
    kind: Option<String>,
    assignee: Option<String>,
    department: Option<String>,
    from: Option<String>,
    to: Option<String>,
    overdue: Option<String>,
}

/// `GET /console/cases`: the case board with its filters and search.
pub async fn board(
    State(state): State<AppState>,
    Console { scope, page }: Console,
    query: Result<Query<BoardQuery>, QueryRejection>,
) -> Response {
    let lang = page.lang;
    let Ok(Query(query)) = query else {
        return error_page(lang, &ApiError::bad_query("the board's filters are malformed"));
    };
    let blank = |value: &Option<String>| value.clone().filter(|value| !value.is_empty());
    let filters = Filters {
        q: query.q.clone().unwrap_or_default(),
        status: query.status.clone().unwrap_or_default(),
        kind: query.kind.clone().unwrap_or_default(),
        assignee: query.assignee.clone().unwrap_or_default(),
        department: query.department.clone().unwrap_or_default(),
        from: query.from.clone().unwrap_or_default(),
        to: query.to.clone().unwrap_or_default(),
        overdue: query.overdue.as_deref() == Some("true"),
    };
    let list = ListQuery {
        status: blank(&query.status),
        kind: blank(&query.kind),
        assignee: blank(&query.assignee),
        department: blank(&query.department),
        overdue: Some(filters.overdue),
        from: blank(&query.from),
        to: blank(&query.to),
        q: blank(&query.q),
        limit: Some(500),
    };
    let (cases, error) = match list_cases(&state, scope.team_id, list).await {
        Ok(cases) => (cases, None),
        Err(err @ ApiError::BadRequest { .. }) => (Vec::new(), Some(err.to_string())),
        Err(err) => return error_page(lang, &err),
    };
    let template = BoardPage {
        page,
        filters,
        statuses: Status::ALL.iter().map(|status| status.code()).collect(),
        kinds: CaseKind::ALL.iter().map(|kind| kind.code()).collect(),
        cases,
        error,
        labels_json: labels_json(lang),
    };
    render(&template, lang)
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    page: Page,
    case: CaseDto,
    labels_json: String,
}

/// `GET /console/cases/{id}`: one case (by id or number) with its timeline and due times.
pub async fn case_page(
    State(state): State<AppState>,
    Console { scope, page }: Console,
    Path(id): Path<String>,
) -> Response {
    let lang = page.lang;
    match one_case(&state, scope.team_id, &id).await {
        Ok(case) => render(&CasePage { page, case, labels_json: labels_json(lang) }, lang),
        Err(err) => error_page(lang, &err),
    }
}

/// One rate row of the monthly page.
struct RateRow {
    key: &'static str,
    percent: Option<f64>,
    numerator: usize,
    denominator: usize,
}

/// The 12-month chart, laid out in Rust so the template only draws.
struct Chart {
    width: u32,
    height: u32,
    top: u32,
    base: u32,
    bars: Vec<Bar>,
    labels: Vec<(u32, String)>,
}

struct Bar {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    class: &'static str,
    title: String,
}

#[derive(Template)]
#[template(path = "monthly.html")]
struct MonthlyPage {
    page: Page,
    report: MonthlyDto,
    rates: Vec<RateRow>,
    groups: Vec<(&'static str, CountsDto)>,
    chart: Chart,
    team_amp: String,
}

/// `?month=YYYY-MM` of the monthly page and exports (default: this month in the team's time).
#[derive(Deserialize)]
pub struct MonthParam {
    /// `YYYY-MM`.
    pub month: Option<String>,
}

/// The first day of the month asked for.
pub fn month_of(state: &AppState, param: Option<&str>) -> Result<NaiveDate, ApiError> {
    match param.filter(|month| !month.is_empty()) {
        Some(month) => NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").map_err(|_| {
            ApiError::bad_query(format!("month {:?} is not like 2026-03", month.chars().take(64).collect::<String>()))
        }),
        None => {
            let today = Timestamp::now().to_utc().with_timezone(&state.report_offset).date_naive();
            Ok(today.with_day(1).expect("day 1"))
        }
    }
}

/// The figures of the 12 months ending with `last`, oldest first.
pub async fn last_12_months(state: &AppState, team_id: i64, last: NaiveDate) -> Result<Vec<MonthlyDto>, ApiError> {
    let mut months = Vec::with_capacity(12);
    for back in (0..12).rev() {
        let first =
            last.checked_sub_months(Months::new(back)).ok_or_else(|| ApiError::bad_query("month out of range"))?;
        months.push(monthly_figures(state, team_id, first).await?);
    }
    Ok(months)
}

fn chart(months: &[MonthlyDto]) -> Chart {
    let (width, height, top, base) = (720, 200, 10, 180);
    let slot = (width - 40) / 12;
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (at, month) in months.iter().enumerate() {
        let x = 40 + slot * at as u32;
        for (offset, class, rate) in
            [(4, "handling", &month.handling_rate), (4 + slot / 2 - 4, "timeliness", &month.timeliness_rate)]
        {
            let percent = rate.percent.unwrap_or(0.0).clamp(0.0, 100.0);
            let bar_height = ((base - top) as f64 * percent / 100.0).round() as u32;
            bars.push(Bar {
                x: x + offset,
                y: base - bar_height,
                width: slot / 2 - 6,
                height: bar_height,
                class,
                title: format!(
                    "{} {class}: {}",
                    month.month,
                    rate.percent.map_or_else(|| "-".to_string(), |percent| format!("{percent} %"))
                ),
            });
        }
        labels.push((x + 4, month.month.get(2..).unwrap_or(&month.month).to_string()));
    }
    Chart { width, height, top, base, bars, labels }
}

/// `GET /console/monthly?month=`: the month's four rates with their counts, and the chart.
pub async fn monthly(
    State(state): State<AppState>,
    Console { scope, page }: Console,
    Query(param): Query<MonthParam>,
) -> Response {
    let lang = page.lang;
    let first = match month_of(&state, param.month.as_deref()) {
        Ok(first) => first,
        Err(err) => return error_page(lang, &err),
    };
    let months = match last_12_months(&state, scope.team_id, first).await {
        Ok(months) => months,
        Err(err) => return error_page(lang, &err),
    };
    let chart = chart(&months);
    let report = months.into_iter().last().expect("12 months");
    let rate = |key, rate: &crate::http::cases::RateDto| RateRow {
        key,
        percent: rate.percent,
        numerator: rate.numerator,
        denominator: rate.denominator,
    };
    let rates = vec![
        rate("handling_rate", &report.handling_rate),
        rate("timeliness_rate", &report.timeliness_rate),
        rate("satisfaction_rate", &report.satisfaction_rate),
        rate("return_visit_rate", &report.return_visit_rate),
    ];
    let groups = vec![
        ("all_cases", report.all.clone()),
        ("repairs", report.repairs.clone()),
        ("complaints", report.complaints.clone()),
    ];
    let team_amp = page.team_query.replacen('?', "&", 1);
    render(&MonthlyPage { page, report, rates, groups, chart, team_amp }, lang)
}

/// One handover line on the duty page.
struct HandoverLine {
    case: String,
    label: String,
    note: String,
    by: String,
    at: String,
}

struct EntryLine {
    at: String,
    kind: &'static str,
    text: String,
    by: String,
    case: Option<String>,
    case_label: String,
}

struct ShiftLog {
    shift: &'static str,
    missing: bool,
    weather: String,
    staff: String,
    entries: Vec<EntryLine>,
    handover: Vec<HandoverLine>,
}

#[derive(Template)]
#[template(path = "duty.html")]
struct DutyPage {
    page: Page,
    date: String,
    incoming: Vec<HandoverLine>,
    logs: Vec<ShiftLog>,
}

/// `?date=YYYY-MM-DD` of the duty page (default: today in the team's time).
#[derive(Deserialize)]
pub struct DateParam {
    date: Option<String>,
}

/// `GET /console/duty?date=`: the day's four shift logs, and what the previous night handed over.
pub async fn duty(
    State(state): State<AppState>,
    Console { scope, page }: Console,
    Query(param): Query<DateParam>,
) -> Response {
    let lang = page.lang;
    let date = match param.date.as_deref().filter(|date| !date.is_empty()) {
        Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) => date,
            Err(_) => {
                let short: String = text.chars().take(64).collect();
                return error_page(lang, &ApiError::bad_query(format!("date {short:?} is not like 2026-03-31")));
            }
        },
        None => Timestamp::now().to_utc().with_timezone(&state.report_offset).date_naive(),
    };
    let offset = state.report_offset;
    let storage = Arc::clone(&state.storage);
    let team_id = scope.team_id;
    let loaded = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let load = |date: NaiveDate, shift: DutyShift| -> Result<_, ApiError> {
            let Some(bytes) = storage.load_doc(team_id, &duty_log_id(date, shift))? else { return Ok(None) };
            let log = DutyLogDoc::load(&bytes, storage.server_device())
                .map_err(|err| ApiError::Internal(format!("stored duty log does not load: {err}")))?;
            Ok(Some(log.read()))
        };
        let previous_night = match date.pred_opt() {
            Some(yesterday) => load(yesterday, DutyShift::Night)?,
            None => None,
        };
        let logs = DutyShift::ALL
            .iter()
            .map(|shift| Ok((*shift, load(date, *shift)?)))
            .collect::<Result<Vec<_>, ApiError>>()?;
        // Case numbers for the links, from the index.
        let rows = storage.list_cases(team_id, &crate::storage::CaseQuery { limit: 100_000, ..Default::default() })?;
        let numbers: std::collections::HashMap<String, String> =
            rows.into_iter().map(|row| (row.case_id, row.assigned.unwrap_or(row.provisional))).collect();
        Ok((previous_night, logs, numbers))
    })
    .await;
    let (previous_night, logs, numbers) = match loaded {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(err)) => return error_page(lang, &err),
        Err(err) => return error_page(lang, &ApiError::Internal(err.to_string())),
    };
    let time = |at: Timestamp| short_time(crate::http::cases::local_time(at, offset));
    let label = |case: &str| numbers.get(case).cloned().unwrap_or_else(|| case.to_string());
    let handover = |items: &[kefu_core::duty_log::HandoverItem]| -> Vec<HandoverLine> {
        items
            .iter()
            .map(|item| HandoverLine {
                case: item.case.to_string(),
                label: label(&item.case.to_string()),
                note: item.note.clone(),
                by: item.by.to_string(),
                at: time(item.at),
            })
            .collect()
    };
    let incoming = previous_night.map(|log| handover(&log.handover)).unwrap_or_default();
    let logs = logs
        .into_iter()
        .map(|(shift, log)| match log {
            None => ShiftLog {
                shift: shift.code(),
                missing: true,
                weather: String::new(),
                staff: String::new(),
                entries: Vec::new(),
                handover: Vec::new(),
            },
            Some(log) => ShiftLog {
                shift: shift.code(),
                missing: false,
                weather: log.weather.clone(),
                staff: log.staff.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                entries: log
                    .entries
                    .iter()
                    .map(|entry| EntryLine {
                        at: time(entry.at),
                        kind: entry.kind.code(),
                        text: entry.text.clone(),
                        by: entry.by.to_string(),
                        case: entry.case.map(|case| case.to_string()),
                        case_label: entry.case.map(|case| label(&case.to_string())).unwrap_or_default(),
                    })
                    .collect(),
                handover: handover(&log.handover),
            },
        })
        .collect();
    render(&DutyPage { page, date: date.format("%Y-%m-%d").to_string(), incoming, logs }, lang)
}
