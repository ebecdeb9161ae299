//! The edge: the JSON output contract (serializable twins of the domain types, converted by
//! hand), reading a roster back from that JSON for the checker, and the terminal grid: one table
//! per calendar week, by person or by post, so that it fits a terminal.
//!
//! Leaves out: deciding anything; every function here is a translation. The files a centre
//! opens (CSV, XLSX, iCal) are in `export`.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{NaiveDate, NaiveDateTime};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde::{Deserialize, Serialize};

use crate::Violation;
use crate::export::{Cell, Lang, cells, weeks};
use crate::model::{DAY_MINUTES, LeaveKind, RosterProblem, clock};
use crate::roster::{Assignment, DayOff, Roster};
use crate::validate::horizon_time;
use crate::{SolveError, SolveOutcome, Status};

/// The JSON object `kefu roster solve --json` prints. Field names and order are the contract.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct OutcomeJson {
    /// optimal | feasible | infeasible | time_limit
    pub status: String,
    /// Objective value (null when there is no roster).
    pub objective: Option<f64>,
    /// Best bound.
    pub bound: Option<f64>,
    /// Relative gap.
    pub gap: Option<f64>,
    /// Seconds spent.
    pub solve_seconds: f64,
    /// Shifts, in team-file staff order, then by date.
    pub assignments: Vec<AssignmentJson>,
    /// Days not worked, in team-file staff order, then by date.
    pub leave: Vec<LeaveJson>,
    /// Broken hard rules.
    pub violations: Vec<ViolationJson>,
    /// What the team file says but probably does not mean, each with its line, column and entry.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One shift in the JSON contract.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct AssignmentJson {
    /// Staff id.
    pub staff: String,
    /// YYYY-MM-DD the shift starts on.
    pub date: String,
    /// Template id.
    pub shift: String,
    /// Post id.
    pub post: String,
    /// YYYY-MM-DDTHH:MM.
    pub start: String,
    /// YYYY-MM-DDTHH:MM.
    pub end: String,
    /// Lunch turn, or null.
    pub lunch: Option<LunchJson>,
}

/// A lunch turn in the JSON contract.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct LunchJson {
    /// YYYY-MM-DDTHH:MM.
    pub start: String,
    /// YYYY-MM-DDTHH:MM.
    pub end: String,
}

/// A day not worked in the JSON contract.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct LeaveJson {
    /// Staff id.
    pub staff: String,
    /// YYYY-MM-DD.
    pub date: String,
    /// leave | compensatory | day_off
    pub kind: String,
}

/// A violation in the JSON contract.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ViolationJson {
    /// Rule id.
    pub rule: String,
    /// Date/time or staff id.
    pub at: String,
    /// Plain words, in English.
    pub detail: String,
    /// The same in Chinese; absent from rosters stored before it was added, which show `detail`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail_zh: String,
}

impl ViolationJson {
    /// The JSON twin of a violation.
    pub fn of(violation: &Violation) -> ViolationJson {
        ViolationJson {
            rule: violation.rule.id().to_owned(),
            at: violation.at.clone(),
            detail: violation.detail.en.clone(),
            detail_zh: violation.detail.zh.clone(),
        }
    }

    /// The words in `lang`; English for a roster stored before the Chinese was kept.
    pub fn detail_in(&self, lang: Lang) -> &str {
        if lang == Lang::Zh && !self.detail_zh.is_empty() { &self.detail_zh } else { &self.detail }
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn kind_id(kind: LeaveKind) -> &'static str {
    match kind {
        LeaveKind::Leave => "leave",
        LeaveKind::Compensatory => "compensatory",
        LeaveKind::DayOff => "day_off",
    }
}

/// Converts an outcome to its JSON twin.
pub fn outcome_json(problem: &RosterProblem, outcome: &SolveOutcome) -> OutcomeJson {
    let p = problem;
    OutcomeJson {
        status: outcome.status.id().to_owned(),
        objective: finite(outcome.objective),
        bound: finite(outcome.bound),
        gap: finite(outcome.gap),
        solve_seconds: (outcome.solve_seconds * 1000.0).round() / 1000.0,
        assignments: outcome
            .roster
            .assignments
            .iter()
            .map(|a| AssignmentJson {
                staff: p.staff[a.staff].id.clone(),
                date: p.days[a.day].to_string(),
                shift: p.shifts[a.shift].id.clone(),
                post: p.posts[a.post].id.clone(),
                start: horizon_time(p, a.start),
                end: horizon_time(p, a.end),
                lunch: a.lunch.map(|(s, e)| LunchJson { start: horizon_time(p, s), end: horizon_time(p, e) }),
            })
            .collect(),
        leave: outcome
            .roster
            .days_off
            .iter()
            .map(|d| LeaveJson {
                staff: p.staff[d.staff].id.clone(),
                date: p.days[d.day].to_string(),
                kind: kind_id(d.kind).to_owned(),
            })
            .collect(),
        violations: outcome.violations.iter().map(ViolationJson::of).collect(),
        warnings: p.warnings.iter().map(ToString::to_string).collect(),
    }
}

/// The part of the JSON contract the checker needs; other fields are ignored.
#[derive(Deserialize)]
struct RosterFileJson {
    assignments: Vec<AssignmentJson>,
    #[serde(default)]
    leave: Vec<LeaveJson>,
}

/// Reads a roster back from the JSON contract, resolving ids against the team.
pub fn read_roster_json(problem: &RosterProblem, text: &str) -> Result<Roster, SolveError> {
    let file: RosterFileJson = serde_json::from_str(text).map_err(|e| SolveError::RosterFile(e.to_string()))?;
    let index = |what: &str, ids: Vec<&String>, id: &str| {
        ids.iter().position(|x| *x == id).ok_or_else(|| SolveError::RosterFile(format!("unknown {what} `{id}`")))
    };
    let staff_ids: Vec<&String> = problem.staff.iter().map(|s| &s.id).collect();
    let day = |text: &str| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| problem.day_index(d))
            .ok_or_else(|| SolveError::RosterFile(format!("date `{text}` is not a day of the period")))
    };
    let minute = |text: &str| {
        let at = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
            .map_err(|_| SolveError::RosterFile(format!("bad time `{text}`, expected YYYY-MM-DDTHH:MM")))?;
        let minutes = (at - problem.days[0].and_hms_opt(0, 0, 0).unwrap_or_default()).num_minutes();
        u32::try_from(minutes).map_err(|_| SolveError::RosterFile(format!("time `{text}` is before the period")))
    };
    let mut roster = Roster::default();
    for a in &file.assignments {
        let lunch = match &a.lunch {
            Some(l) => Some((minute(&l.start)?, minute(&l.end)?)),
            None => None,
        };
        let (start, end) = (minute(&a.start)?, minute(&a.end)?);
        if end <= start {
            return Err(SolveError::RosterFile(format!(
                "assignment of `{}` on {} ends before it starts",
                a.staff, a.date
            )));
        }
        roster.assignments.push(Assignment {
            staff: index("staff", staff_ids.clone(), &a.staff)?,
            day: day(&a.date)?,
            shift: index("shift", problem.shifts.iter().map(|s| &s.id).collect(), &a.shift)?,
            post: index("post", problem.posts.iter().map(|p| &p.id).collect(), &a.post)?,
            start,
            end,
            lunch,
        });
    }
    for l in &file.leave {
        let kind = match l.kind.as_str() {
            "leave" => LeaveKind::Leave,
            "compensatory" => LeaveKind::Compensatory,
            "day_off" => LeaveKind::DayOff,
            other => return Err(SolveError::RosterFile(format!("unknown leave kind `{other}`"))),
        };
        roster.days_off.push(DayOff { staff: index("staff", staff_ids.clone(), &l.staff)?, day: day(&l.date)?, kind });
    }
    roster.sort();
    Ok(roster)
}

/// The outcome in one sentence a supervisor can act on: whether the rules are met, and if not,
/// whether they cannot be (infeasible) or the search ran out of time (more time may help).
pub fn verdict(outcome: &SolveOutcome) -> String {
    let breaches = outcome.violations.len();
    match outcome.status {
        Status::Optimal => format!(
            "optimal: every hard rule is met, and the roster is proven within {:.2} % of the best possible",
            outcome.gap * 100.0
        ),
        Status::Feasible => format!(
            "feasible: every hard rule is met; the limit stopped the proof with the roster within {:.2} % of the best possible",
            outcome.gap * 100.0
        ),
        Status::Infeasible => {
            format!("infeasible: no roster can meet every hard rule (proven); this one breaks {breaches}, listed below")
        }
        Status::TimeLimit => format!(
            "time_limit: no roster meeting every hard rule was found in time, and none was proven impossible; \
             more time (--time-limit) may find one. The best attempt breaks {breaches}, listed below"
        ),
    }
}

/// Rows of the terminal grid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GridView {
    /// A row per person: shift, post and lunch turn per day.
    #[default]
    Person,
    /// A row per post: who works there each day, with their shift.
    Post,
}

/// The roster as text: the verdict, one table per calendar week (seven day columns at most, so
/// it fits a terminal), warnings, the coverage summary and the violations.
pub fn render_grid(problem: &RosterProblem, outcome: &SolveOutcome, view: GridView, lang: Lang) -> String {
    let p = problem;
    let cells = cells(p, &outcome.roster, lang);
    let mut tables = String::new();
    for days in weeks(p) {
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled);
        let first = match view {
            GridView::Person => lang.staff().to_owned(),
            GridView::Post => lang.post().to_owned(),
        };
        table.set_header(std::iter::once(first).chain(days.iter().map(|&d| lang.day(p.days[d]))));
        match view {
            GridView::Person => {
                for (staff_idx, staff) in p.staff.iter().enumerate() {
                    let row = days.iter().map(|&d| cells.get(&(staff_idx, d)).map(grid_cell).unwrap_or_default());
                    table.add_row(std::iter::once(staff.id.clone()).chain(row));
                }
            }
            GridView::Post => {
                for (post_idx, post) in p.posts.iter().enumerate() {
                    let row = days.iter().map(|&d| {
                        let mut here: Vec<&Assignment> =
                            outcome.roster.assignments.iter().filter(|a| a.post == post_idx && a.day == d).collect();
                        here.sort_by_key(|a| (a.start, a.staff));
                        let names: Vec<String> =
                            here.iter().map(|a| format!("{} {}", p.shifts[a.shift].id, p.staff[a.staff].id)).collect();
                        names.join("\n")
                    });
                    table.add_row(std::iter::once(post.id.clone()).chain(row));
                }
            }
        }
        let _ = writeln!(tables, "{table}");
    }
    // The empty roster of a search that found nothing has neither objective nor gap.
    let figures = if outcome.objective.is_finite() {
        format!("objective {:.2}, gap {:.2} %, ", outcome.objective, outcome.gap * 100.0)
    } else {
        String::new()
    };
    let mut text = format!(
        "{}: {} ({figures}{:.1} s)\n{}\n{tables}",
        p.name,
        outcome.status.id(),
        outcome.solve_seconds,
        verdict(outcome)
    );
    for warning in &p.warnings {
        let _ = writeln!(text, "warning: {warning}");
    }
    text.push_str(&coverage_summary(p, &outcome.roster, lang));
    if outcome.violations.is_empty() {
        text.push_str("every hard rule is met\n");
    } else {
        text.push_str("violations:\n");
        for v in &outcome.violations {
            let _ = writeln!(text, "  [{}] {}", v.rule.id(), v.detail.get(lang));
        }
    }
    text
}

/// Per post and day, runs of equal staffing as `HH:MM–HH:MM present/min`.
pub fn coverage_summary(problem: &RosterProblem, roster: &Roster, lang: Lang) -> String {
    let p = problem;
    let mut present: HashMap<(usize, usize), u32> = HashMap::new();
    for a in &roster.assignments {
        for slot in p.slot_range(a.start, a.end) {
            *present.entry((a.post, slot)).or_default() += 1;
        }
        if let Some((s, e)) = a.lunch {
            for slot in p.slot_range(s, e) {
                *present.entry((a.post, slot)).or_default() -= 1;
            }
        }
    }
    let mut text = String::from("coverage (present/min):\n");
    let per_day = p.slots_per_day();
    for (post_idx, post) in p.posts.iter().enumerate() {
        let demand = p.post_demand(post_idx);
        let _ = writeln!(text, "  {}", post.name);
        for (day_idx, date) in p.days.iter().enumerate() {
            let mut runs: Vec<(usize, usize, u32, u32)> = Vec::new();
            let day_slots = day_idx * per_day..(day_idx + 1) * per_day;
            for (slot, need) in day_slots.clone().zip(&demand[day_slots]) {
                let key = (present.get(&(post_idx, slot)).copied().unwrap_or(0), need.min);
                match runs.last_mut() {
                    Some(run) if (run.2, run.3) == key => run.1 = slot + 1,
                    _ => runs.push((slot, slot + 1, key.0, key.1)),
                }
            }
            let parts: Vec<String> = runs
                .iter()
                .filter(|r| r.2 > 0 || r.3 > 0)
                .map(|r| {
                    let (from, to) = (r.0 as u32 * p.slot_minutes, r.1 as u32 * p.slot_minutes);
                    format!("{}–{} {}/{}", clock(from), clock(to % DAY_MINUTES), r.2, r.3)
                })
                .collect();
            let _ = writeln!(text, "    {}: {}", lang.day(*date), parts.join(" · "));
        }
    }
    text
}

/// A grid cell on two lines: the work, then the lunch turn.
fn grid_cell(cell: &Cell) -> String {
    match &cell.lunch {
        Some(lunch) => format!("{}\n{lunch}", cell.work),
        None => cell.work.clone(),
    }
}
