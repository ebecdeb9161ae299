//! Days: one shift per person per day, compensatory-day requests, and the monthly leave cap
//! (seed 003 item 2: at most four 调休 a month, a leave day counting against the same allowance).
//!
//! Leaves out: approved leave and fixed days off, which need no row: no work column exists on
//! those days (`milp::Model::new`).

use std::collections::BTreeMap;

use chrono::Datelike;

use crate::milp::Model;

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
    let first_month = month_of(problem.days[0]);
    let mut granted_by_month: BTreeMap<(usize, (i32, u32)), good_lp::Expression> = BTreeMap::new();
    for (&(staff_idx, day_idx), col) in &model.requests {
        // A refused request costs `weight`: written as weight · (1 − granted).
        model.lp.add_offset(weight);
        model.lp.cost(-weight, col.var.into());
        *granted_by_month.entry((staff_idx, month_of(problem.days[day_idx]))).or_default() += col.var;
    }
    for ((staff_idx, month), granted) in granted_by_month {
        let staff = &problem.staff[staff_idx];
        let approved = staff.leave.iter().filter(|l| month_of(l.date) == month).count() as u32;
        let taken = if month == first_month { staff.leave_taken } else { 0 };
        let room = problem.rules.max_leave_per_month.saturating_sub(approved + taken);
        model.lp.row(granted.leq(room as f64));
    }
}

/// (year, month) of a date: the cap is per calendar month, so a period may straddle two.
pub(crate) fn month_of(date: chrono::NaiveDate) -> (i32, u32) {
    (date.year(), date.month())
}
