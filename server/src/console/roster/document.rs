//! The published roster as the phones' document (`kefu_core::roster`): when a supervisor
//! publishes, the roster's JSON (the solver's output contract) and the team file's period and
//! display names become
//! the roster document of (team, period), written by an install of the server's own actor, so
//! that devices receive it in their sync rounds and no device can write it.
//!
//! Leaves out: storing it (`Storage::publish_roster`, in the publishing transaction) and telling
//! live sessions (the publish handler).

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use kefu_core::ids::{DeviceId, StaffId, Timestamp};
use kefu_core::roster::{Lunch, Roster, RosterDoc, RosterShift, roster_doc_id};
use kefu_core::sync::server::AcceptedDoc;
use kefu_solver::output::{AssignmentJson, OutcomeJson};

use crate::storage::StorageError;

/// What the document of a roster being published is made from, besides its JSON.
pub struct Publication {
    /// The period's first and last days (from the roster's team file).
    pub first_day: NaiveDate,
    /// See `first_day`.
    pub last_day: NaiveDate,
    /// The roster version being published.
    pub version: i64,
    /// Who publishes.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// The team's offset from UTC in minutes (the roster's times are on the team's clock).
    pub utc_offset_minutes: i32,
    /// The server's identity; the document is written by a fresh install of it.
    pub server: DeviceId,
    /// Staff display names by id (the team file's `name`).
    pub staff_names: BTreeMap<String, String>,
    /// Post display names by id.
    pub post_names: BTreeMap<String, String>,
}

impl Publication {
    /// The document's id: one per team and period.
    pub fn doc_id(&self) -> String {
        roster_doc_id(self.first_day)
    }

    /// The document to store: `stored` (an earlier version's document of the period, if any)
    /// with this roster written over it.
    pub fn build(&self, json: &str, stored: Option<&[u8]>) -> Result<AcceptedDoc, StorageError> {
        let corrupt = |what: String| StorageError::Corrupt(format!("roster {}: {what}", self.version));
        let outcome: OutcomeJson = serde_json::from_str(json).map_err(|err| corrupt(err.to_string()))?;
        let shifts = outcome.assignments.iter().map(shift).collect::<Result<Vec<_>, _>>().map_err(corrupt)?;
        let roster = Roster::new(
            self.first_day,
            self.last_day,
            u64::try_from(self.version).unwrap_or_default(),
            &self.by,
            self.at,
            self.utc_offset_minutes,
            shifts,
        )
        .map_err(|err| corrupt(err.to_string()))?;
        let staff_names = self
            .staff_names
            .iter()
            .map(|(id, name)| Ok((StaffId::new(id.as_str())?, name.clone())))
            .collect::<Result<_, kefu_core::ids::IdError>>()
            .map_err(|err| corrupt(err.to_string()))?;
        let roster = roster.with_names(staff_names, self.post_names.clone()).map_err(|err| corrupt(err.to_string()))?;
        let actor = self.server.install(rand::random()).actor();
        let base = stored
            .map(|bytes| RosterDoc::load(bytes, actor.clone()))
            .transpose()
            .map_err(|err| corrupt(format!("its stored document: {err}")))?;
        let is_new = base.is_none();
        let doc = RosterDoc::publish(base, actor, &roster).map_err(|err| corrupt(err.to_string()))?;
        let doc = doc.automerge();
        Ok(AcceptedDoc { id: roster.id, bytes: doc.save(), heads: doc.get_heads(), is_new, case: None })
    }
}

fn shift(assignment: &AssignmentJson) -> Result<RosterShift, String> {
    let at = |text: &str| {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
            .map_err(|_| format!("time {text:?} of {}", assignment.staff))
    };
    Ok(RosterShift {
        staff: StaffId::new(assignment.staff.as_str()).map_err(|err| err.to_string())?,
        date: NaiveDate::parse_from_str(&assignment.date, "%Y-%m-%d")
            .map_err(|_| format!("date {:?} of {}", assignment.date, assignment.staff))?,
        shift: assignment.shift.clone(),
        post: assignment.post.clone(),
        start: at(&assignment.start)?,
        end: at(&assignment.end)?,
        lunch: assignment
            .lunch
            .as_ref()
            .map(|lunch| Ok::<_, String>(Lunch { start: at(&lunch.start)?, end: at(&lunch.end)? }))
            .transpose()?,
    })
}
