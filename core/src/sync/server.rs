//! The server's half of a sync round, with storage abstracted: validation on a
//! fork, permissions, server-assigned case numbers, and building the reply.
//!
//! The server crate implements [`SyncStorage`] on SQLite (or PostgreSQL) inside one
//! database transaction and calls [`handle_push`]; the tests implement it in memory.
//! Nothing here does IO itself, so both run the same rules (DESIGN.md decisions 5–7).
//!
//! A round: every pushed document is applied to a fork of the stored one and checked
//! (schema, then permissions); refused documents are reported and nothing of them is
//! kept. Accepted documents are committed together through
//! [`SyncStorage::commit`]: the reply is built only after it returns, so an ack is
//! never sent for something not durable (decision 6). The reply then carries what the
//! device lacks: the server's side of each pushed document, and every document other
//! devices changed since the device's cursor, found through the storage's change
//! sequence, not by walking the catalogue.

use automerge::{ChangeHash, ReadDoc};

use super::wire::{DocAck, DocPush, DocRefusal, DocUpdate, Push, Refusal, RefusalCode, Reply};
use crate::case::{CaseDoc, CaseEdit, CasePolicy, EditContext, LoadError, fork_with};
use crate::duty_log::{DutyLogDoc, is_duty_log};
use crate::ids::{DeviceId, StaffId, Timestamp};

/// A stored document as the server holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDoc {
    /// The whole document (automerge `save()`).
    pub bytes: Vec<u8>,
    /// Whether it belongs to the pushing device's team.
    pub same_team: bool,
}

/// A document accepted in this round, to be committed.
#[derive(Clone, Debug)]
pub struct AcceptedDoc {
    /// Document id.
    pub id: String,
    /// The whole merged document.
    pub bytes: Vec<u8>,
    /// Its heads.
    pub heads: Vec<ChangeHash>,
    /// Whether the server did not hold it before.
    pub is_new: bool,
    /// The case as read after the merge, for the server's index (`None` for duty logs).
    pub case: Option<Box<crate::case::Case>>,
}

/// What the server's storage offers a round. One value serves one device's round;
/// every call happens inside the same database transaction.
pub trait SyncStorage {
    /// A storage failure (refused to the device as `server.internal`, logged by the server).
    type Error: std::fmt::Display;

    /// The stored document, if any.
    fn load(&mut self, id: &str) -> Result<Option<StoredDoc>, Self::Error>;
    /// The next server case number for the team (`K<year>-<serial>`).
    fn next_case_number(&mut self, now: Timestamp) -> Result<String, Self::Error>;
    /// Durably stores the accepted documents (bumping the team's change sequence for
    /// each) and records that the device now holds `device_heads` of each. Returns
    /// only once committed.
    fn commit(&mut self, docs: &[AcceptedDoc], device_heads: &[(String, Vec<ChangeHash>)]) -> Result<(), Self::Error>;
    /// Documents of the team changed after `cursor` (ids with their sequence, oldest
    /// first), at most `limit`.
    fn changed_since(&mut self, cursor: u64, limit: usize) -> Result<Vec<(String, u64)>, Self::Error>;
    /// The heads this device was last known to hold of a document.
    fn device_heads(&mut self, id: &str) -> Result<Option<Vec<ChangeHash>>, Self::Error>;
}

/// Who is pushing and under which settings.
#[derive(Clone, Debug)]
pub struct RoundContext {
    /// The server's own actor, for the edits it makes (case numbers).
    pub server_device: DeviceId,
    /// The server's clock.
    pub now: Timestamp,
    /// At most this many documents per push (default 500).
    pub max_docs: usize,
    /// At most this many updates per reply; the rest follow with `more` (default 200).
    pub max_updates: usize,
}

/// A whole-round failure (nothing stored).
#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    /// The push itself was refused (e.g. too many documents).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Storage failed.
    #[error("storage failed: {0}")]
    Storage(String),
}

/// Runs one round for a device's push against the team's storage.
pub fn handle_push<S: SyncStorage>(push: &Push, ctx: &RoundContext, storage: &mut S) -> Result<Reply, RoundError> {
    let storage_error = |err: S::Error| RoundError::Storage(err.to_string());
    if push.docs.len() > ctx.max_docs {
        return Err(Refusal::new(
            RefusalCode::TooManyDocs,
            format!("{} documents in one round, at most {} allowed", push.docs.len(), ctx.max_docs),
        )
        .into());
    }
    let mut accepted = Vec::new();
    let mut refusals = Vec::new();
    for doc_push in &push.docs {
        match accept(doc_push, ctx, storage)? {
            Ok(doc) => accepted.push((doc_push, doc)),
            Err(refusal) => refusals.push(DocRefusal { id: doc_push.id.clone(), refusal }),
        }
    }
    let docs: Vec<AcceptedDoc> = accepted.iter().map(|(_, doc)| doc.clone()).collect();
    let device_heads: Vec<(String, Vec<ChangeHash>)> =
        accepted.iter().map(|(_, doc)| (doc.id.clone(), doc.heads.clone())).collect();
    if !docs.is_empty() {
        storage.commit(&docs, &device_heads).map_err(storage_error)?;
    }
    let mut updates = Vec::new();
    let mut acks = Vec::new();
    for (doc_push, doc) in &accepted {
        acks.push(DocAck { id: doc.id.clone(), heads: doc.heads.clone() });
        // The server's side the device lacks (e.g. the assigned number).
        if doc.heads != doc_push.heads {
            let merged = load_any(&doc.bytes, ctx.server_device).map_err(|err| RoundError::Storage(err.to_string()))?;
            updates.push(DocUpdate {
                id: doc.id.clone(),
                heads: doc.heads.clone(),
                changes: merged.save_after(&doc_push.heads),
            });
        }
    }
    // Others' changes since the cursor, skipping what this round already answered.
    let changed = storage.changed_since(push.cursor, ctx.max_updates + 1).map_err(storage_error)?;
    let more = changed.len() > ctx.max_updates;
    let mut cursor = push.cursor;
    for (id, seq) in changed.into_iter().take(ctx.max_updates) {
        cursor = cursor.max(seq);
        if accepted.iter().any(|(_, doc)| doc.id == id) || refusals.iter().any(|r| r.id == id) {
            continue;
        }
        let Some(stored) = storage.load(&id).map_err(storage_error)? else { continue };
        let known = storage.device_heads(&id).map_err(storage_error)?.unwrap_or_default();
        let doc = load_any(&stored.bytes, ctx.server_device).map_err(|err| RoundError::Storage(err.to_string()))?;
        let heads = doc.get_heads();
        if heads != known {
            updates.push(DocUpdate { id, heads, changes: doc.save_after(&known) });
        }
    }
    // The device will hold these heads once it applies the reply; record them so the
    // next round sends only what is new. Recorded after the reply is built: if the
    // device never gets it, it pushes with its old cursor and gets them again.
    let sent: Vec<(String, Vec<ChangeHash>)> = updates.iter().map(|u| (u.id.clone(), u.heads.clone())).collect();
    if !sent.is_empty() {
        storage.commit(&[], &sent).map_err(storage_error)?;
    }
    Ok(Reply { cursor, more, acks, refusals, updates })
}

/// Applies one pushed document to a fork of the stored one and checks it.
fn accept<S: SyncStorage>(
    push: &DocPush,
    ctx: &RoundContext,
    storage: &mut S,
) -> Result<Result<AcceptedDoc, Refusal>, RoundError> {
    let stored = storage.load(&push.id).map_err(|err| RoundError::Storage(err.to_string()))?;
    if stored.as_ref().is_some_and(|stored| !stored.same_team) {
        return Ok(Err(Refusal::new(RefusalCode::Forbidden, format!("{} belongs to another team", push.id))));
    }
    let is_new = stored.is_none();
    let merged = match &stored {
        Some(stored) => {
            let base =
                load_any(&stored.bytes, ctx.server_device).map_err(|err| RoundError::Storage(err.to_string()))?;
            match fork_with(&base, &push.changes) {
                Ok((fork, _)) => fork,
                Err(err) => return Ok(Err(Refusal::new(RefusalCode::Malformed, format!("unreadable changes: {err}")))),
            }
        }
        None => match load_any(&push.changes, ctx.server_device) {
            Ok(doc) => doc,
            Err(LoadError::Decode(err)) if matches!(*err, automerge::AutomergeError::MissingDeps) => {
                return Ok(Err(missing_base()));
            }
            Err(err) => return Ok(Err(Refusal::new(RefusalCode::Malformed, format!("unreadable document: {err}")))),
        },
    };
    // Changes building on history the server lacks sit in automerge's queue unapplied.
    if push.heads.iter().any(|head| merged.get_change_by_hash(head).is_none()) {
        return Ok(Err(missing_base()));
    }
    check_and_number(&push.id, merged, is_new, ctx, storage)
}

fn assigned_only_by(doc: &automerge::Automerge, server: DeviceId) -> bool {
    let server_actor = server.actor();
    let Ok(Some((automerge::Value::Object(_), number))) = doc.get(automerge::ROOT, "number") else { return true };
    doc.get_all(&number, "assigned").is_ok_and(|values| {
        values.iter().all(|(_, id)| matches!(id, automerge::ObjId::Id(_, actor, _) if *actor == server_actor))
    })
}

fn missing_base() -> Refusal {
    Refusal::new(
        RefusalCode::MissingBase,
        "changes build on history the server does not have; the whole document will be resent",
    )
}

/// Schema and permission checks on the merged fork, then the server's own edits.
fn check_and_number<S: SyncStorage>(
    id: &str,
    merged: automerge::Automerge,
    is_new: bool,
    ctx: &RoundContext,
    storage: &mut S,
) -> Result<Result<AcceptedDoc, Refusal>, RoundError> {
    let schema_refusal = |err: &dyn std::fmt::Display| Refusal::new(RefusalCode::Schema, err.to_string());
    if is_duty_log(&merged) {
        let log = match DutyLogDoc::from_automerge(merged) {
            Ok(log) => log,
            Err(err) => return Ok(Err(schema_refusal(&err))),
        };
        if log.id() != id {
            return Ok(Err(Refusal::new(RefusalCode::Schema, format!("document is {}, not {id}", log.id()))));
        }
        let doc = log.automerge();
        return Ok(Ok(AcceptedDoc {
            id: id.to_string(),
            bytes: doc.save(),
            heads: doc.get_heads(),
            is_new,
            case: None,
        }));
    }
    let mut case_doc = match CaseDoc::from_automerge(merged) {
        Ok(doc) => doc,
        Err(err) => return Ok(Err(schema_refusal(&err))),
    };
    if case_doc.id().to_string() != id {
        return Ok(Err(Refusal::new(RefusalCode::Schema, format!("document is case {}, not {id}", case_doc.id()))));
    }
    // Only the server sets the assigned number (DESIGN.md decision 4): every value
    // of number.assigned, concurrent ones included, must have been written by the
    // server's actor. Checked by authorship, not by comparing with what is stored,
    // so a document resent whole after a server restore keeps its real number.
    if !assigned_only_by(case_doc.automerge(), ctx.server_device) {
        return Ok(Err(Refusal::new(RefusalCode::ForgedField, "number.assigned is set by the server only")));
    }
    let case = case_doc.read();
    if case.number.assigned.is_none() {
        let number = storage.next_case_number(ctx.now).map_err(|err| RoundError::Storage(err.to_string()))?;
        let server = StaffId::new("server").expect("a valid staff id");
        let policy = CasePolicy::default();
        let edit_ctx = EditContext { at: ctx.now, by: &server, policy: &policy };
        case_doc
            .apply(&edit_ctx, &CaseEdit::AssignNumber(number))
            .map_err(|err| RoundError::Storage(err.to_string()))?;
    }
    let doc = case_doc.automerge();
    Ok(Ok(AcceptedDoc {
        id: id.to_string(),
        bytes: doc.save(),
        heads: doc.get_heads(),
        is_new,
        case: Some(Box::new(case_doc.read())),
    }))
}

/// Loads bytes as a raw automerge document written by `actor` from now on.
fn load_any(bytes: &[u8], actor: DeviceId) -> Result<automerge::Automerge, LoadError> {
    let options = automerge::LoadOptions::new().text_encoding(crate::case::TEXT_ENCODING);
    Ok(automerge::Automerge::load_with_options(bytes, options)?.with_actor(actor.actor()))
}
