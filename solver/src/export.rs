//! Files a centre uses as they are: the wide person × date CSV (with a UTF-8 BOM, so Excel on a
//! Chinese Windows reads it), an XLSX workbook with one sheet per week and lunch turns marked,
//! and an iCalendar file per person; all with Chinese labels by default or English ones.
//!
//! Leaves out: the JSON contract and the terminal grid (`output`), which share the cell words
//! defined here.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, XlsxError};

use crate::SolveOutcome;
use crate::model::{DAY_MINUTES, LeaveKind, RosterProblem, clock};
use crate::roster::Roster;

/// The language of labels (headers, weekdays, kinds of day off) and of rule explanations
/// (`words::Words`). Team-file ids and names are printed as written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// Chinese, the default: the centres of the seeds work in Chinese.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Parses `zh` or `en`.
    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// "staff" / "员工".
    pub fn staff(self) -> &'static str {
        self.pick("员工", "staff")
    }

    /// "post" / "岗位".
    pub fn post(self) -> &'static str {
        self.pick("岗位", "post")
    }

    /// "name" / "姓名".
    pub fn name(self) -> &'static str {
        self.pick("姓名", "name")
    }

    /// The weekday: "周一" / "Mon".
    pub fn weekday(self, date: NaiveDate) -> String {
        const ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
        match self {
            Lang::Zh => ZH[date.weekday().num_days_from_monday() as usize].to_owned(),
            Lang::En => date.weekday().to_string(),
        }
    }

    /// The weekday and the date: "周一 06-15" / "Mon 06-15".
    pub fn day(self, date: NaiveDate) -> String {
        format!("{} {}", self.weekday(date), date.format("%m-%d"))
    }

    /// The name of a week's sheet: "第1周 06-15" / "Week 1 06-15".
    pub fn week(self, number: usize, first: NaiveDate) -> String {
        match self {
            Lang::Zh => format!("第{number}周 {}", first.format("%m-%d")),
            Lang::En => format!("Week {number} {}", first.format("%m-%d")),
        }
    }

    fn off(self, kind: LeaveKind) -> &'static str {
        match kind {
            LeaveKind::Leave => self.pick("请假", "leave"),
            LeaveKind::Compensatory => self.pick("调休", "comp"),
            LeaveKind::DayOff => self.pick("休", "-"),
        }
    }

    fn lunch(self) -> &'static str {
        self.pick("午餐", "lunch")
    }
}

/// One person's day in a table: a shift at a post, with its lunch turn, or a kind of day off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    /// "A east_gate" or "调休".
    pub work: String,
    /// "午餐 11:45" when the shift has a lunch turn.
    pub lunch: Option<String>,
}

impl Cell {
    /// The cell on one line.
    pub fn line(&self) -> String {
        match &self.lunch {
            Some(lunch) => format!("{} {lunch}", self.work),
            None => self.work.clone(),
        }
    }
}

/// Every (staff, day) cell of the roster.
pub fn cells(problem: &RosterProblem, roster: &Roster, lang: Lang) -> BTreeMap<(usize, usize), Cell> {
    let mut cells = BTreeMap::new();
    for a in &roster.assignments {
        let work = format!("{} {}", problem.shifts[a.shift].id, problem.posts[a.post].id);
        let lunch = a.lunch.map(|(start, _)| format!("{} {}", lang.lunch(), clock(start)));
        cells.insert((a.staff, a.day), Cell { work, lunch });
    }
    for off in &roster.days_off {
        cells.insert((off.staff, off.day), Cell { work: lang.off(off.kind).to_owned(), lunch: None });
    }
    cells
}

/// Day indices of the period, grouped by calendar week (Monday to Sunday).
pub fn weeks(problem: &RosterProblem) -> Vec<Vec<usize>> {
    let mut weeks = vec![Vec::new(); problem.n_weeks()];
    for day in 0..problem.days.len() {
        weeks[problem.week_of(day)].push(day);
    }
    weeks
}

/// The roster as a wide CSV: one row per person, one column per date, with a UTF-8 byte-order
/// mark so that Excel on a Chinese Windows opens it as UTF-8.
pub fn render_csv(problem: &RosterProblem, outcome: &SolveOutcome, lang: Lang) -> String {
    let cells = cells(problem, &outcome.roster, lang);
    let mut text = String::from('\u{feff}');
    let mut header = vec![lang.staff().to_owned(), lang.name().to_owned()];
    header.extend(problem.days.iter().map(|d| format!("{d} {}", lang.weekday(*d))));
    text.push_str(&csv_row(&header));
    for (staff_idx, staff) in problem.staff.iter().enumerate() {
        let mut row = vec![staff.id.clone(), staff.name.clone()];
        row.extend((0..problem.days.len()).map(|d| cells.get(&(staff_idx, d)).map(Cell::line).unwrap_or_default()));
        text.push_str(&csv_row(&row));
    }
    text
}

fn csv_row(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| if f.contains([',', '"', '\n', '\r']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.clone() })
        .collect();
    format!("{}\r\n", quoted.join(","))
}

/// The roster as an XLSX workbook: one sheet per calendar week, people by days, with lunch turns
/// in a shaded cell and days off in grey.
pub fn render_xlsx(problem: &RosterProblem, outcome: &SolveOutcome, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let cells = cells(problem, &outcome.roster, lang);
    let mut workbook = Workbook::new();
    let header = Format::new().set_bold().set_border(FormatBorder::Thin).set_background_color(Color::RGB(0xD9E1F2));
    let plain = Format::new().set_border(FormatBorder::Thin);
    let lunch = Format::new().set_border(FormatBorder::Thin).set_background_color(Color::RGB(0xFFF2CC));
    let off = Format::new().set_border(FormatBorder::Thin).set_font_color(Color::RGB(0x808080));
    for (number, days) in weeks(problem).iter().enumerate() {
        let sheet = workbook.add_worksheet();
        sheet.set_name(lang.week(number + 1, problem.days[days[0]]))?;
        sheet.write_string_with_format(0, 0, lang.staff(), &header)?;
        sheet.write_string_with_format(0, 1, lang.name(), &header)?;
        sheet.set_column_width(1, 16)?;
        for (col, &day) in days.iter().enumerate() {
            let col = col as u16 + 2;
            sheet.write_string_with_format(0, col, lang.day(problem.days[day]), &header)?;
            sheet.set_column_width(col, 20)?;
        }
        for (row, (staff_idx, staff)) in problem.staff.iter().enumerate().enumerate() {
            let row = row as u32 + 1;
            sheet.write_string_with_format(row, 0, &staff.id, &plain)?;
            sheet.write_string_with_format(row, 1, &staff.name, &plain)?;
            for (col, &day) in days.iter().enumerate() {
                let Some(cell) = cells.get(&(staff_idx, day)) else { continue };
                let format =
                    match (&cell.lunch, outcome.roster.days_off.iter().any(|o| o.staff == staff_idx && o.day == day)) {
                        (Some(_), _) => &lunch,
                        (None, true) => &off,
                        (None, false) => &plain,
                    };
                sheet.write_string_with_format(row, col as u16 + 2, cell.line(), format)?;
            }
        }
        sheet.set_freeze_panes(1, 2)?;
    }
    workbook.save_to_buffer()
}

/// One person's shifts as an iCalendar file (RFC 5545): an event per shift in local (floating)
/// time, the post and lunch turn in its description. Stamps are derived from the period, not
/// the clock, so the same roster gives the same file.
pub fn render_ical(problem: &RosterProblem, roster: &Roster, staff_idx: usize) -> String {
    let staff = &problem.staff[staff_idx];
    let stamp = format!("{}T000000Z", problem.days[0].format("%Y%m%d"));
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//kefu//roster//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        format!("X-WR-CALNAME:{}", ical_text(&format!("{} · {}", problem.name, staff.name))),
    ];
    for a in roster.assignments.iter().filter(|a| a.staff == staff_idx) {
        let (shift, post) = (&problem.shifts[a.shift], &problem.posts[a.post]);
        let mut description = format!("{} {}", shift.name, post.name);
        if let Some((start, end)) = a.lunch {
            let _ = write!(description, "\nlunch {}–{}", clock(start), clock(end));
        }
        lines.extend([
            "BEGIN:VEVENT".to_owned(),
            format!("UID:{}-{}-{}@kefu", staff.id, problem.days[a.day], shift.id),
            format!("DTSTAMP:{stamp}"),
            format!("DTSTART:{}", ical_time(problem, a.start)),
            format!("DTEND:{}", ical_time(problem, a.end)),
            format!("SUMMARY:{}", ical_text(&format!("{} {}", shift.id, post.name))),
            format!("DESCRIPTION:{}", ical_text(&description)),
            "END:VEVENT".to_owned(),
        ]);
    }
    lines.push("END:VCALENDAR".to_owned());
    lines.iter().map(|l| fold(l)).collect()
}

/// `YYYYMMDDTHHMMSS` of a horizon minute, local time.
fn ical_time(problem: &RosterProblem, minutes: u32) -> String {
    let date = problem.days[0] + chrono::Days::new(u64::from(minutes / DAY_MINUTES));
    let m = minutes % DAY_MINUTES;
    format!("{}T{:02}{:02}00", date.format("%Y%m%d"), m / 60, m % 60)
}

/// Escapes a TEXT value: backslash, semicolon, comma and newline.
fn ical_text(text: &str) -> String {
    text.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace('\n', "\\n")
}

/// Folds a content line at 75 octets, never inside a character, ending each with CRLF.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for ch in line.chars() {
        if width + ch.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += ch.len_utf8();
    }
    out.push_str("\r\n");
    out
}
