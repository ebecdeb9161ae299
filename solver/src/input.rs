//! Reads a team file (TOML) into a `RosterProblem`, checking every id, role, number and time
//! window, and reporting each problem with its line, column and the entry it belongs to
//! (`staff wu`, `post front_desk`, ...). Flags, as warnings, staff who can work nothing and posts
//! no one can work.
//!
//! Leaves out: the meaning of the rules (`model`, `rules`); the raw serde structs here are private
//! and exist only to carry spans. The format is documented by `solver/examples/*.toml`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use chrono::{NaiveDate, Weekday};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{InputError, InputErrorKind, InputWarning};
use crate::model::{
    ApprovedLeave, Contract, DAY_MINUTES, DailyMinimum, DayType, LeaveKind, LunchRule, Need, NightRule, Post,
    Preference, RosterProblem, Rules, Season, ShiftTemplate, Staff, Weights,
};
use crate::words::Words;

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTeam {
    name: String,
    /// The role catalogue: every role a template or a staff member names must be listed, so a
    /// misspelt role is refused instead of silently matching no one.
    roles: Vec<S<String>>,
    period: RawPeriod,
    #[serde(default)]
    seasons: Vec<RawSeason>,
    rules: RawRules,
    #[serde(default)]
    default_contract: Option<RawContract>,
    posts: Vec<RawPost>,
    shifts: Vec<RawShift>,
    staff: Vec<RawStaff>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriod {
    start: S<String>,
    end: S<String>,
    slot_minutes: S<u32>,
    #[serde(default)]
    holidays: Vec<S<String>>,
    /// Weekend days worked to make up for a holiday (调休上班): they count as weekdays.
    #[serde(default)]
    working_days: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeason {
    id: S<String>,
    from: S<String>,
    to: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default = "one")]
    min_on_duty: u32,
    #[serde(default)]
    duty_day_start: Option<S<String>>,
    lunch: RawLunch,
    #[serde(default = "four")]
    max_leave_per_month: u32,
    #[serde(default = "eight")]
    leave_day_hours: S<f64>,
    #[serde(default = "no_handover")]
    handover_minutes: S<u32>,
    #[serde(default)]
    rotation: Vec<RawPostList>,
    #[serde(default)]
    handover_chains: Vec<RawPostList>,
    #[serde(default)]
    daily: Vec<RawDaily>,
    #[serde(default)]
    night: Option<RawNight>,
    #[serde(default)]
    weights: RawWeights,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDaily {
    role: S<String>,
    min: u32,
    #[serde(default)]
    posts: Vec<S<String>>,
    #[serde(default)]
    days: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNight {
    from: S<String>,
    to: S<String>,
    roles: S<Vec<S<String>>>,
}

fn one() -> u32 {
    1
}
fn no_handover() -> S<u32> {
    Spanned::new(0..0, 0)
}
fn four() -> u32 {
    4
}
fn eight() -> S<f64> {
    Spanned::new(0..0, 8.0)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLunch {
    window: S<[String; 2]>,
    length_minutes: S<u32>,
    #[serde(default)]
    by_season: Vec<RawSeasonalWindow>,
    #[serde(default)]
    share_always: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeasonalWindow {
    season: S<String>,
    window: S<[String; 2]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPostList {
    posts: S<Vec<S<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawWeights {
    coverage: S<f64>,
    hours: S<f64>,
    desired: S<f64>,
    refused_request: S<f64>,
    fairness: S<f64>,
    paid_hour: S<f64>,
}

impl Default for RawWeights {
    fn default() -> Self {
        let at_top = |value| Spanned::new(0..0, value);
        RawWeights {
            coverage: at_top(1000.0),
            hours: at_top(100.0),
            desired: at_top(5.0),
            refused_request: at_top(20.0),
            fairness: at_top(3.0),
            paid_hour: at_top(0.1),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContract {
    min_hours_per_week: Option<S<f64>>,
    max_hours_per_week: Option<S<f64>>,
    max_consecutive_days: Option<S<u32>>,
    min_rest_hours: Option<S<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPost {
    id: S<String>,
    name: Option<String>,
    #[serde(default)]
    need: Vec<RawNeed>,
    /// The post whose spare staff stand in while this post's staff are at lunch (办公室人员顶岗).
    lunch_relief: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNeed {
    days: Vec<S<String>>,
    season: Option<S<String>>,
    from: S<String>,
    to: S<String>,
    min: u32,
    desired: Option<S<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShift {
    id: S<String>,
    name: Option<String>,
    start: S<String>,
    end: S<String>,
    roles: S<Vec<S<String>>>,
    #[serde(default)]
    posts: Vec<S<String>>,
    #[serde(default)]
    days: Vec<S<String>>,
    #[serde(default)]
    lunch: bool,
    #[serde(default)]
    night: bool,
    paid_hours: Option<S<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStaff {
    id: S<String>,
    name: Option<String>,
    roles: Vec<S<String>>,
    posts: Vec<S<String>>,
    #[serde(default)]
    contract: Option<S<RawContract>>,
    #[serde(default)]
    days_off: Vec<S<String>>,
    #[serde(default)]
    leave: Vec<RawLeave>,
    /// A count for the month the period starts in, or a table per month: `{ "2026-06" = 3 }`.
    #[serde(default)]
    leave_taken: Option<S<toml::Value>>,
    #[serde(default)]
    requests: Vec<S<String>>,
    #[serde(default)]
    prefer: Vec<RawPreference>,
    rotation_start: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLeave {
    date: S<String>,
    #[serde(default = "leave_kind")]
    kind: S<String>,
}

fn leave_kind() -> S<String> {
    Spanned::new(0..0, "leave".to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreference {
    shift: Option<S<String>>,
    post: Option<S<String>>,
    weekday: Option<S<String>>,
    date: Option<S<String>>,
    #[serde(default)]
    want: bool,
    weight: S<f64>,
}

/// Parses and checks a team file. Every error names the line and column of the bad value and the
/// entry it belongs to; staff who can work nothing and posts no one can work are listed in the
/// problem's `warnings`.
pub fn parse_team(text: &str) -> Result<RosterProblem, InputError> {
    let ctx = Ctx { text };
    let raw: RawTeam = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let error = ctx.err(span.clone(), InputErrorKind::Syntax(e.message().trim().to_owned()));
        match entry_at(text, span.start) {
            Some(entry) => error.in_entry(entry),
            None => error,
        }
    })?;
    ctx.build(raw)
}

/// The entries of a team file with their spans and nothing else checked, so that a type error or
/// a misspelt field, which serde reports by position only, can still name its entry.
#[derive(Deserialize)]
struct Outline {
    period: Option<S<toml::Table>>,
    rules: Option<S<toml::Table>>,
    default_contract: Option<S<toml::Table>>,
    #[serde(default)]
    seasons: Vec<S<toml::Table>>,
    #[serde(default)]
    posts: Vec<S<toml::Table>>,
    #[serde(default)]
    shifts: Vec<S<toml::Table>>,
    #[serde(default)]
    staff: Vec<S<toml::Table>>,
}

/// The entry (`staff wu`, `rules`, ...) whose text holds the byte `offset`, when the file is TOML
/// at all: the last one to start at or before it (an element of an array of tables is spanned by
/// its header alone, so containment cannot be used; a section's subtables belong to the section).
fn entry_at(text: &str, offset: usize) -> Option<String> {
    let outline: Outline = toml::from_str(text).ok()?;
    let sections =
        [("period", &outline.period), ("rules", &outline.rules), ("default_contract", &outline.default_contract)];
    let lists =
        [("season", &outline.seasons), ("post", &outline.posts), ("shift", &outline.shifts), ("staff", &outline.staff)];
    let named = lists.into_iter().flat_map(|(what, entries)| {
        entries.iter().enumerate().map(move |(n, entry)| {
            let id = entry
                .get_ref()
                .get("id")
                .and_then(|id| id.as_str())
                .map_or_else(|| format!("#{}", n + 1), str::to_owned);
            (format!("{what} {id}"), entry.span())
        })
    });
    let sections = sections.into_iter().filter_map(|(name, table)| Some((name.to_owned(), table.as_ref()?.span())));
    named
        .chain(sections)
        .filter(|(_, span)| span.start <= offset)
        .max_by_key(|(_, span)| span.start)
        .map(|(entry, _)| entry)
}

/// Turns byte spans into line and column; carries the source for every check.
struct Ctx<'a> {
    text: &'a str,
}

/// Adds the entry's name to an error from inside it: `.map_err(within("staff wu"))`.
fn within(entry: impl Into<String>) -> impl FnOnce(InputError) -> InputError {
    move |error| error.in_entry(entry)
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, kind: InputErrorKind) -> InputError {
        let (line, column) = line_column(self.text, span.start);
        InputError { line, column, entry: None, kind }
    }

    fn invalid<T>(&self, span: Range<usize>, en: String, zh: String) -> Result<T, InputError> {
        Err(self.err(span, InputErrorKind::Invalid(Words::new(en, zh))))
    }

    fn window<T>(&self, span: Range<usize>, en: String, zh: String) -> Result<T, InputError> {
        Err(self.err(span, InputErrorKind::ImpossibleWindow(Words::new(en, zh))))
    }

    /// A number of hours, a weight or the like: finite, not negative, at most `most`. Negative
    /// values are refused rather than clamped, since a clamped typo changes the roster unseen.
    fn amount(&self, name: &str, value: &S<f64>, most: f64) -> Result<f64, InputError> {
        let v = *value.get_ref();
        if !v.is_finite() {
            return self.invalid(
                value.span(),
                format!("{name} must be a finite number, not {v}"),
                format!("{name} 须为有限的数，不能是 {v}"),
            );
        }
        if v < 0.0 {
            return self.invalid(value.span(), format!("{name} {v} is negative"), format!("{name} {v} 是负数"));
        }
        if v > most {
            return self.invalid(
                value.span(),
                format!("{name} {v} is more than {most}"),
                format!("{name} {v} 大于 {most}"),
            );
        }
        Ok(v)
    }

    fn date(&self, value: &S<String>) -> Result<NaiveDate, InputError> {
        NaiveDate::parse_from_str(value.get_ref(), "%Y-%m-%d").or_else(|_| {
            self.invalid(
                value.span(),
                format!("bad date `{}`, expected YYYY-MM-DD", value.get_ref()),
                format!("日期 `{}` 有误，应为 YYYY-MM-DD", value.get_ref()),
            )
        })
    }

    /// Parses `HH:MM` (24:00 allowed) and checks it lies on the grid.
    fn time(&self, value: &S<String>, slot: u32) -> Result<u32, InputError> {
        let text = value.get_ref();
        let parsed = text
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
            .filter(|(h, m)| *m < 60 && (*h < 24 || (*h == 24 && *m == 0)));
        let Some((h, m)) = parsed else {
            return self.invalid(
                value.span(),
                format!("bad time `{text}`, expected HH:MM"),
                format!("时间 `{text}` 有误，应为 HH:MM"),
            );
        };
        let minutes = h * 60 + m;
        if !minutes.is_multiple_of(slot) {
            return self.window(
                value.span(),
                format!("{text} is not on the {slot}-minute grid"),
                format!("{text} 不在 {slot} 分钟的时间格上"),
            );
        }
        Ok(minutes)
    }

    /// A window `from`–`to`; `to` at or before `from` means the next day.
    fn span_of(&self, from: &S<String>, to: &S<String>, slot: u32) -> Result<(u32, u32), InputError> {
        let start = self.time(from, slot)?;
        let mut end = self.time(to, slot)?;
        if end <= start {
            end += DAY_MINUTES;
        }
        if start >= DAY_MINUTES {
            return self.window(
                from.span(),
                format!("{} starts at the end of the day", from.get_ref()),
                format!("{} 是一天的结束，不能作为开始", from.get_ref()),
            );
        }
        Ok((start, end))
    }

    fn day_types(&self, values: &[S<String>]) -> Result<Vec<DayType>, InputError> {
        if values.is_empty() {
            return Ok(vec![DayType::Weekday, DayType::Saturday, DayType::Sunday]);
        }
        values
            .iter()
            .map(|v| match v.get_ref().as_str() {
                "weekday" => Ok(DayType::Weekday),
                "saturday" => Ok(DayType::Saturday),
                "sunday" | "holiday" => Ok(DayType::Sunday),
                other => self.invalid(
                    v.span(),
                    format!("unknown day type `{other}`, expected weekday, saturday, sunday or holiday"),
                    format!("未知的日类型 `{other}`，应为 weekday、saturday、sunday 或 holiday"),
                ),
            })
            .collect()
    }

    fn weekday(&self, value: &S<String>) -> Result<Weekday, InputError> {
        value.get_ref().parse::<Weekday>().or_else(|_| {
            self.invalid(
                value.span(),
                format!("unknown weekday `{}`", value.get_ref()),
                format!("未知的星期 `{}`", value.get_ref()),
            )
        })
    }

    fn lookup(&self, ids: &HashMap<String, usize>, what: &'static str, value: &S<String>) -> Result<usize, InputError> {
        ids.get(value.get_ref())
            .copied()
            .ok_or_else(|| self.err(value.span(), InputErrorKind::UnknownId { what, id: value.get_ref().clone() }))
    }

    /// Role names as written, each checked against the catalogue.
    fn roles(&self, catalogue: &HashMap<String, usize>, values: &[S<String>]) -> Result<Vec<String>, InputError> {
        values.iter().map(|r| self.lookup(catalogue, "role", r).map(|_| r.get_ref().clone())).collect()
    }

    /// Ids to indices; a repeated id is an error naming the second entry.
    fn index(&self, what: &'static str, values: &[&S<String>]) -> Result<HashMap<String, usize>, InputError> {
        let mut ids = HashMap::new();
        for (idx, value) in values.iter().enumerate() {
            let id = value.get_ref();
            if ids.insert(id.clone(), idx).is_some() {
                let error = self.err(value.span(), InputErrorKind::DuplicateId { what, id: id.clone() });
                return Err(error.in_entry(format!("{what} {id}")));
            }
        }
        Ok(ids)
    }

    fn month_day(&self, value: &S<String>) -> Result<(u32, u32), InputError> {
        let parsed = value
            .get_ref()
            .split_once('-')
            .and_then(|(m, d)| Some((m.parse::<u32>().ok()?, d.parse::<u32>().ok()?)))
            .filter(|(m, d)| (1..=12).contains(m) && (1..=31).contains(d));
        parsed.map_or_else(
            || {
                self.invalid(
                    value.span(),
                    format!("bad season day `{}`, expected MM-DD", value.get_ref()),
                    format!("季节日期 `{}` 有误，应为 MM-DD", value.get_ref()),
                )
            },
            Ok,
        )
    }

    fn period(&self, raw: &RawPeriod) -> Result<Period, InputError> {
        let slot = *raw.slot_minutes.get_ref();
        if slot != 15 && slot != 30 {
            return self.invalid(
                raw.slot_minutes.span(),
                format!("slot_minutes must be 15 or 30, not {slot}"),
                format!("slot_minutes 须为 15 或 30，不能是 {slot}"),
            );
        }
        let first = self.date(&raw.start)?;
        let last = self.date(&raw.end)?;
        if last < first {
            return self.window(
                raw.end.span(),
                format!("period ends {last} before it starts {first}"),
                format!("排班期结束日 {last} 早于开始日 {first}"),
            );
        }
        let days = first.iter_days().take_while(|d| *d <= last).collect();
        let holidays: BTreeSet<NaiveDate> = raw.holidays.iter().map(|h| self.date(h)).collect::<Result<_, _>>()?;
        let mut working_days = BTreeSet::new();
        for value in &raw.working_days {
            let date = self.date(value)?;
            if holidays.contains(&date) {
                return self.invalid(
                    value.span(),
                    format!("{date} is both a holiday and a working day"),
                    format!("{date} 既是节假日又是调班工作日"),
                );
            }
            working_days.insert(date);
        }
        Ok(Period { slot, days, holidays, working_days })
    }

    fn build(&self, raw: RawTeam) -> Result<RosterProblem, InputError> {
        let Period { slot, days, holidays, working_days } = self.period(&raw.period).map_err(within("period"))?;

        let season_ids = self.index("season", &raw.seasons.iter().map(|s| &s.id).collect::<Vec<_>>())?;
        let seasons = raw
            .seasons
            .iter()
            .map(|s| self.season(s).map_err(within(format!("season {}", s.id.get_ref()))))
            .collect::<Result<Vec<_>, _>>()?;

        let role_ids = self.index("role", &raw.roles.iter().collect::<Vec<_>>()).map_err(within("roles"))?;
        let post_ids = self.index("post", &raw.posts.iter().map(|p| &p.id).collect::<Vec<_>>())?;
        let posts = raw
            .posts
            .iter()
            .map(|p| self.post(p, slot, &season_ids, &post_ids).map_err(within(format!("post {}", p.id.get_ref()))))
            .collect::<Result<Vec<_>, _>>()?;
        let shift_ids = self.index("shift", &raw.shifts.iter().map(|s| &s.id).collect::<Vec<_>>())?;
        let shifts = raw
            .shifts
            .iter()
            .map(|s| self.shift(s, slot, &post_ids, &role_ids).map_err(within(format!("shift {}", s.id.get_ref()))))
            .collect::<Result<Vec<_>, _>>()?;
        let ids = Ids { posts: &post_ids, shifts: &shift_ids, roles: &role_ids, seasons: &season_ids };
        let rules = self.rules(&raw.rules, slot, &ids).map_err(within("rules"))?;

        let no_contract = RawContract {
            min_hours_per_week: None,
            max_hours_per_week: None,
            max_consecutive_days: None,
            min_rest_hours: None,
        };
        let default_contract = raw.default_contract.as_ref().unwrap_or(&no_contract);
        self.contract_fields(default_contract).map_err(within("default_contract"))?;
        self.contract(None, default_contract).map_err(within("default_contract"))?;
        self.index("staff", &raw.staff.iter().map(|s| &s.id).collect::<Vec<_>>())?;
        let staff = raw
            .staff
            .iter()
            .map(|s| self.staff(s, default_contract, &ids, &days).map_err(within(format!("staff {}", s.id.get_ref()))))
            .collect::<Result<Vec<_>, _>>()?;
        let warnings = self.idle(&raw, &posts, &shifts, &staff);

        Ok(RosterProblem {
            name: raw.name,
            days,
            slot_minutes: slot,
            holidays,
            working_days,
            seasons,
            posts,
            shifts,
            staff,
            rules,
            warnings,
        })
    }

    /// Staff who can work no template at any of their posts, and posts no one can work: allowed,
    /// but flagged, since both are usually a slip in the roles or posts lists.
    fn idle(&self, raw: &RawTeam, posts: &[Post], shifts: &[ShiftTemplate], staff: &[Staff]) -> Vec<InputWarning> {
        let can_work = |s: &Staff, post_idx: usize| {
            s.posts.contains(&post_idx) && shifts.iter().any(|t| t.posts.contains(&post_idx) && s.may_work(t))
        };
        let warning = |span: Range<usize>, entry: String, message: Words| {
            let (line, column) = line_column(self.text, span.start);
            InputWarning { line, column, entry, message }
        };
        let idle_staff =
            staff.iter().zip(&raw.staff).filter(|(s, _)| !(0..posts.len()).any(|p| can_work(s, p))).map(|(s, raw)| {
                let (roles, why_zh) = if s.roles.is_empty() {
                    ("no roles".to_owned(), "此人没有角色".to_owned())
                } else {
                    let roles = s.roles.join("、");
                    (format!("roles {}", s.roles.join(", ")), format!("此人的岗位上没有角色 {roles} 可上的班次"))
                };
                let message = Words::new(
                    format!("can work nothing: no shift template for {roles} runs at any of their posts"),
                    format!("什么班都上不了：{why_zh}"),
                );
                warning(raw.id.span(), format!("staff {}", s.id), message)
            });
        let unworked_posts =
            posts.iter().enumerate().zip(&raw.posts).filter(|((p, _), _)| !staff.iter().any(|s| can_work(s, *p))).map(
                |((_, post), raw)| {
                    let message = Words::new(
                        "nobody can work it: no staff member holds it with a role of a shift template that runs there"
                            .to_owned(),
                        "没人能上：没有员工既能上这个岗位又有在此开设的班次所需的角色".to_owned(),
                    );
                    warning(raw.id.span(), format!("post {}", post.id), message)
                },
            );
        idle_staff.chain(unworked_posts).collect()
    }

    fn season(&self, raw: &RawSeason) -> Result<Season, InputError> {
        Ok(Season { id: raw.id.get_ref().clone(), from: self.month_day(&raw.from)?, to: self.month_day(&raw.to)? })
    }

    fn post(
        &self,
        raw: &RawPost,
        slot: u32,
        season_ids: &HashMap<String, usize>,
        post_ids: &HashMap<String, usize>,
    ) -> Result<Post, InputError> {
        let needs = raw
            .need
            .iter()
            .map(|n| {
                let (from, to) = self.span_of(&n.from, &n.to, slot)?;
                let desired = n.desired.as_ref().map_or(n.min, |d| *d.get_ref());
                if desired < n.min {
                    let span = n.desired.as_ref().map_or(0..0, |d| d.span());
                    return self.invalid(
                        span,
                        format!("desired {desired} is below min {}", n.min),
                        format!("期望人数 {desired} 少于最少人数 {}", n.min),
                    );
                }
                let season = n.season.as_ref().map(|s| self.lookup(season_ids, "season", s)).transpose()?;
                Ok(Need { day_types: self.day_types(&n.days)?, season, from, to, min: n.min, desired })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let lunch_relief = raw.lunch_relief.as_ref().map(|r| self.lookup(post_ids, "post", r)).transpose()?;
        if let Some(relief) = &raw.lunch_relief
            && relief.get_ref() == raw.id.get_ref()
        {
            return self.invalid(
                relief.span(),
                "a post cannot relieve itself at lunch".to_owned(),
                "岗位不能在午餐时顶替自己".to_owned(),
            );
        }
        let id = raw.id.get_ref().clone();
        Ok(Post { name: raw.name.clone().unwrap_or_else(|| id.clone()), id, needs, lunch_relief })
    }

    fn shift(
        &self,
        raw: &RawShift,
        slot: u32,
        post_ids: &HashMap<String, usize>,
        role_ids: &HashMap<String, usize>,
    ) -> Result<ShiftTemplate, InputError> {
        let (start, end) = self.span_of(&raw.start, &raw.end, slot)?;
        let posts = raw.posts.iter().map(|p| self.lookup(post_ids, "post", p)).collect::<Result<Vec<_>, _>>()?;
        let posts = if posts.is_empty() { (0..post_ids.len()).collect() } else { posts };
        if raw.roles.get_ref().is_empty() {
            return self.invalid(
                raw.roles.span(),
                "no roles: nobody could work this template".to_owned(),
                "没有角色：没人能上这个班次".to_owned(),
            );
        }
        let roles = self.roles(role_ids, raw.roles.get_ref())?;
        let paid_minutes = match &raw.paid_hours {
            Some(h) => (self.amount("paid_hours", h, 24.0)? * 60.0).round() as u32,
            None => end - start,
        };
        let id = raw.id.get_ref().clone();
        Ok(ShiftTemplate {
            name: raw.name.clone().unwrap_or_else(|| id.clone()),
            id,
            start,
            end,
            roles,
            posts,
            day_types: self.day_types(&raw.days)?,
            lunch: raw.lunch,
            night: raw.night,
            paid_minutes,
        })
    }

    fn rules(&self, raw: &RawRules, slot: u32, ids: &Ids) -> Result<Rules, InputError> {
        let (season_ids, post_ids) = (ids.seasons, ids.posts);
        let length = *raw.lunch.length_minutes.get_ref();
        if length == 0 || !length.is_multiple_of(slot) {
            return self.window(
                raw.lunch.length_minutes.span(),
                format!("lunch of {length} minutes is not a whole number of {slot}-minute slots"),
                format!("{length} 分钟的午餐不是整数个 {slot} 分钟时间格"),
            );
        }
        let lunch_window = |w: &S<[String; 2]>| -> Result<(u32, u32), InputError> {
            let [from, to] = w.get_ref();
            let from = self.time(&Spanned::new(w.span(), from.clone()), slot)?;
            let to = self.time(&Spanned::new(w.span(), to.clone()), slot)?;
            if to < from + length {
                return self.window(
                    w.span(),
                    format!("lunch window {} is shorter than one {length}-minute turn", fmt_window(from, to)),
                    format!("午餐时段 {} 短于一个 {length} 分钟的轮次", fmt_window(from, to)),
                );
            }
            Ok((from, to))
        };
        let window = lunch_window(&raw.lunch.window)?;
        let by_season = raw
            .lunch
            .by_season
            .iter()
            .map(|s| Ok((self.lookup(season_ids, "season", &s.season)?, lunch_window(&s.window)?)))
            .collect::<Result<Vec<_>, InputError>>()?;
        let share_always =
            raw.lunch.share_always.iter().map(|p| self.lookup(post_ids, "post", p)).collect::<Result<Vec<_>, _>>()?;
        let rotations = raw
            .rotation
            .iter()
            .map(|r| match r.posts.get_ref().as_slice() {
                [a, b] => Ok([self.lookup(post_ids, "post", a)?, self.lookup(post_ids, "post", b)?]),
                _ => self.invalid(
                    r.posts.span(),
                    "a rotation swaps exactly two posts".to_owned(),
                    "轮换须恰好在两个岗位之间".to_owned(),
                ),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let handover_posts = self.handover_chains(&raw.handover_chains, post_ids)?;
        let daily = raw.daily.iter().map(|d| self.daily(d, ids)).collect::<Result<Vec<_>, _>>()?;
        let night = raw
            .night
            .as_ref()
            .map(|n| {
                let (from, to) = self.span_of(&n.from, &n.to, slot)?;
                if n.roles.get_ref().is_empty() {
                    return self.invalid(
                        n.roles.span(),
                        "no roles: nobody could work at night".to_owned(),
                        "没有角色：夜间没人能上班".to_owned(),
                    );
                }
                Ok(NightRule { from, to, roles: self.roles(ids.roles, n.roles.get_ref())? })
            })
            .transpose()?;
        let handover = *raw.handover_minutes.get_ref();
        if handover >= 4 * 60 {
            return self.invalid(
                raw.handover_minutes.span(),
                format!("handover of {handover} minutes is longer than any shift change"),
                format!("{handover} 分钟的交接比任何换班都长"),
            );
        }
        let duty_day_start = match &raw.duty_day_start {
            Some(t) => self.time(t, slot)?,
            None => 0,
        };
        let w = &raw.weights;
        let weight = |name: &str, value: &S<f64>| self.amount(&format!("weight {name}"), value, f64::MAX);
        for (name, value) in [("coverage", &w.coverage), ("hours", &w.hours)] {
            if weight(name, value)? == 0.0 {
                // A free breach would make "every hard rule met" and "proven infeasible" meaningless.
                return self.invalid(
                    value.span(),
                    format!("weight {name} must be above 0: it prices a broken hard rule"),
                    format!("权重 {name} 须大于 0：它是违反硬规则的代价"),
                );
            }
        }
        Ok(Rules {
            min_on_duty: raw.min_on_duty,
            duty_day_start,
            lunch: LunchRule { window, by_season, length, share_always },
            max_leave_per_month: raw.max_leave_per_month,
            leave_day_hours: self.amount("leave_day_hours", &raw.leave_day_hours, 24.0)?,
            handover_minutes: handover,
            handover_posts,
            daily,
            night,
            rotations,
            weights: Weights {
                coverage: weight("coverage", &w.coverage)?,
                hours: weight("hours", &w.hours)?,
                desired: weight("desired", &w.desired)?,
                refused_request: weight("refused_request", &w.refused_request)?,
                fairness: weight("fairness", &w.fairness)?,
                paid_hour: weight("paid_hour", &w.paid_hour)?,
            },
        })
    }

    fn staff(&self, raw: &RawStaff, default: &RawContract, ids: &Ids, days: &[NaiveDate]) -> Result<Staff, InputError> {
        let id = raw.id.get_ref().clone();
        let in_period = |value: &S<String>| -> Result<NaiveDate, InputError> {
            let date = self.date(value)?;
            if days.contains(&date) {
                Ok(date)
            } else {
                self.window(value.span(), format!("{date} is outside the period"), format!("{date} 不在排班期内"))
            }
        };
        let roles = self.roles(ids.roles, &raw.roles)?;
        let posts = raw.posts.iter().map(|p| self.lookup(ids.posts, "post", p)).collect::<Result<Vec<_>, _>>()?;
        let mut leave: Vec<ApprovedLeave> = Vec::new();
        for entry in &raw.leave {
            let date = in_period(&entry.date)?;
            if leave.iter().any(|l| l.date == date) {
                return Err(self.err(entry.date.span(), InputErrorKind::OverlappingLeave { date: date.to_string() }));
            }
            let kind = match entry.kind.get_ref().as_str() {
                "leave" => LeaveKind::Leave,
                "compensatory" => LeaveKind::Compensatory,
                other => {
                    return self.invalid(
                        entry.kind.span(),
                        format!("unknown leave kind `{other}`, expected leave or compensatory"),
                        format!("未知的假别 `{other}`，应为 leave（请假）或 compensatory（调休）"),
                    );
                }
            };
            leave.push(ApprovedLeave { date, kind });
        }
        let requests = raw.requests.iter().map(&in_period).collect::<Result<Vec<_>, _>>()?;
        if let Some((request, _)) =
            raw.requests.iter().zip(&requests).find(|(_, d)| leave.iter().any(|l| l.date == **d))
        {
            return Err(self.err(request.span(), InputErrorKind::OverlappingLeave { date: request.get_ref().clone() }));
        }
        let preferences = raw
            .prefer
            .iter()
            .map(|p| {
                Ok(Preference {
                    shift: p.shift.as_ref().map(|s| self.lookup(ids.shifts, "shift", s)).transpose()?,
                    post: p.post.as_ref().map(|s| self.lookup(ids.posts, "post", s)).transpose()?,
                    weekday: p.weekday.as_ref().map(|w| self.weekday(w)).transpose()?,
                    date: p.date.as_ref().map(|d| self.date(d)).transpose()?,
                    want: p.want,
                    weight: self.amount("preference weight", &p.weight, f64::MAX)?,
                })
            })
            .collect::<Result<Vec<_>, InputError>>()?;
        if let Some(own) = &raw.contract {
            self.contract_fields(own.get_ref())?;
        }
        let contract = self.contract(raw.contract.as_ref().map(Spanned::get_ref), default)?;
        Ok(Staff {
            name: raw.name.clone().unwrap_or_else(|| id.clone()),
            id,
            roles,
            posts,
            contract,
            days_off: raw.days_off.iter().map(|d| self.weekday(d)).collect::<Result<_, _>>()?,
            leave,
            leave_taken: self.leave_taken(raw.leave_taken.as_ref(), days)?,
            requests,
            preferences,
            rotation_start: raw.rotation_start.as_ref().map(|p| self.lookup(ids.posts, "post", p)).transpose()?,
        })
    }

    /// Leave already taken: a count for the month the period starts in, or a table of counts per
    /// `YYYY-MM`, each a month the period touches (another month cannot matter, so it is a slip).
    fn leave_taken(
        &self,
        raw: Option<&S<toml::Value>>,
        days: &[NaiveDate],
    ) -> Result<BTreeMap<(i32, u32), u32>, InputError> {
        let Some(raw) = raw else { return Ok(BTreeMap::new()) };
        let month_of = |d: &NaiveDate| (chrono::Datelike::year(d), chrono::Datelike::month(d));
        let count = |value: &toml::Value| match value.as_integer() {
            Some(n) if n < 0 => {
                self.invalid(raw.span(), format!("leave_taken {n} is negative"), format!("leave_taken {n} 是负数"))
            }
            Some(n) => u32::try_from(n).or_else(|_| {
                self.invalid(raw.span(), format!("leave_taken {n} is too large"), format!("leave_taken {n} 太大"))
            }),
            None => self.invalid(
                raw.span(),
                format!("leave_taken must be a count, not {value}"),
                format!("leave_taken 须为天数，不能是 {value}"),
            ),
        };
        match raw.get_ref() {
            toml::Value::Table(months) => months
                .iter()
                .map(|(month, value)| {
                    let parsed = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
                        .ok()
                        .map(|d| month_of(&d))
                        .filter(|m| days.iter().any(|d| month_of(d) == *m));
                    match parsed {
                        Some(m) => Ok((m, count(value)?)),
                        None => self.invalid(
                            raw.span(),
                            format!("leave_taken month `{month}` is not a YYYY-MM the period touches"),
                            format!("leave_taken 的月份 `{month}` 不是排班期涉及的 YYYY-MM"),
                        ),
                    }
                })
                .collect(),
            value => Ok(BTreeMap::from([(month_of(&days[0]), count(value)?)])),
        }
    }

    /// Chains of posts that relieve each other, as each post's chain; a post in two chains is
    /// refused (the two would be one chain, which the supervisor should write as such).
    fn handover_chains(
        &self,
        raw: &[RawPostList],
        post_ids: &HashMap<String, usize>,
    ) -> Result<Vec<Vec<usize>>, InputError> {
        let mut chains: Vec<Vec<usize>> = (0..post_ids.len()).map(|p| vec![p]).collect();
        for chain in raw {
            let posts = chain
                .posts
                .get_ref()
                .iter()
                .map(|p| self.lookup(post_ids, "post", p))
                .collect::<Result<Vec<_>, _>>()?;
            if posts.len() < 2 {
                return self.invalid(
                    chain.posts.span(),
                    "a handover chain links at least two posts".to_owned(),
                    "交接链至少连接两个岗位".to_owned(),
                );
            }
            for (&post, name) in posts.iter().zip(chain.posts.get_ref()) {
                if chains[post].len() > 1 || posts.iter().filter(|&&q| q == post).count() > 1 {
                    return self.invalid(
                        name.span(),
                        format!("post {} is in a handover chain twice", name.get_ref()),
                        format!("岗位 {} 在交接链中出现两次", name.get_ref()),
                    );
                }
            }
            for &post in &posts {
                chains[post].clone_from(&posts);
            }
        }
        Ok(chains)
    }

    fn daily(&self, raw: &RawDaily, ids: &Ids) -> Result<DailyMinimum, InputError> {
        Ok(DailyMinimum {
            role: self.lookup(ids.roles, "role", &raw.role).map(|_| raw.role.get_ref().clone())?,
            min: raw.min,
            posts: raw.posts.iter().map(|p| self.lookup(ids.posts, "post", p)).collect::<Result<Vec<_>, _>>()?,
            day_types: self.day_types(&raw.days)?,
        })
    }

    /// Each number of a contract on its own: hours within a week, never negative.
    fn contract_fields(&self, raw: &RawContract) -> Result<(), InputError> {
        let week = 7.0 * 24.0;
        let hours = [
            ("min_hours_per_week", &raw.min_hours_per_week),
            ("max_hours_per_week", &raw.max_hours_per_week),
            ("min_rest_hours", &raw.min_rest_hours),
        ];
        for (name, value) in hours {
            value.as_ref().map(|v| self.amount(name, v, week)).transpose()?;
        }
        match &raw.max_consecutive_days {
            Some(days) if *days.get_ref() == 0 => self.invalid(
                days.span(),
                "max_consecutive_days must be at least 1".to_owned(),
                "max_consecutive_days 至少为 1".to_owned(),
            ),
            _ => Ok(()),
        }
    }

    /// A person's contract: their own fields over the default's over the built-in defaults, with
    /// the minimum hours at most the maximum (the error points at whichever of the two is theirs).
    fn contract(&self, own: Option<&RawContract>, default: &RawContract) -> Result<Contract, InputError> {
        let pick = |field: fn(&RawContract) -> Option<&S<f64>>| own.and_then(|c| field(c)).or_else(|| field(default));
        let min = pick(|c| c.min_hours_per_week.as_ref());
        let max = pick(|c| c.max_hours_per_week.as_ref());
        let value = |v: Option<&S<f64>>, fallback: f64| v.map_or(fallback, |v| *v.get_ref());
        let consecutive = own.and_then(|c| c.max_consecutive_days.as_ref()).or(default.max_consecutive_days.as_ref());
        let contract = Contract {
            min_hours_per_week: value(min, 0.0),
            max_hours_per_week: value(max, 48.0),
            max_consecutive_days: consecutive.map_or(6, |d| *d.get_ref()),
            min_rest_minutes: (value(pick(|c| c.min_rest_hours.as_ref()), 11.0) * 60.0).round() as u32,
        };
        if contract.min_hours_per_week > contract.max_hours_per_week {
            let own_min = own.is_some_and(|c| c.min_hours_per_week.is_some());
            let span = if own_min { min.or(max) } else { max.or(min) }.map_or(0..0, Spanned::span);
            return self.invalid(
                span,
                format!(
                    "min_hours_per_week {} exceeds max_hours_per_week {}",
                    contract.min_hours_per_week, contract.max_hours_per_week
                ),
                format!(
                    "min_hours_per_week {} 大于 max_hours_per_week {}",
                    contract.min_hours_per_week, contract.max_hours_per_week
                ),
            );
        }
        Ok(contract)
    }
}

struct Ids<'a> {
    posts: &'a HashMap<String, usize>,
    shifts: &'a HashMap<String, usize>,
    roles: &'a HashMap<String, usize>,
    seasons: &'a HashMap<String, usize>,
}

/// The checked `[period]`.
struct Period {
    slot: u32,
    days: Vec<NaiveDate>,
    holidays: BTreeSet<NaiveDate>,
    working_days: BTreeSet<NaiveDate>,
}

fn fmt_window(from: u32, to: u32) -> String {
    format!("{}–{}", crate::model::clock(from), crate::model::clock(to))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
