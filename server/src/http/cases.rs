//! The supervisor reads: the team's case list from the server's index, one case's full history
//! from its stored document, and the monthly figures (处理率, 及时率, 满意率, 回访率). Supervisor and
//! admin tokens or a console session only; always scoped to one team ([`ApiScope`]: another
//! team's case is "not found", another team named in `?team=` is refused unless by an admin).
//! Times are RFC 3339 in the team's offset.
//!
//! The JSON shapes here are the `/v1` API (**stability boundary**): they are DTOs built by hand
//! from core types, which are not `Serialize` themselves.
//!
//! Leaves out: writing cases (devices do that through sync) and the roster API.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use chrono::{FixedOffset, Months, NaiveDate, TimeZone};
use kefu_core::case::{CaseDoc, CaseKind, Deadline, DeadlineState, EntryBody, Status, TimelineEntry};
use kefu_core::ids::{CaseId, Timestamp};
use kefu_core::report::{Counts, Rate, monthly_report};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};
use crate::console::session::ApiScope;
use crate::storage::{CaseQuery, CaseRow};

/// Most rows one list returns.
const MAX_LIST: usize = 1000;

/// Longest search text or filter value accepted.
const MAX_FILTER_CHARS: usize = 100;

/// Query of `GET /v1/cases`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub assignee: Option<String>,
    pub department: Option<String>,
    pub overdue: Option<bool>,
    /// First day (team's local date, `YYYY-MM-DD`) of the opening dates shown.
    pub from: Option<String>,
    /// Last day, inclusive.
    pub to: Option<String>,
    /// Search over number, customer name and phone, and subject.
    pub q: Option<String>,
    pub limit: Option<usize>,
}

/// One row of the case list.
#[derive(Debug, Serialize)]
pub struct CaseSummaryDto {
    pub id: String,
    pub number: String,
    pub provisional_number: String,
    pub kind: String,
    pub channel: String,
    pub status: String,
    pub status_conflict: bool,
    pub priority: String,
    pub assignee: Option<String>,
    pub department: Option<String>,
    pub subject: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub created_at: String,
    pub updated_at: String,
    pub reply_due: Option<String>,
    pub reply_done_at: Option<String>,
    pub return_visit_due: Option<String>,
    pub return_visit_done_at: Option<String>,
    pub overdue: bool,
}

/// An instant as RFC 3339 in the team's local time with its offset (`2026-11-03T09:30:00.000+08:00`).
pub fn local_time(at: Timestamp, offset: FixedOffset) -> String {
    at.to_utc().with_timezone(&offset).to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

impl CaseSummaryDto {
    fn from_row(row: CaseRow, now: Timestamp, offset: FixedOffset) -> Self {
        let time = |at| local_time(at, offset);
        let late = |due: Option<Timestamp>, done: Option<Timestamp>| due.is_some_and(|due| done.is_none() && due < now);
        CaseSummaryDto {
            overdue: late(row.reply_due, row.reply_done_at) || late(row.visit_due, row.visit_done_at),
            number: row.assigned.clone().unwrap_or_else(|| row.provisional.clone()),
            id: row.case_id,
            provisional_number: row.provisional,
            kind: row.kind,
            channel: row.channel,
            status: row.status,
            status_conflict: row.status_conflict,
            priority: row.priority,
            assignee: row.assignee,
            department: row.department,
            subject: row.subject,
            customer_name: row.customer_name,
            customer_phone: row.customer_phone,
            created_at: time(row.created_at),
            updated_at: time(row.updated_at),
            reply_due: row.reply_due.map(time),
            reply_done_at: row.reply_done_at.map(time),
            return_visit_due: row.visit_due.map(time),
            return_visit_done_at: row.visit_done_at.map(time),
        }
    }
}

/// `GET /v1/cases?status=&kind=&assignee=&department=&overdue=true&from=&to=&q=&limit=`: newest first.
pub async fn list(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<CaseSummaryDto>>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_query(rejection.body_text()))?;
    Ok(Json(list_cases(&state, scope.team_id, query).await?))
}

/// A local date of a `from`/`to` filter, as the instant its day starts in the team's time.
fn day_start(name: &str, value: &str, offset: FixedOffset, days_after: u64) -> Result<Timestamp, ApiError> {
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| ApiError::bad_query(format!("{name} {:?} is not a date like 2026-03-31", short(value))))?;
    let day =
        date.checked_add_days(chrono::Days::new(days_after)).ok_or_else(|| ApiError::bad_query("date out of range"))?;
    let local = day.and_hms_opt(0, 0, 0).expect("midnight");
    Ok(Timestamp(
        offset.from_local_datetime(&local).single().expect("fixed offsets are unambiguous").timestamp_millis(),
    ))
}

/// At most 64 characters of a value, for an error message.
fn short(value: &str) -> String {
    value.chars().take(64).collect()
}

/// A free-text filter: trimmed, empty means none, too long is refused naming the parameter.
fn text_filter(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(value) = value.map(|value| value.trim().to_string()).filter(|value| !value.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > MAX_FILTER_CHARS {
        return Err(ApiError::bad_query(format!("{name} is longer than {MAX_FILTER_CHARS} characters")));
    }
    Ok(Some(value))
}

/// The case board's rows for `query` in `team_id` (the JSON list and the console's page share it).
pub async fn list_cases(state: &AppState, team_id: i64, query: ListQuery) -> Result<Vec<CaseSummaryDto>, ApiError> {
    let now = Timestamp::now();
    let offset = state.report_offset;
    let status = query
        .status
        .as_deref()
        .map(|code| Status::from_code(code).ok_or_else(|| ApiError::bad_query(format!("unknown status {code:?}"))))
        .transpose()?;
    let kind = query
        .kind
        .as_deref()
        .map(|code| CaseKind::from_code(code).ok_or_else(|| ApiError::bad_query(format!("unknown kind {code:?}"))))
        .transpose()?;
    let limit = query.limit.unwrap_or(200);
    if limit == 0 || limit > MAX_LIST {
        return Err(ApiError::bad_query(format!("limit {limit} is outside 1..={MAX_LIST}")));
    }
    let created_from = query.from.as_deref().map(|from| day_start("from", from, offset, 0)).transpose()?;
    let created_before = query.to.as_deref().map(|to| day_start("to", to, offset, 1)).transpose()?;
    let case_query = CaseQuery {
        status,
        kind,
        assignee: text_filter("assignee", query.assignee)?,
        department: text_filter("department", query.department)?,
        overdue_at: query.overdue.unwrap_or(false).then_some(now),
        created_from,
        created_before,
        number: None,
        search: text_filter("q", query.q)?,
        limit,
    };
    let storage = Arc::clone(&state.storage);
    let rows = tokio::task::spawn_blocking(move || storage.list_cases(team_id, &case_query))
        .await
        .map_err(|err| ApiError::Internal(err.to_string()))??;
    Ok(rows.into_iter().map(|row| CaseSummaryDto::from_row(row, now, offset)).collect())
}

/// One case with its whole history.
#[derive(Debug, Serialize)]
pub struct CaseDto {
    pub id: String,
    pub number: String,
    pub provisional_number: String,
    pub assigned_number: Option<String>,
    pub kind: String,
    pub channel: String,
    pub priority: String,
    pub tier: String,
    pub service: Option<String>,
    pub department: Option<String>,
    pub assignee: Option<String>,
    pub subject: String,
    pub description: String,
    pub customer: CustomerDto,
    pub tags: Vec<String>,
    pub status: String,
    pub status_conflict: Vec<String>,
    /// The statuses concurrent transitions left, when they are unresolved (codes).
    pub conflicting_statuses: Vec<String>,
    pub reply: Option<DeadlineDto>,
    pub return_visit: Option<DeadlineDto>,
    /// The latest return visit: satisfaction code and comment.
    pub latest_return_visit: Option<ReturnVisitDto>,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub timeline: Vec<EntryDto>,
}

/// A due time and whether it was met: `state` is `met`, `met_late`, `pending` or `overdue`.
#[derive(Debug, Serialize)]
pub struct DeadlineDto {
    pub due: String,
    pub done_at: Option<String>,
    pub state: &'static str,
}

/// The outcome of a return visit.
#[derive(Debug, Serialize)]
pub struct ReturnVisitDto {
    pub satisfaction: String,
    pub comment: String,
}

fn deadline_dto(deadline: Deadline, now: Timestamp, offset: FixedOffset) -> DeadlineDto {
    DeadlineDto {
        due: local_time(deadline.due, offset),
        done_at: deadline.done_at.map(|at| local_time(at, offset)),
        state: match deadline.state(now) {
            DeadlineState::Met => "met",
            DeadlineState::MetLate => "met_late",
            DeadlineState::Pending => "pending",
            DeadlineState::Overdue => "overdue",
        },
    }
}

/// Who a case is for.
#[derive(Debug, Serialize)]
pub struct CustomerDto {
    pub name: String,
    pub phone: String,
    pub address: String,
}

/// One timeline entry; `type` says which of the optional fields are set.
#[derive(Debug, Serialize, Default)]
pub struct EntryDto {
    pub id: String,
    pub at: String,
    pub by: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_assignee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub satisfaction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment_sha256: Option<String>,
}

fn entry_dto(entry: &TimelineEntry, offset: FixedOffset) -> EntryDto {
    let base = EntryDto {
        id: entry.id.to_string(),
        at: local_time(entry.at, offset),
        by: entry.by.to_string(),
        ..EntryDto::default()
    };
    match &entry.body {
        EntryBody::Note { text } => EntryDto { kind: "note", text: Some(text.clone()), ..base },
        EntryBody::Transfer { from_department, to_department, from_assignee, to_assignee, reason } => EntryDto {
            kind: "transfer",
            text: Some(reason.clone()),
            from: from_assignee.as_ref().map(ToString::to_string).or_else(|| from_department.clone()),
            to_department: to_department.clone(),
            to_assignee: to_assignee.as_ref().map(ToString::to_string),
            ..base
        },
        EntryBody::StatusChange { from, to, reason, .. } => EntryDto {
            kind: "status",
            text: Some(reason.clone()),
            from: Some(from.code().into()),
            to: Some(to.code().into()),
            ..base
        },
        EntryBody::Feedback { direction, text } => {
            EntryDto { kind: "feedback", text: Some(text.clone()), direction: Some(direction.code().into()), ..base }
        }
        EntryBody::ReturnVisit { satisfaction, comment } => EntryDto {
            kind: "return_visit",
            text: Some(comment.clone()),
            satisfaction: Some(satisfaction.code().into()),
            ..base
        },
        EntryBody::Attachment(attachment) => EntryDto {
            kind: "attachment",
            text: Some(attachment.name.clone()),
            attachment_sha256: Some(attachment.sha256.clone()),
            ..base
        },
    }
}

/// `GET /v1/cases/{id}`: the case as its stored document reads now, with every timeline entry.
/// `id` is the case's UUID, its server number (K2026-000123) or its provisional number.
pub async fn one(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    Path(id): Path<String>,
) -> Result<Json<CaseDto>, ApiError> {
    Ok(Json(one_case(&state, scope.team_id, &id).await?))
}

/// Whether `text` could be a case number (server `K2026-000123` or provisional): letters,
/// digits and dashes, at most 64.
fn looks_like_number(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The case `id` (UUID or number) of `team_id`, with its history.
pub async fn one_case(state: &AppState, team_id: i64, id: &str) -> Result<CaseDto, ApiError> {
    let case_id: CaseId = match id.parse() {
        Ok(case_id) => case_id,
        Err(_) if looks_like_number(id) => {
            let storage = Arc::clone(&state.storage);
            let query = CaseQuery { number: Some(id.to_string()), limit: 1, ..CaseQuery::default() };
            let rows = tokio::task::spawn_blocking(move || storage.list_cases(team_id, &query))
                .await
                .map_err(|err| ApiError::Internal(err.to_string()))??;
            let row = rows.into_iter().next().ok_or_else(|| ApiError::NotFound {
                code: "case.not_found",
                message: format!("no case numbered {id} in this team"),
            })?;
            row.case_id.parse().map_err(|_| ApiError::Internal(format!("indexed case id {:?}", row.case_id)))?
        }
        Err(_) => {
            return Err(ApiError::BadRequest {
                code: "case.invalid_id",
                message: format!("{:?} is neither a case id nor a case number", short(id)),
            });
        }
    };
    let storage = Arc::clone(&state.storage);
    let key = case_id.to_string();
    let bytes = tokio::task::spawn_blocking(move || storage.load_doc(team_id, &key))
        .await
        .map_err(|err| ApiError::Internal(err.to_string()))??
        .ok_or_else(|| ApiError::NotFound {
            code: "case.not_found",
            message: format!("no case {case_id} in this team"),
        })?;
    let doc = CaseDoc::load(&bytes, state.storage.server_device())
        .map_err(|err| ApiError::Internal(format!("stored case {case_id} does not load: {err}")))?;
    let case = doc.read();
    let offset = state.report_offset;
    let now = Timestamp::now();
    let time = |at| local_time(at, offset);
    Ok(CaseDto {
        id: case.id.to_string(),
        number: case.number.display().to_string(),
        provisional_number: case.number.provisional.clone(),
        assigned_number: case.number.assigned.clone(),
        kind: case.kind.code().into(),
        channel: case.channel.code().into(),
        priority: case.priority.code().into(),
        tier: case.tier.code().into(),
        service: case.service.map(|service| service.code().into()),
        department: case.department.clone(),
        assignee: case.assignee.as_ref().map(ToString::to_string),
        subject: case.subject.clone(),
        description: case.description.clone(),
        customer: CustomerDto {
            name: case.customer.name.clone(),
            phone: case.customer.phone.clone(),
            address: case.customer.address.clone(),
        },
        tags: case.tags.iter().cloned().collect(),
        status: case.status.status.code().into(),
        status_conflict: case
            .status
            .conflict
            .iter()
            .flatten()
            .map(|(entry, status)| format!("{entry}: {status}"))
            .collect(),
        conflicting_statuses: case.status.conflict.iter().flatten().map(|(_, status)| status.code().into()).collect(),
        reply: case.deadlines.reply.map(|deadline| deadline_dto(deadline, now, offset)),
        return_visit: case.deadlines.return_visit.map(|deadline| deadline_dto(deadline, now, offset)),
        latest_return_visit: case.timeline.iter().rev().find_map(|entry| match &entry.body {
            EntryBody::ReturnVisit { satisfaction, comment } => {
                Some(ReturnVisitDto { satisfaction: satisfaction.code().into(), comment: comment.clone() })
            }
            _ => None,
        }),
        created_at: time(case.created_at),
        created_by: case.created_by.to_string(),
        updated_at: time(case.updated_at),
        timeline: case.timeline.iter().map(|entry| entry_dto(entry, offset)).collect(),
    })
}

/// Query of `GET /v1/reports/monthly`.
#[derive(Debug, Deserialize)]
pub struct MonthQuery {
    pub month: String,
}

/// The monthly figures.
#[derive(Debug, Serialize)]
pub struct MonthlyDto {
    pub month: String,
    pub utc_offset: String,
    pub all: CountsDto,
    pub repairs: CountsDto,
    pub complaints: CountsDto,
    pub handling_rate: RateDto,
    pub timeliness_rate: RateDto,
    pub satisfaction_rate: RateDto,
    pub return_visit_rate: RateDto,
}

/// Counts of one group.
#[derive(Clone, Debug, Serialize)]
pub struct CountsDto {
    pub received: usize,
    pub dispatched: usize,
    pub completed: usize,
    pub return_visited: usize,
}

/// A rate with its counts; `percent` (one decimal) is null for 0/0.
#[derive(Debug, Serialize)]
pub struct RateDto {
    pub numerator: usize,
    pub denominator: usize,
    pub percent: Option<f64>,
}

fn counts(counts: Counts) -> CountsDto {
    CountsDto {
        received: counts.received,
        dispatched: counts.dispatched,
        completed: counts.completed,
        return_visited: counts.return_visited,
    }
}

fn rate(rate: Rate) -> RateDto {
    RateDto { numerator: rate.numerator, denominator: rate.denominator, percent: rate.percent_rounded() }
}

/// `GET /v1/reports/monthly?month=YYYY-MM`: 处理率, 及时率, 满意率, 回访率 for the team.
pub async fn monthly(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    query: Result<Query<MonthQuery>, QueryRejection>,
) -> Result<Json<MonthlyDto>, ApiError> {
    // Rejections of the query string answer in the API's JSON error shape, like every other error.
    let Query(query) = query.map_err(|rejection| ApiError::bad_query(rejection.body_text()))?;
    let first = NaiveDate::parse_from_str(&format!("{}-01", query.month), "%Y-%m-%d")
        .map_err(|_| ApiError::bad_query(format!("month {:?} is not like 2026-03", short(&query.month))))?;
    Ok(Json(monthly_figures(&state, scope.team_id, first).await?))
}

/// The figures of `team_id` for the month starting on `first` (the JSON report, the console's
/// page and its exports share it).
pub async fn monthly_figures(state: &AppState, team_id: i64, first: NaiveDate) -> Result<MonthlyDto, ApiError> {
    let offset = state.report_offset;
    // A day either side covers any UTC offset; `monthly_report` itself picks the month's cases.
    let from = Timestamp(first.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_millis()).plus_days(-1);
    let next = first.checked_add_months(Months::new(1)).ok_or_else(|| ApiError::bad_query("month out of range"))?;
    let to = Timestamp(next.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_millis()).plus_days(1);
    let storage = Arc::clone(&state.storage);
    let server_device = storage.server_device();
    let cases = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let docs = storage.cases_created_between(team_id, from, to)?;
        docs.iter()
            .map(|bytes| {
                CaseDoc::load(bytes, server_device)
                    .map(|doc| doc.read())
                    .map_err(|err| ApiError::Internal(format!("stored case does not load: {err}")))
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|err| ApiError::Internal(err.to_string()))??;
    let report = monthly_report(&cases, first, offset, Timestamp::now());
    Ok(MonthlyDto {
        month: report.month.format("%Y-%m").to_string(),
        utc_offset: offset.to_string(),
        all: counts(report.all),
        repairs: counts(report.repairs),
        complaints: counts(report.complaints),
        handling_rate: rate(report.handling_rate),
        timeliness_rate: rate(report.timeliness_rate),
        satisfaction_rate: rate(report.satisfaction_rate),
        return_visit_rate: rate(report.return_visit_rate),
    })
}
