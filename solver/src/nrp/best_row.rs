//! The best row for one employee when every other row is fixed, by dynamic programming over the
//! days: the construction places employees one at a time with it, and the search re-optimises one
//! employee at a time with it, both in milliseconds where a single-employee MILP takes seconds on
//! the year-long instances.
//!
//! The program is exact for every per-day and per-run rule (days off, successions, max and min
//! consecutive shifts, min consecutive days off, each run touching an edge of the horizon being
//! exempt from the minimums), because the state is (yesterday's shift or off, length of the
//! current run, whether that run began on day 0). The three budgets over the horizon (total
//! minutes, shifts per type, weekends) are priced in instead (Lagrangian multipliers, raised and
//! lowered until the row keeps them), so a row it returns is feasible but may, in the rare case
//! a budget binds, not be the cheapest. `None` means no row keeping the budgets was found.
//!
//! Costs are the caller's: `work[d][s]` for working shift s on day d (infinite when not allowed)
//! and `off[d]` for a day off; the cheapest row minimises their sum.

use crate::nrp::evaluate::{Breach, row_breaches};
use crate::nrp::model::allowed;
use crate::nrp::{Instance, Schedule, Staff};

/// Per-day costs of one employee's choices.
#[derive(Debug)]
pub(crate) struct RowCosts {
    /// `work[d][s]`: cost of working shift s on day d; `f64::INFINITY` when not allowed.
    pub work: Vec<Vec<f64>>,
    /// `off[d]`: cost of not working on day d.
    pub off: Vec<f64>,
}

impl RowCosts {
    /// The objective an employee's choices add when `on_shift[d][s]` other employees work shift
    /// s on day d: each person on a shift removes one unit of under-cover or adds one of
    /// over-cover, and requests cost what they cost. Exact, so the cost of a row is its share of
    /// the objective.
    pub(crate) fn given_others(instance: &Instance, staff_idx: usize, on_shift: &[Vec<u32>]) -> RowCosts {
        let mut work: Vec<Vec<f64>> = (0..instance.n_days)
            .map(|day| {
                (0..instance.shifts.len())
                    .map(|shift| {
                        if !allowed(instance, staff_idx, day, shift) {
                            return f64::INFINITY;
                        }
                        let cover = instance.cover[day][shift];
                        if on_shift[day][shift] < cover.requirement {
                            -f64::from(cover.under_weight)
                        } else {
                            f64::from(cover.over_weight)
                        }
                    })
                    .collect()
            })
            .collect();
        let mut off = vec![0.0; instance.n_days];
        for r in instance.on_requests.iter().filter(|r| r.staff == staff_idx) {
            let weight = f64::from(r.weight);
            off[r.day] += weight;
            for (shift, cost) in work[r.day].iter_mut().enumerate() {
                if shift != r.shift {
                    *cost += weight;
                }
            }
        }
        for r in instance.off_requests.iter().filter(|r| r.staff == staff_idx) {
            work[r.day][r.shift] += f64::from(r.weight);
        }
        RowCosts { work, off }
    }

    /// The cost of a row.
    pub(crate) fn of(&self, row: &[Option<usize>]) -> f64 {
        row.iter().enumerate().map(|(day, choice)| choice.map_or(self.off[day], |s| self.work[day][s])).sum()
    }
}

/// `on_shift[d][s]`: how many employees of `schedule` work shift s on day d.
pub(crate) fn on_shift_counts(instance: &Instance, schedule: &Schedule) -> Vec<Vec<u32>> {
    let mut counts = vec![vec![0; instance.shifts.len()]; instance.n_days];
    for row in schedule {
        count_row(&mut counts, row, 1);
    }
    counts
}

/// Adds (`delta` 1) or removes (`delta` −1) one row's shifts from `on_shift` counts.
pub(crate) fn count_row(on_shift: &mut [Vec<u32>], row: &[Option<usize>], delta: i32) {
    for (day, choice) in row.iter().enumerate() {
        if let Some(shift) = *choice {
            on_shift[day][shift] = on_shift[day][shift].saturating_add_signed(delta);
        }
    }
}

/// Multiplier rounds before giving up on the budgets.
const PRICE_ROUNDS: usize = 60;

/// The state space of one employee's program.
struct States {
    n_shifts: usize,
    /// Longest work run the state tracks (the limit, or the minimum when the limit never binds).
    work_cap: usize,
    /// Longest off run the state tracks (the minimum days off).
    off_cap: usize,
}

/// Yesterday as the program sees it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    Work(usize),
    Off,
}

impl States {
    fn new(instance: &Instance, staff: &Staff) -> States {
        let max = staff.max_consecutive as usize;
        let work_cap = if max >= instance.n_days { (staff.min_consecutive as usize).max(1) } else { max };
        States { n_shifts: instance.shifts.len(), work_cap, off_cap: (staff.min_days_off as usize).max(1) }
    }

    fn count(&self) -> usize {
        (self.n_shifts * self.work_cap + self.off_cap) * 2
    }

    fn index(&self, last: Last, run: usize, from_start: bool) -> usize {
        let base = match last {
            Last::Work(shift) => shift * self.work_cap + run.min(self.work_cap) - 1,
            Last::Off => self.n_shifts * self.work_cap + run.min(self.off_cap) - 1,
        };
        base * 2 + usize::from(from_start)
    }

    fn decode(&self, index: usize) -> (Last, usize, bool) {
        let (base, from_start) = (index / 2, index % 2 == 1);
        let work = self.n_shifts * self.work_cap;
        if base < work {
            (Last::Work(base / self.work_cap), base % self.work_cap + 1, from_start)
        } else {
            (Last::Off, base - work + 1, from_start)
        }
    }
}

/// What a row spends of the three budgets.
struct Usage {
    minutes: u32,
    per_shift: Vec<u32>,
    weekends: u32,
}

fn usage(instance: &Instance, row: &[Option<usize>]) -> Usage {
    let mut per_shift = vec![0; instance.shifts.len()];
    for &s in row.iter().flatten() {
        per_shift[s] += 1;
    }
    let minutes = row.iter().flatten().map(|&s| instance.shifts[s].minutes).sum();
    let weekends =
        row.chunks(7).filter(|week| week.len() == 7 && (week[5].is_some() || week[6].is_some())).count() as u32;
    Usage { minutes, per_shift, weekends }
}

/// The cheapest row under per-day costs plus `weekend` per weekend worked, keeping every per-day
/// and per-run rule; `None` when no row does.
fn cheapest(instance: &Instance, staff: &Staff, costs: &RowCosts, weekend: f64) -> Option<Vec<Option<usize>>> {
    let states = States::new(instance, staff);
    let n = states.count();
    let n_shifts = instance.shifts.len();
    let mut may_follow = vec![true; n_shifts * n_shifts];
    for (prev, shift) in instance.shifts.iter().enumerate() {
        for &next in &shift.forbidden_next {
            may_follow[prev * n_shifts + next] = false;
        }
    }
    let n_days = instance.n_days;
    let mut value = vec![f64::INFINITY; n];
    let mut from = vec![u32::MAX; n * n_days];
    let max_run = staff.max_consecutive as usize;
    let weekend_cost = |day: usize, last: Option<Last>| match (day % 7, last) {
        (5, _) => weekend,
        (6, Some(Last::Off) | None) => weekend,
        _ => 0.0,
    };
    // Day 0: every run starts at the horizon's edge.
    value[states.index(Last::Off, 1, true)] = costs.off[0];
    for (shift, &cost) in costs.work[0].iter().enumerate() {
        if cost.is_finite() && max_run >= 1 {
            value[states.index(Last::Work(shift), 1, true)] = cost + weekend_cost(0, None);
        }
    }
    let mut next = vec![f64::INFINITY; n];
    for day in 1..n_days {
        next.fill(f64::INFINITY);
        let day_from = &mut from[day * n..(day + 1) * n];
        let mut relax = |to: usize, v: f64, pred: usize, next: &mut Vec<f64>| {
            if v < next[to] {
                next[to] = v;
                day_from[to] = pred as u32;
            }
        };
        for (pred, &v) in value.iter().enumerate() {
            if !v.is_finite() {
                continue;
            }
            let (last, run, from_start) = states.decode(pred);
            match last {
                Last::Work(prev) => {
                    if run >= staff.min_consecutive as usize || from_start {
                        relax(states.index(Last::Off, 1, false), v + costs.off[day], pred, &mut next);
                    }
                    if run < max_run {
                        for (shift, &cost) in costs.work[day].iter().enumerate() {
                            if cost.is_finite() && may_follow[prev * n_shifts + shift] {
                                let to = states.index(Last::Work(shift), run + 1, from_start);
                                relax(to, v + cost + weekend_cost(day, Some(last)), pred, &mut next);
                            }
                        }
                    }
                }
                Last::Off => {
                    relax(states.index(Last::Off, run + 1, from_start), v + costs.off[day], pred, &mut next);
                    if (run >= staff.min_days_off as usize || from_start) && max_run >= 1 {
                        for (shift, &cost) in costs.work[day].iter().enumerate() {
                            if cost.is_finite() {
                                let to = states.index(Last::Work(shift), 1, false);
                                relax(to, v + cost + weekend_cost(day, Some(last)), pred, &mut next);
                            }
                        }
                    }
                }
            }
        }
        std::mem::swap(&mut value, &mut next);
    }
    // The last run touches the horizon's end: every state is a valid ending.
    let (mut state, _) = value.iter().enumerate().filter(|(_, v)| v.is_finite()).min_by(|a, b| a.1.total_cmp(b.1))?;
    let mut row = vec![None; n_days];
    for day in (0..n_days).rev() {
        if let (Last::Work(shift), _, _) = states.decode(state) {
            row[day] = Some(shift);
        }
        if day > 0 {
            state = from[day * n + state] as usize;
        }
    }
    Some(row)
}

/// How far `minutes` lies outside the employee's range.
fn minutes_off(staff: &Staff, minutes: u32) -> u32 {
    staff.min_minutes.saturating_sub(minutes) + minutes.saturating_sub(staff.max_minutes)
}

/// Brings a row's total minutes into the employee's range when that is the only rule it breaks:
/// at each step the one-day change (another shift type, a day off, a shift on a day off) that
/// keeps every other rule and ends nearest the range, the cheapest among equals. `None` when no
/// change gets nearer.
fn repair_minutes(
    instance: &Instance,
    staff_idx: usize,
    costs: &RowCosts,
    mut row: Vec<Option<usize>>,
) -> Option<Vec<Option<usize>>> {
    let staff = &instance.staff[staff_idx];
    let distance = |minutes: u32| minutes_off(staff, minutes);
    let length = |choice: Option<usize>| choice.map_or(0, |s| instance.shifts[s].minutes);
    let cost = |day: usize, choice: Option<usize>| choice.map_or(costs.off[day], |s| costs.work[day][s]);
    let mut minutes: u32 = row.iter().map(|&c| length(c)).sum();
    while distance(minutes) > 0 {
        let mut changes: Vec<(u32, f64, usize, Option<usize>)> = Vec::new();
        for (day, &current) in row.iter().enumerate() {
            for choice in std::iter::once(None).chain((0..instance.shifts.len()).map(Some)) {
                let after = minutes - length(current) + length(choice);
                let delta = cost(day, choice) - cost(day, current);
                if choice != current && delta.is_finite() && distance(after) < distance(minutes) {
                    changes.push((distance(after), delta, day, choice));
                }
            }
        }
        changes.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        // The first change, in that order, that keeps every rule but the minutes.
        let (day, choice) = changes.into_iter().find_map(|(_, _, day, choice)| {
            let current = std::mem::replace(&mut row[day], choice);
            let keeps_rules = row_breaches(instance, staff_idx, &row)
                .iter()
                .all(|breach| matches!(breach, Breach::TotalMinutes { .. }));
            row[day] = current;
            keeps_rules.then_some((day, choice))
        })?;
        minutes = minutes - length(row[day]) + length(choice);
        row[day] = choice;
    }
    Some(row)
}

/// The cheapest row found for employee `staff_idx` that keeps every hard rule, budgets included.
pub(crate) fn best_row(instance: &Instance, staff_idx: usize, costs: &RowCosts) -> Option<Vec<Option<usize>>> {
    let staff = &instance.staff[staff_idx];
    let n_weeks = (instance.n_days / 7) as u32;
    let scale =
        costs.work.iter().flatten().chain(&costs.off).filter(|c| c.is_finite()).fold(1.0_f64, |m, c| m.max(c.abs()));
    let mean_minutes =
        instance.shifts.iter().map(|s| f64::from(s.minutes)).sum::<f64>() / instance.shifts.len().max(1) as f64;
    // Price per minute (positive: work is cheaper), per shift of each type, per weekend.
    let (mut per_minute, mut per_shift, mut per_weekend) = (0.0_f64, vec![0.0_f64; instance.shifts.len()], 0.0);
    let (mut minute_step, mut shift_step, mut weekend_step) =
        (scale / mean_minutes / 4.0, vec![scale / 4.0; instance.shifts.len()], scale / 4.0);
    let mut last_minute_direction = 0.0;
    // The row nearest the minutes range among those keeping the other budgets, to repair.
    let mut closest: Option<(u32, Vec<Option<usize>>)> = None;
    // Times the minutes price overshot; after two, a near row is repaired rather than priced on.
    let mut flips = 0;
    let longest = instance.shifts.iter().map(|s| s.minutes).max().unwrap_or(0);
    // No weekends at all is a per-day rule, not a budget: Saturdays and Sundays are closed.
    let closed = |day: usize| staff.max_weekends == 0 && day % 7 >= 5;
    for _ in 0..PRICE_ROUNDS {
        let priced = RowCosts {
            work: costs
                .work
                .iter()
                .enumerate()
                .map(|(day, shifts)| {
                    shifts
                        .iter()
                        .enumerate()
                        .map(|(s, &c)| {
                            if closed(day) {
                                f64::INFINITY
                            } else {
                                c - per_minute * f64::from(instance.shifts[s].minutes) + per_shift[s]
                            }
                        })
                        .collect()
                })
                .collect(),
            off: costs.off.clone(),
        };
        let row = cheapest(instance, staff, &priced, per_weekend)?;
        let used = usage(instance, &row);
        let direction = if used.minutes < staff.min_minutes {
            1.0
        } else if used.minutes > staff.max_minutes {
            -1.0
        } else {
            0.0
        };
        if direction != 0.0 {
            if direction == last_minute_direction {
                minute_step *= 1.5;
            } else if last_minute_direction != 0.0 {
                minute_step *= 0.5;
                flips += 1;
            }
            per_minute += direction * minute_step;
            last_minute_direction = direction;
        }
        // A budget's price rises while it is broken and falls back while it has room (never
        // below zero), each step half the last after an overshoot.
        let adjust = |price: &mut f64, step: &mut f64, used: u32, limit: u32| {
            if used > limit {
                *price += *step;
                *step *= 1.5;
                false
            } else {
                if used < limit && *price > 0.0 {
                    *step *= 0.5;
                    *price = (*price - *step).max(0.0);
                }
                true
            }
        };
        let mut other_budgets_kept = true;
        for (s, &count) in used.per_shift.iter().enumerate() {
            other_budgets_kept &= adjust(&mut per_shift[s], &mut shift_step[s], count, staff.max_shifts[s]);
        }
        other_budgets_kept &=
            adjust(&mut per_weekend, &mut weekend_step, used.weekends, staff.max_weekends.min(n_weeks));
        if direction == 0.0 && other_budgets_kept {
            return Some(row);
        }
        let off_by = minutes_off(staff, used.minutes);
        if other_budgets_kept && closest.as_ref().is_none_or(|(d, _)| off_by < *d) {
            closest = Some((off_by, row));
        }
        if flips >= 2 && closest.as_ref().is_some_and(|(d, _)| *d <= 2 * longest) {
            break;
        }
    }
    closest.and_then(|(_, row)| repair_minutes(instance, staff_idx, costs, row))
}

#[cfg(test)]
mod tests {
    //! The program against brute force: every row of a one-employee instance short enough to list.

    use proptest::prelude::*;

    use super::*;
    use crate::nrp::{Cover, Shift};

    /// A one-employee instance with random rules, and random costs for its choices.
    fn case() -> impl Strategy<Value = (Instance, RowCosts)> {
        (1usize..=2, 1usize..=3)
            .prop_flat_map(|(weeks, n_shifts)| {
                // Two weeks only with one shift type, so that brute force stays near 16,000 rows.
                let n_shifts = if weeks == 2 { 1 } else { n_shifts };
                let n_days = 7 * weeks;
                (
                    Just(n_days),
                    prop::collection::vec((prop::sample::select(vec![240u32, 480, 600]), any::<u8>()), n_shifts),
                    prop::collection::vec(0u32..=n_days as u32, n_shifts),
                    (0u32..=5000, 0u32..=6000),
                    (1u32..=n_days as u32, 1u32..=3, 1u32..=3, 0u32..=weeks as u32),
                    prop::collection::vec(any::<bool>(), n_days),
                    prop::collection::vec(prop::collection::vec(-6i32..=6, n_shifts), n_days),
                    prop::collection::vec(0i32..=3, n_days),
                )
            })
            .prop_map(
                |(
                    n_days,
                    shifts,
                    max_shifts,
                    (min, extra),
                    (max_cons, min_cons, min_off, max_weekends),
                    days_off,
                    work,
                    off,
                )| {
                    let n_shifts = shifts.len();
                    let shifts: Vec<Shift> = shifts
                        .iter()
                        .enumerate()
                        .map(|(i, &(minutes, forbid))| Shift {
                            id: format!("S{i}"),
                            minutes,
                            forbidden_next: (0..n_shifts).filter(|j| forbid & (1 << j) != 0).collect(),
                        })
                        .collect();
                    let staff = Staff {
                        id: "A".into(),
                        max_shifts,
                        max_minutes: min + extra,
                        min_minutes: min,
                        max_consecutive: max_cons,
                        min_consecutive: min_cons,
                        min_days_off: min_off,
                        max_weekends,
                    };
                    let cover = Cover { requirement: 0, under_weight: 0, over_weight: 0 };
                    let instance = Instance {
                        name: "random".into(),
                        n_days,
                        shifts,
                        staff: vec![staff],
                        days_off: vec![days_off.iter().map(|&off| off && n_days > 7).collect()],
                        on_requests: Vec::new(),
                        off_requests: Vec::new(),
                        cover: vec![vec![cover; n_shifts]; n_days],
                    };
                    let work = work
                        .iter()
                        .enumerate()
                        .map(|(day, costs)| {
                            costs
                                .iter()
                                .enumerate()
                                .map(|(s, &c)| if allowed(&instance, 0, day, s) { f64::from(c) } else { f64::INFINITY })
                                .collect()
                        })
                        .collect();
                    (instance, RowCosts { work, off: off.into_iter().map(f64::from).collect() })
                },
            )
    }

    /// Every row of the instance, keeping the rules or not.
    fn all_rows(instance: &Instance) -> Vec<Vec<Option<usize>>> {
        let choices = instance.shifts.len() + 1;
        let count = choices.pow(instance.n_days as u32);
        (0..count)
            .map(|mut code| {
                (0..instance.n_days)
                    .map(|_| {
                        let choice = code % choices;
                        code /= choices;
                        choice.checked_sub(1)
                    })
                    .collect()
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn rows_keep_every_rule_and_are_optimal_when_no_budget_binds((instance, costs) in case()) {
            let rows = all_rows(&instance);
            let feasible: Vec<&Vec<Option<usize>>> =
                rows.iter().filter(|row| row_breaches(&instance, 0, row).is_empty()).collect();
            let budgets = |breach: &Breach| matches!(
                breach,
                Breach::TotalMinutes { .. } | Breach::TooManyOfShift { .. } | Breach::TooManyWeekends { .. }
            );
            let cheapest_ignoring_budgets = rows
                .iter()
                .filter(|row| row_breaches(&instance, 0, row).iter().all(budgets))
                .filter(|row| costs.of(row).is_finite())
                .min_by(|a, b| costs.of(a).total_cmp(&costs.of(b)));
            match best_row(&instance, 0, &costs) {
                Some(row) => {
                    prop_assert!(row_breaches(&instance, 0, &row).is_empty(), "{row:?} breaks a rule");
                    let optimum = feasible.iter().map(|r| costs.of(r)).fold(f64::INFINITY, f64::min);
                    if cheapest_ignoring_budgets.is_some_and(|r| row_breaches(&instance, 0, r).is_empty()) {
                        prop_assert_eq!(costs.of(&row), optimum);
                    }
                }
                None => prop_assert!(
                    cheapest_ignoring_budgets.is_none_or(|r| !row_breaches(&instance, 0, r).is_empty()),
                    "no row returned though the cheapest row keeps every budget"
                ),
            }
        }
    }
}
