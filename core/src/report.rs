//! The monthly figures supervisors report (seed 004 月度摘要; seed 000 篇五), computed
//! from the case log rather than a spreadsheet kept by hand.
//!
//! A case belongs to the month it was opened in, in the team's local time. Each rate
//! carries the counts behind it, so a figure can be checked and a 0/0 month shows as
//! "no data" rather than 0 % or 100 %:
//! - 处理率 handling rate: completed or closed / received.
//! - 及时率 timeliness rate: replies given by the 24-hour deadline / cases that
//!   promised one and whose deadline has passed or was met (a case still inside its
//!   24 hours with no reply is not counted yet).
//! - 满意率 satisfaction rate: latest return visit very satisfied or satisfied /
//!   return-visited cases.
//! - 回访率 return-visit rate: completed or closed cases with a return visit / completed or
//!   closed. Both counts are over the same cases, so a case reopened after its return visit
//!   leaves both and the rate never exceeds 100 %.

use chrono::{Datelike, FixedOffset, NaiveDate, TimeZone};

use crate::case::{Case, CaseKind, DeadlineState, Status};
use crate::ids::Timestamp;

/// A ratio with its counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Cases meeting the condition.
    pub numerator: usize,
    /// Cases the rate is taken over.
    pub denominator: usize,
}

impl Rate {
    /// The rate in percent, `None` when there is nothing to divide.
    pub fn percent(&self) -> Option<f64> {
        (self.denominator > 0).then(|| 100.0 * self.numerator as f64 / self.denominator as f64)
    }

    /// [`Rate::percent`] rounded to one decimal, as reports show it (33.3, not 33.333333333333336).
    pub fn percent_rounded(&self) -> Option<f64> {
        self.percent().map(|percent| (percent * 10.0).round() / 10.0)
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.percent() {
            Some(percent) => write!(f, "{percent:.1}% ({}/{})", self.numerator, self.denominator),
            None => write!(f, "no data (0/0)"),
        }
    }
}

/// Counts for one group of cases (all, repairs, complaints).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Counts {
    /// Opened in the month.
    pub received: usize,
    /// Reached dispatched or later at some point.
    pub dispatched: usize,
    /// Completed or closed now.
    pub completed: usize,
    /// With at least one return visit.
    pub return_visited: usize,
}

/// The month's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct MonthlyReport {
    /// First day of the month.
    pub month: NaiveDate,
    /// All cases.
    pub all: Counts,
    /// Repair reports (报修).
    pub repairs: Counts,
    /// Complaints (投诉).
    pub complaints: Counts,
    /// 处理率.
    pub handling_rate: Rate,
    /// 及时率.
    pub timeliness_rate: Rate,
    /// 满意率.
    pub satisfaction_rate: Rate,
    /// 回访率.
    pub return_visit_rate: Rate,
}

/// Computes the figures for the month containing `month` (any day of it), in the
/// team's `offset` from UTC, as of `now`.
pub fn monthly_report(cases: &[Case], month: NaiveDate, offset: FixedOffset, now: Timestamp) -> MonthlyReport {
    let first = month.with_day(1).expect("day 1 exists");
    let next = first.checked_add_months(chrono::Months::new(1)).expect("month within range");
    let start = local_midnight(first, offset);
    let end = local_midnight(next, offset);
    let in_month: Vec<&Case> = cases.iter().filter(|case| (start..end).contains(&case.created_at)).collect();
    let count = |kind: Option<CaseKind>| {
        let mut counts = Counts::default();
        for case in in_month.iter().filter(|case| kind.is_none_or(|kind| case.kind == kind)) {
            counts.received += 1;
            counts.dispatched += usize::from(reached(case, Status::Dispatched));
            counts.completed += usize::from(is_completed(case));
            counts.return_visited += usize::from(case.latest_return_visit().is_some());
        }
        counts
    };
    let all = count(None);
    let replies: Vec<DeadlineState> =
        in_month.iter().filter_map(|case| case.deadlines.reply.map(|deadline| deadline.state(now))).collect();
    let completed_and_visited =
        in_month.iter().filter(|case| is_completed(case) && case.latest_return_visit().is_some()).count();
    let visited: Vec<bool> = in_month
        .iter()
        .filter_map(|case| case.latest_return_visit().map(|(_, satisfaction)| satisfaction.is_satisfied()))
        .collect();
    MonthlyReport {
        month: first,
        all,
        repairs: count(Some(CaseKind::Repair)),
        complaints: count(Some(CaseKind::Complaint)),
        handling_rate: Rate { numerator: all.completed, denominator: all.received },
        timeliness_rate: Rate {
            numerator: replies.iter().filter(|state| **state == DeadlineState::Met).count(),
            denominator: replies.iter().filter(|state| **state != DeadlineState::Pending).count(),
        },
        satisfaction_rate: Rate { numerator: visited.iter().filter(|s| **s).count(), denominator: visited.len() },
        return_visit_rate: Rate { numerator: completed_and_visited, denominator: all.completed },
    }
}

fn local_midnight(date: NaiveDate, offset: FixedOffset) -> Timestamp {
    let local = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    Timestamp(offset.from_local_datetime(&local).single().expect("fixed offsets are unambiguous").timestamp_millis())
}

fn is_completed(case: &Case) -> bool {
    matches!(case.status.status, Status::Completed | Status::Closed)
}

/// Whether the case is at `status` or further, or passed through it.
fn reached(case: &Case, status: Status) -> bool {
    case.status.status >= status
        || case
            .timeline
            .iter()
            .any(|entry| matches!(entry.body, crate::case::EntryBody::StatusChange { to, .. } if to >= status))
}

impl std::fmt::Display for MonthlyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "month {}", self.month.format("%Y-%m"))?;
        for (name, counts) in [("all", self.all), ("repairs", self.repairs), ("complaints", self.complaints)] {
            writeln!(
                f,
                "  {name:<10} received {:>4}  dispatched {:>4}  completed {:>4}  return-visited {:>4}",
                counts.received, counts.dispatched, counts.completed, counts.return_visited
            )?;
        }
        writeln!(f, "  处理率 handling      {}", self.handling_rate)?;
        writeln!(f, "  及时率 timeliness    {}", self.timeliness_rate)?;
        writeln!(f, "  满意率 satisfaction  {}", self.satisfaction_rate)?;
        write!(f, "  回访率 return visits {}", self.return_visit_rate)
    }
}
