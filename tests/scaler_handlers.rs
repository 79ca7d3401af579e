//! The scaler's error handlers against real HTTP receivers on 127.0.0.1: the webhook's JSON and headers,
//! Bugsnag's v5 payload and headers, transitions (not every pass) of input health, deduplication, the
//! drop-oldest queue, a stalled or failing receiver that never stops passes, panics reported, the Dynosaur
//! mapping and what `drainscale check` shows.

#[path = "support/built.rs"]
mod built;
#[path = "support/fake_heroku.rs"]
mod fake_heroku;
#[path = "support/panics.rs"]
mod panics;
#[path = "support/receiver.rs"]
mod receiver;
#[path = "support/serve.rs"]
mod serve;
use panics::Panics;

use drainscale::config::{load_str, ErrorHandlerConfig};
use drainscale::scaler::clock::{Clock, SystemClock};
use drainscale::scaler::controller::{InputReport, PassReport};
use drainscale::scaler::handlers::bugsnag::BugsnagParams;
use drainscale::scaler::handlers::{self, ErrorEvent, EventKind, Lane, Notifier};
use drainscale::scaler::health::Health;
use drainscale::scaler::policy::Bounds;
use drainscale::scaler::report::StatsReporter;
use fake_heroku::FakeHeroku;
use receiver::{Mode, Receiver};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn pass(error: Option<&str>, health: Health) -> PassReport {
    PassReport {
        controller: "web".into(),
        process: "web".into(),
        at: "2026-11-23T15:00:00Z".parse().unwrap(),
        inputs: vec![InputReport {
            name: "rps".into(),
            kind: "drain",
            description: String::new(),
            unit: String::new(),
            value: None,
            max: None,
            estimate: None,
            health,
            age: None,
            last_error: (health != Health::Ok).then(|| "no logs from the drain".to_string()),
            fallback_used: false,
        }],
        current: Some(2),
        estimate: Some(2),
        actual: Some(2),
        bounds: Bounds {
            min: 1,
            max: 10,
            schedule: None,
        },
        reason: String::new(),
        change: None,
        error: error.map(str::to_string),
        error_repeated: false,
        dry_run: false,
        plans: None,
        size: None,
    }
}

fn handler(yaml: &str) -> ErrorHandlerConfig {
    let c: ErrorHandlerConfig = serde_yaml_ng::from_str(yaml).unwrap();
    c.validate().unwrap();
    c
}

fn notifier(configs: &[ErrorHandlerConfig]) -> Notifier {
    Notifier::from_config("shop", configs).unwrap().unwrap()
}

#[tokio::test]
async fn the_webhook_posts_the_event_as_json_with_its_headers() {
    let rx = Receiver::start(Mode::Ok).await;
    let n = notifier(&[handler(&format!(
        "{{type: webhook, url: '{}/hook', headers: {{Authorization: Bearer s3cret, X-Team: ops}}}}",
        rx.url
    ))]);
    n.after_pass(&pass(Some("heroku: 503 service unavailable"), Health::Ok));
    let got = rx.wait_until("one event", |r| r.len() == 1).await;
    assert_eq!(
        (got[0].method.as_str(), got[0].path.as_str()),
        ("POST", "/hook")
    );
    assert_eq!(got[0].headers["authorization"], "Bearer s3cret");
    assert_eq!(got[0].headers["x-team"], "ops");
    assert_eq!(got[0].headers["content-type"], "application/json");
    assert_eq!(
        got[0].body,
        json!({
            "app": "shop",
            "controller": "web",
            "kind": "pass_error",
            "message": "heroku: 503 service unavailable",
            "at": "2026-11-23T15:00:00Z",
        })
    );
}

#[tokio::test]
async fn input_health_is_reported_on_transitions_only() {
    let rx = Receiver::start(Mode::Ok).await;
    let n = notifier(&[handler(&format!("{{type: webhook, url: '{}'}}", rx.url))]);
    use Health::*;
    for h in [Ok, Ok, Stale, Stale, Stale, Outage, Outage, Ok, Ok] {
        n.after_pass(&pass(None, h));
    }
    // A marker after the passes: events go out in order, so once it is in, nothing else is coming.
    n.after_pass(&pass(Some("marker"), Ok));
    let got = rx
        .wait_until("the marker", |r| {
            r.iter().any(|e| e.body["message"] == "marker")
        })
        .await;
    let seen: Vec<(String, String, String)> = got
        .iter()
        .map(|e| {
            (
                e.body["kind"].as_str().unwrap().to_string(),
                e.body["health"].as_str().unwrap_or("-").to_string(),
                e.body["input"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    let want = [
        ("input_stale", "STALE", "rps"),
        ("input_outage", "OUTAGE", "rps"),
        ("input_recovered", "OK", "rps"),
        ("pass_error", "-", "-"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(seen, want);
    assert_eq!(
        got[0].body["message"],
        "input rps is STALE: no logs from the drain"
    );
    assert_eq!(got[2].body["message"], "input rps is OK again (was OUTAGE)");
}

#[tokio::test]
async fn bugsnag_gets_the_v5_payload_and_headers() {
    let rx = Receiver::start(Mode::Ok).await;
    let n = notifier(&[handler(&format!(
        "{{type: bugsnag, api_key: 0123456789abcdef, endpoint: '{}', release_stage: production}}",
        rx.url
    ))]);
    n.after_pass(&pass(None, Health::Outage));
    let got = rx.wait_until("one event", |r| r.len() == 1).await;
    let r = &got[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/"));
    assert_eq!(r.headers["bugsnag-api-key"], "0123456789abcdef");
    assert_eq!(r.headers["bugsnag-payload-version"], "5");
    assert_eq!(r.headers["content-type"], "application/json");
    let sent_at: jiff::Timestamp = r.headers["bugsnag-sent-at"].parse().unwrap();
    assert!(sent_at > "2026-01-01T00:00:00Z".parse().unwrap());
    let b = &r.body;
    assert_eq!(b["apiKey"], "0123456789abcdef");
    assert_eq!(b["payloadVersion"], "5");
    assert_eq!(b["notifier"]["name"], "drainscale");
    assert_eq!(b["notifier"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(b["notifier"]["url"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    let events = b["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        e["exceptions"],
        json!([{
            "errorClass": "drainscale::input_outage",
            "message": "input rps is OUTAGE: no logs from the drain",
            "stacktrace": [],
        }])
    );
    assert_eq!(e["severity"], "error");
    assert_eq!(e["unhandled"], false);
    assert_eq!(e["severityReason"]["type"], "handledError");
    assert_eq!(e["context"], "shop/web/rps");
    assert_eq!(e["app"], json!({"releaseStage": "production"}));
    assert_eq!(e["metaData"]["drainscale"]["health"], "OUTAGE");
    assert_eq!(e["metaData"]["drainscale"]["input"], "rps");
    assert_eq!(e["metaData"]["drainscale"]["app"], "shop");
}

fn event(message: &str) -> ErrorEvent {
    ErrorEvent {
        app: "shop".into(),
        controller: "web".into(),
        input: None,
        kind: EventKind::PassError,
        message: message.into(),
        health: None,
        at: jiff::Timestamp::UNIX_EPOCH,
    }
}

fn lane(url: &str, extra: &str) -> Lane {
    let c = handler(&format!("{{type: webhook, url: '{url}'{extra}}}"));
    Lane::new(handlers::from_config(&c).unwrap(), c.delivery())
}

#[tokio::test]
async fn the_same_event_is_sent_once_within_repeat_after() {
    let rx = Receiver::start(Mode::Ok).await;
    let l = lane(&rx.url, "");
    for _ in 0..5 {
        l.push(event("backend down"));
    }
    l.push(event("other"));
    let got = rx
        .wait_until("the other event", |r| {
            r.iter().any(|e| e.body["message"] == "other")
        })
        .await;
    let messages: Vec<&str> = got
        .iter()
        .map(|e| e.body["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["backend down", "other"]);
    let s = l.stats();
    assert_eq!((s.sent, s.deduplicated, s.dropped, s.failed), (2, 4, 0, 0));

    // With `repeat_after: 0s`, every event goes.
    let rx = Receiver::start(Mode::Ok).await;
    let l = lane(&rx.url, ", repeat_after: 0s");
    for _ in 0..3 {
        l.push(event("backend down"));
    }
    rx.wait_until("three events", |r| r.len() == 3).await;
    assert_eq!(l.stats().deduplicated, 0);
}

#[tokio::test]
async fn a_full_queue_drops_the_oldest_and_a_stalled_send_times_out() {
    let rx = Receiver::start(Mode::Stall).await;
    let l = lane(&rx.url, ", queue: 2, timeout: 2s");
    l.push(event("a"));
    // Wait until "a" is in flight (stalled), so the queue is empty again.
    let deadline = Instant::now() + Duration::from_secs(20);
    while rx.arrived() < 1 {
        assert!(Instant::now() < deadline, "a never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for m in ["b", "c", "d"] {
        l.push(event(m));
    }
    assert_eq!(l.stats().dropped, 1);
    rx.set_mode(Mode::Ok);
    let got = rx.wait_until("c and d", |r| r.len() == 2).await;
    let messages: Vec<&str> = got
        .iter()
        .map(|e| e.body["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["c", "d"]);
    let s = l.stats();
    assert_eq!((s.sent, s.failed, s.dropped), (2, 1, 1));
}

/// Counts passes.
#[derive(Default)]
struct Passes(Mutex<usize>);

impl StatsReporter for Passes {
    fn report(&self, _: &PassReport) {
        *self.0.lock().unwrap() += 1;
    }
}

#[tokio::test]
async fn stalled_and_failing_receivers_never_stop_passes() {
    // No `worker` in the formation: every pass fails with Heroku's 404, and every failure is an event.
    let fake = FakeHeroku::start("shop", "tok", &[("web", 1)]).await;
    let stalled = Receiver::start(Mode::Stall).await;
    let failing = Receiver::start(Mode::Fail500).await;
    let text = format!(
        "scaler:\n  app: shop\n  api_key: tok\n  api_url: {}\n  interval: 20ms\n  stats: {{console: false, outlets: false}}\n  heroku: {{cache_ttl: 0s, max_attempts: 1}}\n  error_handlers:\n    - {{type: webhook, url: '{}', repeat_after: 0s, queue: 4, timeout: 60s}}\n    - {{type: bugsnag, api_key: k, endpoint: '{}', repeat_after: 0s}}\ncontrollers:\n  - name: worker\n    min: 1\n    max: 5\n    inputs:\n      - {{name: wave, type: sine, period: 10s, interval: 100ms}}\n",
        fake.url, stalled.url, failing.url
    );
    let loaded = load_str(&text, "t.yaml", &|_| None).unwrap();
    let mut scaler = built::scaler(&loaded, None);
    let passes = Arc::new(Passes::default());
    scaler.add_reporter(passes.clone());
    let handlers = scaler.error_handlers().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(scaler.run_until(async move {
        let _ = stopped.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(*passes.0.lock().unwrap() >= 30 && failing.arrived() >= 3 && stalled.arrived() >= 1) {
        assert!(
            Instant::now() < deadline,
            "passes {}, failing receiver {}, stalled receiver {}",
            passes.0.lock().unwrap(),
            failing.arrived(),
            stalled.arrived()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The stalled receiver holds its one request; the passes went on regardless. Its queue (4) overflowed and
    // dropped the oldest; the failing one counted its failures.
    assert_eq!(stalled.arrived(), 1);
    let stats = handlers.stats();
    assert!(
        stats[0].handler.starts_with("webhook http://127.0.0.1:"),
        "{stats:?}"
    );
    assert_eq!(stats[0].sent, 0, "{stats:?}");
    assert!(stats[0].dropped >= 1, "{stats:?}");
    assert!(stats[1].handler.starts_with("bugsnag "), "{stats:?}");
    assert!(stats[1].failed >= 1, "{stats:?}");
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn an_outage_whose_answers_carry_fresh_request_ids_is_one_event() {
    // Every formation read fails with a 503 whose message ends with a new request id, as Heroku's do.
    let fake = FakeHeroku::start("shop", "tok", &[("web", 1)]).await;
    for _ in 0..6 {
        fake.fail_next(
            Some("GET"),
            fake_heroku::Fault::StatusWithRequestId {
                status: 503,
                id: "unavailable",
                message: "The service is unavailable, please try again.",
            },
        );
    }
    let rx = Receiver::start(Mode::Ok).await;
    let text = format!(
        "scaler:\n  app: shop\n  api_key: tok\n  api_url: {}\n  stats: {{console: false, outlets: false}}\n  heroku: {{cache_ttl: 0s, max_attempts: 1}}\n  error_handlers:\n    - {{type: webhook, url: '{}', repeat_after: 10m}}\ncontrollers:\n  - name: web\n    min: 1\n    max: 5\n    inputs:\n      - {{name: wave, type: sine}}\n",
        fake.url, rx.url
    );
    let loaded = load_str(&text, "t.yaml", &|_| None).unwrap();
    let mut scaler = built::scaler(&loaded, None);
    let handlers = scaler.error_handlers().unwrap();
    let mut messages = Vec::new();
    for _ in 0..6 {
        let reports = scaler.pass_once().await;
        messages.push(reports[0].error.clone().expect("the read failed"));
    }
    // The messages differ (each names its request id) ...
    messages.dedup();
    assert_eq!(messages.len(), 6, "{messages:?}");
    assert!(messages[0].contains("Request ID: "), "{}", messages[0]);
    // ... and the receiver hears the outage once; the rest are counted as repeats.
    rx.wait_until("the first event", |r| !r.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rx.received().len(), 1);
    assert_eq!(handlers.stats()[0].deduplicated, 5);
}

#[tokio::test]
async fn a_panicking_pass_is_reported() {
    use drainscale::scaler::backend::file::FormationFile;
    use drainscale::scaler::controller::{Controller, InputSlot};
    use drainscale::scaler::policy::Policy;

    let rx = Receiver::start(Mode::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    let file = Arc::new(FormationFile::new(dir.path().join("formation")));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let start = clock.tick();
    let slot = InputSlot::new(
        "bug".into(),
        "test",
        String::new(),
        Box::new(Panics),
        Duration::from_millis(20),
        Duration::from_millis(20),
        None,
        Duration::from_secs(300),
        start.mono,
    );
    let broken = Controller::new(
        "broken".into(),
        "worker".into(),
        1,
        5,
        vec![],
        Policy::default(),
        vec![slot],
        file,
    );
    let scaler = drainscale::scaler::Scaler::new(
        vec![broken],
        clock,
        vec![],
        Duration::from_millis(20),
        false,
    )
    .with_error_handlers(Arc::new(notifier(&[handler(&format!(
        "{{type: webhook, url: '{}'}}",
        rx.url
    ))])));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(scaler.run_until(async move {
        let _ = stopped.await;
    }));
    let got = rx.wait_until("the panic", |r| !r.is_empty()).await;
    assert_eq!(got[0].body["kind"], "pass_panic");
    assert_eq!(got[0].body["controller"], "broken");
    assert!(
        got[0].body["message"]
            .as_str()
            .unwrap()
            .contains("panicked"),
        "{:?}",
        got[0].body
    );
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap()
        .unwrap();
}

const DYNOSAUR: &str = r#"scaler:
    heroku_app_name: shop
    dry_run: true
error_handlers:
    -
        type: Dynosaur::ErrorHandler::Bugsnag
        api_key: <%= ENV['BUGSNAG_API_KEY'] %>
    -
        type: Dynosaur::ErrorHandler::Ses
        from: ops@example.com
    -
        type: Dynosaur::ErrorHandler::Console
controller_plugins:
    -
        name: dynos
        type: Dynosaur::Controllers::DynosControllerPlugin
        input_plugins:
            -
                name: wave
                type: Dynosaur::Inputs::SinePlugin
"#;

#[test]
fn dynosaurs_bugsnag_handler_maps_to_the_bugsnag_handler() {
    let env = |name: &str| (name == "BUGSNAG_API_KEY").then(|| "b7c0ffee".to_string());
    let loaded = load_str(DYNOSAUR, "dynosaur.yaml", &env).unwrap();
    // Dynosaur's handler defaults the release stage to "production".
    let mut want = BugsnagParams::new("b7c0ffee".into());
    want.release_stage = Some("production".into());
    assert_eq!(
        loaded.config.scaler.error_handlers,
        [ErrorHandlerConfig::new(want)]
    );
    let w = loaded.warnings.join("\n");
    assert!(!w.contains("Bugsnag"), "{w}");
    assert!(
        w.contains("Ses: to, aws_access_key_id, aws_secret_access_key empty; skipped"),
        "{w}"
    );
    let plan = drainscale::config::plan::render(&loaded);
    assert!(
        plan.contains("error handler: bugsnag https://notify.bugsnag.com (api key ***, release stage production)"),
        "{plan}"
    );
    assert!(!plan.contains("b7c0ffee"), "{plan}");

    // An unset key: no handler, a warning.
    let loaded = load_str(DYNOSAUR, "dynosaur.yaml", &|_| None).unwrap();
    assert!(loaded.config.scaler.error_handlers.is_empty());
    let w = loaded.warnings.join("\n");
    assert!(w.contains("Bugsnag: api_key is empty"), "{w}");

    // A release stage of its own, and drainscale's `endpoint` for an on-premise Bugsnag.
    let text = DYNOSAUR.replace(
        "api_key: <%= ENV['BUGSNAG_API_KEY'] %>",
        "api_key: k1\n        release_stage: staging\n        endpoint: https://bugsnag.internal:49000",
    );
    let loaded = load_str(&text, "dynosaur.yaml", &|_| None).unwrap();
    match &loaded.config.scaler.error_handlers[..] {
        [h] => {
            let b = h.params.get::<BugsnagParams>().unwrap();
            assert_eq!(
                (
                    b.api_key.expose(),
                    b.endpoint.expose(),
                    b.release_stage.as_deref()
                ),
                ("k1", "https://bugsnag.internal:49000", Some("staging"))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn check_masks_webhook_headers_and_the_config_is_strict() {
    let base = "scaler:\n  dry_run: true\n  error_handlers:\n    - {type: webhook, url: 'https://ops:pw@hooks.example.com/x?token=t0k', headers: {Authorization: Bearer s3cret}, repeat_after: 5m}\ncontrollers:\n  - name: web\n    min: 1\n    max: 2\n    inputs:\n      - {name: wave, type: sine}\n";
    let loaded = load_str(base, "t.yaml", &|_| None).unwrap();
    let plan = drainscale::config::plan::render(&loaded);
    assert!(
        plan.contains("error handler: webhook POST https://***@hooks.example.com/***?*** with Authorization: ***; same event at most every 5m"),
        "{plan}"
    );
    assert!(
        !plan.contains("s3cret")
            && !plan.contains("ops:")
            && !plan.contains("pw@")
            && !plan.contains("t0k"),
        "{plan}"
    );

    let err = |text: &str| load_str(text, "t.yaml", &|_| None).unwrap_err().to_string();
    let e = err(&base.replace("repeat_after: 5m", "retries: 3"));
    assert!(e.contains("retries"), "{e}");
    let e = err(&base.replace("https://ops:pw@hooks.example.com/x", "hooks.example.com"));
    assert!(e.contains("error_handlers[0]") && e.contains("http"), "{e}");
    let e = err(&base.replace("type: webhook", "type: pagerduty"));
    assert!(e.contains("pagerduty"), "{e}");
    let e = err("scaler:\n  dry_run: true\n  error_handlers: [{type: bugsnag, api_key: ''}]\ncontrollers: [{name: web, min: 1, max: 2, inputs: [{name: wave, type: sine}]}]\n");
    assert!(
        e.contains("scaler.error_handlers[0].api_key: is empty"),
        "{e}"
    );
}

#[tokio::test]
async fn the_counters_show_on_the_metrics_page() {
    use drainscale::drain::MetricsPage;
    let rx = Receiver::start(Mode::Ok).await;
    let l = lane(&rx.url, "");
    l.push(event("backend down"));
    l.push(event("backend down"));
    rx.wait_until("one event", |r| r.len() == 1).await;
    let n = Notifier::new("shop", vec![l]);
    // The receiver records the request before it answers: wait for the lane to count the answer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while n.stats()[0].sent < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the send was never counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut page = String::new();
    n.render(&mut page);
    assert!(
        page.contains("# TYPE drainscale_error_handler_events_total counter"),
        "{page}"
    );
    assert!(page.contains(",result=\"sent\"} 1"), "{page}");
    assert!(page.contains(",result=\"deduplicated\"} 1"), "{page}");
    assert!(page.contains(",result=\"dropped\"} 0"), "{page}");
}

#[tokio::test]
async fn delivery_errors_and_handler_names_never_show_the_url_or_headers() {
    let port = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let configs = [
        handler(&format!(
            "{{type: webhook, url: 'http://hook-user:pw-s3cret@127.0.0.1:{port}/services/T0-path?token=q-t0k', headers: {{Authorization: Bearer h-s3cret}}}}"
        )),
        handler(&format!(
            "{{type: bugsnag, api_key: bug-k3y, endpoint: 'http://127.0.0.1:{port}/bug-path'}}"
        )),
    ];
    for c in &configs {
        let h = handlers::from_config(c).unwrap();
        let e = h.send(&event("x")).await.unwrap_err();
        let shown = format!("{} {e} {e:?}", h.name());
        for secret in [
            "hook-user",
            "pw-s3cret",
            "T0-path",
            "q-t0k",
            "h-s3cret",
            "bug-k3y",
            "bug-path",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains(&format!("127.0.0.1:{port}/***")), "{shown}");
    }
}
