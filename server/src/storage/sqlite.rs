//! [`SqliteStorage`]: the embedded default. One file, WAL journal, `synchronous=FULL` so a commit
//! is on disk before it returns (DESIGN.md decision 6), migrations by `PRAGMA user_version`.
//!
//! The core's `handle_push` runs against [`RoundTx`] (loads, the case-number counter, the change
//! sequence, per-device heads). Reads do not write: a push that carries nothing (a fetch, a live
//! session's fan-out) runs first in a read transaction on one of a pool of reader connections,
//! next to the writer and to each other (WAL readers do not block), and goes to the writer only
//! if the round turns out to need a write (a new device store, say). Rounds that store something
//! share the writer's transactions by group commit (`group_commit.rs`); every transaction commits
//! before its replies leave this module, so nothing is acknowledged that is not durable.
//!
//! Leaves out: the sync rules (kefu-core); more than one writer (SQLite has one; the PostgreSQL
//! backend is the answer past that).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use automerge::ChangeHash;
use kefu_core::case::{Case, CaseDoc};
use kefu_core::ids::{CaseId, DeviceId, Timestamp};
use kefu_core::sync::Push;
use kefu_core::sync::server::{
    AcceptedDoc, DeviceStore, RoundContext, RoundError, StoredDoc, SyncStorage, handle_push,
};
use kefu_core::sync::session::SessionHeads;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::group_commit::{self, Job};
use super::health::{self, DbFile};
use super::rows::{
    self, CASE_INDEX_INSERT_COLUMNS, CaseIndexValues, DEVICE_COLUMNS, DeviceColumns, QueryValue, ROSTER_COLUMNS,
    USER_COLUMNS, UserColumns, decode_heads, encode_heads, phone_digits, user_record,
};
use super::{
    CaseQuery, CaseRow, DeviceRecord, MAX_SIGN_IN_NAMES, NewDevice, PublishedDoc, RosterRecord, RoundOutcome,
    ServerDoc, Storage, StorageError, TeamFileRecord, TeamRecord, UserRecord, WebSessionRecord,
};
use crate::auth::Role;

/// Migrations in order; `user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_confirmed_sync.sql"),
    include_str!("migrations/0003_console.sql"),
    include_str!("migrations/0004_roster.sql"),
    include_str!("migrations/0005_sign_in_failures.sql"),
];

/// The migration that added the customer columns to `case_index`, which SQL alone cannot fill.
const CUSTOMER_COLUMNS_VERSION: usize = 3;

/// Reader connections: enough that fan-out rounds and API reads on two cores rarely wait.
const READERS: usize = 4;

/// The SQLite storage.
#[derive(Debug)]
pub struct SqliteStorage {
    writer: Mutex<Connection>,
    // Empty for in-memory databases, where a second connection would see another database.
    readers: Vec<Mutex<Connection>>,
    // Where the next reader search starts, so concurrent reads spread over the pool.
    next_reader: AtomicUsize,
    // Write rounds waiting for the writer (`group_commit.rs`).
    pub(super) queue: group_commit::Queue,
    server_device: DeviceId,
    seal_key: [u8; 32],
    // `None` for in-memory databases, which have no file to lose.
    file: Option<DbFile>,
}

impl SqliteStorage {
    /// Opens (creating if needed, with its directory) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| StorageError::Io { path: dir.display().to_string(), source })?;
        }
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate(&mut writer)?;
        let (server_device, seal_key) = server_identity(&writer)?;
        let readers = (0..READERS)
            .map(|_| {
                let reader = Connection::open(path)?;
                configure(&reader)?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let file = Some(DbFile::new(path)?);
        Ok(SqliteStorage {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            queue: group_commit::Queue::default(),
            server_device,
            seal_key,
            file,
        })
    }

    /// A fresh in-memory database (tests).
    #[cfg(test)]
    pub fn open_in_memory() -> Result<Self, StorageError> {
        let mut writer = Connection::open_in_memory()?;
        configure(&writer)?;
        migrate(&mut writer)?;
        let (server_device, seal_key) = server_identity(&writer)?;
        Ok(SqliteStorage {
            writer: Mutex::new(writer),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            queue: group_commit::Queue::default(),
            server_device,
            seal_key,
            file: None,
        })
    }

    pub(super) fn writer(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (the transaction rolls back
        // on drop), so a poisoned lock is safe to keep using.
        self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A free reader connection, or (all busy) the next one in turn once it is free; the writer
    /// for in-memory databases.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        if self.readers.is_empty() {
            return self.writer();
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for offset in 0..self.readers.len() {
            match self.readers[(start + offset) % self.readers.len()].try_lock() {
                Ok(guard) => return guard,
                Err(std::sync::TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        self.readers[start % self.readers.len()].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs a round that may need no write in a read transaction. `None` when it turned out to
    /// need one: nothing was changed, the session included, and the caller runs it as a write.
    fn read_round(
        &self,
        team_id: i64,
        device: DeviceId,
        push: &Push,
        ctx: &RoundContext,
        session: &mut SessionHeads,
    ) -> Option<Result<RoundOutcome, RoundError>> {
        let mut conn = self.reader();
        let tx = match conn.transaction() {
            Ok(tx) => tx,
            Err(err) => return Some(Err(RoundError::Storage(StorageError::from(err).to_string()))),
        };
        let mut round = RoundTx::new(&tx, team_id, device, true);
        let result = handle_push(push, ctx, &mut session.over(&mut round));
        if round.wanted_write {
            return None;
        }
        Some(result.map(|reply| {
            session.record(&reply);
            RoundOutcome { reply, stored_any: false }
        }))
    }
}

fn configure(conn: &Connection) -> Result<(), StorageError> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // `kefu admin` writes to the same file while the server runs.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let version = usize::try_from(version).map_err(|_| StorageError::Corrupt(format!("schema version {version}")))?;
    if version > MIGRATIONS.len() {
        return Err(StorageError::Corrupt(format!(
            "schema version {version}, this build knows up to {}: update kefu",
            MIGRATIONS.len()
        )));
    }
    for (idx, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(migration)?;
        if idx + 1 == CUSTOMER_COLUMNS_VERSION {
            backfill_customers(&tx)?;
        }
        tx.pragma_update(None, "user_version", idx as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = idx + 1, "migrated database");
    }
    Ok(())
}

/// Fills the customer columns of cases indexed before they existed, from the stored documents.
fn backfill_customers(tx: &rusqlite::Transaction<'_>) -> Result<(), StorageError> {
    let rows: Vec<(i64, String, Vec<u8>)> = tx
        .prepare("SELECT c.team_id, c.case_id, d.bytes FROM case_index c JOIN docs d ON d.team_id = c.team_id AND d.id = c.case_id")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    // Reading needs an actor but makes no change; any id will do.
    let reader = DeviceId::from_u128(0);
    for (team_id, case_id, bytes) in rows {
        let case = CaseDoc::load(&bytes, reader)
            .map_err(|err| StorageError::Corrupt(format!("stored case {case_id} does not load: {err}")))?
            .read();
        tx.execute(
            "UPDATE case_index SET customer_name = ?3, customer_phone = ?4, phone_digits = ?5
             WHERE team_id = ?1 AND case_id = ?2",
            params![team_id, case_id, case.customer.name, case.customer.phone, phone_digits(&case.customer.phone)],
        )?;
    }
    Ok(())
}

/// The server's actor and the key that seals its case numbers, made once with the database.
/// Both live in the database, so a restored backup keeps them and its seals still verify.
fn server_identity(conn: &Connection) -> Result<(DeviceId, [u8; 32]), StorageError> {
    let meta = |key: &str| -> Result<Option<String>, StorageError> {
        Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| row.get(0)).optional()?)
    };
    let device = match meta("server_device")? {
        Some(text) => text.parse().map_err(|_| StorageError::Corrupt("server device id".into()))?,
        None => {
            let device = DeviceId::random();
            conn.execute("INSERT INTO meta (key, value) VALUES ('server_device', ?1)", [device.to_string()])?;
            device
        }
    };
    let key = match meta("seal_key")? {
        Some(text) => {
            let bytes: Vec<u8> = (0..text.len())
                .step_by(2)
                .filter_map(|at| text.get(at..at + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
                .collect();
            bytes.try_into().map_err(|_| StorageError::Corrupt("seal key".into()))?
        }
        None => {
            let key: [u8; 32] = rand::random();
            let hex: String = key.iter().map(|byte| format!("{byte:02x}")).collect();
            conn.execute("INSERT INTO meta (key, value) VALUES ('seal_key', ?1)", [hex])?;
            key
        }
    };
    Ok((device, key))
}

fn device_row(row: &Row<'_>) -> rusqlite::Result<DeviceColumns> {
    Ok(DeviceColumns {
        id: row.get(0)?,
        team_id: row.get(1)?,
        team_name: row.get(2)?,
        role: row.get(3)?,
        label: row.get(4)?,
        token_salt: row.get(5)?,
        token_hash: row.get(6)?,
        created_at: row.get(7)?,
        revoked_at: row.get(8)?,
        staff: row.get(9)?,
    })
}

impl Storage for SqliteStorage {
    fn server_device(&self) -> DeviceId {
        self.server_device
    }

    fn seal_key(&self) -> [u8; 32] {
        self.seal_key
    }

    fn create_team(&self, name: &str, now: Timestamp) -> Result<TeamRecord, StorageError> {
        let conn = self.writer();
        let inserted = conn.execute(
            "INSERT INTO teams (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            params![name, now.0],
        )?;
        if inserted == 0 {
            return Err(StorageError::Conflict(format!("team {name:?} already exists")));
        }
        Ok(TeamRecord { id: conn.last_insert_rowid(), name: name.to_string() })
    }

    fn team_by_name(&self, name: &str) -> Result<Option<TeamRecord>, StorageError> {
        Ok(self
            .reader()
            .query_row("SELECT id, name FROM teams WHERE name = ?1", [name], |row| {
                Ok(TeamRecord { id: row.get(0)?, name: row.get(1)? })
            })
            .optional()?)
    }

    fn health(&self, now: Timestamp) -> Result<(), StorageError> {
        if let Some(file) = &self.file {
            file.check()?;
        }
        health::probe(&self.writer(), now)
    }

    fn n_teams(&self) -> Result<usize, StorageError> {
        Ok(self.reader().query_row("SELECT COUNT(*) FROM teams", [], |row| row.get::<_, i64>(0))? as usize)
    }

    fn insert_device(&self, device: &NewDevice) -> Result<(), StorageError> {
        self.writer().execute(
            "INSERT INTO devices (id, team_id, role, label, token_salt, token_hash, created_at, staff)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                device.id.to_string(),
                device.team_id,
                device.role.code(),
                device.label,
                device.token_salt.as_slice(),
                device.token_hash.as_slice(),
                device.created_at.0,
                device.staff
            ],
        )?;
        Ok(())
    }

    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StorageError> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices d JOIN teams t ON t.id = d.team_id WHERE d.id = ?1");
        let row = self.reader().query_row(&sql, [id.to_string()], device_row).optional()?;
        row.map(DeviceColumns::record).transpose()
    }

    fn devices_of_team(&self, team_id: i64) -> Result<Vec<DeviceRecord>, StorageError> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM devices d JOIN teams t ON t.id = d.team_id
             WHERE d.team_id = ?1 ORDER BY d.created_at, d.id"
        );
        let conn = self.reader();
        let mut statement = conn.prepare(&sql)?;
        let rows = statement.query_map([team_id], device_row)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(DeviceColumns::record).collect()
    }

    fn revoke_device(&self, id: DeviceId, now: Timestamp) -> Result<Option<DeviceRecord>, StorageError> {
        // Revoking twice keeps the first time, so the revocation poll does not see it again.
        self.writer().execute(
            "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id.to_string(), now.0],
        )?;
        self.device(id)
    }

    fn revoked_since(&self, since: Timestamp) -> Result<Vec<(DeviceId, Timestamp)>, StorageError> {
        let conn = self.reader();
        let mut statement =
            conn.prepare_cached("SELECT id, revoked_at FROM devices WHERE revoked_at >= ?1 ORDER BY revoked_at")?;
        let rows = statement
            .query_map([since.0], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, at)| {
                Ok((id.parse().map_err(|_| StorageError::Corrupt(format!("device id {id:?}")))?, Timestamp(at)))
            })
            .collect()
    }

    fn sync_round(
        &self,
        team_id: i64,
        device: DeviceId,
        push: &Push,
        ctx: &RoundContext,
        session: &mut SessionHeads,
    ) -> Result<RoundOutcome, RoundError> {
        if push.docs.is_empty()
            && push.have.is_empty()
            && let Some(result) = self.read_round(team_id, device, push, ctx, session)
        {
            return result;
        }
        let (job, done) = Job::new(team_id, device, push.clone(), ctx.clone(), std::mem::take(session));
        self.queue.push(job);
        {
            // Leader or follower: whoever holds the writer runs every round queued by then. Ours
            // is among them, or an earlier leader already ran it.
            let mut conn = self.writer();
            let jobs = self.queue.take();
            if !jobs.is_empty() {
                group_commit::run_batch(&mut conn, jobs, |conn, job| {
                    let mut round = RoundTx::new(conn, job.team_id, job.device, false);
                    let reply = handle_push(&job.push, &job.ctx, &mut job.session.over(&mut round))?;
                    Ok(RoundOutcome { reply, stored_any: round.stored_any })
                });
            }
        }
        match done.recv() {
            Ok((result, heads)) => {
                *session = heads;
                result
            }
            // The leader running our round died with it (a panic outside the round itself).
            Err(_) => Err(RoundError::Storage("the round was lost with the batch that ran it".into())),
        }
    }

    fn list_cases(&self, team_id: i64, query: &CaseQuery) -> Result<Vec<CaseRow>, StorageError> {
        let (sql, values) = rows::case_query_sql(team_id, query, |n| format!("?{n}"));
        let values = values.into_iter().map(|value| match value {
            QueryValue::Int(int) => rusqlite::types::Value::from(int),
            QueryValue::Text(text) => rusqlite::types::Value::from(text),
        });
        let conn = self.reader();
        let mut statement = conn.prepare(&sql)?;
        let rows = statement
            .query_map(rusqlite::params_from_iter(values), |row| {
                Ok(CaseRow {
                    case_id: row.get(0)?,
                    provisional: row.get(1)?,
                    assigned: row.get(2)?,
                    kind: row.get(3)?,
                    channel: row.get(4)?,
                    status: row.get(5)?,
                    status_conflict: row.get(6)?,
                    priority: row.get(7)?,
                    assignee: row.get(8)?,
                    department: row.get(9)?,
                    subject: row.get(10)?,
                    created_at: Timestamp(row.get(11)?),
                    updated_at: Timestamp(row.get(12)?),
                    reply_due: row.get::<_, Option<i64>>(13)?.map(Timestamp),
                    reply_done_at: row.get::<_, Option<i64>>(14)?.map(Timestamp),
                    visit_due: row.get::<_, Option<i64>>(15)?.map(Timestamp),
                    visit_done_at: row.get::<_, Option<i64>>(16)?.map(Timestamp),
                    customer_name: row.get(17)?,
                    customer_phone: row.get(18)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn load_doc(&self, team_id: i64, id: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .reader()
            .query_row("SELECT bytes FROM docs WHERE team_id = ?1 AND id = ?2", params![team_id, id], |row| row.get(0))
            .optional()?)
    }

    fn cases_created_between(
        &self,
        team_id: i64,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(
            "SELECT d.bytes FROM case_index c JOIN docs d ON d.team_id = c.team_id AND d.id = c.case_id
             WHERE c.team_id = ?1 AND c.created_at >= ?2 AND c.created_at < ?3 ORDER BY c.created_at",
        )?;
        let rows = statement.query_map(params![team_id, from.0, to.0], |row| row.get(0))?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn teams(&self) -> Result<Vec<TeamRecord>, StorageError> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached("SELECT id, name FROM teams ORDER BY name")?;
        let rows = statement
            .query_map([], |row| Ok(TeamRecord { id: row.get(0)?, name: row.get(1)? }))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn insert_user(
        &self,
        name: &str,
        team_id: i64,
        role: Role,
        password: &str,
        now: Timestamp,
    ) -> Result<(), StorageError> {
        let inserted = self.writer().execute(
            "INSERT INTO users (name, team_id, role, password, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (name) DO NOTHING",
            params![name, team_id, role.code(), password, now.0],
        )?;
        if inserted == 0 {
            return Err(StorageError::Conflict(format!("user {name:?} already exists")));
        }
        Ok(())
    }

    fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>, StorageError> {
        let conn = self.reader();
        let row = conn
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users u JOIN teams t ON t.id = u.team_id WHERE u.name = ?1"),
                [name],
                user_row,
            )
            .optional()?;
        row.map(user_record).transpose()
    }

    fn insert_web_session(
        &self,
        token_hash: &[u8; 32],
        user_id: i64,
        csrf: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StorageError> {
        let conn = self.writer();
        // Expired sessions go as new ones come, so the table holds only live ones.
        conn.execute("DELETE FROM web_sessions WHERE expires_at <= ?1", [now.0])?;
        conn.execute(
            "INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![&token_hash[..], user_id, csrf, now.0, expires_at.0],
        )?;
        Ok(())
    }

    fn web_session(&self, token_hash: &[u8; 32], now: Timestamp) -> Result<Option<WebSessionRecord>, StorageError> {
        let conn = self.reader();
        let row = conn
            .query_row(
                &format!(
                    "SELECT {USER_COLUMNS}, s.csrf, s.expires_at FROM web_sessions s
                     JOIN users u ON u.id = s.user_id JOIN teams t ON t.id = u.team_id
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2"
                ),
                params![&token_hash[..], now.0],
                |row| Ok((user_row(row)?, row.get::<_, String>(6)?, row.get::<_, i64>(7)?)),
            )
            .optional()?;
        row.map(|(user, csrf, expires_at)| {
            Ok(WebSessionRecord { user: user_record(user)?, csrf, expires_at: Timestamp(expires_at) })
        })
        .transpose()
    }

    fn delete_web_session(&self, token_hash: &[u8; 32]) -> Result<(), StorageError> {
        self.writer().execute("DELETE FROM web_sessions WHERE token_hash = ?1", [&token_hash[..]])?;
        Ok(())
    }

    fn sign_in_failed(&self, name: &str, now: Timestamp, window_ms: i64) -> Result<(), StorageError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM sign_in_failures WHERE since <= ?1", [now.0 - window_ms])?;
        tx.execute(
            "INSERT INTO sign_in_failures (name, failures, since)
             SELECT ?1, 1, ?2 WHERE (SELECT COUNT(*) FROM sign_in_failures) < ?3
             ON CONFLICT (name) DO UPDATE SET failures = failures + 1",
            params![name, now.0, MAX_SIGN_IN_NAMES],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn sign_in_failures(&self, name: &str) -> Result<Option<(u32, Timestamp)>, StorageError> {
        let row = self
            .reader()
            .query_row("SELECT failures, since FROM sign_in_failures WHERE name = ?1", [name], |row| {
                Ok((row.get::<_, u32>(0)?, Timestamp(row.get(1)?)))
            })
            .optional()?;
        Ok(row)
    }

    fn sign_in_succeeded(&self, name: &str) -> Result<(), StorageError> {
        self.writer().execute("DELETE FROM sign_in_failures WHERE name = ?1", [name])?;
        Ok(())
    }

    fn save_team_file(&self, team_id: i64, toml: &str, by: &str, now: Timestamp) -> Result<i64, StorageError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM team_files WHERE team_id = ?1",
            [team_id],
            |row| row.get(0),
        )?;
        tx.execute(
            "INSERT INTO team_files (team_id, version, toml, saved_by, saved_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![team_id, version, toml, by, now.0],
        )?;
        tx.commit()?;
        Ok(version)
    }

    fn team_file(&self, team_id: i64, version: Option<i64>) -> Result<Option<TeamFileRecord>, StorageError> {
        let conn = self.reader();
        Ok(conn
            .query_row(
                "SELECT version, toml, saved_by, saved_at FROM team_files
                 WHERE team_id = ?1 AND (?2 IS NULL OR version = ?2) ORDER BY version DESC LIMIT 1",
                params![team_id, version],
                |row| {
                    Ok(TeamFileRecord {
                        version: row.get(0)?,
                        toml: row.get(1)?,
                        saved_by: row.get(2)?,
                        saved_at: Timestamp(row.get(3)?),
                    })
                },
            )
            .optional()?)
    }

    fn insert_roster(
        &self,
        team_id: i64,
        team_version: i64,
        roster_json: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<i64, StorageError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 =
            tx.query_row("SELECT COALESCE(MAX(version), 0) + 1 FROM rosters WHERE team_id = ?1", [team_id], |row| {
                row.get(0)
            })?;
        tx.execute(
            "INSERT INTO rosters (team_id, version, team_version, roster_json, made_by, made_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![team_id, version, team_version, roster_json, by, now.0],
        )?;
        tx.commit()?;
        Ok(version)
    }

    fn update_draft_roster(
        &self,
        team_id: i64,
        version: i64,
        roster_json: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        let changed = self.writer().execute(
            "UPDATE rosters SET roster_json = ?3, made_by = ?4, made_at = ?5
             WHERE team_id = ?1 AND version = ?2 AND published_at IS NULL",
            params![team_id, version, roster_json, by, now.0],
        )?;
        Ok(changed == 1)
    }

    fn publish_roster(
        &self,
        team_id: i64,
        version: i64,
        by: &str,
        now: Timestamp,
        doc: &PublishedDoc<'_>,
    ) -> Result<bool, StorageError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let json: Option<String> = tx
            .query_row(
                "UPDATE rosters SET published_by = ?3, published_at = ?4
                 WHERE team_id = ?1 AND version = ?2 AND published_at IS NULL RETURNING roster_json",
                params![team_id, version, by, now.0],
                |row| row.get(0),
            )
            .optional()?;
        let Some(json) = json else { return Ok(false) };
        // Stored as a round stores what it accepted: the same sequence, stamps and upsert.
        let mut round = RoundTx::new(&tx, team_id, self.server_device, false);
        let stored = round.load(doc.id)?.map(|stored| stored.bytes);
        let mut accepted = vec![(doc.build)(&json, stored.as_deref())?];
        if let Some(also) = &doc.also {
            let stored = round.load(also.id)?.map(|stored| stored.bytes);
            accepted.push((also.build)(stored.as_deref())?);
        }
        round.commit(&accepted)?;
        tx.commit()?;
        Ok(true)
    }

    fn write_server_doc(&self, team_id: i64, doc: &ServerDoc<'_>) -> Result<(), StorageError> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut round = RoundTx::new(&tx, team_id, self.server_device, false);
        let stored = round.load(doc.id)?.map(|stored| stored.bytes);
        let accepted = (doc.build)(stored.as_deref())?;
        round.commit(std::slice::from_ref(&accepted))?;
        tx.commit()?;
        Ok(())
    }

    fn docs_with_prefix(&self, team_id: i64, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(
            "SELECT id, bytes FROM docs WHERE team_id = ?1 AND substr(id, 1, length(?2)) = ?2 ORDER BY id",
        )?;
        let rows = statement.query_map(params![team_id, prefix], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn roster(&self, team_id: i64, version: Option<i64>) -> Result<Option<RosterRecord>, StorageError> {
        let conn = self.reader();
        Ok(conn
            .query_row(
                &format!(
                    "SELECT {ROSTER_COLUMNS}, roster_json FROM rosters
                     WHERE team_id = ?1 AND (?2 IS NULL OR version = ?2) ORDER BY version DESC LIMIT 1"
                ),
                params![team_id, version],
                |row| Ok(RosterRecord { roster_json: row.get(6)?, ..roster_row(row)? }),
            )
            .optional()?)
    }

    fn roster_versions(&self, team_id: i64) -> Result<Vec<RosterRecord>, StorageError> {
        let conn = self.reader();
        let mut statement = conn.prepare_cached(&format!(
            "SELECT {ROSTER_COLUMNS} FROM rosters WHERE team_id = ?1 ORDER BY version DESC"
        ))?;
        let rows = statement.query_map([team_id], roster_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

/// A roster row's metadata (the JSON left empty).
fn roster_row(row: &Row<'_>) -> rusqlite::Result<RosterRecord> {
    let published_by: Option<String> = row.get(4)?;
    let published_at: Option<i64> = row.get(5)?;
    Ok(RosterRecord {
        version: row.get(0)?,
        team_version: row.get(1)?,
        roster_json: String::new(),
        made_by: row.get(2)?,
        made_at: Timestamp(row.get(3)?),
        published: published_by.zip(published_at.map(Timestamp)),
    })
}

fn user_row(row: &Row<'_>) -> rusqlite::Result<UserColumns> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
}

/// One round's view of the database, inside its transaction (or savepoint).
struct RoundTx<'a> {
    tx: &'a Connection,
    team_id: i64,
    device: String,
    stored_any: bool,
    /// A read round: every write is refused, and noted in `wanted_write`.
    read_only: bool,
    wanted_write: bool,
}

impl<'a> RoundTx<'a> {
    fn new(tx: &'a Connection, team_id: i64, device: DeviceId, read_only: bool) -> Self {
        RoundTx { tx, team_id, device: device.to_string(), stored_any: false, read_only, wanted_write: false }
    }

    /// Before any write: a read round stops here, and runs again as a write.
    fn writable(&mut self) -> Result<(), StorageError> {
        if self.read_only {
            self.wanted_write = true;
            return Err(StorageError::Unavailable("a read round cannot write".into()));
        }
        Ok(())
    }
}

impl SyncStorage for RoundTx<'_> {
    type Error = StorageError;

    fn load(&mut self, id: &str) -> Result<Option<StoredDoc>, StorageError> {
        let own: Option<(Vec<u8>, i64)> = self
            .tx
            .prepare_cached("SELECT bytes, seq FROM docs WHERE team_id = ?1 AND id = ?2")?
            .query_row(params![self.team_id, id], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if let Some((bytes, seq)) = own {
            return Ok(Some(StoredDoc { bytes, same_team: true, seq: seq as u64 }));
        }
        // Case ids are UUIDs, unique across teams: another team's case must be refused, not
        // shadowed by a copy. Duty-log ids name a date and shift, so each team has its own.
        if id.parse::<CaseId>().is_ok() {
            let elsewhere: Option<i64> = self
                .tx
                .prepare_cached("SELECT team_id FROM docs WHERE id = ?1 AND team_id != ?2 LIMIT 1")?
                .query_row(params![id, self.team_id], |row| row.get(0))
                .optional()?;
            if elsewhere.is_some() {
                // The bytes of another team's document never leave storage.
                return Ok(Some(StoredDoc { bytes: Vec::new(), same_team: false, seq: 0 }));
            }
        }
        Ok(None)
    }

    fn next_case_serial(&mut self, year: i32) -> Result<u64, StorageError> {
        self.writable()?;
        let serial: i64 = self
            .tx
            .prepare_cached(
                "INSERT INTO case_counters (team_id, year, next) VALUES (?1, ?2, 2)
                 ON CONFLICT (team_id, year) DO UPDATE SET next = next + 1 RETURNING next - 1",
            )?
            .query_row(params![self.team_id, year], |row| row.get(0))?;
        Ok(serial as u64)
    }

    fn reserve_case_serial(&mut self, year: i32, serial: u64) -> Result<(), StorageError> {
        self.writable()?;
        let after = i64::try_from(serial).unwrap_or(i64::MAX - 1) + 1;
        self.tx
            .prepare_cached(
                "INSERT INTO case_counters (team_id, year, next) VALUES (?1, ?2, ?3)
                 ON CONFLICT (team_id, year) DO UPDATE SET next = MAX(next, ?3)",
            )?
            .execute(params![self.team_id, year, after])?;
        Ok(())
    }

    fn case_with_number(&mut self, number: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .tx
            .prepare_cached("SELECT case_id FROM case_index WHERE team_id = ?1 AND assigned = ?2 LIMIT 1")?
            .query_row(params![self.team_id, number], |row| row.get(0))
            .optional()?)
    }

    fn commit(&mut self, docs: &[AcceptedDoc]) -> Result<Vec<u64>, StorageError> {
        self.writable()?;
        let now = Timestamp::now();
        let mut seqs = Vec::with_capacity(docs.len());
        for doc in docs {
            let seq: i64 = self
                .tx
                .prepare_cached("UPDATE teams SET seq = seq + 1 WHERE id = ?1 RETURNING seq")?
                .query_row([self.team_id], |row| row.get(0))?;
            let stamp = rand::random::<i64>() & i64::MAX | 1;
            self.tx
                .prepare_cached("INSERT OR REPLACE INTO seq_stamps (team_id, seq, stamp) VALUES (?1, ?2, ?3)")?
                .execute(params![self.team_id, seq, stamp])?;
            self.tx
                .prepare_cached(
                    "INSERT INTO docs (team_id, id, bytes, seq, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (team_id, id) DO UPDATE SET bytes = ?3, seq = ?4, updated_at = ?5",
                )?
                .execute(params![self.team_id, doc.id, doc.bytes, seq, now.0])?;
            if let Some(case) = &doc.case {
                write_case_index(self.tx, self.team_id, case)?;
            }
            self.stored_any = true;
            seqs.push(seq as u64);
        }
        Ok(seqs)
    }

    fn changed_since(&mut self, cursor: u64, limit: usize) -> Result<Vec<(String, u64)>, StorageError> {
        let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .tx
            .prepare_cached("SELECT id, seq FROM docs WHERE team_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")?
            .query_map(params![self.team_id, cursor, limit], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn stamp(&mut self, seq: u64) -> Result<Option<u64>, StorageError> {
        let Ok(seq) = i64::try_from(seq) else { return Ok(None) };
        let stamp: Option<i64> = self
            .tx
            .prepare_cached("SELECT stamp FROM seq_stamps WHERE team_id = ?1 AND seq = ?2")?
            .query_row(params![self.team_id, seq], |row| row.get(0))
            .optional()?;
        Ok(stamp.map(|stamp| stamp as u64))
    }

    fn device_store(&mut self) -> Result<Option<DeviceStore>, StorageError> {
        let row: Option<(Vec<u8>, i64)> = self
            .tx
            .prepare_cached("SELECT store_id, generation FROM device_stores WHERE device_id = ?1")?
            .query_row([&self.device], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        row.map(|(store, generation)| {
            Ok(DeviceStore {
                store: store.try_into().map_err(|_| StorageError::Corrupt("device store id".into()))?,
                generation: generation as u64,
            })
        })
        .transpose()
    }

    fn set_device_store(&mut self, store: DeviceStore, forget_heads: bool) -> Result<(), StorageError> {
        self.writable()?;
        self.tx
            .prepare_cached(
                "INSERT INTO device_stores (device_id, store_id, generation) VALUES (?1, ?2, ?3)
                 ON CONFLICT (device_id) DO UPDATE SET store_id = ?2, generation = ?3",
            )?
            .execute(params![
                self.device,
                store.store.as_slice(),
                i64::try_from(store.generation).unwrap_or(i64::MAX)
            ])?;
        if forget_heads {
            self.tx.prepare_cached("DELETE FROM device_doc_heads WHERE device_id = ?1")?.execute([&self.device])?;
        }
        Ok(())
    }

    fn device_heads(&mut self, id: &str) -> Result<Option<Vec<ChangeHash>>, StorageError> {
        let bytes: Option<Vec<u8>> = self
            .tx
            .prepare_cached("SELECT heads FROM device_doc_heads WHERE device_id = ?1 AND doc_id = ?2")?
            .query_row(params![self.device, id], |row| row.get(0))
            .optional()?;
        bytes.as_deref().map(decode_heads).transpose()
    }

    fn set_device_heads(&mut self, heads: &[(String, Vec<ChangeHash>)]) -> Result<(), StorageError> {
        self.writable()?;
        for (doc_id, doc_heads) in heads {
            self.tx
                .prepare_cached(
                    "INSERT INTO device_doc_heads (device_id, doc_id, heads) VALUES (?1, ?2, ?3)
                     ON CONFLICT (device_id, doc_id) DO UPDATE SET heads = ?3",
                )?
                .execute(params![self.device, doc_id, encode_heads(doc_heads)])?;
        }
        Ok(())
    }
}

fn write_case_index(tx: &Connection, team_id: i64, case: &Case) -> Result<(), StorageError> {
    let row = CaseIndexValues::of(case);
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO case_index ({CASE_INDEX_INSERT_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
    ))?
    .execute(params![
        team_id,
        row.case_id,
        row.provisional,
        row.assigned,
        row.kind,
        row.channel,
        row.status,
        row.status_conflict,
        row.priority,
        row.assignee,
        row.department,
        row.subject,
        row.created_at,
        row.updated_at,
        row.reply_due,
        row.reply_done_at,
        row.visit_due,
        row.visit_done_at,
        row.customer_name,
        row.customer_phone,
        row.phone_digits,
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::CaseQuery;

    /// Cases indexed before schema version 3 get their customer columns from their documents.
    #[test]
    fn the_migration_fills_the_customer_columns_of_cases_already_indexed() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        crate::sample::seed_if_new(&storage, 480).unwrap().expect("seeded");
        let team = storage.team_by_name(crate::sample::TEAM).unwrap().unwrap();
        let search = |text: &str| {
            let query = CaseQuery { search: Some(text.into()), limit: 10, ..CaseQuery::default() };
            storage.list_cases(team.id, &query).unwrap().len()
        };
        assert_eq!(search("王女士"), 1);
        {
            let conn = storage.writer();
            conn.execute("UPDATE case_index SET customer_name = '', customer_phone = '', phone_digits = ''", [])
                .unwrap();
        }
        assert_eq!(search("王女士"), 0, "as a version 2 database holds them");
        {
            let mut conn = storage.writer();
            let tx = conn.transaction().unwrap();
            backfill_customers(&tx).unwrap();
            tx.commit().unwrap();
        }
        assert_eq!(search("王女士"), 1);
        assert_eq!(search("13800000000"), 6, "phone digits too");
    }

    /// Team files and rosters are versioned per team; a published roster never changes again.
    #[test]
    fn rosters_are_versioned_and_published_ones_are_frozen() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let north = storage.create_team("north", Timestamp(0)).unwrap();
        let south = storage.create_team("south", Timestamp(0)).unwrap();
        assert_eq!(storage.team_file(north.id, None).unwrap(), None);
        assert_eq!(storage.save_team_file(north.id, "v1", "wang", Timestamp(1)).unwrap(), 1);
        assert_eq!(storage.save_team_file(north.id, "v2", "li", Timestamp(2)).unwrap(), 2);
        assert_eq!(storage.save_team_file(south.id, "s1", "zhao", Timestamp(3)).unwrap(), 1, "per team");
        let newest = storage.team_file(north.id, None).unwrap().unwrap();
        assert_eq!((newest.version, newest.toml.as_str(), newest.saved_by.as_str()), (2, "v2", "li"));
        assert_eq!(storage.team_file(north.id, Some(1)).unwrap().unwrap().toml, "v1");
        assert_eq!(storage.team_file(north.id, Some(9)).unwrap(), None);

        let draft = storage.insert_roster(north.id, 2, "{}", "wang", Timestamp(4)).unwrap();
        assert!(storage.update_draft_roster(north.id, draft, "{\"moved\":1}", "li", Timestamp(5)).unwrap());
        // Publishing stores the phones' document in the same transaction, from the JSON as published.
        let build = |json: &str, stored: Option<&[u8]>| {
            let bytes = format!("{json} over {} bytes", stored.map_or(0, <[u8]>::len)).into_bytes();
            Ok(AcceptedDoc {
                id: "roster:2026-03-02".into(),
                bytes,
                heads: vec![],
                is_new: stored.is_none(),
                case: None,
            })
        };
        let doc = PublishedDoc { id: "roster:2026-03-02", build: &build, also: None };
        assert!(storage.publish_roster(north.id, draft, "li", Timestamp(6), &doc).unwrap());
        let stored = storage.load_doc(north.id, "roster:2026-03-02").unwrap();
        assert_eq!(stored.as_deref(), Some(&b"{\"moved\":1} over 0 bytes"[..]));
        assert!(!storage.publish_roster(north.id, draft, "wang", Timestamp(7), &doc).unwrap(), "published once");
        assert_eq!(
            storage.load_doc(north.id, "roster:2026-03-02").unwrap(),
            stored,
            "a refused publish stores nothing"
        );
        assert_eq!(storage.load_doc(south.id, "roster:2026-03-02").unwrap(), None, "only the team's");
        assert!(!storage.update_draft_roster(north.id, draft, "{}", "wang", Timestamp(8)).unwrap(), "frozen");
        assert!(!storage.update_draft_roster(south.id, draft, "{}", "wang", Timestamp(8)).unwrap(), "other team");
        let stored = storage.roster(north.id, None).unwrap().unwrap();
        assert_eq!(stored.roster_json, "{\"moved\":1}");
        assert_eq!(stored.published, Some(("li".to_string(), Timestamp(6))));
        assert_eq!(storage.insert_roster(north.id, 2, "{}", "wang", Timestamp(9)).unwrap(), 2);
        let versions = storage.roster_versions(north.id).unwrap();
        assert_eq!(versions.iter().map(|r| r.version).collect::<Vec<_>>(), [2, 1]);
        assert!(versions.iter().all(|r| r.roster_json.is_empty()));
        assert_eq!(storage.roster(south.id, None).unwrap(), None);
        assert!(storage.insert_roster(south.id, 5, "{}", "x", Timestamp(9)).is_err(), "no such team file");
    }
}
