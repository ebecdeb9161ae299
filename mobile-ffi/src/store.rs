//! [`KefuStore`]: the object the app opens once on its private directory and holds
//! for its lifetime. Every case and duty-log call goes through it; sync is in
//! `driver.rs`.
//!
//! Thread-safe: the core store sits in a `std::sync::Mutex` (shared with the sync
//! driver as `kefu_client::SharedStore`), locked for the length of one core call
//! and never across a network wait, so the app may call from any thread, and keep
//! editing while a sync is in flight. Every call is durable when it returns (the
//! core store fsyncs before returning).
//!
//! No panic crosses into the app: each core call runs under `catch_unwind` and a
//! panic becomes [`KefuError::Internal`], after which the store is reopened from
//! disk (whatever the panic interrupted was either committed or rolled back by
//! SQLite, so disk is the truth; the in-memory cache may not be). Left out: the
//! clock is the phone's (`Timestamp::now`), not an argument; the core takes it as
//! an argument for its tests, and an app has no better clock to give.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use kefu_core::ids::{StaffId, Timestamp};
use kefu_core::store::{CaseStore, StoreConfig};

use crate::connection::ConnectionOptions;
use crate::error::KefuError;
use crate::listener::{ChangeListener, ListenerSlot};
use crate::records::{
    self, Case, CaseEdit, CaseFilter, CaseSummary, DutyEdit, DutyLog, DutyShift, FieldConflict, NewCase, Satisfaction,
    Status, SyncRefusal, ffi_count,
};

pub(crate) use kefu_client::SharedStore;

/// The phone's case store: open it once on an app-private directory and keep it.
///
/// Edits are made as the signed-in staff member given at [`KefuStore::open`]
/// (change it with [`KefuStore::set_staff`]) at the phone's clock.
#[derive(uniffi::Object)]
pub struct KefuStore {
    pub(crate) shared: SharedStore,
    dir: PathBuf,
    staff: RwLock<StaffId>,
    pub(crate) listener: ListenerSlot,
    /// One sync at a time per store: two concurrent syncs would push the same
    /// documents twice. Held across the network wait, so a tokio mutex.
    pub(crate) sync_gate: tokio::sync::Mutex<()>,
    /// Signalled after every local write, so a live session pushes it at once.
    /// `notify_one` keeps a permit when the session is busy, so no edit is missed.
    pub(crate) local_change: tokio::sync::Notify,
    /// How syncs and live sessions connect (`connection.rs`).
    pub(crate) connection: RwLock<ConnectionOptions>,
}

impl KefuStore {
    /// Runs `work` on the core store under its lock, turning a panic into
    /// [`KefuError::Internal`] (see the module doc).
    pub(crate) fn with_store<T>(
        &self,
        work: impl FnOnce(&mut CaseStore) -> Result<T, KefuError>,
    ) -> Result<T, KefuError> {
        with_shared(&self.shared, &self.dir, work)
    }

    pub(crate) fn staff_now(&self) -> StaffId {
        self.staff.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// [`KefuStore::with_store`] for callers holding only the shared store.
pub(crate) fn with_shared<T>(
    shared: &SharedStore,
    dir: &std::path::Path,
    work: impl FnOnce(&mut CaseStore) -> Result<T, KefuError>,
) -> Result<T, KefuError> {
    // The guard lives outside `catch_unwind`, so a caught panic never poisons the
    // mutex. A poisoned one (a panic inside a kefu-client call) is recovered the
    // same way as a caught panic: reopen from disk.
    let mut guard = match shared.lock() {
        Ok(guard) => guard,
        Err(poisoned) => {
            let mut guard = poisoned.into_inner();
            reopen(&mut guard, dir);
            shared.clear_poison();
            guard
        }
    };
    // AssertUnwindSafe: after a panic we reopen the store from disk below, so no
    // half-updated in-memory state survives it.
    match catch_unwind(AssertUnwindSafe(|| work(&mut guard))) {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            reopen(&mut guard, dir);
            Err(KefuError::Internal { message })
        }
    }
}

/// Replaces the store with a fresh one opened from disk, dropping in-memory state
/// a panic may have left half-updated. If reopening fails, the old one is kept: the
/// next call then reports its own error.
fn reopen(store: &mut CaseStore, dir: &std::path::Path) {
    if let Ok(reopened) = CaseStore::open(dir, StoreConfig::default()) {
        *store = reopened;
    }
}

#[uniffi::export]
impl KefuStore {
    /// Opens (creating if needed) the store in `dir`, an app-private directory,
    /// with `staff` as the signed-in staff member. Cheap: no case is loaded until
    /// asked for.
    #[uniffi::constructor]
    pub fn open(dir: String, staff: String) -> Result<Arc<Self>, KefuError> {
        let staff = records::staff_id(&staff)?;
        let dir = PathBuf::from(dir);
        let store = catch_unwind(|| CaseStore::open(&dir, StoreConfig::default()))
            .map_err(|_| KefuError::Internal { message: "panic while opening the store".into() })??;
        Ok(Arc::new(KefuStore {
            shared: Arc::new(Mutex::new(store)),
            dir,
            staff: RwLock::new(staff),
            listener: ListenerSlot::default(),
            sync_gate: tokio::sync::Mutex::new(()),
            local_change: tokio::sync::Notify::new(),
            connection: RwLock::new(ConnectionOptions::default()),
        }))
    }

    /// Binds the store to this phone's `device_token` (from `kefu admin device issue`).
    /// Call it at sign-in, before the first edit: the server accepts only changes written
    /// under the token's device, so edits made before binding would be refused
    /// (`doc.foreign_actor`). Syncing binds too; binding again to the same token does nothing.
    pub fn bind_device(&self, device_token: String) -> Result<(), KefuError> {
        let device = kefu_core::ids::DeviceId::of_token(&device_token)
            .ok_or_else(|| KefuError::InvalidInput { message: "the device token is not a kefu token".into() })?;
        self.with_store(|store| Ok(store.bind_device(device)?))
    }

    /// The actor this phone writes as now (a UUID: the device's first half, this opening's second).
    pub fn device_id(&self) -> Result<String, KefuError> {
        self.with_store(|store| Ok(store.device().to_string()))
    }

    /// The staff member edits are recorded under.
    pub fn staff(&self) -> String {
        self.staff_now().as_str().to_string()
    }

    /// Changes the signed-in staff member (a shift change on a shared phone).
    pub fn set_staff(&self, staff: String) -> Result<(), KefuError> {
        let staff = records::staff_id(&staff)?;
        *self.staff.write().unwrap_or_else(PoisonError::into_inner) = staff;
        Ok(())
    }

    /// Opens a case with a provisional number; durable when this returns.
    pub fn create_case(&self, new_case: NewCase) -> Result<Case, KefuError> {
        let staff = self.staff_now();
        let new_case = new_case.into();
        let case = self.with_store(|store| Ok(store.create_case(&new_case, &staff, Timestamp::now())?.into()))?;
        self.local_change.notify_one();
        Ok(case)
    }

    /// Applies one edit to a case; durable when this returns. Returns the id of the
    /// timeline entry it added, if it added one (notes, transitions, feedback...).
    pub fn edit_case(&self, case_id: String, edit: CaseEdit) -> Result<Option<String>, KefuError> {
        let id = records::case_id(&case_id)?;
        let edit = edit.into_core()?;
        let staff = self.staff_now();
        let entry = self.with_store(|store| {
            let entry = store.edit_case(id, &edit, &staff, Timestamp::now())?;
            Ok(entry.map(|entry| entry.as_str().to_string()))
        })?;
        self.local_change.notify_one();
        Ok(entry)
    }

    /// Appends a note; returns its entry id.
    pub fn add_note(&self, case_id: String, text: String) -> Result<String, KefuError> {
        self.edit_with_entry(case_id, CaseEdit::AddNote { text })
    }

    /// Transitions the status (refused if the workflow does not allow it); returns
    /// the status entry's id.
    pub fn transition(&self, case_id: String, to: Status, reason: String) -> Result<String, KefuError> {
        self.edit_with_entry(case_id, CaseEdit::Transition { to, reason })
    }

    /// Records a return visit (回访); returns its entry id.
    pub fn record_return_visit(
        &self,
        case_id: String,
        satisfaction: Satisfaction,
        comment: String,
    ) -> Result<String, KefuError> {
        self.edit_with_entry(case_id, CaseEdit::ReturnVisit { satisfaction, comment })
    }

    /// Deletes `delete` characters at `pos` of the description and inserts
    /// `insert` there; concurrent splices from other phones merge character-wise.
    pub fn splice_description(&self, case_id: String, pos: u32, delete: u32, insert: String) -> Result<(), KefuError> {
        self.edit_case(case_id, CaseEdit::SpliceDescription { pos, delete, insert }).map(|_| ())
    }

    /// Reads a case. (Not named `case`: that is a keyword in Swift.)
    pub fn get_case(&self, case_id: String) -> Result<Case, KefuError> {
        let id = records::case_id(&case_id)?;
        self.with_store(|store| Ok(store.case(id)?.into()))
    }

    /// Lists cases from the index (no case is loaded), newest update first.
    pub fn list(&self, filter: CaseFilter) -> Result<Vec<CaseSummary>, KefuError> {
        let filter = filter.into_core()?;
        self.with_store(|store| Ok(store.list(&filter)?.into_iter().map(Into::into).collect()))
    }

    /// Cases whose subject, customer, numbers or tags contain `text`
    /// (case-insensitive), at most `limit` (0: all).
    pub fn search(&self, text: String, limit: u32) -> Result<Vec<CaseSummary>, KefuError> {
        self.list(CaseFilter { text: Some(text), limit, ..CaseFilter::default() })
    }

    /// Number of cases on this phone.
    pub fn n_cases(&self) -> Result<u32, KefuError> {
        self.with_store(|store| Ok(ffi_count(store.n_cases()?)))
    }

    /// Scalar fields of a case holding concurrent values from different phones.
    pub fn conflicts(&self, case_id: String) -> Result<Vec<FieldConflict>, KefuError> {
        let id = records::case_id(&case_id)?;
        self.with_store(|store| Ok(store.conflicts(id)?.into_iter().map(Into::into).collect()))
    }

    /// Documents with changes not yet acknowledged by the server (the "waiting to
    /// send" badge).
    pub fn pending_docs(&self) -> Result<u32, KefuError> {
        self.with_store(|store| Ok(ffi_count(store.pending_docs()?)))
    }

    /// The server's standing refusal of a document, if any (it is not sent again
    /// until it changes).
    pub fn refusal(&self, doc_id: String) -> Result<Option<SyncRefusal>, KefuError> {
        self.with_store(|store| {
            Ok(store.refusal(&doc_id)?.map(|refusal| SyncRefusal {
                doc_id: doc_id.clone(),
                code: refusal.code.code().to_string(),
                message: refusal.message,
            }))
        })
    }

    /// Opens (or returns the existing) duty log for a date (`YYYY-MM-DD`) and shift.
    /// Two phones opening the same shift offline open the same document.
    pub fn open_duty_log(&self, date: String, shift: DutyShift) -> Result<DutyLog, KefuError> {
        let date = records::date(&date)?;
        let log = self.with_store(|store| Ok(store.open_duty_log(date, shift.into())?.into()))?;
        self.local_change.notify_one();
        Ok(log)
    }

    /// Applies one edit to a duty log (entries, staff, handover); durable when this
    /// returns. Returns the log as it now reads.
    pub fn edit_duty_log(&self, duty_log_id: String, edit: DutyEdit) -> Result<DutyLog, KefuError> {
        let edit = edit.into_core()?;
        let staff = self.staff_now();
        let log = self.with_store(|store| {
            store.edit_duty_log(&duty_log_id, &edit, &staff, Timestamp::now())?;
            Ok(store.duty_log(&duty_log_id)?.into())
        })?;
        self.local_change.notify_one();
        Ok(log)
    }

    /// Reads a duty log.
    pub fn duty_log(&self, duty_log_id: String) -> Result<DutyLog, KefuError> {
        self.with_store(|store| Ok(store.duty_log(&duty_log_id)?.into()))
    }

    /// Ids of the duty logs dated `from..=to` (`YYYY-MM-DD`), oldest first.
    pub fn duty_logs_between(&self, from: String, to: String) -> Result<Vec<String>, KefuError> {
        let (from, to) = (records::date(&from)?, records::date(&to)?);
        self.with_store(|store| Ok(store.duty_logs_between(from, to)?))
    }

    /// Sets (or with `None` removes) the listener told about changes arriving
    /// from the server.
    pub fn set_change_listener(&self, listener: Option<Arc<dyn ChangeListener>>) {
        self.listener.set(listener);
    }

    /// Rewrites documents with many small pending chunks as snapshots; for a quiet
    /// moment (app in background). Returns how many were rewritten.
    pub fn compact(&self) -> Result<u32, KefuError> {
        self.with_store(|store| Ok(ffi_count(store.compact()?)))
    }
}

impl KefuStore {
    fn edit_with_entry(&self, case_id: String, edit: CaseEdit) -> Result<String, KefuError> {
        self.edit_case(case_id, edit)?
            .ok_or_else(|| KefuError::Internal { message: "the edit recorded no timeline entry".into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{CaseKind, Channel, Customer, Priority};

    fn new_case(subject: &str) -> NewCase {
        NewCase {
            kind: CaseKind::Repair,
            channel: Channel::Phone,
            customer: Customer { name: "王芳".into(), phone: "138".into(), address: "3-2-1101".into() },
            subject: subject.into(),
            description: "Water".into(),
            priority: Priority::Urgent,
            service: None,
        }
    }

    fn open(dir: &tempfile::TempDir) -> Arc<KefuStore> {
        KefuStore::open(dir.path().to_string_lossy().into_owned(), "desk.li".into()).unwrap()
    }

    #[test]
    fn error_texts_name_the_thing_and_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let id = store.create_case(new_case("flood")).unwrap().id;
        let missing = "5f0c2a47-1111-4222-8333-944455556666";
        let cases: Vec<(KefuError, &str)> = vec![
            (store.get_case("nope".into()).unwrap_err(), "InvalidInput: invalid case id: \"nope\""),
            (
                store.add_note(missing.into(), "x".into()).unwrap_err(),
                "NotFound: no such case: 5f0c2a47-1111-4222-8333-944455556666",
            ),
            (
                store.transition(id.clone(), Status::Closed, String::new()).unwrap_err(),
                "EditRefused: a repair case can be closed only after a return visit",
            ),
            (store.transition(id.clone(), Status::New, String::new()).unwrap_err(), "EditRefused: case is already new"),
            (store.duty_log("duty:x".into()).unwrap_err(), "NotFound: no such duty log: duty:x"),
            (
                store.open_duty_log("2026-13-01".into(), DutyShift::Day).unwrap_err(),
                "InvalidInput: invalid date: \"2026-13-01\" (expected YYYY-MM-DD)",
            ),
        ];
        for (err, expected) in cases {
            let variant = format!("{err:?}");
            let variant = variant.split([' ', '{']).next().unwrap();
            assert_eq!(format!("{variant}: {err}"), expected);
        }
    }

    #[test]
    fn a_panic_becomes_a_typed_error_and_the_store_stays_usable() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let id = store.create_case(new_case("flood")).unwrap().id;
        let err = store.with_store(|_| -> Result<(), KefuError> { panic!("boom") }).unwrap_err();
        assert_eq!(err.to_string(), "internal error in kefu: boom; please report it");
        assert_eq!(store.get_case(id).unwrap().subject, "flood");
        assert_eq!(store.n_cases().unwrap(), 1);
    }

    #[test]
    fn offline_sync_fails_fast_and_keeps_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        store.create_case(new_case("flood")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}");
        let started = std::time::Instant::now();
        let err = store.sync_blocking(url.clone(), "token".into()).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
        assert!(matches!(err, KefuError::Offline { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.starts_with(&format!("cannot reach the server at {url}/v1/sync: ")), "{text}");
        assert!(text.ends_with("; your changes are kept on this phone"), "{text}");
        assert_eq!(store.pending_docs().unwrap(), 1);
    }
}
