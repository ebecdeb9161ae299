//! Lunch turns (seed 004 日工作流程 item 4): every shift with lunch takes exactly one turn of the
//! configured length inside the day's (seasonal) window, and while a post is open (at every
//! moment on posts listed in `share_always`) at most ⌊n/2⌋ of its n staff on duty lunch
//! together, so colleagues of the same post relieve each other (东门同东门轮换; four receptionists
//! on duty may not send three to eat at once).
//!
//! The share is hard with slack priced like a missing person-slot (`weights.coverage`): without
//! give, a post held by one person could not let them eat at all, so the solver left the post
//! empty all day rather than short for one lunch turn.
//!
//! Leaves out: the post's minimum during lunch, which `coverage` enforces by subtracting lunches
//! and adding the relief post's stand-ins.

use std::collections::BTreeMap;

use good_lp::Expression;

use crate::milp::Model;
use crate::rules::{at_least_hard, sum};

pub(crate) fn add(model: &mut Model) {
    let problem = model.problem;
    let length = problem.rules.lunch.length;
    // (post, slot) → (staff on duty, staff at lunch), only where some lunch turn can fall.
    let mut by_post_slot: BTreeMap<(usize, usize), (Expression, Expression)> = BTreeMap::new();
    for group in &model.lunch_groups {
        // Everyone in the group who works takes exactly one turn.
        let workers = sum(group.works.iter().map(|&w| model.works[w].col));
        model.lp.row(sum(group.counts.iter().copied()).eq(workers));
        for (&lunch_start, count) in group.starts.iter().zip(&group.counts) {
            for slot in problem.slot_range(lunch_start, lunch_start + length) {
                by_post_slot.entry((group.post, slot)).or_default().1 += count.var;
            }
        }
    }
    for work in &model.works {
        for slot in problem.slot_range(work.start, work.end) {
            if let Some((on_duty, _)) = by_post_slot.get_mut(&(work.post, slot)) {
                *on_duty += work.col.var;
            }
        }
    }
    let demand: Vec<_> = (0..problem.posts.len()).map(|p| problem.post_demand(p)).collect();
    for ((post_idx, slot), (on_duty, at_lunch)) in by_post_slot {
        // Only while the post is open, unless the post shares lunch at every moment: a desk
        // closed 12:00–14:00 lets its one clerk eat.
        if demand[post_idx][slot].min > 0 || problem.rules.lunch.share_always.contains(&post_idx) {
            // at_lunch ≤ ⌊on_duty / 2⌋ ⇔ 2·at_lunch ≤ on_duty for integers; a stand-in from
            // the relief post lets one more eat (a lone clerk, 办公室人员顶岗), never more.
            let extra = match model.relief.get(&(post_idx, slot)) {
                Some(standing_in) => {
                    let one_more = model.lp.nonneg();
                    model.lp.row(Expression::from(one_more.var).leq(1.0));
                    model.lp.row(Expression::from(one_more.var).leq(standing_in.var));
                    Expression::from(one_more.var)
                }
                None => Expression::from(0.0),
            };
            let room = on_duty + extra - 2.0 * at_lunch;
            at_least_hard(&mut model.lp, room, 0.0, problem.rules.weights.coverage);
        }
    }
}
