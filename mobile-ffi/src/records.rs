//! The FFI's data types: uniffi records and enums mirroring kefu-core's model, with
//! the conversions written out by hand.
//!
//! Core types are not uniffi types on purpose (STYLE.md: only mobile-ffi knows
//! uniffi; the model stays free of any binding concern). These twins are the FFI
//! surface, a stability boundary: phones update late, so a field is added with a
//! default and never renamed. Times cross as milliseconds since the Unix epoch (UTC)
//! in fields named `*_ms`; ids cross as strings and are parsed back at this edge, so
//! a malformed id becomes a typed error here, never a panic deeper in.
//!
//! Left out: automerge heads and raw sync frames (the app never needs them) and the
//! case policy (a team setting, not a per-call argument).

use std::collections::BTreeSet;

use kefu_core::case as core_case;
use kefu_core::duty_log as core_duty;
use kefu_core::ids::{CaseId, StaffId, Timestamp};
use kefu_core::store as core_store;

use crate::error::KefuError;

/// Declares a uniffi enum twin of a core enum with unit variants, and the
/// conversions both ways (total: the variant lists are the same).
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident => $core:path { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl From<$name> for $core {
            fn from(value: $name) -> Self {
                use $core as Core;
                match value {
                    $($name::$variant => Core::$variant),+
                }
            }
        }

        impl From<$core> for $name {
            fn from(value: $core) -> Self {
                use $core as Core;
                match value {
                    $(Core::$variant => $name::$variant),+
                }
            }
        }
    };
}

mirror_enum!(
    /// What the customer came with (咨询, 投诉, 建议, 报修, 求助).
    CaseKind => core_case::CaseKind {
        /// 咨询: a question.
        Consultation,
        /// 投诉: a complaint; reply within 24 h, return visit before closing.
        Complaint,
        /// 建议: a suggestion.
        Suggestion,
        /// 报修: a repair request; reply within 24 h, return visit after the work.
        Repair,
        /// 求助: a request for help.
        Help,
    }
);

mirror_enum!(
    /// How the case reached the centre.
    Channel => core_case::Channel {
        /// 电话
        Phone,
        /// 在线
        Online,
        /// 邮件
        Email,
        /// 社交媒体
        Social,
        /// 来函
        Letter,
        /// 来访: walk-in at the desk.
        WalkIn,
        /// 现场: raised by staff in the field.
        Field,
    }
);

mirror_enum!(
    /// How urgent the matter is.
    Priority => core_case::Priority {
        /// Can wait for the next working day.
        Low,
        /// The default.
        Normal,
        /// Today.
        High,
        /// Now: safety, flooding, no power.
        Urgent,
    }
);

mirror_enum!(
    /// Where a case stands in the workflow (derived from its status entries).
    Status => core_case::Status {
        /// 未处理
        New,
        /// 已派工
        Dispatched,
        /// 处理中
        InProgress,
        /// 已完成
        Completed,
        /// 已结案
        Closed,
    }
);

mirror_enum!(
    /// The five-level return-visit rating.
    Satisfaction => core_case::Satisfaction {
        /// 非常满意
        VerySatisfied,
        /// 满意
        Satisfied,
        /// 一般
        Neutral,
        /// 不满意
        Dissatisfied,
        /// 非常不满意
        VeryDissatisfied,
    }
);

mirror_enum!(
    /// The work done, which sets the return-visit window.
    Service => core_case::Service {
        /// A repair: return visit 3–5 days after.
        Repair,
        /// An installation: return visit 2–3 days after.
        Installation,
        /// A delivery: return visit 7–10 days after.
        Delivery,
    }
);

mirror_enum!(
    /// Which way a feedback entry went (跟进反馈).
    FeedbackDirection => core_case::FeedbackDirection {
        /// Progress reported to the customer.
        ToCustomer,
        /// The customer's answer.
        FromCustomer,
    }
);

mirror_enum!(
    /// The support tier handling the case.
    Tier => core_case::Tier {
        /// 一线: the desk.
        First,
        /// 二线: specialists.
        Second,
        /// 三线: engineering or management.
        Third,
    }
);

mirror_enum!(
    /// Which shift a duty log covers.
    DutyShift => core_duty::DutyShift {
        /// The day desk.
        Day,
        /// Midday duty.
        Midday,
        /// Evening at the centre.
        Evening,
        /// Night on call.
        Night,
    }
);

mirror_enum!(
    /// What a duty-log line records.
    DutyEntryKind => core_duty::DutyEntryKind {
        /// A call received.
        Call,
        /// A visit received.
        Visit,
        /// A repair report dispatched.
        Dispatch,
        /// An incident.
        Incident,
        /// Anything else.
        Note,
    }
);

/// Who the case is for.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Customer {
    /// Name as given.
    pub name: String,
    /// Phone number as given.
    pub phone: String,
    /// Address or unit.
    pub address: String,
}

/// The fields a case is opened with.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct NewCase {
    /// What kind of matter.
    pub kind: CaseKind,
    /// How it arrived.
    pub channel: Channel,
    /// Who it is for.
    pub customer: Customer,
    /// One line saying what it is about (must not be empty).
    pub subject: String,
    /// What was asked or went wrong.
    #[uniffi(default = "")]
    pub description: String,
    /// Urgency at intake.
    pub priority: Priority,
    /// The work to be done, when known.
    #[uniffi(default = None)]
    pub service: Option<Service>,
}

/// A case's numbers: the provisional one minted offline, and the server's once synced.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CaseNumber {
    /// `P<device tag>-<sequence>`.
    pub provisional: String,
    /// `K<year>-<serial>`, absent until the first sync.
    pub assigned: Option<String>,
    /// The one to show: the assigned number once there is one.
    pub display: String,
}

/// A reference to attachment content kept outside the case.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct AttachmentRef {
    /// SHA-256 of the content, 64 lower-case hex digits.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type.
    pub mime: String,
    /// File name to show.
    pub name: String,
}

/// What a timeline entry records.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum EntryBody {
    /// A free note.
    Note {
        /// The note.
        text: String,
    },
    /// The case moved to another department and/or person.
    Transfer {
        /// Department before.
        from_department: Option<String>,
        /// Department after.
        to_department: Option<String>,
        /// Assignee before.
        from_assignee: Option<String>,
        /// Assignee after.
        to_assignee: Option<String>,
        /// Why.
        reason: String,
    },
    /// A status transition.
    StatusChange {
        /// The status seen when it was made.
        from: Status,
        /// The new status.
        to: Status,
        /// Ids of the status entries it supersedes.
        prev: Vec<String>,
        /// Why.
        reason: String,
    },
    /// Progress reported to the customer, or the customer's answer.
    Feedback {
        /// Which way.
        direction: FeedbackDirection,
        /// What was said.
        text: String,
    },
    /// A return visit (回访) with the customer's rating.
    ReturnVisit {
        /// The rating.
        satisfaction: Satisfaction,
        /// What they said.
        comment: String,
    },
    /// An attachment reference.
    Attachment {
        /// The reference.
        attachment: AttachmentRef,
    },
}

/// One entry of a case's append-only timeline.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct TimelineEntry {
    /// Unique within the case across all devices.
    pub id: String,
    /// When, by the recording device's clock.
    pub at_ms: i64,
    /// Who recorded it.
    pub by: String,
    /// What happened.
    pub body: EntryBody,
}

/// One of several concurrent status transitions nobody has resolved yet.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct StatusLeaf {
    /// The status entry.
    pub entry_id: String,
    /// The status it moved to.
    pub status: Status,
}

/// A due time and what happened against it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Deadline {
    /// Earliest time (return-visit windows), if any.
    pub opens_ms: Option<i64>,
    /// Latest time.
    pub due_ms: i64,
    /// When it was done, if it was.
    pub done_at_ms: Option<i64>,
}

/// A case as read at one moment.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Case {
    /// Permanent id (a UUID).
    pub id: String,
    /// Human-readable numbers.
    pub number: CaseNumber,
    /// Kind of matter.
    pub kind: CaseKind,
    /// How it arrived.
    pub channel: Channel,
    /// Who it is for.
    pub customer: Customer,
    /// One-line summary.
    pub subject: String,
    /// Collaborative description text.
    pub description: String,
    /// Responsible department, once triaged.
    pub department: Option<String>,
    /// Support tier.
    pub tier: Tier,
    /// Responsible person, once assigned.
    pub assignee: Option<String>,
    /// Urgency.
    pub priority: Priority,
    /// The work done.
    pub service: Option<Service>,
    /// Labels, sorted.
    pub tags: Vec<String>,
    /// When it was opened.
    pub created_at_ms: i64,
    /// Who opened it.
    pub created_by: String,
    /// Latest edit seen.
    pub updated_at_ms: i64,
    /// Every entry, sorted by time then id.
    pub timeline: Vec<TimelineEntry>,
    /// The current status.
    pub status: Status,
    /// Concurrent transitions competing for the status, winner first; empty when
    /// there is no conflict. A new transition resolves it.
    pub status_conflict: Vec<StatusLeaf>,
    /// Reply deadline, for kinds and channels that promise one.
    pub reply_deadline: Option<Deadline>,
    /// Return-visit window, once the case is completed.
    pub return_visit_deadline: Option<Deadline>,
}

/// A row of a case list.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CaseSummary {
    /// The case id.
    pub id: String,
    /// Its numbers.
    pub number: CaseNumber,
    /// Its kind.
    pub kind: CaseKind,
    /// Its status.
    pub status: Status,
    /// Who has it.
    pub assignee: Option<String>,
    /// One-line summary.
    pub subject: String,
    /// Customer name.
    pub customer_name: String,
    /// When opened.
    pub created_at_ms: i64,
    /// Latest edit.
    pub updated_at_ms: i64,
    /// Reply due and not yet given.
    pub reply_due_ms: Option<i64>,
    /// Return visit due and not yet made.
    pub visit_due_ms: Option<i64>,
    /// Whether fields or status hold unresolved concurrent values.
    pub has_conflict: bool,
}

/// Which cases to list; every set field narrows the list. Newest update first.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct CaseFilter {
    /// Any of these statuses (empty: all).
    #[uniffi(default)]
    pub statuses: Vec<Status>,
    /// Only this kind.
    #[uniffi(default)]
    pub kind: Option<CaseKind>,
    /// Only cases assigned to this person.
    #[uniffi(default)]
    pub assignee: Option<String>,
    /// Only cases with a reply or return visit overdue at this time.
    #[uniffi(default)]
    pub overdue_at_ms: Option<i64>,
    /// Only cases due before this time and not done.
    #[uniffi(default)]
    pub due_before_ms: Option<i64>,
    /// Text in the subject, customer, numbers or tags (case-insensitive).
    #[uniffi(default)]
    pub text: Option<String>,
    /// At most this many rows (0: no limit).
    #[uniffi(default = 0)]
    pub limit: u32,
}

/// One change to a case. Each applies atomically: refused, it changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum CaseEdit {
    /// Replace the subject.
    SetSubject {
        /// New subject.
        subject: String,
    },
    /// Replace the customer details.
    SetCustomer {
        /// New details.
        customer: Customer,
    },
    /// Correct the kind.
    SetKind {
        /// New kind.
        kind: CaseKind,
    },
    /// Change the priority.
    SetPriority {
        /// New priority.
        priority: Priority,
    },
    /// Change the support tier.
    SetTier {
        /// New tier.
        tier: Tier,
    },
    /// Set or clear the service performed.
    SetService {
        /// New service.
        service: Option<Service>,
    },
    /// Add a tag.
    AddTag {
        /// The tag.
        tag: String,
    },
    /// Remove a tag.
    RemoveTag {
        /// The tag.
        tag: String,
    },
    /// Delete `delete` characters at `pos` of the description and insert `insert`.
    SpliceDescription {
        /// Position in characters (Unicode scalar values).
        pos: u32,
        /// Characters to delete.
        delete: u32,
        /// Text to insert.
        insert: String,
    },
    /// Append a note.
    AddNote {
        /// The note.
        text: String,
    },
    /// Move the case to another department and/or person.
    Transfer {
        /// New department (absent keeps the current one).
        to_department: Option<String>,
        /// New assignee (absent keeps the current one).
        to_assignee: Option<String>,
        /// Why.
        reason: String,
    },
    /// Transition the status.
    Transition {
        /// Target status.
        to: Status,
        /// Why.
        reason: String,
    },
    /// Record feedback to or from the customer.
    Feedback {
        /// Which way.
        direction: FeedbackDirection,
        /// What was said.
        text: String,
    },
    /// Record a return visit.
    ReturnVisit {
        /// Rating.
        satisfaction: Satisfaction,
        /// Comment.
        comment: String,
    },
    /// Reference an attachment.
    Attach {
        /// The reference.
        attachment: AttachmentRef,
    },
}

/// A scalar field holding concurrent values after a merge.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct FieldConflict {
    /// Dotted path, e.g. `customer.phone`.
    pub field: String,
    /// Every value as text, the winner first.
    pub values: Vec<String>,
}

/// One line of a duty log.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct DutyEntry {
    /// Unique within the log.
    pub id: String,
    /// When.
    pub at_ms: i64,
    /// Who wrote it.
    pub by: String,
    /// Kind of line.
    pub kind: DutyEntryKind,
    /// What happened.
    pub text: String,
    /// The case concerned, if any.
    pub case_id: Option<String>,
}

/// An open case handed to the next shift.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct HandoverItem {
    /// The case.
    pub case_id: String,
    /// What the next shift must know.
    pub note: String,
    /// Who handed it over.
    pub by: String,
    /// When.
    pub at_ms: i64,
}

/// A duty log (值班记录) as read.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct DutyLog {
    /// `duty:<date>:<shift>`.
    pub id: String,
    /// The day the shift starts, `YYYY-MM-DD`.
    pub date: String,
    /// Which shift.
    pub shift: DutyShift,
    /// Weather.
    pub weather: String,
    /// Staff on duty, sorted.
    pub staff: Vec<String>,
    /// Entries by time.
    pub entries: Vec<DutyEntry>,
    /// Items handed to the next shift.
    pub handover: Vec<HandoverItem>,
}

/// One change to a duty log.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum DutyEdit {
    /// Record the weather.
    SetWeather {
        /// The weather.
        weather: String,
    },
    /// Add a staff member on duty.
    AddStaff {
        /// Staff id.
        staff: String,
    },
    /// Remove a staff member.
    RemoveStaff {
        /// Staff id.
        staff: String,
    },
    /// Append a line.
    AddEntry {
        /// Kind of line.
        kind: DutyEntryKind,
        /// What happened.
        text: String,
        /// The case concerned.
        case_id: Option<String>,
    },
    /// Hand an open case to the next shift.
    HandOver {
        /// The case.
        case_id: String,
        /// What the next shift must know.
        note: String,
    },
    /// The next shift has taken the case over.
    TakeOver {
        /// The case.
        case_id: String,
    },
}

/// A document the server refused, and why; its changes stay on the phone.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SyncRefusal {
    /// The case id or duty-log id.
    pub doc_id: String,
    /// Stable code, e.g. `doc.schema`.
    pub code: String,
    /// What a person should know.
    pub message: String,
}

/// What a sync did: sent, received, refused and rejected, summed over its rounds.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Request/response rounds run.
    pub rounds: u32,
    /// Documents pushed (a document pushed in two rounds counts twice).
    pub sent_docs: u32,
    /// Documents the server acknowledged.
    pub acked_docs: u32,
    /// Documents that arrived or changed from the server.
    pub received_docs: u32,
    /// Ids of the documents that arrived or changed, sorted, without repeats.
    pub received_ids: Vec<String>,
    /// Documents the server refused, with its reasons.
    pub refused: Vec<SyncRefusal>,
    /// Updates from the server this phone could not accept, with why.
    pub rejected_updates: Vec<SyncRefusal>,
    /// Documents still waiting to be sent after this sync (changes made during
    /// it, or documents the server refused).
    pub pending_docs: u32,
}

// ---- parsing at the edge -------------------------------------------------------

/// Parses a case id given by the app.
pub(crate) fn case_id(text: &str) -> Result<CaseId, KefuError> {
    text.parse().map_err(|err: kefu_core::ids::IdError| KefuError::InvalidInput { message: err.to_string() })
}

/// Checks a staff id given by the app.
pub(crate) fn staff_id(text: &str) -> Result<StaffId, KefuError> {
    StaffId::new(text).map_err(|err| KefuError::InvalidInput { message: err.to_string() })
}

/// Parses a `YYYY-MM-DD` date given by the app.
pub(crate) fn date(text: &str) -> Result<chrono::NaiveDate, KefuError> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| KefuError::InvalidInput { message: format!("invalid date: {text:?} (expected YYYY-MM-DD)") })
}

fn optional_staff(text: Option<&str>) -> Result<Option<StaffId>, KefuError> {
    text.map(staff_id).transpose()
}

// ---- app → core ----------------------------------------------------------------

impl From<Customer> for core_case::Customer {
    fn from(customer: Customer) -> Self {
        core_case::Customer { name: customer.name, phone: customer.phone, address: customer.address }
    }
}

impl From<NewCase> for core_case::NewCase {
    fn from(new: NewCase) -> Self {
        core_case::NewCase {
            kind: new.kind.into(),
            channel: new.channel.into(),
            customer: new.customer.into(),
            subject: new.subject,
            description: new.description,
            priority: new.priority.into(),
            service: new.service.map(Into::into),
        }
    }
}

impl From<AttachmentRef> for core_case::AttachmentRef {
    fn from(attachment: AttachmentRef) -> Self {
        core_case::AttachmentRef {
            sha256: attachment.sha256,
            size: attachment.size,
            mime: attachment.mime,
            name: attachment.name,
        }
    }
}

impl CaseEdit {
    /// The core edit; fails on a malformed staff id.
    pub(crate) fn into_core(self) -> Result<core_case::CaseEdit, KefuError> {
        use core_case::CaseEdit as Core;
        Ok(match self {
            CaseEdit::SetSubject { subject } => Core::SetSubject(subject),
            CaseEdit::SetCustomer { customer } => Core::SetCustomer(customer.into()),
            CaseEdit::SetKind { kind } => Core::SetKind(kind.into()),
            CaseEdit::SetPriority { priority } => Core::SetPriority(priority.into()),
            CaseEdit::SetTier { tier } => Core::SetTier(tier.into()),
            CaseEdit::SetService { service } => Core::SetService(service.map(Into::into)),
            CaseEdit::AddTag { tag } => Core::AddTag(tag),
            CaseEdit::RemoveTag { tag } => Core::RemoveTag(tag),
            CaseEdit::SpliceDescription { pos, delete, insert } => {
                Core::SpliceDescription { pos: pos as usize, delete: delete as usize, insert }
            }
            CaseEdit::AddNote { text } => Core::AddNote(text),
            CaseEdit::Transfer { to_department, to_assignee, reason } => {
                Core::Transfer { to_department, to_assignee: optional_staff(to_assignee.as_deref())?, reason }
            }
            CaseEdit::Transition { to, reason } => Core::Transition { to: to.into(), reason },
            CaseEdit::Feedback { direction, text } => Core::Feedback { direction: direction.into(), text },
            CaseEdit::ReturnVisit { satisfaction, comment } => {
                Core::ReturnVisit { satisfaction: satisfaction.into(), comment }
            }
            CaseEdit::Attach { attachment } => Core::Attach(attachment.into()),
        })
    }
}

impl CaseFilter {
    /// The core filter; fails on a malformed staff id.
    pub(crate) fn into_core(self) -> Result<core_store::CaseFilter, KefuError> {
        Ok(core_store::CaseFilter {
            statuses: self.statuses.into_iter().map(Into::into).collect(),
            kind: self.kind.map(Into::into),
            assignee: optional_staff(self.assignee.as_deref())?,
            overdue_at: self.overdue_at_ms.map(Timestamp),
            due_before: self.due_before_ms.map(Timestamp),
            text: self.text,
            limit: self.limit as usize,
        })
    }
}

impl DutyEdit {
    /// The core edit; fails on a malformed staff or case id.
    pub(crate) fn into_core(self) -> Result<core_duty::DutyEdit, KefuError> {
        use core_duty::DutyEdit as Core;
        Ok(match self {
            DutyEdit::SetWeather { weather } => Core::SetWeather(weather),
            DutyEdit::AddStaff { staff } => Core::AddStaff(staff_id(&staff)?),
            DutyEdit::RemoveStaff { staff } => Core::RemoveStaff(staff_id(&staff)?),
            DutyEdit::AddEntry { kind, text, case_id: case } => {
                Core::AddEntry { kind: kind.into(), text, case: case.as_deref().map(case_id).transpose()? }
            }
            DutyEdit::HandOver { case_id: case, note } => Core::HandOver { case: case_id(&case)?, note },
            DutyEdit::TakeOver { case_id: case } => Core::TakeOver(case_id(&case)?),
        })
    }
}

// ---- core → app ----------------------------------------------------------------

impl From<core_case::CaseNumber> for CaseNumber {
    fn from(number: core_case::CaseNumber) -> Self {
        let display = number.display().to_string();
        CaseNumber { provisional: number.provisional, assigned: number.assigned, display }
    }
}

impl From<core_case::Customer> for Customer {
    fn from(customer: core_case::Customer) -> Self {
        Customer { name: customer.name, phone: customer.phone, address: customer.address }
    }
}

impl From<core_case::AttachmentRef> for AttachmentRef {
    fn from(attachment: core_case::AttachmentRef) -> Self {
        AttachmentRef { sha256: attachment.sha256, size: attachment.size, mime: attachment.mime, name: attachment.name }
    }
}

fn staff_text(staff: Option<StaffId>) -> Option<String> {
    staff.map(|staff| staff.as_str().to_string())
}

impl From<core_case::EntryBody> for EntryBody {
    fn from(body: core_case::EntryBody) -> Self {
        use core_case::EntryBody as Core;
        match body {
            Core::Note { text } => EntryBody::Note { text },
            Core::Transfer { from_department, to_department, from_assignee, to_assignee, reason } => {
                EntryBody::Transfer {
                    from_department,
                    to_department,
                    from_assignee: staff_text(from_assignee),
                    to_assignee: staff_text(to_assignee),
                    reason,
                }
            }
            Core::StatusChange { from, to, prev, reason } => EntryBody::StatusChange {
                from: from.into(),
                to: to.into(),
                prev: prev.iter().map(|id| id.as_str().to_string()).collect(),
                reason,
            },
            Core::Feedback { direction, text } => EntryBody::Feedback { direction: direction.into(), text },
            Core::ReturnVisit { satisfaction, comment } => {
                EntryBody::ReturnVisit { satisfaction: satisfaction.into(), comment }
            }
            Core::Attachment(attachment) => EntryBody::Attachment { attachment: attachment.into() },
        }
    }
}

impl From<core_case::TimelineEntry> for TimelineEntry {
    fn from(entry: core_case::TimelineEntry) -> Self {
        TimelineEntry {
            id: entry.id.as_str().to_string(),
            at_ms: entry.at.0,
            by: entry.by.as_str().to_string(),
            body: entry.body.into(),
        }
    }
}

impl From<core_case::Deadline> for Deadline {
    fn from(deadline: core_case::Deadline) -> Self {
        Deadline {
            opens_ms: deadline.opens.map(|at| at.0),
            due_ms: deadline.due.0,
            done_at_ms: deadline.done_at.map(|at| at.0),
        }
    }
}

impl From<core_case::Case> for Case {
    fn from(case: core_case::Case) -> Self {
        let status_conflict = case
            .status
            .conflict
            .unwrap_or_default()
            .into_iter()
            .map(|(entry_id, status)| StatusLeaf { entry_id: entry_id.as_str().to_string(), status: status.into() })
            .collect();
        Case {
            id: case.id.to_string(),
            number: case.number.into(),
            kind: case.kind.into(),
            channel: case.channel.into(),
            customer: case.customer.into(),
            subject: case.subject,
            description: case.description,
            department: case.department,
            tier: case.tier.into(),
            assignee: staff_text(case.assignee),
            priority: case.priority.into(),
            service: case.service.map(Into::into),
            tags: case.tags.into_iter().collect(),
            created_at_ms: case.created_at.0,
            created_by: case.created_by.as_str().to_string(),
            updated_at_ms: case.updated_at.0,
            timeline: case.timeline.into_iter().map(Into::into).collect(),
            status: case.status.status.into(),
            status_conflict,
            reply_deadline: case.deadlines.reply.map(Into::into),
            return_visit_deadline: case.deadlines.return_visit.map(Into::into),
        }
    }
}

impl From<core_store::CaseSummary> for CaseSummary {
    fn from(summary: core_store::CaseSummary) -> Self {
        CaseSummary {
            id: summary.id.to_string(),
            number: summary.number.into(),
            kind: summary.kind.into(),
            status: summary.status.into(),
            assignee: staff_text(summary.assignee),
            subject: summary.subject,
            customer_name: summary.customer_name,
            created_at_ms: summary.created_at.0,
            updated_at_ms: summary.updated_at.0,
            reply_due_ms: summary.reply_due.map(|at| at.0),
            visit_due_ms: summary.visit_due.map(|at| at.0),
            has_conflict: summary.has_conflict,
        }
    }
}

impl From<core_case::FieldConflict> for FieldConflict {
    fn from(conflict: core_case::FieldConflict) -> Self {
        FieldConflict { field: conflict.field.to_string(), values: conflict.values }
    }
}

impl From<core_duty::DutyLog> for DutyLog {
    fn from(log: core_duty::DutyLog) -> Self {
        let staff: BTreeSet<StaffId> = log.staff;
        DutyLog {
            id: log.id,
            date: log.date.format("%Y-%m-%d").to_string(),
            shift: log.shift.into(),
            weather: log.weather,
            staff: staff.into_iter().map(|staff| staff.as_str().to_string()).collect(),
            entries: log
                .entries
                .into_iter()
                .map(|entry| DutyEntry {
                    id: entry.id,
                    at_ms: entry.at.0,
                    by: entry.by.as_str().to_string(),
                    kind: entry.kind.into(),
                    text: entry.text,
                    case_id: entry.case.map(|case| case.to_string()),
                })
                .collect(),
            handover: log
                .handover
                .into_iter()
                .map(|item| HandoverItem {
                    case_id: item.case.to_string(),
                    note: item.note,
                    by: item.by.as_str().to_string(),
                    at_ms: item.at.0,
                })
                .collect(),
        }
    }
}

/// A count for the FFI (saturating: no phone holds four billion cases).
pub(crate) fn ffi_count(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
