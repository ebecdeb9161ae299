//! kefu-tests: the end-to-end stories of the workspace. Start here to see the whole
//! system work, and fail.
//!
//! [`run`] is a deterministic simulation of one team on its unlucky day: a few phones
//! with real device stores (SQLite on disk) and the server's sync core over
//! [`MemoryServer`], on a virtual clock, talking over an in-memory network that drops,
//! delays, duplicates and reorders messages and cuts connections. Devices and the
//! server crash (whatever was not durable is gone), apps are reinstalled, phones and the
//! server are restored from older backups, and staff edit all the while: new cases,
//! notes, transitions, description text, duty-log entries, leave requests, swaps asked and
//! answered, check-ins; the supervisor publishes the team's roster, and midway republishes it,
//! decides every pending request and corrects each attendance record. Then the network heals
//! and every device syncs until quiet, and the run checks:
//!
//! - every device holds exactly the server's documents it may read (requests and attendance
//!   only its staff member's), at the server's heads;
//! - every edit the server acknowledged to a device is on the server (and so everywhere);
//! - the domain holds: every document valid, every case numbered by the server, no two
//!   cases with the same server number or the same provisional number; every phone reads
//!   the roster version published last;
//! - no honest push was refused and nothing is left pending.
//!
//! A seed decides everything, so a failing seed replays exactly:
//! `cargo run -p kefu-tests --bin soak -- --seed N` (see `src/bin/soak.rs`).
//!
//! A seed's disasters are of one side: the devices' (reinstalls, restored phones) or the
//! server's (restores from older backups). Both at once can lose an acknowledged edit
//! for good, when the only replicas holding it are the ones rolled back; no protocol can
//! bring that back, so the check would have nothing to hold it to. Seeds of server
//! disasters publish the roster only before the first backup, and decide nothing: phones do
//! not relay the server's roster, decision and correction changes, so a restore that loses one
//! leaves them holding a version the server lacks (ARCHITECTURE.md, section 5, "Rosters": a
//! known gap).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use automerge::ChangeHash;
use kefu_core::attendance::{AttendanceDoc, AttendanceEdit, CheckKind, ShiftStatus, attendance_id, is_attendance};
use kefu_core::case::{CaseDoc, CaseEdit, CaseKind, Channel, Customer, EntryBody, NewCase, Priority, Status};
use kefu_core::duty_log::{DutyEdit, DutyEntryKind, DutyLogDoc, DutyShift, is_duty_log};
use kefu_core::ids::{DeviceId, SplitMix64, StaffId, Timestamp};
use kefu_core::request::{RequestDoc, RequestEdit, RequestKind, RequestStatus, is_request};
use kefu_core::roster::{Roster, RosterDoc, RosterShift, is_roster};
use kefu_core::store::{CaseFilter, CaseStore, StoreConfig};
use kefu_core::sync::memory::MemoryServer;
use kefu_core::sync::server::{AcceptedDoc, RoundContext, RoundError, may_read};
use kefu_core::sync::{Push, Reply};

pub mod faults;

const TEAM: &str = "east";
const SERVER: DeviceId = DeviceId::from_u128(0x5e5e);

/// Which side's disasters a seed plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disasters {
    /// Network faults and crashes only.
    Crashes,
    /// Plus reinstalled apps and phones restored from older backups.
    Devices,
    /// Plus the server restored from older backups.
    Server,
}

/// What a run did, for the soak command's totals.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Steps before healing.
    pub steps: usize,
    /// Pushes the server processed.
    pub rounds: usize,
    /// Edits the server acknowledged.
    pub acked_edits: usize,
    /// Devices killed.
    pub device_crashes: usize,
    /// Server crashes.
    pub server_crashes: usize,
    /// Apps reinstalled.
    pub reinstalls: usize,
    /// Phones restored from a backup.
    pub device_restores: usize,
    /// Server restores from a backup.
    pub server_restores: usize,
    /// Messages the network lost.
    pub dropped: usize,
}

/// The simulation's choices, from the generator the stores and the server use too.
struct Rng(SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - p
    }
}

/// An edit made on a device whose presence can be checked later: a case, a note, a duty entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// The document's id.
    pub doc: String,
    /// The note's or entry's text; empty for a new case.
    pub text: String,
}

struct Device {
    name: String,
    token: DeviceId,
    staff: StaffId,
    dir: tempfile::TempDir,
    store: Option<CaseStore>,
    /// Bumped when the device's connection dies: replies on an older one are never read.
    conn: u64,
    in_flight: Option<Push>,
    backups: Vec<tempfile::TempDir>,
    markers: Vec<Marker>,
    /// Seeds each opening of the store, so that a run replays exactly.
    seed: u64,
    openings: u64,
}

impl Device {
    fn store(&mut self) -> &mut CaseStore {
        self.store.as_mut().expect("the store is open between steps")
    }

    fn reopen(&mut self) {
        self.store = None;
        self.openings += 1;
        let config =
            StoreConfig { seed: Some(self.seed ^ self.openings.wrapping_mul(0x9e37_79b9)), ..StoreConfig::default() };
        let mut store = CaseStore::open(self.dir.path(), config).expect("store reopens");
        store.bind_device(self.token).expect("store binds");
        self.store = Some(store);
        self.conn += 1;
        self.in_flight = None;
    }

    /// A copy of the store's files, taken with the store closed.
    fn backup(&mut self) -> Result<tempfile::TempDir, String> {
        self.store = None;
        let copy = scratch_dir();
        copy_files(self.dir.path(), copy.path())?;
        self.reopen();
        Ok(copy)
    }
}

enum Msg {
    ToServer { device: usize, conn: u64, push: Push },
    ToDevice { device: usize, conn: u64, reply: Reply, acked: Vec<usize> },
}

struct World {
    rng: Rng,
    clock: i64,
    disasters: Disasters,
    server: MemoryServer,
    server_backups: Vec<MemoryServer>,
    devices: Vec<Device>,
    net: Vec<Msg>,
    /// Markers the server acknowledged, with the device that made each.
    acked: Vec<Marker>,
    outcome: Outcome,
    serial: u64,
    /// The roster version the supervisor published last (0: none).
    roster_version: u64,
}

/// A temporary directory, on tmpfs where there is one: stores fsync on every write.
fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().expect("a temporary directory")
}

fn copy_files(from: &Path, to: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(from).map_err(|err| format!("cannot list {}: {err}", from.display()))?;
    for entry in entries {
        let path = entry.map_err(|err| err.to_string())?.path();
        let name = path.file_name().ok_or("a file without a name")?;
        std::fs::copy(&path, to.join(name)).map_err(|err| format!("cannot copy {}: {err}", path.display()))?;
    }
    Ok(())
}

/// Runs seed `seed` and checks the healed world.
pub fn run(seed: u64) -> Result<Outcome, String> {
    let mut rng = Rng(SplitMix64(seed));
    let disasters = match rng.below(3) {
        0 => Disasters::Crashes,
        1 => Disasters::Devices,
        _ => Disasters::Server,
    };
    let n_devices = 2 + rng.below(3);
    let steps = 60 + rng.below(120);
    let devices = (0..n_devices)
        .map(|idx| {
            let token = DeviceId::from_u128(((idx as u128 + 1) << 112) | u128::from(seed));
            let dir = scratch_dir();
            let device_seed = seed.wrapping_mul(31).wrapping_add(idx as u64 + 1);
            let config = StoreConfig { seed: Some(device_seed), ..StoreConfig::default() };
            let mut store = CaseStore::open(dir.path(), config).expect("store opens");
            store.bind_device(token).expect("store binds");
            Device {
                name: format!("phone-{idx}"),
                token,
                staff: StaffId::new(format!("staff.{idx}")).expect("valid staff id"),
                dir,
                store: Some(store),
                conn: 0,
                in_flight: None,
                backups: Vec::new(),
                markers: Vec::new(),
                seed: device_seed,
                openings: 0,
            }
        })
        .collect();
    let mut world = World {
        rng,
        clock: 1_764_547_200_000,
        disasters,
        server: MemoryServer::new(seed ^ 0x5eed),
        server_backups: Vec::new(),
        devices,
        net: Vec::new(),
        acked: Vec::new(),
        outcome: Outcome { steps, ..Outcome::default() },
        serial: 0,
        roster_version: 0,
    };
    world.publish_roster().map_err(|err| format!("seed {seed}: {err}"))?;
    for step in 0..steps {
        // A republish a restore could lose is left out of server disasters (module doc).
        if step == steps / 2 && disasters != Disasters::Server {
            world.publish_roster().map_err(|err| format!("seed {seed} ({disasters:?}): {err}"))?;
            world.supervise().map_err(|err| format!("seed {seed} ({disasters:?}): {err}"))?;
        }
        world.step().map_err(|err| format!("seed {seed} ({disasters:?}): {err}"))?;
    }
    world.heal().map_err(|err| format!("seed {seed} ({disasters:?}) while healing: {err}"))?;
    world.check().map_err(|err| format!("seed {seed} ({disasters:?}): {err}"))?;
    Ok(world.outcome)
}

impl World {
    fn ctx(&mut self, device: usize) -> RoundContext {
        RoundContext {
            server_device: SERVER,
            server_nonce: self.rng.next().to_le_bytes(),
            seal_key: [0x5e; 32],
            device: self.devices[device].token,
            staff: Some(self.devices[device].staff.clone()),
            supervises: false,
            now: Timestamp(self.clock),
            utc_offset_minutes: 480,
            max_docs: 500,
            // Small, so replies come in several parts (`more`).
            max_updates: 4,
            fan_out: false,
        }
    }

    /// The supervisor decides every pending request (approving most) and corrects each
    /// attendance record's first day, as the console writes them: by the server's actor.
    fn supervise(&mut self) -> Result<(), String> {
        let server = StaffId::new("server").expect("a valid staff id");
        for (id, bytes) in self.server.docs(TEAM) {
            let actor = SERVER.install(self.rng.next().to_le_bytes()).actor();
            let doc = load(&bytes)?;
            let written = if is_request(&doc) {
                let mut request = RequestDoc::load(&bytes, actor).map_err(|err| format!("{id}: {err}"))?;
                if request.read().status() != RequestStatus::Pending {
                    continue;
                }
                let edit =
                    RequestEdit::Decide { approve: self.rng.chance(0.8), by: "supervisor".into(), note: "ok".into() };
                request.apply(Timestamp(self.clock), &server, &edit).map_err(|err| format!("{id}: {err}"))?;
                request.automerge().clone()
            } else if is_attendance(&doc) {
                let mut record = AttendanceDoc::load(&bytes, actor).map_err(|err| format!("{id}: {err}"))?;
                let fix = AttendanceEdit::Fix {
                    shift: format!("2026-12-07/{}/day", record.read().staff),
                    status: ShiftStatus::Excused,
                    note: "sick note brought".into(),
                    by: "supervisor".into(),
                };
                record.apply(Timestamp(self.clock), &fix).map_err(|err| format!("{id}: {err}"))?;
                record.automerge().clone()
            } else {
                continue;
            };
            let accepted =
                AcceptedDoc { id, bytes: written.save(), heads: written.get_heads(), is_new: false, case: None };
            self.server.store_server_doc(TEAM, &accepted)?;
        }
        Ok(())
    }

    /// The supervisor publishes the next version of the week's roster: each phone's staff member
    /// on the desk one day, a day later in each version.
    fn publish_roster(&mut self) -> Result<(), String> {
        self.roster_version += 1;
        let first = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).expect("a date");
        let shifts = self
            .devices
            .iter()
            .enumerate()
            .map(|(idx, dev)| {
                let date = first + chrono::Duration::days(((idx as u64 + self.roster_version) % 7) as i64);
                let start = date.and_hms_opt(8, 0, 0).expect("a time");
                let end = date.and_hms_opt(17, 30, 0).expect("a time");
                RosterShift {
                    staff: dev.staff.clone(),
                    date,
                    shift: "day".into(),
                    post: "desk".into(),
                    start,
                    end,
                    lunch: None,
                }
            })
            .collect();
        let last = first + chrono::Duration::days(6);
        let roster = Roster::new(first, last, self.roster_version, "supervisor", Timestamp(self.clock), 480, shifts)
            .map_err(|err| format!("roster: {err}"))?;
        let actor = SERVER.install(self.rng.next().to_le_bytes()).actor();
        let base = match self.server.docs(TEAM).get(&roster.id) {
            Some(bytes) => Some(RosterDoc::load(bytes, actor.clone()).map_err(|err| format!("stored roster: {err}"))?),
            None => None,
        };
        let is_new = base.is_none();
        let doc = RosterDoc::publish(base, actor, &roster).map_err(|err| format!("publish: {err}"))?;
        let doc = doc.automerge();
        let accepted = AcceptedDoc { id: roster.id, bytes: doc.save(), heads: doc.get_heads(), is_new, case: None };
        self.server.store_server_doc(TEAM, &accepted)
    }

    fn step(&mut self) -> Result<(), String> {
        self.clock += 1 + self.rng.below(60_000) as i64;
        let roll = self.rng.below(100);
        let device = self.rng.below(self.devices.len());
        match roll {
            0..=34 => self.edit(device),
            35..=54 => self.start_round(device),
            55..=84 => self.deliver(),
            85..=88 => {
                // A connection given up (timeout, signal lost): its reply is never read.
                self.devices[device].conn += 1;
                self.devices[device].in_flight = None;
                Ok(())
            }
            89..=91 => {
                self.outcome.device_crashes += 1;
                self.devices[device].reopen();
                Ok(())
            }
            92 => {
                self.outcome.server_crashes += 1;
                self.cut_everything();
                Ok(())
            }
            _ => self.disaster(device),
        }
    }

    /// The server process died: every connection is gone with what was in flight.
    fn cut_everything(&mut self) {
        self.net.clear();
        for device in &mut self.devices {
            device.conn += 1;
            device.in_flight = None;
        }
    }

    fn disaster(&mut self, device: usize) -> Result<(), String> {
        match (self.disasters, self.rng.below(4)) {
            (Disasters::Devices, 0 | 1) => {
                let backup = self.devices[device].backup()?;
                self.devices[device].backups.push(backup);
            }
            (Disasters::Devices, 2) => {
                let dev = &mut self.devices[device];
                if dev.backups.is_empty() {
                    return Ok(());
                }
                let pick = self.rng.below(dev.backups.len());
                let restored = scratch_dir();
                copy_files(dev.backups[pick].path(), restored.path())?;
                dev.store = None;
                dev.dir = restored;
                dev.reopen();
                self.outcome.device_restores += 1;
            }
            (Disasters::Devices, _) => {
                let dev = &mut self.devices[device];
                dev.store = None;
                dev.dir = scratch_dir();
                dev.reopen();
                self.outcome.reinstalls += 1;
            }
            (Disasters::Server, 0 | 1) => self.server_backups.push(self.server.clone()),
            (Disasters::Server, _) => {
                if self.server_backups.is_empty() {
                    return Ok(());
                }
                let pick = self.rng.below(self.server_backups.len());
                let backup = self.server_backups[pick].clone();
                self.server.restore(&backup);
                self.cut_everything();
                self.outcome.server_restores += 1;
            }
            (Disasters::Crashes, _) => {}
        }
        Ok(())
    }

    fn edit(&mut self, device: usize) -> Result<(), String> {
        self.serial += 1;
        let serial = self.serial;
        let at = Timestamp(self.clock);
        let kind = self.rng.below(13);
        let pick = self.rng.next();
        let dev = &mut self.devices[device];
        let staff = dev.staff.clone();
        if kind >= 10 {
            let store = dev.store.as_mut().expect("the store is open between steps");
            return staffing(store, &staff, kind, pick, at, &mut dev.markers);
        }
        let store = dev.store();
        let cases: Vec<_> = store.list(&CaseFilter::default()).map_err(|err| err.to_string())?;
        if kind < 2 || cases.is_empty() {
            let case = store.create_case(&new_case(serial), &staff, at).map_err(|err| format!("create: {err}"))?;
            dev.markers.push(Marker { doc: case.id.to_string(), text: String::new() });
            return Ok(());
        }
        let case = cases[(pick % cases.len() as u64) as usize].id;
        let edit = match kind {
            2..=4 => CaseEdit::AddNote(format!("note {serial}")),
            5 | 6 => CaseEdit::Transition {
                to: Status::ALL[(pick >> 8) as usize % Status::ALL.len()],
                reason: format!("step {serial}"),
            },
            7 => CaseEdit::SpliceDescription { pos: 0, delete: 0, insert: format!("[{serial}] 现场已处理 ") },
            _ => {
                let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 1 + (pick % 3) as u32).expect("a date");
                let log = store.open_duty_log(date, DutyShift::Night).map_err(|err| format!("duty log: {err}"))?;
                let text = format!("entry {serial}");
                let entry = DutyEdit::AddEntry { kind: DutyEntryKind::Call, text: text.clone(), case: Some(case) };
                store.edit_duty_log(&log.id, &entry, &staff, at).map_err(|err| format!("duty entry: {err}"))?;
                dev.markers.push(Marker { doc: log.id, text });
                return Ok(());
            }
        };
        match store.edit_case(case, &edit, &staff, at) {
            Ok(_) => {
                if let CaseEdit::AddNote(text) = edit {
                    dev.markers.push(Marker { doc: case.to_string(), text });
                }
                Ok(())
            }
            // A transition the workflow does not allow changes nothing; that is its test's business.
            Err(kefu_core::store::StoreError::Edit(_)) => Ok(()),
            Err(err) => Err(format!("edit: {err}")),
        }
    }

    fn start_round(&mut self, device: usize) -> Result<(), String> {
        let dev = &mut self.devices[device];
        if dev.in_flight.is_some() {
            return Ok(());
        }
        let push = dev.store().prepare_push(3).map_err(|err| format!("prepare_push: {err}"))?;
        dev.in_flight = Some(push.clone());
        let conn = dev.conn;
        self.send(Msg::ToServer { device, conn, push });
        Ok(())
    }

    /// Puts a message on the network, which may lose it or deliver it twice.
    fn send(&mut self, msg: Msg) {
        if self.rng.chance(0.1) {
            self.outcome.dropped += 1;
            return;
        }
        if self.rng.chance(0.05) {
            let copy = match &msg {
                Msg::ToServer { device, conn, push } => {
                    Msg::ToServer { device: *device, conn: *conn, push: push.clone() }
                }
                Msg::ToDevice { device, conn, reply, acked } => {
                    Msg::ToDevice { device: *device, conn: *conn, reply: reply.clone(), acked: acked.clone() }
                }
            };
            self.net.push(copy);
        }
        self.net.push(msg);
    }

    /// Delivers one message, picked at random: the network reorders freely.
    fn deliver(&mut self) -> Result<(), String> {
        if self.net.is_empty() {
            return Ok(());
        }
        let pick = self.rng.below(self.net.len());
        match self.net.swap_remove(pick) {
            Msg::ToServer { device, conn, push } => {
                let ctx = self.ctx(device);
                let name = self.devices[device].name.clone();
                self.outcome.rounds += 1;
                let reply = match self.server.round(TEAM, &name, &push, &ctx) {
                    Ok(reply) => reply,
                    Err(RoundError::Refused(refusal)) => return Err(format!("{name}'s push refused whole: {refusal}")),
                    Err(RoundError::Storage(err)) => return Err(format!("storage: {err}")),
                };
                if self.rng.chance(0.05) {
                    // The server died after its commit, before the reply left.
                    self.outcome.server_crashes += 1;
                    self.cut_everything();
                    return Ok(());
                }
                let acked = self.acked_markers(device, &reply)?;
                self.send(Msg::ToDevice { device, conn, reply, acked });
                Ok(())
            }
            Msg::ToDevice { device, conn, reply, acked } => {
                let dev = &mut self.devices[device];
                let Some(push) = dev.in_flight.take_if(|push| conn == dev.conn && push.round == reply.round) else {
                    return Ok(());
                };
                if self.rng.chance(0.05) {
                    // Killed between receiving the reply and storing it.
                    self.outcome.device_crashes += 1;
                    dev.reopen();
                    return Ok(());
                }
                let outcome = dev.store().apply_reply(&push, &reply).map_err(|err| format!("apply_reply: {err}"))?;
                if let Some((id, refusal)) = outcome.refused.first() {
                    return Err(format!("{}'s push of {id} refused: {refusal}", dev.name));
                }
                for idx in acked {
                    self.acked.push(dev.markers[idx].clone());
                }
                Ok(())
            }
        }
    }

    /// The device's markers the server holds in documents this reply acknowledges: once the
    /// device reads the reply, they are acknowledged edits.
    fn acked_markers(&self, device: usize, reply: &Reply) -> Result<Vec<usize>, String> {
        let docs = self.server.docs(TEAM);
        let acked_docs: BTreeSet<&str> = reply.acks.iter().map(|ack| ack.id.as_str()).collect();
        let mut acked = Vec::new();
        for (idx, marker) in self.devices[device].markers.iter().enumerate() {
            if !acked_docs.contains(marker.doc.as_str()) {
                continue;
            }
            if let Some(bytes) = docs.get(&marker.doc)
                && holds(bytes, marker)?
            {
                acked.push(idx);
            }
        }
        Ok(acked)
    }

    /// A perfect network: every device syncs until nothing moves, several times over.
    fn heal(&mut self) -> Result<(), String> {
        self.net.clear();
        for pass in 0..4 {
            for device in 0..self.devices.len() {
                self.devices[device].in_flight = None;
                for round in 0.. {
                    if round > 200 {
                        return Err(format!("{} did not settle in pass {pass}", self.devices[device].name));
                    }
                    let push = self.devices[device].store().prepare_push(500).map_err(|err| err.to_string())?;
                    let ctx = self.ctx(device);
                    let name = self.devices[device].name.clone();
                    let reply = self.server.round(TEAM, &name, &push, &ctx).map_err(|err| format!("{name}: {err}"))?;
                    // As the client stops: nothing to send and nothing more to fetch. Reports may
                    // still go out, and be answered: a document holding another device's changes
                    // that the server lacks is reported until that device has pushed them.
                    let idle = round > 0 && push.docs.is_empty();
                    let outcome =
                        self.devices[device].store().apply_reply(&push, &reply).map_err(|err| err.to_string())?;
                    if let Some((id, refusal)) = outcome.refused.first() {
                        return Err(format!("{name}'s push of {id} refused: {refusal}"));
                    }
                    if idle && !outcome.more {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), String> {
        let docs = self.server.docs(TEAM);
        let server_heads: BTreeMap<String, Vec<ChangeHash>> = docs
            .iter()
            .map(|(id, bytes)| Ok((id.clone(), sorted(load(bytes)?.get_heads()))))
            .collect::<Result<_, String>>()?;
        for dev in &mut self.devices {
            let store = dev.store.as_mut().expect("open");
            let versions: Vec<u64> =
                store.rosters().map_err(|err| err.to_string())?.iter().map(|roster| roster.version).collect();
            if versions != [self.roster_version] {
                return Err(format!("{} reads roster versions {versions:?}, not {}", dev.name, self.roster_version));
            }
            let pending = store.pending_docs().map_err(|err| err.to_string())?;
            if pending > 0 {
                return Err(format!("{} still has {pending} documents pending", dev.name));
            }
            let readable: BTreeMap<String, Vec<ChangeHash>> = server_heads
                .iter()
                .filter(|(id, _)| load(&docs[*id]).is_ok_and(|doc| may_read(id, &doc, Some(&dev.staff))))
                .map(|(id, heads)| (id.clone(), heads.clone()))
                .collect();
            let server_heads = &readable;
            let ids = store.doc_ids().map_err(|err| err.to_string())?;
            let held: BTreeMap<String, Vec<ChangeHash>> = ids
                .into_iter()
                .map(|id| Ok((id.clone(), sorted(store.heads(&id).map_err(|err| err.to_string())?))))
                .collect::<Result<_, String>>()?;
            if held != *server_heads {
                let missing = server_heads.keys().filter(|id| !held.contains_key(*id)).count();
                let extra = held.keys().filter(|id| !server_heads.contains_key(*id)).count();
                let differ =
                    held.iter().filter(|(id, heads)| server_heads.get(*id).is_some_and(|h| h != *heads)).count();
                return Err(format!(
                    "{} differs from the server: {missing} documents missing, {extra} the server lacks, {differ} at other heads",
                    dev.name
                ));
            }
        }
        for marker in &self.acked {
            let present = match docs.get(&marker.doc) {
                Some(bytes) => holds(bytes, marker)?,
                None => false,
            };
            if !present {
                return Err(format!("an acknowledged edit is lost: {marker:?}"));
            }
        }
        self.outcome.acked_edits = self.acked.len();
        let mut numbers = BTreeMap::new();
        let mut provisional = BTreeMap::new();
        for (id, bytes) in &docs {
            let doc = load(bytes)?;
            if is_duty_log(&doc) {
                DutyLogDoc::from_automerge(doc).map_err(|err| format!("{id} is invalid: {err}"))?;
                continue;
            }
            if is_roster(&doc) {
                RosterDoc::from_automerge(doc).map_err(|err| format!("{id} is invalid: {err}"))?;
                continue;
            }
            if is_request(&doc) {
                RequestDoc::from_automerge(doc).map_err(|err| format!("{id} is invalid: {err}"))?;
                continue;
            }
            if is_attendance(&doc) {
                AttendanceDoc::from_automerge(doc).map_err(|err| format!("{id} is invalid: {err}"))?;
                continue;
            }
            let case = CaseDoc::from_automerge(doc).map_err(|err| format!("{id} is invalid: {err}"))?.read();
            let Some(number) = case.number.assigned else { return Err(format!("case {id} has no server number")) };
            if let Some(other) = numbers.insert(number.clone(), id.clone()) {
                return Err(format!("cases {other} and {id} share server number {number}"));
            }
            // A reinstalled app or a restored phone restarts or rewinds its provisional counter,
            // and may give a number again before its first sync brings the old ones back.
            if self.disasters != Disasters::Devices
                && let Some(other) = provisional.insert(case.number.provisional.clone(), id.clone())
            {
                return Err(format!("cases {other} and {id} share provisional number {}", case.number.provisional));
            }
        }
        Ok(())
    }
}

/// A staffing edit on a phone: a leave day asked, a swap asked of the next phone's staff member
/// or answered, a check-in. What the phone itself refuses (a day asked already, a full month,
/// no shift to swap) changes nothing, as on a real phone.
fn staffing(
    store: &mut CaseStore,
    staff: &StaffId,
    kind: usize,
    pick: u64,
    at: Timestamp,
    markers: &mut Vec<Marker>,
) -> Result<(), String> {
    let refused = |err: kefu_core::store::StoreError| match err {
        kefu_core::store::StoreError::Edit(_) => Ok(()),
        err => Err(format!("staffing: {err}")),
    };
    match kind {
        10 => {
            let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1 + (pick % 28) as u32).expect("a date");
            match store.request_days(RequestKind::Leave, &[day], "", staff, at) {
                Ok(request) => markers.push(Marker { doc: request.id, text: String::new() }),
                Err(err) => refused(err)?,
            }
        }
        11 => {
            let requests = store.requests().map_err(|err| err.to_string())?;
            let asked = requests.iter().find(|request| {
                request.status() == RequestStatus::AwaitingColleague
                    && request.swap.as_ref().is_some_and(|swap| swap.colleague == *staff)
            });
            if let Some(asked) = asked {
                if let Err(err) = store.answer_swap(&asked.id, !pick.is_multiple_of(3), staff, at) {
                    refused(err)?;
                }
                return Ok(());
            }
            let rosters = store.rosters().map_err(|err| err.to_string())?;
            let mine = rosters.iter().flat_map(|roster| &roster.shifts).find(|shift| shift.staff == *staff).cloned();
            let others: Vec<StaffId> = rosters
                .iter()
                .flat_map(|roster| &roster.shifts)
                .map(|shift| shift.staff.clone())
                .filter(|other| other != staff)
                .collect();
            if let (Some(mine), false) = (mine, others.is_empty()) {
                let colleague = &others[(pick % others.len() as u64) as usize];
                match store.request_swap(mine.date, &mine.shift, colleague, "", staff, at) {
                    Ok(request) => markers.push(Marker { doc: request.id, text: String::new() }),
                    Err(err) => refused(err)?,
                }
            }
        }
        _ => {
            let check = if pick.is_multiple_of(2) { CheckKind::In } else { CheckKind::Out };
            match store.check_in(staff, check, at) {
                Ok(()) => {
                    let (year, month) = kefu_core::attendance::month_of(at, 480);
                    markers.push(Marker { doc: attendance_id(staff, year, month), text: at.0.to_string() });
                }
                Err(err) => refused(err)?,
            }
        }
    }
    Ok(())
}

/// Heads in a canonical order, to compare replicas.
pub fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

/// Loads a stored document, or says it does not load.
pub fn load(bytes: &[u8]) -> Result<automerge::Automerge, String> {
    automerge::Automerge::load(bytes).map_err(|err| format!("a stored document does not load: {err}"))
}

/// Whether the document in `bytes` holds the marker's edit.
pub fn holds(bytes: &[u8], marker: &Marker) -> Result<bool, String> {
    if marker.text.is_empty() {
        return Ok(true);
    }
    let doc = load(bytes)?;
    if is_duty_log(&doc) {
        let log = DutyLogDoc::from_automerge(doc).map_err(|err| err.to_string())?.read();
        return Ok(log.entries.iter().any(|entry| entry.text == marker.text));
    }
    if is_attendance(&doc) {
        let record = AttendanceDoc::from_automerge(doc).map_err(|err| err.to_string())?.read();
        return Ok(record.checks.iter().any(|check| check.at.0.to_string() == marker.text));
    }
    let case = CaseDoc::from_automerge(doc).map_err(|err| err.to_string())?.read();
    Ok(case.timeline.iter().any(|entry| matches!(&entry.body, EntryBody::Note { text } if *text == marker.text)))
}

/// A case of the field's shape: a Chinese description of a few hundred characters.
pub fn new_case(serial: u64) -> NewCase {
    NewCase {
        kind: if serial.is_multiple_of(2) { CaseKind::Repair } else { CaseKind::Complaint },
        channel: Channel::Phone,
        customer: Customer {
            name: format!("客户{serial}"), phone: "138 0000 0000".into(), address: "3-2-1101".into()
        },
        subject: format!("地下室进水 {serial}"),
        description:
            "住户反映地下室储藏间自早上六点起持续进水，水位已没过脚踝，多户储物受损，请尽快派维修人员到场处理。"
                .repeat(3),
        priority: Priority::Normal,
        service: None,
    }
}
