//! The supervisor API and operations endpoints of a `kefu serve --sample` server: health, metrics,
//! case list filters, one case's history, monthly figures, and their refusals.

use kefu_core::sync::Push;

use crate::support::{Live, Server, get_json, issue, team_with_tokens};

/// The supervisor and staff tokens of a `--sample` server's banner.
pub fn sample_tokens(server: &Server) -> (String, String) {
    let token_after = |label: &str| {
        server
            .stdout
            .lines()
            .find_map(|line| line.split_once(label).map(|(_, rest)| rest.trim().to_string()))
            .unwrap_or_else(|| panic!("no {label:?} in the banner:\n{}", server.stdout))
    };
    (token_after("supervisor token (shown once):"), token_after("staff token (shown once):"))
}

#[test]
fn the_sample_server_answers_supervisor_reads() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("kefu.sqlite3"), &["--sample"]);
    let (supervisor, staff) = sample_tokens(&server);

    let health = ureq::get(&format!("{}/healthz", server.url())).call().unwrap();
    assert_eq!(health.status(), 200);

    let (status, all) = get_json(&server, "/v1/cases", Some(&supervisor));
    assert_eq!(status, 200, "{all}");
    let cases = all.as_array().unwrap();
    assert_eq!(cases.len(), 6);
    assert!(cases.iter().all(|case| case["number"].as_str().unwrap().starts_with('K')), "{all}");

    let (_, new_cases) = get_json(&server, "/v1/cases?status=new", Some(&supervisor));
    assert_eq!(new_cases.as_array().unwrap().len(), 2, "{new_cases}");
    let (_, repairs) = get_json(&server, "/v1/cases?kind=repair&assignee=repair.zhang", Some(&supervisor));
    assert_eq!(repairs.as_array().unwrap().len(), 2, "{repairs}");
    let (_, overdue) = get_json(&server, "/v1/cases?overdue=true", Some(&supervisor));
    let overdue_subjects: Vec<&str> =
        overdue.as_array().unwrap().iter().map(|case| case["subject"].as_str().unwrap()).collect();
    // The complaint waits 3 days and the e-mailed suggestion 2 for their 24-hour replies.
    assert_eq!(overdue_subjects, ["增加夜间保安巡逻", "快递延误投诉"]);

    let flood = cases.iter().find(|case| case["subject"] == "地下室进水 B2").unwrap();
    let (status, history) =
        get_json(&server, &format!("/v1/cases/{}", flood["id"].as_str().unwrap()), Some(&supervisor));
    assert_eq!(status, 200);
    let kinds: Vec<&str> =
        history["timeline"].as_array().unwrap().iter().map(|entry| entry["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["transfer", "status", "status", "note"], "{history}");
    assert_eq!(history["status"], "in_progress");
    assert_eq!(history["assigned_number"], history["number"]);

    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let (status, report) = get_json(&server, &format!("/v1/reports/monthly?month={month}"), Some(&supervisor));
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["utc_offset"], "+08:00");
    assert!(report["all"]["received"].as_u64().unwrap() <= 6);

    let refusals = [
        ("/v1/cases", None, 401, "auth.missing_token"),
        ("/v1/cases", Some(staff.as_str()), 403, "auth.forbidden_role"),
        ("/v1/cases", Some("kefu_nope"), 401, "auth.invalid_token"),
        ("/v1/cases?status=lost", Some(supervisor.as_str()), 400, "query.invalid"),
        ("/v1/cases?limit=0", Some(supervisor.as_str()), 400, "query.invalid"),
        ("/v1/cases/not%20a%20case", Some(supervisor.as_str()), 400, "case.invalid_id"),
        ("/v1/cases/00000000-0000-0000-0000-000000000001", Some(supervisor.as_str()), 404, "case.not_found"),
        ("/v1/reports/monthly?month=March", Some(supervisor.as_str()), 400, "query.invalid"),
        ("/v1/reports/monthly", Some(supervisor.as_str()), 400, "query.invalid"),
        ("/v1/cases?overdue=maybe", Some(supervisor.as_str()), 400, "query.invalid"),
        ("/v1/nothing", Some(supervisor.as_str()), 404, "route.not_found"),
    ];
    for (path, token, status, code) in refusals {
        let (got_status, body) = get_json(&server, path, token);
        assert_eq!((got_status, body["error"]["code"].as_str().unwrap()), (status, code), "{path}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }

    let metrics = ureq::get(&format!("{}/metrics", server.url())).call().unwrap().into_string().unwrap();
    assert!(metrics.contains("kefu_ws_connections 0"), "{metrics}");
}

#[test]
fn another_teams_case_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let server = Server::start(&db, &["--sample"]);
    let (supervisor, _) = sample_tokens(&server);
    let other = team_with_tokens(&db, "south", &["supervisor"]).remove(0);
    let (_, cases) = get_json(&server, "/v1/cases", Some(&supervisor));
    let id = cases[0]["id"].as_str().unwrap();
    let (status, body) = get_json(&server, &format!("/v1/cases/{id}"), Some(&other));
    assert_eq!((status, body["error"]["code"].as_str().unwrap()), (404, "case.not_found"));
    let (_, list) = get_json(&server, "/v1/cases", Some(&other));
    assert_eq!(list.as_array().unwrap().len(), 0, "south sees none of the sample team's cases");
    let admin_token = issue(&db, "south", "admin");
    let (status, _) = get_json(&server, "/v1/cases", Some(&admin_token));
    assert_eq!(status, 200, "admins read their team's cases too");
}

#[test]
fn sigterm_closes_sessions_and_a_restart_keeps_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let first = Server::start(&db, &["--sample"]);
    let (_, staff) = sample_tokens(&first);
    // A live session at shutdown: it is told the server is going away, and the process exits 0.
    let mut live = Live::connect(&first, &staff).unwrap();
    live.send(&Push::default());
    assert_eq!(live.recv_reply().updates.len(), 6, "the sample cases reach a staff device");
    let status = first.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(live.recv().unwrap_err(), "server.shutdown");
    let second = Server::start(&db, &[]);
    assert!(second.stdout.is_empty());
    let logs = second.stderr();
    assert!(logs.contains("\"level\":\"INFO\"") && logs.contains("listening on"), "{logs}");
}
