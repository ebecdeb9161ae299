//! The best row for one employee when every other row is fixed, by dynamic programming over the
//! days: the construction places employees one at a time with it, the search re-optimises one
//! employee at a time with it, and the column generation prices with it, all in milliseconds
//! where a single-employee MILP takes far longer.
//!
//! The program is exact for every per-day and per-run rule (days off, successions, max and min
//! consecutive shifts, min consecutive days off, each run touching an edge of the horizon being
//! exempt from the minimums), because the state is (yesterday's shift or off, length of the
//! current run, whether that run began on day 0). The total minutes and the weekends worked are
//! carried in the state too when that keeps it small (`Tracked`, [`TRACKED_SPACE`]),
//! which makes them exact. The budgets left over (shifts per type, and minutes or weekends on
//! the longest horizons) are priced in (Lagrangian multipliers, raised and lowered until the row
//! keeps them), so a row it returns is feasible but may, where such a budget binds, not be the
//! cheapest; [`price_row`] also returns the Lagrangian lower bound. `None` means no row keeping
//! the budgets was found.
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
    /// What an employee's own choices cost: its shift-on and shift-off requests. Cells it may
    /// never work cost `f64::INFINITY`. The master of the column generation charges a row this.
    pub(crate) fn requests(instance: &Instance, staff_idx: usize) -> RowCosts {
        let mut work: Vec<Vec<f64>> = (0..instance.n_days)
            .map(|day| {
                (0..instance.shifts.len())
                    .map(|shift| if allowed(instance, staff_idx, day, shift) { 0.0 } else { f64::INFINITY })
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

    /// The objective an employee's choices add when `on_shift[d][s]` other employees work shift
    /// s on day d: each person on a shift removes one unit of under-cover or adds one of
    /// over-cover, and requests cost what they cost. Exact, so the cost of a row is its share of
    /// the objective.
    pub(crate) fn given_others(instance: &Instance, staff_idx: usize, on_shift: &[Vec<u32>]) -> RowCosts {
        let mut costs = RowCosts::requests(instance, staff_idx);
        for (day, shifts) in costs.work.iter_mut().enumerate() {
            for (shift, cost) in shifts.iter_mut().enumerate() {
                let cover = instance.cover[day][shift];
                *cost += if on_shift[day][shift] < cover.requirement {
                    -f64::from(cover.under_weight)
                } else {
                    f64::from(cover.over_weight)
                };
            }
        }
        costs
    }

    /// These costs with each shift's cost replaced by `work(day, shift, cost)` and each day
    /// off's by `off(day, cost)`: how the pricing and the budget prices derive theirs.
    pub(crate) fn mapped(&self, work: impl Fn(usize, usize, f64) -> f64, off: impl Fn(usize, f64) -> f64) -> RowCosts {
        RowCosts {
            work: self
                .work
                .iter()
                .enumerate()
                .map(|(day, shifts)| shifts.iter().enumerate().map(|(s, &c)| work(day, s, c)).collect())
                .collect(),
            off: self.off.iter().enumerate().map(|(day, &c)| off(day, c)).collect(),
        }
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

impl Usage {
    /// Whether a row spending this keeps every budget of `staff` over `n_weeks` weeks.
    fn kept(&self, staff: &Staff, n_weeks: u32) -> bool {
        minutes_off(staff, self.minutes) == 0
            && self.per_shift.iter().zip(&staff.max_shifts).all(|(used, most)| used <= most)
            && self.weekends <= staff.max_weekends.min(n_weeks)
    }
}

/// One budget carried in the program's state: what working each shift type, and starting a
/// weekend, spends of it, and the most a row may spend.
struct Dim {
    per_shift: Vec<usize>,
    per_weekend: usize,
    most: usize,
}

/// Budgets the program keeps exactly by carrying what a row has spent of them in its state
/// (mixed radix over the `dims`), as far as that keeps the state space small; the others are
/// priced. Exact budgets make the program an exact pricing problem, which the column
/// generation's bound needs: weekends first, then total minutes (in units of the shift lengths'
/// greatest common divisor), then the tightest shift-type limits.
struct Tracked {
    dims: Vec<Dim>,
    /// Position in `dims` of the minutes, and minutes per unit.
    minutes: Option<(usize, u32)>,
}

/// Largest (state, spent, day) space for which a budget is tracked rather than priced.
const TRACKED_SPACE: usize = 4_000_000;

impl Tracked {
    fn new(instance: &Instance, staff: &Staff, states: &States) -> Tracked {
        let (n_days, n_shifts) = (instance.n_days, instance.shifts.len());
        let mut tracked = Tracked { dims: Vec::new(), minutes: None };
        let push = |tracked: &mut Tracked, dim: Dim| {
            let space = tracked.count() * (dim.most + 1) * states.count() * n_days;
            if space <= TRACKED_SPACE {
                tracked.dims.push(dim);
                true
            } else {
                false
            }
        };
        if (staff.max_weekends as usize) < n_days / 7 {
            push(&mut tracked, Dim { per_shift: vec![0; n_shifts], per_weekend: 1, most: staff.max_weekends as usize });
        }
        let unit = instance.shifts.iter().map(|s| s.minutes).filter(|&m| m > 0).fold(0, gcd);
        if let Some(most) = staff.max_minutes.checked_div(unit) {
            let per_shift = instance.shifts.iter().map(|s| (s.minutes / unit) as usize).collect();
            let at = tracked.dims.len();
            if push(&mut tracked, Dim { per_shift, per_weekend: 0, most: most as usize }) {
                tracked.minutes = Some((at, unit));
            }
        }
        // Limits that can bind (above zero, below the horizon), tightest first.
        let mut limits: Vec<(usize, usize)> = (0..n_shifts)
            .map(|s| (staff.max_shifts[s] as usize, s))
            .filter(|&(most, _)| most > 0 && most < n_days)
            .collect();
        limits.sort_unstable();
        for (most, shift) in limits {
            let per_shift = (0..n_shifts).map(|s| usize::from(s == shift)).collect();
            push(&mut tracked, Dim { per_shift, per_weekend: 0, most });
        }
        tracked
    }

    /// Distinct amounts spent.
    fn count(&self) -> usize {
        self.dims.iter().map(|d| d.most + 1).product()
    }

    /// What is spent after `spent` and a day working `shift`, starting a weekend or not; `None`
    /// when that breaks a tracked budget.
    fn spend(&self, spent: usize, shift: usize, new_weekend: bool) -> Option<usize> {
        let (mut rest, mut after, mut scale) = (spent, 0, 1);
        for dim in &self.dims {
            let radix = dim.most + 1;
            let used = rest % radix + dim.per_shift[shift] + if new_weekend { dim.per_weekend } else { 0 };
            if used > dim.most {
                return None;
            }
            rest /= radix;
            after += used * scale;
            scale *= radix;
        }
        Some(after)
    }

    /// Whether a row that spent `spent` works enough minutes.
    fn enough(&self, staff: &Staff, spent: usize) -> bool {
        self.minutes.is_none_or(|(at, unit)| {
            let below: usize = self.dims[..at].iter().map(|d| d.most + 1).product();
            let units = spent / below % (self.dims[at].most + 1);
            units as u32 * unit >= staff.min_minutes
        })
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The cheapest row under per-day costs plus `weekend` per weekend worked (when weekends are not
/// tracked), keeping every per-day and per-run rule and the tracked budgets, with its cost;
/// `None` when no row keeps them.
fn cheapest(
    instance: &Instance,
    staff: &Staff,
    costs: &RowCosts,
    weekend: f64,
    tracked: &Tracked,
) -> Option<(f64, Vec<Option<usize>>)> {
    let states = States::new(instance, staff);
    let n_spent = tracked.count();
    let n = states.count() * n_spent;
    let n_shifts = instance.shifts.len();
    let mut may_follow = vec![true; n_shifts * n_shifts];
    for (prev, shift) in instance.shifts.iter().enumerate() {
        for &next in &shift.forbidden_next {
            may_follow[prev * n_shifts + next] = false;
        }
    }
    let n_days = instance.n_days;
    let full_weeks_end = 7 * (n_days / 7);
    let mut value = vec![f64::INFINITY; n];
    let mut from = vec![u32::MAX; n * n_days];
    let max_run = staff.max_consecutive as usize;
    // Working `day` starts a weekend when it is the Saturday, or the Sunday after a Saturday off,
    // of a full week.
    let starts_weekend = |day: usize, last: Option<Last>| {
        day < full_weeks_end && (day % 7 == 5 || (day % 7 == 6 && !matches!(last, Some(Last::Work(_)))))
    };
    // A tracked budget is never broken, so its price stays zero.
    let weekend_cost = |new: bool| if new { weekend } else { 0.0 };
    // Day 0: every run starts at the horizon's edge.
    value[states.index(Last::Off, 1, true) * n_spent] = costs.off[0];
    for (shift, &cost) in costs.work[0].iter().enumerate() {
        let new = starts_weekend(0, None);
        if let Some(spent) = tracked.spend(0, shift, new)
            && cost.is_finite()
            && max_run >= 1
        {
            value[states.index(Last::Work(shift), 1, true) * n_spent + spent] = cost + weekend_cost(new);
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
            let (state, spent) = (pred / n_spent, pred % n_spent);
            let (last, run, from_start) = states.decode(state);
            let new = starts_weekend(day, Some(last));
            // Working `shift` into `to_state`: where that leads and at what cost, if allowed.
            let work = |shift: usize, to_state: usize| {
                let cost = costs.work[day][shift];
                let spent = tracked.spend(spent, shift, new).filter(|_| cost.is_finite())?;
                Some((to_state * n_spent + spent, v + cost + weekend_cost(new)))
            };
            match last {
                Last::Work(prev) => {
                    if run >= staff.min_consecutive as usize || from_start {
                        relax(states.index(Last::Off, 1, false) * n_spent + spent, v + costs.off[day], pred, &mut next);
                    }
                    if run < max_run {
                        for shift in (0..n_shifts).filter(|&s| may_follow[prev * n_shifts + s]) {
                            if let Some((to, v)) = work(shift, states.index(Last::Work(shift), run + 1, from_start)) {
                                relax(to, v, pred, &mut next);
                            }
                        }
                    }
                }
                Last::Off => {
                    let to = states.index(Last::Off, run + 1, from_start) * n_spent + spent;
                    relax(to, v + costs.off[day], pred, &mut next);
                    if (run >= staff.min_days_off as usize || from_start) && max_run >= 1 {
                        for shift in 0..n_shifts {
                            if let Some((to, v)) = work(shift, states.index(Last::Work(shift), 1, false)) {
                                relax(to, v, pred, &mut next);
                            }
                        }
                    }
                }
            }
        }
        std::mem::swap(&mut value, &mut next);
    }
    // The last run touches the horizon's end: every state is a valid ending, if it worked enough.
    let (mut state, &cost) = value
        .iter()
        .enumerate()
        .filter(|&(i, v)| v.is_finite() && tracked.enough(staff, i % n_spent))
        .min_by(|a, b| a.1.total_cmp(b.1))?;
    let mut row = vec![None; n_days];
    for day in (0..n_days).rev() {
        if let (Last::Work(shift), _, _) = states.decode(state / n_spent) {
            row[day] = Some(shift);
        }
        if day > 0 {
            state = from[day * n + state] as usize;
        }
    }
    Some((cost, row))
}

/// Nudging rounds of [`keeping_tie`] before it gives up.
const TIE_ROUNDS: usize = 4;

/// Among the rows as cheap under `costs` (no budget priced; `scale` at least its largest finite
/// cost) as the program's choice `row`, whose cost `value` is then the optimum, one that keeps
/// the budgets, when nudging finds it.
/// The program picks one of several equally cheap rows arbitrarily, and one breaking a budget
/// would set the prices rising although an optimal row keeps every budget (the integer weights
/// of the benchmark make such ties common). Each budget the last row broke gets a price too
/// small to reorder rows of different costs (all of them together move a row's cost by at most
/// a billionth of the largest cost), raised while it stays broken, so the choice among equals
/// moves towards rows that keep it. `None` when a nudge no longer changes the row.
fn keeping_tie(
    instance: &Instance,
    staff: &Staff,
    costs: &RowCosts,
    scale: f64,
    value: f64,
    mut row: Vec<Option<usize>>,
    tracked: &Tracked,
) -> Option<Vec<Option<usize>>> {
    let (n_days, n_shifts) = (instance.n_days, instance.shifts.len());
    let n_weeks = (n_days / 7) as u32;
    let tie = scale * 1e-9;
    // Units such that TIE_ROUNDS of each, on the most a row can spend, stay within `tie`.
    let share = tie / (TIE_ROUNDS * (n_shifts + 2)) as f64;
    let longest = instance.shifts.iter().map(|s| s.minutes).max().unwrap_or(1).max(1);
    let minute_unit = share / (n_days as f64 * f64::from(longest));
    let (shift_unit, weekend_unit) = (share / n_days as f64, share / f64::from(n_weeks.max(1)));
    let (mut per_minute, mut per_shift, mut per_weekend) = (0.0, vec![0.0; n_shifts], 0.0);
    let mut used = usage(instance, &row);
    for _ in 0..TIE_ROUNDS {
        if used.minutes > staff.max_minutes {
            per_minute += minute_unit;
        } else if used.minutes < staff.min_minutes {
            per_minute -= minute_unit;
        }
        for (s, price) in per_shift.iter_mut().enumerate() {
            if used.per_shift[s] > staff.max_shifts[s] {
                *price += shift_unit;
            }
        }
        if used.weekends > staff.max_weekends.min(n_weeks) {
            per_weekend += weekend_unit;
        }
        let nudged =
            costs.mapped(|_, s, c| c + per_minute * f64::from(instance.shifts[s].minutes) + per_shift[s], |_, c| c);
        let (_, candidate) = cheapest(instance, staff, &nudged, per_weekend, tracked)?;
        if candidate == row || costs.of(&candidate) > value + 2.0 * tie {
            return None;
        }
        used = usage(instance, &candidate);
        if used.kept(staff, n_weeks) {
            return Some(candidate);
        }
        row = candidate;
    }
    None
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

/// The cheapest row found for employee `staff_idx` that keeps every hard rule, budgets included,
/// with every budget priced: the fast variant the construction and the descents call thousands
/// of times (carrying budgets in the state slowed the search on the larger instances).
pub(crate) fn best_row(instance: &Instance, staff_idx: usize, costs: &RowCosts) -> Option<Vec<Option<usize>>> {
    price_row(instance, staff_idx, costs, Budgets::Priced).row
}

/// How [`price_row`] keeps the budgets over the horizon.
#[derive(Clone, Copy)]
pub(crate) enum Budgets {
    /// All priced: fast, exact only where no budget binds.
    Priced,
    /// Carried in the state as far as [`TRACKED_SPACE`] allows (`Tracked`), the rest priced:
    /// slower, and exact wherever only carried budgets bind, as pricing needs.
    Tracked,
}

/// What [`price_row`] found for one employee.
pub(crate) struct Priced {
    /// The cheapest row found that keeps every hard rule; `None` when none was found.
    pub row: Option<Vec<Option<usize>>>,
    /// A proven lower bound on the cost of every row keeping the hard rules (`f64::INFINITY`
    /// when no row keeps even the per-day and per-run rules): the best Lagrangian bound of the
    /// price rounds, each budget's price times its slack taken off the program's optimum.
    pub lower: f64,
}

/// [`best_row`] with a lower bound on the cost of the true cheapest row, which the column
/// generation needs to bound the optimum while its pricing is heuristic.
pub(crate) fn price_row(instance: &Instance, staff_idx: usize, costs: &RowCosts, budgets: Budgets) -> Priced {
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
    let mut lower = f64::NEG_INFINITY;
    let tracked = match budgets {
        Budgets::Priced => Tracked { dims: Vec::new(), minutes: None },
        Budgets::Tracked => Tracked::new(instance, staff, &States::new(instance, staff)),
    };
    // No weekends at all is a per-day rule, not a budget: Saturdays and Sundays are closed.
    let closed = |day: usize| staff.max_weekends == 0 && day % 7 >= 5;
    for round in 0..PRICE_ROUNDS {
        let priced = costs.mapped(
            |day, s, c| {
                if closed(day) {
                    f64::INFINITY
                } else {
                    c - per_minute * f64::from(instance.shifts[s].minutes) + per_shift[s]
                }
            },
            |_, c| c,
        );
        let Some((value, mut row)) = cheapest(instance, staff, &priced, per_weekend, &tracked) else {
            return Priced { row: None, lower: f64::INFINITY };
        };
        // Unpriced, a row of the optimum's cost that keeps the budgets is optimal: look among
        // the equally cheap rows for one before pricing.
        if round == 0
            && !usage(instance, &row).kept(staff, n_weeks)
            && let Some(kept) = keeping_tie(instance, staff, &priced, scale, value, row.clone(), &tracked)
        {
            row = kept;
        }
        // Every row keeping the budgets costs at least its priced cost, less each price times
        // the budget's limit (the minutes price against the limit it presses on).
        let minutes_limit = if per_minute >= 0.0 { staff.min_minutes } else { staff.max_minutes };
        let shift_limits: f64 = per_shift.iter().zip(&staff.max_shifts).map(|(p, &m)| p * f64::from(m)).sum();
        lower = lower.max(
            value + per_minute * f64::from(minutes_limit)
                - shift_limits
                - per_weekend * f64::from(staff.max_weekends.min(n_weeks)),
        );
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
            return Priced { row: Some(row), lower };
        }
        let off_by = minutes_off(staff, used.minutes);
        if other_budgets_kept && closest.as_ref().is_none_or(|(d, _)| off_by < *d) {
            closest = Some((off_by, row));
        }
        if flips >= 2 && closest.as_ref().is_some_and(|(d, _)| *d <= 2 * longest) {
            break;
        }
    }
    Priced { row: closest.and_then(|(_, row)| repair_minutes(instance, staff_idx, costs, row)), lower }
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

    /// The case a random run found (proptest's shrunk input): three shift types, a week, no
    /// budget binding at the optimum (−7, S1 on the first two days), yet a row costing −2 came back.
    #[test]
    fn a_week_whose_cheapest_row_keeps_every_budget_is_priced_exactly() {
        let shift =
            |i: usize, minutes: u32, forbidden_next: Vec<usize>| Shift { id: format!("S{i}"), minutes, forbidden_next };
        let staff = Staff {
            id: "A".into(),
            max_shifts: vec![2, 3, 2],
            max_minutes: 1440,
            min_minutes: 0,
            max_consecutive: 3,
            min_consecutive: 1,
            min_days_off: 1,
            max_weekends: 1,
        };
        let instance = Instance {
            name: "random".into(),
            n_days: 7,
            shifts: vec![shift(0, 240, vec![]), shift(1, 240, vec![2]), shift(2, 480, vec![0, 2])],
            staff: vec![staff],
            days_off: vec![vec![false; 7]],
            on_requests: Vec::new(),
            off_requests: Vec::new(),
            cover: vec![vec![Cover { requirement: 0, under_weight: 0, over_weight: 0 }; 3]; 7],
        };
        let work =
            [[0.0, -2.0, 0.0], [0.0, -5.0, 0.0], [1.0, 1.0, 0.0], [0.0; 3], [0.0; 3], [0.0; 3], [0.0, 0.0, -1.0]];
        let costs = RowCosts {
            work: work.iter().map(|day| day.to_vec()).collect(),
            off: vec![0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0],
        };
        for budgets in [Budgets::Priced, Budgets::Tracked] {
            let priced = price_row(&instance, 0, &costs, budgets);
            let row = priced.row.expect("a row keeping every rule");
            assert!(row_breaches(&instance, 0, &row).is_empty(), "{row:?} breaks a rule");
            assert_eq!((costs.of(&row), priced.lower), (-7.0, -7.0), "{row:?}");
        }
    }

    proptest! {
        // 48 cases unless PROPTEST_CASES asks for more; a failure is reported, never written
        // into the source tree (tests write only to temporary directories).
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(48),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn rows_keep_every_rule_are_exact_where_their_budgets_allow_and_bounds_hold((instance, costs) in case()) {
            let rows = all_rows(&instance);
            let feasible: Vec<&Vec<Option<usize>>> =
                rows.iter().filter(|row| row_breaches(&instance, 0, row).is_empty()).collect();
            let per_type = |breach: &Breach| matches!(breach, Breach::TooManyOfShift { .. });
            let cheapest_ignoring_type_limits = rows
                .iter()
                .filter(|row| row_breaches(&instance, 0, row).iter().all(per_type))
                .filter(|row| costs.of(row).is_finite())
                .min_by(|a, b| costs.of(a).total_cmp(&costs.of(b)));
            let optimum = feasible.iter().map(|r| costs.of(r)).fold(f64::INFINITY, f64::min);
            let budgets = |breach: &Breach| matches!(
                breach,
                Breach::TotalMinutes { .. } | Breach::TooManyOfShift { .. } | Breach::TooManyWeekends { .. }
            );
            let cheapest_ignoring_budgets = rows
                .iter()
                .filter(|row| row_breaches(&instance, 0, row).iter().all(budgets))
                .filter(|row| costs.of(row).is_finite())
                .min_by(|a, b| costs.of(a).total_cmp(&costs.of(b)));
            // Priced budgets are exact when none binds; carried ones (all of them, in a space
            // this small) wherever a limit binds but only a shift-type limit that was priced.
            for (variant, cheapest_ignoring) in
                [(Budgets::Priced, cheapest_ignoring_budgets), (Budgets::Tracked, cheapest_ignoring_type_limits)]
            {
                let priced = price_row(&instance, 0, &costs, variant);
                prop_assert!(priced.lower <= optimum + 1e-9, "bound {} above the optimum {optimum}", priced.lower);
                let exact = cheapest_ignoring.is_some_and(|r| row_breaches(&instance, 0, r).is_empty());
                match priced.row {
                    Some(row) => {
                        prop_assert!(row_breaches(&instance, 0, &row).is_empty(), "{row:?} breaks a rule");
                        if exact {
                            prop_assert_eq!(costs.of(&row), optimum);
                            prop_assert_eq!(priced.lower, optimum);
                        }
                    }
                    None => prop_assert!(!exact, "no row returned though the cheapest row keeps every limit"),
                }
            }
        }
    }
}
