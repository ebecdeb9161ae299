//! A team file saved through the form keeps what the supervisor wrote around the values: the
//! form sends values only and `form::write` lays them out one per line, which would lose every
//! comment (why a contract is shorter, whose leave was agreed by phone) on the first save.
//!
//! The stored file is edited in place to say what the form's file says: values that did not
//! change keep their text, changed ones keep their comments, entries of `[[staff]]` and the other
//! arrays are matched by `id` (so a deleted person takes their comments along and the next one
//! keeps theirs), keys and entries that are gone are removed, new ones added. The result is kept
//! only if it reads back exactly as the form's file; otherwise the form's file is stored as it is.
//!
//! Leaves out: checking the values (`form` and the solver's parser did, on the form's file).

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

/// The stored file `stored` edited to mean what `written` (the form's file) means, comments kept;
/// `written` itself when `stored` cannot be read or the edit would not mean the same.
pub fn keep_comments(stored: &str, written: &str) -> String {
    let (Ok(mut document), Ok(wanted)) = (stored.parse::<DocumentMut>(), written.parse::<DocumentMut>()) else {
        return written.to_owned();
    };
    reconcile(document.as_table_mut(), wanted.as_table());
    let merged = document.to_string();
    let kept = meaning(&merged);
    if kept.is_some() && kept == meaning(written) { merged } else { written.to_owned() }
}

/// What a file says, without its layout.
fn meaning(text: &str) -> Option<toml::Table> {
    text.parse().ok()
}

/// Makes `old` say what `new` says, keeping `old`'s decoration wherever a key survives.
fn reconcile(old: &mut Table, new: &Table) {
    let gone: Vec<String> = old.iter().map(|(key, _)| key.to_owned()).filter(|key| !new.contains_key(key)).collect();
    for key in gone {
        old.remove(&key);
    }
    for (key, wanted) in new.iter() {
        match (old.get_mut(key), wanted) {
            (Some(Item::Table(table)), Item::Table(wanted)) => reconcile(table, wanted),
            (Some(Item::ArrayOfTables(array)), Item::ArrayOfTables(wanted)) => reconcile_array(array, wanted),
            (Some(Item::Value(value)), Item::Value(wanted)) => replace_value(value, wanted),
            _ => {
                old.insert(key, wanted.clone());
            }
        }
    }
}

/// Keeps the value's text if it means the same, else puts the new value in its place with the
/// old one's comments and spacing.
fn replace_value(old: &mut Value, new: &Value) {
    let bare = |value: &Value| meaning(&format!("v = {}", value.clone().decorated("", "")));
    if bare(old) != bare(new) {
        let decor = old.decor().clone();
        *old = new.clone();
        *old.decor_mut() = decor;
    }
}

/// Entries in the new order, each built on the old entry with the same `id` (or, for entries
/// without ids, the one at the same place).
fn reconcile_array(old: &mut ArrayOfTables, new: &ArrayOfTables) {
    let id = |table: &Table| table.get("id").and_then(Item::as_str).map(str::to_owned);
    let mut pool: Vec<Option<Table>> = old.iter().cloned().map(Some).collect();
    let mut entries = ArrayOfTables::new();
    for (index, wanted) in new.iter().enumerate() {
        let found = match id(wanted) {
            Some(wanted_id) => pool.iter().position(|entry| entry.as_ref().and_then(id).as_deref() == Some(&wanted_id)),
            None => pool.get(index).and_then(|entry| entry.as_ref().filter(|entry| id(entry).is_none())).map(|_| index),
        };
        let entry = match found.and_then(|at| pool[at].take()) {
            Some(mut entry) => {
                reconcile(&mut entry, wanted);
                entry
            }
            None => wanted.clone(),
        };
        entries.push(entry);
    }
    *old = entries;
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORED: &str = r#"# 南苑客服中心 — agreed with the district office in January
name = "南苑"
roles = ["reception", "night"]

[period]
start = "2026-03-02" # first Monday
end = "2026-03-08"

# Day staff
[[staff]]
id = "lin"
roles = ["reception"] # no nights: evening classes
posts = ["desk"]

# Covers for lin on Tuesdays
[[staff]]
id = "wu"
roles = ["reception", "night"]
posts = ["desk"]

[[staff]]
id = "zhou"
roles = ["night"]
posts = ["desk"]
"#;

    /// What `form::write` makes of the same team after an edit: one key per line, no comments.
    const WRITTEN: &str = r#"name = "南苑"
roles = ["reception", "night"]

[period]
start = "2026-03-02"
end = "2026-03-15"

[[staff]]
id = "lin"
roles = ["reception"]
posts = ["desk"]

[[staff]]
id = "zhou"
roles = ["night"]
posts = ["desk", "phone"]

[[staff]]
id = "guo"
roles = ["night"]
posts = ["desk"]
"#;

    #[test]
    fn comments_survive_edits_removals_and_additions() {
        let merged = keep_comments(STORED, WRITTEN);
        assert_eq!(meaning(&merged), meaning(WRITTEN), "{merged}");
        for kept in ["# 南苑客服中心", "# first Monday", "# Day staff", "# no nights: evening classes"] {
            assert!(merged.contains(kept), "{kept} kept:\n{merged}");
        }
        assert!(!merged.contains("Covers for lin"), "wu's comment left with wu:\n{merged}");
        assert!(merged.contains("end = \"2026-03-15\""), "{merged}");
        let guo = merged.find("id = \"guo\"").expect("guo added");
        assert!(merged.find("id = \"zhou\"").expect("zhou kept") < guo, "the form's order:\n{merged}");
    }

    #[test]
    fn a_changed_value_keeps_its_trailing_comment() {
        let stored = "[period]\nstart = \"2026-03-02\" # first Monday\nend = \"2026-03-08\"\n";
        let written = "[period]\nstart = \"2026-03-09\"\nend = \"2026-03-15\"\n";
        let merged = keep_comments(stored, written);
        assert!(merged.contains("start = \"2026-03-09\" # first Monday"), "{merged}");
        assert_eq!(meaning(&merged), meaning(written));
    }

    #[test]
    fn an_unreadable_stored_file_gives_the_forms_file() {
        assert_eq!(keep_comments("not = [toml", WRITTEN), WRITTEN);
    }
}
