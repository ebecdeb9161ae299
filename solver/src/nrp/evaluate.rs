//! The independent judge of an NRP schedule: recomputes the objective and every hard-constraint
//! breach from the instance and the schedule alone (README "Hard constraints" 2–9; rule 1, one
//! shift a day, holds by the shape of a [`Schedule`]).
//!
//! Shares no code with `model` on purpose: a modelling mistake there shows up as a disagreement.

use crate::nrp::{Instance, Schedule};

/// A hard constraint the schedule breaks (README numbering in brackets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Breach {
    /// [2] `shift` on `day` is followed on `day + 1` by `next`, which it forbids.
    ForbiddenSuccession {
        /// Employee index.
        staff: usize,
        /// Day of the first shift.
        day: usize,
        /// The first shift.
        shift: usize,
        /// The shift on the next day.
        next: usize,
    },
    /// [3] More shifts of one type than the employee's limit.
    TooManyOfShift {
        /// Employee index.
        staff: usize,
        /// Shift type.
        shift: usize,
        /// Shifts of that type worked.
        count: u32,
        /// The limit.
        limit: u32,
    },
    /// [4] Total minutes outside `[min, max]`.
    TotalMinutes {
        /// Employee index.
        staff: usize,
        /// Minutes worked.
        minutes: u32,
        /// Lower limit.
        min: u32,
        /// Upper limit.
        max: u32,
    },
    /// [5] A run of worked days longer than allowed.
    LongWorkRun {
        /// Employee index.
        staff: usize,
        /// First day of the run.
        first_day: usize,
        /// Its length.
        length: usize,
        /// The limit.
        max: u32,
    },
    /// [6] A run of worked days inside the horizon shorter than allowed.
    ShortWorkRun {
        /// Employee index.
        staff: usize,
        /// First day of the run.
        first_day: usize,
        /// Its length.
        length: usize,
        /// The minimum.
        min: u32,
    },
    /// [7] A run of days off inside the horizon shorter than allowed.
    ShortRestRun {
        /// Employee index.
        staff: usize,
        /// First day of the run.
        first_day: usize,
        /// Its length.
        length: usize,
        /// The minimum.
        min: u32,
    },
    /// [8] More weekends worked than allowed.
    TooManyWeekends {
        /// Employee index.
        staff: usize,
        /// Weekends worked.
        worked: u32,
        /// The limit.
        max: u32,
    },
    /// [9] A shift on a listed day off.
    WorksDayOff {
        /// Employee index.
        staff: usize,
        /// The day.
        day: usize,
    },
}

impl Breach {
    /// The breach in words, with the instance's ids.
    pub fn describe(&self, instance: &Instance) -> String {
        let name = |s: usize| &instance.staff[s].id;
        let shift = |s: usize| &instance.shifts[s].id;
        match *self {
            Breach::ForbiddenSuccession { staff, day, shift: first, next } => {
                format!(
                    "{}: {} on day {day} may not be followed by {} on day {}",
                    name(staff),
                    shift(first),
                    shift(next),
                    day + 1
                )
            }
            Breach::TooManyOfShift { staff, shift: s, count, limit } => {
                format!("{}: {count} shifts {} (at most {limit})", name(staff), shift(s))
            }
            Breach::TotalMinutes { staff, minutes, min, max } => {
                format!("{}: {minutes} minutes worked (between {min} and {max})", name(staff))
            }
            Breach::LongWorkRun { staff, first_day, length, max } => {
                format!("{}: {length} days worked in a row from day {first_day} (at most {max})", name(staff))
            }
            Breach::ShortWorkRun { staff, first_day, length, min } => {
                format!("{}: {length} days worked in a row from day {first_day} (at least {min})", name(staff))
            }
            Breach::ShortRestRun { staff, first_day, length, min } => {
                format!("{}: {length} days off in a row from day {first_day} (at least {min})", name(staff))
            }
            Breach::TooManyWeekends { staff, worked, max } => {
                format!("{}: {worked} weekends worked (at most {max})", name(staff))
            }
            Breach::WorksDayOff { staff, day } => format!("{}: works on day {day}, a day off", name(staff)),
        }
    }
}

/// The judged schedule: penalty terms and breaches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// Total penalty: the sum of the four terms below.
    pub objective: i64,
    /// Weights of shift-on requests not granted.
    pub on_requests: i64,
    /// Weights of shift-off requests not respected.
    pub off_requests: i64,
    /// Weighted under-cover.
    pub under_cover: i64,
    /// Weighted over-cover.
    pub over_cover: i64,
    /// Hard constraints broken; empty for a feasible schedule.
    pub breaches: Vec<Breach>,
}

/// Maximal runs of equal values: `(value, first index, length)`.
fn runs(worked: &[bool]) -> Vec<(bool, usize, usize)> {
    let mut out: Vec<(bool, usize, usize)> = Vec::new();
    for (day, &w) in worked.iter().enumerate() {
        match out.last_mut() {
            Some((value, _, length)) if *value == w => *length += 1,
            _ => out.push((w, day, 1)),
        }
    }
    out
}

/// The hard constraints employee `staff_idx`'s row breaks, in the order of the README's numbering;
/// empty when the row is feasible. [`evaluate`] is this for every row; the search uses it to
/// check one changed row without judging the whole schedule.
pub fn row_breaches(instance: &Instance, staff_idx: usize, row: &[Option<usize>]) -> Vec<Breach> {
    let n_days = instance.n_days;
    let staff = &instance.staff[staff_idx];
    let mut breaches = Vec::new();
    let worked: Vec<bool> = row.iter().map(Option::is_some).collect();
    for day in 0..n_days.saturating_sub(1) {
        if let (Some(first), Some(next)) = (row[day], row[day + 1])
            && instance.shifts[first].forbidden_next.contains(&next)
        {
            breaches.push(Breach::ForbiddenSuccession { staff: staff_idx, day, shift: first, next });
        }
    }
    for (shift_idx, &limit) in staff.max_shifts.iter().enumerate() {
        let count = row.iter().filter(|s| **s == Some(shift_idx)).count() as u32;
        if count > limit {
            breaches.push(Breach::TooManyOfShift { staff: staff_idx, shift: shift_idx, count, limit });
        }
    }
    let minutes: u32 = row.iter().flatten().map(|&s| instance.shifts[s].minutes).sum();
    if minutes < staff.min_minutes || minutes > staff.max_minutes {
        breaches.push(Breach::TotalMinutes {
            staff: staff_idx,
            minutes,
            min: staff.min_minutes,
            max: staff.max_minutes,
        });
    }
    for (is_work, first_day, length) in runs(&worked) {
        let inside = first_day > 0 && first_day + length < n_days;
        if is_work && length > staff.max_consecutive as usize {
            breaches.push(Breach::LongWorkRun { staff: staff_idx, first_day, length, max: staff.max_consecutive });
        }
        if is_work && inside && length < staff.min_consecutive as usize {
            breaches.push(Breach::ShortWorkRun { staff: staff_idx, first_day, length, min: staff.min_consecutive });
        }
        if !is_work && inside && length < staff.min_days_off as usize {
            breaches.push(Breach::ShortRestRun { staff: staff_idx, first_day, length, min: staff.min_days_off });
        }
    }
    let weekends = (0..n_days / 7).filter(|week| worked[7 * week + 5] || worked[7 * week + 6]).count() as u32;
    if weekends > staff.max_weekends {
        breaches.push(Breach::TooManyWeekends { staff: staff_idx, worked: weekends, max: staff.max_weekends });
    }
    for day in (0..n_days).filter(|&d| worked[d] && instance.days_off[staff_idx][d]) {
        breaches.push(Breach::WorksDayOff { staff: staff_idx, day });
    }
    breaches
}

/// Judges `schedule` (one row per employee, one entry per day) against `instance`.
///
/// The schedule must have the instance's shape (`Schedule` readers check it).
pub fn evaluate(instance: &Instance, schedule: &Schedule) -> Evaluation {
    let breaches =
        schedule.iter().enumerate().flat_map(|(staff_idx, row)| row_breaches(instance, staff_idx, row)).collect();
    let on_requests = instance
        .on_requests
        .iter()
        .filter(|r| schedule[r.staff][r.day] != Some(r.shift))
        .map(|r| r.weight as i64)
        .sum();
    let off_requests = instance
        .off_requests
        .iter()
        .filter(|r| schedule[r.staff][r.day] == Some(r.shift))
        .map(|r| r.weight as i64)
        .sum();
    let (mut under_cover, mut over_cover) = (0i64, 0i64);
    for (day, day_cover) in instance.cover.iter().enumerate() {
        for (shift_idx, cover) in day_cover.iter().enumerate() {
            let n = schedule.iter().filter(|row| row[day] == Some(shift_idx)).count() as i64;
            let need = cover.requirement as i64;
            under_cover += cover.under_weight as i64 * (need - n).max(0);
            over_cover += cover.over_weight as i64 * (n - need).max(0);
        }
    }
    Evaluation {
        objective: on_requests + off_requests + under_cover + over_cover,
        on_requests,
        off_requests,
        under_cover,
        over_cover,
        breaches,
    }
}
