//! Case board benchmark (issue 18: "the case board with 10,000 cases answers a filter within
//! 100 ms server time"). A real `kefu serve` on SQLite is loaded with N cases (default 10,000),
//! each with a Chinese description of about 300 characters and 20 timeline entries, pushed over
//! `POST /v1/sync` as a device would; then each board filter is asked `KEFU_BENCH_REPEAT` times
//! (default 20) over `GET /v1/cases`, and the server's own per-request log line gives the server
//! time (from request to response, JSON included). Prints one table: filter, rows, p50 and max.
//!
//! Run: `cargo bench -p kefu-server --bench console_board` with `KEFU_BIN` pointing at a built
//! `kefu` (else the release binary under the target directory). `KEFU_BENCH_CASES` sets N.
//! Leaves out: the browser's rendering time.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kefu_core::case::{
    CaseDoc, CaseEdit, CaseKind, CasePolicy, Channel, Customer, EditContext, FeedbackDirection, NewCase, Priority,
    Status, provisional_number,
};
use kefu_core::ids::{CaseId, DeviceId, StaffId, Timestamp};
use kefu_core::sync::{DocPush, Message, Push, encode};

fn kefu_bin() -> PathBuf {
    if let Ok(path) = std::env::var("KEFU_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"), PathBuf::from);
    let release = target.join("release/kefu");
    assert!(release.exists(), "no release kefu binary: run `cargo build --release -p kefu-server` or set KEFU_BIN");
    release
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn admin(db: &Path, args: &[&str]) -> String {
    let output = Command::new(kefu_bin()).arg("admin").arg("--db").arg(db).args(args).output().expect("kefu admin");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8").trim().to_string()
}

/// The server and a receiver of the server times (µs) its log reports for `GET /v1/cases`.
fn start(db: &Path) -> (Child, SocketAddr, mpsc::Receiver<u64>) {
    let mut child = Command::new(kefu_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--max-docs-per-round", "500"])
        .args(["--rate-limit-per-sec", "100000", "--rate-limit-burst", "100000"])
        .arg("--db")
        .arg(db)
        .env("RUST_LOG", "kefu=info,tower_http=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kefu serve");
    let (addr_tx, addr_rx) = mpsc::channel();
    let (time_tx, time_rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
            let message = json["message"].as_str().unwrap_or("");
            if let Some(addr) = message.strip_prefix("listening on ") {
                let _ = addr_tx.send(addr.parse::<SocketAddr>().expect("address"));
            }
            if message == "finished processing request"
                && json["span"]["route"] == "/v1/cases"
                && let Some(micros) = json["latency"].as_str().and_then(micros)
            {
                let _ = time_tx.send(micros);
            }
        }
    });
    let addr = addr_rx.recv_timeout(Duration::from_secs(60)).expect("kefu serve listens");
    (child, addr, time_rx)
}

/// tower-http's latency field (`"1234 μs"`, or another unit) in microseconds.
fn micros(latency: &str) -> Option<u64> {
    let (value, unit) = latency.split_once(' ')?;
    let value: u64 = value.parse().ok()?;
    match unit {
        "μs" | "µs" => Some(value),
        "ms" => Some(value * 1000),
        "s" => Some(value * 1_000_000),
        _ => None,
    }
}

const DESCRIPTION: &str = "业主来电反映：地下车库B2层东侧排水沟堵塞，连续降雨后积水已漫过车位，约有十余辆车停在积水区域，\
    部分车主担心车辆底盘进水。业主称上周已经向前台口头反映过一次，但至今没有人处理，情绪比较激动，\
    要求物业今天之内派人疏通并给出书面答复。另外业主提到车库照明有三盏灯不亮，夜间取车存在安全隐患，\
    希望一并处理。前台已记录联系电话，并告知业主工程部会在两小时内到场查看，处理结果将电话回访。\
    业主表示如果再拖延将向街道和住建部门投诉。请工程部优先安排人员和抽水设备，处理完成后拍照留存。";

/// A case with 20 timeline entries, written by `device`.
fn case(device: DeviceId, serial: u64, opened: Timestamp) -> CaseDoc {
    let policy = CasePolicy::default();
    let desk = StaffId::new("desk.li").expect("staff id");
    let repair = StaffId::new(format!("repair.{}", serial % 7)).expect("staff id");
    let kinds = [CaseKind::Repair, CaseKind::Complaint, CaseKind::Consultation, CaseKind::Suggestion, CaseKind::Help];
    let new = NewCase {
        kind: kinds[(serial % 5) as usize],
        channel: Channel::Phone,
        customer: Customer {
            name: format!("业主{serial}"),
            phone: format!("138-{:04}-{:04}", serial / 10_000, serial % 10_000),
            address: format!("{}-{}-{}", serial % 9 + 1, serial % 3 + 1, 100 + serial % 30),
        },
        subject: format!("地下车库积水 {}号楼 第{serial}单", serial % 12 + 1),
        description: DESCRIPTION.to_string(),
        priority: Priority::Normal,
        service: None,
    };
    let ctx = EditContext { at: opened, by: &desk, policy: &policy };
    let mut doc =
        CaseDoc::create(device, CaseId::random(), &new, &provisional_number(device, serial), &ctx).expect("case opens");
    let mut edits = vec![
        (
            &desk,
            CaseEdit::Transfer {
                to_department: Some(["工程部", "客服部", "安保部"][(serial % 3) as usize].into()),
                to_assignee: Some(repair.clone()),
                reason: "转工程部处理".into(),
            },
        ),
        (&desk, CaseEdit::Transition { to: Status::Dispatched, reason: "已派单".into() }),
        (&repair, CaseEdit::Transition { to: Status::InProgress, reason: "到场".into() }),
        (
            &desk,
            CaseEdit::Feedback {
                direction: FeedbackDirection::ToCustomer, text: "已电话告知业主处理进度".into()
            },
        ),
    ];
    for note in 0..15 {
        edits.push((
            &repair,
            CaseEdit::AddNote(format!("第{note}次现场记录：抽水进行中，水位下降约{note}厘米，继续观察。")),
        ));
    }
    if serial.is_multiple_of(2) {
        edits.push((&repair, CaseEdit::Transition { to: Status::Completed, reason: "疏通完成".into() }));
    } else {
        edits.push((&repair, CaseEdit::AddNote("等待配件".into())));
    }
    for (at, (by, edit)) in edits.iter().enumerate() {
        let ctx = EditContext { at: opened.plus_hours(at as i64 + 1), by, policy: &policy };
        doc.apply(&ctx, edit).expect("edit applies");
    }
    doc
}

fn post(addr: SocketAddr, token: &str, push: &Push) {
    let body = encode(&Message::Push(push.clone()));
    let response = ureq::post(&format!("http://{addr}/v1/sync"))
        .set("Authorization", &format!("Bearer {token}"))
        .timeout(Duration::from_secs(600))
        .send_bytes(&body)
        .expect("push accepted");
    assert_eq!(response.status(), 200);
}

fn main() {
    let n_cases = env_usize("KEFU_BENCH_CASES", 10_000);
    let repeat = env_usize("KEFU_BENCH_REPEAT", 20);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("kefu.sqlite3");
    admin(&db, &["team", "create", "bench"]);
    let token = admin(&db, &["device", "issue", "--team", "bench", "--role", "admin"]);
    let device = DeviceId::of_token(&token).expect("token names its device");
    let (mut server, addr, times) = start(&db);

    let loading = Instant::now();
    let now = Timestamp::now();
    let batch = 400;
    for first in (0..n_cases).step_by(batch) {
        let docs: Vec<DocPush> = (first..(first + batch).min(n_cases))
            .map(|serial| {
                // Spread over the last 200 days, oldest first, a case every ~30 minutes.
                let opened = now.plus_days(-200).plus_hours((serial as i64) / 2);
                let doc = case(device, serial as u64, opened);
                DocPush { id: doc.id().to_string(), heads: doc.heads(), changes: doc.save() }
            })
            .collect();
        post(addr, &token, &Push { docs, ..Push::default() });
    }
    eprintln!("loaded {n_cases} cases in {:.1} s", loading.elapsed().as_secs_f64());

    let today = chrono::Utc::now().date_naive();
    let month_ago = (today - chrono::Days::new(30)).format("%Y-%m-%d").to_string();
    let filters = [
        ("newest 200, no filter", String::new()),
        ("status=in_progress", "status=in_progress".to_string()),
        ("kind=repair&overdue=true", "kind=repair&overdue=true".to_string()),
        ("assignee=repair.3", "assignee=repair.3".to_string()),
        ("department=工程部", "department=%E5%B7%A5%E7%A8%8B%E9%83%A8".to_string()),
        ("from=30 days ago", format!("from={month_ago}")),
        ("q=业主4242 (customer)", "q=%E4%B8%9A%E4%B8%BB4242".to_string()),
        ("q=13800004242 (phone digits)", "q=13800004242".to_string()),
        ("q=积水 (subject, all match)", "q=%E7%A7%AF%E6%B0%B4".to_string()),
        ("limit=1000", "limit=1000".to_string()),
    ];
    println!("| filter | rows | server p50 | server max | client p50 |");
    println!("|---|---|---|---|---|");
    for (name, query) in filters {
        let mut server_times = Vec::new();
        let mut client_times = Vec::new();
        let mut rows = 0;
        for _ in 0..repeat {
            let started = Instant::now();
            let text = ureq::get(&format!("http://{addr}/v1/cases?{query}"))
                .set("Authorization", &format!("Bearer {token}"))
                .call()
                .expect("list answers")
                .into_string()
                .expect("a body");
            let body: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            client_times.push(started.elapsed());
            rows = body.as_array().map_or(0, Vec::len);
            server_times.push(times.recv_timeout(Duration::from_secs(30)).expect("the server logs the request"));
        }
        server_times.sort_unstable();
        client_times.sort_unstable();
        let ms = |micros: u64| format!("{:.1} ms", micros as f64 / 1000.0);
        println!(
            "| {name} | {rows} | {} | {} | {:.1} ms |",
            ms(server_times[server_times.len() / 2]),
            ms(*server_times.last().expect("times")),
            client_times[client_times.len() / 2].as_secs_f64() * 1000.0
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}
