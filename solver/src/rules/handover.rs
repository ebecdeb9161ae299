//! Handover (seed 004: 值班人员应提前15分钟到岗，以便交接班): whoever leaves a post that stays
//! open must be relieved by a colleague at the same post who arrived at least the handover time
//! before the end of the shift and stays after it.
//!
//! Leaves out: handing over open work to the next day's staff, which is a duty-log matter (core).

use good_lp::IntoAffineExpression;

use crate::milp::Model;
use crate::rules::sum;

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
    let mut rows = Vec::new();
    for work in &model.works {
        let end_slot = (work.end / problem.slot_minutes) as usize;
        if demand[work.post].get(end_slot).is_none_or(|d| d.min == 0) {
            continue; // the post closes when this shift ends, or the horizon does
        }
        let relievers = (work.day.saturating_sub(1)..(work.day + 2).min(n_days))
            .flat_map(|d| by_post_day[work.post][d].iter().map(|&v| &model.works[v]))
            .filter(|r| r.staff != work.staff && r.start + handover <= work.end && r.end > work.end)
            .map(|r| r.col);
        rows.push(work.col.var.into_expression().leq(sum(relievers)));
    }
    for row in rows {
        model.lp.row(row);
    }
}
