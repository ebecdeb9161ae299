//! Devices syncing through a real server: offline edits on three phones, reconnection in every
//! order with server restarts in between, server numbers replacing provisional ones, live pushes
//! over WebSocket, and the metrics those rounds leave.

use kefu_core::case::{CaseEdit, is_server_number};
use kefu_core::ids::Timestamp;
use kefu_core::sync::Push;

use crate::support::{Device, Live, Server, staff, team_with_tokens};

/// Every permutation of three devices.
const ORDERS: [[usize; 3]; 6] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

#[test]
fn three_devices_converge_in_every_order_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let tokens = team_with_tokens(&db, "north", &["staff", "staff", "supervisor"]);
    let mut devices: Vec<Device> = tokens.iter().map(|token| Device::new(token)).collect();
    let mut server = Server::start(&db, &[]);
    // A shared case everyone edits while offline.
    let shared = devices[0].open_case("shared flood case");
    for device in &mut devices {
        device.sync(&server).unwrap();
    }
    let mut n_cases = 1;
    for (round_idx, order) in ORDERS.iter().enumerate() {
        // Offline: each device opens a case and adds a note to the shared one.
        for (idx, device) in devices.iter_mut().enumerate() {
            device.open_case(&format!("round {round_idx} device {idx}"));
            let note = CaseEdit::AddNote(format!("round {round_idx} note from device {idx}"));
            device.store.edit_case(shared, &note, &staff(), Timestamp::now()).unwrap();
            n_cases += 1;
        }
        for &idx in order {
            let stats = devices[idx].sync(&server).unwrap();
            assert!(stats.refused.is_empty(), "{:?}", stats.refused);
        }
        // Restart between rounds, alternating a clean stop and a SIGKILL.
        if round_idx % 2 == 0 {
            assert!(server.terminate().success());
        } else {
            server.kill();
        }
        server = Server::start(&db, &[]);
        for &idx in order.iter().rev() {
            devices[idx].sync(&server).unwrap();
        }
        let first = devices[0].snapshot();
        assert_eq!(first.len(), n_cases);
        for device in &mut devices[1..] {
            assert_eq!(device.snapshot(), first, "order {order:?}");
        }
    }
    let snapshot = devices[2].snapshot();
    assert!(snapshot.iter().all(|(_, _, assigned, _)| assigned.as_deref().is_some_and(is_server_number)));
    let mut numbers: Vec<_> = snapshot.iter().map(|(_, _, assigned, _)| assigned.clone()).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), n_cases, "server numbers are unique");
    let shared_case = devices[1].store.case(shared).unwrap();
    assert_eq!(shared_case.timeline.len(), 3 * ORDERS.len(), "every offline note survived");
    assert_eq!(devices.iter().map(|device| device.store.pending_docs().unwrap()).sum::<usize>(), 0);
}

#[test]
fn a_live_session_receives_other_devices_changes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let tokens = team_with_tokens(&db, "north", &["staff", "staff"]);
    let other_team = team_with_tokens(&db, "south", &["staff"]).remove(0);
    let server = Server::start(&db, &[]);
    let mut watcher = Device::new(&tokens[0]);
    let mut writer = Device::new(&tokens[1]);
    let mut outsider = Device::new(&other_team);

    let mut live = Live::connect(&server, &watcher.token).unwrap();
    let push = watcher.store.prepare_push(100).unwrap();
    live.send(&push);
    let reply = live.recv_reply();
    watcher.store.apply_reply(&push, &reply).unwrap();

    // Another team's change must not reach this session; the writer's change must.
    outsider.open_case("south only");
    outsider.sync(&server).unwrap();
    let case = writer.open_case("pushed live");
    writer.sync(&server).unwrap();
    let pushed = live.recv_reply();
    assert!(pushed.acks.is_empty() && pushed.refusals.is_empty());
    let ids: Vec<&str> = pushed.updates.iter().map(|update| update.id.as_str()).collect();
    assert_eq!(ids, [case.to_string().as_str()]);
    let empty = Push { cursor: watcher.store.server_cursor().unwrap(), ..Push::default() };
    watcher.store.apply_reply(&empty, &pushed).unwrap();
    assert_eq!(watcher.snapshot(), writer.snapshot());
    assert!(watcher.snapshot()[0].2.as_deref().is_some_and(is_server_number));

    // The watcher edits over the socket; the writer gets it by plain HTTP.
    watcher
        .store
        .edit_case(case, &CaseEdit::AddNote("seen on the live link".into()), &staff(), Timestamp::now())
        .unwrap();
    let push = watcher.store.prepare_push(100).unwrap();
    live.send(&push);
    let reply = live.recv_reply();
    assert_eq!(reply.acks.len(), 1);
    watcher.store.apply_reply(&push, &reply).unwrap();
    writer.sync(&server).unwrap();
    assert_eq!(writer.store.case(case).unwrap().timeline.len(), 1);

    let metrics = ureq::get(&format!("{}/metrics", server.url())).call().unwrap().into_string().unwrap();
    for expected in [
        "kefu_ws_connections 1",
        "kefu_sync_rounds_total{outcome=\"ok\",transport=\"ws\"} 2",
        "kefu_sync_rounds_total{outcome=\"ok\",transport=\"fanout\"} 1",
        "kefu_sync_round_seconds_count{transport=\"http\"}",
        "kefu_sync_bytes_total{direction=\"in\"}",
    ] {
        assert!(metrics.contains(expected), "{expected} missing:\n{metrics}");
    }
}

#[test]
fn an_incremental_round_costs_what_changed_not_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let tokens = team_with_tokens(&db, "north", &["staff", "staff"]);
    let server = Server::start(&db, &["--rate-limit-per-sec", "10000", "--rate-limit-burst", "10000"]);
    let mut writer = Device::new(&tokens[0]);
    let mut reader = Device::new(&tokens[1]);
    let mut costs = Vec::new();
    let mut n_cases = 0;
    for target in [10, 500] {
        while n_cases < target {
            writer.open_case(&format!("case {n_cases}"));
            n_cases += 1;
        }
        writer.sync(&server).unwrap();
        reader.sync(&server).unwrap();
        assert_eq!(reader.snapshot().len(), target);
        // Each confirms what its last round delivered (a one-off report per document received).
        writer.sync(&server).unwrap();
        reader.sync(&server).unwrap();
        // One note on one case: the writer's round and the reader's round.
        let case = writer.snapshot()[target / 2].0.parse().unwrap();
        let note = CaseEdit::AddNote(format!("one change among {target}"));
        writer.store.edit_case(case, &note, &staff(), Timestamp::now()).unwrap();
        let up = writer.sync(&server).unwrap();
        let down = reader.sync(&server).unwrap();
        assert_eq!(reader.snapshot(), writer.snapshot());
        costs.push((up.rounds, up.bytes_up + up.bytes_down, down.rounds, down.bytes_up + down.bytes_down));
    }
    for (target, (up_rounds, up_bytes, down_rounds, down_bytes)) in [10, 500].iter().zip(&costs) {
        assert!(*up_rounds <= 2 && *down_rounds <= 2, "{target} cases: {costs:?}");
        assert!(*up_bytes <= 10_000 && *down_bytes <= 10_000, "{target} cases: {costs:?}");
    }
    // Fifty times the cases, the same cost within a few bytes (cursor and counter widths).
    let (small, large) = (costs[0], costs[1]);
    assert!(large.1.abs_diff(small.1) < 64 && large.3.abs_diff(small.3) < 64, "{costs:?}");
}
