//! Errors of the library: bad input (with the line and column in the team file and the entry at
//! fault) and solver failure; and the warnings a team file that parses may still deserve.
//!
//! Leaves out: an infeasible roster, which is an outcome with violations, not an error
//! (STYLE.md: `*Error` is a failure, `*Outcome` a result that is not one).

use thiserror::Error;

use crate::export::Lang;
use crate::words::Words;

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

/// A problem at a place in the team file. The entry is named as well as the line, because a
/// supervisor fixing a file thinks in staff members and posts, not in line numbers.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("line {line}, column {column}: {}{kind}", entry_prefix(.entry.as_deref()))]
pub struct InputError {
    /// 1-based line of the offending value.
    pub line: usize,
    /// 1-based column of the offending value.
    pub column: usize,
    /// The entry the value belongs to: `staff wu`, `post front_desk`, `shift N`, `season summer`,
    /// or a section (`period`, `rules`, `roles`, `default_contract`); `None` only when the file
    /// is not TOML at all.
    pub entry: Option<String>,
    /// What is wrong.
    pub kind: InputErrorKind,
}

impl InputError {
    /// Names the entry the error belongs to, unless a narrower one is already named.
    pub(crate) fn in_entry(mut self, entry: impl Into<String>) -> Self {
        self.entry.get_or_insert_with(|| entry.into());
        self
    }
}

fn entry_prefix(entry: Option<&str>) -> String {
    entry.map(|e| format!("{e}: ")).unwrap_or_default()
}

/// Something a team file may say but almost certainly does not mean: a staff member who can work
/// no shift at any of their posts, or a post no one can work. Not an error, so that a roster with
/// someone on long leave or a post waiting for its first hire can still be solved; every output
/// shows the warnings.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("line {line}, column {column}: {entry}: {}", .message.en)]
pub struct InputWarning {
    /// 1-based line of the entry's id.
    pub line: usize,
    /// 1-based column of the entry's id.
    pub column: usize,
    /// `staff wu` or `post night`.
    pub entry: String,
    /// What looks wrong, in words.
    pub message: Words,
}

impl InputWarning {
    /// The whole warning in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.to_string(),
            Lang::Zh => format!("第 {} 行第 {} 列：{}：{}", self.line, self.column, self.entry, self.message.zh),
        }
    }
}

/// What is wrong with a team file.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InputErrorKind {
    /// Not TOML, or a field missing, misspelt or of the wrong type.
    #[error("{0}")]
    Syntax(String),
    /// An id that names no post, shift template, season or role of the catalogue.
    #[error("unknown {what} `{id}`")]
    UnknownId {
        /// "post", "shift", "season", "role"
        what: &'static str,
        /// The id as written.
        id: String,
    },
    /// Two things of the same kind share an id.
    #[error("duplicate {what} id `{id}`")]
    DuplicateId {
        /// "post", "shift", "staff", "season", "role"
        what: &'static str,
        /// The id as written.
        id: String,
    },
    /// Two leave entries (or a leave entry and a request) of one person on the same day; the
    /// error's entry names the person.
    #[error("overlapping leave on {date}")]
    OverlappingLeave {
        /// The day given twice.
        date: String,
    },
    /// A time window that cannot exist on this grid or in this period.
    #[error("impossible time window: {}", .0.en)]
    ImpossibleWindow(Words),
    /// Any other value out of range.
    #[error("{}", .0.en)]
    Invalid(Words),
}

impl InputErrorKind {
    /// What is wrong, in English (as `Display`) and in Chinese. A syntax error is the TOML
    /// parser's English; its commonest forms are put in Chinese, the rest keep the parser's words
    /// after a Chinese lead.
    pub fn words(&self) -> Words {
        let en = self.to_string();
        let zh = match self {
            InputErrorKind::Syntax(message) => syntax_zh(message),
            InputErrorKind::UnknownId { what, id } => format!("未知的{} `{id}`", what_zh(what)),
            InputErrorKind::DuplicateId { what, id } => format!("{} id `{id}` 重复", what_zh(what)),
            InputErrorKind::OverlappingLeave { date } => format!("{date} 的请假重复"),
            InputErrorKind::ImpossibleWindow(words) => format!("时段不可能：{}", words.zh),
            InputErrorKind::Invalid(words) => words.zh.clone(),
        };
        Words::new(en, zh)
    }
}

impl InputError {
    /// The whole message in `lang`: where, which entry, what.
    pub fn text(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.to_string(),
            Lang::Zh => {
                let entry = self.entry.as_deref().map(|e| format!("{e}：")).unwrap_or_default();
                format!("第 {} 行第 {} 列：{entry}{}", self.line, self.column, self.kind.words().zh)
            }
        }
    }
}

/// The Chinese name of a kind of id.
fn what_zh(what: &str) -> &'static str {
    match what {
        "post" => "岗位",
        "shift" => "班次",
        "staff" => "员工",
        "season" => "季节",
        "role" => "角色",
        _ => "标识",
    }
}

/// The TOML parser's commonest messages in Chinese.
fn syntax_zh(message: &str) -> String {
    let quoted = |rest: &str| rest.split('`').nth(1).map(str::to_owned);
    if let Some(field) = message.strip_prefix("missing field ").and_then(quoted) {
        format!("缺少字段 `{field}`")
    } else if let Some(rest) = message.strip_prefix("unknown field ") {
        let expected = rest
            .split_once("expected ")
            .map(|(_, e)| format!("，可用的字段：{}", e.strip_prefix("one of ").unwrap_or(e)))
            .unwrap_or_default();
        format!("未知字段 `{}`{expected}", quoted(rest).unwrap_or_default())
    } else if let Some(rest) = message.strip_prefix("invalid type: ") {
        match rest.split_once(", expected ") {
            Some((found, expected)) => format!("类型不对：{found}，应为 {expected}"),
            None => format!("类型不对：{rest}"),
        }
    } else {
        format!("TOML 有误：{message}")
    }
}
