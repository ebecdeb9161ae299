//! Leave, 调休 and shift-swap requests (请假, 调休, 换班) as synced documents, one per request:
//! made on the requester's phone (offline too), accepted or declined by the colleague of a swap
//! on theirs, decided by a supervisor in the console (the server writes the decision).
//!
//! ```text
//! ROOT: type "request", schema 1, id "request:<32 hex>", kind "leave" | "lieu" | "swap",
//!       staff str (who asks), created_at timestamp, note str (why; may be empty)
//!       day:<YYYY-MM-DD> = true                        (leave and lieu: the days asked, 1 to 31)
//!       swap_date "YYYY-MM-DD", swap_shift str, colleague str
//!                                                      (swap: staff's shift that day, worked by colleague)
//!       withdrawn_at timestamp                         (the requester)
//!       answer "accepted" | "declined", answered_at    (the colleague of a swap)
//!       decision "approved" | "refused", decided_by str, decided_at timestamp,
//!       decision_note str                              (the server, for a supervisor)
//! ```
//!
//! Every field is a scalar at the root, and each has one writer ([`writer_of`]): the server's
//! round checks every operation a device pushes against it, so a requester cannot approve their
//! own leave and a colleague cannot change the days. Concurrent edits by different writers touch
//! different keys and merge; a withdrawal concurrent with a decision leaves both, and a withdrawn
//! request counts for nothing whatever was decided (a phone refuses to withdraw a request it
//! already sees decided; a supervisor changes those).
//!
//! The monthly allowance (DOMAIN.md, "Leave": at most four 调休 or leave days a month, seed 003)
//! counts the days of the requester's leave and lieu requests that are pending or approved
//! ([`allowance`]); the phone checks it before a request is made, the server again before a
//! supervisor approves.
//!
//! Pure: no IO, no clock.

use std::collections::BTreeSet;

use automerge::transaction::Transactable;
use automerge::{Automerge, LoadOptions, ROOT, ReadDoc, ScalarValue};
use chrono::{Datelike, NaiveDate};

use crate::case::limits::{self, check_short_text};
use crate::case::schema::{Reader, as_str, code, short_text, staff, timestamp, true_flag, uint};
use crate::case::{EditError, LoadError, SCHEMA_VERSION, SchemaErrors, TEXT_ENCODING};
use crate::ids::{DeviceId, StaffId, Timestamp};

/// Document type tag of requests.
pub const REQUEST_TYPE: &str = "request";

/// Every request document's id starts so.
pub const REQUEST_ID_PREFIX: &str = "request:";

/// Leave and 调休 days a person may take in a month (seed 003 item 2).
pub const MONTHLY_ALLOWANCE: usize = 4;

/// Most days one request may ask for.
const MAX_DAYS: usize = 31;

/// Longest note, in characters.
const MAX_NOTE: usize = 500;

/// Whether a raw document says it is a request.
pub fn is_request(doc: &Automerge) -> bool {
    matches!(
        doc.get(ROOT, "type"),
        Ok(Some((automerge::Value::Scalar(ref value), _))) if value.as_str() == Some(REQUEST_TYPE)
    )
}

/// Whether an id is a well-formed request id (`request:` and 32 lower-case hex digits).
pub fn is_request_id(id: &str) -> bool {
    id.strip_prefix(REQUEST_ID_PREFIX)
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// What is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestKind {
    /// 请假: days of leave.
    Leave,
    /// 调休: compensatory days off (for overtime or holiday work).
    Lieu,
    /// 换班: one of the requester's shifts, worked by a colleague.
    Swap,
}

impl RequestKind {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            RequestKind::Leave => "leave",
            RequestKind::Lieu => "lieu",
            RequestKind::Swap => "swap",
        }
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        [RequestKind::Leave, RequestKind::Lieu, RequestKind::Swap].into_iter().find(|kind| kind.code() == code)
    }
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestStatus {
    /// A swap the colleague has not answered.
    AwaitingColleague,
    /// A swap the colleague declined (final).
    Declined,
    /// Waiting for a supervisor.
    Pending,
    /// Approved.
    Approved,
    /// Refused.
    Refused,
    /// Withdrawn by the requester (whatever was decided).
    Withdrawn,
}

impl RequestStatus {
    /// A stable code for APIs and the phone.
    pub fn code(self) -> &'static str {
        match self {
            RequestStatus::AwaitingColleague => "awaiting_colleague",
            RequestStatus::Declined => "declined",
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Refused => "refused",
            RequestStatus::Withdrawn => "withdrawn",
        }
    }

    /// Whether its days count against the monthly allowance.
    pub fn counts(self) -> bool {
        matches!(self, RequestStatus::Pending | RequestStatus::Approved)
    }
}

/// A swap: the requester's shift of `shift` on `date` goes to `colleague`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Swap {
    /// The day of the shift.
    pub date: NaiveDate,
    /// The shift template's id (`day`, `night`, ...).
    pub shift: String,
    /// Who takes it.
    pub colleague: StaffId,
}

/// A supervisor's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Approved (else refused).
    pub approved: bool,
    /// The supervisor's name.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// The reason given.
    pub note: String,
}

/// A request as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `request:<32 hex>`.
    pub id: String,
    /// What is asked.
    pub kind: RequestKind,
    /// Who asks.
    pub staff: StaffId,
    /// When it was made (the phone's clock).
    pub created_at: Timestamp,
    /// Why.
    pub note: String,
    /// Leave and lieu: the days, sorted. Empty for a swap.
    pub days: Vec<NaiveDate>,
    /// A swap's shift and colleague.
    pub swap: Option<Swap>,
    /// The colleague's answer to a swap: accepted, and when.
    pub answer: Option<(bool, Timestamp)>,
    /// The supervisor's decision.
    pub decision: Option<Decision>,
    /// When the requester withdrew it.
    pub withdrawn_at: Option<Timestamp>,
}

impl Request {
    /// Where it stands.
    pub fn status(&self) -> RequestStatus {
        if self.withdrawn_at.is_some() {
            return RequestStatus::Withdrawn;
        }
        if let Some(decision) = &self.decision {
            return if decision.approved { RequestStatus::Approved } else { RequestStatus::Refused };
        }
        match (self.kind, self.answer) {
            (RequestKind::Swap, None) => RequestStatus::AwaitingColleague,
            (RequestKind::Swap, Some((false, _))) => RequestStatus::Declined,
            _ => RequestStatus::Pending,
        }
    }

    /// Whether `staff` takes part (asks, or is the swap's colleague).
    pub fn involves(&self, staff: &StaffId) -> bool {
        self.staff == *staff || self.swap.as_ref().is_some_and(|swap| swap.colleague == *staff)
    }

    /// The days it takes off the allowance: leave and lieu days while pending or approved.
    pub fn counted_days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        let counts = self.kind != RequestKind::Swap && self.status().counts();
        self.days.iter().copied().filter(move |_| counts)
    }
}

/// A new request, as the phone makes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewRequest {
    /// Leave or lieu days.
    Days {
        /// `Leave` or `Lieu`.
        kind: RequestKind,
        /// The days asked.
        days: Vec<NaiveDate>,
        /// Why.
        note: String,
    },
    /// A swap.
    Swap {
        /// The shift and who takes it.
        swap: Swap,
        /// Why.
        note: String,
    },
}

/// An edit of an existing request; each is one writer's ([`writer_of`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestEdit {
    /// The requester withdraws it.
    Withdraw,
    /// The swap's colleague accepts (or declines) it.
    Answer {
        /// Accepted.
        accept: bool,
    },
    /// A supervisor decides (written by the server).
    Decide {
        /// Approved.
        approve: bool,
        /// The supervisor's name.
        by: String,
        /// The reason.
        note: String,
    },
}

/// Who may write a root key of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// The requester, when making it.
    Maker,
    /// The requester, later.
    Requester,
    /// The swap's colleague.
    Colleague,
    /// The server (a supervisor's decision).
    Server,
}

/// The one writer of root key `key`, `None` for a key the layout does not have.
pub fn writer_of(key: &str) -> Option<Writer> {
    match key {
        "type" | "schema" | "id" | "kind" | "staff" | "created_at" | "note" | "swap_date" | "swap_shift"
        | "colleague" => Some(Writer::Maker),
        _ if key.starts_with("day:") => Some(Writer::Maker),
        "withdrawn_at" => Some(Writer::Requester),
        "answer" | "answered_at" => Some(Writer::Colleague),
        "decision" | "decided_by" | "decided_at" | "decision_note" => Some(Writer::Server),
        _ => None,
    }
}

/// How the monthly allowance stands for one person and month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowance {
    /// The month's year.
    pub year: i32,
    /// The month (1–12).
    pub month: u32,
    /// The days already counted: pending or approved leave and lieu, sorted.
    pub counted: Vec<NaiveDate>,
}

impl Allowance {
    /// Days left this month.
    pub fn remaining(&self) -> usize {
        MONTHLY_ALLOWANCE.saturating_sub(self.counted.len())
    }
}

/// `staff`'s allowance in a month, from the requests held.
pub fn allowance(requests: &[Request], staff: &StaffId, year: i32, month: u32) -> Allowance {
    let counted: BTreeSet<NaiveDate> = requests
        .iter()
        .filter(|request| request.staff == *staff)
        .flat_map(Request::counted_days)
        .filter(|day| day.year() == year && day.month() == month)
        .collect();
    Allowance { year, month, counted: counted.into_iter().collect() }
}

/// Why `days` cannot be asked by `staff` on top of `requests`: a day already asked in a live
/// request, or a month whose allowance they would pass (naming the month and the days counted).
pub fn check_allowance(requests: &[Request], staff: &StaffId, days: &[NaiveDate]) -> Result<(), EditError> {
    let refuse = |reason: String| EditError::Invalid { field: "days", reason };
    for day in days {
        if let Some(other) =
            requests.iter().find(|request| request.staff == *staff && request.counted_days().any(|d| d == *day))
        {
            return Err(refuse(format!("{day} is already asked in {}", other.id)));
        }
    }
    let months: BTreeSet<(i32, u32)> = days.iter().map(|day| (day.year(), day.month())).collect();
    for (year, month) in months {
        let allowance = allowance(requests, staff, year, month);
        let asked = days.iter().filter(|day| day.year() == year && day.month() == month).count();
        if allowance.counted.len() + asked > MONTHLY_ALLOWANCE {
            let counted: Vec<String> = allowance.counted.iter().map(ToString::to_string).collect();
            return Err(refuse(format!(
                "{year}-{month:02}: {staff} has {} of {MONTHLY_ALLOWANCE} leave and 调休 days counted already ({}); \
                 {asked} more would pass the monthly allowance",
                counted.len(),
                if counted.is_empty() { "none".to_string() } else { counted.join(", ") },
            )));
        }
    }
    Ok(())
}

/// One request document. Invariant: valid against the request layout.
#[derive(Debug, Clone)]
pub struct RequestDoc {
    doc: Automerge,
    id: String,
}

impl RequestDoc {
    /// Makes request `id` (`request:<32 hex>`) for `by`, written by `device`.
    pub fn create(
        device: DeviceId,
        id: &str,
        new: &NewRequest,
        by: &StaffId,
        at: Timestamp,
    ) -> Result<Self, EditError> {
        let invalid = |field, reason: String| EditError::Invalid { field, reason };
        if !is_request_id(id) {
            return Err(invalid("id", format!("{id:?} is not request:<32 hex digits>")));
        }
        let note = match new {
            NewRequest::Days { note, .. } | NewRequest::Swap { note, .. } => note,
        };
        check_short_text(note, MAX_NOTE, true).map_err(|reason| invalid("note", reason))?;
        match new {
            NewRequest::Days { kind: RequestKind::Swap, .. } => {
                return Err(invalid("kind", "a swap names a shift and a colleague, not days".into()));
            }
            NewRequest::Days { days, .. } if days.is_empty() || days.len() > MAX_DAYS => {
                return Err(invalid("days", format!("{} days asked; a request asks 1 to {MAX_DAYS}", days.len())));
            }
            NewRequest::Swap { swap, .. } => {
                check_short_text(&swap.shift, limits::MAX_SHORT, false).map_err(|reason| invalid("shift", reason))?;
                if swap.colleague == *by {
                    return Err(invalid("colleague", format!("{by} cannot swap a shift with themselves")));
                }
            }
            NewRequest::Days { .. } => {}
        }
        let mut doc = Automerge::new_with_encoding(TEXT_ENCODING).with_actor(device.actor());
        doc.transact(|tx| {
            tx.put(ROOT, "type", REQUEST_TYPE)?;
            tx.put(ROOT, "schema", SCHEMA_VERSION)?;
            tx.put(ROOT, "id", id)?;
            tx.put(ROOT, "staff", by.as_str())?;
            tx.put(ROOT, "created_at", ScalarValue::Timestamp(at.0))?;
            tx.put(ROOT, "note", note.as_str())?;
            match new {
                NewRequest::Days { kind, days, .. } => {
                    tx.put(ROOT, "kind", kind.code())?;
                    for day in days {
                        tx.put(ROOT, format!("day:{}", day.format("%Y-%m-%d")), true)?;
                    }
                }
                NewRequest::Swap { swap, .. } => {
                    tx.put(ROOT, "kind", RequestKind::Swap.code())?;
                    tx.put(ROOT, "swap_date", swap.date.format("%Y-%m-%d").to_string())?;
                    tx.put(ROOT, "swap_shift", swap.shift.as_str())?;
                    tx.put(ROOT, "colleague", swap.colleague.as_str())?;
                }
            }
            Ok::<_, automerge::AutomergeError>(())
        })
        .map_err(|failure| failure.error)?;
        Ok(RequestDoc { doc, id: id.to_string() })
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
        let (request, errors) = read(&doc);
        if errors.is_empty() { Ok(RequestDoc { doc, id: request.id }) } else { Err(SchemaErrors(errors)) }
    }

    /// The request's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The underlying document.
    pub fn automerge(&self) -> &Automerge {
        &self.doc
    }

    /// Reads the request.
    pub fn read(&self) -> Request {
        read(&self.doc).0
    }

    /// Accepts changes from elsewhere, validated on a fork first.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<usize, LoadError> {
        crate::case::receive_validated(&mut self.doc, bytes, &self.id, |doc| match read(doc) {
            (request, errors) if errors.is_empty() => Ok(request.id),
            (_, errors) => Err(SchemaErrors(errors)),
        })
    }

    /// Applies one edit by `by` at `at`, refusing what `by` may not do or what would make no
    /// sense now (answering a withdrawn request, deciding a swap the colleague has not accepted).
    pub fn apply(&mut self, at: Timestamp, by: &StaffId, edit: &RequestEdit) -> Result<(), EditError> {
        let request = self.read();
        let invalid = |field, reason: String| EditError::Invalid { field, reason };
        let status = request.status();
        if status == RequestStatus::Withdrawn {
            return Err(invalid("status", format!("{} was withdrawn", request.id)));
        }
        match edit {
            RequestEdit::Withdraw if request.staff != *by => {
                return Err(invalid("staff", format!("only {} may withdraw {}", request.staff, request.id)));
            }
            RequestEdit::Withdraw if request.decision.is_some() => {
                return Err(invalid(
                    "status",
                    format!("{} is {} already: ask a supervisor to change it", request.id, status.code()),
                ));
            }
            RequestEdit::Answer { .. } => {
                let Some(swap) = &request.swap else {
                    return Err(invalid("kind", format!("{} is not a swap; only swaps are answered", request.id)));
                };
                if swap.colleague != *by {
                    return Err(invalid("colleague", format!("{} asks {}, not {by}", request.id, swap.colleague)));
                }
                if request.answer.is_some() || request.decision.is_some() {
                    return Err(invalid("answer", format!("{} is {} already", request.id, status.code())));
                }
            }
            RequestEdit::Decide { by: supervisor, note, .. } => {
                check_short_text(supervisor, limits::MAX_SHORT, false)
                    .map_err(|reason| invalid("decided_by", reason))?;
                check_short_text(note, MAX_NOTE, true).map_err(|reason| invalid("decision_note", reason))?;
                if request.decision.is_some() {
                    return Err(invalid("decision", format!("{} is {} already", request.id, status.code())));
                }
                if matches!(status, RequestStatus::AwaitingColleague | RequestStatus::Declined) {
                    return Err(invalid(
                        "decision",
                        format!("{} is {}: a swap is decided once the colleague accepts", request.id, status.code()),
                    ));
                }
            }
            RequestEdit::Withdraw => {}
        }
        self.doc
            .transact(|tx| {
                match edit {
                    RequestEdit::Withdraw => tx.put(ROOT, "withdrawn_at", ScalarValue::Timestamp(at.0))?,
                    RequestEdit::Answer { accept } => {
                        tx.put(ROOT, "answer", if *accept { "accepted" } else { "declined" })?;
                        tx.put(ROOT, "answered_at", ScalarValue::Timestamp(at.0))?;
                    }
                    RequestEdit::Decide { approve, by, note } => {
                        tx.put(ROOT, "decision", if *approve { "approved" } else { "refused" })?;
                        tx.put(ROOT, "decided_by", by.as_str())?;
                        tx.put(ROOT, "decided_at", ScalarValue::Timestamp(at.0))?;
                        tx.put(ROOT, "decision_note", note.as_str())?;
                    }
                }
                Ok::<_, automerge::AutomergeError>(())
            })
            .map_err(|failure| failure.error)?;
        Ok(())
    }
}

fn date(value: &ScalarValue) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(as_str(value)?, "%Y-%m-%d").map_err(|_| "must be a date YYYY-MM-DD".to_string())
}

fn one_of<'a>(codes: &'a [&'a str]) -> impl Fn(&ScalarValue) -> Result<bool, String> + 'a {
    move |value| match as_str(value)? {
        found if found == codes[0] => Ok(true),
        found if found == codes[1] => Ok(false),
        found => Err(format!("must be {:?} or {:?}, found {found:?}", codes[0], codes[1])),
    }
}

/// Reads a request, collecting every problem; strict: every concurrent value is checked.
fn read(doc: &Automerge) -> (Request, Vec<crate::case::SchemaError>) {
    let mut reader = Reader::new(doc, true);
    reader.scalar(&ROOT, "", "type", true, |value| match as_str(value)? {
        REQUEST_TYPE => Ok(()),
        other => Err(format!("expected \"{REQUEST_TYPE}\", found {other:?}")),
    });
    reader.scalar(&ROOT, "", "schema", true, |value| match uint(value)? {
        version if (1..=SCHEMA_VERSION).contains(&version) => Ok(()),
        version => Err(format!("schema version {version} is not supported (this build reads 1..={SCHEMA_VERSION})")),
    });
    let id = reader
        .scalar(&ROOT, "", "id", true, |value| match as_str(value)? {
            id if is_request_id(id) => Ok(id.to_string()),
            id => Err(format!("{id:?} is not request:<32 hex digits>")),
        })
        .unwrap_or_default();
    let kind = reader.scalar(&ROOT, "", "kind", true, code(RequestKind::from_code)).unwrap_or(RequestKind::Leave);
    let requester = reader.scalar(&ROOT, "", "staff", true, staff);
    let created_at = reader.scalar(&ROOT, "", "created_at", true, timestamp).unwrap_or(Timestamp(0));
    let note = reader.scalar(&ROOT, "", "note", true, short_text(MAX_NOTE, true)).unwrap_or_default();
    let is_swap = kind == RequestKind::Swap;
    let swap_date = reader.scalar(&ROOT, "", "swap_date", is_swap, date);
    let swap_shift = reader.scalar(&ROOT, "", "swap_shift", is_swap, short_text(limits::MAX_SHORT, false));
    let colleague = reader.scalar(&ROOT, "", "colleague", is_swap, staff);
    let answer = reader.scalar(&ROOT, "", "answer", false, one_of(&["accepted", "declined"]));
    let answered_at = reader.scalar(&ROOT, "", "answered_at", answer.is_some(), timestamp);
    let decision = reader.scalar(&ROOT, "", "decision", false, one_of(&["approved", "refused"]));
    let required = decision.is_some();
    let decided_by = reader.scalar(&ROOT, "", "decided_by", required, short_text(limits::MAX_SHORT, false));
    let decided_at = reader.scalar(&ROOT, "", "decided_at", required, timestamp);
    let decision_note = reader.scalar(&ROOT, "", "decision_note", required, short_text(MAX_NOTE, true));
    let withdrawn_at = reader.scalar(&ROOT, "", "withdrawn_at", false, timestamp);
    let mut days = Vec::new();
    for key in reader.keys(&ROOT) {
        if let Some(day) = key.strip_prefix("day:") {
            match NaiveDate::parse_from_str(day, "%Y-%m-%d") {
                Ok(day) => {
                    if reader.scalar(&ROOT, "", &key, true, true_flag).is_some() {
                        days.push(day);
                    }
                }
                Err(_) => reader.error(key.as_str(), "must be day:YYYY-MM-DD"),
            }
        } else if writer_of(&key).is_none() {
            reader.error(key.as_str(), "is not a field of the request schema");
        }
    }
    days.sort();
    match kind {
        RequestKind::Swap if !days.is_empty() => reader.error("day:", "a swap asks for no days"),
        RequestKind::Leave | RequestKind::Lieu if days.is_empty() || days.len() > MAX_DAYS => {
            reader.error("day:", format!("{} days; a request asks 1 to {MAX_DAYS}", days.len()));
        }
        RequestKind::Leave | RequestKind::Lieu if swap_date.is_some() || colleague.is_some() || answer.is_some() => {
            reader.error("colleague", "only a swap names a colleague or has an answer");
        }
        _ => {}
    }
    if let (Some(requester), Some(colleague)) = (&requester, &colleague)
        && requester == colleague
    {
        reader.error("colleague", "a swap is with someone else");
    }
    let swap = match (swap_date, swap_shift, colleague) {
        (Some(date), Some(shift), Some(colleague)) if is_swap => Some(Swap { date, shift, colleague }),
        _ => None,
    };
    let request = Request {
        id,
        kind,
        staff: requester.unwrap_or_else(|| StaffId::new("unknown").expect("a valid staff id")),
        created_at,
        note,
        days,
        swap,
        answer: answer.zip(answered_at),
        decision: match (decision, decided_by, decided_at, decision_note) {
            (Some(approved), Some(by), Some(at), Some(note)) => Some(Decision { approved, by, at, note }),
            _ => None,
        },
        withdrawn_at,
    };
    let errors = reader.finish().err().map(|SchemaErrors(errors)| errors).unwrap_or_default();
    (request, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn id(n: u8) -> String {
        format!("request:{}", format!("{n:02x}").repeat(16))
    }

    fn leave(n: u8, staff: &StaffId, days: &[&str]) -> RequestDoc {
        let new = NewRequest::Days {
            kind: RequestKind::Leave,
            days: days.iter().map(|text| day(text)).collect(),
            note: "探亲".into(),
        };
        RequestDoc::create(DeviceId::from_u128(u128::from(n)), &id(n), &new, staff, Timestamp(1)).unwrap()
    }

    #[test]
    fn the_fifth_day_of_a_month_is_refused_naming_the_month_and_the_four_days() {
        let wang = StaffId::new("wang").unwrap();
        let mut held = vec![
            leave(1, &wang, &["2026-03-02", "2026-03-03"]).read(),
            leave(2, &wang, &["2026-03-09"]).read(),
            leave(3, &wang, &["2026-03-20"]).read(),
        ];
        let mut refused = leave(4, &wang, &["2026-03-21"]);
        refused.apply(Timestamp(2), &StaffId::new("li").unwrap(), &decide(false)).unwrap();
        held.push(refused.read());
        assert_eq!(allowance(&held, &wang, 2026, 3).remaining(), 0, "refused days give the allowance back");
        let err = check_allowance(&held, &wang, &[day("2026-03-25")]).unwrap_err().to_string();
        assert!(err.contains("2026-03") && err.contains("2026-03-02, 2026-03-03, 2026-03-09, 2026-03-20"), "{err}");
        check_allowance(&held, &wang, &[day("2026-04-01")]).unwrap();
        assert!(check_allowance(&held, &wang, &[day("2026-03-09")]).unwrap_err().to_string().contains(&id(2)));
        check_allowance(&held, &StaffId::new("zhou").unwrap(), &[day("2026-03-25")]).unwrap();
    }

    fn decide(approve: bool) -> RequestEdit {
        RequestEdit::Decide { approve, by: "supervisor.li".into(), note: "ok".into() }
    }

    #[test]
    fn a_swap_is_answered_by_its_colleague_then_decided_and_concurrent_edits_merge() {
        let (wang, zhou) = (StaffId::new("wang").unwrap(), StaffId::new("zhou").unwrap());
        let swap = Swap { date: day("2026-03-04"), shift: "day".into(), colleague: zhou.clone() };
        let new = NewRequest::Swap { swap, note: String::new() };
        let mut mine = RequestDoc::create(DeviceId::from_u128(1), &id(9), &new, &wang, Timestamp(1)).unwrap();
        assert_eq!(mine.read().status(), RequestStatus::AwaitingColleague);
        assert!(mine.apply(Timestamp(2), &wang, &RequestEdit::Answer { accept: true }).is_err(), "not the colleague");
        assert!(mine.apply(Timestamp(2), &wang, &decide(true)).is_err(), "not before the colleague accepts");

        let mut theirs = RequestDoc::load(&mine.automerge().save(), DeviceId::from_u128(2).actor()).unwrap();
        theirs.apply(Timestamp(3), &zhou, &RequestEdit::Answer { accept: true }).unwrap();
        mine.receive(&theirs.automerge().save()).unwrap();
        assert_eq!(mine.read().status(), RequestStatus::Pending);

        let mut server = RequestDoc::load(&mine.automerge().save(), DeviceId::from_u128(3).actor()).unwrap();
        server.apply(Timestamp(4), &StaffId::new("server").unwrap(), &decide(true)).unwrap();
        mine.apply(Timestamp(4), &wang, &RequestEdit::Withdraw).unwrap();
        mine.receive(&server.automerge().save()).unwrap();
        let merged = mine.read();
        assert!(merged.decision.as_ref().is_some_and(|d| d.approved) && merged.withdrawn_at.is_some());
        assert_eq!(merged.status(), RequestStatus::Withdrawn, "a withdrawal outlives a concurrent approval");
    }

    #[test]
    fn a_document_outside_the_layout_is_refused() {
        let wang = StaffId::new("wang").unwrap();
        let mut doc = leave(1, &wang, &["2026-03-02"]).automerge().clone();
        doc.transact(|tx| {
            tx.put(ROOT, "colleague", "zhou")?;
            tx.put(ROOT, "bonus", 100)?;
            Ok::<_, automerge::AutomergeError>(())
        })
        .unwrap();
        let errors = RequestDoc::from_automerge(doc).unwrap_err().to_string();
        assert!(errors.contains("bonus") && errors.contains("colleague"), "{errors}");
        let bad = NewRequest::Days { kind: RequestKind::Lieu, days: Vec::new(), note: String::new() };
        assert!(RequestDoc::create(DeviceId::from_u128(1), &id(1), &bad, &wang, Timestamp(1)).is_err());
        assert!(RequestDoc::create(DeviceId::from_u128(1), "request:1", &bad, &wang, Timestamp(1)).is_err());
    }
}
