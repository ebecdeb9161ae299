//! The fault simulation over many seeds (see `kefu_tests::run`). `KEFU_SIM_SEEDS` sets how
//! many (default 350 per test, three tests: one per slice of seeds, so they run in
//! parallel; 1,050 in all, about three minutes on two cores); `KEFU_SIM_START` where they
//! start. A failure names its seed and the command
//! that replays it.

fn seeds(slice: u64) -> std::ops::Range<u64> {
    let count: u64 = std::env::var("KEFU_SIM_SEEDS").ok().and_then(|n| n.parse().ok()).unwrap_or(350);
    let start: u64 = std::env::var("KEFU_SIM_START").ok().and_then(|n| n.parse().ok()).unwrap_or(0);
    let from = start + slice * count;
    from..from + count
}

fn run_slice(slice: u64) {
    let mut failures = Vec::new();
    let mut acked = 0;
    for seed in seeds(slice) {
        match kefu_tests::run(seed) {
            Ok(outcome) => acked += outcome.acked_edits,
            Err(err) => failures.push(format!("{err}\n  replay: cargo run -p kefu-tests --bin soak -- --seed {seed}")),
        }
    }
    assert!(failures.is_empty(), "{} seeds failed:\n{}", failures.len(), failures.join("\n"));
    assert!(acked > 0, "the seeds acknowledged no edit at all: the simulation tests nothing");
}

#[test]
fn devices_converge_after_faults_seeds_slice_0() {
    run_slice(0);
}

#[test]
fn devices_converge_after_faults_seeds_slice_1() {
    run_slice(1);
}

#[test]
fn devices_converge_after_faults_seeds_slice_2() {
    run_slice(2);
}
