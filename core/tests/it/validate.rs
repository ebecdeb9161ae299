//! Schema validation of documents from elsewhere: precise errors, and nothing
//! accepted that breaks the schema, even behind a valid concurrent value.

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ROOT, ReadDoc};
use expect_test::{Expect, expect};
use kefu_core::case::{CaseDoc, validate_case};
use kefu_core::ids::DeviceId;

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
            tx.put_object(ROOT, "description", automerge::ObjType::Map).unwrap();
        },
        expect!["description: expected a text, found a map"],
    );
    check(
        |tx, doc| {
            let timeline = obj(doc, "timeline");
            let entry = tx.put_object(&timeline, "e1", automerge::ObjType::Map).unwrap();
            tx.put(&entry, "type", "note").unwrap();
            tx.put(&entry, "by", "x").unwrap();
        },
        expect!["timeline.e1.at: is missing"],
    );
    check(
        |tx, doc| {
            let timeline = obj(doc, "timeline");
            let entry = tx.put_object(&timeline, "e1", automerge::ObjType::Map).unwrap();
            tx.put(&entry, "type", "status").unwrap();
            tx.put(&entry, "at", automerge::ScalarValue::Timestamp(5)).unwrap();
            tx.put(&entry, "by", "x").unwrap();
            tx.put(&entry, "from", "completed").unwrap();
            tx.put(&entry, "to", "closed").unwrap();
            tx.put(&entry, "reason", "").unwrap();
            tx.put_object(&entry, "prev", automerge::ObjType::List).unwrap();
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
