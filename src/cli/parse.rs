//! `drainscale parse`.

use std::process::ExitCode;

pub fn run(_files: &[std::path::PathBuf]) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`drainscale parse` is not built yet")
}
