//! Roster benchmark (BENCHMARKS.md "Roster solver"): a synthetic centre with six posts on a
//! 30-minute grid over four weeks, solved to a proven 1 % gap, at 15, 30, 60 and 120 staff.
//! A plain main printing a table: one MILP solve takes seconds, so criterion's sampling would add
//! nothing but hours. Sizes and limit can be given: `-- 60` or `-- 15 30 --time-limit 120`.
//!
//! Leaves out: the NRP instances (issue 6).

use chrono::NaiveDate;
use kefu_solver::generate::{CentreSpec, centre_toml};
use kefu_solver::{SolveConfig, parse_team, solve};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let mut time_limit = 300.0;
    let mut sizes = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--time-limit" {
            time_limit = iter.next().and_then(|v| v.parse().ok()).expect("--time-limit takes seconds");
        } else if let Ok(n) = arg.parse::<usize>() {
            sizes.push(n);
        }
    }
    if sizes.is_empty() {
        sizes = vec![15, 30, 60, 120];
    }
    let start = NaiveDate::from_ymd_opt(2026, 3, 2).expect("valid date");
    println!("| staff | days | columns | rows | status | objective | gap % | seconds |");
    println!("|---:|---:|---:|---:|---|---:|---:|---:|");
    for n_staff in sizes {
        let spec = CentreSpec { n_staff, n_days: 28, start, slot_minutes: 30, seed: 7, extra_demand: 0 };
        let problem = parse_team(&centre_toml(&spec)).expect("generated team files parse");
        let config = SolveConfig { time_limit, mip_gap: 0.01, ..SolveConfig::default() };
        let outcome = solve(&problem, &config).expect("the solver runs");
        println!(
            "| {n_staff} | 28 | {} | {} | {} | {:.2} | {:.2} | {:.1} |",
            outcome.model_size.0,
            outcome.model_size.1,
            outcome.status.id(),
            outcome.objective,
            outcome.gap * 100.0,
            outcome.solve_seconds
        );
        for v in outcome.violations.iter().take(5) {
            println!("|  | | | | {} | {} | | |", v.rule.id(), v.detail);
        }
    }
}
