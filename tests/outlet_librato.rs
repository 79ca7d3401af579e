//! The Librato outlet against a fake Librato receiver: a real hyper server on 127.0.0.1 that checks Basic auth,
//! records each `POST /v1/metrics` body, and answers with a scripted status (503, 429, 401, or hangs).

#[path = "support/events.rs"]
mod events;
use events::{measure, now_micros};

use base64::Engine;
use bytes::Bytes;
use drainscale::outlet::{LibratoConfig, OutletConfig, Outlets, PrometheusConfig, StatGauge};
use drainscale::window::{EventSink, Store, WindowConfig};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    /// 429 with `Retry-After: 0`.
    TooMany,
    /// Never answers.
    Hang,
}

#[derive(Default)]
struct Fake {
    /// Answers for the next requests, then 200.
    script: Mutex<VecDeque<Answer>>,
    /// Bodies of every request (answered or not).
    bodies: Mutex<Vec<Value>>,
    auth: Mutex<Vec<Option<String>>>,
}

async fn serve(fake: Arc<Fake>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let fake = fake.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let fake = fake.clone();
                    async move {
                        assert_eq!(req.method(), hyper::Method::POST);
                        assert_eq!(req.uri().path(), "/v1/metrics");
                        let auth = req
                            .headers()
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_owned());
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        fake.bodies
                            .lock()
                            .unwrap()
                            .push(serde_json::from_slice(&body).unwrap());
                        fake.auth.lock().unwrap().push(auth.clone());
                        let expected = format!(
                            "Basic {}",
                            base64::engine::general_purpose::STANDARD.encode("me@example.com:tok")
                        );
                        let answer = fake.script.lock().unwrap().pop_front();
                        let mut resp = Response::new(Full::new(Bytes::new()));
                        if auth.as_deref() != Some(expected.as_str()) {
                            *resp.status_mut() = StatusCode::UNAUTHORIZED;
                            return Ok::<_, std::convert::Infallible>(resp);
                        }
                        match answer {
                            None => {}
                            Some(Answer::Status(code)) => {
                                *resp.status_mut() = StatusCode::from_u16(code).unwrap()
                            }
                            Some(Answer::TooMany) => {
                                *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                                resp.headers_mut()
                                    .insert("retry-after", "0".parse().unwrap());
                            }
                            Some(Answer::Hang) => std::future::pending::<()>().await,
                        }
                        Ok(resp)
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, svc)
                    .await;
            });
        }
    });
    format!("http://{addr}/v1/metrics")
}

fn config(url: String, token: &str) -> OutletConfig {
    OutletConfig {
        flush_interval: Duration::from_millis(100),
        shutdown_timeout: Duration::from_secs(15),
        librato: Some(LibratoConfig {
            url: url.into(),
            user: "me@example.com".into(),
            token: token.into(),
            backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            ..LibratoConfig::default()
        }),
        prometheus: PrometheusConfig {
            enabled: false,
            ..PrometheusConfig::default()
        },
        ..OutletConfig::default()
    }
}

fn wide_store() -> Arc<Store> {
    Arc::new(Store::new(WindowConfig {
        resolution: Duration::from_secs(600),
        ..WindowConfig::default()
    }))
}

fn gauges(fake: &Fake) -> Vec<Value> {
    fake.bodies
        .lock()
        .unwrap()
        .iter()
        .flat_map(|b| b["gauges"].as_array().unwrap().clone())
        .collect()
}

fn find<'a>(all: &'a [Value], name: &str, source: Option<&str>) -> &'a Value {
    all.iter()
        .find(|g| g["name"] == name && g.get("source").and_then(Value::as_str) == source)
        .unwrap_or_else(|| panic!("no gauge {name} {source:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gauges_with_source_and_time_in_batches_of_300() {
    let fake = Arc::new(Fake::default());
    let url = serve(fake.clone()).await;
    let store = wide_store();
    let handle = Outlets::start(&config(url, "tok"), store.clone()).unwrap();
    let ts = now_micros();
    // 1000 values for one series, then 49 more series of one value: 50 * 8 = 400 gauges -> 2 requests.
    let names: Vec<&'static str> = (0..49)
        .map(|i| &*Box::leak(format!("m{i:02}").into_boxed_str()))
        .collect();
    let mut events: Vec<_> = (1..=1000)
        .map(|i| measure(ts, "db.query", i as f64, Some("web.1")))
        .collect();
    events.extend(names.iter().map(|n| measure(ts, n, 2.5, None)));
    store.ingest(&mut events.into_iter(), ts);
    let stats = handle.shutdown().await;
    let librato = stats.librato.unwrap();
    assert_eq!(librato.batches_sent, 2);
    assert_eq!(librato.gauges_sent, 400);

    let sizes: Vec<usize> = fake
        .bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["gauges"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![300, 100]);
    let all = gauges(&fake);
    let bucket_time = (ts / 1_000_000 / 600) * 600;
    let count = find(&all, "drainscale.db.query.count", Some("web.1"));
    assert_eq!(count["value"], 1000.0);
    assert_eq!(count["measure_time"], bucket_time);
    assert_eq!(
        find(&all, "drainscale.db.query.sum", Some("web.1"))["value"],
        500_500.0
    );
    let p95 = find(&all, "drainscale.db.query.p95", Some("web.1"))["value"]
        .as_f64()
        .unwrap();
    assert!((p95 - 950.0).abs() <= 9.5, "p95 {p95}");
    let p99 = find(&all, "drainscale.db.query.p99", Some("web.1"))["value"]
        .as_f64()
        .unwrap();
    assert!((p99 - 990.0).abs() <= 9.9, "p99 {p99}");
    assert_eq!(find(&all, "drainscale.m07.max", None)["value"], 2.5);
    assert!(find(&all, "drainscale.m07.max", None)
        .get("source")
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_503_and_429_then_delivers() {
    let fake = Arc::new(Fake::default());
    fake.script
        .lock()
        .unwrap()
        .extend([Answer::Status(503), Answer::TooMany, Answer::Status(500)]);
    let url = serve(fake.clone()).await;
    let handle = Outlets::start(&config(url, "tok"), wide_store()).unwrap();
    handle.gauges(&[StatGauge {
        name: "dynosaur.app.web.combined.estimate".into(),
        source: None,
        value: 4.0,
    }]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while handle.stats().librato.unwrap().batches_sent == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats = handle.shutdown().await.librato.unwrap();
    assert_eq!(stats.batches_sent, 1);
    assert_eq!(stats.retries, 3);
    assert_eq!(stats.batches_failed, 0);
    let bodies = fake.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 4, "one request per attempt");
    assert!(
        bodies.iter().all(|b| b == &bodies[0]),
        "every retry resends the same batch"
    );
    assert_eq!(
        bodies[0]["gauges"][0]["name"],
        "dynosaur.app.web.combined.estimate"
    );
    assert_eq!(bodies[0]["gauges"][0]["value"], 4.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_not_retried() {
    let fake = Arc::new(Fake::default());
    let url = serve(fake.clone()).await;
    let handle = Outlets::start(&config(url, "wrong"), wide_store()).unwrap();
    handle.gauges(&[StatGauge::new("x", 1.0)]);
    let stats = handle.shutdown().await.librato.unwrap();
    assert_eq!(stats.batches_rejected, 1);
    assert_eq!(stats.batches_sent, 0);
    assert_eq!(stats.retries, 0);
    assert_eq!(fake.bodies.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_after_max_retries() {
    let fake = Arc::new(Fake::default());
    fake.script
        .lock()
        .unwrap()
        .extend([Answer::Status(503); 10]);
    let url = serve(fake.clone()).await;
    let mut cfg = config(url, "tok");
    cfg.librato.as_mut().unwrap().max_retries = 2;
    let handle = Outlets::start(&cfg, wide_store()).unwrap();
    handle.gauges(&[StatGauge::new("x", 1.0)]);
    let stats = handle.shutdown().await.librato.unwrap();
    assert_eq!(stats.batches_failed, 1);
    assert_eq!(stats.retries, 2);
    assert_eq!(fake.bodies.lock().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_receiver_fills_the_bounded_queue_and_shutdown_still_ends() {
    let fake = Arc::new(Fake::default());
    fake.script.lock().unwrap().extend([Answer::Hang; 100]);
    let url = serve(fake.clone()).await;
    let mut cfg = config(url, "tok");
    cfg.shutdown_timeout = Duration::from_millis(500);
    let librato = cfg.librato.as_mut().unwrap();
    librato.queue_size = 2;
    librato.batch_size = 1;
    librato.timeout = Duration::from_secs(60);
    let store = wide_store();
    let handle = Outlets::start(&cfg, store.clone()).unwrap();
    // Six one-gauge batches: the sender holds at most one (stuck on the hung request), the queue two.
    let six: Vec<_> = (0..6)
        .map(|i| StatGauge::new(format!("g{i}"), 1.0))
        .collect();
    handle.gauges(&six);
    // The flush task keeps ticking and the store keeps taking events while Librato is stuck.
    let deadline = Instant::now() + Duration::from_secs(20);
    while handle.stats().flushes < 5 && Instant::now() < deadline {
        let ts = now_micros();
        let counts = store.ingest(&mut std::iter::once(measure(ts, "x", 1.0, None)), ts);
        assert_eq!(counts.accepted, 1);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        handle.stats().flushes >= 5,
        "flush task stalled behind the hung receiver"
    );
    let stats = tokio::time::timeout(Duration::from_secs(20), handle.shutdown())
        .await
        .unwrap()
        .librato
        .unwrap();
    assert!(stats.queue_dropped >= 3, "dropped {}", stats.queue_dropped);
    assert_eq!(stats.batches_sent, 0);
}
