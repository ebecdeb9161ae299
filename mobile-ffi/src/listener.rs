//! [`ChangeListener`]: the callback the app implements to hear that documents
//! arrived from the server (to refresh a list or the open case), and the slot the
//! store keeps it in.
//!
//! The listener is called on the thread that ran the sync (a tokio worker for the
//! async `sync`, the caller's thread for `sync_blocking`), after the changes are
//! durable and with no lock held, so it may call back into the store. It is never
//! called for the phone's own edits: the app made those and already knows.

use std::sync::{Arc, RwLock};

use crate::error::KefuError;

/// Implemented by the app (Kotlin, Swift, Python) to hear about arriving changes.
///
/// The method returns a `Result` although the app never returns an error: with it,
/// an exception thrown by the app's implementation comes back as an `Err` (through
/// `From<UnexpectedUniFFICallbackError>`), where a unit method would make uniffi
/// panic, which aborts an app built with `panic = "abort"`. In Kotlin the method is
/// still `fun onChanges(docIds: List<String>)`.
#[uniffi::export(with_foreign)]
pub trait ChangeListener: Send + Sync {
    /// Documents (case ids and duty-log ids) that arrived or changed from the
    /// server, sorted, without repeats. They are already stored: read them freely.
    fn on_changes(&self, doc_ids: Vec<String>) -> Result<(), KefuError>;
}

/// Where the store keeps the app's listener; at most one at a time.
#[derive(Default)]
pub(crate) struct ListenerSlot {
    listener: RwLock<Option<Arc<dyn ChangeListener>>>,
}

impl ListenerSlot {
    /// Replaces (or with `None` removes) the listener.
    pub(crate) fn set(&self, listener: Option<Arc<dyn ChangeListener>>) {
        // A poisoned slot only means an earlier `set` panicked mid-assignment of an
        // `Option<Arc>`, which cannot leave it half-written: take it over.
        *self.listener.write().unwrap_or_else(std::sync::PoisonError::into_inner) = listener;
    }

    /// Tells the listener, if any, about `doc_ids` (nothing when empty).
    ///
    /// The `Arc` is cloned out before the call so the slot's lock is not held while
    /// foreign code runs (it may call `set`). A listener that throws is ignored: the
    /// changes are already durable, and a broken screen refresh must not turn a
    /// successful sync into a failure. A Rust implementation that panics is caught
    /// for the same reason.
    pub(crate) fn notify(&self, doc_ids: &[String]) {
        if doc_ids.is_empty() {
            return;
        }
        let listener = self.listener.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if let Some(listener) = listener {
            let doc_ids = doc_ids.to_vec();
            let _ignored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| listener.on_changes(doc_ids)));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Vec<String>>>);

    impl ChangeListener for Recorder {
        fn on_changes(&self, doc_ids: Vec<String>) -> Result<(), KefuError> {
            self.0.lock().unwrap().push(doc_ids);
            Ok(())
        }
    }

    struct Thrower;

    impl ChangeListener for Thrower {
        fn on_changes(&self, _doc_ids: Vec<String>) -> Result<(), KefuError> {
            panic!("listener failed");
        }
    }

    struct Failer;

    impl ChangeListener for Failer {
        fn on_changes(&self, _doc_ids: Vec<String>) -> Result<(), KefuError> {
            Err(KefuError::Internal { message: "screen gone".into() })
        }
    }

    #[test]
    fn notifies_only_non_empty_batches_and_survives_a_failing_listener() {
        let slot = ListenerSlot::default();
        slot.notify(&["a".into()]); // no listener: nothing happens
        let recorder = Arc::new(Recorder::default());
        slot.set(Some(recorder.clone()));
        slot.notify(&[]);
        slot.notify(&["a".into(), "b".into()]);
        assert_eq!(*recorder.0.lock().unwrap(), vec![vec!["a".to_string(), "b".to_string()]]);
        slot.set(Some(Arc::new(Thrower)));
        slot.notify(&["c".into()]);
        slot.set(Some(Arc::new(Failer)));
        slot.notify(&["c".into()]);
        slot.set(None);
        slot.notify(&["d".into()]);
        assert_eq!(recorder.0.lock().unwrap().len(), 1);
    }
}
