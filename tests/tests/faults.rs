//! The real-process fault run (`kefu_tests::faults`), small enough for every CI run: a
//! debug `kefu serve` and three device processes, a dozen SIGKILLs, the lossy proxy, a
//! reinstall, a phone restore and a server restore, then the convergence checks. The
//! 200-kill run against the release binary is `cargo run --release -p kefu-tests --bin
//! faults` (RELIABILITY.md).
//!
//! It runs the `kefu` binary cargo built next to `faults`: `make test` builds the whole
//! workspace first; alone, run `cargo build -p kefu-server --bin kefu` before
//! `cargo test -p kefu-tests`, or an older binary is tested.

use std::path::PathBuf;
use std::time::Duration;

use kefu_tests::faults::{Config, run, sibling_kefu};

#[test]
fn real_processes_converge_after_kills_a_lossy_proxy_a_reinstall_and_restores() {
    let harness = PathBuf::from(env!("CARGO_BIN_EXE_faults"));
    let kefu = sibling_kefu(&harness).unwrap_or_else(|err| panic!("{err}"));
    let config = Config {
        kefu,
        harness,
        devices: 3,
        kills: 12,
        seed: 7,
        fault_rate: 0.3,
        max_pause: Duration::from_millis(400),
    };
    let counts = run(&config).unwrap_or_else(|err| panic!("the fault run diverged: {err}"));
    println!("{counts}");
    assert!(counts.server_kills + counts.device_kills >= 12, "{counts}");
    assert!(counts.server_kills > 0 && counts.device_kills > 0, "{counts}");
    assert_eq!((counts.reinstalls, counts.phone_restores, counts.server_restores), (1, 1, 1));
    assert!(counts.acked_edits > 0 && counts.cases > 0, "the devices did work: {counts}");
    assert!(counts.proxied > 0, "the devices went through the proxy: {counts}");
}
