//! `kefu serve`: validate the configuration, start logging, load the TLS files, open (and migrate)
//! the database, raise the open-file limit and size the connection cap to it, bind, seed the
//! sample team when asked on a new database (after binding, so a busy port creates nothing), log `listening on <addr>`, and run until ctrl-c or SIGTERM.
//!
//! Leaves out: the server itself (`server.rs`, `http/`) and the sample data (`sample.rs`).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::{DbLocation, ServeArgs, ServerConfig};
use crate::http::AppState;
use crate::storage::{SqliteStorage, Storage};
use crate::{sample, server, telemetry, tls};

/// Runs `kefu serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.validate()?;
    telemetry::init(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start tokio")?;
    let grace = config.shutdown_grace;
    let served = runtime.block_on(serve(config));
    // Blocking database calls still running past the grace period must not hold the exit up.
    runtime.shutdown_timeout(grace);
    served?;
    Ok(ExitCode::SUCCESS)
}

/// Opens the database named by `--db`.
pub fn open_storage(db: &DbLocation) -> anyhow::Result<SqliteStorage> {
    let DbLocation::Sqlite(path) = db;
    SqliteStorage::open(path).with_context(|| format!("cannot open database {}", path.display()))
}

async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let tls = config.tls.as_ref().map(tls::acceptor).transpose()?;
    let storage = Arc::new(open_storage(&config.db)?);
    // Sized before `listening on` is logged, so its warning precedes the line tests wait for.
    let max_connections = server::connection_cap(config.max_connections);
    let shutdown = server::shutdown_signal().context("cannot install signal handlers")?;
    // Bound before the sample is seeded: with the port busy nothing is created, so the tokens
    // are never made without being printed.
    let listener =
        TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
    let seeded = if config.sample {
        let storage = Arc::clone(&storage);
        let offset_minutes = config.report_offset.local_minus_utc() / 60;
        tokio::task::spawn_blocking(move || sample::seed_if_new(storage.as_ref(), offset_minutes)).await??
    } else {
        None
    };
    let addr = listener.local_addr()?;
    let DbLocation::Sqlite(path) = &config.db;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(db = %path.display(), tls = tls.is_some(), "listening on {addr}");
    if config.sample {
        match &seeded {
            Some(sample) => println!("{}", sample.banner(addr, tls.is_some())),
            None if storage.team_by_name(sample::TEAM)?.is_some() => println!(
                "kefu is serving {scheme}://{addr}; the sample team already exists (the run that created it showed \
                 its tokens). Issue another with: kefu admin device issue --team {} --role supervisor",
                sample::TEAM
            ),
            None => println!(
                "kefu is serving {scheme}://{addr}; the database already has teams, so no sample team was added"
            ),
        }
    }
    let mut state = AppState::new(storage as Arc<dyn Storage>, config.limits.clone(), config.report_offset);
    state.secure_cookies = tls.is_some();
    let options = server::ServeOptions {
        revocation_poll: config.revocation_poll,
        grace: config.shutdown_grace,
        drain: config.drain,
        header_read_timeout: config.header_read_timeout,
        write_stall_timeout: config.write_stall_timeout,
        max_connections,
        tls,
    };
    server::run(state, listener, shutdown, options).await
}
