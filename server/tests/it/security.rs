//! Refusals at the sync endpoints: absent, wrong and revoked tokens (including an open
//! WebSocket), another team's case, forged server fields, schema-breaking changes, malformed,
//! oversized and wrong-version frames, and every limit. Each is refused with its code, and the
//! server stores nothing of it and stays up.

use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc};
use kefu_core::case::{CaseDoc, CasePolicy, EditContext};
use kefu_core::ids::{CaseId, DeviceId, Timestamp};
use kefu_core::sync::{DocPush, Message, Push, RefusalCode, encode};

use crate::support::{Device, Live, Server, get_json, issue, post_frame, staff, team_with_tokens};

fn empty_push() -> Vec<u8> {
    encode(&Message::Push(Push::default()))
}

fn refusal_of(server: &Server, token: Option<&str>, body: &[u8]) -> (u16, RefusalCode, String) {
    match post_frame(server, token, body) {
        (status, Message::Refuse(refusal)) => (status, refusal.code, refusal.message),
        (status, other) => panic!("status {status}: expected a refusal, got {other:?}"),
    }
}

/// A valid new case document written under `token`'s device, as its phone would write
/// it, for tampering.
pub(crate) fn case_doc(token: &str) -> CaseDoc {
    let device = DeviceId::of_token(token).expect("a kefu token").install([1; 8]);
    let policy = CasePolicy::default();
    let by = staff();
    let ctx = EditContext { at: Timestamp::now(), by: &by, policy: &policy };
    let new = kefu_core::case::NewCase {
        kind: kefu_core::case::CaseKind::Help,
        channel: kefu_core::case::Channel::Phone,
        customer: kefu_core::case::Customer::default(),
        subject: "tampered".into(),
        description: String::new(),
        priority: kefu_core::case::Priority::Normal,
        service: None,
    };
    CaseDoc::create(device, CaseId::random(), &new, "PTEST-0001", &ctx).unwrap()
}

fn push_of(id: &str, doc: &automerge::Automerge) -> Vec<u8> {
    encode(&Message::Push(Push {
        docs: vec![DocPush { id: id.to_string(), heads: doc.get_heads(), changes: doc.save() }],
        ..Push::default()
    }))
}

fn n_cases(server: &Server, supervisor: &str) -> usize {
    get_json(server, "/v1/cases", Some(supervisor)).1.as_array().unwrap().len()
}

#[test]
fn tokens_are_checked_on_every_round() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let tokens = team_with_tokens(&db, "north", &["staff"]);
    let server = Server::start(&db, &[]);
    let cases = [
        (None, 401, RefusalCode::Unauthorized, "no device token: send Authorization: Bearer <token>"),
        (Some("kefu_garbage"), 401, RefusalCode::Unauthorized, "the device token is not valid"),
    ];
    for (token, status, code, message) in cases {
        assert_eq!(refusal_of(&server, token, &empty_push()), (status, code, message.to_string()));
    }
    let mut forged = tokens[0].clone();
    forged.replace_range(forged.len() - 4.., "0000");
    assert_eq!(refusal_of(&server, Some(&forged), &empty_push()).1, RefusalCode::Unauthorized);

    // Revocation cuts an open WebSocket at once and refuses the next HTTP round.
    let mut live = Live::connect(&server, &tokens[0]).unwrap();
    live.send(&Push::default());
    live.recv_reply();
    let listing = crate::support::admin_ok(&db, &["device", "list", "--team", "north"]);
    let device_id = crate::support::listed_device_ids(&listing).pop().unwrap();
    crate::support::admin_ok(&db, &["device", "revoke", &device_id]);
    match live.recv() {
        Ok(Message::Refuse(refusal)) => assert_eq!(refusal.code, RefusalCode::Revoked),
        other => panic!("expected a revocation frame, got {other:?}"),
    }
    assert_eq!(live.recv().unwrap_err(), "auth.revoked");
    assert_eq!(refusal_of(&server, Some(&tokens[0]), &empty_push()).1, RefusalCode::Revoked);
    let rejected = Live::connect(&server, &tokens[0]).err().expect("a revoked token cannot connect");
    assert_eq!((rejected.status, rejected.refusal.map(|r| r.code)), (401, Some(RefusalCode::Revoked)));
}

#[test]
fn bad_documents_are_refused_whole_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let north = team_with_tokens(&db, "north", &["staff", "supervisor"]);
    let south = team_with_tokens(&db, "south", &["staff", "supervisor"]);
    let server = Server::start(&db, &[]);

    // A legitimate north case.
    let mut north_phone = Device::new(&north[0]);
    let case = north_phone.open_case("north's case");
    north_phone.sync(&server).unwrap();
    let stored = north_phone.store.export(&case.to_string(), &[]).unwrap();

    // South pushes north's case: another team's document.
    let doc = CaseDoc::load(&stored, DeviceId::random()).unwrap();
    let (status, reply) = post_frame(&server, Some(&south[0]), &push_of(&case.to_string(), doc.automerge()));
    let Message::Reply(reply) = reply else { panic!("expected a reply") };
    assert_eq!(status, 200);
    assert_eq!(reply.refusals.len(), 1);
    assert_eq!(reply.refusals[0].refusal.code, RefusalCode::Forbidden);
    assert!(reply.acks.is_empty() && reply.updates.is_empty(), "nothing of north's leaks to south");
    assert_eq!(n_cases(&server, &south[1]), 0);

    // A device sets the server-assigned number itself.
    let forged = case_doc(&north[0]);
    let mut raw = forged.automerge().clone();
    raw.transact(|tx| {
        let (_, number) = tx.get(ROOT, "number")?.expect("number map");
        tx.put(&number, "assigned", "K2026-999999")
    })
    .unwrap();
    let Message::Reply(reply) = post_frame(&server, Some(&north[0]), &push_of(&forged.id().to_string(), &raw)).1 else {
        panic!("expected a reply")
    };
    assert_eq!(reply.refusals[0].refusal.code, RefusalCode::ForgedField, "{reply:?}");

    // A schema-breaking change: a kind that does not exist.
    let broken = case_doc(&north[0]);
    let mut raw = broken.automerge().clone();
    raw.transact(|tx| tx.put(ROOT, "kind", "banana")).unwrap();
    let Message::Reply(reply) = post_frame(&server, Some(&north[0]), &push_of(&broken.id().to_string(), &raw)).1 else {
        panic!("expected a reply")
    };
    assert_eq!(reply.refusals[0].refusal.code, RefusalCode::Schema, "{reply:?}");
    assert!(reply.refusals[0].refusal.message.contains("kind"), "{}", reply.refusals[0].refusal.message);

    // Bytes that are not automerge at all.
    let garbage = encode(&Message::Push(Push {
        docs: vec![DocPush { id: CaseId::random().to_string(), heads: vec![], changes: b"not automerge".to_vec() }],
        ..Push::default()
    }));
    let Message::Reply(reply) = post_frame(&server, Some(&north[0]), &garbage).1 else { panic!("expected a reply") };
    assert_eq!(reply.refusals[0].refusal.code, RefusalCode::Malformed);

    assert_eq!(n_cases(&server, &north[1]), 1, "only the legitimate case was stored");
    let (_, history) = get_json(&server, &format!("/v1/cases/{case}"), Some(&north[1]));
    assert_eq!(history["subject"], "north's case");
}

#[test]
fn frames_and_limits_each_get_their_own_code() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let tokens = team_with_tokens(&db, "north", &["staff", "staff"]);
    let limits = [
        "--max-message-bytes",
        "4096",
        "--max-docs-per-round",
        "2",
        "--max-connections-per-device",
        "1",
        "--rate-limit-per-sec",
        "0.001",
        "--rate-limit-burst",
        "12",
        "--idle-timeout-secs",
        "1",
    ];
    let server = Server::start(&db, &limits);
    let token = Some(tokens[0].as_str());

    assert_eq!(refusal_of(&server, token, b"GET / HTTP/1.1").1, RefusalCode::Malformed);
    let mut old = empty_push();
    old[4..6].copy_from_slice(&0u16.to_be_bytes());
    let (status, code, message) = refusal_of(&server, token, &old);
    assert_eq!((status, code), (426, RefusalCode::ProtocolVersion));
    assert_eq!(message, "this app speaks sync protocol 0, the server needs 2: update the app");
    assert_eq!(refusal_of(&server, token, &vec![0u8; 5000]).0, 413);
    assert_eq!(refusal_of(&server, token, &vec![0u8; 5000]).1, RefusalCode::TooLarge);
    let three = Push {
        docs: (0..3).map(|idx| DocPush { id: format!("doc-{idx}"), heads: vec![], changes: vec![] }).collect(),
        ..Push::default()
    };
    let (status, code, _) = refusal_of(&server, token, &encode(&Message::Push(three)));
    assert_eq!((status, code), (413, RefusalCode::TooManyDocs));

    // One connection per token: the second is refused; another device is not affected.
    let mut first = Live::connect(&server, &tokens[0]).unwrap();
    let second = Live::connect(&server, &tokens[0]).err().expect("over the limit");
    assert_eq!((second.status, second.refusal.map(|r| r.code)), (429, Some(RefusalCode::TooManyConnections)));
    // Idle sessions are closed with their own reason.
    let started = std::time::Instant::now();
    assert_eq!(first.recv().unwrap_err(), "conn.idle_timeout");
    assert!(started.elapsed() < Duration::from_secs(10));
    let _other = Live::connect(&server, &tokens[1]).unwrap();

    // The burst is 12 rounds and the refill negligible. Three rounds were used above (the
    // garbage, the old version, too many documents; oversized bodies are refused before a
    // round starts), so 9 more pass and then every round is refused.
    let mut codes = Vec::new();
    for _ in 0..11 {
        match post_frame(&server, token, &empty_push()) {
            (_, Message::Refuse(refusal)) => codes.push(refusal.code),
            (status, _) => assert_eq!(status, 200),
        }
    }
    assert_eq!(codes, [RefusalCode::RateLimited, RefusalCode::RateLimited], "{codes:?}");
    assert_eq!(refusal_of(&server, token, &empty_push()).0, 429);

    // Still up, and the other device is unaffected.
    let (status, _) = post_frame(&server, Some(&tokens[1]), &empty_push());
    assert_eq!(status, 200);
    let issued = issue(&db, "north", "supervisor");
    assert_eq!(get_json(&server, "/v1/cases", Some(&issued)).0, 200);
}
