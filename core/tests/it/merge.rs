//! Property: any number of replicas, any sequence of the API's operations applied
//! offline, synced in any order and partition, end identical, with every timeline
//! entry any replica recorded present everywhere and the domain invariants holding.

use std::collections::BTreeSet;

use kefu_core::case::{
    AttachmentRef, CaseDoc, CaseEdit, CaseKind, CasePolicy, Customer, EditContext, EntryBody, EntryId,
    FeedbackDirection, Priority, Satisfaction, Service, Status, validate_case,
};
use kefu_core::ids::{DeviceId, Timestamp};
use proptest::prelude::*;

use crate::support::{repair_doc, staff};

/// An operation with positions given as fractions, resolved against the replica's
/// current text when applied (a fixed index would mostly be out of range).
#[derive(Clone, Debug)]
enum Op {
    Edit { replica: usize, spec: EditSpec },
    Sync { from: usize, to: usize },
}

#[derive(Clone, Debug)]
enum EditSpec {
    Note(String),
    Subject(String),
    Priority(Priority),
    Tag(bool, u8),
    Splice { pos_percent: u8, delete: u8, insert: String },
    Transition(Status),
    Transfer(u8, u8),
    Feedback(String),
    ReturnVisit(Satisfaction),
    Attach(u8),
    Customer(String),
    Service(Option<Service>),
    Kind(CaseKind),
}

fn edit_spec() -> impl Strategy<Value = EditSpec> {
    prop_oneof![
        "[a-z ]{0,12}".prop_map(EditSpec::Note),
        "[a-zA-Z店 ]{0,10}".prop_map(EditSpec::Subject),
        proptest::sample::select(Priority::ALL).prop_map(EditSpec::Priority),
        (any::<bool>(), 0u8..4).prop_map(|(add, tag)| EditSpec::Tag(add, tag)),
        (0u8..=100, 0u8..4, "[a-z水 ]{0,6}").prop_map(|(pos_percent, delete, insert)| EditSpec::Splice {
            pos_percent,
            delete,
            insert
        }),
        proptest::sample::select(Status::ALL).prop_map(EditSpec::Transition),
        (0u8..3, 0u8..3).prop_map(|(department, assignee)| EditSpec::Transfer(department, assignee)),
        "[a-z ]{1,8}".prop_map(EditSpec::Feedback),
        proptest::sample::select(Satisfaction::ALL).prop_map(EditSpec::ReturnVisit),
        any::<u8>().prop_map(EditSpec::Attach),
        "[a-z]{0,6}".prop_map(EditSpec::Customer),
        proptest::option::of(proptest::sample::select(Service::ALL)).prop_map(EditSpec::Service),
        proptest::sample::select(CaseKind::ALL).prop_map(EditSpec::Kind),
    ]
}

fn to_edit(spec: &EditSpec, doc: &CaseDoc) -> CaseEdit {
    match spec.clone() {
        EditSpec::Note(text) => CaseEdit::AddNote(text),
        EditSpec::Subject(subject) => CaseEdit::SetSubject(subject),
        EditSpec::Priority(priority) => CaseEdit::SetPriority(priority),
        EditSpec::Tag(true, tag) => CaseEdit::AddTag(format!("tag{tag}")),
        EditSpec::Tag(false, tag) => CaseEdit::RemoveTag(format!("tag{tag}")),
        EditSpec::Splice { pos_percent, delete, insert } => {
            let len = doc.read().description.chars().count();
            let pos = len * usize::from(pos_percent) / 100;
            CaseEdit::SpliceDescription { pos, delete: usize::from(delete).min(len - pos), insert }
        }
        EditSpec::Transition(to) => CaseEdit::Transition { to, reason: String::new() },
        EditSpec::Transfer(department, assignee) => CaseEdit::Transfer {
            to_department: Some(["工程部", "售后", "物流"][usize::from(department)].into()),
            to_assignee: Some(staff(["zhang", "li", "wang"][usize::from(assignee)])),
            reason: "triage".into(),
        },
        EditSpec::Feedback(text) => CaseEdit::Feedback { direction: FeedbackDirection::ToCustomer, text },
        EditSpec::ReturnVisit(satisfaction) => CaseEdit::ReturnVisit { satisfaction, comment: String::new() },
        EditSpec::Attach(n) => CaseEdit::Attach(AttachmentRef {
            sha256: format!("{n:064x}"),
            size: u64::from(n) * 1_000,
            mime: "image/jpeg".into(),
            name: format!("photo{n}.jpg"),
        }),
        EditSpec::Customer(name) => {
            CaseEdit::SetCustomer(Customer { name, phone: "139".into(), address: "5-1".into() })
        }
        EditSpec::Service(service) => CaseEdit::SetService(service),
        EditSpec::Kind(kind) => CaseEdit::SetKind(kind),
    }
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (2usize..=4).prop_flat_map(|n_replicas| {
        let op = prop_oneof![
            3 => (0..n_replicas, edit_spec()).prop_map(|(replica, spec)| Op::Edit { replica, spec }),
            1 => (0..n_replicas, 0..n_replicas).prop_map(|(from, to)| Op::Sync { from, to }),
        ];
        (Just(n_replicas), proptest::collection::vec(op, 1..40))
    })
}

fn sync(docs: &mut [CaseDoc], from: usize, to: usize) {
    if from != to {
        let bytes = docs[from].save();
        docs[to].receive(&bytes).expect("changes from a valid replica are accepted");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_and_lose_nothing((n_replicas, ops) in scenario()) {
        let policy = CasePolicy::default();
        let origin = repair_doc();
        let mut docs: Vec<CaseDoc> = (0..n_replicas)
            .map(|idx| {
                let bytes = origin.save();
                CaseDoc::load(&bytes, DeviceId::from_u128(100 + idx as u128)).expect("valid")
            })
            .collect();
        let mut recorded: BTreeSet<EntryId> = BTreeSet::new();
        for (step, op) in ops.iter().enumerate() {
            match op {
                Op::Edit { replica, spec } => {
                    let edit = to_edit(spec, &docs[*replica]);
                    let before = docs[*replica].heads();
                    let by = staff(&format!("staff{replica}"));
                    let ctx = EditContext { at: Timestamp(1_000 * step as i64), by: &by, policy: &policy };
                    match docs[*replica].apply(&ctx, &edit) {
                        Ok(Some(entry)) => { recorded.insert(entry); }
                        Ok(None) => {}
                        // A refused edit changes nothing.
                        Err(_) => prop_assert_eq!(docs[*replica].heads(), before),
                    }
                }
                Op::Sync { from, to } => sync(&mut docs, *from, *to),
            }
        }
        // Everyone meets everyone (in both directions) once signal returns.
        for from in 0..n_replicas {
            for to in 0..n_replicas {
                sync(&mut docs, from, to);
            }
        }
        let first = docs[0].read();
        let ids: BTreeSet<EntryId> = first.timeline.iter().map(|entry| entry.id.clone()).collect();
        prop_assert!(recorded.is_subset(&ids), "lost entries: {:?}", recorded.difference(&ids).collect::<Vec<_>>());
        for doc in &docs {
            prop_assert_eq!(&doc.read(), &first);
            prop_assert_eq!(doc.conflicts(), docs[0].conflicts());
            prop_assert!(validate_case(doc.automerge()).is_ok());
        }
        // Invariants: the status is one of the leaves' targets and the greatest of
        // them; closed complaints/repairs had a return visit on the closing replica.
        let leaf_targets: Vec<Status> = first.timeline.iter()
            .filter(|entry| first.status.leaves.contains(&entry.id))
            .filter_map(|entry| match entry.body { EntryBody::StatusChange { to, .. } => Some(to), _ => None })
            .collect();
        match leaf_targets.iter().max() {
            Some(max) => prop_assert_eq!(first.status.status, *max),
            None => prop_assert_eq!(first.status.status, Status::New),
        }
        prop_assert_eq!(first.status.conflict.is_some(), leaf_targets.iter().any(|to| *to != first.status.status));
    }
}

#[test]
fn concurrent_text_edits_merge_character_wise() {
    let policy = CasePolicy::default();
    let by = staff("a");
    let ctx = EditContext { at: Timestamp(1), by: &by, policy: &policy };
    let mut office = repair_doc();
    let mut phone = CaseDoc::load(&office.save(), DeviceId::from_u128(2)).unwrap();
    office.apply(&ctx, &CaseEdit::SpliceDescription { pos: 0, delete: 0, insert: "URGENT: ".into() }).unwrap();
    let len = phone.read().description.chars().count();
    phone.apply(&ctx, &CaseEdit::SpliceDescription { pos: len, delete: 0, insert: " since 6am".into() }).unwrap();
    office.merge(&phone).unwrap();
    phone.merge(&office).unwrap();
    assert_eq!(office.read().description, "URGENT: water in the basement since 6am");
    assert_eq!(phone.read(), office.read());
}

#[test]
fn concurrent_transitions_both_stay_and_the_case_reports_the_conflict() {
    let policy = CasePolicy::default();
    let (desk, field) = (staff("desk"), staff("field"));
    let mut office = repair_doc();
    let at = |t| Timestamp(t);
    office
        .apply(
            &EditContext { at: at(1), by: &desk, policy: &policy },
            &CaseEdit::Transition { to: Status::InProgress, reason: String::new() },
        )
        .unwrap();
    let mut phone = CaseDoc::load(&office.save(), DeviceId::from_u128(2)).unwrap();
    let done = phone
        .apply(
            &EditContext { at: at(2), by: &field, policy: &policy },
            &CaseEdit::Transition { to: Status::Completed, reason: "fixed".into() },
        )
        .unwrap()
        .unwrap();
    let back = office
        .apply(
            &EditContext { at: at(3), by: &desk, policy: &policy },
            &CaseEdit::Transition { to: Status::Dispatched, reason: "resend".into() },
        )
        .unwrap()
        .unwrap();
    office.merge(&phone).unwrap();
    let case = office.read();
    assert_eq!(case.current_status(), Status::Completed);
    assert_eq!(case.status.conflict, Some(vec![(done.clone(), Status::Completed), (back.clone(), Status::Dispatched)]));
    // A transition made after seeing both resolves it, naming both in prev.
    office
        .apply(
            &EditContext { at: at(4), by: &desk, policy: &policy },
            &CaseEdit::Transition { to: Status::InProgress, reason: "reopen".into() },
        )
        .unwrap();
    let case = office.read();
    assert_eq!(case.current_status(), Status::InProgress);
    assert_eq!(case.status.conflict, None);
}
