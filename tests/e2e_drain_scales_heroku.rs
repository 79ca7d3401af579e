//! End to end, through the real binary: router lines POSTed to the drain raise the web formation on a fake
//! Heroku Platform API, and the formation falls back to its minimum once the traffic stops and the hysteresis
//! window has passed. SIGTERM then stops the process with exit 0.
//!
//! The time from the first POST of the spike to the formation PATCH is printed (not asserted: speed is not a
//! test's business); the design bound is the scaler interval plus the input interval plus one bucket.

mod support;

use std::time::{Duration, Instant};
use support::binary::{router_body, Drainscale};
use support::fake_heroku::FakeHeroku;

const USER: &str = "logplex";
const PASSWORD: &str = "s3cret-drain";

fn config(api_url: &str) -> String {
    format!(
        r#"
drain:
  listen: "127.0.0.1:0"
  auth:
    users: [{{user: {USER}, password: {PASSWORD}}}]
windows:
  resolution: 1s
  retention: 2m
scaler:
  app: shop
  api_key: tok-123
  api_url: "{api_url}"
  interval: 200ms
  heroku:
    cache_ttl: 1s
  stats:
    console: true
controllers:
  - name: web
    min: 1
    max: 10
    policy:
      up_cooldown: 0s
      down_cooldown: 0s
    inputs:
      - name: rps
        type: drain
        query: {{signal: request_rate}}
        span: 2s
        per_dyno: 100
        interval: 200ms
        hysteresis_period: 3s
"#
    )
}

async fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_raises_the_formation_and_it_falls_back_after_the_window() {
    let fake = FakeHeroku::start("shop", "tok-123", &[("web", 1)]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drainscale.yaml");
    std::fs::write(&path, config(&fake.url)).unwrap();
    let app = Drainscale::start(&path);
    let url = app.url("/logs");
    let client = reqwest::Client::new();

    // Quiet drain at first: one line, so the drain input is healthy and reads no load.
    let answer = client
        .post(&url)
        .basic_auth(USER, Some(PASSWORD))
        .header("Content-Type", "application/logplex-1")
        .body(router_body(1))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(fake.quantity("web"), Some(1), "no load, no change");
    assert!(fake.writes().is_empty(), "nothing to write while at min");

    // A spike: 100 lines every 250 ms, ~400 requests/s, 100 per dyno: about 4 dynos.
    let spike_start = Instant::now();
    let mut raised_after = None;
    let mut batch = 0u32;
    while spike_start.elapsed() < Duration::from_secs(20) {
        let answer = client
            .post(&url)
            .basic_auth(USER, Some(PASSWORD))
            .header("Logplex-Frame-Id", format!("spike-{batch}"))
            .body(router_body(100))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        batch += 1;
        if raised_after.is_none() && fake.quantity("web").unwrap_or(0) > 1 {
            raised_after = Some(spike_start.elapsed());
        }
        if fake.quantity("web").unwrap_or(0) >= 3 && spike_start.elapsed() > Duration::from_secs(4)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let peak = fake.quantity("web").unwrap_or(0);
    eprintln!(
        "spike -> first formation PATCH: {:?} (scaler interval 200ms + input interval 200ms + 1s bucket)",
        raised_after
    );
    assert!(
        (3..=6).contains(&peak),
        "the spike raised web to about 4, got {peak}"
    );

    // Traffic stops: after the span and the 3 s hysteresis window, back to min.
    let quiet = Instant::now();
    wait_for("web back to 1", Duration::from_secs(40), || {
        fake.quantity("web") == Some(1)
    })
    .await;
    eprintln!("traffic stopped -> back to min: {:?}", quiet.elapsed());

    // Every write changed something: no write repeats the quantity before it, and none is out of [1, 10].
    let writes = fake.writes();
    let mut previous = 1;
    for (process, quantity) in &writes {
        assert_eq!(process, "web");
        assert!(
            (1..=10).contains(quantity),
            "write out of bounds: {quantity}"
        );
        assert_ne!(*quantity, previous, "a repeated write: {writes:?}");
        previous = *quantity;
    }

    let status = app.terminate();
    assert!(status.success(), "SIGTERM exits 0, got {status}");
}
