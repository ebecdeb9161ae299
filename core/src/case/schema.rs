//! The automerge layout of a case document, and the one place that reads and
//! writes it.
//!
//! ```text
//! ROOT (map)
//!   schema: uint 1          type: "case"           id: "<uuid>"
//!   kind, channel, priority, tier: code strings (see codes.rs)
//!   service: code | absent   department: str | absent   assignee: str | absent
//!   subject: str (LWW)       description: Text (merges character-wise)
//!   customer: map { name, phone, address: str }
//!   number:   map { provisional: str, assigned: str | absent }
//!   tags:     map { <tag>: true }                    (a set; remove = delete key)
//!   created_at, updated_at: timestamp (ms)           created_by: str
//!   timeline: map { <entry id>: map { type: code, at: timestamp, by: str, ...body } }
//!     note         { text }
//!     transfer     { from_department?, to_department?, from_assignee?, to_assignee?, reason }
//!     status       { from, to: status code, prev: list [entry id], reason }
//!     feedback     { direction, text }
//!     return_visit { satisfaction, comment }
//!     attachment   { sha256, size: uint, mime, name }
//! ```
//!
//! Containers (`customer`, `number`, `tags`, `timeline`, `description`) are created
//! once, with the case, and never replaced: a concurrent replacement would hide one
//! side's contents. The timeline is a map keyed by entry id, not a list, so entries
//! from different devices can never be reordered into each other or duplicated.
//!
//! [`Reader`] hydrates a [`Case`] and, in strict mode, checks every concurrent value
//! of every field too, so that a bad value cannot hide behind a good winner.

use std::collections::{BTreeSet, HashMap};

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use super::codes::{CaseKind, Channel, FeedbackDirection, Priority, Satisfaction, Service, Status, Tier};
use super::limits::{self, check_long_text, check_sha256_hex, check_short_text};
use super::model::{AttachmentRef, Case, CaseNumber, Customer, EntryBody, EntryId, NewCase, TimelineEntry};
use super::{deadline, status};
use crate::ids::{CaseId, StaffId, Timestamp};

/// The schema version this build writes and reads. Documents with a greater version
/// come from a newer app and are refused rather than misread.
pub const SCHEMA_VERSION: u64 = 1;

/// Document type tag of case documents.
pub const CASE_TYPE: &str = "case";

// The schema is closed at every depth: a map may hold only the keys listed for it.
// Anything else is refused, not skipped, because whatever a document holds is stored
// and fanned out to the whole team even if no reader ever looks at it (issue 15: an
// unknown key under `customer` carried a 6 MiB blob). A newer app that needs a new
// field bumps `SCHEMA_VERSION` instead.

/// Keys a version-1 case document may have at its root.
const ROOT_KEYS: &[&str] = &[
    "type",
    "schema",
    "id",
    "kind",
    "channel",
    "priority",
    "tier",
    "service",
    "department",
    "assignee",
    "subject",
    "description",
    "customer",
    "number",
    "tags",
    "timeline",
    "created_at",
    "updated_at",
    "created_by",
];

/// Keys of the `customer` map.
const CUSTOMER_KEYS: &[&str] = &["name", "phone", "address"];

/// Keys of the `number` map.
const NUMBER_KEYS: &[&str] = &["provisional", "assigned"];

/// Keys every timeline entry has, whatever its type.
const ENTRY_KEYS: &[&str] = &["type", "at", "by"];

/// Keys of an entry's body, by entry type; `None` for an unknown type.
fn body_keys(entry_type: &str) -> Option<&'static [&'static str]> {
    Some(match entry_type {
        "note" => &["text"],
        "transfer" => &["from_department", "to_department", "from_assignee", "to_assignee", "reason"],
        "status" => &["from", "to", "prev", "reason"],
        "feedback" => &["direction", "text"],
        "return_visit" => &["satisfaction", "comment"],
        "attachment" => &["sha256", "size", "mime", "name"],
        _ => return None,
    })
}

/// One thing wrong with a document, at a path such as `timeline.<id>.to`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct SchemaError {
    /// Where, as dotted keys from the root.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// Every problem found in a document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("document does not match the case schema: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct SchemaErrors(pub Vec<SchemaError>);

/// Reads a document field by field, recording each problem with its path instead of
/// stopping at the first, and substituting a default so reading can go on.
///
/// Each map is read in one pass (`map_range`) and kept for the field lookups that
/// follow: one `get_all` per field costs a seek each and made reading a 20-entry
/// case seven times slower (BENCHMARKS.md). `get_all` is used only for fields that
/// hold concurrent values, in strict mode.
pub(crate) struct Reader<'a> {
    doc: &'a Automerge,
    strict: bool,
    errors: Vec<SchemaError>,
    maps: HashMap<ObjId, MapFields>,
}

/// Most characters of a path an error shows.
const MAX_PATH_SHOWN: usize = 160;

/// A map's winning values by key, with each key's conflict flag.
type MapFields = HashMap<String, (Value<'static>, ObjId, bool)>;

impl<'a> Reader<'a> {
    /// `strict` also checks every concurrent value, not only the winner.
    pub(crate) fn new(doc: &'a Automerge, strict: bool) -> Self {
        Reader { doc, strict, errors: Vec::new(), maps: HashMap::new() }
    }

    /// Records a problem. A path longer than [`MAX_PATH_SHOWN`] characters is cut
    /// short: keys are data too, and a refusal must not echo a megabyte-long key
    /// back to the sender and into the logs.
    pub(crate) fn error(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        let mut path = path.into();
        if let Some((cut, _)) = path.char_indices().nth(MAX_PATH_SHOWN) {
            path.truncate(cut);
            path.push('…');
        }
        self.errors.push(SchemaError { path, reason: reason.into() });
    }

    pub(crate) fn finish(self) -> Result<(), SchemaErrors> {
        if self.errors.is_empty() { Ok(()) } else { Err(SchemaErrors(self.errors)) }
    }

    fn fields(&mut self, obj: &ObjId) -> &MapFields {
        let doc = self.doc;
        self.maps.entry(obj.clone()).or_insert_with(|| {
            doc.map_range(obj, ..)
                .map(|item| (item.key.to_string(), (item.value.clone().into_value(), item.id(), item.conflict)))
                .collect()
        })
    }

    /// Every value of a field, the winner last (automerge's `get_all` order).
    fn values(&mut self, obj: &ObjId, key: &str) -> Result<Vec<(Value<'static>, ObjId)>, String> {
        let strict = self.strict;
        match self.fields(obj).get(key) {
            None => Ok(Vec::new()),
            Some((_, _, true)) if strict => match self.doc.get_all(obj, key) {
                Ok(values) => Ok(values.into_iter().map(|(value, id)| (value.into_owned(), id)).collect()),
                Err(err) => Err(err.to_string()),
            },
            Some((value, id, _)) => Ok(vec![(value.clone(), id.clone())]),
        }
    }

    /// A scalar field parsed by `parse`; `None` when absent (an error if `required`)
    /// or invalid. In strict mode every concurrent value is parsed too.
    pub(crate) fn scalar<T>(
        &mut self,
        obj: &ObjId,
        path: &str,
        key: &str,
        required: bool,
        parse: impl Fn(&ScalarValue) -> Result<T, String>,
    ) -> Option<T> {
        let full_path = join(path, key);
        let values = match self.values(obj, key) {
            Ok(values) => values,
            Err(reason) => {
                self.error(full_path, reason);
                return None;
            }
        };
        let mut winner = None;
        let n_values = values.len();
        for (idx, (value, _)) in values.into_iter().enumerate() {
            let is_winner = idx + 1 == n_values;
            let parsed = match value {
                Value::Scalar(scalar) => parse(&scalar),
                Value::Object(obj_type) => Err(format!("expected a value, found a {obj_type}")),
            };
            match parsed {
                Ok(parsed) if is_winner => winner = Some(parsed),
                Ok(_) => {}
                Err(reason) if is_winner => self.error(full_path.clone(), reason),
                Err(reason) => self.error(full_path.clone(), format!("{reason} (in a concurrent value)")),
            }
        }
        if n_values == 0 && required {
            self.error(full_path, "is missing");
        }
        winner
    }

    /// A container field of the given type.
    pub(crate) fn object(&mut self, obj: &ObjId, path: &str, key: &str, expected: ObjType) -> Option<ObjId> {
        let full_path = join(path, key);
        let found = self.fields(obj).get(key).cloned();
        match found {
            Some((_, _, true)) => {
                self.error(full_path, "was created twice concurrently");
                None
            }
            Some((Value::Object(found), id, _)) if found == expected => Some(id),
            Some((Value::Object(found), _, _)) => {
                self.error(full_path, format!("expected a {expected}, found a {found}"));
                None
            }
            Some((Value::Scalar(_), _, _)) => {
                self.error(full_path, format!("expected a {expected}, found a value"));
                None
            }
            None => {
                self.error(full_path, "is missing");
                None
            }
        }
    }

    /// Refuses every key of the map at `path` that is not in `allowed`, naming it.
    /// Only in strict mode: hydrating a document already validated need not look.
    pub(crate) fn closed(&mut self, obj: &ObjId, path: &str, allowed: &[&[&str]], schema_name: &str) {
        if !self.strict {
            return;
        }
        for key in self.keys(obj) {
            if !allowed.iter().any(|keys| keys.contains(&key.as_str())) {
                self.error(join(path, &key), format!("is not a field of the {schema_name} schema"));
            }
        }
    }

    /// Every concurrent value of a container field, each of which must be a container
    /// of the given type; the winner last. For keys that devices may legitimately
    /// create concurrently, where each value is checked rather than the conflict
    /// refused.
    pub(crate) fn objects(&mut self, obj: &ObjId, path: &str, key: &str, expected: ObjType) -> Vec<ObjId> {
        let full_path = join(path, key);
        let values = match self.values(obj, key) {
            Ok(values) => values,
            Err(reason) => {
                self.error(full_path, reason);
                return Vec::new();
            }
        };
        let mut objects = Vec::new();
        for (value, id) in values {
            match value {
                Value::Object(found) if found == expected => objects.push(id),
                Value::Object(found) => {
                    self.error(full_path.clone(), format!("expected a {expected}, found a {found}"))
                }
                Value::Scalar(_) => self.error(full_path.clone(), format!("expected a {expected}, found a value")),
            }
        }
        objects
    }

    pub(crate) fn keys(&mut self, obj: &ObjId) -> Vec<String> {
        let mut keys: Vec<String> = self.fields(obj).keys().cloned().collect();
        keys.sort();
        keys
    }

    /// A Text object's characters, refused (and not built) when longer than `max`.
    /// In strict mode the text must be plain: marks carry values of their own and
    /// blocks are maps inside the text, so either could hide data no reader shows.
    pub(crate) fn text(&mut self, obj: &ObjId, path: &str, max: usize) -> String {
        let length = self.doc.length(obj);
        if length > max {
            self.error(path, format!("is {length} characters long, at most {max} allowed"));
            return String::new();
        }
        if self.strict {
            if self.doc.marks(obj).is_ok_and(|marks| !marks.is_empty()) {
                self.error(path, "must be plain text, without marks");
            }
            if self.doc.list_range(obj, ..).any(|item| matches!(item.value, automerge::ValueRef::Object(_))) {
                self.error(path, "must be plain text, without blocks or objects");
            }
        }
        match self.doc.text(obj) {
            Ok(text) => text,
            Err(err) => {
                self.error(path, err.to_string());
                String::new()
            }
        }
    }

    pub(crate) fn doc(&self) -> &'a Automerge {
        self.doc
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

// ---- parsers for scalar values, shared by reading and validation ----

pub(crate) fn as_str(value: &ScalarValue) -> Result<&str, String> {
    match value {
        ScalarValue::Str(s) => Ok(s.as_str()),
        other => Err(format!("expected a string, found {other}")),
    }
}

pub(crate) fn short_text(max: usize, allow_empty: bool) -> impl Fn(&ScalarValue) -> Result<String, String> {
    move |value| {
        let text = as_str(value)?;
        check_short_text(text, max, allow_empty)?;
        Ok(text.to_string())
    }
}

pub(crate) fn long_text(max: usize) -> impl Fn(&ScalarValue) -> Result<String, String> {
    move |value| {
        let text = as_str(value)?;
        check_long_text(text, max)?;
        Ok(text.to_string())
    }
}

pub(crate) fn code<T: Copy>(from_code: fn(&str) -> Option<T>) -> impl Fn(&ScalarValue) -> Result<T, String> {
    move |value| {
        let text = as_str(value)?;
        from_code(text).ok_or_else(|| format!("unknown code {text:?}"))
    }
}

pub(crate) fn timestamp(value: &ScalarValue) -> Result<Timestamp, String> {
    match value {
        ScalarValue::Timestamp(ms) => Ok(Timestamp(*ms)),
        other => Err(format!("expected a timestamp, found {other}")),
    }
}

pub(crate) fn staff(value: &ScalarValue) -> Result<StaffId, String> {
    StaffId::new(as_str(value)?).map_err(|err| err.to_string())
}

pub(crate) fn uint(value: &ScalarValue) -> Result<u64, String> {
    match value {
        ScalarValue::Uint(n) => Ok(*n),
        other => Err(format!("expected an unsigned integer, found {other}")),
    }
}

pub(crate) fn true_flag(value: &ScalarValue) -> Result<(), String> {
    match value {
        ScalarValue::Boolean(true) => Ok(()),
        other => Err(format!("expected true, found {other}")),
    }
}

// ---- hydrating a whole case ----

/// Reads a case document into a [`Case`], collecting problems in `reader`.
pub(crate) fn read_case(reader: &mut Reader<'_>) -> Case {
    let root = ROOT;
    reader.closed(&root, "", &[ROOT_KEYS], "case");
    reader.scalar(&root, "", "type", true, |value| match as_str(value)? {
        CASE_TYPE => Ok(()),
        other => Err(format!("expected \"case\", found {other:?}")),
    });
    reader.scalar(&root, "", "schema", true, |value| match uint(value)? {
        version if version <= SCHEMA_VERSION && version >= 1 => Ok(()),
        version => Err(format!("schema version {version} is not supported (this build reads 1..={SCHEMA_VERSION})")),
    });
    let id = reader
        .scalar(&root, "", "id", true, |value| as_str(value)?.parse::<CaseId>().map_err(|err| err.to_string()))
        .unwrap_or(CaseId::from_u128(0));
    let kind = reader.scalar(&root, "", "kind", true, code(CaseKind::from_code)).unwrap_or(CaseKind::Consultation);
    let channel = reader.scalar(&root, "", "channel", true, code(Channel::from_code)).unwrap_or(Channel::Phone);
    let priority = reader.scalar(&root, "", "priority", true, code(Priority::from_code)).unwrap_or(Priority::Normal);
    let tier = reader.scalar(&root, "", "tier", true, code(Tier::from_code)).unwrap_or(Tier::First);
    let service = reader.scalar(&root, "", "service", false, code(Service::from_code));
    let department = reader.scalar(&root, "", "department", false, short_text(limits::MAX_SHORT, false));
    let assignee = reader.scalar(&root, "", "assignee", false, staff);
    let subject = reader.scalar(&root, "", "subject", true, short_text(limits::MAX_SUBJECT, true)).unwrap_or_default();
    let created_at = reader.scalar(&root, "", "created_at", true, timestamp).unwrap_or(Timestamp(0));
    let updated_at = reader.scalar(&root, "", "updated_at", true, timestamp).unwrap_or(created_at);
    let created_by = reader.scalar(&root, "", "created_by", true, staff).unwrap_or_else(unknown_staff);

    let description = match reader.object(&root, "", "description", ObjType::Text) {
        Some(text_obj) => {
            let text = reader.text(&text_obj, "description", limits::MAX_DESCRIPTION);
            if let Err(reason) = check_long_text(&text, limits::MAX_DESCRIPTION) {
                reader.error("description", reason);
            }
            text
        }
        None => String::new(),
    };
    let customer = match reader.object(&root, "", "customer", ObjType::Map) {
        Some(obj) => {
            reader.closed(&obj, "customer", &[CUSTOMER_KEYS], "case");
            Customer {
                name: reader
                    .scalar(&obj, "customer", "name", true, short_text(limits::MAX_SHORT, true))
                    .unwrap_or_default(),
                phone: reader
                    .scalar(&obj, "customer", "phone", true, short_text(limits::MAX_SHORT, true))
                    .unwrap_or_default(),
                address: reader
                    .scalar(&obj, "customer", "address", true, short_text(limits::MAX_ADDRESS, true))
                    .unwrap_or_default(),
            }
        }
        None => Customer::default(),
    };
    let number = match reader.object(&root, "", "number", ObjType::Map) {
        Some(obj) => {
            reader.closed(&obj, "number", &[NUMBER_KEYS], "case");
            CaseNumber {
                provisional: reader
                    .scalar(&obj, "number", "provisional", true, short_text(limits::MAX_SHORT, false))
                    .unwrap_or_default(),
                assigned: reader.scalar(&obj, "number", "assigned", false, short_text(limits::MAX_SHORT, false)),
            }
        }
        None => CaseNumber { provisional: String::new(), assigned: None },
    };
    let mut tags = BTreeSet::new();
    if let Some(obj) = reader.object(&root, "", "tags", ObjType::Map) {
        for tag in reader.keys(&obj) {
            match check_short_text(&tag, limits::MAX_SHORT, false) {
                Ok(()) => {
                    reader.scalar(&obj, "tags", &tag, true, true_flag);
                    tags.insert(tag);
                }
                Err(reason) => reader.error(format!("tags.{tag}"), reason),
            }
        }
        if tags.len() > limits::MAX_TAGS {
            reader.error("tags", format!("has {} tags, at most {} allowed", tags.len(), limits::MAX_TAGS));
        }
    }
    let timeline = match reader.object(&root, "", "timeline", ObjType::Map) {
        Some(obj) => read_timeline(reader, &obj),
        None => Vec::new(),
    };
    let status = status::derive(&timeline);
    let deadlines = deadline::compute(kind, channel, service, created_at, &timeline);
    Case {
        id,
        number,
        kind,
        channel,
        customer,
        subject,
        description,
        department,
        tier,
        assignee,
        priority,
        service,
        tags,
        created_at,
        created_by,
        updated_at,
        timeline,
        status,
        deadlines,
    }
}

fn unknown_staff() -> StaffId {
    StaffId::new("?").expect("a one-character id is valid")
}

fn read_timeline(reader: &mut Reader<'_>, timeline_obj: &ObjId) -> Vec<TimelineEntry> {
    let keys = reader.keys(timeline_obj);
    if keys.len() > limits::MAX_TIMELINE {
        reader.error("timeline", format!("has {} entries, at most {} allowed", keys.len(), limits::MAX_TIMELINE));
    }
    let mut entries: Vec<TimelineEntry> = keys
        .into_iter()
        .filter_map(|key| {
            let path = format!("timeline.{key}");
            if let Err(reason) = check_short_text(&key, limits::MAX_SHORT, false) {
                reader.error(path, reason);
                return None;
            }
            let obj = reader.object(timeline_obj, "timeline", &key, ObjType::Map)?;
            read_entry(reader, &obj, &path, EntryId(key))
        })
        .collect();
    entries.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    entries
}

fn read_entry(reader: &mut Reader<'_>, obj: &ObjId, path: &str, id: EntryId) -> Option<TimelineEntry> {
    let entry_type = reader.scalar(obj, path, "type", true, |value| as_str(value).map(str::to_string))?;
    if let Some(body) = body_keys(&entry_type) {
        reader.closed(obj, path, &[ENTRY_KEYS, body], "case");
    }
    let at = reader.scalar(obj, path, "at", true, timestamp)?;
    let by = reader.scalar(obj, path, "by", true, staff)?;
    let text = |reader: &mut Reader<'_>, key: &str| {
        reader.scalar(obj, path, key, true, long_text(limits::MAX_ENTRY_TEXT)).unwrap_or_default()
    };
    let body = match entry_type.as_str() {
        "note" => EntryBody::Note { text: text(reader, "text") },
        "transfer" => EntryBody::Transfer {
            from_department: reader.scalar(obj, path, "from_department", false, short_text(limits::MAX_SHORT, false)),
            to_department: reader.scalar(obj, path, "to_department", false, short_text(limits::MAX_SHORT, false)),
            from_assignee: reader.scalar(obj, path, "from_assignee", false, staff),
            to_assignee: reader.scalar(obj, path, "to_assignee", false, staff),
            reason: text(reader, "reason"),
        },
        "status" => {
            let from = reader.scalar(obj, path, "from", true, code(Status::from_code))?;
            let to = reader.scalar(obj, path, "to", true, code(Status::from_code))?;
            let prev = read_prev(reader, obj, path)?;
            EntryBody::StatusChange { from, to, prev, reason: text(reader, "reason") }
        }
        "feedback" => EntryBody::Feedback {
            direction: reader.scalar(obj, path, "direction", true, code(FeedbackDirection::from_code))?,
            text: text(reader, "text"),
        },
        "return_visit" => EntryBody::ReturnVisit {
            satisfaction: reader.scalar(obj, path, "satisfaction", true, code(Satisfaction::from_code))?,
            comment: text(reader, "comment"),
        },
        "attachment" => EntryBody::Attachment(AttachmentRef {
            sha256: reader.scalar(obj, path, "sha256", true, |value| {
                let hash = as_str(value)?;
                check_sha256_hex(hash)?;
                Ok(hash.to_string())
            })?,
            size: reader.scalar(obj, path, "size", true, uint)?,
            mime: reader.scalar(obj, path, "mime", true, short_text(limits::MAX_SHORT, false))?,
            name: reader.scalar(obj, path, "name", true, short_text(limits::MAX_SHORT, true))?,
        }),
        other => {
            reader.error(join(path, "type"), format!("unknown entry type {other:?}"));
            return None;
        }
    };
    Some(TimelineEntry { id, at, by, body })
}

/// The `prev` list of a status entry. Every element must be an entry id string,
/// each concurrent value of an element too (a list element can be overwritten
/// concurrently like a map field), and the list no longer than the timeline.
fn read_prev(reader: &mut Reader<'_>, obj: &ObjId, path: &str) -> Option<Vec<EntryId>> {
    let list = reader.object(obj, path, "prev", ObjType::List)?;
    let doc = reader.doc();
    let length = doc.length(&list);
    if length > limits::MAX_TIMELINE {
        reader
            .error(format!("{path}.prev"), format!("has {length} elements, at most {} allowed", limits::MAX_TIMELINE));
        return None;
    }
    let entry_id = short_text(limits::MAX_SHORT, false);
    let mut prev = Vec::new();
    for item in doc.list_range(&list, ..) {
        let item_path = format!("{path}.prev.{}", item.index);
        if item.conflict && reader.strict {
            for (value, _) in doc.get_all(&list, item.index).unwrap_or_default().iter().rev().skip(1) {
                if let Err(reason) = as_scalar(value).and_then(|scalar| entry_id(&scalar)) {
                    reader.error(item_path.clone(), format!("{reason} (in a concurrent value)"));
                }
            }
        }
        match as_scalar(&item.value.into_value()).and_then(|scalar| entry_id(&scalar)) {
            Ok(id) => prev.push(EntryId(id)),
            Err(reason) => reader.error(item_path, reason),
        }
    }
    Some(prev)
}

/// The scalar a value holds, or why an object is not one.
fn as_scalar<'v>(value: &'v Value<'_>) -> Result<std::borrow::Cow<'v, ScalarValue>, String> {
    match value {
        Value::Scalar(scalar) => Ok(std::borrow::Cow::Borrowed(scalar.as_ref())),
        Value::Object(obj_type) => Err(format!("expected a value, found a {obj_type}")),
    }
}

// ---- writing ----

/// Writes a brand-new case into an empty document.
pub(crate) fn write_new_case(
    tx: &mut impl Transactable,
    id: CaseId,
    new: &NewCase,
    provisional_number: &str,
    at: Timestamp,
    by: &StaffId,
) -> Result<(), automerge::AutomergeError> {
    tx.put(ROOT, "type", CASE_TYPE)?;
    tx.put(ROOT, "schema", SCHEMA_VERSION)?;
    tx.put(ROOT, "id", id.to_string())?;
    tx.put(ROOT, "kind", new.kind.code())?;
    tx.put(ROOT, "channel", new.channel.code())?;
    tx.put(ROOT, "priority", new.priority.code())?;
    tx.put(ROOT, "tier", Tier::First.code())?;
    if let Some(service) = new.service {
        tx.put(ROOT, "service", service.code())?;
    }
    tx.put(ROOT, "subject", new.subject.as_str())?;
    let description = tx.put_object(ROOT, "description", ObjType::Text)?;
    tx.splice_text(&description, 0, 0, &new.description)?;
    let customer = tx.put_object(ROOT, "customer", ObjType::Map)?;
    write_customer(tx, &customer, &new.customer)?;
    let number = tx.put_object(ROOT, "number", ObjType::Map)?;
    tx.put(&number, "provisional", provisional_number)?;
    tx.put_object(ROOT, "tags", ObjType::Map)?;
    tx.put_object(ROOT, "timeline", ObjType::Map)?;
    tx.put(ROOT, "created_at", ScalarValue::Timestamp(at.0))?;
    tx.put(ROOT, "updated_at", ScalarValue::Timestamp(at.0))?;
    tx.put(ROOT, "created_by", by.as_str())?;
    Ok(())
}

pub(crate) fn write_customer(
    tx: &mut impl Transactable,
    customer_obj: &ObjId,
    customer: &Customer,
) -> Result<(), automerge::AutomergeError> {
    tx.put(customer_obj, "name", customer.name.as_str())?;
    tx.put(customer_obj, "phone", customer.phone.as_str())?;
    tx.put(customer_obj, "address", customer.address.as_str())?;
    Ok(())
}

/// Sets or deletes an optional scalar.
pub(crate) fn put_optional(
    tx: &mut impl Transactable,
    obj: &ObjId,
    key: &str,
    value: Option<&str>,
) -> Result<(), automerge::AutomergeError> {
    match value {
        Some(value) => tx.put(obj, key, value),
        None => tx.delete(obj, key),
    }
}

/// Writes one timeline entry under its id.
pub(crate) fn write_entry(
    tx: &mut impl Transactable,
    timeline_obj: &ObjId,
    entry: &TimelineEntry,
) -> Result<(), automerge::AutomergeError> {
    let obj = tx.put_object(timeline_obj, entry.id.as_str(), ObjType::Map)?;
    tx.put(&obj, "at", ScalarValue::Timestamp(entry.at.0))?;
    tx.put(&obj, "by", entry.by.as_str())?;
    let entry_type = match &entry.body {
        EntryBody::Note { text } => {
            tx.put(&obj, "text", text.as_str())?;
            "note"
        }
        EntryBody::Transfer { from_department, to_department, from_assignee, to_assignee, reason } => {
            for (key, value) in [
                ("from_department", from_department.as_deref()),
                ("to_department", to_department.as_deref()),
                ("from_assignee", from_assignee.as_ref().map(StaffId::as_str)),
                ("to_assignee", to_assignee.as_ref().map(StaffId::as_str)),
            ] {
                if let Some(value) = value {
                    tx.put(&obj, key, value)?;
                }
            }
            tx.put(&obj, "reason", reason.as_str())?;
            "transfer"
        }
        EntryBody::StatusChange { from, to, prev, reason } => {
            tx.put(&obj, "from", from.code())?;
            tx.put(&obj, "to", to.code())?;
            let list = tx.put_object(&obj, "prev", ObjType::List)?;
            for (idx, id) in prev.iter().enumerate() {
                tx.insert(&list, idx, id.as_str())?;
            }
            tx.put(&obj, "reason", reason.as_str())?;
            "status"
        }
        EntryBody::Feedback { direction, text } => {
            tx.put(&obj, "direction", direction.code())?;
            tx.put(&obj, "text", text.as_str())?;
            "feedback"
        }
        EntryBody::ReturnVisit { satisfaction, comment } => {
            tx.put(&obj, "satisfaction", satisfaction.code())?;
            tx.put(&obj, "comment", comment.as_str())?;
            "return_visit"
        }
        EntryBody::Attachment(attachment) => {
            tx.put(&obj, "sha256", attachment.sha256.as_str())?;
            tx.put(&obj, "size", attachment.size)?;
            tx.put(&obj, "mime", attachment.mime.as_str())?;
            tx.put(&obj, "name", attachment.name.as_str())?;
            "attachment"
        }
    };
    tx.put(&obj, "type", entry_type)?;
    Ok(())
}
