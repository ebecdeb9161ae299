//! Attendance for supervisors (`kefu_core::attendance`): each person's month on the ten-point
//! scale of seed 003 from the published rosters, approved leave and the check-ins the phones
//! synced, with the warning (≤ 5) and penalty (≤ 2) marked; a correction of one shift with a
//! reason, and a recorded fault (not logged in to the desk, a complaint). Corrections and faults
//! are written into the person's attendance document by the server: they reach the person's
//! phone, and nothing is ever removed, so the history stays.
//!
//! Served as `/v1/attendance` (JSON) and `/console/attendance` (the page and its two forms).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::{Form, Json};
use chrono::{Datelike, NaiveDate};
use kefu_core::attendance::{
    self, ATTENDANCE_ID_PREFIX, Attendance, AttendanceDoc, AttendanceEdit, MarkKind, MonthScore, PENALTY_AT,
    ShiftStatus, WARNING_AT, attendance_id,
};
use kefu_core::ids::{DeviceId, StaffId, Timestamp};
use kefu_core::roster::{ROSTER_ID_PREFIX, Roster, RosterDoc};
use kefu_core::sync::server::AcceptedDoc;
use serde::{Deserialize, Serialize};

use super::pages::{Console, Page, error_page, render};
use super::requests::team_requests;
use super::roster::pages::{blocking, csrf, invalid, see_other};
use super::session::{ApiScope, check_csrf};
use crate::http::cases::local_time;
use crate::http::{ApiError, AppState};
use crate::storage::{ServerDoc, Storage, StorageError};

/// The team's published rosters, as the phones hold them.
fn team_rosters(storage: &dyn Storage, team_id: i64) -> Result<Vec<Roster>, StorageError> {
    Ok(storage
        .docs_with_prefix(team_id, ROSTER_ID_PREFIX)?
        .into_iter()
        .filter_map(|(id, bytes)| match RosterDoc::load(&bytes, automerge::ActorId::random()) {
            Ok(doc) => Some(doc.read()),
            Err(err) => {
                tracing::error!(team_id, id, error = %err, "stored roster does not read");
                None
            }
        })
        .collect())
}

/// Every person's month: those rostered in it and those with a record of it.
fn month_scores(
    storage: &dyn Storage,
    team_id: i64,
    (year, month): (i32, u32),
    now: Timestamp,
) -> Result<Vec<MonthScore>, StorageError> {
    let rosters = team_rosters(storage, team_id)?;
    let requests = team_requests(storage, team_id)?;
    let suffix = format!(":{year:04}-{month:02}");
    let records: BTreeMap<StaffId, Attendance> = storage
        .docs_with_prefix(team_id, ATTENDANCE_ID_PREFIX)?
        .into_iter()
        .filter(|(id, _)| id.ends_with(&suffix))
        .filter_map(|(_, bytes)| AttendanceDoc::load(&bytes, automerge::ActorId::random()).ok())
        .map(|doc| doc.read())
        .map(|record| (record.staff.clone(), record))
        .collect();
    let mut staff: BTreeSet<StaffId> = records.keys().cloned().collect();
    for roster in &rosters {
        staff.extend(
            roster
                .shifts
                .iter()
                .filter(|shift| shift.date.year() == year && shift.date.month() == month)
                .map(|shift| shift.staff.clone()),
        );
    }
    Ok(staff
        .iter()
        .map(|person| attendance::month(person, year, month, &rosters, &requests, records.get(person), now))
        .collect())
}

/// `YYYY-MM`, or the current month on the team's clock.
fn month_of(text: Option<&str>, state: &AppState) -> Result<(i32, u32), ApiError> {
    match text.filter(|text| !text.is_empty()) {
        None => Ok(attendance::month_of(Timestamp::now(), state.report_offset.local_minus_utc() / 60)),
        Some(text) => NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
            .ok()
            .filter(|_| text.len() == 7)
            .map(|day| (day.year(), day.month()))
            .ok_or_else(|| {
                invalid(
                    "query.invalid",
                    format!("month {:?} is not YYYY-MM", text.chars().take(16).collect::<String>()),
                )
            }),
    }
}

/// `?month=`.
#[derive(Deserialize)]
pub struct MonthParam {
    month: Option<String>,
}

/// One deduction.
#[derive(Serialize)]
pub struct DeductionJson {
    what: &'static str,
    count: usize,
    points: f64,
}

/// One correction.
#[derive(Serialize)]
pub struct FixJson {
    shift: String,
    status: &'static str,
    note: String,
    by: String,
    at: String,
}

/// One shift as attended.
#[derive(Serialize)]
pub struct ShiftJson {
    key: String,
    date: String,
    shift: String,
    post: String,
    start: String,
    checked_in: Option<String>,
    checked_out: Option<String>,
    late_minutes: i64,
    judged: &'static str,
    status: &'static str,
    fix: Option<FixJson>,
}

/// One recorded fault.
#[derive(Serialize)]
pub struct MarkJson {
    kind: &'static str,
    date: String,
    note: String,
    by: String,
    at: String,
}

/// One person's month.
#[derive(Serialize)]
pub struct PersonJson {
    staff: String,
    score: f64,
    warning: bool,
    penalty: bool,
    deductions: Vec<DeductionJson>,
    shifts: Vec<ShiftJson>,
    marks: Vec<MarkJson>,
    /// Every correction of the month, oldest first (the history).
    fixes: Vec<FixJson>,
}

/// The team's month.
#[derive(Serialize)]
pub struct MonthJson {
    month: String,
    full_score: f64,
    warning_at: f64,
    penalty_at: f64,
    staff: Vec<PersonJson>,
}

fn person_json(score: &MonthScore, state: &AppState) -> PersonJson {
    let time = |at: Timestamp| local_time(at, state.report_offset);
    let fix = |fix: &attendance::Fix| FixJson {
        shift: fix.shift.clone(),
        status: fix.status.code(),
        note: fix.note.clone(),
        by: fix.by.clone(),
        at: time(fix.at),
    };
    PersonJson {
        staff: score.staff.as_str().to_string(),
        score: score.score,
        warning: score.warning(),
        penalty: score.penalty(),
        deductions: score
            .deductions
            .iter()
            .map(|(what, count, points)| DeductionJson { what, count: *count, points: *points })
            .collect(),
        shifts: score
            .shifts
            .iter()
            .map(|record| ShiftJson {
                key: record.shift.key(),
                date: record.shift.date.format("%Y-%m-%d").to_string(),
                shift: record.shift.shift.clone(),
                post: record.shift.post.clone(),
                start: record.shift.start.format("%Y-%m-%dT%H:%M").to_string(),
                checked_in: record.checked_in.map(time),
                checked_out: record.checked_out.map(time),
                late_minutes: record.late_minutes,
                judged: record.judged.code(),
                status: record.status().code(),
                fix: record.fix.as_ref().map(fix),
            })
            .collect(),
        marks: score
            .marks
            .iter()
            .map(|mark| MarkJson {
                kind: mark.kind.code(),
                date: mark.date.format("%Y-%m-%d").to_string(),
                note: mark.note.clone(),
                by: mark.by.clone(),
                at: time(mark.at),
            })
            .collect(),
        fixes: score.fixes.iter().map(fix).collect(),
    }
}

async fn month_json(state: &AppState, team_id: i64, month: (i32, u32)) -> Result<MonthJson, ApiError> {
    let storage = Arc::clone(&state.storage);
    let scores = blocking(move || Ok(month_scores(storage.as_ref(), team_id, month, Timestamp::now())?)).await?;
    Ok(MonthJson {
        month: format!("{:04}-{:02}", month.0, month.1),
        full_score: attendance::FULL_SCORE,
        warning_at: WARNING_AT,
        penalty_at: PENALTY_AT,
        staff: scores.iter().map(|score| person_json(score, state)).collect(),
    })
}

/// `GET /v1/attendance?month=YYYY-MM` (default: this month): every person's month.
pub async fn v1_month(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    query: Result<Query<MonthParam>, QueryRejection>,
) -> Result<Json<MonthJson>, ApiError> {
    let Ok(Query(param)) = query else { return Err(ApiError::bad_query("the attendance query is malformed")) };
    let month = month_of(param.month.as_deref(), &state)?;
    Ok(Json(month_json(&state, scope.team_id, month).await?))
}

/// A correction or a fault, as the API and the forms send it.
#[derive(Deserialize)]
pub struct RecordBody {
    staff: String,
    /// A correction: the shift's key (`<date>/<staff>/<template>`) and its new status.
    shift: Option<String>,
    status: Option<String>,
    /// A fault: its kind (`desk_login`, `slow_answer`, `rude`) and day.
    kind: Option<String>,
    date: Option<String>,
    #[serde(default)]
    note: String,
    /// The console's form token (forms only).
    csrf: Option<String>,
}

/// Checks a body and makes the edit, with the document's month.
fn edit_of(
    body: &RecordBody,
    rosters: &[Roster],
    by: String,
) -> Result<(StaffId, (i32, u32), AttendanceEdit), ApiError> {
    let bad = |message: String| invalid("body.invalid", message);
    let staff = StaffId::new(body.staff.as_str()).map_err(|err| bad(format!("staff: {err}")))?;
    match (&body.shift, &body.kind) {
        (Some(shift), None) => {
            let status = body.status.as_deref().unwrap_or_default();
            let status = ShiftStatus::from_code(status).ok_or_else(|| {
                bad(format!(
                    "status: {:?} is not present, late, absent, unexcused or excused",
                    status.chars().take(32).collect::<String>()
                ))
            })?;
            if body.note.trim().is_empty() {
                return Err(bad(format!("note: a correction of {shift} needs a reason")));
            }
            let rostered = rosters.iter().flat_map(|roster| &roster.shifts).find(|held| held.key() == *shift);
            let rostered = rostered.filter(|held| held.staff == staff).ok_or_else(|| {
                bad(format!(
                    "shift: {:?} is no shift of {staff} in a published roster",
                    shift.chars().take(80).collect::<String>()
                ))
            })?;
            let month = (rostered.date.year(), rostered.date.month());
            let edit = AttendanceEdit::Fix { shift: shift.clone(), status, note: body.note.clone(), by };
            Ok((staff, month, edit))
        }
        (None, Some(kind)) => {
            let kind = MarkKind::from_code(kind).ok_or_else(|| {
                bad(format!(
                    "kind: {:?} is not desk_login, slow_answer or rude",
                    kind.chars().take(32).collect::<String>()
                ))
            })?;
            let text = body.date.as_deref().unwrap_or_default();
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| bad(format!("date: {:?} is not YYYY-MM-DD", text.chars().take(32).collect::<String>())))?;
            let edit = AttendanceEdit::Mark { kind, date, note: body.note.clone(), by };
            Ok((staff, (date.year(), date.month()), edit))
        }
        _ => Err(bad("give either shift and status (a correction) or kind and date (a fault)".into())),
    }
}

/// Writes a correction or fault into the person's month (made if it does not exist yet).
async fn record(state: &AppState, team_id: i64, body: RecordBody, by: String) -> Result<String, ApiError> {
    let storage = Arc::clone(&state.storage);
    let server = state.storage.server_device();
    let id = blocking(move || {
        let rosters = team_rosters(storage.as_ref(), team_id)?;
        let (staff, (year, month), edit) = edit_of(&body, &rosters, by)?;
        let id = attendance_id(&staff, year, month);
        let build = |stored: Option<&[u8]>| write_edit(server, &id, &staff, (year, month), stored, &edit);
        match storage.write_server_doc(team_id, &ServerDoc { id: &id, build: &build }) {
            Err(StorageError::Conflict(message)) => Err(invalid("body.invalid", message)),
            other => Ok(other.map(|()| id)?),
        }
    })
    .await?;
    state.sessions.notify_team(team_id, None);
    Ok(id)
}

fn write_edit(
    server: DeviceId,
    id: &str,
    staff: &StaffId,
    (year, month): (i32, u32),
    stored: Option<&[u8]>,
    edit: &AttendanceEdit,
) -> Result<AcceptedDoc, StorageError> {
    let actor = server.install(rand::random()).actor();
    let corrupt = |err: String| StorageError::Corrupt(format!("{id}: {err}"));
    let mut doc = match stored {
        Some(bytes) => AttendanceDoc::load(bytes, actor).map_err(|err| corrupt(err.to_string()))?,
        None => AttendanceDoc::create(actor, staff, year, month).map_err(|err| corrupt(err.to_string()))?,
    };
    doc.apply(Timestamp::now(), edit).map_err(|err| StorageError::Conflict(err.to_string()))?;
    let automerge = doc.automerge();
    Ok(AcceptedDoc {
        id: id.to_string(),
        bytes: automerge.save(),
        heads: automerge.get_heads(),
        is_new: stored.is_none(),
        case: None,
    })
}

/// `POST /v1/attendance/records` (`{"staff", "shift", "status", "note"}` to correct a shift,
/// `{"staff", "kind", "date", "note"}` to record a fault); a session needs `x-csrf-token`.
pub async fn v1_record(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    headers: HeaderMap,
    body: Result<Json<RecordBody>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if let Some(session) = &scope.session {
        check_csrf(session, &headers, None)?;
    }
    let Json(body) = body.map_err(|err| invalid("body.invalid", format!("the record must be JSON: {err}")))?;
    let id = record(&state, scope.team_id, body, scope.actor()).await?;
    Ok(Json(serde_json::json!({ "id": id })))
}

/// One person's row on the page.
pub struct PersonRow {
    person: PersonJson,
    level: &'static str,
}

#[derive(Template)]
#[template(path = "attendance.html")]
struct AttendancePage {
    page: Page,
    month: String,
    warning_at: f64,
    penalty_at: f64,
    rows: Vec<PersonRow>,
    statuses: [&'static str; 5],
}

/// `GET /console/attendance?month=YYYY-MM`: the team's month, warnings and penalties marked.
pub async fn page(
    State(state): State<AppState>,
    console: Console,
    query: Result<Query<MonthParam>, QueryRejection>,
) -> Response {
    let lang = console.page.lang;
    let param = query.map(|Query(param)| param.month).unwrap_or_default();
    let month = match month_of(param.as_deref(), &state) {
        Ok(month) => month,
        Err(err) => return error_page(lang, &err),
    };
    let json = match month_json(&state, console.scope.team_id, month).await {
        Ok(json) => json,
        Err(err) => return error_page(lang, &err),
    };
    let rows = json
        .staff
        .into_iter()
        .map(|person| {
            let level = if person.penalty {
                "penalty"
            } else if person.warning {
                "warning"
            } else {
                "fine"
            };
            PersonRow { person, level }
        })
        .collect();
    let page = AttendancePage {
        page: console.page,
        month: json.month,
        warning_at: json.warning_at,
        penalty_at: json.penalty_at,
        rows,
        statuses: ["present", "late", "absent", "unexcused", "excused"],
    };
    render(&page, lang)
}

/// `POST /console/attendance/record`: the correction or fault form, then back to the month.
pub async fn record_form(
    State(state): State<AppState>,
    console: Console,
    headers: HeaderMap,
    form: Result<Form<RecordBody>, FormRejection>,
) -> Response {
    let lang = console.page.lang;
    let Ok(Form(mut form)) = form else {
        return error_page(lang, &invalid("form.malformed", "the attendance form needs staff and a shift or a kind"));
    };
    if let Err(err) = csrf(&console, &headers, form.csrf.as_deref()) {
        return error_page(lang, &err);
    }
    // An empty select or date field means "not given".
    for field in [&mut form.shift, &mut form.status, &mut form.kind, &mut form.date] {
        if field.as_deref() == Some("") {
            *field = None;
        }
    }
    let month = form.date.clone().or_else(|| form.shift.clone()).map(|text| text.chars().take(7).collect::<String>());
    match record(&state, console.scope.team_id, form, console.scope.actor()).await {
        Ok(_) => {
            see_other("/console/attendance", &console.page.team_query, &format!("month={}", month.unwrap_or_default()))
        }
        Err(err) => error_page(lang, &err),
    }
}
