//! Checks an arbitrary automerge document against the case schema.
//!
//! Used on every document a store loads and on every change received from
//! elsewhere; the server runs it on a fork before persisting anything (DESIGN.md
//! decision 7). Strict: every concurrent value is checked, unknown keys are refused
//! at every depth (a newer app bumps the schema version instead), the validator
//! never descends into anything the schema does not name (so nesting depth cannot
//! exhaust its stack), and the status events must form a legal history: `prev`
//! names existing status events, without cycles, and each event's `from` is the
//! status its `prev` events derive.

use std::collections::{BTreeMap, BTreeSet};

use automerge::Automerge;

use super::codes::Status;
use super::model::{EntryBody, EntryId, TimelineEntry};
use super::schema::{self, Reader, SchemaError, SchemaErrors};
use super::status::{CasePolicy, check_transition, derive};
use crate::ids::CaseId;

/// Validates a case document and returns its id, or every problem found.
pub fn validate_case(doc: &Automerge) -> Result<CaseId, SchemaErrors> {
    let mut reader = Reader::new(doc, true);
    let case = schema::read_case(&mut reader);
    let mut result = reader.finish();
    let history_errors = check_status_history(&case.timeline);
    if !history_errors.is_empty() {
        result = match result {
            Ok(()) => Err(SchemaErrors(history_errors)),
            Err(SchemaErrors(mut errors)) => {
                errors.extend(history_errors);
                Err(SchemaErrors(errors))
            }
        };
    }
    result.map(|()| case.id)
}

fn check_status_history(timeline: &[TimelineEntry]) -> Vec<SchemaError> {
    let events: BTreeMap<&EntryId, (&TimelineEntry, Status, Status, &[EntryId])> = timeline
        .iter()
        .filter_map(|entry| match &entry.body {
            EntryBody::StatusChange { from, to, prev, .. } => Some((&entry.id, (entry, *from, *to, prev.as_slice()))),
            _ => None,
        })
        .collect();
    let mut errors = Vec::new();
    let error = |id: &EntryId, reason: String| SchemaError { path: format!("timeline.{id}"), reason };
    for (id, (_, _, _, prev)) in &events {
        for prev_id in *prev {
            if !events.contains_key(prev_id) {
                errors.push(error(id, format!("prev names {prev_id}, which is not a status event")));
            }
        }
    }
    if !errors.is_empty() {
        return errors;
    }
    // Ancestors of each event, by depth-first search; a cycle is a forged history.
    let mut ancestors: BTreeMap<&EntryId, BTreeSet<&EntryId>> = BTreeMap::new();
    for id in events.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&EntryId> = events[id].3.iter().collect();
        while let Some(next) = stack.pop() {
            if next == *id {
                errors.push(error(id, "status events form a cycle".into()));
                return errors;
            }
            if seen.insert(next) {
                stack.extend(events[next].3.iter());
            }
        }
        ancestors.insert(id, seen);
    }
    // Workflow legality without team policy: the policy is local to the team's
    // devices, and the server checks it on the edit that reaches it.
    let workflow_only = CasePolicy { return_visit_required_for: Vec::new() };
    for (id, (_, from, to, _)) in &events {
        let history: Vec<TimelineEntry> = ancestors[id].iter().map(|ancestor| events[ancestor].0.clone()).collect();
        let derived = derive(&history).status;
        if derived != *from {
            errors.push(error(id, format!("says it moved from {from}, but its history gives {derived}")));
        } else if let Err(err) =
            check_transition(*from, *to, super::codes::CaseKind::Consultation, true, &workflow_only)
        {
            errors.push(error(id, err.to_string()));
        }
    }
    errors
}
