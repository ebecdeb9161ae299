//! Published rosters (排班表) as synced documents: one per team and roster period, written
//! only by the server when a supervisor publishes (or republishes) a roster, read offline on
//! the phones: my shifts, who is on a post at a time, what changed since I last looked.
//!
//! The id names the period's first day (`roster:2026-12-07`): a republished roster of the
//! same period updates the same document, so a phone holds one document per period and its
//! history is the roster's versions. Each shift sits under a key that names it
//! (`shift:<date>/<staff>/<template>`); republishing rewrites only the shifts that changed,
//! so "what changed since the version I saw" is the difference between the document at the
//! heads the phone marked seen and now.
//!
//! ```text
//! ROOT: type "roster", schema 1, id "roster:<first day>", first_day, last_day "YYYY-MM-DD"
//!       version uint (the console's roster version), published_by str, published_at timestamp
//!       utc_offset int (minutes east of UTC: the team's clock, which every time below is in)
//!       staff_name:<staff> = str, post_name:<post> = str   (display names, from the team file)
//!       shift:<date>/<staff>/<template> = map { staff, date, shift, post,
//!                                             start, end, lunch_start?, lunch_end? }
//!                                             (times "YYYY-MM-DDTHH:MM", team-local)
//! ```
//!
//! Who may write it: the server alone. The sync round refuses any change a device makes to a
//! roster document (`doc.forged_field`), so the layout needs no rule for concurrent writers;
//! the reader is still strict (closed schema, every concurrent value checked), as for every
//! document a phone receives.
//!
//! Pure: no IO, no clock. The store (`crate::store`) keeps which heads the user saw.

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ChangeHash, LoadOptions, ObjType, ROOT, ReadDoc, ScalarValue};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

use crate::case::limits::{self, check_short_text};
use crate::case::schema::{Reader, as_str, short_text, staff, timestamp, uint};
use crate::case::{EditError, LoadError, SCHEMA_VERSION, SchemaError, SchemaErrors, TEXT_ENCODING};
use crate::ids::{StaffId, Timestamp};

/// Document type tag of rosters.
pub const ROSTER_TYPE: &str = "roster";

/// Every roster document's id starts so; no device may push a document under it.
pub const ROSTER_ID_PREFIX: &str = "roster:";

/// How times are written in the document (team-local, minutes).
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M";

/// Offsets beyond ±18 h name no clock on Earth.
const MAX_OFFSET_MINUTES: i64 = 18 * 60;

/// Keys at the root besides the `shift:` family (closed schema).
const ROOT_FIELDS: &[&str] =
    &["type", "schema", "id", "first_day", "last_day", "version", "published_by", "published_at", "utc_offset"];

/// Keys of a `shift:<key>` map.
const SHIFT_KEYS: &[&str] = &["staff", "date", "shift", "post", "start", "end", "lunch_start", "lunch_end"];

/// The id of the roster document of the period starting on `first_day`.
pub fn roster_doc_id(first_day: NaiveDate) -> String {
    format!("{ROSTER_ID_PREFIX}{}", first_day.format("%Y-%m-%d"))
}

/// Whether a document id is a roster's.
pub fn is_roster_id(id: &str) -> bool {
    id.starts_with(ROSTER_ID_PREFIX)
}

/// Whether a raw document says it is a roster.
pub fn is_roster(doc: &Automerge) -> bool {
    matches!(
        doc.get(ROOT, "type"),
        Ok(Some((automerge::Value::Scalar(ref value), _))) if value.as_str() == Some(ROSTER_TYPE)
    )
}

/// A lunch turn within a shift.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lunch {
    /// Team-local start.
    pub start: NaiveDateTime,
    /// Team-local end.
    pub end: NaiveDateTime,
}

/// One person's shift on one day, as published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterShift {
    /// Who works it.
    pub staff: StaffId,
    /// The day it starts on.
    pub date: NaiveDate,
    /// The shift template's id (`day`, `night`, ...).
    pub shift: String,
    /// The post held (`desk`, `field`, ...).
    pub post: String,
    /// Team-local start.
    pub start: NaiveDateTime,
    /// Team-local end (the next day for a night shift).
    pub end: NaiveDateTime,
    /// The lunch turn, when the roster gives one.
    pub lunch: Option<Lunch>,
}

impl RosterShift {
    /// The key it is stored under: one person works a template once a day.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.date.format("%Y-%m-%d"), self.staff, self.shift)
    }
}

/// A published roster as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roster {
    /// `roster:<first day>`.
    pub id: String,
    /// The period's first day.
    pub first_day: NaiveDate,
    /// The period's last day.
    pub last_day: NaiveDate,
    /// The console's version number of the roster published.
    pub version: u64,
    /// Who published it.
    pub published_by: String,
    /// When.
    pub published_at: Timestamp,
    /// The team's offset from UTC in minutes: every time in the roster is on this clock.
    pub utc_offset_minutes: i32,
    /// Shifts sorted by (start, post, staff).
    pub shifts: Vec<RosterShift>,
    /// Display names of the staff (林), for a phone to show whom to call.
    pub staff_names: BTreeMap<StaffId, String>,
    /// Display names of the posts (前台).
    pub post_names: BTreeMap<String, String>,
}

/// Who a shift's holder takes the post over from, and hands it to (the handover, 交接班).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Handover {
    /// Someone on the same post when the shift starts, leaving during it.
    pub takes_over_from: Option<StaffId>,
    /// Someone on the same post when the shift ends, who arrived during it.
    pub hands_over_to: Option<StaffId>,
}

impl Roster {
    /// A roster to publish, checked as the document's reader would check it, so the server
    /// never writes what a phone would refuse. Shifts are sorted; two with one key are refused.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        first_day: NaiveDate,
        last_day: NaiveDate,
        version: u64,
        published_by: &str,
        published_at: Timestamp,
        utc_offset_minutes: i32,
        mut shifts: Vec<RosterShift>,
    ) -> Result<Roster, EditError> {
        let invalid = |field, reason: String| EditError::Invalid { field, reason };
        if last_day < first_day {
            return Err(invalid("last_day", format!("{last_day} is before the first day {first_day}")));
        }
        check_short_text(published_by, limits::MAX_SHORT, false).map_err(|reason| invalid("published_by", reason))?;
        if i64::from(utc_offset_minutes).abs() > MAX_OFFSET_MINUTES {
            return Err(invalid("utc_offset", format!("{utc_offset_minutes} minutes is beyond ±18 hours")));
        }
        for shift in &shifts {
            let key = shift.key();
            for (field, value) in [("shift", &shift.shift), ("post", &shift.post)] {
                check_short_text(value, limits::MAX_SHORT, false)
                    .map_err(|reason| invalid(field, format!("of {key}: {reason}")))?;
            }
            if shift.end <= shift.start {
                return Err(invalid("end", format!("of {key}: {} is not after its start {}", shift.end, shift.start)));
            }
            if shift.lunch.is_some_and(|lunch| lunch.end <= lunch.start) {
                return Err(invalid("lunch", format!("of {key}: its end is not after its start")));
            }
        }
        shifts.sort_by(|a, b| (a.start, &a.post, &a.staff, &a.shift).cmp(&(b.start, &b.post, &b.staff, &b.shift)));
        let mut keys: Vec<String> = shifts.iter().map(RosterShift::key).collect();
        keys.sort();
        if let Some(pair) = keys.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(invalid("shifts", format!("{} is rostered twice", pair[0])));
        }
        Ok(Roster {
            id: roster_doc_id(first_day),
            first_day,
            last_day,
            version,
            published_by: published_by.to_string(),
            published_at,
            utc_offset_minutes,
            shifts,
            staff_names: BTreeMap::new(),
            post_names: BTreeMap::new(),
        })
    }

    /// The same roster with display names for staff and posts, checked like every text.
    pub fn with_names(
        mut self,
        staff_names: BTreeMap<StaffId, String>,
        post_names: BTreeMap<String, String>,
    ) -> Result<Roster, EditError> {
        let invalid = |field, reason: String| EditError::Invalid { field, reason };
        for (staff, name) in &staff_names {
            check_short_text(name, limits::MAX_SHORT, false)
                .map_err(|reason| invalid("staff_name", format!("of {staff}: {reason}")))?;
        }
        for (post, name) in &post_names {
            check_short_text(post, limits::MAX_SHORT, false).map_err(|reason| invalid("post", reason))?;
            check_short_text(name, limits::MAX_SHORT, false)
                .map_err(|reason| invalid("post_name", format!("of {post}: {reason}")))?;
        }
        self.staff_names = staff_names;
        self.post_names = post_names;
        Ok(self)
    }

    /// What to show for a staff member: the display name, else the id.
    pub fn staff_name<'a>(&'a self, staff: &'a StaffId) -> &'a str {
        self.staff_names.get(staff).map_or(staff.as_str(), String::as_str)
    }

    /// What to show for a post: the display name, else the id.
    pub fn post_name<'a>(&'a self, post: &'a str) -> &'a str {
        self.post_names.get(post).map_or(post, String::as_str)
    }

    /// `staff`'s shifts starting on a day in `from..=to`, in time order.
    pub fn shifts_of<'a>(
        &'a self,
        staff: &'a StaffId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Iterator<Item = &'a RosterShift> + 'a {
        self.shifts.iter().filter(move |shift| shift.staff == *staff && (from..=to).contains(&shift.date))
    }

    /// Who is on duty at the team-local instant `at`, by post: whoever's shift has begun and
    /// not ended (a person at lunch is still on the post, to be called).
    pub fn on_duty_at(&self, at: NaiveDateTime) -> impl Iterator<Item = &RosterShift> + '_ {
        self.shifts.iter().filter(move |shift| shift.start <= at && at < shift.end)
    }

    /// The handover partners of `shift` on its post: among the others on that post, the one
    /// there when it starts who leaves first, and the one there when it ends who came last.
    pub fn handover(&self, shift: &RosterShift) -> Handover {
        let colleagues = || self.shifts.iter().filter(|other| other.post == shift.post && other.staff != shift.staff);
        let takes_over_from = colleagues()
            .filter(|other| other.start < shift.start && shift.start < other.end && other.end < shift.end)
            .min_by_key(|other| other.end)
            .map(|other| other.staff.clone());
        let hands_over_to = colleagues()
            .filter(|other| shift.start < other.start && other.start < shift.end && shift.end < other.end)
            .max_by_key(|other| other.start)
            .map(|other| other.staff.clone());
        Handover { takes_over_from, hands_over_to }
    }

    /// The team-local time of a UTC instant, on this roster's clock.
    pub fn local_time(&self, at: Timestamp) -> NaiveDateTime {
        Timestamp(at.0.saturating_add(i64::from(self.utc_offset_minutes) * 60_000)).to_utc().naive_utc()
    }
}

/// Monday of the week of `today` to Sunday of the week after: "this week and next".
pub fn this_week_and_next(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    (monday, monday + Duration::days(13))
}

/// Of several rosters, the one in force on `date`: the latest published among those whose
/// period covers it (a team file whose period moved leaves an older document overlapping).
pub fn in_force(rosters: &[Roster], date: NaiveDate) -> Option<&Roster> {
    rosters
        .iter()
        .filter(|roster| (roster.first_day..=roster.last_day).contains(&date))
        .max_by_key(|roster| (roster.published_at, roster.version))
}

/// One shift added, removed or changed between two versions of a roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShiftChange {
    /// The shift as it was (`None`: added).
    pub before: Option<RosterShift>,
    /// The shift as it is (`None`: removed).
    pub after: Option<RosterShift>,
}

impl ShiftChange {
    /// Whether it concerns `staff`.
    pub fn concerns(&self, staff: &StaffId) -> bool {
        self.before.iter().chain(&self.after).any(|shift| shift.staff == *staff)
    }
}

/// What changed from `before` (`None`: nothing seen yet) to `after`, by shift key, in the
/// order of the key (date, staff, template).
pub fn changes(before: Option<&Roster>, after: &Roster) -> Vec<ShiftChange> {
    let by_key = |roster: &Roster| -> BTreeMap<String, RosterShift> {
        roster.shifts.iter().map(|shift| (shift.key(), shift.clone())).collect()
    };
    let old = before.map(by_key).unwrap_or_default();
    let new = by_key(after);
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| {
            let (before, after) = (old.get(key), new.get(key));
            (before != after).then(|| ShiftChange { before: before.cloned(), after: after.cloned() })
        })
        .collect()
}

/// A shift as a phone shows it: with its handover partners and the clock of its roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShiftView {
    /// The shift.
    pub shift: RosterShift,
    /// Who it takes over from and hands over to on its post.
    pub handover: Handover,
    /// The staff member's display name (the id when the roster has none).
    pub staff_name: String,
    /// The post's display name (the id when the roster has none).
    pub post_name: String,
    /// The roster's offset from UTC in minutes (its times are on that clock).
    pub utc_offset_minutes: i32,
    /// The roster document it comes from.
    pub roster_id: String,
}

fn view(roster: &Roster, shift: &RosterShift) -> ShiftView {
    ShiftView {
        shift: shift.clone(),
        handover: roster.handover(shift),
        staff_name: roster.staff_name(&shift.staff).to_string(),
        post_name: roster.post_name(&shift.post).to_string(),
        utc_offset_minutes: roster.utc_offset_minutes,
        roster_id: roster.id.clone(),
    }
}

/// Whether `shift` of `roster` is in force: its day is covered by no later-published roster.
fn counts(rosters: &[Roster], roster: &Roster, shift: &RosterShift) -> bool {
    in_force(rosters, shift.date).is_some_and(|chosen| chosen.id == roster.id)
}

/// `staff`'s shifts starting on a day in `from..=to`, each from the roster in force that day,
/// in time order.
pub fn shifts_between(rosters: &[Roster], staff: &StaffId, from: NaiveDate, to: NaiveDate) -> Vec<ShiftView> {
    let mut shifts: Vec<ShiftView> = rosters
        .iter()
        .flat_map(|roster| {
            roster
                .shifts_of(staff, from, to)
                .filter(|shift| counts(rosters, roster, shift))
                .map(|shift| view(roster, shift))
        })
        .collect();
    shifts.sort_by_key(|view| view.shift.start);
    shifts
}

/// Who is on duty at the instant `at`, on each roster's own clock, sorted by (post, start, staff).
pub fn on_duty_at(rosters: &[Roster], at: Timestamp) -> Vec<ShiftView> {
    let mut shifts: Vec<ShiftView> = rosters
        .iter()
        .flat_map(|roster| {
            roster
                .on_duty_at(roster.local_time(at))
                .filter(|shift| counts(rosters, roster, shift))
                .map(|shift| view(roster, shift))
        })
        .collect();
    shifts.sort_by(|a, b| {
        (&a.shift.post, a.shift.start, &a.shift.staff).cmp(&(&b.shift.post, b.shift.start, &b.shift.staff))
    });
    shifts
}

/// What changed in one roster document since the version the user saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterChanges {
    /// The roster as it is now.
    pub roster: Roster,
    /// The version seen (`None`: this roster was never marked seen).
    pub seen_version: Option<u64>,
    /// Shifts added, removed or changed since.
    pub changes: Vec<ShiftChange>,
}

/// One roster document. Invariant: valid against the roster layout.
#[derive(Debug, Clone)]
pub struct RosterDoc {
    doc: Automerge,
    id: String,
}

impl RosterDoc {
    /// Writes `roster` as the next version of `base` (the stored document, `None` the first
    /// time) with `actor` (the server's install for this write): the root's fields, and of the
    /// shifts only those that differ, so each version's change is about its size and the
    /// history tells versions apart.
    pub fn publish(base: Option<RosterDoc>, actor: ActorId, roster: &Roster) -> Result<RosterDoc, EditError> {
        let mut doc = match base {
            Some(base) if base.id == roster.id => base.doc.with_actor(actor),
            Some(base) => {
                return Err(EditError::Invalid {
                    field: "id",
                    reason: format!("{} cannot be written over {}", roster.id, base.id),
                });
            }
            None => Automerge::new_with_encoding(TEXT_ENCODING).with_actor(actor),
        };
        let before = (!doc.get_heads().is_empty()).then(|| read(&doc).0);
        let old: BTreeMap<String, RosterShift> = before
            .as_ref()
            .map(|before| before.shifts.iter().map(|shift| (shift.key(), shift.clone())).collect())
            .unwrap_or_default();
        // Display names as keyed scalars: `staff_name:<id>` and `post_name:<id>`.
        let names = |roster: &Roster| -> BTreeMap<String, String> {
            let staff = roster.staff_names.iter().map(|(id, name)| (format!("staff_name:{id}"), name.clone()));
            staff.chain(roster.post_names.iter().map(|(id, name)| (format!("post_name:{id}"), name.clone()))).collect()
        };
        let old_names = before.as_ref().map(names).unwrap_or_default();
        let new_names = names(roster);
        doc.transact(|tx| {
            let root: [(&str, ScalarValue); 9] = [
                ("type", ROSTER_TYPE.into()),
                ("schema", ScalarValue::Uint(SCHEMA_VERSION)),
                ("id", roster.id.as_str().into()),
                ("first_day", roster.first_day.format("%Y-%m-%d").to_string().into()),
                ("last_day", roster.last_day.format("%Y-%m-%d").to_string().into()),
                ("version", ScalarValue::Uint(roster.version)),
                ("published_by", roster.published_by.as_str().into()),
                ("published_at", ScalarValue::Timestamp(roster.published_at.0)),
                ("utc_offset", ScalarValue::Int(i64::from(roster.utc_offset_minutes))),
            ];
            for (key, value) in root {
                tx.put(ROOT, key, value)?;
            }
            let new: BTreeMap<String, &RosterShift> = roster.shifts.iter().map(|shift| (shift.key(), shift)).collect();
            for key in old.keys().filter(|key| !new.contains_key(*key)) {
                tx.delete(ROOT, format!("shift:{key}"))?;
            }
            for key in old_names.keys().filter(|key| !new_names.contains_key(*key)) {
                tx.delete(ROOT, key.as_str())?;
            }
            for (key, name) in new_names.iter().filter(|(key, name)| old_names.get(*key) != Some(*name)) {
                tx.put(ROOT, key.as_str(), name.as_str())?;
            }
            for (key, shift) in new.into_iter().filter(|(key, shift)| old.get(key) != Some(*shift)) {
                let obj = tx.put_object(ROOT, format!("shift:{key}"), ObjType::Map)?;
                tx.put(&obj, "staff", shift.staff.as_str())?;
                tx.put(&obj, "date", shift.date.format("%Y-%m-%d").to_string())?;
                tx.put(&obj, "shift", shift.shift.as_str())?;
                tx.put(&obj, "post", shift.post.as_str())?;
                tx.put(&obj, "start", shift.start.format(TIME_FORMAT).to_string())?;
                tx.put(&obj, "end", shift.end.format(TIME_FORMAT).to_string())?;
                if let Some(lunch) = shift.lunch {
                    tx.put(&obj, "lunch_start", lunch.start.format(TIME_FORMAT).to_string())?;
                    tx.put(&obj, "lunch_end", lunch.end.format(TIME_FORMAT).to_string())?;
                }
            }
            Ok::<_, automerge::AutomergeError>(())
        })
        .map_err(|failure| failure.error)?;
        Ok(RosterDoc { doc, id: roster.id.clone() })
    }

    /// Loads and validates saved bytes (the server's stored document, or a phone's).
    pub fn load(bytes: &[u8], actor: ActorId) -> Result<Self, LoadError> {
        crate::case::decode_guarded(|| {
            let doc =
                Automerge::load_with_options(bytes, LoadOptions::new().text_encoding(TEXT_ENCODING))?.with_actor(actor);
            Ok(Self::from_automerge(doc)?)
        })
    }

    /// Wraps a document after validating it.
    pub fn from_automerge(doc: Automerge) -> Result<Self, SchemaErrors> {
        let (roster, errors) = read(&doc);
        if errors.is_empty() { Ok(RosterDoc { doc, id: roster.id }) } else { Err(SchemaErrors(errors)) }
    }

    /// The document's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The underlying document.
    pub fn automerge(&self) -> &Automerge {
        &self.doc
    }

    /// Reads the roster.
    pub fn read(&self) -> Roster {
        read(&self.doc).0
    }

    /// The roster as it was at `heads` (a version seen earlier); `None` if this document does
    /// not hold those heads.
    pub fn read_at(&self, heads: &[ChangeHash]) -> Option<Roster> {
        if heads.iter().any(|head| self.doc.get_change_by_hash(head).is_none()) {
            return None;
        }
        let past = self.doc.fork_at(heads).ok()?;
        let (roster, errors) = read(&past);
        errors.is_empty().then_some(roster)
    }

    /// Accepts changes from elsewhere, validated on a fork first.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<usize, LoadError> {
        crate::case::receive_validated(&mut self.doc, bytes, &self.id, |doc| match read(doc) {
            (roster, errors) if errors.is_empty() => Ok(roster.id),
            (_, errors) => Err(SchemaErrors(errors)),
        })
    }
}

/// Reads a roster, collecting every problem (the validator and the reader are one).
fn read(doc: &Automerge) -> (Roster, Vec<SchemaError>) {
    let mut reader = Reader::new(doc, true);
    reader.scalar(&ROOT, "", "type", true, |value| match as_str(value)? {
        ROSTER_TYPE => Ok(()),
        other => Err(format!("expected \"{ROSTER_TYPE}\", found {other:?}")),
    });
    reader.scalar(&ROOT, "", "schema", true, |value| match uint(value)? {
        version if (1..=SCHEMA_VERSION).contains(&version) => Ok(()),
        version => Err(format!("schema version {version} is not supported (this build reads 1..={SCHEMA_VERSION})")),
    });
    let first_day = reader.scalar(&ROOT, "", "first_day", true, date).unwrap_or_default();
    let last_day = reader.scalar(&ROOT, "", "last_day", true, date).unwrap_or_default();
    let id = roster_doc_id(first_day);
    reader.scalar(&ROOT, "", "id", true, |value| match as_str(value)? {
        found if found == id => Ok(()),
        found => Err(format!("must be {id} for its first day, found {found:?}")),
    });
    let version = reader.scalar(&ROOT, "", "version", true, uint).unwrap_or_default();
    let published_by =
        reader.scalar(&ROOT, "", "published_by", true, short_text(limits::MAX_SHORT, false)).unwrap_or_default();
    let published_at = reader.scalar(&ROOT, "", "published_at", true, timestamp).unwrap_or(Timestamp(0));
    let utc_offset_minutes = reader.scalar(&ROOT, "", "utc_offset", true, offset).unwrap_or_default();
    let mut shifts = Vec::new();
    let (mut staff_names, mut post_names) = (BTreeMap::new(), BTreeMap::new());
    for key in reader.keys(&ROOT) {
        if let Some(id) = key.strip_prefix("staff_name:") {
            let name = reader.scalar(&ROOT, "", &key, true, short_text(limits::MAX_SHORT, false));
            match StaffId::new(id) {
                Ok(id) => staff_names.extend(name.map(|name| (id, name))),
                Err(err) => reader.error(key.as_str(), err.to_string()),
            }
        } else if let Some(post) = key.strip_prefix("post_name:") {
            let name = reader.scalar(&ROOT, "", &key, true, short_text(limits::MAX_SHORT, false));
            match check_short_text(post, limits::MAX_SHORT, false) {
                Ok(()) => post_names.extend(name.map(|name| (post.to_string(), name))),
                Err(reason) => reader.error(key.as_str(), format!("post id {reason}")),
            }
        } else if let Some(shift_key) = key.strip_prefix("shift:") {
            let mut winner = None;
            for obj in reader.objects(&ROOT, "", &key, ObjType::Map) {
                reader.closed(&obj, &key, &[SHIFT_KEYS], "roster");
                let staff = reader.scalar(&obj, &key, "staff", true, staff);
                let date = reader.scalar(&obj, &key, "date", true, date);
                let template = reader.scalar(&obj, &key, "shift", true, short_text(limits::MAX_SHORT, false));
                let post = reader.scalar(&obj, &key, "post", true, short_text(limits::MAX_SHORT, false));
                let start = reader.scalar(&obj, &key, "start", true, local_time);
                let end = reader.scalar(&obj, &key, "end", true, local_time);
                let lunch_start = reader.scalar(&obj, &key, "lunch_start", false, local_time);
                let lunch_end = reader.scalar(&obj, &key, "lunch_end", false, local_time);
                let lunch = match (lunch_start, lunch_end) {
                    (Some(start), Some(end)) => Some(Lunch { start, end }),
                    (None, None) => None,
                    _ => {
                        reader.error(key.as_str(), "has half a lunch turn (lunch_start and lunch_end go together)");
                        None
                    }
                };
                winner = match (staff, date, template, post, start, end) {
                    (Some(staff), Some(date), Some(shift), Some(post), Some(start), Some(end)) => {
                        Some(RosterShift { staff, date, shift, post, start, end, lunch })
                    }
                    _ => None,
                };
            }
            if let Some(shift) = winner {
                if shift.key() != shift_key {
                    reader.error(key.as_str(), format!("must be shift:{} for what it holds", shift.key()));
                } else if shift.end <= shift.start {
                    reader.error(key.as_str(), "ends before it starts");
                } else {
                    shifts.push(shift);
                }
            }
        } else if !ROOT_FIELDS.contains(&key.as_str()) {
            reader.error(key.as_str(), "is not a field of the roster schema");
        }
    }
    shifts.sort_by(|a, b| (a.start, &a.post, &a.staff, &a.shift).cmp(&(b.start, &b.post, &b.staff, &b.shift)));
    let roster = Roster {
        id,
        first_day,
        last_day,
        version,
        published_by,
        published_at,
        utc_offset_minutes,
        shifts,
        staff_names,
        post_names,
    };
    let errors = reader.finish().err().map(|SchemaErrors(errors)| errors).unwrap_or_default();
    (roster, errors)
}

fn date(value: &ScalarValue) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(as_str(value)?, "%Y-%m-%d").map_err(|_| "must be a date YYYY-MM-DD".to_string())
}

fn local_time(value: &ScalarValue) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(as_str(value)?, TIME_FORMAT)
        .map_err(|_| "must be a time YYYY-MM-DDTHH:MM".to_string())
}

fn offset(value: &ScalarValue) -> Result<i32, String> {
    match value {
        ScalarValue::Int(minutes) if minutes.abs() <= MAX_OFFSET_MINUTES => Ok(*minutes as i32),
        ScalarValue::Int(minutes) => Err(format!("{minutes} minutes is beyond ±18 hours")),
        other => Err(format!("expected an integer, found {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::DeviceId;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, TIME_FORMAT).unwrap()
    }

    fn shift(staff: &str, post: &str, template: &str, start: &str, end: &str) -> RosterShift {
        let start = at(start);
        RosterShift {
            staff: StaffId::new(staff).unwrap(),
            date: start.date(),
            shift: template.into(),
            post: post.into(),
            start,
            end: at(end),
            lunch: None,
        }
    }

    fn week(version: u64, shifts: Vec<RosterShift>) -> Roster {
        let first = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let staff_names = BTreeMap::from([
            (StaffId::new("wang").unwrap(), "王芳".into()),
            (StaffId::new("li").unwrap(), "李伟".into()),
        ]);
        Roster::new(first, first + Duration::days(6), version, "supervisor.li", Timestamp(version as i64), 480, shifts)
            .unwrap()
            .with_names(staff_names, BTreeMap::from([("desk".into(), "前台".into())]))
            .unwrap()
    }

    fn server() -> ActorId {
        DeviceId::from_u128(99).install([1; 8]).actor()
    }

    fn first_week() -> Vec<RosterShift> {
        let mut wang = shift("wang", "desk", "day", "2026-12-07T08:00", "2026-12-07T17:30");
        wang.lunch = Some(Lunch { start: at("2026-12-07T11:30"), end: at("2026-12-07T12:00") });
        vec![
            wang,
            shift("li", "desk", "evening", "2026-12-07T17:15", "2026-12-07T20:30"),
            shift("zhao", "desk", "night", "2026-12-07T20:15", "2026-12-08T08:15"),
            shift("wang", "desk", "day", "2026-12-08T08:00", "2026-12-08T17:30"),
        ]
    }

    #[test]
    fn a_published_roster_reads_back_as_written_and_answers_the_phone_questions() {
        let roster = week(1, first_week());
        let doc = RosterDoc::publish(None, server(), &roster).unwrap();
        let loaded = RosterDoc::load(&doc.automerge().save(), DeviceId::from_u128(5).actor()).unwrap();
        assert_eq!(loaded.read(), roster);
        assert_eq!(loaded.id(), "roster:2026-12-07");

        let wang = StaffId::new("wang").unwrap();
        let (from, to) = this_week_and_next(NaiveDate::from_ymd_opt(2026, 12, 9).unwrap());
        assert_eq!((from.to_string(), to.to_string()), ("2026-12-07".into(), "2026-12-20".into()));
        let mine: Vec<String> = roster.shifts_of(&wang, from, to).map(RosterShift::key).collect();
        assert_eq!(mine, ["2026-12-07/wang/day", "2026-12-08/wang/day"]);
        assert_eq!(roster.shifts[0].lunch.unwrap().start, at("2026-12-07T11:30"));

        let on_desk: Vec<&str> = roster.on_duty_at(at("2026-12-07T17:20")).map(|s| s.staff.as_str()).collect();
        assert_eq!(on_desk, ["wang", "li"], "both are there during the handover");
        let at_night: Vec<&str> = roster.on_duty_at(at("2026-12-08T03:00")).map(|s| s.staff.as_str()).collect();
        assert_eq!(at_night, ["zhao"], "a night shift runs past midnight");
        let views =
            on_duty_at(std::slice::from_ref(&roster), Timestamp(1_796_601_600_000 + 9 * 3_600_000 + 20 * 60_000));
        let shown: Vec<(&str, &str)> =
            views.iter().map(|view| (view.post_name.as_str(), view.staff_name.as_str())).collect();
        assert_eq!(shown, [("前台", "王芳"), ("前台", "李伟")], "17:20 in Beijing, names from the team file");
        assert_eq!(roster.staff_name(&StaffId::new("zhao").unwrap()), "zhao", "no name: the id");

        let evening = &roster.shifts[1];
        assert_eq!(
            roster.handover(evening),
            Handover {
                takes_over_from: Some(StaffId::new("wang").unwrap()),
                hands_over_to: Some(StaffId::new("zhao").unwrap())
            }
        );
        assert_eq!(roster.handover(&roster.shifts[0]).takes_over_from, None, "nobody before the first day shift");
        // 2026-12-07T00:00Z is 08:00 in Beijing.
        assert_eq!(roster.local_time(Timestamp(1_796_601_600_000)), at("2026-12-07T08:00"));
    }

    #[test]
    fn republishing_writes_only_what_changed_and_the_old_version_stays_readable() {
        let first = RosterDoc::publish(None, server(), &week(1, first_week())).unwrap();
        let seen = first.automerge().get_heads();
        let mut shifts = first_week();
        shifts.remove(1); // li's evening goes
        shifts.push(shift("zhou", "desk", "evening", "2026-12-07T17:15", "2026-12-07T20:30"));
        shifts[0].post = "field".into(); // wang moves post on Monday
        let second = RosterDoc::publish(Some(first.clone()), server(), &week(2, shifts)).unwrap();
        let new_ops: usize = second.automerge().get_changes(&seen).iter().map(|change| change.len()).sum();
        assert!(new_ops < first.automerge().get_changes(&[]).iter().map(|change| change.len()).sum(), "{new_ops}");

        let before = second.read_at(&seen).expect("the seen version is in the history");
        assert_eq!(before.version, 1);
        let changed = changes(Some(&before), &second.read());
        let summary: Vec<(String, Option<String>, Option<String>)> = changed
            .iter()
            .map(|change| {
                let key = change.before.as_ref().or(change.after.as_ref()).map(RosterShift::key).unwrap();
                (key, change.before.as_ref().map(|s| s.post.clone()), change.after.as_ref().map(|s| s.post.clone()))
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("2026-12-07/li/evening".to_string(), Some("desk".to_string()), None),
                ("2026-12-07/wang/day".to_string(), Some("desk".to_string()), Some("field".to_string())),
                ("2026-12-07/zhou/evening".to_string(), None, Some("desk".to_string())),
            ]
        );
        let wang = StaffId::new("wang").unwrap();
        assert_eq!(changed.iter().filter(|change| change.concerns(&wang)).count(), 1);
        assert_eq!(changes(None, &second.read()).len(), 4, "nothing seen: everything is new");
        assert!(second.read_at(&[ChangeHash([7; 32])]).is_none());
    }

    #[test]
    fn a_document_outside_the_layout_is_refused_with_its_path() {
        let doc = RosterDoc::publish(None, server(), &week(1, first_week())).unwrap();
        let mut tampered = doc.automerge().clone();
        tampered
            .transact(|tx| {
                tx.put(ROOT, "note", "hello")?;
                let obj = tx.put_object(ROOT, "shift:2026-12-09/wang/day", ObjType::Map)?;
                tx.put(&obj, "staff", "li")?;
                Ok::<_, automerge::AutomergeError>(())
            })
            .unwrap();
        let err = RosterDoc::from_automerge(tampered).unwrap_err().to_string();
        assert!(err.contains("note: is not a field of the roster schema"), "{err}");
        assert!(err.contains("shift:2026-12-09/wang/day.date: is missing"), "{err}");
    }

    #[test]
    fn a_roster_to_publish_is_checked_first() {
        let first = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let twice = vec![first_week()[0].clone(), first_week()[0].clone()];
        let err = Roster::new(first, first, 1, "li", Timestamp(0), 480, twice).unwrap_err();
        assert_eq!(err.to_string(), "shifts 2026-12-07/wang/day is rostered twice");
        let nameless = BTreeMap::from([(StaffId::new("li").unwrap(), String::new())]);
        let err =
            Roster::new(first, first, 1, "li", Timestamp(0), 0, vec![]).unwrap().with_names(nameless, BTreeMap::new());
        assert!(err.unwrap_err().to_string().starts_with("staff_name of li: "));
        let err = Roster::new(first, first, 1, "li", Timestamp(0), 24 * 60, vec![]).unwrap_err();
        assert_eq!(err.to_string(), "utc_offset 1440 minutes is beyond ±18 hours");
        let backwards = vec![shift("li", "desk", "day", "2026-12-07T17:00", "2026-12-07T08:00")];
        let err = Roster::new(first, first, 1, "li", Timestamp(0), 0, backwards).unwrap_err();
        assert!(err.to_string().starts_with("end of 2026-12-07/li/day: "), "{err}");
    }

    #[test]
    fn the_roster_in_force_is_the_latest_published_covering_the_day() {
        let older = week(1, first_week());
        let mut newer = week(2, vec![]);
        newer.first_day = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap();
        newer.last_day = NaiveDate::from_ymd_opt(2026, 12, 15).unwrap();
        let rosters = [older, newer];
        assert_eq!(in_force(&rosters, NaiveDate::from_ymd_opt(2026, 12, 8).unwrap()).unwrap().version, 1);
        assert_eq!(in_force(&rosters, NaiveDate::from_ymd_opt(2026, 12, 10).unwrap()).unwrap().version, 2);
        assert!(in_force(&rosters, NaiveDate::from_ymd_opt(2026, 12, 30).unwrap()).is_none());
    }
}
