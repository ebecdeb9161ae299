//! Attendance (考勤): check-ins and check-outs made on the phone (offline too), a supervisor's
//! corrections and recorded faults, and the month's score on the ten-point scale of seed 003,
//! derived from the published roster and approved leave.
//!
//! One document per person and month, id `attendance:<staff>:<YYYY-MM>`:
//!
//! ```text
//! ROOT: type "attendance", schema 1, id, staff str, month "YYYY-MM"
//!       check:<entry> = map { kind "in" | "out", at timestamp }        (the person's own phones)
//!       fix:<entry>   = map { shift str (<date>/<staff>/<template>), status "present" | "late"
//!                             | "absent" | "unexcused" | "excused", note str, by str, at timestamp }
//!       mark:<entry>  = map { kind "desk_login" | "slow_answer" | "rude", date "YYYY-MM-DD",
//!                             note str, by str, at timestamp }           (fix and mark: the server,
//!                                                                          for a supervisor)
//! ```
//!
//! Two phones of one person may create the month's document apart; like duty logs, every map
//! sits under a key only one writer makes (`<13 hex ms>-<actor>`), and shared keys hold only
//! scalars that every writer writes alike. Nothing is ever removed: a correction is a new `fix`
//! that outranks the earlier ones of its shift (the latest wins), so the history stays.
//!
//! Scoring ([`month`]; DOMAIN.md, "Attendance scoring"): from 10 points, late 0.5; more than
//! 30 minutes late is an absence, 2; no check-in and no approved leave is absence without leave
//! (旷工), 5; leave days past the monthly four count as absences; not logged in to the online
//! desk, 5 for every three times in a month; slow answers drawing 3 complaints 5, 5 complaints
//! 10; rude-service complaints 1 each. At or below 5 a warning, at or below 2 a penalty.
//!
//! Pure: no IO, no clock (`now` is an argument).

use automerge::transaction::Transactable;
use automerge::{Automerge, LoadOptions, ObjType, ROOT, ReadDoc, ScalarValue};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

use crate::case::limits::{self, check_short_text};
use crate::case::schema::{Reader, as_str, code, short_text, staff, timestamp, uint};
use crate::case::{EditError, LoadError, SCHEMA_VERSION, SchemaErrors, TEXT_ENCODING};
use crate::ids::{StaffId, Timestamp};
use crate::request::{MONTHLY_ALLOWANCE, Request, RequestKind, RequestStatus};
use crate::roster::{self, Roster, RosterShift};

/// Document type tag.
pub const ATTENDANCE_TYPE: &str = "attendance";

/// Every attendance document's id starts so.
pub const ATTENDANCE_ID_PREFIX: &str = "attendance:";

/// The points a month starts from.
pub const FULL_SCORE: f64 = 10.0;

/// At or below: a warning.
pub const WARNING_AT: f64 = 5.0;

/// At or below: a penalty.
pub const PENALTY_AT: f64 = 2.0;

/// A check-in this long before a shift's start still belongs to it.
const EARLY_CHECK_IN_MINUTES: i64 = 120;

/// Later than this is an absence, not lateness (minutes).
const LATE_LIMIT_MINUTES: i64 = 30;

/// Longest note, in characters.
const MAX_NOTE: usize = 500;

/// Whether a raw document says it is an attendance record.
pub fn is_attendance(doc: &Automerge) -> bool {
    matches!(
        doc.get(ROOT, "type"),
        Ok(Some((automerge::Value::Scalar(ref value), _))) if value.as_str() == Some(ATTENDANCE_TYPE)
    )
}

/// The id of `staff`'s document for a month.
pub fn attendance_id(staff: &StaffId, year: i32, month: u32) -> String {
    format!("{ATTENDANCE_ID_PREFIX}{staff}:{year:04}-{month:02}")
}

/// The staff member an attendance id names, if it is one.
pub fn attendance_staff(id: &str) -> Option<StaffId> {
    let (staff, month) = id.strip_prefix(ATTENDANCE_ID_PREFIX)?.rsplit_once(':')?;
    parse_month(month)?;
    StaffId::new(staff).ok()
}

fn parse_month(text: &str) -> Option<(i32, u32)> {
    let (year, month) = text.split_once('-')?;
    let (year, month) = (year.parse().ok()?, month.parse().ok()?);
    (text.len() == 7 && (1..=12).contains(&month)).then_some((year, month))
}

/// In or out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckKind {
    /// 签到.
    In,
    /// 签退.
    Out,
}

impl CheckKind {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            CheckKind::In => "in",
            CheckKind::Out => "out",
        }
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        [CheckKind::In, CheckKind::Out].into_iter().find(|kind| kind.code() == code)
    }
}

/// How a shift was attended, as judged or as corrected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftStatus {
    /// On time.
    Present,
    /// Late by at most 30 minutes: 0.5 points.
    Late,
    /// More than 30 minutes late, or leave past the monthly four: 2 points.
    Absent,
    /// No check-in and no approved leave (旷工): 5 points.
    Unexcused,
    /// On approved leave or 调休.
    Excused,
    /// Begun, not yet judged (no check-in, and 30 minutes have not passed).
    Open,
}

impl ShiftStatus {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            ShiftStatus::Present => "present",
            ShiftStatus::Late => "late",
            ShiftStatus::Absent => "absent",
            ShiftStatus::Unexcused => "unexcused",
            ShiftStatus::Excused => "excused",
            ShiftStatus::Open => "open",
        }
    }

    /// Parses a code a correction may set (not `open`).
    pub fn from_code(code: &str) -> Option<Self> {
        [ShiftStatus::Present, ShiftStatus::Late, ShiftStatus::Absent, ShiftStatus::Unexcused, ShiftStatus::Excused]
            .into_iter()
            .find(|status| status.code() == code)
    }

    /// Points it costs.
    pub fn points(self) -> f64 {
        match self {
            ShiftStatus::Late => 0.5,
            ShiftStatus::Absent => 2.0,
            ShiftStatus::Unexcused => 5.0,
            ShiftStatus::Present | ShiftStatus::Excused | ShiftStatus::Open => 0.0,
        }
    }
}

/// A fault a supervisor records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    /// On duty, not logged in to the online desk.
    DeskLogin,
    /// A complaint about a slow answer.
    SlowAnswer,
    /// A complaint about rude service.
    Rude,
}

impl MarkKind {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            MarkKind::DeskLogin => "desk_login",
            MarkKind::SlowAnswer => "slow_answer",
            MarkKind::Rude => "rude",
        }
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        [MarkKind::DeskLogin, MarkKind::SlowAnswer, MarkKind::Rude].into_iter().find(|kind| kind.code() == code)
    }
}

/// A check-in or check-out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Entry key.
    pub id: String,
    /// In or out.
    pub kind: CheckKind,
    /// When (the phone's clock).
    pub at: Timestamp,
}

/// A supervisor's correction of one shift.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// Entry key.
    pub id: String,
    /// The shift's key (`<date>/<staff>/<template>`).
    pub shift: String,
    /// The status it gets.
    pub status: ShiftStatus,
    /// Why.
    pub note: String,
    /// Who.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// A fault a supervisor recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// Entry key.
    pub id: String,
    /// What.
    pub kind: MarkKind,
    /// The day it happened.
    pub date: NaiveDate,
    /// Details.
    pub note: String,
    /// Who recorded it.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// One person's month as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attendance {
    /// `attendance:<staff>:<YYYY-MM>`.
    pub id: String,
    /// Whose.
    pub staff: StaffId,
    /// The month's year.
    pub year: i32,
    /// The month (1–12).
    pub month: u32,
    /// Check-ins and outs, by time.
    pub checks: Vec<Check>,
    /// Corrections, oldest first.
    pub fixes: Vec<Fix>,
    /// Recorded faults, oldest first.
    pub marks: Vec<Mark>,
}

/// An edit of an attendance document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttendanceEdit {
    /// The person checks in or out (their phone).
    Check(CheckKind),
    /// A supervisor corrects a shift (the server).
    Fix {
        /// The shift's key.
        shift: String,
        /// The status it gets.
        status: ShiftStatus,
        /// Why (required).
        note: String,
        /// The supervisor's name.
        by: String,
    },
    /// A supervisor records a fault (the server).
    Mark {
        /// What.
        kind: MarkKind,
        /// The day.
        date: NaiveDate,
        /// Details.
        note: String,
        /// The supervisor's name.
        by: String,
    },
}

/// One attendance document. Invariant: valid against the layout.
#[derive(Debug, Clone)]
pub struct AttendanceDoc {
    doc: Automerge,
    id: String,
}

impl AttendanceDoc {
    /// Starts `staff`'s document of a month, written by `actor`.
    pub fn create(actor: automerge::ActorId, staff: &StaffId, year: i32, month: u32) -> Result<Self, EditError> {
        if !(1..=12).contains(&month) || !(1..=9999).contains(&year) {
            return Err(EditError::Invalid { field: "month", reason: format!("{year}-{month} is not a month") });
        }
        let id = attendance_id(staff, year, month);
        let mut doc = Automerge::new_with_encoding(TEXT_ENCODING).with_actor(actor);
        doc.transact(|tx| {
            tx.put(ROOT, "type", ATTENDANCE_TYPE)?;
            tx.put(ROOT, "schema", SCHEMA_VERSION)?;
            tx.put(ROOT, "id", id.as_str())?;
            tx.put(ROOT, "staff", staff.as_str())?;
            tx.put(ROOT, "month", format!("{year:04}-{month:02}"))?;
            Ok::<_, automerge::AutomergeError>(())
        })
        .map_err(|failure| failure.error)?;
        Ok(AttendanceDoc { doc, id })
    }

    /// Loads and validates saved bytes, writing as `actor` from now on.
    pub fn load(bytes: &[u8], actor: automerge::ActorId) -> Result<Self, LoadError> {
        crate::case::decode_guarded(|| {
            let doc =
                Automerge::load_with_options(bytes, LoadOptions::new().text_encoding(TEXT_ENCODING))?.with_actor(actor);
            Ok(Self::from_automerge(doc)?)
        })
    }

    /// Wraps a document after validating it.
    pub fn from_automerge(doc: Automerge) -> Result<Self, SchemaErrors> {
        let (record, errors) = read(&doc);
        if errors.is_empty() { Ok(AttendanceDoc { doc, id: record.id }) } else { Err(SchemaErrors(errors)) }
    }

    /// The id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The underlying document.
    pub fn automerge(&self) -> &Automerge {
        &self.doc
    }

    /// Reads it.
    pub fn read(&self) -> Attendance {
        read(&self.doc).0
    }

    /// Accepts changes from elsewhere, validated on a fork first.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<usize, LoadError> {
        crate::case::receive_validated(&mut self.doc, bytes, &self.id, |doc| match read(doc) {
            (record, errors) if errors.is_empty() => Ok(record.id),
            (_, errors) => Err(SchemaErrors(errors)),
        })
    }

    /// Applies one edit at `at`.
    pub fn apply(&mut self, at: Timestamp, edit: &AttendanceEdit) -> Result<(), EditError> {
        let invalid = |field, reason: String| EditError::Invalid { field, reason };
        match edit {
            AttendanceEdit::Check(_) => {}
            AttendanceEdit::Fix { shift, note, by, .. } => {
                check_short_text(shift, limits::MAX_SHORT, false).map_err(|reason| invalid("shift", reason))?;
                check_short_text(note, MAX_NOTE, false).map_err(|reason| invalid("note", reason))?;
                check_short_text(by, limits::MAX_SHORT, false).map_err(|reason| invalid("by", reason))?;
            }
            AttendanceEdit::Mark { note, by, .. } => {
                check_short_text(note, MAX_NOTE, true).map_err(|reason| invalid("note", reason))?;
                check_short_text(by, limits::MAX_SHORT, false).map_err(|reason| invalid("by", reason))?;
            }
        }
        let family = match edit {
            AttendanceEdit::Check(_) => "check",
            AttendanceEdit::Fix { .. } => "fix",
            AttendanceEdit::Mark { .. } => "mark",
        };
        let base = format!("{family}:{:013x}-{}", at.0.max(0), self.doc.get_actor().to_hex_string());
        let key = (0..)
            .map(|n| if n == 0 { base.clone() } else { format!("{base}-{n}") })
            .find(|key| !matches!(self.doc.get(ROOT, key.as_str()), Ok(Some(_))))
            .expect("an unbounded range has a free key");
        self.doc
            .transact(|tx| {
                let obj = tx.put_object(ROOT, key.as_str(), ObjType::Map)?;
                tx.put(&obj, "at", ScalarValue::Timestamp(at.0))?;
                match edit {
                    AttendanceEdit::Check(kind) => tx.put(&obj, "kind", kind.code())?,
                    AttendanceEdit::Fix { shift, status, note, by } => {
                        tx.put(&obj, "shift", shift.as_str())?;
                        tx.put(&obj, "status", status.code())?;
                        tx.put(&obj, "note", note.as_str())?;
                        tx.put(&obj, "by", by.as_str())?;
                    }
                    AttendanceEdit::Mark { kind, date, note, by } => {
                        tx.put(&obj, "kind", kind.code())?;
                        tx.put(&obj, "date", date.format("%Y-%m-%d").to_string())?;
                        tx.put(&obj, "note", note.as_str())?;
                        tx.put(&obj, "by", by.as_str())?;
                    }
                }
                Ok::<_, automerge::AutomergeError>(())
            })
            .map_err(|failure| failure.error)?;
        Ok(())
    }
}

/// Root keys besides the `check:`, `fix:` and `mark:` families.
const ROOT_FIELDS: &[&str] = &["type", "schema", "id", "staff", "month"];

/// Who may write a root key: the person's phones (`Some(true)`), the server (`Some(false)`),
/// or nobody (`None`, not in the layout). The phones also write the document's identity fields
/// when they create it.
pub fn written_by_phone(key: &str) -> Option<bool> {
    if ROOT_FIELDS.contains(&key) || key.starts_with("check:") {
        Some(true)
    } else if key.starts_with("fix:") || key.starts_with("mark:") {
        Some(false)
    } else {
        None
    }
}

fn read(doc: &Automerge) -> (Attendance, Vec<crate::case::SchemaError>) {
    let mut reader = Reader::new(doc, true);
    reader.scalar(&ROOT, "", "type", true, |value| match as_str(value)? {
        ATTENDANCE_TYPE => Ok(()),
        other => Err(format!("expected \"{ATTENDANCE_TYPE}\", found {other:?}")),
    });
    reader.scalar(&ROOT, "", "schema", true, |value| match uint(value)? {
        version if (1..=SCHEMA_VERSION).contains(&version) => Ok(()),
        version => Err(format!("schema version {version} is not supported (this build reads 1..={SCHEMA_VERSION})")),
    });
    let who = reader.scalar(&ROOT, "", "staff", true, staff);
    let month = reader.scalar(&ROOT, "", "month", true, |value| {
        parse_month(as_str(value)?).ok_or_else(|| "must be a month YYYY-MM".to_string())
    });
    let who = who.unwrap_or_else(|| StaffId::new("unknown").expect("a valid staff id"));
    let (year, month) = month.unwrap_or((1970, 1));
    let id = attendance_id(&who, year, month);
    reader.scalar(&ROOT, "", "id", true, |value| match as_str(value)? {
        found if found == id => Ok(()),
        found => Err(format!("must be {id} for its staff and month, found {found:?}")),
    });
    let mut record =
        Attendance { id, staff: who, year, month, checks: Vec::new(), fixes: Vec::new(), marks: Vec::new() };
    let date = |value: &ScalarValue| {
        NaiveDate::parse_from_str(as_str(value)?, "%Y-%m-%d").map_err(|_| "must be a date YYYY-MM-DD".to_string())
    };
    for key in reader.keys(&ROOT) {
        let Some((family, entry)) = key.split_once(':') else {
            if !ROOT_FIELDS.contains(&key.as_str()) {
                reader.error(key.as_str(), "is not a field of the attendance schema");
            }
            continue;
        };
        if !matches!(family, "check" | "fix" | "mark") {
            reader.error(key.as_str(), "is not a field of the attendance schema");
            continue;
        }
        if let Err(reason) = check_short_text(entry, limits::MAX_SHORT, false) {
            reader.error(key.as_str(), format!("entry id {reason}"));
            continue;
        }
        for obj in reader.objects(&ROOT, "", &key, ObjType::Map) {
            let at = reader.scalar(&obj, &key, "at", true, timestamp);
            match family {
                "check" => {
                    reader.closed(&obj, &key, &[&["kind", "at"]], "attendance");
                    let kind = reader.scalar(&obj, &key, "kind", true, code(CheckKind::from_code));
                    if let (Some(kind), Some(at)) = (kind, at) {
                        record.checks.push(Check { id: key.clone(), kind, at });
                    }
                }
                "fix" => {
                    reader.closed(&obj, &key, &[&["shift", "status", "note", "by", "at"]], "attendance");
                    let shift = reader.scalar(&obj, &key, "shift", true, short_text(limits::MAX_SHORT, false));
                    let status = reader.scalar(&obj, &key, "status", true, code(ShiftStatus::from_code));
                    let note = reader.scalar(&obj, &key, "note", true, short_text(MAX_NOTE, false));
                    let by = reader.scalar(&obj, &key, "by", true, short_text(limits::MAX_SHORT, false));
                    if let (Some(shift), Some(status), Some(note), Some(by), Some(at)) = (shift, status, note, by, at) {
                        record.fixes.push(Fix { id: key.clone(), shift, status, note, by, at });
                    }
                }
                _ => {
                    reader.closed(&obj, &key, &[&["kind", "date", "note", "by", "at"]], "attendance");
                    let kind = reader.scalar(&obj, &key, "kind", true, code(MarkKind::from_code));
                    let day = reader.scalar(&obj, &key, "date", true, date);
                    let note = reader.scalar(&obj, &key, "note", true, short_text(MAX_NOTE, true));
                    let by = reader.scalar(&obj, &key, "by", true, short_text(limits::MAX_SHORT, false));
                    if let (Some(kind), Some(date), Some(note), Some(by), Some(at)) = (kind, day, note, by, at) {
                        record.marks.push(Mark { id: key.clone(), kind, date, note, by, at });
                    }
                }
            }
        }
    }
    record.checks.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    record.fixes.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    record.marks.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    let errors = reader.finish().err().map(|SchemaErrors(errors)| errors).unwrap_or_default();
    (record, errors)
}

/// One shift of the month as judged.
#[derive(Clone, Debug, PartialEq)]
pub struct ShiftRecord {
    /// The shift as rostered.
    pub shift: RosterShift,
    /// The first check-in that belongs to it.
    pub checked_in: Option<Timestamp>,
    /// The last check-out that belongs to it.
    pub checked_out: Option<Timestamp>,
    /// Minutes late (0 when on time or not checked in).
    pub late_minutes: i64,
    /// As judged from the check-ins, leave and roster.
    pub judged: ShiftStatus,
    /// The latest correction, which outranks the judgement.
    pub fix: Option<Fix>,
}

impl ShiftRecord {
    /// The status that counts.
    pub fn status(&self) -> ShiftStatus {
        self.fix.as_ref().map_or(self.judged, |fix| fix.status)
    }
}

/// A month's deductions and score.
#[derive(Clone, Debug, PartialEq)]
pub struct MonthScore {
    /// Whose.
    pub staff: StaffId,
    /// The year.
    pub year: i32,
    /// The month.
    pub month: u32,
    /// Every rostered shift of the month that has begun, in time order.
    pub shifts: Vec<ShiftRecord>,
    /// Approved leave days past the monthly four (each an absence).
    pub leave_past_allowance: Vec<NaiveDate>,
    /// Faults recorded.
    pub marks: Vec<Mark>,
    /// Every correction, the history (oldest first).
    pub fixes: Vec<Fix>,
    /// Points taken off, by what (`late`, `absent`, `unexcused`, `leave_past_allowance`,
    /// `desk_login`, `slow_answer`, `rude`), with the count and the points.
    pub deductions: Vec<(&'static str, usize, f64)>,
    /// 10 minus the deductions, not below 0.
    pub score: f64,
}

impl MonthScore {
    /// At or below [`WARNING_AT`].
    pub fn warning(&self) -> bool {
        self.score <= WARNING_AT
    }

    /// At or below [`PENALTY_AT`].
    pub fn penalty(&self) -> bool {
        self.score <= PENALTY_AT
    }
}

/// `staff`'s month scored: their shifts that have begun by `now` from the rosters in force,
/// their approved leave, and their attendance document (if any). A check-in belongs to the shift
/// it falls in or precedes by at most two hours.
pub fn month(
    staff: &StaffId,
    year: i32,
    month: u32,
    rosters: &[Roster],
    requests: &[Request],
    record: Option<&Attendance>,
    now: Timestamp,
) -> MonthScore {
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
    let last = first.checked_add_months(chrono::Months::new(1)).map_or(first, |next| next - Duration::days(1));
    let approved: Vec<&Request> = requests
        .iter()
        .filter(|request| {
            request.staff == *staff && request.kind != RequestKind::Swap && request.status() == RequestStatus::Approved
        })
        .collect();
    let mut leave_days: Vec<NaiveDate> = approved
        .iter()
        .flat_map(|request| request.days.iter().copied())
        .filter(|day| (first..=last).contains(day))
        .collect();
    leave_days.sort();
    leave_days.dedup();
    let leave_past_allowance: Vec<NaiveDate> = leave_days.iter().skip(MONTHLY_ALLOWANCE).copied().collect();
    let checks = record.map(|record| record.checks.as_slice()).unwrap_or_default();
    let fixes = record.map(|record| record.fixes.clone()).unwrap_or_default();
    let mut shifts = Vec::new();
    for view in roster::shifts_between(rosters, staff, first, last) {
        let roster = rosters.iter().find(|roster| roster.id == view.roster_id);
        let local = |at: Timestamp| roster.map_or(at.to_utc().naive_utc(), |roster| roster.local_time(at));
        let shift = view.shift;
        if local(now) < shift.start {
            continue;
        }
        let belongs =
            |at: NaiveDateTime| shift.start - Duration::minutes(EARLY_CHECK_IN_MINUTES) <= at && at < shift.end;
        let checked_in = checks.iter().find(|check| check.kind == CheckKind::In && belongs(local(check.at)));
        let checked_out = checks.iter().rev().find(|check| check.kind == CheckKind::Out && belongs(local(check.at)));
        let late_minutes = checked_in.map_or(0, |check| (local(check.at) - shift.start).num_minutes().max(0));
        let judged = if leave_days.contains(&shift.date) {
            ShiftStatus::Excused
        } else if checked_in.is_some() {
            match late_minutes {
                0 => ShiftStatus::Present,
                minutes if minutes <= LATE_LIMIT_MINUTES => ShiftStatus::Late,
                _ => ShiftStatus::Absent,
            }
        } else if local(now) < shift.start + Duration::minutes(LATE_LIMIT_MINUTES) {
            ShiftStatus::Open
        } else {
            ShiftStatus::Unexcused
        };
        let key = shift.key();
        let fix = fixes.iter().rev().find(|fix| fix.shift == key).cloned();
        shifts.push(ShiftRecord {
            shift,
            checked_in: checked_in.map(|check| check.at),
            checked_out: checked_out.map(|check| check.at),
            late_minutes,
            judged,
            fix,
        });
    }
    let marks: Vec<Mark> = record
        .map(|record| record.marks.iter().filter(|mark| (first..=last).contains(&mark.date)).cloned().collect())
        .unwrap_or_default();
    let mut deductions = Vec::new();
    for status in [ShiftStatus::Late, ShiftStatus::Absent, ShiftStatus::Unexcused] {
        let count = shifts.iter().filter(|record| record.status() == status).count();
        if count > 0 {
            deductions.push((status.code(), count, status.points() * count as f64));
        }
    }
    if !leave_past_allowance.is_empty() {
        let count = leave_past_allowance.len();
        deductions.push(("leave_past_allowance", count, ShiftStatus::Absent.points() * count as f64));
    }
    let count = |kind| marks.iter().filter(|mark| mark.kind == kind).count();
    let desk = count(MarkKind::DeskLogin);
    if desk > 0 {
        deductions.push((MarkKind::DeskLogin.code(), desk, 5.0 * (desk / 3) as f64));
    }
    let slow = count(MarkKind::SlowAnswer);
    if slow > 0 {
        let points = if slow >= 5 {
            10.0
        } else if slow >= 3 {
            5.0
        } else {
            0.0
        };
        deductions.push((MarkKind::SlowAnswer.code(), slow, points));
    }
    let rude = count(MarkKind::Rude);
    if rude > 0 {
        deductions.push((MarkKind::Rude.code(), rude, rude as f64));
    }
    let taken: f64 = deductions.iter().map(|(_, _, points)| points).sum();
    MonthScore {
        staff: staff.clone(),
        year,
        month,
        shifts,
        leave_past_allowance,
        marks,
        fixes,
        deductions,
        score: (FULL_SCORE - taken).max(0.0),
    }
}

/// The year and month of `at` on a clock `offset_minutes` east of UTC.
pub fn month_of(at: Timestamp, offset_minutes: i32) -> (i32, u32) {
    let local = Timestamp(at.0.saturating_add(i64::from(offset_minutes) * 60_000)).to_utc();
    (local.year(), local.month())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::DeviceId;
    use crate::request::{NewRequest, RequestDoc, RequestEdit};

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").unwrap()
    }

    /// 2026-03 in Beijing (UTC+8): the instant of a local time.
    fn instant(text: &str) -> Timestamp {
        Timestamp(at(text).and_utc().timestamp_millis() - 8 * 3_600_000)
    }

    fn roster(staff: &StaffId) -> Roster {
        let shifts = (2..=6)
            .map(|day| {
                let start = at(&format!("2026-03-{day:02}T08:00"));
                RosterShift {
                    staff: staff.clone(),
                    date: start.date(),
                    shift: "day".into(),
                    post: "desk".into(),
                    start,
                    end: start + Duration::hours(9),
                    lunch: None,
                }
            })
            .collect();
        let first = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        Roster::new(first, first + Duration::days(6), 1, "li", Timestamp(0), 480, shifts).unwrap()
    }

    #[test]
    fn a_month_is_scored_from_check_ins_leave_and_corrections() {
        let wang = StaffId::new("wang").unwrap();
        let rosters = [roster(&wang)];
        let mut doc = AttendanceDoc::create(DeviceId::from_u128(1).actor(), &wang, 2026, 3).unwrap();
        doc.apply(instant("2026-03-02T07:55"), &AttendanceEdit::Check(CheckKind::In)).unwrap();
        doc.apply(instant("2026-03-02T17:01"), &AttendanceEdit::Check(CheckKind::Out)).unwrap();
        doc.apply(instant("2026-03-03T08:10"), &AttendanceEdit::Check(CheckKind::In)).unwrap();
        doc.apply(instant("2026-03-04T08:40"), &AttendanceEdit::Check(CheckKind::In)).unwrap();
        // 03-05: on approved leave; 03-06: nothing.
        let new = NewRequest::Days {
            kind: RequestKind::Leave,
            days: vec![NaiveDate::from_ymd_opt(2026, 3, 5).unwrap()],
            note: String::new(),
        };
        let id = format!("request:{}", "ab".repeat(16));
        let mut leave = RequestDoc::create(DeviceId::from_u128(2), &id, &new, &wang, Timestamp(0)).unwrap();
        leave
            .apply(Timestamp(1), &wang, &RequestEdit::Decide { approve: true, by: "li".into(), note: String::new() })
            .unwrap();
        let requests = [leave.read()];

        let score = month(&wang, 2026, 3, &rosters, &requests, Some(&doc.read()), instant("2026-03-31T00:00"));
        let statuses: Vec<&str> = score.shifts.iter().map(|record| record.status().code()).collect();
        assert_eq!(statuses, ["present", "late", "absent", "excused", "unexcused"]);
        assert_eq!(score.shifts[2].late_minutes, 40);
        assert_eq!(score.score, 10.0 - 0.5 - 2.0 - 5.0);
        assert!(score.warning() && !score.penalty());

        doc.apply(
            Timestamp(2),
            &AttendanceEdit::Fix {
                shift: score.shifts[4].shift.key(),
                status: ShiftStatus::Excused,
                note: "sick; certificate brought".into(),
                by: "li".into(),
            },
        )
        .unwrap();
        for _ in 0..3 {
            let mark = AttendanceEdit::Mark {
                kind: MarkKind::DeskLogin,
                date: NaiveDate::from_ymd_opt(2026, 3, 3).unwrap(),
                note: String::new(),
                by: "li".into(),
            };
            doc.apply(Timestamp(3), &mark).unwrap();
        }
        let again = AttendanceDoc::load(&doc.automerge().save(), DeviceId::from_u128(3).actor()).unwrap().read();
        let score = month(&wang, 2026, 3, &rosters, &requests, Some(&again), instant("2026-03-31T00:00"));
        assert_eq!(score.shifts[4].status(), ShiftStatus::Excused);
        assert_eq!(score.shifts[4].judged, ShiftStatus::Unexcused, "the judgement stays, outranked");
        assert_eq!(score.score, 10.0 - 0.5 - 2.0 - 5.0, "three desk log-ins cost 5");
        assert_eq!(again.marks.len(), 3, "three marks at one instant keep three keys");

        let early = month(&wang, 2026, 3, &rosters, &requests, Some(&again), instant("2026-03-02T08:10"));
        assert_eq!(early.shifts.len(), 1, "shifts not begun are not judged");
    }

    #[test]
    fn an_id_names_its_staff_and_month() {
        let wang = StaffId::new("wang.li").unwrap();
        assert_eq!(attendance_id(&wang, 2026, 3), "attendance:wang.li:2026-03");
        assert_eq!(attendance_staff("attendance:wang.li:2026-03"), Some(wang));
        assert_eq!(attendance_staff("attendance:wang.li:2026-13"), None);
        assert_eq!(month_of(instant("2026-03-31T23:30"), 480), (2026, 3));
        assert_eq!(month_of(instant("2026-04-01T00:30"), 480), (2026, 4));
    }
}
