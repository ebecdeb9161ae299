//! The supervisor console in a real headless Chromium (Debian's `chromium` and `chromium-driver`,
//! installed by scripts/install-deps.sh), driven over W3C WebDriver by chromedriver: sign in, filter and
//! search the board, open a case, see a phone's new case appear without a reload, read the
//! monthly figures, export CSV and XLSX, switch the language; and the roster: edit the team and
//! see a field's error, generate and watch the progress, move a shift and see the breach flagged,
//! export CSV and XLSX, and time the page of a 60-person, four-week roster. A screenshot of each main page goes
//! to `$KEFU_SCREENSHOTS`, else `<target>/screenshots`.
//!
//! Without chromedriver the test is skipped with a loud message, except under CI (`CI` set),
//! where it fails: the set-up must have installed it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kefu_client::{ClientConfig, SyncClient};
use kefu_core::case::{CaseKind, Channel, Customer, NewCase, Priority};
use kefu_core::ids::Timestamp;
use kefu_core::store::{CaseStore, StoreConfig};
use kefu_solver::generate::{CentreSpec, centre_toml};
use serde_json::{Value, json};

use crate::console::{PASSWORD, add_user};
use crate::http_api::sample_tokens;
use crate::support::{Server, get_json, staff};

/// How long any one thing may take to show in the browser (CI machines are loaded).
const WAIT: Duration = Duration::from_secs(60);

/// chromedriver's path, if installed.
fn chromedriver() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/lib/chromium")])
        .map(|dir| dir.join("chromedriver"))
        .find(|path| path.is_file())
}

/// A chromedriver process on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(path: &std::path::Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on {port} within {WAIT:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshots_dir() -> PathBuf {
    let dir = std::env::var_os("KEFU_SCREENSHOTS")
        .map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../screenshots"), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The key W3C WebDriver names element references by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A W3C WebDriver session over plain HTTP (the handful of commands these tests use). Written
/// here rather than taken from fantoccini, whose dependencies change the features of the build
/// tools HiGHS is compiled with, which rebuilt HiGHS for every target directory.
struct Browser {
    session: String,
    agent: ureq::Agent,
}

impl Browser {
    fn open(driver: &Driver) -> Browser {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).build();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"]
            }
        }}});
        let answer = send(agent.post(&format!("{}/session", driver.url)), Some(capabilities))
            .unwrap_or_else(|(status, err)| panic!("chromedriver refused a session: {status} {err}"));
        let session = answer["value"]["sessionId"].as_str().expect("a session id").to_string();
        Browser { session: format!("{}/session/{session}", driver.url), agent }
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        match send(self.agent.request(method, &format!("{}{path}", self.session)), body) {
            Ok(mut answer) => answer["value"].take(),
            Err((status, err)) => panic!("WebDriver {method} {path}: {status} {err}"),
        }
    }

    fn try_find(&self, css: &str) -> Option<String> {
        let request = self.agent.post(&format!("{}/element", self.session));
        match send(request, Some(json!({"using": "css selector", "value": css}))) {
            Ok(answer) => answer["value"][ELEMENT].as_str().map(str::to_string),
            Err((404, _)) => None,
            Err((status, err)) => panic!("finding {css}: {status} {err}"),
        }
    }

    /// The element matching `css`, waiting for it to appear.
    fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(element) = self.try_find(css) {
                return element;
            }
            assert!(Instant::now() < deadline, "{css} did not appear within {WAIT:?} on {}", self.url());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.command("GET", "/url", None).as_str().unwrap_or_default().to_string()
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.command("POST", &format!("/element/{element}/click"), Some(json!({})));
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.command("POST", &format!("/element/{element}/value"), Some(json!({ "text": text })));
    }

    fn text(&self, css: &str) -> String {
        let element = self.find(css);
        self.command("GET", &format!("/element/{element}/text"), None).as_str().unwrap_or_default().to_string()
    }

    fn attribute(&self, css: &str, name: &str) -> String {
        let element = self.find(css);
        self.command("GET", &format!("/element/{element}/attribute/{name}"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.command("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    fn execute_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.command("POST", "/execute/async", Some(json!({ "script": script, "args": args })))
    }

    fn screenshot(&self, name: &str) {
        let png = base64_decode(self.command("GET", "/screenshot", None).as_str().expect("base64 PNG"));
        assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
        std::fs::write(screenshots_dir().join(format!("{name}.png")), png).unwrap();
    }

    /// Waits until `condition` holds of the text of `css`; returns that text. Read by a script,
    /// not through an element reference, so a page navigating or redrawing meanwhile (the old
    /// element gone stale) just means another look.
    fn wait_for_text(&self, css: &str, what: &str, condition: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        let script = "const element = document.querySelector(arguments[0]); return element ? element.innerText : '';";
        loop {
            let request = self.agent.post(&format!("{}/execute/sync", self.session));
            let text = send(request, Some(json!({ "script": script, "args": [css] })))
                .map(|answer| answer["value"].as_str().unwrap_or_default().to_string())
                .unwrap_or_default();
            if condition(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "{css} never showed {what}:\n{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Fetches `path` inside the signed-in page (with its cookie) and returns the bytes.
    fn fetch_bytes(&self, path: &str) -> Vec<u8> {
        let script = "const done = arguments[arguments.length - 1];
            fetch(arguments[0], { credentials: 'same-origin' })
              .then(r => r.arrayBuffer())
              .then(b => done(Array.from(new Uint8Array(b))))
              .catch(e => done('failed: ' + e));";
        let value = self.execute_async(script, vec![path.into()]);
        let bytes = value.as_array().unwrap_or_else(|| panic!("fetch of {path} failed: {value}"));
        bytes.iter().map(|byte| byte.as_u64().unwrap() as u8).collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.session).call();
    }
}

/// Sends a WebDriver command (a JSON body, or none) and reads its JSON answer; an error is the
/// HTTP status (0 if none came) and what the driver said.
fn send(request: ureq::Request, body: Option<Value>) -> Result<Value, (u16, String)> {
    let result = match body {
        Some(body) => request.set("Content-Type", "application/json").send_string(&body.to_string()),
        None => request.call(),
    };
    match result {
        Ok(response) => {
            Ok(serde_json::from_str(&response.into_string().expect("a WebDriver answer"))
                .expect("WebDriver answers JSON"))
        }
        Err(ureq::Error::Status(status, response)) => Err((status, response.into_string().unwrap_or_default())),
        Err(err) => Err((0, err.to_string())),
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |byte: u8| match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {byte}"),
    };
    let clean: Vec<u8> = text.bytes().filter(|byte| !byte.is_ascii_whitespace() && *byte != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let bits =
            chunk.iter().enumerate().fold(0u32, |bits, (at, byte)| bits | u32::from(value(*byte)) << (18 - 6 * at));
        out.extend_from_slice(&bits.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// chromedriver's path; `None` (after a loud message) when it is missing outside CI, where the
/// test is skipped. Under CI a missing driver fails the test.
fn chromedriver_or_skip() -> Option<PathBuf> {
    let found = chromedriver();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromedriver is not installed, and CI must run the browser tests: run scripts/install-deps.sh"
        );
        eprintln!(
            "\n!!!!!!!! SKIPPED the browser test: chromedriver is not installed (apt-get install chromium chromium-driver, \
             or run scripts/install-deps.sh as root) !!!!!!!!\n"
        );
    }
    found
}

/// Signs `wang.li` in through the form.
fn sign_in(browser: &Browser, base: &str) {
    browser.goto(&format!("{base}/console/cases"));
    assert!(browser.url().ends_with("/console/sign-in"), "pages ask for a session: {}", browser.url());
    browser.type_into("#name", "wang.li");
    browser.type_into("#password", PASSWORD);
    browser.click("#sign-in");
    browser.find("#cases");
}

#[test]
fn a_supervisor_works_the_console_in_headless_chromium() {
    let Some(driver_path) = chromedriver_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let server = Server::start(&db, &["--sample"]);
    let (supervisor, staff_token) = sample_tokens(&server);
    assert!(add_user(&db, "wang.li", "sample", "supervisor").status.success());
    let driver = Driver::start(&driver_path);
    let browser = Browser::open(&driver);
    let base = server.url();

    // Sign in.
    browser.goto(&format!("{base}/console/cases"));
    assert!(browser.url().ends_with("/console/sign-in"), "pages ask for a session: {}", browser.url());
    browser.screenshot("sign-in");
    browser.type_into("#name", "wang.li");
    browser.type_into("#password", PASSWORD);
    browser.click("#sign-in");
    let all = browser.wait_for_text("#cases", "the sample cases", |text| text.contains("地下室进水 B2"));
    assert!(all.contains("快递延误投诉"), "{all}");
    browser.screenshot("board");

    // Filter by kind, then search by customer.
    browser.click("#kind option[value='repair']");
    browser.click("#apply-filters");
    browser.wait_for_text("#cases", "only repairs", |text| {
        text.contains("地下室进水 B2") && !text.contains("快递延误投诉")
    });
    browser.goto(&format!("{base}/console/cases"));
    browser.type_into("#q", "陈先生");
    browser.click("#apply-filters");
    browser.wait_for_text("#cases", "the search for 陈先生", |text| {
        text.contains("快递延误投诉") && !text.contains("地下室")
    });

    // Open a case from the board.
    browser.goto(&format!("{base}/console/cases?q=%E7%94%B5%E6%A2%AF%E5%BC%82%E5%93%8D"));
    browser.click("#case-rows a");
    browser.wait_for_text("#timeline", "the case's timeline", |text| text.contains("bearing replaced"));
    let due = browser.text("#due-times");
    assert!(due.contains("按时完成"), "the reply was met in time: {due}");
    browser.screenshot("case");

    // A phone opens a case through kefu-client; the open board shows it without reloading.
    browser.goto(&format!("{base}/console/cases"));
    browser.find("body[data-live='1']");
    browser.execute("window.kefuNotReloaded = true;", vec![]);
    let config = ClientConfig::new(base.clone(), staff_token.clone());
    let phone_dir = tempfile::tempdir().unwrap();
    let mut store = CaseStore::open(phone_dir.path(), StoreConfig::default()).unwrap();
    kefu_client::bind(&mut store, &config).unwrap();
    let new = NewCase {
        kind: CaseKind::Complaint,
        channel: Channel::Phone,
        customer: Customer { name: "林女士".into(), phone: "139 1111 2222".into(), address: "7-1-303".into() },
        subject: "楼道灯不亮 7号楼".into(),
        description: "七号楼一单元三楼楼道灯连续三晚不亮，老人夜里上下楼不安全，请尽快维修。".into(),
        priority: Priority::High,
        service: None,
    };
    store.create_case(&new, &staff(), Timestamp::now()).unwrap();
    let store = Arc::new(Mutex::new(store));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(SyncClient::new(config).unwrap().sync(&store)).unwrap();
    browser.wait_for_text("#case-rows", "the phone's new case", |text| text.contains("楼道灯不亮 7号楼"));
    let kept = browser.execute("return window.kefuNotReloaded === true;", vec![]);
    assert_eq!(kept, Value::Bool(true), "the page was not reloaded");
    browser.screenshot("board-live");

    // The duty page.
    browser.goto(&format!("{base}/console/duty"));
    browser.find("section#handed-over");
    browser.screenshot("duty");

    // Monthly figures: the page shows what the API computes.
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    browser.goto(&format!("{base}/console/monthly?month={month}"));
    let (_, report) = get_json(&server, &format!("/v1/reports/monthly?month={month}"), Some(&supervisor));
    for rate in ["handling_rate", "timeliness_rate", "satisfaction_rate", "return_visit_rate"] {
        let counts = browser.text(&format!("tr[data-rate='{rate}'] .counts"));
        assert_eq!(counts, format!("{} / {}", report[rate]["numerator"], report[rate]["denominator"]), "{rate}");
    }
    browser.find("#chart");
    browser.screenshot("monthly");

    // Exports, fetched by the signed-in page through its export links.
    let csv = browser.fetch_bytes(&browser.attribute("#export-csv", "href"));
    assert_eq!(&csv[..3], b"\xEF\xBB\xBF", "UTF-8 with BOM");
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert_eq!(text.lines().count(), 13, "{text}");
    let received = report["all"]["received"].as_u64().unwrap();
    assert!(text.lines().last().unwrap().starts_with(&format!("{month},{received},")), "{text}");
    let xlsx = browser.fetch_bytes(&browser.attribute("#export-xlsx", "href"));
    assert_eq!(&xlsx[..4], b"PK\x03\x04", "an XLSX is a zip archive");
    assert!(String::from_utf8_lossy(&xlsx).contains("xl/worksheets/sheet1.xml"), "the workbook has its sheet");

    // Switch to English and back.
    browser.click("#lang-switch");
    browser.find("html[lang='en']");
    let heading = browser.text("main h1");
    assert!(heading.starts_with("Monthly figures"), "{heading}");
    browser.screenshot("monthly-en");
    browser.click("#lang-switch");
    browser.find("html[lang='zh-CN']");
    drop(browser);
    drop(driver);
}

/// Sets a form control's value by script (a whole team file is too long to type key by key).
fn set_value(browser: &Browser, css: &str, value: &str) {
    browser.find(css);
    browser.execute("document.querySelector(arguments[0]).value = arguments[1];", vec![css.into(), value.into()]);
}

/// Starts a solve from the roster page with `time_limit` seconds and waits for its roster.
/// Returns its version, and whether the running page was seen to follow the solve live (its
/// elapsed time counted up over server-sent events, without a reload) before the finished
/// roster was loaded; a solve done within a second may not show that.
fn generate_and_watch(browser: &Browser, base: &str, time_limit: &str) -> (String, bool) {
    browser.goto(&format!("{base}/console/roster"));
    set_value(browser, "#time-limit", time_limit);
    browser.click("#generate");
    browser.find("#progress[data-phase='running']");
    browser.find("#cancel");
    browser.execute("window.kefuWatching = true;", vec![]);
    let script = "const box = document.getElementById('progress');
        const elapsed = document.getElementById('progress-elapsed');
        return [window.kefuWatching === true, box ? box.dataset.phase : '', elapsed ? Number(elapsed.textContent) : 0,
                document.getElementById('roster-meta') !== null];";
    let deadline = Instant::now() + WAIT;
    let mut live = false;
    loop {
        let request = browser.agent.post(&format!("{}/execute/sync", browser.session));
        // A failure is the page navigating meanwhile: another look.
        if let Ok(answer) = send(request, Some(json!({ "script": script, "args": [] }))) {
            let state = &answer["value"];
            let watching = state[0].as_bool() == Some(true);
            live |= watching && state[1] == "running" && state[2].as_f64().unwrap_or(0.0) >= 1.0;
            if !watching && state[1] == "done" && state[3] == true {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the solve did not finish within {WAIT:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let lines = browser.text("#progress-lines");
    assert!(lines.contains("roster search ended at"), "best, bound and gap are reported: {lines}");
    let best = browser.text("#progress-best");
    assert!(best.parse::<f64>().is_ok(), "the best objective is shown: {best}");
    (browser.attribute("#roster-meta", "data-version"), live)
}

#[test]
fn a_supervisor_builds_a_roster_in_headless_chromium() {
    let Some(driver_path) = chromedriver_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let server = Server::start(&db, &["--sample"]);
    assert!(add_user(&db, "wang.li", "sample", "supervisor").status.success());
    let driver = Driver::start(&driver_path);
    let browser = Browser::open(&driver);
    let base = server.url();
    sign_in(&browser, &base);

    // Import a small centre, then edit it: a post that does not exist is flagged at its field.
    let spec = |n_staff, n_days| CentreSpec {
        n_staff,
        n_days,
        start: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        slot_minutes: 30,
        seed: 7,
        extra_demand: 0,
    };
    browser.goto(&format!("{base}/console/roster/team"));
    browser.find("#team-none");
    set_value(&browser, "#import-toml", &centre_toml(&spec(12, 7)));
    browser.click("#import-button");
    browser.find("#team-saved");
    set_value(&browser, "input[name='f.staff.0.posts']", "[\"garage\"]");
    browser.click("#team-save");
    let message = browser.text("label.invalid small.field-error[data-field='f.staff.0.posts']");
    assert!(message.contains("未知的岗位 `garage`"), "in the page's language: {message}");
    assert_eq!(browser.attribute("input[name='f.staff.0.posts']", "aria-invalid"), "true");
    browser.execute("document.querySelector('label.invalid').scrollIntoView({ block: 'center' });", vec![]);
    browser.screenshot("roster-team-error");
    browser.goto(&format!("{base}/console/roster/team"));
    assert!(browser.text("#team-version").contains("版本 1"), "the refused edit changed nothing");

    // Generate, watching the progress; the grid shows lunch turns.
    generate_and_watch(&browser, &base, "5");
    assert!(browser.try_find("table.by-person .lunch").is_some(), "lunch turns are marked");
    browser.execute("document.getElementById('grid').scrollIntoView();", vec![]);
    browser.screenshot("roster");
    browser.click("#view-post");
    browser.find("table.by-post");
    browser.execute("document.getElementById('grid').scrollIntoView();", vec![]);
    browser.screenshot("roster-by-post");
    browser.click("#view-person");

    // Move a shift by hand onto someone who already works that day: the checker flags it.
    let pick = browser.execute(
        "const seen = {};
         for (const cell of document.querySelectorAll('table.by-person td.work')) {
           const date = cell.dataset.date, staff = cell.dataset.staff;
           if (seen[date] && seen[date] !== staff) { return [seen[date], staff, date]; }
           seen[date] = staff;
         }
         return null;",
        vec![],
    );
    let pick: Vec<String> = serde_json::from_value(pick).expect("two people work the same day");
    let (from, to, date) = (&pick[0], &pick[1], &pick[2]);
    set_value(&browser, "#move-from", from);
    set_value(&browser, "#move-date", date);
    set_value(&browser, "#move-to", to);
    browser.click("#move");
    let violations = browser
        .wait_for_text("#violations", "the breach", |text| text.contains(&format!("{to} 在 {date} 有 2 个班次")));
    assert!(violations.contains("每天一班"), "the rule is named in the page's language: {violations}");
    assert!(!violations.contains("shifts starting on"), "no English sentence on the Chinese page: {violations}");
    browser.find(&format!("table.by-person td.flagged[data-staff='{to}'][data-date='{date}']"));
    browser.execute(
        "document.querySelector('td.flagged[data-staff=\"' + arguments[0] + '\"]').scrollIntoView({ block: 'center' });",
        vec![to.as_str().into()],
    );
    browser.screenshot("roster-breach");

    // Exports of the moved roster, fetched by the signed-in page.
    let csv = browser.fetch_bytes(&browser.attribute("#export-csv", "href"));
    assert_eq!(&csv[..3], b"\xEF\xBB\xBF", "UTF-8 with BOM");
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("员工,姓名,2026-03-02 周一,"), "{text}");
    assert_eq!(lines.clone().count(), 12, "a row per person: {text}");
    assert!(lines.any(|line| line.starts_with(&format!("{to},"))), "{text}");
    let xlsx = browser.fetch_bytes(&browser.attribute("#export-xlsx", "href"));
    assert_eq!(&xlsx[..4], b"PK\x03\x04", "an XLSX is a zip archive");
    assert!(String::from_utf8_lossy(&xlsx).contains("xl/worksheets/sheet1.xml"), "a sheet per week");
    browser.goto(&format!("{base}{}", browser.attribute("#print", "href")));
    browser.find("body.print table.by-person");
    browser.screenshot("roster-print");

    // Speed: the roster page of a 60-person, four-week centre, as the browser times it.
    browser.goto(&format!("{base}/console/roster/team"));
    set_value(&browser, "#import-toml", &centre_toml(&spec(60, 28)));
    browser.click("#import-button");
    browser.find("#team-saved");
    let (_, live) = generate_and_watch(&browser, &base, "4");
    assert!(live, "the page followed a solve of several seconds live, without a reload");
    let mut loads = Vec::new();
    for _ in 0..5 {
        browser.goto(&format!("{base}/console/roster"));
        browser.find("#grid");
        let timing = browser.execute(
            "const t = performance.getEntriesByType('navigation')[0];
             return [t.responseStart - t.requestStart, t.loadEventEnd > 0 ? t.loadEventEnd : performance.now(), t.transferSize];",
            vec![],
        );
        loads.push((timing[0].as_f64().unwrap(), timing[1].as_f64().unwrap(), timing[2].as_f64().unwrap_or(0.0)));
    }
    let cells = browser.execute("return document.querySelectorAll('table.by-person td').length;", vec![]);
    assert_eq!(cells.as_u64(), Some(60 * 28), "the whole roster is on the page");
    // Printed for BENCHMARKS.md, not asserted: a loaded CI machine times nothing reliably.
    eprintln!("roster page of 60 staff × 28 days (server ms, loaded ms, bytes): {loads:?}");
    browser.screenshot("roster-60");
    drop(browser);
    drop(driver);
}
