//! Shortfalls name their real cause, found by trying each person who holds the post in the
//! roster: lunch turns, leave, rest, roles, weekly hours. Each case is built so that exactly one
//! cause is true, and the words must name it and no guess.

use kefu_solver::Status;

use crate::support::{Solved, example_text, solve_checked};

fn coverage_details(solved: &Solved) -> Vec<&str> {
    solved.outcome.violations.iter().filter(|v| v.rule.id() == "coverage").map(|v| v.detail.en.as_str()).collect()
}

/// One desk clerk, the desk open 09:00–17:00 on weekdays; `period_end` sets how much of the
/// week the period covers (the weekly hours are pro rata).
fn lone_desk(period_end: &str) -> String {
    format!(
        r#"
name = "lone desk"
roles = ["reception", "maintenance"]
[period]
start = "2026-03-02"
end = "{period_end}"
slot_minutes = 30
[rules]
min_on_duty = 0
lunch = {{ window = ["11:30", "13:30"], length_minutes = 30 }}
[[posts]]
id = "desk"
need = [{{ days = ["weekday"], from = "09:00", to = "17:00", min = 1 }}]
[[shifts]]
id = "D"
start = "08:30"
end = "17:30"
roles = ["reception"]
lunch = true
[[staff]]
id = "clerk"
roles = ["reception"]
posts = ["desk"]
[[staff]]
id = "fixer"
roles = ["maintenance"]
posts = ["desk"]
"#
    )
}

#[test]
fn a_lone_clerk_at_lunch_is_the_cause_not_rest_or_hours() {
    let solved = solve_checked(&lone_desk("2026-03-08"), 60.0);
    assert_eq!(solved.outcome.status, Status::Infeasible);
    let details = coverage_details(&solved);
    assert_eq!(details.len(), 5, "one lunch turn short a weekday: {details:#?}");
    for detail in details {
        // The clerk is at lunch; the maintenance man holds the desk but has no role for its shift.
        assert!(detail.ends_with("0 of 1 required at desk: 1 at lunch; no role for a shift there: fixer"), "{detail}");
    }
}

#[test]
fn weekly_hours_are_named_when_they_keep_the_clerk_off() {
    // Monday to Friday is 5/7 of a week: 48 h × 5/7 = 34.3 h allows three 9-hour shifts.
    let solved = solve_checked(&lone_desk("2026-03-06"), 60.0);
    let whole_days: Vec<&str> = coverage_details(&solved).into_iter().filter(|d| d.contains("09:00–17:00")).collect();
    assert_eq!(whole_days.len(), 2, "two of five weekdays left: {whole_days:#?}");
    for detail in whole_days {
        assert!(detail.ends_with("would pass the weekly hours: clerk; no role for a shift there: fixer"), "{detail}");
    }
}

#[test]
fn leave_and_rest_are_told_apart_on_the_short_night() {
    let solved = solve_checked(&example_text("short_night.toml"), 30.0);
    let details = coverage_details(&solved);
    assert!(details.contains(&"Tue 03-03 17:30–08:00: no maintenance staff available: on leave: guo"), "{details:#?}");
    // The other empty nights fall between two of guo's: too little rest, not leave or hours.
    let others: Vec<&&str> = details.iter().filter(|d| !d.starts_with("Tue")).collect();
    assert!(!others.is_empty());
    for detail in others {
        assert!(detail.ends_with("0 of 1 required at maintenance: would rest too little: guo"), "{detail}");
    }
}
