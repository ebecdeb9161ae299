//! Weekly post rotation (seed 004: 东、西门一周轮换一次): a person who can hold both posts of a
//! rotation pair works only one of them in a calendar week, and the other one the week after.
//!
//! Leaves out: anyone who holds only one post of the pair; they are not part of the rotation.

use good_lp::IntoAffineExpression;

use crate::milp::Model;

pub(crate) fn add(model: &mut Model) {
    let problem = model.problem;
    for &[post_a, post_b] in &problem.rules.rotations {
        for (staff_idx, staff) in problem.staff.iter().enumerate() {
            if !(staff.posts.contains(&post_a) && staff.posts.contains(&post_b)) {
                continue;
            }
            // on_a[w] = 1: this week at post A, so no shift at post B, and the reverse next week.
            let on_a: Vec<_> = (0..problem.n_weeks()).map(|_| model.lp.binary()).collect();
            for pair in on_a.windows(2) {
                model.lp.row((pair[0].var + pair[1].var).eq(1.0));
            }
            match staff.rotation_start {
                Some(p) if p == post_a => model.lp.row(on_a[0].var.into_expression().eq(1.0)),
                Some(p) if p == post_b => model.lp.row(on_a[0].var.into_expression().eq(0.0)),
                _ => {}
            }
            for day_idx in 0..problem.days.len() {
                let week = on_a[problem.week_of(day_idx)];
                for &w in &model.by_staff_day[staff_idx][day_idx] {
                    let work = &model.works[w];
                    if work.post == post_a {
                        model.lp.row(work.col.var.into_expression().leq(week.var));
                    } else if work.post == post_b {
                        model.lp.row((work.col.var + week.var).leq(1.0));
                    }
                }
            }
        }
    }
}
