//! The tracing subscriber of the `kefu serve` process: `RUST_LOG` through `EnvFilter` (default
//! `kefu=info,tower_http=info`), human-readable lines or one JSON object per line
//! (`--log-format json`), always on stderr so stdout stays for what a command prints (tokens).
//!
//! Leaves out: what is logged (each module decides; customer data never is).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The filter when `RUST_LOG` is unset (the binary's targets are `kefu::...`).
const DEFAULT_FILTER: &str = "kefu=info,tower_http=info";

/// Installs the global subscriber; call once, first thing in `kefu serve`.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // Colours only for a person at a terminal, never into files or log collectors.
    let ansi = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).init(),
    }
}
