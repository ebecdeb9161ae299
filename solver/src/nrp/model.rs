//! The NRP as a MILP over the roster solver's machinery (`rules::Lp`, `rules::max_consecutive`,
//! `rules::at_least_with_slack`, `rules::sum`): one binary per allowed (employee, day, shift).
//!
//! Formulation choices, each for a tighter LP relaxation than the textbook one:
//! - min consecutive shifts and days off as three-variable start/end inequalities
//!   (`w[d] − w[d−1] ≤ w[d+j]`, the min-up/min-down rows of unit commitment) instead of one row
//!   per forbidden short run;
//! - a weekend binary per employee and week, squeezed from both sides (`max(sat, sun) ≤ y ≤ sat + sun`);
//! - identical employees ordered by the number of shifts they work (symmetry);
//! - cells that cannot be worked (day off, limit 0, too long) are constants, not columns.
//!
//! Cells may also be fixed to a given schedule (`Fix`), which is how the LNS in `solve` frees
//! only a neighbourhood. Leaves out: judging schedules (`evaluate`).

use good_lp::Expression;

use crate::nrp::{Instance, Schedule};
use crate::rules::{Col, Lp, at_least_with_slack, max_consecutive, sum};

/// A decision "employee e works shift s on day d": a column or a known value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cell {
    Free(Col),
    Fixed(bool),
}

impl Cell {
    fn expr(self) -> Expression {
        match self {
            Cell::Free(col) => col.var.into(),
            Cell::Fixed(value) => Expression::from(f64::from(u8::from(value))),
        }
    }

    fn col(self) -> Option<Col> {
        match self {
            Cell::Free(col) => Some(col),
            Cell::Fixed(_) => None,
        }
    }
}

/// Which (employee, day) cells to fix to a schedule's values.
pub(crate) struct Fix<'a> {
    pub schedule: &'a Schedule,
    /// `fixed[e][d]`: keep the schedule's entry for employee e on day d.
    pub fixed: Vec<Vec<bool>>,
}

/// The assembled model and the columns a warm start must fill.
pub(crate) struct NrpModel {
    pub lp: Lp,
    /// `x[e][d][s]`.
    pub x: Vec<Vec<Vec<Cell>>>,
    /// (day, shift, under slack, over slack).
    cover_slack: Vec<(usize, usize, Col, Col)>,
    /// (employee, week, weekend-worked column).
    weekend: Vec<(usize, usize, Col)>,
}

fn allowed(instance: &Instance, staff_idx: usize, day: usize, shift_idx: usize) -> bool {
    let staff = &instance.staff[staff_idx];
    !instance.days_off[staff_idx][day]
        && staff.max_shifts[shift_idx] > 0
        && instance.shifts[shift_idx].minutes <= staff.max_minutes
}

/// Groups of employees no rule or request tells apart.
fn identical_groups(instance: &Instance) -> Vec<Vec<usize>> {
    let mut requests = vec![Vec::new(); instance.staff.len()];
    for (kind, list) in [(0u8, &instance.on_requests), (1, &instance.off_requests)] {
        for r in list {
            requests[r.staff].push((kind, r.day, r.shift, r.weight));
        }
    }
    for list in &mut requests {
        list.sort_unstable();
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for staff_idx in 0..instance.staff.len() {
        let same = |other: usize| {
            let (a, b) = (&instance.staff[staff_idx], &instance.staff[other]);
            (&a.max_shifts, a.max_minutes, a.min_minutes, a.max_consecutive, a.min_consecutive)
                == (&b.max_shifts, b.max_minutes, b.min_minutes, b.max_consecutive, b.min_consecutive)
                && (a.min_days_off, a.max_weekends) == (b.min_days_off, b.max_weekends)
                && instance.days_off[staff_idx] == instance.days_off[other]
                && requests[staff_idx] == requests[other]
        };
        match groups.iter_mut().find(|g| same(g[0])) {
            Some(group) => group.push(staff_idx),
            None => groups.push(vec![staff_idx]),
        }
    }
    groups
}

/// Builds the model; with `fix`, the chosen cells are constants taken from its schedule.
pub(crate) fn build(instance: &Instance, fix: Option<&Fix>) -> NrpModel {
    let n_days = instance.n_days;
    let n_shifts = instance.shifts.len();
    let mut lp = Lp::default();
    let x: Vec<Vec<Vec<Cell>>> = (0..instance.staff.len())
        .map(|staff_idx| {
            (0..n_days)
                .map(|day| {
                    (0..n_shifts)
                        .map(|shift_idx| match fix {
                            Some(f) if f.fixed[staff_idx][day] => {
                                Cell::Fixed(f.schedule[staff_idx][day] == Some(shift_idx))
                            }
                            _ if allowed(instance, staff_idx, day, shift_idx) => Cell::Free(lp.binary()),
                            _ => Cell::Fixed(false),
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let free = |cells: &[Cell]| cells.iter().any(|c| c.col().is_some());

    for (staff_idx, staff) in instance.staff.iter().enumerate() {
        let cells = &x[staff_idx];
        let worked: Vec<Expression> = cells.iter().map(|day| day.iter().map(|c| c.expr()).sum()).collect();
        // [1] one shift a day.
        for day in 0..n_days {
            if free(&cells[day]) {
                lp.row(worked[day].clone().leq(1.0));
            }
        }
        // [2] forbidden successions: today's shift plus tomorrow's forbidden ones at most 1.
        for day in 0..n_days.saturating_sub(1) {
            for (shift_idx, shift) in instance.shifts.iter().enumerate() {
                if shift.forbidden_next.is_empty() || matches!(cells[day][shift_idx], Cell::Fixed(false)) {
                    continue;
                }
                let next: Vec<Cell> = shift.forbidden_next.iter().map(|&s| cells[day + 1][s]).collect();
                if free(&next) || cells[day][shift_idx].col().is_some() {
                    let row = cells[day][shift_idx].expr() + next.iter().map(|c| c.expr()).sum::<Expression>();
                    lp.row(row.leq(1.0));
                }
            }
        }
        // [3] shifts of each type, [4] total minutes.
        for (shift_idx, &limit) in staff.max_shifts.iter().enumerate() {
            let n_possible = (0..n_days).filter(|&d| !matches!(cells[d][shift_idx], Cell::Fixed(false))).count();
            if (limit as usize) < n_possible {
                let count: Expression = (0..n_days).map(|d| cells[d][shift_idx].expr()).sum();
                lp.row(count.leq(limit as f64));
            }
        }
        let minutes: Expression = (0..n_days)
            .flat_map(|d| (0..n_shifts).map(move |s| (d, s)))
            .map(|(d, s)| instance.shifts[s].minutes as f64 * cells[d][s].expr())
            .sum();
        lp.row(minutes.clone().leq(staff.max_minutes as f64));
        if staff.min_minutes > 0 {
            lp.row(minutes.geq(staff.min_minutes as f64));
        }
        // [5] max consecutive: the roster solver's builder.
        if (staff.max_consecutive as usize) < n_days {
            max_consecutive(&mut lp, &worked, staff.max_consecutive as usize);
        }
        // [6] min consecutive shifts: a run starting at d ≥ 1 (or ending at d ≤ n−2) carries on
        // for min − 1 more days unless it reaches the horizon's edge.
        let w = |d: usize| worked[d].clone();
        for j in 1..staff.min_consecutive as usize {
            for d in 1..n_days.saturating_sub(j) {
                lp.row((w(d) - w(d - 1) - w(d + j)).leq(0.0));
            }
            for d in j..n_days.saturating_sub(1) {
                lp.row((w(d) - w(d + 1) - w(d - j)).leq(0.0));
            }
        }
        // [7] min consecutive days off, the same rows on 1 − w.
        for j in 1..staff.min_days_off as usize {
            for d in 1..n_days.saturating_sub(j) {
                lp.row((w(d - 1) - w(d) + w(d + j)).leq(1.0));
            }
            for d in j..n_days.saturating_sub(1) {
                lp.row((w(d + 1) - w(d) + w(d - j)).leq(1.0));
            }
        }
    }

    // [8] weekends.
    let n_weeks = n_days / 7;
    let mut weekend = Vec::new();
    for (staff_idx, staff) in instance.staff.iter().enumerate() {
        if staff.max_weekends as usize >= n_weeks {
            continue;
        }
        let worked = |d: usize| x[staff_idx][d].iter().map(|c| c.expr()).sum::<Expression>();
        let mut total = Expression::from(0.0);
        for week in 0..n_weeks {
            let (sat, sun) = (worked(7 * week + 5), worked(7 * week + 6));
            let y = lp.binary();
            lp.row(sat.clone().leq(y.var));
            lp.row(sun.clone().leq(y.var));
            lp.row(Expression::from(y.var).leq(sat + sun));
            total += y.var;
            weekend.push((staff_idx, week, y));
        }
        lp.row(total.leq(staff.max_weekends as f64));
    }

    // Symmetry: among identical employees, the earlier works at least as many shifts.
    for group in identical_groups(instance).iter().filter(|g| g.len() > 1) {
        let shifts_of = |e: usize| x[e].iter().flatten().map(|c| c.expr()).sum::<Expression>();
        for pair in group.windows(2) {
            lp.row(shifts_of(pair[0]).geq(shifts_of(pair[1])));
        }
    }

    // Objective: cover through the shared slack builder, then requests.
    let mut cover_slack = Vec::new();
    for (day, day_cover) in instance.cover.iter().enumerate() {
        for (shift_idx, cover) in day_cover.iter().enumerate() {
            let on_shift: Expression = x.iter().map(|e| e[day][shift_idx].expr()).sum();
            let under =
                at_least_with_slack(&mut lp, on_shift.clone(), cover.requirement as f64, cover.under_weight as f64);
            let over = lp.nonneg();
            lp.row((on_shift - over.var).leq(cover.requirement as f64));
            lp.cost(cover.over_weight as f64, over.var.into());
            cover_slack.push((day, shift_idx, under, over));
        }
    }
    for r in &instance.on_requests {
        match x[r.staff][r.day][r.shift] {
            Cell::Free(col) => {
                lp.add_offset(r.weight as f64);
                lp.cost(-(r.weight as f64), sum([col]));
            }
            Cell::Fixed(false) => lp.add_offset(r.weight as f64),
            Cell::Fixed(true) => {}
        }
    }
    for r in &instance.off_requests {
        match x[r.staff][r.day][r.shift] {
            Cell::Free(col) => lp.cost(r.weight as f64, sum([col])),
            Cell::Fixed(true) => lp.add_offset(r.weight as f64),
            Cell::Fixed(false) => {}
        }
    }
    NrpModel { lp, x, cover_slack, weekend }
}

impl NrpModel {
    /// Column values that encode `schedule` (a warm start), in HiGHS's column order.
    pub(crate) fn start_values(&self, instance: &Instance, schedule: &Schedule) -> Vec<f64> {
        let mut values = vec![0.0; self.lp.size().0];
        for (staff_idx, days) in self.x.iter().enumerate() {
            for (day, cells) in days.iter().enumerate() {
                for (shift_idx, cell) in cells.iter().enumerate() {
                    if let Cell::Free(col) = cell {
                        values[col.idx] = f64::from(u8::from(schedule[staff_idx][day] == Some(shift_idx)));
                    }
                }
            }
        }
        for &(day, shift_idx, under, over) in &self.cover_slack {
            let n = schedule.iter().filter(|row| row[day] == Some(shift_idx)).count() as f64;
            let need = instance.cover[day][shift_idx].requirement as f64;
            values[under.idx] = (need - n).max(0.0);
            values[over.idx] = (n - need).max(0.0);
        }
        for &(staff_idx, week, y) in &self.weekend {
            let row = &schedule[staff_idx];
            values[y.idx] = f64::from(u8::from(row[7 * week + 5].is_some() || row[7 * week + 6].is_some()));
        }
        values
    }
}

/// The schedule a column vector encodes.
pub(crate) fn schedule_of(x: &[Vec<Vec<Cell>>], values: &[f64]) -> Schedule {
    x.iter()
        .map(|days| {
            days.iter()
                .map(|cells| {
                    cells.iter().position(|c| match c {
                        Cell::Free(col) => values[col.idx] > 0.5,
                        Cell::Fixed(value) => *value,
                    })
                })
                .collect()
        })
        .collect()
}
