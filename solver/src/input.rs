//! Reads a team file (TOML) into a `RosterProblem`, checking every id and time window and
//! reporting problems with their line and column.
//!
//! Leaves out: the meaning of the rules (`model`, `rules`); the raw serde structs here are private
//! and exist only to carry spans. The format is documented by `solver/examples/*.toml`.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use chrono::{NaiveDate, Weekday};
use serde::Deserialize;
use toml::Spanned;

use crate::error::{InputError, InputErrorKind};
use crate::model::{
    ApprovedLeave, Contract, DAY_MINUTES, DayType, LeaveKind, LunchRule, Need, Post, Preference, RosterProblem, Rules,
    Season, ShiftTemplate, Staff, Weights,
};

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTeam {
    name: String,
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
    leave_day_hours: f64,
    #[serde(default = "no_handover")]
    handover_minutes: S<u32>,
    #[serde(default)]
    rotation: Vec<RawRotation>,
    #[serde(default)]
    weights: RawWeights,
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
fn eight() -> f64 {
    8.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLunch {
    window: S<[String; 2]>,
    length_minutes: S<u32>,
    #[serde(default)]
    by_season: Vec<RawSeasonalWindow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeasonalWindow {
    season: S<String>,
    window: S<[String; 2]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRotation {
    posts: S<Vec<S<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawWeights {
    coverage: f64,
    hours: f64,
    desired: f64,
    refused_request: f64,
    fairness: f64,
    paid_hour: f64,
}

impl Default for RawWeights {
    fn default() -> Self {
        RawWeights {
            coverage: 1000.0,
            hours: 100.0,
            desired: 5.0,
            refused_request: 20.0,
            fairness: 3.0,
            paid_hour: 0.1,
        }
    }
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawContract {
    min_hours_per_week: Option<f64>,
    max_hours_per_week: Option<f64>,
    max_consecutive_days: Option<u32>,
    min_rest_hours: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPost {
    id: S<String>,
    name: Option<String>,
    #[serde(default)]
    need: Vec<RawNeed>,
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
    roles: Vec<String>,
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
    roles: Vec<String>,
    posts: Vec<S<String>>,
    #[serde(default)]
    contract: Option<S<RawContract>>,
    #[serde(default)]
    days_off: Vec<S<String>>,
    #[serde(default)]
    leave: Vec<RawLeave>,
    #[serde(default)]
    leave_taken: u32,
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
    weekday: Option<S<String>>,
    date: Option<S<String>>,
    #[serde(default)]
    want: bool,
    weight: f64,
}

/// Parses and checks a team file. Every error names the line and column of the bad value.
pub fn parse_team(text: &str) -> Result<RosterProblem, InputError> {
    let raw: RawTeam = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        Ctx { text }.err(span, InputErrorKind::Syntax(e.message().trim().to_owned()))
    })?;
    Ctx { text }.build(raw)
}

/// Turns byte spans into line and column; carries the source for every check.
struct Ctx<'a> {
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, kind: InputErrorKind) -> InputError {
        let (line, column) = line_column(self.text, span.start);
        InputError { line, column, kind }
    }

    fn invalid<T>(&self, span: Range<usize>, message: String) -> Result<T, InputError> {
        Err(self.err(span, InputErrorKind::Invalid(message)))
    }

    fn window<T>(&self, span: Range<usize>, message: String) -> Result<T, InputError> {
        Err(self.err(span, InputErrorKind::ImpossibleWindow(message)))
    }

    fn date(&self, value: &S<String>) -> Result<NaiveDate, InputError> {
        NaiveDate::parse_from_str(value.get_ref(), "%Y-%m-%d")
            .or_else(|_| self.invalid(value.span(), format!("bad date `{}`, expected YYYY-MM-DD", value.get_ref())))
    }

    /// Parses `HH:MM` (24:00 allowed) and checks it lies on the grid.
    fn time(&self, value: &S<String>, slot: u32) -> Result<u32, InputError> {
        let text = value.get_ref();
        let parsed = text
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
            .filter(|(h, m)| *m < 60 && (*h < 24 || (*h == 24 && *m == 0)));
        let Some((h, m)) = parsed else {
            return self.invalid(value.span(), format!("bad time `{text}`, expected HH:MM"));
        };
        let minutes = h * 60 + m;
        if !minutes.is_multiple_of(slot) {
            return self.window(value.span(), format!("{text} is not on the {slot}-minute grid"));
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
            return self.window(from.span(), format!("{} starts at the end of the day", from.get_ref()));
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
                ),
            })
            .collect()
    }

    fn weekday(&self, value: &S<String>) -> Result<Weekday, InputError> {
        value
            .get_ref()
            .parse::<Weekday>()
            .or_else(|_| self.invalid(value.span(), format!("unknown weekday `{}`", value.get_ref())))
    }

    fn lookup(&self, ids: &HashMap<String, usize>, what: &'static str, value: &S<String>) -> Result<usize, InputError> {
        ids.get(value.get_ref())
            .copied()
            .ok_or_else(|| self.err(value.span(), InputErrorKind::UnknownId { what, id: value.get_ref().clone() }))
    }

    fn index(&self, what: &'static str, values: &[&S<String>]) -> Result<HashMap<String, usize>, InputError> {
        let mut ids = HashMap::new();
        for (idx, value) in values.iter().enumerate() {
            if ids.insert(value.get_ref().clone(), idx).is_some() {
                return Err(self.err(value.span(), InputErrorKind::DuplicateId { what, id: value.get_ref().clone() }));
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
            || self.invalid(value.span(), format!("bad season day `{}`, expected MM-DD", value.get_ref())),
            Ok,
        )
    }

    fn build(&self, raw: RawTeam) -> Result<RosterProblem, InputError> {
        let slot = *raw.period.slot_minutes.get_ref();
        if slot != 15 && slot != 30 {
            return self.invalid(raw.period.slot_minutes.span(), format!("slot_minutes must be 15 or 30, not {slot}"));
        }
        let first = self.date(&raw.period.start)?;
        let last = self.date(&raw.period.end)?;
        if last < first {
            return self.window(raw.period.end.span(), format!("period ends {last} before it starts {first}"));
        }
        let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
        let holidays = raw.period.holidays.iter().map(|h| self.date(h)).collect::<Result<BTreeSet<_>, _>>()?;

        let season_ids = self.index("season", &raw.seasons.iter().map(|s| &s.id).collect::<Vec<_>>())?;
        let seasons = raw
            .seasons
            .iter()
            .map(|s| {
                Ok(Season { id: s.id.get_ref().clone(), from: self.month_day(&s.from)?, to: self.month_day(&s.to)? })
            })
            .collect::<Result<Vec<_>, InputError>>()?;

        let post_ids = self.index("post", &raw.posts.iter().map(|p| &p.id).collect::<Vec<_>>())?;
        let posts = raw.posts.iter().map(|p| self.post(p, slot, &season_ids)).collect::<Result<Vec<_>, _>>()?;
        let shift_ids = self.index("shift", &raw.shifts.iter().map(|s| &s.id).collect::<Vec<_>>())?;
        let shifts = raw.shifts.iter().map(|s| self.shift(s, slot, &post_ids)).collect::<Result<Vec<_>, _>>()?;
        let rules = self.rules(&raw.rules, slot, &season_ids, &post_ids)?;

        let default_contract = raw.default_contract.clone().unwrap_or(RawContract {
            min_hours_per_week: None,
            max_hours_per_week: None,
            max_consecutive_days: None,
            min_rest_hours: None,
        });
        self.index("staff", &raw.staff.iter().map(|s| &s.id).collect::<Vec<_>>())?;
        let ids = Ids { posts: &post_ids, shifts: &shift_ids };
        let staff =
            raw.staff.iter().map(|s| self.staff(s, &default_contract, &ids, &days)).collect::<Result<Vec<_>, _>>()?;

        Ok(RosterProblem { name: raw.name, days, slot_minutes: slot, holidays, seasons, posts, shifts, staff, rules })
    }

    fn post(&self, raw: &RawPost, slot: u32, season_ids: &HashMap<String, usize>) -> Result<Post, InputError> {
        let needs = raw
            .need
            .iter()
            .map(|n| {
                let (from, to) = self.span_of(&n.from, &n.to, slot)?;
                let desired = n.desired.as_ref().map_or(n.min, |d| *d.get_ref());
                if desired < n.min {
                    let span = n.desired.as_ref().map_or(0..0, |d| d.span());
                    return self.invalid(span, format!("desired {desired} is below min {}", n.min));
                }
                let season = n.season.as_ref().map(|s| self.lookup(season_ids, "season", s)).transpose()?;
                Ok(Need { day_types: self.day_types(&n.days)?, season, from, to, min: n.min, desired })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let id = raw.id.get_ref().clone();
        Ok(Post { name: raw.name.clone().unwrap_or_else(|| id.clone()), id, needs })
    }

    fn shift(&self, raw: &RawShift, slot: u32, post_ids: &HashMap<String, usize>) -> Result<ShiftTemplate, InputError> {
        let (start, end) = self.span_of(&raw.start, &raw.end, slot)?;
        let posts = raw.posts.iter().map(|p| self.lookup(post_ids, "post", p)).collect::<Result<Vec<_>, _>>()?;
        let posts = if posts.is_empty() { (0..post_ids.len()).collect() } else { posts };
        let paid_minutes = match &raw.paid_hours {
            Some(h) if !(0.0..=24.0).contains(h.get_ref()) => {
                return self.invalid(h.span(), format!("paid_hours {} is not between 0 and 24", h.get_ref()));
            }
            Some(h) => (h.get_ref() * 60.0).round() as u32,
            None => end - start,
        };
        let id = raw.id.get_ref().clone();
        Ok(ShiftTemplate {
            name: raw.name.clone().unwrap_or_else(|| id.clone()),
            id,
            start,
            end,
            roles: raw.roles.clone(),
            posts,
            day_types: self.day_types(&raw.days)?,
            lunch: raw.lunch,
            night: raw.night,
            paid_minutes,
        })
    }

    fn rules(
        &self,
        raw: &RawRules,
        slot: u32,
        season_ids: &HashMap<String, usize>,
        post_ids: &HashMap<String, usize>,
    ) -> Result<Rules, InputError> {
        let length = *raw.lunch.length_minutes.get_ref();
        if length == 0 || !length.is_multiple_of(slot) {
            return self.window(
                raw.lunch.length_minutes.span(),
                format!("lunch of {length} minutes is not a whole number of {slot}-minute slots"),
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
        let rotations = raw
            .rotation
            .iter()
            .map(|r| match r.posts.get_ref().as_slice() {
                [a, b] => Ok([self.lookup(post_ids, "post", a)?, self.lookup(post_ids, "post", b)?]),
                _ => self.invalid(r.posts.span(), "a rotation swaps exactly two posts".to_owned()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let handover = *raw.handover_minutes.get_ref();
        if handover >= 4 * 60 {
            return self.invalid(
                raw.handover_minutes.span(),
                format!("handover of {handover} minutes is longer than any shift change"),
            );
        }
        let duty_day_start = match &raw.duty_day_start {
            Some(t) => self.time(t, slot)?,
            None => 0,
        };
        let w = &raw.weights;
        Ok(Rules {
            min_on_duty: raw.min_on_duty,
            duty_day_start,
            lunch: LunchRule { window, by_season, length },
            max_leave_per_month: raw.max_leave_per_month,
            leave_day_hours: raw.leave_day_hours,
            handover_minutes: handover,
            rotations,
            weights: Weights {
                coverage: w.coverage,
                hours: w.hours,
                desired: w.desired,
                refused_request: w.refused_request,
                fairness: w.fairness,
                paid_hour: w.paid_hour,
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
                self.window(value.span(), format!("{date} is outside the period"))
            }
        };
        let posts = raw.posts.iter().map(|p| self.lookup(ids.posts, "post", p)).collect::<Result<Vec<_>, _>>()?;
        let mut leave: Vec<ApprovedLeave> = Vec::new();
        for entry in &raw.leave {
            let date = in_period(&entry.date)?;
            if leave.iter().any(|l| l.date == date) {
                return Err(self.err(
                    entry.date.span(),
                    InputErrorKind::OverlappingLeave { staff: id.clone(), date: date.to_string() },
                ));
            }
            let kind = match entry.kind.get_ref().as_str() {
                "leave" => LeaveKind::Leave,
                "compensatory" => LeaveKind::Compensatory,
                other => {
                    return self.invalid(
                        entry.kind.span(),
                        format!("unknown leave kind `{other}`, expected leave or compensatory"),
                    );
                }
            };
            leave.push(ApprovedLeave { date, kind });
        }
        let requests = raw.requests.iter().map(&in_period).collect::<Result<Vec<_>, _>>()?;
        if let Some((request, _)) =
            raw.requests.iter().zip(&requests).find(|(_, d)| leave.iter().any(|l| l.date == **d))
        {
            return Err(self.err(
                request.span(),
                InputErrorKind::OverlappingLeave { staff: id.clone(), date: request.get_ref().clone() },
            ));
        }
        let preferences = raw
            .prefer
            .iter()
            .map(|p| {
                Ok(Preference {
                    shift: p.shift.as_ref().map(|s| self.lookup(ids.shifts, "shift", s)).transpose()?,
                    weekday: p.weekday.as_ref().map(|w| self.weekday(w)).transpose()?,
                    date: p.date.as_ref().map(|d| self.date(d)).transpose()?,
                    want: p.want,
                    weight: p.weight,
                })
            })
            .collect::<Result<Vec<_>, InputError>>()?;
        let contract = self.contract(raw.contract.as_ref(), default)?;
        Ok(Staff {
            name: raw.name.clone().unwrap_or_else(|| id.clone()),
            id,
            roles: raw.roles.clone(),
            posts,
            contract,
            days_off: raw.days_off.iter().map(|d| self.weekday(d)).collect::<Result<_, _>>()?,
            leave,
            leave_taken: raw.leave_taken,
            requests,
            preferences,
            rotation_start: raw.rotation_start.as_ref().map(|p| self.lookup(ids.posts, "post", p)).transpose()?,
        })
    }

    fn contract(&self, own: Option<&S<RawContract>>, default: &RawContract) -> Result<Contract, InputError> {
        let span = own.map_or(0..0, |c| c.span());
        let pick = |f: fn(&RawContract) -> Option<f64>| own.and_then(|c| f(c.get_ref())).or(f(default));
        let contract = Contract {
            min_hours_per_week: pick(|c| c.min_hours_per_week).unwrap_or(0.0),
            max_hours_per_week: pick(|c| c.max_hours_per_week).unwrap_or(48.0),
            max_consecutive_days: pick(|c| c.max_consecutive_days.map(f64::from)).unwrap_or(6.0) as u32,
            min_rest_minutes: (pick(|c| c.min_rest_hours).unwrap_or(11.0) * 60.0).round() as u32,
        };
        if contract.min_hours_per_week > contract.max_hours_per_week {
            return self.invalid(
                span,
                format!(
                    "min_hours_per_week {} exceeds max_hours_per_week {}",
                    contract.min_hours_per_week, contract.max_hours_per_week
                ),
            );
        }
        if contract.max_consecutive_days == 0 {
            return self.invalid(span, "max_consecutive_days must be at least 1".to_owned());
        }
        Ok(contract)
    }
}

struct Ids<'a> {
    posts: &'a HashMap<String, usize>,
    shifts: &'a HashMap<String, usize>,
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
