//! The drain over real HTTP: logplex bodies (plain, gzip, with bad frames, retried by Frame-Id) and exactly
//! what the sink and `/metrics` report.

#[path = "support/drain.rs"]
mod support;

use hyper::StatusCode;
use support::*;

/// Two router lines, one line with two measures, one plain line: 4 frames, 5 events.
fn mixed_body() -> String {
    [
        router(200),
        router(503),
        frame(
            "app",
            "web.1",
            "source=web.1 measure#db.query=12.5ms measure#render=3ms",
        ),
        frame("app", "worker.1", "hello from the worker"),
    ]
    .concat()
}

fn mixed_events() -> Vec<String> {
    [
        "router:200",
        "router:503",
        "measure:db.query",
        "measure:render",
        "line:hello from the worker",
    ]
    .map(String::from)
    .to_vec()
}

#[tokio::test]
async fn plain_body_reaches_the_sink_and_metrics() {
    let drain = start(config());
    let body = mixed_body();
    let headers = [
        ("logplex-msg-count", "4"),
        ("logplex-frame-id", "F1"),
        ("logplex-drain-token", "d.1"),
    ];
    let a = once(drain.addr, logs_post(&headers), body.clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(drain.sink.events(), mixed_events());

    let m = metrics(drain.addr).await;
    assert_eq!(sample(&m, "drainscale_drain_bodies_total"), 1.0);
    assert_eq!(sample(&m, "drainscale_drain_frames_total"), 4.0);
    assert_eq!(sample(&m, "drainscale_drain_events_total"), 5.0);
    assert_eq!(
        sample(&m, "drainscale_drain_wire_bytes_total"),
        body.len() as f64
    );
    assert_eq!(
        sample(&m, "drainscale_drain_body_bytes_total"),
        body.len() as f64
    );
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_ingested_events_total{result=\"accepted\"}"
        ),
        5.0
    );
    assert_eq!(sample(&m, "drainscale_drain_msg_count_mismatch_total"), 0.0);
    assert_eq!(
        sample(&m, "drainscale_drain_responses_total{code=\"200\"}"),
        1.0
    );
    assert!(sample(&m, "drainscale_drain_parse_seconds_total") > 0.0);
    drain.stop().await;
}

#[tokio::test]
async fn gzip_body_gives_the_same_events() {
    let drain = start(config());
    let body = mixed_body();
    let packed = gzip(body.as_bytes());
    let a = once(
        drain.addr,
        logs_post(&[("content-encoding", "gzip")]),
        packed.clone(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(drain.sink.events(), mixed_events());
    let m = metrics(drain.addr).await;
    assert_eq!(
        sample(&m, "drainscale_drain_wire_bytes_total"),
        packed.len() as f64
    );
    assert_eq!(
        sample(&m, "drainscale_drain_body_bytes_total"),
        body.len() as f64
    );
    drain.stop().await;
}

#[tokio::test]
async fn bad_frames_are_counted_and_the_good_ones_kept() {
    let drain = start(config());
    let bad_time = "<190>1 yesterday-ish host app web.1 - measure#lost=1\n";
    let not_syslog = "this is not syslog at all\n";
    let body = [
        router(200),
        format!("{} {bad_time}", bad_time.len()),
        format!("{} {not_syslog}", not_syslog.len()),
        frame("app", "web.1", "count#signups=2"),
    ]
    .concat();
    // Logplex-Msg-Count disagrees too: still a delivery.
    let a = once(drain.addr, logs_post(&[("logplex-msg-count", "9")]), body).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(drain.sink.events(), ["router:200", "count:signups"]);

    let m = metrics(drain.addr).await;
    assert_eq!(sample(&m, "drainscale_drain_frames_total"), 4.0);
    assert_eq!(sample(&m, "drainscale_drain_events_total"), 2.0);
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_bad_frames_total{reason=\"bad_timestamp\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_bad_frames_total{reason=\"bad_header\"}"
        ),
        1.0
    );
    assert_eq!(sample(&m, "drainscale_drain_msg_count_mismatch_total"), 1.0);
    assert_eq!(
        sample(&m, "drainscale_drain_responses_total{code=\"200\"}"),
        1.0
    );
    drain.stop().await;
}

#[tokio::test]
async fn a_retried_frame_id_is_counted_once() {
    let drain = start(config());
    let body = router(200);
    let mut conn = Conn::open(drain.addr).await;
    for _ in 0..3 {
        let a = conn
            .send(
                logs_post(&[("logplex-frame-id", "09C557EAFCFB6CF2")]),
                body.clone(),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK);
    }
    // Without a Frame-Id (it is optional) every body counts.
    for _ in 0..2 {
        assert_eq!(
            conn.send(logs_post(&[]), body.clone()).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(drain.sink.body_count(), 3);
    assert_eq!(drain.sink.events(), ["router:200"; 3]);
    let m = metrics(drain.addr).await;
    assert_eq!(sample(&m, "drainscale_drain_duplicates_total"), 2.0);
    assert_eq!(sample(&m, "drainscale_drain_bodies_total"), 3.0);
    assert_eq!(
        sample(&m, "drainscale_drain_responses_total{code=\"200\"}"),
        5.0
    );
    drain.stop().await;
}

#[tokio::test]
async fn a_failed_attempt_is_not_remembered() {
    let drain = start(config());
    let id = ("logplex-frame-id", "RETRY-ME");
    let corrupt = b"\x1f\x8b\x08\x00garbage".to_vec();
    let a = once(
        drain.addr,
        logs_post(&[id, ("content-encoding", "gzip")]),
        corrupt,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("corrupt gzip body"), "{}", a.body);
    let a = once(drain.addr, logs_post(&[id]), router(204)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(drain.sink.events(), ["router:204"]);
    let m = metrics(drain.addr).await;
    assert_eq!(sample(&m, "drainscale_drain_duplicates_total"), 0.0);
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_rejected_bodies_total{reason=\"bad_gzip\"}"
        ),
        1.0
    );
    drain.stop().await;
}

#[tokio::test]
async fn keep_alive_serves_many_bodies_on_one_connection() {
    let drain = start(config());
    let mut conn = Conn::open(drain.addr).await;
    for i in 0..20 {
        let a = conn.send(logs_post(&[]), router(200 + i)).await;
        assert_eq!(a.status, StatusCode::OK);
    }
    assert!(!conn.is_closed());
    assert_eq!(drain.sink.body_count(), 20);
    assert_eq!(
        drain
            .stats
            .connections_total
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    drain.stop().await;
}

#[tokio::test]
async fn wrong_methods_and_paths() {
    let drain = start(config());
    let a = once(drain.addr, hyper::Request::get("/logs"), "").await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.headers["allow"], "POST");
    let a = once(drain.addr, hyper::Request::post("/elsewhere"), router(200)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.body.contains("POST /logs"), "{}", a.body);
    let a = once(drain.addr, hyper::Request::post("/healthz"), "").await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(drain.sink.body_count(), 0);
    drain.stop().await;
}

#[tokio::test]
async fn other_content_types_are_still_taken() {
    let drain = start(config());
    let auth = basic_header(USER, PASSWORD);
    let req = hyper::Request::post("/logs")
        .header("authorization", auth)
        .header("content-type", "text/plain");
    assert_eq!(
        once(drain.addr, req, router(200)).await.status,
        StatusCode::OK
    );
    assert_eq!(drain.sink.events(), ["router:200"]);
    drain.stop().await;
}

#[tokio::test]
async fn the_window_store_gets_every_event_once() {
    use drainscale::drain::{Pages, Server};
    use drainscale::window::{Store, WindowConfig};
    let store = std::sync::Arc::new(Store::new(WindowConfig::default()));
    let server = Server::bind(config(), store.clone(), Pages::default()).unwrap();
    let addr = server.local_addr();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run_until(async move {
        let _ = rx.await;
    }));
    let packed = gzip(mixed_body().as_bytes());
    let id = ("logplex-frame-id", "E2E-1");
    for _ in 0..2 {
        let a = once(
            addr,
            logs_post(&[id, ("content-encoding", "gzip")]),
            packed.clone(),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
    }
    // Two router lines and two measures; the plain line is not a metric and is not aggregated.
    let ingest = store.stats().ingest;
    assert_eq!(ingest.accepted, 4);
    assert_eq!(ingest.too_old + ingest.over_cap, 0);
    let m = metrics(addr).await;
    let accepted = "drainscale_drain_ingested_events_total{result=\"accepted\"}";
    assert_eq!(sample(&m, accepted), 4.0);
    assert_eq!(sample(&m, "drainscale_drain_events_total"), 5.0);
    assert_eq!(sample(&m, "drainscale_drain_duplicates_total"), 1.0);
    let _ = tx.send(());
    task.await.unwrap().unwrap();
}
