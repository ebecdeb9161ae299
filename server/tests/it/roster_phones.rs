//! The published roster on the phones (issue 19): publishing in the console sends the roster
//! document of (team, period) to the team's devices through ordinary sync rounds and live
//! sessions; drafts and other teams' rosters never reach a phone; a device's change to a roster
//! document is refused `doc.forged_field` and changes nothing.

use automerge::transaction::Transactable;
use automerge::{Automerge, ROOT};
use chrono::NaiveDate;
use kefu_client::ClientConfig;
use kefu_core::ids::{DeviceId, StaffId, Timestamp};
use kefu_core::roster::{Roster, RosterDoc, RosterShift};
use kefu_core::sync::{DocPush, Message, RefusalCode, encode};

use crate::console::{PASSWORD, get, sample_server, sign_in};
use crate::console_roster::{SMALL_TEAM, generate, import, post_with_csrf};
use crate::support::{Device, Server, admin_ok, client_store, hears, issue, post_frame, spawn_live};

/// The period of `SMALL_TEAM`, and so its document.
const ROSTER: &str = "roster:2026-03-02";

fn publish(server: &Server, cookie: &str, version: &str) {
    let published =
        post_with_csrf(server, cookie, "/console/roster", "/console/roster/publish", &[("version", version)]);
    assert_eq!(published.status, 303, "{}", published.body);
}

/// Pushes `changes` to `id` as one document of a round of `device`'s; returns the refusal.
fn push_doc(
    server: &Server,
    device: &mut Device,
    id: &str,
    doc: &Automerge,
    since: &[automerge::ChangeHash],
) -> String {
    let mut push = device.store.prepare_push(10).unwrap();
    push.docs = vec![DocPush { id: id.to_string(), heads: doc.get_heads(), changes: doc.save_after(since) }];
    let (status, reply) = post_frame(server, Some(&device.token), &encode(&Message::Push(push)));
    assert_eq!(status, 200);
    let Message::Reply(reply) = reply else { panic!("not a reply: {reply:?}") };
    assert!(reply.acks.iter().all(|ack| ack.id != id), "{id} acknowledged");
    let refusal = reply.refusals.iter().find(|refused| refused.id == id).expect("refused").refusal.clone();
    assert_eq!(refusal.code, RefusalCode::ForgedField, "{refusal:?}");
    refusal.message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_roster_reaches_its_team_phones_only_and_only_the_server_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (server, db) = sample_server(dir.path());
    let cookie = sign_in(&server, "wang.li", PASSWORD);
    assert_eq!(import(&server, &cookie, SMALL_TEAM).status, 303);
    let draft = generate(&server, &cookie);
    let mut phone = Device::new(&issue(&db, "sample", "staff"));
    admin_ok(&db, &["team", "create", "north"]);
    let mut north = Device::new(&issue(&db, "north", "staff"));

    // A draft never reaches a phone.
    phone.sync(&server).unwrap();
    assert_eq!(phone.store.roster_ids().unwrap(), Vec::<String>::new(), "a draft stays in the console");

    publish(&server, &cookie, &draft);
    phone.sync(&server).unwrap();
    north.sync(&server).unwrap();
    assert_eq!(phone.store.roster_ids().unwrap(), [ROSTER]);
    assert!(north.store.roster_ids().unwrap().is_empty(), "another team's roster never reaches north");
    let roster = phone.store.rosters().unwrap().remove(0);
    assert_eq!((roster.version.to_string(), roster.published_by.as_str()), (draft.clone(), "wang.li"));
    assert_eq!(roster.utc_offset_minutes, 480, "the team's clock");
    assert_eq!(roster.post_name("desk"), "前台", "display names from the team file");
    assert_eq!(roster.staff_name(&StaffId::new("zhou").unwrap()), "周");
    assert_eq!(roster.shifts.len(), 5, "one at the desk each weekday: {:?}", roster.shifts);
    assert!(roster.shifts.iter().all(|shift| shift.post == "desk" && shift.shift == "D"), "{:?}", roster.shifts);
    let worker = roster.shifts.iter().find(|shift| shift.date.to_string() == "2026-03-04").unwrap().staff.clone();

    // Whatever a device writes into a roster document is refused, and nothing changes.
    let device = DeviceId::of_token(&phone.token).unwrap();
    let held = Automerge::load(&phone.store.export(ROSTER, &[]).unwrap()).unwrap();
    let mut forged = held.fork().with_actor(device.install([7; 8]).actor());
    forged.transact(|tx| tx.put(ROOT, "published_by", "field.zhou")).unwrap();
    let message = push_doc(&server, &mut phone, ROSTER, &forged, &held.get_heads());
    assert!(message.contains("roster:2026-03-02: rosters (roster:…) are written by the server only"), "{message}");
    // A roster the device made itself: under a roster id of another period, and under a case id.
    let first = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
    let own = Roster::new(first, first, 1, "field.zhou", Timestamp(1), 480, Vec::<RosterShift>::new()).unwrap();
    let own = RosterDoc::publish(None, device.install([8; 8]).actor(), &own).unwrap();
    push_doc(&server, &mut phone, "roster:2026-03-09", own.automerge(), &[]);
    push_doc(&server, &mut phone, &uuid::Uuid::now_v7().to_string(), own.automerge(), &[]);
    // North cannot reach the sample team's document by its id either: it would be its own.
    push_doc(&server, &mut north, ROSTER, &forged, &[]);
    let mut witness = Device::new(&issue(&db, "sample", "staff"));
    witness.sync(&server).unwrap();
    assert_eq!(witness.store.roster_ids().unwrap(), [ROSTER], "no document of the device's made it in");
    assert_eq!(witness.store.rosters().unwrap()[0].published_by, "wang.li", "the roster is the server's");

    // A phone watching live hears the republished roster, and reads what changed for whom.
    let config = ClientConfig::new(server.url(), issue(&db, "sample", "staff"));
    let live_dir = tempfile::tempdir().unwrap();
    let store = client_store(live_dir.path(), &config);
    let (session, mut changed, stop) = spawn_live(config, store.clone());
    hears(&mut changed, ROSTER, &[&server]).await;
    store.lock().unwrap().mark_rosters_seen().unwrap();
    let other = ["lin", "wu", "zhou"].into_iter().find(|id| *id != worker.as_str()).unwrap();
    let moved = post_with_csrf(
        &server,
        &cookie,
        "/console/roster",
        "/console/roster/move",
        &[("version", &draft), ("from", worker.as_str()), ("date", "2026-03-04"), ("to", other)],
    );
    assert_eq!(moved.status, 303, "{}", moved.body);
    let next = (draft.parse::<i64>().unwrap() + 1).to_string();
    publish(&server, &cookie, &next);
    hears(&mut changed, ROSTER, &[&server]).await;
    let _ = stop.send(());
    session.await.unwrap().unwrap();
    let changes = store.lock().unwrap().roster_changes().unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!((changes[0].seen_version, changes[0].roster.version.to_string()), (draft.parse().ok(), next));
    let mut moved: Vec<(Option<&str>, Option<&str>)> = changes[0]
        .changes
        .iter()
        .map(|change| {
            (change.before.as_ref().map(|s| s.staff.as_str()), change.after.as_ref().map(|s| s.staff.as_str()))
        })
        .collect();
    moved.sort();
    let mut expected = vec![(Some(worker.as_str()), None), (None, Some(other))];
    expected.sort();
    assert_eq!(moved, expected, "Wednesday's shift went from one to the other, nothing else changed");
    assert!(changes[0].changes.iter().any(|change| change.concerns(&StaffId::new(other).unwrap())));
    assert!(get(&server, "/console/roster", Some(&cookie)).body.contains("id=\"roster-published\""));
}
