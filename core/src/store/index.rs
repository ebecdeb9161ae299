//! The case index: one row per case, kept in step with the documents, so listing,
//! filtering and search read the index and never the documents.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row, Transaction, params};

use super::StoreError;
use crate::case::{Case, CaseKind, CaseNumber, Status};
use crate::ids::{CaseId, StaffId, Timestamp};

/// What a list shows of a case: enough for a row on a screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseSummary {
    /// The case.
    pub id: CaseId,
    /// Its numbers.
    pub number: CaseNumber,
    /// Its kind.
    pub kind: CaseKind,
    /// Its current status.
    pub status: Status,
    /// Who has it.
    pub assignee: Option<StaffId>,
    /// One-line summary.
    pub subject: String,
    /// Customer name.
    pub customer_name: String,
    /// When opened.
    pub created_at: Timestamp,
    /// Latest edit.
    pub updated_at: Timestamp,
    /// Reply due, if promised and not yet given.
    pub reply_due: Option<Timestamp>,
    /// Return visit due, if in a window and not yet made.
    pub visit_due: Option<Timestamp>,
    /// Whether fields or status hold unresolved concurrent values.
    pub has_conflict: bool,
}

/// Which cases to list. Every set field narrows the list; results are newest
/// update first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Any of these statuses (empty: all).
    pub statuses: Vec<Status>,
    /// Only this kind.
    pub kind: Option<CaseKind>,
    /// Only cases assigned to this person.
    pub assignee: Option<StaffId>,
    /// Only cases with a reply or return visit past due and not done at this time.
    pub overdue_at: Option<Timestamp>,
    /// Only cases due (reply or return visit) before this time and not done.
    pub due_before: Option<Timestamp>,
    /// Text found in the subject, customer name/phone/address, either number or a tag
    /// (case-insensitive substring).
    pub text: Option<String>,
    /// At most this many rows (0: no limit).
    pub limit: usize,
}

/// Writes a case's index row (insert or replace).
pub(crate) fn upsert_case(tx: &Transaction<'_>, case: &Case, has_conflict: bool) -> Result<(), StoreError> {
    let search_text = [
        case.subject.as_str(),
        &case.customer.name,
        &case.customer.phone,
        &case.customer.address,
        &case.number.provisional,
        case.number.assigned.as_deref().unwrap_or(""),
    ]
    .into_iter()
    .chain(case.tags.iter().map(String::as_str))
    .collect::<Vec<_>>()
    .join("\u{1f}")
    .to_lowercase();
    let reply = case.deadlines.reply;
    let visit = case.deadlines.return_visit;
    tx.execute(
        "INSERT OR REPLACE INTO case_index (id, provisional, assigned, kind, status, assignee, department, priority,
             subject, customer_name, created_at, updated_at, reply_due, reply_done, visit_due, visit_done,
             has_conflict, search_text)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        params![
            case.id.to_string(),
            case.number.provisional,
            case.number.assigned,
            case.kind.code(),
            case.status.status.code(),
            case.assignee.as_ref().map(StaffId::as_str),
            case.department,
            case.priority.code(),
            case.subject,
            case.customer.name,
            case.created_at.0,
            case.updated_at.0,
            reply.map(|d| d.due.0),
            reply.and_then(|d| d.done_at).map(|t| t.0),
            visit.map(|d| d.due.0),
            visit.and_then(|d| d.done_at).map(|t| t.0),
            has_conflict,
            search_text,
        ],
    )?;
    Ok(())
}

/// Lists cases matching `filter` from the index alone.
pub(crate) fn list(conn: &Connection, filter: &CaseFilter) -> Result<Vec<CaseSummary>, StoreError> {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<SqlValue> = Vec::new();
    let mut arg = |value: SqlValue| {
        args.push(value);
        format!("?{}", args.len())
    };
    if !filter.statuses.is_empty() {
        let slots: Vec<String> = filter.statuses.iter().map(|s| arg(SqlValue::Text(s.code().into()))).collect();
        clauses.push(format!("status IN ({})", slots.join(", ")));
    }
    if let Some(kind) = filter.kind {
        clauses.push(format!("kind = {}", arg(SqlValue::Text(kind.code().into()))));
    }
    if let Some(assignee) = &filter.assignee {
        clauses.push(format!("assignee = {}", arg(SqlValue::Text(assignee.as_str().into()))));
    }
    for (bound, strict) in [(filter.overdue_at, true), (filter.due_before, false)] {
        if let Some(at) = bound {
            let at = arg(SqlValue::Integer(at.0));
            let cmp = if strict { "<" } else { "<=" };
            clauses.push(format!(
                "((reply_due {cmp} {at} AND reply_done IS NULL) OR (visit_due {cmp} {at} AND visit_done IS NULL))"
            ));
        }
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.trim().is_empty()) {
        let escaped = text.trim().to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        clauses.push(format!("search_text LIKE {} ESCAPE '\\'", arg(SqlValue::Text(format!("%{escaped}%")))));
    }
    let where_clause = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    let limit = if filter.limit == 0 { -1 } else { filter.limit as i64 };
    let sql = format!(
        "SELECT id, provisional, assigned, kind, status, assignee, subject, customer_name, created_at, updated_at,
                CASE WHEN reply_done IS NULL THEN reply_due END, CASE WHEN visit_done IS NULL THEN visit_due END,
                has_conflict
         FROM case_index {where_clause} ORDER BY updated_at DESC, id LIMIT {limit}"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(rusqlite::params_from_iter(args), summary_from_row)?;
    rows.map(|row| row.map_err(StoreError::from).and_then(|summary| summary)).collect()
}

fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<Result<CaseSummary, StoreError>> {
    let id: String = row.get(0)?;
    let kind: String = row.get(3)?;
    let status: String = row.get(4)?;
    let assignee: Option<String> = row.get(5)?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("case index row {id}: bad {what}"));
    Ok((|| {
        Ok(CaseSummary {
            id: id.parse().map_err(|_| corrupt("id"))?,
            number: CaseNumber { provisional: row.get(1)?, assigned: row.get(2)? },
            kind: CaseKind::from_code(&kind).ok_or_else(|| corrupt("kind"))?,
            status: Status::from_code(&status).ok_or_else(|| corrupt("status"))?,
            assignee: assignee.map(StaffId::new).transpose().map_err(|_| corrupt("assignee"))?,
            subject: row.get(6)?,
            customer_name: row.get(7)?,
            created_at: Timestamp(row.get(8)?),
            updated_at: Timestamp(row.get(9)?),
            reply_due: row.get::<_, Option<i64>>(10)?.map(Timestamp),
            visit_due: row.get::<_, Option<i64>>(11)?.map(Timestamp),
            has_conflict: row.get(12)?,
        })
    })())
}
