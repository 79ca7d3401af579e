//! `drainscale check`.

use std::path::Path;
use std::process::ExitCode;

pub fn run(_args: &Path) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`drainscale check` is not built yet")
}
