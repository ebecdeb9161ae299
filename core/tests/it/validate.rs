//! Schema validation of documents from elsewhere: precise errors, and nothing
//! accepted that breaks the schema, even behind a valid concurrent value.

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ObjType, ROOT, ReadDoc};
use chrono::NaiveDate;
use expect_test::{Expect, expect};
use kefu_core::case::{AdmissionBudget, CaseDoc, LoadError, admit_bytes, validate_case};
use kefu_core::duty_log::{DutyEdit, DutyEntryKind, DutyLogDoc, DutyShift};
use kefu_core::ids::{DeviceId, Timestamp};

use crate::support::repair_doc;

/// Applies `tamper` to a copy of a valid case (as a rogue device would) and
/// renders what the validator says of the result.
fn check(tamper: impl FnOnce(&mut automerge::transaction::Transaction<'_>, &Automerge), expect: Expect) {
    let valid = repair_doc();
    let mut doc = Automerge::load(&valid.save()).unwrap().with_actor(ActorId::from(&[7u8; 16][..]));
    let snapshot = doc.clone();
    let mut tx = doc.transaction();
    tamper(&mut tx, &snapshot);
    tx.commit();
    let rendered = match validate_case(&doc) {
        Ok(id) => format!("ok {id}"),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
    };
    expect.assert_eq(&rendered);
}

fn obj(doc: &Automerge, key: &str) -> automerge::ObjId {
    doc.get(ROOT, key).unwrap().unwrap().1
}

#[test]
fn schema_errors_are_precise() {
    check(|_, _| {}, expect!["ok 00000000-0000-0000-0000-000000000063"]);
    check(|tx, _| tx.put(ROOT, "kind", "lawsuit").unwrap(), expect![[r#"kind: unknown code "lawsuit""#]]);
    check(|tx, _| tx.put(ROOT, "subject", 42).unwrap(), expect!["subject: expected a string, found 42"]);
    check(
        |tx, _| tx.put(ROOT, "schema", 9u64).unwrap(),
        expect!["schema: schema version 9 is not supported (this build reads 1..=1)"],
    );
    check(|tx, _| tx.put(ROOT, "backdoor", true).unwrap(), expect!["backdoor: is not a field of the case schema"]);
    check(|tx, _| tx.delete(ROOT, "created_by").unwrap(), expect!["created_by: is missing"]);
    check(
        |tx, _| {
            tx.put_object(ROOT, "description", ObjType::Map).unwrap();
        },
        expect!["description: expected a text, found a map"],
    );
    check(
        |tx, doc| {
            let timeline = obj(doc, "timeline");
            let entry = tx.put_object(&timeline, "e1", ObjType::Map).unwrap();
            tx.put(&entry, "type", "note").unwrap();
            tx.put(&entry, "by", "x").unwrap();
        },
        expect!["timeline.e1.at: is missing"],
    );
    check(
        |tx, doc| {
            let timeline = obj(doc, "timeline");
            let entry = tx.put_object(&timeline, "e1", ObjType::Map).unwrap();
            tx.put(&entry, "type", "status").unwrap();
            tx.put(&entry, "at", automerge::ScalarValue::Timestamp(5)).unwrap();
            tx.put(&entry, "by", "x").unwrap();
            tx.put(&entry, "from", "completed").unwrap();
            tx.put(&entry, "to", "closed").unwrap();
            tx.put(&entry, "reason", "").unwrap();
            tx.put_object(&entry, "prev", ObjType::List).unwrap();
        },
        expect!["timeline.e1: says it moved from completed, but its history gives new"],
    );
}

#[test]
fn a_bad_concurrent_value_cannot_hide_behind_a_good_winner() {
    let valid = repair_doc();
    let mut rogue = Automerge::load(&valid.save()).unwrap().with_actor(ActorId::from(&[0u8; 16][..]));
    let mut honest = Automerge::load(&valid.save()).unwrap().with_actor(ActorId::from(&[0xffu8; 16][..]));
    rogue.transact(|tx| tx.put(ROOT, "priority", "apocalyptic").map(|_| ())).unwrap();
    honest.transact(|tx| tx.put(ROOT, "priority", "high").map(|_| ())).unwrap();
    honest.merge(&mut rogue).unwrap();
    // The honest actor sorts last and wins, yet the rogue value is still found.
    assert_eq!(honest.get(ROOT, "priority").unwrap().unwrap().0.to_string(), "\"high\"");
    let errors = validate_case(&honest).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "document does not match the case schema: priority: unknown code \"apocalyptic\" (in a concurrent value)"
    );
    // And a case doc refuses the rogue change whole.
    let mut doc = CaseDoc::load(&valid.save(), DeviceId::from_u128(3)).unwrap();
    let before = doc.heads();
    assert!(doc.receive(&rogue.save()).is_err());
    assert_eq!(doc.heads(), before);
}

/// Writes a valid note entry `e1` (at 5, by x) into the timeline and returns its map.
fn note_entry(tx: &mut automerge::transaction::Transaction<'_>, doc: &Automerge) -> automerge::ObjId {
    let entry = tx.put_object(obj(doc, "timeline"), "e1", ObjType::Map).unwrap();
    tx.put(&entry, "type", "note").unwrap();
    tx.put(&entry, "at", automerge::ScalarValue::Timestamp(5)).unwrap();
    tx.put(&entry, "by", "x").unwrap();
    tx.put(&entry, "text", "called back").unwrap();
    entry
}

#[test]
fn unknown_keys_are_refused_at_every_depth() {
    check(
        |tx, doc| {
            let extra = tx.put_object(obj(doc, "customer"), "vip", ObjType::Map).unwrap();
            tx.put(&extra, "level", "gold").unwrap();
        },
        expect!["customer.vip: is not a field of the case schema"],
    );
    check(
        |tx, doc| tx.put(obj(doc, "number"), "legacy", "N-1").unwrap(),
        expect!["number.legacy: is not a field of the case schema"],
    );
    check(
        |tx, doc| {
            let entry = note_entry(tx, doc);
            tx.put(&entry, "payload", "x").unwrap();
        },
        expect!["timeline.e1.payload: is not a field of the case schema"],
    );
    check(
        |tx, doc| {
            // A key that belongs to another entry type is still foreign to a note.
            let entry = note_entry(tx, doc);
            tx.put(&entry, "sha256", "0".repeat(64)).unwrap();
        },
        expect!["timeline.e1.sha256: is not a field of the case schema"],
    );
    check(
        |tx, doc| {
            tx.put_object(obj(doc, "tags"), "urgent", ObjType::List).unwrap();
        },
        expect!["tags.urgent: expected a value, found a list"],
    );
    check(
        |tx, doc| {
            tx.put_object(obj(doc, "customer"), "name", ObjType::Text).unwrap();
        },
        expect!["customer.name: expected a value, found a text"],
    );
    check(
        |tx, _| {
            tx.put(ROOT, "customer", "Wang").unwrap();
        },
        expect!["customer: expected a map, found a value"],
    );
    check(
        |tx, _| {
            tx.put_object(ROOT, "number", ObjType::List).unwrap();
        },
        expect!["number: expected a map, found a list"],
    );
}

#[test]
fn description_must_be_plain_text() {
    check(
        |tx, doc| {
            let description = obj(doc, "description");
            let block = tx.split_block(&description, 3).unwrap();
            tx.put(&block, "hidden", "x").unwrap();
        },
        expect!["description: must be plain text, without blocks or objects"],
    );
    check(
        |tx, doc| {
            let mark = automerge::marks::Mark::new("note".into(), "x".repeat(1_000), 0, 3);
            tx.mark(obj(doc, "description"), mark, automerge::marks::ExpandMark::None).unwrap();
        },
        expect!["description: must be plain text, without marks"],
    );
}

#[test]
fn a_hidden_long_text_under_an_unknown_key_is_refused() {
    check(
        |tx, doc| {
            let hidden = tx.put_object(obj(doc, "customer"), "notes", ObjType::Text).unwrap();
            tx.splice_text(&hidden, 0, 0, &"a".repeat(1_000_000)).unwrap();
        },
        expect!["customer.notes: is not a field of the case schema"],
    );
}

#[test]
fn a_long_unknown_key_is_named_without_being_echoed_whole() {
    let valid = repair_doc();
    let mut doc = Automerge::load(&valid.save()).unwrap();
    let customer = obj(&doc, "customer");
    doc.transact(|tx| tx.put(&customer, "k".repeat(100_000), true)).unwrap();
    let errors = validate_case(&doc).unwrap_err().0;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, format!("customer.{}…", "k".repeat(151)));
    assert_eq!(errors[0].reason, "is not a field of the case schema");
}

#[test]
fn twenty_thousand_deep_nesting_is_refused_without_descending() {
    // Validation never walks into anything the schema does not name, so depth cannot
    // exhaust its stack; the refusal names the key at the top of the nest.
    check(
        |tx, doc| {
            let mut nest = tx.put_object(obj(doc, "number"), "n", ObjType::Map).unwrap();
            for _ in 0..20_000 {
                nest = tx.put_object(&nest, "n", ObjType::Map).unwrap();
            }
        },
        expect!["number.n: is not a field of the case schema"],
    );
}

#[test]
fn a_bad_concurrent_list_element_cannot_hide_behind_a_good_winner() {
    let valid = repair_doc();
    let mut base = Automerge::load(&valid.save()).unwrap().with_actor(ActorId::from(&[1u8; 16][..]));
    let timeline = obj(&base, "timeline");
    let prev = base
        .transact(|tx| {
            let entry = tx.put_object(&timeline, "s1", ObjType::Map)?;
            for (key, value) in [("type", "status"), ("by", "x"), ("from", "new"), ("to", "dispatched"), ("reason", "")]
            {
                tx.put(&entry, key, value)?;
            }
            tx.put(&entry, "at", automerge::ScalarValue::Timestamp(5))?;
            let prev = tx.put_object(&entry, "prev", ObjType::List)?;
            tx.insert(&prev, 0, "s0")?;
            Ok::<_, automerge::AutomergeError>(prev)
        })
        .unwrap()
        .result;
    let mut rogue = base.fork().with_actor(ActorId::from(&[0u8; 16][..]));
    let mut honest = base.fork().with_actor(ActorId::from(&[0xffu8; 16][..]));
    rogue
        .transact(|tx| {
            let nest = tx.put_object(&prev, 0, ObjType::Map)?;
            tx.put(&nest, "blob", "x".repeat(10_000))
        })
        .unwrap();
    honest.transact(|tx| tx.put(&prev, 0, "s2")).unwrap();
    honest.merge(&mut rogue).unwrap();
    // The honest actor sorts last, so its string wins and the map is only a loser.
    assert!(honest.get(&prev, 0).unwrap().unwrap().0.is_scalar());
    let errors = validate_case(&honest).unwrap_err().0.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert!(
        errors.contains(&"timeline.s1.prev.0: expected a value, found a map (in a concurrent value)".to_string()),
        "{errors:?}"
    );
}

#[test]
fn duty_logs_refuse_unknown_keys_and_bad_values_inside_their_maps() {
    let date = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    let staff = crate::support::staff("wang");
    let mut log = DutyLogDoc::create(DeviceId::from_u128(1), date, DutyShift::Night).unwrap();
    log.apply(
        Timestamp(10),
        &staff,
        &DutyEdit::AddEntry { kind: DutyEntryKind::Call, text: "leak".into(), case: None },
    )
    .unwrap();
    log.apply(Timestamp(11), &staff, &DutyEdit::AddStaff(staff.clone())).unwrap();
    let saved = log.automerge().save();
    let tampered = |tamper: &dyn Fn(&mut automerge::transaction::Transaction<'_>, &Automerge)| {
        let mut doc = Automerge::load(&saved).unwrap().with_actor(ActorId::from(&[7u8; 16][..]));
        let snapshot = doc.clone();
        let mut tx = doc.transaction();
        tamper(&mut tx, &snapshot);
        tx.commit();
        let mut receiver = DutyLogDoc::load(&saved, DeviceId::from_u128(2)).unwrap();
        let refused = receiver.receive(&doc.save()).unwrap_err().to_string();
        assert_eq!(receiver.read(), log.read(), "a refused change leaves the log as it was");
        refused
    };
    let entry_key = |doc: &Automerge| doc.keys(ROOT).find(|key| key.starts_with("entry:")).unwrap();
    let refused = tampered(&|tx, doc| {
        let entry = doc.get(ROOT, entry_key(doc)).unwrap().unwrap().1;
        let nest = tx.put_object(&entry, "attachments", ObjType::Map).unwrap();
        tx.put(&nest, "blob", "x".repeat(1_000)).unwrap();
    });
    assert!(refused.contains(".attachments: is not a field of the duty-log schema"), "{refused}");
    assert!(refused.contains(&format!("{}.attachments", entry_key(&log.automerge().clone()))), "{refused}");
    let refused = tampered(&|tx, _| {
        tx.put_object(ROOT, "staff:wang", ObjType::Map).unwrap();
    });
    assert!(refused.contains("staff:wang: expected a value, found a map"), "{refused}");
    let refused = tampered(&|tx, _| {
        tx.put(ROOT, "weather", "rain ".repeat(1_000)).unwrap();
    });
    assert!(refused.contains("weather: is 5000 characters long, at most 120 allowed"), "{refused}");
    let refused = tampered(&|tx, _| {
        tx.put_object(ROOT, format!("entry:{}", "x".repeat(1_000)), ObjType::Map).unwrap();
    });
    assert!(refused.contains("…: entry id is 1000 characters long, at most 120 allowed"), "{refused}");
}

#[test]
fn a_received_bomb_is_refused_before_it_is_loaded() {
    // A million characters hidden under an unknown key save to a few kilobytes of
    // changes; receiving them is refused by admission, before automerge loads them.
    let valid = repair_doc();
    let mut rogue = Automerge::load(&valid.save()).unwrap().with_actor(ActorId::from(&[7u8; 16][..]));
    let heads = rogue.get_heads();
    let customer = obj(&rogue, "customer");
    rogue
        .transact(|tx| {
            let hidden = tx.put_object(&customer, "notes", ObjType::Text)?;
            tx.splice_text(&hidden, 0, 0, &"a".repeat(1_000_000))
        })
        .unwrap();
    let push = rogue.save_after(&heads);
    let mut doc = CaseDoc::load(&valid.save(), DeviceId::from_u128(3)).unwrap();
    let before = doc.heads();
    match doc.receive(&push) {
        Err(LoadError::Admission(refused)) => assert_eq!(refused.code(), "doc.too_many_ops"),
        other => panic!("expected an admission refusal, got {other:?}"),
    }
    assert_eq!(doc.heads(), before);
}

#[test]
fn an_honest_case_is_admitted() {
    let doc = repair_doc();
    for bytes in [doc.save(), doc.save_after(&[])] {
        let admitted = admit_bytes(&bytes, &AdmissionBudget::DOCUMENT).unwrap();
        assert_eq!(admitted.ops, doc.automerge().stats().num_ops);
        // description, customer, number, tags, timeline
        assert_eq!(admitted.objects, 5);
    }
}
