//! Time limits, the connection cap and the health endpoints, against the real binary: slow,
//! silent and half-sent connections are closed by their timeouts and cannot starve `/healthz`;
//! WebSocket sessions count against the cap;
//! an oversized WebSocket frame is refused in words before the close; a body cut short is
//! malformed, not too large; `/healthz` fails when the
//! database file is gone or cannot be written; `/readyz` fails from the shutdown signal on; and
//! a connection that never finishes does not hold shutdown past the grace period.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use kefu_core::sync::{Message, Push, RefusalCode};

use crate::support::{self, Live, Server, get_text, post_frame, read_until_closed, team_with_tokens};

/// Another client holding the lock every write of the server needs, as a stuck `kefu admin` or a
/// backup tool would: SQLite's write lock, or on PostgreSQL an exclusive lock on the tables every
/// round and health check touch.
enum Blocker {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl Blocker {
    fn hold(db: &std::path::Path) -> Blocker {
        if support::postgres().is_some() {
            let url = support::db_arg(db).into_string().unwrap();
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            client.batch_execute("BEGIN; LOCK TABLE meta, teams IN EXCLUSIVE MODE").unwrap();
            Blocker::Postgres(client)
        } else {
            let connection = rusqlite::Connection::open(db).unwrap();
            connection.execute_batch("BEGIN IMMEDIATE").unwrap();
            Blocker::Sqlite(connection)
        }
    }

    fn release(self) {
        match self {
            Blocker::Sqlite(connection) => connection.execute_batch("ROLLBACK").unwrap(),
            Blocker::Postgres(mut client) => client.batch_execute("ROLLBACK").unwrap(),
        }
    }
}

#[test]
fn slow_silent_and_half_sent_connections_are_closed_and_healthz_still_answers() {
    // This process holds 1,100 sockets at once.
    let soft = rlimit::increase_nofile_limit(4096).expect("open-file limit");
    assert!(soft >= 1_300, "this test needs 1,300 open files; the hard limit allows {soft}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let token = team_with_tokens(&db, "north", &["staff"]).remove(0);
    // The server gets the 1,024 descriptors the attack exhausted before.
    let limits = ["--header-read-timeout-secs", "1", "--body-read-timeout-secs", "1"];
    let server = Server::start_with_open_file_limit(&db, &limits, 1024);

    let kinds = ["silent", "half-sent headers", "slow body"];
    let mut connections = Vec::new();
    for idx in 0..1_100 {
        let mut stream = TcpStream::connect(server.addr).expect("connect");
        let kind = idx % kinds.len();
        match kind {
            0 => {}
            1 => stream.write_all(b"GET /v1/cases HTTP/1.1\r\nHost: kefu\r\nX-Partial: ").unwrap(),
            _ => write!(
                stream,
                "POST /v1/sync HTTP/1.1\r\nHost: kefu\r\nAuthorization: Bearer {token}\r\n\
                 Content-Length: 1000\r\n\r\nKEFU"
            )
            .unwrap(),
        }
        connections.push((kind, stream));
    }

    assert_eq!(get_text(&server, "/healthz"), (200, "ok\n".to_string()));
    assert!(
        server.stderr().contains("the open-file limit leaves room for fewer connections than --max-connections"),
        "the cap follows the descriptor limit:\n{}",
        server.stderr()
    );
    for (idx, (kind, stream)) in connections.iter_mut().enumerate() {
        let received = read_until_closed(stream, Duration::from_secs(60))
            .unwrap_or_else(|| panic!("connection {idx} ({}) is still open", kinds[*kind]));
        if *kind == 2 {
            let text = String::from_utf8_lossy(&received);
            assert!(text.starts_with("HTTP/1.1 408"), "slow body {idx} got: {text}");
        }
    }
    assert_eq!(get_text(&server, "/healthz"), (200, "ok\n".to_string()));
}

#[test]
fn websocket_sessions_hold_their_connection_slot_until_they_close() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let token = team_with_tokens(&db, "north", &["staff"]).remove(0);
    let server = Server::start(&db, &["--max-connections", "2"]);
    let mut sessions: Vec<Live> = (0..2).map(|_| Live::connect(&server, &token).unwrap()).collect();
    for session in &mut sessions {
        session.send(&Push::default());
        session.recv_reply();
    }

    // Both slots are held by the upgraded sockets: a third connection waits in the backlog.
    let mut waiting = TcpStream::connect(server.addr).unwrap();
    waiting.write_all(b"GET /healthz HTTP/1.1\r\nHost: kefu\r\nConnection: close\r\n\r\n").unwrap();
    assert_eq!(read_until_closed(&mut waiting, Duration::from_secs(2)), None, "served beyond the cap");
    // One session ends: its slot goes to the waiting connection.
    drop(sessions.pop());
    let answer = read_until_closed(&mut waiting, Duration::from_secs(60)).expect("answered once a slot freed");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok\n"), "{answer}");
}

#[test]
fn an_oversized_websocket_frame_is_refused_before_the_close() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let token = team_with_tokens(&db, "north", &["staff"]).remove(0);
    let server = Server::start(&db, &["--max-message-bytes", "4096"]);

    let mut live = Live::connect(&server, &token).unwrap();
    // Three times the limit: beyond the twice the session reads into memory.
    live.send_bytes(vec![0u8; 3 * 4096]);
    match live.recv() {
        Ok(Message::Refuse(refusal)) => {
            assert_eq!(refusal.code, RefusalCode::TooLarge);
            assert_eq!(refusal.message, "frame exceeds 4096 bytes");
        }
        other => panic!("expected a frame.too_large refusal, got {other:?}"),
    }
    assert_eq!(live.recv().unwrap_err(), "frame.too_large");

    // The server and the device's next session are unaffected.
    let mut again = Live::connect(&server, &token).unwrap();
    again.send(&Push::default());
    again.recv_reply();
}

#[test]
fn healthz_fails_when_the_database_file_is_deleted() {
    if support::postgres().is_some() {
        return; // A PostgreSQL database has no file of the server's to delete.
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    team_with_tokens(&db, "north", &[]);
    let server = Server::start(&db, &[]);
    assert_eq!(get_text(&server, "/healthz"), (200, "ok\n".to_string()));
    assert_eq!(get_text(&server, "/readyz"), (200, "ready\n".to_string()));

    std::fs::remove_file(&db).unwrap();
    let expected = "the database file was deleted or moved while the server runs; restore it and restart";
    assert_eq!(get_text(&server, "/healthz"), (503, format!("unhealthy: database unavailable: {expected}\n")));
    assert_eq!(get_text(&server, "/readyz"), (503, format!("not ready: database unavailable: {expected}\n")));
}

#[test]
fn healthz_fails_while_writes_fail_and_recovers_after() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let token = team_with_tokens(&db, "north", &["staff"]).remove(0);
    let server = Server::start(&db, &[]);
    assert_eq!(get_text(&server, "/healthz").0, 200);

    // Another process holds the database's lock (a stuck `kefu admin`, a backup tool): every write
    // of the server fails. File permissions would not do here: the tests run as root, whom they
    // do not stop.
    let blocker = Blocker::hold(&db);
    let (status, body) = get_text(&server, "/healthz");
    assert_eq!((status, body.as_str()), (503, "unhealthy: the database did not answer within 3 s\n"));
    // The stuck check (it waits out SQLite's 5 s busy timeout) is not joined by another; should
    // this probe come after it gave up, a new check times out the same way.
    let (status, body) = get_text(&server, "/healthz");
    assert_eq!(status, 503);
    assert!(
        body.starts_with("unhealthy: the previous health check has not finished")
            || body == "unhealthy: the database did not answer within 3 s\n",
        "{body}"
    );
    // A sync round cannot commit either, and says so.
    let (status, reply) = post_frame(&server, Some(&token), &kefu_core::sync::encode(&Message::Push(Push::default())));
    assert_eq!(status, 500, "{reply:?}");

    blocker.release();
    let mut last = get_text(&server, "/healthz");
    for _ in 0..100 {
        if last.0 == 200 {
            break;
        }
        // The check left behind by the lock is still running until SQLite's busy timeout.
        std::thread::sleep(Duration::from_millis(100));
        last = get_text(&server, "/healthz");
    }
    assert_eq!(last, (200, "ok\n".to_string()));
}

#[test]
fn a_round_that_cannot_finish_in_time_is_refused_and_the_next_one_goes_through() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let token = team_with_tokens(&db, "north", &["staff"]).remove(0);
    let server = Server::start(&db, &["--round-timeout-secs", "1"]);
    let push = kefu_core::sync::encode(&Message::Push(Push::default()));

    // The round waits for the database's lock (SQLite's busy timeout is 5 s), past its limit.
    let blocker = Blocker::hold(&db);
    match post_frame(&server, Some(&token), &push) {
        (500, Message::Refuse(refusal)) => {
            assert_eq!(refusal.code, RefusalCode::Internal);
            assert_eq!(refusal.message, "the server could not finish this sync in time; nothing was lost, try again");
        }
        other => panic!("expected the round to time out, got {other:?}"),
    }
    blocker.release();
    // The abandoned round gives up at the busy timeout (or, on PostgreSQL, goes through once the
    // lock is released); the device's next round succeeds.
    let mut answer = post_frame(&server, Some(&token), &push);
    for _ in 0..100 {
        if answer.0 == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        answer = post_frame(&server, Some(&token), &push);
    }
    assert!(matches!(answer, (200, Message::Reply(_))), "{answer:?}");
}

#[test]
fn readyz_fails_from_the_shutdown_signal_while_requests_are_still_served() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    team_with_tokens(&db, "north", &[]);
    let mut server = Server::start(&db, &["--drain-secs", "10"]);
    assert_eq!(get_text(&server, "/readyz"), (200, "ready\n".to_string()));

    server.sigterm();
    let mut ready = get_text(&server, "/readyz");
    for _ in 0..100 {
        if ready.0 == 503 {
            break;
        }
        // The signal is handled asynchronously; each poll is a request that is answered.
        std::thread::sleep(Duration::from_millis(20));
        ready = get_text(&server, "/readyz");
    }
    assert_eq!(ready, (503, "not ready: shutting down\n".to_string()));
    // Still serving while the load balancer drains it.
    assert_eq!(get_text(&server, "/healthz"), (200, "ok\n".to_string()));
    assert!(server.wait_for_exit().success());
}

#[test]
fn a_connection_that_never_finishes_does_not_hold_shutdown_past_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let token = team_with_tokens(&db, "north", &["staff"]).remove(0);
    let mut server = Server::start(&db, &["--body-read-timeout-secs", "3600", "--shutdown-grace-secs", "1"]);
    // A request in flight whose body never completes. `Expect: 100-continue` makes the server say
    // when the handler starts reading the body, so the request is known to be in flight.
    let mut stuck = TcpStream::connect(server.addr).unwrap();
    write!(
        stuck,
        "POST /v1/sync HTTP/1.1\r\nHost: kefu\r\nAuthorization: Bearer {token}\r\n\
         Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n"
    )
    .unwrap();
    stuck.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut interim = [0u8; 25];
    stuck.read_exact(&mut interim).expect("the interim response");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");

    server.sigterm();
    assert!(read_until_closed(&mut stuck, Duration::from_secs(60)).is_some(), "the stuck request was dropped");
    let status = server.wait_for_exit();
    assert!(status.success(), "{status:?}");
    let stderr = server.stderr();
    assert!(stderr.contains("connections still open after the grace period are dropped"), "{stderr}");
}

#[test]
fn a_body_cut_short_is_malformed_not_too_large() {
    // Found by the real-process fault run: a phone losing signal mid-push was logged and
    // counted as `frame.too_large`, which sends an operator hunting for oversized pushes.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let token = team_with_tokens(&db, "north", &["staff"]).remove(0);
    let server = Server::start(&db, &[]);
    let mut cut = TcpStream::connect(server.addr).unwrap();
    write!(
        cut,
        "POST /v1/sync HTTP/1.1\r\nHost: kefu\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: 1000\r\n\r\nKEFU"
    )
    .unwrap();
    // The device's side ends: the body stops at 4 of its 1,000 bytes.
    cut.shutdown(std::net::Shutdown::Write).unwrap();
    let answer = read_until_closed(&mut cut, Duration::from_secs(60)).expect("answered and closed");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    let frame = &answer[text.find("\r\n\r\n").expect("a body") + 4..];
    match kefu_core::sync::decode(frame, usize::MAX) {
        Ok(Message::Refuse(refusal)) => {
            assert_eq!(refusal.code, RefusalCode::Malformed);
            assert_eq!(refusal.message, "the request body ended before its declared length; sync again");
        }
        other => panic!("expected a frame.malformed refusal, got {other:?}"),
    }
}
