//! "Generate": the solver runs as a child process of this same binary (`kefu roster solve
//! --json /dev/stdin`, the team file written to its stdin), one per team and at most
//! [`MAX_SOLVES`] at once. Its stderr progress lines
//! (`kefu: roster search ended at 4.1 s: best objective …, bound …, gap … %`) become the job's
//! state, which the page follows over server-sent events; its stdout (the JSON output contract)
//! becomes a draft roster. Cancel kills the child.
//!
//! Why a child and not a thread: HiGHS cannot be interrupted through its safe binding, so a
//! thread could only be abandoned, still burning a core; a process is killed for real, and a
//! solver crash or runaway memory stays out of the server.
//!
//! Leaves out: the pages (`pages.rs`) and the solver's flags and lines (`cli/roster.rs`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kefu_core::ids::Timestamp;
use serde::Serialize;
use tokio::sync::watch;

use crate::storage::Storage;

/// Most solves running at once over all teams (each holds a core: HiGHS runs one thread).
pub const MAX_SOLVES: usize = 2;

/// Longest time limit a supervisor may ask for, in seconds.
pub const MAX_TIME_LIMIT: u32 = 600;

/// Progress lines kept per job (the newest).
const KEPT_LINES: usize = 20;

/// Where a job stands, as the page shows it.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct JobState {
    /// `running`, `done`, `failed` or `cancelled`.
    pub phase: &'static str,
    /// Who started it.
    pub by: String,
    /// Seconds since it started (until it ended).
    pub elapsed: f64,
    /// The time limit asked for, seconds.
    pub time_limit: u32,
    /// Best value of the last search that ended (objective, or breach penalty).
    pub best: Option<f64>,
    /// Its proven bound.
    pub bound: Option<f64>,
    /// Its relative gap, percent.
    pub gap: Option<f64>,
    /// The solver's newest progress lines.
    pub lines: Vec<String>,
    /// Why it failed.
    pub message: Option<String>,
    /// The roster version it stored.
    pub version: Option<i64>,
}

/// One team's newest job.
#[derive(Debug)]
pub struct Job {
    started: Instant,
    state: watch::Sender<JobState>,
    cancel: Mutex<Option<mpsc::Sender<()>>>,
}

impl Job {
    /// Its state now, elapsed time brought up to date while it runs.
    pub fn state(&self) -> JobState {
        let mut state = self.state.borrow().clone();
        if state.phase == "running" {
            state.elapsed = self.started.elapsed().as_secs_f64();
        }
        state
    }

    /// A receiver woken at each change of state.
    pub fn subscribe(&self) -> watch::Receiver<JobState> {
        self.state.subscribe()
    }

    fn running(&self) -> bool {
        self.state.borrow().phase == "running"
    }
}

/// The solve jobs of this server: the newest per team.
#[derive(Debug, Default)]
pub struct Jobs {
    by_team: Mutex<HashMap<i64, Arc<Job>>>,
}

/// Why a solve was not started.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The team's solve is still running.
    TeamBusy(String),
    /// [`MAX_SOLVES`] solves are running.
    ServerBusy,
}

/// What a solve needs.
pub struct SolveRequest {
    /// Team row id.
    pub team_id: i64,
    /// The team file's version (the roster names it).
    pub team_version: i64,
    /// The team file.
    pub toml: String,
    /// Seconds.
    pub time_limit: u32,
    /// Who asked.
    pub by: String,
    /// The server's shutdown: the child is killed with the server, not left behind.
    pub shutdown: tokio_util::sync::CancellationToken,
}

impl Jobs {
    /// The team's newest job, if any.
    pub fn job(&self, team_id: i64) -> Option<Arc<Job>> {
        self.lock().get(&team_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Job>>> {
        self.by_team.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts a solve in a child process, unless the team's or the server's limit is reached.
    pub fn start(&self, storage: Arc<dyn Storage>, request: SolveRequest) -> Result<Arc<Job>, Refusal> {
        let mut jobs = self.lock();
        if let Some(job) = jobs.get(&request.team_id).filter(|job| job.running()) {
            return Err(Refusal::TeamBusy(job.state.borrow().by.clone()));
        }
        if jobs.values().filter(|job| job.running()).count() >= MAX_SOLVES {
            return Err(Refusal::ServerBusy);
        }
        let (cancel, cancelled) = mpsc::channel();
        let state = JobState {
            phase: "running",
            by: request.by.clone(),
            time_limit: request.time_limit,
            ..JobState::default()
        };
        let job = Arc::new(Job {
            started: Instant::now(),
            state: watch::Sender::new(state),
            cancel: Mutex::new(Some(cancel)),
        });
        jobs.insert(request.team_id, Arc::clone(&job));
        let worker = Arc::clone(&job);
        std::thread::spawn(move || run(&worker, storage.as_ref(), &request, &cancelled));
        Ok(job)
    }

    /// Kills the team's running solve; `false` if none runs.
    pub fn cancel(&self, team_id: i64) -> bool {
        let Some(job) = self.job(team_id).filter(|job| job.running()) else { return false };
        let sender = job.cancel.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        sender.is_some_and(|sender| sender.send(()).is_ok())
    }
}

/// Runs one solve to its end on this (dedicated) thread and records how it ended.
fn run(job: &Job, storage: &dyn Storage, request: &SolveRequest, cancelled: &mpsc::Receiver<()>) {
    let ended = match solve(job, request, cancelled) {
        Ok(Some(json)) => {
            match storage.insert_roster(request.team_id, request.team_version, &json, &request.by, Timestamp::now()) {
                Ok(version) => Ok(Some(version)),
                Err(err) => Err(format!("the roster could not be stored: {err}")),
            }
        }
        Ok(None) => Ok(None),
        Err(message) => Err(message),
    };
    let elapsed = job.started.elapsed().as_secs_f64();
    job.state.send_modify(|state| {
        state.elapsed = elapsed;
        match ended {
            Ok(Some(version)) => {
                state.phase = "done";
                state.version = Some(version);
            }
            Ok(None) => state.phase = "cancelled",
            Err(message) => {
                tracing::warn!(team = request.team_id, error = %message, "roster solve failed");
                state.phase = "failed";
                state.message = Some(message);
            }
        }
    });
}

/// Runs the child; its JSON on success, `None` when cancelled.
fn solve(job: &Job, request: &SolveRequest, cancelled: &mpsc::Receiver<()>) -> Result<Option<String>, String> {
    let exe = std::env::current_exe().map_err(|err| format!("cannot find the kefu binary: {err}"))?;
    // The team file goes through a pipe, not a temporary file: nothing naming the staff and their
    // leave is left on disk, even when the server is killed mid-solve.
    let mut child = Command::new(exe)
        .args(["roster", "solve", "--json", "--time-limit", &request.time_limit.to_string(), "/dev/stdin"])
        .args(["--stop-with", &std::process::id().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot start the solver: {err}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let toml = request.toml.clone();
    // A solver that stops before reading it all makes the write fail; its exit says why.
    std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut stdin, toml.as_bytes());
    });
    tracing::info!(team = request.team_id, pid = child.id(), limit = request.time_limit, "roster solve started");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let output = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let lines = std::thread::scope(|scope| {
        let reader = scope.spawn(|| read_progress(job, stderr));
        let status = wait(&mut child, cancelled, request);
        let errors = reader.join().unwrap_or_default();
        status.map(|status| (status, errors))
    });
    let json = output.join().map_err(|_| "the solver's output reader panicked".to_string())?;
    let (status, errors) = lines?;
    let Some(status) = status else { return Ok(None) };
    // 0 optimal, 3 infeasible, 4 feasible, 5 time limit: each prints a roster.
    match status.code() {
        Some(0 | 3 | 4 | 5) => json.map(Some).map_err(|err| format!("cannot read the solver's output: {err}")),
        code => Err(format!(
            "the solver stopped ({}): {}",
            code.map_or_else(|| "killed".to_string(), |code| format!("exit {code}")),
            errors.trim()
        )),
    }
}

/// Waits for the child; kills it on cancel, at the server's shutdown, or when it overruns its
/// limit. `None` when cancelled.
fn wait(
    child: &mut Child,
    cancelled: &mpsc::Receiver<()>,
    request: &SolveRequest,
) -> Result<Option<std::process::ExitStatus>, String> {
    let time_limit = request.time_limit;
    // The solver may run past its limit by the share it gives a proof of infeasibility.
    let deadline = Instant::now() + Duration::from_secs(u64::from(time_limit) * 2 + 60);
    loop {
        if let Some(status) = child.try_wait().map_err(|err| format!("cannot wait for the solver: {err}"))? {
            return Ok(Some(status));
        }
        let overran = Instant::now() >= deadline;
        let stop = match cancelled.recv_timeout(Duration::from_millis(200)) {
            Ok(()) => true,
            Err(mpsc::RecvTimeoutError::Timeout) => overran || request.shutdown.is_cancelled(),
            // The sender is kept until cancel; gone means the server dropped the job.
            Err(mpsc::RecvTimeoutError::Disconnected) => true,
        };
        if stop {
            let _ = child.kill();
            let _ = child.wait();
            if overran {
                return Err(format!("the solver overran its limit of {time_limit} s and was stopped"));
            }
            return Ok(None);
        }
    }
}

/// Reads the child's stderr into the job's state; returns the lines that are not progress
/// (errors), for a failure's message.
fn read_progress(job: &Job, stderr: impl Read) -> String {
    let mut errors = String::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let text = line.strip_prefix("kefu: ").unwrap_or(&line).to_string();
        if !line.starts_with("kefu: ") || text.starts_with("error") {
            errors.push_str(&line);
            errors.push('\n');
        }
        let figures = progress_figures(&text);
        job.state.send_modify(|state| {
            if let Some((best, bound, gap)) = figures {
                // The solve keeps its best roster across its searches: a search that found
                // nothing better (or nothing) leaves the best of the one before it.
                if best.is_some() {
                    (state.best, state.gap) = (best, gap);
                }
                state.bound = bound.or(state.bound);
            }
            state.lines.push(text.chars().take(400).collect());
            if state.lines.len() > KEPT_LINES {
                state.lines.remove(0);
            }
        });
    }
    errors
}

/// Best, bound and gap (percent) of a line such as `roster search ended at 4.1 s: best objective
/// 12.00, bound 11.00, gap 8.33 %` (best and gap absent when the search found nothing), or
/// `first roster built at 0.4 s: best objective 14.00, every rule met, no bound yet` (the
/// searches before the MILP: no bound, no gap).
fn progress_figures(line: &str) -> Option<(Option<f64>, Option<f64>, Option<f64>)> {
    let (_, figures) = [" ended at ", " built at ", " improved at "]
        .iter()
        .find_map(|event| line.split_once(event))?
        .1
        .split_once(": ")?;
    let number_after = |label: &str| -> Option<f64> {
        let rest = &figures[figures.find(label)? + label.len()..];
        rest.split([',', ' ']).next()?.parse().ok()
    };
    let best = number_after("best objective ").or_else(|| number_after("least breach penalty "));
    let bound = number_after("bound ");
    (best.is_some() || bound.is_some()).then_some((best, bound, number_after("gap ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_solvers_progress_lines_give_best_bound_and_gap() {
        assert_eq!(
            progress_figures("roster search ended at 4.1 s: best objective 12.50, bound 11.00, gap 8.33 %"),
            Some((Some(12.5), Some(11.0), Some(8.33)))
        );
        assert_eq!(
            progress_figures(
                "search for a roster meeting every rule ended at 9.0 s: least breach penalty 1000.00, bound 0.00, gap 100.00 %"
            ),
            Some((Some(1000.0), Some(0.0), Some(100.0)))
        );
        assert_eq!(
            progress_figures("roster search ended at 2.0 s: nothing found, bound 3.00"),
            Some((None, Some(3.0), None))
        );
        assert_eq!(
            progress_figures("first roster built at 0.4 s: best objective 14.00, every rule met, no bound yet"),
            Some((Some(14.0), None, None))
        );
        assert_eq!(progress_figures("still solving, 5 s elapsed"), None);
    }
}
