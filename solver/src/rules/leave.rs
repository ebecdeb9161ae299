//! Days: one shift per person per day, compensatory-day requests, and the monthly leave cap
//! (seed 003 item 2: at most four 调休 a month, a leave day counting against the same allowance),
//! counting leave already taken in each month the period touches. Approved or taken leave above
//! the cap is a breach no roster avoids, stated as a forced slack so `infeasible` can be proven.
//!
//! Leaves out: approved leave and fixed days off, which need no row: no work column exists on
//! those days (`milp::Model::new`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::Datelike;
use good_lp::Expression;

use crate::milp::Model;
use crate::rules::at_least_hard;

pub(crate) fn add(model: &mut Model) {
    let problem = model.problem;
    for staff_idx in 0..problem.staff.len() {
        for day_idx in 0..problem.days.len() {
            let mut day = model.worked(staff_idx, day_idx);
            if let Some(request) = model.requests.get(&(staff_idx, day_idx)) {
                day += request.var;
            }
            model.lp.row(day.leq(1.0));
        }
    }
    let weight = problem.rules.weights.refused_request;
    let mut granted_by_month: BTreeMap<(usize, (i32, u32)), Expression> = BTreeMap::new();
    for (&(staff_idx, day_idx), col) in &model.requests {
        // A refused request costs `weight`: written as weight · (1 − granted).
        model.lp.add_offset(weight);
        model.lp.cost(-weight, col.var.into());
        *granted_by_month.entry((staff_idx, month_of(problem.days[day_idx]))).or_default() += col.var;
    }
    let cap = problem.rules.max_leave_per_month;
    let months: BTreeSet<(i32, u32)> = problem.days.iter().map(|d| month_of(*d)).collect();
    for (staff_idx, staff) in problem.staff.iter().enumerate() {
        for &month in &months {
            let approved = staff.leave.iter().filter(|l| month_of(l.date) == month).count() as u32;
            let fixed = approved + staff.taken_in(month);
            if let Some(granted) = granted_by_month.remove(&(staff_idx, month)) {
                model.lp.row(granted.leq(cap.saturating_sub(fixed) as f64));
            }
            if fixed > cap {
                // Leave already approved or taken breaks the cap whatever the roster: a breach
                // fixed at the excess, so the proof of infeasibility names it.
                let weight = problem.rules.weights.coverage;
                at_least_hard(&mut model.lp, Expression::from(0.0), f64::from(fixed - cap), weight);
            }
        }
    }
}

/// (year, month) of a date: the cap is per calendar month, so a period may straddle two.
pub(crate) fn month_of(date: chrono::NaiveDate) -> (i32, u32) {
    (date.year(), date.month())
}
