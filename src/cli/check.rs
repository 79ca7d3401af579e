//! `drainscale check CONFIG`: validate a config file and print the plan (controllers, inputs, policies,
//! schedules, backends, dry run, the window store) and its warnings, without starting anything. Exit 1 on a bad
//! file. With `--connect`, also connect to a Redis `store:` and exit 1 when it does not answer.

use anyhow::Context;
use drainscale::shared::Redis;
use std::path::Path;
use std::process::ExitCode;

pub fn run(path: &Path, dry_run: bool, connect: bool) -> anyhow::Result<ExitCode> {
    let loaded = super::load(path, dry_run)?;
    print!("{}", drainscale::config::plan::render(&loaded));
    if !connect {
        return Ok(ExitCode::SUCCESS);
    }
    let Some(url) = &loaded.config.store else {
        println!("connect: the store is memory, nothing to connect to");
        return Ok(ExitCode::SUCCESS);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let answer = runtime.block_on(async {
        let redis = Redis::connect(url, &loaded.config.shared)?;
        redis.ping().await
    });
    match answer {
        Ok(pong) => {
            println!("connect: {url} answered {pong}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("connect: {url} FAILED: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
