//! Log set-up: JSON lines for machines, readable text for people at a terminal.

use std::io::IsTerminal;
use tracing_subscriber::{fmt, EnvFilter};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// JSON when stderr is not a terminal, text when it is.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Text,
}

impl LogFormat {
    /// Parses `auto`, `json` or `text`.
    pub fn parse(s: &str) -> Option<LogFormat> {
        match s {
            "auto" => Some(LogFormat::Auto),
            "json" => Some(LogFormat::Json),
            "text" => Some(LogFormat::Text),
            _ => None,
        }
    }
}

/// Installs the global subscriber writing to stderr; `RUST_LOG` overrides `level` when set.
/// Calling it twice is harmless (the second call does nothing).
pub fn init_logging(level: &str, format: LogFormat) {
    // lapin logs its own channel bookkeeping at ERROR while a connection closes normally; the
    // AMQP bus reports connection loss and recovery itself, so lapin is quiet unless RUST_LOG
    // asks for it.
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(format!("{level},lapin=off")))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.with_target(false).try_init()
    };
}
