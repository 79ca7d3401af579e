//! Three `drainscale run` processes sharing one redis-server of the test's own (`store: redis://...`), end to
//! end over HTTP: traffic spread over them raises the fake Heroku formation, exactly one of them leads (and
//! writes), a logplex retry landing on another instance counts once, killing the leader hands the lease to
//! another within one lease, and `/ping` says why while Redis is away. `check --connect` tests the connection.

mod support;

use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};
use support::binary::Drainscale;
use support::fake_heroku::FakeHeroku;
use support::redis::RedisServer;
use support::router::router_body;

const USER: &str = "logplex";
const PASSWORD: &str = "s3cret-drain";

fn config(api_url: &str, redis: &str) -> String {
    format!(
        r#"
drain:
  listen: "127.0.0.1:0"
  auth:
    users: [{{user: {USER}, password: {PASSWORD}}}]
windows:
  resolution: 300ms
  retention: 1m
  grace: 100ms
store: "{redis}"
shared:
  lease: 1500ms
  timeout: 300ms
scaler:
  app: shop
  api_key: tok-123
  api_url: "{api_url}"
  interval: 200ms
  heroku:
    cache_ttl: 200ms
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
        span: 3s
        per_dyno: 50
        interval: 200ms
        hysteresis_period: 60s
"#
    )
}

async fn post(client: &reqwest::Client, app: &Drainscale, frame_id: &str, body: String) -> u16 {
    client
        .post(app.url("/logs"))
        .basic_auth(USER, Some(PASSWORD))
        .header("Logplex-Frame-Id", frame_id)
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

async fn get(client: &reqwest::Client, app: &Drainscale, path: &str) -> (u16, String) {
    match client
        .get(app.url(path))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
    {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(_) => (0, String::new()),
    }
}

async fn leads(client: &reqwest::Client, app: &Drainscale) -> bool {
    let (_, text) = get(client, app, "/status").await;
    let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    doc["shared"]["leader"]["this_instance"] == Value::Bool(true)
}

fn duplicates(metrics: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("drainscale_drain_duplicates_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1.0)
}

async fn poll_async<F: std::future::Future<Output = bool>>(
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> F,
) {
    let deadline = Instant::now() + limit;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_lead_once_dedup_across_and_hand_over() {
    let mut redis = RedisServer::start();
    let fake = FakeHeroku::start("shop", "tok-123", &[("web", 1)]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drainscale.yaml");
    std::fs::write(&path, config(&fake.url, &redis.url())).unwrap();

    let check = Command::new(env!("CARGO_BIN_EXE_drainscale"))
        .args(["check", "--connect"])
        .arg(&path)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{out}");
    assert!(out.contains("store: redis://127.0.0.1:"), "{out}");
    assert!(out.contains("answered PONG"), "{out}");

    let mut apps: Vec<Option<Drainscale>> =
        (0..3).map(|_| Some(Drainscale::start(&path))).collect();
    let client = reqwest::Client::new();

    // Exactly one leads.
    let deadline = Instant::now() + Duration::from_secs(20);
    let leader = loop {
        let mut who = Vec::new();
        for (i, app) in apps.iter().enumerate() {
            if leads(&client, app.as_ref().unwrap()).await {
                who.push(i);
            }
        }
        if who.len() == 1 {
            break who[0];
        }
        assert!(Instant::now() < deadline, "not one leader: {who:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // A retry of one batch on another instance counts once.
    let first = post(
        &client,
        apps[0].as_ref().unwrap(),
        "retry-1",
        router_body(5),
    )
    .await;
    assert_eq!(first, 200);
    let retry = post(
        &client,
        apps[1].as_ref().unwrap(),
        "retry-1",
        router_body(5),
    )
    .await;
    assert_eq!(retry, 200);
    let (_, metrics) = get(&client, apps[1].as_ref().unwrap(), "/metrics").await;
    assert_eq!(duplicates(&metrics), 1.0, "{metrics}");

    // Traffic on all three: about 600 requests/s over 50 per dyno raises the formation. Only the leader
    // writes; the followers' writes are refused by the fence.
    let mut batch = 0;
    let started = Instant::now();
    while fake.quantity("web").unwrap_or(0) < 3 {
        assert!(started.elapsed() < Duration::from_secs(30), "no scale-up");
        for app in apps.iter().flatten() {
            batch += 1;
            assert_eq!(
                post(&client, app, &format!("b{batch}"), router_body(50)).await,
                200
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(!fake.writes().is_empty());
    for (i, app) in apps.iter().enumerate() {
        let (_, text) = get(&client, app.as_ref().unwrap(), "/status").await;
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            doc["shared"]["leader"]["this_instance"] == Value::Bool(true),
            i == leader,
            "{text}"
        );
        // The HTML status page is served in shared mode too.
        let (status, page) = get(&client, app.as_ref().unwrap(), "/").await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("<svg"), "{page}");
    }

    // The leader dies (SIGKILL): another instance takes the lease within one lease (1.5s; bounded at 3 s
    // here for the poll).
    drop(apps[leader].take());
    poll_async("a new leader", Duration::from_secs(4), || {
        let (client, apps) = (&client, &apps);
        async move {
            for app in apps.iter().flatten() {
                if leads(client, app).await {
                    return true;
                }
            }
            false
        }
    })
    .await;

    // Redis goes away: the drain still answers 2xx, /ping says why.
    redis.kill();
    let alive = apps.iter().flatten().next().unwrap();
    assert_eq!(
        post(&client, alive, "during-outage", router_body(5)).await,
        200
    );
    poll_async(
        "/ping failing with the reason",
        Duration::from_secs(10),
        || {
            let client = &client;
            async move {
                let (status, text) = get(client, alive, "/ping").await;
                status == 500 && text.contains("Redis unreachable")
            }
        },
    )
    .await;
    let writes = fake.writes().len();
    let quantity = fake.quantity("web");
    redis.restart();
    for app in apps.into_iter().flatten() {
        assert!(app.terminate().success());
    }
    assert!(fake.writes().len() >= writes);
    assert!(fake.quantity("web") >= quantity, "never scaled down");
}
