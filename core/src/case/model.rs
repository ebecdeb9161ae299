//! The plain Rust view of a case: what callers read and what they ask to change.
//!
//! Nothing here knows automerge. [`Case`] is hydrated from a document by
//! [`super::CaseDoc::read`]; [`CaseEdit`] is one typed change, applied by
//! [`super::CaseDoc::apply`]. Keeping the edit a value (not a method per field) lets
//! the store, the FFI and the property tests all speak the same operations.

use std::collections::BTreeSet;

use super::codes::{CaseKind, Channel, FeedbackDirection, Priority, Satisfaction, Service, Status, Tier};
use super::deadline::Deadlines;
use super::status::StatusView;
use crate::ids::{CaseId, StaffId, Timestamp};

/// Who the case is for.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Customer {
    /// Name as given.
    pub name: String,
    /// Phone number as given (not normalised: customers give it in many forms).
    pub phone: String,
    /// Address or unit (e.g. "3-2-1101").
    pub address: String,
}

/// A case's human-readable numbers (DESIGN.md decision 4): the device-local one it
/// was opened under, and the one the server assigns on first sync. Both stay
/// searchable, since a customer may have been told either.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseNumber {
    /// Minted offline: `P<device tag>-<sequence>`, unique per device.
    pub provisional: String,
    /// Minted by the server: unique per team; absent until the first sync.
    pub assigned: Option<String>,
}

impl CaseNumber {
    /// The number to show: the assigned one once there is one.
    pub fn display(&self) -> &str {
        self.assigned.as_deref().unwrap_or(&self.provisional)
    }
}

/// The fields a new case is opened with (信息记录 on intake).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCase {
    /// What kind of matter.
    pub kind: CaseKind,
    /// How it arrived.
    pub channel: Channel,
    /// Who it is for.
    pub customer: Customer,
    /// One line saying what it is about.
    pub subject: String,
    /// What was asked or went wrong, in the customer's words; collaborative text.
    pub description: String,
    /// Urgency at intake.
    pub priority: Priority,
    /// The work to be done, when known (sets the return-visit window).
    pub service: Option<Service>,
}

/// One entry of a case's append-only timeline (DESIGN.md decision 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    /// Unique within the case, across all devices.
    pub id: EntryId,
    /// When it was recorded, by the recording device's clock.
    pub at: Timestamp,
    /// Who recorded it.
    pub by: StaffId,
    /// What happened.
    pub body: EntryBody,
}

/// Identifies a timeline entry: `<time as 13 hex digits>-<actor hex>[-n]`, so it
/// sorts roughly by time and two devices can never mint the same one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId(pub(crate) String);

impl EntryId {
    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The content of a timeline entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryBody {
    /// A free note (findings on site, a call log).
    Note {
        /// The note.
        text: String,
    },
    /// 转接处理: the case moved to another department and/or person.
    Transfer {
        /// Department before the transfer.
        from_department: Option<String>,
        /// Department after.
        to_department: Option<String>,
        /// Assignee before.
        from_assignee: Option<StaffId>,
        /// Assignee after.
        to_assignee: Option<StaffId>,
        /// Why.
        reason: String,
    },
    /// A status transition; the current status is derived from these.
    StatusChange {
        /// The status the device saw when it made the transition.
        from: Status,
        /// The new status.
        to: Status,
        /// The status events that were current when this one was made; this event
        /// supersedes them (see [`super::status`]).
        prev: Vec<EntryId>,
        /// Why (shown in the history).
        reason: String,
    },
    /// 跟进反馈: progress reported to the customer, or the customer's answer.
    Feedback {
        /// Which way it went.
        direction: FeedbackDirection,
        /// What was said.
        text: String,
    },
    /// 回访: the customer was called back and rated the service.
    ReturnVisit {
        /// The five-level rating.
        satisfaction: Satisfaction,
        /// What they said.
        comment: String,
    },
    /// A photo, recording or document kept elsewhere, referenced by content hash.
    Attachment(AttachmentRef),
}

/// A reference to attachment content stored outside the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentRef {
    /// SHA-256 of the content, 64 lower-case hex digits.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type, e.g. `image/jpeg`.
    pub mime: String,
    /// File name to show.
    pub name: String,
}

/// A case as read from its document at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// Permanent identity.
    pub id: CaseId,
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
    pub assignee: Option<StaffId>,
    /// Urgency.
    pub priority: Priority,
    /// The work done, which sets the return-visit window.
    pub service: Option<Service>,
    /// Free labels (e.g. a plate or serial number to search by).
    pub tags: BTreeSet<String>,
    /// When it was opened.
    pub created_at: Timestamp,
    /// Who opened it.
    pub created_by: StaffId,
    /// Latest edit time seen.
    pub updated_at: Timestamp,
    /// Every entry, sorted by (time, id).
    pub timeline: Vec<TimelineEntry>,
    /// Derived status and any unresolved concurrent transitions.
    pub status: StatusView,
    /// Due times and whether they were met.
    pub deadlines: Deadlines,
}

impl Case {
    /// The current status.
    pub fn current_status(&self) -> Status {
        self.status.status
    }

    /// The latest return visit, if any.
    pub fn latest_return_visit(&self) -> Option<(&TimelineEntry, Satisfaction)> {
        self.timeline.iter().rev().find_map(|entry| match entry.body {
            EntryBody::ReturnVisit { satisfaction, .. } => Some((entry, satisfaction)),
            _ => None,
        })
    }
}

/// One typed change to a case. Each is applied atomically: on error the document is
/// left exactly as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseEdit {
    /// Replace the subject (last writer wins; concurrent values surface as a conflict).
    SetSubject(String),
    /// Replace the customer details.
    SetCustomer(Customer),
    /// Correct the kind recorded at intake.
    SetKind(CaseKind),
    /// Change the priority.
    SetPriority(Priority),
    /// Change the support tier.
    SetTier(Tier),
    /// Set or clear the service performed.
    SetService(Option<Service>),
    /// Add a tag (a set: adding twice is harmless).
    AddTag(String),
    /// Remove a tag.
    RemoveTag(String),
    /// Splice the description: delete `delete` characters at `pos` (Unicode scalar
    /// values) and insert `insert` there. Concurrent splices merge character-wise.
    SpliceDescription {
        /// Position in characters.
        pos: usize,
        /// Characters to delete.
        delete: usize,
        /// Text to insert.
        insert: String,
    },
    /// Append a note.
    AddNote(String),
    /// Move the case to another department and/or person; recorded in the timeline.
    Transfer {
        /// New department (`None` keeps the current one).
        to_department: Option<String>,
        /// New assignee (`None` keeps the current one).
        to_assignee: Option<StaffId>,
        /// Why.
        reason: String,
    },
    /// Transition the status; refused if illegal from the current status.
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
    Attach(AttachmentRef),
    /// Record the server-assigned number (DESIGN.md decision 4). Only the server
    /// makes this edit; the server's validator refuses it from devices.
    AssignNumber(String),
}
