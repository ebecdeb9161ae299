//! The Rust side of the FFI benchmark: the calls the Kotlin and Python benchmarks
//! make through the bindings (create a case, which fsyncs; list 100 cases; read
//! one cached case, which does no IO and so shows the per-call cost), made here without
//! crossing a boundary, once on kefu-core's `CaseStore` directly and once on the
//! exported `KefuStore` (adds the mutex, id parsing and record conversion). The
//! differences against `tests/kotlin/Bench.kt` and `tests/python/bench.py` are the
//! cost of the FFI itself.
//!
//! Same method in all three: a warm-up, then each call timed on its own; median
//! and mean in microseconds. `cargo bench -p kefu-mobile --bench ffi_calls`.
//! Deliberately plain timing rather than criterion: the foreign benchmarks cannot
//! use criterion, and the figures must be measured the same way to compare.
//! Without `--bench` (as `cargo test --all-targets` runs it) it makes three calls
//! of each kind, a smoke test, instead of timing.

use std::sync::Arc;
use std::time::Instant;

use kefu_core::ids::{StaffId, Timestamp};
use kefu_core::store::{CaseFilter as CoreFilter, CaseStore, StoreConfig};
use kefu_mobile::KefuStore;
use kefu_mobile::records::{CaseFilter, CaseKind, Channel, Customer, NewCase, Priority, Service};

/// Untimed calls, then timed ones, under `cargo bench`.
const FULL: (usize, usize) = (50, 300);
/// Under `cargo test`: only check that the calls work.
const SMOKE: (usize, usize) = (0, 3);

fn new_case(i: usize) -> NewCase {
    NewCase {
        kind: CaseKind::Repair,
        channel: Channel::Phone,
        customer: Customer { name: "王芳".into(), phone: "138 0000 0000".into(), address: "3-2-1101".into() },
        subject: format!("地下室进水 B2 #{i}"),
        description: "Water in the basement storage rooms since 06:00".into(),
        priority: Priority::Urgent,
        service: Some(Service::Repair),
    }
}

/// Times `call` `rounds` times after `warm_up` untimed calls; prints median and mean.
fn measure(name: &str, side: &str, (warm_up, rounds): (usize, usize), mut call: impl FnMut(usize)) {
    for i in 0..warm_up {
        call(i);
    }
    let mut micros: Vec<f64> = (0..rounds)
        .map(|i| {
            let started = Instant::now();
            call(warm_up + i);
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    micros.sort_by(f64::total_cmp);
    let mean = micros.iter().sum::<f64>() / micros.len() as f64;
    println!("{name:<14} {side:<12} median {:>9.1} µs   mean {mean:>9.1} µs   (n={rounds})", micros[rounds / 2]);
}

fn main() {
    let plan = if std::env::args().any(|arg| arg == "--bench") { FULL } else { SMOKE };
    let dir = tempfile::tempdir().expect("temp dir");
    let staff = StaffId::new("desk.li").expect("staff id");

    // kefu-core directly.
    let mut core = CaseStore::open(&dir.path().join("core-create"), StoreConfig::default()).expect("open");
    measure("create_case", "rust-core", plan, |i| {
        core.create_case(&new_case(i).into(), &staff, Timestamp::now()).expect("create");
    });
    let mut core = CaseStore::open(&dir.path().join("core-list"), StoreConfig::default()).expect("open");
    for i in 0..100 {
        core.create_case(&new_case(i).into(), &staff, Timestamp::now()).expect("create");
    }
    measure("list_100", "rust-core", plan, |_| {
        assert_eq!(core.list(&CoreFilter::default()).expect("list").len(), 100);
    });
    let first = core.list(&CoreFilter::default()).expect("list")[0].id;
    measure("get_case", "rust-core", plan, |_| {
        core.case(first).expect("case");
    });

    // The exported object, called from Rust.
    let open = |name: &str| -> Arc<KefuStore> {
        KefuStore::open(dir.path().join(name).to_string_lossy().into_owned(), "desk.li".into()).expect("open")
    };
    let store = open("ffi-create");
    measure("create_case", "rust-object", plan, |i| {
        store.create_case(new_case(i)).expect("create");
    });
    let store = open("ffi-list");
    for i in 0..100 {
        store.create_case(new_case(i)).expect("create");
    }
    measure("list_100", "rust-object", plan, |_| {
        assert_eq!(store.list(CaseFilter::default()).expect("list").len(), 100);
    });
    let first = store.list(CaseFilter::default()).expect("list")[0].id.clone();
    measure("get_case", "rust-object", plan, |_| {
        store.get_case(first.clone()).expect("case");
    });
}
