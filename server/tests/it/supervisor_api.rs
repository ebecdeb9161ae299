//! The supervisor API as a new user meets it: local times with their offset, a case found by its
//! number, search by customer, rounded rates, sample data dated in the past, server numbers in
//! intake order, a log line per request, and honest sample tokens when the port is busy.

use std::process::Command;

use chrono::DateTime;

use crate::http_api::sample_tokens;
use crate::support::{self, Device, Server, get_json, kefu_bin, team_with_tokens};

fn json_time(value: &serde_json::Value) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("{value} is not a string"))).unwrap()
}

#[test]
fn cases_come_in_local_time_and_are_found_by_number_customer_phone_and_subject() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("kefu.sqlite3"), &["--sample"]);
    let (supervisor, _) = sample_tokens(&server);
    let get = |path: &str| {
        let (status, body) = get_json(&server, path, Some(&supervisor));
        assert_eq!(status, 200, "{path}: {body}");
        body
    };
    let subjects = |body: &serde_json::Value| -> Vec<String> {
        body.as_array().unwrap().iter().map(|case| case["subject"].as_str().unwrap().to_string()).collect()
    };

    let all = get("/v1/cases");
    let cases = all.as_array().unwrap();
    for case in cases {
        let created = case["created_at"].as_str().unwrap();
        assert!(created.ends_with("+08:00"), "created_at {created} is not in the team's +08:00");
    }
    // The sample's timeline entries are all in the past.
    let now = chrono::Utc::now();
    for case in cases {
        let history = get(&format!("/v1/cases/{}", case["id"].as_str().unwrap()));
        for entry in history["timeline"].as_array().unwrap() {
            assert!(json_time(&entry["at"]) <= now, "{}: entry {entry} is in the future", case["subject"]);
            assert!(entry["at"].as_str().unwrap().ends_with("+08:00"), "{entry}");
        }
    }

    // By K-number and by provisional number, both the same case as by id.
    let flood = cases.iter().find(|case| case["subject"] == "地下室进水 B2").unwrap();
    let by_number = get(&format!("/v1/cases/{}", flood["number"].as_str().unwrap()));
    assert_eq!(by_number["id"], flood["id"]);
    let by_provisional = get(&format!("/v1/cases/{}", flood["provisional_number"].as_str().unwrap()));
    assert_eq!(by_provisional["id"], flood["id"]);
    let (status, body) = get_json(&server, "/v1/cases/K1999-000001", Some(&supervisor));
    assert_eq!((status, body["error"]["code"].as_str().unwrap()), (404, "case.not_found"), "{body}");

    assert_eq!(subjects(&get("/v1/cases?q=%E7%8E%8B%E5%A5%B3%E5%A3%AB")), ["地下室进水 B2"], "customer 王女士");
    assert_eq!(get("/v1/cases?q=13800000000").as_array().unwrap().len(), 6, "phone digits match 138-0000-0000");
    assert_eq!(get("/v1/cases?q=138-0000").as_array().unwrap().len(), 6, "phone as written");
    let mut lifts = subjects(&get("/v1/cases?q=%E7%94%B5%E6%A2%AF"));
    lifts.sort();
    assert_eq!(lifts, ["电梯异响 3号楼", "老人被困电梯"], "subject 电梯");
    let number = flood["number"].as_str().unwrap();
    assert_eq!(subjects(&get(&format!("/v1/cases?q={number}"))), ["地下室进水 B2"]);
    assert!(get("/v1/cases?q=100%25").as_array().unwrap().is_empty(), "a % in the search is literal");

    let mut engineering = subjects(&get("/v1/cases?department=%E5%B7%A5%E7%A8%8B%E9%83%A8"));
    engineering.sort();
    assert_eq!(engineering, ["地下室进水 B2", "电梯异响 3号楼"], "department 工程部");

    // A date range in the team's days: the day the lift complaint was opened holds it.
    let lift = cases.iter().find(|case| case["subject"] == "电梯异响 3号楼").unwrap();
    let day = &lift["created_at"].as_str().unwrap()[..10];
    assert!(subjects(&get(&format!("/v1/cases?from={day}&to={day}"))).contains(&"电梯异响 3号楼".to_string()));
    let (status, body) = get_json(&server, "/v1/cases?from=2026-13-01", Some(&supervisor));
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("from"), "{body}");
    let long = "x".repeat(101);
    let (status, body) = get_json(&server, &format!("/v1/cases?q={long}"), Some(&supervisor));
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().starts_with("q "), "{body}");

    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let report = get(&format!("/v1/reports/monthly?month={month}"));
    for rate in ["handling_rate", "timeliness_rate", "satisfaction_rate", "return_visit_rate"] {
        let figure = &report[rate];
        if let Some(percent) = figure["percent"].as_f64() {
            let text = percent.to_string();
            let decimals = text.split_once('.').map_or(0, |(_, decimals)| decimals.len());
            assert!(decimals <= 1, "{rate} {text} has more than one decimal");
            assert!(percent <= 100.0, "{rate} is {percent}");
        }
    }
}

#[test]
fn server_numbers_follow_the_order_cases_were_opened() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let tokens = team_with_tokens(&db, "north", &["staff", "supervisor"]);
    let server = Server::start(&db, &[]);
    let mut phone = Device::new(&tokens[0]);
    // Twelve cases in one push: with random ids, id order matched opening order 1 time in 12!.
    let opened: Vec<String> = (0..12).map(|n| phone.open_case(&format!("case {n}")).to_string()).collect();
    phone.sync(&server).unwrap();
    let (_, list) = get_json(&server, "/v1/cases", Some(&tokens[1]));
    let mut numbered: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|case| (case["number"].as_str().unwrap().to_string(), case["id"].as_str().unwrap().to_string()))
        .collect();
    numbered.sort();
    let by_number: Vec<String> = numbered.into_iter().map(|(_, id)| id).collect();
    assert_eq!(by_number, opened, "K-numbers ascend in the order the cases were opened");
}

#[test]
fn every_request_is_logged_at_the_default_level_refusals_included() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let supervisor = team_with_tokens(&db, "north", &["supervisor"]).remove(0);
    let mut server = Server::start_with_default_log(&db, &[]);
    let (unauthorized, _) = get_json(&server, "/v1/cases", None);
    let (missing_case, _) = get_json(&server, "/v1/cases/K2026-999999", Some(&supervisor));
    let (not_found, _) = get_json(&server, "/v1/nothing", Some(&supervisor));
    assert_eq!((unauthorized, missing_case, not_found), (401, 404, 404));
    server.sigterm();
    assert!(server.wait_for_exit().success());
    let logs = server.stderr();
    let answered: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["message"] == "finished processing request")
        .collect();
    let statuses: Vec<u64> = answered.iter().map(|line| line["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [401, 404, 404], "one info line per request:\n{logs}");
    assert!(answered.iter().all(|line| line["level"] == "INFO" && line["span"]["route"].is_string()), "{logs}");
}

#[test]
fn a_busy_port_creates_no_sample_and_the_next_run_prints_its_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let output = Command::new(kefu_bin())
        .args(["serve", "--sample", "--listen", &busy.local_addr().unwrap().to_string(), "--db"])
        .arg(support::db_arg(&db))
        .output()
        .unwrap();
    assert!(!output.status.success(), "serving on a busy port fails");
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot listen on"), "{output:?}");
    assert!(output.stdout.is_empty(), "nothing claims tokens: {}", String::from_utf8_lossy(&output.stdout));
    drop(busy);
    let server = Server::start(&db, &["--sample"]);
    let (supervisor, staff) = sample_tokens(&server);
    assert!(supervisor.starts_with("kefu_") && staff.starts_with("kefu_"), "{}", server.stdout);
}
