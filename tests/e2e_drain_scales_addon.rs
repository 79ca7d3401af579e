//! End to end, through the real binary: Heroku Key-Value Store's own metrics lines (`source=REDIS
//! addon=... sample#memory-redis=...bytes sample#active-connections=...`), POSTed to the drain as logplex
//! sends them, move the add-on's plan on a fake Heroku Platform API; no other API is read. The add-on is picked
//! by its `source=` (another Redis attached to the app logs bigger figures that must not count).

mod support;

use std::time::{Duration, Instant};
use support::binary::Drainscale;
use support::fake_heroku::FakeHeroku;

const USER: &str = "logplex";
const PASSWORD: &str = "s3cret-drain";
const MB: u64 = 1024 * 1024;

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
  heroku: {{cache_ttl: 1s}}
  stats: {{console: false}}
controllers:
  - name: cache
    addon: redis-cubed-12345
    plans:
      - {{name: "heroku-redis:premium-0", memory: 50MB, connections: 40}}
      - {{name: "heroku-redis:premium-1", memory: 100MB, connections: 80}}
      - {{name: "heroku-redis:premium-2", memory: 250MB, connections: 200}}
      - {{name: "heroku-redis:premium-3", memory: 500MB, connections: 400}}
    policy: {{up_cooldown: 0s, down_cooldown: 0s}}
    inputs:
      - name: memory
        type: drain
        query: {{signal: sample, name: memory-redis, source: REDIS}}
        capacity: memory
        interval: 200ms
        hysteresis_period: 2s
      - name: connections
        type: drain
        query: {{signal: sample, name: active-connections, source: REDIS}}
        capacity: connections
        interval: 200ms
        hysteresis_period: 2s
"#
    )
}

/// One logplex body of Heroku Key-Value Store metrics lines (the format Heroku documents), stamped now:
/// our add-on (`REDIS`) and another one attached as `HEROKU_REDIS_ORANGE`.
fn redis_body(memory: u64, connections: u32) -> String {
    let ts = jiff::Timestamp::now().to_string();
    let line = |source: &str, addon: &str, memory: u64, connections: u32| {
        let msg = format!(
            "source={source} addon={addon} sample#active-connections={connections} sample#load-avg-1m=0.01 \
             sample#read-iops=0 sample#write-iops=0.05 sample#memory-total=15664876kB sample#memory-free=13954416kB \
             sample#memory-cached=1001756kB sample#memory-redis={memory}bytes sample#hit-rate=0.99 sample#evicted-keys=0"
        );
        let frame = format!("<134>1 {ts} host app heroku-redis - {msg}\n");
        format!("{} {}", frame.len(), frame)
    };
    line("REDIS", "redis-cubed-12345", memory, connections)
        + &line("HEROKU_REDIS_ORANGE", "redis-shaped-777", 400 * MB, 300)
}

/// POSTs bodies of these (memory, connections) figures, one every 200 ms with fresh Frame-Ids, until the
/// add-on is on `plan` (30 s at most).
async fn post_until(
    client: &reqwest::Client,
    app: &Drainscale,
    fake: &FakeHeroku,
    frame: &mut u32,
    (memory, connections): (u64, u32),
    plan: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.plan("redis-cubed-12345").as_deref() != Some(plan) {
        assert!(
            Instant::now() < deadline,
            "no move to {plan}: {:?}",
            fake.plan_writes()
        );
        let answer = client
            .post(app.url("/logs"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Content-Type", "application/logplex-1")
            .header("Logplex-Frame-Id", format!("redis-{frame}"))
            .body(redis_body(memory, connections))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        *frame += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heroku_key_value_store_lines_move_the_plan() {
    let fake = FakeHeroku::start("shop", "tok-123", &[("web", 1)]).await;
    fake.set_addon("redis-cubed-12345", "heroku-redis:premium-0");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drainscale.yaml");
    std::fs::write(&path, config(&fake.url)).unwrap();
    let app = Drainscale::start(&path);
    let client = reqwest::Client::new();
    let mut frame = 0u32;

    // 70 MB used, 10 connections: memory asks for premium-1 (90 MB usable at 90%), connections for premium-0.
    // The other add-on's 400 MB / 300 connections would ask for premium-3 if they counted.
    post_until(
        &client,
        &app,
        &fake,
        &mut frame,
        (70 * MB, 10),
        "heroku-redis:premium-1",
    )
    .await;
    assert_eq!(
        fake.plan_writes(),
        [(
            "redis-cubed-12345".to_string(),
            "heroku-redis:premium-1".to_string()
        )]
    );

    // Connections climb to 150: 80 * 0.9 = 72 is too few, 200 * 0.9 = 180 fits -> premium-2.
    post_until(
        &client,
        &app,
        &fake,
        &mut frame,
        (70 * MB, 150),
        "heroku-redis:premium-2",
    )
    .await;
    let writes = fake.plan_writes();
    assert!(
        writes.iter().all(|(_, p)| p != "heroku-redis:premium-3"),
        "the other add-on's figures counted: {writes:?}"
    );
    assert!(app.terminate().success());
}
