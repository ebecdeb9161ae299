//! The device's half of a sync round (see `crate::sync`): which documents have
//! changes the server has not acknowledged, building the push, and applying the reply.
//!
//! Every write to a document marks it dirty in `sync_docs` (in the write's own
//! transaction). A push carries each dirty document's changes since the heads the
//! server last acknowledged. Applying the reply stores the server's updates first
//! (validated, durable), then records acknowledgements and advances the cursor: a
//! crash in between only means the server resends what the device already has.

use automerge::ChangeHash;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{CaseStore, StoreError};
use crate::sync::{DocPush, Push, Refusal, RefusalCode, Reply};

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
    pub fn server_cursor(&self) -> Result<u64, StoreError> {
        let text: String =
            self.conn.query_row("SELECT value FROM meta WHERE key = 'server_cursor'", [], |row| row.get(0))?;
        text.parse().map_err(|_| StoreError::Corrupt("server cursor".into()))
    }

    /// Builds the next push: at most `max_docs` dirty documents, each with its changes
    /// since the server's acknowledged heads. A document the server refused is not
    /// sent again until it changes.
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
        let mut docs = Vec::new();
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
            docs.push(DocPush { id: doc_id, heads, changes: doc.save_after(&acked) });
        }
        Ok(Push { cursor, docs })
    }

    /// Applies the server's reply to `push`. Durable when this returns.
    pub fn apply_reply(&mut self, push: &Push, reply: &Reply) -> Result<SyncOutcome, StoreError> {
        let mut outcome = SyncOutcome { sent_docs: push.docs.len(), more: reply.more, ..SyncOutcome::default() };
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
        let tx = self.conn.transaction()?;
        for ack in &reply.acks {
            record_server_heads(&tx, &ack.id, &ack.heads, &heads_of(&ack.id).unwrap_or_default())?;
        }
        for update in &accepted {
            record_server_heads(&tx, &update.id, &update.heads, &heads_of(&update.id).unwrap_or_default())?;
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
        tx.execute("UPDATE meta SET value = ?1 WHERE key = 'server_cursor'", [reply.cursor.to_string()])?;
        tx.commit()?;
        outcome.acked_docs = reply.acks.len();
        Ok(outcome)
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
