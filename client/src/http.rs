//! Sync rounds over `POST /v1/sync` (the transport contract in `kefu_core::sync`).

use kefu_core::sync::{Message, Push, Reply, decode, encode};

use crate::{ClientConfig, ClientError, SharedStore, SyncReport, with_store};

/// Largest reply accepted: a reply carries at most the server's update limit of
/// documents, each far below this.
const MAX_REPLY_BYTES: usize = 256 << 20;

/// Runs sync rounds against one server with one device token.
#[derive(Clone, Debug)]
pub struct SyncClient {
    config: ClientConfig,
    http: reqwest::Client,
}

impl SyncClient {
    /// A client with the given settings.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::tls::rustls_config(&config)?.as_ref().clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.round_timeout)
            .build()
            .map_err(|err| ClientError::Protocol(err.to_string()))?;
        Ok(SyncClient { config, http })
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Runs rounds until the device has nothing left to send and the server nothing
    /// left to send back (or a document is refused and cannot go until it changes).
    pub async fn sync(&self, store: &SharedStore) -> Result<SyncReport, ClientError> {
        with_store(store, |store| crate::bind(store, &self.config))?;
        let mut report = SyncReport::default();
        let mut more = false;
        while report.rounds < self.config.max_rounds {
            let push = with_store(store, |store| store.prepare_push(self.config.max_docs_per_round))?;
            // Always one round, to fetch; then only while there is something to do.
            if report.rounds > 0 && push.docs.is_empty() && !more {
                break;
            }
            let (reply, up, down) = self.exchange(&push).await?;
            let outcome = with_store(store, |store| store.apply_reply(&push, &reply))?;
            report.rounds += 1;
            report.bytes_up += up;
            report.bytes_down += down;
            report.sent_docs += outcome.sent_docs;
            report.acked_docs += outcome.acked_docs;
            report.received.extend(outcome.received);
            report.refused.extend(outcome.refused);
            report.rejected_updates.extend(outcome.rejected_updates);
            more = outcome.more;
        }
        Ok(report)
    }

    /// One request and its reply: (reply, bytes up, bytes down).
    pub async fn exchange(&self, push: &Push) -> Result<(Reply, usize, usize), ClientError> {
        let url = format!("{}/v1/sync", self.config.base_url);
        let body = encode(&Message::Push(push.clone()));
        let up = body.len();
        let response = self
            .http
            .post(&url)
            .bearer_auth(&self.config.token)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .map_err(|err| self.transport_error(&url, err))?;
        let bytes = response.bytes().await.map_err(|err| self.transport_error(&url, err))?;
        let down = bytes.len();
        match decode(&bytes, MAX_REPLY_BYTES) {
            Ok(Message::Reply(reply)) => Ok((reply, up, down)),
            Ok(Message::Refuse(refusal)) => Err(ClientError::Refused(refusal)),
            Ok(Message::Push(_)) => Err(ClientError::Protocol("the server sent a push".into())),
            Err(err) => Err(ClientError::Protocol(format!("{err} ({down} bytes)"))),
        }
    }

    fn transport_error(&self, url: &str, err: reqwest::Error) -> ClientError {
        if err.is_timeout() {
            ClientError::Timeout(self.config.round_timeout)
        } else {
            ClientError::Offline { url: url.to_string(), reason: root_cause(&err) }
        }
    }
}

/// The innermost error's text ("connection refused"), which is what a person can act on.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_core::store::{CaseStore, StoreConfig};
    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn offline_fails_fast_with_a_typed_error_and_keeps_pending_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store: SharedStore = Arc::new(Mutex::new(CaseStore::open(dir.path(), StoreConfig::default()).unwrap()));
        // A port nobody listens on: bind one, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let client = SyncClient::new(ClientConfig::new(format!("http://127.0.0.1:{port}/"), "token")).unwrap();
        let started = std::time::Instant::now();
        let err = client.sync(&store).await.unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        match &err {
            ClientError::Offline { url, reason } => {
                assert_eq!(url, &format!("http://127.0.0.1:{port}/v1/sync"));
                assert!(reason.to_lowercase().contains("refused"), "{reason}");
            }
            other => panic!("expected offline, got {other:?}"),
        }
        assert!(err.to_string().starts_with("cannot reach the server at http://127.0.0.1:"));
    }
}
