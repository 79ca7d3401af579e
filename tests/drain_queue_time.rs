//! HireFire's and Judoscale's queue-time lines through the real drain into the windows, read by a `drain`
//! input: an app that logs `[hirefire:router] queue=162ms` (or `queue_time=`) scales on p95 queue time with no
//! change, and job-queue names (`queue=default`) are left alone.

#[path = "support/drain.rs"]
mod support;

use drainscale::drain::{Pages, Server};
use drainscale::scaler::clock::{Clock, SystemClock};
use drainscale::scaler::input::{Conversion, InputError};
use drainscale::scaler::inputs::{InputContext, InputParams};
use drainscale::window::{Store, WindowConfig, WindowReader};
use hyper::StatusCode;
use std::sync::Arc;
use support::{config, frame, logs_post, router, Conn};

fn drain_input(yaml: &str) -> InputParams {
    InputParams::parse("drain", serde_yaml_ng::from_str(yaml).unwrap()).unwrap()
}

#[tokio::test]
async fn hirefire_queue_lines_give_the_p95_a_drain_input_scales_on() {
    let store = Arc::new(Store::new(WindowConfig::default()));
    let server = Server::bind(config(), store.clone(), Pages::default()).unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));

    // 1..=100 ms: 80 as HireFire writes them, 20 as `queue_time=` pairs with a source; plus job lines whose
    // `queue=` is a queue's name, and router lines (their service time must not mix in).
    let mut body = String::new();
    for ms in 1..=80 {
        body += &frame("app", "web.1", &format!("[hirefire:router] queue={ms}ms"));
    }
    for ms in 81..=100 {
        body += &frame(
            "app",
            "web.2",
            &format!("at=info source=web.2 path=/ queue_time={ms}"),
        );
    }
    for _ in 0..10 {
        body += &frame("app", "worker.1", "Sidekiq job done queue=default jid=42");
        body += &router(200);
    }
    let mut conn = Conn::open(addr).await;
    let answer = conn.send(logs_post(&[]), body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    let windows: Arc<dyn WindowReader> = store.clone();
    let ctx = InputContext {
        windows: Some(windows),
    };
    let clock = SystemClock;
    let p95 = drain_input("query: {signal: measure, name: queue_time, quantile: 0.95}");
    let target = Conversion::Target {
        target: 50.0,
        tolerance: 0.1,
    };
    let input = p95.build(target, &ctx, clock.tick()).unwrap();
    let value = input.retrieve(clock.tick()).await.unwrap();
    assert!(
        (value - 95.0).abs() <= 95.0 * 0.02,
        "p95 of 1..=100 ms is about 95 ms, got {value}"
    );
    // 95 ms against a 50 ms target on 2 dynos: ceil(2 * 1.9) = 4.
    assert_eq!(input.conversion().estimate(value, 2), 4);

    let max = drain_input("query: {signal: measure, name: queue_time, quantile: 1.0}")
        .build(Conversion::PerDyno(1.0), &ctx, clock.tick())
        .unwrap();
    let top = max.retrieve(clock.tick()).await.unwrap();
    assert!((top - 100.0).abs() <= 1.0, "max 100 ms, got {top}");

    // The source of `queue_time=` lines is kept; HireFire's lines have none.
    let web2 =
        drain_input("query: {signal: measure, name: queue_time, quantile: 0.0, source: web.2}")
            .build(Conversion::PerDyno(1.0), &ctx, clock.tick())
            .unwrap();
    let low = web2.retrieve(clock.tick()).await.unwrap();
    assert!(
        (low - 81.0).abs() <= 1.0,
        "web.2's minimum is 81 ms, got {low}"
    );

    // A job queue's name made no series: a `queue` measure or count is nowhere.
    let none = drain_input("query: {signal: measure, name: queue, quantile: 0.5}")
        .build(Conversion::PerDyno(1.0), &ctx, clock.tick())
        .unwrap();
    assert!(matches!(
        none.retrieve(clock.tick()).await,
        Err(InputError::Stale(_))
    ));

    let _ = stop.send(());
    task.await.unwrap().unwrap();
}
