//! Weekly post rotation over two weeks: east and west gate staff swap every Monday.

use std::collections::BTreeSet;

use kefu_solver::Status;

use crate::support::solve_checked;

const TWO_GATES: &str = r#"
name = "two gates"
roles = ["reception"]
[period]
start = "2026-03-02"
end = "2026-03-15"
slot_minutes = 30
[rules]
min_on_duty = 0
lunch = { window = ["11:30", "13:30"], length_minutes = 30 }
rotation = [{ posts = ["east", "west"] }]
[default_contract]
max_hours_per_week = 48
max_consecutive_days = 6
[[posts]]
id = "east"
need = [{ days = ["weekday"], from = "08:00", to = "16:00", min = 1 }]
[[posts]]
id = "west"
need = [{ days = ["weekday"], from = "08:00", to = "16:00", min = 1 }]
[[shifts]]
id = "D"
start = "08:00"
end = "16:00"
roles = ["reception"]
[[staff]]
id = "a"
roles = ["reception"]
posts = ["east", "west"]
rotation_start = "east"
[[staff]]
id = "b"
roles = ["reception"]
posts = ["east", "west"]
[[staff]]
id = "c"
roles = ["reception"]
posts = ["east", "west"]
"#;

#[test]
fn gate_staff_swap_posts_every_week() {
    let solved = solve_checked(TWO_GATES, 60.0);
    assert_eq!(solved.outcome.status, Status::Optimal);
    for staff in ["a", "b", "c"] {
        let posts_in = |second_week: bool| -> BTreeSet<&str> {
            solved
                .json
                .assignments
                .iter()
                .filter(|x| x.staff == staff && (x.date.as_str() > "2026-03-08") == second_week)
                .map(|x| x.post.as_str())
                .collect()
        };
        let (first, second) = (posts_in(false), posts_in(true));
        assert!(first.len() <= 1 && second.len() <= 1, "{staff}: {first:?} then {second:?}");
        assert!(first.is_disjoint(&second), "{staff} stays at {first:?} two weeks running");
    }
    assert!(
        solved
            .json
            .assignments
            .iter()
            .filter(|x| x.staff == "a" && x.date.as_str() <= "2026-03-08")
            .all(|x| x.post == "east")
    );
}

#[test]
fn the_checker_catches_a_missed_swap() {
    let solved = solve_checked(TWO_GATES, 60.0);
    let mut roster = solved.outcome.roster.clone();
    // Ten gate days a week and at most six per person: two of the three work each week, so one
    // of them works both. Keep that person at their first post for the whole fortnight.
    let works_in = |staff: usize, second_week: bool| {
        roster.assignments.iter().any(|x| x.staff == staff && (x.day >= 7) == second_week)
    };
    let both = (0..3).find(|&s| works_in(s, false) && works_in(s, true)).expect("someone works both weeks");
    let first_post = roster.assignments.iter().find(|x| x.staff == both).expect("works").post;
    for x in roster.assignments.iter_mut().filter(|x| x.staff == both) {
        x.post = first_post;
    }
    let id = &solved.problem.staff[both].id;
    let violations = kefu_solver::check(&solved.problem, &roster);
    assert!(violations.iter().any(|v| v.rule.id() == "rotation" && &v.at == id), "{violations:?}");
}
