//! The sync protocol end to end in one process: device stores on disk, frames
//! encoded and decoded, and an in-memory server running the same round logic the
//! real server runs (`kefu_core::sync::server::handle_push`).

use std::collections::BTreeMap;

use automerge::ChangeHash;
use kefu_core::case::{CaseEdit, CaseKind, Status};
use kefu_core::ids::{CaseId, DeviceId, Timestamp};
use kefu_core::store::{CaseFilter, CaseStore, StoreConfig, SyncOutcome};
use kefu_core::sync::server::{AcceptedDoc, RoundContext, StoredDoc, SyncStorage, handle_push};
use kefu_core::sync::{Message, RefusalCode, decode, encode};

use crate::support::{new_case, staff};

/// One team's documents with a change sequence, as the server's database holds them.
#[derive(Default)]
struct MemServer {
    docs: BTreeMap<String, (String, Vec<u8>, u64)>,
    seq: u64,
    numbers: u64,
    device_heads: BTreeMap<(String, String), Vec<ChangeHash>>,
    n_updates_sent: usize,
}

/// One device's round against the server, scoped to its team.
struct Round<'a> {
    server: &'a mut MemServer,
    team: String,
    device: String,
}

impl SyncStorage for Round<'_> {
    type Error = String;

    fn load(&mut self, id: &str) -> Result<Option<StoredDoc>, String> {
        Ok(self
            .server
            .docs
            .get(id)
            .map(|(team, bytes, _)| StoredDoc { bytes: bytes.clone(), same_team: *team == self.team }))
    }

    fn next_case_number(&mut self, _now: Timestamp) -> Result<String, String> {
        self.server.numbers += 1;
        Ok(format!("K2026-{:06}", self.server.numbers))
    }

    fn commit(&mut self, docs: &[AcceptedDoc], device_heads: &[(String, Vec<ChangeHash>)]) -> Result<(), String> {
        for doc in docs {
            self.server.seq += 1;
            self.server.docs.insert(doc.id.clone(), (self.team.clone(), doc.bytes.clone(), self.server.seq));
        }
        for (id, heads) in device_heads {
            self.server.device_heads.insert((self.device.clone(), id.clone()), heads.clone());
        }
        Ok(())
    }

    fn changed_since(&mut self, cursor: u64, limit: usize) -> Result<Vec<(String, u64)>, String> {
        let mut changed: Vec<(String, u64)> = self
            .server
            .docs
            .iter()
            .filter(|(_, (team, _, seq))| *team == self.team && *seq > cursor)
            .map(|(id, (_, _, seq))| (id.clone(), *seq))
            .collect();
        changed.sort_by_key(|(_, seq)| *seq);
        changed.truncate(limit);
        Ok(changed)
    }

    fn device_heads(&mut self, id: &str) -> Result<Option<Vec<ChangeHash>>, String> {
        Ok(self.server.device_heads.get(&(self.device.clone(), id.to_string())).cloned())
    }
}

struct Device {
    store: CaseStore,
    name: String,
    team: String,
    _dir: tempfile::TempDir,
}

fn device(name: &str, team: &str) -> Device {
    let dir = tempfile::tempdir().unwrap();
    Device {
        store: CaseStore::open(dir.path(), StoreConfig::default()).unwrap(),
        name: name.into(),
        team: team.into(),
        _dir: dir,
    }
}

const CTX: RoundContext =
    RoundContext { server_device: DeviceId::from_u128(0x5e), now: Timestamp(0), max_docs: 500, max_updates: 50 };

/// One round through encoded frames, as a transport would carry it. Returns the
/// outcome and the bytes each way.
fn round(server: &mut MemServer, device: &mut Device) -> (SyncOutcome, usize, usize) {
    let push = device.store.prepare_push(500).unwrap();
    let up = encode(&Message::Push(push.clone()));
    let Message::Push(received) = decode(&up, 16 << 20).unwrap() else { panic!("push decodes as push") };
    let mut storage = Round { server, team: device.team.clone(), device: device.name.clone() };
    let reply = handle_push(&received, &CTX, &mut storage).unwrap();
    storage.server.n_updates_sent += reply.updates.len();
    let down = encode(&Message::Reply(reply));
    let Message::Reply(reply) = decode(&down, 16 << 20).unwrap() else { panic!("reply decodes as reply") };
    let outcome = device.store.apply_reply(&push, &reply).unwrap();
    (outcome, up.len(), down.len())
}

/// Rounds until the server has nothing more.
fn sync(server: &mut MemServer, device: &mut Device) {
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
    let mut server = MemServer::default();
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
    let mut server = MemServer::default();
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
    assert!(up < 100 && down < 2_000, "phone round: {up} B up, {down} B down");
    assert_eq!(phone.store.case(ids[17]).unwrap(), office.store.case(ids[17]).unwrap());
}

#[test]
fn forged_numbers_other_teams_and_bad_changes_are_refused_and_nothing_is_stored() {
    let mut server = MemServer::default();
    let (mut east, mut west) = (device("east-desk", "east"), device("west-desk", "west"));
    let by = staff("desk");
    let case = east.store.create_case(&new_case(CaseKind::Repair, "lift"), &by, Timestamp(1)).unwrap();
    let pump = east.store.create_case(&new_case(CaseKind::Repair, "pump"), &by, Timestamp(1)).unwrap();
    sync(&mut server, &mut east);
    let stored_before = server.docs.clone();

    // A device may not set the server's number.
    east.store.edit_case(case.id, &CaseEdit::AssignNumber("K2026-999999".into()), &by, Timestamp(2)).unwrap();
    let (outcome, _, _) = round(&mut server, &mut east);
    assert_eq!(outcome.refused.len(), 1);
    assert_eq!(outcome.refused[0].1.code, RefusalCode::ForgedField);
    assert_eq!(outcome.refused[0].1.to_string(), "number.assigned is set by the server only (doc.forged_field)");
    assert_eq!(server.docs, stored_before);
    assert_eq!(east.store.refusal(&case.id.to_string()).unwrap().map(|r| r.code), Some(RefusalCode::ForgedField));
    assert_eq!(east.store.prepare_push(500).unwrap().docs.len(), 0, "a refused document is not resent unchanged");

    // Another team's device cannot write to this case, even with the whole document.
    let bytes = east.store.export(&case.id.to_string(), &[]).unwrap();
    west.store.receive(&case.id.to_string(), &bytes).unwrap();
    west.store.edit_case(case.id, &CaseEdit::AddNote("sneaky".into()), &by, Timestamp(3)).unwrap();
    let (outcome, _, _) = round(&mut server, &mut west);
    assert_eq!(outcome.refused[0].1.code, RefusalCode::Forbidden);
    assert_eq!(server.docs, stored_before);

    // The server lost the document (restored from an older backup): the device's
    // incremental changes are refused as missing base, and the next round sends the
    // whole document, which is accepted.
    server.docs.clear();
    east.store.edit_case(pump.id, &CaseEdit::AddNote("after the restore".into()), &by, Timestamp(4)).unwrap();
    let (outcome, _, _) = round(&mut server, &mut east);
    assert_eq!(outcome.refused.iter().map(|(_, r)| r.code).collect::<Vec<_>>(), vec![RefusalCode::MissingBase]);
    assert!(server.docs.is_empty());
    let (outcome, _, _) = round(&mut server, &mut east);
    assert!(outcome.refused.is_empty(), "{:?}", outcome.refused);
    assert_eq!(outcome.acked_docs, 1);
    // Resent whole, it keeps the number the server gave it before the restore.
    let stored = kefu_core::case::CaseDoc::load(&server.docs[&pump.id.to_string()].1, DeviceId::from_u128(9)).unwrap();
    assert_eq!(stored.read().number.assigned, east.store.case(pump.id).unwrap().number.assigned);
    assert!(stored.read().number.assigned.is_some());
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
        #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

        #[test]
        fn devices_converge_under_any_interleaving(steps in proptest::collection::vec(step(), 1..30)) {
            let mut server = MemServer::default();
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
