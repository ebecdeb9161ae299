//! `kefu import` against a real server: a centre's cases from another system arrive numbered in
//! the team, a rerun imports nothing twice, and a file with bad lines imports nothing and names
//! each line and field at fault.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{Server, get_json, kefu_bin, team_with_tokens};

fn import(server: &Server, token: &str, store: &Path, file: &Path) -> Output {
    Command::new(kefu_bin())
        .args(["import", "--server", &server.url(), "--token", token, "--store"])
        .arg(store)
        .arg(file)
        .output()
        .expect("kefu import runs")
}

fn line(id: &str, subject: &str, extra: &str) -> String {
    format!(
        r#"{{"id":"{id}","kind":"repair","channel":"phone","customer":{{"name":"王女士","phone":"138-0000-0000","address":"3-2-1101"}},"subject":"{subject}","description":"卫生间漏水，楼下住户天花板有水渍，需要尽快上门查看。","opened_at":"2026-03-02T09:15:00+08:00","opened_by":"desk.li"{extra}}}"#
    )
}

fn subjects(server: &Server, token: &str) -> Vec<String> {
    let (status, cases) = get_json(server, "/v1/cases", Some(token));
    assert_eq!(status, 200, "{cases}");
    let mut subjects: Vec<String> = cases
        .as_array()
        .expect("a list")
        .iter()
        .map(|case| {
            assert!(case["number"].as_str().unwrap().starts_with('K'), "numbered by the server: {case}");
            case["subject"].as_str().unwrap().to_string()
        })
        .collect();
    subjects.sort();
    subjects
}

#[test]
fn imported_cases_arrive_numbered_once_and_a_bad_file_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let token = team_with_tokens(&db, "north", &["supervisor"]).remove(0);
    let server = Server::start(&db, &[]);
    let store = dir.path().join("import-store");

    // A bad file first: nothing of it reaches the store or the server.
    let bad = dir.path().join("bad.jsonl");
    let lines = [
        line("OLD-1", "电梯停运", ""),
        line("OLD-2", "水管爆裂", "").replace(r#""kind":"repair""#, r#""kind":"pipe""#),
        line("OLD-3", "门禁失灵", "").replace("2026-03-02T09:15:00+08:00", "yesterday"),
        line("OLD-1", "重复的编号", ""),
    ];
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let refused = import(&server, &token, &store, &bad);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert!(stderr.contains("bad.jsonl:2: kind: \"pipe\" is not one of"), "{stderr}");
    assert!(stderr.contains("bad.jsonl:3: opened_at: \"yesterday\" is not an RFC 3339 time"), "{stderr}");
    assert!(stderr.contains("bad.jsonl:4: id: \"OLD-1\" is already the id of line 1"), "{stderr}");
    assert!(subjects(&server, &token).is_empty());

    let good = dir.path().join("cases.jsonl");
    let entries = r#","entries":[{"at":"2026-03-02T10:00:00+08:00","by":"repair.zhang","note":"已上门，更换阀门。"},{"at":"2026-03-02T10:30:00+08:00","by":"desk.li","status":"dispatched","reason":"派给维修组"}]"#;
    let lines = [line("OLD-1", "电梯停运", ""), line("OLD-2", "水管爆裂", entries), line("OLD-3", "门禁失灵", "")];
    std::fs::write(&good, lines.join("\n") + "\n").unwrap();
    let first = import(&server, &token, &store, &good);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(subjects(&server, &token), ["水管爆裂", "电梯停运", "门禁失灵"]);
    let (_, listed) = get_json(&server, "/v1/cases", Some(&token));
    let burst = listed.as_array().unwrap().iter().find(|case| case["subject"] == "水管爆裂").unwrap().clone();
    let (_, case) = get_json(&server, &format!("/v1/cases/{}", burst["id"].as_str().unwrap()), Some(&token));
    assert_eq!(case["status"], "dispatched", "{case}");

    // Run again, as after a lost reply: nothing is imported twice.
    let again = import(&server, &token, &store, &good);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 cases written to the import store (3 were already there)")
    );
    assert_eq!(subjects(&server, &token), ["水管爆裂", "电梯停运", "门禁失灵"]);
}
