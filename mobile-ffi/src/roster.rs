//! The published roster on the phone, read offline (`kefu_core::roster`): my shifts this week
//! and next, who is on each post at a time (to call a colleague), and what changed since the
//! rosters were last marked seen. Roster documents arrive with sync like cases; the phone never
//! writes them (the server refuses it), so there is nothing to edit here.
//!
//! Times cross as team-local text with the team's offset (`2026-03-02T09:00+08:00`), what a
//! screen shows, and as `*_ms` (UTC) for arithmetic, like every other record.

use chrono::{FixedOffset, NaiveDateTime, TimeZone};
use kefu_core::ids::Timestamp;
use kefu_core::roster::{self as core_roster, ShiftView};

use crate::error::KefuError;
use crate::records;
use crate::store::KefuStore;

/// One shift of a published roster.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct RosterShift {
    /// The roster document it comes from (`roster:<first day of the period>`).
    pub roster_id: String,
    /// Who works it.
    pub staff: String,
    /// Their display name (林), the id when the roster has none.
    pub staff_name: String,
    /// The day it starts, `YYYY-MM-DD`.
    pub date: String,
    /// The shift template (`D`, `night`, ...).
    pub shift: String,
    /// The post held.
    pub post: String,
    /// Its display name (前台), the id when the roster has none.
    pub post_name: String,
    /// Start, team-local with its offset (`2026-03-02T09:00+08:00`).
    pub start: String,
    /// End, likewise (the next day for a night shift).
    pub end: String,
    /// Start in ms since the epoch (UTC).
    pub start_ms: i64,
    /// End in ms since the epoch (UTC).
    pub end_ms: i64,
    /// The lunch turn's start and end, when the roster gives one.
    pub lunch_start: Option<String>,
    /// See `lunch_start`.
    pub lunch_end: Option<String>,
    /// The colleague on the same post this shift takes over from, when there is one.
    pub takes_over_from: Option<String>,
    /// The colleague on the same post this shift hands over to, when there is one.
    pub hands_over_to: Option<String>,
}

/// How a shift changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ShiftChangeKind {
    /// A shift that was not there.
    Added,
    /// A shift that is gone.
    Removed,
    /// The same person's shift that day, with another post or other times.
    Changed,
}

/// One change to a roster since the user last marked the rosters seen.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct RosterChange {
    /// The roster document.
    pub roster_id: String,
    /// Its version now.
    pub version: u64,
    /// The version seen before (`None`: this roster was never marked seen).
    pub seen_version: Option<u64>,
    /// Added, removed or changed.
    pub kind: ShiftChangeKind,
    /// Whether it concerns the signed-in staff member.
    pub mine: bool,
    /// The shift as it was (no handover partners: those are today's roster's).
    pub before: Option<RosterShift>,
    /// The shift as it is now.
    pub after: Option<RosterShift>,
}

fn local(at: NaiveDateTime, offset: FixedOffset) -> (String, i64) {
    match offset.from_local_datetime(&at).single() {
        Some(time) => (time.format("%Y-%m-%dT%H:%M%:z").to_string(), time.timestamp_millis()),
        // A fixed offset maps every local time to one instant; kept total all the same.
        None => (at.format("%Y-%m-%dT%H:%M").to_string(), 0),
    }
}

fn shift_record(view: ShiftView) -> RosterShift {
    let offset = FixedOffset::east_opt(view.utc_offset_minutes * 60).unwrap_or(FixedOffset::east_opt(0).expect("UTC"));
    let shift = view.shift;
    let (start, start_ms) = local(shift.start, offset);
    let (end, end_ms) = local(shift.end, offset);
    RosterShift {
        roster_id: view.roster_id,
        staff: shift.staff.as_str().to_string(),
        staff_name: view.staff_name,
        date: shift.date.format("%Y-%m-%d").to_string(),
        shift: shift.shift,
        post: shift.post,
        post_name: view.post_name,
        start,
        end,
        start_ms,
        end_ms,
        lunch_start: shift.lunch.map(|lunch| local(lunch.start, offset).0),
        lunch_end: shift.lunch.map(|lunch| local(lunch.end, offset).0),
        takes_over_from: view.handover.takes_over_from.map(|staff| staff.as_str().to_string()),
        hands_over_to: view.handover.hands_over_to.map(|staff| staff.as_str().to_string()),
    }
}

#[uniffi::export]
impl KefuStore {
    /// The signed-in staff member's shifts this week and next: Monday of the week of `today`
    /// (`YYYY-MM-DD`, the phone's date) to the Sunday after, in time order, from the rosters
    /// held (no network needed).
    pub fn my_shifts(&self, today: String) -> Result<Vec<RosterShift>, KefuError> {
        let today = records::date(&today)?;
        let staff = self.staff_now();
        let shifts = self.with_store(|store| Ok(store.shifts_this_week_and_next(&staff, today)?))?;
        Ok(shifts.into_iter().map(shift_record).collect())
    }

    /// Who is on duty at `at_ms` (ms since the epoch), by post: whom to call.
    pub fn on_duty_at(&self, at_ms: i64) -> Result<Vec<RosterShift>, KefuError> {
        let shifts = self.with_store(|store| Ok(store.on_duty_at(Timestamp(at_ms))?))?;
        Ok(shifts.into_iter().map(shift_record).collect())
    }

    /// What changed in the rosters since they were last marked seen
    /// ([`KefuStore::mark_rosters_seen`]): every shift added, removed or changed, the
    /// signed-in staff member's flagged `mine`.
    pub fn roster_changes(&self) -> Result<Vec<RosterChange>, KefuError> {
        let staff = self.staff_now();
        let all = self.with_store(|store| Ok(store.roster_changes()?))?;
        let mut records = Vec::new();
        for changed in all {
            let roster = &changed.roster;
            let view = |shift: &core_roster::RosterShift, handover| ShiftView {
                shift: shift.clone(),
                handover,
                staff_name: roster.staff_name(&shift.staff).to_string(),
                post_name: roster.post_name(&shift.post).to_string(),
                utc_offset_minutes: roster.utc_offset_minutes,
                roster_id: roster.id.clone(),
            };
            for change in &changed.changes {
                let kind = match (&change.before, &change.after) {
                    (None, _) => ShiftChangeKind::Added,
                    (_, None) => ShiftChangeKind::Removed,
                    _ => ShiftChangeKind::Changed,
                };
                records.push(RosterChange {
                    roster_id: roster.id.clone(),
                    version: roster.version,
                    seen_version: changed.seen_version,
                    kind,
                    mine: change.concerns(&staff),
                    before: change.before.as_ref().map(|shift| shift_record(view(shift, Default::default()))),
                    after: change.after.as_ref().map(|shift| shift_record(view(shift, roster.handover(shift)))),
                });
            }
        }
        Ok(records)
    }

    /// Marks every roster held as seen now; [`KefuStore::roster_changes`] then starts from
    /// here. Durable when this returns.
    pub fn mark_rosters_seen(&self) -> Result<(), KefuError> {
        self.with_store(|store| Ok(store.mark_rosters_seen()?))
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use kefu_core::ids::{DeviceId, StaffId};
    use kefu_core::roster::{Roster, RosterDoc};

    use super::*;

    fn shift(staff: &str, post: &str, day: u32, from: &str, to: &str) -> core_roster::RosterShift {
        let date = NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
        let at = |time: &str| date.and_time(chrono::NaiveTime::parse_from_str(time, "%H:%M").unwrap());
        let end = if to < from { at(to) + chrono::Duration::days(1) } else { at(to) };
        core_roster::RosterShift {
            staff: StaffId::new(staff).unwrap(),
            date,
            shift: from.into(),
            post: post.into(),
            start: at(from),
            end,
            lunch: None,
        }
    }

    fn publish(
        store: &KefuStore,
        base: Option<RosterDoc>,
        version: u64,
        shifts: Vec<core_roster::RosterShift>,
    ) -> RosterDoc {
        let (first, last) =
            (NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(), NaiveDate::from_ymd_opt(2026, 3, 15).unwrap());
        let roster = Roster::new(first, last, version, "wang.li", Timestamp(0), 480, shifts).unwrap();
        let doc = RosterDoc::publish(base, DeviceId::from_u128(1).actor(), &roster).unwrap();
        let bytes = doc.automerge().save();
        store.with_store(|core| Ok(core.receive(&roster.id, &bytes)?)).unwrap();
        doc
    }

    #[test]
    fn the_phone_reads_its_shifts_colleagues_and_changes_with_the_team_clock() {
        let dir = tempfile::tempdir().unwrap();
        let store = KefuStore::open(dir.path().to_string_lossy().into_owned(), "zhou".into()).unwrap();
        let v1 = publish(
            &store,
            None,
            1,
            vec![
                shift("zhou", "desk", 2, "08:00", "17:30"),
                shift("lin", "desk", 2, "17:15", "08:15"),
                shift("zhou", "field", 10, "08:00", "17:30"),
                shift("zhou", "desk", 16, "08:00", "17:30"),
            ],
        );
        let mine = store.my_shifts("2026-03-04".into()).unwrap();
        assert_eq!(
            mine.iter().map(|s| s.date.as_str()).collect::<Vec<_>>(),
            ["2026-03-02", "2026-03-10"],
            "the 16th is past next week"
        );
        assert_eq!(
            (mine[0].start.as_str(), mine[0].end.as_str()),
            ("2026-03-02T08:00+08:00", "2026-03-02T17:30+08:00")
        );
        assert_eq!(mine[0].start_ms, 1_772_409_600_000, "08:00 in Beijing is 00:00 UTC");
        assert_eq!(mine[0].hands_over_to.as_deref(), Some("lin"));
        assert_eq!((mine[0].staff_name.as_str(), mine[0].post_name.as_str()), ("zhou", "desk"), "no names: the ids");
        // 2026-03-02T20:00+08:00: lin on the desk through the night.
        let on_duty = store.on_duty_at(1_772_409_600_000 + 12 * 3_600_000).unwrap();
        assert_eq!(on_duty.iter().map(|s| (s.post.as_str(), s.staff.as_str())).collect::<Vec<_>>(), [("desk", "lin")]);
        assert_eq!(on_duty[0].takes_over_from.as_deref(), Some("zhou"));
        let err = store.my_shifts("next monday".into()).unwrap_err();
        assert_eq!(err.to_string(), "invalid date: \"next monday\" (expected YYYY-MM-DD)");

        store.mark_rosters_seen().unwrap();
        assert!(store.roster_changes().unwrap().is_empty());
        publish(
            &store,
            Some(v1),
            2,
            vec![
                shift("zhou", "field", 2, "08:00", "17:30"),
                shift("lin", "desk", 2, "17:15", "08:15"),
                shift("zhou", "field", 10, "08:00", "17:30"),
                shift("wu", "desk", 11, "08:00", "17:30"),
            ],
        );
        let changes = store.roster_changes().unwrap();
        let summary: Vec<(ShiftChangeKind, bool, Option<u64>, u64)> =
            changes.iter().map(|c| (c.kind, c.mine, c.seen_version, c.version)).collect();
        assert_eq!(
            summary,
            [
                (ShiftChangeKind::Changed, true, Some(1), 2), // 2026-03-02/zhou: desk → field
                (ShiftChangeKind::Added, false, Some(1), 2),  // 2026-03-11/wu
                (ShiftChangeKind::Removed, true, Some(1), 2), // 2026-03-16/zhou
            ]
        );
        assert_eq!(
            (changes[0].before.as_ref().unwrap().post.as_str(), changes[0].after.as_ref().unwrap().post.as_str()),
            ("desk", "field")
        );
    }
}
