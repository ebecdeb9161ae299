//! A phone that only watches: kefu-client's live session against the real server, through a
//! TCP proxy the test can cut. The session must outlive the server's idle timeout on its
//! heartbeats alone, and come back by itself after its connection is cut, hearing changes
//! made after each.

use std::time::Duration;

use kefu_client::{ClientConfig, SyncClient};

use crate::support::{Proxy, Server, client_store, hears, open_shared_case, spawn_live, team_with_tokens};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watching_phone_outlives_the_idle_timeout_and_reconnects_after_a_cut() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let tokens = team_with_tokens(&db, "north", &["staff", "staff"]);
    // The server closes a connection silent for 1 s; the phone pings every 200 ms.
    let server = Server::start(&db, &["--idle-timeout-secs", "1"]);
    let proxy = Proxy::start(server.addr).await;

    let mut watch_config = ClientConfig::new(format!("http://{}", proxy.addr), tokens[1].clone());
    watch_config.heartbeat = Duration::from_millis(200);
    watch_config.reconnect_min = Duration::from_millis(50);
    let watcher = client_store(&dir.path().join("watcher"), &watch_config);
    let (session, mut changed, stop_tx) = spawn_live(watch_config, watcher);

    let desk_config = ClientConfig::new(server.url(), tokens[0].clone());
    let desk = client_store(&dir.path().join("desk"), &desk_config);
    let client = SyncClient::new(desk_config).unwrap();
    let first = open_shared_case(&desk, "before the quiet spell");
    client.sync(&desk).await.unwrap();
    hears(&mut changed, &first, &[&server]).await;

    // Five idle timeouts of silence from the phone's user: only heartbeats keep it open.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let second = open_shared_case(&desk, "after the quiet spell");
    client.sync(&desk).await.unwrap();
    hears(&mut changed, &second, &[&server]).await;
    assert_eq!(proxy.n_connections(), 1, "the session stayed on its first connection through the quiet spell");

    // The connection is cut under it: the session comes back on its own and hears what follows.
    proxy.cut();
    let third = open_shared_case(&desk, "after the cut");
    client.sync(&desk).await.unwrap();
    hears(&mut changed, &third, &[&server]).await;
    assert!(proxy.n_connections() >= 2, "the session reconnected by itself");

    stop_tx.send(()).unwrap();
    session.await.unwrap().expect("the session ends cleanly when the app stops it");
}
