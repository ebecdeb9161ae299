//! The sample team `kefu serve --sample` creates on a new database, so the README's first command
//! shows a working server: six cases in different states (one repair in progress, an overdue
//! complaint, a closed help call, ...), stored through the same sync round devices use (so they
//! get server numbers and index rows), and a supervisor and a staff token printed once.
//!
//! Customers and addresses are invented. Leaves out: `kefu demo`'s three-device story.

use std::net::SocketAddr;

use anyhow::Context;
use kefu_core::case::{
    CaseDoc, CaseEdit, CaseKind, CasePolicy, Channel, Customer, EditContext, FeedbackDirection, NewCase, Priority,
    Satisfaction, Service, Status,
};
use kefu_core::ids::{CaseId, DeviceId, StaffId, Timestamp};
use kefu_core::sync::server::RoundContext;
use kefu_core::sync::session::SessionHeads;
use kefu_core::sync::{DocPush, Push};

use crate::auth::Role;
use crate::cli::admin::issue;
use crate::storage::Storage;

/// The sample team's name.
pub const TEAM: &str = "sample";

/// What seeding made.
#[derive(Debug)]
pub struct Seeded {
    /// Cases stored.
    pub n_cases: usize,
    /// Token of a supervisor device.
    pub supervisor_token: String,
    /// Token of a staff device.
    pub staff_token: String,
}

impl Seeded {
    /// What `kefu serve --sample` prints on stdout.
    pub fn banner(&self, addr: SocketAddr, tls: bool) -> String {
        let (http, ws) = if tls { ("https", "wss") } else { ("http", "ws") };
        let month = Timestamp::now().to_utc().format("%Y-%m");
        format!(
            "kefu is serving {http}://{addr} with the sample team {TEAM:?} ({n} cases)\n\
             supervisor token (shown once): {sup}\n\
             staff token (shown once):      {staff}\n\
             try:\n  \
             curl -H 'Authorization: Bearer {sup}' {http}://{addr}/v1/cases\n  \
             curl -H 'Authorization: Bearer {sup}' '{http}://{addr}/v1/reports/monthly?month={month}'\n\
             devices sync at {ws}://{addr}/v1/sync (or POST {http}://{addr}/v1/sync) with a staff token",
            n = self.n_cases,
            sup = self.supervisor_token,
            staff = self.staff_token,
        )
    }
}

/// Seeds the sample team if the database has no team yet; `None` if it already had one.
/// `utc_offset_minutes` is the team's offset, for the year of the sample cases' numbers.
pub fn seed_if_new(storage: &dyn Storage, utc_offset_minutes: i32) -> anyhow::Result<Option<Seeded>> {
    if storage.n_teams()? > 0 {
        return Ok(None);
    }
    let now = Timestamp::now();
    let team = storage.create_team(TEAM, now)?;
    // The sample cases are written by their own actor, which is not a device: no token exists
    // for it, so nobody can sync as it.
    let writer = DeviceId::random();
    let docs = sample_cases(writer, now)?;
    let n_cases = docs.len();
    let push = Push {
        docs: docs
            .iter()
            .map(|doc| DocPush { id: doc.id().to_string(), heads: doc.heads(), changes: doc.save() })
            .collect(),
        ..Push::default()
    };
    let ctx = RoundContext {
        server_device: storage.server_device(),
        server_nonce: rand::random(),
        seal_key: storage.seal_key(),
        device: writer,
        staff: None,
        supervises: false,
        now,
        utc_offset_minutes,
        max_docs: n_cases,
        max_updates: n_cases,
        fan_out: false,
    };
    let outcome = storage
        .sync_round(team.id, writer, &push, &ctx, &mut SessionHeads::default())
        .context("cannot store the sample cases")?;
    if let Some(refused) = outcome.reply.refusals.first() {
        anyhow::bail!("a sample case was refused: {}", refused.refusal);
    }
    let supervisor_token = issue(storage, TEAM, Role::Supervisor, "sample supervisor", None, now)?;
    let staff_token = issue(storage, TEAM, Role::Staff, "sample staff", None, now)?;
    Ok(Some(Seeded { n_cases, supervisor_token, staff_token }))
}

fn staff(name: &str) -> StaffId {
    StaffId::new(name).expect("sample staff names are valid")
}

/// Six cases at different points of the workflow, dated relative to `now` and all before it.
fn sample_cases(writer: DeviceId, now: Timestamp) -> anyhow::Result<Vec<CaseDoc>> {
    let policy = CasePolicy::default();
    let desk = staff("desk.li");
    let repair = staff("repair.zhang");
    let mut docs = Vec::new();
    let mut open = |sequence: u64, days_ago: i64, new: NewCase, edits: &[(i64, &StaffId, CaseEdit)]| {
        // Opened early enough that its last edit is an hour before `now`, never in the future.
        let last_edit = edits.iter().map(|(hours_later, _, _)| *hours_later).max().unwrap_or(0);
        let at = now.plus_days(-days_ago).plus_hours(-(last_edit + 1));
        let ctx = EditContext { at, by: &desk, policy: &policy };
        let number = kefu_core::case::provisional_number(writer, sequence);
        let mut doc = CaseDoc::create(writer, CaseId::random(), &new, &number, &ctx)?;
        for (hours_later, by, edit) in edits {
            let ctx = EditContext { at: at.plus_hours(*hours_later), by, policy: &policy };
            doc.apply(&ctx, edit)?;
        }
        docs.push(doc);
        anyhow::Ok(())
    };
    let case = |kind, channel, priority, service, subject: &str, name: &str, address: &str| NewCase {
        kind,
        channel,
        customer: Customer { name: name.into(), phone: "138-0000-0000".into(), address: address.into() },
        subject: subject.into(),
        description: format!("{subject} (sample case)"),
        priority,
        service,
    };
    let transition = |to, reason: &str| CaseEdit::Transition { to, reason: reason.into() };
    let to_repair = CaseEdit::Transfer {
        to_department: Some("工程部".into()),
        to_assignee: Some(repair.clone()),
        reason: "on-site repair".into(),
    };
    open(
        1,
        0,
        case(
            CaseKind::Repair,
            Channel::Phone,
            Priority::Urgent,
            Some(Service::Repair),
            "地下室进水 B2",
            "王女士",
            "3-2-1101",
        ),
        &[
            (0, &desk, to_repair.clone()),
            (0, &desk, transition(Status::Dispatched, "sent to engineering")),
            (1, &repair, transition(Status::InProgress, "on site")),
            (2, &repair, CaseEdit::AddNote("43 households' storage rooms affected".into())),
        ],
    )?;
    open(
        2,
        3,
        case(CaseKind::Complaint, Channel::Online, Priority::Normal, None, "快递延误投诉", "陈先生", "5-1-402"),
        &[],
    )?;
    open(
        3,
        1,
        case(CaseKind::Consultation, Channel::WalkIn, Priority::Low, None, "停车卡办理咨询", "刘先生", "1-1-201"),
        &[(1, &desk, transition(Status::Completed, "explained at the desk"))],
    )?;
    open(
        4,
        8,
        case(
            CaseKind::Repair,
            Channel::Phone,
            Priority::High,
            Some(Service::Repair),
            "电梯异响 3号楼",
            "赵女士",
            "3-1-1502",
        ),
        &[
            (0, &desk, to_repair),
            (0, &desk, transition(Status::Dispatched, "sent to engineering")),
            (5, &repair, transition(Status::Completed, "bearing replaced")),
            (6, &desk, CaseEdit::Feedback { direction: FeedbackDirection::ToCustomer, text: "repair done".into() }),
            (
                4 * 24,
                &desk,
                CaseEdit::ReturnVisit { satisfaction: Satisfaction::Satisfied, comment: "quiet now".into() },
            ),
        ],
    )?;
    open(
        5,
        2,
        case(CaseKind::Suggestion, Channel::Email, Priority::Low, None, "增加夜间保安巡逻", "孙先生", "2-3-803"),
        &[],
    )?;
    open(
        6,
        5,
        case(CaseKind::Help, Channel::Field, Priority::Urgent, None, "老人被困电梯", "周女士", "6-2-1203"),
        &[
            (0, &desk, transition(Status::InProgress, "technician on the way")),
            (1, &desk, transition(Status::Completed, "released after 20 minutes")),
            (2, &desk, transition(Status::Closed, "family thanked the team")),
        ],
    )?;
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{CaseQuery, open_memory};

    #[test]
    fn seeding_stores_numbered_cases_once() {
        let storage = open_memory();
        let seeded = seed_if_new(&storage, 480).unwrap().expect("a new database is seeded");
        assert_eq!(seeded.n_cases, 6);
        assert!(seeded.supervisor_token.starts_with("kefu_") && seeded.staff_token.starts_with("kefu_"));
        let team = storage.team_by_name(TEAM).unwrap().unwrap();
        let rows = storage.list_cases(team.id, &CaseQuery { limit: 100, ..CaseQuery::default() }).unwrap();
        let mut statuses: Vec<&str> = rows.iter().map(|row| row.status.as_str()).collect();
        statuses.sort();
        assert_eq!(statuses, ["closed", "completed", "completed", "in_progress", "new", "new"]);
        assert!(rows.iter().all(|row| row.assigned.as_deref().is_some_and(kefu_core::case::is_server_number)));
        assert!(seed_if_new(&storage, 480).unwrap().is_none(), "an existing database is left alone");
    }

    #[test]
    fn no_sample_entry_is_dated_in_the_future() {
        let now = Timestamp::now();
        for doc in sample_cases(DeviceId::from_u128(7), now).unwrap() {
            let case = doc.read();
            assert!(case.created_at <= now, "{} opens in the future", case.subject);
            for entry in &case.timeline {
                assert!(entry.at <= now, "{}: an entry at {:?} is after now {now:?}", case.subject, entry.at);
            }
        }
    }
}
