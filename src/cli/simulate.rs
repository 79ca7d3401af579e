//! `drainscale simulate CONFIG --logs FILE... | --trace CSV`: backtests the config's controller on recorded
//! logs (or a time series) and prints a summary per run; `--csv` writes every decision, `--chart` draws them.
//! `--compare`, `--policy`, `--dynosaur` and `--hpa` add runs on the same replay.

use anyhow::Context;
use drainscale::config::Config;
use drainscale::simulate::chart::{self, ChartData};
use drainscale::simulate::progress::Progress;
use drainscale::simulate::runs::{self, Algorithm, Shared};
use drainscale::simulate::summary::{self, Capacity};
use drainscale::simulate::trace::Trace;
use drainscale::simulate::{overrides, source, Lane, Replay, VirtualClock};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What `simulate` was asked.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// The YAML config file whose controller is replayed.
    pub config: PathBuf,
    /// Recorded logs: logplex bodies, raw syslog lines or `heroku logs` output, gzip or not, in time order.
    #[arg(long, num_args = 1.., value_name = "FILE", required_unless_present = "trace")]
    pub logs: Vec<PathBuf>,
    /// A CSV time series (`time,INPUT,...`): values for the inputs of those names.
    #[arg(long, value_name = "CSV")]
    pub trace: Option<PathBuf>,
    /// The controller to replay (default: the first).
    #[arg(long)]
    pub controller: Option<String>,
    /// How long a new dyno takes before it serves.
    #[arg(long, default_value = "30s", value_parser = drainscale::duration::parse)]
    pub boot: Duration,
    /// What one dyno can serve, per input: `rpm=600` (repeatable); enables the under/over-provisioned minutes.
    #[arg(long, value_name = "INPUT=PER_DYNO")]
    pub capacity: Vec<String>,
    /// Another config to run on the same replay (its controller of the same name, or its first).
    #[arg(long, value_name = "OTHER_CONFIG")]
    pub compare: Vec<PathBuf>,
    /// A variant of the controller's policy to run too: `down_cooldown=15m,max_step_down=1` (repeatable).
    #[arg(long = "policy", value_name = "KEY=VALUE[,KEY=VALUE]")]
    pub policies: Vec<String>,
    /// Also run Dynosaur's algorithm (no cool-downs, straight to the max over the hysteresis window).
    #[arg(long)]
    pub dynosaur: bool,
    /// Also run Kubernetes HPA's defaults.
    #[arg(long)]
    pub hpa: bool,
    /// Write every decision to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Draw the chart to this file: SVG, or PNG when it ends in `.png`.
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,
}

pub fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let main = super::load(&args.config, false)?;
    let capacities = args
        .capacity
        .iter()
        .map(|c| Capacity::parse(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let trace = match &args.trace {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Some(Arc::new(
                Trace::parse(&text, &path.display().to_string()).map_err(anyhow::Error::msg)?,
            ))
        }
        None => None,
    };
    let start = match &trace {
        Some(t) if args.logs.is_empty() => t.span().0,
        _ => first_timestamp(&args.logs)?,
    };
    let clock = Arc::new(VirtualClock::starting_at(start));
    let mut shared = Shared::new(
        clock.clone(),
        trace.clone(),
        !args.logs.is_empty(),
        args.boot,
    );
    let lanes = build_lanes(args, &main.config, &main.file, &mut shared)?;
    let interval = main.config.scaler.interval;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .context("starting the tokio runtime")?;
    let mut replay = Replay::new(clock, shared.stores(), lanes, interval);
    if args.logs.is_empty() {
        replay.start_at(start);
    }
    let lanes = runtime.block_on(async {
        feed_logs(&mut replay, &args.logs).await?;
        let until = trace
            .as_ref()
            .filter(|_| args.logs.is_empty())
            .map(|t| t.span().1);
        anyhow::Ok(replay.finish(until).await)
    })?;
    report(args, &lanes, &capacities, interval)?;
    Ok(ExitCode::SUCCESS)
}

/// The runs: the config's, each `--policy` variant, each `--compare` config's, then the references.
fn build_lanes(
    args: &SimulateArgs,
    config: &Config,
    file: &str,
    shared: &mut Shared,
) -> anyhow::Result<Vec<Lane>> {
    let fail = |e: String| anyhow::anyhow!("{file}: {e}");
    let controller =
        runs::pick(config, file, args.controller.as_deref()).map_err(anyhow::Error::msg)?;
    let mut lanes = vec![shared
        .lane(name_of(&args.config), config, controller, Algorithm::Config)
        .map_err(fail)?];
    for spec in &args.policies {
        let mut variant = controller.clone();
        variant.policy = overrides::apply(&controller.policy, spec).map_err(anyhow::Error::msg)?;
        lanes.push(
            shared
                .lane(
                    format!("policy {spec}"),
                    config,
                    &variant,
                    Algorithm::Config,
                )
                .map_err(fail)?,
        );
    }
    for path in &args.compare {
        let other = super::load(path, false)?;
        let c = match runs::pick(&other.config, &other.file, Some(&controller.name)) {
            Ok(c) => c,
            Err(_) => runs::pick(&other.config, &other.file, None).map_err(anyhow::Error::msg)?,
        };
        let lane = shared
            .lane(name_of(path), &other.config, c, Algorithm::Config)
            .map_err(|e| anyhow::anyhow!("{}: {e}", other.file))?;
        lanes.push(lane);
    }
    if args.dynosaur {
        lanes.push(
            shared
                .lane("dynosaur".into(), config, controller, Algorithm::Dynosaur)
                .map_err(fail)?,
        );
    }
    if args.hpa {
        lanes.push(
            shared
                .lane("hpa".into(), config, controller, Algorithm::Hpa)
                .map_err(fail)?,
        );
    }
    Ok(lanes)
}

/// A run's name: the config file's name.
fn name_of(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The timestamp of the first event in the logs (where the virtual clock starts).
fn first_timestamp(files: &[PathBuf]) -> anyhow::Result<i64> {
    for path in files {
        let reader = source::open(path, Arc::new(AtomicU64::new(0)))
            .with_context(|| format!("reading {}", path.display()))?;
        let mut chunks = source::LineChunks::new(reader);
        while let Some(chunk) = chunks
            .next_chunk()
            .with_context(|| format!("reading {}", path.display()))?
        {
            if let Some(event) = drainscale::logplex::parse_body(chunk).next() {
                return Ok(event.meta.timestamp);
            }
        }
    }
    anyhow::bail!("the logs hold no event with a timestamp to replay")
}

/// Replays every file in turn, with a progress bar on a terminal.
async fn feed_logs(replay: &mut Replay, files: &[PathBuf]) -> anyhow::Result<()> {
    let total: u64 = files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let mut progress = Progress::on_terminal(total);
    let read = Arc::new(AtomicU64::new(0));
    for path in files {
        let reader = source::open(path, read.clone())
            .with_context(|| format!("reading {}", path.display()))?;
        let mut chunks = source::LineChunks::new(reader);
        while let Some(chunk) = chunks
            .next_chunk()
            .with_context(|| format!("reading {}", path.display()))?
        {
            replay.feed(chunk).await;
            if let Some(p) = progress.as_mut() {
                p.set(read.load(Ordering::Relaxed));
            }
        }
    }
    if let Some(p) = progress {
        p.finish();
    }
    Ok(())
}

/// Prints the summaries and the differences, and writes the CSV and the chart.
fn report(
    args: &SimulateArgs,
    lanes: &[Lane],
    capacities: &[Capacity],
    interval: Duration,
) -> anyhow::Result<()> {
    let needed = match lanes.first() {
        Some(first) if !capacities.is_empty() => {
            Some(summary::needed(first, capacities).map_err(anyhow::Error::msg)?)
        }
        _ => None,
    };
    let summaries: Vec<_> = lanes
        .iter()
        .map(|l| summary::summarize(l, needed.as_deref(), interval))
        .collect();
    let hours = summaries.first().map_or(0.0, |s| s.hours);
    let passes = lanes.first().map_or(0, |l| l.rows.len());
    println!(
        "replayed {hours:.2} h in {passes} passes of {}",
        drainscale::duration::format(interval)
    );
    print!("{}", summary::render(&summaries));
    print!("{}", summary::differences(lanes, &summaries));
    if let Some(path) = &args.csv {
        let file =
            std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        drainscale::simulate::csv::write(&mut out, lanes, needed.as_deref())
            .and_then(|()| std::io::Write::flush(&mut out))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.chart {
        let data = ChartData {
            lanes,
            needed: needed.as_deref(),
            traffic: capacities.iter().map(|c| c.input.clone()).collect(),
            title: format!("drainscale simulate {}", name_of(&args.config)),
        };
        let png = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"));
        let bytes = if png {
            chart::png(&data)
        } else {
            chart::svg(&data).map(String::into_bytes)
        }
        .map_err(|e| anyhow::anyhow!("drawing the chart: {e}"))?;
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
