//! The NRP as a MILP over the roster solver's machinery (`rules::Lp`, `rules::max_consecutive`,
//! `rules::at_least_with_slack`, `rules::sum`): one binary per allowed (employee, day, shift).
//!
//! Formulation choices, each for a tighter LP relaxation or a smaller program than the textbook one:
//! - a worked-day binary `w = Σ x` per (employee, day), so the consecutive-days rows carry one
//!   term per day however many shift types there are;
//! - min consecutive shifts and days off as three-variable start/end inequalities
//!   (`w[d] − w[d−1] ≤ w[d+j]`, the min-up/min-down rows of unit commitment) instead of one row
//!   per forbidden short run;
//! - a weekend binary per employee and week, squeezed from both sides (`max(sat, sun) ≤ y ≤ sat + sun`);
//! - identical employees ordered by the number of shifts they work (symmetry), in the full model;
//! - cells that cannot be worked (day off, limit 0, too long) are constants, not columns.
//!
//! A model may also be a neighbourhood of a schedule (`Fix`): the fixed (employee, day) cells are
//! constants, employees with no free day get no columns or rows at all (they only add to cover),
//! and rows whose every term is fixed are left out, since the schedule already satisfies them.
//! That keeps a neighbourhood's program as small as the neighbourhood, whatever the instance.
//! Leaves out: judging schedules (`evaluate`).

use good_lp::Expression;

use crate::nrp::best_row::RowCosts;
use crate::nrp::{Instance, Schedule};
use crate::rules::{Col, Lp, at_least_with_slack, max_consecutive, sum};

/// A decision "employee e works shift s on day d" (or "works on day d"): a column or a known value.
#[derive(Clone, Copy, Debug)]
enum Cell {
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

    fn is_free(self) -> bool {
        matches!(self, Cell::Free(_))
    }
}

/// Which (employee, day) cells to fix to a schedule's values.
pub(crate) struct Fix<'a> {
    pub schedule: &'a Schedule,
    /// `fixed[e][d]`: keep the schedule's entry for employee e on day d.
    pub fixed: Vec<Vec<bool>>,
}

/// The assembled program and where its columns are.
pub(crate) struct NrpModel {
    pub lp: Lp,
    pub columns: Columns,
}

/// Which column holds which decision: what a warm start must fill and a solution is read from.
pub(crate) struct Columns {
    /// `x[e][d][s]`.
    x: Vec<Vec<Vec<Cell>>>,
    /// `w[e][d]`: works on day d.
    w: Vec<Vec<Cell>>,
    /// (day, shift, under slack, over slack).
    cover_slack: Vec<(usize, usize, Col, Col)>,
    /// (employee, week, weekend-worked column).
    weekend: Vec<(usize, usize, Col)>,
}

/// Whether employee e may ever work shift s on day d.
pub(crate) fn allowed(instance: &Instance, staff_idx: usize, day: usize, shift_idx: usize) -> bool {
    let staff = &instance.staff[staff_idx];
    !instance.days_off[staff_idx][day]
        && staff.max_shifts[shift_idx] > 0
        && instance.shifts[shift_idx].minutes <= staff.max_minutes
}

/// Groups of employees no rule or request tells apart: swapping two rows of a group changes
/// neither feasibility nor objective.
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

/// `schedule` with the rows of each group of identical employees reordered so that earlier
/// employees work at least as many shifts: the same objective, and a warm start the full model's
/// symmetry rows accept.
pub(crate) fn symmetry_ordered(instance: &Instance, schedule: &Schedule) -> Schedule {
    let mut ordered = schedule.clone();
    let shifts = |row: &[Option<usize>]| row.iter().flatten().count();
    for group in identical_groups(instance) {
        let mut rows: Vec<&Vec<Option<usize>>> = group.iter().map(|&e| &schedule[e]).collect();
        rows.sort_by_key(|row| std::cmp::Reverse(shifts(row)));
        for (&e, row) in group.iter().zip(rows) {
            ordered[e] = row.clone();
        }
    }
    ordered
}

/// One employee's columns for one day: a binary per shift it may work, and the worked-day
/// binary that is their sum (row [1], one shift a day). A day it can work nothing is all constants.
fn day_cells(lp: &mut Lp, instance: &Instance, staff_idx: usize, day: usize) -> (Vec<Cell>, Cell) {
    let cells: Vec<Cell> = (0..instance.shifts.len())
        .map(|s| if allowed(instance, staff_idx, day, s) { Cell::Free(lp.binary()) } else { Cell::Fixed(false) })
        .collect();
    let free: Vec<Col> = cells.iter().filter_map(|c| if let Cell::Free(col) = c { Some(*col) } else { None }).collect();
    if free.is_empty() {
        return (cells, Cell::Fixed(false));
    }
    let col = lp.binary();
    lp.row((sum(free) - col.var).eq(0.0));
    (cells, Cell::Free(col))
}

/// Rows [2]–[8]: every hard rule of employee `staff_idx` over its cells `x[d][s]` and worked days
/// `w[d]`, leaving out rows that touch no free cell. Returns the weekend columns it made, by week.
fn employee_rules(
    lp: &mut Lp,
    instance: &Instance,
    staff_idx: usize,
    cells: &[Vec<Cell>],
    worked: &[Cell],
) -> Vec<(usize, Col)> {
    let (n_days, n_shifts) = (instance.n_days, instance.shifts.len());
    let staff = &instance.staff[staff_idx];
    let Some(first_free) = worked.iter().position(|c| c.is_free()) else { return Vec::new() };
    let last_free = worked.iter().rposition(|c| c.is_free()).unwrap_or(first_free);
    let touches = |days: &[usize]| days.iter().any(|&d| worked[d].is_free());
    // [2] forbidden successions: today's shift plus tomorrow's forbidden ones at most 1.
    for day in 0..n_days.saturating_sub(1) {
        if !touches(&[day, day + 1]) {
            continue;
        }
        for (shift_idx, shift) in instance.shifts.iter().enumerate() {
            if shift.forbidden_next.is_empty() || matches!(cells[day][shift_idx], Cell::Fixed(false)) {
                continue;
            }
            let next: Expression = shift.forbidden_next.iter().map(|&s| cells[day + 1][s].expr()).sum();
            lp.row((cells[day][shift_idx].expr() + next).leq(1.0));
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
        .filter(|&(d, s)| !matches!(cells[d][s], Cell::Fixed(false)))
        .map(|(d, s)| instance.shifts[s].minutes as f64 * cells[d][s].expr())
        .sum();
    lp.row(minutes.clone().leq(staff.max_minutes as f64));
    if staff.min_minutes > 0 {
        lp.row(minutes.geq(staff.min_minutes as f64));
    }
    // [5] max consecutive: the roster solver's builder, on the days whose windows reach a free day.
    let max_run = staff.max_consecutive as usize;
    if max_run < n_days {
        let from = first_free.saturating_sub(max_run);
        let to = (last_free + max_run).min(n_days - 1);
        let days: Vec<Expression> = worked[from..=to].iter().map(|c| c.expr()).collect();
        max_consecutive(lp, &days, max_run);
    }
    // [6] min consecutive shifts: a run starting at d ≥ 1 (or ending at d ≤ n−2) carries on
    // for min − 1 more days unless it reaches the horizon's edge. [7] the same for days off,
    // on 1 − w.
    let e = |d: usize| worked[d].expr();
    for (min_run, on) in [(staff.min_consecutive as usize, 1.0), (staff.min_days_off as usize, -1.0)] {
        let rhs = if on > 0.0 { 0.0 } else { 1.0 };
        for j in 1..min_run {
            for d in 1..n_days.saturating_sub(j) {
                if touches(&[d - 1, d, d + j]) {
                    lp.row((on * (e(d) - e(d - 1) - e(d + j))).leq(rhs));
                }
            }
            for d in j..n_days.saturating_sub(1) {
                if touches(&[d + 1, d, d - j]) {
                    lp.row((on * (e(d) - e(d + 1) - e(d - j))).leq(rhs));
                }
            }
        }
    }
    // [8] weekends.
    let n_weeks = n_days / 7;
    let mut weekend = Vec::new();
    if (staff.max_weekends as usize) < n_weeks {
        let mut total = Expression::from(0.0);
        for week in 0..n_weeks {
            let (sat, sun) = (worked[7 * week + 5], worked[7 * week + 6]);
            match (sat, sun) {
                (Cell::Fixed(a), Cell::Fixed(b)) => total += f64::from(u8::from(a || b)),
                _ => {
                    let y = lp.binary();
                    lp.row(sat.expr().leq(y.var));
                    lp.row(sun.expr().leq(y.var));
                    lp.row(Expression::from(y.var).leq(sat.expr() + sun.expr()));
                    total += y.var;
                    weekend.push((week, y));
                }
            }
        }
        lp.row(total.leq(staff.max_weekends as f64));
    }
    weekend
}

/// One employee alone, with the caller's costs for its choices: the exact pricing problem of
/// the column generation, when the dynamic program's prices leave a gap. Its schedule has one row.
pub(crate) fn single(instance: &Instance, staff_idx: usize, costs: &RowCosts) -> NrpModel {
    let mut lp = Lp::default();
    let (cells, worked): (Vec<Vec<Cell>>, Vec<Cell>) =
        (0..instance.n_days).map(|day| day_cells(&mut lp, instance, staff_idx, day)).unzip();
    let weekend = employee_rules(&mut lp, instance, staff_idx, &cells, &worked);
    // A day's cost is its off cost, plus the difference for the shift worked. An infinite cost
    // bars the choice (a branch of the branch and price): a barred day off is a day worked.
    for (day, (day_cells, day_worked)) in cells.iter().zip(&worked).enumerate() {
        let base = if costs.off[day].is_finite() {
            costs.off[day]
        } else {
            lp.row(day_worked.expr().geq(1.0));
            0.0
        };
        lp.add_offset(base);
        for (shift, cell) in day_cells.iter().enumerate() {
            if let Cell::Free(col) = cell {
                let cost = costs.work[day][shift];
                if cost.is_finite() {
                    lp.cost(cost - base, sum([*col]));
                } else {
                    lp.row(Expression::from(col.var).leq(0.0));
                }
            }
        }
    }
    let weekend = weekend.into_iter().map(|(week, y)| (0, week, y)).collect();
    NrpModel { lp, columns: Columns { x: vec![cells], w: vec![worked], cover_slack: Vec::new(), weekend } }
}

/// Builds the model; with `fix`, the chosen cells are constants taken from its schedule.
pub(crate) fn build(instance: &Instance, fix: Option<&Fix>) -> NrpModel {
    let n_days = instance.n_days;
    let n_shifts = instance.shifts.len();
    let fixed_day = |e: usize, d: usize| fix.filter(|f| f.fixed[e][d]).map(|f| f.schedule[e][d]);
    let mut lp = Lp::default();
    let mut x = Vec::with_capacity(instance.staff.len());
    let mut w = Vec::with_capacity(instance.staff.len());
    for staff_idx in 0..instance.staff.len() {
        let (days, worked): (Vec<Vec<Cell>>, Vec<Cell>) = (0..n_days)
            .map(|day| match fixed_day(staff_idx, day) {
                Some(value) => {
                    ((0..n_shifts).map(|s| Cell::Fixed(value == Some(s))).collect(), Cell::Fixed(value.is_some()))
                }
                None => day_cells(&mut lp, instance, staff_idx, day),
            })
            .unzip();
        x.push(days);
        w.push(worked);
    }
    let mut weekend = Vec::new();
    for staff_idx in 0..instance.staff.len() {
        let weeks = employee_rules(&mut lp, instance, staff_idx, &x[staff_idx], &w[staff_idx]);
        weekend.extend(weeks.into_iter().map(|(week, y)| (staff_idx, week, y)));
    }

    // Symmetry: among identical employees, the earlier works at least as many shifts.
    if fix.is_none() {
        for group in identical_groups(instance).iter().filter(|g| g.len() > 1) {
            let shifts_of = |e: usize| w[e].iter().map(|c| c.expr()).sum::<Expression>();
            for pair in group.windows(2) {
                lp.row(shifts_of(pair[0]).geq(shifts_of(pair[1])));
            }
        }
    }

    // Objective: cover through the shared slack builder, then requests.
    let mut cover_slack = Vec::new();
    for (day, day_cover) in instance.cover.iter().enumerate() {
        for (shift_idx, cover) in day_cover.iter().enumerate() {
            let (mut on_shift, mut fixed_on, mut any_free) = (Expression::from(0.0), 0u32, false);
            for cells in &x {
                match cells[day][shift_idx] {
                    Cell::Free(col) => {
                        on_shift += col.var;
                        any_free = true;
                    }
                    Cell::Fixed(value) => fixed_on += u32::from(value),
                }
            }
            if !any_free {
                let (need, weight) = if fixed_on < cover.requirement {
                    (cover.requirement - fixed_on, cover.under_weight)
                } else {
                    (fixed_on - cover.requirement, cover.over_weight)
                };
                lp.add_offset(f64::from(need * weight));
                continue;
            }
            let need = cover.requirement as f64 - fixed_on as f64;
            let under = at_least_with_slack(&mut lp, on_shift.clone(), need, cover.under_weight as f64);
            let over = lp.nonneg();
            lp.row((on_shift - over.var).leq(need));
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
    NrpModel { lp, columns: Columns { x, w, cover_slack, weekend } }
}

impl Columns {
    /// Values of the `n_cols` columns that encode `schedule` (a warm start), in HiGHS's order.
    pub(crate) fn start_values(&self, n_cols: usize, instance: &Instance, schedule: &Schedule) -> Vec<f64> {
        let mut values = vec![0.0; n_cols];
        let bit = |b: bool| f64::from(u8::from(b));
        for (staff_idx, days) in self.x.iter().enumerate() {
            for (day, cells) in days.iter().enumerate() {
                for (shift_idx, cell) in cells.iter().enumerate() {
                    if let Cell::Free(col) = cell {
                        values[col.idx] = bit(schedule[staff_idx][day] == Some(shift_idx));
                    }
                }
                if let Cell::Free(col) = self.w[staff_idx][day] {
                    values[col.idx] = bit(schedule[staff_idx][day].is_some());
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
            values[y.idx] = bit(row[7 * week + 5].is_some() || row[7 * week + 6].is_some());
        }
        values
    }

    /// The schedule a column vector encodes.
    pub(crate) fn schedule_of(&self, values: &[f64]) -> Schedule {
        self.x
            .iter()
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
}
