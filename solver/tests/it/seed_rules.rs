//! The duty rules of `seed_rules.toml`, one test each: per-date day types, people of a role each
//! day, night duty by role, handover across posts, the lunch share at every moment, post wishes
//! and leave taken per month. Each rule is seen met by the solved roster, caught by the checker
//! when a roster is edited to break it, and named when an edited team makes it impossible.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::NaiveDate;
use expect_test::{Expect, expect};
use kefu_solver::model::{DAY_MINUTES, DayType, LeaveKind};
use kefu_solver::roster::{DayOff, Roster};
use kefu_solver::{Status, check, parse_team};

use crate::support::{Solved, example_text, solve_checked};

pub fn solved() -> &'static Solved {
    static SOLVED: OnceLock<Solved> = OnceLock::new();
    SOLVED.get_or_init(|| solve_checked(&example_text("seed_rules.toml"), 120.0))
}

/// The example with `from` (which it must contain) replaced by `to`.
fn edited(from: &str, to: &str) -> String {
    let text = example_text("seed_rules.toml");
    assert!(text.contains(from), "the example no longer contains {from:?}");
    text.replacen(from, to, 1)
}

fn idx(names: impl Iterator<Item = String>, id: &str) -> usize {
    names.into_iter().position(|n| n == id).unwrap_or_else(|| panic!("{id} exists"))
}

fn staff(id: &str) -> usize {
    idx(solved().problem.staff.iter().map(|s| s.id.clone()), id)
}

fn post(id: &str) -> usize {
    idx(solved().problem.posts.iter().map(|p| p.id.clone()), id)
}

fn shift(id: &str) -> usize {
    idx(solved().problem.shifts.iter().map(|s| s.id.clone()), id)
}

fn day(date: &str) -> usize {
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date");
    solved().problem.day_index(date).expect("in the period")
}

/// Rule ids the checker finds in an edited roster, each once.
fn rules_broken(roster: &Roster) -> BTreeSet<&'static str> {
    check(&solved().problem, roster).iter().map(|v| v.rule.id()).collect()
}

#[test]
fn the_example_meets_every_rule() {
    let solved = solved();
    assert!(matches!(solved.outcome.status, Status::Optimal | Status::Feasible), "{:?}", solved.outcome.status);
    assert!(solved.outcome.violations.is_empty());
    assert!(solved.problem.warnings.is_empty(), "{:?}", solved.problem.warnings);
}

#[test]
fn a_working_saturday_runs_the_weekday_timetable_and_a_holiday_the_sunday_one() {
    let solved = solved();
    let problem = &solved.problem;
    let date = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("date");
    assert_eq!(problem.day_type(date("2026-05-09")), DayType::Weekday, "调休上班 Saturday");
    assert_eq!(problem.day_type(date("2026-05-04")), DayType::Sunday, "Labour Day Monday");
    // The gate opens on weekdays only: staffed on the working Saturday, shut on the holidays.
    let at_gate = |d: &str| {
        solved.outcome.roster.assignments.iter().filter(|a| a.post == post("gate") && a.day == day(d)).count()
    };
    assert!(at_gate("2026-05-09") >= 4, "two from 08:00 to 18:00 need four shifts");
    assert_eq!((at_gate("2026-05-01"), at_gate("2026-05-04"), at_gate("2026-05-10")), (0, 0, 0));
}

#[test]
fn two_different_agents_work_the_phones_every_day() {
    let solved = solved();
    let agents = ["a1", "a2", "a3", "a4"].map(staff);
    for d in 0..solved.problem.days.len() {
        let people: BTreeSet<usize> = solved
            .outcome
            .roster
            .assignments
            .iter()
            .filter(|a| a.day == d && a.post == post("phones") && agents.contains(&a.staff))
            .map(|a| a.staff)
            .collect();
        assert!(people.len() >= 2, "day {d}: {people:?}");
    }
    // Moving one of them to a day off breaks the rule on that day, and says so.
    let mut roster = solved.outcome.roster.clone();
    let d = day("2026-04-28");
    let first = roster.assignments.iter().position(|a| a.day == d && agents.contains(&a.staff)).expect("an agent");
    let removed = roster.assignments.remove(first);
    roster.days_off.push(DayOff { staff: removed.staff, day: d, kind: LeaveKind::DayOff });
    roster.sort();
    let violations = check(&solved.problem, &roster);
    let daily: Vec<&str> =
        violations.iter().filter(|v| v.rule.id() == "daily_role").map(|v| v.detail.en.as_str()).collect();
    assert_eq!(daily, ["2026-04-28: 1 agent on duty at phones, 2 required every day"], "{violations:?}");
}

#[test]
fn only_maintenance_staff_work_into_the_night_whatever_the_template() {
    let solved = solved();
    let maintenance = ["m1", "m2", "m3", "m4"].map(staff);
    // At work at some moment of 21:00–07:00: the night of some day, or the first morning.
    let nights = 0..=solved.problem.days.len() as u32;
    for a in &solved.outcome.roster.assignments {
        let in_night = a.start % DAY_MINUTES < 7 * 60
            || nights.clone().any(|d| a.start < d * DAY_MINUTES + 31 * 60 && d * DAY_MINUTES + 21 * 60 < a.end);
        assert!(!in_night || maintenance.contains(&a.staff), "{a:?}");
    }
    // An agent on the evening phones (13:00–22:00), which an agent may otherwise work, is caught.
    let mut roster = solved.outcome.roster.clone();
    let a = roster.assignments.iter_mut().find(|a| a.staff == staff("a1")).expect("a1 works");
    let origin = a.day as u32 * DAY_MINUTES;
    (a.shift, a.post, a.start, a.end, a.lunch) = (shift("X"), post("phones"), origin + 13 * 60, origin + 22 * 60, None);
    let violations = check(&solved.problem, &roster);
    let night: Vec<&str> =
        violations.iter().filter(|v| v.rule.id() == "night_duty").map(|v| v.detail.en.as_str()).collect();
    assert_eq!(night.len(), 1, "{violations:?}");
    assert!(
        night[0].starts_with("a1 works X at phones")
            && night[0].ends_with("21:00–07:00, which is for roles maintenance")
    );
}

#[test]
fn the_night_duty_hands_over_to_the_morning_desk() {
    let solved = solved();
    let roster = &solved.outcome.roster;
    // Every weekday morning the night leaver at 08:30 finds the desk staffed since 08:15.
    for d in ["2026-04-28", "2026-04-29", "2026-05-07", "2026-05-09"].map(day) {
        let end = d as u32 * DAY_MINUTES + 8 * 60 + 30;
        assert!(roster.assignments.iter().any(|a| a.post == post("night") && a.end == end), "day {d}");
        let relieved = roster
            .assignments
            .iter()
            .any(|a| [post("desk"), post("night")].contains(&a.post) && a.start + 15 <= end && a.end > end);
        assert!(relieved, "day {d}");
    }
    // Without the desk's early shifts that morning the night leaver is unrelieved.
    let mut edited = roster.clone();
    let d = day("2026-04-28");
    edited.assignments.retain(|a| !(a.day == d && a.post == post("desk") && a.shift == shift("D")));
    let violations = check(&solved.problem, &edited);
    assert!(
        violations
            .iter()
            .any(|v| v.rule.id() == "handover" && v.detail.en.contains("leaves night at 2026-04-28T08:30")),
        "{violations:?}"
    );
}

#[test]
fn a_chain_whose_posts_cannot_hand_over_is_proven_infeasible_at_the_right_time() {
    // A desk shift from 08:30 leaves nobody who arrived by 08:15 to relieve the night at 08:30.
    let text = edited("start = \"07:45\"\nend = \"16:15\"", "start = \"08:30\"\nend = \"17:00\"");
    let team = text.replace(
        "from = \"08:00\", to = \"18:00\", min = 1 },\n  { days = [\"saturday\"]",
        "from = \"08:30\", to = \"18:00\", min = 1 },\n  { days = [\"saturday\"]",
    );
    let solved = solve_checked(&team, 120.0);
    assert_eq!(solved.outcome.status, Status::Infeasible);
    let handover: Vec<&str> =
        solved.outcome.violations.iter().filter(|v| v.rule.id() == "handover").map(|v| v.detail.en.as_str()).collect();
    assert!(!handover.is_empty());
    assert!(
        handover
            .iter()
            .all(|d| d.contains("leaves night at") && d.ends_with("T08:30 with no colleague there since 08:15")),
        "{handover:#?}"
    );
}

#[test]
fn the_gate_keeps_half_its_staff_through_its_lunch_closure() {
    let solved = solved();
    let gate = post("gate");
    assert_eq!(solved.problem.post_demand(gate)[(12 * 60 + 15) / 15].min, 0, "the gate is shut at 12:15");
    let mut counts: BTreeMap<u32, (u32, u32)> = BTreeMap::new(); // slot start → (on duty, at lunch)
    for a in solved.outcome.roster.assignments.iter().filter(|a| a.post == gate) {
        for slot in (a.start..a.end).step_by(15) {
            counts.entry(slot).or_default().0 += 1;
        }
        let (from, to) = a.lunch.expect("gate shifts have lunch");
        for slot in (from..to).step_by(15) {
            counts.entry(slot).or_default().1 += 1;
        }
    }
    assert!(counts.values().any(|&(n, _)| n >= 4), "some day has four at the gate");
    for (slot, (n, eating)) in &counts {
        assert!(eating * 2 <= *n, "{eating} of {n} at lunch at minute {slot}");
    }
    // Sending the whole gate to lunch at 12:00 breaks the lunch rule only: the gate is shut.
    let mut roster = solved.outcome.roster.clone();
    let d = day("2026-04-27");
    for a in roster.assignments.iter_mut().filter(|a| a.post == gate && a.day == d) {
        let noon = a.day as u32 * DAY_MINUTES + 12 * 60;
        a.lunch = Some((noon, noon + 30));
    }
    assert_eq!(rules_broken(&roster), BTreeSet::from(["lunch"]));
}

#[test]
fn a_post_wish_keeps_r1_off_the_gate() {
    let solved = solved();
    let r1 = staff("r1");
    let posts: BTreeSet<usize> =
        solved.outcome.roster.assignments.iter().filter(|a| a.staff == r1).map(|a| a.post).collect();
    assert_eq!(posts, BTreeSet::from([post("desk")]), "r1 works, at the desk only");
}

#[test]
fn leave_taken_counts_in_each_month_the_period_touches() {
    let solved = solved();
    let r3 = staff("r3");
    let granted: Vec<usize> = solved
        .outcome
        .roster
        .days_off
        .iter()
        .filter(|o| o.staff == r3 && o.kind == LeaveKind::Compensatory)
        .map(|o| o.day)
        .collect();
    // April: three taken, so one of the two requests; May: three taken and one approved, none.
    let april = granted.iter().filter(|&&d| d == day("2026-04-29") || d == day("2026-04-30")).count();
    assert_eq!((april, granted.contains(&day("2026-05-06")), granted.contains(&day("2026-05-07"))), (1, true, false));
    // Granting the May request as well breaks May's cap, named with its month.
    let mut roster = solved.outcome.roster.clone();
    roster.assignments.retain(|a| !(a.staff == r3 && a.day == day("2026-05-07")));
    roster.days_off.retain(|o| !(o.staff == r3 && o.day == day("2026-05-07")));
    roster.days_off.push(DayOff { staff: r3, day: day("2026-05-07"), kind: LeaveKind::Compensatory });
    roster.sort();
    let violations = check(&solved.problem, &roster);
    let cap: Vec<&str> =
        violations.iter().filter(|v| v.rule.id() == "leave_cap").map(|v| v.detail.en.as_str()).collect();
    assert_eq!(
        cap,
        ["r3 has 5 leave and compensatory days in 2026-05 (3 taken before the period), above the cap of 4"]
    );
}

#[test]
fn leave_already_above_the_cap_is_proven_infeasible_naming_the_person_and_month() {
    let solved = solve_checked(&edited("\"2026-05\" = 3", "\"2026-05\" = 4"), 120.0);
    assert_eq!(solved.outcome.status, Status::Infeasible);
    let details: Vec<(&str, &str)> =
        solved.outcome.violations.iter().map(|v| (v.rule.id(), v.detail.en.as_str())).collect();
    assert_eq!(
        details,
        [(
            "leave_cap",
            "r3 has 5 leave and compensatory days in 2026-05 (4 taken before the period), above the cap of 4"
        )]
    );
}

#[test]
fn one_agent_on_a_day_is_proven_infeasible_naming_the_day() {
    let team = ["a2", "a3", "a4"].iter().fold(example_text("seed_rules.toml"), |text, id| {
        let entry = format!("id = \"{id}\"\nroles = [\"agent\"]\n");
        assert!(text.contains(&entry));
        text.replacen(&entry, &format!("{entry}leave = [{{ date = \"2026-04-28\" }}]\n"), 1)
    });
    let solved = solve_checked(&team, 120.0);
    assert_eq!(solved.outcome.status, Status::Infeasible);
    let daily: Vec<(&str, &str)> = solved
        .outcome
        .violations
        .iter()
        .filter(|v| v.rule.id() == "daily_role")
        .map(|v| (v.at.as_str(), v.detail.en.as_str()))
        .collect();
    assert_eq!(daily, [("2026-04-28", "2026-04-28: 1 agent on duty at phones, 2 required every day")]);
}

fn error(from: &str, to: &str, expected: Expect) {
    let error = parse_team(&edited(from, to)).expect_err("the edit makes the file invalid");
    expected.assert_eq(&error.to_string());
}

#[test]
fn a_day_both_holiday_and_working_day_is_refused() {
    error(
        "working_days = [\"2026-05-09\"]",
        "working_days = [\"2026-05-05\"]",
        expect!["line 17, column 17: period: 2026-05-05 is both a holiday and a working day"],
    );
}

#[test]
fn leave_taken_in_a_month_the_period_misses_is_refused() {
    error(
        "\"2026-04\" = 3",
        "\"2026-03\" = 3",
        expect!["line 162, column 15: staff r3: leave_taken month `2026-03` is not a YYYY-MM the period touches"],
    );
}

#[test]
fn a_post_in_two_handover_chains_is_refused() {
    error(
        "handover_chains = [{ posts = [\"night\", \"desk\"] }]",
        "handover_chains = [{ posts = [\"night\", \"desk\"] }, { posts = [\"desk\", \"gate\"] }]",
        expect!["line 29, column 62: rules: post desk is in a handover chain twice"],
    );
}

#[test]
fn an_unknown_role_in_the_daily_rule_is_refused() {
    error(
        "daily = [{ role = \"agent\"",
        "daily = [{ role = \"agents\"",
        expect!["line 33, column 19: rules: unknown role `agents`"],
    );
}

#[test]
fn a_night_rule_without_roles_is_refused() {
    error(
        "roles = [\"maintenance\"] }",
        "roles = [] }",
        expect!["line 36, column 49: rules: no roles: nobody could work at night"],
    );
}

#[test]
fn an_unknown_post_in_a_wish_names_the_person() {
    error(
        "prefer = [{ post = \"gate\"",
        "prefer = [{ post = \"gates\"",
        expect!["line 149, column 20: staff r1: unknown post `gates`"],
    );
}

/// One desk clerk and one office clerk: the desk is open through lunch, so its clerk may eat only
/// while the office stands in (办公室人员顶岗).
const LONE_DESK: &str = r#"
name = "lone desk"
roles = ["reception", "office"]
[period]
start = "2026-03-02"
end = "2026-03-08"
slot_minutes = 30
[rules]
min_on_duty = 0
lunch = { window = ["11:30", "13:30"], length_minutes = 30 }
[[posts]]
id = "desk"
need = [{ days = ["weekday"], from = "09:00", to = "17:00", min = 1 }]
lunch_relief = "office"
[[posts]]
id = "office"
[[shifts]]
id = "D"
start = "08:30"
end = "17:30"
roles = ["reception"]
posts = ["desk"]
lunch = true
[[shifts]]
id = "O"
start = "08:30"
end = "17:30"
roles = ["office"]
posts = ["office"]
lunch = true
[[staff]]
id = "clerk"
roles = ["reception"]
posts = ["desk"]
[[staff]]
id = "officer"
roles = ["office"]
posts = ["office"]
"#;

#[test]
fn the_office_stands_in_while_a_lone_clerk_eats() {
    let solved = solve_checked(LONE_DESK, 120.0);
    assert_eq!(solved.outcome.status, Status::Optimal);
    let roster = &solved.outcome.roster;
    for d in 0..5 {
        let lunch = |id: usize| {
            let a = roster.assignments.iter().find(|a| a.day == d && a.staff == id).expect("both work every day");
            a.lunch.expect("with lunch")
        };
        let (clerk, officer) = (lunch(0), lunch(1));
        assert!(clerk.1 <= officer.0 || officer.1 <= clerk.0, "day {d}: the office eats while standing in");
    }
    // Both at lunch at once leaves nobody to stand in, and the checker says so at that time.
    let mut edited = roster.clone();
    let clerk_lunch = edited.assignments.iter().find(|a| a.day == 0 && a.staff == 0).and_then(|a| a.lunch);
    edited.assignments.iter_mut().filter(|a| a.day == 0).for_each(|a| a.lunch = clerk_lunch);
    let violations = check(&solved.problem, &edited);
    let details: Vec<&str> = violations.iter().map(|v| v.detail.en.as_str()).collect();
    assert!(!details.is_empty() && violations.iter().all(|v| v.rule.id() == "lunch"), "{violations:?}");
    assert!(details[0].starts_with("desk needs 1 standing in while its staff are at lunch; office has 0 to spare"));
}

#[test]
fn without_a_relief_post_the_lone_clerk_cannot_eat() {
    let solved = solve_checked(&LONE_DESK.replace("lunch_relief = \"office\"\n", ""), 120.0);
    assert_eq!(solved.outcome.status, Status::Infeasible);
    let rules: BTreeSet<&str> = solved.outcome.violations.iter().map(|v| v.rule.id()).collect();
    // The clerk still works and eats: the desk is short for one turn a day, not left empty.
    assert_eq!(rules, BTreeSet::from(["coverage", "lunch"]));
    for v in solved.outcome.violations.iter().filter(|v| v.rule.id() == "coverage") {
        assert!(v.detail.en.ends_with(": 0 of 1 required at desk: 1 at lunch"), "{}", v.detail.en);
    }
}

#[test]
fn a_post_relieving_itself_is_refused() {
    let error =
        parse_team(&LONE_DESK.replace("lunch_relief = \"office\"", "lunch_relief = \"desk\"")).expect_err("refused");
    expect!["line 14, column 16: post desk: a post cannot relieve itself at lunch"].assert_eq(&error.to_string());
}
