//! [`KefuError`]: every failure the app can see, as one flat uniffi error.
//!
//! Flat on purpose (UNIFFI-NOTES.md): with fields, uniffi would make the foreign
//! exception's message the field dump (`id=nope`); flat, it is our `Display` text, a
//! sentence a field worker can act on ("no such case: 5f0c…", "cannot go from
//! closed to completed"). The variant still tells the app's code what happened
//! (Kotlin `KefuException.NotFound`, Swift `KefuError.NotFound`, Python
//! `KefuError.NotFound`), so it can choose a screen without parsing text.
//!
//! Messages follow STYLE.md: lower case, no trailing period, naming the thing and
//! the bad value. Case text and customer data never appear in them (they may be
//! logged by the app).

use kefu_core::case::EditError;
use kefu_core::store::StoreError;

/// Why a call failed. When an edit fails, nothing was written.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum KefuError {
    /// No case or duty log with that id on this phone.
    #[error("no such {what}: {id}")]
    NotFound {
        /// "case", "duty log" or "document".
        what: String,
        /// The id asked for.
        id: String,
    },
    /// An argument is malformed: an id that is not one, a date not `YYYY-MM-DD`, a
    /// staff id with control characters.
    #[error("{message}")]
    InvalidInput {
        /// What is wrong, naming the value.
        message: String,
    },
    /// The edit breaks a rule (a field limit, the workflow, the return-visit
    /// policy) or would change nothing; nothing was written.
    #[error("{message}")]
    EditRefused {
        /// The rule, e.g. "cannot go from closed to completed".
        message: String,
    },
    /// The phone's store could not be opened or written (disk full, permissions,
    /// a damaged file, a store written by a newer app).
    #[error("{message}")]
    Storage {
        /// What failed and where.
        message: String,
    },
    /// The sync server could not be reached (no network, wrong address, server
    /// down, timed out). Nothing was lost: every change stays on the phone and goes
    /// out on the next sync.
    #[error("{message}")]
    Offline {
        /// What failed, naming the address.
        message: String,
    },
    /// The server refused the whole sync (bad or revoked token, protocol version,
    /// rate limit). Nothing was lost.
    #[error("{message}")]
    SyncRefused {
        /// The server's sentence and its stable code in parentheses.
        message: String,
    },
    /// The server answered with something that is not the sync protocol (a proxy's
    /// login page, a different service at that address).
    #[error("{message}")]
    SyncProtocol {
        /// What was wrong with the answer.
        message: String,
    },
    /// A bug in kefu, caught before it could cross into the app; the store is as it
    /// was before the call.
    #[error("internal error in kefu: {message}; please report it")]
    Internal {
        /// What went wrong.
        message: String,
    },
}

impl From<StoreError> for KefuError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { what, id } => KefuError::NotFound { what: what.to_string(), id },
            StoreError::Edit(EditError::Document(inner)) => KefuError::Internal { message: inner.to_string() },
            StoreError::Edit(edit) => KefuError::EditRefused { message: edit.to_string() },
            other @ (StoreError::Open { .. }
            | StoreError::Sql(_)
            | StoreError::TooNew { .. }
            | StoreError::Refused { .. }
            | StoreError::Corrupt(_)) => KefuError::Storage { message: other.to_string() },
            StoreError::Protocol(message) => KefuError::Internal { message },
        }
    }
}

impl KefuError {
    /// The error of step `step` of a batch: the same kind, its message naming the step.
    pub(crate) fn at_batch_step(self, step: usize) -> KefuError {
        let at = |message: String| format!("batch step {step}: {message}");
        match self {
            KefuError::NotFound { what, id } => KefuError::NotFound { what: at(what), id },
            KefuError::InvalidInput { message } => KefuError::InvalidInput { message: at(message) },
            KefuError::EditRefused { message } => KefuError::EditRefused { message: at(message) },
            KefuError::Storage { message } => KefuError::Storage { message: at(message) },
            other @ (KefuError::Offline { .. }
            | KefuError::SyncRefused { .. }
            | KefuError::SyncProtocol { .. }
            | KefuError::Internal { .. }) => other,
        }
    }
}

/// An exception thrown by the app's [`crate::ChangeListener`] arrives as this; the
/// listener slot ignores it (see `listener.rs`).
impl From<uniffi::UnexpectedUniFFICallbackError> for KefuError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KefuError::Internal { message: format!("the app's change listener failed: {}", err.reason) }
    }
}
