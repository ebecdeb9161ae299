//! The independent checker: recomputes every rule from a roster (as read back from the output)
//! and the team file alone, and lists each breach. `kefu roster check` runs it, and the solver
//! runs it on its own result, so `violations` is exactly what this finds.
//!
//! Leaves out on purpose: everything in `milp` and `rules/`. It shares only the calendar of
//! `model` (day types, seasons, demand per slot), so a modelling mistake cannot hide itself.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{DAY_MINUTES, LeaveKind, RosterProblem, clock};
use crate::roster::{Assignment, Roster};
use crate::words::Words;

/// A rule family, with the stable id used in the JSON output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// A post below its minimum staffing.
    Coverage,
    /// The centre below its minimum on duty.
    MinOnDuty,
    /// A lunch turn missing, misplaced, or too many of a post at lunch together.
    Lunch,
    /// Work on a day of approved leave or a fixed day off.
    Leave,
    /// More leave and compensatory days in a calendar month than allowed.
    LeaveCap,
    /// Two shifts for one person on one day.
    OneShiftPerDay,
    /// Too little rest between two shifts.
    Rest,
    /// Too many working days in a row.
    MaxConsecutiveDays,
    /// Weekly paid hours outside the contract.
    WeeklyHours,
    /// Both rotation posts in one week, or the same post two weeks running.
    Rotation,
    /// A shift worked by someone without its role, or at a post they cannot hold or it cannot run at.
    Eligibility,
    /// A post left without a colleague who arrived in time to take over.
    Handover,
    /// Times that do not match the shift template, or a template used on a day type it skips.
    ShiftTemplate,
    /// Fewer people of a role on duty on a day than the daily minimum.
    DailyRole,
    /// Someone without a night role at work during the night.
    NightDuty,
}

impl Rule {
    /// Stable id in the output contract.
    pub fn id(self) -> &'static str {
        match self {
            Rule::Coverage => "coverage",
            Rule::MinOnDuty => "min_on_duty",
            Rule::Lunch => "lunch",
            Rule::Leave => "leave",
            Rule::LeaveCap => "leave_cap",
            Rule::OneShiftPerDay => "one_shift_per_day",
            Rule::Rest => "rest",
            Rule::MaxConsecutiveDays => "max_consecutive_days",
            Rule::WeeklyHours => "weekly_hours",
            Rule::Rotation => "rotation",
            Rule::Eligibility => "eligibility",
            Rule::Handover => "handover",
            Rule::ShiftTemplate => "shift_template",
            Rule::DailyRole => "daily_role",
            Rule::NightDuty => "night_duty",
        }
    }
}

/// One breach of a hard rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Breach {
    /// Too few people in one slot, at a post (`post: Some`) or in the whole centre.
    Shortfall {
        /// Post index, or `None` for the centre-wide minimum on duty.
        post: Option<usize>,
        /// Slot start, horizon minutes.
        slot_start: u32,
        /// Required.
        need: u32,
        /// Present (not at lunch).
        have: u32,
    },
    /// Any other breach, already in words.
    Other {
        /// Rule broken.
        rule: Rule,
        /// Staff id, or the date/time it happened.
        at: String,
        /// Plain words.
        detail: Words,
    },
}

impl Breach {
    /// The rule broken.
    pub fn rule(&self) -> Rule {
        match self {
            Breach::Shortfall { post: Some(_), .. } => Rule::Coverage,
            Breach::Shortfall { post: None, .. } => Rule::MinOnDuty,
            Breach::Other { rule, .. } => *rule,
        }
    }
}

/// Checks every hard rule; an empty list means the roster meets them all.
pub fn validate(problem: &RosterProblem, roster: &Roster) -> Vec<Breach> {
    let checker = Checker { problem, roster };
    let mut breaches = Vec::new();
    checker.eligibility(&mut breaches);
    checker.days(&mut breaches);
    checker.leave_cap(&mut breaches);
    checker.rest_and_consecutive(&mut breaches);
    checker.weekly_hours(&mut breaches);
    checker.rotation(&mut breaches);
    checker.coverage(&mut breaches);
    checker.lunch_share(&mut breaches);
    checker.lunch_relief(&mut breaches);
    checker.handover(&mut breaches);
    checker.daily(&mut breaches);
    breaches
}

struct Checker<'a> {
    problem: &'a RosterProblem,
    roster: &'a Roster,
}

impl Checker<'_> {
    fn other(&self, out: &mut Vec<Breach>, rule: Rule, at: String, detail: Words) {
        out.push(Breach::Other { rule, at, detail });
    }

    fn staff_id(&self, staff_idx: usize) -> String {
        self.problem.staff[staff_idx].id.clone()
    }

    fn describe(&self, a: &Assignment) -> Words {
        let p = self.problem;
        let (staff, shift, post, date) =
            (&p.staff[a.staff].id, &p.shifts[a.shift].id, &p.posts[a.post].id, p.days[a.day]);
        Words::new(
            format!("{staff} works {shift} at {post} on {date}"),
            format!("{staff} {date} 在 {post} 上 {shift} 班"),
        )
    }

    fn eligibility(&self, out: &mut Vec<Breach>) {
        let p = self.problem;
        for a in &self.roster.assignments {
            let (staff, shift) = (&p.staff[a.staff], &p.shifts[a.shift]);
            let origin = p.day_origin(a.day);
            if a.start != origin + shift.start || a.end != origin + shift.end {
                let (from, to) = (clock(shift.start), clock(shift.end));
                let why = Words::new(
                    format!("times differ from the template {from}–{to}"),
                    format!("时间与班次模板 {from}–{to} 不符"),
                );
                self.other(out, Rule::ShiftTemplate, staff.id.clone(), self.describe(a).colon(&why));
            }
            if !p.shift_runs_on(shift, p.days[a.day]) {
                let why = Words::new(
                    format!("{} does not run on that day type", shift.id),
                    format!("{} 班在这类日子不开", shift.id),
                );
                self.other(out, Rule::ShiftTemplate, staff.id.clone(), self.describe(a).colon(&why));
            }
            if !staff.may_work(shift) {
                let why = Words::new(
                    format!("{} is for roles {}", shift.id, shift.roles.join(", ")),
                    format!("{} 班只排角色 {}", shift.id, shift.roles.join("、")),
                );
                self.other(out, Rule::Eligibility, staff.id.clone(), self.describe(a).colon(&why));
            }
            if !staff.posts.contains(&a.post) || !shift.posts.contains(&a.post) {
                let why = Words::new(
                    "not a post this person and shift can hold".to_owned(),
                    "此人或此班次不能在这个岗位".to_owned(),
                );
                self.other(out, Rule::Eligibility, staff.id.clone(), self.describe(a).colon(&why));
            }
            if let Some(night) = &p.rules.night
                && night.reached_by(shift.start, shift.end)
                && !night.roles.iter().any(|r| staff.roles.contains(r))
            {
                let (from, to) = (clock(night.from), clock(night.to));
                let why = Words::new(
                    format!("at work during the night {from}–{to}, which is for roles {}", night.roles.join(", ")),
                    format!("夜间 {from}–{to} 在岗，夜间只排角色 {}", night.roles.join("、")),
                );
                self.other(out, Rule::NightDuty, staff.id.clone(), self.describe(a).colon(&why));
            }
            self.lunch_of(a, out);
        }
    }

    fn lunch_of(&self, a: &Assignment, out: &mut Vec<Breach>) {
        let p = self.problem;
        let shift = &p.shifts[a.shift];
        let origin = p.day_origin(a.day);
        let (from, to) = p.lunch_window(p.days[a.day]);
        let problem = match (shift.lunch, a.lunch) {
            (true, None) => Some(Words::new("has no lunch turn".to_owned(), "没有午餐轮次".to_owned())),
            (false, Some(_)) => Some(Words::new(
                "has a lunch turn its shift does not include".to_owned(),
                "排了班次不含的午餐".to_owned(),
            )),
            (true, Some((start, end))) => {
                let inside = start >= (origin + from).max(a.start) && end <= (origin + to).min(a.end);
                let length = end.saturating_sub(start) == p.rules.lunch.length;
                (!inside || !length).then(|| {
                    let (start, end, from, to) = (clock(start), clock(end), clock(from), clock(to));
                    let minutes = p.rules.lunch.length;
                    Words::new(
                        format!(
                            "lunch {start}–{end} is not one {minutes}-minute turn inside {from}–{to} and the shift"
                        ),
                        format!("午餐 {start}–{end} 不是在 {from}–{to} 内且在班内的一段 {minutes} 分钟"),
                    )
                })
            }
            (false, None) => None,
        };
        if let Some(problem) = problem {
            self.other(out, Rule::Lunch, self.staff_id(a.staff), self.describe(a).colon(&problem));
        }
    }

    fn days(&self, out: &mut Vec<Breach>) {
        let p = self.problem;
        let mut per_day: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for a in &self.roster.assignments {
            *per_day.entry((a.staff, a.day)).or_default() += 1;
            let (staff, date) = (&p.staff[a.staff], p.days[a.day]);
            let id = &staff.id;
            let day_off = if let Some(kind) = staff.leave_on(date) {
                Some(if kind == LeaveKind::Leave {
                    ("a day of approved leave", "已批准的请假")
                } else {
                    ("a day of an approved compensatory day", "已批准的调休")
                })
            } else if staff.days_off.contains(&chrono::Datelike::weekday(&date)) {
                Some(("a fixed day off", "固定休息日"))
            } else {
                None
            };
            if let Some((en, zh)) = day_off {
                let detail =
                    Words::new(format!("{id} works on {date}, {en}"), format!("{id} 在 {date} 上班，当天是{zh}"));
                self.other(out, Rule::Leave, id.clone(), detail);
            }
        }
        for ((staff_idx, day_idx), n) in per_day.into_iter().filter(|(_, n)| *n > 1) {
            let (id, date) = (self.staff_id(staff_idx), p.days[day_idx]);
            let detail =
                Words::new(format!("{id} has {n} shifts starting on {date}"), format!("{id} 在 {date} 有 {n} 个班次"));
            self.other(out, Rule::OneShiftPerDay, id, detail);
        }
    }

    fn leave_cap(&self, out: &mut Vec<Breach>) {
        let p = self.problem;
        let mut off: BTreeMap<(usize, (i32, u32)), BTreeSet<usize>> = BTreeMap::new();
        for d in self.roster.days_off.iter().filter(|d| d.kind != LeaveKind::DayOff) {
            off.entry((d.staff, month(p.days[d.day]))).or_default().insert(d.day);
        }
        for (staff_idx, staff) in p.staff.iter().enumerate() {
            for leave in &staff.leave {
                if let Some(day_idx) = p.day_index(leave.date) {
                    off.entry((staff_idx, month(leave.date))).or_default().insert(day_idx);
                }
            }
            for &taken_month in staff.leave_taken.keys() {
                off.entry((staff_idx, taken_month)).or_default();
            }
        }
        for ((staff_idx, (year, m)), days) in off {
            let staff = &p.staff[staff_idx];
            let taken = staff.taken_in((year, m));
            let total = days.len() as u32 + taken;
            if total > p.rules.max_leave_per_month {
                let (id, cap) = (&staff.id, p.rules.max_leave_per_month);
                let detail = Words::new(
                    format!(
                        "{id} has {total} leave and compensatory days in {year}-{m:02} ({taken} taken before the period), above the cap of {cap}"
                    ),
                    format!(
                        "{id} 在 {year}-{m:02} 有 {total} 天请假和调休（本期之前已休 {taken} 天），超过每月上限 {cap} 天"
                    ),
                );
                self.other(out, Rule::LeaveCap, staff.id.clone(), detail);
            }
        }
    }

    fn rest_and_consecutive(&self, out: &mut Vec<Breach>) {
        let p = self.problem;
        for (staff_idx, staff) in p.staff.iter().enumerate() {
            let mut mine: Vec<&Assignment> = self.roster.assignments.iter().filter(|a| a.staff == staff_idx).collect();
            mine.sort_by_key(|a| a.start);
            for pair in mine.windows(2) {
                let arrival = pair[1].start as i64 - p.rules.handover_minutes as i64;
                let rest = arrival - pair[0].end as i64;
                if rest < staff.contract.min_rest_minutes as i64 {
                    let (id, hours, minutes) = (&staff.id, rest.max(0) / 60, rest.max(0) % 60);
                    let (end, least) = (self.at(pair[0].end), staff.contract.min_rest_minutes as f64 / 60.0);
                    let detail = Words::new(
                        format!(
                            "{id} rests {hours} h {minutes:02} min between the shift ending {end} and the next arrival, below {least} h"
                        ),
                        format!("{id} 在 {end} 下班后到下次到岗只休息 {hours} 小时 {minutes:02} 分，少于 {least} 小时"),
                    );
                    self.other(out, Rule::Rest, staff.id.clone(), detail);
                }
            }
            let worked: BTreeSet<usize> = mine.iter().map(|a| a.day).collect();
            let mut run = 0;
            for day_idx in 0..p.days.len() {
                run = if worked.contains(&day_idx) { run + 1 } else { 0 };
                if run == staff.contract.max_consecutive_days + 1 {
                    let (id, date, most) = (&staff.id, p.days[day_idx], staff.contract.max_consecutive_days);
                    let detail = Words::new(
                        format!("{id} works {run} days in a row up to {date}, above {most}"),
                        format!("{id} 连续上班 {run} 天（到 {date}），超过 {most} 天"),
                    );
                    self.other(out, Rule::MaxConsecutiveDays, staff.id.clone(), detail);
                }
            }
        }
    }

    fn weekly_hours(&self, out: &mut Vec<Breach>) {
        let p = self.problem;
        for (staff_idx, staff) in p.staff.iter().enumerate() {
            for week in 0..p.n_weeks() {
                let WeekHours { days, min: min_hours, max: max_hours } = week_hours(p, staff, week);
                let paid_minutes: u32 = self
                    .roster
                    .assignments
                    .iter()
                    .filter(|a| a.staff == staff_idx && days.contains(&a.day))
                    .map(|a| p.shifts[a.shift].paid_minutes)
                    .sum();
                let hours = paid_minutes as f64 / 60.0;
                let bounds = format!("{min_hours:.1}–{max_hours:.1}");
                // A hundredth of an hour absorbs the solver's integrality tolerance; real breaches
                // are whole grid slots.
                if hours > max_hours + 0.01 || hours < min_hours - 0.01 {
                    let (id, first) = (&staff.id, p.days[days[0]]);
                    let detail = Words::new(
                        format!("{id} is paid {hours:.1} h in the week of {first}, outside the contract's {bounds} h"),
                        format!("{id} 在 {first} 那一周计薪 {hours:.1} 小时，不在合同的 {bounds} 小时之内"),
                    );
                    self.other(out, Rule::WeeklyHours, staff.id.clone(), detail);
                }
            }
        }
    }

    fn rotation(&self, out: &mut Vec<Breach>) {
        let p = self.problem;
        for &[post_a, post_b] in &p.rules.rotations {
            for (staff_idx, staff) in p.staff.iter().enumerate() {
                if !(staff.posts.contains(&post_a) && staff.posts.contains(&post_b)) {
                    continue;
                }
                let mut weeks: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
                for a in self
                    .roster
                    .assignments
                    .iter()
                    .filter(|a| a.staff == staff_idx && (a.post == post_a || a.post == post_b))
                {
                    weeks.entry(p.week_of(a.day)).or_default().insert(a.post);
                }
                // Week w's post is fixed by parity from the first week with a known post.
                let anchor = staff.rotation_start.map(|post| (0, post)).or_else(|| {
                    weeks
                        .iter()
                        .find(|(_, posts)| posts.len() == 1)
                        .map(|(w, posts)| (*w, *posts.first().unwrap_or(&post_a)))
                });
                for (week, posts) in &weeks {
                    let expected = anchor.map(|(w0, post0)| {
                        let other = if post0 == post_a { post_b } else { post_a };
                        if week.abs_diff(w0).is_multiple_of(2) { post0 } else { other }
                    });
                    let wrong = posts.len() > 1 || expected.is_some_and(|e| posts.iter().any(|q| *q != e));
                    if wrong {
                        let names: Vec<&str> = posts.iter().map(|q| p.posts[*q].id.as_str()).collect();
                        let (id, number, a, b) = (&staff.id, week + 1, &p.posts[post_a].id, &p.posts[post_b].id);
                        let detail = Words::new(
                            format!(
                                "{id} works {} in week {number} of the period; {a} and {b} swap weekly",
                                names.join(" and ")
                            ),
                            format!("{id} 在本期第 {number} 周上 {}；{a} 与 {b} 每周轮换", names.join("和")),
                        );
                        self.other(out, Rule::Rotation, staff.id.clone(), detail);
                    }
                }
            }
        }
    }

    /// People at each post in each slot (lunch excluded), and at lunch.
    fn presence(&self) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
        let p = self.problem;
        let mut on_duty = vec![vec![0u32; p.n_slots()]; p.posts.len()];
        let mut at_lunch = vec![vec![0u32; p.n_slots()]; p.posts.len()];
        for a in &self.roster.assignments {
            for slot in p.slot_range(a.start, a.end.min(p.n_slots() as u32 * p.slot_minutes)) {
                on_duty[a.post][slot] += 1;
            }
            if let Some((start, end)) = a.lunch {
                for slot in p.slot_range(start, end) {
                    at_lunch[a.post][slot] += 1;
                }
            }
        }
        (on_duty, at_lunch)
    }

    fn coverage(&self, out: &mut Vec<Breach>) {
        let p = self.problem;
        let (on_duty, at_lunch) = self.presence();
        let present = |post: usize, slot: usize| on_duty[post][slot].saturating_sub(at_lunch[post][slot]);
        for (post, post_on_duty) in on_duty.iter().enumerate() {
            let relieved = p.posts[post].lunch_relief.is_some();
            for (slot, demand) in p.post_demand(post).into_iter().enumerate() {
                let have = present(post, slot);
                // Those at lunch may be stood in for; whether the relief post can is checked by
                // `lunch_relief`.
                let covered = if relieved { post_on_duty[slot] } else { have };
                if covered < demand.min {
                    out.push(Breach::Shortfall {
                        post: Some(post),
                        slot_start: slot as u32 * p.slot_minutes,
                        need: demand.min,
                        have,
                    });
                }
            }
        }
        for slot in p.on_duty_slots() {
            let have: u32 = (0..p.posts.len()).map(|post| present(post, slot)).sum();
            if have < p.rules.min_on_duty {
                out.push(Breach::Shortfall {
                    post: None,
                    slot_start: slot as u32 * p.slot_minutes,
                    need: p.rules.min_on_duty,
                    have,
                });
            }
        }
    }

    fn lunch_share(&self, out: &mut Vec<Breach>) {
        let p = self.problem;
        let (on_duty, at_lunch) = self.presence();
        for post in 0..p.posts.len() {
            for (slot, demand) in p.post_demand(post).into_iter().enumerate() {
                let (n, eating) = (on_duty[post][slot], at_lunch[post][slot]);
                let share = demand.min > 0 || p.rules.lunch.share_always.contains(&post);
                // A stand-in from the relief post lets one more eat, checked by `lunch_relief`.
                let allowed = if p.posts[post].lunch_relief.is_some() { n.div_ceil(2) } else { n / 2 };
                if share && eating > allowed {
                    let name = &p.posts[post].id;
                    let detail = Words::new(
                        format!("{eating} of the {n} staff of {name} are at lunch together, more than {allowed}"),
                        format!("{name} 的 {n} 人中有 {eating} 人同时午餐，多于 {allowed} 人"),
                    );
                    self.other(out, Rule::Lunch, self.at(slot as u32 * p.slot_minutes), detail);
                }
            }
        }
    }

    /// Stand-ins for posts at lunch: a relieved post needs one for each person it is short
    /// while its staff eat, and one for a lone eater beyond the half; the relief post has the
    /// people it holds beyond its own minimum.
    fn lunch_relief(&self, out: &mut Vec<Breach>) {
        let p = self.problem;
        let (on_duty, at_lunch) = self.presence();
        let demand: Vec<_> = (0..p.posts.len()).map(|post| p.post_demand(post)).collect();
        let mut wanted: BTreeMap<(usize, usize), (u32, Vec<usize>)> = BTreeMap::new(); // (relief, slot)
        for (post, spec) in p.posts.iter().enumerate() {
            let Some(relief) = spec.lunch_relief else { continue };
            for slot in 0..p.n_slots() {
                let (n, eating) = (on_duty[post][slot], at_lunch[post][slot]);
                if eating == 0 {
                    continue;
                }
                let short = demand[post][slot].min.saturating_sub(n.saturating_sub(eating)).min(eating);
                let share = demand[post][slot].min > 0 || p.rules.lunch.share_always.contains(&post);
                let lone = u32::from(share && eating > n / 2);
                let needed = short.max(lone);
                if needed > 0 {
                    let entry = wanted.entry((relief, slot)).or_default();
                    entry.0 += needed;
                    entry.1.push(post);
                }
            }
        }
        for ((relief, slot), (needed, posts)) in wanted {
            let present = on_duty[relief][slot].saturating_sub(at_lunch[relief][slot]);
            let spare = present.saturating_sub(demand[relief][slot].min);
            if needed > spare {
                let names: Vec<&str> = posts.iter().map(|&q| p.posts[q].id.as_str()).collect();
                let relief = &p.posts[relief].id;
                let detail = Words::new(
                    format!(
                        "{} needs {needed} standing in while its staff are at lunch; {relief} has {spare} to spare",
                        names.join(" and ")
                    ),
                    format!("{} 午餐时需要 {needed} 人顶岗；{relief} 只有 {spare} 人可调", names.join("和")),
                );
                self.other(out, Rule::Lunch, self.at(slot as u32 * p.slot_minutes), detail);
            }
        }
    }

    fn handover(&self, out: &mut Vec<Breach>) {
        let p = self.problem;
        let handover = p.rules.handover_minutes;
        if handover == 0 {
            return;
        }
        let demand: Vec<_> = (0..p.posts.len()).map(|post| p.post_demand(post)).collect();
        for a in &self.roster.assignments {
            let end_slot = (a.end / p.slot_minutes) as usize;
            let chain = &p.rules.handover_posts[a.post];
            if chain.iter().all(|&post| demand[post].get(end_slot).is_none_or(|d| d.min == 0)) {
                continue;
            }
            let relieved =
                self.roster.assignments.iter().any(|r| {
                    chain.contains(&r.post) && r.staff != a.staff && r.start + handover <= a.end && r.end > a.end
                });
            if !relieved {
                let (id, post, end, since) =
                    (self.staff_id(a.staff), &p.posts[a.post].id, self.at(a.end), clock(a.end - handover));
                let detail = Words::new(
                    format!("{id} leaves {post} at {end} with no colleague there since {since}"),
                    format!("{id} 于 {end} 离开 {post}，自 {since} 起没有同事在岗交接"),
                );
                self.other(out, Rule::Handover, self.at(a.end), detail);
            }
        }
    }

    fn daily(&self, out: &mut Vec<Breach>) {
        let p = self.problem;
        for rule in &p.rules.daily {
            for (day_idx, &date) in p.days.iter().enumerate() {
                if !rule.day_types.contains(&p.day_type(date)) {
                    continue;
                }
                let people: BTreeSet<usize> = self
                    .roster
                    .assignments
                    .iter()
                    .filter(|a| a.day == day_idx && p.staff[a.staff].roles.contains(&rule.role))
                    .filter(|a| rule.posts.is_empty() || rule.posts.contains(&a.post))
                    .map(|a| a.staff)
                    .collect();
                if (people.len() as u32) < rule.min {
                    let names: Vec<&str> = rule.posts.iter().map(|&q| p.posts[q].id.as_str()).collect();
                    let (at_en, at_zh) = if names.is_empty() {
                        (String::new(), String::new())
                    } else {
                        (format!(" at {}", names.join(" or ")), format!("在 {} ", names.join("或")))
                    };
                    let (count, role, least) = (people.len(), &rule.role, rule.min);
                    let detail = Words::new(
                        format!("{date}: {count} {role} on duty{at_en}, {least} required every day"),
                        format!("{date}：{at_zh}在岗的 {role} 有 {count} 人，每天至少需要 {least} 人"),
                    );
                    self.other(out, Rule::DailyRole, date.to_string(), detail);
                }
            }
        }
    }

    /// `YYYY-MM-DDTHH:MM` of a horizon minute.
    fn at(&self, minutes: u32) -> String {
        horizon_time(self.problem, minutes)
    }
}

/// A person's contract hours in one calendar week of the period.
pub(crate) struct WeekHours {
    /// The period's days in the week.
    pub days: Vec<usize>,
    /// Least paid hours: pro rata for a week cut by the period, less the hours of leave days.
    pub min: f64,
    /// Most paid hours, pro rata.
    pub max: f64,
}

/// The contract's weekly bounds for `staff` in `week`.
pub(crate) fn week_hours(p: &RosterProblem, staff: &crate::model::Staff, week: usize) -> WeekHours {
    let days: Vec<usize> = (0..p.days.len()).filter(|&d| p.week_of(d) == week).collect();
    let share = days.len() as f64 / 7.0;
    let n_leave = days.iter().filter(|&&d| staff.leave_on(p.days[d]).is_some()).count() as f64;
    let min = (staff.contract.min_hours_per_week * share - n_leave * p.rules.leave_day_hours).max(0.0);
    WeekHours { days, min, max: staff.contract.max_hours_per_week * share }
}

fn month(date: chrono::NaiveDate) -> (i32, u32) {
    (chrono::Datelike::year(&date), chrono::Datelike::month(&date))
}

/// `YYYY-MM-DDTHH:MM` of a horizon minute (minutes since midnight before the first day).
pub fn horizon_time(problem: &RosterProblem, minutes: u32) -> String {
    let date = problem.days[0] + chrono::Days::new(u64::from(minutes / DAY_MINUTES));
    format!("{date}T{}", clock(minutes))
}
