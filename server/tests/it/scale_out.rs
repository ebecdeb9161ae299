//! Several `kefu serve` processes on one PostgreSQL database, as behind a load balancer: a phone
//! watching one process hears what another stored (LISTEN/NOTIFY); case numbers drawn through
//! both at once are unique and gap-free; and when one process is SIGKILLed under load, nothing it
//! acknowledged is lost and the devices converge through the other.
//!
//! A process whose database connections are all cut (a network blip, a PostgreSQL failover) loses
//! the rounds in flight, not its service: its pool opens new connections, and its listener comes
//! back and still hears the other process.
//!
//! PostgreSQL only: runs when the test command started one (`support::postgres`); on SQLite there
//! is one server process per database.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kefu_client::{ClientConfig, SharedStore, SyncClient};

use crate::support::{
    Proxy, Server, client_store, db_arg, hears, open_shared_case, postgres, spawn_live, team_with_tokens,
};

/// Syncs until neither side has anything left to send.
async fn settle(client: &SyncClient, store: &SharedStore) {
    client.sync(store).await.unwrap();
}

/// Every case's (id, assigned number) on a device.
fn numbers(store: &SharedStore) -> Vec<(String, Option<String>)> {
    let cases = store.lock().unwrap().all_cases().unwrap();
    cases.into_iter().map(|case| (case.id.to_string(), case.number.assigned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_on_one_database_fan_out_number_cases_without_gaps_and_survive_a_kill() {
    if postgres().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared");
    let tokens = team_with_tokens(&db, "north", &["staff", "staff", "staff"]);
    let first = Server::start(&db, &[]);
    let second = Server::start(&db, &[]);

    // A phone watching the second process hears a case stored through the first.
    let watch_config = ClientConfig::new(second.url(), tokens[2].clone());
    let watcher = client_store(&dir.path().join("watcher"), &watch_config);
    let (session, mut heard, stop) = spawn_live(watch_config, Arc::clone(&watcher));
    let desk_config = ClientConfig::new(first.url(), tokens[0].clone());
    let desk = client_store(&dir.path().join("desk"), &desk_config);
    let desk_client = SyncClient::new(desk_config).unwrap();
    let opened = open_shared_case(&desk, "through the first process");
    settle(&desk_client, &desk).await;
    hears(&mut heard, &opened, &[&first, &second]).await;

    // Two devices draw case numbers through both processes at once.
    let field_config = ClientConfig::new(second.url(), tokens[1].clone());
    let field = client_store(&dir.path().join("field"), &field_config);
    let field_client = SyncClient::new(field_config).unwrap();
    for n in 0..12 {
        open_shared_case(&desk, &format!("desk case {n}"));
        open_shared_case(&field, &format!("field case {n}"));
    }
    tokio::join!(settle(&desk_client, &desk), settle(&field_client, &field));
    settle(&desk_client, &desk).await;
    let mut serials = BTreeSet::new();
    for (id, number) in numbers(&desk).into_iter().chain(numbers(&field)) {
        let number = number.unwrap_or_else(|| panic!("case {id} has no server number"));
        let serial: u64 = number.rsplit_once('-').unwrap().1.parse().unwrap();
        serials.insert((id, serial));
    }
    let by_serial: BTreeSet<u64> = serials.iter().map(|(_, serial)| *serial).collect();
    assert_eq!(by_serial.len(), 25, "each of the 25 cases has its own number: {serials:?}");
    assert_eq!(by_serial, (1..=25).collect::<BTreeSet<u64>>(), "numbers are gap-free across processes");

    // The first process dies under load. What it acknowledged is kept; the desk moves to the
    // second process and every device converges there.
    let mut acknowledged = Vec::new();
    let mut last_opened = String::new();
    let killer = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        first.kill();
    };
    let load = async {
        // Until the process is gone: the loop ends on the first round it cannot answer.
        for n in 0..100_000 {
            last_opened = open_shared_case(&desk, &format!("under load {n}"));
            match desk_client.sync(&desk).await {
                Ok(_) => acknowledged.push(last_opened.clone()),
                Err(_) => return,
            }
        }
        panic!("the killed process kept answering");
    };
    tokio::join!(killer, load);
    assert!(!acknowledged.is_empty(), "some rounds were acknowledged before the kill");
    let moved_config = ClientConfig::new(second.url(), tokens[0].clone());
    let moved = SyncClient::new(moved_config).unwrap();
    settle(&moved, &desk).await;
    settle(&field_client, &field).await;
    // The case whose round the kill cut went up through the second process with the rest.
    hears(&mut heard, &last_opened, &[&second]).await;
    let ids = |store: &SharedStore| -> BTreeSet<String> { numbers(store).into_iter().map(|(id, _)| id).collect() };
    let on_field = ids(&field);
    for id in &acknowledged {
        assert!(on_field.contains(id), "case {id}, acknowledged by the killed process, reached the field phone");
    }
    assert_eq!(ids(&desk), on_field, "desk and field converged through the surviving process");
    assert_eq!(ids(&watcher), on_field, "the watcher converged too");

    stop.send(()).unwrap();
    session.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_whose_database_link_is_cut_reconnects_and_still_hears_the_others() {
    let Some(admin) = postgres() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared");
    let tokens = team_with_tokens(&db, "north", &["staff", "staff", "staff"]);
    // The first process reaches PostgreSQL through a proxy the test can cut.
    let url = db_arg(&db).into_string().unwrap();
    let authority = admin.split('@').nth(1).and_then(|rest| rest.split('/').next()).expect("host:port");
    let upstream: std::net::SocketAddr = authority.parse().expect("the test server's loopback address");
    let link = Proxy::start(upstream).await;
    let cut_url = url.replace(authority, &link.addr.to_string());
    let first = Server::start_on(&cut_url, &[]);
    let second = Server::start(&db, &[]);

    // A phone watches the first process; a desk works through the second.
    let watch_config = ClientConfig::new(first.url(), tokens[2].clone());
    let watcher = client_store(&dir.path().join("watcher"), &watch_config);
    let (session, mut heard, stop) = spawn_live(watch_config, Arc::clone(&watcher));
    let desk_config = ClientConfig::new(second.url(), tokens[0].clone());
    let desk = client_store(&dir.path().join("desk"), &desk_config);
    let desk_client = SyncClient::new(desk_config).unwrap();
    let before = open_shared_case(&desk, "before the cut");
    settle(&desk_client, &desk).await;
    hears(&mut heard, &before, &[&first, &second]).await;

    // Every connection of the first process to the database drops at once.
    let opened_before_cut = link.n_connections();
    link.cut();
    let after = open_shared_case(&desk, "after the cut");
    settle(&desk_client, &desk).await;
    hears(&mut heard, &after, &[&first, &second]).await;
    assert!(link.n_connections() > opened_before_cut, "the first process opened new connections");

    // Its own rounds work again too: a case stored through it reaches the desk.
    let field_config = ClientConfig::new(first.url(), tokens[1].clone());
    let field = client_store(&dir.path().join("field"), &field_config);
    let field_client = SyncClient::new(field_config).unwrap();
    let through_first = open_shared_case(&field, "through the first process after the cut");
    let mut synced = false;
    for _ in 0..20 {
        // A round on a connection that died with the cut fails once; the device retries, as phones do.
        if field_client.sync(&field).await.is_ok() {
            synced = true;
            break;
        }
    }
    assert!(synced, "the first process served rounds again; log:\n{}", first.stderr());
    settle(&desk_client, &desk).await;
    let on_desk: BTreeSet<String> = numbers(&desk).into_iter().map(|(id, _)| id).collect();
    assert!(on_desk.contains(&through_first));

    stop.send(()).unwrap();
    session.await.unwrap().unwrap();
}
