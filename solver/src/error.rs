//! Errors of the library: bad input (with the line and column in the team file) and solver failure.
//!
//! Leaves out: an infeasible roster, which is an outcome with violations, not an error
//! (STYLE.md: `*Error` is a failure, `*Outcome` a result that is not one).

use thiserror::Error;

/// Why a team file, a roster file or a solve could not be used.
#[derive(Debug, Error)]
pub enum SolveError {
    /// The team file is malformed or refers to things that do not exist.
    #[error("{0}")]
    Input(#[from] InputError),
    /// The roster file given to the checker is not a roster of this team.
    #[error("roster file: {0}")]
    RosterFile(String),
    /// HiGHS refused the model or failed while solving it.
    #[error("solver failure: {0}")]
    Solver(String),
}

/// A problem at a place in the team file.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("line {line}, column {column}: {kind}")]
pub struct InputError {
    /// 1-based line of the offending value.
    pub line: usize,
    /// 1-based column of the offending value.
    pub column: usize,
    /// What is wrong.
    pub kind: InputErrorKind,
}

/// What is wrong with a team file.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InputErrorKind {
    /// Not TOML, or a field missing, misspelt or of the wrong type.
    #[error("{0}")]
    Syntax(String),
    /// An id that names no staff member, post, shift template, season or role-holder.
    #[error("unknown {what} `{id}`")]
    UnknownId {
        /// "post", "shift", "season", ...
        what: &'static str,
        /// The id as written.
        id: String,
    },
    /// Two things of the same kind share an id.
    #[error("duplicate {what} id `{id}`")]
    DuplicateId {
        /// "post", "shift", "staff", ...
        what: &'static str,
        /// The id as written.
        id: String,
    },
    /// Two leave entries of one person on the same day.
    #[error("overlapping leave for `{staff}` on {date}")]
    OverlappingLeave {
        /// Staff id.
        staff: String,
        /// The day given twice.
        date: String,
    },
    /// A time window that cannot exist on this grid or in this period.
    #[error("impossible time window: {0}")]
    ImpossibleWindow(String),
    /// Any other value out of range.
    #[error("{0}")]
    Invalid(String),
}
