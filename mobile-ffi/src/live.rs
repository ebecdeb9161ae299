//! [`LiveSession`]: a WebSocket kept open to `kefu serve` while the app is in the
//! foreground, so other phones' changes arrive without anyone pressing sync and the
//! app's listener hears them within moments.
//!
//! The session is kefu-client's `live` loop on a thread of its own with a
//! single-threaded tokio runtime: the app needs no runtime of its own, and stopping
//! the session is an ordinary blocking call that returns how it ended. Local edits
//! wake the loop through the store's `local_change` signal, so they go out at once.
//! Nothing here decides what to send or how to merge; durability is the store's,
//! exactly as for [`KefuStore::sync`].

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use kefu_client::LiveStatus;

use crate::driver::client_error;
use crate::error::KefuError;
use crate::store::KefuStore;

/// A running live session; stop it when the app goes to the background.
#[derive(uniffi::Object)]
pub struct LiveSession {
    /// Dropping or sending on it ends the session; `None` once stopped.
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    /// The session's thread, returning how the session ended; `None` once joined.
    thread: Mutex<Option<JoinHandle<Result<(), KefuError>>>>,
    /// Whether it is connected, and how many connections it opened.
    status: Arc<LiveStatus>,
}

#[uniffi::export]
impl KefuStore {
    /// Opens a live session with the server: pushes local changes as they are
    /// made and applies other phones' changes as the server sends them, telling
    /// the change listener. Returns at once. The session pings the server and
    /// reconnects by itself after a lost connection (timing from
    /// [`KefuStore::set_connection_options`]); it runs until [`LiveSession::stop`], or
    /// until the server refuses the device for good (then `stop` returns why).
    pub fn start_live(
        self: Arc<Self>,
        server_url: String,
        device_token: String,
    ) -> Result<Arc<LiveSession>, KefuError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| KefuError::Internal { message: format!("cannot start the live session runtime: {err}") })?;
        let (stop_sender, stop_receiver) = tokio::sync::oneshot::channel::<()>();
        let store = Arc::clone(&self);
        let config = self.connection_options().client_config(server_url, device_token);
        let status = Arc::new(LiveStatus::default());
        let session_status = Arc::clone(&status);
        let thread = std::thread::Builder::new()
            .name("kefu-live".into())
            .spawn(move || {
                // Ends when `stop` sends or when the session object is dropped.
                let shutdown = async {
                    let _stopped_or_dropped = stop_receiver.await;
                };
                runtime
                    .block_on(kefu_client::live(
                        &config,
                        Arc::clone(&store.shared),
                        &store.local_change,
                        &session_status,
                        |doc_ids| store.listener.notify(doc_ids),
                        shutdown,
                    ))
                    .map_err(client_error)
            })
            .map_err(|err| KefuError::Internal { message: format!("cannot start the live session thread: {err}") })?;
        Ok(Arc::new(LiveSession { stop: Mutex::new(Some(stop_sender)), thread: Mutex::new(Some(thread)), status }))
    }
}

#[uniffi::export]
impl LiveSession {
    /// Whether a connection to the server is open now (an app's "online" mark).
    pub fn is_connected(&self) -> bool {
        self.status.is_connected()
    }

    /// How many connections the session has opened: 1 while heartbeats have kept the
    /// first one up, more after it had to reconnect.
    pub fn connections(&self) -> u32 {
        self.status.connections()
    }

    /// Whether the session is still running, connected or retrying (false once it
    /// ended for good or was stopped).
    pub fn is_running(&self) -> bool {
        self.thread.lock().unwrap_or_else(PoisonError::into_inner).as_ref().is_some_and(|thread| !thread.is_finished())
    }

    /// Ends the session and waits for it to close; returns the error that ended it
    /// early, if one did (e.g. [`KefuError::Offline`]). Calling it again returns `Ok`.
    pub fn stop(&self) -> Result<(), KefuError> {
        if let Some(stop) = self.stop.lock().unwrap_or_else(PoisonError::into_inner).take() {
            // The session may have ended already and dropped the receiver: fine.
            let _already_ended = stop.send(());
        }
        let thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take();
        match thread.map(JoinHandle::join) {
            None => Ok(()),
            Some(Ok(outcome)) => outcome,
            Some(Err(_panic)) => Err(KefuError::Internal { message: "panic in the live session".into() }),
        }
    }
}
