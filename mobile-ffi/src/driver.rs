//! Sync with `kefu serve`: the async [`KefuStore::sync`] (a Kotlin suspend function,
//! a Swift `async` method) and [`KefuStore::sync_blocking`] for a background thread.
//!
//! A thin driver: the rounds (`POST /v1/sync`, push, apply the reply, repeat while
//! there is more) are kefu-client's [`SyncClient::sync`], the protocol is
//! kefu-core's. This file only serialises syncs per store, maps the client's errors
//! onto [`KefuError`], tells the app's listener what arrived, and keeps panics on
//! this side of the boundary.
//!
//! Durability across interruptions comes from the core store, not from here: a
//! document stays pending until the server acknowledges heads that cover it, and a
//! reply's updates are durable before the acks and the cursor are recorded. So a
//! sync cut off at any point (no network, the app killed, the server killed) loses
//! nothing, and the next sync resends what was not acknowledged.

use futures_util::FutureExt;
use kefu_client::{ClientError, SyncClient};

use crate::error::KefuError;
use crate::records::{SyncRefusal, SyncReport, ffi_count};
use crate::store::KefuStore;

#[uniffi::export(async_runtime = "tokio")]
impl KefuStore {
    /// Syncs with the server at `server_url` (e.g. `https://kefu.example.com`)
    /// using this phone's `device_token` (from `kefu admin device issue`): sends
    /// every change not yet acknowledged and fetches what other phones changed,
    /// in as many rounds as it takes.
    ///
    /// Fails fast with [`KefuError::Offline`] when the server cannot be reached
    /// (five seconds at most to connect), [`KefuError::SyncRefused`] when it refuses
    /// the token or the protocol version. Nothing is lost on failure or
    /// cancellation: unsent changes stay pending for the next sync. Documents the
    /// server refuses individually are listed in the report, not raised.
    pub async fn sync(&self, server_url: String, device_token: String) -> Result<SyncReport, KefuError> {
        // One sync at a time per store: a second caller waits for the first rather
        // than pushing the same documents twice.
        let _one_at_a_time = self.sync_gate.lock().await;
        let client =
            SyncClient::new(self.connection_options().client_config(server_url, device_token)).map_err(client_error)?;
        let report = std::panic::AssertUnwindSafe(client.sync(&self.shared))
            .catch_unwind()
            .await
            .map_err(|_| KefuError::Internal { message: "panic during sync".into() })?
            .map_err(client_error)?;
        let pending_docs = self.pending_docs()?;
        // After the changes are durable and with no lock held: the listener may read
        // the store.
        self.listener.notify(&report.received);
        Ok(SyncReport {
            rounds: ffi_count(report.rounds),
            sent_docs: ffi_count(report.sent_docs),
            acked_docs: ffi_count(report.acked_docs),
            received_docs: ffi_count(report.received.len()),
            received_ids: sorted_unique(report.received),
            refused: report
                .refused
                .into_iter()
                .map(|(doc_id, refusal)| SyncRefusal {
                    doc_id,
                    code: refusal.code.code().to_string(),
                    message: refusal.message,
                })
                .collect(),
            rejected_updates: report
                .rejected_updates
                .into_iter()
                .map(|(doc_id, reason)| SyncRefusal { doc_id, code: "device.rejected".into(), message: reason })
                .collect(),
            pending_docs,
        })
    }
}

#[uniffi::export]
impl KefuStore {
    /// [`KefuStore::sync`] for a caller on a background thread that does not use
    /// coroutines or async/await: blocks until the sync ends. Never call it on the
    /// UI thread.
    pub fn sync_blocking(&self, server_url: String, device_token: String) -> Result<SyncReport, KefuError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            // block_on inside a runtime would panic; say what to do instead.
            return Err(KefuError::InvalidInput {
                message: "a blocking sync was started from inside an async sync (e.g. from a change listener); \
                          use the async sync there"
                    .into(),
            });
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| KefuError::Internal { message: format!("cannot start the sync runtime: {err}") })?;
        runtime.block_on(self.sync(server_url, device_token))
    }
}

fn sorted_unique(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// Maps kefu-client's failure onto what the app sees.
pub(crate) fn client_error(err: ClientError) -> KefuError {
    let message = err.to_string();
    match err {
        ClientError::Offline { .. } => {
            KefuError::Offline { message: format!("{message}; your changes are kept on this phone") }
        }
        ClientError::Timeout(_) => KefuError::Offline { message },
        ClientError::Refused(_) => {
            KefuError::SyncRefused { message: format!("{message}; your changes are kept on this phone") }
        }
        ClientError::Protocol(_) => KefuError::SyncProtocol { message },
        ClientError::Store(store) => store.into(),
        ClientError::Tls(_) | ClientError::Poisoned => KefuError::Internal { message },
    }
}
