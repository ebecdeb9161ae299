//! A roster laid out for the page, one table per calendar week: by person (shift, post and lunch
//! turn per day) and by post (who works there each day), with the checker's violations listed
//! and the cells they concern flagged.
//!
//! Which cells a violation concerns is read from what the checker says: a time (`at` =
//! `2026-03-04T20:30`) flags that day, and the post named in its words; a person (`at` = staff
//! id) flags their row, and their days whose dates the words name.
//!
//! The violations come from the stored roster (the checker ran when the solver made it and
//! again at each hand move), so showing a roster does not re-run the checker.
//!
//! Leaves out: finding violations (`kefu_solver::check`) and the cell texts (`kefu_solver::export`).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use kefu_solver::export::{self, Lang};
use kefu_solver::output::ViolationJson;
use kefu_solver::{Roster, RosterProblem};

/// One day's column head.
pub struct DayHead {
    /// `2026-03-02`.
    pub date: String,
    /// `周一 03-02`.
    pub label: String,
    /// A violation concerns this day.
    pub flagged: bool,
}

/// One person's day.
pub struct PersonCell {
    /// `D desk`, or the kind of day off.
    pub work: String,
    /// `午餐 12:00` when the shift has a lunch turn.
    pub lunch: Option<String>,
    /// `work`, `off` (a plain day off) or `leave` (leave or 调休).
    pub kind: &'static str,
    /// A violation concerns it.
    pub flagged: bool,
}

/// One person's week.
pub struct PersonRow {
    /// Staff id.
    pub id: String,
    /// Name.
    pub name: String,
    /// A violation concerns the person.
    pub flagged: bool,
    /// Their days, in the week's order.
    pub cells: Vec<PersonCell>,
}

/// Who works at a post on one day.
pub struct PostCell {
    /// `(name and shift, lunch turn)` per person.
    pub people: Vec<(String, Option<String>)>,
    /// A violation concerns the post that day.
    pub flagged: bool,
}

/// One post's week.
pub struct PostRow {
    /// Post id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Its days.
    pub cells: Vec<PostCell>,
}

/// One calendar week of the roster.
pub struct Week {
    /// `第1周 03-02`.
    pub title: String,
    /// Its days.
    pub days: Vec<DayHead>,
    /// By person.
    pub people: Vec<PersonRow>,
    /// By post.
    pub posts: Vec<PostRow>,
}

/// Which people, days and cells the violations concern.
#[derive(Default)]
struct Flags {
    days: HashSet<usize>,
    staff: HashSet<usize>,
    staff_days: HashSet<(usize, usize)>,
    post_days: HashSet<(usize, usize)>,
}

fn flags(problem: &RosterProblem, violations: &[ViolationJson]) -> Flags {
    let mut flags = Flags::default();
    let day_of = |text: &str| {
        text.get(..10)
            .and_then(|date| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
            .and_then(|date| problem.day_index(date))
    };
    for violation in violations {
        if let Some(day) = day_of(&violation.at) {
            flags.days.insert(day);
            for (post_idx, post) in problem.posts.iter().enumerate() {
                if violation.detail.contains(&format!(" {} ", post.name))
                    || violation.detail.contains(&format!(" {}:", post.name))
                {
                    flags.post_days.insert((post_idx, day));
                }
            }
        } else if let Some(staff_idx) = problem.staff.iter().position(|staff| staff.id == violation.at) {
            flags.staff.insert(staff_idx);
            for (day, date) in problem.days.iter().enumerate() {
                if violation.detail.contains(&date.to_string()) {
                    flags.staff_days.insert((staff_idx, day));
                    flags.days.insert(day);
                }
            }
        }
    }
    flags
}

/// The roster's weeks, laid out.
pub fn weeks(problem: &RosterProblem, roster: &Roster, violations: &[ViolationJson], lang: Lang) -> Vec<Week> {
    let cells = export::cells(problem, roster, lang);
    let flags = flags(problem, violations);
    let off_kinds: HashMap<(usize, usize), kefu_solver::model::LeaveKind> =
        roster.days_off.iter().map(|off| ((off.staff, off.day), off.kind)).collect();
    // The export's cell holds one shift a day; a hand move may have given someone two, and
    // both are shown (the checker flags the day).
    let mut shifts: HashMap<(usize, usize), Vec<String>> = HashMap::new();
    for a in &roster.assignments {
        let work = format!("{} {}", problem.shifts[a.shift].id, problem.posts[a.post].id);
        shifts.entry((a.staff, a.day)).or_default().push(work);
    }
    export::weeks(problem)
        .into_iter()
        .enumerate()
        .map(|(number, days)| {
            let heads: Vec<DayHead> = days
                .iter()
                .map(|&day| DayHead {
                    date: problem.days[day].to_string(),
                    label: lang.day(problem.days[day]),
                    flagged: flags.days.contains(&day),
                })
                .collect();
            let people = problem
                .staff
                .iter()
                .enumerate()
                .map(|(staff_idx, staff)| PersonRow {
                    id: staff.id.clone(),
                    name: staff.name.clone(),
                    flagged: flags.staff.contains(&staff_idx),
                    cells: days
                        .iter()
                        .map(|&day| {
                            let cell = cells.get(&(staff_idx, day));
                            let kind = match off_kinds.get(&(staff_idx, day)) {
                                None => "work",
                                Some(kefu_solver::model::LeaveKind::DayOff) => "off",
                                Some(_) => "leave",
                            };
                            PersonCell {
                                work: match shifts.get(&(staff_idx, day)) {
                                    Some(works) if works.len() > 1 => works.join(" + "),
                                    _ => cell.map(|cell| cell.work.clone()).unwrap_or_default(),
                                },
                                lunch: cell.and_then(|cell| cell.lunch.clone()),
                                kind,
                                flagged: flags.staff_days.contains(&(staff_idx, day)),
                            }
                        })
                        .collect(),
                })
                .collect();
            let posts = problem
                .posts
                .iter()
                .enumerate()
                .map(|(post_idx, post)| PostRow {
                    id: post.id.clone(),
                    name: post.name.clone(),
                    cells: days
                        .iter()
                        .map(|&day| PostCell {
                            people: roster
                                .assignments
                                .iter()
                                .filter(|a| a.post == post_idx && a.day == day)
                                .map(|a| {
                                    let who = format!("{} {}", problem.staff[a.staff].name, problem.shifts[a.shift].id);
                                    let lunch = cells.get(&(a.staff, day)).and_then(|cell| cell.lunch.clone());
                                    (who, lunch)
                                })
                                .collect(),
                            flagged: flags.post_days.contains(&(post_idx, day)),
                        })
                        .collect(),
                })
                .collect();
            Week { title: lang.week(number + 1, problem.days[days[0]]), days: heads, people, posts }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_solver::generate::{CentreSpec, centre_toml};

    #[test]
    fn a_breach_flags_the_person_and_the_day_it_names() {
        let spec = CentreSpec {
            n_staff: 8,
            n_days: 7,
            start: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            slot_minutes: 30,
            seed: 7,
            extra_demand: 0,
        };
        let problem = kefu_solver::parse_team(&centre_toml(&spec)).unwrap();
        let mut roster = Roster::default();
        let (shift, post) = (0, problem.shifts[0].posts.first().copied().unwrap_or(0));
        let (start, end) = (problem.shifts[shift].start, problem.shifts[shift].end);
        for day in [2, 2] {
            roster.assignments.push(kefu_solver::roster::Assignment {
                staff: 1,
                day,
                shift,
                post,
                start: start + day as u32 * 1440,
                end: end + day as u32 * 1440,
                lunch: None,
            });
        }
        let violations: Vec<ViolationJson> =
            kefu_solver::check(&problem, &roster).into_iter().map(|v| ViolationJson::of(&v)).collect();
        let twice = violations.iter().find(|v| v.rule == "one_shift_per_day").expect("two shifts on one day");
        assert_eq!(twice.at, problem.staff[1].id);
        let weeks = weeks(&problem, &roster, &violations, Lang::En);
        assert_eq!(weeks.len(), 1);
        let row = &weeks[0].people[1];
        assert!(row.flagged);
        assert!(row.cells[2].flagged, "the day the words name");
        assert!(row.cells[2].work.contains(" + "), "both shifts shown: {}", row.cells[2].work);
        assert!(!row.cells[3].flagged);
        assert!(weeks[0].days.iter().any(|day| day.flagged));
        assert!(weeks[0].posts.iter().any(|post| post.cells.iter().any(|cell| cell.flagged)), "short posts flagged");
    }
}
