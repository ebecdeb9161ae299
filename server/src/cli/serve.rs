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
use crate::storage::{self, Storage};
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

/// Opens the database named by `--db`. Not on a runtime thread: PostgreSQL's client blocks.
pub fn open_storage(db: &DbLocation) -> anyhow::Result<Arc<dyn Storage>> {
    storage::open(db).with_context(|| format!("cannot open database {db}"))
}

async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let tls = config.tls.as_ref().map(tls::acceptor).transpose()?;
    let db = config.db.clone();
    let storage = tokio::task::spawn_blocking(move || open_storage(&db)).await??;
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
        tokio::task::spawn_blocking(move || {
            let seeded = sample::seed_if_new(storage.as_ref(), offset_minutes)?;
            let existed = seeded.is_none() && storage.team_by_name(sample::TEAM)?.is_some();
            anyhow::Ok((seeded, existed))
        })
        .await??
    } else {
        (None, false)
    };
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(db = %config.db, tls = tls.is_some(), "listening on {addr}");
    if config.sample {
        match &seeded {
            (Some(sample), _) => println!("{}", sample.banner(addr, tls.is_some())),
            (None, true) => println!(
                "kefu is serving {scheme}://{addr}; the sample team already exists (the run that created it showed \
                 its tokens). Issue another with: kefu admin device issue --team {} --role supervisor",
                sample::TEAM
            ),
            (None, false) => println!(
                "kefu is serving {scheme}://{addr}; the database already has teams, so no sample team was added"
            ),
        }
    }
    let mut state = AppState::new(Arc::clone(&storage), config.limits.clone(), config.report_offset);
    // Changes committed by other processes on the same database reach this one's live sessions.
    let sessions = Arc::clone(&state.sessions);
    storage.watch_other_processes(Arc::new(move |team| match team {
        Some(team_id) => sessions.notify_team(team_id, None),
        None => sessions.notify_all(),
    }))?;
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
