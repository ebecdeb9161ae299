//! The supervisor console over plain HTTP: accounts from `kefu admin user add`, sign-in with
//! HttpOnly SameSite cookies, CSRF, throttling, team scope, and the pages and exports a
//! signed-in supervisor reads. (The browser tests are in `browser.rs`.)

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::http_api::sample_tokens;
use crate::support::{Server, admin_ok, db_arg, get_json, kefu_bin};

/// A password long enough for `kefu admin user add`.
pub const PASSWORD: &str = "correct horse battery";

/// Adds a console user with [`PASSWORD`]; returns the command's output.
pub fn add_user(db: &Path, name: &str, team: &str, role: &str) -> std::process::Output {
    let mut child = Command::new(kefu_bin())
        .args(["admin", "--db"])
        .arg(db_arg(db))
        .args(["user", "add", name, "--team", team, "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// An HTTP client that does not follow redirects, so each answer is seen as sent.
fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).timeout(Duration::from_secs(30)).build()
}

/// (status, headers we look at, body) of a request.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub body: String,
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> Answer {
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(err) => panic!("request failed: {err}"),
    };
    Answer {
        status: response.status(),
        location: response.header("location").map(str::to_string),
        set_cookie: response.header("set-cookie").map(str::to_string),
        body: response.into_string().unwrap_or_default(),
    }
}

pub fn get(server: &Server, path: &str, cookie: Option<&str>) -> Answer {
    let mut request = agent().get(&format!("{}{path}", server.url()));
    if let Some(cookie) = cookie {
        request = request.set("Cookie", cookie);
    }
    answer(request.call())
}

pub fn post_form(
    server: &Server,
    path: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    form: &[(&str, &str)],
) -> Answer {
    let mut request = agent().post(&format!("{}{path}", server.url()));
    if let Some(cookie) = cookie {
        request = request.set("Cookie", cookie);
    }
    if let Some(origin) = origin {
        request = request.set("Origin", origin);
    }
    answer(request.send_form(form))
}

/// Signs in; returns the `kefu_session=...` cookie pair.
pub fn sign_in(server: &Server, name: &str, password: &str) -> String {
    let answer = post_form(server, "/console/sign-in", None, None, &[("name", name), ("password", password)]);
    assert_eq!((answer.status, answer.location.as_deref()), (303, Some("/console/cases")), "{}", answer.body);
    let cookie = answer.set_cookie.expect("a session cookie");
    cookie.split(';').next().unwrap().to_string()
}

/// The CSRF token a page carries in its sign-out form.
pub fn csrf_of(page: &str) -> String {
    let (_, rest) = page.split_once("name=\"csrf\" value=\"").expect("a CSRF field");
    rest.split('"').next().unwrap().to_string()
}

pub fn sample_server(dir: &Path) -> (Server, std::path::PathBuf) {
    let db = dir.join("kefu.sqlite3");
    let server = Server::start(&db, &["--sample"]);
    let added = add_user(&db, "wang.li", "sample", "supervisor");
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    (server, db)
}

#[test]
fn nothing_is_served_without_a_session_or_token() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = sample_server(dir.path());
    for path in ["/console/cases", "/console/monthly", "/console/duty", "/console/cases/K2026-000001"] {
        let answer = get(&server, path, None);
        assert_eq!((answer.status, answer.location.as_deref()), (303, Some("/console/sign-in")), "{path}");
        assert!(!answer.body.contains("地下室"), "{path} leaks nothing");
    }
    for path in [
        "/v1/cases",
        "/v1/reports/monthly?month=2026-01",
        "/console/events",
        "/console/monthly.csv",
        "/console/monthly.xlsx",
    ] {
        assert_eq!(get(&server, path, None).status, 401, "{path}");
        assert_eq!(get(&server, path, Some("kefu_session=00ff")).status, 401, "{path} with a made-up session");
    }
    assert_eq!(get(&server, "/console/sign-in", None).status, 200, "the sign-in form is public");
}

#[test]
fn a_staff_token_cannot_sign_in_or_read_pages() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = sample_server(dir.path());
    let (supervisor, staff) = sample_tokens(&server);
    for token in [&staff, &supervisor] {
        let answer = post_form(&server, "/console/sign-in", None, None, &[("name", "wang.li"), ("password", token)]);
        assert_eq!(answer.status, 401, "a device token is no password");
        assert!(answer.set_cookie.is_none());
        assert!(answer.body.contains("设备令牌不能用于登录"), "{}", answer.body);
    }
    let page = answer(
        agent().get(&format!("{}/console/cases", server.url())).set("Authorization", &format!("Bearer {staff}")).call(),
    );
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/console/sign-in")), "pages want a session");
    let (status, _) = get_json(&server, "/v1/cases", Some(&staff));
    assert_eq!(status, 403);
}

#[test]
fn sessions_are_httponly_samesite_cookies_and_sign_out_needs_the_csrf_token() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = sample_server(dir.path());
    let signed_in = post_form(&server, "/console/sign-in", None, None, &[("name", "wang.li"), ("password", PASSWORD)]);
    let set_cookie = signed_in.set_cookie.unwrap();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();

    let board = get(&server, "/console/cases", Some(&cookie));
    assert_eq!(board.status, 200);
    assert!(board.body.contains("地下室进水 B2") && board.body.contains("wang.li"), "{}", board.body);
    let csrf = csrf_of(&board.body);
    // The session also reads the JSON API, as the page's script does.
    let api = get(&server, "/v1/cases", Some(&cookie));
    assert_eq!(api.status, 200);

    let refused = [
        post_form(&server, "/console/sign-out", Some(&cookie), None, &[]),
        post_form(&server, "/console/sign-out", Some(&cookie), None, &[("csrf", "0123")]),
        post_form(&server, "/console/sign-out", Some(&cookie), Some("http://evil.example"), &[("csrf", &csrf)]),
    ];
    for answer in refused {
        assert_eq!(answer.status, 403, "{}", answer.body);
        assert!(answer.body.contains("auth.csrf"), "{}", answer.body);
    }
    assert_eq!(get(&server, "/console/cases", Some(&cookie)).status, 200, "a refused sign-out changes nothing");
    let out = post_form(&server, "/console/sign-out", Some(&cookie), None, &[("csrf", &csrf)]);
    assert_eq!((out.status, out.location.as_deref()), (303, Some("/console/sign-in")));
    assert!(out.set_cookie.unwrap().contains("Max-Age=0"));
    assert_eq!(get(&server, "/console/cases", Some(&cookie)).status, 303, "the session ended");
    assert_eq!(get(&server, "/v1/cases", Some(&cookie)).status, 401);
    // A sign-in posted from another site is refused too.
    let cross = post_form(
        &server,
        "/console/sign-in",
        None,
        Some("http://evil.example"),
        &[("name", "wang.li"), ("password", PASSWORD)],
    );
    assert_eq!(cross.status, 403);
}

#[test]
fn a_supervisor_cannot_reach_another_team_and_an_admin_can() {
    let dir = tempfile::tempdir().unwrap();
    let (server, db) = sample_server(dir.path());
    admin_ok(&db, &["team", "create", "south"]);
    assert!(add_user(&db, "chief", "south", "admin").status.success());
    let cookie = sign_in(&server, "wang.li", PASSWORD);
    for path in [
        "/console/cases?team=south",
        "/v1/cases?team=south",
        "/console/monthly?team=south",
        "/console/monthly.csv?team=south",
        "/console/events?team=south",
    ] {
        let answer = get(&server, path, Some(&cookie));
        assert_eq!(answer.status, 403, "{path}: {}", answer.body);
        assert!(answer.body.contains("auth.other_team"), "{path}: {}", answer.body);
    }
    let (supervisor, _) = sample_tokens(&server);
    let (status, body) = get_json(&server, "/v1/cases?team=south", Some(&supervisor));
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("auth.other_team")));

    let admin = sign_in(&server, "chief", PASSWORD);
    let own = get(&server, "/v1/cases", Some(&admin));
    assert_eq!((own.status, own.body.as_str()), (200, "[]"), "the admin's own team has no cases");
    let sample = get(&server, "/console/cases?team=sample", Some(&admin));
    assert_eq!(sample.status, 200);
    assert!(sample.body.contains("地下室进水 B2"), "an admin reads every team");
    assert_eq!(get(&server, "/v1/cases?team=nowhere", Some(&admin)).status, 404);
}

#[test]
fn repeated_failed_sign_ins_are_throttled_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (first, db) = sample_server(dir.path());
    for attempt in 0..5 {
        let answer =
            post_form(&first, "/console/sign-in", None, None, &[("name", "wang.li"), ("password", "wrong password")]);
        assert_eq!(answer.status, 401, "attempt {attempt}");
    }
    // The count is kept in the database: the server restarted sees it, as would another process
    // on the same PostgreSQL database.
    drop(first);
    let server = Server::start(&db, &[]);
    let locked = post_form(&server, "/console/sign-in", None, None, &[("name", "wang.li"), ("password", PASSWORD)]);
    assert_eq!(locked.status, 429, "even the right password waits: {}", locked.body);
    assert!(locked.set_cookie.is_none());
    // Another name is not locked by wang.li's failures.
    let unknown =
        post_form(&server, "/console/sign-in", None, None, &[("name", "zhao"), ("password", "wrong password")]);
    assert_eq!(unknown.status, 401);
}

#[test]
fn the_pages_show_the_board_a_case_the_figures_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = sample_server(dir.path());
    let cookie = sign_in(&server, "wang.li", PASSWORD);
    let filtered = get(&server, "/console/cases?kind=repair&status=&q=", Some(&cookie));
    assert!(filtered.body.contains("地下室进水 B2") && !filtered.body.contains("快递延误投诉"), "{}", filtered.body);
    let searched = get(&server, "/console/cases?q=%E9%99%88%E5%85%88%E7%94%9F", Some(&cookie));
    assert!(searched.body.contains("快递延误投诉") && !searched.body.contains("地下室进水 B2"), "search 陈先生");
    let bad = get(&server, "/console/cases?from=31-12-2026", Some(&cookie));
    let error = bad.body.split("class=\"error\"").nth(1).expect("an error paragraph");
    assert!(error.contains("from") && error.contains("31-12-2026") && error.contains("2026-03-31"), "{error}");

    let (_, cases) =
        get_json(&server, "/v1/cases?q=%E7%94%B5%E6%A2%AF%E5%BC%82%E5%93%8D", Some(&sample_tokens(&server).0));
    let number = cases[0]["number"].as_str().unwrap();
    let case = get(&server, &format!("/console/cases/{number}"), Some(&cookie));
    assert_eq!(case.status, 200);
    assert!(
        case.body.contains("bearing replaced") && case.body.contains("满意") && case.body.contains("按时完成"),
        "{}",
        case.body
    );

    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let monthly = get(&server, &format!("/console/monthly?month={month}"), Some(&cookie));
    assert!(monthly.body.contains("回访率") && monthly.body.contains("<svg"), "{}", monthly.body);

    let csv = agent()
        .get(&format!("{}/console/monthly.csv?month={month}", server.url()))
        .set("Cookie", &cookie)
        .call()
        .unwrap();
    assert!(csv.header("content-disposition").unwrap().contains(".csv"));
    let mut bytes = Vec::new();
    csv.into_reader().read_to_end(&mut bytes).unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 byte-order mark");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert_eq!(text.lines().count(), 13, "a header and 12 months:\n{text}");
    assert!(text.starts_with("月份,受理"), "{text}");
    assert!(text.lines().last().unwrap().starts_with(&month), "{text}");

    let xlsx = agent()
        .get(&format!("{}/console/monthly.xlsx?month={month}", server.url()))
        .set("Cookie", &format!("{cookie}; kefu_lang=en"))
        .call()
        .unwrap();
    let mut bytes = Vec::new();
    xlsx.into_reader().read_to_end(&mut bytes).unwrap();
    assert_eq!(&bytes[..2], b"PK", "an XLSX is a zip");

    let english = get(&server, "/console/cases", Some(&format!("{cookie}; kefu_lang=en")));
    assert!(english.body.contains("<html lang=\"en\">") && english.body.contains("In progress"));
    let switched = get(&server, "/console/lang/en", Some(&cookie));
    assert!(switched.set_cookie.unwrap().starts_with("kefu_lang=en"));
}

#[test]
fn the_openapi_description_covers_every_v1_route() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = sample_server(dir.path());
    let (status, document) = get_json(&server, "/v1/openapi.json", None);
    assert_eq!(status, 200);
    assert_eq!(document["openapi"], "3.1.0");
    let source = ["/src/http/mod.rs", "/src/console/mod.rs"]
        .map(|file| std::fs::read_to_string(format!("{}{file}", env!("CARGO_MANIFEST_DIR"))).unwrap())
        .concat();
    let routes: Vec<&str> =
        source.match_indices(".route(\"/v1/").map(|(at, _)| source[at + 8..].split('"').next().unwrap()).collect();
    assert!(routes.len() >= 4, "{routes:?}");
    for route in routes {
        assert!(document["paths"].get(route).is_some(), "{route} is not described");
    }
}
