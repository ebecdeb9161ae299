//! Soft terms: fairness (nights and weekend days spread evenly among those who can work them),
//! weighted staff preferences (for or against a shift, a post, a weekday or a date), and a small cost per paid hour so no shift is rostered for nothing.
//!
//! Leaves out: the penalties on hard-rule slack, added where each hard rule is built.

use good_lp::Expression;

use crate::milp::Model;
use crate::model::DayType;
use crate::rules::spread;

pub(crate) fn add(model: &mut Model) {
    let problem = model.problem;
    let weights = &problem.rules.weights;
    let mut nights: Vec<Option<Expression>> = vec![None; problem.staff.len()];
    let mut weekends: Vec<Option<Expression>> = vec![None; problem.staff.len()];
    let mut paid = Expression::from(0.0);
    for work in &model.works {
        let shift = &problem.shifts[work.shift];
        paid += shift.paid_minutes as f64 / 60.0 * work.col.var;
        if shift.night {
            *nights[work.staff].get_or_insert_default() += work.col.var;
        }
        if problem.day_type(problem.days[work.day]) != DayType::Weekday {
            *weekends[work.staff].get_or_insert_default() += work.col.var;
        }
    }
    model.lp.cost(weights.paid_hour, paid);
    spread(&mut model.lp, nights.into_iter().flatten().collect(), weights.fairness);
    spread(&mut model.lp, weekends.into_iter().flatten().collect(), weights.fairness);
    add_preferences(model);
}

fn add_preferences(model: &mut Model) {
    let problem = model.problem;
    for (staff_idx, staff) in problem.staff.iter().enumerate() {
        for preference in &staff.preferences {
            for (day_idx, &date) in problem.days.iter().enumerate() {
                if !preference.applies_on(date) {
                    continue;
                }
                let matching: Expression = model.by_staff_day[staff_idx][day_idx]
                    .iter()
                    .map(|&w| &model.works[w])
                    .filter(|w| preference.shift.is_none_or(|s| s == w.shift))
                    .filter(|w| preference.post.is_none_or(|p| p == w.post))
                    .map(|w| w.col.var)
                    .sum();
                if preference.want {
                    // weight · (1 − matching): unmet wishes cost, met ones are free.
                    model.lp.add_offset(preference.weight);
                    model.lp.cost(-preference.weight, matching);
                } else {
                    model.lp.cost(preference.weight, matching);
                }
            }
        }
    }
}
