//! Approved leave and 调休 requests (from the phones, decided in the console) written into the
//! team file before a solve: each approved day in the file's period becomes a `leave` entry of
//! its person (`kind = "leave"` or `"compensatory"`), unless the file has one for that day
//! already. The file is edited in place (toml_edit), so its comments and layout stay, and the
//! result is stored as a new team-file version, so the form shows what the solver was given.
//!
//! Leaves out: which requests are approved (`console::requests`).

use chrono::NaiveDate;
use kefu_core::request::{Request, RequestKind, RequestStatus};
use toml_edit::{DocumentMut, InlineTable, Item, Value};

/// `toml` with the approved days of `requests` within `period` added as leave; `None` when it
/// already holds them all (or is not a table file). Days of a person the file does not list are
/// named in the second value, for the page to show.
pub fn with_approved_leave(
    toml: &str,
    requests: &[Request],
    period: (NaiveDate, NaiveDate),
) -> (Option<String>, Vec<String>) {
    let Ok(mut document) = toml.parse::<DocumentMut>() else { return (None, Vec::new()) };
    let mut changed = false;
    let mut unknown = Vec::new();
    let approved = requests
        .iter()
        .filter(|request| request.status() == RequestStatus::Approved && request.kind != RequestKind::Swap);
    for request in approved {
        let days: Vec<&NaiveDate> = request.days.iter().filter(|day| (period.0..=period.1).contains(day)).collect();
        if days.is_empty() {
            continue;
        }
        let Some(person) = document.get_mut("staff").and_then(Item::as_array_of_tables_mut).and_then(|staff| {
            staff.iter_mut().find(|entry| entry.get("id").and_then(Item::as_str) == Some(request.staff.as_str()))
        }) else {
            unknown.push(format!(
                "{} ({}): {} is not in the team file",
                request.id,
                request.kind.code(),
                request.staff
            ));
            continue;
        };
        let leave = person.entry("leave").or_insert(Item::Value(Value::Array(Default::default())));
        let Some(leave) = leave.as_array_mut() else {
            unknown.push(format!("{}: leave of {} is not a list", request.id, request.staff));
            continue;
        };
        for day in days {
            let date = day.format("%Y-%m-%d").to_string();
            let held = leave.iter().any(|entry| {
                entry.as_inline_table().and_then(|entry| entry.get("date")).and_then(Value::as_str)
                    == Some(date.as_str())
            });
            if !held {
                let mut entry = InlineTable::new();
                entry.insert("date", date.into());
                let kind = if request.kind == RequestKind::Lieu { "compensatory" } else { "leave" };
                entry.insert("kind", kind.into());
                leave.push(Value::InlineTable(entry));
                changed = true;
            }
        }
    }
    (changed.then(|| document.to_string()), unknown)
}

#[cfg(test)]
mod tests {
    use kefu_core::ids::{DeviceId, StaffId, Timestamp};
    use kefu_core::request::{NewRequest, RequestDoc, RequestEdit};

    use super::*;

    fn approved(n: u8, staff: &str, kind: RequestKind, days: &[&str]) -> Request {
        let days = days.iter().map(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap()).collect();
        let id = format!("request:{}", format!("{n:02x}").repeat(16));
        let staff = StaffId::new(staff).unwrap();
        let new = NewRequest::Days { kind, days, note: String::new() };
        let mut doc = RequestDoc::create(DeviceId::from_u128(1), &id, &new, &staff, Timestamp(1)).unwrap();
        let decide = RequestEdit::Decide { approve: true, by: "li".into(), note: String::new() };
        doc.apply(Timestamp(2), &staff, &decide).unwrap();
        doc.read()
    }

    #[test]
    fn approved_days_in_the_period_join_the_file_once_comments_kept() {
        let toml = "# the desk\n[[staff]]\nid = \"zhou\" # 周\nleave = [{ date = \"2026-03-04\", kind = \"compensatory\" }]\n\n[[staff]]\nid = \"lin\"\n";
        let period = (NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(), NaiveDate::from_ymd_opt(2026, 3, 8).unwrap());
        let requests = [
            approved(1, "zhou", RequestKind::Leave, &["2026-03-04", "2026-03-05"]),
            approved(2, "lin", RequestKind::Lieu, &["2026-03-06", "2026-04-01"]),
            approved(3, "ghost", RequestKind::Leave, &["2026-03-06"]),
        ];
        let (written, unknown) = with_approved_leave(toml, &requests, period);
        let written = written.expect("two days to add");
        assert!(written.contains("# the desk") && written.contains("# 周"), "{written}");
        let file: toml::Table = written.parse().unwrap();
        let leave = |person: usize| file["staff"].as_array().unwrap()[person]["leave"].as_array().unwrap().clone();
        assert_eq!(leave(0).len(), 2, "the 4th is held already: {written}");
        assert_eq!(leave(1)[0]["kind"].as_str(), Some("compensatory"));
        assert_eq!(leave(1).len(), 1, "April is outside the period");
        assert_eq!(unknown.len(), 1);
        assert!(unknown[0].contains("ghost"));
        assert_eq!(with_approved_leave(&written, &requests, period).0, None, "a second pass adds nothing");
    }
}
