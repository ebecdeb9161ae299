//! The schedule part of the `kefu roster nrp --json` contract:
//! `"schedule": { "<staff>": ["<shift or ->", ...] }`, written and read back by id.
//!
//! Leaves out: the other fields of the contract (the CLI writes them) and judging (`evaluate`).

use serde_json::{Map, Value};

use crate::nrp::{Instance, Schedule};

/// The `schedule` object: employees in file order, `-` for a day off.
pub fn to_value(instance: &Instance, schedule: &Schedule) -> Value {
    let mut object = Map::new();
    for (staff, row) in instance.staff.iter().zip(schedule) {
        let days = row
            .iter()
            .map(|cell| Value::String(cell.map_or_else(|| "-".to_owned(), |s| instance.shifts[s].id.clone())))
            .collect();
        object.insert(staff.id.clone(), Value::Array(days));
    }
    Value::Object(object)
}

/// Reads a schedule from JSON text: either the whole `--json` output or just its `schedule`
/// object. Every employee must appear once with one entry per day.
pub fn from_json(instance: &Instance, text: &str) -> Result<Schedule, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let object = match value.get("schedule") {
        Some(inner) => inner,
        None => &value,
    }
    .as_object()
    .ok_or("expected an object mapping each employee to a list of shifts")?;
    let mut schedule = Vec::with_capacity(instance.staff.len());
    for staff in &instance.staff {
        let days = object
            .get(&staff.id)
            .ok_or_else(|| format!("employee {:?} is missing", staff.id))?
            .as_array()
            .ok_or_else(|| format!("employee {:?}: expected a list of shifts", staff.id))?;
        if days.len() != instance.n_days {
            return Err(format!("employee {:?}: expected {} days, found {}", staff.id, instance.n_days, days.len()));
        }
        let row = days
            .iter()
            .enumerate()
            .map(|(day, entry)| {
                let text =
                    entry.as_str().ok_or_else(|| format!("employee {:?}, day {day}: expected a string", staff.id))?;
                if text == "-" || text.is_empty() {
                    return Ok(None);
                }
                instance
                    .shifts
                    .iter()
                    .position(|s| s.id == text)
                    .map(Some)
                    .ok_or_else(|| format!("employee {:?}, day {day}: unknown shift {text:?}", staff.id))
            })
            .collect::<Result<Vec<_>, String>>()?;
        schedule.push(row);
    }
    if let Some(unknown) = object.keys().find(|k| !instance.staff.iter().any(|s| &s.id == *k)) {
        return Err(format!("unknown employee {unknown:?}"));
    }
    Ok(schedule)
}
