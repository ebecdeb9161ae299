//! Server storage: the [`Storage`] trait the rest of the server talks to, its record types, and
//! its two implementations: SQLite (`sqlite.rs`, the embedded default) and PostgreSQL
//! (`postgres/`, for several server processes on one database). [`open`] picks one from `--db`.
//!
//! The trait is synchronous and coarse: one call is one unit of work (a whole sync round is one
//! call and one transaction; DESIGN.md decision 8). Callers run it on tokio's blocking pool, so
//! neither database ever blocks a runtime thread. `rows.rs` holds what both backends share.
//!
//! Leaves out: the sync rules themselves (`kefu_core::sync::server`), and HTTP shapes (`http/`).

mod group_commit;
mod health;
mod postgres;
#[cfg(test)]
mod round_tests;
mod rows;
mod sqlite;

use std::sync::Arc;

use kefu_core::case::{CaseKind, Status};
use kefu_core::ids::{DeviceId, Timestamp};
use kefu_core::sync::Push;
use kefu_core::sync::server::{AcceptedDoc, RoundContext, RoundError};
use kefu_core::sync::session::SessionHeads;
pub use postgres::PgStorage;
pub use sqlite::SqliteStorage;

use crate::auth::{MintedToken, Role};
use crate::config::DbLocation;

/// Most names whose failed sign-ins are counted at once ([`Storage::sign_in_failed`]).
pub const MAX_SIGN_IN_NAMES: i64 = 10_000;

/// Opens (creating and migrating as needed) the database `--db` names.
pub fn open(db: &DbLocation) -> Result<Arc<dyn Storage>, StorageError> {
    Ok(match db {
        DbLocation::Sqlite(path) => Arc::new(SqliteStorage::open(path)?),
        DbLocation::Postgres(url) => Arc::new(PgStorage::open(url)?),
    })
}

/// A PostgreSQL URL as fit for logs: user, host, port and database, never the password.
pub fn describe_postgres(url: &str) -> String {
    url.parse().map_or_else(|_| "postgres://(an unparsable URL)".into(), |config| postgres::describe(&config))
}

/// A storage failure. Shown to administrators; to devices it is `server.internal`.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed, or the connection to it.
    #[error("database error: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// The database holds something this build cannot read.
    #[error("database is corrupt or from a newer kefu: {0}")]
    Corrupt(String),
    /// A unique name is taken (e.g. a team name).
    #[error("{0}")]
    Conflict(String),
    /// The database cannot serve: its file is gone or it refuses reads or writes (health check).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Creating the database's directory failed.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A team.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamRecord {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
}

/// A device as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Device id (also its automerge actor).
    pub id: DeviceId,
    /// Team row id.
    pub team_id: i64,
    /// Team name.
    pub team_name: String,
    /// Role.
    pub role: Role,
    /// Administrator's label ("desk 3", "li.wei's phone").
    pub label: String,
    /// Per-token salt.
    pub token_salt: Vec<u8>,
    /// SHA-256 of salt and secret.
    pub token_hash: Vec<u8>,
    /// When issued.
    pub created_at: Timestamp,
    /// When revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// The staff member the device is issued to: every entry it pushes must name them.
    pub staff: Option<String>,
}

/// A device to insert.
#[derive(Clone, Debug)]
pub struct NewDevice {
    /// Device id.
    pub id: DeviceId,
    /// Team row id.
    pub team_id: i64,
    /// Role.
    pub role: Role,
    /// Label.
    pub label: String,
    /// Salt of the token.
    pub token_salt: [u8; 16],
    /// Hash of the token.
    pub token_hash: [u8; 32],
    /// Issue time.
    pub created_at: Timestamp,
    /// The staff member the device is issued to, if it is one person's.
    pub staff: Option<String>,
}

impl NewDevice {
    /// A device row for a freshly minted token.
    pub fn new(id: DeviceId, team_id: i64, role: Role, label: &str, token: &MintedToken, now: Timestamp) -> Self {
        NewDevice {
            staff: None,
            id,
            team_id,
            role,
            label: label.to_string(),
            token_salt: token.salt,
            token_hash: token.hash,
            created_at: now,
        }
    }
}

/// Filters of the supervisor's case list; every field narrows.
#[derive(Clone, Debug, Default)]
pub struct CaseQuery {
    /// Only cases with this derived status.
    pub status: Option<Status>,
    /// Only this kind.
    pub kind: Option<CaseKind>,
    /// Only cases assigned to this staff member.
    pub assignee: Option<String>,
    /// Only cases with a reply or return visit overdue at this instant.
    pub overdue_at: Option<Timestamp>,
    /// Only cases of this department.
    pub department: Option<String>,
    /// Only cases opened at or after this instant.
    pub created_from: Option<Timestamp>,
    /// Only cases opened before this instant.
    pub created_before: Option<Timestamp>,
    /// Only the case whose server or provisional number is exactly this.
    pub number: Option<String>,
    /// Only cases whose number, customer name, phone (or its digits) or subject contains this.
    pub search: Option<String>,
    /// At most this many rows, newest first.
    pub limit: usize,
}

/// One row of the server's case index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRow {
    /// Case id.
    pub case_id: String,
    /// Provisional number.
    pub provisional: String,
    /// Server number, once assigned.
    pub assigned: Option<String>,
    /// Kind code.
    pub kind: String,
    /// Channel code.
    pub channel: String,
    /// Status code.
    pub status: String,
    /// Concurrent status transitions are unresolved.
    pub status_conflict: bool,
    /// Priority code.
    pub priority: String,
    /// Assignee.
    pub assignee: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Subject line.
    pub subject: String,
    /// Customer's name.
    pub customer_name: String,
    /// Customer's phone as entered.
    pub customer_phone: String,
    /// Opened at.
    pub created_at: Timestamp,
    /// Last edit.
    pub updated_at: Timestamp,
    /// Reply due, if one is promised.
    pub reply_due: Option<Timestamp>,
    /// Reply given at.
    pub reply_done_at: Option<Timestamp>,
    /// Return visit due.
    pub visit_due: Option<Timestamp>,
    /// Return visit made at.
    pub visit_done_at: Option<Timestamp>,
}

/// A person who signs in to the console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// Row id.
    pub id: i64,
    /// Sign-in name, unique across teams.
    pub name: String,
    /// Team row id.
    pub team_id: i64,
    /// Team name.
    pub team_name: String,
    /// Supervisor or admin (never staff).
    pub role: Role,
    /// argon2id PHC string.
    pub password: String,
}

/// A signed-in browser session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSessionRecord {
    /// Who signed in.
    pub user: UserRecord,
    /// The session's CSRF token.
    pub csrf: String,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// One saved version of a team's team file (the solver's TOML).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamFileRecord {
    /// 1, 2, ... per team.
    pub version: i64,
    /// The TOML text, as accepted by `kefu_solver::parse_team`.
    pub toml: String,
    /// Console user who saved it.
    pub saved_by: String,
    /// When.
    pub saved_at: Timestamp,
}

/// One version of a team's roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterRecord {
    /// 1, 2, ... per team.
    pub version: i64,
    /// The team file version it was made from.
    pub team_version: i64,
    /// The solver's JSON output contract (`kefu_solver::output::OutcomeJson`).
    pub roster_json: String,
    /// Who generated it or last moved a shift in it.
    pub made_by: String,
    /// When.
    pub made_at: Timestamp,
    /// Who published it and when; `None` for a draft.
    pub published: Option<(String, Timestamp)>,
}

/// The phones' document of a roster being published (`kefu_core::roster`), stored in the
/// publishing transaction like a document a sync round accepted: with the team's next change
/// sequence number, so every device of the team receives it in its next round.
pub struct PublishedDoc<'a> {
    /// The document's id (`roster:<first day of the period>`).
    pub id: &'a str,
    /// The document to store, from the roster's JSON as published and the team's stored
    /// document of that id, if any (an earlier version of the period's roster).
    pub build: &'a BuildDoc<'a>,
    /// Another document the server writes in the same transaction: the decision of the swap
    /// request this publication carries out.
    pub also: Option<ServerDoc<'a>>,
}

/// A document the server writes for a supervisor (a request's decision, an attendance
/// correction), stored as a round stores a document it accepted.
pub struct ServerDoc<'a> {
    /// The document's id.
    pub id: &'a str,
    /// The document to store, from the stored one (`None`: there is none yet). An error stores
    /// nothing; `StorageError::Conflict` carries a refusal meant for the supervisor.
    pub build: &'a BuildServerDoc<'a>,
}

/// Makes the document to store from the stored one, if any.
pub type BuildServerDoc<'a> = dyn Fn(Option<&[u8]>) -> Result<AcceptedDoc, StorageError> + 'a;

/// Makes the document to store from the roster's JSON and the stored document, if any.
pub type BuildDoc<'a> = dyn Fn(&str, Option<&[u8]>) -> Result<AcceptedDoc, StorageError> + 'a;

/// The result of a committed round.
#[derive(Clone, Debug)]
pub struct RoundOutcome {
    /// The reply to send.
    pub reply: kefu_core::sync::Reply,
    /// Whether the round stored any document (other sessions of the team should hear of it).
    pub stored_any: bool,
}

/// What the server needs from a database.
pub trait Storage: Send + Sync + 'static {
    /// The server's own automerge actor (for the edits it makes, such as case numbers); made
    /// once when the database is created.
    fn server_device(&self) -> DeviceId;
    /// The secret that seals the case numbers the server assigns (`kefu_core::sync::server::seal`).
    fn seal_key(&self) -> [u8; 32];
    /// Creates a team; a taken name is [`StorageError::Conflict`].
    fn create_team(&self, name: &str, now: Timestamp) -> Result<TeamRecord, StorageError>;
    /// A team by name.
    fn team_by_name(&self, name: &str) -> Result<Option<TeamRecord>, StorageError>;
    /// Checks that the database can serve rounds: its file is the one opened, and it answers a
    /// read and commits a write. For `/healthz`.
    fn health(&self, now: Timestamp) -> Result<(), StorageError>;
    /// How many teams exist (zero means a new database).
    fn n_teams(&self) -> Result<usize, StorageError>;
    /// Stores an issued device.
    fn insert_device(&self, device: &NewDevice) -> Result<(), StorageError>;
    /// A device by id.
    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StorageError>;
    /// Every device of a team, oldest first.
    fn devices_of_team(&self, team_id: i64) -> Result<Vec<DeviceRecord>, StorageError>;
    /// Revokes a device; returns the record as it now is, `None` if there is no such device.
    fn revoke_device(&self, id: DeviceId, now: Timestamp) -> Result<Option<DeviceRecord>, StorageError>;
    /// Devices revoked at or after `since`, with the time.
    fn revoked_since(&self, since: Timestamp) -> Result<Vec<(DeviceId, Timestamp)>, StorageError>;
    /// Runs one sync round for `device` of `team_id` in one transaction: the core's rules decide,
    /// everything accepted is committed (fsync'd) before this returns the reply. `session` is what
    /// the device's live session has delivered so far (empty for a single HTTP round); the reply
    /// is added to it once committed.
    fn sync_round(
        &self,
        team_id: i64,
        device: DeviceId,
        push: &Push,
        ctx: &RoundContext,
        session: &mut SessionHeads,
    ) -> Result<RoundOutcome, RoundError>;
    /// The team's case index, filtered.
    fn list_cases(&self, team_id: i64, query: &CaseQuery) -> Result<Vec<CaseRow>, StorageError>;
    /// A document's bytes, if the team has it.
    fn load_doc(&self, team_id: i64, id: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Bytes of the team's cases opened in `[from, to)`.
    fn cases_created_between(&self, team_id: i64, from: Timestamp, to: Timestamp)
    -> Result<Vec<Vec<u8>>, StorageError>;
    /// Every team, by name.
    fn teams(&self) -> Result<Vec<TeamRecord>, StorageError>;
    /// Stores a console user; a taken name is [`StorageError::Conflict`].
    fn insert_user(
        &self,
        name: &str,
        team_id: i64,
        role: Role,
        password: &str,
        now: Timestamp,
    ) -> Result<(), StorageError>;
    /// A console user by sign-in name.
    fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>, StorageError>;
    /// Stores a signed-in session under the hash of its cookie secret.
    fn insert_web_session(
        &self,
        token_hash: &[u8; 32],
        user_id: i64,
        csrf: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StorageError>;
    /// The session with this cookie hash, if it exists and has not expired at `now`.
    fn web_session(&self, token_hash: &[u8; 32], now: Timestamp) -> Result<Option<WebSessionRecord>, StorageError>;
    /// Ends a session (sign-out); ending one that does not exist is not an error.
    fn delete_web_session(&self, token_hash: &[u8; 32]) -> Result<(), StorageError>;
    /// Counts a failed sign-in of `name` (trimmed, lower-cased) at `now`. Windows that began
    /// `window_ms` or more before `now` are over and forgotten first, so a name's count restarts
    /// with a new window. At most [`MAX_SIGN_IN_NAMES`] names are tracked at once; past that a
    /// failure is not recorded (a flood of made-up names cannot fill the disk).
    fn sign_in_failed(&self, name: &str, now: Timestamp, window_ms: i64) -> Result<(), StorageError>;
    /// The failures of `name` in its current window and when that window began.
    fn sign_in_failures(&self, name: &str) -> Result<Option<(u32, Timestamp)>, StorageError>;
    /// Forgets the failures of `name` after it signed in.
    fn sign_in_succeeded(&self, name: &str) -> Result<(), StorageError>;
    /// Calls `changed` with the team whenever another server process commits documents of it,
    /// and with `None` when some may have been missed (any team may have changed). SQLite has no
    /// other process serving rounds (`kefu admin` stores no documents), so by default: nothing.
    fn watch_other_processes(&self, changed: Arc<dyn Fn(Option<i64>) + Send + Sync>) -> Result<(), StorageError> {
        let _ = changed;
        Ok(())
    }
    /// Stores a new version of the team's team file; returns its version number.
    fn save_team_file(&self, team_id: i64, toml: &str, by: &str, now: Timestamp) -> Result<i64, StorageError>;
    /// Version `version` of the team's team file, or the newest with `None`.
    fn team_file(&self, team_id: i64, version: Option<i64>) -> Result<Option<TeamFileRecord>, StorageError>;
    /// Stores a new draft roster made from team file `team_version`; returns its version number.
    fn insert_roster(
        &self,
        team_id: i64,
        team_version: i64,
        roster_json: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<i64, StorageError>;
    /// Replaces the JSON of draft `version` (a hand move); `false` if it is not a draft (published,
    /// or no such version) and nothing changed.
    fn update_draft_roster(
        &self,
        team_id: i64,
        version: i64,
        roster_json: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<bool, StorageError>;
    /// Publishes draft `version` and stores `doc` for the team's devices, in one transaction
    /// (on PostgreSQL the other processes hear of it as of a round); `false` if it is not a draft
    /// and nothing changed. The caller tells this process's live sessions.
    fn publish_roster(
        &self,
        team_id: i64,
        version: i64,
        by: &str,
        now: Timestamp,
        doc: &PublishedDoc<'_>,
    ) -> Result<bool, StorageError>;
    /// Writes `doc` for the team's devices in one transaction, as a round stores a document (on
    /// PostgreSQL the other processes hear of it). The caller tells this process's live sessions.
    fn write_server_doc(&self, team_id: i64, doc: &ServerDoc<'_>) -> Result<(), StorageError>;
    /// The team's documents whose id starts with `prefix`, by id.
    fn docs_with_prefix(&self, team_id: i64, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StorageError>;
    /// Roster `version` of the team, or the newest with `None`.
    fn roster(&self, team_id: i64, version: Option<i64>) -> Result<Option<RosterRecord>, StorageError>;
    /// Every roster version of the team, newest first, without their JSON (`roster_json` empty).
    fn roster_versions(&self, team_id: i64) -> Result<Vec<RosterRecord>, StorageError>;
}

/// An empty in-memory database for unit tests.
#[cfg(test)]
pub fn open_memory() -> SqliteStorage {
    SqliteStorage::open_in_memory().expect("in-memory database")
}
