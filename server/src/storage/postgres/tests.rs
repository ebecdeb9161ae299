//! PostgreSQL storage against a real server: two storages on one database stand for two processes.
//! They run when the test command started a throwaway PostgreSQL (`KEFU_TEST_POSTGRES`, set by
//! `scripts/with-postgres.sh`); without one they return at once, and the SQLite suite stands.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::Duration;

use kefu_core::ids::Timestamp;

use super::PgStorage;
use crate::storage::round_tests::Phone;
use crate::storage::{Storage, StorageError};

/// Generous: only a deadlock reaches it.
const DEADLOCK: Duration = Duration::from_secs(60);

/// A fresh database on the test server, and its URL.
fn database() -> Option<String> {
    let admin = std::env::var("KEFU_TEST_POSTGRES").ok().filter(|url| !url.is_empty())?;
    let name = format!("kefu_unit_{:016x}", rand::random::<u64>());
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("the test PostgreSQL answers");
    client.batch_execute(&format!("CREATE DATABASE {name}")).expect("create database");
    let (base, _) = admin.rsplit_once('/').expect("a database URL");
    Some(format!("{base}/{name}"))
}

#[test]
fn processes_opening_one_database_migrate_once_and_share_the_server_identity() {
    let Some(url) = database() else { return };
    let opened: Vec<PgStorage> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3).map(|_| scope.spawn(|| PgStorage::open(&url))).collect();
        handles.into_iter().map(|handle| handle.join().expect("thread").expect("open")).collect()
    });
    assert!(opened.iter().all(|storage| storage.server_device() == opened[0].server_device()));
    assert!(opened.iter().all(|storage| storage.seal_key() == opened[0].seal_key()));
    opened[0].create_team("north", Timestamp(0)).expect("team");
    assert!(matches!(opened[1].create_team("north", Timestamp(0)), Err(StorageError::Conflict(_))));
    assert_eq!(opened[2].n_teams().expect("count"), 1);
}

#[test]
fn case_numbers_drawn_through_two_processes_at_once_are_unique_and_gap_free() {
    let Some(url) = database() else { return };
    let first = Arc::new(PgStorage::open(&url).expect("open"));
    let second = Arc::new(PgStorage::open(&url).expect("open"));
    let team = first.create_team("north", Timestamp::now()).expect("team").id;
    let rounds: Vec<_> = (0..6)
        .map(|n| {
            let storage: Arc<dyn Storage> = if n % 2 == 0 { first.clone() } else { second.clone() };
            std::thread::spawn(move || {
                let mut phone = Phone::new();
                for case in 0..4 {
                    phone.open_case(&format!("第{n}台手机的第{case}单"));
                    phone.round(storage.as_ref(), team);
                }
                // One more round brings back the numbers of the last case.
                phone.round(storage.as_ref(), team);
                phone.numbers()
            })
        })
        .collect();
    // Each phone ends up holding its team's cases: every copy must carry the same number.
    let mut numbered = BTreeMap::new();
    for (case, number) in rounds.into_iter().flat_map(|round| round.join().expect("phone")) {
        let number = number.unwrap_or_else(|| panic!("case {case} has no number"));
        let serial: u64 = number.rsplit_once('-').expect("K<year>-<serial>").1.parse().expect("serial");
        assert_eq!(*numbered.entry(case.clone()).or_insert(serial), serial, "case {case} has two numbers");
    }
    let mut serials: Vec<u64> = numbered.values().copied().collect();
    serials.sort_unstable();
    assert_eq!(serials, (1..=24).collect::<Vec<u64>>(), "24 cases, numbers 1 to 24, none twice, none skipped");
}

#[test]
fn a_fetch_runs_while_another_process_holds_the_teams_write_lock() {
    let Some(url) = database() else { return };
    let storage = Arc::new(PgStorage::open(&url).expect("open"));
    let team = storage.create_team("north", Timestamp::now()).expect("team").id;
    let mut writer = Phone::new();
    let case = writer.open_case("B2 地下室进水");
    writer.round(storage.as_ref(), team);
    let mut reader = Phone::new();
    assert_eq!(reader.round(storage.as_ref(), team).0, vec![case]);
    reader.round(storage.as_ref(), team);
    let second = writer.open_case("电梯停运");
    writer.round(storage.as_ref(), team);

    // Another process is in the middle of a write round of the team.
    let mut holder = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let mut held = holder.transaction().expect("transaction");
    held.execute("SELECT 1 FROM teams WHERE id = $1 FOR UPDATE", &[&team]).expect("lock");
    let (done_tx, done_rx) = channel();
    let fetching = Arc::clone(&storage);
    let fetch = std::thread::spawn(move || {
        let received = reader.round(fetching.as_ref(), team).0;
        done_tx.send(()).expect("test alive");
        received
    });
    done_rx.recv_timeout(DEADLOCK).expect("the fetch finished while the team's lock was held");
    held.rollback().expect("release");
    assert_eq!(fetch.join().expect("fetch"), vec![second]);
}

#[test]
fn an_unreachable_or_missing_database_is_named_in_the_error() {
    let Some(url) = database() else { return };
    let (base, _) = url.rsplit_once('/').expect("a database URL");
    let missing = PgStorage::open(&format!("{base}/kefu_no_such_database")).expect_err("no such database");
    let message = missing.to_string();
    assert!(message.contains("kefu_no_such_database") && message.contains("does not exist"), "{message}");
    assert!(!message.contains("password"), "{message}");

    // Port 1 on loopback: nothing listens there.
    let unreachable = PgStorage::open("postgres://kefu:secret@127.0.0.1:1/kefu").expect_err("unreachable");
    let message = unreachable.to_string();
    assert!(message.contains("cannot connect to PostgreSQL at postgres://kefu@127.0.0.1:1/kefu"), "{message}");
    assert!(!message.contains("secret"), "the password stays out of messages: {message}");
}

#[test]
fn failed_sign_ins_counted_by_one_process_lock_the_name_for_another() {
    let Some(url) = database() else { return };
    let (first, second) = (PgStorage::open(&url).expect("open"), PgStorage::open(&url).expect("open"));
    let now = Timestamp(1_800_000_000_000);
    let window = 15 * 60 * 1000;
    for _ in 0..3 {
        first.sign_in_failed("wang.li", now, window).expect("count");
        second.sign_in_failed("wang.li", now, window).expect("count");
    }
    assert_eq!(second.sign_in_failures("wang.li").expect("read"), Some((6, now)));
    let later = Timestamp(now.0 + window);
    first.sign_in_failed("wang.li", later, window).expect("a new window");
    assert_eq!(second.sign_in_failures("wang.li").expect("read"), Some((1, later)));
    second.sign_in_succeeded("wang.li").expect("forget");
    assert_eq!(first.sign_in_failures("wang.li").expect("read"), None);
}
