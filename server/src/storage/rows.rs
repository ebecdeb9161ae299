//! What both backends share between SQL and the record types: the columns they select, turning
//! raw column values into records (with `Corrupt` naming the value that does not parse), the heads
//! encoding, and the SQL of the case board's filters. Written once, so SQLite and PostgreSQL cannot
//! drift apart in what a filter means.
//!
//! Leaves out: running the SQL (`sqlite.rs`, `postgres/`).

use automerge::ChangeHash;
use kefu_core::case::Case;
use kefu_core::ids::Timestamp;

use super::{CaseQuery, DeviceRecord, StorageError, UserRecord};
use crate::auth::Role;

/// The digits of a phone number, so searches ignore how it was punctuated.
pub fn phone_digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// Heads as stored: the hashes one after the other.
pub(super) fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|head| head.0).collect()
}

/// Heads from their stored form.
pub(super) fn decode_heads(bytes: &[u8]) -> Result<Vec<ChangeHash>, StorageError> {
    if !bytes.len().is_multiple_of(32) {
        return Err(StorageError::Corrupt("stored heads are not whole hashes".into()));
    }
    Ok(bytes.chunks_exact(32).map(|chunk| ChangeHash(chunk.try_into().expect("32-byte chunk"))).collect())
}

/// The columns of a device row, from `devices d JOIN teams t`, in [`DeviceColumns`] order.
pub(super) const DEVICE_COLUMNS: &str =
    "d.id, d.team_id, t.name, d.role, d.label, d.token_salt, d.token_hash, d.created_at, d.revoked_at, d.staff";

/// A device row's values as the database returns them.
pub(super) struct DeviceColumns {
    pub id: String,
    pub team_id: i64,
    pub team_name: String,
    pub role: String,
    pub label: String,
    pub token_salt: Vec<u8>,
    pub token_hash: Vec<u8>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub staff: Option<String>,
}

impl DeviceColumns {
    /// The record, or `Corrupt` naming the id or role that does not parse.
    pub(super) fn record(self) -> Result<DeviceRecord, StorageError> {
        let id = &self.id;
        Ok(DeviceRecord {
            id: id.parse().map_err(|_| StorageError::Corrupt(format!("device id {id:?}")))?,
            team_id: self.team_id,
            team_name: self.team_name,
            role: Role::from_code(&self.role)
                .ok_or_else(|| StorageError::Corrupt(format!("device {id} has role {:?}", self.role)))?,
            label: self.label,
            token_salt: self.token_salt,
            token_hash: self.token_hash,
            created_at: Timestamp(self.created_at),
            revoked_at: self.revoked_at.map(Timestamp),
            staff: self.staff,
        })
    }
}

/// The columns of a console user, from `users u JOIN teams t`: id, name, team id, team name,
/// role, password.
pub(super) const USER_COLUMNS: &str = "u.id, u.name, u.team_id, t.name, u.role, u.password";

/// A user row's values, in [`USER_COLUMNS`] order.
pub(super) type UserColumns = (i64, String, i64, String, String, String);

/// The record, or `Corrupt` when the stored role cannot sign in.
pub(super) fn user_record(
    (id, name, team_id, team_name, role, password): UserColumns,
) -> Result<UserRecord, StorageError> {
    let role = Role::from_code(&role)
        .filter(|role| role.reads_team_cases())
        .ok_or_else(|| StorageError::Corrupt(format!("user {name:?} has role {role:?}")))?;
    Ok(UserRecord { id, name, team_id, team_name, role, password })
}

/// A roster row's metadata columns, from `rosters`.
pub(super) const ROSTER_COLUMNS: &str = "version, team_version, made_by, made_at, published_by, published_at";

/// The columns of a case board row, from `case_index`, in `CaseRow` field order (the customer's
/// name and phone last).
pub(super) const CASE_COLUMNS: &str = "case_id, provisional, assigned, kind, channel, status, status_conflict, priority, \
     assignee, department, subject, created_at, updated_at, reply_due, reply_done_at, visit_due, visit_done_at, \
     customer_name, customer_phone";

/// A value bound to a case board query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum QueryValue {
    Int(i64),
    Text(String),
}

/// The case board's query for `team_id`: SQL selecting [`CASE_COLUMNS`] and its values, the n-th
/// (from 1) written by `placeholder(n)` (`?n` in SQLite, `$n` in PostgreSQL).
pub(super) fn case_query_sql(
    team_id: i64,
    query: &CaseQuery,
    placeholder: fn(usize) -> String,
) -> (String, Vec<QueryValue>) {
    let mut sql = format!("SELECT {CASE_COLUMNS} FROM case_index WHERE team_id = {}", placeholder(1));
    let mut values = vec![QueryValue::Int(team_id)];
    // Every `?` of a clause is the one value pushed with it.
    let mut push_filter = |clause: &str, value: QueryValue| {
        values.push(value);
        sql.push_str(&clause.replace('?', &placeholder(values.len())));
    };
    let text = |value: &str| QueryValue::Text(value.to_string());
    if let Some(status) = query.status {
        push_filter(" AND status = ?", text(status.code()));
    }
    if let Some(kind) = query.kind {
        push_filter(" AND kind = ?", text(kind.code()));
    }
    if let Some(assignee) = &query.assignee {
        push_filter(" AND assignee = ?", text(assignee));
    }
    if let Some(now) = query.overdue_at {
        push_filter(
            " AND ((reply_due IS NOT NULL AND reply_done_at IS NULL AND reply_due < ?)
               OR (visit_due IS NOT NULL AND visit_done_at IS NULL AND visit_due < ?))",
            QueryValue::Int(now.0),
        );
    }
    if let Some(department) = &query.department {
        push_filter(" AND department = ?", text(department));
    }
    if let Some(from) = query.created_from {
        push_filter(" AND created_at >= ?", QueryValue::Int(from.0));
    }
    if let Some(before) = query.created_before {
        push_filter(" AND created_at < ?", QueryValue::Int(before.0));
    }
    if let Some(number) = &query.number {
        push_filter(" AND (assigned = ? OR provisional = ?)", text(number));
    }
    if let Some(search) = &query.search {
        // LIKE's wildcards in the search are matched literally.
        let escaped = search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let digits = phone_digits(search);
        push_filter(
            " AND (coalesce(assigned, '') LIKE ? ESCAPE '\\' OR provisional LIKE ? ESCAPE '\\'
               OR customer_name LIKE ? ESCAPE '\\' OR customer_phone LIKE ? ESCAPE '\\'
               OR subject LIKE ? ESCAPE '\\'",
            QueryValue::Text(format!("%{escaped}%")),
        );
        // Three digits or more also match the phone however it was punctuated (digits hold no
        // wildcard, so no escape is needed).
        if digits.len() >= 3 {
            push_filter(" OR phone_digits LIKE ?", QueryValue::Text(format!("%{digits}%")));
        }
        sql.push(')');
    }
    sql.push_str(&format!(" ORDER BY created_at DESC, case_id LIMIT {}", query.limit));
    (sql, values)
}

/// A case's row of `case_index`, as the values of the 21 columns [`CASE_INDEX_INSERT_COLUMNS`]
/// names, in order.
pub(super) struct CaseIndexValues<'a> {
    pub case_id: String,
    pub provisional: &'a str,
    pub assigned: Option<&'a str>,
    pub kind: &'static str,
    pub channel: &'static str,
    pub status: &'static str,
    pub status_conflict: bool,
    pub priority: &'static str,
    pub assignee: Option<&'a str>,
    pub department: Option<&'a str>,
    pub subject: &'a str,
    pub created_at: i64,
    pub updated_at: i64,
    pub reply_due: Option<i64>,
    pub reply_done_at: Option<i64>,
    pub visit_due: Option<i64>,
    pub visit_done_at: Option<i64>,
    pub customer_name: &'a str,
    pub customer_phone: &'a str,
    pub phone_digits: String,
}

/// The columns of `case_index` after `team_id`, in [`CaseIndexValues`] order.
pub(super) const CASE_INDEX_INSERT_COLUMNS: &str = "team_id, case_id, provisional, assigned, kind, channel, status, \
     status_conflict, priority, assignee, department, subject, created_at, updated_at, reply_due, reply_done_at, \
     visit_due, visit_done_at, customer_name, customer_phone, phone_digits";

impl<'a> CaseIndexValues<'a> {
    /// What the board shows of `case`.
    pub(super) fn of(case: &'a Case) -> Self {
        CaseIndexValues {
            case_id: case.id.to_string(),
            provisional: &case.number.provisional,
            assigned: case.number.assigned.as_deref(),
            kind: case.kind.code(),
            channel: case.channel.code(),
            status: case.status.status.code(),
            status_conflict: case.status.conflict.is_some(),
            priority: case.priority.code(),
            assignee: case.assignee.as_ref().map(|staff| staff.as_str()),
            department: case.department.as_deref(),
            subject: &case.subject,
            created_at: case.created_at.0,
            updated_at: case.updated_at.0,
            reply_due: case.deadlines.reply.map(|deadline| deadline.due.0),
            reply_done_at: case.deadlines.reply.and_then(|deadline| deadline.done_at).map(|at| at.0),
            visit_due: case.deadlines.return_visit.map(|deadline| deadline.due.0),
            visit_done_at: case.deadlines.return_visit.and_then(|deadline| deadline.done_at).map(|at| at.0),
            customer_name: &case.customer.name,
            customer_phone: &case.customer.phone,
            phone_digits: phone_digits(&case.customer.phone),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_binds_one_value_per_placeholder_in_either_dialect() {
        let query = CaseQuery { search: Some("138-0000".into()), limit: 5, ..CaseQuery::default() };
        let (sqlite, values) = case_query_sql(7, &query, |n| format!("?{n}"));
        let (postgres, same) = case_query_sql(7, &query, |n| format!("${n}"));
        assert_eq!(values, same);
        assert_eq!(values.len(), 3, "team, the pattern, the digits");
        assert_eq!(values[2], QueryValue::Text("%1380000%".into()));
        assert!(sqlite.contains("?3") && !sqlite.contains("?4"), "{sqlite}");
        assert!(postgres.contains("$3") && !postgres.contains('?'), "{postgres}");
    }

    #[test]
    fn stored_heads_of_a_broken_length_are_refused() {
        assert!(decode_heads(&[0; 33]).is_err());
        let heads = vec![ChangeHash([7; 32]), ChangeHash([9; 32])];
        assert_eq!(decode_heads(&encode_heads(&heads)).unwrap(), heads);
    }
}
