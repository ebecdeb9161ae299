//! SIGKILL during sync rounds, repeatedly: every edit the server acknowledged is there after the
//! restart, and the device's unacknowledged edits go through on its next sync (DESIGN.md
//! decision 6).

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;

use kefu_core::case::CaseEdit;
use kefu_core::ids::{CaseId, Timestamp};
use kefu_core::sync::{Message, decode, encode};

use crate::support::{Device, Server, get_json, staff, team_with_tokens};

/// One round over HTTP that may fail because the server died: `None` then.
fn try_round(device: &mut Device, url: &str) -> Option<Vec<String>> {
    let push = device.store.prepare_push(50).unwrap();
    let body = encode(&Message::Push(push.clone()));
    let response = ureq::post(&format!("{url}/v1/sync"))
        .set("Authorization", &format!("Bearer {}", device.token))
        .timeout(Duration::from_secs(10))
        .send_bytes(&body)
        .ok()?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes).ok()?;
    let Ok(Message::Reply(reply)) = decode(&bytes, usize::MAX) else { return None };
    device.store.apply_reply(&push, &reply).unwrap();
    Some(reply.acks.into_iter().map(|ack| ack.id).collect())
}

#[test]
fn acknowledged_edits_survive_sigkill_mid_round() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let tokens = team_with_tokens(&db, "north", &["staff", "supervisor"]);
    let mut device = Device::new(&tokens[0]);
    // Per case, the timeline length the server acknowledged.
    let mut acknowledged: BTreeMap<CaseId, usize> = BTreeMap::new();
    for kill_after in [1usize, 3, 2, 5, 1, 4, 2, 6, 3, 1] {
        let server = Server::start(&db, &["--rate-limit-per-sec", "10000", "--rate-limit-burst", "10000"]);
        let url = server.url();
        let (done_tx, done_rx) = mpsc::channel();
        let worker = std::thread::spawn(move || {
            let mut acked = Vec::new();
            let case = device.open_case("crash test");
            for round in 0.. {
                let note = CaseEdit::AddNote(format!("note {round}"));
                device.store.edit_case(case, &note, &staff(), Timestamp::now()).unwrap();
                let timeline_len = device.store.case(case).unwrap().timeline.len();
                match try_round(&mut device, &url) {
                    Some(ids) if ids.contains(&case.to_string()) => acked.push((case, timeline_len)),
                    Some(_) => {}
                    None => break,
                }
                let _ = done_tx.send(round + 1);
            }
            (device, acked)
        });
        // Kill right after the device finished `kill_after` rounds, while the next is in flight.
        while done_rx.recv_timeout(Duration::from_secs(30)).expect("rounds progress") < kill_after {}
        server.kill();
        let (returned, acked) = worker.join().unwrap();
        device = returned;
        for (case, timeline_len) in acked {
            let entry = acknowledged.entry(case).or_default();
            *entry = (*entry).max(timeline_len);
        }
    }
    let server = Server::start(&db, &[]);
    for (case, timeline_len) in &acknowledged {
        let (status, history) = get_json(&server, &format!("/v1/cases/{case}"), Some(&tokens[1]));
        assert_eq!(status, 200, "acknowledged case {case} is missing");
        let stored = history["timeline"].as_array().unwrap().len();
        assert!(stored >= *timeline_len, "case {case}: {stored} entries stored, {timeline_len} acknowledged");
    }
    // What was not acknowledged goes with the next sync.
    device.sync(&server).unwrap();
    assert_eq!(device.store.pending_docs().unwrap(), 0);
    for case in device.store.all_cases().unwrap() {
        let (_, history) = get_json(&server, &format!("/v1/cases/{}", case.id), Some(&tokens[1]));
        assert_eq!(history["timeline"].as_array().unwrap().len(), case.timeline.len());
    }
    assert_eq!(acknowledged.len(), 10, "every run acknowledged at least its first round");
}
