//! `kefu demo`: the field story end to end on one machine. A real server (in this
//! process, on a loopback port, SQLite in the demo directory) and three devices with
//! their own stores: the office desk and two field phones. They work on overlapping
//! cases offline, reconnect in turn through the sync protocol, and converge; the demo
//! prints what each device sent, received and finally sees, and fails if they differ.
//!
//! Leaves out: load generation (the `sync_load` benchmark does that).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use clap::{Args, Parser};
use kefu_client::{ClientConfig, SharedStore, SyncClient, SyncReport};
use kefu_core::case::{
    Case, CaseEdit, CaseKind, Channel, Customer, FeedbackDirection, NewCase, Priority, Service, Status,
};
use kefu_core::ids::{CaseId, StaffId, Timestamp};
use kefu_core::store::{CaseFilter, CaseStore, StoreConfig};
use tokio::net::TcpListener;

use crate::auth::Role;
use crate::config::ServeArgs;
use crate::http::AppState;
use crate::storage::{SqliteStorage, Storage};

/// Flags of `kefu demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the demo's server database and device stores (a fresh
    /// `demo-<time>` folder is made inside it).
    #[arg(long, default_value = "./data")]
    pub dir: PathBuf,
}

/// The server's settings with every default, parsed exactly as `kefu serve` would.
#[derive(Parser)]
struct Defaults {
    #[command(flatten)]
    serve: ServeArgs,
}

/// One device of the story.
struct Device {
    name: &'static str,
    staff: StaffId,
    store: SharedStore,
    client: SyncClient,
}

/// Runs `kefu demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start tokio")?;
    runtime.block_on(demo(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let dir = args.dir.join(format!("demo-{}", Timestamp::now().0));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let db = dir.join("server.sqlite3");
    let storage = Arc::new(SqliteStorage::open(&db).with_context(|| format!("cannot open {}", db.display()))?);
    let now = Timestamp::now();
    storage.create_team("demo", now)?;
    let config = Defaults::try_parse_from(["demo", "--listen", "127.0.0.1:0"])?.serve.validate()?;
    let listener = TcpListener::bind(config.listen).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let state = AppState::new(Arc::clone(&storage) as Arc<dyn Storage>, config.limits.clone(), config.report_offset);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::run(
        state,
        listener,
        async move {
            let _ = stopped.await;
        },
        crate::server::ServeOptions {
            revocation_poll: config.revocation_poll,
            grace: config.shutdown_grace,
            drain: config.drain,
            header_read_timeout: config.header_read_timeout,
            write_stall_timeout: config.write_stall_timeout,
            max_connections: config.max_connections,
            tls: None,
        },
    ));
    println!("server: {url} (data in {})", dir.display());

    let mut devices = Vec::new();
    for (name, staff) in [("office desk", "desk.li"), ("phone A", "repair.zhang"), ("phone B", "repair.wang")] {
        let token = super::admin::issue(storage.as_ref(), "demo", Role::Staff, name, Some(staff), now)?;
        let mut store = CaseStore::open(&dir.join(name.replace(' ', "-")), StoreConfig::default())?;
        let config = ClientConfig::new(&url, token);
        kefu_client::bind(&mut store, &config)?;
        devices.push(Device {
            name,
            staff: StaffId::new(staff)?,
            store: Arc::new(Mutex::new(store)),
            client: SyncClient::new(config)?,
        });
    }
    let t0 = Timestamp::now();
    let at = |minutes: i64| Timestamp(t0.0 + minutes * 60_000);

    println!("\n1. the desk opens two cases and syncs; both phones sync before going out");
    let flood = create(&devices[0], flood_case(), at(0))?;
    let noise = create(&devices[0], noise_complaint(), at(1))?;
    for device in &devices {
        sync(device).await?;
    }

    println!("\n2. offline: phone A and phone B work on the flood in the basement, the desk carries on");
    edit(&devices[1], flood, CaseEdit::Transition { to: Status::InProgress, reason: "on site".into() }, at(10))?;
    edit(&devices[1], flood, CaseEdit::AddNote("pump restarted, water falling".into()), at(20))?;
    edit(&devices[1], flood, CaseEdit::SpliceDescription { pos: 0, delete: 0, insert: "[B2] ".into() }, at(21))?;
    edit(&devices[2], flood, CaseEdit::AddNote("43 households' storage rooms affected".into()), at(15))?;
    edit(&devices[2], flood, CaseEdit::Transition { to: Status::Completed, reason: "dry".into() }, at(40))?;
    edit(&devices[0], flood, CaseEdit::SetPriority(Priority::High), at(12))?;
    edit(
        &devices[0],
        noise,
        CaseEdit::Feedback { direction: FeedbackDirection::ToCustomer, text: "pump schedule changed".into() },
        at(13),
    )?;
    create(&devices[0], lift_case(), at(30))?;

    println!("\n3. signal returns: phone B, the desk, phone A reconnect in turn; then everyone once more");
    for idx in [2, 0, 1, 2, 0, 1] {
        sync(&devices[idx]).await?;
    }

    println!("\n4. what each device sees");
    let mut views = Vec::new();
    for device in &devices {
        let cases = cases_of(device)?;
        println!("   {}:", device.name);
        for case in &cases {
            let conflict = case.status.conflict.as_ref().map_or(String::new(), |leaves| {
                format!(" (concurrent: {})", leaves.iter().map(|(_, s)| s.code()).collect::<Vec<_>>().join(" vs "))
            });
            println!(
                "     {:<13} {:<11} {:<12} {:>2} entries  {}{conflict}",
                case.number.display(),
                case.kind.code(),
                case.current_status().code(),
                case.timeline.len(),
                case.subject
            );
        }
        views.push(cases);
    }
    let _ = stop.send(());
    server.await??;
    if views.windows(2).any(|pair| pair[0] != pair[1]) {
        bail!("the devices did not converge");
    }
    println!("\nall three devices hold the same {} cases, every offline edit kept", views[0].len());
    Ok(())
}

fn create(device: &Device, new: NewCase, at: Timestamp) -> anyhow::Result<CaseId> {
    let case = lock(device)?.create_case(&new, &device.staff, at)?;
    println!("   {:<11} opens {} \"{}\"", device.name, case.number.provisional, case.subject);
    Ok(case.id)
}

fn edit(device: &Device, id: CaseId, edit: CaseEdit, at: Timestamp) -> anyhow::Result<()> {
    lock(device)?.edit_case(id, &edit, &device.staff, at)?;
    println!("   {:<11} {}", device.name, describe(&edit));
    Ok(())
}

async fn sync(device: &Device) -> anyhow::Result<()> {
    let report: SyncReport = device.client.sync(&device.store).await?;
    let numbers: Vec<String> = {
        let mut store = lock(device)?;
        report
            .received
            .iter()
            .filter_map(|id| id.parse::<CaseId>().ok())
            .filter_map(|id| store.case(id).ok())
            .map(|case| case.number.display().to_string())
            .collect()
    };
    println!(
        "   {:<11} sync: {} round(s), sent {} doc(s), {} acknowledged, received {:?}, refused {}",
        device.name,
        report.rounds,
        report.sent_docs,
        report.acked_docs,
        numbers,
        report.refused.len()
    );
    Ok(())
}

fn cases_of(device: &Device) -> anyhow::Result<Vec<Case>> {
    let mut store = lock(device)?;
    let mut ids: Vec<CaseId> = store.list(&CaseFilter::default())?.into_iter().map(|s| s.id).collect();
    ids.sort();
    Ok(ids.into_iter().map(|id| store.case(id)).collect::<Result<_, _>>()?)
}

fn lock(device: &Device) -> anyhow::Result<std::sync::MutexGuard<'_, CaseStore>> {
    device.store.lock().map_err(|_| anyhow::anyhow!("{}'s store lock is poisoned", device.name))
}

fn describe(edit: &CaseEdit) -> String {
    match edit {
        CaseEdit::Transition { to, .. } => format!("moves the flood case to {}", to.code()),
        CaseEdit::AddNote(text) => format!("notes \"{text}\""),
        CaseEdit::SpliceDescription { insert, .. } => format!("inserts \"{insert}\" into the description"),
        CaseEdit::SetPriority(priority) => format!("sets priority {}", priority.code()),
        CaseEdit::Feedback { text, .. } => format!("tells the customer \"{text}\""),
        other => format!("{other:?}"),
    }
}

fn customer(name: &str, unit: &str) -> Customer {
    Customer { name: name.into(), phone: "138-0000-0000".into(), address: unit.into() }
}

fn flood_case() -> NewCase {
    NewCase {
        kind: CaseKind::Repair,
        channel: Channel::Phone,
        customer: customer("王女士", "3-2-1101"),
        subject: "地下室进水 basement flooded".into(),
        description: "Water in the B2 storage rooms since 06:00.".into(),
        priority: Priority::Urgent,
        service: Some(Service::Repair),
    }
}

fn noise_complaint() -> NewCase {
    NewCase {
        kind: CaseKind::Complaint,
        channel: Channel::Online,
        customer: customer("陈先生", "5-1-302"),
        subject: "夜间噪音 pump noise at night".into(),
        description: "Pump noise after 22:00.".into(),
        priority: Priority::Normal,
        service: None,
    }
}

fn lift_case() -> NewCase {
    NewCase {
        kind: CaseKind::Repair,
        channel: Channel::WalkIn,
        customer: customer("刘阿姨", "2-1-801"),
        subject: "电梯异响 lift noise".into(),
        description: "Lift 2 grinds between floors 5 and 6.".into(),
        priority: Priority::High,
        service: Some(Service::Repair),
    }
}
