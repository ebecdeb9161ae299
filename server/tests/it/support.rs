//! Test support: spawning the real `kefu` binary in a temp dir, running `kefu admin`, and a
//! minimal device (a `CaseStore` plus blocking HTTP and WebSocket transports) to sync with.
//!
//! Every wait has a deadline; a failing test prints the server's stderr. Leaves out: the
//! production device driver (kefu-client), which the tests deliberately do not use so the
//! server is checked against the wire contract itself (only `tls.rs` and `live.rs` use it, to
//! check the client's own TLS and live sessions; [`spawn_live`] and [`new_repair`] serve them).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use kefu_core::case::{CaseKind, Channel, Customer, NewCase, Priority};
use kefu_core::ids::{StaffId, Timestamp};
use kefu_core::store::{CaseStore, StoreConfig};
use kefu_core::sync::{Message, Push, Refusal, Reply, decode, encode};
use sha2::{Digest, Sha256};

/// The binary under test.
pub fn kefu_bin() -> &'static str {
    env!("CARGO_BIN_EXE_kefu")
}

/// The PostgreSQL server the tests run against instead of SQLite, when the test command started
/// one (`scripts/with-postgres.sh` sets `KEFU_TEST_POSTGRES` to its URL).
pub fn postgres() -> Option<String> {
    std::env::var("KEFU_TEST_POSTGRES").ok().filter(|url| !url.is_empty())
}

/// What `--db` gets for a test's database file: the file, or on PostgreSQL a database of its
/// own named after the file's path (created on first use), so tests stay apart on either.
pub fn db_arg(db: &Path) -> OsString {
    let Some(admin_url) = postgres() else { return db.as_os_str().to_owned() };
    let digest = Sha256::digest(db.as_os_str().as_encoded_bytes());
    let name: String = format!("kefu_{}", digest.iter().take(12).map(|byte| format!("{byte:02x}")).collect::<String>());
    static CREATED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut created = CREATED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !created.contains(&name) {
        // On a thread of its own: the client runs a runtime, which a tokio test's thread refuses.
        let (url, create) = (admin_url.clone(), format!("CREATE DATABASE {name}"));
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("the test PostgreSQL answers");
            if let Err(err) = client.batch_execute(&create) {
                let exists = err.code() == Some(&postgres::error::SqlState::DUPLICATE_DATABASE);
                assert!(exists, "{create} failed: {err}");
            }
        })
        .join()
        .expect("the test database exists");
        created.push(name.clone());
    }
    let (base, _) = admin_url.rsplit_once('/').expect("a database URL");
    OsString::from(format!("{base}/{name}"))
}

/// Runs `kefu admin --db <db> <args>` and returns its output (whatever the exit status).
pub fn admin(db: &Path, args: &[&str]) -> Output {
    Command::new(kefu_bin()).arg("admin").arg("--db").arg(db_arg(db)).args(args).output().expect("kefu admin runs")
}

/// Runs an admin command that must succeed; returns stdout.
pub fn admin_ok(db: &Path, args: &[&str]) -> String {
    let output = admin(db, args);
    assert!(output.status.success(), "kefu admin {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

/// Creates a team and issues one token per role given; returns the tokens in order.
pub fn team_with_tokens(db: &Path, team: &str, roles: &[&str]) -> Vec<String> {
    admin_ok(db, &["team", "create", team]);
    roles.iter().map(|role| issue(db, team, role)).collect()
}

/// Device ids in `kefu admin device list` output, in row order.
pub fn listed_device_ids(listing: &str) -> Vec<String> {
    listing
        .split_whitespace()
        .filter(|word| word.len() == 36 && word.matches('-').count() == 4)
        .map(str::to_string)
        .collect()
}

/// Issues a token.
pub fn issue(db: &Path, team: &str, role: &str) -> String {
    admin_ok(db, &["device", "issue", "--team", team, "--role", role]).trim().to_string()
}

/// A running `kefu serve`.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
    // Ends when the process has exited and its stderr is read to the end.
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    /// What it printed on stdout before listening (the sample banner).
    pub stdout: String,
}

const START_DEADLINE: Duration = Duration::from_secs(30);

impl Server {
    /// Starts `kefu serve` on a free port with its database at `db`, plus `extra` flags.
    pub fn start(db: &Path, extra: &[&str]) -> Server {
        Server::spawn(Command::new(kefu_bin()), db, extra)
    }

    /// [`Server::start`] with `--db` given as is (a PostgreSQL URL through a proxy, say).
    pub fn start_on(db: &str, extra: &[&str]) -> Server {
        let mut command = Command::new(kefu_bin());
        command.env("KEFU_DB", db);
        Server::spawn_with(command, None, extra)
    }

    /// [`Server::start`] with the soft and hard open-file limits set to `limit` (as a small
    /// deployment's default of 1,024 would be), through the shell's `ulimit`.
    pub fn start_with_open_file_limit(db: &Path, extra: &[&str], limit: u32) -> Server {
        let mut command = Command::new("sh");
        command.args(["-c", "ulimit -n \"$1\" && shift && exec \"$@\"", "sh", &limit.to_string(), kefu_bin()]);
        Server::spawn(command, db, extra)
    }

    /// [`Server::start`] with `RUST_LOG` unset, so the server logs at its default levels.
    pub fn start_with_default_log(db: &Path, extra: &[&str]) -> Server {
        let mut command = Command::new(kefu_bin());
        command.env_remove("RUST_LOG");
        Server::spawn(command, db, extra)
    }

    fn spawn(command: Command, db: &Path, extra: &[&str]) -> Server {
        Server::spawn_with(command, Some(db), extra)
    }

    /// Spawns `kefu serve` with `--db` for `db`, or with none (`KEFU_DB` set by the caller).
    fn spawn_with(mut command: Command, db: Option<&Path>, extra: &[&str]) -> Server {
        if command.get_envs().all(|(name, _)| name != "RUST_LOG") {
            command.env("RUST_LOG", "kefu=debug,tower_http=info");
        }
        command.args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"]);
        if let Some(db) = db {
            command.arg("--db").arg(db_arg(db));
        }
        let mut child =
            command.args(extra).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("kefu serve starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (listening_tx, listening_rx) = mpsc::channel();
        let reader = BufReader::new(child.stderr.take().expect("piped stderr"));
        let sink = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                // Recorded before announcing, so whoever is woken sees the line in `stderr()`.
                {
                    let mut all = sink.lock().unwrap();
                    all.push_str(&line);
                    all.push('\n');
                }
                if let Some(addr) = listening_addr(&line) {
                    let _ = listening_tx.send(addr);
                }
            }
        });
        let addr = match listening_rx.recv_timeout(START_DEADLINE) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "kefu serve did not log `listening on` within {START_DEADLINE:?}; stderr:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        // The banner (if any) is printed before the log line, so it is complete now; stdout is
        // then drained in the background so the child never blocks on a full pipe.
        let mut stdout = String::new();
        let mut out = child.stdout.take().expect("piped stdout");
        if extra.contains(&"--sample") {
            let mut reader = BufReader::new(&mut out);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if line.contains("devices sync at") {
                    break;
                }
            }
            stdout = line;
        }
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        Server { child, addr, stderr, stderr_reader: Some(stderr_reader), stdout }
    }

    /// The process's peak and current resident memory in KiB (`VmHWM`, `VmRSS` of
    /// `/proc/<pid>/status`).
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("/proc status");
        let field = |name: &str| -> u64 {
            let line = status.lines().find(|line| line.starts_with(name)).expect("a memory line");
            line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("KiB")
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `https://<addr>`, for a server started with `--tls-cert`.
    pub fn https_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// SIGTERM and wait for the exit (graceful shutdown), with a deadline.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        self.sigterm();
        self.wait_for_exit()
    }

    /// Sends SIGTERM (a graceful shutdown starts) and returns at once.
    pub fn sigterm(&self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    }

    /// Waits for the process to exit, with a deadline; then everything it logged is in
    /// [`Server::stderr`].
    pub fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                if let Some(reader) = self.stderr_reader.take() {
                    reader.join().expect("stderr reader");
                }
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "kefu serve did not stop on SIGTERM:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- kefu serve stderr ---\n{}", self.stderr());
        }
    }
}

/// The address in a JSON `listening on <addr>` log line.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find("listening on ")? + "listening on ".len()..];
    rest.split(|c: char| c == '"' || c.is_whitespace()).next()?.parse().ok()
}

/// What one `Device::sync` took and got.
#[derive(Debug, Default)]
pub struct SyncStats {
    /// Requests made.
    pub rounds: usize,
    /// Frame bytes sent.
    pub bytes_up: usize,
    /// Frame bytes received.
    pub bytes_down: usize,
    /// Documents the server refused.
    pub refused: Vec<(String, Refusal)>,
}

/// A frame exchange over `POST /v1/sync`: (status, decoded answer).
pub fn post_frame(server: &Server, token: Option<&str>, body: &[u8]) -> (u16, Message) {
    let (status, message, _) = post_frame_counted(server, token, body);
    (status, message)
}

/// [`post_frame`], also returning the answer's size in bytes.
pub fn post_frame_counted(server: &Server, token: Option<&str>, body: &[u8]) -> (u16, Message, usize) {
    let mut request = ureq::post(&format!("{}/v1/sync", server.url())).timeout(Duration::from_secs(30));
    if let Some(token) = token {
        request = request.set("Authorization", &format!("Bearer {token}"));
    }
    let response = match request.send_bytes(body) {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(err) => panic!("POST /v1/sync failed: {err}\n{}", server.stderr()),
    };
    let status = response.status();
    let mut bytes = Vec::new();
    response.into_reader().read_to_end(&mut bytes).expect("body");
    let message = decode(&bytes, usize::MAX).unwrap_or_else(|err| panic!("status {status}: not a frame: {err}"));
    (status, message, bytes.len())
}

/// A JSON GET: (status, body).
pub fn get_json(server: &Server, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let mut request = ureq::get(&format!("{}{path}", server.url())).timeout(Duration::from_secs(30));
    if let Some(token) = token {
        request = request.set("Authorization", &format!("Bearer {token}"));
    }
    let response = match request.call() {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(err) => panic!("GET {path} failed: {err}"),
    };
    let status = response.status();
    let text = response.into_string().expect("body");
    (status, serde_json::from_str(&text).unwrap_or_else(|err| panic!("GET {path}: not JSON ({err}): {text}")))
}

/// A plain-text GET with a generous deadline: (status, body).
pub fn get_text(server: &Server, path: &str) -> (u16, String) {
    let response = match ureq::get(&format!("{}{path}", server.url())).timeout(Duration::from_secs(60)).call() {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(err) => panic!("GET {path} failed: {err}\n{}", server.stderr()),
    };
    let status = response.status();
    (status, response.into_string().expect("body"))
}

/// Reads until the server closes the connection; `None` if it is still open after `deadline`.
pub fn read_until_closed(stream: &mut TcpStream, deadline: Duration) -> Option<Vec<u8>> {
    stream.set_read_timeout(Some(deadline)).expect("read timeout");
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(received),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return None;
            }
            // A reset is the server closing too (it had unread bytes from us).
            Err(_) => return Some(received),
        }
    }
}

/// A phone: a durable case store and the token it syncs with.
pub struct Device {
    /// The store.
    pub store: CaseStore,
    /// Its token.
    pub token: String,
    _dir: tempfile::TempDir,
}

impl Device {
    /// A new device with an empty store.
    pub fn new(token: &str) -> Device {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = CaseStore::open(dir.path(), StoreConfig::default()).expect("store opens");
        // Edits are accepted only under the token's device (see CaseStore::bind_device).
        if let Some(device) = kefu_core::ids::DeviceId::of_token(token) {
            store.bind_device(device).expect("store binds");
        }
        Device { store, token: token.to_string(), _dir: dir }
    }

    /// Opens a case; returns its id.
    pub fn open_case(&mut self, subject: &str) -> kefu_core::ids::CaseId {
        self.store.create_case(&new_repair(subject), &staff(), Timestamp::now()).expect("case opens").id
    }

    /// Rounds over `POST /v1/sync` until nothing is left either way.
    pub fn sync(&mut self, server: &Server) -> Result<SyncStats, Refusal> {
        let mut stats = SyncStats::default();
        let mut more = false;
        for round in 0..100 {
            let push = self.store.prepare_push(200).expect("push");
            // Always one round, to fetch; then while there is something to send or fetch.
            if round > 0 && push.docs.is_empty() && !more {
                return Ok(stats);
            }
            let body = encode(&Message::Push(push.clone()));
            let (_, message, down) = post_frame_counted(server, Some(&self.token), &body);
            stats.rounds += 1;
            stats.bytes_up += body.len();
            stats.bytes_down += down;
            let reply = match message {
                Message::Reply(reply) => reply,
                Message::Refuse(refusal) => return Err(refusal),
                Message::Push(_) => panic!("server sent a push"),
            };
            let outcome = self.store.apply_reply(&push, &reply).expect("reply applies");
            stats.refused.extend(outcome.refused);
            more = outcome.more;
        }
        panic!("sync did not settle in 100 rounds");
    }

    /// Every case as (id, subject, assigned number, timeline length), sorted: what convergence compares.
    pub fn snapshot(&mut self) -> Vec<(String, String, Option<String>, usize)> {
        let mut cases: Vec<_> = self
            .store
            .all_cases()
            .expect("cases")
            .into_iter()
            .map(|case| (case.id.to_string(), case.subject, case.number.assigned, case.timeline.len()))
            .collect();
        cases.sort();
        cases
    }
}

/// A repair case to open.
pub fn new_repair(subject: &str) -> NewCase {
    NewCase {
        kind: CaseKind::Repair,
        channel: Channel::Phone,
        customer: Customer { name: "Test Customer".into(), phone: "100".into(), address: "1-1-101".into() },
        subject: subject.into(),
        description: String::new(),
        priority: Priority::Normal,
        service: None,
    }
}

/// How a live session's task ended.
pub type LiveEnd = tokio::task::JoinHandle<Result<(), kefu_client::ClientError>>;

/// A live session of kefu-client on its own task, as a phone runs one: the ids it hears come
/// out of the receiver; sending on the stopper ends it, and the task returns how it ended.
pub fn spawn_live(
    config: kefu_client::ClientConfig,
    store: kefu_client::SharedStore,
) -> (LiveEnd, tokio::sync::mpsc::UnboundedReceiver<Vec<String>>, tokio::sync::oneshot::Sender<()>) {
    let (changed_tx, changed_rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let session = tokio::spawn(async move {
        let local_change = tokio::sync::Notify::new();
        kefu_client::live(
            &config,
            store,
            &local_change,
            &kefu_client::LiveStatus::default(),
            move |ids| {
                let _ = changed_tx.send(ids.to_vec());
            },
            async move {
                let _ = stop_rx.await;
            },
        )
        .await
    });
    (session, changed_rx, stop_tx)
}

/// A device store for kefu-client, bound to `config`'s token.
pub fn client_store(dir: &Path, config: &kefu_client::ClientConfig) -> kefu_client::SharedStore {
    let mut store = CaseStore::open(dir, StoreConfig::default()).expect("store");
    kefu_client::bind(&mut store, config).expect("bind");
    Arc::new(Mutex::new(store))
}

/// Opens a case on a kefu-client store (a repair, [`new_repair`]); returns its id.
pub fn open_shared_case(store: &kefu_client::SharedStore, subject: &str) -> String {
    let mut store = store.lock().expect("store lock");
    store.create_case(&new_repair(subject), &staff(), Timestamp::now()).expect("case").id.to_string()
}

/// Waits for a watching phone to hear of `id` (a generous bound: CI machines are loaded); on
/// failure prints the logs of `servers`.
pub async fn hears(changes: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<String>>, id: &str, servers: &[&Server]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, changes.recv()).await {
            Ok(Some(ids)) if ids.iter().any(|got| got == id) => return,
            Ok(Some(_)) => continue,
            _ => {
                let logs: Vec<String> = servers.iter().map(|server| server.stderr()).collect();
                panic!("the watching phone never heard of {id}; server logs:\n{}", logs.join("\n---\n"))
            }
        }
    }
}

/// A TCP proxy the test can cut: forwards every connection to `upstream`, counts them, and drops
/// all open ones on demand (a phone losing signal, a NAT forgetting it, a database link failing).
pub struct Proxy {
    /// Where it listens.
    pub addr: SocketAddr,
    connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    /// Starts forwarding, on the caller's tokio runtime.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let connections = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                accepted.lock().expect("proxy lock").push(task.abort_handle());
            }
        });
        Proxy { addr, connections }
    }

    /// Connections accepted so far.
    pub fn n_connections(&self) -> usize {
        self.connections.lock().expect("proxy lock").len()
    }

    /// Drops every connection open now.
    pub fn cut(&self) {
        for connection in self.connections.lock().expect("proxy lock").iter() {
            connection.abort();
        }
    }
}

/// The staff member the tests edit as.
pub fn staff() -> StaffId {
    StaffId::new("test.staff").expect("valid staff id")
}

/// A WebSocket sync connection.
pub struct Live {
    socket: tungstenite::WebSocket<TcpStream>,
}

/// Why a WebSocket could not be opened: the HTTP status and the refusal in the body.
#[derive(Debug)]
pub struct Rejected {
    /// HTTP status.
    pub status: u16,
    /// The refusal frame.
    pub refusal: Option<Refusal>,
}

impl Live {
    /// Opens `/v1/sync` with `token`.
    pub fn connect(server: &Server, token: &str) -> Result<Live, Rejected> {
        use tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{}/v1/sync", server.addr).into_client_request().expect("request");
        request.headers_mut().insert("Authorization", format!("Bearer {token}").parse().expect("header"));
        let stream = TcpStream::connect(server.addr).expect("tcp connect");
        stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        match tungstenite::client(request, stream) {
            Ok((socket, _)) => Ok(Live { socket }),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
                let refusal = response.body().as_ref().and_then(|body| match decode(body, usize::MAX) {
                    Ok(Message::Refuse(refusal)) => Some(refusal),
                    _ => None,
                });
                Err(Rejected { status: response.status().as_u16(), refusal })
            }
            Err(err) => panic!("websocket handshake failed: {err}"),
        }
    }

    /// Sends raw bytes as one binary message.
    pub fn send_bytes(&mut self, bytes: Vec<u8>) {
        self.socket.send(tungstenite::Message::Binary(bytes.into())).expect("send");
    }

    /// Sends a push.
    pub fn send(&mut self, push: &Push) {
        self.send_bytes(encode(&Message::Push(push.clone())));
    }

    /// The next frame, or `None` once the server closed (with its close reason in `closed`).
    pub fn recv(&mut self) -> Result<Message, String> {
        loop {
            match self.socket.read() {
                Ok(tungstenite::Message::Binary(bytes)) => return Ok(decode(&bytes, usize::MAX).expect("a frame")),
                Ok(tungstenite::Message::Close(frame)) => {
                    return Err(frame.map(|frame| frame.reason.to_string()).unwrap_or_default());
                }
                Ok(_) => continue,
                Err(err) => return Err(format!("socket error: {err}")),
            }
        }
    }

    /// The next frame, which must be a reply.
    pub fn recv_reply(&mut self) -> Reply {
        match self.recv() {
            Ok(Message::Reply(reply)) => reply,
            other => panic!("expected a reply, got {other:?}"),
        }
    }
}
