//! A roster as plain data: who works which shift at which post, with lunch, and who is off.
//! The solver produces one; the checker reads one back from JSON; the validator judges one.
//!
//! Leaves out: how it was found and how it is printed (`milp`, `output`).

use crate::model::LeaveKind;

/// One shift worked by one person at one post.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Assignment {
    /// Staff index.
    pub staff: usize,
    /// Day index in the period (the day the shift starts).
    pub day: usize,
    /// Template index.
    pub shift: usize,
    /// Post index.
    pub post: usize,
    /// Start, minutes from midnight before the period's first day.
    pub start: u32,
    /// End, same origin.
    pub end: u32,
    /// Lunch turn `[start, end)`, same origin.
    pub lunch: Option<(u32, u32)>,
}

/// A day on which a person does not work, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DayOff {
    /// Staff index.
    pub staff: usize,
    /// Day index in the period.
    pub day: usize,
    /// Leave, compensatory day or plain day off.
    pub kind: LeaveKind,
}

/// A whole roster. Invariant kept by its producers: both lists sorted, so output is deterministic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Roster {
    /// Shifts worked.
    pub assignments: Vec<Assignment>,
    /// Days not worked, one per person and day without a shift.
    pub days_off: Vec<DayOff>,
}

impl Roster {
    /// Sorts both lists: the order the output contract promises.
    pub fn sort(&mut self) {
        self.assignments.sort();
        self.days_off.sort();
    }
}
