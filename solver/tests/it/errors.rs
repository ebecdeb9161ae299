//! Bad team files: each error names the line and column, the entry (staff member, post, template,
//! section) and the bad value; doubtful ones parse with warnings (snapshots, since the wording is
//! behaviour). Each case edits the valid one-week example in one place.

use expect_test::{Expect, expect};
use kefu_solver::parse_team;

use crate::support::example_text;

/// The week example with `from` (which it must contain) replaced by `to`.
fn edited(from: &str, to: &str) -> String {
    let text = example_text("property_centre_week.toml");
    assert!(text.contains(from), "the example no longer contains {from:?}");
    text.replacen(from, to, 1)
}

/// Snapshots the error of the edited week example.
fn check(from: &str, to: &str, expected: Expect) {
    let error = parse_team(&edited(from, to)).expect_err("the edit makes the file invalid");
    expected.assert_eq(&error.to_string());
}

/// Snapshots the warnings of the edited week example, which must still parse.
fn check_warnings(from: &str, to: &str, expected: Expect) {
    let problem = parse_team(&edited(from, to)).expect("the edit leaves the file valid");
    let lines: Vec<String> = problem.warnings.iter().map(ToString::to_string).collect();
    expected.assert_eq(&lines.join("\n"));
}

#[test]
fn malformed_toml_names_line_and_column() {
    check("slot_minutes = 15", "slot_minutes = = 15", expect!["line 14, column 16: extra `=`, expected nothing"]);
}

#[test]
fn a_missing_field_is_reported() {
    check("end = \"2026-07-05\"\n", "", expect!["line 11, column 1: period: missing field `end`"]);
}

#[test]
fn unknown_post_in_a_staff_entry() {
    check(
        "posts = [\"phones\", \"chat\"]",
        "posts = [\"phones\", \"chatroom\"]",
        expect!["line 225, column 20: staff huang: unknown post `chatroom`"],
    );
}

#[test]
fn unknown_shift_in_a_preference() {
    check(
        "prefer = [{ shift = \"B\"",
        "prefer = [{ shift = \"Z\"",
        expect!["line 226, column 21: staff huang: unknown shift `Z`"],
    );
}

#[test]
fn unknown_season_in_a_need() {
    check(
        "season = \"summer\", from",
        "season = \"winter\", from",
        expect!["line 106, column 56: post night: unknown season `winter`"],
    );
}

#[test]
fn duplicate_staff_id() {
    check("id = \"li\"", "id = \"wang\"", expect!["line 175, column 6: staff wang: duplicate staff id `wang`"]);
}

#[test]
fn overlapping_leave() {
    check(
        "leave = [{ date = \"2026-06-30\" }, { date = \"2026-07-01\" }]",
        "leave = [{ date = \"2026-06-30\" }, { date = \"2026-06-30\" }]",
        expect!["line 263, column 44: staff zhu: overlapping leave on 2026-06-30"],
    );
}

#[test]
fn a_request_on_a_day_of_approved_leave_overlaps() {
    check(
        "requests = [\"2026-07-03\"]",
        "requests = [\"2026-07-03\"]\nleave = [{ date = \"2026-07-03\" }]",
        expect!["line 237, column 13: staff wu: overlapping leave on 2026-07-03"],
    );
}

#[test]
fn a_time_off_the_grid_is_an_impossible_window() {
    check(
        "start = \"07:45\"",
        "start = \"07:50\"",
        expect!["line 114, column 9: shift A: impossible time window: 07:50 is not on the 15-minute grid"],
    );
}

#[test]
fn a_lunch_window_shorter_than_a_turn() {
    check(
        "window = [\"11:45\", \"13:00\"]",
        "window = [\"11:45\", \"12:00\"]",
        expect![
            "line 37, column 10: rules: impossible time window: lunch window 11:45–12:00 is shorter than one 30-minute turn"
        ],
    );
}

#[test]
fn a_period_that_ends_before_it_starts() {
    check(
        "end = \"2026-07-05\"",
        "end = \"2026-06-01\"",
        expect![
            "line 13, column 7: period: impossible time window: period ends 2026-06-01 before it starts 2026-06-29"
        ],
    );
}

#[test]
fn leave_outside_the_period() {
    check(
        "leave = [{ date = \"2026-07-03\", kind = \"leave\" }]",
        "leave = [{ date = \"2026-08-03\", kind = \"leave\" }]",
        expect!["line 172, column 19: staff wang: impossible time window: 2026-08-03 is outside the period"],
    );
}

#[test]
fn a_grid_other_than_15_or_30_minutes() {
    check(
        "slot_minutes = 15",
        "slot_minutes = 20",
        expect!["line 14, column 16: period: slot_minutes must be 15 or 30, not 20"],
    );
}

#[test]
fn a_misspelt_role_in_a_template_names_the_template() {
    check(
        "roles = [\"maintenance\"]",
        "roles = [\"maintanence\"]",
        expect!["line 144, column 10: shift E: unknown role `maintanence`"],
    );
}

#[test]
fn a_misspelt_role_in_a_staff_entry_names_the_person() {
    check(
        "id = \"zhou\"\nroles = [\"agent\"]",
        "id = \"zhou\"\nroles = [\"agnet\"]",
        expect!["line 230, column 10: staff zhou: unknown role `agnet`"],
    );
}

#[test]
fn a_role_twice_in_the_catalogue() {
    check(
        "roles = [\"reception\", \"agent\"",
        "roles = [\"reception\", \"reception\"",
        expect!["line 9, column 23: role reception: duplicate role id `reception`"],
    );
}

#[test]
fn a_template_without_roles() {
    check(
        "roles = [\"maintenance\"]",
        "roles = []",
        expect!["line 144, column 9: shift E: no roles: nobody could work this template"],
    );
}

#[test]
fn negative_minimum_hours_name_the_person() {
    check(
        "min_hours_per_week = 0,",
        "min_hours_per_week = -4,",
        expect!["line 254, column 35: staff ma: min_hours_per_week -4 is negative"],
    );
}

#[test]
fn a_negative_rest_in_the_default_contract() {
    check(
        "min_rest_hours = 11",
        "min_rest_hours = -11",
        expect!["line 53, column 18: default_contract: min_rest_hours -11 is negative"],
    );
}

#[test]
fn an_own_minimum_above_the_default_maximum_names_the_person() {
    check(
        "rotation_start = \"east_gate\"",
        "rotation_start = \"east_gate\"\ncontract = { min_hours_per_week = 50 }",
        expect!["line 172, column 35: staff wang: min_hours_per_week 50 exceeds max_hours_per_week 44"],
    );
}

#[test]
fn desired_below_min_names_the_post() {
    check(
        "min = 1, desired = 2",
        "min = 3, desired = 2",
        expect!["line 61, column 86: post east_gate: desired 2 is below min 3"],
    );
}

#[test]
fn a_negative_weight() {
    check("fairness = 3", "fairness = -3", expect!["line 46, column 12: rules: weight fairness -3 is negative"]);
}

#[test]
fn a_negative_preference_weight_names_the_person() {
    check(
        "weight = 2 }]",
        "weight = -2 }]",
        expect!["line 165, column 48: staff zhao: preference weight -2 is negative"],
    );
}

#[test]
fn a_negative_count_is_refused_naming_the_person() {
    check("leave_taken = 3", "leave_taken = -3", expect!["line 179, column 15: staff li: leave_taken -3 is negative"]);
}

#[test]
fn a_misspelt_field_names_the_template() {
    check(
        "night = true",
        "nigth = true",
        expect![
            "line 154, column 1: shift N: unknown field `nigth`, expected one of `id`, `name`, `start`, `end`, `roles`, `posts`, `days`, `lunch`, `night`, `paid_hours`"
        ],
    );
}

#[test]
fn a_role_catalogue_is_required() {
    check(
        "roles = [\"reception\", \"agent\", \"supervisor\", \"maintenance\"]\n",
        "",
        expect!["line 1, column 1: missing field `roles`"],
    );
}

#[test]
fn a_person_who_can_work_nothing_is_flagged() {
    check_warnings(
        "id = \"zhou\"\nroles = [\"agent\"]\nposts = [\"phones\", \"chat\"]",
        "id = \"zhou\"\nroles = [\"agent\"]\nposts = [\"night\"]",
        expect![
            "line 229, column 6: staff zhou: can work nothing: no shift template for roles agent runs at any of their posts"
        ],
    );
}

#[test]
fn a_post_nobody_can_work_is_flagged() {
    check_warnings(
        "# --- shift templates",
        "[[posts]]\nid = \"parking\"\nneed = [{ days = [\"weekday\"], from = \"08:00\", to = \"18:00\", min = 1 }]\n\n# --- shift templates",
        expect![
            "line 110, column 6: post parking: nobody can work it: no staff member holds it with a role of a shift template that runs there"
        ],
    );
}

#[test]
fn the_shipped_examples_raise_no_warnings() {
    for name in ["property_centre.toml", "property_centre_week.toml", "short_night.toml"] {
        let problem = parse_team(&example_text(name)).expect("the example parses");
        assert_eq!(problem.warnings, [], "{name}");
    }
}

#[test]
fn a_free_breach_of_a_hard_rule_is_refused() {
    check(
        "coverage = 1000",
        "coverage = 0",
        expect!["line 42, column 12: rules: weight coverage must be above 0: it prices a broken hard rule"],
    );
}

#[test]
fn an_infinite_weight_is_refused() {
    check(
        "hours = 100",
        "hours = inf",
        expect!["line 43, column 9: rules: weight hours must be a finite number, not inf"],
    );
}

#[test]
fn errors_and_warnings_read_in_chinese_too() {
    let chinese = |from: &str, to: &str| {
        parse_team(&edited(from, to)).expect_err("the edit makes the file invalid").text(kefu_solver::export::Lang::Zh)
    };
    let lines = [
        chinese("end = \"2026-07-05\"\n", ""),
        chinese("posts = [\"phones\", \"chat\"]", "posts = [\"phones\", \"chatroom\"]"),
        chinese("slot_minutes = 15", "slot_minutes = 20"),
        chinese("slot_minutes = 15", "slot_minutes = 15\nslot_length = 15"),
        chinese("slot_minutes = 15", "slot_minutes = \"15\""),
    ];
    expect![[r#"
        第 11 行第 1 列：period：缺少字段 `end`
        第 225 行第 20 列：staff huang：未知的岗位 `chatroom`
        第 14 行第 16 列：period：slot_minutes 须为 15 或 30，不能是 20
        第 15 行第 1 列：period：未知字段 `slot_length`，可用的字段：`start`, `end`, `slot_minutes`, `holidays`, `working_days`
        第 14 行第 16 列：period：类型不对：string "15"，应为 u32"#]].assert_eq(&lines.join("\n"));
    let problem = parse_team(&edited("posts = [\"phones\", \"chat\"]", "posts = []")).expect("valid, with a warning");
    let warnings: Vec<String> =
        problem.warnings.iter().map(|warning| warning.text(kefu_solver::export::Lang::Zh)).collect();
    expect!["第 223 行第 6 列：staff huang：什么班都上不了：此人的岗位上没有角色 agent 可上的班次"]
        .assert_eq(&warnings.join("\n"));
}
