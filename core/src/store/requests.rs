//! The phone's requests and attendance (see `crate::request`, `crate::attendance`): leave,
//! 调休 and swaps made offline against the monthly allowance and the roster held, a colleague's
//! answer, check-ins, and the month's attendance as the phone can judge it from what it holds.

use chrono::NaiveDate;

use super::{CaseStore, Doc, StoreError, hex_16, not_found, persist};
use crate::attendance::{self, AttendanceDoc, AttendanceEdit, CheckKind, MonthScore, attendance_id};
use crate::case::EditError;
use crate::ids::{StaffId, Timestamp};
use crate::request::{
    self, Allowance, NewRequest, REQUEST_ID_PREFIX, Request, RequestDoc, RequestEdit, RequestKind, Swap,
};
use crate::roster;

impl CaseStore {
    /// Every request held (the phone's own, and swaps it is asked to take), newest first.
    pub fn requests(&mut self) -> Result<Vec<Request>, StoreError> {
        let mut requests: Vec<Request> = self
            .ids_of_type("request")?
            .iter()
            .map(|id| match self.doc(id, "request")? {
                Doc::Request(doc) => Ok(doc.read()),
                _ => Err(not_found("request", id.clone())),
            })
            .collect::<Result<_, StoreError>>()?;
        requests.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(requests)
    }

    /// `staff`'s leave and 调休 allowance in a month, from the requests held.
    pub fn leave_allowance(&mut self, staff: &StaffId, year: i32, month: u32) -> Result<Allowance, StoreError> {
        Ok(request::allowance(&self.requests()?, staff, year, month))
    }

    /// Asks for leave or 调休 days, offline; refused before anything is written when a day is
    /// asked already or a month's allowance would be passed. Durable when this returns.
    pub fn request_days(
        &mut self,
        kind: RequestKind,
        days: &[NaiveDate],
        note: &str,
        by: &StaffId,
        at: Timestamp,
    ) -> Result<Request, StoreError> {
        let mut days = days.to_vec();
        days.sort();
        days.dedup();
        request::check_allowance(&self.requests()?, by, &days)?;
        self.create_request(&NewRequest::Days { kind, days, note: note.to_string() }, by, at)
    }

    /// Asks `colleague` to work `by`'s shift of template `shift` on `date`, offline; the shift
    /// must be in the roster held.
    pub fn request_swap(
        &mut self,
        date: NaiveDate,
        shift: &str,
        colleague: &StaffId,
        note: &str,
        by: &StaffId,
        at: Timestamp,
    ) -> Result<Request, StoreError> {
        let rosters = self.rosters()?;
        if !roster::shifts_between(&rosters, by, date, date).iter().any(|view| view.shift.shift == shift) {
            return Err(EditError::Invalid {
                field: "shift",
                reason: format!("{by} has no {shift} shift on {date} in the roster held"),
            }
            .into());
        }
        let swap = Swap { date, shift: shift.to_string(), colleague: colleague.clone() };
        self.create_request(&NewRequest::Swap { swap, note: note.to_string() }, by, at)
    }

    /// The requester withdraws a request.
    pub fn withdraw_request(&mut self, id: &str, by: &StaffId, at: Timestamp) -> Result<Request, StoreError> {
        self.edit_request(id, &RequestEdit::Withdraw, by, at)
    }

    /// The colleague of a swap accepts or declines it.
    pub fn answer_swap(&mut self, id: &str, accept: bool, by: &StaffId, at: Timestamp) -> Result<Request, StoreError> {
        self.edit_request(id, &RequestEdit::Answer { accept }, by, at)
    }

    /// Checks `staff` in or out at `at`, offline, in the month of `at` on the team's clock (the
    /// roster's). Refused when no roster is held: there is no shift to check in to.
    pub fn check_in(&mut self, staff: &StaffId, kind: CheckKind, at: Timestamp) -> Result<(), StoreError> {
        let rosters = self.rosters()?;
        let Some(latest) = rosters.iter().max_by_key(|roster| (roster.published_at, roster.version)) else {
            return Err(EditError::Invalid {
                field: "roster",
                reason: "no published roster is held yet: sync first, there is no shift to check in to".into(),
            }
            .into());
        };
        let (year, month) = attendance::month_of(at, latest.utc_offset_minutes);
        let id = attendance_id(staff, year, month);
        if !self.doc_exists(&id)? {
            let doc = Doc::Attendance(AttendanceDoc::create(self.device.actor(), staff, year, month)?);
            let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            persist(&tx, &id, &doc, None, self.config.compact_after)?;
            tx.commit()?;
            self.cache.insert(id.clone(), doc);
        }
        self.write(&id, "attendance", |doc| match doc {
            Doc::Attendance(doc) => Ok(doc.apply(at, &AttendanceEdit::Check(kind))?),
            _ => Err(not_found("attendance", id.clone())),
        })
    }

    /// `staff`'s month as the phone holds it: rosters, their requests and their record.
    pub fn attendance_month(
        &mut self,
        staff: &StaffId,
        year: i32,
        month: u32,
        now: Timestamp,
    ) -> Result<MonthScore, StoreError> {
        let rosters = self.rosters()?;
        let requests = self.requests()?;
        let id = attendance_id(staff, year, month);
        let record = if self.doc_exists(&id)? {
            match self.doc(&id, "attendance")? {
                Doc::Attendance(doc) => Some(doc.read()),
                _ => None,
            }
        } else {
            None
        };
        Ok(attendance::month(staff, year, month, &rosters, &requests, record.as_ref(), now))
    }

    fn create_request(&mut self, new: &NewRequest, by: &StaffId, at: Timestamp) -> Result<Request, StoreError> {
        let id = format!("{REQUEST_ID_PREFIX}{}", hex_16(self.random.bytes_16()));
        let doc = RequestDoc::create(self.device, &id, new, by, at)?;
        let request = doc.read();
        let doc = Doc::Request(doc);
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        persist(&tx, &id, &doc, None, self.config.compact_after)?;
        tx.commit()?;
        self.cache.insert(id, doc);
        Ok(request)
    }

    fn edit_request(
        &mut self,
        id: &str,
        edit: &RequestEdit,
        by: &StaffId,
        at: Timestamp,
    ) -> Result<Request, StoreError> {
        self.write(id, "request", |doc| match doc {
            Doc::Request(doc) => Ok(doc.apply(at, by, edit)?),
            _ => Err(not_found("request", id.to_string())),
        })?;
        match self.doc(id, "request")? {
            Doc::Request(doc) => Ok(doc.read()),
            _ => Err(not_found("request", id.to_string())),
        }
    }

    pub(super) fn ids_of_type(&self, doc_type: &str) -> Result<Vec<String>, StoreError> {
        let mut statement = self.conn.prepare_cached("SELECT id FROM docs WHERE doc_type = ?1 ORDER BY id")?;
        let rows = statement.query_map([doc_type], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
