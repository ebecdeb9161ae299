//! Crash test: a child process writes to a store and prints an acknowledgement after
//! each write returns; the parent SIGKILLs it at varying points (after a different
//! number of acknowledgements each time, so the kill lands at different moments of
//! the write cycle), reopens the store and checks every acknowledged write is there.
//!
//! The child is this same test binary, re-run with `KEFU_CRASH_CHILD` set and a
//! filter selecting [`crash_child_writer`], which otherwise returns at once.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use kefu_core::case::{CaseEdit, CaseKind};
use kefu_core::ids::{CaseId, Timestamp};
use kefu_core::store::{CaseStore, StoreConfig};

use crate::support::{new_case, staff};

const ITERATIONS: usize = 25;

/// Child mode: create a case, then add notes to it forever, acknowledging each.
#[test]
fn crash_child_writer() {
    let Some(dir) = std::env::var_os("KEFU_CRASH_CHILD") else { return };
    let config = StoreConfig { compact_after: 5, ..StoreConfig::default() };
    let mut store = CaseStore::open(std::path::Path::new(&dir), config).expect("store opens after a crash");
    let desk = staff("desk");
    let case = store.create_case(&new_case(CaseKind::Repair, "crash"), &desk, Timestamp(0)).expect("create");
    println!("KEFU-CASE {}", case.id);
    for n in 1.. {
        store.edit_case(case.id, &CaseEdit::AddNote(format!("note {n}")), &desk, Timestamp(n)).expect("write");
        println!("KEFU-ACK {n}");
    }
}

#[test]
fn every_acknowledged_write_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged: Vec<(CaseId, usize)> = Vec::new();
    for iteration in 0..ITERATIONS {
        let kill_after = 1 + (iteration * 7) % 23;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash::crash_child_writer", "--nocapture", "--test-threads=1"])
            .env("KEFU_CRASH_CHILD", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut case = None;
        let mut acks = 0;
        while acks < kill_after {
            let line = lines.next().expect("child exited early").unwrap();
            // libtest's own "test ... " prefix may share the first line.
            if let Some((_, id)) = line.split_once("KEFU-CASE ") {
                case = Some(id.trim().parse::<CaseId>().unwrap());
            } else if let Some((_, n)) = line.split_once("KEFU-ACK ") {
                acks = n.trim().parse().unwrap();
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // Lines already in the pipe were acknowledged before the kill.
        for line in lines.map_while(Result::ok) {
            if let Some((_, n)) = line.split_once("KEFU-ACK ") {
                acks = n.trim().parse().unwrap();
            }
        }
        acknowledged.push((case.expect("child announced its case"), acks));
        let mut store = CaseStore::open(dir.path(), StoreConfig::default()).expect("store reopens cleanly");
        for (case, n_acked) in &acknowledged {
            let notes = store.case(*case).expect("acknowledged case present").timeline.len();
            assert!(notes >= *n_acked, "iteration {iteration}: case {case} has {notes} notes, {n_acked} acknowledged");
        }
        assert_eq!(store.n_cases().unwrap(), acknowledged.len());
    }
}
