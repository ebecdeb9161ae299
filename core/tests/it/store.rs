//! The device store: durability across reopen, the index, refusals that change
//! nothing, bounded growth through compaction.

use kefu_core::case::{CaseEdit, CaseKind, Status};
use kefu_core::ids::{CaseId, Timestamp};
use kefu_core::realistic::CaseScript;
use kefu_core::store::{CaseFilter, CaseStore, StoreConfig, StoreError};

use crate::support::{new_case, staff};

fn open(dir: &std::path::Path) -> CaseStore {
    CaseStore::open(dir, StoreConfig::default()).expect("store opens")
}

#[test]
fn writes_survive_reopen_and_the_index_answers_filters() {
    let dir = tempfile::tempdir().unwrap();
    let desk = staff("desk");
    let (leak, noise) = {
        let mut store = open(dir.path());
        let leak = store.create_case(&new_case(CaseKind::Repair, "pipe leak"), &desk, Timestamp(0)).unwrap();
        let noise = store.create_case(&new_case(CaseKind::Complaint, "noise"), &desk, Timestamp(1)).unwrap();
        store
            .edit_case(
                leak.id,
                &CaseEdit::Transfer { to_department: None, to_assignee: Some(staff("zhang")), reason: String::new() },
                &desk,
                Timestamp(2),
            )
            .unwrap();
        store.edit_case(leak.id, &CaseEdit::AddTag("PLATE-粤B123".into()), &desk, Timestamp(3)).unwrap();
        store
            .edit_case(
                noise.id,
                &CaseEdit::Transition { to: Status::InProgress, reason: String::new() },
                &desk,
                Timestamp(4),
            )
            .unwrap();
        (leak, noise)
    };
    let mut store = open(dir.path());
    assert_eq!(store.n_cases().unwrap(), 2);
    assert_eq!(store.case(leak.id).unwrap().assignee, Some(staff("zhang")));
    let ids = |filter: CaseFilter| -> Vec<CaseId> { store.list(&filter).unwrap().into_iter().map(|s| s.id).collect() };
    assert_eq!(ids(CaseFilter { statuses: vec![Status::InProgress], ..Default::default() }), vec![noise.id]);
    assert_eq!(ids(CaseFilter { kind: Some(CaseKind::Repair), ..Default::default() }), vec![leak.id]);
    assert_eq!(ids(CaseFilter { assignee: Some(staff("zhang")), ..Default::default() }), vec![leak.id]);
    assert_eq!(ids(CaseFilter { text: Some("plate-粤b".into()), ..Default::default() }), vec![leak.id]);
    assert_eq!(
        ids(CaseFilter { text: Some(leak.number.provisional.to_lowercase()), ..Default::default() }),
        vec![leak.id]
    );
    assert_eq!(ids(CaseFilter { text: Some("100%".into()), ..Default::default() }), Vec::<CaseId>::new());
    // Both promise a 24-hour reply; neither has had one.
    let overdue = ids(CaseFilter { overdue_at: Some(Timestamp(2 * Timestamp::DAY)), ..Default::default() });
    assert_eq!(overdue.len(), 2);
    assert!(ids(CaseFilter { overdue_at: Some(Timestamp(10)), ..Default::default() }).is_empty());
    // The second case got the next provisional number.
    assert_ne!(leak.number.provisional, noise.number.provisional);
}

#[test]
fn a_refused_edit_changes_nothing_on_disk_or_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let desk = staff("desk");
    let mut store = open(dir.path());
    let complaint = store.create_case(&new_case(CaseKind::Complaint, "rude answer"), &desk, Timestamp(0)).unwrap();
    store
        .edit_case(
            complaint.id,
            &CaseEdit::Transition { to: Status::Completed, reason: String::new() },
            &desk,
            Timestamp(1),
        )
        .unwrap();
    let before = store.case(complaint.id).unwrap();
    let err = store
        .edit_case(
            complaint.id,
            &CaseEdit::Transition { to: Status::Closed, reason: String::new() },
            &desk,
            Timestamp(2),
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "a complaint case can be closed only after a return visit");
    let err = store.edit_case(complaint.id, &CaseEdit::SetSubject("x".repeat(201)), &desk, Timestamp(3)).unwrap_err();
    assert_eq!(err.to_string(), "subject is 201 characters long, at most 200 allowed");
    assert_eq!(store.case(complaint.id).unwrap(), before);
    drop(store);
    assert_eq!(open(dir.path()).case(complaint.id).unwrap(), before);
}

#[test]
fn received_documents_are_validated_and_bad_bytes_change_nothing() {
    let (office_dir, phone_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let desk = staff("desk");
    let mut office = open(office_dir.path());
    let mut phone = open(phone_dir.path());
    let case = office.create_case(&new_case(CaseKind::Repair, "lift stuck"), &desk, Timestamp(0)).unwrap();
    let id = case.id.to_string();
    let full = office.export(&id, &[]).unwrap();
    assert!(phone.receive(&id, &full).unwrap() > 0);
    assert_eq!(phone.case(case.id).unwrap(), office.case(case.id).unwrap());
    // Garbage, a document under the wrong id, and a missing document all refused.
    assert!(matches!(phone.receive(&id, b"not automerge"), Err(StoreError::Refused { .. })));
    let other = office.create_case(&new_case(CaseKind::Help, "other"), &desk, Timestamp(0)).unwrap();
    let other_bytes = office.export(&other.id.to_string(), &[]).unwrap();
    let err = phone.receive(&CaseId::from_u128(5).to_string(), &other_bytes).unwrap_err();
    assert!(err.to_string().contains("not 00000000-0000-0000-0000-000000000005"), "{err}");
    assert_eq!(phone.n_cases().unwrap(), 1);
    assert!(matches!(phone.case(CaseId::from_u128(5)), Err(StoreError::NotFound { .. })));
    // Incremental: only what changed travels.
    let heads = office.heads(&id).unwrap();
    office.edit_case(case.id, &CaseEdit::AddNote("cabin lights ok".into()), &desk, Timestamp(5)).unwrap();
    let delta = office.export(&id, &heads).unwrap();
    assert!(delta.len() < full.len());
    assert_eq!(phone.receive(&id, &delta).unwrap(), 1);
    assert_eq!(phone.case(case.id).unwrap(), office.case(case.id).unwrap());
}

#[test]
fn compaction_keeps_the_store_from_growing_by_a_copy_per_edit() {
    let dir = tempfile::tempdir().unwrap();
    let desk = staff("desk");
    let config = StoreConfig { compact_after: 8, ..StoreConfig::default() };
    let mut store = CaseStore::open(dir.path(), config.clone()).unwrap();
    let case = store.create_case(&new_case(CaseKind::Repair, "door"), &desk, Timestamp(0)).unwrap();
    for n in 0..50 {
        store.edit_case(case.id, &CaseEdit::AddNote(format!("visit {n}")), &desk, Timestamp(n + 1)).unwrap();
    }
    let db = rusqlite::Connection::open(dir.path().join("kefu-store.sqlite3")).unwrap();
    let n_chunks: i64 = db.query_row("SELECT COUNT(*) FROM changes", [], |row| row.get(0)).unwrap();
    assert!(n_chunks < 8, "{n_chunks} chunks pending, compaction should keep fewer than 8");
    drop(store);
    let mut store = CaseStore::open(dir.path(), config).unwrap();
    assert_eq!(store.case(case.id).unwrap().timeline.len(), 50);
    assert_eq!(store.compact().unwrap(), usize::from(n_chunks > 0), "the one case compacts if it has chunks");
    let n_chunks: i64 = db.query_row("SELECT COUNT(*) FROM changes", [], |row| row.get(0)).unwrap();
    assert_eq!(n_chunks, 0);
    assert_eq!(store.case(case.id).unwrap().timeline.len(), 50);
}

#[test]
fn a_realistic_case_stays_within_half_again_of_its_compact_size() {
    let dir = tempfile::tempdir().unwrap();
    let desk = staff("desk");
    let mut store = open(dir.path());
    let mut worst = 0.0_f64;
    for seed in 0..5 {
        let script = CaseScript::generate(seed);
        let case = store.create_case(&script.new, &desk, Timestamp(0)).unwrap();
        for (n, edit) in script.edits.iter().enumerate() {
            store.edit_case(case.id, edit, &desk, Timestamp(n as i64 + 1)).unwrap();
        }
        let before = store.stored_bytes().unwrap();
        store.compact().unwrap();
        let compact = store.stored_bytes().unwrap();
        worst = worst.max(before as f64 / compact as f64);
    }
    assert!(worst <= 1.5, "the store held {worst:.2} times the compact size");
}

#[test]
fn a_batch_is_stored_whole_in_one_go_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let desk = staff("desk");
    let mut store = open(dir.path());
    let before = store.create_case(&new_case(CaseKind::Repair, "before the batch"), &desk, Timestamp(0)).unwrap();
    // A batch that fails halfway leaves nothing, not even the provisional numbers it drew.
    let failed: Result<(), StoreError> = store.batch(|batch| {
        let case = batch.create_case(&CaseScript::generate(1).new, &desk, Timestamp(1))?;
        batch.edit_case(case.id, &CaseEdit::AddNote("written in the batch".into()), &desk, Timestamp(2))?;
        batch.edit_case(before.id, &CaseEdit::AddNote("also in the batch".into()), &desk, Timestamp(2))?;
        Err(StoreError::Corrupt("the import file ended early".into()))
    });
    assert!(failed.is_err());
    assert_eq!(store.n_cases().unwrap(), 1);
    assert_eq!(store.case(before.id).unwrap(), before, "the existing case is untouched");
    // Forty realistic cases with their twenty entries each, and a refused edit among them.
    let created = store
        .batch(|batch| {
            let mut ids = Vec::new();
            for seed in 0..40 {
                let script = CaseScript::generate(seed);
                let case = batch.create_case(&script.new, &desk, Timestamp(10))?;
                for edit in &script.edits {
                    batch.edit_case(case.id, edit, &desk, Timestamp(11))?;
                }
                ids.push(case.id);
            }
            let refused = batch.edit_case(
                ids[0],
                &CaseEdit::Transition { to: Status::Closed, reason: "done".into() },
                &desk,
                Timestamp(12),
            );
            assert!(refused.is_err(), "a new case cannot be closed at once");
            batch.edit_case(before.id, &CaseEdit::AddNote("after the refusal".into()), &desk, Timestamp(12))?;
            Ok(ids)
        })
        .unwrap();
    drop(store);
    let mut store = open(dir.path());
    assert_eq!(store.n_cases().unwrap(), 41);
    for id in &created {
        let case = store.case(*id).unwrap();
        assert_eq!(case.timeline.len(), 20, "its twenty entries");
        assert_eq!(case.status.status, Status::New, "the refused transition left no trace");
    }
    assert_eq!(store.case(before.id).unwrap().timeline.len(), before.timeline.len() + 1);
    let mut numbers: Vec<String> =
        store.list(&CaseFilter::default()).unwrap().into_iter().map(|summary| summary.number.provisional).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 41, "every provisional number is new, the failed batch's included");
    assert_eq!(store.pending_docs().unwrap(), 41, "every case waits to be sent");
}

#[test]
fn duty_logs_are_stored_and_listed_by_date() {
    use kefu_core::duty_log::{DutyEdit, DutyShift};
    let dir = tempfile::tempdir().unwrap();
    let desk = staff("desk");
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    let mut store = open(dir.path());
    let log = store.open_duty_log(date, DutyShift::Night).unwrap();
    let case = store.create_case(&new_case(CaseKind::Repair, "pump"), &desk, Timestamp(0)).unwrap();
    store
        .edit_duty_log(&log.id, &DutyEdit::HandOver { case: case.id, note: "call at 8".into() }, &desk, Timestamp(1))
        .unwrap();
    drop(store);
    let mut store = open(dir.path());
    assert_eq!(store.open_duty_log(date, DutyShift::Night).unwrap().handover.len(), 1);
    assert_eq!(store.duty_logs_between(date, date).unwrap(), vec![log.id.clone()]);
    assert!(matches!(store.case(CaseId::from_u128(1)), Err(StoreError::NotFound { .. })));
    assert!(matches!(store.duty_log(&case.id.to_string()), Err(StoreError::NotFound { .. })));
}
