//! The Curtois & Qu nurse-rostering benchmark (issue 6): instances 1–24 of
//! ../shared/benchmarks/nrp-curtois, solved with the roster solver's good_lp/HiGHS machinery.
//!
//! - `reader`: the text format → [`Instance`], refusing malformed files with file, line and field.
//! - `model`: the MILP, built from the shared constraint builders in `rules`.
//! - `best_row`: the cheapest row of one employee for given per-day costs (a dynamic program),
//!   used to construct, to descend and to price.
//! - `colgen`: column generation over whole rows, for the bound and a restricted integer master.
//! - `branch`: branch and price over that master, to close the gap its bound leaves.
//! - `solve`: construction and descent, column generation, full MILP, then a large-neighbourhood
//!   search with warm starts, then a final warm-started full solve for the bound.
//! - `evaluate`: the independent judge every reported objective comes from.
//! - `schedule_json`: reading and writing the `{ "schedule": { "<staff>": [...] } }` contract.

mod best_row;
mod branch;
mod colgen;
pub mod evaluate;
mod model;
pub mod reader;
pub mod schedule_json;
mod solve;

pub use evaluate::{Breach, Evaluation, evaluate, row_breaches};
pub use reader::{ReadError, parse_instance};
pub use solve::{NrpConfig, NrpOutcome, NrpStatus, solve};

/// A shift type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shift {
    /// Its id in the file.
    pub id: String,
    /// Length in minutes.
    pub minutes: u32,
    /// Shift types that may not be worked on the day after this one.
    pub forbidden_next: Vec<usize>,
}

/// An employee and their contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staff {
    /// Its id in the file.
    pub id: String,
    /// Per shift type, the most shifts of that type (0: never; unlisted types: the horizon).
    pub max_shifts: Vec<u32>,
    /// Most minutes over the horizon.
    pub max_minutes: u32,
    /// Fewest minutes over the horizon.
    pub min_minutes: u32,
    /// Longest run of worked days.
    pub max_consecutive: u32,
    /// Shortest run of worked days not touching the horizon's edges.
    pub min_consecutive: u32,
    /// Shortest run of days off not touching the horizon's edges.
    pub min_days_off: u32,
    /// Most weekends with a shift on Saturday or Sunday.
    pub max_weekends: u32,
}

/// A shift-on or shift-off request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// Employee index.
    pub staff: usize,
    /// Day index.
    pub day: usize,
    /// Shift type index.
    pub shift: usize,
    /// Penalty when the request is not honoured.
    pub weight: u32,
}

/// The preferred staffing of one shift on one day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cover {
    /// Preferred number of staff.
    pub requirement: u32,
    /// Penalty per missing person.
    pub under_weight: u32,
    /// Penalty per person too many.
    pub over_weight: u32,
}

/// One benchmark instance. Day 0 is a Monday; the horizon is whole weeks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// File name without `.txt`, e.g. `Instance1`.
    pub name: String,
    /// Days in the horizon.
    pub n_days: usize,
    /// Shift types in file order.
    pub shifts: Vec<Shift>,
    /// Employees in file order.
    pub staff: Vec<Staff>,
    /// `days_off[e][d]`: employee e must not work on day d.
    pub days_off: Vec<Vec<bool>>,
    /// Shift-on requests.
    pub on_requests: Vec<Request>,
    /// Shift-off requests.
    pub off_requests: Vec<Request>,
    /// `cover[d][s]`.
    pub cover: Vec<Vec<Cover>>,
}

/// `schedule[e][d]`: the shift type employee e works on day d, if any.
pub type Schedule = Vec<Vec<Option<usize>>>;
