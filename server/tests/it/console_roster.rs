//! The console's roster over plain HTTP: the team file imported and edited with its errors next
//! to the field, hostile input refused without a change, CSRF and team scope on every roster
//! route, and a generated roster moved by hand, re-checked, published (then frozen) and exported.
//! (The same in a real browser is in `browser.rs`.)

use std::path::Path;
use std::time::{Duration, Instant};

use crate::console::{Answer, PASSWORD, add_user, csrf_of, get, post_form, sample_server, sign_in};
use crate::support::{Server, admin_ok};

/// A week at one desk: three receptionists, one of them (zhou) on leave on Wednesday.
pub const SMALL_TEAM: &str = r#"name = "front desk"
roles = ["reception"]

[period]
start = "2026-03-02"
end = "2026-03-08"
slot_minutes = 30

[rules]
min_on_duty = 0 # the desk closes at night
lunch = { window = ["12:00", "13:00"], length_minutes = 30 }

[default_contract]
max_hours_per_week = 40

[[posts]]
id = "desk"
name = "前台"
need = [{ days = ["weekday"], from = "09:00", to = "17:00", min = 1 }]

[[shifts]]
id = "D"
start = "09:00"
end = "17:00"
roles = ["reception"]

# lin trains new staff on Mondays
[[staff]]
id = "lin"
name = "林"
roles = ["reception"]
posts = ["desk"]

[[staff]]
id = "wu"
name = "吴"
roles = ["reception"]
posts = ["desk"]

[[staff]]
id = "zhou"
name = "周"
roles = ["reception"]
posts = ["desk"]
leave = [{ date = "2026-03-04", kind = "compensatory" }]
"#;

/// How long a tiny solve may take on a loaded machine.
const SOLVE_WAIT: Duration = Duration::from_secs(120);

/// Posts `form` to `path` with the CSRF token of the page at `page`.
pub fn post_with_csrf(server: &Server, cookie: &str, page: &str, path: &str, form: &[(&str, &str)]) -> Answer {
    let csrf = csrf_of(&get(server, page, Some(cookie)).body);
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(form);
    post_form(server, path, Some(cookie), None, &fields)
}

/// Imports `toml` as the team file; returns the answer.
pub fn import(server: &Server, cookie: &str, toml: &str) -> Answer {
    post_with_csrf(server, cookie, "/console/roster/team", "/console/roster/team/import", &[("toml", toml)])
}

/// Starts a solve and waits until the roster page shows its roster; returns the version.
pub fn generate(server: &Server, cookie: &str) -> String {
    let started =
        post_with_csrf(server, cookie, "/console/roster", "/console/roster/generate", &[("time_limit", "20")]);
    assert_eq!(started.status, 303, "{}", started.body);
    let deadline = Instant::now() + SOLVE_WAIT;
    loop {
        let page = get(server, "/console/roster", Some(cookie)).body;
        if let Some((_, rest)) = page.split_once("id=\"roster-meta\" data-version=\"") {
            return rest.split('"').next().unwrap().to_string();
        }
        assert!(!page.contains("data-phase=\"failed\""), "the solve failed:\n{page}");
        assert!(Instant::now() < deadline, "no roster within {SOLVE_WAIT:?}:\n{page}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn team_file(server: &Server, cookie: &str) -> Answer {
    get(server, "/console/roster/team.toml", Some(cookie))
}

#[test]
fn the_team_file_is_checked_before_it_is_stored_and_errors_name_their_field() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = sample_server(dir.path());
    let cookie = sign_in(&server, "wang.li", PASSWORD);
    assert!(get(&server, "/console/roster/team", Some(&cookie)).body.contains("id=\"team-none\""));

    // Refused imports change nothing.
    let forged = post_form(&server, "/console/roster/team/import", Some(&cookie), None, &[("toml", SMALL_TEAM)]);
    assert_eq!(forged.status, 403, "no CSRF token: {}", forged.body);
    let huge = import(&server, &cookie, &format!("{SMALL_TEAM}\n# {}\n", "x".repeat(600 * 1024)));
    assert_eq!(huge.status, 422);
    assert!(huge.body.contains("toml: the team file is") && huge.body.contains("at most"), "{}", huge.body);
    let garage = SMALL_TEAM
        .replace("posts = [\"desk\"]\n\n[[staff]]\nid = \"zhou\"", "posts = [\"garage\"]\n\n[[staff]]\nid = \"zhou\"");
    let wrong = import(&server, &cookie, &garage);
    assert_eq!(wrong.status, 422);
    assert!(
        wrong.body.contains("id=\"import-error\"") && wrong.body.contains("staff wu：未知的岗位 `garage`"),
        "{}",
        wrong.body
    );
    let english = import(&server, &format!("{cookie}; kefu_lang=en"), &garage);
    assert!(english.body.contains("staff wu: unknown post `garage`"), "{}", english.body);
    assert_eq!(team_file(&server, &cookie).status, 404, "nothing stored");

    let stored = import(&server, &cookie, SMALL_TEAM);
    assert_eq!((stored.status, stored.location.as_deref()), (303, Some("/console/roster/team?saved=1")));
    assert_eq!(team_file(&server, &cookie).body, SMALL_TEAM, "exported as imported");
    let page = get(&server, "/console/roster/team", Some(&cookie)).body;
    assert!(
        page.contains(
            "name=\"f.staff.2.leave\" value=\"[{ date = &#34;2026-03-04&#34;, kind = &#34;compensatory&#34; }]\""
        ),
        "{page}"
    );

    // The form: a bad post lands next to its field; a forged field is named; nothing changes.
    let csrf = csrf_of(&page);
    let form = |extra: &[(&str, &str)]| {
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("f.top.-.name", "front desk"),
            ("f.top.-.roles", "[\"reception\"]"),
            ("f.period.-.start", "2026-03-02"),
            ("f.period.-.end", "2026-03-08"),
            ("f.period.-.slot_minutes", "30"),
            ("f.rules.-.min_on_duty", "0"),
            ("f.rules.-.lunch", "{ window = [\"12:00\", \"13:00\"], length_minutes = 30 }"),
            ("f.posts.0.id", "desk"),
            ("f.posts.0.need", "[{ days = [\"weekday\"], from = \"09:00\", to = \"17:00\", min = 1 }]"),
            ("f.shifts.0.id", "D"),
            ("f.shifts.0.start", "09:00"),
            ("f.shifts.0.end", "17:00"),
            ("f.shifts.0.roles", "[\"reception\"]"),
            ("f.staff.0.id", "lin"),
            ("f.staff.0.roles", "[\"reception\"]"),
        ];
        fields.extend_from_slice(extra);
        post_form(&server, "/console/roster/team", Some(&cookie), None, &fields)
    };
    let bad = form(&[("f.staff.0.posts", "[\"garage\"]")]);
    assert_eq!(bad.status, 422, "{}", bad.body);
    let (_, next_to) = bad.body.split_once("name=\"f.staff.0.posts\"").expect("the field is shown");
    let next_to = &next_to[..next_to.find("</label>").unwrap()];
    assert!(next_to.contains("data-field=\"f.staff.0.posts\"") && next_to.contains("未知的岗位 `garage`"), "{next_to}");
    assert!(next_to.contains("value=\"[&#34;garage&#34;]\""), "the refused value is shown back: {next_to}");
    for (name, value, why) in [
        ("f.staff.99999999.id", "x", "不是排班文件中的条目"),
        ("f.staff.0.name", "lin\n[rules]", "只能写一行"),
        ("is_admin", "1", "不是排班表单的字段"),
    ] {
        let refused = form(&[("f.staff.0.posts", "[\"desk\"]"), (name, value)]);
        assert_eq!(refused.status, 422, "{name}");
        assert!(refused.body.contains(why), "{name}: {}", refused.body);
    }
    assert_eq!(team_file(&server, &cookie).body, SMALL_TEAM, "no refused form changed the file");
    let saved = form(&[("f.staff.0.posts", "[\"desk\"]")]);
    assert_eq!(
        (saved.status, saved.location.as_deref()),
        (303, Some("/console/roster/team?saved=1")),
        "{}",
        saved.body
    );
    let now = team_file(&server, &cookie);
    assert!(!now.body.contains("wu") && now.body.contains("id = \"lin\""), "{}", now.body);
    for comment in ["min_on_duty = 0 # the desk closes at night", "# lin trains new staff on Mondays\n[[staff]]"] {
        assert!(now.body.contains(comment), "the stored file's comments survive the form: {}", now.body);
    }
    assert!(get(&server, "/console/roster/team", Some(&cookie)).body.contains("版本 2"));
}

#[test]
fn a_roster_is_generated_moved_rechecked_published_and_exported_within_its_team() {
    let dir = tempfile::tempdir().unwrap();
    let (server, db) = sample_server(dir.path());
    let cookie = sign_in(&server, "wang.li", PASSWORD);
    assert_eq!(import(&server, &cookie, SMALL_TEAM).status, 303);
    let version = generate(&server, &cookie);
    let page = get(&server, "/console/roster", Some(&cookie)).body;
    assert!(page.contains("id=\"no-violations\""), "a week at one desk meets every rule:\n{page}");
    let english = get(&server, "/console/roster", Some(&format!("{cookie}; kefu_lang=en"))).body;
    for text in ["Every hard rule is met.", "Move a shift", "Mon 03-02", "Publish", "Export iCal"] {
        assert!(english.contains(text), "{text} in English:\n{english}");
    }

    // Give Wednesday's shift to zhou, who has a compensatory day then: the checker says so.
    let worker = ["lin", "wu"]
        .into_iter()
        .find(|id| page.contains(&format!("class=\"work\" data-staff=\"{id}\" data-date=\"2026-03-04\"")))
        .expect("someone works the desk on Wednesday");
    let moved = post_with_csrf(
        &server,
        &cookie,
        "/console/roster",
        "/console/roster/move",
        &[("version", &version), ("from", worker), ("date", "2026-03-04"), ("to", "zhou")],
    );
    assert_eq!(moved.status, 303, "{}", moved.body);
    let page = get(&server, moved.location.as_deref().unwrap(), Some(&cookie)).body;
    assert!(page.contains("zhou 在 2026-03-04 上班，当天是已批准的调休"), "{page}");
    assert!(
        page.contains("class=\"work flagged\" data-staff=\"zhou\" data-date=\"2026-03-04\""),
        "highlighted: {page}"
    );

    // Hostile moves are refused by field, and change nothing.
    for (form, why) in [
        ([("version", version.as_str()), ("from", "nobody"), ("date", "2026-03-04"), ("to", "")], "from: no staff"),
        ([("version", version.as_str()), ("from", "zhou"), ("date", "2027-01-01"), ("to", "")], "date: "),
        ([("version", "999"), ("from", "zhou"), ("date", "2026-03-04"), ("to", "")], "no roster version 999"),
        ([("version", "-1"), ("from", "zhou"), ("date", "2026-03-04"), ("to", "")], "not a roster version"),
    ] {
        let refused = post_with_csrf(&server, &cookie, "/console/roster", "/console/roster/move", &form);
        assert!(matches!(refused.status, 400 | 404), "{form:?}: {}", refused.status);
        assert!(refused.body.contains(why), "{form:?}: {}", refused.body);
    }
    for path in ["team", "team/import", "generate", "cancel", "move", "publish"] {
        let form =
            [("version", version.as_str()), ("from", worker), ("date", "2026-03-04"), ("to", ""), ("toml", SMALL_TEAM)];
        let no_csrf = post_form(&server, &format!("/console/roster/{path}"), Some(&cookie), None, &form);
        assert_eq!(no_csrf.status, 403, "{path} without its CSRF token");
        let elsewhere = format!("http://evil.example{path}");
        let forged = post_form(&server, &format!("/console/roster/{path}"), Some(&cookie), Some(&elsewhere), &form);
        assert_eq!(forged.status, 403, "{path} from another origin");
    }
    assert!(get(&server, "/console/roster", Some(&cookie)).body.contains("id=\"roster-draft\""), "nothing published");

    // Publish: the version is frozen; a move on it starts a new draft.
    let published =
        post_with_csrf(&server, &cookie, "/console/roster", "/console/roster/publish", &[("version", &version)]);
    assert_eq!(published.status, 303, "{}", published.body);
    let page = get(&server, &format!("/console/roster?version={version}"), Some(&cookie)).body;
    assert!(page.contains("id=\"roster-published\"") && page.contains("wang.li"), "{page}");
    let again =
        post_with_csrf(&server, &cookie, "/console/roster", "/console/roster/publish", &[("version", &version)]);
    assert_eq!(again.status, 400, "published once");
    let moved_back = post_with_csrf(
        &server,
        &cookie,
        "/console/roster",
        "/console/roster/move",
        &[("version", &version), ("from", "zhou"), ("date", "2026-03-04"), ("to", worker)],
    );
    let next: i64 = version.parse::<i64>().unwrap() + 1;
    assert_eq!(moved_back.location.as_deref(), Some(format!("/console/roster?version={next}").as_str()));
    let frozen = get(&server, &format!("/console/roster?version={version}"), Some(&cookie)).body;
    assert!(frozen.contains("当天是已批准的调休"), "the published version kept its shifts");
    assert!(
        get(&server, &format!("/console/roster?version={next}"), Some(&cookie)).body.contains("id=\"no-violations\"")
    );

    // The same roster for scripts, under /v1.
    let response =
        ureq::get(&format!("{}/v1/roster?version={version}", server.url())).set("Cookie", &cookie).call().unwrap();
    let api: serde_json::Value = serde_json::from_str(&response.into_string().unwrap()).unwrap();
    assert_eq!((api["version"].to_string(), api["published_by"].as_str()), (version.clone(), Some("wang.li")));
    assert!(api["published_at"].as_str().unwrap().ends_with("+08:00"), "team-local time: {api}");
    let violations = api["roster"]["violations"].as_array().unwrap();
    assert!(violations.iter().any(|v| v["rule"] == "leave" && v["at"] == "zhou"), "{api}");

    // Exports.
    let csv = get(&server, &format!("/console/roster.csv?version={next}"), Some(&cookie)).body;
    assert!(csv.starts_with('\u{feff}'), "BOM");
    assert!(csv.lines().any(|line| line.starts_with("zhou,周,")), "{csv}");
    let ics = get(&server, &format!("/console/roster.ics?version={next}&staff={worker}"), Some(&cookie)).body;
    assert!(ics.starts_with("BEGIN:VCALENDAR") && ics.contains("DTSTART:20260304T090000"), "{ics}");
    let print = get(&server, &format!("/console/roster/print?version={next}"), Some(&cookie)).body;
    assert!(print.contains("size: A4 landscape"), "{print}");
    assert_eq!(get(&server, "/console/roster.ics?staff=../../etc", Some(&cookie)).status, 400);

    // A shift given to nobody leaves the desk short, in words.
    let emptied = post_with_csrf(
        &server,
        &cookie,
        "/console/roster",
        "/console/roster/move",
        &[("version", &next.to_string()), ("from", worker), ("date", "2026-03-04"), ("to", "")],
    );
    assert_eq!(emptied.status, 303);
    let page = get(&server, &format!("/console/roster?version={next}"), Some(&cookie)).body;
    assert!(page.contains("data-rule=\"coverage\"") && page.contains("前台 需要 1 人，只有 0 人"), "{page}");
    let english =
        get(&server, &format!("/console/roster?version={next}"), Some(&format!("{cookie}; kefu_lang=en"))).body;
    assert!(english.contains("0 of 1 required at 前台"), "the breach in the page's language:\n{english}");
    assert!(page.contains(&format!("class=\"off\" data-staff=\"{worker}\" data-date=\"2026-03-04\"")), "{page}");
    let back = post_with_csrf(
        &server,
        &cookie,
        "/console/roster",
        "/console/roster/move",
        &[("version", &next.to_string()), ("from", "zhou"), ("date", "2026-03-04"), ("to", worker)],
    );
    assert_eq!(back.status, 400, "zhou has no shift that day: {}", back.body);
    assert!(back.body.contains("from: zhou has no shift on 2026-03-04"), "{}", back.body);

    // Another team's supervisor reaches none of it; an admin reaches it by name.
    admin_ok(&db, &["team", "create", "north"]);
    assert!(add_user(&db, "zhao.north", "north", "supervisor").status.success());
    assert!(add_user(&db, "root", "north", "admin").status.success());
    let north = sign_in(&server, "zhao.north", PASSWORD);
    for path in ["/console/roster?team=sample", "/console/roster/team?team=sample", "/console/roster.csv?team=sample"] {
        let answer = get(&server, path, Some(&north));
        assert_eq!(answer.status, 403, "{path}");
        assert!(!answer.body.contains("zhou"), "{path} leaks nothing");
    }
    assert!(get(&server, "/console/roster", Some(&north)).body.contains("id=\"team-none\""), "north has its own");
    let forged =
        post_with_csrf(&server, &north, "/console/roster", "/console/roster/publish?team=sample", &[("version", "2")]);
    assert_eq!(forged.status, 403);
    let root = sign_in(&server, "root", PASSWORD);
    assert!(get(&server, "/console/roster?team=sample", Some(&root)).body.contains("id=\"roster-meta\""));
    check_nothing_without_session(&server);
}

/// No roster page, export or action without a session.
fn check_nothing_without_session(server: &Server) {
    for path in ["/console/roster", "/console/roster/team", "/console/roster/print"] {
        assert_eq!(get(server, path, None).location.as_deref(), Some("/console/sign-in"), "{path}");
    }
    for path in ["/console/roster.csv", "/console/roster.xlsx", "/console/roster/team.toml", "/console/roster/progress"]
    {
        assert_eq!(get(server, path, None).status, 401, "{path}");
    }
    let posted = post_form(server, "/console/roster/generate", None, None, &[("time_limit", "5")]);
    assert_eq!(posted.location.as_deref(), Some("/console/sign-in"));
}

#[test]
fn a_running_solve_is_followed_live_limited_per_team_and_overall_and_cancel_kills_it() {
    let dir = tempfile::tempdir().unwrap();
    let (server, db) = sample_server(dir.path());
    let cookie = sign_in(&server, "wang.li", PASSWORD);
    let big_team = sixty_staff_team();
    assert_eq!(import(&server, &cookie, &big_team).status, 303);
    let generate = |limit: &str| {
        post_with_csrf(&server, &cookie, "/console/roster", "/console/roster/generate", &[("time_limit", limit)])
    };
    let refused = generate("0");
    assert!(refused.status == 400 && refused.body.contains("time_limit"), "{}", refused.body);
    assert_eq!(generate("300").status, 303);
    let busy = generate("300");
    assert_eq!(busy.status, 409);
    assert!(busy.body.contains("already being generated (started by wang.li)"), "{}", busy.body);

    // The progress stream says where the solve stands.
    let response = ureq::get(&format!("{}/console/roster/progress", server.url()))
        .set("Cookie", &cookie)
        .timeout(Duration::from_secs(30))
        .call()
        .unwrap();
    assert_eq!(response.content_type(), "text/event-stream");
    let mut events = std::io::BufRead::lines(std::io::BufReader::new(response.into_reader()));
    let data = events.find_map(|line| line.unwrap().strip_prefix("data:").map(str::to_string)).expect("an event");
    let state: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
    assert_eq!((state["phase"].as_str(), state["by"].as_str()), (Some("running"), Some("wang.li")), "{state}");
    assert!(state["elapsed"].as_f64().is_some() && state["time_limit"] == 300, "{state}");

    // Cancel ends the child process itself.
    let pid = wait_for_solver_pid(&server);
    assert!(Path::new(&format!("/proc/{pid}")).exists(), "the solver runs as process {pid}");
    let cancelled = post_with_csrf(&server, &cookie, "/console/roster", "/console/roster/cancel", &[]);
    assert_eq!(cancelled.status, 303);
    wait_until_cancelled(&server, &cookie, "/console/roster");
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the solver process {pid} is gone");
    let page = get(&server, "/console/roster", Some(&cookie)).body;
    assert!(page.contains("id=\"roster-none\""), "a cancelled solve stores no roster");
    assert_eq!(generate("300").status, 303, "the team may start again");

    // Two solves at once over all teams: an admin starts a second team's, a third waits.
    admin_ok(&db, &["team", "create", "north"]);
    admin_ok(&db, &["team", "create", "south"]);
    assert!(add_user(&db, "root", "north", "admin").status.success());
    let root = sign_in(&server, "root", PASSWORD);
    for team in ["north", "south"] {
        let page = format!("/console/roster/team?team={team}");
        let path = format!("/console/roster/team/import?team={team}");
        assert_eq!(post_with_csrf(&server, &root, &page, &path, &[("toml", &big_team)]).status, 303, "{team}");
    }
    let start = |team: &str| {
        let path = format!("/console/roster/generate?team={team}");
        post_with_csrf(&server, &root, "/console/roster", &path, &[("time_limit", "300")])
    };
    assert_eq!(start("north").status, 303);
    let third = start("south");
    assert_eq!(third.status, 409);
    assert!(third.body.contains("as many rosters as it can at once"), "{}", third.body);
    for (cookie, team) in [(&cookie, "sample"), (&root, "north")] {
        let path = format!("/console/roster/cancel?team={team}");
        assert_eq!(post_with_csrf(&server, cookie, "/console/roster", &path, &[]).status, 303);
        // Waited for, so no solver outlives the server this test kills.
        wait_until_cancelled(&server, cookie, &format!("/console/roster?team={team}"));
    }
}

#[test]
fn a_server_killed_mid_solve_leaves_no_solver_running() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _db) = sample_server(dir.path());
    let cookie = sign_in(&server, "wang.li", PASSWORD);
    let big_team = sixty_staff_team();
    assert_eq!(import(&server, &cookie, &big_team).status, 303);
    let started =
        post_with_csrf(&server, &cookie, "/console/roster", "/console/roster/generate", &[("time_limit", "300")]);
    assert_eq!(started.status, 303);
    let pid = wait_for_solver_pid(&server);
    assert!(running(pid), "the solver runs as process {pid}");
    server.kill();
    // The solver checks its parent every second; its 300 s limit is far beyond this wait.
    let deadline = Instant::now() + SOLVE_WAIT;
    while running(pid) {
        assert!(Instant::now() < deadline, "the solver {pid} outlived its killed server by {SOLVE_WAIT:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A generated 60-person, 4-week centre: a solve of it runs long enough to be watched, cancelled
/// or outlived.
fn sixty_staff_team() -> String {
    kefu_solver::generate::centre_toml(&kefu_solver::generate::CentreSpec {
        n_staff: 60,
        n_days: 28,
        start: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        slot_minutes: 30,
        seed: 7,
        extra_demand: 0,
    })
}

/// Whether process `pid` exists and has not exited (an exited child nobody reaped is a zombie).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')))
}

/// Waits until the roster page at `path` shows its solve cancelled.
fn wait_until_cancelled(server: &Server, cookie: &str, path: &str) {
    let deadline = Instant::now() + SOLVE_WAIT;
    while !get(server, path, Some(cookie)).body.contains("data-phase=\"cancelled\"") {
        assert!(Instant::now() < deadline, "{path}: the solve was not cancelled within {SOLVE_WAIT:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The process id the server logged when it started the solver.
fn wait_for_solver_pid(server: &Server) -> u32 {
    let deadline = Instant::now() + SOLVE_WAIT;
    loop {
        let log = server.stderr();
        let found = log.lines().filter(|line| line.contains("roster solve started")).find_map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).ok()?;
            value["pid"].as_u64()
        });
        if let Some(pid) = found {
            return u32::try_from(pid).unwrap();
        }
        assert!(Instant::now() < deadline, "no `roster solve started` in the log:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
