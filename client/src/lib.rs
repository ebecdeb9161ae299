//! kefu-client: the device's sync driver.
//!
//! kefu-core holds the protocol (frames, the device's dirty documents, applying a
//! reply); this crate only moves frames between a [`CaseStore`] and `kefu serve`:
//! [`SyncClient::sync`] runs HTTP rounds (`POST /v1/sync`) until nothing is left to
//! send or fetch, and [`live`] keeps a WebSocket open, pushing local changes and
//! applying the server's pushes as they come. Used by the phone bindings
//! (kefu-mobile), `kefu demo` and the end-to-end tests.
//!
//! The store is shared as `Arc<Mutex<CaseStore>>` and locked only around store
//! calls, never across a network wait, so the app can keep editing while a round
//! is in flight.

mod http;
pub mod live;
mod tls;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kefu_core::store::{CaseStore, StoreError};
use kefu_core::sync::Refusal;

pub use http::SyncClient;
pub use live::{LiveStatus, live};

/// A store shared between the app and the sync driver.
pub type SharedStore = Arc<Mutex<CaseStore>>;

/// Where and how to sync.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The server's base URL, e.g. `http://127.0.0.1:8080` or `https://kefu.example.com`
    /// (the live session uses `ws://` or `wss://` to match).
    pub base_url: String,
    /// The device token issued by `kefu admin device issue`.
    pub token: String,
    /// Give up connecting after this long (default 5 s): offline should fail fast.
    pub connect_timeout: Duration,
    /// Give up on one round after this long (default 60 s).
    pub round_timeout: Duration,
    /// Documents per push (default 200); the server's own limit is higher.
    pub max_docs_per_round: usize,
    /// Stop after this many rounds in one sync (default 10,000), so a confused
    /// server cannot keep a phone busy forever.
    pub max_rounds: usize,
    /// A live session pings this often (default 30 s), well inside the server's idle
    /// timeout, and gives a connection up after two silent intervals.
    pub heartbeat: Duration,
    /// The first wait before a live session reconnects (default 1 s); it doubles per
    /// failed attempt up to `reconnect_max` (default 60 s).
    pub reconnect_min: Duration,
    /// The longest wait between reconnect attempts.
    pub reconnect_max: Duration,
    /// PEM of the CA to trust for `https://` instead of the platform's roots (default none):
    /// for a server with a private CA or a self-signed certificate.
    pub tls_ca_pem: Option<Vec<u8>>,
}

impl ClientConfig {
    /// Settings with the defaults above.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            token: token.into(),
            connect_timeout: Duration::from_secs(5),
            round_timeout: Duration::from_secs(60),
            max_docs_per_round: 200,
            max_rounds: 10_000,
            heartbeat: Duration::from_secs(30),
            reconnect_min: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(60),
            tls_ca_pem: None,
        }
    }

    /// Checks what can be checked before connecting: today, that the TLS settings
    /// (the CA given in [`ClientConfig::tls_ca_pem`]) are usable. An app calls it when
    /// the settings are entered, so a bad certificate is reported then, not as a
    /// failing sync later.
    pub fn check(&self) -> Result<(), ClientError> {
        tls::rustls_config(self).map(|_| ())
    }
}

/// What a whole sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Rounds run.
    pub rounds: usize,
    /// Documents pushed (counting a document once per round).
    pub sent_docs: usize,
    /// Documents the server acknowledged.
    pub acked_docs: usize,
    /// Ids of documents that arrived or changed.
    pub received: Vec<String>,
    /// Documents the server refused, with its reasons.
    pub refused: Vec<(String, Refusal)>,
    /// Server updates this device refused, with why.
    pub rejected_updates: Vec<(String, String)>,
    /// Bytes sent.
    pub bytes_up: usize,
    /// Bytes received.
    pub bytes_down: usize,
}

/// Why a sync failed. Nothing local is lost in any case: unsent changes stay
/// pending in the store and go with the next sync.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached (no network, wrong address, server down).
    #[error("cannot reach the server at {url}: {reason}")]
    Offline {
        /// The URL tried.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The server refused the whole round (bad or revoked token, version, limits).
    #[error("the server refused the sync: {0}")]
    Refused(Refusal),
    /// The server answered with something that is not the protocol.
    #[error("the server's answer is not a kefu sync reply: {0}")]
    Protocol(String),
    /// The round took too long.
    #[error("the sync took longer than {0:?} and was abandoned; it will resume next time")]
    Timeout(Duration),
    /// TLS could not be set up (the given CA, or the platform's trust store).
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store lock was poisoned by a panic elsewhere in the app.
    #[error("the case store is unusable after an earlier crash in the app")]
    Poisoned,
}

/// Binds `store` to the device the config's token names, so every change it writes is
/// one the server accepts as this device's (`CaseStore::bind_device`). Apps call it
/// right after opening the store, before the first edit; syncing calls it too.
pub fn bind(store: &mut CaseStore, config: &ClientConfig) -> Result<(), StoreError> {
    match kefu_core::ids::DeviceId::of_token(&config.token) {
        Some(device) => store.bind_device(device),
        // Not a kefu token: the server will refuse it, and nothing is bound.
        None => Ok(()),
    }
}

/// Runs `work` with the store locked.
pub(crate) fn with_store<T>(
    store: &SharedStore,
    work: impl FnOnce(&mut CaseStore) -> Result<T, StoreError>,
) -> Result<T, ClientError> {
    let mut guard = store.lock().map_err(|_| ClientError::Poisoned)?;
    Ok(work(&mut guard)?)
}
