//! [`CaseBatch`]: many edits to one or many cases in one durable transaction.
//!
//! Every single edit fsyncs (DESIGN.md decision 6), which is right for a person at a screen
//! and wrong for a centre importing 5,000 cases from its old system or a phone catching up on
//! a shift's paperwork: 120,000 edits took nine minutes (issue 16). A batch applies its edits
//! to working copies in memory, checked exactly as single edits are, and writes them all in
//! one transaction, one chunk per document: all of it is durable when
//! [`CaseStore::batch`] returns, or none of it is stored.
//!
//! Leaves out: duty logs (a shift's log is edited live, not in bulk).

use std::collections::HashMap;

use automerge::ChangeHash;
use rusqlite::TransactionBehavior;

use super::{CaseStore, Doc, StoreError, not_found, persist};
use crate::case::{Case, CaseDoc, CaseEdit, EditContext, EntryId, NewCase, provisional_number};
use crate::ids::{CaseId, StaffId, Timestamp};

/// The edits of one batch, applied to working copies until the batch ends.
pub struct CaseBatch<'s> {
    store: &'s mut CaseStore,
    /// Working copies by id, with the heads they had on disk (`None`: new in this batch).
    docs: HashMap<String, (CaseDoc, Option<Vec<ChangeHash>>)>,
    /// Ids in the order first touched, so the write order is the edit order.
    order: Vec<String>,
    next_provisional: u64,
}

impl CaseBatch<'_> {
    /// Opens a new case with the next provisional number.
    pub fn create_case(&mut self, new: &NewCase, by: &StaffId, at: Timestamp) -> Result<Case, StoreError> {
        let ctx = EditContext { at, by, policy: &self.store.config.policy };
        let device = self.store.device;
        let id = self.store.random.case_id(at, self.next_provisional);
        let doc = CaseDoc::create(device, id, new, &provisional_number(device, self.next_provisional), &ctx)?;
        self.next_provisional += 1;
        let case = doc.read();
        self.order.push(id.to_string());
        self.docs.insert(id.to_string(), (doc, None));
        Ok(case)
    }

    /// Applies an edit to a case held by the store or opened in this batch. Returns the
    /// timeline entry it added, if any. A refused edit changes nothing, in the batch too.
    pub fn edit_case(
        &mut self,
        id: CaseId,
        edit: &CaseEdit,
        by: &StaffId,
        at: Timestamp,
    ) -> Result<Option<EntryId>, StoreError> {
        let key = id.to_string();
        if !self.docs.contains_key(&key) {
            let (doc, heads) = match self.store.doc(&key, "case")? {
                Doc::Case(doc) => (doc.clone(), doc.heads()),
                _ => return Err(not_found("case", key)),
            };
            self.order.push(key.clone());
            self.docs.insert(key.clone(), (doc, Some(heads)));
        }
        let (doc, _) = self.docs.get_mut(&key).expect("inserted above");
        // `apply` is one automerge transaction, rolled back when the edit is refused, so the
        // working document keeps its state without a copy (copying it cost more than the edit).
        Ok(doc.apply(&EditContext { at, by, policy: &self.store.config.policy }, edit)?)
    }

    /// Reads a case as the batch has it so far.
    pub fn case(&mut self, id: CaseId) -> Result<Case, StoreError> {
        match self.docs.get(&id.to_string()) {
            Some((doc, _)) => Ok(doc.read()),
            None => self.store.case(id),
        }
    }
}

impl CaseStore {
    /// Runs `work` as one batch: its edits are checked one by one as they are made, and
    /// written together in one fsync'd transaction when it returns `Ok`. When `work` fails,
    /// or the write does, nothing of the batch is stored and the store is as it was.
    pub fn batch<T>(
        &mut self,
        work: impl FnOnce(&mut CaseBatch<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let next_provisional: u64 = self.meta_number("next_provisional")?;
        let mut batch = CaseBatch { store: self, docs: HashMap::new(), order: Vec::new(), next_provisional };
        let value = work(&mut batch)?;
        let CaseBatch { docs: mut working, order, next_provisional, .. } = batch;
        let compact_after = self.config.compact_after;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("UPDATE meta SET value = ?1 WHERE key = 'next_provisional'", [next_provisional.to_string()])?;
        let mut written = Vec::with_capacity(order.len());
        for id in order {
            let (doc, heads) = working.remove(&id).expect("every touched id has a working copy");
            if heads.as_deref() == Some(doc.heads().as_slice()) {
                continue;
            }
            let doc = Doc::Case(doc);
            persist(&tx, &id, &doc, heads.as_deref(), compact_after)?;
            written.push((id, doc));
        }
        tx.commit()?;
        for (id, doc) in written {
            self.cache.insert(id, doc);
        }
        Ok(value)
    }
}
