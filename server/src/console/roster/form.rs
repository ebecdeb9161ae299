//! The team file as a form, and back: every entry of the TOML (the team's name and roles, each
//! table such as `[period]` or `[rules]`, each `[[staff]]`, `[[posts]]`, `[[shifts]]`,
//! `[[seasons]]`) becomes a fieldset, every key a field holding its value (plain text for a
//! string, inline TOML for the rest: `["reception", "night"]`, `[{ date = "2026-03-05", kind =
//! "compensatory" }]`).
//!
//! A submitted form is written back as TOML one field per line, so the line of each error of
//! the solver's parser (`kefu_solver::parse_team`) names the field it concerns, and the message
//! is shown next to that field. Each value is checked on its own first (one line, a TOML value),
//! so no value can add keys or sections of its own.
//!
//! Leaves out: storing (the pages do) and the meaning of the fields (the solver's parser).

use std::collections::{BTreeMap, HashMap};

use kefu_solver::InputError;
use kefu_solver::export::Lang;
use kefu_solver::words::Words;

/// Fields always offered for these entries, in this order, so that leave, 调休 (compensatory
/// days), wishes, holidays and make-up working days can be added where there are none yet.
const KNOWN_FIELDS: &[(&str, &[&str])] = &[
    ("top", &["name", "roles"]),
    ("period", &["start", "end", "slot_minutes", "holidays", "working_days"]),
    (
        "staff",
        &[
            "id",
            "name",
            "roles",
            "posts",
            "contract",
            "days_off",
            "leave",
            "requests",
            "prefer",
            "leave_taken",
            "rotation_start",
        ],
    ),
    ("posts", &["id", "name", "need", "lunch_relief"]),
    ("shifts", &["id", "name", "start", "end", "roles", "posts", "days", "lunch", "night", "paid_hours"]),
    ("seasons", &["id", "from", "to"]),
];

/// Arrays offered a blank entry at the end, to add a person, post or shift.
const GROWING: &[&str] = &["staff", "posts", "shifts"];

/// Most entries of one array a form may send (the index of a field is checked against it).
pub const MAX_ENTRIES: usize = 2_000;

/// Longest value of one field.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;

/// One field of the form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The form control's name: `f.<section>.<index or ->.<key>`.
    pub name: String,
    /// The TOML key.
    pub key: String,
    /// The value as the form shows it.
    pub value: String,
    /// The parser's complaint about it, if any.
    pub error: Option<String>,
}

/// One fieldset: the team's top keys, a table, or one entry of an array of tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `top`, a table's name, or an array's name.
    pub section: String,
    /// The index in its array; `None` for `top` and tables.
    pub index: Option<usize>,
    /// How the solver's errors name it: `staff wu`, `post desk`, `period`; empty for a blank one.
    pub title: String,
    /// Its fields, known ones first.
    pub fields: Vec<Field>,
    /// An error about the entry as a whole.
    pub error: Option<String>,
}

impl Entry {
    /// The name of its remove checkbox (`del.<section>.<index>`), for entries of arrays.
    pub fn remove_name(&self) -> Option<String> {
        self.index.map(|index| format!("del.{}.{index}", self.section))
    }

    /// Whether it is the blank entry offered for adding one.
    pub fn is_blank(&self) -> bool {
        self.index.is_some() && self.title.is_empty()
    }
}

/// The whole form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeamForm {
    /// Fieldsets in file order: top keys, tables, then arrays.
    pub entries: Vec<Entry>,
    /// An error no field or entry owns.
    pub error: Option<String>,
}

/// A form field that cannot be written as TOML: named, with what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The form control's name (or the sent name, for an unknown one).
    pub field: String,
    /// What is wrong, in English and Chinese.
    pub message: Words,
}

/// The TOML written from a form, with the field each line came from.
#[derive(Debug)]
pub struct Written {
    /// The team file.
    pub toml: String,
    /// For each line (0-based), the field name on it, or `entry:<section>.<index>` for a header.
    pub lines: Vec<String>,
}

/// The form of a team file (one the solver accepted, or at least valid TOML).
pub fn form_of(toml_text: &str) -> Result<TeamForm, String> {
    let table: toml::Table = toml_text.parse().map_err(|err: toml::de::Error| err.message().to_string())?;
    let mut top = Vec::new();
    let mut tables = Vec::new();
    let mut arrays = Vec::new();
    for (key, value) in &table {
        match value {
            toml::Value::Table(inner) => tables.push(entry(key, None, inner)),
            toml::Value::Array(items) if !items.is_empty() && items.iter().all(toml::Value::is_table) => {
                for (index, item) in items.iter().enumerate() {
                    arrays.push(entry(key, Some(index), item.as_table().expect("checked")));
                }
            }
            _ => top.push((key.clone(), value.clone())),
        }
    }
    let top: toml::Table = top.into_iter().collect();
    let mut entries = vec![entry("top", None, &top)];
    entries.extend(tables);
    arrays.sort_by_key(|entry| section_rank(&entry.section));
    entries.extend(arrays);
    for section in GROWING {
        let next = entries.iter().filter(|entry| entry.section == *section).count();
        entries.push(entry(section, Some(next), &toml::Table::new()));
    }
    Ok(TeamForm { entries, error: None })
}

/// Arrays in the order a supervisor reads them: who, then where, then when.
fn section_rank(section: &str) -> usize {
    ["staff", "posts", "shifts", "seasons"].iter().position(|name| *name == section).unwrap_or(4)
}

fn entry(section: &str, index: Option<usize>, table: &toml::Table) -> Entry {
    let known = KNOWN_FIELDS.iter().find(|(name, _)| *name == section).map_or(&[][..], |(_, keys)| *keys);
    let mut keys: Vec<&str> = known.to_vec();
    keys.extend(table.keys().map(String::as_str).filter(|key| !known.contains(key)));
    let slot = index.map_or_else(|| "-".to_string(), |index| index.to_string());
    let fields = keys
        .into_iter()
        .map(|key| Field {
            name: format!("f.{section}.{slot}.{key}"),
            key: key.to_string(),
            value: table.get(key).map(shown).unwrap_or_default(),
            error: None,
        })
        .collect();
    let id = table.get("id").and_then(toml::Value::as_str);
    Entry { section: section.to_string(), index, title: title(section, index, id), fields, error: None }
}

/// How the solver's parser names an entry (`InputError::entry`).
fn title(section: &str, index: Option<usize>, id: Option<&str>) -> String {
    match (index, id) {
        (None, _) => section.to_string(),
        (Some(_), Some(id)) => format!("{} {id}", section.strip_suffix('s').unwrap_or(section)),
        (Some(_), None) => String::new(),
    }
}

/// A value as the form shows it: a string as its text, unless that text would be read back as
/// something else; anything else as inline TOML.
fn shown(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) if !looks_like_toml(text) && text.trim() == text => text.clone(),
        other => other.to_string(),
    }
}

/// Whether a field's text is written as TOML as it stands (else it is a plain string).
fn looks_like_toml(text: &str) -> bool {
    text.is_empty()
        || text.starts_with(['[', '{', '"', '\''])
        || matches!(text, "true" | "false")
        || text.parse::<i64>().is_ok()
        || (text.parse::<f64>().is_ok() && text.contains('.'))
}

/// The TOML of one field's text, checked to be one value on one line.
fn toml_value(field: &str, text: &str) -> Result<String, FieldError> {
    let fail = |en: String, zh: String| Err(FieldError { field: field.to_string(), message: Words::new(en, zh) });
    if text.len() > MAX_VALUE_BYTES {
        let bytes = text.len();
        return fail(
            format!("{bytes} bytes; at most {MAX_VALUE_BYTES}"),
            format!("{bytes} 字节，最多 {MAX_VALUE_BYTES}"),
        );
    }
    if text.contains(['\n', '\r']) {
        return fail("one line only".into(), "只能写一行".into());
    }
    if !looks_like_toml(text) {
        return Ok(toml::Value::String(text.to_string()).to_string());
    }
    match format!("value = {text}").parse::<toml::Table>() {
        Ok(table) if table.len() == 1 => Ok(text.to_string()),
        Ok(_) => fail("one value only".into(), "只能写一个值".into()),
        Err(err) => fail(format!("not a value: {}", err.message()), format!("不是一个值：{}", err.message())),
    }
}

/// Checks a section name or key sent by the browser (they become TOML keys and headers).
fn bare_key(part: &str) -> bool {
    !part.is_empty() && part.len() <= 64 && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Writes a submitted form as a team file. Fields arrive as `f.<section>.<index|->.<key>`, removals
/// as `del.<section>.<index>`; an entry whose fields are all blank is left out (the blank entry
/// offered for adding one). `csrf` is skipped; any other name is an error naming it.
pub fn write(pairs: &[(String, String)]) -> Result<Written, FieldError> {
    type Slot = (usize, String, Option<usize>);
    let mut sections: BTreeMap<Slot, Vec<(String, String, String)>> = BTreeMap::new();
    let mut removed = Vec::new();
    let unknown = |name: &str, (en, zh): (&str, &str)| FieldError {
        field: name.chars().take(80).collect(),
        message: Words::new(en.to_owned(), zh.to_owned()),
    };
    const NO_ENTRY: (&str, &str) = ("not an entry of the team file", "不是排班文件中的条目");
    for (name, value) in pairs {
        if name == "csrf" {
            continue;
        }
        let parts: Vec<&str> = name.split('.').collect();
        let index = |text: &str| -> Result<Option<usize>, FieldError> {
            if text == "-" {
                return Ok(None);
            }
            match text.parse::<usize>() {
                Ok(index) if index < MAX_ENTRIES => Ok(Some(index)),
                _ => Err(unknown(name, NO_ENTRY)),
            }
        };
        match parts.as_slice() {
            ["del", section, at] if bare_key(section) => {
                if value == "on" {
                    removed.push((section.to_string(), index(at)?));
                }
            }
            ["f", section, at, key] if bare_key(section) && bare_key(key) => {
                let at = index(at)?;
                let rank = match (*section, at) {
                    ("top", None) => 0,
                    ("top", Some(_)) => return Err(unknown(name, NO_ENTRY)),
                    (_, None) => 1,
                    (section, Some(_)) => 2 + section_rank(section),
                };
                let value = value.trim();
                let line = if value.is_empty() { String::new() } else { toml_value(name, value)? };
                sections.entry((rank, section.to_string(), at)).or_default().push((
                    name.clone(),
                    key.to_string(),
                    line,
                ));
            }
            _ => return Err(unknown(name, ("not a field of the team form", "不是排班表单的字段"))),
        }
    }
    let mut toml = String::new();
    let mut lines = Vec::new();
    for ((_, section, at), fields) in sections {
        if removed.contains(&(section.clone(), at)) || fields.iter().all(|(_, _, value)| value.is_empty()) {
            continue;
        }
        let mut seen = Vec::new();
        if section != "top" {
            toml.push('\n');
            lines.push(String::new());
            let header = if at.is_some() { format!("[[{section}]]") } else { format!("[{section}]") };
            toml.push_str(&header);
            toml.push('\n');
            lines.push(format!("entry:{section}.{}", at.map_or_else(|| "-".to_string(), |at| at.to_string())));
        }
        for (name, key, value) in fields.into_iter().filter(|(_, _, value)| !value.is_empty()) {
            if seen.contains(&key) {
                return Err(unknown(&name, ("sent twice", "重复提交")));
            }
            toml.push_str(&format!("{key} = {value}\n"));
            lines.push(name);
            seen.push(key);
        }
    }
    Ok(Written { toml, lines })
}

impl TeamForm {
    /// Puts the parser's error, in `lang`, next to the field on its line, or on the entry it
    /// names, or on the form.
    pub fn attach(&mut self, written: &Written, error: &InputError, lang: Lang) {
        let message = error.kind.words().get(lang).to_owned();
        let on_line = written.lines.get(error.line.saturating_sub(1)).filter(|name| !name.is_empty());
        let entry_named = error.entry.as_deref();
        let field = on_line.and_then(|name| {
            let entry = self.entries.iter().position(|entry| entry.fields.iter().any(|field| &field.name == name))?;
            // A line of another entry than the one named (a default's span) is not the place.
            let fits = entry_named
                .is_none_or(|named| self.entries[entry].title == named || self.entries[entry].section == "top");
            fits.then_some((entry, name.clone()))
        });
        if let Some((entry, name)) = field
            && let Some(field) = self.entries[entry].fields.iter_mut().find(|field| field.name == name)
        {
            field.error = Some(message);
            return;
        }
        let top_key = entry_named.and_then(|named| {
            self.entries.first()?.fields.iter().position(|field| field.key == named).map(|at| (0, at))
        });
        if let Some((entry, at)) = top_key {
            self.entries[entry].fields[at].error = Some(message);
        } else if let Some(entry) = self.entries.iter_mut().find(|entry| Some(entry.title.as_str()) == entry_named) {
            entry.error = Some(message);
        } else {
            self.error = Some(error.text(lang));
        }
    }

    /// Puts a field error, in `lang`, next to its field, or on the form if no field has that name.
    pub fn attach_field(&mut self, error: &FieldError, lang: Lang) {
        let message = error.message.get(lang).to_owned();
        let found = self.entries.iter_mut().flat_map(|entry| entry.fields.iter_mut()).find(|f| f.name == error.field);
        match found {
            Some(field) => field.error = Some(message),
            None => self.error = Some(format!("{}: {message}", error.field)),
        }
    }

    /// The form again as the browser sent it (so a refused edit is shown, not lost).
    pub fn with_values(mut self, pairs: &[(String, String)]) -> TeamForm {
        let sent: HashMap<&str, &str> = pairs.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        for field in self.entries.iter_mut().flat_map(|entry| entry.fields.iter_mut()) {
            if let Some(value) = sent.get(field.name.as_str()) {
                field.value = (*value).chars().take(MAX_VALUE_BYTES).collect();
            }
        }
        self
    }

    /// How many fields and entries carry an error.
    pub fn n_errors(&self) -> usize {
        let fields = self.entries.iter().flat_map(|entry| &entry.fields).filter(|field| field.error.is_some()).count();
        fields + self.entries.iter().filter(|entry| entry.error.is_some()).count() + usize::from(self.error.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEAM: &str = r#"
name = "one desk"
roles = ["reception"]
[period]
start = "2026-03-02"
end = "2026-03-03"
slot_minutes = 30
[rules]
min_on_duty = 0
lunch = { window = ["12:00", "13:00"], length_minutes = 30 }
[[posts]]
id = "desk"
need = [{ days = ["weekday"], from = "09:00", to = "17:00", min = 1 }]
[[shifts]]
id = "D"
start = "09:00"
end = "17:00"
roles = ["reception"]
[[staff]]
id = "lin"
roles = ["reception"]
posts = ["desk"]
[[staff]]
id = "wu"
roles = ["reception"]
posts = ["desk"]
leave = [{ date = "2026-03-02", kind = "compensatory" }]
"#;

    fn pairs(form: &TeamForm) -> Vec<(String, String)> {
        form.entries
            .iter()
            .flat_map(|entry| &entry.fields)
            .map(|field| (field.name.clone(), field.value.clone()))
            .collect()
    }

    fn set(pairs: &mut [(String, String)], name: &str, value: &str) {
        pairs.iter_mut().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no field {name}")).1 = value.into();
    }

    #[test]
    fn a_team_file_goes_through_the_form_and_back_unchanged_in_meaning() {
        let form = form_of(TEAM).unwrap();
        let wu = form.entries.iter().find(|entry| entry.title == "staff wu").unwrap();
        let leave = wu.fields.iter().find(|field| field.key == "leave").unwrap();
        assert_eq!(leave.value, r#"[{ date = "2026-03-02", kind = "compensatory" }]"#);
        let start = form.entries.iter().find(|e| e.title == "period").unwrap().fields.iter().find(|f| f.key == "start");
        assert_eq!(start.unwrap().value, "2026-03-02", "strings are shown as plain text");
        assert!(form.entries.iter().any(Entry::is_blank), "a blank entry to add a person");
        let written = write(&pairs(&form)).unwrap();
        let again: toml::Table = written.toml.parse().unwrap();
        assert_eq!(again, TEAM.parse::<toml::Table>().unwrap());
        let problem = kefu_solver::parse_team(&written.toml).unwrap();
        assert_eq!(problem.staff.len(), 2);
    }

    #[test]
    fn every_example_team_file_survives_the_form() {
        for (name, text) in [
            ("property_centre", include_str!("../../../../solver/examples/property_centre.toml")),
            ("property_centre_week", include_str!("../../../../solver/examples/property_centre_week.toml")),
            ("seed_rules", include_str!("../../../../solver/examples/seed_rules.toml")),
            ("short_night", include_str!("../../../../solver/examples/short_night.toml")),
        ] {
            let written = write(&pairs(&form_of(text).unwrap())).unwrap();
            assert_eq!(written.toml.parse::<toml::Table>().unwrap(), text.parse::<toml::Table>().unwrap(), "{name}");
            let (before, after) = (kefu_solver::parse_team(text).unwrap(), kefu_solver::parse_team(&written.toml));
            assert_eq!(after.unwrap().staff.len(), before.staff.len(), "{name}");
        }
    }

    #[test]
    fn the_parsers_error_lands_next_to_the_field_it_concerns() {
        let mut sent = pairs(&form_of(TEAM).unwrap());
        set(&mut sent, "f.staff.1.posts", r#"["desk", "garage"]"#);
        let written = write(&sent).unwrap();
        let error = kefu_solver::parse_team(&written.toml).unwrap_err();
        let mut form = form_of(TEAM).unwrap().with_values(&sent);
        form.attach(&written, &error, Lang::En);
        let field = form.entries.iter().flat_map(|e| &e.fields).find(|f| f.error.is_some()).unwrap();
        assert_eq!(field.name, "f.staff.1.posts");
        assert!(field.error.as_deref().unwrap().contains("garage"), "{field:?}");
        assert_eq!(field.value, r#"["desk", "garage"]"#, "the refused edit is shown back");
        assert_eq!(form.n_errors(), 1);
    }

    #[test]
    fn a_new_person_is_added_and_one_removed() {
        let form = form_of(TEAM).unwrap();
        let mut sent = pairs(&form);
        set(&mut sent, "f.staff.2.id", "zhao");
        set(&mut sent, "f.staff.2.roles", r#"["reception"]"#);
        set(&mut sent, "f.staff.2.posts", r#"["desk"]"#);
        sent.push(("del.staff.0".into(), "on".into()));
        let problem = kefu_solver::parse_team(&write(&sent).unwrap().toml).unwrap();
        let ids: Vec<&str> = problem.staff.iter().map(|staff| staff.id.as_str()).collect();
        assert_eq!(ids, ["wu", "zhao"]);
    }

    #[test]
    fn hostile_fields_are_refused_by_name() {
        let refused = |name: &str, value: &str| write(&[(name.to_string(), value.to_string())]).unwrap_err();
        let error = refused("f.staff.0.name", "wu\n[rules]\nmin_on_duty = 9");
        assert_eq!((error.field.as_str(), error.message.en.as_str()), ("f.staff.0.name", "one line only"));
        assert!(refused("f.staff.0.roles", "[\"a\"] extra = 1").message.en.starts_with("not a value"));
        assert_eq!(refused("f.staff.99999999.id", "x").message.en, "not an entry of the team file");
        assert_eq!(refused("f.sta ff.0.id", "x").message.en, "not a field of the team form");
        assert_eq!(refused("f.top.3.name", "x").message.en, "not an entry of the team file");
        assert_eq!(refused("admin", "1").field, "admin");
        assert!(refused("f.top.-.name", &"x".repeat(MAX_VALUE_BYTES + 1)).message.en.contains("at most"));
        let twice = write(&[("f.top.-.name".into(), "a".into()), ("f.top.-.name".into(), "b".into())]);
        assert_eq!(twice.unwrap_err().message.en, "sent twice");
    }

    #[test]
    fn text_that_would_read_as_another_type_keeps_its_quotes() {
        let table: toml::Table = "a = \"101\"\nb = \"true\"\nc = \"plain\"".parse().unwrap();
        let shown: Vec<String> = table.values().map(shown).collect();
        assert_eq!(shown, ["\"101\"", "\"true\"", "plain"]);
        assert_eq!(toml_value("x", "12:00").unwrap(), "\"12:00\"");
        assert_eq!(toml_value("x", "3").unwrap(), "3");
    }
}
