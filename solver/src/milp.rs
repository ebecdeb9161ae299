//! The MILP: one binary per allowed (staff, day, shift template, post), one per lunch turn of such
//! a shift, one per compensatory-day request; rows come from `rules/*`; HiGHS solves it.
//!
//! Leaves out: judging the result (`validate`) and wording it (`explain`). Variables exist only for
//! allowed combinations (role, post, day type, availability, rotation week), which is what keeps
//! 60 staff over four weeks tractable: no per-slot assignment variables.

use std::collections::BTreeMap;

use highs::HighsModelStatus;

use crate::SolveError;
use crate::model::{LeaveKind, RosterProblem};
use crate::roster::{Assignment, DayOff, Roster};
use crate::rules::{self, Col, Goal, Lp};

/// Settings of one solve; plain values, passed in, never read from the environment.
#[derive(Clone, Debug, PartialEq)]
pub struct SolveConfig {
    /// Wall-clock limit in seconds (default 60).
    pub time_limit: f64,
    /// Relative MIP gap at which HiGHS stops (default 0.01, i.e. 1 %).
    pub mip_gap: f64,
    /// HiGHS threads (default 1: with one thread the search, and so the roster, is reproducible).
    pub threads: u32,
    /// Seed of the search: HiGHS's random seed and the neighbourhoods of `improve` (default 0).
    pub seed: i32,
    /// Branch-and-bound nodes each HiGHS run may explore, the neighbourhoods of `improve`
    /// included (default: no limit). Unlike the time limit it stops the search at the same place
    /// on every machine, which is what tests need.
    pub node_limit: Option<u64>,
}

impl Default for SolveConfig {
    fn default() -> Self {
        SolveConfig { time_limit: 60.0, mip_gap: 0.01, threads: 1, seed: 0, node_limit: None }
    }
}

/// One allowed (staff, day, shift, post) choice and its lunch turns.
pub(crate) struct Work {
    pub staff: usize,
    pub day: usize,
    pub shift: usize,
    pub post: usize,
    /// Horizon minutes `[start, end)`.
    pub start: u32,
    pub end: u32,
    pub col: Col,
}

/// Shifts at one post on one day whose lunch turns can start at the same times. Lunch is
/// modelled as how many of them start lunch at each time, not who does: the people are
/// interchangeable for every lunch rule, and per-person lunch binaries multiplied the model and
/// its symmetry. `extract` hands the turns out in staff order.
pub(crate) struct LunchGroup {
    pub post: usize,
    /// Possible turn starts, horizon minutes.
    pub starts: Vec<u32>,
    /// `works` indices in the group, in creation order (staff order).
    pub works: Vec<usize>,
    /// Integer columns: how many of the group lunch at each start. Invariant: they sum to the
    /// number of worked shifts of the group (row added by `rules::lunch`).
    pub counts: Vec<Col>,
}

/// A neighbourhood of a roster, for the search before the full MILP (`improve`): the (staff,
/// day) cells outside it keep their values, so HiGHS re-solves only the free part. Fixing is by
/// column bounds, so the columns, and their order, are those of the full model: values pass
/// between runs unchanged.
pub(crate) struct Fix<'a> {
    /// Column values of a roster (from a run of the same problem); a fixed column past its end is
    /// fixed at 0 (nobody works where nothing was decided yet).
    pub values: &'a [f64],
    /// `free[staff][day]`: the cells HiGHS may change.
    pub free: &'a [Vec<bool>],
}

impl Fix<'_> {
    /// A new 0/1 column for cell (staff, day): free, or fixed at its value.
    fn binary(&self, lp: &mut Lp, staff: usize, day: usize) -> Col {
        if self.free[staff][day] {
            lp.binary()
        } else {
            let idx = lp.size().0;
            lp.fixed(self.values.get(idx).map_or(0.0, |v| v.round()))
        }
    }
}

/// The model under construction: the problem, the columns, and indexes the rule files share.
pub(crate) struct Model<'p> {
    pub problem: &'p RosterProblem,
    pub lp: Lp,
    pub works: Vec<Work>,
    /// `works` indices per staff member and day.
    pub by_staff_day: Vec<Vec<Vec<usize>>>,
    /// Compensatory-day requests that can be granted, keyed by (staff, day).
    pub requests: BTreeMap<(usize, usize), Col>,
    /// Lunch turns, grouped.
    pub lunch_groups: Vec<LunchGroup>,
    /// People standing in at a post, per (post, slot), from its `lunch_relief` post while its
    /// staff are at lunch (added by `rules::coverage`, used by `rules::lunch`).
    pub relief: BTreeMap<(usize, usize), Col>,
}

impl<'p> Model<'p> {
    /// Creates every allowed work column and its lunch columns; those of cells `fix` keeps, fixed.
    fn new(problem: &'p RosterProblem, fix: Option<&Fix>) -> Self {
        let binary = |lp: &mut Lp, staff: usize, day: usize| match fix {
            Some(fix) => fix.binary(lp, staff, day),
            None => lp.binary(),
        };
        let mut lp = Lp::default();
        let mut works = Vec::new();
        let mut by_staff_day = vec![vec![Vec::new(); problem.days.len()]; problem.staff.len()];
        let mut lunch_keys: BTreeMap<(usize, usize, Vec<u32>), Vec<usize>> = BTreeMap::new();
        let rotation_starts = rules::rotation::start_posts(problem);
        for (staff_idx, staff) in problem.staff.iter().enumerate() {
            for (day_idx, &date) in problem.days.iter().enumerate() {
                if !staff.available_on(date) {
                    continue;
                }
                let origin = problem.day_origin(day_idx);
                for (shift_idx, shift) in problem.shifts.iter().enumerate() {
                    if !staff.may_work(shift) || !problem.shift_runs_on(shift, date) || problem.night_bars(staff, shift)
                    {
                        continue;
                    }
                    let lunch_starts = lunch_starts(problem, day_idx, shift_idx);
                    if shift.lunch && lunch_starts.is_empty() {
                        continue; // the shift cannot hold a lunch turn on this day's window
                    }
                    for &post_idx in shift.posts.iter().filter(|&&p| {
                        staff.posts.contains(&p)
                            && !rules::rotation::forbids(problem, &rotation_starts, staff_idx, day_idx, p)
                    }) {
                        let col = binary(&mut lp, staff_idx, day_idx);
                        if shift.lunch {
                            let starts = lunch_starts.iter().map(|s| origin + s).collect();
                            lunch_keys.entry((day_idx, post_idx, starts)).or_default().push(works.len());
                        }
                        by_staff_day[staff_idx][day_idx].push(works.len());
                        works.push(Work {
                            staff: staff_idx,
                            day: day_idx,
                            shift: shift_idx,
                            post: post_idx,
                            start: origin + shift.start,
                            end: origin + shift.end,
                            col,
                        });
                    }
                }
            }
        }
        let mut requests = BTreeMap::new();
        for (staff_idx, staff) in problem.staff.iter().enumerate() {
            for date in &staff.requests {
                if let Some(day_idx) = problem.day_index(*date).filter(|_| staff.available_on(*date)) {
                    requests.insert((staff_idx, day_idx), binary(&mut lp, staff_idx, day_idx));
                }
            }
        }
        let lunch_groups = lunch_keys
            .into_iter()
            .map(|((_, post, starts), group_works)| {
                let counts = starts.iter().map(|_| lp.integer(group_works.len() as f64)).collect();
                LunchGroup { post, starts, works: group_works, counts }
            })
            .collect();
        Model { problem, lp, works, by_staff_day, requests, lunch_groups, relief: BTreeMap::new() }
    }

    /// Whether staff `s` works on day `d`, as an expression (0 or 1 given the one-shift row).
    pub fn worked(&self, staff_idx: usize, day_idx: usize) -> good_lp::Expression {
        rules::sum(self.by_staff_day[staff_idx][day_idx].iter().map(|&w| self.works[w].col))
    }
}

/// Lunch turn starts (minutes after the day's midnight) that fit both the window and the shift.
pub(crate) fn lunch_starts(problem: &RosterProblem, day_idx: usize, shift_idx: usize) -> Vec<u32> {
    let shift = &problem.shifts[shift_idx];
    if !shift.lunch {
        return Vec::new();
    }
    let (from, to) = problem.lunch_window(problem.days[day_idx]);
    let length = problem.rules.lunch.length;
    let first = from.max(shift.start);
    let last = to.min(shift.end);
    (first..).step_by(problem.slot_minutes as usize).take_while(|s| s + length <= last).collect()
}

/// What one HiGHS run is asked.
pub(crate) struct Ask<'a> {
    /// What to minimise.
    pub goal: Goal,
    /// Seconds.
    pub time_limit: f64,
    /// HiGHS's `mip_rel_gap`.
    pub rel_gap: f64,
    /// Branch-and-bound nodes, besides `SolveConfig::node_limit` (the smaller holds).
    pub nodes: Option<u64>,
    /// Column values to start from (a run of the same problem).
    pub start: Option<&'a [f64]>,
    /// The neighbourhood, when only part of the roster may change.
    pub fix: Option<&'a Fix<'a>>,
}

impl<'a> Ask<'a> {
    /// The whole model: `goal` within `time_limit` from `start`, to the configured gap
    /// (`Goal::MeetRules` to no gap, since only a closed gap or a positive bound answers whether
    /// the rules can be met).
    pub fn full(config: &SolveConfig, goal: Goal, time_limit: f64, start: Option<&'a [f64]>) -> Self {
        let rel_gap = if goal == Goal::MeetRules { 0.0 } else { config.mip_gap };
        Ask { goal, time_limit, rel_gap, nodes: None, start, fix: None }
    }
}

/// One HiGHS run, before the validator judges its roster.
pub(crate) struct Run {
    /// Column values of the best solution, when HiGHS found any.
    pub values: Option<Vec<f64>>,
    /// The roster of `values`.
    pub roster: Option<Roster>,
    /// HiGHS proved its goal optimal within the gap.
    pub proven: bool,
    /// The whole objective (penalties and soft terms) of the roster; NaN without one.
    pub objective: f64,
    /// The hard-rule penalties of the roster; infinite without one.
    pub breaches: f64,
    /// Proven lower bound on the goal HiGHS minimised.
    pub bound: f64,
    /// Columns and rows of the model.
    pub size: (usize, usize),
}

/// Builds the model with every rule family and minimises `ask.goal`, from `ask.start` when given
/// (column values of an earlier run of the same problem: the build is deterministic, so columns
/// match), keeping the cells `ask.fix` fixes.
pub(crate) fn run(problem: &RosterProblem, config: &SolveConfig, ask: &Ask) -> Result<Run, SolveError> {
    let Ask { goal, time_limit, rel_gap, nodes, start, fix } = *ask;
    let mut model = Model::new(problem, fix);
    rules::leave::add(&mut model);
    rules::coverage::add(&mut model);
    rules::lunch::add(&mut model);
    rules::contract::add(&mut model);
    rules::handover::add(&mut model);
    rules::daily::add(&mut model);
    rules::objective::add(&mut model);

    let Model { lp, works, requests, lunch_groups, .. } = model;
    let size = lp.size();
    let (mut highs_model, prices) = lp.into_highs_for(goal)?;
    let set = |model: &mut highs::Model, name: &str, value: f64| {
        model.try_set_option(name, value).map_err(|_| SolveError::Solver(format!("cannot set {name}")))
    };
    set(&mut highs_model, "time_limit", time_limit.max(0.0))?;
    set(&mut highs_model, "mip_rel_gap", rel_gap)?;
    let mut integers = vec![("threads", config.threads as i32), ("random_seed", config.seed)];
    if let Some(nodes) = [config.node_limit, nodes].into_iter().flatten().min() {
        integers.push(("mip_max_nodes", i32::try_from(nodes).unwrap_or(i32::MAX)));
    }
    for (name, value) in integers {
        highs_model.try_set_option(name, value).map_err(|_| SolveError::Solver(format!("cannot set {name}")))?;
    }
    if let Some(values) = start {
        highs_model
            .try_set_solution(Some(values), None, None, None)
            .map_err(|e| SolveError::Solver(format!("warm start refused: {e:?}")))?;
    }
    let solved = highs_model.try_solve().map_err(|e| SolveError::Solver(format!("{e:?}")))?;
    let status = solved.status();
    if matches!(status, HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible) {
        // Every hard rule carries slack or can be met by rostering nobody, so on the whole model
        // this is a bug. A neighbourhood keeps a roster that met the rules without slack, so it
        // should not happen there either, but then the search simply has nothing new.
        if fix.is_none() {
            return Err(SolveError::Solver("HiGHS reports the slack model infeasible".to_owned()));
        }
        return Ok(Run {
            values: None,
            roster: None,
            proven: false,
            objective: f64::NAN,
            breaches: f64::INFINITY,
            bound: f64::NEG_INFINITY,
            size,
        });
    }
    let bound = solved.double_info_value(c"mip_dual_bound").unwrap_or(f64::NEG_INFINITY) + prices.constant(goal);
    let values = (solved.primal_solution_status() == highs::HighsSolutionStatus::Feasible)
        .then(|| solved.get_solution().columns().to_vec());
    let roster = values.as_deref().map(|v| extract(problem, &works, &lunch_groups, &requests, v));
    Ok(Run {
        proven: matches!(status, HighsModelStatus::Optimal),
        objective: values.as_deref().map_or(f64::NAN, |v| prices.objective(v)),
        breaches: values.as_deref().map_or(f64::INFINITY, |v| prices.breaches(v)),
        values,
        roster,
        bound,
        size,
    })
}

/// Gap as HiGHS defines it: |objective − bound| / |objective|, 0 when both are 0.
pub(crate) fn relative_gap(objective: f64, bound: f64) -> f64 {
    let diff = (objective - bound).abs();
    if diff < 1e-9 { 0.0 } else { diff / objective.abs().max(1e-9) }
}

fn extract(
    problem: &RosterProblem,
    works: &[Work],
    lunch_groups: &[LunchGroup],
    requests: &BTreeMap<(usize, usize), Col>,
    values: &[f64],
) -> Roster {
    let on = |col: Col| values[col.idx] > 0.5;
    let length = problem.rules.lunch.length;
    let mut lunch_of = BTreeMap::new();
    for group in lunch_groups {
        // Turns in time order go to the group's workers in staff order.
        let turns = group
            .starts
            .iter()
            .zip(&group.counts)
            .flat_map(|(&start, count)| std::iter::repeat_n(start, values[count.idx].round().max(0.0) as usize));
        let workers = group.works.iter().filter(|&&w| on(works[w].col));
        for (&w, start) in workers.zip(turns) {
            lunch_of.insert(w, (start, start + length));
        }
    }
    let mut roster = Roster::default();
    let mut working = vec![vec![false; problem.days.len()]; problem.staff.len()];
    for (w, work) in works.iter().enumerate().filter(|(_, w)| on(w.col)) {
        let lunch = lunch_of.get(&w).copied();
        working[work.staff][work.day] = true;
        roster.assignments.push(Assignment {
            staff: work.staff,
            day: work.day,
            shift: work.shift,
            post: work.post,
            start: work.start,
            end: work.end,
            lunch,
        });
    }
    for (staff_idx, staff) in problem.staff.iter().enumerate() {
        for (day_idx, &date) in problem.days.iter().enumerate() {
            if working[staff_idx][day_idx] {
                continue;
            }
            let granted = requests.get(&(staff_idx, day_idx)).is_some_and(|c| on(*c));
            let kind =
                staff.leave_on(date).unwrap_or(if granted { LeaveKind::Compensatory } else { LeaveKind::DayOff });
            roster.days_off.push(DayOff { staff: staff_idx, day: day_idx, kind });
        }
    }
    roster.sort();
    roster
}
