//! The files a centre opens, parsed back: the wide CSV (BOM, a row per person, a column per
//! date), the XLSX workbook (a sheet per week, lunch turns shaded) and the iCal file per person,
//! each checked cell by cell against the solved roster of `seed_rules.toml`.

use std::collections::BTreeMap;
use std::io::Read;

use kefu_solver::export::{Lang, render_csv, render_ical, render_xlsx};
use kefu_solver::model::DAY_MINUTES;

use crate::seed_rules::solved;

/// What the roster says of (staff id, date): "D desk 午餐 12:00", "调休", "休".
fn expected_cells(lunch_word: &str, off: [&str; 3]) -> BTreeMap<(String, String), String> {
    let solved = solved();
    let mut cells = BTreeMap::new();
    for a in &solved.json.assignments {
        let lunch = a.lunch.as_ref().map(|l| format!(" {lunch_word} {}", &l.start[11..])).unwrap_or_default();
        cells.insert((a.staff.clone(), a.date.clone()), format!("{} {}{lunch}", a.shift, a.post));
    }
    for l in &solved.json.leave {
        let word = match l.kind.as_str() {
            "leave" => off[0],
            "compensatory" => off[1],
            _ => off[2],
        };
        cells.insert((l.staff.clone(), l.date.clone()), word.to_owned());
    }
    cells
}

#[test]
fn the_csv_is_a_person_by_date_table_with_a_bom_in_either_language() {
    let solved = solved();
    for (lang, header, lunch, off) in [
        (Lang::Zh, ["员工", "姓名", "2026-04-27 周一"], "午餐", ["请假", "调休", "休"]),
        (Lang::En, ["staff", "name", "2026-04-27 Mon"], "lunch", ["leave", "comp", "-"]),
    ] {
        let text = render_csv(&solved.problem, &solved.outcome, lang);
        let text = text.strip_prefix('\u{feff}').expect("BOM");
        let rows: Vec<Vec<&str>> = text.split_terminator("\r\n").map(|l| l.split(',').collect()).collect();
        assert_eq!(&rows[0][..3], header);
        assert_eq!(rows[0].len(), 2 + 14, "two weeks of dates");
        assert_eq!(rows.len(), 1 + solved.problem.staff.len());
        let expected = expected_cells(lunch, off);
        for row in &rows[1..] {
            for (date_header, cell) in rows[0][2..].iter().zip(&row[2..]) {
                let date = &date_header[..10];
                assert_eq!(Some(*cell), expected.get(&(row[0].to_owned(), date.to_owned())).map(String::as_str));
            }
        }
    }
}

/// The named file of the XLSX zip container, as text.
fn part(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip container");
    let mut text = String::new();
    archive.by_name(name).expect(name).read_to_string(&mut text).expect("utf-8");
    text
}

#[test]
fn the_workbook_has_a_sheet_per_week_with_every_cell_and_lunch_shaded() {
    let solved = solved();
    let bytes = render_xlsx(&solved.problem, &solved.outcome, Lang::Zh).expect("workbook");
    let workbook = part(&bytes, "xl/workbook.xml");
    assert!(workbook.contains("name=\"第1周 04-27\"") && workbook.contains("name=\"第2周 05-04\""), "{workbook}");
    assert!(!workbook.contains("第3周"));
    let strings = part(&bytes, "xl/sharedStrings.xml");
    // Every cell's words are in the workbook, and the lunch fill is one of its styles.
    for cell in expected_cells("午餐", ["请假", "调休", "休"]).values() {
        assert!(strings.contains(&format!(">{cell}<")), "{cell} missing");
    }
    assert!(part(&bytes, "xl/styles.xml").contains("FFFFF2CC"), "the lunch shade");
    let first_week = part(&bytes, "xl/worksheets/sheet1.xml");
    assert_eq!(first_week.matches("<row ").count(), 1 + solved.problem.staff.len());
}

#[test]
fn each_person_gets_a_calendar_with_an_event_per_shift() {
    let solved = solved();
    let staff_idx = solved.problem.staff.iter().position(|s| s.id == "m1").expect("m1");
    let text = render_ical(&solved.problem, &solved.outcome.roster, staff_idx);
    assert!(text.split("\r\n").all(|l| l.len() <= 75), "lines folded at 75 octets");
    let unfolded = text.replace("\r\n ", "");
    let starts: Vec<&str> = unfolded.lines().filter_map(|l| l.strip_prefix("DTSTART:")).collect();
    let mine: Vec<_> = solved.outcome.roster.assignments.iter().filter(|a| a.staff == staff_idx).collect();
    assert_eq!(starts.len(), mine.len());
    for (start, a) in starts.iter().zip(&mine) {
        let date = solved.problem.days[0] + chrono::Days::new(u64::from(a.start / DAY_MINUTES));
        let minute = a.start % DAY_MINUTES;
        assert_eq!(*start, format!("{}T{:02}{:02}00", date.format("%Y%m%d"), minute / 60, minute % 60));
    }
    assert_eq!(unfolded.matches("BEGIN:VEVENT").count(), unfolded.matches("END:VEVENT").count());
    // The same roster gives the same file: no clock in it.
    assert_eq!(text, render_ical(&solved.problem, &solved.outcome.roster, staff_idx));
}
