//! Coverage: each post's minimum (hard, slack-penalised) and desired staffing (soft) in every slot,
//! and the centre's minimum on duty around the clock (seed 004: 任何情况下至少有一人值守).
//! Someone at lunch is not at the post, so lunch turns subtract from the count.
//!
//! Leaves out: how many may lunch together (`lunch`).

use good_lp::Expression;

use crate::milp::Model;
use crate::rules::{at_least_hard, at_least_with_slack};

/// Per slot of the horizon: staff present at each post, lunch taken into account.
pub(crate) fn presence_by_post(model: &Model) -> Vec<Vec<Expression>> {
    let problem = model.problem;
    let mut presence = vec![vec![Expression::from(0.0); problem.n_slots()]; problem.posts.len()];
    for work in &model.works {
        for slot in problem.slot_range(work.start, work.end) {
            presence[work.post][slot] += work.col.var;
        }
    }
    for group in &model.lunch_groups {
        for (&lunch_start, count) in group.starts.iter().zip(&group.counts) {
            for slot in problem.slot_range(lunch_start, lunch_start + problem.rules.lunch.length) {
                presence[group.post][slot] -= count.var;
            }
        }
    }
    presence
}

pub(crate) fn add(model: &mut Model) {
    let problem = model.problem;
    let weights = &problem.rules.weights;
    let presence = presence_by_post(model);
    for (post_idx, post_presence) in presence.iter().enumerate() {
        for (slot, demand) in problem.post_demand(post_idx).into_iter().enumerate() {
            if demand.min > 0 {
                at_least_hard(&mut model.lp, post_presence[slot].clone(), demand.min as f64, weights.coverage);
            }
            if demand.desired > demand.min {
                at_least_with_slack(&mut model.lp, post_presence[slot].clone(), demand.desired as f64, weights.desired);
            }
        }
    }
    if problem.rules.min_on_duty > 0 {
        for slot in problem.on_duty_slots() {
            let everyone: Expression = presence.iter().map(|p| p[slot].clone()).sum();
            at_least_hard(&mut model.lp, everyone, problem.rules.min_on_duty as f64, weights.coverage);
        }
    }
}
