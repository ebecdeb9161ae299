//! `kefu serve`: validate the configuration, start logging, open (and migrate) the database, seed
//! the sample team when asked on a new database, bind, log `listening on <addr>`, and run until
//! ctrl-c or SIGTERM.
//!
//! Leaves out: the server itself (`server.rs`, `http/`) and the sample data (`sample.rs`).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::{DbLocation, ServeArgs, ServerConfig};
use crate::http::AppState;
use crate::storage::{SqliteStorage, Storage};
use crate::{sample, server, telemetry};

/// Runs `kefu serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.validate()?;
    telemetry::init(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start tokio")?;
    runtime.block_on(serve(config))?;
    Ok(ExitCode::SUCCESS)
}

/// Opens the database named by `--db`.
pub fn open_storage(db: &DbLocation) -> anyhow::Result<SqliteStorage> {
    let DbLocation::Sqlite(path) = db;
    SqliteStorage::open(path).with_context(|| format!("cannot open database {}", path.display()))
}

async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let storage = Arc::new(open_storage(&config.db)?);
    let seeded = if config.sample {
        let storage = Arc::clone(&storage);
        let offset_minutes = config.report_offset.local_minus_utc() / 60;
        tokio::task::spawn_blocking(move || sample::seed_if_new(storage.as_ref(), offset_minutes)).await??
    } else {
        None
    };
    let shutdown = server::shutdown_signal().context("cannot install signal handlers")?;
    let listener =
        TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let DbLocation::Sqlite(path) = &config.db;
    tracing::info!(db = %path.display(), "listening on {addr}");
    if config.sample {
        match &seeded {
            Some(sample) => println!("{}", sample.banner(addr)),
            None => println!(
                "kefu is serving http://{addr}; the sample team already exists (its tokens were printed when it \
                 was created). Issue another with: kefu admin device issue --team {} --role supervisor",
                sample::TEAM
            ),
        }
    }
    let state = AppState::new(storage as Arc<dyn Storage>, config.limits.clone(), config.report_offset);
    server::run(state, listener, shutdown, config.revocation_poll, config.shutdown_grace).await
}
