//! Lunch turns (seed 004 日工作流程 item 4): every shift with lunch takes exactly one turn of the
//! configured length inside the day's (seasonal) window, and at most ⌊n/2⌋ of a post's n staff
//! on duty lunch together, so colleagues of the same post relieve each other (东门同东门轮换).
//!
//! Leaves out: the post's minimum during lunch, which `coverage` enforces by subtracting lunches.

use std::collections::BTreeMap;

use good_lp::Expression;

use crate::milp::Model;
use crate::rules::sum;

pub(crate) fn add(model: &mut Model) {
    let problem = model.problem;
    let length = problem.rules.lunch.length;
    // (post, slot) → (staff on duty, staff at lunch), only where some lunch turn can fall.
    let mut by_post_slot: BTreeMap<(usize, usize), (Expression, Expression)> = BTreeMap::new();
    for work in model.works.iter().filter(|w| !w.lunches.is_empty()) {
        model.lp.row(sum(work.lunches.iter().map(|(_, c)| *c)).eq(work.col.var));
        for &(lunch_start, col) in &work.lunches {
            for slot in problem.slot_range(lunch_start, lunch_start + length) {
                by_post_slot.entry((work.post, slot)).or_default().1 += col.var;
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
    for (on_duty, at_lunch) in by_post_slot.into_values() {
        // at_lunch ≤ ⌊on_duty / 2⌋ ⇔ 2·at_lunch ≤ on_duty for integers.
        model.lp.row((2.0 * at_lunch).leq(on_duty));
    }
}
