//! Handover (seed 004: 值班人员应提前15分钟到岗，以便交接班): whoever leaves a post that stays
//! open must be relieved by a colleague at the same post who arrived at least the handover time
//! before the end of the shift and stays after it. Posts in a handover chain (`handover_chains`:
//! night duty handing over to the morning desk) count as one: a leaver is relieved by someone at
//! any post of the chain, and must be while any of them is open.
//!
//! A hard rule with slack, priced like a slot below a post's minimum: without give, a need that
//! outlasts every shift (the desk open to 18:30, every shift ending at 18:15) barred every shift
//! that ends while the post is open, and the post stayed empty all day (issue 17). With it, the
//! desk is covered to 18:15 and the validator reports the unrelieved leaver and the short end.
//!
//! Leaves out: handing over open work to the next day's staff, which is a duty-log matter (core).

use std::collections::BTreeMap;

use crate::milp::Model;
use crate::rules::{Col, at_least_hard, sum};

pub(crate) fn add(model: &mut Model) {
    let problem = model.problem;
    let handover = problem.rules.handover_minutes;
    if handover == 0 {
        return;
    }
    let n_days = problem.days.len();
    // Works grouped by (post, day) so relievers are looked up among a few hundred, not all.
    let mut by_post_day = vec![vec![Vec::new(); n_days]; problem.posts.len()];
    for (w, work) in model.works.iter().enumerate() {
        by_post_day[work.post][work.day].push(w);
    }
    let demand: Vec<_> = (0..problem.posts.len()).map(|p| problem.post_demand(p)).collect();
    // One slack per post and leaving time, shared by everyone leaving then: a few hundred
    // columns instead of one per work column, and "the post was left unrelieved at 18:15" is
    // one breach whoever left.
    let mut slack: BTreeMap<(usize, u32), Col> = BTreeMap::new();
    let weight = problem.rules.weights.coverage;
    for work in &model.works {
        let end_slot = (work.end / problem.slot_minutes) as usize;
        let chain = &problem.rules.handover_posts[work.post];
        if chain.iter().all(|&post| demand[post].get(end_slot).is_none_or(|d| d.min == 0)) {
            continue; // the chain closes when this shift ends, or the horizon does
        }
        let by_post_day = &by_post_day;
        let relievers = (work.day.saturating_sub(1)..(work.day + 2).min(n_days))
            .flat_map(|d| chain.iter().flat_map(move |&post| by_post_day[post][d].iter()))
            .map(|&v| &model.works[v])
            .filter(|r| r.staff != work.staff && r.start + handover <= work.end && r.end > work.end)
            .map(|r| r.col);
        // relieved − leaving ≥ 0, the post's slack for this time making up the rest.
        let relieved = sum(relievers) - work.col.var;
        // A chain shares one slack, keyed by its first post.
        let key = (chain[0], work.end);
        match slack.get(&key) {
            Some(shared) => model.lp.row((relieved + shared.var).geq(0.0)),
            None => {
                slack.insert(key, at_least_hard(&mut model.lp, relieved, 0.0, weight));
            }
        }
    }
}
