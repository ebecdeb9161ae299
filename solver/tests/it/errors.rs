//! Bad team files: each error names the line and column and the bad value (snapshots, since the
//! wording is behaviour). Each case edits the valid one-week example in one place.

use expect_test::{Expect, expect};
use kefu_solver::parse_team;

use crate::support::example_text;

/// Replaces `from` by `to` in the week example (which must contain it) and snapshots the error.
fn check(from: &str, to: &str, expected: Expect) {
    let text = example_text("property_centre_week.toml");
    assert!(text.contains(from), "the example no longer contains {from:?}");
    let error = parse_team(&text.replacen(from, to, 1)).expect_err("the edit makes the file invalid");
    expected.assert_eq(&error.to_string());
}

#[test]
fn malformed_toml_names_line_and_column() {
    check("slot_minutes = 15", "slot_minutes = = 15", expect!["line 13, column 16: extra `=`, expected nothing"]);
}

#[test]
fn a_missing_field_is_reported() {
    check("end = \"2026-07-05\"\n", "", expect!["line 10, column 1: missing field `end`"]);
}

#[test]
fn unknown_post_in_a_staff_entry() {
    check(
        "posts = [\"phones\", \"chat\"]",
        "posts = [\"phones\", \"chatroom\"]",
        expect!["line 224, column 20: unknown post `chatroom`"],
    );
}

#[test]
fn unknown_shift_in_a_preference() {
    check("prefer = [{ shift = \"B\"", "prefer = [{ shift = \"Z\"", expect!["line 225, column 21: unknown shift `Z`"]);
}

#[test]
fn unknown_season_in_a_need() {
    check(
        "season = \"summer\", from",
        "season = \"winter\", from",
        expect!["line 105, column 56: unknown season `winter`"],
    );
}

#[test]
fn duplicate_staff_id() {
    check("id = \"li\"", "id = \"wang\"", expect!["line 174, column 6: duplicate staff id `wang`"]);
}

#[test]
fn overlapping_leave() {
    check(
        "leave = [{ date = \"2026-06-30\" }, { date = \"2026-07-01\" }]",
        "leave = [{ date = \"2026-06-30\" }, { date = \"2026-06-30\" }]",
        expect!["line 262, column 44: overlapping leave for `zhu` on 2026-06-30"],
    );
}

#[test]
fn a_request_on_a_day_of_approved_leave_overlaps() {
    check(
        "requests = [\"2026-07-03\"]",
        "requests = [\"2026-07-03\"]\nleave = [{ date = \"2026-07-03\" }]",
        expect!["line 236, column 13: overlapping leave for `wu` on 2026-07-03"],
    );
}

#[test]
fn a_time_off_the_grid_is_an_impossible_window() {
    check(
        "start = \"07:45\"",
        "start = \"07:50\"",
        expect!["line 113, column 9: impossible time window: 07:50 is not on the 15-minute grid"],
    );
}

#[test]
fn a_lunch_window_shorter_than_a_turn() {
    check(
        "window = [\"11:45\", \"13:00\"]",
        "window = [\"11:45\", \"12:00\"]",
        expect![
            "line 36, column 10: impossible time window: lunch window 11:45–12:00 is shorter than one 30-minute turn"
        ],
    );
}

#[test]
fn a_period_that_ends_before_it_starts() {
    check(
        "end = \"2026-07-05\"",
        "end = \"2026-06-01\"",
        expect!["line 12, column 7: impossible time window: period ends 2026-06-01 before it starts 2026-06-29"],
    );
}

#[test]
fn leave_outside_the_period() {
    check(
        "leave = [{ date = \"2026-07-03\", kind = \"leave\" }]",
        "leave = [{ date = \"2026-08-03\", kind = \"leave\" }]",
        expect!["line 171, column 19: impossible time window: 2026-08-03 is outside the period"],
    );
}

#[test]
fn a_grid_other_than_15_or_30_minutes() {
    check(
        "slot_minutes = 15",
        "slot_minutes = 20",
        expect!["line 13, column 16: slot_minutes must be 15 or 30, not 20"],
    );
}
