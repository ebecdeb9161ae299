//! Shared helpers: load a shipped example, solve it once per test binary, and re-check the result
//! with the independent validator after a round trip through the JSON contract.

use std::sync::OnceLock;

use kefu_solver::output::{OutcomeJson, outcome_json, read_roster_json};
use kefu_solver::{RosterProblem, SolveConfig, SolveOutcome, Status, check, parse_team, solve};

/// Text of `solver/examples/<name>`.
pub fn example_text(name: &str) -> String {
    let path = format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// A parsed, solved team with its JSON output.
pub struct Solved {
    pub problem: RosterProblem,
    pub outcome: SolveOutcome,
    pub json: OutcomeJson,
}

/// Solves a team file and asserts the promises every solve keeps: the validator, run on the
/// roster read back from JSON, finds exactly the violations the solver reported, and the status
/// says a hard rule is broken (`infeasible` or `time_limit`) exactly when there are any.
pub fn solve_checked(text: &str, time_limit: f64) -> Solved {
    solve_checked_with(text, &SolveConfig { time_limit, ..SolveConfig::default() })
}

/// `solve_checked` with every setting given.
pub fn solve_checked_with(text: &str, config: &SolveConfig) -> Solved {
    let problem = parse_team(text).expect("team file parses");
    let outcome = solve(&problem, config).expect("solver runs");
    let json = outcome_json(&problem, &outcome);
    let text = serde_json::to_string(&json).expect("outcome serialises");
    let roster = read_roster_json(&problem, &text).expect("own output reads back");
    assert_eq!(roster, outcome.roster, "JSON round trip changes the roster");
    assert_eq!(check(&problem, &roster), outcome.violations, "validator disagrees with the reported violations");
    let breaks_rules = matches!(outcome.status, Status::Infeasible | Status::TimeLimit);
    assert_eq!(breaks_rules, !outcome.violations.is_empty(), "status {:?}", outcome.status);
    Solved { problem, outcome, json }
}

/// The one-week property centre, solved once for all tests that read it.
pub fn week() -> &'static Solved {
    static WEEK: OnceLock<Solved> = OnceLock::new();
    WEEK.get_or_init(|| solve_checked(&example_text("property_centre_week.toml"), 120.0))
}

/// Minutes since midnight of an output time `YYYY-MM-DDTHH:MM`, and its date.
pub fn split_time(at: &str) -> (&str, u32) {
    let (date, time) = at.split_once('T').expect("date and time");
    let (h, m) = time.split_once(':').expect("HH:MM");
    (date, h.parse::<u32>().expect("hour") * 60 + m.parse::<u32>().expect("minute"))
}
