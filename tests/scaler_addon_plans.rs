//! Add-on plan controllers against the fake Heroku Platform API on a real socket: Dynosaur's spec cases
//! (70 MB -> rediscloud:100; 120 then 30 MB within the window -> the plan for 120), bounds as plan names, a
//! 422 refusal reported once and not sent again while another controller keeps scaling, dry run, a plan the
//! table does not list, and the dyno `size:` sent with formation changes. Config errors name the key.

#[path = "support/built.rs"]
mod built;
#[path = "support/fake_heroku.rs"]
mod fake_heroku;
#[path = "support/serve.rs"]
mod serve;

use drainscale::config::{load_str, plan};
use drainscale::drain::StatusPage;
use drainscale::scaler::backend::addon::AddonPlans;
use drainscale::scaler::backend::heroku::{Heroku, HerokuSettings};
use drainscale::scaler::clock::{Clock, ManualClock, Tick};
use drainscale::scaler::controller::{Controller, InputSlot};
use drainscale::scaler::input::{ready, Conversion, Input, InputError, Retrieval};
use drainscale::scaler::plans::PlanTable;
use drainscale::scaler::policy::Policy;
use fake_heroku::{FakeHeroku, Fault};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MB: f64 = 1024.0 * 1024.0;

/// An input whose next value the test sets.
struct Scripted {
    value: Arc<Mutex<f64>>,
    conversion: Conversion,
}

impl Input for Scripted {
    fn retrieve(&self, _now: Tick) -> Retrieval<'_> {
        ready(Ok::<f64, InputError>(*self.value.lock().unwrap()))
    }
    fn unit(&self) -> &str {
        "bytes"
    }
    fn conversion(&self) -> &Conversion {
        &self.conversion
    }
}

fn client(fake: &FakeHeroku) -> Arc<Heroku> {
    let mut s = HerokuSettings::new(&fake.url, &fake.app, &fake.token);
    s.backoff_base = Duration::from_millis(5);
    s.cache_ttl = Duration::ZERO;
    Arc::new(Heroku::new(s).unwrap())
}

/// The conversion a config gives a `capacity: memory` input of a RedisCloud controller.
fn memory_conversion(threshold: &str) -> Conversion {
    let text = format!(
        "scaler: {{app: shop, dry_run: true}}\ncontrollers:\n  - name: redis\n    addon: rediscloud\n{threshold}    inputs:\n      - {{name: memory, type: constant, value: 1, capacity: memory}}\n"
    );
    let loaded = load_str(&text, "t.yaml", &|_| None).unwrap();
    loaded.config.controllers[0].inputs[0].conversion.clone()
}

/// A RedisCloud controller over the fake, fed by a scripted value, scaling at once both ways.
fn redis_controller(fake: &FakeHeroku, min: usize, max: usize) -> (Controller, Arc<Mutex<f64>>) {
    redis_controller_on(client(fake), min, max)
}

/// The same, through this API client.
fn redis_controller_on(
    client: Arc<Heroku>,
    min: usize,
    max: usize,
) -> (Controller, Arc<Mutex<f64>>) {
    let table = PlanTable::built_in("rediscloud").unwrap();
    let value = Arc::new(Mutex::new(0.0));
    let input = Scripted {
        value: value.clone(),
        conversion: memory_conversion(""),
    };
    let slot = InputSlot::new(
        "memory".into(),
        "scripted",
        "scripted memory".into(),
        Box::new(input),
        Duration::from_secs(10),
        Duration::from_secs(300),
        None,
        Duration::from_secs(300),
        std::time::Instant::now(),
    );
    let policy = Policy {
        down_cooldown: Duration::ZERO,
        ..Policy::default()
    };
    let backend = Arc::new(AddonPlans::new(client, table.clone()));
    let c = Controller::new(
        "redis".into(),
        "rediscloud".into(),
        min as u32,
        max as u32,
        vec![],
        policy,
        vec![slot],
        backend,
    )
    .with_plans(table);
    (c, value)
}

#[tokio::test]
async fn dynosaurs_spec_cases_pick_the_plan_for_the_max_in_the_window() {
    let fake = FakeHeroku::start("shop", "tok", &[]).await;
    fake.set_addon("rediscloud", "rediscloud:25");
    let (mut c, value) = redis_controller(&fake, 0, 9);
    let clock = ManualClock::default();
    // The first pass after a start waits one down cool-down before any scale-down (0 here).
    *value.lock().unwrap() = 70.0 * MB;
    let r = c.pass(clock.tick()).await;
    assert_eq!(r.error, None);
    assert_eq!(fake.plan("rediscloud").as_deref(), Some("rediscloud:100"));
    assert_eq!(r.label(r.actual.unwrap()), "rediscloud:100");
    let change = r.change.unwrap();
    assert_eq!((change.from, change.to), (0, 1));

    clock.advance(Duration::from_secs(10));
    *value.lock().unwrap() = 120.0 * MB;
    c.pass(clock.tick()).await;
    assert_eq!(fake.plan("rediscloud").as_deref(), Some("rediscloud:250"));

    // 30 MB within the hysteresis window: the max is still 120 MB, the plan stays.
    clock.advance(Duration::from_secs(10));
    *value.lock().unwrap() = 30.0 * MB;
    let r = c.pass(clock.tick()).await;
    assert_eq!(r.estimate, Some(2));
    assert_eq!(fake.plan("rediscloud").as_deref(), Some("rediscloud:250"));
    assert_eq!(
        fake.plan_writes(),
        [
            ("rediscloud".to_string(), "rediscloud:100".to_string()),
            ("rediscloud".to_string(), "rediscloud:250".to_string())
        ]
    );
    // Once 120 MB has left the window (300 s / 10 s = 30 values), 30 MB fits rediscloud:100 (90% of 100 MB).
    for _ in 0..30 {
        clock.advance(Duration::from_secs(10));
        c.pass(clock.tick()).await;
    }
    assert_eq!(fake.plan("rediscloud").as_deref(), Some("rediscloud:100"));
}

#[tokio::test]
async fn bounds_are_plans_and_the_estimate_is_clamped_to_them() {
    let fake = FakeHeroku::start("shop", "tok", &[]).await;
    fake.set_addon("rediscloud", "rediscloud:250");
    // min rediscloud:250, max rediscloud:1000 (Dynosaur's spec: 2000 then 2500 MB with max 250 -> 250).
    let (mut c, value) = redis_controller(&fake, 2, 4);
    let clock = ManualClock::default();
    *value.lock().unwrap() = 5.0 * MB;
    let r = c.pass(clock.tick()).await;
    assert_eq!(r.estimate, Some(2), "{r:?}");
    assert!(fake.plan_writes().is_empty());
    clock.advance(Duration::from_secs(10));
    *value.lock().unwrap() = 2500.0 * MB;
    let r = c.pass(clock.tick()).await;
    assert_eq!(r.estimate, Some(4));
    assert_eq!(fake.plan("rediscloud").as_deref(), Some("rediscloud:1000"));
}

#[tokio::test]
async fn a_refused_plan_is_reported_once_not_resent_and_other_controllers_go_on() {
    let fake = FakeHeroku::start("shop", "tok", &[("web", 1)]).await;
    fake.set_addon("papertrail", "papertrail:choklad");
    fake.refuse_plan(
        "papertrail:ludvig",
        "Papertrail doesn't support plan changes via API. Please contact support.",
    );
    let text = format!(
        "scaler:\n  app: shop\n  api_key: tok\n  api_url: {}\n  stats: {{console: false, outlets: false}}\n  heroku: {{cache_ttl: 0s, backoff_base: 5ms}}\n\
         controllers:\n  - name: logs\n    addon: papertrail\n    inputs:\n      - {{name: volume, type: constant, value: 60000000, capacity: log_volume}}\n\
         \x20 - name: web\n    max: 5\n    inputs:\n      - {{name: fixed, type: constant, value: 3}}\n",
        fake.url
    );
    let loaded = load_str(&text, "t.yaml", &|_| None).unwrap();
    let mut scaler = built::scaler(&loaded, None);
    let status = scaler.status();
    let first = scaler.pass_once().await;
    let logs = &first[0];
    let error = logs.error.clone().unwrap_or_default();
    assert!(
        error.contains("papertrail:ludvig") && error.contains("HTTP 422"),
        "{error}"
    );
    assert!(error.contains("doesn't support plan changes"), "{error}");
    assert!(!logs.error_repeated);
    // The other controller scaled in the same pass.
    assert_eq!(first[1].error, None);
    assert_eq!(fake.quantity("web"), Some(3));
    let patches = fake.count("PATCH");
    for _ in 0..3 {
        let again = scaler.pass_once().await;
        assert!(again[0].error_repeated, "{:?}", again[0]);
    }
    // Refused once, not asked again (only the web PATCH went out).
    assert_eq!(fake.count("PATCH"), patches);
    assert_eq!(
        fake.plan("papertrail").as_deref(),
        Some("papertrail:choklad")
    );
    let page = status.status();
    let doc = page["controllers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "logs")
        .unwrap()
        .clone();
    assert_eq!(doc["plan"], "papertrail:choklad", "{doc}");
    assert_eq!(doc["estimate_plan"], "papertrail:ludvig", "{doc}");
    assert!(doc["error"].as_str().unwrap_or_default().contains("422"));
}

#[tokio::test]
async fn step_limits_count_plan_steps() {
    let fake = FakeHeroku::start("shop", "tok", &[]).await;
    fake.set_addon("rediscloud", "rediscloud:25");
    let text = format!(
        "scaler:\n  app: shop\n  api_key: tok\n  api_url: {}\n  stats: {{console: false, outlets: false}}\n  heroku: {{cache_ttl: 0s}}\n\
         controllers:\n  - name: cache\n    addon: rediscloud\n    policy: {{max_step_up: 1}}\n    inputs:\n      - {{name: memory, type: constant, value: 838860800, capacity: memory}}\n",
        fake.url
    );
    let loaded = load_str(&text, "t.yaml", &|_| None).unwrap();
    let mut scaler = built::scaler(&loaded, None);
    // 800 MB at 90% asks for rediscloud:1000, four plans up: one plan per change.
    let mut seen = Vec::new();
    for _ in 0..5 {
        let r = scaler.pass_once().await.remove(0);
        assert_eq!(r.error, None, "{r:?}");
        seen.push(fake.plan("rediscloud").unwrap_or_default());
    }
    assert_eq!(
        seen,
        [
            "rediscloud:100",
            "rediscloud:250",
            "rediscloud:500",
            "rediscloud:1000",
            "rediscloud:1000"
        ]
    );
}

#[tokio::test]
async fn a_plan_the_table_does_not_list_holds_with_an_error() {
    let fake = FakeHeroku::start("shop", "tok", &[]).await;
    fake.set_addon("rediscloud", "rediscloud:30");
    let (mut c, value) = redis_controller(&fake, 0, 9);
    *value.lock().unwrap() = 500.0 * MB;
    let r = c.pass(ManualClock::default().tick()).await;
    let e = r.error.unwrap_or_default();
    assert!(
        e.contains("rediscloud:30") && e.contains("does not list"),
        "{e}"
    );
    assert!(fake.plan_writes().is_empty());
    assert_eq!(r.current, None);
}

#[tokio::test]
async fn a_patch_that_may_have_landed_is_read_back_before_another() {
    let fake = FakeHeroku::start("shop", "tok", &[]).await;
    fake.set_addon("rediscloud", "rediscloud:25");
    fake.fail_next(Some("PATCH"), Fault::ApplyThen503);
    let (mut c, value) = redis_controller(&fake, 0, 9);
    *value.lock().unwrap() = 70.0 * MB;
    let r = c.pass(ManualClock::default().tick()).await;
    assert_eq!(r.error, None, "{r:?}");
    assert_eq!(fake.plan("rediscloud").as_deref(), Some("rediscloud:100"));
    assert_eq!(fake.plan_writes().len(), 1);
}

#[tokio::test]
async fn rate_limits_and_5xx_are_retried_and_a_bad_token_holds_the_plan() {
    let fake = FakeHeroku::start("shop", "tok", &[]).await;
    fake.set_addon("rediscloud", "rediscloud:25");
    fake.fail_next(Some("GET"), Fault::RateLimited { retry_after: 0 });
    fake.fail_next(
        Some("PATCH"),
        Fault::Status {
            status: 503,
            id: "unavailable",
            message: "try again",
        },
    );
    let (mut c, value) = redis_controller(&fake, 0, 9);
    *value.lock().unwrap() = 70.0 * MB;
    let r = c.pass(ManualClock::default().tick()).await;
    assert_eq!(r.error, None, "{r:?}");
    assert_eq!(fake.plan("rediscloud").as_deref(), Some("rediscloud:100"));
    assert_eq!(fake.plan_writes().len(), 1, "{:?}", fake.log());

    // A token Heroku refuses: the plan cannot be read, so nothing is decided or written.
    let mut s = HerokuSettings::new(&fake.url, &fake.app, "wrong");
    s.cache_ttl = Duration::ZERO;
    let (mut c2, value2) = redis_controller_on(Arc::new(Heroku::new(s).unwrap()), 0, 9);
    *value2.lock().unwrap() = 2000.0 * MB;
    let r = c2.pass(ManualClock::default().tick()).await;
    let e = r.error.clone().unwrap_or_default();
    assert!(e.contains("401"), "{r:?}");
    assert_eq!(
        (r.current, r.actual, r.change.is_none()),
        (None, None, true)
    );
    assert_eq!(fake.plan("rediscloud").as_deref(), Some("rediscloud:100"));
}

#[tokio::test]
async fn a_dry_run_reads_the_plan_and_never_writes() {
    let fake = FakeHeroku::start("shop", "tok", &[]).await;
    fake.set_addon("rediscloud", "rediscloud:100");
    let text = format!(
        "scaler:\n  app: shop\n  api_key: tok\n  api_url: {}\n  dry_run: true\n  stats: {{console: false, outlets: false}}\n\
         controllers:\n  - name: redis\n    addon: rediscloud\n    max: rediscloud:500\n    max_percentage_threshold: 80\n    inputs:\n      - {{name: memory, type: constant, value: 230686720, capacity: memory}}\n",
        fake.url
    );
    let loaded = load_str(&text, "t.yaml", &|_| None).unwrap();
    let mut scaler = built::scaler(&loaded, None);
    let r = scaler.pass_once().await.remove(0);
    // 220 MB against 80% of each plan: 250 MB * 0.8 = 200 MB is too small; rediscloud:500.
    let change = r.change.clone().unwrap();
    assert_eq!(r.label(change.from), "rediscloud:100");
    assert_eq!(r.label(change.to), "rediscloud:500");
    assert!(r.dry_run);
    assert_eq!(fake.count("PATCH"), 0);
    assert_eq!(fake.plan("rediscloud").as_deref(), Some("rediscloud:100"));
    let text = plan::render(&loaded);
    assert!(
        text.contains("controller redis: add-on rediscloud, plan table rediscloud"),
        "{text}"
    );
    assert!(text.contains("max rediscloud:500"), "{text}");
    assert!(text.contains("memory * 80% exceeds"), "{text}");
}

#[tokio::test]
async fn a_dyno_size_is_sent_with_formation_changes_and_shown() {
    let fake = FakeHeroku::start("shop", "tok", &[("web", 1)]).await;
    let text = format!(
        "scaler:\n  app: shop\n  api_key: tok\n  api_url: {}\n  stats: {{console: false, outlets: false}}\n  heroku: {{cache_ttl: 0s}}\n\
         controllers:\n  - name: web\n    max: 5\n    size: performance-m\n    inputs:\n      - {{name: fixed, type: constant, value: 2}}\n",
        fake.url
    );
    let loaded = load_str(&text, "t.yaml", &|_| None).unwrap();
    assert!(plan::render(&loaded).contains("size performance-m"));
    let mut scaler = built::scaler(&loaded, None);
    let status = scaler.status();
    let r = scaler.pass_once().await.remove(0);
    assert_eq!(r.error, None);
    assert_eq!(fake.quantity("web"), Some(2));
    assert_eq!(fake.size("web"), "performance-M");
    let patch = fake
        .log()
        .into_iter()
        .find(|s| s.method == "PATCH")
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&patch.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"quantity": 2, "size": "performance-m"})
    );
    assert_eq!(status.status()["controllers"][0]["size"], "performance-m");
    // The next pass finds the count and size in force: no write.
    scaler.pass_once().await;
    assert_eq!(fake.count("PATCH"), 1);
}

#[test]
fn config_errors_name_the_key_and_what_was_expected() {
    let err = |controller: &str| {
        let text = format!("scaler: {{app: shop, dry_run: true}}\ncontrollers:\n{controller}");
        load_str(&text, "plans.yaml", &|_| None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "loaded".into())
    };
    let e = err("  - name: r\n    addon: rediscloud\n    min: rediscloud:30\n    inputs: []\n");
    assert!(
        e.contains("plans.yaml") && e.contains("\"rediscloud:30\" is not in the plan table"),
        "{e}"
    );
    let e = err("  - name: r\n    addon: rediscloud\n    inputs:\n      - {name: m, type: constant, value: 1, per_dyno: 3}\n");
    assert!(e.contains("write `capacity: FIGURE`"), "{e}");
    let e = err("  - name: r\n    addon: rediscloud\n    inputs:\n      - {name: m, type: constant, value: 1, capacity: disk}\n");
    assert!(
        e.contains("capacity \"disk\" is not a figure") && e.contains("connections, memory"),
        "{e}"
    );
    let e = err("  - name: r\n    addon: memcachier\n    inputs: []\n");
    assert!(e.contains("no built-in plan table"), "{e}");
    let e = err("  - name: web\n    max: 4\n    inputs:\n      - {name: m, type: constant, value: 1, capacity: memory}\n");
    assert!(e.contains("a dyno controller's inputs need"), "{e}");
    let e = err("  - name: web\n    max: 4\n    size: 'perf m'\n    inputs: []\n");
    assert!(e.contains("size") && e.contains("not a dyno size"), "{e}");
    let e = err("  - name: r\n    addon: rediscloud\n    size: standard-2x\n    inputs: []\n");
    assert!(e.contains("`size` is for dyno controllers"), "{e}");
    // A table of the config's own.
    let text = "scaler: {app: shop, dry_run: true}\ncontrollers:\n  - name: kv\n    addon: heroku-redis\n    plans:\n      - {name: 'heroku-redis:mini', memory: 25MB}\n      - {name: 'heroku-redis:premium-0', memory: 50MB}\n    min: heroku-redis:mini\n    inputs:\n      - {name: m, type: constant, value: 1, capacity: memory}\n";
    let loaded = load_str(text, "t.yaml", &|_| None).unwrap();
    let c = &loaded.config.controllers[0];
    assert_eq!((c.min, c.max), (0, 1));
    assert_eq!(c.label(1), "heroku-redis:premium-0");
}

#[test]
fn a_threshold_given_on_the_controller_or_the_input_is_used() {
    let Conversion::Plan { threshold, .. } = memory_conversion("") else {
        panic!("not resolved")
    };
    assert_eq!(threshold, 90.0);
    let Conversion::Plan { threshold, .. } =
        memory_conversion("    max_percentage_threshold: 75\n")
    else {
        panic!("not resolved")
    };
    assert_eq!(threshold, 75.0);
}
