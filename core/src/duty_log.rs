//! Duty-log documents (值班记录): one per shift, with the items handed over to the
//! next shift (交接班; seed 004 小区物业客户服务中心值班制度 items 5 and 7).
//!
//! The id is derived from the date and shift (`duty:2026-11-29:night`), so two
//! phones that open "tonight's log" offline open the same document. Because both
//! may create it, the layout keeps every container at a key only one device ever
//! writes (`entry:<entry id>`, `handover:<case id>`); shared keys hold only scalars,
//! so concurrent creation merges without hiding anything.
//!
//! ```text
//! ROOT: type "duty_log", schema 1, id, date "YYYY-MM-DD", shift code, weather str
//!       staff:<staff id> = true
//!       entry:<entry id> = map { at, by, kind code, text, case? }
//!       handover:<case id> = map { at, by, note }      (deleted when taken over)
//! ```

use std::collections::BTreeSet;

use automerge::transaction::Transactable;
use automerge::{Automerge, LoadOptions, ObjType, ROOT, ReadDoc, ScalarValue};
use chrono::NaiveDate;

use crate::case::limits::{self, check_long_text, check_short_text};
use crate::case::schema::{Reader, as_str, code, long_text, short_text, staff, timestamp, true_flag, uint};
use crate::case::{EditError, LoadError, SchemaErrors, TEXT_ENCODING};
use crate::case::{SCHEMA_VERSION, SchemaError};
use crate::ids::{CaseId, DeviceId, StaffId, Timestamp};

/// Document type tag of duty logs.
pub const DUTY_LOG_TYPE: &str = "duty_log";

/// Which shift a log covers (DOMAIN.md: day desk, midday duty, evening, night on call).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DutyShift {
    /// The day desk.
    Day,
    /// Midday duty (11:30–14:00).
    Midday,
    /// Evening at the centre (17:30–20:30).
    Evening,
    /// Night on call (20:30–08:00).
    Night,
}

impl DutyShift {
    /// Every shift in the day's order.
    pub const ALL: [DutyShift; 4] = [DutyShift::Day, DutyShift::Midday, DutyShift::Evening, DutyShift::Night];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            DutyShift::Day => "day",
            DutyShift::Midday => "midday",
            DutyShift::Evening => "evening",
            DutyShift::Night => "night",
        }
    }

    /// The shift for a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|shift| shift.code() == code)
    }
}

/// What a log entry records (the columns of seed 004's 值班记录表).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DutyEntryKind {
    /// A call received.
    Call,
    /// A visit received.
    Visit,
    /// A repair report dispatched.
    Dispatch,
    /// An incident.
    Incident,
    /// Anything else.
    Note,
}

impl DutyEntryKind {
    const ALL: [DutyEntryKind; 5] = [
        DutyEntryKind::Call,
        DutyEntryKind::Visit,
        DutyEntryKind::Dispatch,
        DutyEntryKind::Incident,
        DutyEntryKind::Note,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            DutyEntryKind::Call => "call",
            DutyEntryKind::Visit => "visit",
            DutyEntryKind::Dispatch => "dispatch",
            DutyEntryKind::Incident => "incident",
            DutyEntryKind::Note => "note",
        }
    }

    /// The kind for a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DutyEntry {
    /// Unique within the log.
    pub id: String,
    /// When.
    pub at: Timestamp,
    /// Who wrote it.
    pub by: StaffId,
    /// What kind of line.
    pub kind: DutyEntryKind,
    /// What happened.
    pub text: String,
    /// The case it concerns, if any.
    pub case: Option<CaseId>,
}

/// An open case handed to the next shift.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandoverItem {
    /// The open case.
    pub case: CaseId,
    /// What the next shift must know (special customer needs, what is pending).
    pub note: String,
    /// Who handed it over.
    pub by: StaffId,
    /// When.
    pub at: Timestamp,
}

/// A duty log as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DutyLog {
    /// `duty:<date>:<shift>`.
    pub id: String,
    /// The day the shift starts.
    pub date: NaiveDate,
    /// Which shift.
    pub shift: DutyShift,
    /// Weather, as the seed's form asks.
    pub weather: String,
    /// Staff on duty.
    pub staff: BTreeSet<StaffId>,
    /// Entries sorted by (time, id).
    pub entries: Vec<DutyEntry>,
    /// Items handed to the next shift, by case.
    pub handover: Vec<HandoverItem>,
}

/// One change to a duty log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DutyEdit {
    /// Record the weather.
    SetWeather(String),
    /// Add a staff member on duty.
    AddStaff(StaffId),
    /// Remove a staff member.
    RemoveStaff(StaffId),
    /// Append an entry.
    AddEntry {
        /// Kind of line.
        kind: DutyEntryKind,
        /// What happened.
        text: String,
        /// The case concerned.
        case: Option<CaseId>,
    },
    /// Hand an open case over to the next shift.
    HandOver {
        /// The case.
        case: CaseId,
        /// What the next shift must know.
        note: String,
    },
    /// The next shift has taken the case over.
    TakeOver(CaseId),
}

/// Whether a raw document says it is a duty log (anything else is treated as a case
/// and validated as one).
pub fn is_duty_log(doc: &Automerge) -> bool {
    matches!(
        doc.get(ROOT, "type"),
        Ok(Some((automerge::Value::Scalar(ref value), _))) if value.as_str() == Some(DUTY_LOG_TYPE)
    )
}

/// The id of the log for a date and shift.
pub fn duty_log_id(date: NaiveDate, shift: DutyShift) -> String {
    format!("duty:{}:{}", date.format("%Y-%m-%d"), shift.code())
}

/// One duty-log document. Invariant: valid against the duty-log layout.
#[derive(Debug, Clone)]
pub struct DutyLogDoc {
    doc: Automerge,
    id: String,
}

impl DutyLogDoc {
    /// Creates the log for a date and shift, written by `device`.
    pub fn create(device: DeviceId, date: NaiveDate, shift: DutyShift) -> Result<Self, EditError> {
        let id = duty_log_id(date, shift);
        let mut doc = Automerge::new_with_encoding(TEXT_ENCODING).with_actor(device.actor());
        doc.transact(|tx| {
            tx.put(ROOT, "type", DUTY_LOG_TYPE)?;
            tx.put(ROOT, "schema", SCHEMA_VERSION)?;
            tx.put(ROOT, "id", id.as_str())?;
            tx.put(ROOT, "date", date.format("%Y-%m-%d").to_string())?;
            tx.put(ROOT, "shift", shift.code())?;
            Ok::<_, automerge::AutomergeError>(())
        })
        .map_err(|failure| failure.error)?;
        Ok(DutyLogDoc { doc, id })
    }

    /// Loads and validates saved bytes.
    pub fn load(bytes: &[u8], device: DeviceId) -> Result<Self, LoadError> {
        crate::case::decode_guarded(|| {
            let doc = Automerge::load_with_options(bytes, LoadOptions::new().text_encoding(TEXT_ENCODING))?
                .with_actor(device.actor());
            Ok(Self::from_automerge(doc)?)
        })
    }

    /// Wraps a document after validating it.
    pub fn from_automerge(doc: Automerge) -> Result<Self, SchemaErrors> {
        let (log, errors) = read(&doc);
        if errors.is_empty() { Ok(DutyLogDoc { doc, id: log.id }) } else { Err(SchemaErrors(errors)) }
    }

    /// The log's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The underlying document.
    pub fn automerge(&self) -> &Automerge {
        &self.doc
    }

    /// Reads the log.
    pub fn read(&self) -> DutyLog {
        read(&self.doc).0
    }

    /// Accepts changes from elsewhere, validated on a fork first.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<usize, LoadError> {
        crate::case::receive_validated(&mut self.doc, bytes, &self.id, |doc| match read(doc) {
            (log, errors) if errors.is_empty() => Ok(log.id),
            (_, errors) => Err(SchemaErrors(errors)),
        })
    }

    /// Applies one edit atomically.
    pub fn apply(&mut self, at: Timestamp, by: &StaffId, edit: &DutyEdit) -> Result<(), EditError> {
        let invalid = |field| move |reason| EditError::Invalid { field, reason };
        match edit {
            DutyEdit::SetWeather(text) => {
                check_short_text(text, limits::MAX_SHORT, true).map_err(invalid("weather"))?
            }
            DutyEdit::AddEntry { text, .. } => {
                check_long_text(text, limits::MAX_ENTRY_TEXT).map_err(invalid("entry"))?
            }
            DutyEdit::HandOver { note, .. } => {
                check_long_text(note, limits::MAX_ENTRY_TEXT).map_err(invalid("handover note"))?
            }
            DutyEdit::TakeOver(case) if !matches!(self.doc.get(ROOT, format!("handover:{case}")), Ok(Some(_))) => {
                return Err(EditError::NoChange("that case was not handed over in this log"));
            }
            _ => {}
        }
        let entry_key = format!("entry:{:013x}-{}", at.0.max(0), self.doc.get_actor().to_hex_string());
        let entry_key = (0..)
            .map(|n| if n == 0 { entry_key.clone() } else { format!("{entry_key}-{n}") })
            .find(|key| !matches!(self.doc.get(ROOT, key.as_str()), Ok(Some(_))))
            .expect("an unbounded range has a free key");
        self.doc
            .transact(|tx| {
                match edit {
                    DutyEdit::SetWeather(text) => tx.put(ROOT, "weather", text.as_str())?,
                    DutyEdit::AddStaff(staff) => tx.put(ROOT, format!("staff:{staff}"), true)?,
                    DutyEdit::RemoveStaff(staff) => tx.delete(ROOT, format!("staff:{staff}"))?,
                    DutyEdit::AddEntry { kind, text, case } => {
                        let obj = tx.put_object(ROOT, entry_key.as_str(), ObjType::Map)?;
                        tx.put(&obj, "at", ScalarValue::Timestamp(at.0))?;
                        tx.put(&obj, "by", by.as_str())?;
                        tx.put(&obj, "kind", kind.code())?;
                        tx.put(&obj, "text", text.as_str())?;
                        if let Some(case) = case {
                            tx.put(&obj, "case", case.to_string())?;
                        }
                    }
                    DutyEdit::HandOver { case, note } => {
                        let obj = tx.put_object(ROOT, format!("handover:{case}"), ObjType::Map)?;
                        tx.put(&obj, "at", ScalarValue::Timestamp(at.0))?;
                        tx.put(&obj, "by", by.as_str())?;
                        tx.put(&obj, "note", note.as_str())?;
                    }
                    DutyEdit::TakeOver(case) => tx.delete(ROOT, format!("handover:{case}"))?,
                }
                Ok::<_, automerge::AutomergeError>(())
            })
            .map_err(|failure| failure.error)?;
        Ok(())
    }
}

/// Keys a duty log holds at its root besides the `staff:`, `entry:` and `handover:`
/// families. The schema is closed at every depth, as for cases (ARCHITECTURE.md
/// section 5): whatever a log holds is fanned out to every phone on the team.
const ROOT_FIELDS: &[&str] = &["type", "schema", "id", "date", "shift", "weather"];

/// Keys of an `entry:<id>` map.
const ENTRY_KEYS: &[&str] = &["at", "by", "kind", "text", "case"];

/// Keys of a `handover:<case>` map.
const HANDOVER_KEYS: &[&str] = &["at", "by", "note"];

/// Reads a duty log, collecting every problem (the validator and the reader are one).
///
/// Strict like `validate_case`: every concurrent value is checked. Entry and
/// handover maps may legitimately be written concurrently (two devices hand the same
/// case over offline), so every concurrent map is validated and the winner is read.
fn read(doc: &Automerge) -> (DutyLog, Vec<SchemaError>) {
    let mut reader = Reader::new(doc, true);
    reader.scalar(&ROOT, "", "type", true, |value| match as_str(value)? {
        DUTY_LOG_TYPE => Ok(()),
        other => Err(format!("expected \"{DUTY_LOG_TYPE}\", found {other:?}")),
    });
    reader.scalar(&ROOT, "", "schema", true, |value| match uint(value)? {
        version if (1..=SCHEMA_VERSION).contains(&version) => Ok(()),
        version => Err(format!("schema version {version} is not supported (this build reads 1..={SCHEMA_VERSION})")),
    });
    let date = reader.scalar(&ROOT, "", "date", true, |value| {
        NaiveDate::parse_from_str(as_str(value)?, "%Y-%m-%d").map_err(|_| "must be a date YYYY-MM-DD".to_string())
    });
    let shift = reader.scalar(&ROOT, "", "shift", true, code(DutyShift::from_code));
    let (date, shift) = (date.unwrap_or_default(), shift.unwrap_or(DutyShift::Day));
    let id = duty_log_id(date, shift);
    reader.scalar(&ROOT, "", "id", true, |value| match as_str(value)? {
        found if found == id => Ok(()),
        found => Err(format!("must be {id} for its date and shift, found {found:?}")),
    });
    let weather = reader.scalar(&ROOT, "", "weather", false, short_text(limits::MAX_SHORT, true)).unwrap_or_default();
    let mut log =
        DutyLog { id, date, shift, weather, staff: BTreeSet::new(), entries: Vec::new(), handover: Vec::new() };
    for key in reader.keys(&ROOT) {
        if let Some(staff) = key.strip_prefix("staff:") {
            let staff = StaffId::new(staff);
            let flag = reader.scalar(&ROOT, "", &key, true, true_flag);
            match staff {
                Ok(staff) if flag.is_some() => {
                    log.staff.insert(staff);
                }
                Ok(_) => {}
                Err(err) => reader.error(key.as_str(), err.to_string()),
            }
        } else if let Some(entry_id) = key.strip_prefix("entry:") {
            if let Err(reason) = check_short_text(entry_id, limits::MAX_SHORT, false) {
                reader.error(key.as_str(), format!("entry id {reason}"));
                continue;
            }
            let entry_id = entry_id.to_string();
            let mut winner = None;
            for obj in reader.objects(&ROOT, "", &key, ObjType::Map) {
                reader.closed(&obj, &key, &[ENTRY_KEYS], "duty-log");
                let at = reader.scalar(&obj, &key, "at", true, timestamp);
                let by = reader.scalar(&obj, &key, "by", true, staff);
                let kind = reader.scalar(&obj, &key, "kind", true, code(DutyEntryKind::from_code));
                let text = reader.scalar(&obj, &key, "text", true, long_text(limits::MAX_ENTRY_TEXT));
                let case = reader.scalar(&obj, &key, "case", false, case_id);
                winner = match (at, by, kind, text) {
                    (Some(at), Some(by), Some(kind), Some(text)) => {
                        Some(DutyEntry { id: entry_id.clone(), at, by, kind, text, case })
                    }
                    _ => None,
                };
            }
            log.entries.extend(winner);
        } else if let Some(case) = key.strip_prefix("handover:") {
            let case = match case.parse::<CaseId>() {
                Ok(case) => Some(case),
                Err(err) => {
                    reader.error(key.as_str(), err.to_string());
                    None
                }
            };
            let mut winner = None;
            for obj in reader.objects(&ROOT, "", &key, ObjType::Map) {
                reader.closed(&obj, &key, &[HANDOVER_KEYS], "duty-log");
                let at = reader.scalar(&obj, &key, "at", true, timestamp);
                let by = reader.scalar(&obj, &key, "by", true, staff);
                let note = reader.scalar(&obj, &key, "note", true, long_text(limits::MAX_ENTRY_TEXT));
                winner = match (case, at, by, note) {
                    (Some(case), Some(at), Some(by), Some(note)) => Some(HandoverItem { case, note, by, at }),
                    _ => None,
                };
            }
            log.handover.extend(winner);
        } else if !ROOT_FIELDS.contains(&key.as_str()) {
            reader.error(key.as_str(), "is not a field of the duty-log schema");
        }
    }
    log.entries.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    let errors = reader.finish().err().map(|SchemaErrors(errors)| errors).unwrap_or_default();
    (log, errors)
}

/// A case id stored as its string form.
fn case_id(value: &ScalarValue) -> Result<CaseId, String> {
    as_str(value)?.parse::<CaseId>().map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_devices_open_the_same_log_offline_and_lose_nothing() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let staff = StaffId::new("wang").unwrap();
        let case = CaseId::from_u128(7);
        let mut desk = DutyLogDoc::create(DeviceId::from_u128(1), date, DutyShift::Night).unwrap();
        let mut field = DutyLogDoc::create(DeviceId::from_u128(2), date, DutyShift::Night).unwrap();
        desk.apply(
            Timestamp(10),
            &staff,
            &DutyEdit::AddEntry { kind: DutyEntryKind::Call, text: "leak".into(), case: Some(case) },
        )
        .unwrap();
        desk.apply(Timestamp(11), &staff, &DutyEdit::HandOver { case, note: "call back at 8".into() }).unwrap();
        field
            .apply(
                Timestamp(10),
                &staff,
                &DutyEdit::AddEntry { kind: DutyEntryKind::Incident, text: "pump".into(), case: None },
            )
            .unwrap();
        field.apply(Timestamp(12), &staff, &DutyEdit::AddStaff(staff.clone())).unwrap();
        let field_bytes = field.automerge().save();
        desk.receive(&field_bytes).unwrap();
        let log = desk.read();
        assert_eq!(log.id, "duty:2026-11-29:night");
        assert_eq!(log.entries.len(), 2);
        assert_eq!(log.handover.len(), 1);
        assert!(log.staff.contains(&staff));
        assert!(matches!(
            desk.apply(Timestamp(13), &staff, &DutyEdit::TakeOver(CaseId::from_u128(8))),
            Err(EditError::NoChange(_))
        ));
        desk.apply(Timestamp(13), &staff, &DutyEdit::TakeOver(case)).unwrap();
        assert!(desk.read().handover.is_empty());
    }
}
