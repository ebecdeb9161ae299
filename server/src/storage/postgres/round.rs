//! One sync round's view of PostgreSQL, inside its transaction: the core's [`SyncStorage`] in SQL.
//!
//! The SQL mirrors SQLite's `RoundTx` (`sqlite.rs`) statement for statement; where the dialects
//! differ (`GREATEST` for `MAX`, `ON CONFLICT` for `INSERT OR REPLACE`, `$n`), the meaning does
//! not. Statements are prepared once per connection and kept with it.
//!
//! Leaves out: the transaction's isolation and the team lock (`mod.rs`).

use std::collections::HashMap;
use std::sync::LazyLock;

use automerge::ChangeHash;
use kefu_core::case::Case;
use kefu_core::ids::{CaseId, DeviceId, Timestamp};
use kefu_core::sync::server::{AcceptedDoc, DeviceStore, StoredDoc, SyncStorage};
use postgres::types::ToSql;
use postgres::{Row, Statement, Transaction};

use crate::storage::StorageError;
use crate::storage::rows::{CASE_INDEX_INSERT_COLUMNS, CaseIndexValues, decode_heads, encode_heads};

/// The round's transaction and what it did.
pub(super) struct PgRound<'a, 'b> {
    tx: &'a mut Transaction<'b>,
    statements: &'a mut HashMap<&'static str, Statement>,
    team_id: i64,
    device: String,
    pub(super) stored_any: bool,
    /// A read round: every write is refused, and noted in `wanted_write`.
    read_only: bool,
    pub(super) wanted_write: bool,
}

impl<'a, 'b> PgRound<'a, 'b> {
    pub(super) fn new(
        tx: &'a mut Transaction<'b>,
        statements: &'a mut HashMap<&'static str, Statement>,
        team_id: i64,
        device: DeviceId,
        read_only: bool,
    ) -> Self {
        PgRound {
            tx,
            statements,
            team_id,
            device: device.to_string(),
            stored_any: false,
            read_only,
            wanted_write: false,
        }
    }

    /// Before any write: a read round stops here, and runs again as a write.
    fn writable(&mut self) -> Result<(), StorageError> {
        if self.read_only {
            self.wanted_write = true;
            return Err(StorageError::Unavailable("a read round cannot write".into()));
        }
        Ok(())
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, StorageError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    fn query_opt(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>, StorageError> {
        let statement = self.statement(sql)?;
        Ok(self.tx.query_opt(&statement, params)?)
    }

    fn query_one(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, StorageError> {
        let statement = self.statement(sql)?;
        Ok(self.tx.query_one(&statement, params)?)
    }

    fn query(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StorageError> {
        let statement = self.statement(sql)?;
        Ok(self.tx.query(&statement, params)?)
    }

    fn execute(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StorageError> {
        let statement = self.statement(sql)?;
        Ok(self.tx.execute(&statement, params)?)
    }
}

/// The upsert of a case board row: every column but the key replaced.
static WRITE_CASE_INDEX: LazyLock<String> = LazyLock::new(|| {
    let values: Vec<String> = (1..=21).map(|n| format!("${n}")).collect();
    let replaced: Vec<String> =
        CASE_INDEX_INSERT_COLUMNS.split(", ").skip(2).map(|column| format!("{column} = EXCLUDED.{column}")).collect();
    format!(
        "INSERT INTO case_index ({CASE_INDEX_INSERT_COLUMNS}) VALUES ({}) ON CONFLICT (team_id, case_id) DO UPDATE SET {}",
        values.join(", "),
        replaced.join(", ")
    )
});

impl PgRound<'_, '_> {
    fn write_case_index(&mut self, case: &Case) -> Result<(), StorageError> {
        let row = CaseIndexValues::of(case);
        let team_id = self.team_id;
        self.execute(
            WRITE_CASE_INDEX.as_str(),
            &[
                &team_id,
                &row.case_id,
                &row.provisional,
                &row.assigned,
                &row.kind,
                &row.channel,
                &row.status,
                &row.status_conflict,
                &row.priority,
                &row.assignee,
                &row.department,
                &row.subject,
                &row.created_at,
                &row.updated_at,
                &row.reply_due,
                &row.reply_done_at,
                &row.visit_due,
                &row.visit_done_at,
                &row.customer_name,
                &row.customer_phone,
                &row.phone_digits,
            ],
        )?;
        Ok(())
    }
}

impl SyncStorage for PgRound<'_, '_> {
    type Error = StorageError;

    fn load(&mut self, id: &str) -> Result<Option<StoredDoc>, StorageError> {
        let team_id = self.team_id;
        let own = self.query_opt("SELECT bytes, seq FROM docs WHERE team_id = $1 AND id = $2", &[&team_id, &id])?;
        if let Some(row) = own {
            let seq: i64 = row.get(1);
            return Ok(Some(StoredDoc { bytes: row.get(0), same_team: true, seq: seq as u64 }));
        }
        // Case ids are UUIDs, unique across teams: another team's case must be refused, not
        // shadowed by a copy. Duty-log ids name a date and shift, so each team has its own.
        if id.parse::<CaseId>().is_ok()
            && self
                .query_opt("SELECT team_id FROM docs WHERE id = $1 AND team_id <> $2 LIMIT 1", &[&id, &team_id])?
                .is_some()
        {
            // The bytes of another team's document never leave storage.
            return Ok(Some(StoredDoc { bytes: Vec::new(), same_team: false, seq: 0 }));
        }
        Ok(None)
    }

    fn next_case_serial(&mut self, year: i32) -> Result<u64, StorageError> {
        self.writable()?;
        let team_id = self.team_id;
        let row = self.query_one(
            "INSERT INTO case_counters (team_id, year, next) VALUES ($1, $2, 2)
             ON CONFLICT (team_id, year) DO UPDATE SET next = case_counters.next + 1 RETURNING next - 1",
            &[&team_id, &year],
        )?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn reserve_case_serial(&mut self, year: i32, serial: u64) -> Result<(), StorageError> {
        self.writable()?;
        let team_id = self.team_id;
        let after = i64::try_from(serial).unwrap_or(i64::MAX - 1) + 1;
        self.execute(
            "INSERT INTO case_counters (team_id, year, next) VALUES ($1, $2, $3)
             ON CONFLICT (team_id, year) DO UPDATE SET next = GREATEST(case_counters.next, EXCLUDED.next)",
            &[&team_id, &year, &after],
        )?;
        Ok(())
    }

    fn case_with_number(&mut self, number: &str) -> Result<Option<String>, StorageError> {
        let team_id = self.team_id;
        Ok(self
            .query_opt(
                "SELECT case_id FROM case_index WHERE team_id = $1 AND assigned = $2 LIMIT 1",
                &[&team_id, &number],
            )?
            .map(|row| row.get(0)))
    }

    fn commit(&mut self, docs: &[AcceptedDoc]) -> Result<Vec<u64>, StorageError> {
        self.writable()?;
        let now = Timestamp::now().0;
        let team_id = self.team_id;
        let mut seqs = Vec::with_capacity(docs.len());
        for doc in docs {
            let seq: i64 =
                self.query_one("UPDATE teams SET seq = seq + 1 WHERE id = $1 RETURNING seq", &[&team_id])?.get(0);
            let stamp = rand::random::<i64>() & i64::MAX | 1;
            self.execute(
                "INSERT INTO seq_stamps (team_id, seq, stamp) VALUES ($1, $2, $3)
                 ON CONFLICT (team_id, seq) DO UPDATE SET stamp = EXCLUDED.stamp",
                &[&team_id, &seq, &stamp],
            )?;
            self.execute(
                "INSERT INTO docs (team_id, id, bytes, seq, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (team_id, id) DO UPDATE SET bytes = EXCLUDED.bytes, seq = EXCLUDED.seq,
                     updated_at = EXCLUDED.updated_at",
                &[&team_id, &doc.id, &doc.bytes, &seq, &now],
            )?;
            if let Some(case) = &doc.case {
                self.write_case_index(case)?;
            }
            self.stored_any = true;
            seqs.push(seq as u64);
        }
        Ok(seqs)
    }

    fn changed_since(&mut self, cursor: u64, limit: usize) -> Result<Vec<(String, u64)>, StorageError> {
        let team_id = self.team_id;
        let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.query(
            "SELECT id, seq FROM docs WHERE team_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&team_id, &cursor, &limit],
        )?;
        Ok(rows.iter().map(|row| (row.get(0), row.get::<_, i64>(1) as u64)).collect())
    }

    fn stamp(&mut self, seq: u64) -> Result<Option<u64>, StorageError> {
        let Ok(seq) = i64::try_from(seq) else { return Ok(None) };
        let team_id = self.team_id;
        Ok(self
            .query_opt("SELECT stamp FROM seq_stamps WHERE team_id = $1 AND seq = $2", &[&team_id, &seq])?
            .map(|row| row.get::<_, i64>(0) as u64))
    }

    fn device_store(&mut self) -> Result<Option<DeviceStore>, StorageError> {
        let device = self.device.clone();
        let row = self.query_opt("SELECT store_id, generation FROM device_stores WHERE device_id = $1", &[&device])?;
        row.map(|row| {
            let store: Vec<u8> = row.get(0);
            Ok(DeviceStore {
                store: store.try_into().map_err(|_| StorageError::Corrupt("device store id".into()))?,
                generation: row.get::<_, i64>(1) as u64,
            })
        })
        .transpose()
    }

    fn set_device_store(&mut self, store: DeviceStore, forget_heads: bool) -> Result<(), StorageError> {
        self.writable()?;
        let device = self.device.clone();
        let generation = i64::try_from(store.generation).unwrap_or(i64::MAX);
        self.execute(
            "INSERT INTO device_stores (device_id, store_id, generation) VALUES ($1, $2, $3)
             ON CONFLICT (device_id) DO UPDATE SET store_id = EXCLUDED.store_id, generation = EXCLUDED.generation",
            &[&device, &store.store.as_slice(), &generation],
        )?;
        if forget_heads {
            self.execute("DELETE FROM device_doc_heads WHERE device_id = $1", &[&device])?;
        }
        Ok(())
    }

    fn device_heads(&mut self, id: &str) -> Result<Option<Vec<ChangeHash>>, StorageError> {
        let device = self.device.clone();
        let row =
            self.query_opt("SELECT heads FROM device_doc_heads WHERE device_id = $1 AND doc_id = $2", &[&device, &id])?;
        row.map(|row| decode_heads(row.get::<_, &[u8]>(0))).transpose()
    }

    fn set_device_heads(&mut self, heads: &[(String, Vec<ChangeHash>)]) -> Result<(), StorageError> {
        self.writable()?;
        let device = self.device.clone();
        for (doc_id, doc_heads) in heads {
            self.execute(
                "INSERT INTO device_doc_heads (device_id, doc_id, heads) VALUES ($1, $2, $3)
                 ON CONFLICT (device_id, doc_id) DO UPDATE SET heads = EXCLUDED.heads",
                &[&device, doc_id, &encode_heads(doc_heads)],
            )?;
        }
        Ok(())
    }
}
