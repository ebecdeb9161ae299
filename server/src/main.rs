//! The `kefu` binary: parses the command line and hands over to `cli`; prints the error chain and
//! maps outcomes to exit codes (0 ok, 1 error, 2 usage, 3 roster breaks a hard rule).
//!
//! Leaves out: any command's logic, which lives in `cli/*`, and the server itself (`server`, `http`,
//! `storage`, `auth`).

mod auth;
mod cli;
mod config;
mod console;
mod http;
mod limits;
mod metrics;
mod sample;
mod server;
mod sessions;
mod storage;
mod sync_driver;
mod telemetry;
mod tls;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse(); // clap exits with 2 on a usage error
    match cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("kefu: {error:#}");
            ExitCode::from(1)
        }
    }
}
