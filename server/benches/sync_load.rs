//! Sync server benchmark (issue 3 targets): a real `kefu serve` on SQLite, devices as real
//! `CaseStore`s over `POST /v1/sync`. Prints one table: initial sync of a device to a team of N
//! cases, an incremental round when one case changed (time, bytes both ways, round trips), and
//! D devices syncing concurrently (rounds/s, p50/p99 latency).
//!
//! Run: `cargo build --release -p kefu-server && cargo bench -p kefu-server --bench sync_load`
//! (`KEFU_BIN` overrides the binary; `KEFU_BENCH_CASES`, `KEFU_BENCH_DEVICES`,
//! `KEFU_BENCH_ROUNDS`, `KEFU_BENCH_TEAM_SIZE` the sizes, default 5000, 200, 10, 20). Latency is
//! per HTTP round trip, measured by the device. Leaves out: WebSocket fan-out cost.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use kefu_core::case::{CaseEdit, CaseKind, Channel, Customer, NewCase, Priority};
use kefu_core::ids::{CaseId, StaffId, Timestamp};
use kefu_core::store::{CaseStore, StoreConfig};
use kefu_core::sync::{Message, decode, encode};

fn kefu_bin() -> PathBuf {
    if let Ok(path) = std::env::var("KEFU_BIN") {
        return PathBuf::from(path);
    }
    let release = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/kefu");
    let target_dir = std::env::var("CARGO_TARGET_DIR").map(|dir| Path::new(&dir).join("release/kefu"));
    match target_dir.ok().filter(|path| path.exists()).or_else(|| release.exists().then_some(release)) {
        Some(path) => path,
        None => panic!("no release kefu binary: run `cargo build --release -p kefu-server` or set KEFU_BIN"),
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn admin(db: &Path, args: &[&str]) -> String {
    let output = Command::new(kefu_bin()).arg("admin").arg("--db").arg(db).args(args).output().expect("kefu admin");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8").trim().to_string()
}

fn start(db: &Path, devices: usize) -> (Child, SocketAddr) {
    let mut child = Command::new(kefu_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--rate-limit-per-sec", "100000"])
        .args(["--rate-limit-burst", "100000", "--max-connections-per-device", &devices.to_string(), "--db"])
        .arg(db)
        .env("RUST_LOG", "kefu=info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("kefu serve");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let addr = loop {
        let line = lines.next().expect("server exited").expect("line");
        if let Some((_, rest)) = line.split_once("listening on ") {
            break rest.split('"').next().expect("addr").parse().expect("address");
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

struct Device {
    store: CaseStore,
    token: String,
    _dir: tempfile::TempDir,
}

#[derive(Default, Debug)]
struct Cost {
    rounds: usize,
    up: usize,
    down: usize,
    elapsed: Duration,
}

impl Device {
    fn new(token: String) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        Device { store: CaseStore::open(dir.path(), StoreConfig::default()).expect("store"), token, _dir: dir }
    }

    fn sync(&mut self, agent: &ureq::Agent, addr: SocketAddr) -> Cost {
        let started = Instant::now();
        let mut cost = Cost::default();
        let mut more = false;
        loop {
            let push = self.store.prepare_push(200).expect("push");
            if cost.rounds > 0 && push.docs.is_empty() && !more {
                break;
            }
            let body = encode(&Message::Push(push.clone()));
            let response = agent
                .post(&format!("http://{addr}/v1/sync"))
                .set("Authorization", &format!("Bearer {}", self.token))
                .send_bytes(&body)
                .expect("round");
            let mut bytes = Vec::new();
            response.into_reader().read_to_end(&mut bytes).expect("body");
            let Ok(Message::Reply(reply)) = decode(&bytes, usize::MAX) else { panic!("not a reply") };
            more = self.store.apply_reply(&push, &reply).expect("apply").more;
            cost.rounds += 1;
            cost.up += body.len();
            cost.down += bytes.len();
        }
        cost.elapsed = started.elapsed();
        cost
    }
}

fn new_case(idx: usize) -> NewCase {
    NewCase {
        kind: CaseKind::Repair,
        channel: Channel::Phone,
        customer: Customer { name: format!("customer {idx}"), phone: "100".into(), address: "1-1-101".into() },
        subject: format!("bench case {idx}"),
        description: "water in the basement".into(),
        priority: Priority::Normal,
        service: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1).min(sorted.len() - 1)]
}

fn main() {
    let n_cases = env_usize("KEFU_BENCH_CASES", 5000);
    let n_devices = env_usize("KEFU_BENCH_DEVICES", 200);
    let n_rounds = env_usize("KEFU_BENCH_ROUNDS", 10);
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("kefu.sqlite3");
    admin(&db, &["team", "create", "bench"]);
    let issue = || admin(&db, &["device", "issue", "--team", "bench", "--role", "staff"]);
    let (mut server, addr) = start(&db, n_devices);
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).build();
    let by = StaffId::new("bench").expect("staff");

    let mut office = Device::new(issue());
    for idx in 0..n_cases {
        office.store.create_case(&new_case(idx), &by, Timestamp::now()).expect("case");
    }
    let upload = office.sync(&agent, addr);
    let mut phone = Device::new(issue());
    let initial = phone.sync(&agent, addr);
    assert_eq!(phone.store.n_cases().expect("count"), n_cases);

    let ids: Vec<CaseId> = phone.store.all_cases().expect("cases").iter().map(|case| case.id).collect();
    let note = CaseEdit::AddNote("one change".into());
    office.store.edit_case(ids[n_cases / 2], &note, &by, Timestamp::now()).expect("edit");
    let push_one = office.sync(&agent, addr);
    let fetch_one = phone.sync(&agent, addr);

    // Concurrent devices, in teams of `team_size` (a site's shift, not the whole company in one
    // team): each opens a case, then per round adds a note and syncs, receiving its teammates'.
    let team_size = env_usize("KEFU_BENCH_TEAM_SIZE", 20).max(1);
    let mut devices = Vec::new();
    for device_idx in 0..n_devices {
        let team = format!("field-{}", device_idx / team_size);
        if device_idx % team_size == 0 {
            admin(&db, &["team", "create", &team]);
        }
        let mut device = Device::new(admin(&db, &["device", "issue", "--team", &team, "--role", "staff"]));
        let case = device.store.create_case(&new_case(device_idx), &by, Timestamp::now()).expect("case").id;
        device.sync(&agent, addr);
        devices.push((device, case));
    }
    let barrier = Arc::new(Barrier::new(n_devices + 1));
    let workers: Vec<_> = devices
        .into_iter()
        .enumerate()
        .map(|(device_idx, (mut device, case))| {
            let barrier = Arc::clone(&barrier);
            let agent = agent.clone();
            let by = by.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut latencies = Vec::new();
                for round in 0..n_rounds {
                    let note = CaseEdit::AddNote(format!("device {device_idx} round {round}"));
                    device.store.edit_case(case, &note, &by, Timestamp::now()).expect("edit");
                    let cost = device.sync(&agent, addr);
                    latencies.push(cost.elapsed / cost.rounds.max(1) as u32);
                }
                latencies
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    let mut latencies: Vec<Duration> = workers.into_iter().flat_map(|worker| worker.join().expect("worker")).collect();
    let elapsed = started.elapsed();
    latencies.sort();
    let _ = server.kill();
    let _ = server.wait();

    println!(
        "kefu sync server benchmark: {n_cases} cases; {n_devices} devices in teams of {team_size}, {n_rounds} syncs each"
    );
    println!("| what | round trips | bytes up | bytes down | time |");
    println!("|---|---|---|---|---|");
    for (what, cost) in [
        ("upload of the team by one device", &upload),
        ("initial sync of a new device", &initial),
        ("incremental: push one changed case", &push_one),
        ("incremental: fetch one changed case", &fetch_one),
    ] {
        println!("| {what} | {} | {} | {} | {:.3} s |", cost.rounds, cost.up, cost.down, cost.elapsed.as_secs_f64());
    }
    let total = latencies.len();
    println!(
        "| {n_devices} devices concurrently | {total} syncs | | | {:.1} syncs/s, p50 {:.1} ms, p99 {:.1} ms |",
        total as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
    );
}
