//! The drain's defences over real sockets: auth (Basic, tokens, logged without secrets), size limits, gzip
//! bombs, slow clients, the connection and in-flight limits.

#[path = "support/drain.rs"]
mod support;

use drainscale::drain::{DrainConfig, Pages, Server};
use hyper::{Request, StatusCode};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Captures log output of the current thread (the tests below run on a current-thread runtime).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn wrong_or_missing_credentials_get_401_and_are_logged_without_the_secret() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let drain = start(config());
    let wrong =
        Request::post("/logs").header("authorization", basic_header(USER, "not-the-password-42"));
    let a = once(drain.addr, wrong, router(200)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let a = once(drain.addr, Request::post("/logs"), router(200)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = once(drain.addr, Request::get("/metrics"), "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(drain.sink.body_count(), 0);

    let m = metrics(drain.addr).await;
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_auth_failures_total{reason=\"wrong_basic\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_auth_failures_total{reason=\"missing_basic\"}"
        ),
        2.0
    );
    assert_eq!(
        sample(&m, "drainscale_drain_responses_total{code=\"401\"}"),
        3.0
    );
    drain.stop().await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("unauthorized") && text.contains("wrong_basic") && text.contains(USER),
        "{text}"
    );
    assert!(
        !text.contains("not-the-password-42") && !text.contains(PASSWORD),
        "{text}"
    );
}

#[tokio::test]
async fn drain_tokens_allowlist() {
    let mut cfg = config();
    cfg.auth.users.clear();
    cfg.auth.tokens = vec!["d.fc6b856b-3332-4546-93de-7d0ee272c3bd".into()];
    let drain = start(cfg);
    let post = |token: Option<&str>| {
        let r = Request::post("/logs");
        match token {
            Some(t) => r.header("logplex-drain-token", t),
            None => r,
        }
    };
    assert_eq!(
        once(drain.addr, post(None), router(200)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        once(drain.addr, post(Some("d.other")), router(200))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let ok = post(Some("d.fc6b856b-3332-4546-93de-7d0ee272c3bd"));
    assert_eq!(
        once(drain.addr, ok, router(200)).await.status,
        StatusCode::OK
    );
    assert_eq!(drain.sink.events(), ["router:200"]);
    drain.stop().await;
}

#[test]
fn no_auth_needs_an_explicit_insecure() {
    let sink = Arc::new(Recorder::default());
    let cfg = DrainConfig {
        listen: "127.0.0.1:0".into(),
        ..DrainConfig::default()
    };
    let err = Server::bind(cfg.clone(), sink.clone(), Pages::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("insecure: true"), "{err}");
    let mut open = cfg;
    open.auth.insecure = true;
    assert!(Server::bind(open, sink, Pages::default()).is_ok());
}

#[tokio::test]
async fn oversize_bodies_get_413() {
    let mut cfg = config();
    cfg.max_body_bytes = 2000;
    cfg.max_decompressed_bytes = 4000;
    let drain = start(cfg);
    let big = router(200).repeat(20);
    assert!(big.len() > 2000);
    let a = once(drain.addr, logs_post(&[]), big.clone()).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);

    // A gzip bomb: small on the wire, too large once decompressed.
    let bomb = gzip(&vec![b'x'; 1 << 20]);
    assert!(bomb.len() < 2000);
    let a = once(drain.addr, logs_post(&[("content-encoding", "gzip")]), bomb).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(a.body.contains("decompressed"), "{}", a.body);

    // Chunked, without Content-Length: cut off while streaming.
    let mut s = TcpStream::connect(drain.addr).await.unwrap();
    let head = format!(
        "POST /logs HTTP/1.1\r\nhost: x\r\nauthorization: {}\r\ntransfer-encoding: chunked\r\n\r\n",
        basic_header(USER, PASSWORD)
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..3 {
        let chunk = "x".repeat(1000);
        s.write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
    }
    let reply = read_some(&mut s).await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");

    assert_eq!(drain.sink.body_count(), 0);
    let m = metrics(drain.addr).await;
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_rejected_bodies_total{reason=\"too_large\"}"
        ),
        2.0
    );
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_rejected_bodies_total{reason=\"decompressed_too_large\"}"
        ),
        1.0
    );
    drain.stop().await;
}

#[tokio::test]
async fn unsupported_encoding_gets_415() {
    let drain = start(config());
    let a = once(
        drain.addr,
        logs_post(&[("content-encoding", "br")]),
        "whatever",
    )
    .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(a.body.contains("br"), "{}", a.body);
    drain.stop().await;
}

/// Reads until the server has sent something and a full head, or closed.
async fn read_some(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let read = async {
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("server neither answered nor closed");
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test]
async fn a_slow_body_gets_503_and_its_retry_is_taken() {
    let drain = start(config()); // body_timeout 2s
    let body = router(200);
    let mut s = TcpStream::connect(drain.addr).await.unwrap();
    let head = format!(
        "POST /logs HTTP/1.1\r\nhost: x\r\nauthorization: {}\r\nlogplex-frame-id: SLOW1\r\ncontent-length: {}\r\n\r\n",
        basic_header(USER, PASSWORD),
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body.as_bytes()[..10]).await.unwrap();
    let reply = read_some(&mut s).await;
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    // The sender retries with the same Frame-Id: it was not remembered, so it is taken.
    let a = once(
        drain.addr,
        logs_post(&[("logplex-frame-id", "SLOW1")]),
        body,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(drain.sink.events(), ["router:200"]);
    let m = metrics(drain.addr).await;
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_rejected_bodies_total{reason=\"body_timeout\"}"
        ),
        1.0
    );
    drain.stop().await;
}

#[tokio::test]
async fn slow_headers_and_idle_connections_are_closed() {
    let drain = start(config()); // header_timeout 2s
    let mut slow = TcpStream::connect(drain.addr).await.unwrap();
    slow.write_all(b"POST /logs HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(drain.addr).await.unwrap();
    // Both are closed by the server (read sees EOF or a reset), well before the 20 s test deadline.
    for s in [&mut slow, &mut idle] {
        let reply = read_some(s).await;
        assert!(!reply.contains("200"), "{reply}");
    }
    eventually("connections to close", || {
        drain.stats.connections_open.load(Relaxed) == 0
    })
    .await;
    drain.stop().await;
}

#[tokio::test]
async fn connections_over_the_limit_get_503() {
    let mut cfg = config();
    cfg.max_connections = 2;
    cfg.header_timeout = Duration::from_secs(60);
    // The two held connections send their first request only later in the test.
    cfg.first_header_timeout = Duration::from_secs(60);
    let drain = start(cfg);
    let first = Conn::open(drain.addr).await;
    let mut second = Conn::open(drain.addr).await;
    eventually("two connections served", || {
        drain.stats.connections_open.load(Relaxed) == 2
    })
    .await;

    let a = once(drain.addr, logs_post(&[]), router(200)).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.headers["retry-after"], "1");
    assert_eq!(drain.stats.connections_refused.load(Relaxed), 1);
    // The connections held still work, and freeing one lets a new one in.
    assert_eq!(
        second.send(logs_post(&[]), router(201)).await.status,
        StatusCode::OK
    );
    drop(first);
    eventually("one connection freed", || {
        drain.stats.connections_open.load(Relaxed) == 1
    })
    .await;
    assert_eq!(
        once(drain.addr, logs_post(&[]), router(202)).await.status,
        StatusCode::OK
    );
    assert_eq!(drain.sink.events(), ["router:201", "router:202"]);
    drop(second);
    drain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_in_flight_limit_get_503() {
    let mut cfg = config();
    cfg.max_in_flight = 1;
    let drain = start(cfg);
    drain.sink.hold();
    let addr = drain.addr;
    let slow = tokio::spawn(async move { once(addr, logs_post(&[]), router(200)).await.status });
    eventually("the first body in the sink", || {
        drain.sink.entered.load(Relaxed) == 1
    })
    .await;
    let a = once(drain.addr, logs_post(&[]), router(201)).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.headers["retry-after"], "1");
    drain.sink.release();
    assert_eq!(slow.await.unwrap(), StatusCode::OK);
    assert_eq!(
        once(drain.addr, logs_post(&[]), router(202)).await.status,
        StatusCode::OK
    );
    let m = metrics(drain.addr).await;
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_rejected_bodies_total{reason=\"busy\"}"
        ),
        1.0
    );
    drain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_during_the_first_attempt_gets_503_then_counts_as_a_duplicate() {
    let drain = start(config());
    drain.sink.hold();
    let addr = drain.addr;
    let id = ("logplex-frame-id", "SAME-BATCH");
    let first = tokio::spawn(async move { once(addr, logs_post(&[id]), router(200)).await.status });
    eventually("the first attempt in the sink", || {
        drain.sink.entered.load(Relaxed) == 1
    })
    .await;
    let a = once(drain.addr, logs_post(&[id]), router(200)).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.headers["retry-after"], "1");
    drain.sink.release();
    assert_eq!(first.await.unwrap(), StatusCode::OK);
    // The sender's next retry finds the batch taken.
    assert_eq!(
        once(drain.addr, logs_post(&[id]), router(200)).await.status,
        StatusCode::OK
    );
    assert_eq!(drain.sink.events(), ["router:200"]);
    let m = metrics(drain.addr).await;
    let in_progress = "drainscale_drain_rejected_bodies_total{reason=\"frame_id_in_progress\"}";
    assert_eq!(sample(&m, in_progress), 1.0);
    assert_eq!(sample(&m, "drainscale_drain_duplicates_total"), 1.0);
    drain.stop().await;
}

#[test]
fn the_readme_shows_every_drain_key_with_its_default() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let yaml = readme
        .split("### Configuration (`drain:` section)")
        .nth(1)
        .and_then(|s| s.split("```yaml\n").nth(1))
        .and_then(|s| s.split("```").next())
        .unwrap();
    let doc: std::collections::BTreeMap<String, serde_yaml_ng::Value> =
        serde_yaml_ng::from_str(yaml).unwrap();
    let shown = doc["drain"].as_mapping().unwrap();
    let cfg: DrainConfig = serde_yaml_ng::from_value(doc["drain"].clone()).unwrap();
    let default = DrainConfig::default();
    // Every key of the struct is shown...
    let all = serde_json::to_value(&default).unwrap();
    for key in all.as_object().unwrap().keys() {
        assert!(shown.contains_key(key.as_str()), "README lacks drain.{key}");
    }
    // ...with its default value (listen, auth and status_auth are examples).
    let mut same = cfg.clone();
    same.listen = default.listen.clone();
    same.auth = default.auth.clone();
    same.status_auth = None;
    assert_eq!(same, default);
}
