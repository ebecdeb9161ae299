//! Turns the validator's breaches into violations a supervisor reads: slot shortfalls merged
//! into time ranges, with their causes as `cause` finds them in the roster ("Tue 20:30–08:00: 0 of
//! 1 required at night maintenance: on leave: guo").
//!
//! Leaves out: finding breaches (`validate`), their causes (`cause`) and the JSON shape (`output`).

use crate::cause::shortfall_causes;
use crate::export::Lang;
use crate::model::{DAY_MINUTES, RosterProblem, clock};
use crate::roster::Roster;
use crate::validate::{Breach, Rule, horizon_time};
use crate::words::Words;

/// One broken hard rule, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which rule.
    pub rule: Rule,
    /// Where: `YYYY-MM-DDTHH:MM`, or the staff id for a person's rule.
    pub at: String,
    /// What, in plain words, in English and in Chinese.
    pub detail: Words,
}

/// Words every breach, merging consecutive slots of the same shortfall into one range.
pub fn explain(problem: &RosterProblem, roster: &Roster, breaches: &[Breach]) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut run: Option<(Option<usize>, u32, u32, u32, u32)> = None; // post, from, to, need, have
    let mut shortfalls: Vec<(Option<usize>, u32, u32, u32)> = breaches
        .iter()
        .filter_map(|b| match b {
            Breach::Shortfall { post, slot_start, need, have } => Some((*post, *slot_start, *need, *have)),
            Breach::Other { .. } => None,
        })
        .collect();
    shortfalls.sort_by_key(|(post, start, ..)| (post.map_or(0, |p| p + 1), *start));
    for (post, start, need, have) in shortfalls {
        match &mut run {
            Some((p, _, to, n, h)) if *p == post && *to == start && *n == need && *h == have => {
                *to += problem.slot_minutes
            }
            _ => {
                violations.extend(run.take().map(|r| shortfall(problem, roster, r)));
                run = Some((post, start, start + problem.slot_minutes, need, have));
            }
        }
    }
    violations.extend(run.map(|r| shortfall(problem, roster, r)));
    for breach in breaches {
        if let Breach::Other { rule, at, detail } = breach {
            violations.push(Violation { rule: *rule, at: at.clone(), detail: detail.clone() });
        }
    }
    violations.sort_by(|a, b| (a.rule, &a.at, &a.detail).cmp(&(b.rule, &b.at, &b.detail)));
    violations
}

fn shortfall(
    problem: &RosterProblem,
    roster: &Roster,
    (post, from, to, need, have): (Option<usize>, u32, u32, u32, u32),
) -> Violation {
    let date = problem.days[0] + chrono::Days::new(u64::from(from / DAY_MINUTES));
    let hours = format!("{}–{}", clock(from), clock(to));
    let when = Words::new(format!("{} {hours}", Lang::En.day(date)), format!("{} {hours}", Lang::Zh.day(date)));
    let (rule, what) = match post {
        Some(post_idx) => {
            let name = &problem.posts[post_idx].name;
            let causes = shortfall_causes(problem, roster, post_idx, from, to);
            let short = if causes.nobody_available {
                Words::new(format!("no {name} staff available"), format!("{name} 无人可排"))
            } else {
                Words::new(
                    format!("{have} of {need} required at {name}"),
                    format!("{name} 需要 {need} 人，只有 {have} 人"),
                )
            };
            (Rule::Coverage, short.colon(&causes.words))
        }
        None => (
            Rule::MinOnDuty,
            Words::new(
                format!("{have} on duty, {need} required around the clock"),
                format!("在岗 {have} 人，全天任何时候至少需要 {need} 人"),
            ),
        ),
    };
    Violation { rule, at: horizon_time(problem, from), detail: when.colon(&what) }
}
