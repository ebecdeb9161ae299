//! The roster problem as the solver and the validator see it: team, period, posts, shift templates,
//! rules, plus the calendar questions both ask (day type, season, demand per slot).
//!
//! Leaves out: parsing (`input`), the MILP (`milp`), and any serialisation: these types are not
//! `Serialize`, the wire twins live in `output` (STYLE.md: DTOs at the edge).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};

/// Minutes in a day; shift and need times are minutes after the midnight that opens their day.
pub const DAY_MINUTES: u32 = 24 * 60;

/// The three day types of seed 004 (值班时间表更新通知): opening hours differ on each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DayType {
    /// Monday to Friday that is not a listed holiday, or a listed working weekend day (调休上班).
    Weekday,
    /// Saturday that is neither a listed holiday nor a listed working day.
    Saturday,
    /// Sunday or a public holiday from the period's holiday list.
    Sunday,
}

/// A seasonal timetable (seed 004: summer changes the midday duty and the evening start).
#[derive(Clone, Debug)]
pub struct Season {
    /// Identifier used by needs and lunch windows.
    pub id: String,
    /// First (month, day) of the season, inclusive.
    pub from: (u32, u32),
    /// Last (month, day) of the season, inclusive; a season may wrap past New Year.
    pub to: (u32, u32),
}

impl Season {
    /// Whether `date` falls in this season, whatever the year.
    pub fn contains(&self, date: NaiveDate) -> bool {
        let md = (date.month(), date.day());
        if self.from <= self.to { self.from <= md && md <= self.to } else { md >= self.from || md <= self.to }
    }
}

/// How many staff a post needs in one time window of the day types it applies to.
#[derive(Clone, Debug)]
pub struct Need {
    /// Day types the window applies to; the window belongs to the day it starts on.
    pub day_types: Vec<DayType>,
    /// Only in this season (index into `RosterProblem::seasons`), or in every season.
    pub season: Option<usize>,
    /// Start, minutes after midnight. Invariant: on the slot grid.
    pub from: u32,
    /// End, minutes after the same midnight; past `DAY_MINUTES` when the window crosses midnight.
    /// Invariant: `from < to <= from + DAY_MINUTES`, on the slot grid.
    pub to: u32,
    /// Staff that must be at the post (a hard rule, slack-penalised).
    pub min: u32,
    /// Staff wanted at the post (a soft objective term). Invariant: `desired >= min`.
    pub desired: u32,
}

/// A place that must be staffed: a gate, the front desk, the phones, the night maintenance duty.
#[derive(Clone, Debug)]
pub struct Post {
    /// Stable identifier used in files and output.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Staffing windows; where two overlap for a day, the larger figures apply. On a day in a
    /// season, the windows of that season replace the season-less ones of the same day type.
    pub needs: Vec<Need>,
    /// The post (index) whose staff beyond its own minimum stand in while this post's staff are
    /// at lunch (办公室人员顶岗): for missing people, and so that a lone person may eat.
    /// Invariant: not the post itself.
    pub lunch_relief: Option<usize>,
}

/// A shift template: when a shift starts and ends, and who may work it where.
#[derive(Clone, Debug)]
pub struct ShiftTemplate {
    /// Stable identifier, also the code in the grid.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Start, minutes after midnight of the shift's date. Invariant: on the slot grid.
    pub start: u32,
    /// End, minutes after the same midnight; a night shift ends past `DAY_MINUTES`.
    /// Invariant: `start < end <= start + DAY_MINUTES`, on the slot grid.
    pub end: u32,
    /// Roles allowed to work it; a staff member needs one of them (night duty only for maintenance).
    /// Invariant: at least one, each in the team's catalogue.
    pub roles: Vec<String>,
    /// Posts it may be worked at (indices); every post when the file lists none.
    pub posts: Vec<usize>,
    /// Day types on which it can be worked.
    pub day_types: Vec<DayType>,
    /// Whether the shift includes a lunch break inside the day's lunch window.
    pub lunch: bool,
    /// Night duty: counted for the fairness term that spreads nights evenly.
    pub night: bool,
    /// Minutes counted against the weekly contract (on-call nights count less than their length).
    pub paid_minutes: u32,
}

/// The kinds of day without work that appear in the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LeaveKind {
    /// Approved leave (请假); counts against the monthly allowance (seed 003 item 2).
    Leave,
    /// Compensatory day (调休), approved or granted by the solver from a request.
    Compensatory,
    /// A day off that is neither: fixed weekly rest or simply not rostered.
    DayOff,
}

/// An approved absence from the team file.
#[derive(Clone, Debug)]
pub struct ApprovedLeave {
    /// The day.
    pub date: NaiveDate,
    /// Leave or compensatory.
    pub kind: LeaveKind,
}

/// A contract's limits, all hard rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Contract {
    /// Least paid hours per calendar week, reduced pro rata for days outside the period and
    /// by `Rules::leave_day_hours` per leave day.
    pub min_hours_per_week: f64,
    /// Most paid hours per calendar week, pro rata for weeks cut by the period.
    pub max_hours_per_week: f64,
    /// Most working days in a row.
    pub max_consecutive_days: u32,
    /// Least minutes between one shift's end and the next shift's arrival (start minus handover).
    pub min_rest_minutes: u32,
}

/// A weighted wish: work (or avoid) a shift or a post, on some days.
#[derive(Clone, Debug)]
pub struct Preference {
    /// The template concerned (index); any shift when `None`, so "avoid any shift" is a day-off wish.
    pub shift: Option<usize>,
    /// The post concerned (index); any post when `None`, so "avoid west_gate" is a post wish.
    pub post: Option<usize>,
    /// Only on this weekday.
    pub weekday: Option<Weekday>,
    /// Only on this date.
    pub date: Option<NaiveDate>,
    /// Wanted (penalty when not met) or unwanted (penalty when met).
    pub want: bool,
    /// Penalty per unmet day.
    pub weight: f64,
}

impl Preference {
    /// Whether the preference speaks about this date.
    pub fn applies_on(&self, date: NaiveDate) -> bool {
        self.weekday.is_none_or(|w| w == date.weekday()) && self.date.is_none_or(|d| d == date)
    }
}

/// One member of the team.
#[derive(Clone, Debug)]
pub struct Staff {
    /// Stable identifier used in files and output.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Roles or skills (reception, phones, maintenance, ...). Invariant: in the team's catalogue.
    pub roles: Vec<String>,
    /// Posts this person can hold (indices).
    pub posts: Vec<usize>,
    /// Contract limits.
    pub contract: Contract,
    /// Weekdays never worked.
    pub days_off: Vec<Weekday>,
    /// Approved leave inside the period. Invariant: no two on the same date.
    pub leave: Vec<ApprovedLeave>,
    /// Leave and compensatory days already taken outside the period, per (year, month) it
    /// touches: each month's cap counts them (a period across a month end has two).
    pub leave_taken: BTreeMap<(i32, u32), u32>,
    /// Compensatory days asked for: granted when the monthly cap and coverage allow.
    pub requests: Vec<NaiveDate>,
    /// Weighted soft wishes.
    pub preferences: Vec<Preference>,
    /// The post of the first rotation week, when the supervisor fixes it.
    pub rotation_start: Option<usize>,
}

impl Staff {
    /// Leave and compensatory days taken outside the period in this (year, month).
    pub fn taken_in(&self, month: (i32, u32)) -> u32 {
        self.leave_taken.get(&month).copied().unwrap_or(0)
    }

    /// Approved leave on `date`, if any.
    pub fn leave_on(&self, date: NaiveDate) -> Option<LeaveKind> {
        self.leave.iter().find(|l| l.date == date).map(|l| l.kind)
    }

    /// Whether the person can be rostered on `date` at all (no leave, not a fixed day off).
    pub fn available_on(&self, date: NaiveDate) -> bool {
        self.leave_on(date).is_none() && !self.days_off.contains(&date.weekday())
    }

    /// Whether one of the person's roles may work the template.
    pub fn may_work(&self, shift: &ShiftTemplate) -> bool {
        shift.roles.iter().any(|r| self.roles.contains(r))
    }
}

/// The lunch rule of seed 004 日工作流程 item 4.
#[derive(Clone, Debug)]
pub struct LunchRule {
    /// Window for lunch turns, minutes after midnight (11:45–13:00 in the seed).
    pub window: (u32, u32),
    /// Seasonal windows that replace `window` (summer 12:00–14:00).
    pub by_season: Vec<(usize, (u32, u32))>,
    /// Length of one turn in minutes (30 in the seed). Invariant: a multiple of the slot.
    pub length: u32,
    /// Posts (indices) where at most half the staff on duty lunch together at every moment, not
    /// only while the post has a minimum (四名接待员同时上班时，不能三人同时就餐).
    pub share_always: Vec<usize>,
}

/// At least `min` different people with `role` on duty each day (每天安排至少2个客服人员值班).
#[derive(Clone, Debug)]
pub struct DailyMinimum {
    /// The role counted. Invariant: in the team's catalogue.
    pub role: String,
    /// People wanted; each person counts once a day, whatever shift they work.
    pub min: u32,
    /// Only shifts at these posts (indices) count; every post when empty.
    pub posts: Vec<usize>,
    /// Day types on which the rule applies.
    pub day_types: Vec<DayType>,
}

/// Night duty by named roles, whatever template reaches into the night (夜间值班由水电维修员负责).
#[derive(Clone, Debug)]
pub struct NightRule {
    /// Start of the night, minutes after midnight.
    pub from: u32,
    /// End of the night, minutes after the same midnight; past `DAY_MINUTES` when it wraps.
    /// Invariant: `from < to <= from + DAY_MINUTES`.
    pub to: u32,
    /// Roles that may be at work during the night. Invariant: at least one, in the catalogue.
    pub roles: Vec<String>,
}

impl NightRule {
    /// Whether a shift `[start, end)` (minutes after its own day's midnight) is at work during
    /// any night: that night, the one before or the one after.
    pub fn reached_by(&self, start: u32, end: u32) -> bool {
        [0, DAY_MINUTES, 2 * DAY_MINUTES].iter().any(|&shift| {
            // Compare with the windows one day either side, everything moved a day later so
            // nothing goes negative.
            let (s, e) = (start + DAY_MINUTES, end + DAY_MINUTES);
            s < self.to + shift && self.from + shift < e
        })
    }
}

/// Objective weights: hard-rule slacks are large so that any breach is a last resort.
#[derive(Clone, Debug)]
pub struct Weights {
    /// Per missing person per slot below a post's minimum or the centre's minimum on duty.
    pub coverage: f64,
    /// Per missing contract hour.
    pub hours: f64,
    /// Per missing person per slot below a post's desired staffing.
    pub desired: f64,
    /// Per refused compensatory-day request.
    pub refused_request: f64,
    /// Per night or weekend day between the most and the least loaded person.
    pub fairness: f64,
    /// Per paid hour rostered: prefers no more shifts than needed.
    pub paid_hour: f64,
}

/// Every configurable rule (DOMAIN.md "The duty roster").
#[derive(Clone, Debug)]
pub struct Rules {
    /// At least this many people on duty at every moment (任何情况下至少有一人值守).
    pub min_on_duty: u32,
    /// When the duty day starts: the 24-hour rule applies from this time on the first day to the
    /// same time after the last day, since nights before the period are outside the roster.
    pub duty_day_start: u32,
    /// Lunch turns.
    pub lunch: LunchRule,
    /// Most leave plus compensatory days per person per calendar month (4 in seed 003).
    pub max_leave_per_month: u32,
    /// Contract hours a leave day stands for when checking the weekly minimum.
    pub leave_day_hours: f64,
    /// Minutes staff arrive before their shift for handover (提前15分钟到岗).
    pub handover_minutes: u32,
    /// Per post, the posts of its handover chain, itself included (night duty hands over to the
    /// morning desk): their staff may relieve its leavers, and while one of them is open a leaver
    /// must be relieved. Just the post itself when it is in no chain.
    pub handover_posts: Vec<Vec<usize>>,
    /// People of a role on duty each day.
    pub daily: Vec<DailyMinimum>,
    /// Who may work at night, whatever the template.
    pub night: Option<NightRule>,
    /// Groups of two posts whose staff swap weekly (东、西门一周轮换一次).
    pub rotations: Vec<[usize; 2]>,
    /// Objective weights.
    pub weights: Weights,
}

/// The whole problem. Built only by `input::parse_team`, which enforces every invariant.
#[derive(Clone, Debug)]
pub struct RosterProblem {
    /// Team or centre name.
    pub name: String,
    /// The period's dates. Invariant: consecutive, at least one.
    pub days: Vec<NaiveDate>,
    /// Grid step in minutes. Invariant: 15 or 30.
    pub slot_minutes: u32,
    /// Public holidays, treated as Sundays.
    pub holidays: BTreeSet<NaiveDate>,
    /// Weekend days worked to make up for a holiday (调休上班), treated as weekdays.
    /// Invariant: disjoint from `holidays`.
    pub working_days: BTreeSet<NaiveDate>,
    /// Seasonal timetables.
    pub seasons: Vec<Season>,
    /// Posts.
    pub posts: Vec<Post>,
    /// Shift templates.
    pub shifts: Vec<ShiftTemplate>,
    /// The team.
    pub staff: Vec<Staff>,
    /// Rules.
    pub rules: Rules,
    /// What the team file says but probably does not mean (staff who can work nothing, posts no
    /// one can work), for every output to show.
    pub warnings: Vec<crate::error::InputWarning>,
}

/// Staffing wanted at one post in one slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Demand {
    /// Hard minimum.
    pub min: u32,
    /// Soft target.
    pub desired: u32,
}

impl RosterProblem {
    /// Slots per day on the grid.
    pub fn slots_per_day(&self) -> usize {
        (DAY_MINUTES / self.slot_minutes) as usize
    }

    /// Slots in the horizon: the period plus one day for nights that end after it.
    pub fn n_slots(&self) -> usize {
        (self.days.len() + 1) * self.slots_per_day()
    }

    /// Day type of a date: holidays count as Sundays, working weekend days as weekdays.
    pub fn day_type(&self, date: NaiveDate) -> DayType {
        if self.holidays.contains(&date) {
            return DayType::Sunday;
        }
        if self.working_days.contains(&date) {
            return DayType::Weekday;
        }
        match date.weekday() {
            Weekday::Sat => DayType::Saturday,
            Weekday::Sun => DayType::Sunday,
            _ => DayType::Weekday,
        }
    }

    /// Index of the first season containing `date`.
    pub fn season_of(&self, date: NaiveDate) -> Option<usize> {
        self.seasons.iter().position(|s| s.contains(date))
    }

    /// Lunch window in force on `date` (the seasonal one when there is one).
    pub fn lunch_window(&self, date: NaiveDate) -> (u32, u32) {
        let season = self.season_of(date);
        self.rules.lunch.by_season.iter().find(|(s, _)| Some(*s) == season).map_or(self.rules.lunch.window, |(_, w)| *w)
    }

    /// Minute of the horizon (from midnight before the first day) at which `day_idx` starts.
    pub fn day_origin(&self, day_idx: usize) -> u32 {
        day_idx as u32 * DAY_MINUTES
    }

    /// Index of `date` in the period.
    pub fn day_index(&self, date: NaiveDate) -> Option<usize> {
        let offset = (date - *self.days.first()?).num_days();
        usize::try_from(offset).ok().filter(|i| *i < self.days.len())
    }

    /// Per-slot demand of a post over the horizon.
    pub fn post_demand(&self, post_idx: usize) -> Vec<Demand> {
        let mut demand = vec![Demand::default(); self.n_slots()];
        for (day_idx, &date) in self.days.iter().enumerate() {
            let day_type = self.day_type(date);
            let season = self.season_of(date);
            // A seasonal timetable replaces the default one for the day types it names.
            let applies = |need: &&Need| need.day_types.contains(&day_type);
            let seasonal = |need: &&Need| need.season.is_some() && need.season == season;
            let needs = &self.posts[post_idx].needs;
            let use_seasonal = needs.iter().filter(applies).any(|n| seasonal(&n));
            for need in needs.iter().filter(applies) {
                if if use_seasonal { !seasonal(&need) } else { need.season.is_some() } {
                    continue;
                }
                let origin = self.day_origin(day_idx);
                for slot in self.slot_range(origin + need.from, origin + need.to) {
                    demand[slot].min = demand[slot].min.max(need.min);
                    demand[slot].desired = demand[slot].desired.max(need.desired);
                }
            }
        }
        demand
    }

    /// Slots covered by the horizon minutes `[from, to)`. Both on the grid.
    pub fn slot_range(&self, from: u32, to: u32) -> std::ops::Range<usize> {
        (from / self.slot_minutes) as usize..(to / self.slot_minutes) as usize
    }

    /// Slots over which the 24-hour minimum on duty applies.
    pub fn on_duty_slots(&self) -> std::ops::Range<usize> {
        let start = self.rules.duty_day_start;
        self.slot_range(start, self.day_origin(self.days.len()) + start)
    }

    /// Whether the night rule keeps this person off this template: it reaches into the night
    /// and the person has none of the night's roles.
    pub fn night_bars(&self, staff: &Staff, shift: &ShiftTemplate) -> bool {
        self.rules.night.as_ref().is_some_and(|night| {
            night.reached_by(shift.start, shift.end) && !night.roles.iter().any(|r| staff.roles.contains(r))
        })
    }

    /// Whether the template may be worked on this date.
    pub fn shift_runs_on(&self, shift: &ShiftTemplate, date: NaiveDate) -> bool {
        shift.day_types.contains(&self.day_type(date))
    }

    /// Index of the calendar week (Monday to Sunday) of a period day, counted from the first.
    pub fn week_of(&self, day_idx: usize) -> usize {
        let first = self.days[0];
        let offset = first.weekday().num_days_from_monday() as usize;
        (day_idx + offset) / 7
    }

    /// Number of calendar weeks the period touches.
    pub fn n_weeks(&self) -> usize {
        self.week_of(self.days.len() - 1) + 1
    }
}

/// Formats minutes after midnight as `HH:MM`, wrapping past midnight.
pub fn clock(minutes: u32) -> String {
    let m = minutes % DAY_MINUTES;
    format!("{:02}:{:02}", m / 60, m % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::parse_team;

    const TEAM: &str = r#"
name = "calendar"
roles = ["maintenance"]
[period]
start = "2026-06-26"
end = "2026-07-06"
slot_minutes = 30
holidays = ["2026-06-29"]
[[seasons]]
id = "summer"
from = "07-01"
to = "08-31"
[[seasons]]
id = "winter"
from = "12-01"
to = "02-28"
[rules]
lunch = { window = ["11:30", "13:00"], length_minutes = 30, by_season = [{ season = "summer", window = ["12:00", "14:00"] }] }
[[posts]]
id = "night"
need = [
  { days = ["weekday", "saturday", "sunday"], from = "17:30", to = "08:00", min = 1 },
  { days = ["weekday"], season = "summer", from = "18:00", to = "08:30", min = 2 },
]
[[shifts]]
id = "N"
start = "17:30"
end = "08:30"
roles = ["maintenance"]
[[staff]]
id = "a"
roles = ["maintenance"]
posts = ["night"]
"#;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn holidays_count_as_sundays() {
        let problem = parse_team(TEAM).expect("parses");
        assert_eq!(problem.day_type(date("2026-06-27")), DayType::Saturday);
        assert_eq!(problem.day_type(date("2026-06-28")), DayType::Sunday);
        assert_eq!(problem.day_type(date("2026-06-29")), DayType::Sunday, "a Monday holiday");
        assert_eq!(problem.day_type(date("2026-06-30")), DayType::Weekday);
    }

    #[test]
    fn seasons_may_wrap_past_new_year() {
        let problem = parse_team(TEAM).expect("parses");
        let winter = &problem.seasons[1];
        assert!(winter.contains(date("2026-12-24")) && winter.contains(date("2027-01-15")));
        assert!(!winter.contains(date("2026-03-01")));
        assert_eq!(problem.season_of(date("2026-07-01")), Some(0));
        assert_eq!(problem.season_of(date("2026-06-30")), None);
    }

    #[test]
    fn the_summer_timetable_replaces_the_default_one_for_its_day_types() {
        let problem = parse_team(TEAM).expect("parses");
        let demand = problem.post_demand(0);
        let at = |day_idx: usize, hh: u32, mm: u32| {
            demand[((day_idx as u32 * DAY_MINUTES + hh * 60 + mm) / 30) as usize].min
        };
        // Tue 30 June (day 4): default 17:30–08:00.
        assert_eq!((at(4, 17, 30), at(5, 7, 30), at(5, 8, 0)), (1, 1, 0));
        // Wed 1 July (day 5): summer weekday 18:00–08:30 with two people.
        assert_eq!((at(5, 17, 30), at(5, 18, 0), at(6, 8, 0), at(6, 8, 30)), (0, 2, 2, 0));
        // Sat 4 July (day 8): summer, but the summer window names weekdays only.
        assert_eq!((at(8, 17, 30), at(9, 7, 30)), (1, 1));
        assert_eq!(problem.lunch_window(date("2026-06-30")), (690, 780));
        assert_eq!(problem.lunch_window(date("2026-07-01")), (720, 840));
    }

    #[test]
    fn weeks_run_monday_to_sunday() {
        let problem = parse_team(TEAM).expect("parses");
        // Fri 26 June is in week 0; Mon 29 June starts week 1; Mon 6 July week 2.
        assert_eq!((problem.week_of(0), problem.week_of(2), problem.week_of(3), problem.week_of(10)), (0, 0, 1, 2));
        assert_eq!(problem.n_weeks(), 3);
    }
}
