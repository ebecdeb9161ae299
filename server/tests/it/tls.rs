//! `kefu serve --tls-cert --tls-key` with a certificate signed by a CA made in the test: the
//! production client (kefu-client) syncs over https and keeps a live wss session when it is given
//! that CA, and refuses the server when it only trusts the platform's roots; a connection that
//! never starts the handshake is closed by the header timeout.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kefu_client::{ClientConfig, ClientError, SharedStore, SyncClient};
use kefu_core::ids::Timestamp;
use kefu_core::store::{CaseStore, StoreConfig};

use crate::support::{Server, new_repair, read_until_closed, spawn_live, staff, team_with_tokens};

/// Writes `cert.pem` (127.0.0.1 and localhost, signed by a new CA) and `key.pem` into `dir`;
/// returns the CA's PEM.
fn make_certificates(dir: &Path) -> String {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "kefu test CA");
    let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    ca_pem
}

fn tls_server(dir: &Path, extra: &[&str]) -> (Server, String, Vec<String>) {
    let ca_pem = make_certificates(dir);
    let db = dir.join("kefu.sqlite3");
    let tokens = team_with_tokens(&db, "north", &["staff", "staff"]);
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let mut flags = vec!["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    flags.extend_from_slice(extra);
    let server = Server::start(&db, &flags);
    (server, ca_pem, tokens)
}

fn store(dir: &Path) -> SharedStore {
    Arc::new(Mutex::new(CaseStore::open(dir, StoreConfig::default()).unwrap()))
}

fn open_case(store: &SharedStore, subject: &str) -> String {
    store.lock().unwrap().create_case(&new_repair(subject), &staff(), Timestamp::now()).unwrap().id.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_syncs_over_https_and_hears_changes_over_wss() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca_pem, tokens) = tls_server(dir.path(), &[]);
    let config = |token: &str| {
        let mut config = ClientConfig::new(server.https_url(), token);
        config.tls_ca_pem = Some(ca_pem.clone().into_bytes());
        config
    };

    // Phone B keeps a live session over wss.
    let phone_b = store(&dir.path().join("b"));
    let (session, mut changed_rx, stop_tx) = spawn_live(config(&tokens[1]), Arc::clone(&phone_b));

    // Phone A opens a case and syncs over https.
    let phone_a = store(&dir.path().join("a"));
    kefu_client::bind(&mut phone_a.lock().unwrap(), &config(&tokens[0])).unwrap();
    let case = open_case(&phone_a, "over TLS");
    let report = SyncClient::new(config(&tokens[0])).unwrap().sync(&phone_a).await.unwrap();
    assert_eq!(report.acked_docs, 1, "{report:?}");

    let arrived = tokio::time::timeout(Duration::from_secs(30), changed_rx.recv())
        .await
        .unwrap_or_else(|_| panic!("phone B heard nothing over wss:\n{}", server.stderr()))
        .expect("the session is running");
    assert_eq!(arrived, [case]);
    assert_eq!(phone_b.lock().unwrap().all_cases().unwrap()[0].subject, "over TLS");
    stop_tx.send(()).unwrap();
    session.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_device_that_does_not_trust_the_ca_refuses_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _ca_pem, tokens) = tls_server(dir.path(), &[]);
    let phone = store(&dir.path().join("phone"));
    open_case(&phone, "kept on the phone");
    let client = SyncClient::new(ClientConfig::new(server.https_url(), &tokens[0])).unwrap();
    match client.sync(&phone).await {
        Err(ClientError::Offline { reason, .. }) => assert!(reason.contains("certificate"), "{reason}"),
        other => panic!("expected the certificate to be refused, got {other:?}"),
    }
    assert_eq!(phone.lock().unwrap().pending_docs().unwrap(), 1, "the case waits for a trusted server");
}

#[test]
fn a_connection_that_never_starts_the_handshake_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _ca_pem, _tokens) = tls_server(dir.path(), &["--header-read-timeout-secs", "1"]);
    let mut silent = std::net::TcpStream::connect(server.addr).unwrap();
    let received = read_until_closed(&mut silent, Duration::from_secs(60)).expect("the server closed it");
    assert!(received.is_empty(), "{received:?}");
}
