//! The whole scaler loop, built from a config file, against the fake Heroku API and an in-test window store:
//! controllers side by side (one failing never stops the other), the status page, dry runs that never write,
//! the formation-file backend, and how many passes it takes from a traffic spike to the PATCH.

mod support;
use support::panics::Panics;

use drainscale::config::load_str;
use drainscale::drain::StatusPage;
use drainscale::scaler::clock::SystemClock;
use drainscale::scaler::controller::PassReport;
use drainscale::scaler::report::StatsReporter;
use drainscale::window::{Query, ReadError, Reading, Signal, WindowReader};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::fake_heroku::FakeHeroku;

/// Windows whose request rate the test sets; the drain is always "receiving".
#[derive(Default)]
struct Windows {
    rate: Mutex<f64>,
}

impl WindowReader for Windows {
    fn read(&self, q: &Query) -> Result<Reading, ReadError> {
        assert_eq!(q.signal, Signal::RequestRate);
        let now = jiff::Timestamp::now().as_microsecond();
        Ok(Reading {
            value: Some(*self.rate.lock().unwrap()),
            last_ingest: Some(now),
        })
    }
}

/// Remembers every pass.
#[derive(Default)]
struct Passes(Mutex<Vec<PassReport>>);

impl StatsReporter for Passes {
    fn report(&self, pass: &PassReport) {
        self.0.lock().unwrap().push(pass.clone());
    }
}

impl Passes {
    fn count(&self, controller: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.controller == controller)
            .count()
    }
    fn first_change(&self, controller: &str) -> Option<(usize, PassReport)> {
        let passes = self.0.lock().unwrap();
        passes
            .iter()
            .filter(|p| p.controller == controller)
            .enumerate()
            .find(|(_, p)| p.change.is_some())
            .map(|(i, p)| (i + 1, p.clone()))
    }
}

fn config(fake: &FakeHeroku, dry_run: bool, scaler_interval: &str, input_interval: &str) -> String {
    format!(
        "drain: {{auth: {{insecure: true}}}}\nscaler:\n  app: {app}\n  api_key: {token}\n  api_url: {url}\n  dry_run: {dry_run}\n  interval: {scaler_interval}\n  stats: {{console: false, outlets: false}}\n  heroku: {{cache_ttl: 0s, backoff_base: 10ms, max_attempts: 2}}\ncontrollers:\n  - name: web\n    min: 1\n    max: 20\n    inputs:\n      - name: rps\n        type: drain\n        query: {{signal: request_rate}}\n        interval: {input_interval}\n        per_dyno: 10\n  - name: worker\n    min: 1\n    max: 5\n    inputs:\n      - {{name: wave, type: sine, period: 10s, interval: 100ms}}\n",
        app = fake.app,
        token = fake.token,
        url = fake.url
    )
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn controllers_run_side_by_side_and_one_failing_never_stops_the_other() {
    // No `worker` in the formation: every worker pass fails with Heroku's 404.
    let fake = FakeHeroku::start("shop", "tok", &[("web", 1)]).await;
    let windows = Arc::new(Windows::default());
    *windows.rate.lock().unwrap() = 55.0; // 55 req/s at 10 per dyno: 6 dynos
    let loaded = load_str(&config(&fake, false, "50ms", "100ms"), "t.yaml", &|_| None).unwrap();
    let mut scaler = support::built::scaler(&loaded, Some(windows.clone()));
    let passes = Arc::new(Passes::default());
    scaler.add_reporter(passes.clone());
    let status = scaler.status();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(scaler.run_until(async move {
        let _ = stopped.await;
    }));

    wait_for("web at 6", || fake.quantity("web") == Some(6)).await;
    wait_for("several worker passes", || passes.count("worker") >= 3).await;
    let doc = status.status();
    let ctl = |name: &str| {
        doc["controllers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(ctl("web")["current"], 6);
    assert_eq!(ctl("web")["last_change"]["from"], 1);
    assert_eq!(ctl("web")["last_change"]["to"], 6);
    assert_eq!(ctl("web")["inputs"][0]["health"], "OK");
    assert_eq!(ctl("web")["inputs"][0]["value"], 55.0);
    assert!(
        ctl("worker")["error"]
            .as_str()
            .unwrap()
            .contains("not_found"),
        "{doc}"
    );
    assert_eq!(doc["dry_run"], false);

    // The worker kept failing without a single write, and web was written once.
    assert_eq!(fake.writes(), [("web".to_string(), 6)]);
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn time_from_a_spike_to_the_patch_is_bounded_by_the_two_intervals() {
    // Scaler interval 100 ms, input interval 300 ms: after a spike the input's cached value expires within
    // 300 ms, and passes come at least 100 ms apart, so the PATCH comes at most ceil(300/100) + 1 passes after
    // the first pass that starts after the spike. Counting passes (not milliseconds) keeps this exact on a
    // loaded machine; the wall-clock figure is printed for the record.
    let fake = FakeHeroku::start("shop", "tok", &[("web", 1), ("worker", 1)]).await;
    let windows = Arc::new(Windows::default());
    *windows.rate.lock().unwrap() = 5.0;
    let loaded = load_str(&config(&fake, false, "100ms", "300ms"), "t.yaml", &|_| None).unwrap();
    let mut scaler = support::built::scaler(&loaded, Some(windows.clone()));
    let passes = Arc::new(Passes::default());
    scaler.add_reporter(passes.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(scaler.run_until(async move {
        let _ = stopped.await;
    }));
    wait_for("a few quiet passes", || passes.count("web") >= 5).await;
    assert_eq!(fake.quantity("web"), Some(1));

    let before = passes.count("web");
    let spike = Instant::now();
    *windows.rate.lock().unwrap() = 150.0; // 15 dynos
    wait_for("the PATCH", || fake.quantity("web") == Some(15)).await;
    let latency = spike.elapsed();
    let (pass, report) = passes.first_change("web").unwrap();
    let after = pass - before;
    // +1: a pass may have been running (and read the windows) when the spike was set.
    let bound = 300usize.div_ceil(100) + 1 + 1;
    println!(
        "spike -> PATCH: {} ms, {after} passes (bound {bound} passes = scaler interval x {bound})",
        latency.as_millis()
    );
    assert!(
        after <= bound,
        "the PATCH came {after} passes after the spike (bound {bound})"
    );
    assert_eq!(
        report.change.as_ref().map(|c| (c.from, c.to)),
        Some((1, 15))
    );
    assert_eq!(fake.writes().iter().filter(|(t, _)| t == "web").count(), 1);
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_dry_run_reads_the_real_count_and_never_writes() {
    let fake = FakeHeroku::start("shop", "tok", &[("web", 3), ("worker", 1)]).await;
    let windows = Arc::new(Windows::default());
    *windows.rate.lock().unwrap() = 120.0;
    let loaded = load_str(&config(&fake, true, "50ms", "100ms"), "t.yaml", &|_| None).unwrap();
    let mut scaler = support::built::scaler(&loaded, Some(windows));
    let passes = Arc::new(Passes::default());
    scaler.add_reporter(passes.clone());
    let status = scaler.status();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(scaler.run_until(async move {
        let _ = stopped.await;
    }));
    wait_for("the dry-run change", || {
        passes.first_change("web").is_some()
    })
    .await;
    wait_for("more passes", || passes.count("web") >= 5).await;
    let (_, report) = passes.first_change("web").unwrap();
    assert!(report.dry_run);
    assert_eq!(
        report.change.as_ref().map(|c| (c.from, c.to)),
        Some((3, 12))
    );
    assert_eq!(status.status()["dry_run"], true);
    assert_eq!(fake.count("PATCH"), 0);
    assert_eq!(fake.quantity("web"), Some(3));
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn the_formation_file_backend_follows_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("formation");
    std::fs::write(&path, "# scaled by drainscale\nweb=1\nclock=1\n").unwrap();
    let text = format!(
        "scaler:\n  interval: 50ms\n  stats: {{console: false, outlets: false}}\ncontrollers:\n  - name: web\n    max: 9\n    backend: {{file: {}}}\n    inputs:\n      - {{name: r, type: random, seed: 3, per_dyno: 10, interval: 50ms}}\n",
        path.display()
    );
    let loaded = load_str(&text, "f.yaml", &|_| None).unwrap();
    let mut scaler = support::built::scaler(&loaded, None);
    let reports = scaler.pass_once().await;
    let want = reports[0].actual.unwrap();
    assert!(
        (4..=7).contains(&want),
        "random 36..63 at 10 per dyno: {want}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("# scaled by drainscale\nweb={want}\nclock=1\n")
    );
}

#[tokio::test]
async fn a_panicking_controller_never_stops_the_others() {
    use drainscale::scaler::backend::file::FormationFile;
    use drainscale::scaler::clock::Clock;
    use drainscale::scaler::controller::{Controller, InputSlot};
    use drainscale::scaler::input::Conversion;
    use drainscale::scaler::inputs::{sine::SineParams, InputContext, InputParams};
    use drainscale::scaler::policy::Policy;

    let dir = tempfile::tempdir().unwrap();
    let file = Arc::new(FormationFile::new(dir.path().join("formation")));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let start = clock.tick();
    let slot = |name: &str, input: Box<dyn drainscale::scaler::input::Input>| {
        InputSlot::new(
            name.into(),
            "test",
            String::new(),
            input,
            Duration::from_millis(20),
            Duration::from_millis(20),
            None,
            Duration::from_secs(300),
            start.mono,
        )
    };
    // Sine at 100 per dyno: always 1 dyno (value 0..100 -> 0..1, min 1).
    let sine = InputParams::new(SineParams::default())
        .build(Conversion::PerDyno(100.0), &InputContext::default(), start)
        .unwrap();
    let broken = Controller::new(
        "broken".into(),
        "worker".into(),
        1,
        5,
        vec![],
        Policy::default(),
        vec![slot("bug", Box::new(Panics))],
        file.clone(),
    );
    let fine = Controller::new(
        "fine".into(),
        "web".into(),
        1,
        5,
        vec![],
        Policy::default(),
        vec![slot("wave", sine)],
        file.clone(),
    );
    let mut scaler = drainscale::scaler::Scaler::new(
        vec![broken, fine],
        clock,
        vec![],
        Duration::from_millis(20),
        false,
    );
    let passes = Arc::new(Passes::default());
    scaler.add_reporter(passes.clone());
    let status = scaler.status();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(scaler.run_until(async move {
        let _ = stopped.await;
    }));
    wait_for("ten passes of the healthy controller", || {
        passes.count("fine") >= 10
    })
    .await;
    assert_eq!(passes.count("broken"), 0);
    let doc = status.status();
    let broken = doc["controllers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "broken")
        .unwrap()
        .clone();
    assert!(
        broken["error"].as_str().unwrap().contains("panicked"),
        "{broken}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("formation")).unwrap(),
        "web=1\n"
    );
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn the_dead_mans_switch_pings_after_clean_passes_only() {
    // The fake Heroku API doubles as the check-in endpoint: it logs every request, paths included.
    let fake = FakeHeroku::start("shop", "tok", &[("web", 1)]).await;
    let yaml = |process: &str| {
        format!(
            "scaler:\n  app: shop\n  api_key: tok\n  api_url: {url}\n  interval: 20ms\n  stats: {{console: false}}\n  dead_mans_switch: {{url: '{url}/check-in', interval: 1h}}\ncontrollers:\n  - name: web\n    process: {process}\n    max: 3\n    inputs:\n      - {{name: wave, type: sine, interval: 20ms}}\n",
            url = fake.url
        )
    };
    let check_ins = || fake.log().iter().filter(|s| s.path == "/check-in").count();
    for (process, want) in [("clock", 0), ("web", 1)] {
        let loaded = load_str(&yaml(process), "t.yaml", &|_| None).unwrap();
        let mut scaler = support::built::scaler(&loaded, None);
        let passes = Arc::new(Passes::default());
        scaler.add_reporter(passes.clone());
        let before = check_ins();
        for _ in 0..10 {
            scaler.pass_once().await;
        }
        // `clock` is not in the formation: every pass fails (404), so no check-in; `web` passes are clean:
        // exactly one check-in within the hour.
        if want > 0 {
            wait_for("the check-in", || check_ins() > before).await;
        } else {
            assert!(passes.0.lock().unwrap().iter().all(|p| p.error.is_some()));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(check_ins() - before, want, "process {process}");
    }
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_pass_stuck_on_a_slow_api() {
    let fake = FakeHeroku::start("shop", "tok", &[("web", 1), ("worker", 1)]).await;
    // Every GET stalls for 2 minutes.
    for _ in 0..20 {
        fake.fail_next(
            Some("GET"),
            support::fake_heroku::Fault::Stall(Duration::from_secs(120)),
        );
    }
    let windows = Arc::new(Windows::default());
    // A patient client: without cancellation, shutdown would wait 2 x 60 s for the passes.
    let text = config(&fake, false, "50ms", "100ms")
        .replace("max_attempts: 2", "max_attempts: 2, timeout: 60s");
    let loaded = load_str(&text, "t.yaml", &|_| None).unwrap();
    let scaler = support::built::scaler(&loaded, Some(windows));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(scaler.run_until(async move {
        let _ = stopped.await;
    }));
    wait_for("both passes to be stuck on the API", || {
        fake.arrived("GET") >= 2
    })
    .await;
    assert_eq!(fake.count("GET"), 0, "no GET answered yet");
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("run_until waited for the stuck passes")
        .unwrap();
}
