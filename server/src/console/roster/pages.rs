//! The roster pages and their actions: the team form (with TOML import and export), the roster
//! grid with its violations, generate / progress / cancel, a shift moved by hand and re-checked,
//! publish, and the exports (CSV, XLSX, iCal, print view).
//!
//! Every POST checks the session's CSRF token first, and every change is validated in full
//! before anything is stored: a refused one changes nothing and says which field is at fault.
//!
//! Leaves out: the form's TOML (`form.rs`), the solver child (`jobs.rs`), the layout (`grid.rs`).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use kefu_core::ids::Timestamp;
use kefu_solver::export::Lang as SolverLang;
use kefu_solver::model::LeaveKind;
use kefu_solver::output::{self, OutcomeJson};
use kefu_solver::roster::DayOff;
use kefu_solver::{Roster, RosterProblem, SolveOutcome, Status};
use serde::Deserialize;

use super::super::events::async_stream;
use super::super::i18n::Lang;
use super::super::pages::{Console, Page, error_page, render, short_time};
use super::super::session::{ApiScope, check_csrf};
use super::document::Publication;
use super::form::{self, TeamForm};
use super::grid::{self, Week};
use super::jobs::{JobState, MAX_TIME_LIMIT, Refusal, SolveRequest};
use super::layout;
use super::leave;
use crate::http::cases::local_time;
use crate::http::{ApiError, AppState};
use crate::storage::{PublishedDoc, RosterRecord, TeamFileRecord};

/// Largest team file accepted (import or form): a 300-person centre's file is far smaller.
pub const MAX_TEAM_BYTES: usize = 512 * 1024;

/// Runs storage work on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|err| ApiError::Internal(err.to_string()))?
}

pub(crate) fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest { code, message: message.into() }
}

/// The session of a page request (pages are reached through sessions only).
pub(crate) fn user(console: &Console) -> String {
    console.scope.session.as_ref().map(|session| session.user.name.clone()).unwrap_or_default()
}

/// Refuses a POST without the session's CSRF token.
pub(crate) fn csrf(console: &Console, headers: &HeaderMap, token: Option<&str>) -> Result<(), ApiError> {
    let session = console.scope.session.as_ref().ok_or(ApiError::Auth(crate::auth::AuthError::Missing))?;
    check_csrf(session, headers, token).inspect_err(|err| {
        tracing::warn!(user = %session.user.name, error = %err, "roster change refused");
    })
}

/// A 303 to `path` with the admin's `?team=` (if any) and `extra` query parameters.
pub(crate) fn see_other(path: &str, team_query: &str, extra: &str) -> Response {
    let joiner = if team_query.is_empty() { "?" } else { "&" };
    let query = if extra.is_empty() { team_query.to_string() } else { format!("{team_query}{joiner}{extra}") };
    let query = if query.is_empty() || query.starts_with('?') { query } else { format!("?{query}") };
    Redirect::to(&format!("{path}{query}")).into_response()
}

fn solver_lang(lang: Lang) -> SolverLang {
    if lang == Lang::Zh { SolverLang::Zh } else { SolverLang::En }
}

// ---------------------------------------------------------------------------------------------
// The team form

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    page: Page,
    file: Option<TeamFileRecord>,
    form: TeamForm,
    warnings: Vec<String>,
    import_error: Option<String>,
    import_text: String,
    saved: bool,
    saved_at: String,
}

/// `?saved=1` after a save.
#[derive(Deserialize)]
pub struct SavedParam {
    saved: Option<String>,
}

/// The team's newest file and its form.
async fn current_team(state: &AppState, team_id: i64) -> Result<(Option<TeamFileRecord>, TeamForm), ApiError> {
    let storage = Arc::clone(&state.storage);
    let file = blocking(move || Ok(storage.team_file(team_id, None)?)).await?;
    let form = match &file {
        Some(file) => form::form_of(&file.toml)
            .map_err(|err| ApiError::Internal(format!("stored team file does not parse: {err}")))?,
        None => TeamForm::default(),
    };
    Ok((file, form))
}

impl TeamPage {
    /// The page of the team's newest file with `form` (the stored one, or a refused edit).
    fn new(state: &AppState, page: Page, file: Option<TeamFileRecord>, form: TeamForm) -> TeamPage {
        let saved_at = file.as_ref().map(|file| time_text(file.saved_at, state)).unwrap_or_default();
        let warnings = file
            .as_ref()
            .and_then(|file| kefu_solver::parse_team(&file.toml).ok())
            .map(|problem| problem.warnings.iter().map(|warning| warning.text(solver_lang(page.lang))).collect())
            .unwrap_or_default();
        TeamPage { page, file, form, warnings, import_error: None, import_text: String::new(), saved: false, saved_at }
    }

    fn respond(&self, status: StatusCode) -> Response {
        let mut response = render(self, self.page.lang);
        if response.status().is_success() {
            *response.status_mut() = status;
        }
        response
    }
}

/// `GET /console/roster/team`: the team's roster input as a form.
pub async fn team(
    State(state): State<AppState>,
    console: Console,
    query: Result<Query<SavedParam>, QueryRejection>,
) -> Response {
    let lang = console.page.lang;
    let (file, form) = match current_team(&state, console.scope.team_id).await {
        Ok(found) => found,
        Err(err) => return error_page(lang, &err),
    };
    let mut template = TeamPage::new(&state, console.page, file, form);
    template.saved = query.is_ok_and(|Query(param)| param.saved.is_some());
    template.respond(StatusCode::OK)
}

/// `POST /console/roster/team`: the form, written as TOML and checked by the solver's parser;
/// stored as a new version only if it passes.
pub async fn save_team(
    State(state): State<AppState>,
    console: Console,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let lang = console.page.lang;
    let Ok(Form(pairs)) = form else {
        return error_page(lang, &invalid("form.malformed", "the team form is malformed (not a url-encoded form)"));
    };
    let token = pairs.iter().find(|(name, _)| name == "csrf").map(|(_, value)| value.as_str());
    if let Err(err) = csrf(&console, &headers, token) {
        return error_page(lang, &err);
    }
    let (file, stored_form) = match current_team(&state, console.scope.team_id).await {
        Ok(found) => found,
        Err(err) => return error_page(lang, &err),
    };
    if file.is_none() {
        return error_page(lang, &invalid("team.missing", "the team has no team file yet: import one first"));
    }
    let mut shown = stored_form.with_values(&pairs);
    let written = match form::write(&pairs) {
        Ok(written) => written,
        Err(err) => {
            shown.attach_field(&err, solver_lang(lang));
            return TeamPage::new(&state, console.page, file, shown).respond(StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    if written.toml.len() > MAX_TEAM_BYTES {
        shown.error = Some(format!("the team file would be {} bytes; at most {MAX_TEAM_BYTES}", written.toml.len()));
        return TeamPage::new(&state, console.page, file, shown).respond(StatusCode::UNPROCESSABLE_ENTITY);
    }
    if let Err(err) = kefu_solver::parse_team(&written.toml) {
        shown.attach(&written, &err, solver_lang(lang));
        tracing::info!(team = %console.scope.team_name, error = %err, "team form refused");
        return TeamPage::new(&state, console.page, file, shown).respond(StatusCode::UNPROCESSABLE_ENTITY);
    }
    let stored = file.map(|file| file.toml).unwrap_or_default();
    let kept = layout::keep_comments(&stored, &written.toml);
    // Comments never push a file past the limit the form's own text met.
    store_team(&state, &console, if kept.len() > MAX_TEAM_BYTES { written.toml } else { kept }).await
}

async fn store_team(state: &AppState, console: &Console, toml: String) -> Response {
    let (storage, team_id, by) = (Arc::clone(&state.storage), console.scope.team_id, user(console));
    let saved = blocking(move || Ok(storage.save_team_file(team_id, &toml, &by, Timestamp::now())?)).await;
    match saved {
        Ok(version) => {
            tracing::info!(team = %console.scope.team_name, version, user = %user(console), "team file saved");
            see_other("/console/roster/team", &console.page.team_query, "saved=1")
        }
        Err(err) => error_page(console.page.lang, &err),
    }
}

/// The import form's fields.
#[derive(Deserialize)]
pub struct ImportForm {
    csrf: Option<String>,
    toml: String,
}

/// `POST /console/roster/team/import`: a whole team file, stored if the solver's parser accepts
/// it; otherwise the error (line, column, entry) is shown next to the text.
pub async fn import_team(
    State(state): State<AppState>,
    console: Console,
    headers: HeaderMap,
    form: Result<Form<ImportForm>, FormRejection>,
) -> Response {
    let lang = console.page.lang;
    let Ok(Form(import)) = form else {
        return error_page(lang, &invalid("form.malformed", "the import form needs a field `toml`"));
    };
    if let Err(err) = csrf(&console, &headers, import.csrf.as_deref()) {
        return error_page(lang, &err);
    }
    let refusal = if import.toml.len() > MAX_TEAM_BYTES {
        Some(format!("toml: the team file is {} bytes; at most {MAX_TEAM_BYTES}", import.toml.len()))
    } else {
        kefu_solver::parse_team(&import.toml).err().map(|err| format!("toml: {}", err.text(solver_lang(lang))))
    };
    let Some(message) = refusal else { return store_team(&state, &console, import.toml).await };
    let (file, form) = match current_team(&state, console.scope.team_id).await {
        Ok(found) => found,
        Err(err) => return error_page(lang, &err),
    };
    let mut template = TeamPage::new(&state, console.page, file, form);
    template.import_error = Some(message);
    template.import_text = import.toml.chars().take(MAX_TEAM_BYTES).collect();
    template.respond(StatusCode::UNPROCESSABLE_ENTITY)
}

/// `GET /console/roster/team.toml`: the team's newest team file.
pub async fn team_toml(State(state): State<AppState>, ApiScope(scope): ApiScope) -> Result<Response, ApiError> {
    let (storage, team_id) = (Arc::clone(&state.storage), scope.team_id);
    let file = blocking(move || Ok(storage.team_file(team_id, None)?))
        .await?
        .ok_or_else(|| ApiError::NotFound { code: "team.missing", message: "the team has no team file yet".into() })?;
    Ok(attachment("application/toml; charset=utf-8", &format!("team-v{}.toml", file.version), file.toml.into_bytes()))
}

// ---------------------------------------------------------------------------------------------
// The roster

/// A stored roster with what it needs to be shown: its team file, parsed, and the roster read.
pub(crate) struct Loaded {
    pub(crate) record: RosterRecord,
    pub(crate) problem: RosterProblem,
    pub(crate) outcome: OutcomeJson,
    pub(crate) roster: Roster,
}

/// `?version=` of the roster pages and exports (default: the newest).
#[derive(Deserialize)]
pub struct VersionParam {
    version: Option<String>,
    view: Option<String>,
    staff: Option<String>,
}

/// A `version` parameter: `None` (the newest) when absent or empty, else a positive number.
/// The roster version a change form names, once its CSRF token is checked: what the move and
/// publish forms both start with.
fn checked_version(
    console: &Console,
    headers: &HeaderMap,
    token: Option<&str>,
    version: &str,
) -> Result<i64, ApiError> {
    csrf(console, headers, token)?;
    version_of(Some(version))?.ok_or_else(|| invalid("form.invalid", "version: missing"))
}

fn version_of(param: Option<&str>) -> Result<Option<i64>, ApiError> {
    match param.filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse::<i64>().ok().filter(|version| *version > 0).map(Some).ok_or_else(|| {
            invalid(
                "query.invalid",
                format!("version {:?} is not a roster version", text.chars().take(32).collect::<String>()),
            )
        }),
    }
}

/// Roster `version` (or the newest) of the team with its team file; `None` when the team has no
/// roster, 404 when the version asked for does not exist in the team.
pub(crate) async fn load(state: &AppState, team_id: i64, version: Option<i64>) -> Result<Option<Loaded>, ApiError> {
    let storage = Arc::clone(&state.storage);
    blocking(move || {
        let Some(record) = storage.roster(team_id, version)? else {
            return match version {
                Some(version) => Err(ApiError::NotFound {
                    code: "roster.not_found",
                    message: format!("the team has no roster version {version}"),
                }),
                None => Ok(None),
            };
        };
        let file = storage
            .team_file(team_id, Some(record.team_version))?
            .ok_or_else(|| ApiError::Internal(format!("team file {} of a roster is missing", record.team_version)))?;
        let problem = kefu_solver::parse_team(&file.toml)
            .map_err(|err| ApiError::Internal(format!("stored team file does not parse: {err}")))?;
        let outcome: OutcomeJson = serde_json::from_str(&record.roster_json)
            .map_err(|err| ApiError::Internal(format!("stored roster does not read: {err}")))?;
        let roster = output::read_roster_json(&problem, &record.roster_json)
            .map_err(|err| ApiError::Internal(format!("stored roster does not read: {err}")))?;
        Ok(Some(Loaded { record, problem, outcome, roster }))
    })
    .await
}

/// One violation as listed.
struct ViolationLine {
    rule: String,
    at: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "roster.html")]
struct RosterPage {
    page: Page,
    has_team: bool,
    job: Option<JobState>,
    roster: Option<RosterView>,
    versions: Vec<RosterRecord>,
    by_post: bool,
    team_amp: String,
}

/// What the page shows of one roster.
struct RosterView {
    version: i64,
    team_version: i64,
    status: String,
    made_by: String,
    made_at: String,
    published: Option<(String, String)>,
    violations: Vec<ViolationLine>,
    weeks: Vec<Week>,
    staff: Vec<(String, String)>,
    dates: Vec<String>,
}

#[derive(Template)]
#[template(path = "roster_print.html")]
struct PrintPage {
    page: Page,
    team_name: String,
    roster: RosterView,
}

/// A stored time as the pages show it, in the team's offset.
fn time_text(at: Timestamp, state: &AppState) -> String {
    short_time(local_time(at, state.report_offset))
}

fn view(loaded: Loaded, lang: Lang, state: &AppState) -> RosterView {
    let weeks = grid::weeks(&loaded.problem, &loaded.roster, &loaded.outcome.violations, solver_lang(lang));
    let record = loaded.record;
    RosterView {
        version: record.version,
        team_version: record.team_version,
        status: loaded.outcome.status,
        made_by: record.made_by,
        made_at: time_text(record.made_at, state),
        published: record.published.map(|(by, at)| (by, time_text(at, state))),
        violations: loaded
            .outcome
            .violations
            .iter()
            .map(|v| ViolationLine {
                rule: v.rule.clone(),
                at: v.at.clone(),
                detail: v.detail_in(solver_lang(lang)).to_owned(),
            })
            .collect(),
        weeks,
        staff: loaded.problem.staff.iter().map(|staff| (staff.id.clone(), staff.name.clone())).collect(),
        dates: loaded.problem.days.iter().map(ToString::to_string).collect(),
    }
}

/// `GET /console/roster?version=&view=person|post`: a roster as a grid with its violations, the
/// generate box, hand moves, publish and exports.
pub async fn roster(
    State(state): State<AppState>,
    console: Console,
    query: Result<Query<VersionParam>, QueryRejection>,
) -> Response {
    let Console { scope, page } = console;
    let lang = page.lang;
    let Ok(Query(param)) = query else {
        return error_page(lang, &invalid("query.invalid", "the roster page's query is malformed"));
    };
    let version = match version_of(param.version.as_deref()) {
        Ok(version) => version,
        Err(err) => return error_page(lang, &err),
    };
    let team_id = scope.team_id;
    let storage = Arc::clone(&state.storage);
    let listed = blocking(move || Ok((storage.team_file(team_id, None)?.is_some(), storage.roster_versions(team_id)?)));
    let ((has_team, versions), loaded) = match tokio::try_join!(listed, load(&state, team_id, version)) {
        Ok(found) => found,
        Err(err) => return error_page(lang, &err),
    };
    let roster = loaded.map(|loaded| view(loaded, lang, &state));
    let job = state.roster_jobs.job(team_id).map(|job| job.state());
    let team_amp = page.team_query.replacen('?', "&", 1);
    let by_post = param.view.as_deref() == Some("post");
    render(&RosterPage { page, has_team, job, roster, versions, by_post, team_amp }, lang)
}

/// `GET /console/roster/print?version=`: the roster for paper, A4 landscape, a page per week.
pub async fn print(
    State(state): State<AppState>,
    Console { scope, page }: Console,
    query: Result<Query<VersionParam>, QueryRejection>,
) -> Response {
    let lang = page.lang;
    let version = match query
        .map_err(|_| invalid("query.invalid", "malformed query"))
        .and_then(|Query(param)| version_of(param.version.as_deref()))
    {
        Ok(version) => version,
        Err(err) => return error_page(lang, &err),
    };
    match load(&state, scope.team_id, version).await {
        Ok(Some(loaded)) => {
            render(&PrintPage { page, team_name: scope.team_name, roster: view(loaded, lang, &state) }, lang)
        }
        Ok(None) => error_page(lang, &no_roster()),
        Err(err) => error_page(lang, &err),
    }
}

/// The generate form's fields.
#[derive(Deserialize)]
pub struct GenerateForm {
    csrf: Option<String>,
    time_limit: Option<String>,
}

/// `POST /console/roster/generate`: starts a solve of the team's newest team file.
pub async fn generate(
    State(state): State<AppState>,
    console: Console,
    headers: HeaderMap,
    form: Result<Form<GenerateForm>, FormRejection>,
) -> Response {
    let lang = console.page.lang;
    let Ok(Form(form)) = form else { return error_page(lang, &invalid("form.malformed", "malformed form")) };
    if let Err(err) = csrf(&console, &headers, form.csrf.as_deref()) {
        return error_page(lang, &err);
    }
    let text = form.time_limit.unwrap_or_default();
    let Some(time_limit) = text.trim().parse::<u32>().ok().filter(|s| (1..=MAX_TIME_LIMIT).contains(s)) else {
        let shown: String = text.chars().take(32).collect();
        return error_page(
            lang,
            &invalid(
                "form.invalid",
                format!("time_limit: {shown:?} is not a whole number of seconds from 1 to {MAX_TIME_LIMIT}"),
            ),
        );
    };
    let (storage, team_id, by) = (Arc::clone(&state.storage), console.scope.team_id, user(&console));
    let file = match blocking(move || Ok(with_approved_leave(storage.as_ref(), team_id, &by)?)).await {
        Ok(Some(file)) => file,
        Ok(None) => {
            return error_page(lang, &invalid("team.missing", "the team has no team file yet: import one first"));
        }
        Err(err) => return error_page(lang, &err),
    };
    let request = SolveRequest {
        team_id,
        team_version: file.version,
        toml: file.toml,
        time_limit,
        by: user(&console),
        shutdown: state.shutdown.clone(),
    };
    match state.roster_jobs.start(Arc::clone(&state.storage), request) {
        Ok(_) => see_other("/console/roster", &console.page.team_query, ""),
        Err(Refusal::TeamBusy(by)) => error_page(
            lang,
            &ApiError::Conflict {
                code: "roster.busy",
                message: format!("a roster of this team is already being generated (started by {by})"),
            },
        ),
        Err(Refusal::ServerBusy) => error_page(
            lang,
            &ApiError::Conflict {
                code: "roster.server_busy",
                message: "the server is generating as many rosters as it can at once; try again in a minute".into(),
            },
        ),
    }
}

/// The team's newest team file, with the approved leave of the phones' requests in its period
/// added and saved as a new version first when any is missing (`leave.rs`).
fn with_approved_leave(
    storage: &dyn crate::storage::Storage,
    team_id: i64,
    by: &str,
) -> Result<Option<TeamFileRecord>, crate::storage::StorageError> {
    let Some(file) = storage.team_file(team_id, None)? else { return Ok(None) };
    // A file the parser refuses is the solve's to report, as it is.
    let Ok(problem) = kefu_solver::parse_team(&file.toml) else { return Ok(Some(file)) };
    let (Some(first), Some(last)) = (problem.days.first(), problem.days.last()) else { return Ok(Some(file)) };
    let requests = super::super::requests::team_requests(storage, team_id)?;
    let (merged, unknown) = leave::with_approved_leave(&file.toml, &requests, (*first, *last));
    for what in unknown {
        tracing::warn!(team_id, %what, "approved leave left out of the solve");
    }
    match merged {
        Some(toml) if kefu_solver::parse_team(&toml).is_ok() => {
            let version =
                storage.save_team_file(team_id, &toml, &format!("{by} + approved leave"), Timestamp::now())?;
            storage.team_file(team_id, Some(version))
        }
        _ => Ok(Some(file)),
    }
}

/// `POST /console/roster/cancel`: kills the team's running solve.
pub async fn cancel(
    State(state): State<AppState>,
    console: Console,
    headers: HeaderMap,
    form: Result<Form<super::super::pages::CsrfForm>, FormRejection>,
) -> Response {
    let lang = console.page.lang;
    let token = form.as_ref().ok().and_then(|Form(form)| form.csrf.clone());
    if let Err(err) = csrf(&console, &headers, token.as_deref()) {
        return error_page(lang, &err);
    }
    if state.roster_jobs.cancel(console.scope.team_id) {
        tracing::info!(team = %console.scope.team_name, user = %user(&console), "roster solve cancelled");
    }
    see_other("/console/roster", &console.page.team_query, "")
}

/// `GET /console/roster/progress`: the team's solve as server-sent events `progress` (its state
/// as JSON) at each change and every second while it runs; the stream ends with the job.
pub async fn progress(State(state): State<AppState>, ApiScope(scope): ApiScope) -> Response {
    let Some(job) = state.roster_jobs.job(scope.team_id) else {
        return ApiError::NotFound { code: "roster.no_job", message: "no roster is being generated".into() }
            .into_response();
    };
    let mut changes = job.subscribe();
    let shutdown = state.shutdown.clone();
    let events = async_stream(move |send| async move {
        loop {
            let now = job.state();
            let data = serde_json::to_string(&now).unwrap_or_default();
            if send.send(Ok::<_, Infallible>(Event::default().event("progress").data(data))).await.is_err()
                || now.phase != "running"
            {
                return;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = changes.changed() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

/// The move form's fields: give `from`'s shift on `date` to `to` (empty: nobody).
#[derive(Deserialize)]
pub struct MoveForm {
    csrf: Option<String>,
    version: String,
    from: String,
    date: String,
    to: String,
}

/// `POST /console/roster/move`: moves one shift by hand, re-checks the roster at once and
/// stores it (in the draft, or in a new draft when the roster shown was published).
pub async fn move_shift(
    State(state): State<AppState>,
    console: Console,
    headers: HeaderMap,
    form: Result<Form<MoveForm>, FormRejection>,
) -> Response {
    let lang = console.page.lang;
    let Ok(Form(form)) = form else {
        return error_page(lang, &invalid("form.malformed", "the move form needs version, from, date and to"));
    };
    let version = match checked_version(&console, &headers, form.csrf.as_deref(), &form.version) {
        Ok(version) => version,
        Err(err) => return error_page(lang, &err),
    };
    let team_id = console.scope.team_id;
    let loaded = match load(&state, team_id, Some(version)).await {
        Ok(Some(loaded)) => loaded,
        Ok(None) => return error_page(lang, &invalid("form.invalid", "version: no such roster")),
        Err(err) => return error_page(lang, &err),
    };
    let json = match moved(loaded.problem, loaded.roster, loaded.outcome, &form.from, &form.date, &form.to) {
        Ok(json) => json,
        Err(err) => return error_page(lang, &err),
    };
    let (storage, by, draft) = (Arc::clone(&state.storage), user(&console), loaded.record.published.is_none());
    let team_version = loaded.record.team_version;
    let stored = blocking(move || {
        let now = Timestamp::now();
        if draft && storage.update_draft_roster(team_id, version, &json, &by, now)? {
            return Ok(version);
        }
        Ok(storage.insert_roster(team_id, team_version, &json, &by, now)?)
    })
    .await;
    match stored {
        Ok(stored) => {
            tracing::info!(team = %console.scope.team_name, version = stored, from = %form.from, to = %form.to, date = %form.date, "shift moved by hand");
            see_other("/console/roster", &console.page.team_query, &format!("version={stored}"))
        }
        Err(err) => error_page(lang, &err),
    }
}

/// The roster's JSON after `from`'s shift on `date` (`YYYY-MM-DD`) goes to `to` (an empty `to`:
/// to nobody), its violations recomputed.
pub(crate) fn moved(
    problem: RosterProblem,
    mut roster: Roster,
    outcome: OutcomeJson,
    from: &str,
    date: &str,
    to: &str,
) -> Result<String, ApiError> {
    let staff_index = |field: &str, id: &str| {
        problem.staff.iter().position(|staff| staff.id == id).ok_or_else(|| {
            invalid(
                "form.invalid",
                format!("{field}: no staff {:?} in this roster", id.chars().take(64).collect::<String>()),
            )
        })
    };
    let from_id = from;
    let from = staff_index("from", from)?;
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .and_then(|date| problem.day_index(date))
        .ok_or_else(|| {
            invalid(
                "form.invalid",
                format!("date: {:?} is not a day of the roster", date.chars().take(32).collect::<String>()),
            )
        })?;
    let to = match to {
        "" => None,
        id => Some(staff_index("to", id)?),
    };
    if to == Some(from) {
        return Err(invalid("form.invalid", "to: the shift already belongs to them"));
    }
    let at = roster
        .assignments
        .iter()
        .position(|a| a.staff == from && a.day == day)
        .ok_or_else(|| invalid("form.invalid", format!("from: {from_id} has no shift on {date}")))?;
    match to {
        Some(to) => {
            roster.assignments[at].staff = to;
            roster.days_off.retain(|off| !(off.staff == to && off.day == day));
        }
        None => {
            roster.assignments.remove(at);
        }
    }
    if !roster.assignments.iter().any(|a| a.staff == from && a.day == day) {
        let kind = problem.staff[from].leave_on(problem.days[day]).unwrap_or(LeaveKind::DayOff);
        roster.days_off.push(DayOff { staff: from, day, kind });
    }
    roster.sort();
    let violations = kefu_solver::check(&problem, &roster);
    let solved = unsolved(roster, violations);
    let fresh = output::outcome_json(&problem, &solved);
    // The solve's figures stay; the shifts, days off and violations are the moved roster's.
    let json =
        OutcomeJson { assignments: fresh.assignments, leave: fresh.leave, violations: fresh.violations, ..outcome };
    serde_json::to_string(&json).map_err(|err| ApiError::Internal(err.to_string()))
}

/// The publish form's fields.
#[derive(Deserialize)]
pub struct PublishForm {
    csrf: Option<String>,
    version: String,
}

/// `POST /console/roster/publish`: freezes a draft as published, with who and when, and sends it
/// to the team's phones as the roster document of its period (`document.rs`).
pub async fn publish(
    State(state): State<AppState>,
    console: Console,
    headers: HeaderMap,
    form: Result<Form<PublishForm>, FormRejection>,
) -> Response {
    let lang = console.page.lang;
    let Ok(Form(form)) = form else {
        return error_page(lang, &invalid("form.malformed", "the publish form needs version"));
    };
    let version = match checked_version(&console, &headers, form.csrf.as_deref(), &form.version) {
        Ok(version) => version,
        Err(err) => return error_page(lang, &err),
    };
    let team_id = console.scope.team_id;
    // The period comes from the roster's team file; a version the team does not have is
    // refused below like one already published.
    let problem = match load(&state, team_id, Some(version)).await {
        Ok(Some(loaded)) => Some(loaded.problem),
        Ok(None) | Err(ApiError::NotFound { .. }) => None,
        Err(err) => return error_page(lang, &err),
    };
    let published = match problem.and_then(|problem| publication(&state, &problem, version, user(&console))) {
        Some(publication) => {
            let storage = Arc::clone(&state.storage);
            blocking(move || {
                let id = publication.doc_id();
                let doc = PublishedDoc { id: &id, build: &|json, stored| publication.build(json, stored), also: None };
                Ok(storage.publish_roster(team_id, version, &publication.by, publication.at, &doc)?)
            })
            .await
        }
        None => Ok(false),
    };
    match published {
        Ok(true) => {
            // The team's live sessions pull now, as after a round that stored documents.
            state.sessions.notify_team(team_id, None);
            tracing::info!(team = %console.scope.team_name, version, user = %user(&console), "roster published");
            see_other("/console/roster", &console.page.team_query, &format!("version={version}"))
        }
        Ok(false) => error_page(
            lang,
            &invalid(
                "form.invalid",
                format!("version: roster {version} is not a draft of this team (published already, or none)"),
            ),
        ),
        Err(err) => error_page(lang, &err),
    }
}

/// What publishing `version`, a roster of `problem`, sends to the phones; `None` for a team file
/// without days.
pub(crate) fn publication(state: &AppState, problem: &RosterProblem, version: i64, by: String) -> Option<Publication> {
    let (first_day, last_day) = problem.days.first().copied().zip(problem.days.last().copied())?;
    Some(Publication {
        first_day,
        last_day,
        version,
        by,
        at: Timestamp::now(),
        utc_offset_minutes: state.report_offset.local_minus_utc() / 60,
        server: state.storage.server_device(),
        staff_names: problem.staff.iter().map(|staff| (staff.id.clone(), staff.name.clone())).collect(),
        post_names: problem.posts.iter().map(|post| (post.id.clone(), post.name.clone())).collect(),
    })
}

/// `GET /v1/roster?version=`: a roster (the newest by default) as the solver's JSON output
/// contract (its violations as checked when it was made or last moved), with who made and who
/// published it (team-local times with their offset).
pub async fn v1_roster(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    query: Result<Query<VersionParam>, QueryRejection>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let Ok(Query(param)) = query else { return Err(invalid("query.invalid", "the roster query is malformed")) };
    let version = version_of(param.version.as_deref())?;
    let loaded = load(&state, scope.team_id, version).await?.ok_or_else(no_roster)?;
    let (json, record) = (loaded.outcome, loaded.record);
    let offset = state.report_offset;
    let (published_by, published_at) =
        record.published.map_or((None, None), |(by, at)| (Some(by), Some(local_time(at, offset))));
    Ok(axum::Json(serde_json::json!({
        "version": record.version,
        "team_version": record.team_version,
        "made_by": record.made_by,
        "made_at": local_time(record.made_at, offset),
        "published_by": published_by,
        "published_at": published_at,
        "roster": json,
    })))
}

// ---------------------------------------------------------------------------------------------
// Exports

fn attachment(content_type: &'static str, name: &str, body: Vec<u8>) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).expect("ascii file name");
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type)), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}

/// A roster for an export: the solver's exports read only the roster of an outcome.
async fn export_loaded(
    state: &AppState,
    team_id: i64,
    param: &VersionParam,
) -> Result<(Loaded, SolveOutcome), ApiError> {
    let version = version_of(param.version.as_deref())?;
    let loaded = load(state, team_id, version).await?.ok_or_else(no_roster)?;
    let outcome = unsolved(loaded.roster.clone(), Vec::new());
    Ok((loaded, outcome))
}

fn no_roster() -> ApiError {
    ApiError::NotFound { code: "roster.not_found", message: "the team has no roster yet".into() }
}

/// An outcome around a roster no solve produced (read back, or moved by hand): no objective.
fn unsolved(roster: Roster, violations: Vec<kefu_solver::Violation>) -> SolveOutcome {
    SolveOutcome {
        status: if violations.is_empty() { Status::Feasible } else { Status::TimeLimit },
        objective: f64::NAN,
        bound: f64::NAN,
        gap: f64::NAN,
        solve_seconds: 0.0,
        roster,
        violations,
        model_size: (0, 0),
    }
}

/// `GET /console/roster.csv?version=`: one row per person, one column per day, with a BOM.
pub async fn csv(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    headers: HeaderMap,
    Query(param): Query<VersionParam>,
) -> Result<Response, ApiError> {
    let (loaded, outcome) = export_loaded(&state, scope.team_id, &param).await?;
    let text = kefu_solver::export::render_csv(&loaded.problem, &outcome, solver_lang(Lang::of(&headers)));
    let name = format!("roster-v{}.csv", loaded.record.version);
    Ok(attachment("text/csv; charset=utf-8", &name, text.into_bytes()))
}

/// `GET /console/roster.xlsx?version=`: a sheet per week, lunch turns shaded.
pub async fn xlsx(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    headers: HeaderMap,
    Query(param): Query<VersionParam>,
) -> Result<Response, ApiError> {
    let (loaded, outcome) = export_loaded(&state, scope.team_id, &param).await?;
    let bytes = kefu_solver::export::render_xlsx(&loaded.problem, &outcome, solver_lang(Lang::of(&headers)))
        .map_err(|err| ApiError::Internal(format!("xlsx: {err}")))?;
    let name = format!("roster-v{}.xlsx", loaded.record.version);
    Ok(attachment("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", &name, bytes))
}

/// `GET /console/roster.ics?version=&staff=ID`: one person's shifts as iCalendar.
pub async fn ical(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Query(param): Query<VersionParam>,
) -> Result<Response, ApiError> {
    let (loaded, _) = export_loaded(&state, scope.team_id, &param).await?;
    let id = param.staff.as_deref().unwrap_or_default();
    let staff_idx = loaded.problem.staff.iter().position(|staff| staff.id == id).ok_or_else(|| {
        invalid(
            "query.invalid",
            format!("staff: no staff {:?} in this roster", id.chars().take(64).collect::<String>()),
        )
    })?;
    let text = kefu_solver::export::render_ical(&loaded.problem, &loaded.roster, staff_idx);
    // Staff ids are free text; the file name keeps only the safe part.
    let safe: String = id.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect();
    Ok(attachment(
        "text/calendar; charset=utf-8",
        &format!("roster-v{}-{safe}.ics", loaded.record.version),
        text.into_bytes(),
    ))
}
