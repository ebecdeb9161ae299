//! Roster benchmark (BENCHMARKS.md "Roster solver"): a synthetic centre with six posts on a
//! 30-minute grid over four weeks, solved to a proven 1 % gap, at 15, 30, 60 and 120 staff.
//! Then the shipped three-week example (`examples/property_centre.toml`, 15-minute grid).
//! A plain main printing a table: one MILP solve takes seconds, so criterion's sampling would add
//! nothing but hours. Sizes and limit can be given: `-- 60` or `-- 15 30 --time-limit 120`;
//! `-- example` runs only the shipped example.
//!
//! Leaves out: the NRP instances (issue 6).

use chrono::NaiveDate;
use kefu_solver::generate::{CentreSpec, centre_toml};
use kefu_solver::{SolveConfig, parse_team, solve};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let mut time_limit = 300.0;
    let mut sizes = Vec::new();
    let mut only_example = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--time-limit" {
            time_limit = iter.next().and_then(|v| v.parse().ok()).expect("--time-limit takes seconds");
        } else if arg == "example" {
            only_example = true;
        } else if let Ok(n) = arg.parse::<usize>() {
            sizes.push(n);
        }
    }
    if sizes.is_empty() && !only_example {
        sizes = vec![15, 30, 60, 120];
    }
    let start = NaiveDate::from_ymd_opt(2026, 3, 2).expect("valid date");
    println!("| team (staff) | days | columns | rows | status | objective | gap % | seconds |");
    println!("|---:|---:|---:|---:|---|---:|---:|---:|");
    let config = SolveConfig { time_limit, mip_gap: 0.01, ..SolveConfig::default() };
    for n_staff in sizes {
        let spec = CentreSpec { n_staff, n_days: 28, start, slot_minutes: 30, seed: 7, extra_demand: 0 };
        row(&format!("{n_staff}"), &centre_toml(&spec), &config);
    }
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/property_centre.toml");
    let text = std::fs::read_to_string(example).expect("the shipped example is readable");
    row("property_centre.toml", &text, &config);
}

/// Solves one team file and prints its table row, plus the first violations if any.
fn row(label: &str, team: &str, config: &SolveConfig) {
    let problem = parse_team(team).expect("team files parse");
    let outcome = solve(&problem, config).expect("the solver runs");
    println!(
        "| {label} | {} | {} | {} | {} | {:.2} | {:.2} | {:.1} |",
        problem.days.len(),
        outcome.model_size.0,
        outcome.model_size.1,
        outcome.status.id(),
        outcome.objective,
        outcome.gap * 100.0,
        outcome.solve_seconds
    );
    for v in outcome.violations.iter().take(5) {
        println!("|  | | | | {} | {} | | |", v.rule.id(), v.detail.en);
    }
}
