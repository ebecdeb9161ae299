//! Why a post is short at some time: each person who holds the post is tried in the roster, and
//! the rule that keeps them off is named (at lunch, leave, a fixed day off, no role, another shift,
//! rest, days in a row, weekly hours, rotation), so a shortfall says its real cause instead of a
//! fixed phrase. Someone whom no rule keeps off is reported as free: the search stopped before
//! it used them, or a rule about others (handover, lunch turns) did.
//!
//! Leaves out: finding the shortfall (`validate`) and merging it into ranges (`explain`).

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{DAY_MINUTES, LeaveKind, RosterProblem};
use crate::roster::{Assignment, Roster};
use crate::validate::week_hours;
use crate::words::Words;

/// What keeps one person off a post at a time, from the least to the most permissive: a person
/// with several shifts that could reach the time gets the most permissive of their reasons, and
/// the most permissive are reported first (those nearest to having worked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Reason {
    NoRole,
    NightRole,
    Leave,
    Compensatory,
    DayOff,
    OtherShift,
    Rest,
    Consecutive,
    Hours,
    Rotation,
    Free,
}

impl Reason {
    /// English and Chinese.
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Reason::Leave => ("on leave", "请假"),
            Reason::Compensatory => ("on a compensatory day", "调休"),
            Reason::DayOff => ("on a fixed day off", "固定休息日"),
            Reason::NoRole => ("no role for a shift there", "没有可在此上班的角色"),
            Reason::NightRole => ("not of a night role", "不是夜间角色"),
            Reason::OtherShift => ("working another shift or post", "在上其他班次或岗位"),
            Reason::Rest => ("would rest too little", "会休息不足"),
            Reason::Consecutive => ("would work too many days in a row", "会连续上班过多天"),
            Reason::Hours => ("would pass the weekly hours", "会超过每周工时"),
            Reason::Rotation => ("on the rotation's other post that week", "当周轮换在另一岗位"),
            Reason::Free => ("free but not rostered", "有空但未排班"),
        }
    }
}

/// The causes of a shortfall, in words.
pub(crate) struct Causes {
    /// Nobody could have been there: everyone who holds the post is absent or lacks a role.
    pub nobody_available: bool,
    /// How many are at lunch, and per rule who it keeps off: "1 at lunch; on leave: guo".
    pub words: Words,
}

/// The causes of a shortfall at `post` in horizon minutes `[from, to)`: how many of the post's
/// staff are at lunch then, and per rule who it keeps off.
pub(crate) fn shortfall_causes(problem: &RosterProblem, roster: &Roster, post: usize, from: u32, to: u32) -> Causes {
    let mut parts = Vec::new();
    let eating = roster
        .assignments
        .iter()
        .filter(|a| a.post == post && a.lunch.is_some_and(|(s, e)| s < to && from < e))
        .count();
    if eating > 0 {
        parts.push(Words::new(format!("{eating} at lunch"), format!("{eating} 人在午餐")));
    }
    let mut kept: BTreeMap<Reason, Vec<&str>> = BTreeMap::new();
    let mut holders = 0;
    for (staff_idx, staff) in problem.staff.iter().enumerate() {
        if !staff.posts.contains(&post) || on_post(roster, staff_idx, post, from, to) {
            continue;
        }
        holders += 1;
        if let Some(reason) = keeps_off(problem, roster, staff_idx, post, from, to) {
            kept.entry(reason).or_default().push(&staff.id);
        }
    }
    let nobody_available = eating == 0 && !kept.is_empty() && kept.keys().all(|r| *r <= Reason::DayOff);
    for (reason, ids) in kept.into_iter().rev() {
        let shown: Vec<&str> = ids.iter().take(4).copied().collect();
        let hidden = ids.len() - shown.len();
        let (more_en, more_zh) = if hidden > 0 {
            (format!(" and {hidden} more"), format!(" 等另 {hidden} 人"))
        } else {
            Default::default()
        };
        let (en, zh) = reason.words();
        parts.push(Words::new(
            format!("{en}: {}{more_en}", shown.join(", ")),
            format!("{zh}：{}{more_zh}", shown.join("、")),
        ));
    }
    if parts.is_empty() && holders > 0 {
        parts.push(Words::new(
            "no shift template at the post covers this time".to_owned(),
            "岗位没有覆盖这段时间的班次模板".to_owned(),
        ));
    } else if parts.is_empty() {
        let post = &problem.posts[post].id;
        parts.push(Words::new(format!("nobody holds {post}"), format!("没有人能上 {post}")));
    }
    Causes { nobody_available, words: Words::join(&parts) }
}

/// Whether the person already works at the post at some moment of `[from, to)`.
fn on_post(roster: &Roster, staff_idx: usize, post: usize, from: u32, to: u32) -> bool {
    roster.assignments.iter().any(|a| a.staff == staff_idx && a.post == post && a.start < to && from < a.end)
}

/// The rule keeping the person off the post in `[from, to)`; `None` when no template at the post
/// reaches that time at all. Of several shifts that could reach it, the most permissive answer
/// is given (free if any of them would be).
fn keeps_off(
    problem: &RosterProblem,
    roster: &Roster,
    staff_idx: usize,
    post: usize,
    from: u32,
    to: u32,
) -> Option<Reason> {
    let staff = &problem.staff[staff_idx];
    let first_day = (from / DAY_MINUTES) as usize;
    let mut reasons = BTreeSet::new();
    for day in first_day.saturating_sub(1)..=first_day.min(problem.days.len().saturating_sub(1)) {
        let date = problem.days[day];
        let origin = problem.day_origin(day);
        for shift in problem.shifts.iter().filter(|t| t.posts.contains(&post) && problem.shift_runs_on(t, date)) {
            let (start, end) = (origin + shift.start, origin + shift.end);
            if !(start < to && from < end) {
                continue;
            }
            let reason = if !staff.may_work(shift) {
                Reason::NoRole
            } else if problem.night_bars(staff, shift) {
                Reason::NightRole
            } else {
                blocker(problem, roster, staff_idx, day, post, (start, end), shift.paid_minutes).unwrap_or(Reason::Free)
            };
            reasons.insert(reason);
        }
    }
    reasons.last().copied()
}

/// The first rule that adding this shift to the person's roster would break, if any.
fn blocker(
    problem: &RosterProblem,
    roster: &Roster,
    staff_idx: usize,
    day: usize,
    post: usize,
    (start, end): (u32, u32),
    paid_minutes: u32,
) -> Option<Reason> {
    let staff = &problem.staff[staff_idx];
    let date = problem.days[day];
    match staff.leave_on(date) {
        Some(LeaveKind::Leave) => return Some(Reason::Leave),
        Some(_) => return Some(Reason::Compensatory),
        None => {}
    }
    if roster.days_off.iter().any(|o| o.staff == staff_idx && o.day == day && o.kind == LeaveKind::Compensatory) {
        return Some(Reason::Compensatory);
    }
    if staff.days_off.contains(&chrono::Datelike::weekday(&date)) {
        return Some(Reason::DayOff);
    }
    let mine: Vec<&Assignment> = roster.assignments.iter().filter(|a| a.staff == staff_idx).collect();
    if mine.iter().any(|a| a.day == day) {
        return Some(Reason::OtherShift);
    }
    let handover = problem.rules.handover_minutes;
    let rest = staff.contract.min_rest_minutes;
    let too_close = |earlier_end: u32, later_start: u32| (later_start.saturating_sub(handover)) < earlier_end + rest;
    if mine.iter().any(|a| if a.end <= start { too_close(a.end, start) } else { too_close(end, a.start) }) {
        return Some(Reason::Rest);
    }
    let worked: BTreeSet<usize> = mine.iter().map(|a| a.day).chain([day]).collect();
    let before = (0..day).rev().take_while(|d| worked.contains(d)).count();
    let after = (day + 1..problem.days.len()).take_while(|d| worked.contains(d)).count();
    if before + 1 + after > staff.contract.max_consecutive_days as usize {
        return Some(Reason::Consecutive);
    }
    let week = problem.week_of(day);
    let bounds = week_hours(problem, staff, week);
    let paid: u32 =
        mine.iter().filter(|a| bounds.days.contains(&a.day)).map(|a| problem.shifts[a.shift].paid_minutes).sum();
    if f64::from(paid + paid_minutes) / 60.0 > bounds.max + 0.01 {
        return Some(Reason::Hours);
    }
    let other_rotation_post = problem.rules.rotations.iter().find_map(|&[a, b]| match post {
        p if p == a => Some(b),
        p if p == b => Some(a),
        _ => None,
    });
    if let Some(other) = other_rotation_post
        && mine.iter().any(|a| a.post == other && problem.week_of(a.day) == week)
    {
        return Some(Reason::Rotation);
    }
    None
}
