//! The real-process fault run: the simulation's story ([`crate::run`]) told again with
//! real processes, real sockets and real SIGKILLs, against a built `kefu` binary.
//!
//! [`run`] starts `kefu serve` on a temporary database and a loopback port, issues one
//! token per device (each to its own staff member), and starts the device processes
//! ([`device`], the `faults device` subcommand), which edit and sync through a lossy
//! TCP proxy ([`proxy`]). Then, at seeded random moments, it SIGKILLs the server or a
//! device and restarts it, until the asked number of kills. Along the way, on a fixed
//! schedule: a phone is backed up, an app is reinstalled (its store deleted, its token
//! kept), the phone is restored from its older backup, then the server's database is
//! backed up and, later, restored from that backup while the server is stopped. The
//! devices' disasters all come before the server's backup, as in the simulation: a
//! device rolled back after the server lost its edits would leave no copy anywhere.
//!
//! Then it heals (every device syncs straight to the server until quiet, in passes until
//! none has anything pending)
//! and stops the server, and checks from the database and the stores: every device
//! holds exactly the server's documents at the server's heads, nothing is pending,
//! every edit the server acknowledged to a device is on the server, every case has a
//! server number and no two share one, and no honest push or update was refused.
//!
//! `cargo run --release -p kefu-tests --bin faults -- --kills 240` (see `src/bin/faults.rs`).

pub mod device;
pub mod proxy;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kefu_core::case::CaseDoc;
use kefu_core::duty_log::is_duty_log;
use kefu_core::ids::SplitMix64;
use kefu_core::store::{CaseStore, StoreConfig};

use crate::{Marker, holds, load, sorted};
use device::DeviceArgs;

/// Most passes of healing over all devices.
const MAX_HEAL_PASSES: usize = 10;

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// The `kefu` binary under test.
    pub kefu: PathBuf,
    /// The binary whose `device` subcommand is a device process (`faults`).
    pub harness: PathBuf,
    /// Device processes.
    pub devices: usize,
    /// SIGKILLs in all, of the server and the devices.
    pub kills: usize,
    /// Seeds the moments, the victims and the proxy's faults.
    pub seed: u64,
    /// Share of proxied connections that are refused or cut.
    pub fault_rate: f64,
    /// Longest pause between two kills; the pause is drawn between a fifth of it and it.
    pub max_pause: Duration,
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    /// SIGKILLs of the server.
    pub server_kills: usize,
    /// SIGKILLs of device processes.
    pub device_kills: usize,
    /// Edits the server acknowledged to a device, all checked present.
    pub acked_edits: usize,
    /// Documents on the server after healing (cases and duty logs).
    pub docs: usize,
    /// Cases among them, each with its own server number.
    pub cases: usize,
    /// Connections through the proxy, and of those refused, cut, delayed.
    pub proxied: u64,
    /// Refused at once.
    pub proxy_refused: u64,
    /// Cut after part of a request or reply.
    pub proxy_cut: u64,
    /// Delayed.
    pub proxy_delayed: u64,
    /// Apps reinstalled, phones restored, server restores.
    pub reinstalls: usize,
    /// Phones restored from an older store file.
    pub phone_restores: usize,
    /// Server databases restored from an older copy.
    pub server_restores: usize,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "converged: {} SIGKILLs ({} server, {} device), {} reinstall, {} phone restore, {} server restore; \
             {} acknowledged edits all present; {} documents ({} cases, unique server numbers); \
             proxy: {} connections, {} refused, {} cut, {} delayed; {:.0} s",
            self.server_kills + self.device_kills,
            self.server_kills,
            self.device_kills,
            self.reinstalls,
            self.phone_restores,
            self.server_restores,
            self.acked_edits,
            self.docs,
            self.cases,
            self.proxied,
            self.proxy_refused,
            self.proxy_cut,
            self.proxy_delayed,
            self.elapsed.as_secs_f64(),
        )
    }
}

/// The `kefu` binary next to `harness` (cargo puts a workspace's binaries side by side),
/// or an error saying how to build it.
pub fn sibling_kefu(harness: &Path) -> Result<PathBuf, String> {
    let dir = harness.parent().ok_or("the harness binary has no directory")?;
    // Integration tests run from `deps/`; binaries live one level up.
    for candidate in [dir.join("kefu"), dir.join("../kefu")] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "no kefu binary next to {}: build it first (`cargo build [--release] -p kefu-server --bin kefu`) or pass --kefu",
        harness.display()
    ))
}

/// Runs the fault run and checks the healed result.
pub fn run(config: &Config) -> Result<Counts, String> {
    let started = Instant::now();
    let dir = tempfile::tempdir().map_err(|err| format!("no temp dir: {err}"))?;
    let mut world = World::new(config, dir.path())?;
    let result = world.play().and_then(|()| world.heal()).and_then(|()| world.check());
    world.stop_all();
    match result {
        Ok(mut counts) => {
            counts.elapsed = started.elapsed();
            Ok(counts)
        }
        Err(err) => {
            let tail = world.server_log_tail();
            // Kept for a post-mortem: the server's database and log, every store and log.
            let kept = dir.keep();
            Err(format!("{err}\nserver log (last lines):\n{tail}\nfiles kept in {}", kept.display()))
        }
    }
}

struct DeviceProc {
    args: DeviceArgs,
    child: Option<Child>,
    starts: u64,
}

struct World<'a> {
    config: &'a Config,
    dir: PathBuf,
    db: PathBuf,
    addr: SocketAddr,
    server: Option<Child>,
    proxy: proxy::Proxy,
    devices: Vec<DeviceProc>,
    rng: SplitMix64,
    counts: Counts,
}

fn unit(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

impl<'a> World<'a> {
    fn new(config: &'a Config, dir: &Path) -> Result<World<'a>, String> {
        let db = dir.join("server.sqlite3");
        admin(config, &db, &["team", "create", "east"])?;
        // Another team, so the server is not trivially one team's.
        admin(config, &db, &["team", "create", "west"])?;
        // A free port, kept across restarts so that devices and the proxy need not follow.
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|err| format!("no free port: {err}"))?;
        let proxy = proxy::Proxy::start(addr, config.fault_rate, config.seed ^ 0x9e37)
            .map_err(|err| format!("proxy: {err}"))?;
        let mut devices = Vec::new();
        for idx in 0..config.devices {
            let staff = format!("staff.{idx}");
            let token =
                admin(config, &db, &["device", "issue", "--team", "east", "--role", "staff", "--staff", &staff])?
                    .trim()
                    .to_string();
            let args = DeviceArgs {
                url: format!("http://{}", proxy.addr),
                token,
                store: dir.join(format!("device-{idx}")),
                log: dir.join(format!("device-{idx}.acks")),
                staff,
                seed: 0,
                heal: false,
            };
            devices.push(DeviceProc { args, child: None, starts: 0 });
        }
        let mut world = World {
            config,
            dir: dir.to_path_buf(),
            db,
            addr,
            server: None,
            proxy,
            devices,
            rng: SplitMix64(config.seed),
            counts: Counts::default(),
        };
        world.start_server()?;
        for idx in 0..world.devices.len() {
            world.start_device(idx)?;
        }
        Ok(world)
    }

    fn start_server(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .map_err(|err| format!("server log: {err}"))?;
        let child = Command::new(&self.config.kefu)
            .args(["serve", "--log-format", "json", "--listen", &self.addr.to_string(), "--db"])
            .arg(&self.db)
            // The devices sync as fast as they can; the rate limit is another test's business.
            .args(["--rate-limit-per-sec", "100000", "--rate-limit-burst", "100000", "--shutdown-grace-secs", "2"])
            .env("RUST_LOG", "kefu=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|err| format!("cannot start {}: {err}", self.config.kefu.display()))?;
        self.server = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if healthz(self.addr) == Some(200) {
                return Ok(());
            }
            if let Some(child) = self.server.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("kefu serve exited at start: {status}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err("kefu serve did not answer /healthz within 60 s".into())
    }

    fn kill_server(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
            self.counts.server_kills += 1;
        }
    }

    fn start_device(&mut self, idx: usize) -> Result<(), String> {
        let token_file = self.dir.join(format!("device-{idx}.token"));
        // For a post-mortem of kept files: the token is not stored anywhere else in clear.
        std::fs::write(&token_file, &self.devices[idx].args.token).map_err(|err| err.to_string())?;
        let proc = &mut self.devices[idx];
        proc.starts += 1;
        proc.args.seed = self.config.seed.wrapping_mul(1_000_003).wrapping_add((idx as u64) << 32 | proc.starts);
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("device-{idx}.log")))
            .map_err(|err| format!("device log: {err}"))?;
        let child = Command::new(&self.config.harness)
            .arg("device")
            .args(proc.args.to_args())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|err| format!("cannot start a device ({}): {err}", self.config.harness.display()))?;
        proc.child = Some(child);
        Ok(())
    }

    fn kill_device(&mut self, idx: usize) -> Result<(), String> {
        if let Some(mut child) = self.devices[idx].child.take() {
            let _ = child.kill();
            let status = child.wait().map_err(|err| err.to_string())?;
            self.counts.device_kills += 1;
            // A device that exited by itself before the kill failed.
            if status.code().is_some() {
                return Err(format!("device {idx} exited by itself ({status}):\n{}", self.device_log_tail(idx)));
            }
        }
        Ok(())
    }

    /// The kills and the scheduled disasters, under the devices' load.
    fn play(&mut self) -> Result<(), String> {
        let kills = self.config.kills.max(10);
        // On a fixed schedule (fractions of the kills), so a short run has them all too.
        let at = |tenths: usize| kills * tenths / 10;
        let phone = 0;
        let reinstalled = 1 % self.devices.len();
        let mut phone_backup = None;
        let mut server_backup = None;
        let mut done = 0;
        while done < kills {
            let max = self.config.max_pause.as_millis() as u64;
            std::thread::sleep(Duration::from_millis(max / 5 + self.rng.next_u64() % (max - max / 5 + 1)));
            if done == at(2) && phone_backup.is_none() {
                self.kill_device(phone)?;
                phone_backup = Some(self.copy_dir(&self.devices[phone].args.store.clone(), "phone-backup")?);
                self.start_device(phone)?;
            } else if done == at(4) && self.counts.reinstalls == 0 {
                self.kill_device(reinstalled)?;
                let store = self.devices[reinstalled].args.store.clone();
                std::fs::remove_dir_all(&store).map_err(|err| format!("reinstall: {err}"))?;
                self.forget_made(reinstalled)?;
                self.counts.reinstalls += 1;
                self.start_device(reinstalled)?;
            } else if done == at(6) && self.counts.phone_restores == 0 {
                self.kill_device(phone)?;
                let store = self.devices[phone].args.store.clone();
                std::fs::remove_dir_all(&store).map_err(|err| format!("restore: {err}"))?;
                copy_files(phone_backup.as_ref().ok_or("no phone backup")?, &store)?;
                self.forget_made(phone)?;
                self.counts.phone_restores += 1;
                self.start_device(phone)?;
            } else if done == at(7) && server_backup.is_none() {
                self.kill_server();
                server_backup = Some(self.backup_server()?);
                self.start_server()?;
            } else if done == at(9) && self.counts.server_restores == 0 {
                self.kill_server();
                self.restore_server(server_backup.as_ref().ok_or("no server backup")?)?;
                self.counts.server_restores += 1;
                self.start_server()?;
            } else if unit(&mut self.rng) < 0.3 {
                self.kill_server();
                self.start_server()?;
            } else {
                let idx = (self.rng.next_u64() % self.devices.len() as u64) as usize;
                self.kill_device(idx)?;
                self.start_device(idx)?;
            }
            done = self.counts.server_kills + self.counts.device_kills;
        }
        // Load ends: the devices stop (one more kill each, counted) before healing.
        for idx in 0..self.devices.len() {
            self.kill_device(idx)?;
        }
        let proxy = &self.proxy.counts;
        let load = std::sync::atomic::Ordering::Relaxed;
        self.counts.proxied = proxy.connections.load(load);
        self.counts.proxy_refused = proxy.refused.load(load);
        self.counts.proxy_cut = proxy.cut.load(load);
        self.counts.proxy_delayed = proxy.delayed.load(load);
        Ok(())
    }

    /// The device's store was replaced: the edits it made since are gone with it.
    fn forget_made(&self, idx: usize) -> Result<(), String> {
        let made = device::made_log(&self.devices[idx].args.log);
        match std::fs::remove_file(&made) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(format!("{}: {err}", made.display())),
            _ => Ok(()),
        }
    }

    fn copy_dir(&self, from: &Path, name: &str) -> Result<PathBuf, String> {
        let to = self.dir.join(name);
        std::fs::create_dir_all(&to).map_err(|err| err.to_string())?;
        copy_files(from, &to)?;
        Ok(to)
    }

    /// The database and its WAL, as a file-level backup of a stopped server would copy them.
    fn backup_server(&self) -> Result<PathBuf, String> {
        let to = self.dir.join("server-backup");
        std::fs::create_dir_all(&to).map_err(|err| err.to_string())?;
        for suffix in ["", "-wal"] {
            let from = PathBuf::from(format!("{}{suffix}", self.db.display()));
            if from.exists() {
                std::fs::copy(&from, to.join(format!("server.sqlite3{suffix}"))).map_err(|err| err.to_string())?;
            }
        }
        Ok(to)
    }

    fn restore_server(&self, backup: &Path) -> Result<(), String> {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.db.display()));
        }
        for suffix in ["", "-wal"] {
            let from = backup.join(format!("server.sqlite3{suffix}"));
            if from.exists() {
                std::fs::copy(&from, format!("{}{suffix}", self.db.display())).map_err(|err| err.to_string())?;
            }
        }
        Ok(())
    }

    /// Every device syncs straight to the server (no proxy) until quiet, in passes over all
    /// of them: a document holding another device's changes the server lacks (after its
    /// restore) stays pending until that device's turn, and a later device's push reaches
    /// the earlier ones only in the next pass. Once a pass leaves no device with anything
    /// pending, the server holds everything, and one more pass brings it to every device.
    /// At most ten passes; the 300-kill run with 8 devices needed five before the last.
    fn heal(&mut self) -> Result<(), String> {
        let mut last = false;
        for _ in 0..MAX_HEAL_PASSES {
            for idx in 0..self.devices.len() {
                let mut args = self.devices[idx].args.clone();
                args.url = format!("http://{}", self.addr);
                args.heal = true;
                let output = Command::new(&self.config.harness)
                    .arg("device")
                    .args(args.to_args())
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|err| format!("heal: {err}"))?;
                if !output.status.success() {
                    return Err(format!(
                        "device {idx} did not heal ({}): {}",
                        output.status,
                        String::from_utf8_lossy(&output.stderr)
                    ));
                }
            }
            if last {
                return Ok(());
            }
            last = self.pending()?.iter().all(|&pending| pending == 0);
        }
        // The check names what is still pending.
        Ok(())
    }

    /// Each device's count of documents the server has not acknowledged.
    fn pending(&self) -> Result<Vec<usize>, String> {
        self.devices
            .iter()
            .map(|proc| {
                let store = CaseStore::open(&proc.args.store, StoreConfig::default()).map_err(|err| err.to_string())?;
                store.pending_docs().map_err(|err| err.to_string())
            })
            .collect()
    }

    fn check(&mut self) -> Result<Counts, String> {
        // A graceful stop, so the database is read whole.
        if let Some(mut child) = self.server.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
        let docs = server_docs(&self.db)?;
        let server_heads: BTreeMap<&String, Vec<automerge::ChangeHash>> =
            docs.iter().map(|(id, bytes)| Ok((id, sorted(load(bytes)?.get_heads())))).collect::<Result<_, String>>()?;
        for (idx, proc) in self.devices.iter().enumerate() {
            let mut store = CaseStore::open(&proc.args.store, StoreConfig::default())
                .map_err(|err| format!("device {idx}'s store: {err}"))?;
            let pending = store.pending_docs().map_err(|err| err.to_string())?;
            if pending > 0 {
                return Err(format!("device {idx} still has {pending} documents pending"));
            }
            let ids = store.doc_ids().map_err(|err| err.to_string())?;
            let (mut differ, mut extra) = (0, 0);
            for id in &ids {
                let heads = sorted(store.heads(id).map_err(|err| err.to_string())?);
                match server_heads.get(id) {
                    Some(server) if *server == heads => {}
                    Some(_) => differ += 1,
                    None => extra += 1,
                }
            }
            let missing = server_heads.len() - (ids.len() - extra);
            if differ + extra + missing > 0 {
                return Err(format!(
                    "device {idx} differs from the server: {missing} documents missing, {extra} the server lacks, \
                     {differ} at other heads"
                ));
            }
        }
        let mut acked = 0;
        for (idx, proc) in self.devices.iter().enumerate() {
            let log = std::fs::read_to_string(&proc.args.log).unwrap_or_default();
            for line in log.lines() {
                if line.starts_with('!') {
                    return Err(format!("device {idx}: an honest device was refused: {line}"));
                }
                let (doc, text) =
                    line.split_once('\t').ok_or_else(|| format!("device {idx}: bad log line {line:?}"))?;
                let marker = Marker { doc: doc.to_string(), text: text.to_string() };
                let present = match docs.get(doc) {
                    Some(bytes) => holds(bytes, &marker)?,
                    None => false,
                };
                if !present {
                    return Err(format!("device {idx}: an acknowledged edit is lost: {marker:?}"));
                }
                acked += 1;
            }
        }
        let mut numbers = BTreeMap::new();
        for (id, bytes) in &docs {
            let doc = load(bytes)?;
            if is_duty_log(&doc) {
                continue;
            }
            let case = CaseDoc::from_automerge(doc).map_err(|err| format!("{id} is invalid: {err}"))?.read();
            let number = case.number.assigned.ok_or_else(|| format!("case {id} has no server number"))?;
            if let Some(other) = numbers.insert(number.clone(), id.clone()) {
                return Err(format!("cases {other} and {id} share server number {number}"));
            }
        }
        let mut counts = self.counts.clone();
        counts.acked_edits = acked;
        counts.docs = docs.len();
        counts.cases = numbers.len();
        Ok(counts)
    }

    fn stop_all(&mut self) {
        for proc in &mut self.devices {
            if let Some(mut child) = proc.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn server_log_tail(&self) -> String {
        tail(&self.dir.join("server.log"))
    }

    fn device_log_tail(&self, idx: usize) -> String {
        tail(&self.dir.join(format!("device-{idx}.log")))
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Runs `kefu admin --db <db> <args>`; its stdout, or its stderr as the error.
fn admin(config: &Config, db: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(&config.kefu)
        .arg("admin")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .map_err(|err| format!("cannot run {}: {err}", config.kefu.display()))?;
    if !output.status.success() {
        return Err(format!("kefu admin {args:?}: {}", String::from_utf8_lossy(&output.stderr)));
    }
    String::from_utf8(output.stdout).map_err(|err| err.to_string())
}

/// `GET /healthz`'s status, or `None` when the server does not answer.
fn healthz(addr: SocketAddr) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: kefu\r\nConnection: close\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

fn copy_files(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|err| err.to_string())?;
    crate::copy_files(from, to)
}

/// Every document of the stopped server's database.
fn server_docs(db: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let conn = rusqlite::Connection::open(db).map_err(|err| format!("server database: {err}"))?;
    let mut statement = conn.prepare("SELECT id, bytes FROM docs").map_err(|err| err.to_string())?;
    let rows = statement
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?)))
        .map_err(|err| err.to_string())?;
    rows.collect::<Result<_, _>>().map_err(|err| err.to_string())
}
