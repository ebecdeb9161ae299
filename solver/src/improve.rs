//! The search before the full MILP: a roster that meets every hard rule in seconds, which the
//! full MILP then starts from to improve it and prove its gap (`lib.rs::solve_reporting`).
//!
//! Both phases solve neighbourhoods of the same MILP (`milp::run` with a `milp::Fix`), so every
//! rule is stated once, in `rules/`:
//! 1. construction, a rolling horizon: one window of [`WINDOW_DAYS`] days free for everyone, the
//!    days before it as the earlier windows left them, the days after it empty, each on the
//!    hard-rule penalties alone (`Goal::MeetRules`), so that HiGHS stops at the first roster of
//!    the window that breaks no rule. A roster still breaking a rule is then repaired on the whole
//!    model, again on the penalties alone, from it: from scratch that run is slow to meet every
//!    rule, from a roster with few breaches it is quick (figures in BENCHMARKS.md). The soft
//!    terms are left to the search after;
//! 2. large-neighbourhood search from that roster (the machinery shared with the NRP benchmark,
//!    `lns`): either everyone over a window of days (around a shortfall while the roster has
//!    one), or a few people who share posts over the whole period; HiGHS re-solves the free
//!    cells from the incumbent, and a roster at least as good replaces it. It ends after
//!    [`STALL_ROUNDS`] rounds without a gain, or at [`LNS_END`] of the time limit.
//!
//! Neighbourhoods end on their gap or [`NEIGHBOURHOOD_NODES`], and their shapes are chosen by
//! gain per round, not per second; so with one HiGHS thread and the same seed
//! (`SolveConfig::seed` also drives the neighbourhood choice), a search none of whose HiGHS runs
//! reaches its time limit repeats itself exactly, however loaded the machine.

use crate::SolveError;
use crate::lns::{Clock, Neighbourhoods, Rng};
use crate::milp::{self, Ask, Fix, Run, SolveConfig};
use crate::model::RosterProblem;
use crate::rules::Goal;
use crate::validate::{self, Breach};

/// Days of the first day windows of the search: a week, since weekly hours and the rotation
/// are settled a week at a time.
const WINDOW_DAYS: usize = 7;
/// Share of the time limit by which the rolling horizon must end.
const CONSTRUCTION_END: f64 = 0.25;
/// Share of the time limit by which the repair of its roster must end.
const REPAIR_END: f64 = 0.4;
/// Share of the time limit at which the neighbourhood search hands over to the full MILP.
const LNS_END: f64 = 0.45;
/// Rounds in a row without a gain after which the neighbourhood search hands over early: the
/// full MILP, starting from the incumbent, uses the time better from there.
const STALL_ROUNDS: usize = 5;
/// Relative gap of a neighbourhood: well below the final gap, or the neighbourhoods could not
/// close it.
const NEIGHBOURHOOD_GAP: f64 = 1e-4;
/// Branch-and-bound nodes of a neighbourhood. Nodes, not seconds, end it, so that the search
/// takes the same path on a loaded machine; the time left is only a backstop.
const NEIGHBOURHOOD_NODES: u64 = 100;

/// What the search has to say as it goes: each roster better than the last.
pub(crate) enum Event<'a> {
    /// Construction ended with this roster.
    Constructed(&'a Run),
    /// A neighbourhood gave a better roster.
    Improved(&'a Run),
}

/// A search from nothing to a good roster, or `None` when the problem has no cells at all.
pub(crate) fn search(
    problem: &RosterProblem,
    config: &SolveConfig,
    clock: &Clock,
    report: &mut dyn FnMut(Event),
) -> Result<Option<Run>, SolveError> {
    let (n_staff, n_days) = (problem.staff.len(), problem.days.len());
    if n_staff == 0 || n_days == 0 {
        return Ok(None);
    }
    let Some(mut best) = construct(problem, config, clock)? else { return Ok(None) };
    report(Event::Constructed(&best));
    let mut rng = Rng(u64::from(config.seed as u32) ^ 0x5EED);
    let total = (n_staff * n_days) as f64;
    let mut shapes =
        Neighbourhoods::<2>::new((n_staff * WINDOW_DAYS) as f64, ((2 * n_staff).min(n_staff * n_days) as f64, total));
    let mut stalled = 0;
    while stalled < STALL_ROUNDS && clock.left(LNS_END) > 0.2 {
        let Some(values) = best.values.clone() else { break };
        let kind = shapes.pick(&mut rng);
        let size = shapes.size(kind);
        let free = match kind {
            0 => days_window(problem, &best, size, &mut rng),
            _ => related_staff(problem, size, &mut rng),
        };
        let ask = Ask {
            goal: Goal::Roster,
            time_limit: clock.left(LNS_END),
            rel_gap: NEIGHBOURHOOD_GAP,
            nodes: Some(NEIGHBOURHOOD_NODES),
            start: Some(&values),
            fix: Some(&Fix { values: &values, free: &free }),
        };
        let run = milp::run(problem, config, &ask)?;
        let kept = run.values.is_some() && run.objective <= best.objective + 1e-9;
        let gain = if kept { (best.objective - run.objective).max(0.0) } else { 0.0 };
        shapes.record(kind, size, gain, 1.0, run.proven);
        if kept {
            // Equal rosters are taken too: moving on a plateau diversifies the search.
            best = Run { bound: f64::NEG_INFINITY, proven: false, ..run };
            if gain > 1e-6 {
                report(Event::Improved(&best));
            }
        }
        stalled = if gain > 1e-6 { 0 } else { stalled + 1 };
    }
    Ok(Some(best))
}

/// Phase 1: the rolling horizon on the hard-rule penalties, then, when its roster still breaks
/// a rule (a window cut short, or a rule across windows), the whole model on the penalties from
/// it. `None` only when HiGHS found nothing at all.
fn construct(problem: &RosterProblem, config: &SolveConfig, clock: &Clock) -> Result<Option<Run>, SolveError> {
    let (n_staff, n_days) = (problem.staff.len(), problem.days.len());
    let n_windows = n_days.div_ceil(WINDOW_DAYS);
    let mut built: Option<Run> = None;
    for window in 0..n_windows {
        let days = window * WINDOW_DAYS..((window + 1) * WINDOW_DAYS).min(n_days);
        let free: Vec<Vec<bool>> = (0..n_staff).map(|_| (0..n_days).map(|d| days.contains(&d)).collect()).collect();
        let values = built.as_ref().and_then(|b| b.values.clone()).unwrap_or_default();
        let ask = Ask {
            goal: Goal::MeetRules,
            time_limit: (clock.left(CONSTRUCTION_END) / (n_windows - window) as f64).max(0.2),
            rel_gap: 0.0,
            nodes: None,
            start: built.as_ref().and_then(|b| b.values.as_deref()),
            fix: Some(&Fix { values: &values, free: &free }),
        };
        let run = milp::run(problem, config, &ask)?;
        if run.values.is_some() {
            built = Some(run);
        }
    }
    if let Some(breaking) = built.as_ref().filter(|b| b.breaches > 0.0)
        && clock.left(REPAIR_END) > 0.2
    {
        let ask = Ask::full(config, Goal::MeetRules, clock.left(REPAIR_END), breaking.values.as_deref());
        let run = milp::run(problem, config, &ask)?;
        if run.values.is_some() && run.breaches < breaking.breaches {
            built = Some(run);
        }
    }
    Ok(built.map(|run| Run { bound: f64::NEG_INFINITY, proven: false, ..run }))
}

/// Everyone over a window of about `size / staff` days: around a shortfall of `best` when it has
/// one, anywhere otherwise.
fn days_window(problem: &RosterProblem, best: &Run, size: f64, rng: &mut Rng) -> Vec<Vec<bool>> {
    let (n_staff, n_days) = (problem.staff.len(), problem.days.len());
    let length = ((size / n_staff as f64).round() as usize).clamp(2.min(n_days), n_days);
    let short_days: Vec<usize> = best.roster.as_ref().map_or_else(Vec::new, |roster| {
        validate::validate(problem, roster)
            .iter()
            .filter_map(|b| match b {
                Breach::Shortfall { slot_start, .. } => {
                    Some((0..n_days).rev().find(|&d| problem.day_origin(d) <= *slot_start).unwrap_or(0))
                }
                Breach::Other { .. } => None,
            })
            .collect()
    });
    let first = if short_days.is_empty() {
        rng.below(n_days - length + 1)
    } else {
        let day = short_days[rng.below(short_days.len())];
        let earliest = (day + 1).saturating_sub(length);
        let latest = day.min(n_days - length);
        earliest + rng.below(latest - earliest + 1)
    };
    (0..n_staff).map(|_| (0..n_days).map(|d| (first..first + length).contains(&d)).collect()).collect()
}

/// About `size / days` people over the whole period: one at random and others who hold one of
/// their posts (only they can trade shifts with them), in random order.
fn related_staff(problem: &RosterProblem, size: f64, rng: &mut Rng) -> Vec<Vec<bool>> {
    let (n_staff, n_days) = (problem.staff.len(), problem.days.len());
    let k = ((size / n_days as f64).round() as usize).clamp(2.min(n_staff), n_staff);
    let seed = rng.below(n_staff);
    let shares = |s: usize| problem.staff[s].posts.iter().any(|p| problem.staff[seed].posts.contains(p));
    let mut keyed: Vec<(bool, u64, usize)> = (0..n_staff).map(|s| (s == seed || shares(s), rng.next(), s)).collect();
    keyed.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut free = vec![vec![false; n_days]; n_staff];
    for &(_, _, s) in keyed.iter().take(k) {
        free[s].fill(true);
    }
    free[seed].fill(true);
    free
}
