//! Status derived from status events, and which transitions are allowed.
//!
//! DESIGN.md decision 2: status is never a stored field. Each transition appends a
//! `StatusChange` entry naming the status events it saw as current (`prev`). The
//! events form a graph; an event is *superseded* once another event names it in
//! `prev`. The *leaves* are the events nobody has superseded yet.
//!
//! **The rule for concurrent transitions.** With one leaf, its `to` is the status.
//! With several (transitions made apart, then merged), the leaf whose `to` is
//! furthest along the workflow wins (`New < Dispatched < InProgress < Completed <
//! Closed`); among equals, the later `at`, then the greater entry id. Every device
//! computes the same answer from the same entries, whatever order they merged in.
//! Work moving forward is the common case (one phone marks the repair done while the
//! office is still dispatching); a deliberate step back (reopening) made concurrently
//! with a step forward loses, but stays in the timeline and the case reports the
//! conflict until someone makes a new transition, which names every leaf in `prev`
//! and so resolves it.

use super::codes::{CaseKind, Status};
use super::model::{EntryBody, EntryId, TimelineEntry};
use crate::ids::Timestamp;
use std::collections::BTreeSet;

/// The derived status of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusView {
    /// The winning status.
    pub status: Status,
    /// The current status events (leaves); more than one after concurrent transitions.
    pub leaves: Vec<EntryId>,
    /// Set when the leaves disagree: every competing (entry, status), winner first.
    pub conflict: Option<Vec<(EntryId, Status)>>,
}

/// Derives the status from a timeline (any order).
pub fn derive(timeline: &[TimelineEntry]) -> StatusView {
    let events: Vec<(&TimelineEntry, Status, &[EntryId])> = timeline
        .iter()
        .filter_map(|entry| match &entry.body {
            EntryBody::StatusChange { to, prev, .. } => Some((entry, *to, prev.as_slice())),
            _ => None,
        })
        .collect();
    let superseded: BTreeSet<&EntryId> = events.iter().flat_map(|(_, _, prev)| prev.iter()).collect();
    let mut leaves: Vec<(&TimelineEntry, Status)> = events
        .iter()
        .filter(|(entry, _, _)| !superseded.contains(&entry.id))
        .map(|(entry, to, _)| (*entry, *to))
        .collect();
    // Winner first: furthest status, then latest time, then greatest id.
    leaves.sort_by(|(a, a_to), (b, b_to)| (b_to, b.at, &b.id).cmp(&(a_to, a.at, &a.id)));
    let status = leaves.first().map_or(Status::New, |(_, to)| *to);
    let disagree = leaves.iter().any(|(_, to)| *to != status);
    StatusView {
        status,
        leaves: leaves.iter().map(|(entry, _)| entry.id.clone()).collect(),
        conflict: disagree.then(|| leaves.iter().map(|(entry, to)| (entry.id.clone(), *to)).collect()),
    }
}

/// Team rules that gate transitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CasePolicy {
    /// Kinds that may be closed only after a return visit (default: complaints and
    /// repairs; seed 000 篇四 targets a 100 % return-visit rate).
    pub return_visit_required_for: Vec<CaseKind>,
}

impl Default for CasePolicy {
    fn default() -> Self {
        CasePolicy { return_visit_required_for: vec![CaseKind::Complaint, CaseKind::Repair] }
    }
}

/// Why a transition was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The target is the current status.
    #[error("case is already {0}")]
    Unchanged(Status),
    /// The workflow has no such step.
    #[error("cannot go from {from} to {to}")]
    NotAllowed {
        /// Current status.
        from: Status,
        /// Requested status.
        to: Status,
    },
    /// Closing needs a return visit under the team's policy.
    #[error("a {kind} case can be closed only after a return visit")]
    ReturnVisitRequired {
        /// The case's kind.
        kind: CaseKind,
    },
}

/// Checks one transition against the workflow and the policy.
///
/// The workflow: `New → Dispatched | InProgress | Completed`, `Dispatched →
/// InProgress | Completed`, `InProgress → Dispatched | Completed`, `Completed →
/// Closed | InProgress` (reopen), `Closed → InProgress` (reopen), and `New → Closed`
/// for matters answered on the spot. Closing requires a return visit for the kinds
/// the policy names.
pub fn check_transition(
    from: Status,
    to: Status,
    kind: CaseKind,
    has_return_visit: bool,
    policy: &CasePolicy,
) -> Result<(), TransitionError> {
    use Status::*;
    if from == to {
        return Err(TransitionError::Unchanged(from));
    }
    let allowed = matches!(
        (from, to),
        (New, Dispatched | InProgress | Completed | Closed)
            | (Dispatched, InProgress | Completed)
            | (InProgress, Dispatched | Completed)
            | (Completed, Closed | InProgress)
            | (Closed, InProgress)
    );
    if !allowed {
        return Err(TransitionError::NotAllowed { from, to });
    }
    if to == Closed && !has_return_visit && policy.return_visit_required_for.contains(&kind) {
        return Err(TransitionError::ReturnVisitRequired { kind });
    }
    Ok(())
}

/// The latest time any status event moved the case to `status`, if one did: the
/// completion time that starts the return-visit window, for instance. Taken over all
/// events, not only the winning line, so a completion recorded concurrently with a
/// losing reopen still starts the window.
pub fn last_entered(timeline: &[TimelineEntry], status: Status) -> Option<Timestamp> {
    timeline
        .iter()
        .filter(|entry| matches!(entry.body, EntryBody::StatusChange { to, .. } if to == status))
        .map(|entry| entry.at)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::StaffId;
    use expect_test::expect;

    fn event(id: &str, at: i64, to: Status, prev: &[&str]) -> TimelineEntry {
        TimelineEntry {
            id: EntryId(id.into()),
            at: Timestamp(at),
            by: StaffId::new("s").unwrap(),
            body: EntryBody::StatusChange {
                from: Status::New,
                to,
                prev: prev.iter().map(|p| EntryId((*p).into())).collect(),
                reason: String::new(),
            },
        }
    }

    fn check(timeline: &[TimelineEntry], expect: expect_test::Expect) {
        let view = derive(timeline);
        let conflict = view.conflict.map(|c| c.iter().map(|(id, s)| format!("{id}={s}")).collect::<Vec<_>>().join(" "));
        expect.assert_eq(&format!("{} leaves={:?} conflict={:?}", view.status, view.leaves, conflict));
    }

    #[test]
    fn derivation_table() {
        use Status::*;
        check(&[], expect![[r#"new leaves=[] conflict=None"#]]);
        check(
            &[event("a", 1, Dispatched, &[]), event("b", 2, InProgress, &["a"])],
            expect![[r#"in_progress leaves=[EntryId("b")] conflict=None"#]],
        );
        // Concurrent: completed (further along) beats a later re-dispatch.
        check(
            &[event("a", 1, InProgress, &[]), event("b", 5, Dispatched, &["a"]), event("c", 3, Completed, &["a"])],
            expect![[r#"completed leaves=[EntryId("c"), EntryId("b")] conflict=Some("c=completed b=dispatched")"#]],
        );
        // A transition that saw both leaves resolves the conflict.
        check(
            &[
                event("a", 1, InProgress, &[]),
                event("b", 5, Dispatched, &["a"]),
                event("c", 3, Completed, &["a"]),
                event("d", 9, InProgress, &["b", "c"]),
            ],
            expect![[r#"in_progress leaves=[EntryId("d")] conflict=None"#]],
        );
        // Same target concurrently: two leaves, no conflict.
        check(
            &[event("a", 1, Completed, &[]), event("b", 2, Completed, &[])],
            expect![[r#"completed leaves=[EntryId("b"), EntryId("a")] conflict=None"#]],
        );
    }

    #[test]
    fn transitions_follow_the_workflow_and_policy() {
        use Status::*;
        let policy = CasePolicy::default();
        assert_eq!(check_transition(New, Dispatched, CaseKind::Repair, false, &policy), Ok(()));
        assert_eq!(
            check_transition(Completed, Closed, CaseKind::Complaint, false, &policy).unwrap_err().to_string(),
            "a complaint case can be closed only after a return visit"
        );
        assert_eq!(check_transition(Completed, Closed, CaseKind::Complaint, true, &policy), Ok(()));
        assert_eq!(check_transition(New, Closed, CaseKind::Consultation, false, &policy), Ok(()));
        assert_eq!(
            check_transition(Closed, Completed, CaseKind::Help, true, &policy).unwrap_err().to_string(),
            "cannot go from closed to completed"
        );
        assert_eq!(
            check_transition(New, New, CaseKind::Help, true, &policy).unwrap_err().to_string(),
            "case is already new"
        );
    }
}
