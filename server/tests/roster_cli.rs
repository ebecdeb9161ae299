//! `kefu roster` end to end: the real binary on the shipped examples, in a fresh temp dir each,
//! checking output formats and exit codes (0 optimal, 1 error, 2 usage, 3 infeasible or breaches
//! found by `check`, 4 feasible, 5 time_limit).
//!
//! Leaves out: the rules themselves, tested in kefu-solver's own suite.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../solver/examples").join(name)
}

fn kefu(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_kefu")).args(args).output().expect("kefu runs");
    if std::env::var_os("KEFU_TEST_VERBOSE").is_some() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    }
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8 stderr")
}

#[test]
fn solve_json_follows_the_contract_and_check_accepts_it() {
    let team = example("property_centre_week.toml");
    let output = kefu(&["roster", "solve", team.to_str().expect("path"), "--json", "--time-limit", "120"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("stdout is one JSON object");
    let keys: Vec<&str> = json.as_object().expect("object").keys().map(String::as_str).collect();
    for key in ["status", "objective", "bound", "gap", "solve_seconds", "assignments", "leave", "violations"] {
        assert!(keys.contains(&key), "missing {key} in {keys:?}");
    }
    assert_eq!(json["status"], "optimal");
    let first = &json["assignments"][0];
    for key in ["staff", "date", "shift", "post", "start", "end", "lunch"] {
        assert!(first.get(key).is_some(), "assignment lacks {key}: {first}");
    }
    assert!(stderr(&output).contains("kefu: solving"), "a progress line on stderr");

    let dir = tempfile::tempdir().expect("temp dir");
    let roster = dir.path().join("roster.json");
    std::fs::write(&roster, stdout(&output)).expect("write roster");
    let check = kefu(&["roster", "check", team.to_str().expect("path"), roster.to_str().expect("path")]);
    assert_eq!(check.status.code(), Some(0), "{}{}", stdout(&check), stderr(&check));
    assert!(stdout(&check).starts_with("ok: "));

    // Tamper: send the night shift of 2 July home; the checker names the gap and exits 3.
    let mut tampered = json.clone();
    let assignments = tampered["assignments"].as_array_mut().expect("array");
    assignments.retain(|a| !(a["post"] == "night" && a["date"] == "2026-07-02"));
    std::fs::write(&roster, tampered.to_string()).expect("write roster");
    let check = kefu(&["roster", "check", team.to_str().expect("path"), roster.to_str().expect("path")]);
    assert_eq!(check.status.code(), Some(3));
    assert!(stdout(&check).contains("[coverage] 2026-07-02T18:00: 周四 07-02 18:00–"), "{}", stdout(&check));
    let roster = roster.to_str().expect("path");
    let check = kefu(&["roster", "check", team.to_str().expect("path"), roster, "--lang", "en"]);
    assert_eq!(check.status.code(), Some(3));
    assert!(stdout(&check).contains("[coverage] 2026-07-02T18:00: Thu 07-02 18:00–"), "{}", stdout(&check));
}

#[test]
fn an_impossible_week_prints_a_grid_with_violations_and_exits_3() {
    let output = kefu(&["roster", "solve", example("short_night.toml").to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("周一 03-02") && text.contains("guo"), "a staff × days grid, in Chinese:\n{text}");
    assert!(text.contains("coverage (present/min):"));
    assert!(text.contains("infeasible: no roster can meet every hard rule (proven)"), "{text}");
    assert!(text.contains("[coverage] 周二 03-03 17:30–08:00：maintenance 无人可排：请假：guo"), "{text}");
}

#[test]
fn progress_gives_best_bound_gap_and_time_of_each_search_and_quiet_silences_it() {
    let team = example("short_night.toml");
    let team = team.to_str().expect("path");
    let output = kefu(&["roster", "solve", team, "--threads", "2"]);
    assert_eq!(output.status.code(), Some(3));
    let text = stderr(&output);
    assert!(text.contains("threads 2"), "{text}");
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(" ended at ")).collect();
    // The roster search breaks a rule, so the search for a roster meeting every rule follows.
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("kefu: roster search ended at ") && lines[0].contains("best objective"), "{text}");
    assert!(lines[1].starts_with("kefu: search for a roster meeting every rule ended at "), "{text}");
    for line in lines {
        assert!(line.contains(" s: ") && line.contains(", bound ") && line.contains(", gap "), "{line}");
    }
    // The search before the MILP reports its first roster, with its breaches, before any bound.
    let first = text.lines().find(|l| l.starts_with("kefu: first roster built at ")).expect(&text);
    assert!(first.contains("best objective") && first.contains("rules broken, breach penalty"), "{first}");
    let quiet = kefu(&["roster", "solve", team, "--quiet"]);
    assert_eq!((quiet.status.code(), stderr(&quiet)), (Some(3), String::new()));
    assert!(stdout(&quiet).contains("infeasible: no roster can meet every hard rule (proven)"), "quiet keeps stdout");
}

#[test]
fn the_same_seed_gives_the_same_roster() {
    let team = example("seed_rules.toml");
    let team = team.to_str().expect("path");
    let run = |seed: &str| kefu(&["roster", "solve", team, "--json", "--quiet", "--seed", seed]);
    let (first, again) = (run("5"), run("5"));
    assert_eq!(first.status.code(), again.status.code());
    let solve_seconds = |text: String| -> String {
        text.lines().filter(|l| !l.contains("\"solve_seconds\"")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(solve_seconds(stdout(&first)), solve_seconds(stdout(&again)));
    let refused = kefu(&["roster", "solve", team, "--seed", "many"]);
    assert_eq!(refused.status.code(), Some(2), "a seed is a number");
}

#[test]
fn csv_has_a_bom_and_one_row_per_person_one_column_per_date() {
    let output = kefu(&["roster", "solve", example("short_night.toml").to_str().expect("path"), "--csv"]);
    assert_eq!(output.status.code(), Some(3));
    let text = stdout(&output);
    let text = text.strip_prefix('\u{feff}').expect("a UTF-8 byte-order mark first");
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(
        lines[0],
        "员工,姓名,2026-03-02 周一,2026-03-03 周二,2026-03-04 周三,2026-03-05 周四,2026-03-06 周五,2026-03-07 周六,2026-03-08 周日"
    );
    assert_eq!(lines.len(), 1 + 3, "a header and three people");
    let guo: Vec<&str> = lines.iter().find(|l| l.starts_with("guo,")).expect("guo's row").split(',').collect();
    assert_eq!((guo.len(), guo[3]), (9, "请假"), "guo is on leave on Tuesday");
    let english =
        kefu(&["roster", "solve", example("short_night.toml").to_str().expect("path"), "--csv", "--lang", "en"]);
    assert!(stdout(&english).starts_with("\u{feff}staff,name,2026-03-02 Mon,"), "{}", stdout(&english));
}

#[test]
fn the_grid_shows_a_week_at_a_time_by_person_or_by_post() {
    let team = example("seed_rules.toml");
    let output = kefu(&["roster", "solve", team.to_str().expect("path"), "--lang", "en"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    // Two weeks, two tables, each starting on a Monday and at most seven days wide.
    let headers: Vec<&str> = text.lines().filter(|l| l.contains(" staff ")).collect();
    assert_eq!(headers.len(), 2, "{text}");
    assert!(headers[0].contains("Mon 04-27") && headers[0].contains("Sun 05-03") && !headers[0].contains("05-04"));
    assert!(headers[1].contains("Mon 05-04") && headers[1].contains("Sun 05-10"));
    let by_post = kefu(&["roster", "solve", team.to_str().expect("path"), "--by", "post", "--quiet"]);
    let text = stdout(&by_post);
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("│ night ")).collect();
    assert_eq!(rows.len(), 2, "one night row a week:\n{text}");
    assert!(text.contains("岗位") && text.contains("周一 04-27"), "{text}");
}

#[test]
fn xlsx_and_ical_files_are_written_on_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (xlsx, ical) = (dir.path().join("roster.xlsx"), dir.path().join("ical"));
    let team = example("short_night.toml");
    let args = ["roster", "solve", team.to_str().expect("path"), "--quiet", "--xlsx"];
    let output = kefu(&[&args[..], &[xlsx.to_str().expect("path"), "--ical", ical.to_str().expect("path")]].concat());
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(std::fs::read(&xlsx).expect("xlsx written").starts_with(b"PK"), "a zip container");
    let mut written: Vec<String> = std::fs::read_dir(&ical)
        .expect("ical dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, ["fang.ics", "guo.ics", "lin.ics"]);
    let guo = std::fs::read_to_string(ical.join("guo.ics")).expect("guo.ics");
    assert!(guo.starts_with("BEGIN:VCALENDAR\r\n") && guo.ends_with("END:VCALENDAR\r\n"), "{guo}");
}

#[test]
fn a_bad_team_file_is_an_error_with_line_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let team = dir.path().join("team.toml");
    std::fs::write(&team, "name = \"x\"\n[period]\nstart = 2026-13-01\n").expect("write team");
    let output = kefu(&["roster", "solve", team.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("bad team file") && message.contains("line 3, column 9"), "{message}");
}

#[test]
fn a_missing_file_is_an_error() {
    let output = kefu(&["roster", "check", "/nonexistent/team.toml", "/nonexistent/roster.json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).starts_with("kefu: cannot read team file /nonexistent/team.toml"), "{}", stderr(&output));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(kefu(&["roster", "solve"]).status.code(), Some(2));
    assert_eq!(kefu(&["roster", "solve", "x.toml", "--json", "--csv"]).status.code(), Some(2));
    let bad_gap = kefu(&["roster", "solve", example("short_night.toml").to_str().expect("path"), "--gap", "2"]);
    assert_eq!(bad_gap.status.code(), Some(2), "an out-of-range value is a usage error");
    assert!(stderr(&bad_gap).contains("2 is not a fraction in [0, 1)"), "{}", stderr(&bad_gap));
    let no_threads = kefu(&["roster", "solve", example("short_night.toml").to_str().expect("path"), "--threads", "0"]);
    assert_eq!(no_threads.status.code(), Some(2), "{}", stderr(&no_threads));
}

#[test]
fn solve_help_documents_one_exit_code_per_status() {
    let help = stdout(&kefu(&["roster", "solve", "--help"]));
    for (code, status) in [(0, "optimal"), (3, "infeasible"), (4, "feasible"), (5, "time_limit")] {
        assert!(help.contains(&format!("  {code}  {status}")), "exit {code} for {status} in:\n{help}");
    }
}

#[test]
fn a_post_nobody_can_work_is_a_warning_in_every_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let team = dir.path().join("team.toml");
    let text = std::fs::read_to_string(example("short_night.toml")).expect("example");
    std::fs::write(&team, text.replacen("[[shifts]]", "[[posts]]\nid = \"parking\"\n\n[[shifts]]", 1)).expect("write");
    let team = team.to_str().expect("path");
    let warning = "post parking: nobody can work it";

    let solved = kefu(&["roster", "solve", team, "--json"]);
    assert!(stderr(&solved).contains(&format!("kefu: warning: {team}: line ")), "{}", stderr(&solved));
    assert!(stderr(&solved).contains(warning), "{}", stderr(&solved));
    let json: serde_json::Value = serde_json::from_str(&stdout(&solved)).expect("stdout is one JSON object");
    let warnings = json["warnings"].as_array().expect("a warnings array");
    assert!(warnings.len() == 1 && warnings[0].as_str().is_some_and(|w| w.contains(warning)), "{warnings:?}");

    let grid = kefu(&["roster", "solve", team]);
    assert!(stdout(&grid).contains("warning: line ") && stdout(&grid).contains(warning), "{}", stdout(&grid));

    let roster = dir.path().join("roster.json");
    std::fs::write(&roster, stdout(&solved)).expect("write roster");
    let check = kefu(&["roster", "check", team, roster.to_str().expect("path")]);
    assert!(stderr(&check).contains(warning), "{}", stderr(&check));
}
