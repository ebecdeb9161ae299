//! Fuzzing of the two readers that take bytes straight from the network: document
//! admission followed by loading and schema validation, and the sync frame decoder.
//! Inputs are arbitrary bytes and mutations of real ones (a saved case, its change
//! chunks, encoded frames), so the cases reach past the magic bytes into the
//! structure. None may panic; where more can be said it is asserted too.
//!
//! The ordinary variants run a few hundred cases so `make test` stays fast. The long
//! variants are `#[ignore]`d and take their case count from `PROPTEST_CASES`:
//!
//! ```text
//! PROPTEST_CASES=1000000 cargo test -p kefu-core --release --test it fuzz::long -- --ignored
//! ```

use std::sync::LazyLock;

use automerge::{ChangeHash, ReadDoc};
use kefu_core::case::{
    AdmissionBudget, CaseDoc, CaseEdit, CasePolicy, EditContext, FeedbackDirection, Status, admit_bytes,
};
use kefu_core::ids::{DeviceId, Timestamp};
use kefu_core::sync::wire::{self, DocPush, DocRefusal, DocUpdate, Message, Push, Refusal, RefusalCode, Reply};
use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::support::{repair_doc, staff};

/// Cases of the ordinary variants.
const QUICK_CASES: u32 = 256;

/// A case with some history, the base every received input is applied to.
static CASE: LazyLock<CaseDoc> = LazyLock::new(|| {
    let mut doc = repair_doc();
    let policy = CasePolicy::default();
    let by = staff("field.li");
    let ctx = EditContext { at: Timestamp(60_000), by: &by, policy: &policy };
    for edit in [
        CaseEdit::AddNote("arrived, water in B2".into()),
        // Long enough that a saved case has deflated columns to mutate.
        CaseEdit::AddNote("water in storage rooms 1 to 43; ".repeat(100)),
        CaseEdit::Transition { to: Status::InProgress, reason: String::new() },
        CaseEdit::Feedback { direction: FeedbackDirection::ToCustomer, text: "on site".into() },
    ] {
        doc.apply(&ctx, &edit).expect("a valid edit");
    }
    doc
});

/// Real bytes to mutate: the saved case (compressed columns), its history as change
/// chunks, and the last change alone.
static DOC_SEEDS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let doc = CASE.automerge();
    let last = doc.get_changes(&[]).last().expect("the case has changes").raw_bytes().to_vec();
    vec![doc.save(), doc.save_after(&[]), last]
});

/// Real frames to mutate, one of each kind.
static FRAME_SEEDS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let heads: Vec<ChangeHash> = CASE.heads();
    let id = CASE.id().to_string();
    let changes = CASE.save();
    let refusal = Refusal::new(RefusalCode::Schema, "customer.vip: is not a field of the case schema");
    [
        Message::Push(Push {
            store: [3; 16],
            round: 2,
            generation: 5 << 32 | 77,
            previous: [76, 75, 74, 0, 0, 0, 0, 0],
            cursor: wire::Cursor { seq: 7, stamp: 70 },
            mark: wire::Cursor { seq: 8, stamp: 80 },
            docs: vec![DocPush { id: id.clone(), heads: heads.clone(), changes: changes.clone() }],
            have: vec![wire::DocHave { id: id.clone(), heads: heads.clone() }],
        }),
        Message::Reply(Reply {
            round: 2,
            cursor: wire::Cursor { seq: 9, stamp: 90 },
            mark: wire::Cursor { seq: 9, stamp: 90 },
            more: true,
            resync: false,
            acks: vec![wire::DocAck { id: id.clone(), heads: heads.clone() }],
            refusals: vec![DocRefusal { id: id.clone(), refusal: refusal.clone() }],
            updates: vec![DocUpdate { id, heads, changes }],
        }),
        Message::Refuse(refusal),
    ]
    .iter()
    .map(wire::encode)
    .collect()
});

/// One edit of a byte string, positions as fractions of its length.
#[derive(Clone, Debug)]
enum Mutation {
    Set(f64, u8),
    Flip(f64, u8),
    Insert(f64, Vec<u8>),
    Delete(f64, u8),
    Truncate(f64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (0.0..1.0, any::<u8>()).prop_map(|(at, byte)| Mutation::Set(at, byte)),
        4 => (0.0..1.0, 0u8..8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
        2 => (0.0..1.0, proptest::collection::vec(any::<u8>(), 1..12)).prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        2 => (0.0..1.0, 1u8..16).prop_map(|(at, n)| Mutation::Delete(at, n)),
        1 => (0.0..1.0).prop_map(Mutation::Truncate),
    ]
}

fn mutate(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for mutation in mutations {
        let at = |fraction: f64, len: usize| ((fraction * len as f64) as usize).min(len.saturating_sub(1));
        match mutation {
            Mutation::Set(_, _) | Mutation::Flip(_, _) | Mutation::Delete(_, _) if bytes.is_empty() => {}
            Mutation::Set(fraction, byte) => {
                let i = at(*fraction, bytes.len());
                bytes[i] = *byte;
            }
            Mutation::Flip(fraction, bit) => {
                let i = at(*fraction, bytes.len());
                bytes[i] ^= 1 << bit;
            }
            Mutation::Insert(fraction, inserted) => {
                let i = at(*fraction, bytes.len() + 1);
                bytes.splice(i..i, inserted.iter().copied());
            }
            Mutation::Delete(fraction, n) => {
                let i = at(*fraction, bytes.len());
                bytes.drain(i..(i + usize::from(*n)).min(bytes.len()));
            }
            Mutation::Truncate(fraction) => bytes.truncate(at(*fraction, bytes.len() + 1)),
        }
    }
    bytes
}

/// What the server and a device do with received document bytes: admit, then load
/// and validate as a new document, then receive into a valid case. Never panics; what admission
/// admits stays inside the budget, and automerge finds no more operations in it
/// than admission counted.
fn admit_load_validate(bytes: &[u8]) {
    let budget = AdmissionBudget::DOCUMENT;
    match admit_bytes(bytes, &budget) {
        Ok(admitted) => {
            assert!(admitted.ops <= budget.max_ops && admitted.objects <= budget.max_objects, "{admitted:?}");
            assert!(admitted.expanded_bytes <= budget.max_expanded_bytes, "{admitted:?}");
            // Loading validates the whole document.
            if let Ok(loaded) = CaseDoc::load(bytes, DeviceId::from_u128(5)) {
                let ops = loaded.automerge().stats().num_ops;
                assert!(ops <= admitted.ops, "{ops} ops loaded, {admitted:?}");
            }
            let mut case = CASE.clone();
            let before = case.heads();
            match case.receive(bytes) {
                // What was adopted must stay usable: read, saved, loaded again.
                Ok(_) => {
                    case.read();
                    case.conflicts();
                    CaseDoc::load(&case.save(), DeviceId::from_u128(5)).expect("an adopted document reloads");
                }
                Err(_) => assert_eq!(case.heads(), before, "a refused receive changes nothing"),
            }
        }
        Err(refused) => assert!(refused.code().starts_with("doc."), "{refused}"),
    }
}

/// Decodes a frame; a frame that decodes re-encodes to the same message.
fn decode_frame(bytes: &[u8]) {
    if let Ok(message) = wire::decode(bytes, 1 << 20) {
        assert_eq!(wire::decode(&wire::encode(&message), 1 << 20), Ok(message));
    }
}

fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..600)
}

fn mutated(seeds: &'static LazyLock<Vec<Vec<u8>>>) -> impl Strategy<Value = Vec<u8>> {
    (0..seeds.len(), proptest::collection::vec(mutation(), 1..6))
        .prop_map(move |(seed, mutations)| mutate(&seeds[seed], &mutations))
}

/// Mutated document bytes, half of them re-sealed with valid chunk checksums:
/// automerge checks the checksum first, so unsealed mutations never reach its
/// column decoding or the schema validator.
fn mutated_documents() -> impl Strategy<Value = Vec<u8>> {
    (mutated(&DOC_SEEDS), any::<bool>()).prop_map(|(mut bytes, seal)| {
        if seal {
            reseal(&mut bytes);
        }
        bytes
    })
}

/// Rewrites the checksum of every uncompressed chunk that can be framed: the first
/// four bytes of SHA-256 over the type, the uLEB length and the body.
fn reseal(bytes: &mut [u8]) {
    let mut at = 0;
    while bytes.len() >= at + 10 && bytes[at..at + 4] == [0x85, 0x6f, 0x4a, 0x83] {
        let chunk_type = bytes[at + 8];
        let (mut len, mut shift, mut i) = (0usize, 0, at + 9);
        while i < bytes.len() && shift < 35 {
            len |= usize::from(bytes[i] & 0x7f) << shift;
            shift += 7;
            i += 1;
            if bytes[i - 1] & 0x80 == 0 {
                break;
            }
        }
        let Some(end) = i.checked_add(len).filter(|end| *end <= bytes.len()) else { return };
        if chunk_type != 2 {
            let digest = <sha2::Sha256 as sha2::Digest>::digest(&bytes[at + 8..end]);
            bytes[at + 4..at + 8].copy_from_slice(&digest[..4]);
        }
        at = end;
    }
}

/// Arbitrary bytes after automerge's chunk magic, so the chunk parser is reached.
fn after_chunk_magic() -> impl Strategy<Value = Vec<u8>> {
    arbitrary_bytes().prop_map(|tail| [&[0x85, 0x6f, 0x4a, 0x83][..], &tail].concat())
}

/// Arbitrary bytes after a frame's magic and version, so the body decoder is reached.
fn after_frame_header() -> impl Strategy<Value = Vec<u8>> {
    arbitrary_bytes().prop_map(|tail| [&b"KEFU\x00\x01"[..], &tail].concat())
}

fn documents() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![1 => arbitrary_bytes(), 1 => after_chunk_magic(), 6 => mutated_documents()]
}

fn frames() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![1 => arbitrary_bytes(), 1 => after_frame_header(), 6 => mutated(&FRAME_SEEDS)]
}

#[test]
fn the_seeds_are_accepted_unmutated() {
    for seed in DOC_SEEDS.iter() {
        let mut resealed = seed.clone();
        reseal(&mut resealed);
        assert_eq!(&resealed, seed, "resealing an intact chunk keeps its checksum");
        admit_bytes(seed, &AdmissionBudget::DOCUMENT).unwrap();
        let mut case = CASE.clone();
        case.receive(seed).unwrap();
    }
    for seed in FRAME_SEEDS.iter() {
        wire::decode(seed, 1 << 20).unwrap();
    }
}

/// Offset of the actor id in a change chunk with a 2-byte length and one dependency:
/// magic, checksum, type, length, dependency count and hash, actor length.
const ACTOR_AT: usize = 4 + 4 + 1 + 2 + 1 + 32 + 1;

/// Receives `bytes` into the sample case and checks it is refused and changes
/// nothing (rather than panicking inside automerge).
fn assert_refused(bytes: &[u8]) {
    admit_bytes(bytes, &AdmissionBudget::DOCUMENT).unwrap();
    let mut case = CASE.clone();
    let before = case.heads();
    assert!(case.receive(bytes).is_err());
    assert_eq!(case.heads(), before);
}

/// Found by the fuzzer: automerge 0.12 panics while loading
/// (`lookup_actor(..).unwrap()` in `import_ops`) a checksum-valid change whose
/// actor differs from the one its seq and deps were written for.
#[test]
fn a_change_with_a_foreign_actor_is_refused_not_a_panic() {
    let mut bytes = DOC_SEEDS[1].clone();
    let chunk_starts: Vec<usize> =
        bytes.windows(4).enumerate().filter(|(_, w)| *w == [0x85, 0x6f, 0x4a, 0x83]).map(|(i, _)| i).collect();
    let actor = chunk_starts[2] + ACTOR_AT;
    assert_eq!(bytes[actor - 1], 16, "a 16-byte actor id");
    bytes[actor + 7] ^= 1;
    reseal(&mut bytes);
    assert_refused(&bytes);
}

/// Found by the fuzzer: a checksum-valid change whose seq skips one. In a release
/// build automerge 0.12 loads it and the first read of the result (`get_changes`)
/// panics on an assertion in its change collector; in a debug build a debug
/// assertion fires during the load itself. Either way the receive must refuse it.
#[test]
fn a_change_that_skips_a_seq_is_refused_not_a_panic() {
    let mut bytes = DOC_SEEDS[2].clone();
    assert_eq!(bytes[ACTOR_AT - 1], 16, "a 16-byte actor id");
    let seq = ACTOR_AT + 16;
    bytes[seq] += 1;
    reseal(&mut bytes);
    assert_refused(&bytes);
}

/// Found by the fuzzer: automerge 0.12 accepts an empty change whose start op is
/// below what its dependencies already used, and then saves a document it cannot
/// load again ("max_op is lower than start_op"). Adopting it would leave a case no
/// replica can reopen.
#[test]
fn a_change_that_reuses_op_numbers_is_refused_not_adopted() {
    let mut body = vec![1];
    body.extend(CASE.heads()[0].0);
    body.push(16);
    body.extend([0u8; 16]); // a fresh actor
    body.extend([1, 5, 0, 0, 0, 0]); // seq 1, start op 5, time 0, no message, no other actors, no columns
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, body.len() as u8];
    chunk.extend(body);
    reseal(&mut chunk);
    assert_refused(&chunk);
}

proptest! {
    #![proptest_config(Config { cases: QUICK_CASES, failure_persistence: None, ..Config::default() })]

    #[test]
    fn documents_never_panic_admission_or_validation(bytes in documents()) {
        admit_load_validate(&bytes);
    }

    #[test]
    fn frames_never_panic_the_decoder(bytes in frames()) {
        decode_frame(&bytes);
    }
}

/// The long runs; `Config::default()` reads `PROPTEST_CASES`.
mod long {
    use super::*;

    proptest! {
        #![proptest_config(Config { failure_persistence: None, ..Config::default() })]

        #[test]
        #[ignore = "long run: PROPTEST_CASES=1000000 cargo test -p kefu-core --release --test it fuzz::long -- --ignored"]
        fn admission_and_validation(bytes in documents()) {
            admit_load_validate(&bytes);
        }

        #[test]
        #[ignore = "long run: PROPTEST_CASES=1000000 cargo test -p kefu-core --release --test it fuzz::long -- --ignored"]
        fn frame_decoder(bytes in frames()) {
            decode_frame(&bytes);
        }
    }
}
