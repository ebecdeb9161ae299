//! Coverage: each post's minimum (hard, slack-penalised) and desired staffing (soft) in every slot,
//! and the centre's minimum on duty around the clock (seed 004: 任何情况下至少有一人值守).
//! Someone at lunch is not at the post, so lunch turns subtract from the count; on a post with a
//! `lunch_relief` post, spare staff there stand in for them (办公室人员顶岗).
//!
//! Leaves out: how many may lunch together (`lunch`).

use std::collections::BTreeMap;

use good_lp::Expression;

use crate::milp::Model;
use crate::rules::{at_least_hard, at_least_with_slack};

/// Per slot of the horizon: staff present at each post, lunch taken into account.
fn presence_by_post(model: &Model) -> Vec<Vec<Expression>> {
    let problem = model.problem;
    let mut presence = vec![vec![Expression::from(0.0); problem.n_slots()]; problem.posts.len()];
    for work in &model.works {
        for slot in problem.slot_range(work.start, work.end) {
            presence[work.post][slot] += work.col.var;
        }
    }
    for (&(post, slot), at_lunch) in &at_lunch(model) {
        presence[post][slot] -= at_lunch.clone();
    }
    presence
}

/// Per (post, slot) where some lunch turn can fall: how many of the post's staff are at lunch.
pub(crate) fn at_lunch(model: &Model) -> BTreeMap<(usize, usize), Expression> {
    let problem = model.problem;
    let mut eating: BTreeMap<(usize, usize), Expression> = BTreeMap::new();
    for group in &model.lunch_groups {
        for (&lunch_start, count) in group.starts.iter().zip(&group.counts) {
            for slot in problem.slot_range(lunch_start, lunch_start + problem.rules.lunch.length) {
                *eating.entry((group.post, slot)).or_default() += count.var;
            }
        }
    }
    eating
}

pub(crate) fn add(model: &mut Model) {
    let problem = model.problem;
    let weights = &problem.rules.weights;
    let presence = presence_by_post(model);
    // Stand-ins: at most as many as are at lunch, drawn from the relief post's people present.
    let mut supply = presence.clone();
    let mut drawn: BTreeMap<(usize, usize), Expression> = BTreeMap::new();
    for ((post, slot), eating) in at_lunch(model) {
        let Some(relief) = problem.posts[post].lunch_relief else { continue };
        let standing_in = model.lp.nonneg();
        model.lp.row(Expression::from(standing_in.var).leq(eating));
        supply[post][slot] += standing_in.var;
        supply[relief][slot] -= standing_in.var;
        *drawn.entry((relief, slot)).or_default() += standing_in.var;
        model.relief.insert((post, slot), standing_in);
    }
    for ((relief, slot), standing_in) in drawn {
        model.lp.row(standing_in.leq(presence[relief][slot].clone()));
    }
    for (post_idx, post_supply) in supply.iter().enumerate() {
        for (slot, demand) in problem.post_demand(post_idx).into_iter().enumerate() {
            if demand.min > 0 {
                at_least_hard(&mut model.lp, post_supply[slot].clone(), demand.min as f64, weights.coverage);
            }
            if demand.desired > demand.min {
                let own = presence[post_idx][slot].clone();
                at_least_with_slack(&mut model.lp, own, demand.desired as f64, weights.desired);
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
