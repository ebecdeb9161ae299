//! The server's half of a sync round, with storage abstracted: validation on a
//! fork, authorship, permissions, server-assigned case numbers, and building the reply.
//!
//! The server crate implements [`SyncStorage`] on SQLite (or PostgreSQL) inside one
//! database transaction and calls [`handle_push`]; [`super::memory`] implements it in
//! memory for the tests and the fault simulation. Nothing here does IO itself, so all
//! run the same rules (DESIGN.md decisions 5–7).
//!
//! # What the server believes a device holds
//!
//! Only what the device said. A reply can be lost after the server committed, and a
//! device can be reinstalled or restored from a backup, so the server never records
//! what it *sent* as held. It records, per device, the heads the device pushed (it had
//! them to push them) and the heads it reports in [`crate::sync::DocHave`] entries once
//! received updates are durable on it. Updates are computed from those confirmed heads,
//! so a lost reply means a resend, never a gap. The push's store id and generation tell
//! a reinstalled app (new store id) and a restored phone (a generation below one the
//! server has seen) apart from an ordinary device: both make the server
//! forget every head it recorded for the device. A cursor or mark whose stamp the server
//! never issued comes from a history the server lost (it was restored from an older
//! backup): the reply says `resync`, and the device pushes every document again.
//!
//! # Authorship
//!
//! Every change a device pushes that the server lacks must be written by an actor the
//! device owns ([`DeviceId::owns`]). The one exception is a change by the server's own
//! actor that the server lost in a restore: it is taken back only if it is exactly a
//! case-number assignment whose seal ([`seal`]) proves the server made it. New
//! timeline, duty and handover entries must name the staff member the device is issued
//! to, when it is issued to one. Roster documents ([`crate::roster`]) are the server's
//! alone: any change a device pushes to one is refused (`doc.forged_field`).
//!
//! # Requests and attendance: who writes which key, who reads
//!
//! A request ([`crate::request`]) and an attendance record ([`crate::attendance`]) give each
//! root key one writer. Every operation a device pushes is checked against it: the requester
//! makes the request and may withdraw it, the colleague of a swap answers, a supervisor's
//! decision is the server's; a person's phones add check-ins to their own record, corrections
//! and faults are the server's. An operation inside a nested object is allowed only if the same
//! push made the object. Both are read only by those they concern (the requester, the swap's
//! colleague, the person checked in) and by supervisors' devices: other devices of the team
//! neither receive them nor may push to them.

use automerge::{ActorId, Automerge, ChangeHash, ReadDoc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::wire::{Cursor, DocAck, DocPush, DocRefusal, DocUpdate, Push, Refusal, RefusalCode, Reply};
use crate::attendance::{AttendanceDoc, attendance_staff, is_attendance};
use crate::case::{
    AdmissionBudget, AdmissionError, CaseDoc, CaseEdit, CasePolicy, EditContext, LoadError, admit_bytes, check_reloads,
    decode_guarded, fork_with,
};
use crate::duty_log::{DutyLogDoc, is_duty_log};
use crate::ids::{DeviceId, StaffId, Timestamp};
use crate::request::{REQUEST_ID_PREFIX, RequestDoc, Writer, is_request, writer_of};
use crate::roster::{ROSTER_ID_PREFIX, is_roster, is_roster_id};

/// A stored document as the server holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDoc {
    /// The whole document (automerge `save()`).
    pub bytes: Vec<u8>,
    /// Whether it belongs to the pushing device's team.
    pub same_team: bool,
    /// Its position in the team's change sequence.
    pub seq: u64,
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

/// What the server knows of the device store that last synced under a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceStore {
    /// The store's install id.
    pub store: [u8; 16],
    /// The highest generation it pushed with ([`Push::generation`]).
    pub generation: u64,
}

/// What the server's storage offers a round. One value serves one device's round;
/// every call happens inside the same database transaction, and a round that fails
/// leaves none of its writes behind.
pub trait SyncStorage {
    /// A storage failure (refused to the device as `server.internal`, logged by the server).
    type Error: std::fmt::Display;

    /// The stored document, if any.
    fn load(&mut self, id: &str) -> Result<Option<StoredDoc>, Self::Error>;
    /// Draws the team's next case serial for `year` (1, 2, ...).
    fn next_case_serial(&mut self, year: i32) -> Result<u64, Self::Error>;
    /// Makes sure `serial` of `year` is never drawn again: a sealed number came back from
    /// a device after the server lost it in a restore.
    fn reserve_case_serial(&mut self, year: i32, serial: u64) -> Result<(), Self::Error>;
    /// The case of the team that holds server number `number`, if any.
    fn case_with_number(&mut self, number: &str) -> Result<Option<String>, Self::Error>;
    /// Durably stores the accepted documents, giving each the team's next change sequence
    /// number and a fresh random stamp for it; returns the numbers. Returns only once committed.
    fn commit(&mut self, docs: &[AcceptedDoc]) -> Result<Vec<u64>, Self::Error>;
    /// Documents of the team changed after `cursor` (ids with their sequence, oldest
    /// first), at most `limit`.
    fn changed_since(&mut self, cursor: u64, limit: usize) -> Result<Vec<(String, u64)>, Self::Error>;
    /// The stamp the team's sequence number `seq` was given, `None` if it was never issued.
    fn stamp(&mut self, seq: u64) -> Result<Option<u64>, Self::Error>;
    /// The device store that last synced under this token.
    fn device_store(&mut self) -> Result<Option<DeviceStore>, Self::Error>;
    /// Records the device store; `forget_heads` drops every head recorded for the device.
    fn set_device_store(&mut self, store: DeviceStore, forget_heads: bool) -> Result<(), Self::Error>;
    /// The heads this device confirmed holding of a document.
    fn device_heads(&mut self, id: &str) -> Result<Option<Vec<ChangeHash>>, Self::Error>;
    /// Records heads the device holds (it pushed them, or it reported them).
    fn set_device_heads(&mut self, heads: &[(String, Vec<ChangeHash>)]) -> Result<(), Self::Error>;
}

/// Who is pushing and under which settings.
#[derive(Clone, Debug)]
pub struct RoundContext {
    /// The server's own identity: its edits (case numbers) are written by an install of
    /// it ([`DeviceId::install`]), and every install of it is the server.
    pub server_device: DeviceId,
    /// This round's install suffix for the server's edits. It must differ between rounds
    /// (drawn at random): after a restore from a backup, the server would otherwise number
    /// a new edit like one it lost, which devices still hold.
    pub server_nonce: [u8; 8],
    /// The server's secret for sealing the case numbers it assigns.
    pub seal_key: [u8; 32],
    /// The device whose token made this push: the owner of every new change.
    pub device: DeviceId,
    /// The staff member the device is issued to, if any: the author of every new entry.
    pub staff: Option<StaffId>,
    /// The device is a supervisor's (or an administrator's): it reads every request and
    /// attendance record of the team, not only those that concern its staff member.
    pub supervises: bool,
    /// The server's clock.
    pub now: Timestamp,
    /// The team's offset from UTC in minutes: a case number's year is the team's year.
    pub utc_offset_minutes: i32,
    /// At most this many documents (and this many `have` entries) per push (default 500).
    pub max_docs: usize,
    /// At most this many updates per reply; the rest follow with `more` (default 200).
    pub max_updates: usize,
    /// The server pulls for a live session on the device's behalf (fan-out): the push is
    /// the server's, so its store id and cursor say nothing the device confirmed.
    pub fan_out: bool,
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

fn storage_error<E: std::fmt::Display>(err: E) -> RoundError {
    RoundError::Storage(err.to_string())
}

/// Runs one round for a device's push against the team's storage.
pub fn handle_push<S: SyncStorage>(push: &Push, ctx: &RoundContext, storage: &mut S) -> Result<Reply, RoundError> {
    check_shape(push, ctx)?;
    for position in [push.cursor, push.mark] {
        if position.seq != 0 && storage.stamp(position.seq).map_err(storage_error)? != Some(position.stamp) {
            // The device has seen a history this server does not have. Nothing it says about
            // what the server holds can be trusted: it must push everything again.
            storage
                .set_device_store(DeviceStore { store: push.store, generation: push.generation }, true)
                .map_err(storage_error)?;
            return Ok(Reply { round: push.round, resync: true, more: true, ..Reply::default() });
        }
    }
    // After forgetting what a device holds, its cursor says nothing either: what it
    // skipped as held may be what it lacks. Answer as for a new device, from the start.
    let forgot = !ctx.fan_out && note_device_store(push, storage)?;
    let from = if forgot { Cursor::default() } else { push.cursor };

    let mut accepted = Vec::new();
    let mut refusals = Vec::new();
    // Server numbers this round gives or keeps, not yet visible through `storage`.
    let mut numbered = Vec::new();
    for doc_push in &push.docs {
        match accept(doc_push, ctx, storage, &mut numbered)? {
            Ok(doc) => accepted.push((doc_push, doc)),
            Err(refusal) => refusals.push(DocRefusal { id: doc_push.id.clone(), refusal }),
        }
    }
    let docs: Vec<AcceptedDoc> = accepted.iter().map(|(_, doc)| doc.clone()).collect();
    // The highest position this reply acknowledges or updates (`Reply::mark`).
    let mut mark = 0;
    if !docs.is_empty() {
        mark = storage.commit(&docs).map_err(storage_error)?.into_iter().max().unwrap_or(0);
    }
    // The device had what it pushed and says what it received: the only heads recorded.
    // Not from a push that made the server forget: two states of one store are in play
    // (a restored phone and a push its old self sent late), and this one may be the stale.
    let mut held: Vec<(String, Vec<ChangeHash>)> =
        accepted.iter().map(|(doc_push, _)| (doc_push.id.clone(), doc_push.heads.clone())).collect();
    held.extend(push.have.iter().map(|have| (have.id.clone(), have.heads.clone())));
    if !held.is_empty() && !forgot {
        storage.set_device_heads(&held).map_err(storage_error)?;
    }

    let mut updates = Vec::new();
    let mut acks = Vec::new();
    for (doc_push, doc) in &accepted {
        acks.push(DocAck { id: doc.id.clone(), heads: doc.heads.clone() });
        // The server's side the device lacks (e.g. the assigned number).
        if doc.heads != doc_push.heads {
            let merged = load_any(&doc.bytes, ctx).map_err(storage_error)?;
            updates.push(DocUpdate {
                id: doc.id.clone(),
                heads: doc.heads.clone(),
                changes: merged.save_after(&known_heads(&merged, &doc_push.heads)),
            });
        }
    }
    let answered = |updates: &[DocUpdate], id: &str| {
        updates.iter().any(|update| update.id == id) || refusals.iter().any(|refused| refused.id == id)
    };
    // What the device reported holding: where the server holds more, what it lacks;
    // otherwise an ack of what the server holds, so the device learns which of the changes
    // it holds the server has (it may hold others' changes it cannot push itself, and its
    // own that wait on them).
    for have in &push.have {
        if answered(&updates, &have.id) || acks.iter().any(|ack: &DocAck| ack.id == have.id) {
            continue;
        }
        match update_for(storage, ctx, &have.id, &have.heads)? {
            Some((update, seq)) => {
                updates.push(update);
                mark = mark.max(seq);
            }
            None => {
                if let Some(stored) = storage.load(&have.id).map_err(storage_error)?.filter(|stored| stored.same_team) {
                    let doc = load_any(&stored.bytes, ctx).map_err(storage_error)?;
                    if !have.heads.is_empty() && readable(&have.id, &doc, ctx) {
                        acks.push(DocAck { id: have.id.clone(), heads: doc.get_heads() });
                        mark = mark.max(stored.seq);
                    }
                }
            }
        }
    }
    // Others' changes since the cursor, from what the device confirmed holding.
    let changed = storage.changed_since(from.seq, ctx.max_updates + 1).map_err(storage_error)?;
    let more = changed.len() > ctx.max_updates;
    let mut seq = from.seq;
    for (id, doc_seq) in changed.into_iter().take(ctx.max_updates) {
        seq = seq.max(doc_seq);
        if answered(&updates, &id) {
            continue;
        }
        let known = storage.device_heads(&id).map_err(storage_error)?.unwrap_or_default();
        if let Some((update, doc_seq)) = update_for(storage, ctx, &id, &known)? {
            updates.push(update);
            mark = mark.max(doc_seq);
        }
    }
    let cursor = if seq == from.seq { from } else { stamped(storage, seq)? };
    let mark = if mark == 0 { Cursor::default() } else { stamped(storage, mark)? };
    Ok(Reply { round: push.round, cursor, mark, more, resync: false, acks, refusals, updates })
}

fn stamped<S: SyncStorage>(storage: &mut S, seq: u64) -> Result<Cursor, RoundError> {
    let stamp = storage.stamp(seq).map_err(storage_error)?;
    Ok(Cursor { seq, stamp: stamp.ok_or_else(|| RoundError::Storage(format!("sequence {seq} has no stamp")))? })
}

/// Whole-frame refusals: more than the limits, or one document twice.
fn check_shape(push: &Push, ctx: &RoundContext) -> Result<(), RoundError> {
    if push.docs.len() > ctx.max_docs || push.have.len() > ctx.max_docs {
        return Err(Refusal::new(
            RefusalCode::TooManyDocs,
            format!(
                "{} documents and {} reports in one round, at most {} of each allowed",
                push.docs.len(),
                push.have.len(),
                ctx.max_docs
            ),
        )
        .into());
    }
    let mut ids: Vec<&str> = push.docs.iter().map(|doc| doc.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(Refusal::new(RefusalCode::DuplicateDoc, format!("document {} is pushed twice", pair[0])).into());
    }
    Ok(())
}

/// A reinstalled app or a phone restored from a backup holds less than the server
/// recorded: forget the recorded heads, so updates start from nothing. Returns whether
/// it forgot.
fn note_device_store<S: SyncStorage>(push: &Push, storage: &mut S) -> Result<bool, RoundError> {
    let seen = DeviceStore { store: push.store, generation: push.generation };
    let (record, forget) = match storage.device_store().map_err(storage_error)? {
        None => (true, true),
        Some(known) if known.store != push.store => (true, true),
        Some(known) if push.generation == known.generation => (false, false),
        Some(known) => {
            // A later push of the same line names the last one seen among its previous
            // tags. Anything else (an earlier count, the same count with another tag, a
            // line that does not lead back to it, or more than eight pushes lost) may be a
            // restored store: forget.
            let (count, known_count) = (push.generation >> 32, known.generation >> 32);
            let known_tag = (known.generation & 0xffff_ffff) as u32;
            let continues = count > known_count
                && usize::try_from(count - known_count - 1)
                    .ok()
                    .and_then(|back| push.previous.get(back))
                    .is_some_and(|tag| *tag == known_tag);
            (true, !continues)
        }
    };
    if record {
        storage.set_device_store(seen, forget).map_err(storage_error)?;
    }
    Ok(forget)
}

/// The changes of stored document `id` that a device holding `heads` lacks, if any, with
/// the document's position.
fn update_for<S: SyncStorage>(
    storage: &mut S,
    ctx: &RoundContext,
    id: &str,
    heads: &[ChangeHash],
) -> Result<Option<(DocUpdate, u64)>, RoundError> {
    let Some(stored) = storage.load(id).map_err(storage_error)? else { return Ok(None) };
    if !stored.same_team {
        return Ok(None);
    }
    let doc = load_any(&stored.bytes, ctx).map_err(storage_error)?;
    if !readable(id, &doc, ctx) {
        return Ok(None);
    }
    let server_heads = doc.get_heads();
    let known = known_heads(&doc, heads);
    if sorted(server_heads.clone()) == sorted(known.clone()) {
        return Ok(None);
    }
    // A device that holds none of it gets the stored document as it is: automerge's compact
    // saved form (compressed columns), a third of the same history as change chunks.
    let changes = if known.is_empty() { stored.bytes } else { doc.save_after(&known) };
    if changes.is_empty() {
        // The device holds everything the server has, and more it has yet to push.
        return Ok(None);
    }
    Ok(Some((DocUpdate { id: id.to_string(), heads: server_heads, changes }, stored.seq)))
}

/// The heads of `heads` that `doc` has: changes the device made and the server lacks
/// say nothing about what the device is missing.
fn known_heads(doc: &Automerge, heads: &[ChangeHash]) -> Vec<ChangeHash> {
    heads.iter().copied().filter(|head| doc.get_change_by_hash(head).is_some()).collect()
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

/// Applies one pushed document to a fork of the stored one and checks it.
fn accept<S: SyncStorage>(
    push: &DocPush,
    ctx: &RoundContext,
    storage: &mut S,
    numbered: &mut Vec<(String, String)>,
) -> Result<Result<AcceptedDoc, Refusal>, RoundError> {
    let stored = storage.load(&push.id).map_err(storage_error)?;
    if stored.as_ref().is_some_and(|stored| !stored.same_team) {
        return Ok(Err(Refusal::new(RefusalCode::Forbidden, format!("{} belongs to another team", push.id))));
    }
    // Published rosters are written by the server when a supervisor publishes; a device holds
    // them to read. Refused before anything is decoded, whatever the push holds.
    if is_roster_id(&push.id) {
        return Ok(Err(roster_refusal(&push.id)));
    }
    // Before automerge sees them: a compressed bomb is refused by what it would expand to.
    if let Err(err) = admit_bytes(&push.changes, &AdmissionBudget::DOCUMENT) {
        return Ok(Err(admission_refusal(&err)));
    }
    let base = match &stored {
        Some(stored) => Some(load_any(&stored.bytes, ctx).map_err(storage_error)?),
        None => None,
    };
    if base.as_ref().is_some_and(|base| !readable(&push.id, base, ctx)) {
        return Ok(Err(Refusal::new(RefusalCode::Forbidden, format!("{} is not this device's to read", push.id))));
    }
    let merged = match &base {
        Some(base) => match fork_with(base, &push.changes).and_then(|(fork, n)| {
            // automerge 0.12 accepts some changes it cannot save loadably (see `check_reloads`).
            check_reloads(&fork)?;
            Ok((fork, n))
        }) {
            Ok((fork, _)) => fork,
            Err(err) => return Ok(Err(Refusal::new(RefusalCode::Malformed, format!("unreadable changes: {err}")))),
        },
        None => match load_any(&push.changes, ctx).and_then(|doc| {
            decode_guarded(|| check_reloads(&doc).map_err(LoadError::from))?;
            Ok(doc)
        }) {
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
    let base_heads = base.as_ref().map(Automerge::get_heads).unwrap_or_default();
    if let Err(refusal) = check_actors(&push.id, &merged, &base_heads, ctx) {
        return Ok(Err(refusal));
    }
    let accepted = decode_guarded(|| {
        Ok::<_, LoadError>(check_and_number(&push.id, merged, base.as_ref(), &base_heads, ctx, storage, numbered))
    })
    .unwrap_or_else(|_| Ok(Err(Refusal::new(RefusalCode::Malformed, "the document could not be read"))))?;
    // What a document grows to over many pushes, each within budget, is held to it too.
    if let Ok(doc) = &accepted
        && let Err(err) = admit_bytes(&doc.bytes, &AdmissionBudget::DOCUMENT)
    {
        return Ok(Err(admission_refusal(&err)));
    }
    Ok(accepted)
}

fn admission_refusal(err: &AdmissionError) -> Refusal {
    let code = match err {
        AdmissionError::TooLarge { .. } => RefusalCode::DocTooLarge,
        AdmissionError::TooManyOps { .. } => RefusalCode::DocTooManyOps,
        AdmissionError::TooManyObjects { .. } => RefusalCode::DocTooManyObjects,
        AdmissionError::Malformed(_) => RefusalCode::Malformed,
    };
    Refusal::new(code, err.to_string())
}

/// Every change the server lacks is the device's own, or the server's own sealed
/// number assignment coming back after a restore.
fn check_actors(id: &str, merged: &Automerge, base_heads: &[ChangeHash], ctx: &RoundContext) -> Result<(), Refusal> {
    for change in merged.get_changes(base_heads) {
        let actor = change.actor_id();
        if ctx.device.owns(actor) {
            continue;
        }
        if ctx.server_device.owns(actor) {
            if sealed_assignment(&change, id, &ctx.seal_key).is_some() {
                continue;
            }
            return Err(Refusal::new(RefusalCode::ForgedField, "a change under the server's actor was not made by it"));
        }
        return Err(Refusal::new(
            RefusalCode::ForeignActor,
            format!("a change by actor {} is not this device's own", short_actor(actor)),
        ));
    }
    Ok(())
}

fn short_actor(actor: &ActorId) -> String {
    let hex = actor.to_hex_string();
    hex.chars().take(16).collect()
}

/// The seal of a case number: an HMAC over the case id and the number under the
/// server's secret, written as the commit message of the change that assigns it.
pub fn seal(key: &[u8; 32], case_id: &str, number: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(case_id.as_bytes());
    mac.update(&[0]);
    mac.update(number.as_bytes());
    mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether a commit message has a seal's shape (64 lower-case hex digits): devices relay
/// such changes, and the server checks the seal itself.
pub fn looks_sealed(message: &str) -> bool {
    message.len() == 64 && message.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

/// The number a server change assigns, if the change is exactly a sealed assignment:
/// a put of `assigned` and one of `updated_at`, nothing else, with a valid seal.
fn sealed_assignment(change: &automerge::Change, case_id: &str, key: &[u8; 32]) -> Option<String> {
    use automerge::legacy::{Key, ObjectId, OpType};
    let expanded = change.decode();
    let mut number = None;
    for op in &expanded.operations {
        match (&op.obj, &op.key, &op.action, op.insert) {
            (ObjectId::Id(_), Key::Map(key), OpType::Put(automerge::ScalarValue::Str(value)), false)
                if key == "assigned" && number.is_none() =>
            {
                number = Some(value.to_string());
            }
            (ObjectId::Root, Key::Map(key), OpType::Put(automerge::ScalarValue::Timestamp(_)), false)
                if key == "updated_at" => {}
            _ => return None,
        }
    }
    let number = number?;
    let expected = seal(key, case_id, &number);
    let given = change.message()?;
    (given.len() == expected.len() && subtle_eq(given.as_bytes(), expected.as_bytes())).then_some(number)
}

/// Compares without stopping at the first difference, so timing tells nothing of the seal.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn roster_refusal(id: &str) -> Refusal {
    Refusal::new(
        RefusalCode::ForgedField,
        format!("{id}: rosters ({ROSTER_ID_PREFIX}…) are written by the server only, when a supervisor publishes one"),
    )
}

fn missing_base() -> Refusal {
    Refusal::new(
        RefusalCode::MissingBase,
        "changes build on history the server does not have; the whole document will be resent",
    )
}

/// Schema, permission and authorship checks on the merged fork, then the server's own edits.
fn check_and_number<S: SyncStorage>(
    id: &str,
    merged: Automerge,
    base: Option<&Automerge>,
    base_heads: &[ChangeHash],
    ctx: &RoundContext,
    storage: &mut S,
    numbered: &mut Vec<(String, String)>,
) -> Result<Result<AcceptedDoc, Refusal>, RoundError> {
    let schema_refusal = |err: &dyn std::fmt::Display| Refusal::new(RefusalCode::Schema, err.to_string());
    let is_new = base.is_none();
    if is_roster(&merged) {
        return Ok(Err(roster_refusal(id)));
    }
    if is_request(&merged) || is_attendance(&merged) {
        let checked = if is_request(&merged) {
            RequestDoc::from_automerge(merged).map_err(|err| schema_refusal(&err)).and_then(|doc| {
                check_request_writers(id, &doc, base.is_none(), base_heads, ctx)?;
                Ok(doc.automerge().clone())
            })
        } else {
            AttendanceDoc::from_automerge(merged).map_err(|err| schema_refusal(&err)).and_then(|doc| {
                check_attendance_writers(id, &doc, base_heads, ctx)?;
                Ok(doc.automerge().clone())
            })
        };
        return Ok(checked.map(|doc| AcceptedDoc {
            id: id.to_string(),
            bytes: doc.save(),
            heads: doc.get_heads(),
            is_new,
            case: None,
        }));
    }
    if is_duty_log(&merged) {
        let log = match DutyLogDoc::from_automerge(merged) {
            Ok(log) => log,
            Err(err) => return Ok(Err(schema_refusal(&err))),
        };
        if log.id() != id {
            return Ok(Err(Refusal::new(RefusalCode::Schema, format!("document is {}, not {id}", log.id()))));
        }
        if let Some(staff) = &ctx.staff {
            let before = base.and_then(|base| DutyLogDoc::from_automerge(base.clone()).ok()).map(|doc| doc.read());
            if let Err(refusal) = check_duty_authors(&log.read(), before.as_ref(), staff) {
                return Ok(Err(refusal));
            }
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
    if let Some(staff) = &ctx.staff {
        let before = base.and_then(|base| CaseDoc::from_automerge(base.clone()).ok()).map(|doc| doc.read());
        if let Err(refusal) = check_case_authors(&case, before.as_ref(), staff) {
            return Ok(Err(refusal));
        }
    }
    let mut needs_number = case.number.assigned.is_none();
    if let Some(number) = &case.number.assigned {
        // A number the server lost in a restore must never be drawn again; if it was drawn
        // again before this case came back, the case that holds it keeps it and this one
        // gets a new one (the old stays in its history).
        if let Some((year, serial)) = parse_server_number(number) {
            storage.reserve_case_serial(year, serial).map_err(storage_error)?;
        }
        needs_number = numbered.iter().any(|(taken, other)| taken == number && other != id)
            || storage.case_with_number(number).map_err(storage_error)?.is_some_and(|other| other != id);
    }
    if needs_number {
        let year = ctx.now.year_at_offset(ctx.utc_offset_minutes);
        let serial = storage.next_case_serial(year).map_err(storage_error)?;
        let number = format!("K{year}-{serial:06}");
        let server = StaffId::new("server").expect("a valid staff id");
        let policy = CasePolicy::default();
        let edit_ctx = EditContext { at: ctx.now, by: &server, policy: &policy };
        let sealed = seal(&ctx.seal_key, id, &number);
        case_doc
            .apply_with_message(&edit_ctx, &CaseEdit::AssignNumber(number.clone()), &sealed)
            .map_err(storage_error)?;
        numbered.push((number, id.to_string()));
    } else if let Some(number) = &case.number.assigned {
        numbered.push((number.clone(), id.to_string()));
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

/// `K<year>-<serial>` as numbers.
fn parse_server_number(number: &str) -> Option<(i32, u64)> {
    let (year, serial) = number.strip_prefix('K')?.split_once('-')?;
    Some((year.parse().ok()?, serial.parse().ok()?))
}

fn forged_author(what: &str, by: &StaffId, staff: &StaffId) -> Refusal {
    Refusal::new(
        RefusalCode::ForgedAuthor,
        format!("{what} names {by} as its author, but this device is issued to {staff}"),
    )
}

/// New timeline entries (and a new case's opener) must be the device's staff member's.
fn check_case_authors(
    case: &crate::case::Case,
    before: Option<&crate::case::Case>,
    staff: &StaffId,
) -> Result<(), Refusal> {
    if before.is_none() && case.created_by != *staff {
        return Err(forged_author("the case", &case.created_by, staff));
    }
    let old: Vec<&String> =
        before.map(|case| case.timeline.iter().map(|entry| &entry.id.0).collect()).unwrap_or_default();
    check_entries(case.timeline.iter().map(|entry| (&entry.id.0, &entry.by)), &old, staff, "timeline entry")
}

/// New duty entries and handover items must be the device's staff member's.
fn check_duty_authors(
    log: &crate::duty_log::DutyLog,
    before: Option<&crate::duty_log::DutyLog>,
    staff: &StaffId,
) -> Result<(), Refusal> {
    let old: Vec<&String> = before.map(|log| log.entries.iter().map(|entry| &entry.id).collect()).unwrap_or_default();
    check_entries(log.entries.iter().map(|entry| (&entry.id, &entry.by)), &old, staff, "duty entry")?;
    for item in &log.handover {
        let unchanged = before.is_some_and(|before| before.handover.contains(item));
        if !unchanged && item.by != *staff {
            return Err(forged_author(&format!("the handover of case {}", item.case), &item.by, staff));
        }
    }
    Ok(())
}

fn check_entries<'a>(
    entries: impl Iterator<Item = (&'a String, &'a StaffId)>,
    old: &[&String],
    staff: &StaffId,
    what: &str,
) -> Result<(), Refusal> {
    for (id, by) in entries {
        if by != staff && !old.contains(&id) {
            return Err(forged_author(&format!("{what} {id}"), by, staff));
        }
    }
    Ok(())
}

fn readable(id: &str, doc: &Automerge, ctx: &RoundContext) -> bool {
    ctx.supervises || may_read(id, doc, ctx.staff.as_ref())
}

/// Whether a device issued to `staff` (and not a supervisor's) may read document `id` of its
/// team: requests and attendance records only when they concern its staff member; everything
/// else.
pub fn may_read(id: &str, doc: &Automerge, staff: Option<&StaffId>) -> bool {
    if let Some(owner) = attendance_staff(id) {
        return staff == Some(&owner);
    }
    if id.starts_with(REQUEST_ID_PREFIX) || is_request(doc) {
        let Ok(request) = RequestDoc::from_automerge(doc.clone()) else { return false };
        return staff.is_some_and(|staff| request.read().involves(staff));
    }
    true
}

/// The root keys the changes after `base_heads` write; an operation inside a nested object is
/// refused unless the same changes made that object.
fn written_root_keys(doc: &Automerge, base_heads: &[ChangeHash]) -> Result<Vec<String>, Refusal> {
    use automerge::legacy::{Key, ObjectId, OpId, OpType};
    let mut keys = Vec::new();
    let mut made: Vec<OpId> = Vec::new();
    for change in doc.get_changes(base_heads) {
        let expanded = change.decode();
        for (n, op) in expanded.operations.iter().enumerate() {
            match (&op.obj, &op.key) {
                (ObjectId::Root, Key::Map(key)) => keys.push(key.to_string()),
                (ObjectId::Id(obj), _) if made.contains(obj) => {}
                _ => {
                    return Err(Refusal::new(
                        RefusalCode::ForgedField,
                        "a change edits an entry this device did not make",
                    ));
                }
            }
            if matches!(op.action, OpType::Make(_)) {
                made.push(OpId(expanded.start_op.get() + n as u64, expanded.actor_id.clone()));
            }
        }
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

fn not_issued(what: &str) -> Refusal {
    Refusal::new(RefusalCode::ForgedAuthor, format!("{what} is written from a phone issued to a staff member"))
}

/// Each root key a device writes in a request is its to write ([`writer_of`]).
fn check_request_writers(
    id: &str,
    doc: &RequestDoc,
    is_new: bool,
    base_heads: &[ChangeHash],
    ctx: &RoundContext,
) -> Result<(), Refusal> {
    if doc.id() != id {
        return Err(Refusal::new(RefusalCode::Schema, format!("document is {}, not {id}", doc.id())));
    }
    let Some(me) = &ctx.staff else { return Err(not_issued(&format!("request {id}"))) };
    let request = doc.read();
    let colleague = request.swap.as_ref().map(|swap| &swap.colleague);
    for key in written_root_keys(doc.automerge(), base_heads)? {
        let allowed = match writer_of(&key) {
            Some(Writer::Maker) => is_new && *me == request.staff,
            Some(Writer::Requester) => *me == request.staff,
            Some(Writer::Colleague) => colleague == Some(me),
            Some(Writer::Server) | None => false,
        };
        if !allowed {
            let writer = match writer_of(&key) {
                Some(Writer::Maker) if !is_new => "nobody once the request is made".to_string(),
                Some(Writer::Maker | Writer::Requester) => format!("the requester, {}", request.staff),
                Some(Writer::Colleague) => {
                    colleague.map_or("the colleague of a swap".to_string(), |c| format!("the colleague, {c}"))
                }
                _ => "the server, when a supervisor decides".to_string(),
            };
            return Err(Refusal::new(
                RefusalCode::ForgedField,
                format!("{key} of {id} is written by {writer}, not by this device (issued to {me})"),
            ));
        }
    }
    Ok(())
}

/// A device adds check-ins to its own staff member's record, nothing else.
fn check_attendance_writers(
    id: &str,
    doc: &AttendanceDoc,
    base_heads: &[ChangeHash],
    ctx: &RoundContext,
) -> Result<(), Refusal> {
    if doc.id() != id {
        return Err(Refusal::new(RefusalCode::Schema, format!("document is {}, not {id}", doc.id())));
    }
    let Some(me) = &ctx.staff else { return Err(not_issued(&format!("attendance {id}"))) };
    let record = doc.read();
    if record.staff != *me {
        return Err(forged_author(&format!("attendance {id}"), &record.staff, me));
    }
    for key in written_root_keys(doc.automerge(), base_heads)? {
        if crate::attendance::written_by_phone(&key) != Some(true) {
            return Err(Refusal::new(
                RefusalCode::ForgedField,
                format!("{key} of {id} is written by the server, when a supervisor corrects or records"),
            ));
        }
    }
    Ok(())
}

fn assigned_only_by(doc: &Automerge, server: DeviceId) -> bool {
    let Ok(Some((automerge::Value::Object(_), number))) = doc.get(automerge::ROOT, "number") else { return true };
    doc.get_all(&number, "assigned").is_ok_and(|values| {
        values.iter().all(|(_, id)| matches!(id, automerge::ObjId::Id(_, actor, _) if server.owns(actor)))
    })
}

/// Loads bytes as a raw automerge document the server writes to this round; a panic in
/// automerge on hostile bytes is an error, not a dead round (see `decode_guarded`).
fn load_any(bytes: &[u8], ctx: &RoundContext) -> Result<Automerge, LoadError> {
    let options = automerge::LoadOptions::new().text_encoding(crate::case::TEXT_ENCODING);
    let actor = ctx.server_device.install(ctx.server_nonce).actor();
    decode_guarded(|| Ok(Automerge::load_with_options(bytes, options)?.with_actor(actor)))
}
