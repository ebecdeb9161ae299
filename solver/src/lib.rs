//! kefu-solver: the duty roster of a customer-service centre as a MILP (good_lp + HiGHS), with an
//! independent validator and plain-words explanations (DESIGN.md decision 9).
//!
//! Crate map, in the order data flows:
//! - `input`: a team file (TOML) → `model::RosterProblem`, errors with line and column.
//! - `model`: the problem and its calendar (day types, seasons, demand per slot).
//! - `milp` + `rules/`: the model (a file per DOMAIN.md rule family) and the HiGHS call.
//! - `roster`: a solution as plain data.
//! - `validate`: recomputes every hard rule from a roster alone; `explain` words the breaches.
//! - `output`: the JSON contract (DTOs at the edge), grid and CSV rendering, reading JSON back.
//! - `generate`: synthetic centres of any size, for benchmarks and property tests.
//! - `nrp`: the Curtois & Qu benchmark format, its MILP (sharing `rules/`), LNS and evaluator.
//!
//! Knows nothing of HTTP, storage or automerge; never prints; never reads the environment.
//! Entry points: [`parse_team`], [`solve`], [`check`].
//!
//! ```
//! let team = r#"
//! name = "one desk"
//! roles = ["reception"]
//! [period]
//! start = "2026-03-02"
//! end = "2026-03-03"
//! slot_minutes = 30
//! [rules]
//! min_on_duty = 0
//! lunch = { window = ["12:00", "13:00"], length_minutes = 30 }
//! [default_contract]
//! max_hours_per_week = 60  # pro rata: 2/7 of it for this two-day period
//! [[posts]]
//! id = "desk"
//! need = [{ days = ["weekday"], from = "09:00", to = "17:00", min = 1 }]
//! [[shifts]]
//! id = "D"
//! start = "09:00"
//! end = "17:00"
//! roles = ["reception"]
//! [[staff]]
//! id = "lin"
//! roles = ["reception"]
//! posts = ["desk"]
//! "#;
//! let problem = kefu_solver::parse_team(team)?;
//! let outcome = kefu_solver::solve(&problem, &kefu_solver::SolveConfig::default())?;
//! assert_eq!(outcome.status, kefu_solver::Status::Optimal);
//! assert_eq!(outcome.roster.assignments.len(), 2, "lin works the desk both days");
//! assert!(kefu_solver::check(&problem, &outcome.roster).is_empty());
//! # Ok::<(), kefu_solver::SolveError>(())
//! ```

pub mod error;
pub mod explain;
pub mod generate;
pub mod input;
mod milp;
pub mod model;
pub mod nrp;
pub mod output;
pub mod roster;
mod rules;
pub mod validate;

pub use error::{InputError, InputErrorKind, SolveError};
pub use explain::Violation;
pub use input::parse_team;
pub use milp::SolveConfig;
pub use model::RosterProblem;
pub use roster::Roster;

/// How a solve ended; the roster is usable in every case but the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every hard rule met, and the objective proven within the configured gap.
    Optimal,
    /// Every hard rule met; the time limit stopped the proof.
    Feasible,
    /// A roster was produced but breaks at least one hard rule: see the violations.
    Infeasible,
    /// The time limit passed before any roster was found.
    TimeoutNoSolution,
}

impl Status {
    /// Stable id in the output contract.
    pub fn id(self) -> &'static str {
        match self {
            Status::Optimal => "optimal",
            Status::Feasible => "feasible",
            Status::Infeasible => "infeasible",
            Status::TimeoutNoSolution => "timeout_no_solution",
        }
    }
}

/// The result of a solve. An infeasible roster is an outcome, not an error (STYLE.md).
#[derive(Clone, Debug)]
pub struct SolveOutcome {
    /// How it ended. Invariant: `Infeasible` exactly when `violations` is non-empty.
    pub status: Status,
    /// Objective of the roster (penalties plus soft terms).
    pub objective: f64,
    /// Best proven lower bound on the objective.
    pub bound: f64,
    /// Relative gap between objective and bound.
    pub gap: f64,
    /// Wall-clock seconds spent building and solving.
    pub solve_seconds: f64,
    /// The roster (empty when `TimeoutNoSolution`).
    pub roster: Roster,
    /// Hard rules the roster breaks, as found by the validator.
    pub violations: Vec<Violation>,
    /// Columns and rows of the MILP.
    pub model_size: (usize, usize),
}

/// Builds and solves the MILP, then judges the roster with the independent validator.
pub fn solve(problem: &RosterProblem, config: &SolveConfig) -> Result<SolveOutcome, SolveError> {
    let result = milp::solve(problem, config)?;
    let Some(roster) = result.roster else {
        return Ok(SolveOutcome {
            status: Status::TimeoutNoSolution,
            objective: f64::NAN,
            bound: result.bound,
            gap: f64::INFINITY,
            solve_seconds: result.solve_seconds,
            roster: Roster::default(),
            violations: Vec::new(),
            model_size: result.size,
        });
    };
    let violations = check(problem, &roster);
    let status = if !violations.is_empty() {
        Status::Infeasible
    } else if result.proven {
        Status::Optimal
    } else {
        Status::Feasible
    };
    Ok(SolveOutcome {
        status,
        objective: result.objective,
        bound: result.bound,
        gap: result.gap,
        solve_seconds: result.solve_seconds,
        roster,
        violations,
        model_size: result.size,
    })
}

/// Every hard-rule breach of a roster, in words: what `kefu roster check` prints.
pub fn check(problem: &RosterProblem, roster: &Roster) -> Vec<Violation> {
    explain::explain(problem, &validate::validate(problem, roster))
}
