//! [`CaseDoc`]: one case's automerge document behind a typed API.
//!
//! Callers never touch automerge paths: they apply a [`CaseEdit`] and read a
//! [`Case`]. Every edit is one automerge transaction, checked before anything is
//! written and rolled back on error, so a refused edit leaves no trace. IO is left
//! to the store; time arrives in the [`EditContext`].

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    Automerge, AutomergeError, ChangeHash, LoadOptions, ObjId, OnPartialLoad, ROOT, ReadDoc, ScalarValue, TextEncoding,
    Value, VerificationMode,
};

use super::admit::{AdmissionBudget, AdmissionError, admit_bytes};
use super::codes::Status;
use super::limits::{self, check_long_text, check_sha256_hex, check_short_text};
use super::model::{Case, CaseEdit, EntryBody, EntryId, NewCase, TimelineEntry};
use super::schema::{self, Reader, SchemaErrors};
use super::status::{CasePolicy, TransitionError, check_transition};
use super::validate::validate_case;
use crate::ids::{CaseId, DeviceId, StaffId, Timestamp};

/// Text positions count Unicode scalar values on every platform (AUTOMERGE-NOTES.md:
/// the default depends on crate features, which feature unification can change).
pub const TEXT_ENCODING: TextEncoding = TextEncoding::UnicodeCodePoint;

/// Who is editing, when, and under which team rules.
#[derive(Clone, Debug)]
pub struct EditContext<'a> {
    /// The caller's clock.
    pub at: Timestamp,
    /// The staff member making the edit.
    pub by: &'a StaffId,
    /// The team's transition rules.
    pub policy: &'a CasePolicy,
}

/// Why an edit was refused. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// A field value breaks a limit or shape rule.
    #[error("{field} {reason}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The status transition is not allowed now.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The edit would change nothing (e.g. a transfer to where the case already is).
    #[error("{0}")]
    NoChange(&'static str),
    /// automerge refused the operation; a bug here, not a user mistake.
    #[error("internal document error: {0}")]
    Document(Box<AutomergeError>),
}

// Boxed: automerge's error is large and would bloat every `Result` on the edit path.
impl From<AutomergeError> for EditError {
    fn from(err: AutomergeError) -> Self {
        EditError::Document(Box::new(err))
    }
}

fn invalid(field: &'static str) -> impl FnOnce(String) -> EditError {
    move |reason| EditError::Invalid { field, reason }
}

/// Why a document could not be loaded or accepted.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not an automerge document or change set.
    #[error("not a readable automerge document: {0}")]
    Decode(Box<AutomergeError>),
    /// The document is automerge but not a valid case.
    #[error(transparent)]
    Schema(#[from] SchemaErrors),
    /// The bytes would expand past the document budget, so they were not loaded.
    #[error(transparent)]
    Admission(#[from] AdmissionError),
}

impl From<AutomergeError> for LoadError {
    fn from(err: AutomergeError) -> Self {
        LoadError::Decode(Box::new(err))
    }
}

/// A scalar field that holds concurrent values after a merge (DESIGN.md decision 3:
/// surfaced, never silently dropped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldConflict {
    /// Dotted path of the field, e.g. `customer.phone`.
    pub field: &'static str,
    /// Every value, rendered as text, the winner first.
    pub values: Vec<String>,
}

/// The scalar fields checked for conflicts, as (container, key, path).
const CONFLICT_FIELDS: &[(Option<&str>, &str, &str)] = &[
    (None, "subject", "subject"),
    (None, "kind", "kind"),
    (None, "channel", "channel"),
    (None, "priority", "priority"),
    (None, "tier", "tier"),
    (None, "service", "service"),
    (None, "department", "department"),
    (None, "assignee", "assignee"),
    (Some("customer"), "name", "customer.name"),
    (Some("customer"), "phone", "customer.phone"),
    (Some("customer"), "address", "customer.address"),
    (Some("number"), "assigned", "number.assigned"),
];

/// One case document. Invariant: always valid against the case schema (checked on
/// load and on every accepted remote change; local edits are checked before writing).
#[derive(Debug, Clone)]
pub struct CaseDoc {
    doc: Automerge,
    id: CaseId,
}

impl CaseDoc {
    /// Opens a new case written by `device`.
    pub fn create(
        device: DeviceId,
        id: CaseId,
        new: &NewCase,
        provisional_number: &str,
        ctx: &EditContext<'_>,
    ) -> Result<Self, EditError> {
        check_new_case(new)?;
        check_short_text(provisional_number, limits::MAX_SHORT, false).map_err(invalid("number"))?;
        let mut doc = Automerge::new_with_encoding(TEXT_ENCODING).with_actor(device.actor());
        doc.transact(|tx| schema::write_new_case(tx, id, new, provisional_number, ctx.at, ctx.by))
            .map_err(|failure| failure.error)?;
        Ok(CaseDoc { doc, id })
    }

    /// Loads a saved document (full or incremental chunks concatenated), checking it
    /// against the schema; `device` is the actor future edits are made as.
    pub fn load(bytes: &[u8], device: DeviceId) -> Result<Self, LoadError> {
        decode_guarded(|| {
            let doc = Automerge::load_with_options(bytes, LoadOptions::new().text_encoding(TEXT_ENCODING))?
                .with_actor(device.actor());
            Ok(Self::from_automerge(doc)?)
        })
    }

    /// Wraps a document after checking it against the schema.
    pub fn from_automerge(doc: Automerge) -> Result<Self, SchemaErrors> {
        let id = validate_case(&doc)?;
        Ok(CaseDoc { doc, id })
    }

    /// The case's id.
    pub fn id(&self) -> CaseId {
        self.id
    }

    /// The underlying document, for saving and syncing.
    pub fn automerge(&self) -> &Automerge {
        &self.doc
    }

    /// The current heads.
    pub fn heads(&self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The whole document, compacted.
    pub fn save(&self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes made since `heads`, as bytes [`Self::receive`] accepts.
    pub fn save_after(&self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// Accepts changes from elsewhere (another replica, the network). They are
    /// applied to a fork and checked against the schema first: if the result would
    /// be invalid, nothing changes and the problems are returned. Returns how many
    /// changes were new.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<usize, LoadError> {
        let expected = self.id.to_string();
        receive_validated(&mut self.doc, bytes, &expected, |doc| Ok(validate_case(doc)?.to_string()))
    }

    /// Merges another replica of the same case, validated like any received bytes.
    pub fn merge(&mut self, other: &CaseDoc) -> Result<usize, LoadError> {
        self.receive(&other.doc.save_after(&[]))
    }

    /// Reads the case as a plain struct.
    pub fn read(&self) -> Case {
        let mut reader = Reader::new(&self.doc, false);
        // The invariant (always valid) makes problems here impossible; reading
        // continues with defaults rather than failing a screen over one field.
        schema::read_case(&mut reader)
    }

    /// Scalar fields holding concurrent values.
    pub fn conflicts(&self) -> Vec<FieldConflict> {
        CONFLICT_FIELDS
            .iter()
            .filter_map(|(container, key, path)| {
                let obj = match container {
                    None => ROOT,
                    Some(name) => match self.doc.get(ROOT, *name) {
                        Ok(Some((Value::Object(_), obj))) => obj,
                        _ => return None,
                    },
                };
                let values = self.doc.get_all(&obj, *key).ok()?;
                (values.len() > 1).then(|| FieldConflict {
                    field: path,
                    values: values.iter().rev().map(|(value, _)| render(value)).collect(),
                })
            })
            .collect()
    }

    /// Applies one edit atomically; returns the id of the timeline entry it added, if
    /// it added one.
    pub fn apply(&mut self, ctx: &EditContext<'_>, edit: &CaseEdit) -> Result<Option<EntryId>, EditError> {
        self.apply_committed(ctx, edit, CommitOptions::default())
    }

    /// [`Self::apply`] with a commit message on the change: the server seals the case
    /// numbers it assigns this way (`crate::sync::server::seal`).
    pub fn apply_with_message(
        &mut self,
        ctx: &EditContext<'_>,
        edit: &CaseEdit,
        message: &str,
    ) -> Result<Option<EntryId>, EditError> {
        self.apply_committed(ctx, edit, CommitOptions::default().with_message(message.to_string()))
    }

    fn apply_committed(
        &mut self,
        ctx: &EditContext<'_>,
        edit: &CaseEdit,
        options: CommitOptions,
    ) -> Result<Option<EntryId>, EditError> {
        check_edit(edit)?;
        let case = self.read();
        let entry_body = self.entry_for(&case, ctx, edit)?;
        let entry_id = entry_body.as_ref().map(|_| self.mint_entry_id(ctx.at));
        let timeline = self.container("timeline")?;
        let result = self.doc.transact_with(
            |_| options,
            |tx| {
                apply_fields(tx, &case, edit)?;
                if let (Some(body), Some(id)) = (entry_body, entry_id.clone()) {
                    let entry = TimelineEntry { id, at: ctx.at, by: ctx.by.clone(), body };
                    schema::write_entry(tx, &timeline, &entry)?;
                }
                tx.put(ROOT, "updated_at", ScalarValue::Timestamp(ctx.at.0.max(case.updated_at.0)))?;
                Ok::<_, EditError>(())
            },
        );
        result.map_err(|failure| failure.error)?;
        Ok(entry_id)
    }

    /// The timeline entry an edit records, checking the workflow first.
    fn entry_for(&self, case: &Case, ctx: &EditContext<'_>, edit: &CaseEdit) -> Result<Option<EntryBody>, EditError> {
        Ok(Some(match edit {
            CaseEdit::AddNote(text) => EntryBody::Note { text: text.clone() },
            CaseEdit::Transfer { to_department, to_assignee, reason } => {
                let department_changes = to_department.is_some() && *to_department != case.department;
                let assignee_changes = to_assignee.is_some() && *to_assignee != case.assignee;
                if !department_changes && !assignee_changes {
                    return Err(EditError::NoChange("the case is already with that department and person"));
                }
                EntryBody::Transfer {
                    from_department: case.department.clone(),
                    to_department: to_department.clone().or_else(|| case.department.clone()),
                    from_assignee: case.assignee.clone(),
                    to_assignee: to_assignee.clone().or_else(|| case.assignee.clone()),
                    reason: reason.clone(),
                }
            }
            CaseEdit::Transition { to, reason } => {
                let from = case.status.status;
                check_transition(from, *to, case.kind, case.latest_return_visit().is_some(), ctx.policy)?;
                EntryBody::StatusChange { from, to: *to, prev: case.status.leaves.clone(), reason: reason.clone() }
            }
            CaseEdit::Feedback { direction, text } => EntryBody::Feedback { direction: *direction, text: text.clone() },
            CaseEdit::ReturnVisit { satisfaction, comment } => {
                if !matches!(case.status.status, Status::Completed | Status::Closed) {
                    return Err(EditError::Invalid {
                        field: "return visit",
                        reason: format!("needs a completed case, this one is {}", case.status.status),
                    });
                }
                EntryBody::ReturnVisit { satisfaction: *satisfaction, comment: comment.clone() }
            }
            CaseEdit::Attach(attachment) => EntryBody::Attachment(attachment.clone()),
            CaseEdit::RemoveTag(tag) if !case.tags.contains(tag) => {
                return Err(EditError::NoChange("the case has no such tag"));
            }
            CaseEdit::SpliceDescription { pos, delete, .. } => {
                let len = case.description.chars().count();
                if pos.saturating_add(*delete) > len {
                    return Err(EditError::Invalid {
                        field: "description splice",
                        reason: format!("reaches past the end of the text ({pos}+{delete} > {len} characters)"),
                    });
                }
                return Ok(None);
            }
            CaseEdit::AddTag(_) if case.tags.len() >= limits::MAX_TAGS => {
                return Err(EditError::Invalid {
                    field: "tags",
                    reason: format!("at most {} allowed", limits::MAX_TAGS),
                });
            }
            _ => return Ok(None),
        }))
    }

    fn container(&self, key: &str) -> Result<ObjId, EditError> {
        match self.doc.get(ROOT, key)? {
            Some((Value::Object(_), obj)) => Ok(obj),
            _ => Err(EditError::Invalid { field: "document", reason: format!("has no {key} container") }),
        }
    }

    /// A timeline entry id no device can mint again: the time, this device's actor,
    /// and a counter for several entries in one millisecond.
    fn mint_entry_id(&self, at: Timestamp) -> EntryId {
        let actor = self.doc.get_actor().to_hex_string();
        let base = format!("{:013x}-{}", at.0.max(0), &actor[..actor.len().min(16)]);
        let timeline = self.container("timeline").ok();
        let taken =
            |candidate: &str| timeline.as_ref().is_some_and(|obj| matches!(self.doc.get(obj, candidate), Ok(Some(_))));
        if !taken(&base) {
            return EntryId(base);
        }
        let n = (1..).find(|n| !taken(&format!("{base}-{n}"))).expect("an unbounded range has a free number");
        EntryId(format!("{base}-{n}"))
    }
}

/// The field writes of an edit (its timeline entry is written separately).
fn apply_fields(tx: &mut impl Transactable, case: &Case, edit: &CaseEdit) -> Result<(), EditError> {
    match edit {
        CaseEdit::SetSubject(subject) => tx.put(ROOT, "subject", subject.as_str())?,
        CaseEdit::SetCustomer(customer) => {
            let obj = object_at(tx, "customer")?;
            schema::write_customer(tx, &obj, customer)?;
        }
        CaseEdit::SetKind(kind) => tx.put(ROOT, "kind", kind.code())?,
        CaseEdit::SetPriority(priority) => tx.put(ROOT, "priority", priority.code())?,
        CaseEdit::SetTier(tier) => tx.put(ROOT, "tier", tier.code())?,
        CaseEdit::SetService(service) => {
            if service.is_some() || case.service.is_some() {
                schema::put_optional(tx, &ROOT, "service", service.map(|s| s.code()))?;
            }
        }
        CaseEdit::AddTag(tag) => {
            let obj = object_at(tx, "tags")?;
            tx.put(&obj, tag.as_str(), true)?;
        }
        CaseEdit::RemoveTag(tag) => {
            let obj = object_at(tx, "tags")?;
            tx.delete(&obj, tag.as_str())?;
        }
        CaseEdit::SpliceDescription { pos, delete, insert } => {
            let obj = object_at(tx, "description")?;
            tx.splice_text(&obj, *pos, *delete as isize, insert)?;
        }
        CaseEdit::Transfer { to_department, to_assignee, .. } => {
            if let Some(department) = to_department {
                tx.put(ROOT, "department", department.as_str())?;
            }
            if let Some(assignee) = to_assignee {
                tx.put(ROOT, "assignee", assignee.as_str())?;
            }
        }
        CaseEdit::AssignNumber(number) => {
            let obj = object_at(tx, "number")?;
            tx.put(&obj, "assigned", number.as_str())?;
        }
        CaseEdit::AddNote(_)
        | CaseEdit::Transition { .. }
        | CaseEdit::Feedback { .. }
        | CaseEdit::ReturnVisit { .. }
        | CaseEdit::Attach(_) => {}
    }
    Ok(())
}

fn object_at(tx: &mut impl Transactable, key: &str) -> Result<ObjId, EditError> {
    match tx.get(ROOT, key)? {
        Some((Value::Object(_), obj)) => Ok(obj),
        _ => Err(EditError::Invalid { field: "document", reason: format!("has no {key} container") }),
    }
}

fn render(value: &Value<'_>) -> String {
    match value {
        Value::Scalar(scalar) => match scalar.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            other => other.to_string(),
        },
        Value::Object(obj_type) => obj_type.to_string(),
    }
}

fn check_new_case(new: &NewCase) -> Result<(), EditError> {
    check_short_text(&new.subject, limits::MAX_SUBJECT, true).map_err(invalid("subject"))?;
    check_long_text(&new.description, limits::MAX_DESCRIPTION).map_err(invalid("description"))?;
    check_customer(&new.customer)
}

fn check_customer(customer: &super::model::Customer) -> Result<(), EditError> {
    check_short_text(&customer.name, limits::MAX_SHORT, true).map_err(invalid("customer name"))?;
    check_short_text(&customer.phone, limits::MAX_SHORT, true).map_err(invalid("customer phone"))?;
    check_short_text(&customer.address, limits::MAX_ADDRESS, true).map_err(invalid("customer address"))
}

/// Shape checks that need no document: the same limits the schema validator applies.
fn check_edit(edit: &CaseEdit) -> Result<(), EditError> {
    let entry_text = |text: &str, field| check_long_text(text, limits::MAX_ENTRY_TEXT).map_err(invalid(field));
    match edit {
        CaseEdit::SetSubject(subject) => {
            check_short_text(subject, limits::MAX_SUBJECT, true).map_err(invalid("subject"))
        }
        CaseEdit::SetCustomer(customer) => check_customer(customer),
        CaseEdit::AddTag(tag) | CaseEdit::RemoveTag(tag) => {
            check_short_text(tag, limits::MAX_SHORT, false).map_err(invalid("tag"))
        }
        CaseEdit::SpliceDescription { insert, .. } => {
            check_long_text(insert, limits::MAX_DESCRIPTION).map_err(invalid("description"))
        }
        CaseEdit::AddNote(text) => entry_text(text, "note"),
        CaseEdit::Feedback { text, .. } => entry_text(text, "feedback"),
        CaseEdit::ReturnVisit { comment, .. } => entry_text(comment, "return visit comment"),
        CaseEdit::Transition { reason, .. } => entry_text(reason, "reason"),
        CaseEdit::Transfer { to_department, reason, .. } => {
            if let Some(department) = to_department {
                check_short_text(department, limits::MAX_SHORT, false).map_err(invalid("department"))?;
            }
            entry_text(reason, "reason")
        }
        CaseEdit::Attach(attachment) => {
            check_sha256_hex(&attachment.sha256).map_err(invalid("attachment hash"))?;
            check_short_text(&attachment.mime, limits::MAX_SHORT, false).map_err(invalid("attachment type"))?;
            check_short_text(&attachment.name, limits::MAX_SHORT, true).map_err(invalid("attachment name"))
        }
        CaseEdit::AssignNumber(number) => {
            check_short_text(number, limits::MAX_SHORT, false).map_err(invalid("case number"))
        }
        CaseEdit::SetKind(_) | CaseEdit::SetPriority(_) | CaseEdit::SetTier(_) | CaseEdit::SetService(_) => Ok(()),
    }
}

/// A fork of `doc` with `bytes` (a full save or `save_after` chunks) applied, and
/// how many changes were new. Malformed bytes are refused: automerge's incremental
/// load skips unreadable chunks with only a log line, so they are decoded strictly
/// first.
pub(crate) fn fork_with(doc: &Automerge, bytes: &[u8]) -> Result<(Automerge, usize), AutomergeError> {
    let strict = LoadOptions::new()
        .text_encoding(TEXT_ENCODING)
        .on_partial_load(OnPartialLoad::Error)
        .verification_mode(VerificationMode::DontCheck);
    if bytes.is_empty() {
        return Err(AutomergeError::Fail);
    }
    decode_guarded(|| {
        match Automerge::load_with_options(bytes, strict) {
            // Parsed, but `save_after` chunks depend on changes only `doc` has.
            Ok(_) | Err(AutomergeError::MissingDeps) => {}
            Err(err) => return Err(err),
        }
        let before = doc.get_heads();
        let mut fork = doc.fork();
        fork.set_actor(doc.get_actor().clone());
        fork.load_incremental(bytes)?;
        let n_new = fork.get_changes(&before).len();
        Ok((fork, n_new))
    })
}

/// Checks that a document saves to bytes automerge loads again. automerge 0.12
/// accepts some changes it cannot save in a loadable form (an empty change whose
/// start op is below its dependencies' ops: "max_op is lower than start_op"; found
/// by `core/tests/it/fuzz.rs`), and adopting one would leave a document no replica
/// can reopen. Costs one save and one load of the document per accepted receive.
pub(crate) fn check_reloads(doc: &Automerge) -> Result<(), AutomergeError> {
    Automerge::load_with_options(&doc.save(), LoadOptions::new().text_encoding(TEXT_ENCODING)).map(|_| ())
}

/// Runs the decoding of bytes from elsewhere, and everything that reads the result
/// before it is adopted, turning a panic into an error. automerge 0.12 panics on
/// some checksum-valid but inconsistent input, while loading
/// (`lookup_actor(..).unwrap()` in `import_ops`, for a change whose actor is not
/// the one its seq and deps were written for) or on the first read after a load
/// that seemed to succeed (`get_changes`, an assertion in the change collector);
/// both found by `core/tests/it/fuzz.rs`. A peer must not be able to take a server
/// round or a phone down with one push. Whatever the step built is dropped with
/// the panic, never adopted: the step only reads what it did not create.
pub(crate) fn decode_guarded<T, E: From<AutomergeError>>(step: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).unwrap_or_else(|_| Err(AutomergeError::Fail.into()))
}

/// Applies received `bytes` to a fork of `doc`, validates the fork with `validate`
/// (which returns the document's id) and adopts it only if valid and still
/// `expected_id`: the one path by which every document type accepts outside changes.
/// The bytes are admitted against [`AdmissionBudget::DOCUMENT`] first, because
/// loading them is what a compressed bomb exploits.
pub(crate) fn receive_validated(
    doc: &mut Automerge,
    bytes: &[u8],
    expected_id: &str,
    validate: impl FnOnce(&Automerge) -> Result<String, SchemaErrors>,
) -> Result<usize, LoadError> {
    admit_bytes(bytes, &AdmissionBudget::DOCUMENT)?;
    let (fork, n_new) = decode_guarded(|| {
        let (fork, n_new) = fork_with(doc, bytes)?;
        if n_new > 0 {
            let id = validate(&fork)?;
            if id != expected_id {
                return Err(LoadError::Schema(SchemaErrors(vec![schema::SchemaError {
                    path: "id".into(),
                    reason: format!("changes belong to {id}, not {expected_id}"),
                }])));
            }
            check_reloads(&fork)?;
        }
        Ok((fork, n_new))
    })?;
    if n_new > 0 {
        *doc = fork;
    }
    Ok(n_new)
}

impl From<Vec<schema::SchemaError>> for SchemaErrors {
    fn from(errors: Vec<schema::SchemaError>) -> Self {
        SchemaErrors(errors)
    }
}
