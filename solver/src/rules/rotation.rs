//! Weekly post rotation (seed 004: 东、西门一周轮换一次): a person who can hold both posts of a
//! rotation pair works only one of them in a calendar week, and the other one the week after.
//!
//! The rotation group (which post a person starts on) is fixed before solving, not left to the
//! MILP: the supervisor's `rotation_start` when given, otherwise whichever group is smaller so
//! far, in file order. With the group free (a binary per person and week) HiGHS found no
//! rule-abiding roster for 60 staff in 60 s; with it fixed, the shifts at the other post that week
//! simply get no column (ARCHITECTURE.md, "Roster solver").
//!
//! Leaves out: anyone who holds only one post of the pair; they are not part of the rotation.

use crate::model::RosterProblem;

/// For each rotation pair, each staff member's post in the first week (None: not rotating).
pub(crate) fn start_posts(problem: &RosterProblem) -> Vec<Vec<Option<usize>>> {
    problem
        .rules
        .rotations
        .iter()
        .map(|&[post_a, post_b]| {
            let mut group_sizes = [0usize; 2];
            let mut chosen: Vec<Option<usize>> = problem
                .staff
                .iter()
                .map(|s| {
                    let rotating = s.posts.contains(&post_a) && s.posts.contains(&post_b);
                    let fixed = s.rotation_start.filter(|p| rotating && (*p == post_a || *p == post_b));
                    if let Some(p) = fixed {
                        group_sizes[usize::from(p == post_b)] += 1;
                    }
                    fixed
                })
                .collect();
            for (staff_idx, staff) in problem.staff.iter().enumerate() {
                let rotating = staff.posts.contains(&post_a) && staff.posts.contains(&post_b);
                if rotating && chosen[staff_idx].is_none() {
                    let group = usize::from(group_sizes[1] < group_sizes[0]);
                    group_sizes[group] += 1;
                    chosen[staff_idx] = Some([post_a, post_b][group]);
                }
            }
            chosen
        })
        .collect()
}

/// Whether the rotation forbids `staff_idx` to work at `post_idx` on `day_idx`.
pub(crate) fn forbids(
    problem: &RosterProblem,
    starts: &[Vec<Option<usize>>],
    staff_idx: usize,
    day_idx: usize,
    post_idx: usize,
) -> bool {
    problem.rules.rotations.iter().zip(starts).any(|(&[post_a, post_b], start)| {
        let Some(first) = start[staff_idx] else { return false };
        let other = if first == post_a { post_b } else { post_a };
        let this_week = if problem.week_of(day_idx).is_multiple_of(2) { first } else { other };
        (post_idx == post_a || post_idx == post_b) && post_idx != this_week
    })
}
