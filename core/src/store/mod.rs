//! [`CaseStore`]: every case, duty-log and roster document a device holds, durable on disk.
//!
//! One SQLite file (`kefu-store.sqlite3`) in the store's directory, WAL mode with
//! `synchronous=FULL`: a write returns only after its commit is fsync'd, and SQLite's
//! atomic commit means a process killed at any instant reopens with every returned
//! write and no torn state. Each edit appends one small automerge chunk
//! (`save_after` the previous heads) and rewrites the case's index row in the same
//! transaction; after [`StoreConfig::compact_after`] chunks the document is saved
//! whole and its chunks dropped, so the store grows by the edit, not by a copy of the
//! document. Listing reads only the index (`index.rs`).
//!
//! This is the only module of kefu-core that does IO. It holds the device's half of
//! the sync protocol (`sync_state.rs`: dirty documents, pushes, replies) but no
//! transport: drivers move the frames.

mod batch;
mod cache;
mod index;
mod requests;
mod rosters;
mod sync_state;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::attendance::{ATTENDANCE_TYPE, AttendanceDoc, is_attendance};
use crate::case::{
    CASE_TYPE, Case, CaseDoc, CaseEdit, CasePolicy, EditContext, EditError, EntryId, FieldConflict, LoadError, NewCase,
    SchemaErrors,
};
use crate::duty_log::{DUTY_LOG_TYPE, DutyEdit, DutyLog, DutyLogDoc, DutyShift, duty_log_id, is_duty_log};
use crate::ids::{CaseId, DeviceId, SplitMix64, StaffId, Timestamp};
use crate::request::{REQUEST_TYPE, RequestDoc, is_request};
use crate::roster::{ROSTER_TYPE, RosterDoc, is_roster};
pub use batch::CaseBatch;
use cache::DocCache;
pub use index::{CaseFilter, CaseSummary};
pub use sync_state::SyncOutcome;

/// The on-disk format version; a store written by a newer build is refused.
pub const STORE_FORMAT: i64 = 3;

/// Sync state format 2 adds to `meta`: the cursor's stamp, the highest acknowledged
/// position (`mark`), the count of pushes (`generation`) and the tags of the last eight
/// (`previous`; see `crate::sync::Push`).
const SYNC_META_V2: &str = "INSERT INTO meta (key, value) VALUES ('server_stamp', '0'), ('mark_seq', '0'),
     ('mark_stamp', '0'), ('generation', '0'), ('previous', '');";
const FILE_NAME: &str = "kefu-store.sqlite3";

/// Store settings.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Chunks a document may accumulate before it is rewritten as one snapshot.
    /// Default 32: load replays at most 32 small chunks, and a compaction (one
    /// `save()` of a small document) happens every 32 edits.
    pub compact_after: u32,
    /// Documents kept loaded in memory. Default 256.
    pub cache_capacity: usize,
    /// Team rules for status transitions.
    pub policy: CasePolicy,
    /// Where the store's random choices come from (case ids, store id, actor suffixes, push
    /// tags): `None` draws from the system; a deterministic simulation gives each opening its
    /// own seed so that a run replays exactly.
    pub seed: Option<u64>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { compact_after: 32, cache_capacity: 256, policy: CasePolicy::default(), seed: None }
    }
}

/// Why a store operation failed. When an edit fails, nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory or database file could not be opened or written.
    #[error("cannot use store at {path}: {source}")]
    Open {
        /// The store directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// SQLite failed (disk full, file locked, unreadable file).
    #[error("store database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The store was written by a newer version of kefu.
    #[error("store format {found} is newer than this app understands ({STORE_FORMAT}); update the app")]
    TooNew {
        /// Format on disk.
        found: i64,
    },
    /// No document with that id.
    #[error("no such {what}: {id}")]
    NotFound {
        /// "case" or "duty log".
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The edit was refused.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// Received bytes for a document were refused; nothing of the batch was stored.
    #[error("refused {id}: {source}")]
    Refused {
        /// The document the bytes were for.
        id: String,
        /// Why.
        source: LoadError,
    },
    /// A stored document or index row is unreadable.
    #[error("store is damaged: {0}")]
    Corrupt(String),
    /// A sync message does not fit the exchange it arrived in.
    #[error("sync protocol error: {0}")]
    Protocol(String),
}

/// A loaded document of either type.
#[derive(Clone)]
enum Doc {
    Case(CaseDoc),
    DutyLog(DutyLogDoc),
    Roster(RosterDoc),
    Request(RequestDoc),
    Attendance(AttendanceDoc),
}

impl Doc {
    fn automerge(&self) -> &automerge::Automerge {
        match self {
            Doc::Case(doc) => doc.automerge(),
            Doc::DutyLog(doc) => doc.automerge(),
            Doc::Roster(doc) => doc.automerge(),
            Doc::Request(doc) => doc.automerge(),
            Doc::Attendance(doc) => doc.automerge(),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Doc::Case(_) => CASE_TYPE,
            Doc::DutyLog(_) => DUTY_LOG_TYPE,
            Doc::Roster(_) => ROSTER_TYPE,
            Doc::Request(_) => REQUEST_TYPE,
            Doc::Attendance(_) => ATTENDANCE_TYPE,
        }
    }

    fn load(doc_type: &str, bytes: &[u8], device: DeviceId) -> Result<Doc, LoadError> {
        if doc_type == DUTY_LOG_TYPE {
            DutyLogDoc::load(bytes, device).map(Doc::DutyLog)
        } else if doc_type == ROSTER_TYPE {
            RosterDoc::load(bytes, device.actor()).map(Doc::Roster)
        } else if doc_type == REQUEST_TYPE {
            RequestDoc::load(bytes, device.actor()).map(Doc::Request)
        } else if doc_type == ATTENDANCE_TYPE {
            AttendanceDoc::load(bytes, device.actor()).map(Doc::Attendance)
        } else {
            CaseDoc::load(bytes, device).map(Doc::Case)
        }
    }
}

/// The device's durable store. Single-threaded: wrap it in a mutex to share it
/// (the FFI layer does).
pub struct CaseStore {
    conn: Connection,
    dir: PathBuf,
    device: DeviceId,
    /// Made once when the store is created; a backup restored keeps it, a reinstall does not.
    store_id: [u8; 16],
    /// Tags the pushes of this process (`Push::round`), so a session matches each reply.
    last_round: u64,
    random: Random,
    config: StoreConfig,
    cache: DocCache<Doc>,
}

impl CaseStore {
    /// Opens (creating if needed) the store in `dir`. Reads only the metadata: no
    /// document is loaded until it is asked for.
    pub fn open(dir: &Path, config: StoreConfig) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Open { path: dir.to_path_buf(), source })?;
        let mut conn = Connection::open(dir.join(FILE_NAME))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if version > STORE_FORMAT {
            return Err(StoreError::TooNew { found: version });
        }
        let mut random = Random(config.seed.map(SplitMix64));
        if version == 0 {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
            tx.execute_batch(include_str!("schema.sql"))?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('device_id', ?1)",
                [DeviceId::from_u128(u128::from_be_bytes(random.bytes_16())).to_string()],
            )?;
            tx.execute("INSERT INTO meta (key, value) VALUES ('next_provisional', '1')", [])?;
            tx.execute("INSERT INTO meta (key, value) VALUES ('server_cursor', '0')", [])?;
            tx.execute_batch(SYNC_META_V2)?;
            tx.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?1)", [hex_16(random.bytes_16())])?;
            tx.pragma_update(None, "user_version", STORE_FORMAT)?;
            tx.commit()?;
        } else if version == 1 {
            // Format 2: the sync protocol confirms what the device holds (`report`), names
            // the store (`store_id`) and stamps the cursor. A format-1 cursor has no stamp,
            // so the store starts again from 0: the server resends from what it knows.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
            tx.execute_batch(
                "ALTER TABLE sync_docs ADD COLUMN report INTEGER NOT NULL DEFAULT 0;
                 CREATE INDEX sync_docs_report ON sync_docs (report) WHERE report = 1;
                 UPDATE meta SET value = '0' WHERE key = 'server_cursor';",
            )?;
            tx.execute_batch(SYNC_META_V2)?;
            tx.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?1)", [hex_16(random.bytes_16())])?;
            tx.pragma_update(None, "user_version", 2)?;
            tx.commit()?;
        }
        if (1..=2).contains(&version) {
            // Format 3: roster, request and attendance documents. SQLite cannot change a CHECK, so `docs` is rebuilt
            // (its copy, then the swap), with foreign keys not yet enforced on this connection.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
            tx.execute_batch(
                "CREATE TABLE docs_v3 (
                     id        TEXT PRIMARY KEY,
                     doc_type  TEXT NOT NULL CHECK (doc_type IN ('case', 'duty_log', 'roster', 'request', 'attendance')),
                     snapshot  BLOB NOT NULL,
                     n_changes INTEGER NOT NULL DEFAULT 0
                 ) WITHOUT ROWID;
                 INSERT INTO docs_v3 (id, doc_type, snapshot, n_changes)
                     SELECT id, doc_type, snapshot, n_changes FROM docs;
                 DROP TABLE docs;
                 ALTER TABLE docs_v3 RENAME TO docs;",
            )?;
            tx.pragma_update(None, "user_version", STORE_FORMAT)?;
            tx.commit()?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let meta = |key: &str| -> Result<String, StoreError> {
            Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| row.get(0))?)
        };
        let device: DeviceId =
            meta("device_id")?.parse().map_err(|_| StoreError::Corrupt("device id in meta".into()))?;
        let store_id =
            parse_hex_16(&meta("store_id")?).ok_or_else(|| StoreError::Corrupt("store id in meta".into()))?;
        let cache = DocCache::new(config.cache_capacity);
        let device = fresh_install(device, &mut random);
        Ok(CaseStore { conn, dir: dir.to_path_buf(), device, store_id, last_round: 0, random, config, cache })
    }

    /// Makes this store write as an install of `device`, the device id of the token it
    /// syncs with: the server accepts only changes whose actor the pushing token owns
    /// ([`DeviceId::owns`]). A store already bound to `device` is left as it is. Changes
    /// written before binding, under an unbound actor, will be refused by the server
    /// (`doc.foreign_actor`), so apps bind before the first edit.
    pub fn bind_device(&mut self, device: DeviceId) -> Result<(), StoreError> {
        if device.owns(&self.device.actor()) {
            return Ok(());
        }
        self.conn.execute("UPDATE meta SET value = ?1 WHERE key = 'device_id'", [device.to_string()])?;
        self.device = fresh_install(device, &mut self.random);
        // Loaded documents carry the old actor.
        self.cache = DocCache::new(self.config.cache_capacity);
        Ok(())
    }

    /// The actor this store writes as now: an install of the device it is bound to
    /// ([`DeviceId::install`]); its [`DeviceId::short_tag`] is the device's.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Opens a new case with a provisional number; durable when this returns. A batch of
    /// one: the batch owns how a case is drawn (id, number) and written.
    pub fn create_case(&mut self, new: &NewCase, by: &StaffId, at: Timestamp) -> Result<Case, StoreError> {
        self.batch(|batch| batch.create_case(new, by, at))
    }

    /// Applies an edit to a case; durable when this returns. Returns the timeline
    /// entry it added, if any.
    pub fn edit_case(
        &mut self,
        id: CaseId,
        edit: &CaseEdit,
        by: &StaffId,
        at: Timestamp,
    ) -> Result<Option<EntryId>, StoreError> {
        let policy = self.config.policy.clone();
        let mut entry = None;
        self.write(&id.to_string(), "case", |doc| match doc {
            Doc::Case(doc) => {
                entry = doc.apply(&EditContext { at, by, policy: &policy }, edit)?;
                Ok(())
            }
            _ => Err(not_found("case", id.to_string())),
        })?;
        Ok(entry)
    }

    /// Reads a case.
    pub fn case(&mut self, id: CaseId) -> Result<Case, StoreError> {
        match self.doc(&id.to_string(), "case")? {
            Doc::Case(doc) => Ok(doc.read()),
            _ => Err(not_found("case", id.to_string())),
        }
    }

    /// Scalar fields of a case holding concurrent values.
    pub fn conflicts(&mut self, id: CaseId) -> Result<Vec<FieldConflict>, StoreError> {
        match self.doc(&id.to_string(), "case")? {
            Doc::Case(doc) => Ok(doc.conflicts()),
            _ => Err(not_found("case", id.to_string())),
        }
    }

    /// Lists cases from the index, newest update first.
    pub fn list(&self, filter: &CaseFilter) -> Result<Vec<CaseSummary>, StoreError> {
        index::list(&self.conn, filter)
    }

    /// Number of cases held.
    pub fn n_cases(&self) -> Result<usize, StoreError> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM case_index", [], |row| row.get::<_, i64>(0))? as usize)
    }

    /// Every case, read in full (for reports over a month; loads each document).
    pub fn all_cases(&mut self) -> Result<Vec<Case>, StoreError> {
        let ids: Vec<CaseId> = self.list(&CaseFilter::default())?.into_iter().map(|summary| summary.id).collect();
        ids.into_iter().map(|id| self.case(id)).collect()
    }

    /// Opens (or returns the existing) duty log for a date and shift.
    pub fn open_duty_log(&mut self, date: chrono::NaiveDate, shift: DutyShift) -> Result<DutyLog, StoreError> {
        let id = duty_log_id(date, shift);
        if self.doc_exists(&id)? {
            return self.duty_log(&id);
        }
        let doc = DutyLogDoc::create(self.device, date, shift)?;
        let log = doc.read();
        let doc = Doc::DutyLog(doc);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        persist(&tx, &id, &doc, None, self.config.compact_after)?;
        tx.commit()?;
        self.cache.insert(id, doc);
        Ok(log)
    }

    /// Applies an edit to a duty log; durable when this returns.
    pub fn edit_duty_log(&mut self, id: &str, edit: &DutyEdit, by: &StaffId, at: Timestamp) -> Result<(), StoreError> {
        self.write(id, "duty log", |doc| match doc {
            Doc::DutyLog(doc) => Ok(doc.apply(at, by, edit)?),
            _ => Err(not_found("duty log", id.to_string())),
        })
    }

    /// Reads a duty log.
    pub fn duty_log(&mut self, id: &str) -> Result<DutyLog, StoreError> {
        match self.doc(id, "duty log")? {
            Doc::DutyLog(doc) => Ok(doc.read()),
            _ => Err(not_found("duty log", id.to_string())),
        }
    }

    /// Duty-log ids for dates in `from..=to` (YYYY-MM-DD), oldest first.
    pub fn duty_logs_between(&self, from: chrono::NaiveDate, to: chrono::NaiveDate) -> Result<Vec<String>, StoreError> {
        let mut statement =
            self.conn.prepare_cached("SELECT id FROM duty_index WHERE date BETWEEN ?1 AND ?2 ORDER BY date, shift")?;
        let rows = statement.query_map([from.to_string(), to.to_string()], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Ids of every document held, cases and duty logs.
    pub fn doc_ids(&self) -> Result<Vec<String>, StoreError> {
        let mut statement = self.conn.prepare_cached("SELECT id FROM docs ORDER BY id")?;
        let rows = statement.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A document's current heads.
    pub fn heads(&mut self, doc_id: &str) -> Result<Vec<automerge::ChangeHash>, StoreError> {
        Ok(self.doc(doc_id, "document")?.automerge().get_heads())
    }

    /// The changes to a document since `heads` (all of it for `&[]`), as bytes
    /// another store's [`Self::receive`] accepts.
    pub fn export(&mut self, doc_id: &str, heads: &[automerge::ChangeHash]) -> Result<Vec<u8>, StoreError> {
        Ok(self.doc(doc_id, "document")?.automerge().save_after(heads))
    }

    /// Accepts a document or changes to one from elsewhere. They are validated
    /// against the schema on a copy first; refused bytes change nothing. Returns
    /// how many changes were new. Durable when this returns.
    pub fn receive(&mut self, doc_id: &str, bytes: &[u8]) -> Result<usize, StoreError> {
        self.receive_batch(&[(doc_id.to_string(), bytes.to_vec())])
    }

    /// [`Self::receive`] for many documents in one transaction (one fsync): an
    /// initial sync of thousands of cases. All or nothing: if any document is
    /// refused, none is stored, and the error names it.
    pub fn receive_batch(&mut self, docs: &[(String, Vec<u8>)]) -> Result<usize, StoreError> {
        // (id, document after the change, heads before it if it existed)
        let mut updated: Vec<(String, Doc, Option<Vec<automerge::ChangeHash>>)> = Vec::new();
        let mut n_new_total = 0;
        for (doc_id, bytes) in docs {
            let refused = |err: LoadError| StoreError::Refused { id: doc_id.clone(), source: err };
            let pending = updated.iter().position(|(id, _, _)| id == doc_id);
            let existing = match pending {
                Some(idx) => Some(updated[idx].1.clone()),
                None if self.doc_exists(doc_id)? => Some(self.doc(doc_id, "document")?.clone()),
                None => None,
            };
            let (doc, n_new, heads) = match existing {
                Some(mut doc) => {
                    let heads = doc.automerge().get_heads();
                    let n_new = match &mut doc {
                        Doc::Case(doc) => doc.receive(bytes),
                        Doc::DutyLog(doc) => doc.receive(bytes),
                        Doc::Roster(doc) => doc.receive(bytes),
                        Doc::Request(doc) => doc.receive(bytes),
                        Doc::Attendance(doc) => doc.receive(bytes),
                    }
                    .map_err(refused)?;
                    (doc, n_new, Some(heads))
                }
                None => {
                    let doc = self.decode_new(doc_id, bytes).map_err(refused)?;
                    let n_new = doc.automerge().get_changes(&[]).len();
                    (doc, n_new, None)
                }
            };
            n_new_total += n_new;
            if n_new == 0 {
                continue;
            }
            match pending {
                // Keep the heads from before the batch, so the stored chunk covers both.
                Some(idx) => updated[idx].1 = doc,
                None => updated.push((doc_id.clone(), doc, heads)),
            }
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (id, doc, heads) in &updated {
            persist(&tx, id, doc, heads.as_deref(), self.config.compact_after)?;
        }
        tx.commit()?;
        for (id, doc, _) in updated {
            self.cache.insert(id, doc);
        }
        Ok(n_new_total)
    }

    /// Decodes a document this store does not hold yet, checking its type, schema
    /// and that it is the document it claims to be. The bytes come from elsewhere,
    /// so they are admitted against the document budget before automerge sees them.
    fn decode_new(&self, doc_id: &str, bytes: &[u8]) -> Result<Doc, LoadError> {
        crate::case::admit_bytes(bytes, &crate::case::AdmissionBudget::DOCUMENT)?;
        let doc = crate::case::decode_guarded(|| {
            let am = automerge::Automerge::load_with_options(
                bytes,
                automerge::LoadOptions::new().text_encoding(crate::case::TEXT_ENCODING),
            )?
            .with_actor(self.device.actor());
            crate::case::check_reloads(&am)?;
            Ok::<_, LoadError>(if is_duty_log(&am) {
                Doc::DutyLog(DutyLogDoc::from_automerge(am)?)
            } else if is_roster(&am) {
                Doc::Roster(RosterDoc::from_automerge(am)?)
            } else if is_request(&am) {
                Doc::Request(RequestDoc::from_automerge(am)?)
            } else if is_attendance(&am) {
                Doc::Attendance(AttendanceDoc::from_automerge(am)?)
            } else {
                Doc::Case(CaseDoc::from_automerge(am)?)
            })
        })?;
        let actual_id = match &doc {
            Doc::Case(case) => case.id().to_string(),
            Doc::DutyLog(log) => log.id().to_string(),
            Doc::Roster(roster) => roster.id().to_string(),
            Doc::Request(request) => request.id().to_string(),
            Doc::Attendance(record) => record.id().to_string(),
        };
        if actual_id != doc_id {
            return Err(LoadError::Schema(SchemaErrors(vec![crate::case::SchemaError {
                path: "id".into(),
                reason: format!("document is {actual_id}, not {doc_id}"),
            }])));
        }
        Ok(doc)
    }

    /// Rewrites every document with pending chunks as one snapshot. Edits do this
    /// per document as they go; this is for a quiet moment (app in background).
    pub fn compact(&mut self) -> Result<usize, StoreError> {
        let ids: Vec<String> = {
            let mut statement = self.conn.prepare("SELECT id FROM docs WHERE n_changes > 0")?;
            statement.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?
        };
        for id in &ids {
            let snapshot = self.doc(id, "document")?.automerge().save();
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            replace_snapshot(&tx, id, &snapshot)?;
            tx.commit()?;
        }
        Ok(ids.len())
    }

    /// Bytes the documents take on disk (snapshots and chunks, not the index): what a
    /// settings screen shows, and what compaction keeps within half again of the
    /// documents' compact size.
    pub fn stored_bytes(&self) -> Result<u64, StoreError> {
        let bytes: i64 = self.conn.query_row(
            "SELECT (SELECT COALESCE(SUM(length(snapshot)), 0) FROM docs)
                  + (SELECT COALESCE(SUM(length(bytes)), 0) FROM changes)",
            [],
            |row| row.get(0),
        )?;
        Ok(bytes.unsigned_abs())
    }

    fn doc_exists(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.conn.query_row("SELECT 1 FROM docs WHERE id = ?1", [id], |_| Ok(())).optional()?.is_some())
    }

    /// The loaded document, from the cache or disk.
    fn doc(&mut self, id: &str, what: &'static str) -> Result<&mut Doc, StoreError> {
        if self.cache.get_mut(id).is_none() {
            let doc = self.load(id, what)?;
            self.cache.insert(id.to_string(), doc);
        }
        Ok(self.cache.get_mut(id).expect("inserted above"))
    }

    fn load(&self, id: &str, what: &'static str) -> Result<Doc, StoreError> {
        let (doc_type, mut bytes): (String, Vec<u8>) = self
            .conn
            .query_row("SELECT doc_type, snapshot FROM docs WHERE id = ?1", [id], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?
            .ok_or_else(|| not_found(what, id.to_string()))?;
        let mut statement = self.conn.prepare_cached("SELECT bytes FROM changes WHERE doc_id = ?1 ORDER BY seq")?;
        for chunk in statement.query_map([id], |row| row.get::<_, Vec<u8>>(0))? {
            bytes.extend_from_slice(&chunk?);
        }
        Doc::load(&doc_type, &bytes, self.device).map_err(|err| StoreError::Corrupt(format!("document {id}: {err}")))
    }

    /// Applies `change` to a copy of the loaded document, persists the new chunk and
    /// index row in one fsync'd transaction, and only then replaces the cached
    /// document: a refused edit or a failed write leaves memory and disk as they were.
    fn write(
        &mut self,
        id: &str,
        what: &'static str,
        change: impl FnOnce(&mut Doc) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let compact_after = self.config.compact_after;
        let mut doc = self.doc(id, what)?.clone();
        let heads = doc.automerge().get_heads();
        change(&mut doc)?;
        if doc.automerge().get_heads() == heads {
            return Ok(());
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        persist(&tx, id, &doc, Some(&heads), compact_after)?;
        tx.commit()?;
        self.cache.insert(id.to_string(), doc);
        Ok(())
    }
}

/// The actor of this opening of the store: the device's prefix and a suffix of its own.
/// A new actor every time the store opens, because automerge needs each actor's change
/// numbers to be unique: a phone restored from a backup, or a reinstalled app, would
/// otherwise number new changes the server already holds under the same actor.
fn fresh_install(device: DeviceId, random: &mut Random) -> DeviceId {
    device.install(random.bytes_16()[..8].try_into().expect("8 of 16 bytes"))
}

fn hex_16(bytes: [u8; 16]) -> String {
    uuid::Uuid::from_bytes(bytes).simple().to_string()
}

/// The store's random choices: the system's, or a seeded splitmix64 (`StoreConfig::seed`).
struct Random(Option<SplitMix64>);

impl Random {
    fn bytes_16(&mut self) -> [u8; 16] {
        match &mut self.0 {
            None => *uuid::Uuid::new_v4().as_bytes(),
            Some(rng) => ((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())).to_be_bytes(),
        }
    }

    /// A version-7 UUID (see [`CaseId`]): the opening time's milliseconds, then the low 12 bits of
    /// the store's case `sequence` (so cases opened in one millisecond still sort in order), then
    /// random bits. Whatever drew the random bits, ids sort in the order the cases were opened.
    fn case_id(&mut self, at: Timestamp, sequence: u64) -> CaseId {
        let mut tail: [u8; 10] = self.bytes_16()[..10].try_into().expect("10 of 16 bytes");
        tail[0] = ((sequence >> 8) & 0x0f) as u8;
        tail[1] = (sequence & 0xff) as u8;
        let millis = u64::try_from(at.0).unwrap_or(0);
        CaseId::from_u128(uuid::Builder::from_unix_timestamp_millis(millis, &tail).into_uuid().as_u128())
    }

    fn tag(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes_16()[..4].try_into().expect("4 of 16 bytes"))
    }
}

fn parse_hex_16(text: &str) -> Option<[u8; 16]> {
    uuid::Uuid::try_parse(text).ok().map(|id| *id.as_bytes())
}

fn not_found(what: &'static str, id: String) -> StoreError {
    StoreError::NotFound { what, id }
}

/// Stores a document: a new row when `heads` is `None`, else the chunk of changes
/// since `heads` (or a fresh snapshot once `compact_after` chunks have piled up);
/// then its index row. Runs inside the caller's transaction.
fn persist(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    doc: &Doc,
    heads: Option<&[automerge::ChangeHash]>,
    compact_after: u32,
) -> Result<(), StoreError> {
    match heads {
        None => {
            tx.execute(
                "INSERT INTO docs (id, doc_type, snapshot, n_changes) VALUES (?1, ?2, ?3, 0)",
                params![id, doc.type_name(), doc.automerge().save()],
            )?;
        }
        Some(heads) => {
            let (n_changes, snapshot_bytes, chunk_bytes): (u32, i64, i64) = tx.query_row(
                "SELECT n_changes, length(snapshot),
                        (SELECT COALESCE(SUM(length(bytes)), 0) FROM changes WHERE doc_id = ?1)
                 FROM docs WHERE id = ?1",
                [id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )?;
            let chunk = doc.automerge().save_after(heads);
            // Chunks are uncompressed change history, three times the saved form's size: left
            // alone they would hold a busy case at several times its compact size (issue 16).
            // So a document is saved afresh once its chunks outweigh half its snapshot, or once
            // `compact_after` of them have piled up, whichever comes first.
            let outweigh = (chunk_bytes + chunk.len() as i64) * 2 > snapshot_bytes;
            if n_changes + 1 >= compact_after || outweigh {
                replace_snapshot(tx, id, &doc.automerge().save())?;
            } else {
                tx.execute(
                    "INSERT INTO changes (doc_id, seq, bytes) VALUES (?1, ?2, ?3)",
                    params![id, n_changes + 1, chunk],
                )?;
                tx.execute("UPDATE docs SET n_changes = ?2 WHERE id = ?1", params![id, n_changes + 1])?;
            }
        }
    }
    sync_state::mark_dirty(tx, id)?;
    write_index(tx, doc)
}

fn replace_snapshot(tx: &rusqlite::Transaction<'_>, id: &str, snapshot: &[u8]) -> Result<(), StoreError> {
    tx.execute("UPDATE docs SET snapshot = ?2, n_changes = 0 WHERE id = ?1", params![id, snapshot])?;
    tx.execute("DELETE FROM changes WHERE doc_id = ?1", [id])?;
    Ok(())
}

fn write_index(tx: &rusqlite::Transaction<'_>, doc: &Doc) -> Result<(), StoreError> {
    match doc {
        Doc::Case(doc) => {
            let case = doc.read();
            let has_conflict = case.status.conflict.is_some() || !doc.conflicts().is_empty();
            index::upsert_case(tx, &case, has_conflict)
        }
        Doc::DutyLog(doc) => upsert_duty_index(tx, &doc.read()),
        // Few per store (a roster per period, a phone's own requests and months): read from
        // the documents, not an index.
        Doc::Roster(_) | Doc::Request(_) | Doc::Attendance(_) => Ok(()),
    }
}

fn upsert_duty_index(tx: &rusqlite::Transaction<'_>, log: &DutyLog) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO duty_index (id, date, shift, n_handover) VALUES (?1, ?2, ?3, ?4)",
        params![log.id, log.date.to_string(), log.shift.code(), log.handover.len() as i64],
    )?;
    Ok(())
}
