//! `faults`: the real-process fault run against a built `kefu` binary
//! (`kefu_tests::faults`), or one of its device processes (`faults device ...`).
//!
//! ```text
//! cargo build --release -p kefu-server --bin kefu
//! cargo run --release -p kefu-tests --bin faults -- [--kills 240] [--devices 6] [--seed 1]
//!     [--fault-rate 0.3] [--max-pause-ms 700] [--kefu target/release/kefu]
//! ```
//! Prints the counts and exits 0 when the healed run converged; prints what diverged and
//! exits 1 otherwise. Builds nothing: `--kefu` defaults to the `kefu` next to this binary.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use kefu_tests::faults::{self, Config, device::DeviceArgs};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().is_some_and(|arg| arg == "device") {
        DeviceArgs::parse(&args[1..]).and_then(|device| faults::device::run(&device)).map(|()| String::new())
    } else {
        config(&args).and_then(|config| faults::run(&config)).map(|counts| counts.to_string())
    };
    match result {
        Ok(text) => {
            if !text.is_empty() {
                println!("{text}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("faults: {err}");
            ExitCode::FAILURE
        }
    }
}

fn config(args: &[String]) -> Result<Config, String> {
    let value = |flag: &str| args.iter().position(|arg| arg == flag).and_then(|at| args.get(at + 1));
    let number = |flag: &str, default: u64| -> Result<u64, String> {
        value(flag).map_or(Ok(default), |text| text.parse().map_err(|_| format!("{flag} must be a number, not {text}")))
    };
    let harness = std::env::current_exe().map_err(|err| format!("where am I: {err}"))?;
    let kefu = match value("--kefu") {
        Some(path) => PathBuf::from(path),
        None => faults::sibling_kefu(&harness)?,
    };
    let fault_rate = match value("--fault-rate") {
        Some(text) => text.parse().map_err(|_| format!("--fault-rate must be a number, not {text}"))?,
        None => 0.3,
    };
    Ok(Config {
        kefu,
        harness,
        devices: number("--devices", 6)? as usize,
        kills: number("--kills", 240)? as usize,
        seed: number("--seed", 1)?,
        fault_rate,
        max_pause: Duration::from_millis(number("--max-pause-ms", 700)?.max(5)),
    })
}
