//! `soak`: runs the fault simulation over many seeds, or replays one.
//!
//! ```text
//! cargo run --release -p kefu-tests --bin soak -- --seeds 1000000 [--start 0]
//! cargo run -p kefu-tests --bin soak -- --seed 1234        # replay one seed
//! ```
//! Prints totals every 10,000 seeds and every failing seed with its replay command;
//! exits 1 if any seed failed.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| -> Option<u64> {
        args.iter().position(|arg| arg == flag).and_then(|at| args.get(at + 1)).and_then(|n| n.parse().ok())
    };
    let (start, count) = match value("--seed") {
        Some(seed) => (seed, 1),
        None => (value("--start").unwrap_or(0), value("--seeds").unwrap_or(10_000)),
    };
    let mut failed = 0u64;
    let mut totals = kefu_tests::Outcome::default();
    for (done, seed) in (start..start + count).enumerate() {
        match kefu_tests::run(seed) {
            Ok(outcome) => {
                totals.rounds += outcome.rounds;
                totals.acked_edits += outcome.acked_edits;
                totals.device_crashes += outcome.device_crashes;
                totals.server_crashes += outcome.server_crashes;
                totals.reinstalls += outcome.reinstalls;
                totals.device_restores += outcome.device_restores;
                totals.server_restores += outcome.server_restores;
                totals.dropped += outcome.dropped;
            }
            Err(err) => {
                failed += 1;
                println!("FAILED {err}\n  replay: cargo run -p kefu-tests --bin soak -- --seed {seed}");
            }
        }
        if (done + 1) % 10_000 == 0 || done as u64 + 1 == count {
            println!("{} seeds from {start}, {failed} failed; {totals:?}", done + 1);
        }
    }
    if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
