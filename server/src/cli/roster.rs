//! `kefu roster solve` and `kefu roster check`: read a team file, solve or validate, print JSON,
//! CSV or a grid (per week, by person or post), and write XLSX and iCal files. On stderr, unless `--quiet`: the elapsed time every few seconds while HiGHS
//! works, and best, bound and gap as each search ends.
//!
//! Leaves out: every rule and the output formats themselves (kefu-solver owns both).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use kefu_solver::export::{self, Lang};
use kefu_solver::output::{self, GridView};
use kefu_solver::{Progress, RosterProblem, Search, SolveConfig, SolveOutcome, Status};

use super::EXIT_VIOLATIONS;

/// Roster commands.
#[derive(Debug, Subcommand)]
pub enum RosterCommand {
    /// Build the roster of a team file and print it.
    Solve(SolveArgs),
    /// Check a roster (the JSON of `solve --json`) against a team file and list every breach.
    Check(CheckArgs),
    /// Print the team file of a synthetic centre (six posts), for trials and benchmarks.
    Generate(GenerateArgs),
    /// Solve a Curtois & Qu benchmark instance (InstanceN.txt) and print its schedule.
    Nrp(super::nrp::NrpArgs),
    /// Judge a schedule of a Curtois & Qu instance: objective and every hard-constraint breach.
    NrpEval(super::nrp::NrpEvalArgs),
}

/// Flags of `kefu roster generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Team size.
    #[arg(long, default_value_t = 60)]
    pub staff: usize,
    /// Period length in days, starting on Monday 2026-03-02.
    #[arg(long, default_value_t = 28)]
    pub days: usize,
    /// Grid step in minutes (15 or 30).
    #[arg(long, default_value_t = 30)]
    pub slot: u32,
    /// Seed of leave, days off and wishes.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Added to every post minimum, to make a short-staffed centre.
    #[arg(long, default_value_t = 0)]
    pub extra_demand: u32,
}

/// Exit code when every hard rule is met but the limit stopped the proof of the gap.
const EXIT_FEASIBLE: u8 = 4;
/// Exit code when no roster meeting every hard rule was found in time, nor proven impossible.
const EXIT_TIME_LIMIT: u8 = 5;

/// Flags of `kefu roster solve`.
#[derive(Debug, Args)]
#[command(after_help = "Exit status, one per outcome (the roster is printed in every case):
  0  optimal     every hard rule met, gap proven within --gap
  3  infeasible  proven: no roster can meet every hard rule; the fewest breaches found are listed
  4  feasible    every hard rule met; the time limit stopped the proof, the gap is stated
  5  time_limit  no roster meeting every rule found in time, none proven impossible: more
                 time may find one; the best attempt is printed with its breaches
  1  error (unreadable or bad team file), 2  usage error")]
pub struct SolveArgs {
    /// Team file (TOML); see solver/examples/.
    pub team: PathBuf,
    /// Print the JSON output contract.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print a CSV with a UTF-8 BOM: one row per person, one column per date.
    #[arg(long)]
    pub csv: bool,
    /// The grid's rows: `person` (shift, post and lunch per day) or `post` (who works there).
    #[arg(long, value_name = "VIEW", default_value = "person", value_parser = grid_view)]
    pub by: GridView,
    /// Labels in `zh` (Chinese, the default) or `en`: grid, CSV and XLSX headers, weekdays, days off,
    /// and the violations' words.
    #[arg(long, value_name = "LANG", default_value = "zh", value_parser = lang)]
    pub lang: Lang,
    /// Also write the roster as an XLSX workbook, one sheet per week, lunch turns shaded.
    #[arg(long, value_name = "FILE")]
    pub xlsx: Option<PathBuf>,
    /// Also write one iCalendar file per person, `<staff id>.ics`, into this directory.
    #[arg(long, value_name = "DIR")]
    pub ical: Option<PathBuf>,
    /// Stop after this many seconds and return the best roster found.
    #[arg(long, value_name = "S", default_value_t = 60.0, value_parser = positive_seconds)]
    pub time_limit: f64,
    /// Stop when the relative gap to the proven bound is at most this (0.01 = 1 %).
    #[arg(long, value_name = "G", default_value_t = 0.01, value_parser = relative_gap)]
    pub gap: f64,
    /// HiGHS threads. With the default of 1 the same team file gives the same roster on every
    /// run that ends on the gap; more threads may search faster but not repeatably.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub threads: u32,
    /// Seed of the search (its neighbourhoods and HiGHS): with one thread, the same seed gives
    /// the same roster on every run whose searches end on their gaps.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: i32,
    /// Print nothing on stderr but warnings and errors: no start line, no progress, no verdict.
    #[arg(long)]
    pub quiet: bool,
    /// Stop as soon as process PID is no longer this one's parent. The console's solves use it,
    /// so a server killed outright leaves no solver burning a core until its time limit.
    #[arg(long, value_name = "PID")]
    pub stop_with: Option<u32>,
}

/// Arguments of `kefu roster check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Team file (TOML).
    pub team: PathBuf,
    /// Roster file: the JSON printed by `kefu roster solve --json`.
    pub roster: PathBuf,
    /// Violations in `zh` (Chinese, the default) or `en`.
    #[arg(long, value_name = "LANG", default_value = "zh", value_parser = lang)]
    pub lang: Lang,
}

/// Runs a roster command.
pub fn run(command: RosterCommand) -> anyhow::Result<ExitCode> {
    match command {
        RosterCommand::Solve(args) => solve(&args),
        RosterCommand::Check(args) => check(&args),
        RosterCommand::Nrp(args) => super::nrp::solve(&args),
        RosterCommand::NrpEval(args) => super::nrp::eval(&args),
        RosterCommand::Generate(args) => {
            let start = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).context("start date")?;
            let spec = kefu_solver::generate::CentreSpec {
                n_staff: args.staff,
                n_days: args.days,
                start,
                slot_minutes: args.slot,
                seed: args.seed,
                extra_demand: args.extra_demand,
            };
            print!("{}", kefu_solver::generate::centre_toml(&spec));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads and checks a team file; its warnings go to stderr, so that `check` shows them too.
fn read_team(path: &Path) -> anyhow::Result<RosterProblem> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read team file {}", path.display()))?;
    let problem = kefu_solver::parse_team(&text).with_context(|| format!("bad team file {}", path.display()))?;
    for warning in &problem.warnings {
        eprintln!("kefu: warning: {}: {warning}", path.display());
    }
    Ok(problem)
}

fn solve(args: &SolveArgs) -> anyhow::Result<ExitCode> {
    if let Some(parent) = args.stop_with {
        stop_with(parent);
    }
    let problem = read_team(&args.team)?;
    let config = SolveConfig {
        time_limit: args.time_limit,
        mip_gap: args.gap,
        threads: args.threads,
        seed: args.seed,
        ..SolveConfig::default()
    };
    let outcome = if args.quiet {
        kefu_solver::solve(&problem, &config)
    } else {
        eprintln!(
            "kefu: solving {} ({} staff, {} days; limit {} s, gap {} %, threads {})",
            problem.name,
            problem.staff.len(),
            problem.days.len(),
            args.time_limit,
            args.gap * 100.0,
            args.threads
        );
        with_progress(|| {
            kefu_solver::solve_reporting(&problem, &config, &mut |p| eprintln!("kefu: {}", progress_line(p)))
        })
    }
    .context("solving the roster")?;
    let text = if args.json {
        serde_json::to_string_pretty(&output::outcome_json(&problem, &outcome))? + "\n"
    } else if args.csv {
        export::render_csv(&problem, &outcome, args.lang)
    } else {
        output::render_grid(&problem, &outcome, args.by, args.lang)
    };
    print!("{text}");
    write_files(args, &problem, &outcome)?;
    if !args.quiet {
        eprintln!("kefu: {} (after {:.1} s)", output::verdict(&outcome), outcome.solve_seconds);
    }
    Ok(match outcome.status {
        Status::Optimal => ExitCode::SUCCESS,
        Status::Infeasible => ExitCode::from(EXIT_VIOLATIONS),
        Status::Feasible => ExitCode::from(EXIT_FEASIBLE),
        Status::TimeLimit => ExitCode::from(EXIT_TIME_LIMIT),
    })
}

/// Writes the XLSX workbook and the iCalendar files the flags ask for.
fn write_files(args: &SolveArgs, problem: &RosterProblem, outcome: &SolveOutcome) -> anyhow::Result<()> {
    if let Some(path) = &args.xlsx {
        let bytes = export::render_xlsx(problem, outcome, args.lang).context("building the XLSX workbook")?;
        std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(dir) = &args.ical {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (staff_idx, staff) in problem.staff.iter().enumerate() {
            let path = dir.join(format!("{}.ics", staff.id));
            let text = export::render_ical(problem, &outcome.roster, staff_idx);
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

fn grid_view(text: &str) -> Result<GridView, String> {
    match text {
        "person" => Ok(GridView::Person),
        "post" => Ok(GridView::Post),
        _ => Err(format!("`{text}` is not a view: person or post")),
    }
}

fn lang(text: &str) -> Result<Lang, String> {
    Lang::parse(text).ok_or_else(|| format!("`{text}` is not a language: zh or en"))
}

/// Parses `--time-limit`: a positive number of seconds (a usage error otherwise, exit 2).
fn positive_seconds(text: &str) -> Result<f64, String> {
    let seconds: f64 = text.parse().map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if seconds.is_finite() && seconds > 0.0 { Ok(seconds) } else { Err(format!("{text} is not a positive time")) }
}

/// Parses `--gap`: a fraction at least 0 and below 1 (0.01 is 1 %).
fn relative_gap(text: &str) -> Result<f64, String> {
    let gap: f64 = text.parse().map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..1.0).contains(&gap) { Ok(gap) } else { Err(format!("{text} is not a fraction in [0, 1)")) }
}

/// Exits once `parent` is no longer this process's parent: a parent that dies hands its children
/// to another process, and nothing tells them. Checked every second from a thread of its own,
/// since the solve holds the main thread inside HiGHS. (The alternative, `prctl`'s death signal,
/// needs unsafe code and is Linux-only.)
fn stop_with(parent: u32) {
    #[cfg(unix)]
    std::thread::spawn(move || {
        while std::os::unix::process::parent_id() == parent {
            std::thread::sleep(Duration::from_secs(1));
        }
        eprintln!("kefu: process {parent}, which started this solve, is gone; stopping");
        std::process::exit(1);
    });
}

/// One search's end, or a better roster of the search before the MILP, in words: best, bound,
/// gap and elapsed time.
fn progress_line(progress: &Progress) -> String {
    let (search, best) = match progress.search {
        Search::Construction | Search::Neighbourhood => {
            let (search, event) = if progress.search == Search::Construction {
                ("first roster", "built")
            } else {
                ("neighbourhood search", "improved")
            };
            let rules = if progress.breaches > 0.0 {
                format!("rules broken, breach penalty {:.2}", progress.breaches)
            } else {
                "every rule met".to_owned()
            };
            return format!(
                "{search} {event} at {:.1} s: best objective {:.2}, {rules}, no bound yet",
                progress.seconds, progress.best
            );
        }
        Search::Roster => ("roster search", "best objective"),
        Search::Rules => ("search for a roster meeting every rule", "least breach penalty"),
    };
    let found = if progress.best.is_finite() {
        format!("{best} {:.2}, bound {:.2}, gap {:.2} %", progress.best, progress.bound, progress.gap * 100.0)
    } else {
        format!("nothing found, bound {:.2}", progress.bound)
    };
    format!("{search} ended at {:.1} s: {found}", progress.seconds)
}

/// Runs `work` while a thread prints the elapsed time to stderr every five seconds.
fn with_progress<T>(work: impl FnOnce() -> T) -> T {
    let (done, wait) = mpsc::channel::<()>();
    let started = Instant::now();
    let ticker = std::thread::spawn(move || {
        while let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(Duration::from_secs(5)) {
            eprintln!("kefu: still solving, {:.0} s elapsed", started.elapsed().as_secs_f64());
        }
    });
    let result = work();
    drop(done);
    let _ = ticker.join();
    result
}

fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let problem = read_team(&args.team)?;
    let text = std::fs::read_to_string(&args.roster)
        .with_context(|| format!("cannot read roster file {}", args.roster.display()))?;
    let roster = output::read_roster_json(&problem, &text)
        .with_context(|| format!("bad roster file {}", args.roster.display()))?;
    let violations = kefu_solver::check(&problem, &roster);
    if violations.is_empty() {
        println!("ok: {} shifts, every hard rule is met", roster.assignments.len());
        return Ok(ExitCode::SUCCESS);
    }
    for v in &violations {
        println!("[{}] {}: {}", v.rule.id(), v.at, v.detail.get(args.lang));
    }
    println!("{} violations", violations.len());
    Ok(ExitCode::from(EXIT_VIOLATIONS))
}
