//! Constraint builders, a file per DOMAIN.md rule family, over a small linear-program wrapper.
//!
//! The builders in this file take plain index sets and expressions, not team-file types, so the
//! NRP benchmark reader (issue 6) can reuse coverage, consecutive-days, rest and spread terms.
//! Each family file adds its rows to a `milp::Model`; none of them checks a roster: that is
//! `validate`, which shares no code with these files on purpose.

pub(crate) mod contract;
pub(crate) mod coverage;
pub(crate) mod daily;
pub(crate) mod handover;
pub(crate) mod leave;
pub(crate) mod lunch;
pub(crate) mod objective;
pub(crate) mod rotation;

use std::collections::HashMap;

use good_lp::{Constraint, Expression, ProblemVariables, Solution, SolverModel, Variable, variable};

/// A column of the linear program: the good_lp variable and its position in HiGHS's column order.
#[derive(Clone, Copy, Debug)]
pub struct Col {
    /// The modelling handle.
    pub var: Variable,
    /// Invariant: the order of creation, which is HiGHS's column index.
    pub idx: usize,
}

/// Variables, rows and objective being assembled; the objective is minimised.
pub struct Lp {
    vars: ProblemVariables,
    /// Every column's variable, in creation (HiGHS) order.
    columns: Vec<Variable>,
    rows: Vec<Constraint>,
    objective: Expression,
    /// Constant part of the objective, which HiGHS does not see (added back when reporting).
    offset: f64,
    /// The penalised slack of the hard rules alone (`at_least_hard`): zero exactly when the
    /// columns meet every hard rule the program states.
    breaches: Expression,
}

impl Default for Lp {
    fn default() -> Self {
        Lp {
            vars: ProblemVariables::new(),
            columns: Vec::new(),
            rows: Vec::new(),
            objective: Expression::from(0.0),
            offset: 0.0,
            breaches: Expression::from(0.0),
        }
    }
}

/// What HiGHS is asked to minimise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// The whole objective: hard-rule penalties and soft terms.
    Roster,
    /// The hard-rule penalties only, to prove that every roster breaks a rule (a positive bound)
    /// or to find one that breaks none.
    MeetRules,
}

/// What remains of an `Lp` once HiGHS holds it: enough to price any column values, whichever goal
/// HiGHS was given.
pub struct Prices {
    columns: Vec<Variable>,
    objective: Expression,
    offset: f64,
    breaches: Expression,
}

impl Prices {
    fn at(&self, values: &[f64]) -> HashMap<Variable, f64> {
        self.columns.iter().copied().zip(values.iter().copied()).collect()
    }

    /// The whole objective, constant included, at these column values.
    pub fn objective(&self, values: &[f64]) -> f64 {
        self.at(values).eval(&self.objective) + self.offset
    }

    /// The constant part of `goal`, which HiGHS does not see: added to its bound when reporting.
    pub fn constant(&self, goal: Goal) -> f64 {
        match goal {
            Goal::Roster => self.offset,
            Goal::MeetRules => 0.0,
        }
    }

    /// The hard-rule penalties at these column values.
    pub fn breaches(&self, values: &[f64]) -> f64 {
        self.at(values).eval(&self.breaches)
    }
}

impl Lp {
    fn push(&mut self, definition: good_lp::VariableDefinition) -> Col {
        let col = Col { var: self.vars.add(definition), idx: self.columns.len() };
        self.columns.push(col.var);
        col
    }

    /// A new 0/1 column.
    pub fn binary(&mut self) -> Col {
        self.push(variable().binary())
    }

    /// A new column fixed at `value` (a cell a neighbourhood keeps; see `milp::Fix`).
    pub fn fixed(&mut self, value: f64) -> Col {
        self.push(variable().min(value).max(value))
    }

    /// A new integer column in `[0, max]`.
    pub fn integer(&mut self, max: f64) -> Col {
        self.push(variable().integer().min(0.0).max(max))
    }

    /// A new continuous column bounded below by zero.
    pub fn nonneg(&mut self) -> Col {
        self.push(variable().min(0.0))
    }

    /// Adds a row.
    pub fn row(&mut self, constraint: Constraint) {
        self.rows.push(constraint);
    }

    /// Adds `weight * expression` to the objective.
    pub fn cost(&mut self, weight: f64, expression: Expression) {
        if weight != 0.0 {
            self.objective += weight * expression;
        }
    }

    /// Adds a constant to the objective.
    pub fn add_offset(&mut self, constant: f64) {
        self.offset += constant;
    }

    /// Number of columns and rows, for progress lines and benchmarks.
    pub fn size(&self) -> (usize, usize) {
        (self.columns.len(), self.rows.len())
    }

    /// Hands the program to HiGHS (quiet, objective minimised) and returns the raw model with the
    /// constant offset HiGHS does not see. The roster solve and the NRP solve both start here, then
    /// set their own options and warm starts on the raw model.
    pub fn into_highs(self) -> Result<(highs::Model, f64), crate::SolveError> {
        let (model, prices) = self.into_highs_for(Goal::Roster)?;
        Ok((model, prices.offset))
    }

    /// As `into_highs`, minimising `goal`, and keeping the prices of both goals, so that a
    /// solution of one can be priced in the other.
    pub fn into_highs_for(self, goal: Goal) -> Result<(highs::Model, Prices), crate::SolveError> {
        let minimised = match goal {
            Goal::Roster => self.objective.clone(),
            Goal::MeetRules => self.breaches.clone(),
        };
        let mut unsolved = self.vars.minimise(minimised).using(good_lp::highs);
        for row in self.rows {
            unsolved.add_constraint(row);
        }
        let mut model = unsolved.try_into_inner().map_err(|e| crate::SolveError::Solver(e.to_string()))?;
        model.make_quiet();
        let prices =
            Prices { columns: self.columns, objective: self.objective, offset: self.offset, breaches: self.breaches };
        Ok((model, prices))
    }
}

/// Sum of columns as an expression.
pub fn sum(cols: impl IntoIterator<Item = Col>) -> Expression {
    cols.into_iter().map(|c| c.var).sum()
}

/// `supply + slack >= need`, the slack costing `penalty` each: a hard rule that can still be
/// broken, so an impossible week yields a roster and a list of breaches instead of "infeasible".
/// Returns the slack column (the NRP warm start sets its value).
pub fn at_least_with_slack(lp: &mut Lp, supply: Expression, need: f64, penalty: f64) -> Col {
    let slack = lp.nonneg();
    lp.row((supply + slack.var).geq(need));
    lp.cost(penalty, slack.var.into());
    slack
}

/// `at_least_with_slack` for a hard rule of the roster: the slack also counts in the program's
/// breaches, which `Goal::MeetRules` minimises. Invariant: `penalty > 0` (the team file refuses
/// a zero hard-rule weight), so the breaches are zero only when no slack is used.
pub fn at_least_hard(lp: &mut Lp, supply: Expression, need: f64, penalty: f64) -> Col {
    let slack = at_least_with_slack(lp, supply, need, penalty);
    lp.breaches += penalty * slack.var;
    slack
}

/// At most `max` worked days in any `max + 1` consecutive days; `worked[d]` is 0/1 per day.
pub fn max_consecutive(lp: &mut Lp, worked: &[Expression], max: usize) {
    for window in worked.windows(max + 1) {
        lp.row(window.iter().cloned().sum::<Expression>().leq(max as f64));
    }
}

/// Penalises the spread between the largest and the smallest load (fairness of nights, weekends).
pub fn spread(lp: &mut Lp, loads: Vec<Expression>, weight: f64) {
    if loads.len() < 2 || weight == 0.0 {
        return;
    }
    let (most, least) = (lp.nonneg(), lp.nonneg());
    for load in loads {
        lp.row(load.clone().leq(most.var));
        lp.row(load.geq(least.var));
    }
    lp.cost(weight, most.var - least.var);
}
