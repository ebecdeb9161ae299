//! `kefu serve` configuration in two stages (ripgrep's low/high args): [`ServeArgs`] is what clap
//! parses from flags with `KEFU_*` environment fallbacks; [`ServerConfig`] is the validated,
//! typed result the server runs with. Validation happens before anything binds or opens.
//!
//! Leaves out: secrets (tokens are issued by `kefu admin`, never passed as flags) and the
//! roster commands' flags (in `cli/roster.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::FixedOffset;
use clap::{Args, ValueEnum};

use crate::limits::Limits;

/// Where the server keeps its data, from `--db`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbLocation {
    /// An embedded SQLite file (the default, `./data/kefu.sqlite3`).
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its URL (checked to parse).
    Postgres(String),
}

impl DbLocation {
    /// Parses `--db`: a path, `sqlite://<path>`, or a `postgres://` URL.
    pub fn parse(value: &str) -> anyhow::Result<Self> {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            if let Err(err) = value.parse::<postgres::Config>() {
                let cause = std::error::Error::source(&err).map(|cause| format!(": {cause}")).unwrap_or_default();
                bail!("--db is not a usable PostgreSQL URL (postgres://user:password@host:port/name): {err}{cause}");
            }
            return Ok(DbLocation::Postgres(value.to_string()));
        }
        let path = value.strip_prefix("sqlite://").unwrap_or(value);
        if path.is_empty() {
            bail!("--db is empty; give a SQLite file path such as ./data/kefu.sqlite3");
        }
        Ok(DbLocation::Sqlite(PathBuf::from(path)))
    }
}

impl std::fmt::Display for DbLocation {
    /// The path, or the URL without its password: fit for logs and messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbLocation::Sqlite(path) => write!(f, "{}", path.display()),
            DbLocation::Postgres(url) => f.write_str(&crate::storage::describe_postgres(url)),
        }
    }
}

/// The database flag shared by `kefu serve` and `kefu admin`.
#[derive(Clone, Debug, Args)]
pub struct DbArgs {
    /// Database: a SQLite file path (or sqlite://path), created with its directory if missing; or
    /// a PostgreSQL URL (postgres://user:password@host:port/name), migrated on first use.
    #[arg(long, env = "KEFU_DB", default_value = "./data/kefu.sqlite3", value_name = "PATH")]
    pub db: String,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Flags of `kefu serve`, each with a `KEFU_*` environment fallback.
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (logged as `listening on <addr>`).
    #[arg(long, env = "KEFU_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
    /// Log format.
    #[arg(long, env = "KEFU_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// On a new database, create a sample team with sample cases and print a device token.
    #[arg(long, env = "KEFU_SAMPLE")]
    pub sample: bool,
    /// Largest sync frame or request body accepted, in bytes.
    #[arg(long, env = "KEFU_MAX_MESSAGE_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_message_bytes: usize,
    /// Most documents one push may carry.
    #[arg(long, env = "KEFU_MAX_DOCS_PER_ROUND", default_value_t = 500)]
    pub max_docs_per_round: usize,
    /// Most documents one reply carries; the rest follow with `more`.
    #[arg(long, env = "KEFU_MAX_UPDATES_PER_REPLY", default_value_t = 200)]
    pub max_updates_per_reply: usize,
    /// Most simultaneous WebSocket sessions per device token.
    #[arg(long, env = "KEFU_MAX_CONNECTIONS_PER_DEVICE", default_value_t = 4)]
    pub max_connections_per_device: usize,
    /// A WebSocket session with no frame from the device for this long is closed, in seconds.
    #[arg(long, env = "KEFU_IDLE_TIMEOUT_SECS", default_value_t = 120)]
    pub idle_timeout_secs: u64,
    /// Sustained sync rounds per second allowed per device.
    #[arg(long, env = "KEFU_RATE_LIMIT_PER_SEC", default_value_t = 20.0)]
    pub rate_limit_per_sec: f64,
    /// Rounds a device may make in a burst above the sustained rate.
    #[arg(long, env = "KEFU_RATE_LIMIT_BURST", default_value_t = 40)]
    pub rate_limit_burst: u32,
    /// How often the server looks for tokens revoked by `kefu admin`, in milliseconds.
    #[arg(long, env = "KEFU_REVOCATION_POLL_MS", default_value_t = 500)]
    pub revocation_poll_ms: u64,
    /// On shutdown, how long in-flight rounds and sessions get to finish, in seconds; connections
    /// still open after it are dropped.
    #[arg(long, env = "KEFU_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// On shutdown, how long `/readyz` answers 503 while requests are still served, so a load
    /// balancer stops sending new ones before the listener closes, in seconds.
    #[arg(long, env = "KEFU_DRAIN_SECS", default_value_t = 0)]
    pub drain_secs: u64,
    /// A connection must finish its TLS handshake and send complete request headers within this
    /// long of opening or of its previous response, in seconds; otherwise it is closed.
    #[arg(long, env = "KEFU_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,
    /// A connection whose peer accepts no bytes of a pending response or WebSocket frame for this
    /// long is closed, in seconds.
    #[arg(long, env = "KEFU_WRITE_STALL_TIMEOUT_SECS", default_value_t = 30)]
    pub write_stall_timeout_secs: u64,
    /// A `POST /v1/sync` body must arrive whole within this long, in seconds (408 otherwise).
    #[arg(long, env = "KEFU_BODY_READ_TIMEOUT_SECS", default_value_t = 30)]
    pub body_read_timeout_secs: u64,
    /// A sync round's database work is abandoned after this long, in seconds (`server.internal`).
    #[arg(long, env = "KEFU_ROUND_TIMEOUT_SECS", default_value_t = 30)]
    pub round_timeout_secs: u64,
    /// Most open connections; further ones wait in the listen backlog. Lowered at startup to
    /// what the open-file limit leaves room for.
    #[arg(long, env = "KEFU_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// PEM certificate chain: with `--tls-key`, the server speaks HTTPS and WSS itself.
    #[arg(long, env = "KEFU_TLS_CERT", value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert`.
    #[arg(long, env = "KEFU_TLS_KEY", value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The team's UTC offset for monthly figures (a month is counted in local time).
    #[arg(long, env = "KEFU_REPORT_UTC_OFFSET", default_value = "+08:00", allow_hyphen_values = true)]
    pub report_utc_offset: String,
}

/// The PEM files of `--tls-cert` and `--tls-key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Validated server settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Where data lives.
    pub db: DbLocation,
    /// Log format.
    pub log_format: LogFormat,
    /// Seed a sample team on a new database.
    pub sample: bool,
    /// Protocol and connection limits.
    pub limits: Limits,
    /// Revocation poll interval.
    pub revocation_poll: Duration,
    /// Shutdown grace period.
    pub shutdown_grace: Duration,
    /// How long `/readyz` says 503 before the listener closes on shutdown.
    pub drain: Duration,
    /// Time allowed for the TLS handshake and each request's headers.
    pub header_read_timeout: Duration,
    /// Time a pending write may make no progress.
    pub write_stall_timeout: Duration,
    /// Most open connections.
    pub max_connections: usize,
    /// Certificate and key files, when the server terminates TLS itself.
    pub tls: Option<TlsFiles>,
    /// Offset for monthly figures.
    pub report_offset: FixedOffset,
}

impl ServeArgs {
    /// Checks every flag and builds the configuration; errors name the flag and the bad value.
    pub fn validate(self) -> anyhow::Result<ServerConfig> {
        let listen: SocketAddr = self
            .listen
            .parse()
            .with_context(|| format!("--listen {:?} is not an address like 127.0.0.1:8080", self.listen))?;
        let positive = |name: &str, value: u64| {
            if value == 0 { Err(anyhow::anyhow!("{name} must be at least 1")) } else { Ok(value) }
        };
        positive("--max-message-bytes", self.max_message_bytes as u64)?;
        positive("--max-docs-per-round", self.max_docs_per_round as u64)?;
        positive("--max-updates-per-reply", self.max_updates_per_reply as u64)?;
        positive("--max-connections-per-device", self.max_connections_per_device as u64)?;
        positive("--idle-timeout-secs", self.idle_timeout_secs)?;
        positive("--rate-limit-burst", u64::from(self.rate_limit_burst))?;
        positive("--revocation-poll-ms", self.revocation_poll_ms)?;
        positive("--header-read-timeout-secs", self.header_read_timeout_secs)?;
        positive("--write-stall-timeout-secs", self.write_stall_timeout_secs)?;
        positive("--body-read-timeout-secs", self.body_read_timeout_secs)?;
        positive("--round-timeout-secs", self.round_timeout_secs)?;
        positive("--max-connections", self.max_connections as u64)?;
        if !(self.rate_limit_per_sec.is_finite() && self.rate_limit_per_sec > 0.0) {
            bail!("--rate-limit-per-sec must be a positive number, not {}", self.rate_limit_per_sec);
        }
        let report_offset = parse_offset(&self.report_utc_offset)?;
        Ok(ServerConfig {
            listen,
            db: DbLocation::parse(&self.db.db)?,
            log_format: self.log_format,
            sample: self.sample,
            limits: Limits {
                max_message_bytes: self.max_message_bytes,
                max_docs_per_round: self.max_docs_per_round,
                max_updates_per_reply: self.max_updates_per_reply,
                max_connections_per_device: self.max_connections_per_device,
                idle_timeout: Duration::from_secs(self.idle_timeout_secs),
                rate_per_sec: self.rate_limit_per_sec,
                rate_burst: self.rate_limit_burst,
                body_read_timeout: Duration::from_secs(self.body_read_timeout_secs),
                round_timeout: Duration::from_secs(self.round_timeout_secs),
            },
            revocation_poll: Duration::from_millis(self.revocation_poll_ms),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            drain: Duration::from_secs(self.drain_secs),
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            write_stall_timeout: Duration::from_secs(self.write_stall_timeout_secs),
            max_connections: self.max_connections,
            // clap's `requires` makes these come in pairs.
            tls: self.tls_cert.zip(self.tls_key).map(|(cert, key)| TlsFiles { cert, key }),
            report_offset,
        })
    }
}

/// Parses `+08:00`, `-05:30` or `Z`.
pub fn parse_offset(text: &str) -> anyhow::Result<FixedOffset> {
    let bad = || anyhow::anyhow!("UTC offset {text:?} is not like +08:00");
    if text == "Z" || text == "+00:00" {
        return Ok(FixedOffset::east_opt(0).expect("zero offset"));
    }
    let sign = match text.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(bad()),
    };
    let (hours, minutes) = text[1..].split_once(':').ok_or_else(bad)?;
    let hours: i32 = hours.parse().map_err(|_| bad())?;
    let minutes: i32 = minutes.parse().map_err(|_| bad())?;
    if hours > 14 || minutes > 59 {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> anyhow::Result<ServerConfig> {
        let mut argv = vec!["kefu"];
        argv.extend_from_slice(args);
        Wrapper::try_parse_from(argv)?.serve.validate()
    }

    #[test]
    fn defaults_are_the_embedded_local_server() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.db, DbLocation::Sqlite(PathBuf::from("./data/kefu.sqlite3")));
        assert_eq!(config.limits.max_docs_per_round, 500);
        assert_eq!(config.report_offset.local_minus_utc(), 8 * 3600);
        assert_eq!(config.header_read_timeout, Duration::from_secs(10));
        assert_eq!(config.write_stall_timeout, Duration::from_secs(30));
        assert_eq!(config.limits.body_read_timeout, Duration::from_secs(30));
        assert_eq!(config.limits.round_timeout, Duration::from_secs(30));
        assert_eq!(config.max_connections, 4096);
        assert_eq!(config.tls, None);
    }

    #[test]
    fn tls_needs_both_files() {
        let config = parse(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap();
        assert_eq!(config.tls, Some(TlsFiles { cert: "c.pem".into(), key: "k.pem".into() }));
        let err = parse(&["--tls-cert", "c.pem"]).unwrap_err().to_string();
        assert!(err.contains("--tls-key"), "{err}");
    }

    #[test]
    fn bad_values_name_the_flag() {
        let errors = [
            (vec!["--listen", "nowhere"], "--listen \"nowhere\" is not an address like 127.0.0.1:8080"),
            (vec!["--max-docs-per-round", "0"], "--max-docs-per-round must be at least 1"),
            (vec!["--header-read-timeout-secs", "0"], "--header-read-timeout-secs must be at least 1"),
            (vec!["--max-connections", "0"], "--max-connections must be at least 1"),
            (vec!["--rate-limit-per-sec", "0"], "--rate-limit-per-sec must be a positive number, not 0"),
            (vec!["--report-utc-offset", "8"], "UTC offset \"8\" is not like +08:00"),
            (
                vec!["--db", "postgres://x:notaport/y"],
                "--db is not a usable PostgreSQL URL (postgres://user:password@host:port/name): invalid connection \
                 string: invalid value for option `port`",
            ),
        ];
        for (args, expected) in errors {
            assert_eq!(parse(&args).unwrap_err().to_string(), expected, "{args:?}");
        }
    }

    #[test]
    fn offsets_parse_both_ways() {
        assert_eq!(parse_offset("-05:30").unwrap().local_minus_utc(), -(5 * 3600 + 30 * 60));
        assert_eq!(parse_offset("Z").unwrap().local_minus_utc(), 0);
        assert_eq!(
            parse("--db sqlite:///tmp/k.db".split(' ').collect::<Vec<_>>().as_slice()).unwrap().db,
            DbLocation::Sqlite(PathBuf::from("/tmp/k.db"))
        );
    }
}
