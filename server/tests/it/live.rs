//! A phone that only watches: kefu-client's live session against the real server, through a
//! TCP proxy the test can cut. The session must outlive the server's idle timeout on its
//! heartbeats alone, and come back by itself after its connection is cut, hearing changes
//! made after each.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kefu_client::{ClientConfig, SharedStore, SyncClient};
use kefu_core::case::{CaseKind, Channel, Customer, NewCase, Priority};
use kefu_core::ids::Timestamp;
use kefu_core::store::{CaseStore, StoreConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::support::{Server, spawn_live, staff, team_with_tokens};

/// Forwards every connection to `upstream`; counts them, and cuts all open ones on demand.
struct Proxy {
    addr: std::net::SocketAddr,
    connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: std::net::SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                accepted.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy { addr, connections }
    }

    fn n_connections(&self) -> usize {
        self.connections.lock().unwrap().len()
    }

    /// Drops every connection open now (a phone losing signal, a NAT forgetting it).
    fn cut(&self) {
        for connection in self.connections.lock().unwrap().iter() {
            connection.abort();
        }
    }
}

fn store(dir: &std::path::Path, config: &ClientConfig) -> SharedStore {
    let mut store = CaseStore::open(dir, StoreConfig::default()).unwrap();
    kefu_client::bind(&mut store, config).unwrap();
    Arc::new(Mutex::new(store))
}

fn open_case(store: &SharedStore, subject: &str) -> String {
    let new = NewCase {
        kind: CaseKind::Repair,
        channel: Channel::Phone,
        customer: Customer { name: "王女士".into(), phone: "138 0000 0000".into(), address: "3-2-1101".into() },
        subject: subject.into(),
        description: "地下室储藏间进水，请尽快派人处理。".into(),
        priority: Priority::Normal,
        service: None,
    };
    store.lock().unwrap().create_case(&new, &staff(), Timestamp::now()).unwrap().id.to_string()
}

/// Waits for the watching phone to hear of `id` (a generous bound: CI machines are loaded).
async fn hears(changes: &mut UnboundedReceiver<Vec<String>>, id: &str, server: &Server) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, changes.recv()).await {
            Ok(Some(ids)) if ids.iter().any(|got| got == id) => return,
            Ok(Some(_)) => continue,
            _ => panic!("the watching phone never heard of {id}; server log:\n{}", server.stderr()),
        }
    }
}

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
    let watcher = store(&dir.path().join("watcher"), &watch_config);
    let (session, mut changed, stop_tx) = spawn_live(watch_config, watcher);

    let desk_config = ClientConfig::new(server.url(), tokens[0].clone());
    let desk = store(&dir.path().join("desk"), &desk_config);
    let client = SyncClient::new(desk_config).unwrap();
    let first = open_case(&desk, "before the quiet spell");
    client.sync(&desk).await.unwrap();
    hears(&mut changed, &first, &server).await;

    // Five idle timeouts of silence from the phone's user: only heartbeats keep it open.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let second = open_case(&desk, "after the quiet spell");
    client.sync(&desk).await.unwrap();
    hears(&mut changed, &second, &server).await;
    assert_eq!(proxy.n_connections(), 1, "the session stayed on its first connection through the quiet spell");

    // The connection is cut under it: the session comes back on its own and hears what follows.
    proxy.cut();
    let third = open_case(&desk, "after the cut");
    client.sync(&desk).await.unwrap();
    hears(&mut changed, &third, &server).await;
    assert!(proxy.n_connections() >= 2, "the session reconnected by itself");

    stop_tx.send(()).unwrap();
    session.await.unwrap().expect("the session ends cleanly when the app stops it");
}
