//! People of a role on duty each day (seed 004: 每天安排至少2个客服人员值班接听客户电话): at least
//! `min` different people with the role work a shift (at the listed posts) on every day of the
//! rule's day types. Hard, with slack priced like a missing person-slot (`weights.coverage`).
//!
//! Leaves out: when in the day they are there, which post minimums state.

use crate::milp::Model;
use crate::rules::{at_least_hard, sum};

pub(crate) fn add(model: &mut Model) {
    let problem = model.problem;
    for rule in &problem.rules.daily {
        for (day_idx, &date) in problem.days.iter().enumerate() {
            if !rule.day_types.contains(&problem.day_type(date)) {
                continue;
            }
            // One shift a day per person (`leave`), so the sum counts different people.
            let on_duty = (0..problem.staff.len())
                .filter(|&s| problem.staff[s].roles.contains(&rule.role))
                .flat_map(|s| model.by_staff_day[s][day_idx].iter().map(|&w| &model.works[w]))
                .filter(|w| rule.posts.is_empty() || rule.posts.contains(&w.post))
                .map(|w| w.col);
            at_least_hard(&mut model.lp, sum(on_duty), rule.min as f64, problem.rules.weights.coverage);
        }
    }
}
