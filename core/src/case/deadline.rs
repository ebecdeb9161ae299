//! Due times from the seeds' rules, and whether each was met.
//!
//! - Reply within 24 hours for complaints and repair (after-sales) requests, and for
//!   anything that came by e-mail (seed 000 篇六; seed 004). The reply is the first
//!   feedback entry to the customer, or the case reaching `Completed`/`Closed`
//!   (answering the matter is a reply).
//! - Return visit after the work: 3–5 days after a repair, 2–3 days after an
//!   installation, 7–10 days after a delivery (seed 000 篇六; seed 002 篇10). The
//!   window opens at the latest completion. It is met by a return visit recorded
//!   after the completion and no later than the window's end; an early call counts,
//!   since the rule is there to stop customers being forgotten, not to delay them.

use super::codes::{CaseKind, Channel, FeedbackDirection, Service, Status};
use super::model::{EntryBody, TimelineEntry};
use super::status::last_entered;
use crate::ids::Timestamp;

/// Hours allowed for the first reply.
pub const REPLY_HOURS: i64 = 24;

/// One due time and what happened against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// Earliest time the thing should happen (return-visit windows), if any.
    pub opens: Option<Timestamp>,
    /// Latest time it should happen.
    pub due: Timestamp,
    /// When it happened, if it has.
    pub done_at: Option<Timestamp>,
}

/// Where a deadline stands at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadlineState {
    /// Done no later than due.
    Met,
    /// Done, but after the due time.
    MetLate,
    /// Not done and not yet due.
    Pending,
    /// Not done and past due.
    Overdue,
}

impl Deadline {
    /// The state at `now`.
    pub fn state(&self, now: Timestamp) -> DeadlineState {
        match self.done_at {
            Some(done) if done <= self.due => DeadlineState::Met,
            Some(_) => DeadlineState::MetLate,
            None if now > self.due => DeadlineState::Overdue,
            None => DeadlineState::Pending,
        }
    }
}

/// The deadlines a case is under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Deadlines {
    /// First reply, for kinds and channels that promise one.
    pub reply: Option<Deadline>,
    /// Return visit, once work with a service window is completed.
    pub return_visit: Option<Deadline>,
}

/// Whether a case promises a reply within [`REPLY_HOURS`].
pub fn reply_promised(kind: CaseKind, channel: Channel) -> bool {
    matches!(kind, CaseKind::Complaint | CaseKind::Repair) || channel == Channel::Email
}

/// Computes a case's deadlines from its fields and timeline.
pub fn compute(
    kind: CaseKind,
    channel: Channel,
    service: Option<Service>,
    created_at: Timestamp,
    timeline: &[TimelineEntry],
) -> Deadlines {
    let reply = reply_promised(kind, channel).then(|| Deadline {
        opens: None,
        due: created_at.plus_hours(REPLY_HOURS),
        done_at: timeline
            .iter()
            .filter(|entry| match &entry.body {
                EntryBody::Feedback { direction, .. } => *direction == FeedbackDirection::ToCustomer,
                EntryBody::StatusChange { to, .. } => matches!(to, Status::Completed | Status::Closed),
                _ => false,
            })
            .map(|entry| entry.at)
            .min(),
    });
    let return_visit = service.zip(last_entered(timeline, Status::Completed)).map(|(service, completed_at)| {
        let (from_days, to_days) = service.return_visit_window_days();
        Deadline {
            opens: Some(completed_at.plus_days(from_days)),
            due: completed_at.plus_days(to_days),
            done_at: timeline
                .iter()
                .filter(|entry| matches!(entry.body, EntryBody::ReturnVisit { .. }) && entry.at >= completed_at)
                .map(|entry| entry.at)
                .min(),
        }
    });
    Deadlines { reply, return_visit }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::codes::Satisfaction;
    use crate::case::model::EntryId;
    use crate::ids::StaffId;

    fn entry(at: i64, body: EntryBody) -> TimelineEntry {
        TimelineEntry { id: EntryId(format!("{at}")), at: Timestamp(at), by: StaffId::new("s").unwrap(), body }
    }

    #[test]
    fn reply_deadline_is_24_hours_for_complaints_and_email() {
        let created = Timestamp(0);
        let none = compute(CaseKind::Consultation, Channel::Phone, None, created, &[]);
        assert_eq!(none.reply, None);
        let by_mail = compute(CaseKind::Consultation, Channel::Email, None, created, &[]);
        assert_eq!(by_mail.reply.unwrap().due, Timestamp(24 * Timestamp::HOUR));
        let feedback = entry(
            25 * Timestamp::HOUR,
            EntryBody::Feedback { direction: FeedbackDirection::ToCustomer, text: "on it".into() },
        );
        let late = compute(CaseKind::Complaint, Channel::Phone, None, created, &[feedback]);
        let reply = late.reply.unwrap();
        assert_eq!(reply.state(Timestamp(30 * Timestamp::HOUR)), DeadlineState::MetLate);
        let open = compute(CaseKind::Complaint, Channel::Phone, None, created, &[]).reply.unwrap();
        assert_eq!(open.state(Timestamp(Timestamp::HOUR)), DeadlineState::Pending);
        assert_eq!(open.state(Timestamp(25 * Timestamp::HOUR)), DeadlineState::Overdue);
    }

    #[test]
    fn return_visit_window_follows_the_service() {
        let completed = entry(
            Timestamp::DAY,
            EntryBody::StatusChange {
                from: Status::InProgress,
                to: Status::Completed,
                prev: vec![],
                reason: String::new(),
            },
        );
        let visit = entry(
            4 * Timestamp::DAY,
            EntryBody::ReturnVisit { satisfaction: Satisfaction::Satisfied, comment: String::new() },
        );
        let repair = compute(
            CaseKind::Repair,
            Channel::Phone,
            Some(Service::Repair),
            Timestamp(0),
            &[completed.clone(), visit.clone()],
        );
        let window = repair.return_visit.unwrap();
        assert_eq!(window.opens, Some(Timestamp(4 * Timestamp::DAY)));
        assert_eq!(window.due, Timestamp(6 * Timestamp::DAY));
        assert_eq!(window.state(Timestamp(10 * Timestamp::DAY)), DeadlineState::Met);
        let install =
            compute(CaseKind::Repair, Channel::Phone, Some(Service::Installation), Timestamp(0), &[completed, visit]);
        assert_eq!(install.return_visit.unwrap().state(Timestamp(10 * Timestamp::DAY)), DeadlineState::Met);
        let not_done = compute(CaseKind::Repair, Channel::Phone, Some(Service::Repair), Timestamp(0), &[]);
        assert_eq!(not_done.return_visit, None);
    }
}
