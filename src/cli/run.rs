//! `drainscale run`.

use std::path::Path;
use std::process::ExitCode;

pub fn run(_args: &Path) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`drainscale run` is not built yet")
}
