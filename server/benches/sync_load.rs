//! Sync server benchmark (issues 3 and 16): real `kefu serve` processes on SQLite or PostgreSQL, devices as real
//! `CaseStore`s over `POST /v1/sync`, live phones as WebSocket sessions. Cases have the field's
//! shape (`kefu_core::realistic`: a ~300-character Chinese description, twenty ~80-character
//! timeline entries). Prints one table:
//!
//! - the upload of a team of N cases, and the initial sync of a new device to it (time, bytes
//!   both ways, round trips, against the bytes the server stores);
//! - an incremental round when one case changed (push from the office, fetch on a phone);
//! - live fan-out: L phones watching over WebSocket in T teams; one phone per team edits a case
//!   (a note, pushed over HTTP) and every teammate's time from the edit to the update arriving
//!   is taken; every delivery is counted;
//! - D devices syncing at once in teams, rounds of one note + sync (rounds/s, p50/p99).
//!
//! Run: `cargo build --release -p kefu-server && cargo bench -p kefu-server --bench sync_load`.
//! On PostgreSQL: `KEFU_BENCH_POSTGRES=postgres://…/postgres` (an administrator's URL; the bench
//! creates a database of its own there) with `KEFU_BENCH_PROCESSES` (1) `kefu serve` processes on
//! it, devices and watchers spread over them in turn, so most deliveries cross processes.
//! Sizes: `KEFU_BENCH_CASES` (1000), `KEFU_BENCH_LIVE` (40), `KEFU_BENCH_LIVE_TEAMS` (1),
//! `KEFU_BENCH_EDITS` (30 per team), `KEFU_BENCH_DEVICES` (200), `KEFU_BENCH_ROUNDS` (10),
//! `KEFU_BENCH_TEAM_SIZE` (20); `KEFU_BIN` overrides the binary. The watchers do not apply what
//! they receive (that is the device store's cost, measured by its own benchmark): the figure is
//! the server's fan-out and the network's.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use kefu_core::case::{CaseDoc, CaseEdit, CasePolicy, EditContext, provisional_number};
use kefu_core::ids::{CaseId, DeviceId, StaffId, Timestamp};
use kefu_core::realistic::CaseScript;
use kefu_core::store::{CaseStore, StoreConfig};
use kefu_core::sync::{DocPush, Message, Push, decode, encode};

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

fn admin(db: &OsStr, args: &[&str]) -> String {
    let output = Command::new(kefu_bin()).arg("admin").arg("--db").arg(db).args(args).output().expect("kefu admin");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8").trim().to_string()
}

fn issue(db: &OsStr, team: &str) -> String {
    admin(db, &["device", "issue", "--team", team, "--role", "staff"])
}

fn start(db: &OsStr, connections: usize) -> (Child, SocketAddr) {
    let mut child = Command::new(kefu_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--rate-limit-per-sec", "100000"])
        .args(["--rate-limit-burst", "100000", "--max-connections-per-device", "4"])
        .args(["--max-connections", &(connections + 64).to_string(), "--db"])
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

#[derive(Default, Debug)]
struct Cost {
    rounds: usize,
    up: usize,
    down: usize,
    elapsed: Duration,
}

/// One HTTP round: the push out, the reply back.
fn round(agent: &ureq::Agent, addr: SocketAddr, token: &str, push: &Push, cost: &mut Cost) -> kefu_core::sync::Reply {
    let body = encode(&Message::Push(push.clone()));
    let response = agent
        .post(&format!("http://{addr}/v1/sync"))
        .set("Authorization", &format!("Bearer {token}"))
        .send_bytes(&body)
        .expect("round");
    let mut bytes = Vec::new();
    response.into_reader().read_to_end(&mut bytes).expect("body");
    cost.rounds += 1;
    cost.up += body.len();
    cost.down += bytes.len();
    match decode(&bytes, usize::MAX) {
        Ok(Message::Reply(reply)) => reply,
        other => panic!("not a reply: {other:?}"),
    }
}

struct Device {
    store: CaseStore,
    token: String,
    _dir: tempfile::TempDir,
}

impl Device {
    fn new(token: String) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = CaseStore::open(dir.path(), StoreConfig::default()).expect("store");
        store.bind_device(DeviceId::of_token(&token).expect("a kefu token")).expect("bind");
        Device { store, token, _dir: dir }
    }

    /// Syncs until nothing is left to send or fetch.
    fn sync(&mut self, agent: &ureq::Agent, addr: SocketAddr) -> Cost {
        let started = Instant::now();
        let mut cost = Cost::default();
        let mut more = false;
        loop {
            let push = self.store.prepare_push(200).expect("push");
            if cost.rounds > 0 && push.docs.is_empty() && push.have.is_empty() && !more {
                break;
            }
            let reply = round(agent, addr, &self.token, &push, &mut cost);
            more = self.store.apply_reply(&push, &reply).expect("apply").more;
        }
        cost.elapsed = started.elapsed();
        cost
    }

    /// Creates `script`'s case with its twenty entries.
    fn create(&mut self, script: &CaseScript, by: &StaffId) -> CaseId {
        let case = self.store.create_case(&script.new, by, Timestamp::now()).expect("case").id;
        for edit in &script.edits {
            self.store.edit_case(case, edit, by, Timestamp::now()).expect("entry");
        }
        case
    }
}

/// Uploads `n` realistic cases as the office's device, built in memory (the device store's
/// per-edit fsync is its own benchmark's business) and pushed 200 to a round.
fn upload(agent: &ureq::Agent, addr: SocketAddr, token: &str, n: usize, by: &StaffId) -> Cost {
    let device = DeviceId::of_token(token).expect("token").install(rand::random());
    let policy = CasePolicy::default();
    let ctx = EditContext { at: Timestamp::now(), by, policy: &policy };
    let docs: Vec<DocPush> = (0..n)
        .map(|idx| {
            let script = CaseScript::generate(idx as u64);
            let mut doc =
                CaseDoc::create(device, CaseId::random(), &script.new, &provisional_number(device, idx as u64), &ctx)
                    .expect("case");
            for edit in &script.edits {
                doc.apply(&ctx, edit).expect("entry");
            }
            DocPush { id: doc.id().to_string(), heads: doc.heads(), changes: doc.save() }
        })
        .collect();
    let started = Instant::now();
    let mut cost = Cost::default();
    let store = rand::random();
    for (idx, chunk) in docs.chunks(200).enumerate() {
        let push = Push {
            store,
            round: idx as u64 + 1,
            generation: (idx as u64 + 1) << 32,
            docs: chunk.to_vec(),
            ..Push::default()
        };
        let reply = round(agent, addr, token, &push, &mut cost);
        assert_eq!(reply.acks.len(), chunk.len(), "every case acknowledged: {:?}", reply.refusals.first());
    }
    cost.elapsed = started.elapsed();
    cost
}

/// A new database for this run on the PostgreSQL server at `admin_url`; its URL.
fn database(admin_url: &str) -> String {
    let name = format!("kefu_bench_{:08x}", rand::random::<u32>());
    let mut client = postgres::Client::connect(admin_url, postgres::NoTls).expect("PostgreSQL answers");
    client.batch_execute(&format!("CREATE DATABASE {name}")).expect("create the bench database");
    let (base, _) = admin_url.rsplit_once('/').expect("a database URL");
    format!("{base}/{name}")
}

/// Bytes of every document the server stores.
fn stored_bytes(db: &OsStr, postgres: bool) -> i64 {
    const SQL: &str = "SELECT CAST(SUM(length(bytes)) AS BIGINT) FROM docs";
    if postgres {
        let url = db.to_str().expect("a URL");
        let mut client = postgres::Client::connect(url, postgres::NoTls).expect("PostgreSQL answers");
        client.query_one(SQL, &[]).expect("stored bytes").get(0)
    } else {
        rusqlite::Connection::open(db).expect("db").query_row(SQL, [], |row| row.get(0)).expect("stored bytes")
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1).min(sorted.len() - 1)]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A phone watching over WebSocket: sends the first push, then reports the id and arrival time
/// of every update the server sends, until the socket closes.
fn watch(addr: SocketAddr, token: String, ready: Arc<Barrier>, heard: Sender<(String, Instant)>) {
    use tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/v1/sync").into_client_request().expect("request");
    request.headers_mut().insert("Authorization", format!("Bearer {token}").parse().expect("header"));
    let stream = TcpStream::connect(addr).expect("connect");
    let (mut socket, _) = tungstenite::client(request, stream).expect("websocket");
    let push = Push { store: rand::random(), round: 1, generation: 1 << 32, ..Push::default() };
    socket.send(tungstenite::Message::Binary(encode(&Message::Push(push)).into())).expect("send");
    let mut first = true;
    loop {
        let bytes = match socket.read() {
            Ok(tungstenite::Message::Binary(bytes)) => bytes,
            Ok(_) => continue,
            Err(_) => return,
        };
        let at = Instant::now();
        let Ok(Message::Reply(reply)) = decode(&bytes, usize::MAX) else { panic!("a watcher got a non-reply") };
        if first && reply.round == 1 && !reply.more {
            first = false;
            ready.wait();
        }
        for update in reply.updates {
            if heard.send((update.id, at)).is_err() {
                return;
            }
        }
    }
}

/// What the live part measured.
struct Fanout {
    latencies: Vec<Duration>,
    expected: usize,
    missing: usize,
}

/// Live fan-out: `n_live` phones in `n_teams` teams; in each team one phone edits `edits` cases
/// one after another over HTTP through the first process, the rest watch over WebSocket, spread
/// over the processes at `addrs` in turn.
fn fanout(db: &OsStr, addrs: &[SocketAddr], n_live: usize, n_teams: usize, edits: usize, by: &StaffId) -> Fanout {
    let addr = addrs[0];
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).build();
    let per_team = (n_live / n_teams).max(2);
    let mut editors = Vec::new();
    let mut watchers = Vec::new();
    for team_idx in 0..n_teams {
        let team = format!("live-{n_live}-{team_idx}");
        admin(db, &["team", "create", &team]);
        let mut editor = Device::new(issue(db, &team));
        let cases: Vec<CaseId> = (0..edits).map(|idx| editor.create(&CaseScript::generate(idx as u64), by)).collect();
        editor.sync(&agent, addr);
        editors.push((editor, cases));
        watchers.push((0..per_team - 1).map(|_| issue(db, &team)).collect::<Vec<_>>());
    }
    let n_watchers: usize = watchers.iter().map(Vec::len).sum();
    let ready = Arc::new(Barrier::new(n_watchers + 1));
    // Per team, what its watchers hear.
    let mut hearing: Vec<Receiver<(String, Instant)>> = Vec::new();
    for tokens in watchers {
        let (heard_tx, heard_rx) = channel();
        for (idx, token) in tokens.into_iter().enumerate() {
            let (ready, heard) = (Arc::clone(&ready), heard_tx.clone());
            let watched = addrs[(idx + 1) % addrs.len()];
            std::thread::spawn(move || watch(watched, token, ready, heard));
        }
        hearing.push(heard_rx);
    }
    ready.wait();
    let team_runs: Vec<_> = editors
        .into_iter()
        .zip(hearing)
        .map(|((mut editor, cases), heard)| {
            let agent = agent.clone();
            let by = by.clone();
            std::thread::spawn(move || {
                let watchers = per_team - 1;
                let mut latencies = Vec::new();
                let mut missing = 0;
                for case in cases {
                    let note = CaseEdit::AddNote(
                        "已电话联系业主，约定明天上午九点半上门查看，业主同意，并提醒带好备用配件。".into(),
                    );
                    editor.store.edit_case(case, &note, &by, Timestamp::now()).expect("edit");
                    let edited = Instant::now();
                    editor.sync(&agent, addr);
                    let id = case.to_string();
                    let mut seen = 0;
                    let deadline = edited + Duration::from_secs(30);
                    while seen < watchers {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match heard.recv_timeout(left) {
                            Ok((heard_id, at)) if heard_id == id => {
                                seen += 1;
                                latencies.push(at.saturating_duration_since(edited));
                            }
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                    missing += watchers - seen;
                }
                (latencies, missing)
            })
        })
        .collect();
    let mut fanout = Fanout { latencies: Vec::new(), expected: n_watchers * edits, missing: 0 };
    for run in team_runs {
        let (latencies, missing) = run.join().expect("team");
        fanout.latencies.extend(latencies);
        fanout.missing += missing;
    }
    fanout.latencies.sort();
    fanout
}

fn main() {
    let n_cases = env_usize("KEFU_BENCH_CASES", 1000);
    let n_live = env_usize("KEFU_BENCH_LIVE", 40);
    let n_live_teams = env_usize("KEFU_BENCH_LIVE_TEAMS", 1).max(1);
    let n_edits = env_usize("KEFU_BENCH_EDITS", 30);
    let n_devices = env_usize("KEFU_BENCH_DEVICES", 200);
    let n_rounds = env_usize("KEFU_BENCH_ROUNDS", 10);
    let team_size = env_usize("KEFU_BENCH_TEAM_SIZE", 20).max(1);
    let n_processes = env_usize("KEFU_BENCH_PROCESSES", 1).max(1);
    let dir = tempfile::tempdir().expect("dir");
    let postgres = std::env::var("KEFU_BENCH_POSTGRES").ok().map(|admin| database(&admin));
    let db = match &postgres {
        Some(url) => OsString::from(url),
        None => dir.path().join("kefu.sqlite3").into_os_string(),
    };
    let db = db.as_os_str();
    admin(db, &["team", "create", "bench"]);
    let (mut servers, addrs): (Vec<Child>, Vec<SocketAddr>) =
        (0..n_processes).map(|_| start(db, n_live.max(n_devices))).unzip();
    let addr = addrs[0];
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).build();
    let by = StaffId::new("desk.li").expect("staff");

    let office_token = issue(db, "bench");
    let uploaded = upload(&agent, addr, &office_token, n_cases, &by);
    let stored = stored_bytes(db, postgres.is_some());
    let mut phone = Device::new(issue(db, "bench"));
    let initial = phone.sync(&agent, addr);
    assert_eq!(phone.store.n_cases().expect("count"), n_cases);

    let mut office = Device::new(office_token);
    office.sync(&agent, addr);
    let ids: Vec<CaseId> = phone.store.all_cases().expect("cases").iter().map(|case| case.id).collect();
    let note = CaseEdit::AddNote("业主来电催促进度，已解释材料正在采购中，预计两个工作日内到货后立即安排。".into());
    office.store.edit_case(ids[n_cases / 2], &note, &by, Timestamp::now()).expect("edit");
    let push_one = office.sync(&agent, addr);
    let fetch_one = phone.sync(&agent, addr);
    let idle = phone.sync(&agent, addr);

    let live = fanout(db, &addrs, n_live, n_live_teams, n_edits, &by);

    // Concurrent devices, in teams of `team_size`: each opens a case, then per round adds a note
    // and syncs, receiving its teammates' notes.
    let mut devices = Vec::new();
    let mut teams: BTreeMap<usize, String> = BTreeMap::new();
    for device_idx in 0..n_devices {
        let team = teams
            .entry(device_idx / team_size)
            .or_insert_with(|| {
                let team = format!("field-{}", device_idx / team_size);
                admin(db, &["team", "create", &team]);
                team
            })
            .clone();
        let mut device = Device::new(issue(db, &team));
        let case = device.store.create_case(&CaseScript::generate(device_idx as u64).new, &by, Timestamp::now());
        let case = case.expect("case").id;
        let addr = addrs[device_idx % addrs.len()];
        device.sync(&agent, addr);
        devices.push((device, case, addr));
    }
    let barrier = Arc::new(Barrier::new(n_devices + 1));
    let workers: Vec<_> = devices
        .into_iter()
        .map(|(mut device, case, addr)| {
            let barrier = Arc::clone(&barrier);
            let agent = agent.clone();
            let by = by.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut latencies = Vec::new();
                for round in 0..n_rounds {
                    let script = CaseScript::generate(round as u64);
                    device
                        .store
                        .edit_case(case, &script.edits[round % script.edits.len()], &by, Timestamp::now())
                        .expect("edit");
                    let cost = device.sync(&agent, addr);
                    latencies.extend(std::iter::repeat_n(cost.elapsed / cost.rounds.max(1) as u32, cost.rounds));
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
    for server in &mut servers {
        let _ = server.kill();
        let _ = server.wait();
    }

    let backend = match postgres {
        Some(_) => format!("PostgreSQL, {n_processes} server process(es)"),
        None => format!("SQLite, {n_processes} server process(es)"),
    };
    println!("kefu sync server benchmark on {backend}: {n_cases} realistic cases ({stored} B stored by the server)");
    println!("| what | round trips | bytes up | bytes down | time |");
    println!("|---|---|---|---|---|");
    for (what, cost) in [
        ("upload of the team by one device", &uploaded),
        ("initial sync of a new device", &initial),
        ("incremental: push one changed case", &push_one),
        ("incremental: fetch one changed case", &fetch_one),
        ("idle reconnect", &idle),
    ] {
        println!("| {what} | {} | {} | {} | {:.3} s |", cost.rounds, cost.up, cost.down, cost.elapsed.as_secs_f64());
    }
    let delivered = live.latencies.len();
    if delivered > 0 {
        println!(
            "| {n_live} live phones in {n_live_teams} team(s), edit → visible | {} of {} deliveries ({} missing) | | | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms |",
            delivered,
            live.expected,
            live.missing,
            ms(percentile(&live.latencies, 0.50)),
            ms(percentile(&live.latencies, 0.99)),
            ms(*live.latencies.last().expect("some")),
        );
    }
    let total = latencies.len();
    println!(
        "| {n_devices} devices at once, teams of {team_size} ({} teams), rounds of one note + sync | {total} rounds | | | {:.1} rounds/s, p50 {:.1} ms, p99 {:.1} ms |",
        n_devices.div_ceil(team_size),
        total as f64 / elapsed.as_secs_f64(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
    );
}
