//! One device process of the real-process fault run: a phone's store (its own SQLite
//! file) edited by its staff member and synced with the production driver
//! (`kefu_client::SyncClient`), until the harness SIGKILLs it.
//!
//! Every edit whose presence can be checked (a new case, a note, a duty entry) carries a
//! unique tag. When a reply acknowledges a document its push carried, the server holds
//! every edit made in it before the push, and their markers are appended to the
//! acknowledgement log and fsynced: a kill loses at most markers not yet logged, never
//! logs one that was not acknowledged. A refused push or a refused server update is logged too (`!` lines):
//! honest devices get neither, so the harness counts them as failures.
//!
//! `--heal` syncs until a sync has nothing to send and exits: 0 when quiet, 1 when not.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kefu_client::{ClientConfig, SharedStore, SyncClient};
use kefu_core::case::{CaseEdit, Status};
use kefu_core::duty_log::{DutyEdit, DutyEntryKind, DutyShift};
use kefu_core::ids::{SplitMix64, StaffId, Timestamp};
use kefu_core::store::{CaseFilter, CaseStore, StoreConfig, StoreError};
use kefu_core::sync::Refusal;

use crate::Marker;

/// The device's command line (`faults device ...`).
#[derive(Clone, Debug)]
pub struct DeviceArgs {
    /// The server's (or the proxy's) base URL.
    pub url: String,
    /// The device token.
    pub token: String,
    /// The store's directory.
    pub store: PathBuf,
    /// The acknowledgement log (appended to, fsynced).
    pub log: PathBuf,
    /// The staff member the token is issued to.
    pub staff: String,
    /// Seeds the edits; the harness gives every start its own, which also makes the tags unique.
    pub seed: u64,
    /// Sync until quiet and exit, instead of editing.
    pub heal: bool,
}

impl DeviceArgs {
    /// Parses `--url U --token T --store DIR --log FILE --staff S --seed N [--heal]`.
    pub fn parse(args: &[String]) -> Result<DeviceArgs, String> {
        let value = |flag: &str| -> Result<String, String> {
            args.iter()
                .position(|arg| arg == flag)
                .and_then(|at| args.get(at + 1))
                .cloned()
                .ok_or_else(|| format!("device: {flag} is required"))
        };
        Ok(DeviceArgs {
            url: value("--url")?,
            token: value("--token")?,
            store: value("--store")?.into(),
            log: value("--log")?.into(),
            staff: value("--staff")?,
            seed: value("--seed")?.parse().map_err(|_| "device: --seed must be a number".to_string())?,
            heal: args.iter().any(|arg| arg == "--heal"),
        })
    }

    /// The arguments that [`DeviceArgs::parse`] reads back.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            "--url".to_string(),
            self.url.clone(),
            "--token".into(),
            self.token.clone(),
            "--store".into(),
            self.store.display().to_string(),
            "--log".into(),
            self.log.display().to_string(),
            "--staff".into(),
            self.staff.clone(),
            "--seed".into(),
            self.seed.to_string(),
        ];
        if self.heal {
            args.push("--heal".into());
        }
        args
    }
}

/// Runs the device until killed (or, with `--heal`, until quiet).
pub fn run(args: &DeviceArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("device: no runtime: {err}"))?;
    let config = ClientConfig {
        connect_timeout: Duration::from_secs(2),
        round_timeout: Duration::from_secs(15),
        max_docs_per_round: 50,
        max_rounds: 200,
        ..ClientConfig::new(&args.url, &args.token)
    };
    let client = SyncClient::new(config.clone()).map_err(|err| format!("device: {err}"))?;
    let mut store = CaseStore::open(&args.store, StoreConfig::default()).map_err(|err| format!("open: {err}"))?;
    kefu_client::bind(&mut store, &config).map_err(|err| format!("bind: {err}"))?;
    let store: SharedStore = Arc::new(Mutex::new(store));
    let mut log = Log::append(&args.log)?;
    if args.heal {
        return heal(&runtime, &client, &store, &mut log);
    }
    let staff = StaffId::new(args.staff.clone()).map_err(|err| format!("staff: {err}"))?;
    let mut editor = Editor { rng: SplitMix64(args.seed), tag: format!("{}#{}", args.staff, args.seed), serial: 0 };
    let mut made = Log::append(&made_log(&args.log))?;
    let mut unacked = not_yet_acked(&args.log)?;
    loop {
        for _ in 0..1 + editor.rng.next_u64() % 3 {
            let mut guard = store.lock().map_err(|_| "store lock poisoned")?;
            if let Some(marker) = editor.edit(&mut guard, &staff)? {
                made.markers(std::slice::from_ref(&marker))?;
                unacked.push(marker);
            }
        }
        // A failed round (server down, connection cut) leaves everything for the next.
        let _ = runtime.block_on(sync_and_log(&client, &store, &mut unacked, &mut log));
        std::thread::sleep(Duration::from_millis(10 + editor.rng.next_u64() % 90));
    }
}

/// Rounds as `SyncClient::sync` runs them, reading each reply's acknowledgements: a
/// document the push carried and the reply acknowledges is on the server with every
/// change of ours it held, so the markers made in it before the push are logged.
async fn sync_and_log(
    client: &SyncClient,
    store: &SharedStore,
    unacked: &mut Vec<Marker>,
    log: &mut Log,
) -> Result<(), String> {
    let mut more = false;
    for round in 0..client.config().max_rounds {
        let max_docs = client.config().max_docs_per_round;
        let push = store.lock().map_err(|_| "store lock poisoned")?.prepare_push(max_docs).map_err(store_err)?;
        if round > 0 && push.docs.is_empty() && !more {
            break;
        }
        let (reply, _, _) = client.exchange(&push).await.map_err(|err| err.to_string())?;
        let outcome = store.lock().map_err(|_| "store lock poisoned")?.apply_reply(&push, &reply).map_err(store_err)?;
        log.problems(&outcome.refused, &outcome.rejected_updates)?;
        let acked = |marker: &Marker| {
            reply.acks.iter().any(|ack| ack.id == marker.doc) && push.docs.iter().any(|doc| doc.id == marker.doc)
        };
        let (now_acked, still): (Vec<Marker>, Vec<Marker>) = unacked.drain(..).partition(acked);
        *unacked = still;
        log.markers(&now_acked)?;
        more = outcome.more;
    }
    Ok(())
}

fn heal(
    runtime: &tokio::runtime::Runtime,
    client: &SyncClient,
    store: &SharedStore,
    log: &mut Log,
) -> Result<(), String> {
    for _ in 0..30 {
        match runtime.block_on(client.sync(store)) {
            Ok(report) => {
                log.problems(&report.refused, &report.rejected_updates)?;
                // As the simulation's healing: quiet once a sync had nothing of ours to send.
                // A document may stay pending on another device's changes the server lacks
                // (after its restore) until that device pushes them in its own turn.
                if report.sent_docs == 0 {
                    return Ok(());
                }
            }
            Err(err) => {
                eprintln!("heal: {err}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    Err("heal: still moving after 30 syncs".into())
}

fn store_err(err: StoreError) -> String {
    format!("store: {err}")
}

/// The log of markers made in this device's store, next to its acknowledgement log. A
/// restarted device reads back those not yet acknowledged: their edits are in the store
/// (the edit committed before the line was written) and go with its next push. The
/// harness deletes it when the store is replaced (a reinstall or a restore), whose edits
/// since are gone.
pub fn made_log(ack_log: &Path) -> PathBuf {
    let mut name = ack_log.as_os_str().to_owned();
    name.push(".made");
    PathBuf::from(name)
}

/// Markers of the made log that the acknowledgement log does not list.
fn not_yet_acked(ack_log: &Path) -> Result<Vec<Marker>, String> {
    let read = |path: &Path| -> Vec<Marker> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .map(|(doc, text)| Marker { doc: doc.to_string(), text: text.to_string() })
            .collect()
    };
    let acked = read(ack_log);
    Ok(read(&made_log(ack_log)).into_iter().filter(|marker| !acked.contains(marker)).collect())
}

/// An append-only, fsynced log: `doc<TAB>text` per marker, `!` lines for problems.
struct Log(std::fs::File);

impl Log {
    fn append(path: &Path) -> Result<Log, String> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|err| format!("cannot open {}: {err}", path.display()))?;
        Ok(Log(file))
    }

    fn write(&mut self, text: &str) -> Result<(), String> {
        if text.is_empty() {
            return Ok(());
        }
        self.0.write_all(text.as_bytes()).and_then(|()| self.0.sync_data()).map_err(|err| format!("ack log: {err}"))
    }

    fn markers(&mut self, markers: &[Marker]) -> Result<(), String> {
        let text: String = markers.iter().map(|marker| format!("{}\t{}\n", marker.doc, marker.text)).collect();
        self.write(&text)
    }

    fn problems(&mut self, refused: &[(String, Refusal)], rejected: &[(String, String)]) -> Result<(), String> {
        let mut text = String::new();
        for (id, refusal) in refused {
            text.push_str(&format!("!refused\t{id}: {refusal}\n"));
        }
        for (id, why) in rejected {
            text.push_str(&format!("!rejected\t{id}: {}\n", why.replace('\n', " ")));
        }
        self.write(&text)
    }
}

/// Staff work of the field's shape: new cases, notes, transitions, description edits and
/// duty entries, in Chinese.
struct Editor {
    rng: SplitMix64,
    /// Unique to this device and this start.
    tag: String,
    serial: u64,
}

const NOTES: [&str; 4] = [
    "已电话联系住户，约定明日上午九点上门复查地下室排水管道，住户表示同意。",
    "维修人员到场检查，发现集水井水泵故障，已更换浮球开关并试运行正常。",
    "住户反映夜间仍有渗水声，已安排物业值班人员巡查并拍照记录。",
    "回访住户，对处理结果表示满意，建议雨季前再检查一次防水层。",
];

impl Editor {
    /// One edit; the marker of a checkable one.
    fn edit(&mut self, store: &mut CaseStore, staff: &StaffId) -> Result<Option<Marker>, String> {
        self.serial += 1;
        let tag = format!("[{}-{}]", self.tag, self.serial);
        let now = Timestamp::now();
        let roll = self.rng.next_u64() % 100;
        let pick = self.rng.next_u64();
        let cases = store.list(&CaseFilter::default()).map_err(store_err)?;
        if roll < 20 || cases.is_empty() {
            let case = store.create_case(&crate::new_case(pick % 1_000_000), staff, now).map_err(store_err)?;
            return Ok(Some(Marker { doc: case.id.to_string(), text: String::new() }));
        }
        let case = cases[(pick % cases.len() as u64) as usize].id;
        let edit = match roll {
            20..=59 => CaseEdit::AddNote(format!("{} {tag}", NOTES[(pick >> 8) as usize % NOTES.len()])),
            60..=74 => CaseEdit::Transition {
                to: Status::ALL[(pick >> 8) as usize % Status::ALL.len()],
                reason: format!("现场处理进展 {tag}"),
            },
            75..=84 => CaseEdit::SpliceDescription { pos: 0, delete: 0, insert: format!("{tag} 现场已处理。") },
            _ => {
                let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 1 + (pick % 3) as u32).expect("a date");
                let log = store.open_duty_log(date, DutyShift::Night).map_err(store_err)?;
                let text = format!("接到住户来电，报修楼道照明故障，已派电工处理 {tag}");
                let entry = DutyEdit::AddEntry { kind: DutyEntryKind::Call, text: text.clone(), case: Some(case) };
                store.edit_duty_log(&log.id, &entry, staff, now).map_err(store_err)?;
                return Ok(Some(Marker { doc: log.id, text }));
            }
        };
        match store.edit_case(case, &edit, staff, now) {
            Ok(_) => Ok(match edit {
                CaseEdit::AddNote(text) => Some(Marker { doc: case.to_string(), text }),
                _ => None,
            }),
            // A transition the workflow does not allow changes nothing.
            Err(StoreError::Edit(_)) => Ok(None),
            Err(err) => Err(store_err(err)),
        }
    }
}
