//! The sync protocol end to end in one process: device stores on disk, frames
//! encoded and decoded, and an in-memory server running the same round logic the
//! real server runs (`kefu_core::sync::server::handle_push`).

use kefu_core::case::{CaseEdit, CaseKind, Status};
use kefu_core::ids::{CaseId, DeviceId, Timestamp};
use kefu_core::store::{CaseFilter, CaseStore, StoreConfig, SyncOutcome};
use kefu_core::sync::memory::MemoryServer;
use kefu_core::sync::server::RoundContext;
use kefu_core::sync::{Message, RefusalCode, decode, encode};

use crate::support::{new_case, staff};

/// The in-memory server and how many updates it has sent.
struct Server {
    state: MemoryServer,
    n_updates_sent: usize,
}

fn server() -> Server {
    Server { state: MemoryServer::new(7), n_updates_sent: 0 }
}

struct Device {
    store: CaseStore,
    name: String,
    team: String,
    token_device: DeviceId,
    /// The staff member its token is issued to, and whether it is a supervisor's.
    staff: Option<kefu_core::ids::StaffId>,
    supervises: bool,
    _dir: tempfile::TempDir,
}

fn device(name: &str, team: &str) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let mut store = CaseStore::open(dir.path(), StoreConfig::default()).unwrap();
    let token_device = DeviceId::random();
    store.bind_device(token_device).unwrap();
    Device { store, name: name.into(), team: team.into(), token_device, staff: None, supervises: false, _dir: dir }
}

/// A phone issued to staff member `name`, of team east.
fn phone(name: &str) -> Device {
    Device { staff: Some(staff(name)), ..device(name, "east") }
}

static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn ctx(device: &Device) -> RoundContext {
    RoundContext {
        server_device: DeviceId::from_u128(0x5e),
        // A new install of the server's actor every round, as the server draws one.
        server_nonce: NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_le_bytes(),
        seal_key: [7; 32],
        device: device.token_device,
        staff: device.staff.clone(),
        supervises: device.supervises,
        now: Timestamp(0),
        utc_offset_minutes: 480,
        max_docs: 500,
        max_updates: 50,
        fan_out: false,
    }
}

/// One round through encoded frames, as a transport would carry it. Returns the
/// outcome and the bytes each way.
fn round(server: &mut Server, device: &mut Device) -> (SyncOutcome, usize, usize) {
    let push = device.store.prepare_push(500).unwrap();
    let up = encode(&Message::Push(push.clone()));
    let Message::Push(received) = decode(&up, 16 << 20).unwrap() else { panic!("push decodes as push") };
    let reply = server.state.round(&device.team, &device.name, &received, &ctx(device)).unwrap();
    server.n_updates_sent += reply.updates.len();
    let down = encode(&Message::Reply(reply));
    let Message::Reply(reply) = decode(&down, 16 << 20).unwrap() else { panic!("reply decodes as reply") };
    let outcome = device.store.apply_reply(&push, &reply).unwrap();
    (outcome, up.len(), down.len())
}

/// Rounds until the server has nothing more.
fn sync(server: &mut Server, device: &mut Device) {
    for _ in 0..100 {
        let (outcome, _, _) = round(server, device);
        assert!(outcome.refused.is_empty(), "refused: {:?}", outcome.refused);
        if !outcome.more && device.store.pending_docs().unwrap() == 0 {
            return;
        }
    }
    panic!("sync did not settle in 100 rounds");
}

fn snapshot(device: &mut Device) -> Vec<kefu_core::case::Case> {
    let ids: Vec<CaseId> = device.store.list(&CaseFilter::default()).unwrap().into_iter().map(|s| s.id).collect();
    let mut cases: Vec<_> = ids.into_iter().map(|id| device.store.case(id).unwrap()).collect();
    cases.sort_by_key(|case| case.id);
    cases
}

#[test]
fn three_devices_edit_offline_reconnect_in_turn_and_converge() {
    let mut server = server();
    let mut devices = [device("desk", "east"), device("phone-a", "east"), device("phone-b", "east")];
    let by = staff("desk");
    let flood = devices[0].store.create_case(&new_case(CaseKind::Repair, "flood"), &by, Timestamp(1)).unwrap();
    for d in devices.iter_mut() {
        sync(&mut server, d);
    }
    // Everyone offline: overlapping edits on the flood case, new cases on each.
    for (idx, d) in devices.iter_mut().enumerate() {
        let t = Timestamp(10 + idx as i64);
        d.store.edit_case(flood.id, &CaseEdit::AddNote(format!("{} was here", d.name)), &by, t).unwrap();
        d.store.create_case(&new_case(CaseKind::Complaint, &format!("from {}", d.name)), &by, t).unwrap();
    }
    devices[1]
        .store
        .edit_case(
            flood.id,
            &CaseEdit::Transition { to: Status::InProgress, reason: String::new() },
            &by,
            Timestamp(20),
        )
        .unwrap();
    devices[2]
        .store
        .edit_case(flood.id, &CaseEdit::Transition { to: Status::Completed, reason: String::new() }, &by, Timestamp(21))
        .unwrap();
    // Reconnect in turn, then once more so everyone hears the last ones.
    for idx in [2, 0, 1, 2, 0, 1] {
        sync(&mut server, &mut devices[idx]);
    }
    let reference = snapshot(&mut devices[0]);
    assert_eq!(reference.len(), 4);
    for d in devices.iter_mut() {
        assert_eq!(snapshot(d), reference, "{} differs", d.name);
        assert_eq!(d.store.pending_docs().unwrap(), 0);
    }
    let flood_now = reference.iter().find(|case| case.id == flood.id).unwrap();
    assert_eq!(
        flood_now.timeline.iter().filter(|e| matches!(e.body, kefu_core::case::EntryBody::Note { .. })).count(),
        3
    );
    assert_eq!(flood_now.current_status(), Status::Completed);
    assert!(flood_now.status.conflict.is_some(), "concurrent transitions are reported");
    // Every case got a server number, and its provisional one still finds it.
    for case in &reference {
        assert!(case.number.assigned.as_deref().is_some_and(kefu_core::case::is_server_number), "{:?}", case.number);
        let found = devices[1]
            .store
            .list(&CaseFilter { text: Some(case.number.provisional.clone()), ..Default::default() })
            .unwrap();
        assert_eq!(found.len(), 1);
    }
}

#[test]
fn an_incremental_round_carries_only_what_changed() {
    let mut server = server();
    let (mut office, mut phone) = (device("office", "east"), device("phone", "east"));
    let by = staff("desk");
    let ids: Vec<CaseId> = (0..200)
        .map(|n| {
            office.store.create_case(&new_case(CaseKind::Repair, &format!("case {n}")), &by, Timestamp(n)).unwrap().id
        })
        .collect();
    sync(&mut server, &mut office);
    sync(&mut server, &mut phone);
    assert_eq!(phone.store.n_cases().unwrap(), 200);
    // The next round confirms what the last one delivered (a report per case of it, no more),
    // and after that an idle round carries next to nothing.
    let (_, up, _) = round(&mut server, &mut phone);
    assert!(up < 50 * 100, "confirming the last 50 updates: {up} B up");
    let (outcome, up, down) = round(&mut server, &mut phone);
    assert!(outcome.received.is_empty() && up < 160 && down < 100, "idle round: {up} B up, {down} B down");
    sync(&mut server, &mut office); // picks up nothing new
    office.store.edit_case(ids[17], &CaseEdit::AddNote("one change".into()), &by, Timestamp(1_000)).unwrap();
    assert_eq!(office.store.pending_docs().unwrap(), 1);
    let push = office.store.prepare_push(500).unwrap();
    assert_eq!(push.docs.len(), 1, "only the changed case is pushed");
    let (outcome, up, down) = round(&mut server, &mut office);
    assert_eq!((outcome.acked_docs, outcome.received.len()), (1, 0));
    assert!(up < 2_000 && down < 1_000, "office round: {up} B up, {down} B down");
    let before = server.n_updates_sent;
    let (outcome, up, down) = round(&mut server, &mut phone);
    assert_eq!((outcome.sent_docs, outcome.received.clone()), (0, vec![ids[17].to_string()]));
    assert_eq!(server.n_updates_sent - before, 1, "one document travels to the phone");
    assert!(up < 160 && down < 2_000, "phone round: {up} B up, {down} B down");
    assert_eq!(phone.store.case(ids[17]).unwrap(), office.store.case(ids[17]).unwrap());
}

#[test]
fn forged_numbers_other_teams_and_bad_changes_are_refused_and_nothing_is_stored() {
    let mut server = server();
    let (mut east, mut west) = (device("east-desk", "east"), device("west-desk", "west"));
    let by = staff("desk");
    let case = east.store.create_case(&new_case(CaseKind::Repair, "lift"), &by, Timestamp(1)).unwrap();
    sync(&mut server, &mut east);
    let stored_before = server.state.docs("east");

    // A device may not set the server's number.
    east.store.edit_case(case.id, &CaseEdit::AssignNumber("K2026-999999".into()), &by, Timestamp(2)).unwrap();
    let (outcome, _, _) = round(&mut server, &mut east);
    assert_eq!(outcome.refused.len(), 1);
    assert_eq!(outcome.refused[0].1.code, RefusalCode::ForgedField);
    assert_eq!(outcome.refused[0].1.to_string(), "number.assigned is set by the server only (doc.forged_field)");
    assert_eq!(server.state.docs("east"), stored_before);
    assert_eq!(east.store.refusal(&case.id.to_string()).unwrap().map(|r| r.code), Some(RefusalCode::ForgedField));
    assert_eq!(east.store.prepare_push(500).unwrap().docs.len(), 0, "a refused document is not resent unchanged");

    // Another team's device cannot write to this case, even with the whole document.
    let bytes = east.store.export(&case.id.to_string(), &[]).unwrap();
    west.store.receive(&case.id.to_string(), &bytes).unwrap();
    west.store.edit_case(case.id, &CaseEdit::AddNote("sneaky".into()), &by, Timestamp(3)).unwrap();
    // West's store holds the note back (it builds on changes the server never took from
    // west), so it is pushed by hand, as a tampered client would.
    let doc =
        kefu_core::case::CaseDoc::load(&west.store.export(&case.id.to_string(), &[]).unwrap(), DeviceId::random())
            .unwrap();
    let reply = push_doc(&mut server, &west, &doc, None).unwrap();
    assert_eq!(reply.refusals[0].refusal.code, RefusalCode::Forbidden);
    assert_eq!(server.state.docs("east"), stored_before);
}

#[test]
fn a_server_restored_from_an_older_backup_gets_everything_back_with_its_numbers() {
    let mut server = server();
    let mut east = device("east-desk", "east");
    let by = staff("desk");
    let backup = server.state.clone();
    let pump = east.store.create_case(&new_case(CaseKind::Repair, "pump"), &by, Timestamp(1)).unwrap();
    sync(&mut server, &mut east);
    let number = east.store.case(pump.id).unwrap().number.assigned.expect("numbered");
    east.store.edit_case(pump.id, &CaseEdit::AddNote("before the restore".into()), &by, Timestamp(2)).unwrap();
    sync(&mut server, &mut east);

    server.state.restore(&backup);
    let (outcome, _, _) = round(&mut server, &mut east);
    assert!(outcome.resync, "a cursor from the lost history is recognised");
    sync(&mut server, &mut east);
    let stored =
        kefu_core::case::CaseDoc::load(&server.state.docs("east")[&pump.id.to_string()], DeviceId::from_u128(9))
            .unwrap()
            .read();
    assert_eq!(stored, east.store.case(pump.id).unwrap(), "every acknowledged edit is back");
    assert_eq!(stored.number.assigned.as_deref(), Some(number.as_str()), "the sealed number is taken back");
    // The restored counter moved past the number it had lost, so it is never drawn twice.
    let next = east.store.create_case(&new_case(CaseKind::Repair, "valve"), &by, Timestamp(3)).unwrap();
    sync(&mut server, &mut east);
    let next_number = east.store.case(next.id).unwrap().number.assigned.expect("numbered");
    assert_ne!(next_number, number);
}

/// A copy of the device's store files, taken with the store closed (as a phone backup is).
fn copy_of_store(device: &mut Device) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    drop(std::mem::replace(&mut device.store, CaseStore::open(elsewhere.path(), StoreConfig::default()).unwrap()));
    for entry in std::fs::read_dir(device._dir.path()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.path().join(path.file_name().unwrap())).unwrap();
    }
    device.store = CaseStore::open(device._dir.path(), StoreConfig::default()).unwrap();
    copy
}

/// Pushes `doc`'s whole history as `device`, by hand, and returns the reply.
fn push_doc(
    server: &mut Server,
    device: &Device,
    doc: &kefu_core::case::CaseDoc,
    staff_name: Option<&str>,
) -> Result<kefu_core::sync::Reply, kefu_core::sync::server::RoundError> {
    let push = kefu_core::sync::Push {
        docs: vec![kefu_core::sync::DocPush { id: doc.id().to_string(), heads: doc.heads(), changes: doc.save() }],
        ..kefu_core::sync::Push::default()
    };
    let mut ctx = ctx(device);
    ctx.staff = staff_name.map(staff);
    server.state.round(&device.team, &device.name, &push, &ctx)
}

/// A case written as `actor`.
fn case_by(actor: DeviceId, by: &str) -> kefu_core::case::CaseDoc {
    let policy = kefu_core::case::CasePolicy::default();
    let by = staff(by);
    let ctx = kefu_core::case::EditContext { at: Timestamp(1), by: &by, policy: &policy };
    kefu_core::case::CaseDoc::create(actor, CaseId::random(), &new_case(CaseKind::Repair, "lift"), "PAAAA-0001", &ctx)
        .unwrap()
}

#[test]
fn changes_must_be_the_pushing_devices_own() {
    let mut server = server();
    let (phone, other) = (device("phone", "east"), device("other", "east"));
    // Under the server's actor: refused, whatever the change.
    let forged = case_by(DeviceId::from_u128(0x5e), "desk");
    let reply = push_doc(&mut server, &phone, &forged, None).unwrap();
    assert_eq!(reply.refusals[0].refusal.code, RefusalCode::ForgedField, "{reply:?}");
    // Under another device's actor: refused.
    let forged = case_by(other.token_device.install([9; 8]), "desk");
    let reply = push_doc(&mut server, &phone, &forged, None).unwrap();
    assert_eq!(reply.refusals[0].refusal.code, RefusalCode::ForeignActor, "{reply:?}");
    assert!(server.state.docs("east").is_empty(), "nothing of either is stored");
    // Under its own: accepted.
    let own = case_by(phone.token_device.install([9; 8]), "desk");
    let reply = push_doc(&mut server, &phone, &own, None).unwrap();
    assert!(reply.refusals.is_empty() && reply.acks.len() == 1, "{reply:?}");
}

#[test]
fn a_forged_author_a_forged_number_and_a_duplicate_document_are_refused() {
    let mut server = server();
    let phone = device("phone", "east");
    // A device issued to li.wei cannot write entries as wang.fang.
    let mut doc = case_by(phone.token_device.install([3; 8]), "li.wei");
    let reply = push_doc(&mut server, &phone, &doc, Some("li.wei")).unwrap();
    assert!(reply.refusals.is_empty(), "{reply:?}");
    let policy = kefu_core::case::CasePolicy::default();
    let wang = staff("wang.fang");
    let as_wang = kefu_core::case::EditContext { at: Timestamp(2), by: &wang, policy: &policy };
    doc.apply(&as_wang, &CaseEdit::AddNote("written as someone else".into())).unwrap();
    let reply = push_doc(&mut server, &phone, &doc, Some("li.wei")).unwrap();
    assert_eq!(reply.refusals[0].refusal.code, RefusalCode::ForgedAuthor, "{reply:?}");
    assert!(reply.refusals[0].refusal.message.contains("wang.fang"), "{}", reply.refusals[0].refusal.message);

    // A number in the server's shape, written by the device: refused.
    let mut doc = case_by(phone.token_device.install([4; 8]), "li.wei");
    let li = staff("li.wei");
    let as_li = kefu_core::case::EditContext { at: Timestamp(2), by: &li, policy: &policy };
    doc.apply(&as_li, &CaseEdit::AssignNumber("K2026-000001".into())).unwrap();
    let reply = push_doc(&mut server, &phone, &doc, Some("li.wei")).unwrap();
    assert_eq!(reply.refusals[0].refusal.code, RefusalCode::ForgedField, "{reply:?}");

    // The same document twice in one push: the whole frame is refused, nothing drawn.
    let doc = case_by(phone.token_device.install([5; 8]), "li.wei");
    let once = kefu_core::sync::DocPush { id: doc.id().to_string(), heads: doc.heads(), changes: doc.save() };
    let push = kefu_core::sync::Push { docs: vec![once.clone(), once], ..kefu_core::sync::Push::default() };
    let before = server.state.docs("east");
    let err = server.state.round("east", "phone", &push, &ctx(&phone)).unwrap_err();
    assert!(
        matches!(&err, kefu_core::sync::server::RoundError::Refused(r) if r.code == RefusalCode::DuplicateDoc),
        "{err}"
    );
    assert_eq!(server.state.docs("east"), before);
}

#[test]
fn a_compressed_bomb_is_refused_by_its_expanded_size_and_nothing_is_stored() {
    use automerge::ReadDoc;
    use automerge::transaction::Transactable;
    let mut server = server();
    let phone = device("phone", "east");
    // A case whose customer map hides 9 MiB of one repeated letter: a few KiB saved.
    let doc = case_by(phone.token_device.install([6; 8]), "desk");
    let mut raw = doc.automerge().clone();
    raw.transact(|tx| {
        let (_, customer) = tx.get(automerge::ROOT, "customer")?.expect("customer map");
        tx.put(&customer, "note", "a".repeat(9 << 20))
    })
    .unwrap();
    let bytes = raw.save();
    assert!(bytes.len() < 64 << 10, "the bomb is small on the wire: {} B", bytes.len());
    let push = kefu_core::sync::Push {
        docs: vec![kefu_core::sync::DocPush { id: doc.id().to_string(), heads: raw.get_heads(), changes: bytes }],
        ..kefu_core::sync::Push::default()
    };
    let reply = server.state.round("east", "phone", &push, &ctx(&phone)).unwrap();
    assert_eq!(reply.refusals[0].refusal.code, RefusalCode::DocTooLarge, "{:?}", reply.refusals);
    assert!(server.state.docs("east").is_empty());
}

#[test]
fn a_lost_reply_a_reinstall_and_a_restored_phone_all_end_converged() {
    let mut server = server();
    let mut desk = device("desk", "east");
    let mut phone = device("phone", "east");
    let by = staff("desk");
    for n in 0..4 {
        desk.store.create_case(&new_case(CaseKind::Repair, &format!("case {n}")), &by, Timestamp(n)).unwrap();
    }
    sync(&mut server, &mut desk);

    // The phone's first reply is lost after the server committed: nothing is assumed held.
    let push = phone.store.prepare_push(500).unwrap();
    server.state.round("east", "phone", &push, &ctx(&phone)).unwrap();
    sync(&mut server, &mut phone);
    assert_eq!(phone.store.n_cases().unwrap(), 4, "the lost reply's cases arrive again");

    // A backup of the phone; more work reaches it; then the phone is restored from the backup.
    let backup = copy_of_store(&mut phone);
    let desk_case = desk.store.list(&CaseFilter::default()).unwrap()[0].id;
    desk.store.edit_case(desk_case, &CaseEdit::AddNote("after the backup".into()), &by, Timestamp(10)).unwrap();
    sync(&mut server, &mut desk);
    sync(&mut server, &mut phone);
    assert_eq!(phone.store.case(desk_case).unwrap(), desk.store.case(desk_case).unwrap());
    desk.store.edit_case(desk_case, &CaseEdit::AddNote("and another".into()), &by, Timestamp(11)).unwrap();
    sync(&mut server, &mut desk);
    phone.store = CaseStore::open(backup.path(), StoreConfig::default()).unwrap();
    sync(&mut server, &mut phone);
    assert_eq!(
        phone.store.case(desk_case).unwrap(),
        desk.store.case(desk_case).unwrap(),
        "the restored phone catches up"
    );

    // Reinstalled: an empty store with the same token receives everything.
    let fresh = tempfile::tempdir().unwrap();
    phone.store = CaseStore::open(fresh.path(), StoreConfig::default()).unwrap();
    phone.store.bind_device(phone.token_device).unwrap();
    sync(&mut server, &mut phone);
    assert_eq!(snapshot(&mut phone), snapshot(&mut desk), "the reinstalled app holds every case");
    // And what it writes now is accepted.
    let id =
        phone.store.create_case(&new_case(CaseKind::Repair, "from the new install"), &by, Timestamp(20)).unwrap().id;
    sync(&mut server, &mut phone);
    sync(&mut server, &mut desk);
    assert_eq!(desk.store.case(id).unwrap(), phone.store.case(id).unwrap());
}

mod property {
    //! Any interleaving of offline edits and sync rounds across three devices ends,
    //! after everyone syncs, with identical stores, every case numbered by the
    //! server, and nothing refused.

    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Step {
        Create(usize),
        Note(usize, usize),
        Transition(usize, usize, Status),
        Splice(usize, usize),
        Sync(usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            1 => (0..3usize).prop_map(Step::Create),
            3 => (0..3usize, any::<usize>()).prop_map(|(d, c)| Step::Note(d, c)),
            1 => (0..3usize, any::<usize>(), proptest::sample::select(Status::ALL)).prop_map(|(d, c, s)| Step::Transition(d, c, s)),
            1 => (0..3usize, any::<usize>()).prop_map(|(d, c)| Step::Splice(d, c)),
            2 => (0..3usize).prop_map(Step::Sync),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn devices_converge_under_any_interleaving(steps in proptest::collection::vec(step(), 1..30)) {
            let mut server = server();
            let mut devices = [device("a", "east"), device("b", "east"), device("c", "east")];
            let by = staff("s");
            for (n, step) in steps.iter().enumerate() {
                let at = Timestamp(n as i64 * 1_000);
                let known = |d: &Device| -> Vec<CaseId> {
                    d.store.list(&CaseFilter::default()).unwrap().into_iter().map(|s| s.id).collect()
                };
                match step {
                    Step::Create(d) => {
                        devices[*d].store.create_case(&new_case(CaseKind::Repair, "p"), &by, at).unwrap();
                    }
                    Step::Note(d, c) | Step::Splice(d, c) | Step::Transition(d, c, _) => {
                        let ids = known(&devices[*d]);
                        if ids.is_empty() {
                            continue;
                        }
                        let id = ids[c % ids.len()];
                        let edit = match step {
                            Step::Note(..) => CaseEdit::AddNote(format!("n{n}")),
                            Step::Splice(..) => CaseEdit::SpliceDescription { pos: 0, delete: 0, insert: format!("{n}") },
                            Step::Transition(_, _, to) => CaseEdit::Transition { to: *to, reason: String::new() },
                            _ => unreachable!("matched above"),
                        };
                        // Refused transitions are fine; they change nothing.
                        let _ = devices[*d].store.edit_case(id, &edit, &by, at);
                    }
                    Step::Sync(d) => sync(&mut server, &mut devices[*d]),
                }
            }
            for _ in 0..2 {
                for d in devices.iter_mut() {
                    sync(&mut server, d);
                }
            }
            let reference = snapshot(&mut devices[0]);
            for d in devices.iter_mut() {
                prop_assert_eq!(&snapshot(d), &reference);
            }
            for case in &reference {
                prop_assert!(case.number.assigned.is_some());
            }
        }
    }
}

/// A roster the server publishes reaches its team's devices by ordinary rounds; whatever a device
/// writes into one is refused `doc.forged_field` and stored nowhere.
#[test]
fn a_published_roster_reaches_only_its_team_and_only_the_server_writes_it() {
    use automerge::transaction::Transactable;
    use kefu_core::roster::{Roster, RosterDoc, RosterShift};

    let mut server = server();
    let (mut east, mut west) = (device("east-1", "east"), device("west-1", "west"));
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let shift = RosterShift {
        staff: staff("wang"),
        date: day,
        shift: "day".into(),
        post: "desk".into(),
        start: day.and_hms_opt(8, 0, 0).unwrap(),
        end: day.and_hms_opt(17, 30, 0).unwrap(),
        lunch: None,
    };
    let roster = Roster::new(day, day, 1, "li", Timestamp(5), 480, vec![shift]).unwrap();
    let written = RosterDoc::publish(None, DeviceId::from_u128(0x5e).install([1; 8]).actor(), &roster).unwrap();
    let doc = written.automerge();
    let accepted = kefu_core::sync::server::AcceptedDoc {
        id: roster.id.clone(),
        bytes: doc.save(),
        heads: doc.get_heads(),
        is_new: true,
        case: None,
    };
    server.state.store_server_doc("east", &accepted).unwrap();
    sync(&mut server, &mut east);
    sync(&mut server, &mut west);
    assert_eq!(east.store.rosters().unwrap(), std::slice::from_ref(&roster));
    assert!(west.store.roster_ids().unwrap().is_empty(), "another team's roster");
    assert_eq!(east.store.pending_docs().unwrap(), 0, "a received roster leaves nothing to send");

    // The device's own change to the roster, pushed as a tampered client would.
    let mut forged = doc.fork().with_actor(east.token_device.install([2; 8]).actor());
    forged.transact(|tx| tx.put(automerge::ROOT, "version", 9_u64)).unwrap();
    let stored_before = server.state.docs("east");
    for (id, changes) in
        [(roster.id.as_str(), forged.save_after(&doc.get_heads())), ("roster:2027-01-04", forged.save())]
    {
        let push = kefu_core::sync::Push {
            docs: vec![kefu_core::sync::DocPush { id: id.to_string(), heads: forged.get_heads(), changes }],
            ..kefu_core::sync::Push::default()
        };
        let reply = server.state.round("east", "east-1", &push, &ctx(&east)).unwrap();
        assert!(reply.acks.is_empty(), "{reply:?}");
        assert_eq!(reply.refusals[0].refusal.code, RefusalCode::ForgedField, "{reply:?}");
        assert!(reply.refusals[0].refusal.message.contains("written by the server only"), "{reply:?}");
    }
    assert_eq!(server.state.docs("east"), stored_before, "nothing of it is stored");
}

/// Requests and attendance records reach only those they concern and supervisors, and each key
/// has one writer: a requester cannot decide, a colleague cannot change the days, a bystander
/// cannot answer, nobody writes another's check-ins or a correction; the server's decision and
/// the colleague's answer reach the requester.
#[test]
fn requests_and_attendance_reach_whom_they_concern_and_each_key_has_one_writer() {
    use automerge::ReadDoc;
    use kefu_core::attendance::{AttendanceDoc, AttendanceEdit, CheckKind};
    use kefu_core::request::{RequestDoc, RequestEdit, RequestKind, RequestStatus};
    use kefu_core::roster::{Roster, RosterDoc, RosterShift};
    use kefu_core::sync::server::AcceptedDoc;

    let mut server = server();
    let (mut wang, mut zhou, mut li) = (phone("wang"), phone("zhou"), phone("li"));
    let mut boss = Device { supervises: true, ..phone("boss") };
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 4).unwrap();
    let shift = RosterShift {
        staff: staff("wang"),
        date: day,
        shift: "day".into(),
        post: "desk".into(),
        start: day.and_hms_opt(8, 0, 0).unwrap(),
        end: day.and_hms_opt(17, 0, 0).unwrap(),
        lunch: None,
    };
    let roster = Roster::new(day, day, 1, "boss", Timestamp(1), 480, vec![shift]).unwrap();
    let published = RosterDoc::publish(None, DeviceId::from_u128(0x5e).install([1; 8]).actor(), &roster).unwrap();
    let stored = |id: &str, doc: &automerge::Automerge| AcceptedDoc {
        id: id.to_string(),
        bytes: doc.save(),
        heads: doc.get_heads(),
        is_new: false,
        case: None,
    };
    server.state.store_server_doc("east", &stored(&roster.id, published.automerge())).unwrap();
    sync(&mut server, &mut wang);

    let by = staff("wang");
    let swap = wang.store.request_swap(day, "day", &staff("zhou"), "家里有事", &by, Timestamp(10)).unwrap();
    let leave =
        wang.store.request_days(RequestKind::Leave, &[day.succ_opt().unwrap()], "", &by, Timestamp(11)).unwrap();
    wang.store.check_in(&by, CheckKind::In, Timestamp(1_772_582_400_000)).unwrap();
    sync(&mut server, &mut wang);
    for device in [&mut zhou, &mut li, &mut boss] {
        sync(&mut server, device);
    }
    let ids = |device: &mut Device| -> Vec<String> {
        let mut ids: Vec<String> = device.store.requests().unwrap().into_iter().map(|request| request.id).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&mut zhou), std::slice::from_ref(&swap.id), "the colleague sees the swap, not the leave");
    assert!(ids(&mut li).is_empty(), "a bystander sees no request");
    let mut both = vec![swap.id.clone(), leave.id.clone()];
    both.sort();
    assert_eq!(ids(&mut boss), both, "a supervisor's device sees every request");
    let attendance = kefu_core::attendance::attendance_id(&by, 2026, 3);
    assert!(!li.store.doc_ids().unwrap().contains(&attendance) && !zhou.store.doc_ids().unwrap().contains(&attendance));
    assert!(boss.store.doc_ids().unwrap().contains(&attendance));

    // Forged pushes: each refused, nothing stored.
    let before = server.state.docs("east");
    let held = |server: &Server, id: &str| server.state.docs("east")[id].clone();
    let forge = |device: &Device, id: &str, bytes: &[u8], edit: &dyn Fn(&mut automerge::Automerge)| {
        let base = automerge::Automerge::load(bytes).unwrap();
        let mut forged = base.fork().with_actor(device.token_device.install([3; 8]).actor());
        edit(&mut forged);
        kefu_core::sync::Push {
            docs: vec![kefu_core::sync::DocPush {
                id: id.to_string(),
                heads: forged.get_heads(),
                changes: forged.save_after(&base.get_heads()),
            }],
            ..kefu_core::sync::Push::default()
        }
    };
    let request_edit = |by: &'static str, edit: RequestEdit| {
        move |doc: &mut automerge::Automerge| {
            let mut request = RequestDoc::from_automerge(doc.clone()).unwrap();
            request.apply(Timestamp(20), &staff(by), &edit).unwrap();
            *doc = request.automerge().clone();
        }
    };
    let approve = RequestEdit::Decide { approve: true, by: "wang".into(), note: "self-approved".into() };
    let cases: Vec<(&Device, kefu_core::sync::Push, RefusalCode, &str)> = vec![
        (
            &wang,
            forge(&wang, &leave.id, &held(&server, &leave.id), &request_edit("wang", approve)),
            RefusalCode::ForgedField,
            "when a supervisor decides",
        ),
        (
            &zhou,
            forge(&zhou, &swap.id, &held(&server, &swap.id), &|doc: &mut automerge::Automerge| {
                use automerge::transaction::Transactable;
                doc.transact(|tx| tx.put(automerge::ROOT, "note", "changed")).unwrap();
            }),
            RefusalCode::ForgedField,
            "note",
        ),
        (
            &li,
            forge(&li, &swap.id, &held(&server, &swap.id), &request_edit("zhou", RequestEdit::Answer { accept: true })),
            RefusalCode::Forbidden,
            "not this device's",
        ),
        (
            &wang,
            forge(&wang, &attendance, &held(&server, &attendance), &|doc: &mut automerge::Automerge| {
                let mut record = AttendanceDoc::from_automerge(doc.clone()).unwrap();
                let fix = AttendanceEdit::Fix {
                    shift: "x".into(),
                    status: kefu_core::attendance::ShiftStatus::Excused,
                    note: "mine".into(),
                    by: "wang".into(),
                };
                record.apply(Timestamp(30), &fix).unwrap();
                *doc = record.automerge().clone();
            }),
            RefusalCode::ForgedField,
            "fix:",
        ),
    ];
    for (device, push, code, words) in cases {
        let reply = server.state.round("east", &device.name, &push, &ctx(device)).unwrap();
        assert!(reply.acks.is_empty(), "{reply:?}");
        assert_eq!(reply.refusals[0].refusal.code, code, "{reply:?}");
        assert!(reply.refusals[0].refusal.message.contains(words), "{reply:?}");
    }
    let mut li_record = AttendanceDoc::create(li.token_device.actor(), &by, 2026, 4).unwrap();
    li_record.apply(Timestamp(40), &AttendanceEdit::Check(CheckKind::In)).unwrap();
    let id = li_record.id().to_string();
    let push = kefu_core::sync::Push {
        docs: vec![kefu_core::sync::DocPush {
            id: id.clone(),
            heads: li_record.automerge().get_heads(),
            changes: li_record.automerge().save(),
        }],
        ..kefu_core::sync::Push::default()
    };
    let reply = server.state.round("east", "li", &push, &ctx(&li)).unwrap();
    assert_eq!(reply.refusals[0].refusal.code, RefusalCode::ForgedAuthor, "li checks in for wang: {reply:?}");
    assert_eq!(server.state.docs("east"), before, "nothing forged is stored");

    // The colleague accepts on their phone, the server decides; the requester hears both.
    zhou.store.answer_swap(&swap.id, true, &staff("zhou"), Timestamp(50)).unwrap();
    sync(&mut server, &mut zhou);
    let mut decided =
        RequestDoc::load(&held(&server, &swap.id), DeviceId::from_u128(0x5e).install([4; 8]).actor()).unwrap();
    assert_eq!(decided.read().status(), RequestStatus::Pending);
    let decision = RequestEdit::Decide { approve: true, by: "boss".into(), note: "同意".into() };
    decided.apply(Timestamp(60), &staff("boss"), &decision).unwrap();
    server.state.store_server_doc("east", &stored(&swap.id, decided.automerge())).unwrap();
    sync(&mut server, &mut wang);
    let mine = wang.store.requests().unwrap().into_iter().find(|request| request.id == swap.id).unwrap();
    assert_eq!(mine.status(), RequestStatus::Approved);
    assert_eq!(mine.decision.unwrap().note, "同意");
    assert!(decided.automerge().get(automerge::ROOT, "answer").unwrap().is_some());
}
