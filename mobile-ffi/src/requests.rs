//! Leave, 调休 and swap requests and attendance on the phone, offline (`kefu_core::request`,
//! `kefu_core::attendance`): ask for days within the monthly allowance, ask a colleague to take
//! a shift, answer a colleague's swap, withdraw, check in and out, and read the month's
//! attendance as the phone can judge it. A supervisor's decisions and corrections arrive with
//! sync; the phone never writes them (the server refuses it).
//!
//! Requests are stamped with the phone's clock. Check-ins take the instant as an argument, so
//! the app passes the clock's reading when the button is pressed (and a test a chosen one).

use kefu_core::attendance::{self as core_attendance, MonthScore};
use kefu_core::ids::Timestamp;
use kefu_core::request::{self as core_request, MONTHLY_ALLOWANCE, Request};

use crate::error::KefuError;
use crate::records::{self, staff_id};
use crate::store::KefuStore;

/// What a request asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum RequestKind {
    /// 请假.
    Leave,
    /// 调休.
    Lieu,
    /// 换班: a colleague works one of my shifts.
    Swap,
}

/// A request as the phone holds it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct StaffRequest {
    /// `request:<32 hex>`.
    pub id: String,
    /// What it asks.
    pub kind: RequestKind,
    /// Who asks.
    pub staff: String,
    /// Whether the signed-in staff member asks (else they are the swap's colleague).
    pub mine: bool,
    /// When it was made, ms since the epoch.
    pub created_at_ms: i64,
    /// Why.
    pub note: String,
    /// Leave and 调休: the days, `YYYY-MM-DD`, sorted.
    pub days: Vec<String>,
    /// A swap's day.
    pub swap_date: Option<String>,
    /// A swap's shift template.
    pub swap_shift: Option<String>,
    /// A swap's colleague.
    pub colleague: Option<String>,
    /// `awaiting_colleague`, `declined`, `pending`, `approved`, `refused` or `withdrawn`.
    pub status: String,
    /// The supervisor who decided.
    pub decided_by: Option<String>,
    /// Their reason.
    pub decision_note: Option<String>,
}

/// The monthly allowance of leave and 调休 days.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct LeaveAllowance {
    /// `YYYY-MM`.
    pub month: String,
    /// Days a month (four).
    pub allowance: u32,
    /// Days already counted (pending or approved), `YYYY-MM-DD`.
    pub counted: Vec<String>,
    /// Days left.
    pub remaining: u32,
}

/// In or out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum CheckKind {
    /// 签到.
    In,
    /// 签退.
    Out,
}

/// One rostered shift of the month, as attended.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct AttendedShift {
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// The shift template.
    pub shift: String,
    /// The post.
    pub post: String,
    /// The first check-in that belongs to it, ms since the epoch.
    pub checked_in_ms: Option<i64>,
    /// The last check-out that belongs to it.
    pub checked_out_ms: Option<i64>,
    /// Minutes late.
    pub late_minutes: i64,
    /// What counts: `present`, `late`, `absent` (over 30 minutes late), `unexcused` (旷工),
    /// `excused` (approved leave) or `open` (begun, not yet judged).
    pub status: String,
    /// The supervisor's correction's reason, when one outranks the judgement.
    pub corrected: Option<String>,
}

/// Points taken off for one kind of fault.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Deduction {
    /// `late`, `absent`, `unexcused`, `leave_past_allowance`, `desk_login`, `slow_answer`, `rude`.
    pub what: String,
    /// How many times.
    pub count: u32,
    /// Points.
    pub points: f64,
}

/// A month's attendance on the ten-point scale.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct AttendanceMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// Points left of ten.
    pub score: f64,
    /// At or below 5.
    pub warning: bool,
    /// At or below 2.
    pub penalty: bool,
    /// Shifts begun, in time order.
    pub shifts: Vec<AttendedShift>,
    /// Deductions.
    pub deductions: Vec<Deduction>,
}

fn kind(kind: core_request::RequestKind) -> RequestKind {
    match kind {
        core_request::RequestKind::Leave => RequestKind::Leave,
        core_request::RequestKind::Lieu => RequestKind::Lieu,
        core_request::RequestKind::Swap => RequestKind::Swap,
    }
}

fn request_record(request: Request, me: &kefu_core::ids::StaffId) -> StaffRequest {
    let status = request.status().code().to_string();
    StaffRequest {
        mine: request.staff == *me,
        id: request.id,
        kind: kind(request.kind),
        staff: request.staff.as_str().to_string(),
        created_at_ms: request.created_at.0,
        note: request.note,
        days: request.days.iter().map(|day| day.format("%Y-%m-%d").to_string()).collect(),
        swap_date: request.swap.as_ref().map(|swap| swap.date.format("%Y-%m-%d").to_string()),
        swap_shift: request.swap.as_ref().map(|swap| swap.shift.clone()),
        colleague: request.swap.as_ref().map(|swap| swap.colleague.as_str().to_string()),
        status,
        decided_by: request.decision.as_ref().map(|decision| decision.by.clone()),
        decision_note: request.decision.map(|decision| decision.note),
    }
}

/// `YYYY-MM` as a year and month.
fn month(text: &str) -> Result<(i32, u32), KefuError> {
    let invalid = || KefuError::InvalidInput { message: format!("invalid month: {text:?} (expected YYYY-MM)") };
    let first = records::date(&format!("{text}-01")).map_err(|_| invalid())?;
    if text.len() != 7 {
        return Err(invalid());
    }
    use chrono::Datelike;
    Ok((first.year(), first.month()))
}

fn month_record(score: MonthScore) -> AttendanceMonth {
    AttendanceMonth {
        month: format!("{:04}-{:02}", score.year, score.month),
        score: score.score,
        warning: score.warning(),
        penalty: score.penalty(),
        deductions: score
            .deductions
            .iter()
            .map(|(what, count, points)| Deduction {
                what: (*what).to_string(),
                count: u32::try_from(*count).unwrap_or(u32::MAX),
                points: *points,
            })
            .collect(),
        shifts: score
            .shifts
            .into_iter()
            .map(|record| AttendedShift {
                date: record.shift.date.format("%Y-%m-%d").to_string(),
                status: record.status().code().to_string(),
                corrected: record.fix.as_ref().map(|fix| fix.note.clone()),
                shift: record.shift.shift,
                post: record.shift.post,
                checked_in_ms: record.checked_in.map(|at| at.0),
                checked_out_ms: record.checked_out.map(|at| at.0),
                late_minutes: record.late_minutes,
            })
            .collect(),
    }
}

#[uniffi::export]
impl KefuStore {
    /// Asks for leave (`Leave`) or 调休 (`Lieu`) on `days` (`YYYY-MM-DD`), offline. Refused on
    /// the phone, before anything is written, when a day is asked already or a month would pass
    /// its four days; the message names the month and the days already counted.
    pub fn request_leave(&self, kind: RequestKind, days: Vec<String>, note: String) -> Result<StaffRequest, KefuError> {
        let kind = match kind {
            RequestKind::Leave => core_request::RequestKind::Leave,
            RequestKind::Lieu => core_request::RequestKind::Lieu,
            RequestKind::Swap => {
                return Err(KefuError::InvalidInput {
                    message: "a swap names a shift and a colleague: use requestSwap".into(),
                });
            }
        };
        let days = days.iter().map(|day| records::date(day)).collect::<Result<Vec<_>, _>>()?;
        let me = self.staff_now();
        let request = self.with_store(|store| Ok(store.request_days(kind, &days, &note, &me, Timestamp::now())?))?;
        self.local_change.notify_one();
        Ok(request_record(request, &me))
    }

    /// Asks `colleague` to work the signed-in staff member's `shift` on `date`, offline; the shift
    /// must be in the roster held.
    pub fn request_swap(
        &self,
        date: String,
        shift: String,
        colleague: String,
        note: String,
    ) -> Result<StaffRequest, KefuError> {
        let date = records::date(&date)?;
        let colleague = staff_id(&colleague)?;
        let me = self.staff_now();
        let request =
            self.with_store(|store| Ok(store.request_swap(date, &shift, &colleague, &note, &me, Timestamp::now())?))?;
        self.local_change.notify_one();
        Ok(request_record(request, &me))
    }

    /// Accepts (or declines) a swap that asks the signed-in staff member.
    pub fn answer_swap(&self, id: String, accept: bool) -> Result<StaffRequest, KefuError> {
        let me = self.staff_now();
        let request = self.with_store(|store| Ok(store.answer_swap(&id, accept, &me, Timestamp::now())?))?;
        self.local_change.notify_one();
        Ok(request_record(request, &me))
    }

    /// Withdraws one of the signed-in staff member's requests.
    pub fn withdraw_request(&self, id: String) -> Result<StaffRequest, KefuError> {
        let me = self.staff_now();
        let request = self.with_store(|store| Ok(store.withdraw_request(&id, &me, Timestamp::now())?))?;
        self.local_change.notify_one();
        Ok(request_record(request, &me))
    }

    /// The requests held: the signed-in staff member's and the swaps asking them, newest first.
    pub fn requests(&self) -> Result<Vec<StaffRequest>, KefuError> {
        let me = self.staff_now();
        let requests = self.with_store(|store| Ok(store.requests()?))?;
        Ok(requests.into_iter().map(|request| request_record(request, &me)).collect())
    }

    /// The signed-in staff member's leave and 调休 allowance in `month` (`YYYY-MM`).
    pub fn leave_allowance(&self, month: String) -> Result<LeaveAllowance, KefuError> {
        let (year, number) = self::month(&month)?;
        let me = self.staff_now();
        let allowance = self.with_store(|store| Ok(store.leave_allowance(&me, year, number)?))?;
        Ok(LeaveAllowance {
            month,
            allowance: MONTHLY_ALLOWANCE as u32,
            remaining: allowance.remaining() as u32,
            counted: allowance.counted.iter().map(|day| day.format("%Y-%m-%d").to_string()).collect(),
        })
    }

    /// Checks the signed-in staff member in or out at `at_ms` (the phone's clock when pressed),
    /// offline; durable when this returns.
    pub fn check_in(&self, kind: CheckKind, at_ms: i64) -> Result<(), KefuError> {
        let kind = match kind {
            CheckKind::In => core_attendance::CheckKind::In,
            CheckKind::Out => core_attendance::CheckKind::Out,
        };
        let me = self.staff_now();
        self.with_store(|store| Ok(store.check_in(&me, kind, Timestamp(at_ms))?))?;
        self.local_change.notify_one();
        Ok(())
    }

    /// The signed-in staff member's attendance in `month` (`YYYY-MM`) as of `now_ms`, from the
    /// rosters, requests and check-ins held (a supervisor's corrections once synced).
    pub fn attendance(&self, month: String, now_ms: i64) -> Result<AttendanceMonth, KefuError> {
        let (year, number) = self::month(&month)?;
        let me = self.staff_now();
        let score = self.with_store(|store| Ok(store.attendance_month(&me, year, number, Timestamp(now_ms))?))?;
        Ok(month_record(score))
    }
}
