//! The device's half of a sync round (see `crate::sync`): which documents have
//! changes the server has not acknowledged, building the push, and applying the reply.
//!
//! Every write to a document marks it dirty in `sync_docs` (in the write's own
//! transaction). A push carries each dirty document's changes since the heads the
//! server last acknowledged. Applying the reply stores the server's updates first
//! (validated, durable), then records acknowledgements and advances the cursor: a
//! crash in between only means the server resends what the device already has.
//!
//! The server records as held only what the device tells it: every document that
//! arrived (or could not be applied) is flagged `report`, and the next push lists its
//! heads in `have`; the flag is cleared once a reply to that push is applied. A reply
//! saying `resync` (the server lost history in a restore) makes every document
//! unacknowledged and the cursor 0, so everything is pushed again.

use automerge::{ChangeHash, ReadDoc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::{CaseStore, StoreError};
use crate::sync::{Cursor, DocHave, DocPush, Push, Refusal, RefusalCode, Reply};

/// What one round did, for the app to show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    /// Documents pushed.
    pub sent_docs: usize,
    /// Documents the server acknowledged.
    pub acked_docs: usize,
    /// Documents that arrived or changed from the server (ids, for listeners).
    pub received: Vec<String>,
    /// Documents the server refused, with its reason; they stay on the device.
    pub refused: Vec<(String, Refusal)>,
    /// Updates from the server this device could not accept, with why.
    pub rejected_updates: Vec<(String, String)>,
    /// The server has more updates: run another round.
    pub more: bool,
    /// The server lost history (restored from a backup): every document will be pushed again.
    pub resync: bool,
}

pub(super) fn mark_dirty(tx: &Transaction<'_>, doc_id: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO sync_docs (doc_id, dirty) VALUES (?1, 1) ON CONFLICT (doc_id) DO UPDATE SET dirty = 1",
        [doc_id],
    )?;
    Ok(())
}

fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|head| head.0).collect()
}

fn decode_heads(bytes: &[u8]) -> Result<Vec<ChangeHash>, StoreError> {
    if !bytes.len().is_multiple_of(32) {
        return Err(StoreError::Corrupt("stored heads are not whole hashes".into()));
    }
    Ok(bytes.chunks_exact(32).map(|chunk| ChangeHash(chunk.try_into().expect("32-byte chunk"))).collect())
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

impl CaseStore {
    /// Documents with changes the server has not acknowledged (the app's "waiting to
    /// send" count).
    pub fn pending_docs(&self) -> Result<usize, StoreError> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM sync_docs WHERE dirty = 1", [], |row| row.get::<_, i64>(0))?
            as usize)
    }

    /// The server sequence this device has caught up to.
    pub fn server_cursor(&self) -> Result<Cursor, StoreError> {
        Ok(Cursor { seq: self.meta_number("server_cursor")?, stamp: self.meta_number("server_stamp")? })
    }

    /// The tags of the last nine pushes that counted, the latest first (0 where there
    /// were fewer; stores of before this change kept eight).
    fn recent_tags(&self) -> Result<[u32; 9], StoreError> {
        let text: String =
            self.conn.query_row("SELECT value FROM meta WHERE key = 'previous'", [], |row| row.get(0))?;
        let mut tags = [0u32; 9];
        for (slot, word) in tags.iter_mut().zip(text.split_whitespace()) {
            *slot = word.parse().map_err(|_| StoreError::Corrupt("previous push tags in meta".into()))?;
        }
        Ok(tags)
    }

    pub(super) fn meta_number(&self, key: &str) -> Result<u64, StoreError> {
        let text: String = self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| row.get(0))?;
        text.parse().map_err(|_| StoreError::Corrupt(format!("{key} in meta")))
    }

    /// Builds the next push: at most `max_docs` dirty documents, each with its changes
    /// since the server's acknowledged heads, and at most `max_docs` reports of what this
    /// device now holds. A document the server refused is not sent again until it changes.
    pub fn prepare_push(&mut self, max_docs: usize) -> Result<Push, StoreError> {
        let cursor = self.server_cursor()?;
        // (document, acknowledged heads, heads when last refused)
        type DirtyRow = (String, Option<Vec<u8>>, Option<Vec<u8>>);
        let rows: Vec<DirtyRow> = {
            let mut statement = self.conn.prepare_cached(
                "SELECT doc_id, acked_heads, refused_heads FROM sync_docs WHERE dirty = 1 ORDER BY doc_id",
            )?;
            statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?.collect::<Result<_, _>>()?
        };
        let device = self.device;
        let mut docs = Vec::new();
        let mut stuck = Vec::new();
        for (doc_id, acked, refused) in rows {
            if docs.len() >= max_docs {
                break;
            }
            let acked = acked.as_deref().map(decode_heads).transpose()?.unwrap_or_default();
            let doc = self.doc(&doc_id, "document")?.automerge();
            let heads = doc.get_heads();
            if refused
                .as_deref()
                .map(decode_heads)
                .transpose()?
                .is_some_and(|refused| sorted(refused) == sorted(heads.clone()))
            {
                continue;
            }
            // Acknowledged heads this device never received (an update it could not
            // apply) say nothing of what it must send: leave them out.
            let acked: Vec<ChangeHash> =
                acked.into_iter().filter(|head| doc.get_change_by_hash(head).is_some()).collect();
            let (heads, changes) = own_changes(doc, &acked, device);
            if changes.is_empty() {
                // Unacknowledged, yet nothing we may send: others' changes came some way the
                // acknowledgements did not record, and ours may wait on them. Ask the server
                // whether it holds what we hold: it acks, or sends its side, which tells us
                // which of those changes it has.
                stuck.push(doc_id);
            } else {
                docs.push(DocPush { id: doc_id, heads, changes });
            }
        }
        let mut reported: Vec<String> = {
            let mut statement =
                self.conn.prepare_cached("SELECT doc_id FROM sync_docs WHERE report = 1 ORDER BY doc_id LIMIT ?1")?;
            statement.query_map([max_docs as i64], |row| row.get(0))?.collect::<Result<_, _>>()?
        };
        for id in stuck {
            if reported.len() < max_docs && !reported.contains(&id) {
                reported.push(id);
            }
        }
        let mut have = Vec::with_capacity(reported.len());
        for id in reported {
            let heads = if self.doc_exists(&id)? { self.doc(&id, "document")?.automerge().get_heads() } else { vec![] };
            have.push(DocHave { id, heads });
        }
        let recent = self.recent_tags()?;
        let (generation, previous) = if docs.is_empty() && have.is_empty() {
            // A push that carries nothing makes the server record nothing, so a backup
            // taken before it holds everything the server believes: it repeats the last
            // generation, and the server has nothing to write (ARCHITECTURE.md 5a, "reads
            // do not write").
            let count = self.meta_number("generation")?;
            let previous: [u32; 8] = recent[1..].try_into().expect("nine tags");
            (count << 32 | u64::from(recent[0]), previous)
        } else {
            // Durable before the push leaves: a backup taken before it counts lower, and
            // its later pushes do not lead back to this one.
            let tag = self.random.tag();
            let count = self.meta_number("generation")? + 1;
            let previous: [u32; 8] = recent[..8].try_into().expect("eight tags");
            let mut next: Vec<String> = vec![tag.to_string()];
            next.extend(previous.iter().map(u32::to_string));
            let tx = self.conn.transaction()?;
            tx.execute("UPDATE meta SET value = ?1 WHERE key = 'generation'", [count.to_string()])?;
            tx.execute("UPDATE meta SET value = ?1 WHERE key = 'previous'", [next.join(" ")])?;
            tx.commit()?;
            (count << 32 | u64::from(tag), previous)
        };
        self.last_round += 1;
        Ok(Push {
            store: self.store_id,
            round: self.last_round,
            generation,
            previous,
            cursor,
            mark: Cursor { seq: self.meta_number("mark_seq")?, stamp: self.meta_number("mark_stamp")? },
            docs,
            have,
        })
    }

    /// Applies the server's reply to `push`. Durable when this returns.
    pub fn apply_reply(&mut self, push: &Push, reply: &Reply) -> Result<SyncOutcome, StoreError> {
        if reply.round != push.round {
            return Err(StoreError::Protocol(format!(
                "the reply answers round {}, the push was round {}",
                reply.round, push.round
            )));
        }
        let mut outcome = SyncOutcome { sent_docs: push.docs.len(), more: reply.more, ..SyncOutcome::default() };
        if reply.resync {
            self.forget_server()?;
            outcome.resync = true;
            outcome.more = true;
            return Ok(outcome);
        }
        // What each updated document was before, to report only those that changed: an
        // update that brings nothing new tells the server nothing it needs.
        let mut before = Vec::with_capacity(reply.updates.len());
        for update in &reply.updates {
            let heads = if self.doc_exists(&update.id)? {
                self.doc(&update.id, "document")?.automerge().get_heads()
            } else {
                vec![]
            };
            before.push((update.id.clone(), heads));
        }
        // Updates first, all in one transaction; if one is refused, fall back to one
        // at a time so a single bad document does not block the rest.
        let batch: Vec<(String, Vec<u8>)> =
            reply.updates.iter().map(|update| (update.id.clone(), update.changes.clone())).collect();
        let mut accepted: Vec<&crate::sync::DocUpdate> = reply.updates.iter().collect();
        if self.receive_batch(&batch).is_err() {
            accepted.clear();
            for update in &reply.updates {
                match self.receive(&update.id, &update.changes) {
                    Ok(_) => accepted.push(update),
                    Err(err) => outcome.rejected_updates.push((update.id.clone(), err.to_string())),
                }
            }
        }
        outcome.received = accepted.iter().map(|update| update.id.clone()).collect();
        let mut current = Vec::new();
        for id in reply.acks.iter().map(|ack| &ack.id).chain(accepted.iter().map(|u| &u.id)) {
            current.push((id.clone(), self.doc(id, "document")?.automerge().get_heads()));
        }
        let heads_of = |id: &str| current.iter().find(|(doc_id, _)| doc_id == id).map(|(_, heads)| heads.clone());
        let mark_seq = self.meta_number("mark_seq")?;
        let tag_like = format!("P{}-%", self.device.short_tag());
        let tx = self.conn.transaction()?;
        // The server has recorded these reports; what arrives below is reported anew.
        for have in &push.have {
            tx.execute("UPDATE sync_docs SET report = 0 WHERE doc_id = ?1", [&have.id])?;
        }
        for ack in &reply.acks {
            record_server_heads(&tx, &ack.id, &ack.heads, &heads_of(&ack.id).unwrap_or_default())?;
        }
        for update in &accepted {
            let now = heads_of(&update.id).unwrap_or_default();
            record_server_heads(&tx, &update.id, &update.heads, &now)?;
            if before.iter().any(|(id, heads)| *id == update.id && sorted(heads.clone()) != sorted(now.clone())) {
                report(&tx, &update.id)?;
            }
        }
        // An update this device could not apply (it lacked the base, say): tell the
        // server what it does hold, and it sends what that lacks.
        for (id, _) in &outcome.rejected_updates {
            report(&tx, id)?;
        }
        for refused in &reply.refusals {
            let heads = push.docs.iter().find(|doc| doc.id == refused.id).map(|doc| doc.heads.clone());
            if refused.refusal.code == RefusalCode::MissingBase {
                tx.execute("UPDATE sync_docs SET acked_heads = NULL WHERE doc_id = ?1", [&refused.id])?;
            } else {
                tx.execute(
                    "UPDATE sync_docs SET refused_code = ?2, refused_message = ?3, refused_heads = ?4 WHERE doc_id = ?1",
                    params![
                        refused.id,
                        refused.refusal.code.code(),
                        refused.refusal.message,
                        heads.map(|heads| encode_heads(&heads))
                    ],
                )?;
            }
            outcome.refused.push((refused.id.clone(), refused.refusal.clone()));
        }
        // A reinstalled app restarts its provisional counter; cases it opened under the
        // same device tag before come back from the server, and the counter moves past them.
        tx.execute(
            "UPDATE meta SET value = (SELECT MAX(CAST(value AS INTEGER),
                 COALESCE((SELECT MAX(CAST(substr(provisional, 7) AS INTEGER)) + 1 FROM case_index
                           WHERE provisional LIKE ?1), 0)))
             WHERE key = 'next_provisional'",
            [&tag_like],
        )?;
        tx.execute("UPDATE meta SET value = ?1 WHERE key = 'server_cursor'", [reply.cursor.seq.to_string()])?;
        tx.execute("UPDATE meta SET value = ?1 WHERE key = 'server_stamp'", [reply.cursor.stamp.to_string()])?;
        if reply.mark.seq > mark_seq {
            tx.execute("UPDATE meta SET value = ?1 WHERE key = 'mark_seq'", [reply.mark.seq.to_string()])?;
            tx.execute("UPDATE meta SET value = ?1 WHERE key = 'mark_stamp'", [reply.mark.stamp.to_string()])?;
        }
        tx.commit()?;
        outcome.acked_docs = reply.acks.len();
        Ok(outcome)
    }

    /// Applies a reply the server sent unasked (others' changes on a live session): the
    /// answer to an empty push at the current cursor, round 0.
    pub fn apply_unsolicited(&mut self, reply: &Reply) -> Result<SyncOutcome, StoreError> {
        let push = Push { store: self.store_id, cursor: self.server_cursor()?, ..Push::default() };
        self.apply_reply(&push, reply)
    }

    /// The server lost what it acknowledged: every document is unacknowledged again
    /// and will be pushed whole, and the cursor starts from nothing.
    fn forget_server(&mut self) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "UPDATE sync_docs SET acked_heads = NULL, dirty = 1, report = 0,
                 refused_code = NULL, refused_message = NULL, refused_heads = NULL;
             INSERT INTO sync_docs (doc_id, dirty) SELECT id, 1 FROM docs WHERE id NOT IN (SELECT doc_id FROM sync_docs);
             DELETE FROM sync_docs WHERE doc_id NOT IN (SELECT id FROM docs);
             UPDATE meta SET value = '0' WHERE key IN ('server_cursor', 'server_stamp', 'mark_seq', 'mark_stamp');",
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The last refusal of a document, if it is still standing.
    pub fn refusal(&self, doc_id: &str) -> Result<Option<Refusal>, StoreError> {
        let row: Option<(Option<String>, Option<String>)> = self
            .conn
            .query_row("SELECT refused_code, refused_message FROM sync_docs WHERE doc_id = ?1", [doc_id], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        Ok(match row {
            Some((Some(code), Some(message))) => Some(Refusal { code: RefusalCode::from_code(&code), message }),
            _ => None,
        })
    }
}

/// The changes since `acked` this device may push, and the heads they lead to.
///
/// The server takes from a device only changes written under that device's actors
/// (and its own sealed number assignments, which carry their seal as the commit
/// message), so a change by another device that the server may lack is held back, and
/// with it every change of ours that depends on it. That happens only after the server
/// lost history in a restore: the author pushes its own changes again, the server's
/// update brings them here as acknowledged, and ours follow on the next round.
fn own_changes(
    doc: &automerge::Automerge,
    acked: &[ChangeHash],
    device: crate::ids::DeviceId,
) -> (Vec<ChangeHash>, Vec<u8>) {
    let pending = doc.get_changes(acked);
    let pending_hashes: std::collections::HashSet<ChangeHash> = pending.iter().map(automerge::Change::hash).collect();
    let mut sendable: std::collections::HashSet<ChangeHash> = std::collections::HashSet::new();
    let mut bytes = Vec::new();
    // `get_changes` lists changes in causal order, so a change's deps come before it.
    for change in &pending {
        let relayable =
            device.owns(change.actor_id()) || change.message().is_some_and(crate::sync::server::looks_sealed);
        let deps_ok = change.deps().iter().all(|dep| !pending_hashes.contains(dep) || sendable.contains(dep));
        if relayable && deps_ok {
            sendable.insert(change.hash());
            bytes.extend_from_slice(change.raw_bytes());
        }
    }
    if sendable.len() == pending.len() {
        // A document the server never acknowledged, all of it ours to send: automerge's
        // compact saved form, about a third of the same history as change chunks.
        let bytes = if acked.is_empty() { doc.save() } else { bytes };
        return (doc.get_heads(), bytes);
    }
    // Heads of what is sent: acknowledged heads and sent changes no sent change depends on.
    let mut heads: Vec<ChangeHash> = acked.iter().chain(sendable.iter()).copied().collect();
    let covered: std::collections::HashSet<ChangeHash> = pending
        .iter()
        .filter(|change| sendable.contains(&change.hash()))
        .flat_map(|change| change.deps().iter().copied())
        .collect();
    heads.retain(|head| !covered.contains(head));
    heads.sort();
    heads.dedup();
    (heads, bytes)
}

fn report(tx: &Transaction<'_>, doc_id: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO sync_docs (doc_id, dirty, report) VALUES (?1, 0, 1) ON CONFLICT (doc_id) DO UPDATE SET report = 1",
        [doc_id],
    )?;
    Ok(())
}

/// The server holds `server_heads`; the document is clean if the device holds
/// nothing more.
fn record_server_heads(
    tx: &Transaction<'_>,
    doc_id: &str,
    server_heads: &[ChangeHash],
    device_heads: &[ChangeHash],
) -> Result<(), StoreError> {
    let dirty = sorted(server_heads.to_vec()) != sorted(device_heads.to_vec());
    tx.execute(
        "INSERT INTO sync_docs (doc_id, acked_heads, dirty) VALUES (?1, ?2, ?3)
         ON CONFLICT (doc_id) DO UPDATE SET acked_heads = ?2, dirty = ?3,
             refused_code = NULL, refused_message = NULL, refused_heads = NULL",
        params![doc_id, encode_heads(server_heads), dirty],
    )?;
    Ok(())
}
