//! Solving an NRP instance within a time limit:
//! 1. construction: each employee in turn gets the cheapest row for the cover the earlier ones
//!    left (`best_row`, a dynamic program; a single-employee MILP when its prices cannot meet the
//!    budgets), then descent: each employee in turn is re-optimised against all the others until
//!    no row gets cheaper. A feasible schedule in well under a second on instances 1–19, in
//!    about 15 s on the year-long 22–24;
//! 2. on instances whose full model is small enough ([`FULL_MODEL_MAX_CELLS`]), column
//!    generation over whole rows (`colgen`) until it converges or [`COLUMN_GENERATION_END`]: its
//!    bound is the convex hull's, which proves instances 2–4 optimal; when it converged, a quick
//!    dive (fix the employees the LP has decided, price a little, repeat) for [`DIVE_SHARE`], the
//!    restricted integer master over the rows gathered for [`INTEGER_MASTER_SHARE`], then, while
//!    the incumbent is further than [`BRANCH_AND_PRICE_GAP`] from the bound, careful dives
//!    (pricing to convergence between fixings, the later ones varied) for
//!    [`CAREFUL_DIVES_SHARE`], which reach 1303–1304 on Instance8, 439 on 9 and prove 10 optimal;
//!    and, once the incumbent is within that gap, branch and price (`branch`) until
//!    [`BRANCH_AND_PRICE_END`], which proves instances 5 and 6 optimal;
//! 3. on the same instances, the full MILP, warm-started, for [`FULL_FIRST_SHARE`]: its dual
//!    bound counts too (it proves instance 1, whose master bound is 558 against 607);
//! 4. a large-neighbourhood search from the best schedule: fix every cell outside a neighbourhood
//!    (a few employees over up to eight weeks, many employees over a window of days, or a few of
//!    those who could fill an under-covered shift over up to eight weeks around it), solve
//!    only the free cells with the incumbent as HiGHS's start, keep schedules at least as good,
//!    descend again after each gain, and grow or shrink each kind of neighbourhood by whether
//!    HiGHS proved its sub-problem;
//! 5. for the last part of the time, branch and price again where the master converged and the
//!    LNS has brought the incumbent within [`BRANCH_AND_PRICE_GAP`] of its bound; elsewhere on
//!    the small-enough instances the full MILP again, warm-started from the incumbent, which can
//!    close the gap and raise the bound.
//!
//! Every phase stops as soon as the incumbent meets the bound. Every objective reported comes
//! from `evaluate`, never from HiGHS.

use std::time::Instant;

use highs::{HighsModelStatus, HighsSolutionStatus};

use crate::SolveError;
use crate::lns::{Clock, Neighbourhoods, Rng};
use crate::nrp::best_row::{RowCosts, best_row, count_row, on_shift_counts};
use crate::nrp::branch;
use crate::nrp::colgen::{ColumnGeneration, Dive};
use crate::nrp::model::{self, Fix};
use crate::nrp::{Instance, Schedule, evaluate};

/// Share of the time limit at which the column generation stops if it has not converged.
const COLUMN_GENERATION_END: f64 = 0.25;
/// Share of the time limit a dive through the master may use after the column generation.
const DIVE_SHARE: f64 = 0.15;
/// Share of the time limit the careful dives may use after the integer master, while the
/// incumbent is too far from the bound for the tree.
const CAREFUL_DIVES_SHARE: f64 = 0.15;
/// Share of the time limit the restricted integer master may use after the dive.
const INTEGER_MASTER_SHARE: f64 = 0.05;
/// Share of the time limit at which branch and price stops if its tree is not exhausted.
const BRANCH_AND_PRICE_END: f64 = 0.6;
/// Branch and price runs only when the incumbent is within this share of the bound: a wider gap
/// leaves it a tree too large to close, and the LNS uses the time better (on Instance8).
const BRANCH_AND_PRICE_GAP: f64 = 0.02;
/// Share of the time limit the first warm-started full solve may use.
const FULL_FIRST_SHARE: f64 = 0.1;
/// Share of the time limit at which the LNS hands over to the final full solve.
const LNS_END: f64 = 0.85;
/// Largest number of (employee, day, shift) columns for which full solves are worth their time;
/// above it the whole time goes to the LNS (instances 13, 20–24).
const FULL_MODEL_MAX_CELLS: usize = 25_000;
/// Free (employee, day) cells of the first neighbourhoods; adapted as the search goes.
const FIRST_NEIGHBOURHOOD_CELLS: f64 = 120.0;

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
    /// No schedule exists: HiGHS proved some employee's hard constraints, or all of them
    /// together, contradictory.
    Infeasible,
}

impl NrpStatus {
    /// Stable id in the JSON output.
    pub fn id(self) -> &'static str {
        match self {
            NrpStatus::Optimal => "optimal",
            NrpStatus::Feasible => "feasible",
            NrpStatus::NoSolution => "no_solution",
            NrpStatus::Infeasible => "infeasible",
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
    /// Proven lower bound on the optimum (rounded up: objectives are integers); 0 when no full
    /// solve ran.
    pub bound: f64,
    /// `(objective − bound) / objective`, when there is a schedule.
    pub gap: Option<f64>,
    /// Wall-clock seconds, model building included.
    pub solve_seconds: f64,
    /// The best feasible schedule found.
    pub schedule: Option<Schedule>,
    /// Neighbourhoods solved, and how many of them improved the schedule.
    pub lns_rounds: (usize, usize),
    /// Nodes of the branch and price whose master was priced.
    pub branch_nodes: usize,
}

/// One HiGHS run on a (possibly partly fixed) model.
struct Run {
    schedule: Option<Schedule>,
    proven: bool,
    /// No schedule exists (with a `Fix`: none that keeps the fixed cells).
    infeasible: bool,
    bound: f64,
}

fn run_highs(
    instance: &Instance,
    fix: Option<&Fix>,
    start: Option<&Schedule>,
    time_limit: f64,
    config: &NrpConfig,
) -> Result<Run, SolveError> {
    let model::NrpModel { lp, columns } = model::build(instance, fix);
    let start_values = start.map(|s| columns.start_values(lp.size().0, instance, s));
    let (mut highs_model, offset) = lp.into_highs()?;
    let set = |m: &mut highs::Model, name: &str, value: f64| {
        m.try_set_option(name, value).map_err(|_| SolveError::Solver(format!("cannot set {name}")))
    };
    set(&mut highs_model, "time_limit", time_limit.max(0.05))?;
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
    let status = solved.status();
    let proven = matches!(status, HighsModelStatus::Optimal);
    let infeasible = matches!(status, HighsModelStatus::Infeasible);
    let has_solution = solved.primal_solution_status() == HighsSolutionStatus::Feasible;
    let bound = solved.double_info_value(c"mip_dual_bound").unwrap_or(f64::NEG_INFINITY) + offset;
    let schedule = has_solution.then(|| columns.schedule_of(solved.get_solution().columns()));
    Ok(Run { schedule, proven, infeasible, bound: if proven { solved.objective_value() + offset } else { bound } })
}

/// The objective of a schedule when it breaks no hard constraint.
fn feasible_objective(instance: &Instance, schedule: &Schedule) -> Option<i64> {
    let judged = evaluate(instance, schedule);
    judged.breaches.is_empty().then_some(judged.objective)
}

/// `k` employees: one at random, and others drawn with a weight that grows with the number of
/// shift types they share with it, since only employees who can work the same shifts can trade
/// them (weighted sampling without replacement: the `k` largest of `u^(1/weight)`).
fn related_staff(instance: &Instance, rng: &mut Rng, k: usize) -> Vec<usize> {
    let n_staff = instance.staff.len();
    let seed = rng.below(n_staff);
    let works = |e: usize, s: usize| instance.staff[e].max_shifts[s] > 0;
    let mut keyed: Vec<(f64, usize)> = (0..n_staff)
        .map(|e| {
            if e == seed {
                return (f64::INFINITY, e);
            }
            let shared = (0..instance.shifts.len()).filter(|&s| works(seed, s) && works(e, s)).count() as f64;
            (rng.unit().powf(1.0 / (shared * shared + 0.05)), e)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
    keyed.into_iter().take(k).map(|(_, e)| e).collect()
}

/// The shapes of neighbourhood, each with its own adaptive size in free (employee, day) cells.
#[derive(Clone, Copy)]
enum Neighbourhood {
    /// A few employees over a long stretch of days (the whole horizon up to eight weeks).
    Staff,
    /// Many employees over a short window of days.
    Days,
    /// A few of the employees who could fill one under-covered (day, shift), over a long stretch
    /// of days around it. Filling a gap often means reshaping several rows at once (the one who
    /// takes the shift must give up another, which someone else takes), which neither the
    /// descent (one row at a time) nor a random pick of employees aims at.
    Cover,
}

impl Neighbourhood {
    const ALL: [Neighbourhood; 3] = [Neighbourhood::Staff, Neighbourhood::Days, Neighbourhood::Cover];
}

/// Up to `k` employees, at random, who may work one under-covered (day, shift) of `schedule` and
/// do not, with that day; `None` when no cover is short.
fn short_cover_staff(instance: &Instance, schedule: &Schedule, rng: &mut Rng, k: usize) -> Option<(Vec<usize>, usize)> {
    let on_shift = on_shift_counts(instance, schedule);
    let short: Vec<(usize, usize)> = instance
        .cover
        .iter()
        .enumerate()
        .flat_map(|(day, day_cover)| day_cover.iter().enumerate().map(move |(shift, c)| (day, shift, c.requirement)))
        .filter(|&(day, shift, requirement)| on_shift[day][shift] < requirement)
        .map(|(day, shift, _)| (day, shift))
        .collect();
    if short.is_empty() {
        return None;
    }
    let (day, shift) = short[rng.below(short.len())];
    let mut able: Vec<usize> = (0..instance.staff.len())
        .filter(|&e| model::allowed(instance, e, day, shift) && schedule[e][day] != Some(shift))
        .collect();
    // The first `k` of a partial shuffle.
    let k = k.min(able.len());
    for i in 0..k {
        let j = i + rng.below(able.len() - i);
        able.swap(i, j);
    }
    able.truncate(k);
    Some((able, day))
}

/// The state of one solve: the clock, the incumbent and what is proven.
struct Search<'a> {
    instance: &'a Instance,
    config: &'a NrpConfig,
    clock: Clock,
    best: Option<(i64, Schedule)>,
    bound: f64,
    proven: bool,
    /// HiGHS proved that no schedule exists.
    infeasible: bool,
    rounds: usize,
    improvements: usize,
    /// Branch-and-price nodes priced.
    nodes: usize,
}

impl<'a> Search<'a> {
    /// Share of the time limit spent so far.
    fn spent(&self) -> f64 {
        self.clock.spent()
    }

    /// Seconds left until `share` of the time limit.
    fn left(&self, share: f64) -> f64 {
        self.clock.left(share)
    }

    /// Keeps `schedule` if it is feasible and at least as good as the incumbent; equal objectives
    /// are taken too, since moving on a plateau diversifies the search. True on a strict gain.
    fn offer(&mut self, schedule: Option<Schedule>) -> bool {
        let Some(candidate) = schedule.and_then(|s| feasible_objective(self.instance, &s).map(|o| (o, s))) else {
            return false;
        };
        let strictly = self.best.as_ref().is_none_or(|(o, _)| candidate.0 < *o);
        if strictly || self.best.as_ref().is_some_and(|(o, s)| candidate.0 == *o && candidate.1 != *s) {
            self.best = Some(candidate);
        }
        strictly
    }

    /// Phase 1: each employee in turn gets the cheapest row for the cover the earlier ones left
    /// (`best_row`; the single-employee MILP when its prices cannot meet the budgets). `None` when
    /// some employee has no feasible row within the time given.
    fn construct(&mut self) -> Result<Option<Schedule>, SolveError> {
        let instance = self.instance;
        let (n_staff, n_days) = (instance.staff.len(), instance.n_days);
        let mut schedule: Schedule = vec![vec![None; n_days]; n_staff];
        let mut on_shift = on_shift_counts(instance, &schedule);
        for staff_idx in 0..n_staff {
            let costs = RowCosts::given_others(instance, staff_idx, &on_shift);
            let row = match best_row(instance, staff_idx, &costs) {
                Some(row) => row,
                None => {
                    let mut fixed = vec![vec![true; n_days]; n_staff];
                    fixed[staff_idx].fill(false);
                    let limit = (self.left(0.5) / (n_staff - staff_idx) as f64).max(1.0);
                    let run = run_highs(instance, Some(&Fix { schedule: &schedule, fixed }), None, limit, self.config)?;
                    match run.schedule {
                        Some(mut rows) => std::mem::take(&mut rows[staff_idx]),
                        None => {
                            // Only this employee's rules are in that program: if they contradict
                            // each other, no schedule exists.
                            self.infeasible = run.infeasible;
                            return Ok(None);
                        }
                    }
                }
            };
            count_row(&mut on_shift, &row, 1);
            schedule[staff_idx] = row;
        }
        Ok(Some(schedule))
    }

    /// Gives each employee in turn the cheapest row for the cover the others leave, until no row
    /// gets cheaper or `share` of the time is spent.
    fn descend(&mut self, share: f64) {
        let instance = self.instance;
        let Some((_, mut schedule)) = self.best.clone() else { return };
        let mut on_shift = on_shift_counts(instance, &schedule);
        let mut improved = false;
        loop {
            let mut changed = false;
            for (staff_idx, current) in schedule.iter_mut().enumerate() {
                if self.left(share) <= 0.0 {
                    break;
                }
                count_row(&mut on_shift, current, -1);
                let costs = RowCosts::given_others(instance, staff_idx, &on_shift);
                if let Some(row) = best_row(instance, staff_idx, &costs)
                    && costs.of(&row) < costs.of(current) - 0.5
                {
                    *current = row;
                    changed = true;
                }
                count_row(&mut on_shift, current, 1);
            }
            improved |= changed;
            if !changed || self.left(share) <= 0.0 {
                break;
            }
        }
        if improved {
            self.offer(Some(schedule));
        }
    }

    /// The incumbent's distance from the bound, as a share of its objective (infinite without
    /// an incumbent).
    fn gap(&self) -> f64 {
        self.best.as_ref().map_or(f64::INFINITY, |(o, _)| (*o as f64 - self.bound) / (*o).max(1) as f64)
    }

    /// Whether the incumbent is proven optimal, by HiGHS or by a bound it meets.
    fn closed(&self) -> bool {
        self.proven || self.best.as_ref().is_some_and(|(o, _)| *o as f64 <= (self.bound - 1e-6).ceil())
    }

    /// The instant at which `share` of the time limit is spent.
    fn deadline(&self, share: f64) -> Instant {
        self.clock.deadline(share)
    }

    /// Phase 2: column generation until it converges, stalls or `share` of the time is spent,
    /// for its bound. The master when it converged: one that has not holds rows priced on duals
    /// still moving, and neither its dive nor its integer program nor its tree is worth the time.
    fn column_generation(&mut self, share: f64) -> Result<Option<ColumnGeneration<'a>>, SolveError> {
        let Some((_, incumbent)) = self.best.clone() else { return Ok(None) };
        let mut master = ColumnGeneration::new(self.instance, &incumbent, self.config.threads);
        // A round that adds no row leaves the duals as they were: the next would repeat it.
        while !master.converged && self.left(share) > 0.0 && master.round(self.deadline(share))?.added > 0 {}
        self.bound = self.bound.max(master.bound);
        Ok(master.converged.then_some(master))
    }

    /// Runs `phase` from the incumbent until `extra` more of the time is spent (unless the
    /// incumbent is proven optimal), keeps what it finds and descends from it.
    fn improve(
        &mut self,
        extra: f64,
        phase: impl FnOnce(&Schedule, Instant) -> Result<Option<Schedule>, SolveError>,
    ) -> Result<(), SolveError> {
        let end = self.spent() + extra;
        let Some((_, incumbent)) = &self.best else { return Ok(()) };
        if self.closed() || self.left(end) < 0.1 {
            return Ok(());
        }
        let found = phase(incumbent, self.deadline(end))?;
        if self.offer(found) {
            self.descend(end);
        }
        Ok(())
    }

    /// Careful dives (`colgen::Dive::Careful`) from `master` while the incumbent is too far from
    /// the bound for the tree, for `extra` more of the time: the first as the LP leads, the
    /// others varied, since one dive's result depends on near-ties in the LP (Instance8 gave
    /// between 1304 and 1408).
    fn careful_dives(&mut self, master: &mut ColumnGeneration, extra: f64) -> Result<(), SolveError> {
        let end = self.spent() + extra;
        let mut rng = Rng(self.config.seed ^ 0xD17E);
        for dive in 0.. {
            if self.gap() <= BRANCH_AND_PRICE_GAP || self.left(end) < 0.1 {
                break;
            }
            let vary = (dive > 0).then_some(&mut rng);
            self.improve(end - self.spent(), |_, deadline| master.dive(deadline, Dive::Careful, vary))?;
        }
        Ok(())
    }

    /// Branch and price from the converged `master` until `share` of the time: a better
    /// schedule, and the optimum proven when the tree is exhausted.
    fn branch_and_price(&mut self, master: &mut ColumnGeneration, share: f64) -> Result<(), SolveError> {
        let Some(incumbent) = self.best.clone() else { return Ok(()) };
        if self.closed() || self.left(share) < 0.1 || self.gap() > BRANCH_AND_PRICE_GAP {
            return Ok(());
        }
        let tree = branch::search(master, incumbent, self.deadline(share))?;
        self.nodes += tree.nodes;
        let (objective, schedule) = tree.best;
        if self.offer(Some(schedule)) && !tree.exhausted {
            self.descend(share);
        }
        if tree.exhausted {
            self.bound = self.bound.max(objective as f64);
        }
        Ok(())
    }

    /// A full-model HiGHS run until `share` of the time, warm-started from the incumbent.
    fn full_solve(&mut self, share: f64) -> Result<(), SolveError> {
        let start = self.best.as_ref().map(|(_, s)| model::symmetry_ordered(self.instance, s));
        let run = run_highs(self.instance, None, start.as_ref(), self.left(share), self.config)?;
        self.bound = self.bound.max(run.bound);
        self.proven |= run.proven;
        self.infeasible |= run.infeasible;
        self.offer(run.schedule);
        Ok(())
    }

    /// Phase 3: large-neighbourhood search until `share` of the time.
    fn lns(&mut self, share: f64) -> Result<(), SolveError> {
        let (n_staff, n_days) = (self.instance.staff.len(), self.instance.n_days);
        let total_cells = (n_staff * n_days) as f64;
        let mut rng = Rng(self.config.seed ^ 0x5EED);
        let mut shapes = Neighbourhoods::<3>::new(
            FIRST_NEIGHBOURHOOD_CELLS.min(total_cells),
            (4.0_f64.min(total_cells), total_cells),
        );
        let sub_limit = (self.clock.limit / 120.0).clamp(0.25, 1.0);
        while !self.closed() && self.left(share) > 0.2 {
            let Some((_, incumbent)) = self.best.as_ref() else { return Ok(()) };
            let mut kind = Neighbourhood::ALL[shapes.pick(&mut rng)];
            let (round_started, objective_before) = (Instant::now(), self.best.as_ref().map_or(0, |b| b.0));
            let long_window = n_days.min(56);
            let mut size = shapes.size(kind as usize);
            let k = |size: f64, window: usize| ((size / window as f64).round() as usize).clamp(2.min(n_staff), n_staff);
            let short = match kind {
                Neighbourhood::Cover => short_cover_staff(self.instance, incumbent, &mut rng, k(size, long_window)),
                _ => None,
            };
            if matches!(kind, Neighbourhood::Cover) && short.is_none() {
                kind = Neighbourhood::Staff;
                size = shapes.size(kind as usize);
            }
            let (staff, window, first_day) = match (kind, short) {
                (Neighbourhood::Cover, Some((staff, day))) => {
                    // A window of the long length that holds the short day.
                    let earliest = (day + 1).saturating_sub(long_window);
                    let latest = day.min(n_days - long_window);
                    (staff, long_window, earliest + rng.below(latest - earliest + 1))
                }
                (Neighbourhood::Days, _) => {
                    let window = ((size / n_staff as f64).round() as usize).clamp(3.min(n_days), n_days);
                    (related_staff(self.instance, &mut rng, k(size, window)), window, rng.below(n_days - window + 1))
                }
                _ => {
                    let staff = related_staff(self.instance, &mut rng, k(size, long_window));
                    (staff, long_window, rng.below(n_days - long_window + 1))
                }
            };
            let mut fixed = vec![vec![true; n_days]; n_staff];
            for &e in &staff {
                fixed[e][first_day..first_day + window].fill(false);
            }
            let fix = Fix { schedule: incumbent, fixed };
            let run =
                run_highs(self.instance, Some(&fix), Some(incumbent), sub_limit.min(self.left(share)), self.config)?;
            self.rounds += 1;
            if self.offer(run.schedule) {
                self.improvements += 1;
                self.descend(share);
            }
            let gain = objective_before - self.best.as_ref().map_or(0, |b| b.0);
            shapes.record(kind as usize, size, gain as f64, round_started.elapsed().as_secs_f64(), run.proven);
        }
        Ok(())
    }
}

/// Solves `instance` within `config.time_limit` seconds.
pub fn solve(instance: &Instance, config: &NrpConfig) -> Result<NrpOutcome, SolveError> {
    let mut search = Search {
        instance,
        config,
        clock: Clock::start(config.time_limit),
        best: None,
        bound: f64::NEG_INFINITY,
        proven: false,
        infeasible: false,
        rounds: 0,
        improvements: 0,
        nodes: 0,
    };
    let n_cells = (0..instance.staff.len())
        .flat_map(|e| (0..instance.n_days).flat_map(move |d| (0..instance.shifts.len()).map(move |s| (e, d, s))))
        .filter(|&(e, d, s)| model::allowed(instance, e, d, s))
        .count();
    let full_fits = n_cells <= FULL_MODEL_MAX_CELLS;

    let constructed = search.construct()?;
    search.offer(constructed);
    search.descend(0.5);
    let mut master = if full_fits { search.column_generation(COLUMN_GENERATION_END)? } else { None };
    if let Some(master) = &mut master {
        search.improve(DIVE_SHARE, |_, deadline| master.dive(deadline, Dive::Quick, None))?;
        search.improve(INTEGER_MASTER_SHARE, |incumbent, deadline| master.integer_solve(incumbent, deadline))?;
        search.careful_dives(master, CAREFUL_DIVES_SHARE)?;
        search.branch_and_price(master, BRANCH_AND_PRICE_END)?;
    }
    if full_fits && !search.infeasible && !search.closed() {
        let share = if search.best.is_some() { search.spent() + FULL_FIRST_SHARE } else { 1.0 };
        search.full_solve(share)?;
    }
    search.lns(if full_fits { LNS_END } else { 1.0 })?;
    if full_fits && !search.closed() && search.left(1.0) > 0.5 {
        // The tree where the LNS has brought the gap within reach, the full MILP elsewhere.
        match &mut master {
            Some(master) if search.gap() <= BRANCH_AND_PRICE_GAP => search.branch_and_price(master, 1.0)?,
            _ => search.full_solve(1.0)?,
        }
    }

    let Search { best, bound, proven, infeasible, rounds, improvements, nodes, clock, .. } = search;
    let bound = if bound.is_finite() { (bound - 1e-6).ceil().max(0.0) } else { 0.0 };
    let objective = best.as_ref().map(|(o, _)| *o);
    let status = match objective {
        None if infeasible => NrpStatus::Infeasible,
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
        solve_seconds: clock.elapsed(),
        schedule: best.map(|(_, s)| s),
        lns_rounds: (rounds, improvements),
        branch_nodes: nodes,
    })
}
