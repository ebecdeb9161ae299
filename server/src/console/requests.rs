//! Staff requests (leave, 调休, swaps; `kefu_core::request`) for supervisors: listed in the
//! console and `/v1/requests`, approved or refused with a reason. The decision is written into
//! the request's document by the server and reaches the requester's phone with sync.
//!
//! Before anything is stored: a leave or 调休 approval is checked against the monthly
//! allowance of the days already approved; a swap must have been accepted by the colleague, and
//! its move is checked by the roster's rule checker, whose new breaches are shown (the page lists
//! them beside the request, the API answers 409 `request.breaches` unless `accept_breaches`).
//! An approved swap is carried out on the published roster (`roster::swap`).
//!
//! Leaves out: approved leave as input of the next solve (`roster::leave`).

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::{Form, Json};
use chrono::FixedOffset;
use kefu_core::ids::{DeviceId, StaffId, Timestamp};
use kefu_core::request::{
    self, REQUEST_ID_PREFIX, Request, RequestDoc, RequestEdit, RequestKind, RequestStatus, is_request_id,
};
use kefu_core::sync::server::AcceptedDoc;
use kefu_solver::output::ViolationJson;
use serde::{Deserialize, Serialize};

use super::i18n::Lang;
use super::pages::{Console, Page, error_page, render, short_time};
use super::roster::pages::{blocking, csrf, invalid, see_other};
use super::roster::swap;
use super::session::{ApiScope, check_csrf};
use crate::http::cases::local_time;
use crate::http::{ApiError, AppState};
use crate::storage::{ServerDoc, Storage, StorageError};

/// Longest reason accepted with a decision, in characters (the document's limit).
const MAX_REASON: usize = 500;

/// The team's requests, newest first. A stored request that does not read is skipped and
/// logged: the server stored only what it validated, so it would be a bug or a newer build's.
pub(super) fn team_requests(storage: &dyn Storage, team_id: i64) -> Result<Vec<Request>, StorageError> {
    let mut requests: Vec<Request> = storage
        .docs_with_prefix(team_id, REQUEST_ID_PREFIX)?
        .into_iter()
        .filter_map(|(id, bytes)| match RequestDoc::load(&bytes, automerge::ActorId::random()) {
            Ok(doc) => Some(doc.read()),
            Err(err) => {
                tracing::error!(team_id, id, error = %err, "stored request does not read");
                None
            }
        })
        .collect();
    requests.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    Ok(requests)
}

/// A swap as the API shows it.
#[derive(Serialize)]
pub struct SwapJson {
    date: String,
    shift: String,
    colleague: String,
}

/// A decision as the API shows it.
#[derive(Serialize)]
pub struct DecisionJson {
    approved: bool,
    by: String,
    at: String,
    note: String,
}

/// A request as the API shows it (team-local times with their offset).
#[derive(Serialize)]
pub struct RequestJson {
    id: String,
    kind: &'static str,
    staff: String,
    status: &'static str,
    created_at: String,
    note: String,
    days: Vec<String>,
    swap: Option<SwapJson>,
    colleague_answered_at: Option<String>,
    decision: Option<DecisionJson>,
    withdrawn_at: Option<String>,
}

fn request_json(request: &Request, offset: FixedOffset) -> RequestJson {
    let time = |at: Timestamp| local_time(at, offset);
    RequestJson {
        id: request.id.clone(),
        kind: request.kind.code(),
        staff: request.staff.as_str().to_string(),
        status: request.status().code(),
        created_at: time(request.created_at),
        note: request.note.clone(),
        days: request.days.iter().map(|day| day.format("%Y-%m-%d").to_string()).collect(),
        swap: request.swap.as_ref().map(|swap| SwapJson {
            date: swap.date.format("%Y-%m-%d").to_string(),
            shift: swap.shift.clone(),
            colleague: swap.colleague.as_str().to_string(),
        }),
        colleague_answered_at: request.answer.map(|(_, at)| time(at)),
        decision: request.decision.as_ref().map(|decision| DecisionJson {
            approved: decision.approved,
            by: decision.by.clone(),
            at: time(decision.at),
            note: decision.note.clone(),
        }),
        withdrawn_at: request.withdrawn_at.map(time),
    }
}

/// `?status=` of the list.
#[derive(Deserialize)]
pub struct ListParam {
    status: Option<String>,
}

/// `GET /v1/requests[?status=pending]`: the team's requests, newest first.
pub async fn v1_list(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    query: Result<Query<ListParam>, QueryRejection>,
) -> Result<Json<Vec<RequestJson>>, ApiError> {
    let Ok(Query(param)) = query else { return Err(ApiError::bad_query("the requests query is malformed")) };
    let (storage, team_id) = (Arc::clone(&state.storage), scope.team_id);
    let requests = blocking(move || Ok(team_requests(storage.as_ref(), team_id)?)).await?;
    let wanted = param.status.filter(|status| !status.is_empty());
    Ok(Json(
        requests
            .iter()
            .filter(|request| wanted.as_deref().is_none_or(|status| request.status().code() == status))
            .map(|request| request_json(request, state.report_offset))
            .collect(),
    ))
}

/// The decision's JSON body.
#[derive(Deserialize)]
pub struct DecisionBody {
    approve: bool,
    #[serde(default)]
    note: String,
    #[serde(default)]
    accept_breaches: bool,
}

/// `POST /v1/requests/{id}/decision` (`{"approve": true, "note": "...", "accept_breaches":
/// false}`): decides a request; a session needs its CSRF token in `x-csrf-token`.
pub async fn v1_decide(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<DecisionBody>, JsonRejection>,
) -> Result<Json<RequestJson>, ApiError> {
    if let Some(session) = &scope.session {
        check_csrf(session, &headers, None)?;
    }
    let Json(body) = body.map_err(|err| {
        invalid("body.invalid", format!("the decision must be JSON {{\"approve\": bool, \"note\": str}}: {err}"))
    })?;
    let decided =
        decide(&state, scope.team_id, &id, body.approve, &body.note, body.accept_breaches, scope.actor()).await?;
    Ok(Json(request_json(&decided, state.report_offset)))
}

/// Decides request `id` of the team (see the module doc for what is checked first).
async fn decide(
    state: &AppState,
    team_id: i64,
    id: &str,
    approve: bool,
    note: &str,
    accept_breaches: bool,
    by: String,
) -> Result<Request, ApiError> {
    let not_found = || ApiError::NotFound {
        code: "request.not_found",
        message: format!("the team has no request {:?}", id.chars().take(64).collect::<String>()),
    };
    if !is_request_id(id) {
        return Err(not_found());
    }
    if note.chars().count() > MAX_REASON {
        return Err(invalid(
            "body.invalid",
            format!("note: {} characters, at most {MAX_REASON}", note.chars().count()),
        ));
    }
    let storage = Arc::clone(&state.storage);
    let requests = blocking(move || Ok(team_requests(storage.as_ref(), team_id)?)).await?;
    let request = requests.iter().find(|request| request.id == id).ok_or_else(not_found)?;
    match request.status() {
        RequestStatus::Pending => {}
        RequestStatus::AwaitingColleague => {
            return Err(ApiError::Conflict {
                code: "request.not_ready",
                message: format!("{id} waits for {} to accept the swap", colleague(request)),
            });
        }
        status => {
            return Err(ApiError::Conflict {
                code: "request.decided",
                message: format!("{id} is {} already", status.code()),
            });
        }
    }
    let edit = RequestEdit::Decide { approve, by: by.clone(), note: note.to_string() };
    let decide = decision_writer(state.storage.server_device(), id.to_string(), edit);
    if approve && request.kind == RequestKind::Swap {
        let plan = swap::plan(state, team_id, request).await?;
        if !plan.breaches.is_empty() && !accept_breaches {
            return Err(ApiError::Conflict {
                code: "request.breaches",
                message: format!(
                    "approving {id} would break {} rule(s) of the roster: {}; approve with accept_breaches to go ahead",
                    plan.breaches.len(),
                    plan.breaches
                        .iter()
                        .map(|b| format!("[{}] {}: {}", b.rule, b.at, b.detail))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            });
        }
        swap::carry_out(state, team_id, plan, by.clone(), id.to_string(), decide).await?;
    } else {
        if approve {
            check_allowance(&requests, request)?;
        }
        let (storage, id) = (Arc::clone(&state.storage), id.to_string());
        blocking(move || match storage.write_server_doc(team_id, &ServerDoc { id: &id, build: &decide }) {
            Err(StorageError::Conflict(message)) => Err(ApiError::Conflict { code: "request.decided", message }),
            other => Ok(other?),
        })
        .await?;
    }
    state.sessions.notify_team(team_id, None);
    tracing::info!(team_id, request = %id, approve, by = %by, "request decided");
    let storage = Arc::clone(&state.storage);
    let requests = blocking(move || Ok(team_requests(storage.as_ref(), team_id)?)).await?;
    requests.into_iter().find(|request| request.id == id).ok_or_else(not_found)
}

fn colleague(request: &Request) -> String {
    request.swap.as_ref().map_or_else(String::new, |swap| swap.colleague.as_str().to_string())
}

/// Approving `request` keeps every month within the allowance of approved days.
fn check_allowance(requests: &[Request], request: &Request) -> Result<(), ApiError> {
    let approved: Vec<Request> = requests
        .iter()
        .filter(|other| other.id != request.id && other.status() == RequestStatus::Approved)
        .cloned()
        .collect();
    request::check_allowance(&approved, &request.staff, &request.days).map_err(|err| ApiError::Conflict {
        code: "request.allowance",
        message: format!("{} cannot be approved: {err}", request.id),
    })
}

/// Builds the decided request from the stored one, checking again inside the transaction that it
/// is still undecided (two supervisors deciding at once: the second is refused).
fn decision_writer(
    server: DeviceId,
    id: String,
    edit: RequestEdit,
) -> impl Fn(Option<&[u8]>) -> Result<AcceptedDoc, StorageError> + Send + 'static {
    move |stored| {
        let stored = stored.ok_or_else(|| StorageError::Conflict(format!("{id} is gone")))?;
        let mut doc = RequestDoc::load(stored, server.install(rand::random()).actor())
            .map_err(|err| StorageError::Corrupt(format!("{id}: {err}")))?;
        let server_staff = StaffId::new("server").expect("a valid staff id");
        doc.apply(Timestamp::now(), &server_staff, &edit).map_err(|err| StorageError::Conflict(err.to_string()))?;
        let automerge = doc.automerge();
        Ok(AcceptedDoc {
            id: id.clone(),
            bytes: automerge.save(),
            heads: automerge.get_heads(),
            is_new: false,
            case: None,
        })
    }
}

/// One request as the page lists it.
pub struct RequestRow {
    id: String,
    kind: &'static str,
    staff: String,
    status: &'static str,
    created_at: String,
    what: String,
    note: String,
    decision: String,
    decidable: bool,
    /// What approving a swap would break, in the page's language.
    breaches: Vec<String>,
}

#[derive(Template)]
#[template(path = "requests.html")]
struct RequestsPage {
    page: Page,
    rows: Vec<RequestRow>,
}

/// `GET /console/requests`: the team's requests, undecided first.
pub async fn page(State(state): State<AppState>, console: Console) -> Response {
    let lang = console.page.lang;
    let (storage, team_id) = (Arc::clone(&state.storage), console.scope.team_id);
    let requests = match blocking(move || Ok(team_requests(storage.as_ref(), team_id)?)).await {
        Ok(requests) => requests,
        Err(err) => return error_page(lang, &err),
    };
    let mut rows = Vec::new();
    for request in &requests {
        let status = request.status();
        let breaches = if status == RequestStatus::Pending && request.kind == RequestKind::Swap {
            match swap::plan(&state, team_id, request).await {
                Ok(plan) => plan.breaches.iter().map(|breach| breach_words(breach, lang)).collect(),
                Err(err) => vec![err.to_string()],
            }
        } else {
            Vec::new()
        };
        let what = match &request.swap {
            Some(swap) => format!("{} {} → {}", swap.date, swap.shift, swap.colleague),
            None => request.days.iter().map(|day| day.format("%m-%d").to_string()).collect::<Vec<_>>().join(", "),
        };
        rows.push(RequestRow {
            id: request.id.clone(),
            kind: request.kind.code(),
            staff: request.staff.as_str().to_string(),
            status: status.code(),
            created_at: short_time(local_time(request.created_at, state.report_offset)),
            what,
            note: request.note.clone(),
            decision: request
                .decision
                .as_ref()
                .map(|decision| {
                    format!(
                        "{} ({}): {}",
                        decision.by,
                        short_time(local_time(decision.at, state.report_offset)),
                        decision.note
                    )
                })
                .unwrap_or_default(),
            decidable: status == RequestStatus::Pending,
            breaches,
        });
    }
    rows.sort_by_key(|row| !row.decidable);
    render(&RequestsPage { page: console.page, rows }, lang)
}

fn breach_words(breach: &ViolationJson, lang: Lang) -> String {
    let detail = if lang == Lang::Zh && !breach.detail_zh.is_empty() { &breach.detail_zh } else { &breach.detail };
    format!("{}: {detail}", breach.at)
}

/// The decision form's fields.
#[derive(Deserialize)]
pub struct DecideForm {
    csrf: Option<String>,
    id: String,
    decision: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    accept_breaches: Option<String>,
}

/// `POST /console/requests/decide`: approve or refuse with a reason, then back to the list.
pub async fn decide_form(
    State(state): State<AppState>,
    console: Console,
    headers: HeaderMap,
    form: Result<Form<DecideForm>, FormRejection>,
) -> Response {
    let lang = console.page.lang;
    let Ok(Form(form)) = form else {
        return error_page(lang, &invalid("form.malformed", "the decision form needs id and decision"));
    };
    if let Err(err) = csrf(&console, &headers, form.csrf.as_deref()) {
        return error_page(lang, &err);
    }
    let approve = match form.decision.as_str() {
        "approve" => true,
        "refuse" => false,
        other => {
            let shown: String = other.chars().take(32).collect();
            return error_page(lang, &invalid("form.invalid", format!("decision: {shown:?} is not approve or refuse")));
        }
    };
    let by = console.scope.actor();
    let accept = form.accept_breaches.is_some();
    match decide(&state, console.scope.team_id, &form.id, approve, &form.note, accept, by).await {
        Ok(_) => see_other("/console/requests", &console.page.team_query, ""),
        Err(err) => error_page(lang, &err),
    }
}
