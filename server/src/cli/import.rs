//! `kefu import`: cases from another system, one JSON object per line, into a team through its
//! sync server, as one of the team's devices. The cases then travel like any device's: the server
//! checks every document and numbers the cases in intake order.
//!
//! The whole file is checked first, each case built in memory with its timeline, so a file with
//! one bad line imports nothing and every error names its line and field. Then cases are written
//! to the importing device's store in durable batches, each tagged `import:<source id>`, and
//! synced. Run again with the same `--store` after an interruption (a crash, a lost reply), it
//! skips the lines whose cases the store already holds, so nothing is imported twice.
//!
//! Leaves out: the sync itself (`kefu_client`), and the case rules (`kefu_core::case`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use clap::Args;
use kefu_core::case::{CaseDoc, CaseEdit, CaseKind, Channel, Customer, EditContext, NewCase, Priority, Status};
use kefu_core::ids::{CaseId, DeviceId, StaffId, Timestamp};
use kefu_core::store::{CaseStore, StoreConfig};
use serde::Deserialize;

/// Largest file accepted: an import is a migration, not a stream.
const MAX_FILE_BYTES: u64 = 1 << 30;

/// Longest source id (it becomes a tag, a short field).
const MAX_SOURCE_ID: usize = 48;

/// Errors listed before the rest are only counted.
const ERRORS_SHOWN: usize = 20;

/// Flags of `kefu import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The cases: one JSON object per line (the format is in README.md).
    pub file: PathBuf,
    /// The sync server, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "KEFU_SERVER")]
    pub server: String,
    /// A device token of the team (a supervisor's: each entry names its own author).
    #[arg(long, env = "KEFU_TOKEN")]
    pub token: String,
    /// The importing device's store. Keep it: rerunning with it resumes without duplicates.
    #[arg(long, default_value = "./kefu-import")]
    pub store: PathBuf,
    /// Cases per durable batch.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub batch: u64,
}

/// One line of the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    /// The case's id in the old system: what makes a rerun skip it.
    id: String,
    kind: String,
    channel: String,
    customer: LineCustomer,
    subject: String,
    #[serde(default)]
    description: String,
    #[serde(default = "normal")]
    priority: String,
    /// RFC 3339, e.g. 2026-03-02T09:15:00+08:00.
    opened_at: String,
    /// Staff id of whoever took the case.
    opened_by: String,
    #[serde(default)]
    entries: Vec<LineEntry>,
}

fn normal() -> String {
    Priority::Normal.code().into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineCustomer {
    name: String,
    phone: String,
    #[serde(default)]
    address: String,
}

/// A timeline entry: a note, or a status change with its reason.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineEntry {
    at: String,
    by: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    reason: String,
}

/// A line turned into what the store takes.
struct Planned {
    source: String,
    new: NewCase,
    opened_at: Timestamp,
    opened_by: StaffId,
    edits: Vec<(CaseEdit, StaffId, Timestamp)>,
}

/// Runs `kefu import`.
pub fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let planned = read_file(&args)?;
    let config = kefu_client::ClientConfig::new(args.server.trim_end_matches('/'), args.token.clone());
    let mut store = CaseStore::open(&args.store, StoreConfig::default())
        .with_context(|| format!("cannot open the import store {}", args.store.display()))?;
    kefu_client::bind(&mut store, &config).context("the import store belongs to another device's token")?;
    let done = already_imported(&mut store)?;
    let todo: Vec<&Planned> = planned.iter().filter(|case| !done.contains(&case.source)).collect();
    for chunk in todo.chunks(args.batch as usize) {
        store
            .batch(|batch| {
                for case in chunk {
                    let id = batch.create_case(&case.new, &case.opened_by, case.opened_at)?.id;
                    batch.edit_case(id, &CaseEdit::AddTag(tag(&case.source)), &case.opened_by, case.opened_at)?;
                    for (edit, by, at) in &case.edits {
                        batch.edit_case(id, edit, by, *at)?;
                    }
                }
                Ok(())
            })
            .context("cannot write the import store")?;
    }
    println!(
        "{} cases written to the import store ({} were already there); syncing with {}",
        todo.len(),
        planned.len() - todo.len(),
        args.server
    );
    let shared = Arc::new(Mutex::new(store));
    let client = kefu_client::SyncClient::new(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start tokio")?;
    let report = runtime.block_on(client.sync(&shared))?;
    if !report.refused.is_empty() {
        bail!("the server refused {} case(s): {:?}", report.refused.len(), report.refused);
    }
    let pending = shared.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?.prepare_push(1)?.docs.len();
    if pending > 0 {
        bail!("some cases are not synced yet; run the same command again to finish");
    }
    println!("imported: the server holds all {} cases of the file", planned.len());
    Ok(ExitCode::SUCCESS)
}

fn tag(source: &str) -> String {
    format!("import:{source}")
}

/// Source ids of the cases the store already holds from earlier runs.
fn already_imported(store: &mut CaseStore) -> anyhow::Result<std::collections::HashSet<String>> {
    Ok(store
        .all_cases()?
        .into_iter()
        .flat_map(|case| case.tags.into_iter())
        .filter_map(|tag| tag.strip_prefix("import:").map(str::to_string))
        .collect())
}

/// Reads and checks the whole file: every case is built in memory with its timeline, so any
/// error, named with its line and field, stops the import before anything is written.
fn read_file(args: &ImportArgs) -> anyhow::Result<Vec<Planned>> {
    let size = std::fs::metadata(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?.len();
    if size > MAX_FILE_BYTES {
        bail!("{} is {size} bytes, more than the {MAX_FILE_BYTES} an import takes; split it", args.file.display());
    }
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {} as UTF-8 text", args.file.display()))?;
    let mut planned = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (idx, raw) in text.lines().enumerate() {
        let number = idx + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let checked = serde_json::from_str::<Line>(raw)
            .map_err(|err| format!("not a case line: {err}"))
            .and_then(|line| plan(line).map_err(|(field, reason)| format!("{field}: {reason}")))
            .and_then(|case| match seen.insert(case.source.clone(), number) {
                Some(first) => Err(format!("id: {:?} is already the id of line {first}", case.source)),
                None => Ok(case),
            });
        match checked {
            Ok(case) => planned.push(case),
            Err(message) => errors.push(format!("{}:{number}: {message}", args.file.display())),
        }
    }
    if !errors.is_empty() {
        let more = errors.len().saturating_sub(ERRORS_SHOWN);
        let mut shown = errors.into_iter().take(ERRORS_SHOWN).collect::<Vec<_>>().join("\n");
        if more > 0 {
            shown.push_str(&format!("\n… and {more} more"));
        }
        bail!("nothing was imported; fix these lines first:\n{shown}");
    }
    Ok(planned)
}

/// A field at fault and why.
type FieldError = (String, String);

fn plan(line: Line) -> Result<Planned, FieldError> {
    fn field(name: &'static str) -> impl Fn(String) -> FieldError {
        move |reason| (name.to_string(), reason)
    }
    if line.id.is_empty() || line.id.chars().count() > MAX_SOURCE_ID || line.id.chars().any(char::is_whitespace) {
        return Err(field("id")(format!("{:?} must be 1 to {MAX_SOURCE_ID} characters without spaces", line.id)));
    }
    let new = NewCase {
        kind: code(&line.kind, CaseKind::from_code, CaseKind::ALL.iter().map(|kind| kind.code()))
            .map_err(field("kind"))?,
        channel: code(&line.channel, Channel::from_code, Channel::ALL.iter().map(|channel| channel.code()))
            .map_err(field("channel"))?,
        customer: Customer { name: line.customer.name, phone: line.customer.phone, address: line.customer.address },
        subject: line.subject,
        description: line.description,
        priority: code(&line.priority, Priority::from_code, Priority::ALL.iter().map(|priority| priority.code()))
            .map_err(field("priority"))?,
        service: None,
    };
    let opened_at = timestamp(&line.opened_at).map_err(field("opened_at"))?;
    let opened_by = StaffId::new(&line.opened_by).map_err(|err| field("opened_by")(err.to_string()))?;
    let mut edits = Vec::new();
    for (idx, entry) in line.entries.into_iter().enumerate() {
        let at_field = |name: &str| format!("entries[{idx}].{name}");
        let at = timestamp(&entry.at).map_err(|reason| (at_field("at"), reason))?;
        let by = StaffId::new(&entry.by).map_err(|err| (at_field("by"), err.to_string()))?;
        let edit = match (entry.note, entry.status) {
            (Some(note), None) => CaseEdit::AddNote(note),
            (None, Some(status)) => CaseEdit::Transition {
                to: code(&status, Status::from_code, Status::ALL.iter().map(|status| status.code()))
                    .map_err(|reason| (at_field("status"), reason))?,
                reason: entry.reason,
            },
            _ => return Err((format!("entries[{idx}]"), "needs exactly one of `note` and `status`".into())),
        };
        edits.push((edit, by, at));
    }
    // Built once in memory, as the store will build it, so every rule of the case is checked now.
    let policy = kefu_core::case::CasePolicy::default();
    let device = DeviceId::from_u128(1);
    let ctx = EditContext { at: opened_at, by: &opened_by, policy: &policy };
    let mut doc = CaseDoc::create(device, CaseId::random(), &new, "P0000-0001", &ctx)
        .map_err(|err| ("case".to_string(), err.to_string()))?;
    for (idx, (edit, by, at)) in edits.iter().enumerate() {
        doc.apply(&EditContext { at: *at, by, policy: &policy }, edit)
            .map_err(|err| (format!("entries[{idx}]"), err.to_string()))?;
    }
    Ok(Planned { source: line.id, new, opened_at, opened_by, edits })
}

/// A code of a closed vocabulary, or a message listing the ones there are.
fn code<T>(value: &str, parse: fn(&str) -> Option<T>, all: impl Iterator<Item = &'static str>) -> Result<T, String> {
    parse(value).ok_or_else(|| format!("{value:?} is not one of {}", all.collect::<Vec<_>>().join(", ")))
}

fn timestamp(value: &str) -> Result<Timestamp, String> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|at| Timestamp(at.timestamp_millis()))
        .map_err(|err| format!("{value:?} is not an RFC 3339 time like 2026-03-02T09:15:00+08:00: {err}"))
}
