//! The checker on rosters that break rules on purpose: each tampering of a valid roster must be
//! caught under the right rule id, and a valid roster must pass untouched.

use kefu_solver::model::LeaveKind;
use kefu_solver::roster::{DayOff, Roster};
use kefu_solver::{check, output::read_roster_json};

use crate::support::week;

fn rules_broken(roster: &Roster) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = check(&week().problem, roster).iter().map(|v| v.rule.id()).collect();
    ids.dedup();
    ids
}

fn staff_idx(id: &str) -> usize {
    week().problem.staff.iter().position(|s| s.id == id).expect("staff exists")
}

#[test]
fn the_solved_roster_passes() {
    assert_eq!(rules_broken(&week().outcome.roster), Vec::<&str>::new());
}

#[test]
fn granting_both_june_requests_breaks_the_leave_cap() {
    let mut roster = week().outcome.roster.clone();
    let li = staff_idx("li");
    // 29 and 30 June: days 0 and 1 of the period; li has 3 days taken in June already.
    roster.assignments.retain(|a| !(a.staff == li && a.day < 2));
    roster.days_off.retain(|d| !(d.staff == li && d.day < 2));
    for day in 0..2 {
        roster.days_off.push(DayOff { staff: li, day, kind: LeaveKind::Compensatory });
    }
    roster.sort();
    assert!(rules_broken(&roster).contains(&"leave_cap"), "{:?}", check(&week().problem, &roster));
}

#[test]
fn sending_a_whole_gate_to_lunch_at_once_is_caught() {
    let mut roster = week().outcome.roster.clone();
    let gate = week().problem.posts.iter().position(|p| p.id == "east_gate").expect("east gate");
    let day = 0;
    let same_time =
        roster.assignments.iter().find(|a| a.post == gate && a.day == day).and_then(|a| a.lunch).expect("a lunch");
    for a in roster.assignments.iter_mut().filter(|a| a.post == gate && a.day == day) {
        a.lunch = Some(same_time);
    }
    let broken = rules_broken(&roster);
    assert!(broken.contains(&"lunch") && broken.contains(&"coverage"), "{broken:?}");
}

#[test]
fn dropping_the_night_shift_leaves_the_centre_uncovered() {
    let mut roster = week().outcome.roster.clone();
    let night = week().problem.posts.iter().position(|p| p.id == "night").expect("night post");
    roster.assignments.retain(|a| !(a.post == night && a.day == 3));
    let violations = check(&week().problem, &roster);
    assert!(
        violations.iter().any(|v| v.rule.id() == "coverage" && v.detail.en.starts_with("Thu 07-02 18:00–")),
        "{violations:?}"
    );
    assert!(violations.iter().any(|v| v.rule.id() == "min_on_duty"));
}

#[test]
fn a_receptionist_on_night_duty_and_on_leave_is_caught() {
    let mut roster = week().outcome.roster.clone();
    let night = week().problem.posts.iter().position(|p| p.id == "night").expect("night post");
    let wang = staff_idx("wang");
    // wang has approved leave on 3 July (day 4): put him on that night's shift instead.
    let shift = roster.assignments.iter_mut().find(|a| a.post == night && a.day == 4).expect("a night shift");
    shift.staff = wang;
    roster.days_off.retain(|d| !(d.staff == wang && d.day == 4));
    let broken = rules_broken(&roster);
    assert!(broken.contains(&"eligibility") && broken.contains(&"leave"), "{broken:?}");
}

#[test]
fn reading_a_roster_with_unknown_ids_is_an_error() {
    let text = r#"{"assignments": [{"staff": "nobody", "date": "2026-06-29", "shift": "A", "post": "phones",
        "start": "2026-06-29T07:45", "end": "2026-06-29T16:15", "lunch": null}]}"#;
    let error = read_roster_json(&week().problem, text).expect_err("unknown staff");
    assert_eq!(error.to_string(), "roster file: unknown staff `nobody`");
}
