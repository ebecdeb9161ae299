//! Column generation over whole rows: the linear relaxation of "each employee works one of its
//! feasible rows, and cover is charged on what the chosen rows add up to" (the master), grown one
//! row at a time by pricing (`best_row::price_row` on the master's duals).
//!
//! Why: the LP bound of the cell-by-cell model is weak where rows carry the cost (842 against the
//! optimum 1143 on Instance5), because fractional cells can keep every rule on average. The
//! master only mixes whole rows that keep every rule, so its bound is the convex hull's, which on
//! these instances is at or near the optimum. That bound is what proves optimality, and the rows
//! it gathers make a restricted integer master ("price and branch") that finds good schedules.
//!
//! Invariant: [`ColumnGeneration::bound`] is proven at every step, not only at convergence. The
//! pricing is heuristic where a budget binds, so the bound is the Lagrangian one, the master's
//! value plus each employee's lowest possible reduced cost, using the pricing's own lower bound
//! and, where that leaves a gap, the exact single-employee MILP (`model::single`).
//!
//! The master can be restricted, for the branch and price (`branch`): [`ColumnGeneration::restrict`]
//! puts cell decisions in force, holding the rows that break them at zero and barring their
//! choices in the pricing. An artificial column per employee keeps the LP feasible when no row
//! it holds keeps them. A restricted round reports its own bound ([`Round::lower`]) and leaves
//! [`ColumnGeneration::bound`], the root's, alone.

use std::collections::HashSet;
use std::time::Instant;

use highs::{ColProblem, HighsModelStatus, HighsSolutionStatus, Model, Row, Sense};

use crate::SolveError;
use crate::lns::Rng;
use crate::nrp::best_row::{Budgets, Priced, RowCosts, price_row};
use crate::nrp::model;
use crate::nrp::{Instance, Schedule};

/// One employee's row: the shift worked on each day, or `None` for a day off.
type StaffRow = Vec<Option<usize>>;

/// Reduced costs above this are taken as zero (the master's values are sums of integers).
const EPSILON: f64 = 1e-6;

/// Seconds one exact pricing MILP may take.
const EXACT_PRICING_LIMIT: f64 = 2.0;

/// HiGHS's `simplex_strategy` values.
const DUAL_SIMPLEX: i32 = 1;
const PRIMAL_SIMPLEX: i32 = 4;

/// How a dive spends its time between two fixings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dive {
    /// Two pricing rounds per step, each step fixing at least a quarter of the employees still
    /// free: a schedule in a fraction of a second on instances 1–11, which the integer master
    /// and the tree start from (they prove 5 and 6 from it).
    Quick,
    /// Pricing to convergence after each step, within the step's share of the time left, each
    /// step fixing at least an eighth: rows priced on the duals of a half-settled LP lead a dive
    /// astray (Instance8: 1607 quick, 1304 careful; Instance9: 852 and 439).
    Careful,
}

impl Dive {
    /// Pricing rounds per step (`None`: until no row is added), and the pace: each step fixes at
    /// least one in `pace` of the employees still free.
    fn rounds_and_pace(self) -> (Option<usize>, usize) {
        match self {
            Dive::Quick => (Some(2), 4),
            Dive::Careful => (None, 8),
        }
    }
}

/// Steps a dive takes to fix `free` employees when each fixes the fewest it may, one in `pace`
/// of those still free.
fn dive_steps(free: usize, pace: usize) -> usize {
    let (mut left, mut steps) = (free, 0);
    while left > 0 {
        left -= left.div_ceil(pace);
        steps += 1;
    }
    steps.max(1)
}

/// How far a varied dive may demote an employee's heaviest weight when ranking whom to fix.
const DIVE_NOISE: f64 = 0.3;

/// A dive fixes every employee whose heaviest row carries at least this much of the LP's mix.
const DIVE_FIX: f64 = 0.99;

/// Cost of an employee's artificial column (in its convexity row only), which keeps the master
/// feasible when a branch has barred every row it holds for that employee. Far above any
/// objective of these instances, so an LP leaning on one is pruned; the bound stays valid
/// whatever the value (see [`ColumnGeneration::round`]).
const ARTIFICIAL_COST: f64 = 1e6;

/// A branching decision on one (employee, day) cell of the schedule: the employee works
/// `choice` (a shift, or `None` for a day off) that day, or (`keep` false) does anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Branch {
    pub staff: usize,
    pub day: usize,
    pub choice: Option<usize>,
    pub keep: bool,
}

/// Index of a day's choice among the employee's options: 0 for a day off, 1 + s for shift s.
pub(crate) fn choice_index(choice: Option<usize>) -> usize {
    choice.map_or(0, |s| s + 1)
}

/// What one pricing round found.
pub(crate) struct Round {
    /// Rows added to the master.
    pub added: usize,
    /// A proven lower bound on every schedule the master's current restriction (branches, dive
    /// fixings) allows: the LP's value plus each employee's lowest reduced cost.
    /// `f64::NEG_INFINITY` when the LP was not solved in time.
    pub lower: f64,
    /// No row can lower the master LP: its value is `lower`, and its mix is the LP optimum.
    pub settled: bool,
}

/// An optimal master LP's value and duals: per cover constraint (day * n_shifts + shift), and
/// per employee ("one row").
struct Duals {
    value: f64,
    cover: Vec<f64>,
    staff: Vec<f64>,
}

/// The master LP and the rows it holds.
pub(crate) struct ColumnGeneration<'a> {
    instance: &'a Instance,
    /// Each employee's own costs (its requests): what the master charges for its rows.
    requests: Vec<RowCosts>,
    /// The master's row columns in order, after the cover slacks: (employee, row).
    rows: Vec<(usize, StaffRow)>,
    /// HiGHS's handle of each of `rows`, to fix it in a dive.
    handles: Vec<highs::Col>,
    /// The last LP's value of each of `rows`; empty when that LP was not solved to optimality.
    mix: Vec<f64>,
    /// Per employee, the index in `rows` a dive has fixed it to.
    fixed: Vec<Option<usize>>,
    /// `open[e][d][choice_index(c)]`: the branches in force let employee e take choice c on day d.
    open: Vec<Vec<Vec<bool>>>,
    /// Some branch is in force (`open` is not all true).
    restricted: bool,
    known: HashSet<(usize, StaffRow)>,
    /// The LP between solves, keeping HiGHS's basis for the next one.
    lp: Option<Model>,
    /// Cover constraint of (day, shift) at `day * n_shifts + shift`.
    cover: Vec<Row>,
    /// "One row per employee".
    convexity: Vec<Row>,
    threads: u32,
    /// When the LP was made (HiGHS's time limits count from then).
    created: Instant,
    /// Proven lower bound on the optimum so far.
    pub bound: f64,
    /// The master's value equals the bound: no row can improve it.
    pub converged: bool,
}

impl<'a> ColumnGeneration<'a> {
    /// A master holding the rows of `seed` (any schedule keeping every hard rule, so that every
    /// employee has a row from the start).
    pub(crate) fn new(instance: &'a Instance, seed: &Schedule, threads: u32) -> Self {
        let (mut problem, cover, convexity) = skeleton(instance);
        for &row in &convexity {
            problem.add_column(ARTIFICIAL_COST, 0.0.., [(row, 1.0)]);
        }
        let mut lp = problem.optimise(Sense::Minimise);
        lp.make_quiet();
        // Each round adds columns to an LP HiGHS has just solved: the kept basis stays primal
        // feasible, so primal simplex goes on from it; a presolve would discard it.
        for (name, value) in [("presolve", "off"), ("solver", "simplex")] {
            lp.try_set_option(name, value).unwrap_or_else(|_| panic!("HiGHS knows the option {name}"));
        }
        lp.try_set_option("simplex_strategy", PRIMAL_SIMPLEX)
            .unwrap_or_else(|_| panic!("HiGHS knows simplex_strategy"));
        let mut master = ColumnGeneration {
            instance,
            requests: (0..instance.staff.len()).map(|e| RowCosts::requests(instance, e)).collect(),
            rows: Vec::new(),
            handles: Vec::new(),
            mix: Vec::new(),
            fixed: vec![None; instance.staff.len()],
            open: vec![vec![vec![true; instance.shifts.len() + 1]; instance.n_days]; instance.staff.len()],
            restricted: false,
            known: HashSet::new(),
            lp: Some(lp),
            cover,
            convexity,
            threads,
            created: Instant::now(),
            bound: f64::NEG_INFINITY,
            converged: false,
        };
        for (staff_idx, row) in seed.iter().enumerate() {
            master.add(staff_idx, row.clone());
        }
        master
    }

    /// Adds a row of employee `staff_idx` unless the master has it. True when added. A row the
    /// branches in force bar is added at zero.
    pub(crate) fn add(&mut self, staff_idx: usize, row: StaffRow) -> bool {
        if self.known.contains(&(staff_idx, row.clone())) {
            return false;
        }
        let factors = row_factors(self.instance, &self.cover, self.convexity[staff_idx], &row);
        let cost = self.requests[staff_idx].of(&row);
        let open = self.keeps_branches(staff_idx, &row);
        let lp = self.lp.as_mut().expect("the master LP is kept between solves");
        let handle = lp.add_col(cost, 0.0.., factors);
        if !open {
            lp.change_column_bounds(handle, 0.0..=0.0);
        }
        self.handles.push(handle);
        self.known.insert((staff_idx, row.clone()));
        self.rows.push((staff_idx, row));
        true
    }

    /// Whether the branches in force let employee `staff_idx` work `row`.
    fn keeps_branches(&self, staff_idx: usize, row: &[Option<usize>]) -> bool {
        row.iter().zip(&self.open[staff_idx]).all(|(&choice, open)| open[choice_index(choice)])
    }

    /// Puts `branches` in force, in place of those before (for a node of the branch and price):
    /// rows breaking one are held at zero and the pricing no longer offers them. An empty list
    /// lifts every restriction. Bounds change, the basis stays dual feasible: dual simplex
    /// re-solves while a restriction holds.
    pub(crate) fn restrict(&mut self, branches: &[Branch]) -> Result<(), SolveError> {
        for choices in self.open.iter_mut().flatten() {
            choices.fill(true);
        }
        for branch in branches {
            let choices = &mut self.open[branch.staff][branch.day];
            let idx = choice_index(branch.choice);
            if branch.keep {
                choices.iter_mut().enumerate().for_each(|(i, open)| *open &= i == idx);
            } else {
                choices[idx] = false;
            }
        }
        let open: Vec<bool> = self.rows.iter().map(|(staff_idx, row)| self.keeps_branches(*staff_idx, row)).collect();
        let lp = self.lp.as_mut().expect("the master LP is kept between solves");
        for (&handle, open) in self.handles.iter().zip(open) {
            if open {
                lp.change_column_bounds(handle, 0.0..);
            } else {
                lp.change_column_bounds(handle, 0.0..=0.0);
            }
        }
        self.restricted = !branches.is_empty();
        self.simplex_strategy(if self.restricted { DUAL_SIMPLEX } else { PRIMAL_SIMPLEX })
    }

    /// Employees no dive has fixed.
    fn free_count(&self) -> usize {
        self.fixed.iter().filter(|f| f.is_none()).count()
    }

    /// The instance the master is over.
    pub(crate) fn instance(&self) -> &'a Instance {
        self.instance
    }

    /// The rows the last solved LP gives a positive value, with that value: (employee, row,
    /// value). Empty when the last LP was not solved to optimality.
    pub(crate) fn mix(&self) -> impl Iterator<Item = (usize, &[Option<usize>], f64)> {
        self.rows.iter().zip(&self.mix).filter(|(_, v)| **v > EPSILON).map(|((e, row), &v)| (*e, row.as_slice(), v))
    }

    /// Solves the master LP, prices every employee on its duals and adds the rows that would
    /// lower it. When the heuristic pricing finds nothing,
    /// employees whose pricing bound leaves a gap get the exact MILP, until `deadline`. Raises
    /// [`Self::bound`] unless a dive has fixed rows or a branch is in force (the bound would then
    /// be theirs only).
    ///
    /// Why the bound holds: with `lowest[e]` the least reduced cost of any row of e (at most 0),
    /// the cover duals and each convexity dual plus `lowest[e]` are feasible for the dual of the
    /// master over every row, so their dual value, the LP's value plus `Σ lowest`, is a lower
    /// bound. The artificial columns only add dual constraints the shifted duals still meet.
    pub(crate) fn round(&mut self, deadline: Instant) -> Result<Round, SolveError> {
        let Some(Duals { value, cover: cover_duals, staff: staff_duals }) = self.solve_lp(deadline)? else {
            return Ok(Round { added: 0, lower: f64::NEG_INFINITY, settled: false });
        };
        let n_staff = self.instance.staff.len();
        let mut lowest = vec![0.0_f64; n_staff];
        let mut added = 0;
        let free: Vec<usize> = (0..n_staff).filter(|&e| self.fixed[e].is_none()).collect();
        for (staff_idx, costs, priced) in self.pricing(&cover_duals).all(&free, self.threads) {
            lowest[staff_idx] = (priced.lower - staff_duals[staff_idx]).min(0.0);
            if let Some(row) = priced.row
                && costs.of(&row) - staff_duals[staff_idx] < -EPSILON
            {
                added += usize::from(self.add(staff_idx, row));
            }
        }
        if added == 0 {
            // The heuristic pricing is stuck: close each remaining gap exactly, largest first.
            let mut gaps: Vec<usize> = (0..n_staff).filter(|&e| lowest[e] < -EPSILON).collect();
            gaps.sort_by(|&a, &b| lowest[a].total_cmp(&lowest[b]));
            for staff_idx in gaps {
                let left = deadline.saturating_duration_since(Instant::now()).as_secs_f64();
                if left < 0.05 {
                    break;
                }
                let costs = self.pricing(&cover_duals).costs(staff_idx);
                let (lower, row) =
                    exact_pricing(self.instance, staff_idx, &costs, left.min(EXACT_PRICING_LIMIT), self.threads)?;
                lowest[staff_idx] = (lower - staff_duals[staff_idx]).min(0.0);
                if let Some(row) = row
                    && costs.of(&row) - staff_duals[staff_idx] < -EPSILON
                {
                    added += usize::from(self.add(staff_idx, row));
                }
            }
        }
        let lower = value + lowest.iter().sum::<f64>();
        let settled = added == 0 && lowest.iter().all(|&l| l >= -EPSILON);
        if self.fixed.iter().all(Option::is_none) && !self.restricted {
            self.bound = self.bound.max(lower);
            // A round its deadline cut short says nothing new about convergence.
            self.converged |= settled;
        }
        Ok(Round { added, lower, settled })
    }

    /// The pricing problems on `cover_duals` under the branches in force.
    fn pricing<'p>(&'p self, cover_duals: &'p [f64]) -> Pricing<'p> {
        Pricing { instance: self.instance, requests: &self.requests, open: &self.open, cover_duals }
    }

    /// Solves the master LP until `deadline`, keeping its row values in `mix`; its value and
    /// duals, or `None` (and `mix` empty) when it was not solved to optimality.
    fn solve_lp(&mut self, deadline: Instant) -> Result<Option<Duals>, SolveError> {
        let left = deadline.saturating_duration_since(Instant::now()).as_secs_f64();
        let mut lp = self.lp.take().expect("the master LP is kept between solves");
        // HiGHS's clock runs from the model's creation, not from this solve.
        let limit = self.created.elapsed().as_secs_f64() + left.max(0.05);
        lp.try_set_option("time_limit", limit).map_err(|_| SolveError::Solver("cannot set time_limit".into()))?;
        lp.try_set_option("threads", self.threads as i32)
            .map_err(|_| SolveError::Solver("cannot set threads".into()))?;
        let solved = lp.try_solve().map_err(|e| SolveError::Solver(format!("master LP: {e:?}")))?;
        if solved.status() != HighsModelStatus::Optimal {
            self.mix.clear();
            self.lp = Some(solved.into());
            return Ok(None);
        }
        let solution = solved.get_solution();
        let (cover, staff) = solution.dual_rows().split_at(self.cover.len());
        let duals = Duals { value: solved.objective_value(), cover: cover.to_vec(), staff: staff.to_vec() };
        // Columns: two slacks per cover row, one artificial per employee, then the rows.
        self.mix = solution.columns()[2 * self.cover.len() + self.convexity.len()..].to_vec();
        self.lp = Some(solved.into());
        Ok(Some(duals))
    }

    /// A diving heuristic: with the master LP at its optimum, fix every employee whose heaviest
    /// row carries at least [`DIVE_FIX`] of its mix (and at least the most decided of the
    /// others), price again as `style` says, and go on until each employee has one row. The LP is
    /// tight on many instances (its bound is the best known on 10 and 11), and the dive follows
    /// it to a schedule near it. When `deadline` comes, the employees still free get their
    /// heaviest rows at once; `None` when even the LP is not solved by then. With `vary`, the
    /// ranking of whom to fix next is perturbed (by up to [`DIVE_NOISE`] of a weight), so that
    /// dives repeated on the same master take different paths. Leaves the master as it found it,
    /// new rows aside.
    pub(crate) fn dive(
        &mut self,
        deadline: Instant,
        style: Dive,
        mut vary: Option<&mut Rng>,
    ) -> Result<Option<Schedule>, SolveError> {
        let n_staff = self.instance.staff.len();
        let (rounds, pace) = style.rounds_and_pace();
        // Fixing rows breaks the basis's primal feasibility but keeps it dual feasible.
        self.simplex_strategy(DUAL_SIMPLEX)?;
        let schedule = loop {
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            let pace = if left.is_zero() { 1 } else { pace };
            let step_deadline = now + left / dive_steps(self.free_count(), pace) as u32;
            let mut priced = 0;
            while Instant::now() < step_deadline
                && rounds.is_none_or(|r| priced < r)
                && self.round(step_deadline)?.added > 0
            {
                priced += 1;
            }
            if self.mix.len() != self.rows.len() {
                // Rows were added since the last LP: solve it once more to weigh them.
                self.solve_lp(deadline)?;
            }
            if self.mix.len() != self.rows.len() {
                break None;
            }
            // Each free employee's heaviest row in the LP's mix.
            let mut heaviest: Vec<Option<(f64, usize)>> = vec![None; n_staff];
            for (idx, ((staff_idx, _), &weight)) in self.rows.iter().zip(&self.mix).enumerate() {
                if self.fixed[*staff_idx].is_none() && heaviest[*staff_idx].is_none_or(|(w, _)| weight > w) {
                    heaviest[*staff_idx] = Some((weight, idx));
                }
            }
            // Fix the decided employees, and at least the most decided one in `pace` of the rest.
            // (rank key, weight, employee, row index)
            let mut order: Vec<(f64, f64, usize, usize)> = heaviest
                .iter()
                .enumerate()
                .filter_map(|(e, h)| h.map(|(w, idx)| (w, e, idx)))
                .map(|(w, e, idx)| (w * (1.0 - vary.as_mut().map_or(0.0, |rng| DIVE_NOISE * rng.unit())), w, e, idx))
                .collect();
            order.sort_by(|a, b| b.0.total_cmp(&a.0));
            let at_least = order.len().div_ceil(pace);
            let lp = self.lp.as_mut().expect("the master LP is kept between solves");
            for (rank, &(_, weight, staff_idx, idx)) in order.iter().enumerate() {
                if weight >= DIVE_FIX || rank < at_least {
                    lp.change_column_bounds(self.handles[idx], 1.0..=1.0);
                    self.fixed[staff_idx] = Some(idx);
                }
            }
            if self.fixed.iter().all(Option::is_some) {
                break Some(self.fixed.iter().map(|idx| self.rows[idx.expect("all fixed")].1.clone()).collect());
            }
        };
        let lp = self.lp.as_mut().expect("the master LP is kept between solves");
        for idx in self.fixed.iter_mut().filter_map(Option::take) {
            lp.change_column_bounds(self.handles[idx], 0.0..);
        }
        self.simplex_strategy(PRIMAL_SIMPLEX)?;
        Ok(schedule)
    }

    /// Sets HiGHS's simplex variant for the next solves of the master LP.
    fn simplex_strategy(&mut self, strategy: i32) -> Result<(), SolveError> {
        let lp = self.lp.as_mut().expect("the master LP is kept between solves");
        lp.try_set_option("simplex_strategy", strategy)
            .map_err(|_| SolveError::Solver("cannot set simplex_strategy".into()))
    }

    /// The restricted master with one whole row per employee (price and branch), warm-started
    /// from `incumbent`, whose rows it adds first. The best schedule HiGHS finds before
    /// `deadline`, if any.
    pub(crate) fn integer_solve(
        &mut self,
        incumbent: &Schedule,
        deadline: Instant,
    ) -> Result<Option<Schedule>, SolveError> {
        for (staff_idx, row) in incumbent.iter().enumerate() {
            self.add(staff_idx, row.clone());
        }
        let instance = self.instance;
        let (mut problem, cover, convexity) = skeleton(instance);
        // The incumbent's slack values, in the skeleton's column order, then its rows.
        let on_shift = crate::nrp::best_row::on_shift_counts(instance, incumbent);
        let mut start: Vec<f64> = instance
            .cover
            .iter()
            .zip(&on_shift)
            .flat_map(|(day_cover, day_counts)| day_cover.iter().zip(day_counts))
            .flat_map(|(c, &have)| {
                let (need, have) = (f64::from(c.requirement), f64::from(have));
                [(need - have).max(0.0), (have - need).max(0.0)]
            })
            .collect();
        for (staff_idx, row) in &self.rows {
            let factors = row_factors(instance, &cover, convexity[*staff_idx], row);
            problem.add_integer_column(self.requests[*staff_idx].of(row), 0.0..=1.0, factors);
            start.push(f64::from(u8::from(incumbent[*staff_idx] == *row)));
        }
        let mut ip = problem.optimise(Sense::Minimise);
        ip.make_quiet();
        let time_limit = deadline.saturating_duration_since(Instant::now()).as_secs_f64();
        for (name, value) in [("time_limit", time_limit.max(0.05)), ("mip_abs_gap", 0.999), ("mip_rel_gap", 0.0)] {
            ip.try_set_option(name, value).map_err(|_| SolveError::Solver(format!("cannot set {name}")))?;
        }
        ip.try_set_option("threads", self.threads as i32)
            .map_err(|_| SolveError::Solver("cannot set threads".into()))?;
        ip.try_set_solution(Some(&start), None, None, None)
            .map_err(|e| SolveError::Solver(format!("warm start refused: {e:?}")))?;
        let solved = ip.try_solve().map_err(|e| SolveError::Solver(format!("integer master: {e:?}")))?;
        if solved.primal_solution_status() != HighsSolutionStatus::Feasible {
            return Ok(None);
        }
        let values = solved.get_solution();
        let chosen = &values.columns()[2 * cover.len()..];
        let mut schedule = incumbent.clone();
        for ((staff_idx, row), &v) in self.rows.iter().zip(chosen) {
            if v > 0.5 {
                schedule[*staff_idx] = row.clone();
            }
        }
        Ok(Some(schedule))
    }
}

/// The frame every master shares: one cover row per (day, shift) held at its requirement, with
/// an under and an over slack column after it (costing the cover weights; columns 2i and
/// 2i + 1 for cover row i), and one convexity row per employee ("one row each"). Returns the
/// problem, the cover rows (at `day * n_shifts + shift`) and the convexity rows.
fn skeleton(instance: &Instance) -> (ColProblem, Vec<Row>, Vec<Row>) {
    let mut problem = ColProblem::default();
    let mut cover = Vec::new();
    for c in instance.cover.iter().flatten() {
        let row = problem.add_row(f64::from(c.requirement)..=f64::from(c.requirement));
        problem.add_column(f64::from(c.under_weight), 0.0.., [(row, 1.0)]);
        problem.add_column(f64::from(c.over_weight), 0.0.., [(row, -1.0)]);
        cover.push(row);
    }
    let convexity = (0..instance.staff.len()).map(|_| problem.add_row(1.0..=1.0)).collect();
    (problem, cover, convexity)
}

/// A row's column in a master: 1 in the cover row of each (day, shift) it works and in its
/// employee's convexity row.
fn row_factors(instance: &Instance, cover: &[Row], convexity: Row, row: &[Option<usize>]) -> Vec<(Row, f64)> {
    let n_shifts = instance.shifts.len();
    row.iter()
        .enumerate()
        .filter_map(|(day, choice)| choice.map(|s| (cover[day * n_shifts + s], 1.0)))
        .chain([(convexity, 1.0)])
        .collect()
}

/// One round's pricing problems: each employee's own costs less the cover duals, with the choices
/// the branches in force bar made impossible.
struct Pricing<'p> {
    instance: &'p Instance,
    requests: &'p [RowCosts],
    open: &'p [Vec<Vec<bool>>],
    cover_duals: &'p [f64],
}

impl Pricing<'_> {
    /// Employee `staff_idx`'s pricing costs: a row's reduced cost is its cost under these less
    /// the employee's convexity dual.
    fn costs(&self, staff_idx: usize) -> RowCosts {
        let own = &self.requests[staff_idx];
        let open = &self.open[staff_idx];
        let n_shifts = self.instance.shifts.len();
        let barred = |day: usize, choice: Option<usize>, cost: f64| {
            if open[day][choice_index(choice)] { cost } else { f64::INFINITY }
        };
        own.mapped(
            |day, s, c| barred(day, Some(s), c - self.cover_duals[day * n_shifts + s]),
            |day, c| barred(day, None, c),
        )
    }

    /// `price_row` for each of `staff`, spread over `threads` threads (the pricing is most of a
    /// round's time, and the employees are independent).
    fn all(&self, staff: &[usize], threads: u32) -> Vec<(usize, RowCosts, Priced)> {
        let chunk = staff.len().div_ceil(threads.max(1) as usize).max(1);
        std::thread::scope(|scope| {
            let workers: Vec<_> = staff
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|&e| {
                                let costs = self.costs(e);
                                let priced = price_row(self.instance, e, &costs, Budgets::Tracked);
                                (e, costs, priced)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect()
        })
    }
}

/// The cheapest row of one employee under `costs` by the single-employee MILP: a proven lower
/// bound on its cost (HiGHS's dual bound when the time runs out) and the best row found.
/// Infinite costs bar a choice; a day with every choice barred has no row at all.
fn exact_pricing(
    instance: &Instance,
    staff_idx: usize,
    costs: &RowCosts,
    time_limit: f64,
    threads: u32,
) -> Result<(f64, Option<StaffRow>), SolveError> {
    let no_choice = |day: usize| !costs.off[day].is_finite() && costs.work[day].iter().all(|c| !c.is_finite());
    if (0..instance.n_days).any(no_choice) {
        return Ok((f64::INFINITY, None));
    }
    let model::NrpModel { lp, columns } = model::single(instance, staff_idx, costs);
    let (mut highs_model, offset) = lp.into_highs()?;
    for (name, value) in [("time_limit", time_limit.max(0.05)), ("mip_rel_gap", 1e-9), ("mip_abs_gap", 1e-7)] {
        highs_model.try_set_option(name, value).map_err(|_| SolveError::Solver(format!("cannot set {name}")))?;
    }
    // HiGHS's thread pool is process-wide: every model must ask for the same size.
    highs_model
        .try_set_option("threads", threads as i32)
        .map_err(|_| SolveError::Solver("cannot set threads".into()))?;
    let solved = highs_model.try_solve().map_err(|e| SolveError::Solver(format!("exact pricing: {e:?}")))?;
    let row = (solved.primal_solution_status() == HighsSolutionStatus::Feasible)
        .then(|| columns.schedule_of(solved.get_solution().columns()).swap_remove(0));
    let lower = match solved.status() {
        HighsModelStatus::Infeasible => f64::INFINITY,
        _ => solved.double_info_value(c"mip_dual_bound").unwrap_or(f64::NEG_INFINITY) + offset,
    };
    Ok((lower, row))
}

#[cfg(test)]
pub(crate) mod tests {
    //! The master against brute force: two employees over one week, every schedule listed. The
    //! branch and price's test draws its cases here too.

    use proptest::prelude::*;

    use super::*;
    use crate::nrp::{Cover, Request, Shift, Staff, evaluate};

    /// Two employees with random rules over one week and one or two shift types, random cover
    /// and random requests.
    pub(crate) fn case() -> impl Strategy<Value = Instance> {
        (
            1usize..=2,
            prop::collection::vec((2u32..=7, 0u32..=3, 1u32..=4, 1u32..=2, 1u32..=2, 0u32..=1), 2),
            prop::collection::vec((0u32..=2, 1u32..=100, 0u32..=5), 14),
            prop::collection::vec((0usize..2, 0usize..7, 0usize..2, 1u32..=9, any::<bool>()), 0..6),
        )
            .prop_map(|(n_shifts, rules, cover, requests)| {
                let shifts = (0..n_shifts)
                    .map(|i| Shift { id: format!("S{i}"), minutes: 480, forbidden_next: Vec::new() })
                    .collect();
                let staff = rules
                    .iter()
                    .enumerate()
                    .map(|(i, &(max_days, min_days, max_cons, min_cons, min_off, max_weekends))| Staff {
                        id: format!("E{i}"),
                        max_shifts: vec![max_days; n_shifts],
                        max_minutes: 480 * max_days,
                        min_minutes: 480 * min_days.min(max_days),
                        max_consecutive: max_cons,
                        min_consecutive: min_cons,
                        min_days_off: min_off,
                        max_weekends,
                    })
                    .collect();
                let cover = (0..7)
                    .map(|day| {
                        (0..n_shifts)
                            .map(|s| {
                                let (requirement, under_weight, over_weight) = cover[day * 2 + s];
                                Cover { requirement, under_weight, over_weight }
                            })
                            .collect()
                    })
                    .collect();
                let (mut on_requests, mut off_requests) = (Vec::new(), Vec::new());
                for (staff, day, shift, weight, on) in requests {
                    let request = Request { staff, day, shift: shift % n_shifts, weight };
                    if on { on_requests.push(request) } else { off_requests.push(request) }
                }
                Instance {
                    name: "random".into(),
                    n_days: 7,
                    shifts,
                    staff,
                    days_off: vec![vec![false; 7]; 2],
                    on_requests,
                    off_requests,
                    cover,
                }
            })
    }

    /// Every row of employee `staff_idx` that keeps its rules.
    fn feasible_rows(instance: &Instance, staff_idx: usize) -> Vec<StaffRow> {
        let choices = instance.shifts.len() + 1;
        (0..choices.pow(7))
            .map(|mut code| {
                (0..7)
                    .map(|_| {
                        let choice = code % choices;
                        code /= choices;
                        choice.checked_sub(1)
                    })
                    .collect::<StaffRow>()
            })
            .filter(|row| crate::nrp::row_breaches(instance, staff_idx, row).is_empty())
            .collect()
    }

    /// The optimum of a [`case`] by enumeration, and a schedule to seed a master with (each
    /// employee's cheapest row on its requests alone, by enumeration too); `None` when no
    /// schedule exists.
    ///
    /// Why not `best_row` for the seed: with every budget priced it is a heuristic that may find
    /// no row although one exists (the solver's construction then asks the MILP). A row that
    /// must work an exact number of days, in runs of an exact length, is one it misses; see
    /// [`a_week_the_priced_program_finds_no_row_for_still_seeds_the_master`].
    pub(crate) fn optimum_and_seed(instance: &Instance) -> Option<(i64, Schedule)> {
        let rows = [feasible_rows(instance, 0), feasible_rows(instance, 1)];
        let optimum = rows[0]
            .iter()
            .flat_map(|a| rows[1].iter().map(move |b| vec![a.clone(), b.clone()]))
            .map(|schedule| evaluate(instance, &schedule).objective)
            .min()?;
        let seed = rows
            .into_iter()
            .enumerate()
            .map(|(e, rows)| {
                let own = RowCosts::requests(instance, e);
                rows.into_iter().min_by(|a, b| own.of(a).total_cmp(&own.of(b))).expect("a schedule has a row each")
            })
            .collect();
        Some((optimum, seed))
    }

    /// The master's and the tree's property tests: 32 cases unless PROPTEST_CASES asks for more
    /// (a long hunt for rare failures); a failure is reported, never written into the source tree.
    pub(crate) fn config() -> ProptestConfig {
        ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(32),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// The master's properties on one case: its bound converges and stays below the optimum,
    /// dives and the integer master keep every rule and leave the bound alone.
    fn master_keeps_its_promises(instance: &Instance) -> Result<(), TestCaseError> {
        let Some((optimum, seed)) = optimum_and_seed(instance) else { return Ok(()) };

        let mut master = ColumnGeneration::new(instance, &seed, 1);
        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        while master.round(deadline).expect("the master solves").added > 0 {}
        prop_assert!(master.converged, "pricing found nothing, yet the bound has a gap");
        prop_assert!(master.bound <= optimum as f64 + 1e-6, "bound {} above the optimum {optimum}", master.bound);

        let bound = master.bound;
        let mut rng = Rng(7);
        for (style, vary) in [(Dive::Quick, None), (Dive::Careful, None), (Dive::Careful, Some(&mut rng))] {
            let dived =
                master.dive(deadline, style, vary).expect("the dive solves").expect("a dive ends in time on a week");
            let judged = evaluate(instance, &dived);
            prop_assert!(judged.breaches.is_empty(), "{style:?}: {:?}", judged.breaches);
            prop_assert!(judged.objective as f64 >= bound - 1e-6);
            // Rounds before the first fixing may prove the bound again, the LP's value differing
            // in its last bits (116.99999999999996, then 117); a fixing's bound would move it.
            let moved = master.bound - bound;
            prop_assert!(moved.abs() < 1e-6, "a {:?} dive's fixings moved the proven bound by {}", style, moved);
            prop_assert!(master.converged, "a {:?} dive unsettled the converged master", style);
        }

        let found = master.integer_solve(&seed, deadline).expect("the integer master solves").expect("a schedule");
        let judged = evaluate(instance, &found);
        prop_assert!(judged.breaches.is_empty(), "{:?}", judged.breaches);
        prop_assert!(judged.objective <= evaluate(instance, &seed).objective);
        prop_assert!(judged.objective as f64 >= master.bound - 1e-6);
        Ok(())
    }

    /// A random run's case (proptest's shrunk input), which broke the test rather than the
    /// master: E1 must work exactly three days, weekdays only, in runs of two except one at the
    /// start (`S0 - S0 S0 - - -`). `best_row`, pricing minutes and shifts as a line through the
    /// number of days worked, only ever picks rows of zero or four, and its one-day repair
    /// cannot get from two days to three; it found no row, and the old seed asserted it would.
    #[test]
    fn a_week_the_priced_program_finds_no_row_for_still_seeds_the_master() {
        let staff = |id: &str, most: u32, min_minutes, max_consecutive, min_consecutive| Staff {
            id: id.into(),
            max_shifts: vec![most],
            max_minutes: 480 * most,
            min_minutes,
            max_consecutive,
            min_consecutive,
            min_days_off: 1,
            max_weekends: 0,
        };
        let instance = Instance {
            name: "random".into(),
            n_days: 7,
            shifts: vec![Shift { id: "S0".into(), minutes: 480, forbidden_next: Vec::new() }],
            staff: vec![staff("E0", 2, 0, 1, 1), staff("E1", 3, 1440, 2, 2)],
            days_off: vec![vec![false; 7]; 2],
            on_requests: Vec::new(),
            off_requests: Vec::new(),
            cover: vec![vec![Cover { requirement: 0, under_weight: 1, over_weight: 0 }]; 7],
        };
        master_keeps_its_promises(&instance).unwrap();
    }

    /// A random run's case (proptest's shrunk input): the converged bound was 116.99999999999996,
    /// and a careful dive's first round, before any fixing, proved 117 from the same LP solved
    /// afresh. An unfixed round may raise the bound; by rounding noise it did, and the test's
    /// exact comparison called that a fixing's doing.
    #[test]
    fn a_dive_whose_first_round_proves_the_bound_again_by_a_rounding_leaves_it_where_it_was() {
        let staff = |id: &str, most: u32, min_minutes, max_consecutive, min_consecutive| Staff {
            id: id.into(),
            max_shifts: vec![most; 2],
            max_minutes: 480 * most,
            min_minutes,
            max_consecutive,
            min_consecutive,
            min_days_off: 1,
            max_weekends: 1,
        };
        let c = |requirement, under_weight| Cover { requirement, under_weight, over_weight: 0 };
        let instance = Instance {
            name: "random".into(),
            n_days: 7,
            shifts: (0..2).map(|i| Shift { id: format!("S{i}"), minutes: 480, forbidden_next: Vec::new() }).collect(),
            staff: vec![staff("E0", 6, 0, 4, 1), staff("E1", 5, 480, 2, 2)],
            days_off: vec![vec![false; 7]; 2],
            on_requests: Vec::new(),
            off_requests: Vec::new(),
            cover: vec![
                vec![c(1, 43), c(1, 41)],
                vec![c(0, 1), c(1, 36)],
                vec![c(2, 58), c(0, 1)],
                vec![c(2, 51), c(1, 27)],
                vec![c(0, 1), c(2, 41)],
                vec![c(0, 1), c(1, 25)],
                vec![c(2, 20), c(1, 21)],
            ],
        };
        master_keeps_its_promises(&instance).unwrap();
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn bound_never_passes_the_optimum_and_dives_and_integer_master_keep_the_rules(instance in case()) {
            master_keeps_its_promises(&instance)?;
        }
    }
}
