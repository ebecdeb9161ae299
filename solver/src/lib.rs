//! kefu-solver: the duty roster of a customer-service centre as a MILP (good_lp + HiGHS), with an
//! independent validator and plain-words explanations (DESIGN.md decision 9).
//!
//! Crate map, in the order data flows:
//! - `input`: a team file (TOML) → `model::RosterProblem`, errors with line and column.
//! - `model`: the problem and its calendar (day types, seasons, demand per slot).
//! - `milp` + `rules/`: the model (a file per DOMAIN.md rule family) and the HiGHS call.
//! - `improve`: construction and large-neighbourhood search over that model, for a roster that
//!   meets every rule in seconds, which the full MILP starts from.
//! - `lns`: the search machinery the roster and the NRP share (seeded generator, clock,
//!   adaptive neighbourhoods).
//! - `roster`: a solution as plain data.
//! - `validate`: recomputes every hard rule from a roster alone; `explain` words the breaches,
//!   `cause` finds what keeps each person off a short post.
//! - `output`: the JSON contract (DTOs at the edge), the terminal grid, reading JSON back.
//! - `export`: the files a centre opens: wide CSV with a BOM, XLSX a sheet per week, iCal.
//! - `generate`: synthetic centres of any size, for benchmarks and property tests.
//! - `nrp`: the Curtois & Qu benchmark format, its MILP (sharing `rules/`), LNS and evaluator.
//!
//! Knows nothing of HTTP, storage or automerge; never prints; never reads the environment.
//! Entry points: [`parse_team`], [`solve`] (or [`solve_reporting`], with progress), [`check`].
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

mod cause;
pub mod error;
pub mod explain;
pub mod export;
pub mod generate;
mod improve;
pub mod input;
mod lns;
mod milp;
pub mod model;
pub mod nrp;
pub mod output;
pub mod roster;
mod rules;
pub mod validate;
pub mod words;

pub use error::{InputError, InputErrorKind, SolveError};
pub use explain::Violation;
pub use input::parse_team;
pub use milp::SolveConfig;
pub use model::RosterProblem;
pub use roster::Roster;

use lns::Clock;
use milp::Ask;
use rules::Goal;

/// How a solve ended. A roster is printed in every case; only the first two meet every hard rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every hard rule met, and the objective proven within the configured gap.
    Optimal,
    /// Every hard rule met; the limit stopped the proof, and the gap says how far it got.
    Feasible,
    /// Proven: every roster breaks a hard rule (the search for one that breaks none closed its
    /// gap, or its bound is above zero). The roster printed is the one with the fewest breaches
    /// found; the violations say where.
    Infeasible,
    /// No roster meeting every hard rule was found before the limit, and none was proven
    /// impossible: more time may find one. The best attempt is printed with its breaches (the
    /// empty roster when the search found nothing at all).
    TimeLimit,
}

impl Status {
    /// Stable id in the output contract.
    pub fn id(self) -> &'static str {
        match self {
            Status::Optimal => "optimal",
            Status::Feasible => "feasible",
            Status::Infeasible => "infeasible",
            Status::TimeLimit => "time_limit",
        }
    }
}

/// The result of a solve. An infeasible roster is an outcome, not an error (STYLE.md).
#[derive(Clone, Debug)]
pub struct SolveOutcome {
    /// How it ended. Invariant: `Optimal` or `Feasible` exactly when `violations` is empty.
    pub status: Status,
    /// Objective of the roster (penalties plus soft terms); NaN for the empty roster of a search
    /// that found nothing.
    pub objective: f64,
    /// Best proven lower bound on the objective.
    pub bound: f64,
    /// Relative gap between objective and bound.
    pub gap: f64,
    /// Wall-clock seconds spent building and solving.
    pub solve_seconds: f64,
    /// The roster.
    pub roster: Roster,
    /// Hard rules the roster breaks, as found by the validator.
    pub violations: Vec<Violation>,
    /// Columns and rows of the MILP.
    pub model_size: (usize, usize),
}

/// Share of the time limit the proof of infeasibility may use even when the roster search has
/// used it all: without it, a week whose rules contradict each other would be reported as
/// `time_limit` whenever the first search ran to the limit. The limit can so be exceeded by this share.
pub const PROOF_SHARE: f64 = 0.1;

/// Which search of a solve has ended or improved (see [`solve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Search {
    /// The construction of a first roster, a week at a time; ended.
    Construction,
    /// The large-neighbourhood search from it; found a better roster (no bound is known yet).
    Neighbourhood,
    /// The search for the best roster, on the whole objective.
    Roster,
    /// The search for a roster that meets every hard rule, on the hard-rule penalties alone.
    Rules,
}

/// Where a solve stands when one of its searches ends or improves its roster: for progress lines.
/// HiGHS reports nothing while it runs through the safe binding (no callbacks without `unsafe`,
/// and its `log_file` option has a known double free), so progress comes between its runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// The search that ended.
    pub search: Search,
    /// Its best value (objective, or hard-rule penalty for `Search::Rules`); infinite when it
    /// found nothing.
    pub best: f64,
    /// The hard-rule penalty of that roster: 0 when it meets every hard rule.
    pub breaches: f64,
    /// Its proven lower bound on that value; minus infinity before the full MILP has run.
    pub bound: f64,
    /// Relative gap between the two.
    pub gap: f64,
    /// Seconds since the solve started.
    pub seconds: f64,
}

/// Solves in three steps, then judges the roster with the independent validator.
///
/// First a construction and neighbourhood search (`improve`) finds a roster, meeting every rule
/// when it can, in seconds. Then the full MILP minimises the whole objective from it, for the
/// rest of the time: the better roster of the two is kept, and the MILP's bound states the gap.
/// The kept roster breaking no rule makes the outcome `optimal` or `feasible`. Otherwise a last
/// run minimises the hard-rule penalties alone (with slack on every breakable rule, the MILP
/// itself is never infeasible, so this is the only honest test): a positive bound proves every
/// roster breaks a rule (`infeasible`); a roster without penalty that the validator passes is
/// `feasible`; anything else is `time_limit`.
pub fn solve(problem: &RosterProblem, config: &SolveConfig) -> Result<SolveOutcome, SolveError> {
    solve_reporting(problem, config, &mut |_| {})
}

/// [`solve`], calling `report` as each search ends, and at each better roster of the search
/// before the full MILP.
pub fn solve_reporting(
    problem: &RosterProblem,
    config: &SolveConfig,
    report: &mut dyn FnMut(&Progress),
) -> Result<SolveOutcome, SolveError> {
    let clock = Clock::start(config.time_limit);
    let mut ended = |search, best: f64, breaches: f64, bound: f64| {
        let gap = if best.is_finite() { milp::relative_gap(best, bound) } else { f64::INFINITY };
        report(&Progress { search, best, breaches, bound, gap, seconds: clock.elapsed() });
    };
    let searched = improve::search(problem, config, &clock, &mut |event| {
        let (search, run) = match event {
            improve::Event::Constructed(run) => (Search::Construction, run),
            improve::Event::Improved(run) => (Search::Neighbourhood, run),
        };
        ended(search, run.objective, run.breaches, f64::NEG_INFINITY);
    })?;
    let start = searched.as_ref().and_then(|run| run.values.as_deref());
    let full = milp::run(problem, config, &Ask::full(config, Goal::Roster, clock.left(1.0), start))?;
    let first = keep_better(full, searched, config.mip_gap);
    let best = if first.values.is_some() { first.objective } else { f64::INFINITY };
    ended(Search::Roster, best, first.breaches, first.bound);
    let outcome = |status, run: &milp::Run, roster: Roster, violations| SolveOutcome {
        status,
        objective: run.objective,
        bound: first.bound,
        gap: if run.objective.is_finite() { milp::relative_gap(run.objective, first.bound) } else { f64::INFINITY },
        solve_seconds: clock.elapsed(),
        roster,
        violations,
        model_size: first.size,
    };
    // Rostering nobody meets every rule that has no slack, so the empty roster is an attempt too.
    let roster = first.roster.clone().unwrap_or_default();
    let violations = check(problem, &roster);
    if violations.is_empty() {
        let status = if first.proven { Status::Optimal } else { Status::Feasible };
        return Ok(outcome(status, &first, roster, violations));
    }
    let second = milp::run(
        problem,
        config,
        &Ask::full(
            config,
            Goal::MeetRules,
            clock.left(1.0).max(config.time_limit * PROOF_SHARE),
            first.values.as_deref(),
        ),
    )?;
    ended(Search::Rules, second.breaches, second.breaches, second.bound);
    let tolerance = 1e-6 * problem.rules.weights.coverage.max(problem.rules.weights.hours);
    if second.breaches <= tolerance
        && let Some(roster) = second.roster.clone()
    {
        let violations = check(problem, &roster);
        if violations.is_empty() {
            return Ok(outcome(Status::Feasible, &second, roster, violations));
        }
    }
    let status = if second.bound > tolerance { Status::Infeasible } else { Status::TimeLimit };
    // The attempt printed is the one with fewer breaches; the first on a tie, for its soft terms.
    match second.roster.clone() {
        Some(fewer) if second.breaches < first.breaches - tolerance => {
            let violations = check(problem, &fewer);
            Ok(outcome(status, &second, fewer, violations))
        }
        _ => Ok(outcome(status, &first, roster, violations)),
    }
}

/// The full MILP's run with the search's roster when that is better (HiGHS may have refused it
/// as a start, or not matched it in time): the bound is the MILP's either way, and the roster is
/// proven when it is within `mip_gap` of it.
fn keep_better(full: milp::Run, searched: Option<milp::Run>, mip_gap: f64) -> milp::Run {
    match searched {
        Some(found) if found.values.is_some() && (full.values.is_none() || found.objective < full.objective - 1e-9) => {
            let proven = milp::relative_gap(found.objective, full.bound) <= mip_gap;
            milp::Run { bound: full.bound, proven, size: full.size, ..found }
        }
        _ => full,
    }
}

/// Every hard-rule breach of a roster, in words: what `kefu roster check` prints.
pub fn check(problem: &RosterProblem, roster: &Roster) -> Vec<Violation> {
    explain::explain(problem, roster, &validate::validate(problem, roster))
}
