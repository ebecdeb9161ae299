//! Solving an NRP instance within a time limit, in three phases:
//! 1. the full MILP (`model::build`) for 30 % of the time: small instances are proven optimal here,
//!    and its dual bound is the bound we report;
//! 2. a large-neighbourhood search from the best schedule: fix every cell outside a neighbourhood
//!    (a few employees over the whole horizon, or every employee over a window of days), re-solve
//!    with the incumbent as HiGHS's start, keep schedules at least as good, and grow or shrink the
//!    neighbourhood by whether HiGHS proved its sub-problem;
//! 3. the full MILP again for the last 15 % of the time, warm-started from the incumbent, which
//!    can close the gap phase 1 left and can only raise the bound.
//!
//! Every objective reported comes from `evaluate`, never from HiGHS.

use std::time::Instant;

use highs::{HighsModelStatus, HighsSolutionStatus};

use crate::SolveError;
use crate::nrp::model::{self, Fix};
use crate::nrp::{Instance, Schedule, evaluate};

/// Share of the time limit the first full solve may use.
const PHASE1_SHARE: f64 = 0.3;
/// Share of the time limit at which the LNS stops and the final full solve starts.
const LNS_END: f64 = 0.85;

/// Settings of one NRP solve.
#[derive(Clone, Debug, PartialEq)]
pub struct NrpConfig {
    /// Wall-clock limit in seconds for the whole solve (default 60).
    pub time_limit: f64,
    /// HiGHS threads (default 2).
    pub threads: u32,
    /// Seed of the neighbourhood choice and of HiGHS (default 0).
    pub seed: u64,
}

impl Default for NrpConfig {
    fn default() -> Self {
        NrpConfig { time_limit: 60.0, threads: 2, seed: 0 }
    }
}

/// How an NRP solve ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NrpStatus {
    /// A feasible schedule whose objective equals the proven bound.
    Optimal,
    /// A feasible schedule; the time limit stopped the proof.
    Feasible,
    /// No schedule found in time.
    NoSolution,
}

impl NrpStatus {
    /// Stable id in the JSON output.
    pub fn id(self) -> &'static str {
        match self {
            NrpStatus::Optimal => "optimal",
            NrpStatus::Feasible => "feasible",
            NrpStatus::NoSolution => "no_solution",
        }
    }
}

/// The result of [`solve`].
#[derive(Clone, Debug)]
pub struct NrpOutcome {
    /// How it ended.
    pub status: NrpStatus,
    /// The evaluator's objective of `schedule`.
    pub objective: Option<i64>,
    /// Proven lower bound on the optimum (rounded up: objectives are integers).
    pub bound: f64,
    /// `(objective − bound) / objective`, when there is a schedule.
    pub gap: Option<f64>,
    /// Wall-clock seconds, model building included.
    pub solve_seconds: f64,
    /// The best feasible schedule found.
    pub schedule: Option<Schedule>,
    /// Neighbourhoods solved, and how many of them improved the schedule.
    pub lns_rounds: (usize, usize),
}

/// One HiGHS run on a (possibly partly fixed) model.
struct Run {
    schedule: Option<Schedule>,
    proven: bool,
    bound: f64,
}

fn run_highs(
    instance: &Instance,
    fix: Option<&Fix>,
    start: Option<&Schedule>,
    time_limit: f64,
    config: &NrpConfig,
) -> Result<Run, SolveError> {
    let built = model::build(instance, fix);
    let start_values = start.map(|s| built.start_values(instance, s));
    let model::NrpModel { lp, x, .. } = built;
    let (mut highs_model, offset) = lp.into_highs()?;
    let set = |m: &mut highs::Model, name: &str, value: f64| {
        m.try_set_option(name, value).map_err(|_| SolveError::Solver(format!("cannot set {name}")))
    };
    set(&mut highs_model, "time_limit", time_limit.max(0.1))?;
    // Objectives are integers: a gap below 1 is a proof.
    set(&mut highs_model, "mip_abs_gap", 0.999)?;
    set(&mut highs_model, "mip_rel_gap", 0.0)?;
    for (name, value) in [("threads", config.threads as i32), ("random_seed", (config.seed % 1_000_000) as i32)] {
        highs_model.try_set_option(name, value).map_err(|_| SolveError::Solver(format!("cannot set {name}")))?;
    }
    if let Some(values) = &start_values {
        highs_model
            .try_set_solution(Some(values), None, None, None)
            .map_err(|e| SolveError::Solver(format!("warm start refused: {e:?}")))?;
    }
    let solved = highs_model.try_solve().map_err(|e| SolveError::Solver(format!("{e:?}")))?;
    let proven = matches!(solved.status(), HighsModelStatus::Optimal);
    let has_solution = solved.primal_solution_status() == HighsSolutionStatus::Feasible;
    let bound = solved.double_info_value(c"mip_dual_bound").unwrap_or(f64::NEG_INFINITY) + offset;
    let schedule = has_solution.then(|| model::schedule_of(&x, solved.get_solution().columns()));
    Ok(Run { schedule, proven, bound: if proven { solved.objective_value() + offset } else { bound } })
}

/// A small deterministic generator (splitmix64) for neighbourhood choice.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The objective of a schedule when it breaks no hard constraint.
fn feasible_objective(instance: &Instance, schedule: &Schedule) -> Option<i64> {
    let judged = evaluate(instance, schedule);
    judged.breaches.is_empty().then_some(judged.objective)
}

/// Solves `instance` within `config.time_limit` seconds.
pub fn solve(instance: &Instance, config: &NrpConfig) -> Result<NrpOutcome, SolveError> {
    let started = Instant::now();
    let remaining = |share: f64| config.time_limit * share - started.elapsed().as_secs_f64();

    // Phase 1: the full model.
    let first = run_highs(instance, None, None, remaining(PHASE1_SHARE), config)?;
    let mut bound = first.bound;
    let mut best: Option<(i64, Schedule)> =
        first.schedule.and_then(|s| feasible_objective(instance, &s).map(|objective| (objective, s)));
    let mut proven = first.proven;
    if best.is_none() && !proven {
        // No schedule yet: give the full model the rest of the time.
        let again = run_highs(instance, None, None, remaining(1.0), config)?;
        bound = bound.max(again.bound);
        best = again.schedule.and_then(|s| feasible_objective(instance, &s).map(|objective| (objective, s)));
        proven = again.proven;
    }

    // Phase 2: large-neighbourhood search.
    let (mut rounds, mut improvements) = (0, 0);
    let n_staff = instance.staff.len();
    let n_days = instance.n_days;
    let mut rng = Rng(config.seed ^ 0x5EED);
    let mut staff_share = 0.25_f64;
    let mut window_days = 7.0_f64.min(n_days as f64);
    let sub_limit = (config.time_limit / 30.0).clamp(0.7, 4.0);
    while let Some((objective, schedule)) = best.as_ref().filter(|_| !proven)
        && remaining(LNS_END) > 0.3
    {
        let by_staff = rounds % 2 == 0;
        let mut fixed = vec![vec![true; n_days]; n_staff];
        if by_staff {
            let k = ((n_staff as f64 * staff_share).round() as usize).clamp(2.min(n_staff), n_staff);
            let mut order: Vec<usize> = (0..n_staff).collect();
            for i in 0..k {
                let j = i + rng.below(n_staff - i);
                order.swap(i, j);
                fixed[order[i]] = vec![false; n_days];
            }
        } else {
            let length = (window_days.round() as usize).clamp(1, n_days);
            let first_day = rng.below(n_days - length + 1);
            for row in &mut fixed {
                row[first_day..first_day + length].fill(false);
            }
        }
        let fix = Fix { schedule, fixed };
        let limit = sub_limit.min(remaining(LNS_END));
        let run = run_highs(instance, Some(&fix), Some(schedule), limit, config)?;
        rounds += 1;
        let candidate = run.schedule.and_then(|s| feasible_objective(instance, &s).map(|o| (o, s)));
        // Equal objectives are accepted too: moving on a plateau diversifies the search.
        let improved = candidate.filter(|(o, s)| o < objective || (o == objective && s != schedule));
        let strictly = improved.as_ref().is_some_and(|(o, _)| o < objective);
        // Proven sub-problems are too easy: grow; unproven ones too hard: shrink.
        let factor = if run.proven { 1.2 } else { 0.8 };
        if by_staff {
            staff_share = (staff_share * factor).clamp(1.0 / n_staff as f64, 1.0);
        } else {
            window_days = (window_days * factor).clamp(2.0, n_days as f64);
        }
        if let Some(better) = improved {
            improvements += usize::from(strictly);
            best = Some(better);
        }
    }

    // Phase 3: the full model again, from the incumbent.
    if let Some((objective, schedule)) = best.as_ref().filter(|_| !proven)
        && remaining(1.0) > 0.5
    {
        let last = run_highs(instance, None, Some(schedule), remaining(1.0), config)?;
        bound = bound.max(last.bound);
        proven = last.proven;
        if let Some(candidate) = last.schedule.and_then(|s| feasible_objective(instance, &s).map(|o| (o, s)))
            && candidate.0 < *objective
        {
            best = Some(candidate);
        }
    }

    let bound = if bound.is_finite() { (bound - 1e-6).ceil().max(0.0) } else { 0.0 };
    let objective = best.as_ref().map(|(o, _)| *o);
    let status = match objective {
        None => NrpStatus::NoSolution,
        Some(o) if proven || o as f64 <= bound => NrpStatus::Optimal,
        Some(_) => NrpStatus::Feasible,
    };
    let gap = objective.map(|o| if o == 0 { 0.0 } else { ((o as f64 - bound) / o as f64).max(0.0) });
    Ok(NrpOutcome {
        status,
        objective,
        bound: if status == NrpStatus::Optimal { objective.map_or(bound, |o| o as f64) } else { bound },
        gap: if status == NrpStatus::Optimal { Some(0.0) } else { gap },
        solve_seconds: started.elapsed().as_secs_f64(),
        schedule: best.map(|(_, s)| s),
        lns_rounds: (rounds, improvements),
    })
}
