//! `drainscale check CONFIG`: validate a config file and print the plan (controllers, inputs, policies,
//! schedules, backends, dry run) and its warnings, without starting anything. Exit 1 on a bad file.

use std::path::Path;
use std::process::ExitCode;

pub fn run(path: &Path, dry_run: bool) -> anyhow::Result<ExitCode> {
    let loaded = super::load(path, dry_run)?;
    print!("{}", drainscale::config::plan::render(&loaded));
    Ok(ExitCode::SUCCESS)
}
