//! Requests and attendance from the phones, decided and corrected in the console and `/v1`
//! (issue 19), against a real `kefu serve`: who may decide, CSRF, a decision made once, the
//! monthly allowance held at approval even when two phones of one person bypassed it offline,
//! approved leave in the next solve's team file, a late check-in judged an absence, and a
//! correction that needs its reason and a real shift, kept in the history and sent to the phone.

use std::time::Duration;

use kefu_core::attendance::CheckKind;
use kefu_core::ids::{StaffId, Timestamp};
use kefu_core::request::RequestKind;

use crate::console::{PASSWORD, get, sample_server, sign_in};
use crate::console_roster::{SMALL_TEAM, generate, import, post_with_csrf};
use crate::support::{Device, Server, admin_ok, get_json, issue};

fn day(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// A phone issued to staff member `staff` of the sample team.
fn phone(db: &std::path::Path, staff: &str) -> Device {
    Device::new(admin_ok(db, &["device", "issue", "--team", "sample", "--role", "staff", "--staff", staff]).trim())
}

/// POSTs JSON to `path` with a token or a session cookie (and its CSRF token); returns status and body.
fn post_json(
    server: &Server,
    path: &str,
    auth: (&str, &str),
    csrf: Option<&str>,
    body: &serde_json::Value,
) -> (u16, String) {
    let mut request =
        ureq::post(&format!("{}{path}", server.url())).timeout(Duration::from_secs(60)).set(auth.0, auth.1);
    if let Some(csrf) = csrf {
        request = request.set("x-csrf-token", csrf);
    }
    match request.set("Content-Type", "application/json").send_string(&body.to_string()) {
        Ok(response) => (response.status(), response.into_string().unwrap()),
        Err(ureq::Error::Status(status, response)) => (status, response.into_string().unwrap()),
        Err(err) => panic!("request failed: {err}"),
    }
}

fn at(local: &str) -> Timestamp {
    let time = chrono::DateTime::parse_from_rfc3339(local).unwrap();
    Timestamp(time.timestamp_millis())
}

#[test]
fn supervisors_decide_requests_once_within_the_allowance_and_correct_attendance_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (server, db) = sample_server(dir.path());
    let cookie = sign_in(&server, "wang.li", PASSWORD);
    assert_eq!(import(&server, &cookie, SMALL_TEAM).status, 303);
    let first = generate(&server, &cookie);
    assert_eq!(
        post_with_csrf(&server, &cookie, "/console/roster", "/console/roster/publish", &[("version", &first)]).status,
        303
    );
    let supervisor = issue(&db, "sample", "supervisor");
    let bearer = |token: &str| format!("Bearer {token}");

    // lin asks on two phones, each within the allowance as it sees it: six days in all.
    let lin = StaffId::new("lin").unwrap();
    let (mut phone_a, mut phone_b) = (phone(&db, "lin"), phone(&db, "lin"));
    for device in [&mut phone_a, &mut phone_b] {
        device.sync(&server).unwrap();
    }
    let now = Timestamp::now();
    let inside = phone_a.store.request_days(RequestKind::Leave, &[day("2026-03-05")], "复诊", &lin, now).unwrap();
    let three =
        phone_a.store.request_days(RequestKind::Lieu, &[day("2026-03-16"), day("2026-03-17")], "", &lin, now).unwrap();
    let bypass = phone_b
        .store
        .request_days(RequestKind::Leave, &[day("2026-03-23"), day("2026-03-24"), day("2026-03-25")], "", &lin, now)
        .unwrap();
    phone_a.sync(&server).unwrap();
    phone_b.sync(&server).unwrap();

    // Only supervisors decide, and a session needs its CSRF token.
    let staff_token = issue(&db, "sample", "staff");
    let (status, _) = get_json(&server, "/v1/requests", Some(&staff_token));
    assert_eq!(status, 403, "a staff device reads no requests");
    let approve = serde_json::json!({ "approve": true, "note": "同意" });
    let decide = |id: &str| format!("/v1/requests/{id}/decision");
    let (status, body) =
        post_json(&server, &decide(&inside.id), ("Authorization", &bearer(&staff_token)), None, &approve);
    assert_eq!(status, 403, "{body}");
    let (status, body) = post_json(&server, &decide(&inside.id), ("Cookie", &cookie), None, &approve);
    assert_eq!(status, 403, "a session without its CSRF token: {body}");
    let page = get(&server, "/console/requests", Some(&cookie)).body;
    assert!(page.contains(&inside.id) && page.contains(&bypass.id) && page.contains("待审批"), "{page}");

    // The console's form, once; a second decision is refused.
    let answer = post_with_csrf(
        &server,
        &cookie,
        "/console/requests",
        "/console/requests/decide",
        &[("id", &inside.id), ("decision", "approve"), ("note", "同意，注意交接")],
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    let again = post_with_csrf(
        &server,
        &cookie,
        "/console/requests",
        "/console/requests/decide",
        &[("id", &inside.id), ("decision", "refuse")],
    );
    assert_eq!(again.status, 409, "{}", again.body);
    let sup = ("Authorization", bearer(&supervisor));
    let (status, body) = post_json(&server, &decide(&three.id), (sup.0, &sup.1), None, &approve);
    assert_eq!(status, 200, "{body}");
    let (status, body) = post_json(&server, &decide(&bypass.id), (sup.0, &sup.1), None, &approve);
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("request.allowance")
            && body.contains("2026-03")
            && body.contains("2026-03-05, 2026-03-16, 2026-03-17"),
        "{body}"
    );
    let (status, body) = post_json(&server, &decide("request:nonsense"), (sup.0, &sup.1), None, &approve);
    assert_eq!(status, 404, "{body}");
    let long = serde_json::json!({ "approve": false, "note": "长".repeat(501) });
    let (status, body) = post_json(&server, &decide(&bypass.id), (sup.0, &sup.1), None, &long);
    assert_eq!((status, body.contains("note")), (400, true), "{body}");
    let (status, list) = get_json(&server, "/v1/requests?status=approved", Some(&supervisor));
    assert_eq!(status, 200);
    let approved: Vec<&str> = list.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(approved.len(), 2, "{list}");
    phone_a.sync(&server).unwrap();
    let held = phone_a.store.requests().unwrap();
    let seen = held.iter().find(|request| request.id == inside.id).unwrap();
    assert_eq!(
        seen.decision.as_ref().map(|d| (d.approved, d.by.as_str(), d.note.as_str())),
        Some((true, "wang.li", "同意，注意交接"))
    );

    // Approved leave in the period becomes input of the next solve.
    generate(&server, &cookie);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let next = loop {
        let (_, newest) = get_json(&server, "/v1/roster", Some(&supervisor));
        if newest["version"].as_i64() != first.parse().ok() {
            break newest["version"].to_string();
        }
        assert!(std::time::Instant::now() < deadline, "no second roster: {newest}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let toml = get(&server, "/console/roster/team.toml", Some(&cookie)).body;
    assert!(toml.contains("2026-03-05"), "lin's approved day is in the solved file:\n{toml}");
    let (_, roster) = get_json(&server, &format!("/v1/roster?version={next}"), Some(&supervisor));
    let works = roster["roster"]["assignments"].as_array().unwrap();
    assert!(
        !works.iter().any(|a| a["staff"] == "lin" && a["date"] == "2026-03-05"),
        "lin is off on 2026-03-05: {roster}"
    );

    // A check-in 40 minutes late is an absence; a correction needs a reason and a real shift.
    let (_, published) = get_json(&server, &format!("/v1/roster?version={first}"), Some(&supervisor));
    let shift = published["roster"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["date"] != "2026-03-05")
        .expect("a shift on another day")
        .clone();
    let (date, who) = (shift["date"].as_str().unwrap().to_string(), shift["staff"].as_str().unwrap().to_string());
    let worker = StaffId::new(who.as_str()).unwrap();
    let mut phone_c = phone(&db, &who);
    phone_c.sync(&server).unwrap();
    phone_c.store.check_in(&worker, CheckKind::In, at(&format!("{date}T09:40:00+08:00"))).unwrap();
    phone_c.sync(&server).unwrap();
    let (_, month) = get_json(&server, "/v1/attendance?month=2026-03", Some(&supervisor));
    let person = month["staff"].as_array().unwrap().iter().find(|p| p["staff"] == who.as_str()).unwrap().clone();
    let key = format!("{date}/{who}/D");
    let record = person["shifts"].as_array().unwrap().iter().find(|s| s["key"] == key.as_str()).unwrap().clone();
    assert_eq!((record["status"].as_str(), record["late_minutes"].as_i64()), (Some("absent"), Some(40)), "{record}");
    assert_eq!(month["warning_at"], 5.0);
    let page = get(&server, "/console/attendance?month=2026-03", Some(&cookie)).body;
    assert!(page.contains(&format!("id=\"staff-{who}\"")) && page.contains("data-level=\""), "{page}");

    let record_form = |fields: &[(&str, &str)]| {
        post_with_csrf(&server, &cookie, "/console/attendance?month=2026-03", "/console/attendance/record", fields)
    };
    let refused = record_form(&[("staff", &who), ("shift", &key), ("status", "excused"), ("note", " ")]);
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("note"), "{}", refused.body);
    let ghost = record_form(&[("staff", &who), ("shift", "2026-03-04/ghost/D"), ("status", "excused"), ("note", "x")]);
    assert!(ghost.status == 400 && ghost.body.contains("shift"), "{}", ghost.body);
    let fixed = record_form(&[("staff", &who), ("shift", &key), ("status", "excused"), ("note", "堵车，有证明")]);
    assert_eq!(fixed.status, 303, "{}", fixed.body);
    let (_, month) = get_json(&server, "/v1/attendance?month=2026-03", Some(&supervisor));
    let person = month["staff"].as_array().unwrap().iter().find(|p| p["staff"] == who.as_str()).unwrap().clone();
    let record = person["shifts"].as_array().unwrap().iter().find(|s| s["key"] == key.as_str()).unwrap().clone();
    assert_eq!((record["status"].as_str(), record["judged"].as_str()), (Some("excused"), Some("absent")), "{record}");
    assert_eq!(person["fixes"][0]["note"], "堵车，有证明", "the history keeps the reason");
    phone_c.sync(&server).unwrap();
    let mine = phone_c.store.attendance_month(&worker, 2026, 3, at("2026-03-31T23:00:00+08:00")).unwrap();
    let shift = mine.shifts.iter().find(|s| s.shift.key() == key).unwrap();
    assert_eq!(shift.status(), kefu_core::attendance::ShiftStatus::Excused, "the correction reached the phone");
}
