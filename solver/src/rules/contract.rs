//! Contract rules: weekly paid hours between the minimum (slack-penalised, reduced for leave and
//! for weeks the period cuts) and the maximum, most consecutive working days, and least rest
//! between one shift's end and the next shift's arrival (its start minus the handover time).
//!
//! Leaves out: one shift per day (`leave`) and who may work what (columns exist only for that).

use good_lp::Expression;

use crate::milp::Model;
use crate::model::RosterProblem;
use crate::rules::{at_least_hard, max_consecutive, sum};

/// Minutes a week's bounds allow: `(min, max)` for staff `s` in calendar week `week`.
pub(crate) fn weekly_bounds(problem: &RosterProblem, staff_idx: usize, week: usize) -> (f64, f64) {
    let staff = &problem.staff[staff_idx];
    let days: Vec<usize> = (0..problem.days.len()).filter(|&d| problem.week_of(d) == week).collect();
    let share = days.len() as f64 / 7.0;
    let n_leave = days.iter().filter(|&&d| staff.leave_on(problem.days[d]).is_some()).count() as f64;
    let min_hours = (staff.contract.min_hours_per_week * share - n_leave * problem.rules.leave_day_hours).max(0.0);
    let max_hours = staff.contract.max_hours_per_week * share;
    (min_hours * 60.0, max_hours * 60.0)
}

/// Whether a shift of template `first` followed `days_later` days after by template `second`
/// leaves less than the person's minimum rest.
pub(crate) fn rest_conflict(
    problem: &RosterProblem,
    staff_idx: usize,
    first: usize,
    second: usize,
    days_later: u32,
) -> bool {
    let rest = problem.staff[staff_idx].contract.min_rest_minutes as i64;
    let end = problem.shifts[first].end as i64;
    let arrival = (days_later * crate::model::DAY_MINUTES + problem.shifts[second].start) as i64
        - problem.rules.handover_minutes as i64;
    arrival - end < rest
}

pub(crate) fn add(model: &mut Model) {
    let problem = model.problem;
    let n_days = problem.days.len();
    for staff_idx in 0..problem.staff.len() {
        let mut paid_by_week = vec![Expression::from(0.0); problem.n_weeks()];
        for day_idx in 0..n_days {
            for &w in &model.by_staff_day[staff_idx][day_idx] {
                let work = &model.works[w];
                paid_by_week[problem.week_of(day_idx)] += problem.shifts[work.shift].paid_minutes as f64 * work.col.var;
            }
        }
        for (week, paid) in paid_by_week.into_iter().enumerate() {
            let (min_minutes, max_minutes) = weekly_bounds(problem, staff_idx, week);
            model.lp.row(paid.clone().leq(max_minutes));
            if min_minutes > 0.0 {
                // Penalty per missing hour, so the slack is priced in minutes / 60.
                at_least_hard(&mut model.lp, paid, min_minutes, problem.rules.weights.hours / 60.0);
            }
        }
        let worked: Vec<Expression> = (0..n_days).map(|d| model.worked(staff_idx, d)).collect();
        let max_days = problem.staff[staff_idx].contract.max_consecutive_days as usize;
        if max_days < n_days {
            max_consecutive(&mut model.lp, &worked, max_days);
        }
        add_rest(model, staff_idx);
    }
}

/// For each shift, the shifts of each following day that start too soon after it cannot both be
/// worked: `y(d, T) + Σ y(d+k, T') ≤ 1` per k, valid because a person works at most one shift a
/// day; `y` sums a template's columns over posts. A shift ends within two days of its start, so
/// days beyond `2 + rest / 24 h` cannot clash.
fn add_rest(model: &mut Model, staff_idx: usize) {
    let problem = model.problem;
    let days = &model.by_staff_day[staff_idx];
    let horizon = 2 + (problem.staff[staff_idx].contract.min_rest_minutes / crate::model::DAY_MINUTES) as usize;
    let mut rows = Vec::new();
    for (day_idx, works_today) in days.iter().enumerate() {
        for shift_idx in 0..problem.shifts.len() {
            let today: Vec<usize> =
                works_today.iter().copied().filter(|&w| model.works[w].shift == shift_idx).collect();
            if today.is_empty() {
                continue;
            }
            for days_later in 1..=horizon {
                let Some(later) = days.get(day_idx + days_later) else { continue };
                let clashing: Vec<usize> = later
                    .iter()
                    .copied()
                    .filter(|&v| rest_conflict(problem, staff_idx, shift_idx, model.works[v].shift, days_later as u32))
                    .collect();
                if !clashing.is_empty() {
                    let cols = today.iter().chain(&clashing).map(|&w| model.works[w].col);
                    rows.push(sum(cols).leq(1.0));
                }
            }
        }
    }
    for row in rows {
        model.lp.row(row);
    }
}
