//! The phone's reading of the rosters it holds (see `crate::roster`): shifts, who is on duty,
//! and what changed since the user last marked the rosters seen. Which version was seen is the
//! document's heads at that moment, kept in `meta` under `roster_seen:<id>`; the difference is
//! then the document at those heads against the document now, so nothing else is stored.

use automerge::ChangeHash;
use chrono::NaiveDate;
use rusqlite::OptionalExtension;

use super::{CaseStore, Doc, StoreError};
use crate::ids::{StaffId, Timestamp};
use crate::roster::{self, Roster, RosterChanges, RosterDoc, ShiftView};

impl CaseStore {
    /// Ids of the roster documents held, oldest period first.
    pub fn roster_ids(&self) -> Result<Vec<String>, StoreError> {
        self.ids_of_type("roster")
    }

    /// Every roster held, read.
    pub fn rosters(&mut self) -> Result<Vec<Roster>, StoreError> {
        self.roster_ids()?.iter().map(|id| Ok(self.roster_doc(id)?.read())).collect()
    }

    /// `staff`'s shifts this week and the next (Monday of `today`'s week to the Sunday after),
    /// each from the roster in force on its day.
    pub fn shifts_this_week_and_next(
        &mut self,
        staff: &StaffId,
        today: NaiveDate,
    ) -> Result<Vec<ShiftView>, StoreError> {
        let (from, to) = roster::this_week_and_next(today);
        Ok(roster::shifts_between(&self.rosters()?, staff, from, to))
    }

    /// Who is on duty at `at`, by post.
    pub fn on_duty_at(&mut self, at: Timestamp) -> Result<Vec<ShiftView>, StoreError> {
        Ok(roster::on_duty_at(&self.rosters()?, at))
    }

    /// For every roster held whose shifts changed since it was last marked seen (or that was
    /// never seen), what changed.
    pub fn roster_changes(&mut self) -> Result<Vec<RosterChanges>, StoreError> {
        let mut all = Vec::new();
        for id in self.roster_ids()? {
            let seen = self.seen_heads(&id)?;
            let doc = self.roster_doc(&id)?;
            let before = seen.as_deref().and_then(|heads| doc.read_at(heads));
            let now = doc.read();
            let changes = roster::changes(before.as_ref(), &now);
            if !changes.is_empty() {
                all.push(RosterChanges { seen_version: before.map(|roster| roster.version), roster: now, changes });
            }
        }
        Ok(all)
    }

    /// Remembers every roster as the user has now seen it; durable when this returns.
    pub fn mark_rosters_seen(&mut self) -> Result<(), StoreError> {
        let mut seen = Vec::new();
        for id in self.roster_ids()? {
            let heads = self.roster_doc(&id)?.automerge().get_heads();
            seen.push((
                format!("roster_seen:{id}"),
                heads.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
            ));
        }
        let tx = self.conn.transaction()?;
        for (key, value) in seen {
            tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", [key, value])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn seen_heads(&self, id: &str) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [format!("roster_seen:{id}")], |row| row.get(0))
            .optional()?;
        text.map(|text| {
            text.split(',')
                .filter(|head| !head.is_empty())
                .map(|head| head.parse().map_err(|_| StoreError::Corrupt(format!("seen heads of {id} in meta"))))
                .collect()
        })
        .transpose()
    }

    fn roster_doc(&mut self, id: &str) -> Result<&RosterDoc, StoreError> {
        match self.doc(id, "roster")? {
            Doc::Roster(doc) => Ok(doc),
            _ => Err(super::not_found("roster", id.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;

    use super::*;
    use crate::ids::DeviceId;
    use crate::roster::RosterShift;
    use crate::store::StoreConfig;

    fn shift(staff: &str, post: &str, start: &str, end: &str) -> RosterShift {
        let start = NaiveDateTime::parse_from_str(start, "%Y-%m-%dT%H:%M").unwrap();
        RosterShift {
            staff: StaffId::new(staff).unwrap(),
            date: start.date(),
            shift: "day".into(),
            post: post.into(),
            start,
            end: NaiveDateTime::parse_from_str(end, "%Y-%m-%dT%H:%M").unwrap(),
            lunch: None,
        }
    }

    fn roster(version: u64, shifts: Vec<RosterShift>) -> Roster {
        let first = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let last = NaiveDate::from_ymd_opt(2026, 12, 20).unwrap();
        Roster::new(first, last, version, "supervisor.li", Timestamp(version as i64), 480, shifts).unwrap()
    }

    #[test]
    fn a_phone_reads_its_shifts_and_what_changed_since_it_last_looked() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = CaseStore::open(dir.path(), StoreConfig::default()).unwrap();
        let server = DeviceId::from_u128(9).install([1; 8]).actor();
        let v1 = roster(
            1,
            vec![
                shift("wang", "desk", "2026-12-07T08:00", "2026-12-07T17:30"),
                shift("li", "field", "2026-12-07T08:00", "2026-12-07T17:30"),
                shift("wang", "desk", "2026-12-15T08:00", "2026-12-15T17:30"),
            ],
        );
        let doc = RosterDoc::publish(None, server.clone(), &v1).unwrap();
        store.receive(&v1.id, &doc.automerge().save()).unwrap();

        let wang = StaffId::new("wang").unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
        let mine = store.shifts_this_week_and_next(&wang, today).unwrap();
        assert_eq!(
            mine.iter().map(|view| view.shift.date.to_string()).collect::<Vec<_>>(),
            ["2026-12-07", "2026-12-15"]
        );
        // 2026-12-07T02:00Z is 10:00 in Beijing.
        let on_duty = store.on_duty_at(Timestamp(1_796_608_800_000)).unwrap();
        assert_eq!(
            on_duty.iter().map(|view| (view.shift.post.as_str(), view.shift.staff.as_str())).collect::<Vec<_>>(),
            [("desk", "wang"), ("field", "li")]
        );
        assert_eq!(store.roster_changes().unwrap()[0].changes.len(), 3, "never seen: all new");

        store.mark_rosters_seen().unwrap();
        assert!(store.roster_changes().unwrap().is_empty());
        let seen = doc.automerge().get_heads();
        let v2 = roster(
            2,
            vec![
                shift("wang", "field", "2026-12-07T08:00", "2026-12-07T17:30"),
                shift("li", "field", "2026-12-07T08:00", "2026-12-07T17:30"),
            ],
        );
        let doc = RosterDoc::publish(Some(doc), server, &v2).unwrap();
        store.receive(&v2.id, &doc.automerge().save_after(&seen)).unwrap();
        drop(store);
        let mut store = CaseStore::open(dir.path(), StoreConfig::default()).unwrap();
        let changed = store.roster_changes().unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!((changed[0].seen_version, changed[0].roster.version), (Some(1), 2));
        let what: Vec<(Option<&str>, Option<&str>)> = changed[0]
            .changes
            .iter()
            .map(|change| {
                (change.before.as_ref().map(|s| s.post.as_str()), change.after.as_ref().map(|s| s.post.as_str()))
            })
            .collect();
        assert_eq!(what, [(Some("desk"), Some("field")), (Some("desk"), None)]);
        assert!(changed[0].changes.iter().all(|change| change.concerns(&wang)));
        assert!(
            store
                .edit_duty_log(&v1.id, &crate::duty_log::DutyEdit::SetWeather("rain".into()), &wang, Timestamp(1))
                .is_err(),
            "no edit API writes a roster"
        );
    }

    #[test]
    fn a_format_2_store_is_migrated_and_keeps_its_documents() {
        let dir = tempfile::tempdir().unwrap();
        let log_id = {
            let mut store = CaseStore::open(dir.path(), StoreConfig::default()).unwrap();
            let log =
                store.open_duty_log(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(), crate::duty_log::DutyShift::Night);
            store
                .conn
                .execute_batch(
                    "CREATE TABLE docs_v2 (id TEXT PRIMARY KEY, doc_type TEXT NOT NULL CHECK (doc_type IN ('case', 'duty_log')),
                         snapshot BLOB NOT NULL, n_changes INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
                     INSERT INTO docs_v2 SELECT * FROM docs; DROP TABLE docs; ALTER TABLE docs_v2 RENAME TO docs;
                     PRAGMA user_version = 2;",
                )
                .unwrap();
            log.unwrap().id
        };
        let mut store = CaseStore::open(dir.path(), StoreConfig::default()).unwrap();
        assert_eq!(store.duty_log(&log_id).unwrap().shift, crate::duty_log::DutyShift::Night);
        let v1 = roster(1, vec![shift("wang", "desk", "2026-12-07T08:00", "2026-12-07T17:30")]);
        let doc = RosterDoc::publish(None, DeviceId::from_u128(9).actor(), &v1).unwrap();
        store.receive(&v1.id, &doc.automerge().save()).unwrap();
        assert_eq!(store.rosters().unwrap(), [v1]);
    }
}
