//! End to end on real sockets: router lines POSTed to the drain (logplex bodies, Basic auth) fill the windows,
//! the scaler's `drain` input reads them, and the formation on the fake Heroku API goes up. `/status` and
//! `/ping` are served by the drain.

#[path = "support/drain.rs"]
mod drain_support;
mod support;

use drain_support::{basic_header, router, PASSWORD, USER};
use drainscale::config::load_str;
use drainscale::drain::{Pages, Server};
use drainscale::scaler::clock::SystemClock;
use drainscale::window::{EventSink, Store, WindowReader};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::fake_heroku::FakeHeroku;

#[tokio::test]
async fn traffic_posted_to_the_drain_raises_the_formation() {
    let fake = FakeHeroku::start("shop", "tok", &[("web", 1)]).await;
    let text = format!(
        "drain:\n  listen: 127.0.0.1:0\n  auth: {{users: [{{user: {USER}, password: {PASSWORD}}}]}}\nwindows: {{resolution: 1s, retention: 1m}}\nscaler:\n  app: shop\n  api_key: tok\n  api_url: {url}\n  interval: 100ms\n  stats: {{console: false}}\ncontrollers:\n  - name: web\n    min: 1\n    max: 8\n    inputs:\n      - name: rps\n        type: drain\n        query: {{signal: request_rate}}\n        span: 5s\n        interval: 200ms\n        per_dyno: 100\n",
        url = fake.url
    );
    let loaded = load_str(&text, "e2e.yaml", &|_| None).unwrap();
    let config = loaded.config;
    let store = Arc::new(Store::new(config.windows.clone()));
    let reader: Arc<dyn WindowReader> = store.clone();
    let scaler = drainscale::scaler::build(
        &config.scaler,
        &config.controllers,
        Some(reader),
        Arc::new(SystemClock),
    )
    .unwrap();
    let sink: Arc<dyn EventSink> = store.clone();
    let pages = Pages {
        status: Some(scaler.status()),
        metrics: None,
    };
    let server = Server::bind(config.drain.clone().unwrap(), sink, pages).unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let drain = tokio::spawn(server.run_until(wait(stopped.clone())));
    let scaling = tokio::spawn(scaler.run_until(wait(stopped.clone())));

    let client = reqwest::Client::new();
    let auth = basic_header(USER, PASSWORD);
    let get = |path: &str| {
        client
            .get(format!("http://{addr}{path}"))
            .header("Authorization", &auth)
            .send()
    };

    // Nothing received yet: the input is STALE, /ping says so, and nothing is written.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let resp = get("/ping").await.unwrap();
        let (status, body) = (resp.status().as_u16(), resp.text().await.unwrap());
        if status == 500 {
            assert!(body.contains("web.rps"), "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/ping never reported the silent drain: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(fake.writes().is_empty());

    // About 1000 requests a second: 100 router lines every 100 ms, until the formation reaches max (8).
    let body: String = (0..100).map(|_| router(200)).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.quantity("web") != Some(8) {
        assert!(
            Instant::now() < deadline,
            "formation stayed at {:?}; status: {}",
            fake.quantity("web"),
            get("/status").await.unwrap().text().await.unwrap()
        );
        let resp = client
            .post(format!("http://{addr}/logs"))
            .header("Authorization", &auth)
            .header("Content-Type", "application/logplex-1")
            .header("Logplex-Msg-Count", "100")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let writes = fake.writes();
    assert_eq!(writes.last(), Some(&("web".to_string(), 8)));
    assert!(
        writes.iter().all(|(t, n)| t == "web" && *n > 1 && *n <= 8),
        "{writes:?}"
    );

    let status: serde_json::Value = get("/status").await.unwrap().json().await.unwrap();
    let web = &status["controllers"][0];
    assert_eq!(web["current"], 8);
    assert_eq!(web["inputs"][0]["health"], "OK");
    assert!(web["inputs"][0]["value"].as_f64().unwrap() > 100.0, "{web}");
    let ping = get("/ping").await.unwrap();
    assert_eq!(ping.status().as_u16(), 200);

    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(20), drain)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(20), scaling)
        .await
        .unwrap()
        .unwrap();
}
