//! Reads the Curtois & Qu text format (`InstanceN.txt`, ../shared/benchmarks/nrp-curtois/README.md)
//! into an [`Instance`], refusing anything malformed with the file, line, field and what was
//! expected.
//!
//! Leaves out: the meaning of the rules (`evaluate`, `model`); this file only checks that every
//! row has its fields, every number is a number and every id and day exists.

use std::collections::BTreeMap;
use std::fmt;

use crate::nrp::{Cover, Instance, Request, Shift, Staff};

/// A malformed instance file: where and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// File name as given by the caller.
    pub file: String,
    /// 1-based line; 0 when the problem is the file as a whole (a missing section or cover row).
    pub line: usize,
    /// 1-based comma-separated field of the line, when one field is at fault.
    pub field: Option<usize>,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.field) {
            (0, _) => write!(f, "{}: {}", self.file, self.message),
            (line, Some(field)) => write!(f, "{}:{line}: field {field}: {}", self.file, self.message),
            (line, None) => write!(f, "{}:{line}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ReadError {}

const SECTIONS: [&str; 7] = [
    "SECTION_HORIZON",
    "SECTION_SHIFTS",
    "SECTION_STAFF",
    "SECTION_DAYS_OFF",
    "SECTION_SHIFT_ON_REQUESTS",
    "SECTION_SHIFT_OFF_REQUESTS",
    "SECTION_COVER",
];

/// One data line: its number and its trimmed fields.
struct Row<'t> {
    line: usize,
    fields: Vec<&'t str>,
}

struct Reader<'t> {
    file: &'t str,
}

impl Reader<'_> {
    fn error(&self, line: usize, field: Option<usize>, message: String) -> ReadError {
        ReadError { file: self.file.to_owned(), line, field, message }
    }

    fn expect_fields(&self, row: &Row, names: &[&str], at_least: bool) -> Result<(), ReadError> {
        let ok = if at_least { row.fields.len() >= names.len() } else { row.fields.len() == names.len() };
        if ok {
            return Ok(());
        }
        let more = if at_least { "at least " } else { "" };
        Err(self.error(
            row.line,
            None,
            format!("expected {more}{} fields ({}), found {}", names.len(), names.join(", "), row.fields.len()),
        ))
    }

    fn number(&self, row: &Row, field_idx: usize, name: &str) -> Result<u32, ReadError> {
        let text = row.fields[field_idx];
        // Instance15 writes one requirement as "-0": a sign is accepted, a negative value is not.
        text.parse::<i64>().ok().and_then(|value| u32::try_from(value).ok()).ok_or_else(|| {
            self.error(row.line, Some(field_idx + 1), format!("{name}: expected a whole number, found {text:?}"))
        })
    }

    fn lookup(
        &self,
        row: &Row,
        field_idx: usize,
        ids: &BTreeMap<String, usize>,
        what: &str,
    ) -> Result<usize, ReadError> {
        let text = row.fields[field_idx];
        ids.get(text)
            .copied()
            .ok_or_else(|| self.error(row.line, Some(field_idx + 1), format!("unknown {what} {text:?}")))
    }

    fn day(&self, row: &Row, field_idx: usize, n_days: usize) -> Result<usize, ReadError> {
        let day = self.number(row, field_idx, "day")? as usize;
        if day >= n_days {
            return Err(self.error(
                row.line,
                Some(field_idx + 1),
                format!("day {day} is outside the horizon of {n_days} days (0 to {})", n_days - 1),
            ));
        }
        Ok(day)
    }

    fn new_id(&self, row: &Row, ids: &mut BTreeMap<String, usize>, what: &str, next: usize) -> Result<(), ReadError> {
        let id = row.fields[0];
        if id.is_empty() {
            return Err(self.error(row.line, Some(1), format!("expected a {what} id, found an empty field")));
        }
        if ids.insert(id.to_owned(), next).is_some() {
            return Err(self.error(row.line, Some(1), format!("{what} {id:?} is defined twice")));
        }
        Ok(())
    }
}

/// Parses the text of an instance file; `file` names it in errors. CRLF and LF both work.
pub fn parse_instance(file: &str, text: &str) -> Result<Instance, ReadError> {
    let reader = Reader { file };
    // Group data rows by section, checking the sections appear once each and in order.
    let mut sections: Vec<Vec<Row>> = Vec::new();
    let mut section_lines = Vec::new();
    for (line_idx, raw) in text.lines().enumerate() {
        let line = line_idx + 1;
        let content = raw.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if content.starts_with("SECTION_") {
            let expected = SECTIONS.get(sections.len()).copied();
            if expected != Some(content) {
                let message = match expected {
                    Some(name) => format!("expected {name}, found {content}"),
                    None => format!("unexpected {content} after SECTION_COVER"),
                };
                return Err(reader.error(line, None, message));
            }
            sections.push(Vec::new());
            section_lines.push(line);
            continue;
        }
        let Some(rows) = sections.last_mut() else {
            return Err(reader.error(line, None, format!("expected SECTION_HORIZON, found {content:?}")));
        };
        rows.push(Row { line, fields: content.split(',').map(str::trim).collect() });
    }
    if let Some(missing) = SECTIONS.get(sections.len()) {
        return Err(reader.error(0, None, format!("file ends before {missing}")));
    }

    // Horizon.
    let [horizon_rows, shift_rows, staff_rows, day_off_rows, on_rows, off_rows, cover_rows] =
        <[Vec<Row>; 7]>::try_from(sections).map_err(|_| reader.error(0, None, "sections".to_owned()))?;
    let [horizon] = horizon_rows.as_slice() else {
        let line = horizon_rows.get(1).map_or(section_lines[0], |r| r.line);
        return Err(reader.error(line, None, "SECTION_HORIZON: expected exactly one line, the number of days".into()));
    };
    reader.expect_fields(horizon, &["days"], false)?;
    let n_days = reader.number(horizon, 0, "days")? as usize;
    if n_days == 0 || !n_days.is_multiple_of(7) {
        return Err(reader.error(
            horizon.line,
            Some(1),
            format!("days: expected a positive multiple of 7 (whole weeks), found {n_days}"),
        ));
    }

    // Shifts: ids first, so a shift may forbid one defined after it.
    let mut shift_ids = BTreeMap::new();
    for (shift_idx, row) in shift_rows.iter().enumerate() {
        reader.expect_fields(row, &["ShiftID", "length in minutes", "shifts that may not follow"], false)?;
        reader.new_id(row, &mut shift_ids, "shift", shift_idx)?;
    }
    if shift_rows.is_empty() {
        return Err(reader.error(section_lines[1], None, "SECTION_SHIFTS: expected at least one shift".into()));
    }
    let mut shifts = Vec::new();
    for row in &shift_rows {
        let minutes = reader.number(row, 1, "length in minutes")?;
        let mut forbidden_next = Vec::new();
        for id in row.fields[2].split('|').map(str::trim).filter(|s| !s.is_empty()) {
            let shift_idx = shift_ids
                .get(id)
                .copied()
                .ok_or_else(|| reader.error(row.line, Some(3), format!("unknown shift {id:?}")))?;
            forbidden_next.push(shift_idx);
        }
        shifts.push(Shift { id: row.fields[0].to_owned(), minutes, forbidden_next });
    }

    // Staff.
    const STAFF_FIELDS: [&str; 8] = [
        "EmployeeID",
        "MaxShifts",
        "MaxTotalMinutes",
        "MinTotalMinutes",
        "MaxConsecutiveShifts",
        "MinConsecutiveShifts",
        "MinConsecutiveDaysOff",
        "MaxWeekends",
    ];
    let mut staff_ids = BTreeMap::new();
    let mut staff = Vec::new();
    for (staff_idx, row) in staff_rows.iter().enumerate() {
        reader.expect_fields(row, &STAFF_FIELDS, false)?;
        reader.new_id(row, &mut staff_ids, "employee", staff_idx)?;
        // An unlisted shift type has no limit of its own.
        let mut max_shifts = vec![n_days as u32; shifts.len()];
        for limit in row.fields[1].split('|').map(str::trim).filter(|s| !s.is_empty()) {
            let Some((id, value)) = limit.split_once('=') else {
                return Err(reader.error(
                    row.line,
                    Some(2),
                    format!("MaxShifts: expected ShiftID=limit, found {limit:?}"),
                ));
            };
            let shift_idx = shift_ids
                .get(id.trim())
                .copied()
                .ok_or_else(|| reader.error(row.line, Some(2), format!("MaxShifts: unknown shift {:?}", id.trim())))?;
            max_shifts[shift_idx] = value.trim().parse().map_err(|_| {
                reader.error(
                    row.line,
                    Some(2),
                    format!("MaxShifts: expected a whole number after {id}=, found {value:?}"),
                )
            })?;
        }
        let values: Vec<u32> = (2..8).map(|f| reader.number(row, f, STAFF_FIELDS[f])).collect::<Result<_, _>>()?;
        let [max_minutes, min_minutes, max_consecutive, min_consecutive, min_days_off, max_weekends] =
            <[u32; 6]>::try_from(values).map_err(|_| reader.error(row.line, None, "staff fields".into()))?;
        staff.push(Staff {
            id: row.fields[0].to_owned(),
            max_shifts,
            max_minutes,
            min_minutes,
            max_consecutive,
            min_consecutive,
            min_days_off,
            max_weekends,
        });
    }
    if staff.is_empty() {
        return Err(reader.error(section_lines[2], None, "SECTION_STAFF: expected at least one employee".into()));
    }

    // Days off.
    let mut days_off = vec![vec![false; n_days]; staff.len()];
    for row in &day_off_rows {
        reader.expect_fields(row, &["EmployeeID", "day"], true)?;
        let staff_idx = reader.lookup(row, 0, &staff_ids, "employee")?;
        for field_idx in 1..row.fields.len() {
            if row.fields[field_idx].is_empty() && field_idx + 1 == row.fields.len() {
                continue; // a trailing comma
            }
            days_off[staff_idx][reader.day(row, field_idx, n_days)?] = true;
        }
    }

    // Requests.
    let read_requests = |rows: &[Row]| -> Result<Vec<Request>, ReadError> {
        rows.iter()
            .map(|row| {
                reader.expect_fields(row, &["EmployeeID", "Day", "ShiftID", "Weight"], false)?;
                Ok(Request {
                    staff: reader.lookup(row, 0, &staff_ids, "employee")?,
                    day: reader.day(row, 1, n_days)?,
                    shift: reader.lookup(row, 2, &shift_ids, "shift")?,
                    weight: reader.number(row, 3, "Weight")?,
                })
            })
            .collect()
    };
    let on_requests = read_requests(&on_rows)?;
    let off_requests = read_requests(&off_rows)?;

    // Cover: exactly one row per (day, shift).
    let mut cover: Vec<Vec<Option<Cover>>> = vec![vec![None; shifts.len()]; n_days];
    for row in &cover_rows {
        reader.expect_fields(row, &["Day", "ShiftID", "Requirement", "Weight for under", "Weight for over"], false)?;
        let day = reader.day(row, 0, n_days)?;
        let shift_idx = reader.lookup(row, 1, &shift_ids, "shift")?;
        let entry = Cover {
            requirement: reader.number(row, 2, "Requirement")?,
            under_weight: reader.number(row, 3, "Weight for under")?,
            over_weight: reader.number(row, 4, "Weight for over")?,
        };
        if cover[day][shift_idx].replace(entry).is_some() {
            return Err(reader.error(
                row.line,
                None,
                format!("second cover row for day {day}, shift {}", row.fields[1]),
            ));
        }
    }
    let mut full_cover = Vec::with_capacity(n_days);
    for (day, row) in cover.into_iter().enumerate() {
        let mut day_cover = Vec::with_capacity(shifts.len());
        for (shift_idx, entry) in row.into_iter().enumerate() {
            day_cover.push(entry.ok_or_else(|| {
                reader.error(0, None, format!("no cover row for day {day}, shift {}", shifts[shift_idx].id))
            })?);
        }
        full_cover.push(day_cover);
    }

    Ok(Instance {
        name: file.rsplit('/').next().unwrap_or(file).trim_end_matches(".txt").to_owned(),
        n_days,
        shifts,
        staff,
        days_off,
        on_requests,
        off_requests,
        cover: full_cover,
    })
}
