//! [`PgStorage`]: the server's storage on PostgreSQL, for more than one `kefu serve` on one
//! database (`--db postgres://…`).
//!
//! Same trait, same rules, same tests as SQLite. What differs is how writers meet:
//! - A write round locks its team's row first (`SELECT … FOR UPDATE`), so the rounds of one team
//!   run one after another across every process: the load-merge-store of a document, the team's
//!   change sequence and its case numbers (gap-free, since a rolled-back round gives its number
//!   back) need nothing more. Rounds of different teams run side by side.
//! - A round that carries nothing runs in a read-only snapshot without the lock, and reruns as a
//!   write only if it must record something, as on SQLite.
//! - A round that stored documents sends `NOTIFY kefu_changes` in its transaction, so the other
//!   processes hear of it exactly when it commits and tell their live sessions (`listen.rs`).
//!
//! PostgreSQL is reached through the synchronous `postgres` client: like SQLite's, every call of
//! the trait runs on tokio's blocking pool, never on a runtime thread (ARCHITECTURE.md, storage).
//!
//! Leaves out: the SQL of a round (`round.rs`), the pool (`pool.rs`).

mod listen;
mod pool;
mod round;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use kefu_core::ids::{DeviceId, Timestamp};
use kefu_core::sync::Push;
use kefu_core::sync::server::{RoundContext, RoundError, SyncStorage, handle_push};
use kefu_core::sync::session::SessionHeads;
use postgres::types::ToSql;
use postgres::{IsolationLevel, Row};

use self::pool::{Pool, reason};
use self::round::PgRound;
use super::rows::{
    self, DEVICE_COLUMNS, DeviceColumns, QueryValue, ROSTER_COLUMNS, USER_COLUMNS, UserColumns, user_record,
};
use super::{
    CaseQuery, CaseRow, DeviceRecord, MAX_SIGN_IN_NAMES, NewDevice, PublishedDoc, RosterRecord, RoundOutcome,
    ServerDoc, Storage, StorageError, TeamFileRecord, TeamRecord, UserRecord, WebSessionRecord,
};
use crate::auth::Role;

/// Migrations in order; `meta.schema_version` is the number applied. Version 1 holds what
/// SQLite's versions 1 to 3 built, version 2 its version 4.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_roster.sql"),
    include_str!("migrations/0003_sign_in_failures.sql"),
];

/// The advisory lock that makes processes starting together migrate one at a time.
const MIGRATION_LOCK: i64 = 0x6b65_6675_6d69_6772;

/// Connections per process: enough for the blocking pool's rounds on a few cores, few enough that
/// several processes stay under PostgreSQL's default of 100.
const CONNECTIONS: usize = 16;

/// How long opening a connection may take, unless the URL says (`connect_timeout=`).
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The notification channel of committed changes; the payload is `<team id> <process>`.
const CHANNEL: &str = "kefu_changes";

/// The PostgreSQL storage.
#[derive(Debug)]
pub struct PgStorage {
    pool: Arc<Pool>,
    server_device: DeviceId,
    seal_key: [u8; 32],
    /// This process's tag in notifications, so it does not wake its own sessions twice.
    process: u64,
}

impl PgStorage {
    /// Connects to `url` and migrates the database. Errors say where the database is (never the
    /// password) and what it answered.
    pub fn open(url: &str) -> Result<Self, StorageError> {
        let mut config: postgres::Config =
            url.parse().map_err(|err| StorageError::Unavailable(format!("--db is not a PostgreSQL URL: {err}")))?;
        // An unreachable host fails in seconds, not after the system's TCP timeout of minutes.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let pool = Arc::new(Pool::new(config.clone(), describe(&config), CONNECTIONS));
        let (server_device, seal_key) = {
            let mut conn = pool.get()?;
            migrate(&mut conn.client).map_err(|err| in_database(&pool, err))?;
            server_identity(&mut conn.client).map_err(|err| in_database(&pool, err))?
        };
        Ok(PgStorage { pool, server_device, seal_key, process: rand::random() })
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StorageError> {
        Ok(self.pool.get()?.client.query(sql, params)?)
    }

    fn query_opt(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>, StorageError> {
        Ok(self.pool.get()?.client.query_opt(sql, params)?)
    }

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StorageError> {
        Ok(self.pool.get()?.client.execute(sql, params)?)
    }

    /// A round that may need no write, in a read-only snapshot. `None` when it turned out to need
    /// one: nothing was changed, the session included.
    fn read_round(
        &self,
        team_id: i64,
        device: DeviceId,
        push: &Push,
        ctx: &RoundContext,
        session: &mut SessionHeads,
    ) -> Result<Option<RoundOutcome>, RoundError> {
        let mut conn = self.pool.get().map_err(round_error)?;
        let pool::Conn { client, statements } = &mut *conn;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|err| round_error(err.into()))?;
        let mut round = PgRound::new(&mut tx, statements, team_id, device, true);
        let result = handle_push(push, ctx, &mut session.over(&mut round));
        if round.wanted_write {
            return Ok(None);
        }
        let reply = result?;
        tx.commit().map_err(|err| round_error(err.into()))?;
        session.record(&reply);
        Ok(Some(RoundOutcome { reply, stored_any: false }))
    }

    /// Inserts the team's next version into `table` (`team_files` or `rosters`) with `insert`,
    /// under the team's lock, so two processes saving at once get two versions, not a conflict.
    fn next_version(
        &self,
        team_id: i64,
        table: &'static str,
        insert: impl FnOnce(&mut postgres::Transaction<'_>, i64) -> Result<u64, postgres::Error>,
    ) -> Result<i64, StorageError> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.client.transaction()?;
        tx.execute("SELECT 1 FROM teams WHERE id = $1 FOR UPDATE", &[&team_id])?;
        let version: i64 = tx
            .query_one(&format!("SELECT COALESCE(MAX(version), 0) + 1 FROM {table} WHERE team_id = $1"), &[&team_id])?
            .get(0);
        insert(&mut tx, version)?;
        tx.commit()?;
        Ok(version)
    }

    fn write_round(
        &self,
        team_id: i64,
        device: DeviceId,
        push: &Push,
        ctx: &RoundContext,
        session: &mut SessionHeads,
    ) -> Result<RoundOutcome, RoundError> {
        let mut conn = self.pool.get().map_err(round_error)?;
        let pool::Conn { client, statements } = &mut *conn;
        let mut tx = client.transaction().map_err(|err| round_error(err.into()))?;
        tx.execute("SELECT 1 FROM teams WHERE id = $1 FOR UPDATE", &[&team_id])
            .map_err(|err| round_error(err.into()))?;
        // The session changes only once the commit succeeded: a failed round leaves it as it was.
        let mut heads = session.clone();
        let mut round = PgRound::new(&mut tx, statements, team_id, device, false);
        let reply = handle_push(push, ctx, &mut heads.over(&mut round))?;
        let stored_any = round.stored_any;
        if stored_any {
            let payload = format!("{team_id} {}", self.process);
            tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload]).map_err(|err| round_error(err.into()))?;
        }
        // DESIGN.md decision 6: no reply leaves before this commit, which is durable.
        tx.commit().map_err(|err| round_error(err.into()))?;
        heads.record(&reply);
        *session = heads;
        Ok(RoundOutcome { reply, stored_any })
    }
}

/// Where a database is, for messages: user, host, port and name, never the password.
pub(super) fn describe(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().map(|user| format!("{user}@")).unwrap_or_default();
    let name = config.get_dbname().unwrap_or("(default database)");
    format!("postgres://{user}{host}:{port}/{name}")
}

/// An error of the database at open, with where it is.
fn in_database(pool: &Pool, err: StorageError) -> StorageError {
    match err {
        StorageError::Postgres(err) => {
            StorageError::Unavailable(format!("PostgreSQL at {}: {}", pool.describe, reason(&err)))
        }
        other => other,
    }
}

fn round_error(err: StorageError) -> RoundError {
    RoundError::Storage(err.to_string())
}

fn migrate(client: &mut postgres::Client) -> Result<(), StorageError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    let has_meta: bool = tx.query_one("SELECT to_regclass('meta') IS NOT NULL", &[])?.get(0);
    let version = if has_meta {
        match tx.query_opt("SELECT value FROM meta WHERE key = 'schema_version'", &[])? {
            Some(row) => {
                let text: String = row.get(0);
                text.parse::<usize>().map_err(|_| StorageError::Corrupt(format!("schema version {text:?}")))?
            }
            None => return Err(StorageError::Corrupt("the database has a meta table but no schema version".into())),
        }
    } else {
        0
    };
    if version > MIGRATIONS.len() {
        return Err(StorageError::Corrupt(format!(
            "schema version {version}, this build knows up to {}: update kefu",
            MIGRATIONS.len()
        )));
    }
    for (idx, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.batch_execute(migration)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', $1)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&(idx + 1).to_string()],
        )?;
        tracing::info!(version = idx + 1, "migrated database");
    }
    tx.commit()?;
    Ok(())
}

/// The server's actor and sealing key: made by the first process that opens the database, read by
/// every other (the same numbers must verify whichever process sealed them).
fn server_identity(client: &mut postgres::Client) -> Result<(DeviceId, [u8; 32]), StorageError> {
    let key: [u8; 32] = rand::random();
    client.execute(
        "INSERT INTO meta (key, value) VALUES ('server_device', $1), ('seal_key', $2) ON CONFLICT (key) DO NOTHING",
        &[&DeviceId::random().to_string(), &hex::encode(key)],
    )?;
    let meta = |client: &mut postgres::Client, key: &str| -> Result<String, StorageError> {
        Ok(client.query_one("SELECT value FROM meta WHERE key = $1", &[&key])?.get(0))
    };
    let device =
        meta(client, "server_device")?.parse().map_err(|_| StorageError::Corrupt("server device id".into()))?;
    let key = hex::decode(meta(client, "seal_key")?)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| StorageError::Corrupt("seal key".into()))?;
    Ok((device, key))
}

/// A roster row's metadata (the JSON left empty), from [`ROSTER_COLUMNS`].
fn roster_record(row: &Row) -> RosterRecord {
    let published_by: Option<String> = row.get(4);
    let published_at: Option<i64> = row.get(5);
    RosterRecord {
        version: row.get(0),
        team_version: row.get(1),
        roster_json: String::new(),
        made_by: row.get(2),
        made_at: Timestamp(row.get(3)),
        published: published_by.zip(published_at.map(Timestamp)),
    }
}

fn device_columns(row: &Row) -> DeviceColumns {
    DeviceColumns {
        id: row.get(0),
        team_id: row.get(1),
        team_name: row.get(2),
        role: row.get(3),
        label: row.get(4),
        token_salt: row.get(5),
        token_hash: row.get(6),
        created_at: row.get(7),
        revoked_at: row.get(8),
        staff: row.get(9),
    }
}

fn user_columns(row: &Row) -> UserColumns {
    (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4), row.get(5))
}

impl Storage for PgStorage {
    fn server_device(&self) -> DeviceId {
        self.server_device
    }

    fn seal_key(&self) -> [u8; 32] {
        self.seal_key
    }

    fn create_team(&self, name: &str, now: Timestamp) -> Result<TeamRecord, StorageError> {
        let row = self.query_opt(
            "INSERT INTO teams (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id",
            &[&name, &now.0],
        )?;
        match row {
            Some(row) => Ok(TeamRecord { id: row.get(0), name: name.to_string() }),
            None => Err(StorageError::Conflict(format!("team {name:?} already exists"))),
        }
    }

    fn team_by_name(&self, name: &str) -> Result<Option<TeamRecord>, StorageError> {
        Ok(self
            .query_opt("SELECT id, name FROM teams WHERE name = $1", &[&name])?
            .map(|row| TeamRecord { id: row.get(0), name: row.get(1) }))
    }

    fn health(&self, now: Timestamp) -> Result<(), StorageError> {
        let unavailable = |what: &str, err: StorageError| StorageError::Unavailable(format!("{what}: {err}"));
        self.query("SELECT COUNT(*) FROM teams", &[]).map_err(|err| unavailable("the database cannot be read", err))?;
        self.execute(
            "INSERT INTO meta (key, value) VALUES ('health_checked_at', $1)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&now.0.to_string()],
        )
        .map_err(|err| unavailable("the database cannot be written", err))?;
        Ok(())
    }

    fn n_teams(&self) -> Result<usize, StorageError> {
        let row = self.query("SELECT COUNT(*) FROM teams", &[])?;
        Ok(row.first().map_or(0, |row| row.get::<_, i64>(0)) as usize)
    }

    fn insert_device(&self, device: &NewDevice) -> Result<(), StorageError> {
        self.execute(
            "INSERT INTO devices (id, team_id, role, label, token_salt, token_hash, created_at, staff)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &device.id.to_string(),
                &device.team_id,
                &device.role.code(),
                &device.label,
                &device.token_salt.as_slice(),
                &device.token_hash.as_slice(),
                &device.created_at.0,
                &device.staff,
            ],
        )?;
        Ok(())
    }

    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StorageError> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices d JOIN teams t ON t.id = d.team_id WHERE d.id = $1");
        self.query_opt(&sql, &[&id.to_string()])?.map(|row| device_columns(&row).record()).transpose()
    }

    fn devices_of_team(&self, team_id: i64) -> Result<Vec<DeviceRecord>, StorageError> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM devices d JOIN teams t ON t.id = d.team_id
             WHERE d.team_id = $1 ORDER BY d.created_at, d.id"
        );
        self.query(&sql, &[&team_id])?.iter().map(|row| device_columns(row).record()).collect()
    }

    fn revoke_device(&self, id: DeviceId, now: Timestamp) -> Result<Option<DeviceRecord>, StorageError> {
        // Revoking twice keeps the first time, so the revocation poll does not see it again.
        self.execute(
            "UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id.to_string(), &now.0],
        )?;
        self.device(id)
    }

    fn revoked_since(&self, since: Timestamp) -> Result<Vec<(DeviceId, Timestamp)>, StorageError> {
        self.query("SELECT id, revoked_at FROM devices WHERE revoked_at >= $1 ORDER BY revoked_at", &[&since.0])?
            .iter()
            .map(|row| {
                let id: String = row.get(0);
                Ok((id.parse().map_err(|_| StorageError::Corrupt(format!("device id {id:?}")))?, Timestamp(row.get(1))))
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
            && let Some(outcome) = self.read_round(team_id, device, push, ctx, session)?
        {
            return Ok(outcome);
        }
        self.write_round(team_id, device, push, ctx, session)
    }

    fn list_cases(&self, team_id: i64, query: &CaseQuery) -> Result<Vec<CaseRow>, StorageError> {
        let (sql, values) = rows::case_query_sql(team_id, query, |n| format!("${n}"));
        let values: Vec<Box<dyn ToSql + Sync>> = values
            .into_iter()
            .map(|value| -> Box<dyn ToSql + Sync> {
                match value {
                    QueryValue::Int(int) => Box::new(int),
                    QueryValue::Text(text) => Box::new(text),
                }
            })
            .collect();
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|value| value.as_ref()).collect();
        Ok(self
            .query(&sql, &params)?
            .iter()
            .map(|row| CaseRow {
                case_id: row.get(0),
                provisional: row.get(1),
                assigned: row.get(2),
                kind: row.get(3),
                channel: row.get(4),
                status: row.get(5),
                status_conflict: row.get(6),
                priority: row.get(7),
                assignee: row.get(8),
                department: row.get(9),
                subject: row.get(10),
                created_at: Timestamp(row.get(11)),
                updated_at: Timestamp(row.get(12)),
                reply_due: row.get::<_, Option<i64>>(13).map(Timestamp),
                reply_done_at: row.get::<_, Option<i64>>(14).map(Timestamp),
                visit_due: row.get::<_, Option<i64>>(15).map(Timestamp),
                visit_done_at: row.get::<_, Option<i64>>(16).map(Timestamp),
                customer_name: row.get(17),
                customer_phone: row.get(18),
            })
            .collect())
    }

    fn load_doc(&self, team_id: i64, id: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .query_opt("SELECT bytes FROM docs WHERE team_id = $1 AND id = $2", &[&team_id, &id])?
            .map(|row| row.get(0)))
    }

    fn cases_created_between(
        &self,
        team_id: i64,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        Ok(self
            .query(
                "SELECT d.bytes FROM case_index c JOIN docs d ON d.team_id = c.team_id AND d.id = c.case_id
                 WHERE c.team_id = $1 AND c.created_at >= $2 AND c.created_at < $3 ORDER BY c.created_at",
                &[&team_id, &from.0, &to.0],
            )?
            .iter()
            .map(|row| row.get(0))
            .collect())
    }

    fn teams(&self) -> Result<Vec<TeamRecord>, StorageError> {
        Ok(self
            .query("SELECT id, name FROM teams ORDER BY name", &[])?
            .iter()
            .map(|row| TeamRecord { id: row.get(0), name: row.get(1) })
            .collect())
    }

    fn insert_user(
        &self,
        name: &str,
        team_id: i64,
        role: Role,
        password: &str,
        now: Timestamp,
    ) -> Result<(), StorageError> {
        let inserted = self.execute(
            "INSERT INTO users (name, team_id, role, password, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (name) DO NOTHING",
            &[&name, &team_id, &role.code(), &password, &now.0],
        )?;
        if inserted == 0 {
            return Err(StorageError::Conflict(format!("user {name:?} already exists")));
        }
        Ok(())
    }

    fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>, StorageError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u JOIN teams t ON t.id = u.team_id WHERE u.name = $1");
        self.query_opt(&sql, &[&name])?.map(|row| user_record(user_columns(&row))).transpose()
    }

    fn insert_web_session(
        &self,
        token_hash: &[u8; 32],
        user_id: i64,
        csrf: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StorageError> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.client.transaction()?;
        // Expired sessions go as new ones come, so the table holds only live ones.
        tx.execute("DELETE FROM web_sessions WHERE expires_at <= $1", &[&now.0])?;
        tx.execute(
            "INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[&token_hash.as_slice(), &user_id, &csrf, &now.0, &expires_at.0],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn web_session(&self, token_hash: &[u8; 32], now: Timestamp) -> Result<Option<WebSessionRecord>, StorageError> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, s.csrf, s.expires_at FROM web_sessions s
             JOIN users u ON u.id = s.user_id JOIN teams t ON t.id = u.team_id
             WHERE s.token_hash = $1 AND s.expires_at > $2"
        );
        self.query_opt(&sql, &[&token_hash.as_slice(), &now.0])?
            .map(|row| {
                Ok(WebSessionRecord {
                    user: user_record(user_columns(&row))?,
                    csrf: row.get(6),
                    expires_at: Timestamp(row.get(7)),
                })
            })
            .transpose()
    }

    fn delete_web_session(&self, token_hash: &[u8; 32]) -> Result<(), StorageError> {
        self.execute("DELETE FROM web_sessions WHERE token_hash = $1", &[&token_hash.as_slice()])?;
        Ok(())
    }

    fn sign_in_failed(&self, name: &str, now: Timestamp, window_ms: i64) -> Result<(), StorageError> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.client.transaction()?;
        tx.execute("DELETE FROM sign_in_failures WHERE since <= $1", &[&(now.0 - window_ms)])?;
        tx.execute(
            "INSERT INTO sign_in_failures (name, failures, since)
             SELECT $1, 1, $2 WHERE (SELECT COUNT(*) FROM sign_in_failures) < $3
             ON CONFLICT (name) DO UPDATE SET failures = sign_in_failures.failures + 1",
            &[&name, &now.0, &MAX_SIGN_IN_NAMES],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn sign_in_failures(&self, name: &str) -> Result<Option<(u32, Timestamp)>, StorageError> {
        let row = self.query_opt("SELECT failures, since FROM sign_in_failures WHERE name = $1", &[&name])?;
        Ok(row.map(|row| (u32::try_from(row.get::<_, i32>(0)).unwrap_or(u32::MAX), Timestamp(row.get(1)))))
    }

    fn sign_in_succeeded(&self, name: &str) -> Result<(), StorageError> {
        self.execute("DELETE FROM sign_in_failures WHERE name = $1", &[&name])?;
        Ok(())
    }

    fn save_team_file(&self, team_id: i64, toml: &str, by: &str, now: Timestamp) -> Result<i64, StorageError> {
        self.next_version(team_id, "team_files", |tx, version| {
            tx.execute(
                "INSERT INTO team_files (team_id, version, toml, saved_by, saved_at) VALUES ($1, $2, $3, $4, $5)",
                &[&team_id, &version, &toml, &by, &now.0],
            )
        })
    }

    fn team_file(&self, team_id: i64, version: Option<i64>) -> Result<Option<TeamFileRecord>, StorageError> {
        let row = self.query_opt(
            "SELECT version, toml, saved_by, saved_at FROM team_files
             WHERE team_id = $1 AND ($2::BIGINT IS NULL OR version = $2) ORDER BY version DESC LIMIT 1",
            &[&team_id, &version],
        )?;
        Ok(row.map(|row| TeamFileRecord {
            version: row.get(0),
            toml: row.get(1),
            saved_by: row.get(2),
            saved_at: Timestamp(row.get(3)),
        }))
    }

    fn insert_roster(
        &self,
        team_id: i64,
        team_version: i64,
        roster_json: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<i64, StorageError> {
        self.next_version(team_id, "rosters", |tx, version| {
            tx.execute(
                "INSERT INTO rosters (team_id, version, team_version, roster_json, made_by, made_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&team_id, &version, &team_version, &roster_json, &by, &now.0],
            )
        })
    }

    fn update_draft_roster(
        &self,
        team_id: i64,
        version: i64,
        roster_json: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        let changed = self.execute(
            "UPDATE rosters SET roster_json = $3, made_by = $4, made_at = $5
             WHERE team_id = $1 AND version = $2 AND published_at IS NULL",
            &[&team_id, &version, &roster_json, &by, &now.0],
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
        let mut conn = self.pool.get()?;
        let pool::Conn { client, statements } = &mut *conn;
        let mut tx = client.transaction()?;
        // The team's lock, as a round takes it: the change sequence moves one writer at a time.
        tx.execute("SELECT 1 FROM teams WHERE id = $1 FOR UPDATE", &[&team_id])?;
        let Some(row) = tx.query_opt(
            "UPDATE rosters SET published_by = $3, published_at = $4
             WHERE team_id = $1 AND version = $2 AND published_at IS NULL RETURNING roster_json",
            &[&team_id, &version, &by, &now.0],
        )?
        else {
            return Ok(false);
        };
        let json: String = row.get(0);
        let mut round = PgRound::new(&mut tx, statements, team_id, self.server_device, false);
        let stored = round.load(doc.id)?.map(|stored| stored.bytes);
        let mut accepted = vec![(doc.build)(&json, stored.as_deref())?];
        if let Some(also) = &doc.also {
            let stored = round.load(also.id)?.map(|stored| stored.bytes);
            accepted.push((also.build)(stored.as_deref())?);
        }
        round.commit(&accepted)?;
        let payload = format!("{team_id} {}", self.process);
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])?;
        tx.commit()?;
        Ok(true)
    }

    fn write_server_doc(&self, team_id: i64, doc: &ServerDoc<'_>) -> Result<(), StorageError> {
        let mut conn = self.pool.get()?;
        let pool::Conn { client, statements } = &mut *conn;
        let mut tx = client.transaction()?;
        tx.execute("SELECT 1 FROM teams WHERE id = $1 FOR UPDATE", &[&team_id])?;
        let mut round = PgRound::new(&mut tx, statements, team_id, self.server_device, false);
        let stored = round.load(doc.id)?.map(|stored| stored.bytes);
        let accepted = (doc.build)(stored.as_deref())?;
        round.commit(std::slice::from_ref(&accepted))?;
        let payload = format!("{team_id} {}", self.process);
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])?;
        tx.commit()?;
        Ok(())
    }

    fn docs_with_prefix(&self, team_id: i64, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        let rows = self.query(
            "SELECT id, bytes FROM docs WHERE team_id = $1 AND left(id, length($2)) = $2 ORDER BY id",
            &[&team_id, &prefix],
        )?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    fn roster(&self, team_id: i64, version: Option<i64>) -> Result<Option<RosterRecord>, StorageError> {
        let sql = format!(
            "SELECT {ROSTER_COLUMNS}, roster_json FROM rosters
             WHERE team_id = $1 AND ($2::BIGINT IS NULL OR version = $2) ORDER BY version DESC LIMIT 1"
        );
        Ok(self
            .query_opt(&sql, &[&team_id, &version])?
            .map(|row| RosterRecord { roster_json: row.get(6), ..roster_record(&row) }))
    }

    fn roster_versions(&self, team_id: i64) -> Result<Vec<RosterRecord>, StorageError> {
        let sql = format!("SELECT {ROSTER_COLUMNS} FROM rosters WHERE team_id = $1 ORDER BY version DESC");
        Ok(self.query(&sql, &[&team_id])?.iter().map(roster_record).collect())
    }

    fn watch_other_processes(&self, changed: Arc<dyn Fn(Option<i64>) + Send + Sync>) -> Result<(), StorageError> {
        listen::spawn(Arc::clone(&self.pool), self.process, changed)
    }
}
