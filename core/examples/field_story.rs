//! The field story on one machine, with sample data from the seeds: the office desk
//! and a field worker's phone each hold a store; the phone works offline in the
//! basement while the office keeps editing; when the phone comes back they exchange
//! changes and both end with the same cases, nothing lost, conflicts shown.
//!
//! `cargo run -p kefu-core --example field_story -- <dir>` (the README's `make run`).
//! Until the sync server lands, changes travel by `export`/`receive`, the calls the
//! sync protocol is built on.

use std::path::PathBuf;

use chrono::FixedOffset;
use kefu_core::case::{
    CaseEdit, CaseKind, Channel, Customer, FeedbackDirection, NewCase, Priority, Satisfaction, Service, Status,
};
use kefu_core::duty_log::{DutyEdit, DutyEntryKind, DutyShift};
use kefu_core::ids::{StaffId, Timestamp};
use kefu_core::report::monthly_report;
use kefu_core::store::{CaseFilter, CaseStore, StoreConfig, StoreError};

fn main() -> Result<(), StoreError> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "./data".into()));
    let run_dir = dir.join(format!("field-story-{}", Timestamp::now().0));
    let mut office = CaseStore::open(&run_dir.join("office"), StoreConfig::default())?;
    let mut phone = CaseStore::open(&run_dir.join("phone"), StoreConfig::default())?;
    let desk = StaffId::new("desk.li").expect("valid staff id");
    let fixer = StaffId::new("repair.zhang").expect("valid staff id");
    let t0 = Timestamp::now();
    let hour = |h: i64| t0.plus_hours(h);

    // Intake at the desk (seed 002: a basement flood damaged 43 households' property).
    let flood = office.create_case(
        &NewCase {
            kind: CaseKind::Repair,
            channel: Channel::Phone,
            customer: Customer { name: "王女士".into(), phone: "138-0000-0000".into(), address: "3-2-1101".into() },
            subject: "地下室进水 basement flooded".into(),
            description: "Water in the basement storage rooms since 06:00.".into(),
            priority: Priority::Urgent,
            service: Some(Service::Repair),
        },
        &desk,
        hour(0),
    )?;
    let complaint = office.create_case(
        &NewCase {
            kind: CaseKind::Complaint,
            channel: Channel::Online,
            customer: Customer { name: "陈先生".into(), phone: "139-0000-0000".into(), address: "5-1-302".into() },
            subject: "夜间噪音 noise at night".into(),
            description: "Pump noise after 22:00.".into(),
            priority: Priority::Normal,
            service: None,
        },
        &desk,
        hour(0),
    )?;
    office.edit_case(
        flood.id,
        &CaseEdit::Transfer {
            to_department: Some("工程部".into()),
            to_assignee: Some(fixer.clone()),
            reason: "flood".into(),
        },
        &desk,
        hour(1),
    )?;
    office.edit_case(
        flood.id,
        &CaseEdit::Transition { to: Status::Dispatched, reason: "crew sent".into() },
        &desk,
        hour(1),
    )?;

    // The phone gets the cases while it still has signal.
    for id in office.doc_ids()? {
        let bytes = office.export(&id, &[])?;
        phone.receive(&id, &bytes)?;
    }

    // In the basement, offline: the field worker logs findings and finishes.
    phone.edit_case(
        flood.id,
        &CaseEdit::Transition { to: Status::InProgress, reason: String::new() },
        &fixer,
        hour(2),
    )?;
    phone.edit_case(
        flood.id,
        &CaseEdit::AddNote("43 households' storage affected; pump restarted".into()),
        &fixer,
        hour(3),
    )?;
    phone.edit_case(
        flood.id,
        &CaseEdit::SpliceDescription { pos: 0, delete: 0, insert: "[B2] ".into() },
        &fixer,
        hour(3),
    )?;
    phone.edit_case(
        flood.id,
        &CaseEdit::Transition { to: Status::Completed, reason: "dry".into() },
        &fixer,
        hour(5),
    )?;
    // Meanwhile the office edits the same case and answers the complaint.
    office.edit_case(flood.id, &CaseEdit::SetPriority(Priority::High), &desk, hour(2))?;
    let end_of_description = office.case(flood.id)?.description.chars().count();
    office.edit_case(
        flood.id,
        &CaseEdit::SpliceDescription { pos: end_of_description, delete: 0, insert: " Residents notified.".into() },
        &desk,
        hour(2),
    )?;
    // Both rename the case at once: a conflict, shown rather than dropped.
    office.edit_case(flood.id, &CaseEdit::SetSubject("B2 flood, 43 households".into()), &desk, hour(2))?;
    phone.edit_case(flood.id, &CaseEdit::SetSubject("地下室进水 B2".into()), &fixer, hour(3))?;
    office.edit_case(
        complaint.id,
        &CaseEdit::Feedback { direction: FeedbackDirection::ToCustomer, text: "pump schedule changed".into() },
        &desk,
        hour(3),
    )?;
    office.edit_case(
        complaint.id,
        &CaseEdit::Transition { to: Status::Completed, reason: String::new() },
        &desk,
        hour(4),
    )?;
    office.edit_case(
        complaint.id,
        &CaseEdit::ReturnVisit { satisfaction: Satisfaction::Satisfied, comment: "quiet now".into() },
        &desk,
        hour(48),
    )?;
    office.edit_case(
        complaint.id,
        &CaseEdit::Transition { to: Status::Closed, reason: String::new() },
        &desk,
        hour(48),
    )?;
    let night = office.open_duty_log(t0.to_utc().date_naive(), DutyShift::Night)?;
    office.edit_duty_log(
        &night.id,
        &DutyEdit::AddEntry { kind: DutyEntryKind::Dispatch, text: "flood crew".into(), case: Some(flood.id) },
        &desk,
        hour(1),
    )?;
    office.edit_duty_log(
        &night.id,
        &DutyEdit::HandOver { case: flood.id, note: "call 王女士 at 8".into() },
        &desk,
        hour(6),
    )?;

    // Signal is back: exchange everything both ways.
    exchange(&mut phone, &mut office)?;
    exchange(&mut office, &mut phone)?;

    let office_case = office.case(flood.id)?;
    let phone_case = phone.case(flood.id)?;
    println!("stores under {}", run_dir.display());
    println!(
        "flood case {} ({}) on both devices identical: {}",
        office_case.number.display(),
        office_case.current_status(),
        office_case == phone_case
    );
    println!("  description: {}", office_case.description);
    for entry in &office_case.timeline {
        println!("  {} {:<14} {:?}", entry.at, entry.by, entry.body);
    }
    println!("  conflicts: {:?}", office.conflicts(flood.id)?);
    println!("cases in progress or completed:");
    for summary in
        office.list(&CaseFilter { statuses: vec![Status::Completed, Status::Closed], ..Default::default() })?
    {
        println!("  {:<12} {:<10} {:<10} {}", summary.number.display(), summary.kind, summary.status, summary.subject);
    }
    let report = monthly_report(
        &office.all_cases()?,
        t0.to_utc().date_naive(),
        FixedOffset::east_opt(8 * 3600).expect("UTC+8 is valid"),
        hour(72),
    );
    println!("{report}");
    Ok(())
}

/// Sends every document `from` holds to `to`.
fn exchange(from: &mut CaseStore, to: &mut CaseStore) -> Result<(), StoreError> {
    for id in from.doc_ids()? {
        let bytes = from.export(&id, &[])?;
        to.receive(&id, &bytes)?;
    }
    Ok(())
}
