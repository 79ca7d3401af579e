//! One file per command; shared set-up (loading the config, logging) here.

pub mod check;
pub mod parse;
pub mod run;
pub mod simulate;

use drainscale::config::{ConfigError, Loaded, Overrides};
use std::io::IsTerminal;
use std::path::Path;

/// Loads a config file; `--dry-run` sets `scaler.dry_run` as if the file said so.
pub fn load(path: &Path, dry_run: bool) -> Result<Loaded, ConfigError> {
    drainscale::config::load_overriding(path, Overrides { dry_run })
}

/// Logs go to stderr (colours only on a terminal); `RUST_LOG` filters them (default `default`: `info`, or
/// `warn` for a replay, whose every change would otherwise be logged).
pub fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
