//! The `drainscale` binary: command-line parsing and the wiring of components. Each command lives in
//! `cli/` as one file.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod cli;

/// A Heroku log drain, metrics pipeline and autoscaler.
#[derive(Parser, Debug)]
#[command(name = "drainscale", version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse drain bodies or raw syslog lines (stdin or files) and print one JSON object per event.
    Parse {
        /// Files to read; stdin when none.
        files: Vec<PathBuf>,
        /// Exit 1 when any frame is bad or any l2met value does not parse (for CI checks of log formats).
        #[arg(long)]
        strict: bool,
    },
    /// Run the drain and the scaler from a config file.
    Run {
        /// The YAML config file.
        config: PathBuf,
        /// Decide and log, never write (as `scaler.dry_run: true`, without editing the file).
        #[arg(long)]
        dry_run: bool,
    },
    /// Backtest the config's controller on recorded logs or a CSV trace, on a virtual clock.
    Simulate(Box<cli::simulate::SimulateArgs>),
    /// Validate a config file and print the plan without running anything.
    Check {
        /// The YAML config file.
        config: PathBuf,
        /// Show the plan as `run --dry-run` would run it.
        #[arg(long)]
        dry_run: bool,
        /// Also connect to the `store:` (Redis) and say whether it answers; exit 1 when it does not.
        #[arg(long)]
        connect: bool,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::init_tracing(match args.command {
        Command::Simulate(_) => "warn",
        _ => "info",
    });
    let result = match args.command {
        Command::Parse { files, strict } => cli::parse::run(&files, strict),
        Command::Run { config, dry_run } => cli::run::run(&config, dry_run),
        Command::Check {
            config,
            dry_run,
            connect,
        } => cli::check::run(&config, dry_run, connect),
        Command::Simulate(args) => cli::simulate::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("drainscale: {err:#}");
            ExitCode::FAILURE
        }
    }
}
