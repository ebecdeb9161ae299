//! The command tree of the `kefu` binary. Each top-level command is a variant of `Command` with
//! its own module; `serve`, `admin`, `demo` and `import` slot in beside `roster`.
//!
//! Leaves out: parsing details of each command (in its module) and process exit (in `main`).

pub mod admin;
pub mod demo;
pub mod import;
pub mod nrp;
pub mod roster;
pub mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// kefu: customer-service cases, sync and duty rosters.
#[derive(Debug, Parser)]
#[command(name = "kefu", version, about)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the sync server (WebSocket and HTTP) with the supervisor API.
    Serve(crate::config::ServeArgs),
    /// Create teams and issue or revoke device tokens.
    Admin(admin::AdminArgs),
    /// Play the field story end to end on one machine: a server and three devices that
    /// edit offline, reconnect in turn and converge.
    Demo(demo::DemoArgs),
    /// Solve or check a duty roster.
    #[command(subcommand)]
    Roster(roster::RosterCommand),
    /// Import cases from another system (JSON lines) into a team, through its sync server.
    Import(import::ImportArgs),
}

/// Exit code when a roster breaks at least one hard rule.
pub const EXIT_VIOLATIONS: u8 = 3;

/// Runs a parsed command; the exit code says how it ended.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Admin(args) => admin::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Roster(command) => roster::run(command),
        Command::Import(args) => import::run(args),
    }
}
