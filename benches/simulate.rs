//! `drainscale simulate`'s replay speed and the README's comparison, both on generated days
//! (`simulate::day`: a diurnal wave and a 10-minute flash spike at 14:00, as `heroku logs` router lines).
//!
//! 1. Speed: a day at 100 requests/s on average (8.6 M lines) through the real parser, windows and the sample
//!    config's controller (with Dynosaur's and HPA's runs beside it), fed 10 minutes of logs at a time; the
//!    time counted is the replay's, not the generator's. Prints lines/s and the replay time.
//! 2. Figures: a day at 35 requests/s (the spike adding 35/s), replayed with the sample config's `web`
//!    controller without its toy `sine` input, against `--capacity rpm=600`: dyno-hours, changes and
//!    under-provisioned minutes for the config, Dynosaur's algorithm, HPA's defaults and a few variants.
//!
//! Run: `cargo bench --bench simulate` (one core is enough: the replay is single-threaded).

use drainscale::config::Config;
use drainscale::scaler::controller_config::ControllerConfig;
use drainscale::simulate::day::{Day, DAY_SECONDS, DAY_START_MICROS};
use drainscale::simulate::runs::{self, Algorithm, Shared};
use drainscale::simulate::summary::{self, Capacity};
use drainscale::simulate::{Lane, Replay, VirtualClock};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Replays `day` with the runs `make` builds; returns the runs, the lines and the replay time.
fn replay(
    day: &Day,
    config: &Config,
    make: impl FnOnce(&mut Shared) -> Vec<Lane>,
) -> (Vec<Lane>, u64, Duration) {
    let clock = Arc::new(VirtualClock::starting_at(DAY_START_MICROS));
    let mut shared = Shared::new(clock.clone(), None, true, Duration::from_secs(30));
    let lanes = make(&mut shared);
    let mut replay = Replay::new(clock, shared.stores(), lanes, config.scaler.interval);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let mut lines = 0;
    let mut spent = Duration::ZERO;
    let mut chunk = Vec::new();
    runtime.block_on(async {
        for from in (0..DAY_SECONDS).step_by(600) {
            chunk.clear();
            lines += day.write_lines(from, from + 600, &mut chunk);
            let t = Instant::now();
            replay.feed(&chunk).await;
            spent += t.elapsed();
        }
        let t = Instant::now();
        let lanes = replay.finish(None).await;
        spent += t.elapsed();
        (lanes, lines, spent)
    })
}

fn sample() -> (Config, ControllerConfig) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config.sample.yaml");
    let loaded = drainscale::config::load(std::path::Path::new(path)).expect("the sample config");
    let web = runs::pick(&loaded.config, &loaded.file, Some("web"))
        .expect("a web controller")
        .clone();
    (loaded.config, web)
}

fn speed() {
    let (config, web) = sample();
    let day = Day::new(100.0);
    let (lanes, lines, spent) = replay(&day, &config, |shared| {
        [Algorithm::Config, Algorithm::Dynosaur, Algorithm::Hpa]
            .into_iter()
            .map(|a| {
                shared
                    .lane(format!("{a:?}"), &config, &web, a)
                    .expect("a run")
            })
            .collect()
    });
    let passes: usize = lanes.iter().map(|l| l.rows.len()).sum();
    println!(
        "simulate/day_100rps: {lines} lines, {passes} passes (3 runs), replayed in {:.1} s: {:.2} M lines/s",
        spent.as_secs_f64(),
        lines as f64 / spent.as_secs_f64() / 1e6
    );
}

fn figures() {
    let (config, mut web) = sample();
    web.inputs.retain(|i| i.name != "sine");
    let mut day = Day::new(35.0);
    day.spike_extra = 1.0;
    let variant = |label: &str, edit: &dyn Fn(&mut ControllerConfig)| {
        let mut c = web.clone();
        edit(&mut c);
        (label.to_string(), c)
    };
    let variants = [
        variant("down_cooldown=10m", &|c| {
            c.policy.down_cooldown = Duration::from_secs(600)
        }),
        variant("down_cooldown=2m", &|c| {
            c.policy.down_cooldown = Duration::from_secs(120)
        }),
        variant("hysteresis_period=2m", &|c| {
            c.inputs[0].hysteresis_period = Duration::from_secs(120)
        }),
        variant("hysteresis_period=2m,down_cooldown=2m", &|c| {
            c.inputs[0].hysteresis_period = Duration::from_secs(120);
            c.policy.down_cooldown = Duration::from_secs(120);
        }),
    ];
    let (lanes, lines, _) = replay(&day, &config, |shared| {
        let mut lanes = vec![
            shared
                .lane(
                    "config.sample.yaml (web, rpm only)".into(),
                    &config,
                    &web,
                    Algorithm::Config,
                )
                .expect("a run"),
            shared
                .lane("dynosaur".into(), &config, &web, Algorithm::Dynosaur)
                .expect("a run"),
            shared
                .lane("hpa".into(), &config, &web, Algorithm::Hpa)
                .expect("a run"),
        ];
        for (label, c) in &variants {
            lanes.push(
                shared
                    .lane(label.clone(), &config, c, Algorithm::Config)
                    .expect("a run"),
            );
        }
        lanes
    });
    let capacity = [Capacity {
        input: "rpm".into(),
        per_dyno: 600.0,
    }];
    let needed = summary::needed(&lanes[0], &capacity).expect("the rpm input");
    let summaries: Vec<_> = lanes
        .iter()
        .map(|l| summary::summarize(l, Some(&needed), config.scaler.interval))
        .collect();
    println!("simulate/figures: a day of {lines} lines (35/s mean, spike +35/s at 14:00 for 10m), --capacity rpm=600, boot 30s");
    print!("{}", summary::render(&summaries));
    print!("{}", summary::differences(&lanes, &summaries));
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument picks one part.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wants = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    if wants("figures") {
        figures();
    }
    if wants("speed") {
        speed();
    }
}
