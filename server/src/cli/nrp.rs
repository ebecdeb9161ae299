//! `kefu roster nrp` and `kefu roster nrp-eval`: the Curtois & Qu benchmark instances (issue 6).
//! `nrp` solves an instance and prints the schedule grid, or with `--json` the contract
//! `{ "instance", "status", "objective", "bound", "gap", "solve_seconds", "schedule" }`;
//! `nrp-eval` judges a schedule file with the independent evaluator.
//!
//! Leaves out: the model and the evaluator (kefu-solver's `nrp` module owns both).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use kefu_solver::nrp::{self, Instance, NrpConfig, Schedule};
use serde_json::json;

use super::EXIT_VIOLATIONS;

/// Flags of `kefu roster nrp`.
#[derive(Debug, Args)]
pub struct NrpArgs {
    /// Instance file, e.g. ../shared/benchmarks/nrp-curtois/Instance1.txt.
    pub instance: PathBuf,
    /// Stop after this many seconds and return the best schedule found.
    #[arg(long, value_name = "S", default_value_t = 60.0)]
    pub time_limit: f64,
    /// HiGHS threads.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub threads: u32,
    /// Print the JSON contract instead of the grid.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `kefu roster nrp-eval`.
#[derive(Debug, Args)]
pub struct NrpEvalArgs {
    /// Instance file.
    pub instance: PathBuf,
    /// Schedule file: the JSON of `kefu roster nrp --json`, or just its `schedule` object.
    pub schedule: PathBuf,
    /// Print the evaluation as JSON.
    #[arg(long)]
    pub json: bool,
}

fn read_instance(path: &Path) -> anyhow::Result<Instance> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read instance {}", path.display()))?;
    Ok(nrp::parse_instance(&path.display().to_string(), &text)?)
}

fn grid(instance: &Instance, schedule: &Schedule) -> String {
    let width = instance.shifts.iter().map(|s| s.id.len()).max().unwrap_or(1).max(1);
    let name_width = instance.staff.iter().map(|s| s.id.len()).max().unwrap_or(1);
    let mut out = String::new();
    for (staff, row) in instance.staff.iter().zip(schedule) {
        out.push_str(&format!("{:<name_width$} ", staff.id));
        for (day, cell) in row.iter().enumerate() {
            if day > 0 && day % 7 == 0 {
                out.push_str(" |");
            }
            let text = cell.map_or("-", |s| instance.shifts[s].id.as_str());
            out.push_str(&format!(" {text:<width$}"));
        }
        out.push('\n');
    }
    out
}

/// Solves an instance and prints the schedule.
pub fn solve(args: &NrpArgs) -> anyhow::Result<ExitCode> {
    let instance = read_instance(&args.instance)?;
    let config = NrpConfig { time_limit: args.time_limit, threads: args.threads, ..NrpConfig::default() };
    let outcome = nrp::solve(&instance, &config).context("solving")?;
    // The evaluator is the only source of the objective; the solver already used it.
    let schedule_value = outcome.schedule.as_ref().map(|s| nrp::schedule_json::to_value(&instance, s));
    if args.json {
        let body = json!({
            "instance": instance.name,
            "status": outcome.status.id(),
            "objective": outcome.objective,
            "bound": outcome.bound,
            "gap": outcome.gap,
            "solve_seconds": (outcome.solve_seconds * 1000.0).round() / 1000.0,
            "lns_rounds": outcome.lns_rounds.0,
            "lns_improvements": outcome.lns_rounds.1,
            "branch_nodes": outcome.branch_nodes,
            "schedule": schedule_value.unwrap_or_else(|| json!({})),
        });
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        if let Some(schedule) = &outcome.schedule {
            print!("{}", grid(&instance, schedule));
        }
        let objective = outcome.objective.map_or("none".to_owned(), |o| o.to_string());
        let gap = outcome.gap.map_or("-".to_owned(), |g| format!("{:.2} %", g * 100.0));
        println!(
            "{}: {}, objective {objective}, bound {}, gap {gap}, {:.1} s",
            instance.name,
            outcome.status.id(),
            outcome.bound,
            outcome.solve_seconds
        );
    }
    Ok(if outcome.schedule.is_some() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Judges a schedule file; exit 3 when it breaks a hard constraint.
pub fn eval(args: &NrpEvalArgs) -> anyhow::Result<ExitCode> {
    let instance = read_instance(&args.instance)?;
    let text = std::fs::read_to_string(&args.schedule)
        .with_context(|| format!("cannot read schedule {}", args.schedule.display()))?;
    let schedule = nrp::schedule_json::from_json(&instance, &text)
        .map_err(|e| anyhow::anyhow!("bad schedule {}: {e}", args.schedule.display()))?;
    let judged = nrp::evaluate(&instance, &schedule);
    let breaches: Vec<String> = judged.breaches.iter().map(|b| b.describe(&instance)).collect();
    if args.json {
        let body = json!({
            "instance": instance.name,
            "feasible": breaches.is_empty(),
            "objective": judged.objective,
            "on_requests": judged.on_requests,
            "off_requests": judged.off_requests,
            "under_cover": judged.under_cover,
            "over_cover": judged.over_cover,
            "breaches": breaches,
        });
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        for breach in &breaches {
            println!("breach: {breach}");
        }
        println!(
            "{}: {}, objective {} (shift-on {}, shift-off {}, under-cover {}, over-cover {})",
            instance.name,
            if breaches.is_empty() { "feasible" } else { "infeasible" },
            judged.objective,
            judged.on_requests,
            judged.off_requests,
            judged.under_cover,
            judged.over_cover
        );
    }
    Ok(if breaches.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_VIOLATIONS) })
}
