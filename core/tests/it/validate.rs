//! Schema validation of documents from elsewhere: precise errors, and nothing
//! accepted that breaks the schema, even behind a valid concurrent value.

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ObjType, ROOT, ReadDoc};
use chrono::NaiveDate;
use expect_test::{Expect, expect};
use kefu_core::case::{AdmissionBudget, CaseDoc, LoadError, admit_bytes, validate_case};
use kefu_core::duty_log::{DutyEdit, DutyEntryKind, DutyLogDoc, DutyShift};
use kefu_core::ids::{DeviceId, Timestamp};
use proptest::prelude::*;

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

/// Where a tampering write goes in a case with one status entry.
#[derive(Clone, Copy, Debug)]
enum Target {
    Root,
    Customer,
    Number,
    Tags,
    Entry,
    Prev,
}

/// What a tampering write puts there.
#[derive(Clone, Debug)]
enum Written {
    Str(String),
    Uint(u64),
    Map,
    List,
    Text,
}

/// One tampering write, by one of two concurrent rogue replicas.
type Tamper = (bool, Target, &'static str, Written);

fn tampers() -> impl Strategy<Value = Vec<Tamper>> {
    let target = proptest::sample::select(vec![
        Target::Root,
        Target::Customer,
        Target::Number,
        Target::Tags,
        Target::Entry,
        Target::Prev,
    ]);
    let key = proptest::sample::select(vec![
        "name",
        "phone",
        "address",
        "provisional",
        "assigned",
        "type",
        "at",
        "by",
        "to",
        "prev",
        "reason",
        "subject",
        "description",
        "customer",
        "urgent",
        "payload",
    ]);
    let written = prop_oneof![
        "[a-z]{0,8}".prop_map(Written::Str),
        any::<u64>().prop_map(Written::Uint),
        Just(Written::Map),
        Just(Written::List),
        Just(Written::Text),
    ];
    proptest::collection::vec((any::<bool>(), target, key, written), 1..6)
}

/// The object a target names in `doc`, if earlier writes left one there.
fn target_obj(doc: &Automerge, target: Target) -> Option<automerge::ObjId> {
    let object = |at: &automerge::ObjId, key: &str| match doc.get(at, key) {
        Ok(Some((automerge::Value::Object(_), id))) => Some(id),
        _ => None,
    };
    let entry = || {
        let timeline = object(&ROOT, "timeline")?;
        let id = doc.keys(&timeline).next()?;
        object(&timeline, &id)
    };
    match target {
        Target::Root => Some(ROOT),
        Target::Customer => object(&ROOT, "customer"),
        Target::Number => object(&ROOT, "number"),
        Target::Tags => object(&ROOT, "tags"),
        Target::Entry => entry(),
        Target::Prev => object(&entry()?, "prev"),
    }
}

/// Writes `written` under `key` (or at index 0 of a list); best effort, as a
/// rogue replica would: a write automerge refuses is skipped.
fn write(doc: &mut Automerge, target: Target, key: &str, written: &Written) {
    let Some(at) = target_obj(doc, target) else { return };
    let (is_list, n) = match doc.object_type(&at) {
        Ok(ObjType::Map) => (false, 0),
        Ok(ObjType::List) => (true, doc.length(&at)),
        _ => return,
    };
    let _ = doc.transact(|tx| {
        let put_object = |tx: &mut automerge::transaction::Transaction<'_>, obj_type| {
            if is_list && n == 0 {
                tx.insert_object(&at, 0, obj_type)
            } else if is_list {
                tx.put_object(&at, 0, obj_type)
            } else {
                tx.put_object(&at, key, obj_type)
            }
        };
        let put = |tx: &mut automerge::transaction::Transaction<'_>, value: automerge::ScalarValue| {
            if is_list && n == 0 {
                tx.insert(&at, 0, value)
            } else if is_list {
                tx.put(&at, 0, value)
            } else {
                tx.put(&at, key, value)
            }
        };
        match written {
            Written::Str(text) => put(tx, text.as_str().into())?,
            Written::Uint(n) => put(tx, (*n).into())?,
            Written::Map => {
                let map = put_object(tx, ObjType::Map)?;
                tx.put(&map, "hidden", "x")?;
            }
            Written::List => {
                let list = put_object(tx, ObjType::List)?;
                tx.insert(&list, 0, "hidden")?;
            }
            Written::Text => {
                let text = put_object(tx, ObjType::Text)?;
                tx.splice_text(&text, 0, 0, "hidden")?;
            }
        }
        Ok::<_, automerge::AutomergeError>(())
    });
}

/// An oracle independent of the validator: the paths where the layout puts objects,
/// and the keys of the fixed maps. Every concurrent value is walked, iteratively.
fn layout_breaches(doc: &Automerge) -> Vec<String> {
    let mut breaches = Vec::new();
    let mut stack = vec![(ROOT, Vec::<String>::new())];
    while let Some((at, path)) = stack.pop() {
        let children: Vec<(String, Vec<(automerge::Value<'_>, automerge::ObjId)>)> = match doc.object_type(&at) {
            Ok(ObjType::List) => {
                (0..doc.length(&at)).map(|idx| (idx.to_string(), doc.get_all(&at, idx).unwrap())).collect()
            }
            Ok(ObjType::Text) => {
                if doc.list_range(&at, ..).any(|item| matches!(item.value, automerge::ValueRef::Object(_)))
                    || !doc.marks(&at).unwrap().is_empty()
                {
                    breaches.push(format!("{}: text is not plain", path.join(".")));
                }
                continue;
            }
            _ => doc.keys(&at).map(|key| (key.clone(), doc.get_all(&at, key).unwrap())).collect(),
        };
        let allowed_keys: Option<&[&str]> = match path.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["customer"] => Some(&["name", "phone", "address"]),
            ["number"] => Some(&["provisional", "assigned"]),
            ["timeline", _] => Some(&["type", "at", "by", "from", "to", "prev", "reason"]),
            _ => None,
        };
        for (key, values) in children {
            if allowed_keys.is_some_and(|allowed| !allowed.contains(&key.as_str())) {
                breaches.push(format!("{}.{key}: unknown key", path.join(".")));
            }
            for (value, id) in values {
                let automerge::Value::Object(obj_type) = value else { continue };
                let mut child = path.clone();
                child.push(key.clone());
                let expected = match child.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                    ["description"] => Some(ObjType::Text),
                    ["customer" | "number" | "tags" | "timeline"] | ["timeline", _] => Some(ObjType::Map),
                    ["timeline", _, "prev"] => Some(ObjType::List),
                    _ => None,
                };
                if expected == Some(obj_type) {
                    stack.push((id, child));
                } else {
                    breaches.push(format!("{}: a {obj_type} the layout does not hold", child.join(".")));
                }
            }
        }
    }
    breaches
}

#[test]
fn the_layout_oracle_sees_what_it_must() {
    let mut doc = Automerge::load(&repair_doc().save()).unwrap();
    assert_eq!(layout_breaches(&doc), Vec::<String>::new());
    write(&mut doc, Target::Customer, "payload", &Written::Map);
    write(&mut doc, Target::Number, "assigned", &Written::Text);
    let mut breaches = layout_breaches(&doc);
    breaches.sort();
    assert_eq!(
        breaches,
        [
            "customer.payload: a map the layout does not hold",
            "customer.payload: unknown key",
            "number.assigned: a text the layout does not hold"
        ]
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Two rogue replicas tamper concurrently with a case and merge; whatever the
    /// validator accepts holds no object or key the layout does not name.
    #[test]
    fn what_the_validator_accepts_keeps_the_layout(tampers in tampers()) {
        let mut base = repair_doc();
        let policy = kefu_core::case::CasePolicy::default();
        let by = crate::support::staff("desk");
        let ctx = kefu_core::case::EditContext { at: Timestamp(1), by: &by, policy: &policy };
        base.apply(&ctx, &kefu_core::case::CaseEdit::Transition { to: kefu_core::case::Status::InProgress, reason: String::new() })
            .unwrap();
        let saved = base.save();
        let mut rogue_a = Automerge::load(&saved).unwrap().with_actor(ActorId::from(&[0u8; 16][..]));
        let mut rogue_b = Automerge::load(&saved).unwrap().with_actor(ActorId::from(&[0xffu8; 16][..]));
        for (on_a, target, key, written) in &tampers {
            let rogue = if *on_a { &mut rogue_a } else { &mut rogue_b };
            write(rogue, *target, key, written);
        }
        rogue_a.merge(&mut rogue_b).unwrap();
        if validate_case(&rogue_a).is_ok() {
            prop_assert_eq!(layout_breaches(&rogue_a), Vec::<String>::new());
        }
    }
}
