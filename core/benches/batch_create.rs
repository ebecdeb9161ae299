//! Creating cases through the device store's batch API (issue 16): N cases of the field's shape
//! (`kefu_core::realistic`: a ~300-character Chinese description, twenty timeline entries), each
//! written with its entries, a batch of B cases per durable transaction; then the store's size
//! against the cases' compact size (each document saved whole, as automerge compresses it).
//!
//! `cargo bench -p kefu-core --bench batch_create`; sizes `KEFU_BENCH_CASES` (5000) and
//! `KEFU_BENCH_BATCH` (100). Under `cargo test` it runs once on 20 cases as a smoke test.

use std::time::Instant;

use kefu_core::case::CaseDoc;
use kefu_core::ids::{DeviceId, StaffId, Timestamp};
use kefu_core::realistic::CaseScript;
use kefu_core::store::{CaseStore, StoreConfig};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn main() {
    let smoke = !std::env::args().any(|arg| arg == "--bench");
    let n = if smoke { 20 } else { env_usize("KEFU_BENCH_CASES", 5000) };
    let batch = env_usize("KEFU_BENCH_BATCH", 100).max(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let device = DeviceId::random();
    let mut store = CaseStore::open(dir.path(), StoreConfig::default()).expect("store");
    store.bind_device(device).expect("bind");
    let by = StaffId::new("desk.li").expect("staff");
    let scripts: Vec<CaseScript> = (0..n as u64).map(CaseScript::generate).collect();

    let started = Instant::now();
    for chunk in scripts.chunks(batch) {
        store
            .batch(|cases| {
                for script in chunk {
                    let id = cases.create_case(&script.new, &by, Timestamp::now())?.id;
                    for edit in &script.edits {
                        cases.edit_case(id, edit, &by, Timestamp::now())?;
                    }
                }
                Ok(())
            })
            .expect("batch");
    }
    let elapsed = started.elapsed();

    let stored = store.stored_bytes().expect("stored bytes");
    let mut compact = 0;
    for id in store.doc_ids().expect("ids") {
        let bytes = store.export(&id, &[]).expect("export");
        compact += CaseDoc::load(&bytes, device).expect("load").save().len() as u64;
    }
    assert_eq!(store.n_cases().expect("count"), n);
    let entries: usize = scripts.iter().map(|script| script.edits.len()).sum();
    println!("| what | cases | entries | batches | time | store | compact | store ÷ compact |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| create through `CaseStore::batch`, durable | {n} | {entries} | {} of {batch} | {:.2} s | {:.1} MB | {:.1} MB | {:.2} |",
        n.div_ceil(batch),
        elapsed.as_secs_f64(),
        stored as f64 / 1e6,
        compact as f64 / 1e6,
        stored as f64 / compact as f64,
    );
}
