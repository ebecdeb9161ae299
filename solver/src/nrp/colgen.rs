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

use std::collections::HashSet;
use std::time::Instant;

use highs::{ColProblem, HighsModelStatus, HighsSolutionStatus, Model, Row, Sense};

use crate::SolveError;
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

/// Pricing rounds between two fixings of a dive.
const DIVE_ROUNDS: usize = 2;

/// Each step of a dive fixes at least one in this many of the employees still free.
const DIVE_STEP: usize = 4;

/// A dive fixes every employee whose heaviest row carries at least this much of the LP's mix.
const DIVE_FIX: f64 = 0.99;

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
        let mut problem = ColProblem::default();
        let mut cover = Vec::new();
        let mut slacks = Vec::new();
        for day_cover in &instance.cover {
            for c in day_cover {
                let row = problem.add_row(c.requirement as f64..=c.requirement as f64);
                cover.push(row);
                slacks.push((row, c.under_weight, c.over_weight));
            }
        }
        for (row, under, over) in slacks {
            problem.add_column(f64::from(under), 0.0.., [(row, 1.0)]);
            problem.add_column(f64::from(over), 0.0.., [(row, -1.0)]);
        }
        let convexity = (0..instance.staff.len()).map(|_| problem.add_row(1.0..=1.0)).collect();
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

    /// Adds a row of employee `staff_idx` unless the master has it. True when added.
    pub(crate) fn add(&mut self, staff_idx: usize, row: StaffRow) -> bool {
        if self.known.contains(&(staff_idx, row.clone())) {
            return false;
        }
        let n_shifts = self.instance.shifts.len();
        let factors: Vec<(Row, f64)> = row
            .iter()
            .enumerate()
            .filter_map(|(day, choice)| choice.map(|s| (self.cover[day * n_shifts + s], 1.0)))
            .chain([(self.convexity[staff_idx], 1.0)])
            .collect();
        let cost = self.requests[staff_idx].of(&row);
        let lp = self.lp.as_mut().expect("the master LP is kept between solves");
        self.handles.push(lp.add_col(cost, 0.0.., factors));
        self.known.insert((staff_idx, row.clone()));
        self.rows.push((staff_idx, row));
        true
    }

    /// Solves the master LP, prices every employee on its duals and adds the rows that would
    /// lower it; returns how many rows it added. When the heuristic pricing finds nothing,
    /// employees whose pricing bound leaves a gap get the exact MILP, until `deadline`. Raises
    /// [`Self::bound`] unless a dive has fixed rows (the bound would then be the dive's only).
    pub(crate) fn round(&mut self, deadline: Instant) -> Result<usize, SolveError> {
        let Some(Duals { value, cover: cover_duals, staff: staff_duals }) = self.solve_lp(deadline)? else {
            return Ok(0);
        };
        let n_staff = self.instance.staff.len();
        let mut lowest = vec![0.0_f64; n_staff];
        let mut added = 0;
        let free: Vec<usize> = (0..n_staff).filter(|&e| self.fixed[e].is_none()).collect();
        for (staff_idx, costs, priced) in price_all(self.instance, &self.requests, &free, &cover_duals, self.threads) {
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
                let costs = pricing_costs(&self.requests[staff_idx], &cover_duals);
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
        if self.fixed.iter().all(Option::is_none) {
            self.bound = self.bound.max(value + lowest.iter().sum::<f64>());
            self.converged = added == 0 && lowest.iter().all(|&l| l >= -EPSILON);
        }
        Ok(added)
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
        self.mix = solution.columns()[2 * self.cover.len()..].to_vec();
        self.lp = Some(solved.into());
        Ok(Some(duals))
    }

    /// A diving heuristic: with the master LP at its optimum, fix every employee whose heaviest
    /// row carries at least [`DIVE_FIX`] of its mix (and at least the most decided of the
    /// others), price again for a few rounds, and go on until each employee has one row. The LP is tight on many instances
    /// (its bound is the best known on 10 and 11), and the dive follows it to a schedule near it.
    /// `None` when `deadline` comes first. Leaves the master as it found it, new rows aside.
    pub(crate) fn dive(&mut self, deadline: Instant) -> Result<Option<Schedule>, SolveError> {
        let n_staff = self.instance.staff.len();
        // Fixing rows breaks the basis's primal feasibility but keeps it dual feasible.
        self.simplex_strategy(DUAL_SIMPLEX)?;
        let schedule = loop {
            // Pricing to convergence after each fixing would cost the dive most of its time.
            for _ in 0..DIVE_ROUNDS {
                if self.round(deadline)? == 0 {
                    break;
                }
            }
            if self.mix.len() != self.rows.len() {
                // Rows were added since the last LP: solve it once more to weigh them.
                self.solve_lp(deadline)?;
            }
            if Instant::now() >= deadline || self.mix.len() != self.rows.len() {
                break None;
            }
            // Each free employee's heaviest row in the LP's mix.
            let mut heaviest: Vec<Option<(f64, usize)>> = vec![None; n_staff];
            for (idx, ((staff_idx, _), &weight)) in self.rows.iter().zip(&self.mix).enumerate() {
                if self.fixed[*staff_idx].is_none() && heaviest[*staff_idx].is_none_or(|(w, _)| weight > w) {
                    heaviest[*staff_idx] = Some((weight, idx));
                }
            }
            // Fix the decided employees, and at least the most decided [`DIVE_STEP`] of the rest.
            let mut order: Vec<(f64, usize, usize)> =
                heaviest.iter().enumerate().filter_map(|(e, h)| h.map(|(w, idx)| (w, e, idx))).collect();
            order.sort_by(|a, b| b.0.total_cmp(&a.0));
            let at_least = order.len().div_ceil(DIVE_STEP);
            let lp = self.lp.as_mut().expect("the master LP is kept between solves");
            for (rank, &(weight, staff_idx, idx)) in order.iter().enumerate() {
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
    /// from `incumbent`, whose rows it adds first. The best schedule HiGHS finds within
    /// `time_limit`, if any.
    pub(crate) fn integer_solve(
        &mut self,
        incumbent: &Schedule,
        time_limit: f64,
    ) -> Result<Option<Schedule>, SolveError> {
        for (staff_idx, row) in incumbent.iter().enumerate() {
            self.add(staff_idx, row.clone());
        }
        let mut problem = ColProblem::default();
        let instance = self.instance;
        let mut cover = Vec::new();
        let mut start = Vec::new();
        let on_shift = crate::nrp::best_row::on_shift_counts(instance, incumbent);
        for (day, day_cover) in instance.cover.iter().enumerate() {
            for (shift, c) in day_cover.iter().enumerate() {
                cover.push((problem.add_row(c.requirement as f64..=c.requirement as f64), *c));
                let (need, have) = (f64::from(c.requirement), f64::from(on_shift[day][shift]));
                start.push((need - have).max(0.0));
                start.push((have - need).max(0.0));
            }
        }
        for &(row, c) in &cover {
            problem.add_column(f64::from(c.under_weight), 0.0.., [(row, 1.0)]);
            problem.add_column(f64::from(c.over_weight), 0.0.., [(row, -1.0)]);
        }
        let convexity: Vec<Row> = (0..instance.staff.len()).map(|_| problem.add_row(1.0..=1.0)).collect();
        let n_shifts = instance.shifts.len();
        for (staff_idx, row) in &self.rows {
            let factors: Vec<(Row, f64)> = row
                .iter()
                .enumerate()
                .filter_map(|(day, choice)| choice.map(|s| (cover[day * n_shifts + s].0, 1.0)))
                .chain([(convexity[*staff_idx], 1.0)])
                .collect();
            problem.add_integer_column(self.requests[*staff_idx].of(row), 0.0..=1.0, factors);
            start.push(f64::from(u8::from(incumbent[*staff_idx] == *row)));
        }
        let mut ip = problem.optimise(Sense::Minimise);
        ip.make_quiet();
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

/// An employee's own costs less the cover duals: a row's reduced cost is its cost under these
/// less the employee's convexity dual.
fn pricing_costs(own: &RowCosts, cover_duals: &[f64]) -> RowCosts {
    let n_shifts = own.work.first().map_or(0, Vec::len);
    RowCosts {
        work: own
            .work
            .iter()
            .enumerate()
            .map(|(day, shifts)| shifts.iter().enumerate().map(|(s, &c)| c - cover_duals[day * n_shifts + s]).collect())
            .collect(),
        off: own.off.clone(),
    }
}

/// `price_row` for each of `staff` on the cover duals, spread over `threads` threads (the pricing
/// is most of a round's time, and the employees are independent).
fn price_all(
    instance: &Instance,
    requests: &[RowCosts],
    staff: &[usize],
    cover_duals: &[f64],
    threads: u32,
) -> Vec<(usize, RowCosts, Priced)> {
    let chunk = staff.len().div_ceil(threads.max(1) as usize).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = staff
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|&e| {
                            let costs = pricing_costs(&requests[e], cover_duals);
                            let priced = price_row(instance, e, &costs, Budgets::Tracked);
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

/// The cheapest row of one employee under `costs` by the single-employee MILP: a proven lower
/// bound on its cost (HiGHS's dual bound when the time runs out) and the best row found.
fn exact_pricing(
    instance: &Instance,
    staff_idx: usize,
    costs: &RowCosts,
    time_limit: f64,
    threads: u32,
) -> Result<(f64, Option<StaffRow>), SolveError> {
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
mod tests {
    //! The master against brute force: two employees over one week, every schedule listed.

    use proptest::prelude::*;

    use super::*;
    use crate::nrp::best_row::best_row;
    use crate::nrp::{Cover, Request, Shift, Staff, evaluate};

    /// Two employees with random rules over one week and one or two shift types, random cover
    /// and random requests.
    fn case() -> impl Strategy<Value = Instance> {
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn bound_never_passes_the_optimum_and_dive_and_integer_master_keep_the_rules(instance in case()) {
            let (first, second) = (feasible_rows(&instance, 0), feasible_rows(&instance, 1));
            let optimum = first
                .iter()
                .flat_map(|a| second.iter().map(move |b| vec![a.clone(), b.clone()]))
                .map(|schedule| evaluate(&instance, &schedule).objective)
                .min();
            let seed: Option<Schedule> =
                (0..2).map(|e| best_row(&instance, e, &RowCosts::requests(&instance, e))).collect();
            prop_assert_eq!(seed.is_some(), optimum.is_some(), "a row exists for each employee iff a schedule does");
            let (Some(optimum), Some(seed)) = (optimum, seed) else { return Ok(()) };

            let mut master = ColumnGeneration::new(&instance, &seed, 1);
            let deadline = Instant::now() + std::time::Duration::from_secs(30);
            while master.round(deadline).expect("the master solves") > 0 {}
            prop_assert!(master.converged, "pricing found nothing, yet the bound has a gap");
            prop_assert!(master.bound <= optimum as f64 + 1e-6, "bound {} above the optimum {optimum}", master.bound);

            let bound = master.bound;
            let dived = master.dive(deadline).expect("the dive solves").expect("a dive ends in time on a week");
            let judged = evaluate(&instance, &dived);
            prop_assert!(judged.breaches.is_empty(), "{:?}", judged.breaches);
            prop_assert!(judged.objective as f64 >= bound - 1e-6);
            prop_assert_eq!(master.bound, bound, "a dive's fixings moved the proven bound");

            let found = master.integer_solve(&seed, 30.0).expect("the integer master solves").expect("a schedule");
            let judged = evaluate(&instance, &found);
            prop_assert!(judged.breaches.is_empty(), "{:?}", judged.breaches);
            prop_assert!(judged.objective <= evaluate(&instance, &seed).objective);
            prop_assert!(judged.objective as f64 >= master.bound - 1e-6);
        }
    }
}
