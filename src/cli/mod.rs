//! One file per command; shared set-up (logging) here.

pub mod check;
pub mod parse;
pub mod run;

use std::io::IsTerminal;

/// Logs go to stderr (colours only on a terminal); `RUST_LOG` filters them (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
