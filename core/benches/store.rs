//! Device-store benchmark (BENCHMARKS.md, issue 2): build 10,000 cases with 20
//! timeline entries each and persist them; open the store cold; list and filter;
//! durable single edits; merge two replicas that each made 1,000 offline edits.
//! Prints one markdown row per measurement with wall time and the peak RSS (VmHWM)
//! of the process running that phase; each phase runs in a fresh process.
//!
//! `cargo bench -p kefu-core --bench store` (set `KEFU_BENCH_CASES` for another size).

use std::time::{Duration, Instant};

use kefu_core::case::{
    CaseDoc, CaseEdit, CaseKind, CasePolicy, Channel, Customer, EditContext, FeedbackDirection, NewCase, Priority,
    Service, Status,
};
use kefu_core::ids::{CaseId, DeviceId, StaffId, Timestamp};
use kefu_core::store::{CaseFilter, CaseStore, StoreConfig};

fn main() {
    match std::env::var("KEFU_BENCH_PHASE") {
        Ok(phase) => run_phase(&phase, std::path::Path::new(&std::env::var("KEFU_BENCH_DIR").expect("dir"))),
        Err(_) => orchestrate(),
    }
}

/// Runs each phase in a fresh process so its peak RSS is its own, and "open cold"
/// really is a new process opening the store. `cargo bench` passes `--bench`;
/// under `cargo test` the same code runs once on 50 cases as a smoke test.
fn orchestrate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let smoke = !std::env::args().any(|arg| arg == "--bench");
    println!("| phase | time | peak RSS of the phase's process |\n|---|---|---|");
    for phase in ["create", "open", "list", "edit", "merge"] {
        let status = std::process::Command::new(std::env::current_exe().expect("own path"))
            .env("KEFU_BENCH_PHASE", phase)
            .env("KEFU_BENCH_DIR", dir.path())
            .env("KEFU_BENCH_SMOKE", if smoke { "1" } else { "" })
            .status()
            .expect("phase runs");
        assert!(status.success(), "phase {phase} failed");
    }
}

fn run_phase(phase: &str, dir: &std::path::Path) {
    let smoke = std::env::var("KEFU_BENCH_SMOKE").is_ok_and(|flag| flag == "1");
    let default_cases = if smoke { 50 } else { 10_000 };
    let n_cases: usize = std::env::var("KEFU_BENCH_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default_cases);
    let staff = StaffId::new("bench").expect("valid");
    let policy = CasePolicy::default();
    let open = || CaseStore::open(dir, StoreConfig::default()).expect("open");
    match phase {
        "create" => {
            let (docs, took) = timed(|| build_cases(n_cases, &staff, &policy));
            report(&format!("build {n_cases} cases x 20 entries in memory (typed API)"), took);
            let (_, took) = timed(|| {
                let batch: Vec<(String, Vec<u8>)> = docs.iter().map(|doc| (doc.id().to_string(), doc.save())).collect();
                open().receive_batch(&batch).expect("persist");
            });
            report(&format!("persist {n_cases} cases (validated, one transaction)"), took);
        }
        "open" => {
            let (store, took) = timed(open);
            report(&format!("open store of {n_cases} cases cold (new process)"), took);
            let (n, took) = timed(|| store.list(&CaseFilter { limit: 50, ..Default::default() }).expect("list").len());
            report(&format!("first screen after open ({n} newest cases)"), took);
        }
        "list" => {
            let store = open();
            let filters = [
                (
                    "status = in_progress",
                    CaseFilter { statuses: vec![Status::InProgress], limit: 50, ..Default::default() },
                ),
                (
                    "assignee + kind, no limit",
                    CaseFilter {
                        assignee: StaffId::new("fixer3").ok(),
                        kind: Some(CaseKind::Repair),
                        ..Default::default()
                    },
                ),
                (
                    "overdue",
                    CaseFilter { overdue_at: Some(Timestamp(400 * Timestamp::DAY)), limit: 50, ..Default::default() },
                ),
                ("text \"unit 12\"", CaseFilter { text: Some("unit 12".into()), limit: 50, ..Default::default() }),
                ("text, no match (full scan)", CaseFilter { text: Some("zzzz".into()), ..Default::default() }),
            ];
            for (name, filter) in &filters {
                let mut times = Vec::new();
                let mut n_rows = 0;
                for _ in 0..20 {
                    let (rows, took) = timed(|| store.list(filter).expect("list").len());
                    n_rows = rows;
                    times.push(took);
                }
                report(&format!("list {name} ({n_rows} rows), median of 20"), median(&mut times));
            }
        }
        "edit" => {
            let n_edits = if smoke { 20 } else { 500 };
            let mut store = open();
            let ids: Vec<CaseId> =
                store.list(&CaseFilter::default()).expect("list").into_iter().map(|s| s.id).collect();
            let mut times = Vec::new();
            let (_, took) = timed(|| {
                for n in 0..n_edits {
                    let id = ids[(n * 7919) % ids.len()];
                    let (_, took) = timed(|| {
                        store
                            .edit_case(id, &CaseEdit::AddNote(format!("bench note {n}")), &staff, Timestamp(n as i64))
                            .expect("edit")
                    });
                    times.push(took);
                }
            });
            times.sort();
            report(&format!("{n_edits} durable edits on random cases, total"), took);
            report("durable edit, median", times[times.len() / 2]);
            report("durable edit, p99", times[times.len() * 99 / 100]);
        }
        "merge" => merge_phase(open(), &staff, if smoke { 50 } else { 1_000 }),
        other => panic!("unknown phase {other}"),
    }
}

/// Two replicas of (up to) 100 shared cases each make `n_edits` edits offline, then
/// exchange what the other lacks (both ways, durable) and must end identical.
fn merge_phase(mut office: CaseStore, staff: &StaffId, n_edits: usize) {
    let shared: Vec<CaseId> = office
        .list(&CaseFilter { limit: 100, ..Default::default() })
        .expect("list")
        .into_iter()
        .map(|s| s.id)
        .collect();
    let other_dir = tempfile::tempdir().expect("temp dir");
    let mut field = CaseStore::open(other_dir.path(), StoreConfig::default()).expect("open");
    let batch: Vec<(String, Vec<u8>)> =
        shared.iter().map(|id| (id.to_string(), office.export(&id.to_string(), &[]).expect("export"))).collect();
    field.receive_batch(&batch).expect("seed replica");
    let heads_before: Vec<_> = shared.iter().map(|id| office.heads(&id.to_string()).expect("heads")).collect();
    for n in 0..n_edits {
        let id = shared[n % shared.len()];
        let at = Timestamp(1_000_000 + n as i64);
        office.edit_case(id, &CaseEdit::AddNote(format!("office {n}")), staff, at).expect("edit");
        field
            .edit_case(id, &CaseEdit::SpliceDescription { pos: 0, delete: 0, insert: format!("[{n}]") }, staff, at)
            .expect("edit");
    }
    let (_, took) = timed(|| {
        let mut office_out = Vec::new();
        let mut field_out = Vec::new();
        for (id, heads) in shared.iter().zip(&heads_before) {
            let key = id.to_string();
            office_out.push((key.clone(), office.export(&key, heads).expect("export")));
            field_out.push((key.clone(), field.export(&key, heads).expect("export")));
        }
        field.receive_batch(&office_out).expect("merge into field");
        office.receive_batch(&field_out).expect("merge into office");
    });
    report(&format!("merge 2 replicas x {n_edits} offline edits on {} cases (both ways, durable)", shared.len()), took);
    for id in &shared {
        assert_eq!(office.case(*id).expect("case"), field.case(*id).expect("case"), "replicas differ after merge");
    }
}

fn build_cases(n_cases: usize, staff: &StaffId, policy: &CasePolicy) -> Vec<CaseDoc> {
    let device = DeviceId::from_u128(1);
    (0..n_cases)
        .map(|n| {
            let at = Timestamp(n as i64 * 60_000);
            let ctx = EditContext { at, by: staff, policy };
            let new = NewCase {
                kind: if n % 3 == 0 { CaseKind::Complaint } else { CaseKind::Repair },
                channel: Channel::Phone,
                customer: Customer {
                    name: format!("customer {n}"),
                    phone: format!("138{n:08}"),
                    address: format!("unit {}", n % 500),
                },
                subject: format!("case {n}: water leak"),
                description: "water coming through the ceiling of the bathroom".into(),
                priority: Priority::Normal,
                service: Some(Service::Repair),
            };
            let mut doc =
                CaseDoc::create(device, CaseId::from_u128(n as u128 + 1), &new, &format!("P0001-{n:05}"), &ctx)
                    .expect("create");
            let mut apply = |k: i64, edit: CaseEdit| {
                doc.apply(&EditContext { at: at.plus_hours(k), by: staff, policy }, &edit).expect("edit");
            };
            apply(
                0,
                CaseEdit::Transfer {
                    to_department: Some("工程部".into()),
                    to_assignee: StaffId::new(format!("fixer{}", n % 20)).ok(),
                    reason: "triage".into(),
                },
            );
            apply(1, CaseEdit::Transition { to: Status::Dispatched, reason: String::new() });
            apply(2, CaseEdit::Feedback { direction: FeedbackDirection::ToCustomer, text: "on our way".into() });
            apply(3, CaseEdit::Transition { to: Status::InProgress, reason: String::new() });
            for k in 0..15 {
                apply(4 + k, CaseEdit::AddNote(format!("finding {k}: checked the riser and the valve")));
            }
            if n % 2 == 0 {
                apply(20, CaseEdit::Transition { to: Status::Completed, reason: String::new() });
            } else {
                apply(20, CaseEdit::AddNote("waiting for parts".into()));
            }
            doc
        })
        .collect()
}

/// Runs `work` and times it.
fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let result = work();
    (result, start.elapsed())
}

fn report(name: &str, took: Duration) {
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| status.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l[6..].trim().to_string()))
        .unwrap_or_else(|| "n/a".into());
    println!("| {name} | {:.2} ms | {peak} |", took.as_secs_f64() * 1e3);
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}
