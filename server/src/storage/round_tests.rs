//! The SQLite write path under concurrency, with real device stores: rounds that carry nothing
//! run beside a busy writer, and write rounds that arrive together share one commit, each
//! acknowledged and durable. [`Phone`] serves PostgreSQL's tests too (`postgres/tests.rs`).

use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::Duration;

use kefu_core::case::{CaseKind, Channel, Customer, NewCase, Priority};
use kefu_core::ids::{DeviceId, StaffId, Timestamp};
use kefu_core::store::{CaseStore, StoreConfig};
use kefu_core::sync::server::RoundContext;
use kefu_core::sync::session::SessionHeads;

use super::{SqliteStorage, Storage};

/// Generous: only a deadlock reaches it.
const DEADLOCK: Duration = Duration::from_secs(60);

/// A device store that syncs straight against a `Storage`, without HTTP.
pub(super) struct Phone {
    pub(super) device: DeviceId,
    store: CaseStore,
    _dir: tempfile::TempDir,
}

impl Phone {
    pub(super) fn new() -> Phone {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = CaseStore::open(dir.path(), StoreConfig::default()).expect("store");
        let device = DeviceId::random();
        store.bind_device(device).expect("bind");
        Phone { device, store, _dir: dir }
    }

    pub(super) fn open_case(&mut self, subject: &str) -> String {
        let new = NewCase {
            kind: CaseKind::Repair,
            channel: Channel::Phone,
            customer: Customer { name: "王芳".into(), phone: "13800000000".into(), address: "3-2-1101".into() },
            subject: subject.into(),
            description: "卫生间漏水，楼下住户天花板有水渍，需要尽快上门查看".into(),
            priority: Priority::Normal,
            service: None,
        };
        let staff = StaffId::new("desk.li").expect("staff");
        self.store.create_case(&new, &staff, Timestamp::now()).expect("case").id.to_string()
    }

    /// Every case on this phone with its server number.
    pub(super) fn numbers(&mut self) -> Vec<(String, Option<String>)> {
        let cases = self.store.all_cases().expect("cases");
        cases.into_iter().map(|case| (case.id.to_string(), case.number.assigned)).collect()
    }

    /// One round against `storage`; returns the documents that arrived and those acknowledged.
    pub(super) fn round(&mut self, storage: &dyn Storage, team_id: i64) -> (Vec<String>, usize) {
        let push = self.store.prepare_push(100).expect("push");
        let ctx = context(storage, self.device);
        let outcome =
            storage.sync_round(team_id, self.device, &push, &ctx, &mut SessionHeads::default()).expect("round");
        let applied = self.store.apply_reply(&push, &outcome.reply).expect("apply");
        (applied.received, applied.acked_docs)
    }
}

fn context(storage: &dyn Storage, device: DeviceId) -> RoundContext {
    RoundContext {
        server_device: storage.server_device(),
        server_nonce: rand::random(),
        seal_key: storage.seal_key(),
        device,
        staff: None,
        supervises: false,
        now: Timestamp::now(),
        utc_offset_minutes: 480,
        max_docs: 100,
        max_updates: 100,
        fan_out: false,
    }
}

fn storage() -> (Arc<SqliteStorage>, i64, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = SqliteStorage::open(&dir.path().join("kefu.sqlite3")).expect("database");
    let team = storage.create_team("north-desk", Timestamp::now()).expect("team");
    (Arc::new(storage), team.id, dir)
}

#[test]
fn a_fetch_round_runs_while_the_writer_is_busy() {
    let (storage, team, _dir) = storage();
    let mut writer_phone = Phone::new();
    let case = writer_phone.open_case("B2 地下室进水");
    assert_eq!(writer_phone.round(storage.as_ref(), team).1, 1, "the case is acknowledged");
    let mut reader_phone = Phone::new();
    // The first round of a store is a write: the server records the store.
    let (first, _) = reader_phone.round(storage.as_ref(), team);
    assert_eq!(first, vec![case.clone()]);
    // The next push confirms what arrived (`have`), which the server records: a write too.
    assert_eq!(reader_phone.round(storage.as_ref(), team).0, Vec::<String>::new());
    let second_case = writer_phone.open_case("电梯停运");
    writer_phone.round(storage.as_ref(), team);

    let held = storage.writer();
    let (done_tx, done_rx) = channel();
    let fetching = Arc::clone(&storage);
    let fetch = std::thread::spawn(move || {
        let received = reader_phone.round(fetching.as_ref(), team).0;
        done_tx.send(()).expect("test alive");
        received
    });
    done_rx.recv_timeout(DEADLOCK).expect("the fetch finished while the writer was held");
    drop(held);
    assert_eq!(fetch.join().expect("fetch thread"), vec![second_case]);
}

#[test]
fn write_rounds_that_arrive_together_share_one_commit_and_all_persist() {
    let (storage, team, dir) = storage();
    let mut phones: Vec<Phone> = (0..6).map(|_| Phone::new()).collect();
    for phone in &mut phones {
        phone.round(storage.as_ref(), team);
    }
    let held = storage.writer();
    let batches_before = storage.queue.batches();
    let rounds: Vec<_> = phones
        .into_iter()
        .enumerate()
        .map(|(n, mut phone)| {
            let storage = Arc::clone(&storage);
            std::thread::spawn(move || {
                let case = phone.open_case(&format!("第{n}号报修"));
                let (_, acked) = phone.round(storage.as_ref(), team);
                (case, acked)
            })
        })
        .collect();
    // Every round queued behind the held writer (a state, polled; not a timing).
    let deadline = std::time::Instant::now() + DEADLOCK;
    while storage.queue.len() < rounds.len() {
        assert!(std::time::Instant::now() < deadline, "the rounds never queued");
        std::thread::yield_now();
    }
    drop(held);
    let written: Vec<(String, usize)> = rounds.into_iter().map(|round| round.join().expect("round")).collect();
    assert!(written.iter().all(|(_, acked)| *acked == 1), "every round acknowledged: {written:?}");
    assert_eq!(storage.queue.batches() - batches_before, 1, "six rounds, one transaction");
    drop(storage);
    let reopened = SqliteStorage::open(&dir.path().join("kefu.sqlite3")).expect("reopen");
    for (case, _) in &written {
        assert!(reopened.load_doc(team, case).expect("read").is_some(), "{case} is durable");
    }
}
