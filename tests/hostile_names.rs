//! Metric names an app's users control, through a real drain over HTTP: forged router and drain names, names
//! that collide through Prometheus' character mapping or a family's derived names, hostile label values and very
//! long names. The drain's own counters and the router series keep their true values, the forged names show up
//! under `app.`, and `/metrics` passes `promtool check metrics` (parser and lint).

#[path = "support/promtool.rs"]
mod promtool;
#[path = "support/drain.rs"]
mod support;

use drainscale::drain::{MetricsPage, Pages, Server};
use drainscale::outlet::librato::{gauges_of, LibratoStats};
use drainscale::outlet::{OutletConfig, Outlets};
use drainscale::window::{EventSink, Store, WindowConfig};
use std::sync::Arc;
use std::time::Duration;
use support::*;
use tokio::sync::oneshot;

/// Lines an app could log to forge or break the drain's metrics.
fn hostile_lines() -> Vec<String> {
    let long = "n".repeat(100_000);
    vec![
        "count#router.requests=1000000 count#router.status.2xx=1000000".into(),
        "count#Router.Requests=7 count#router_requests=7 count#.router.requests=7".into(),
        "sample#drain_bodies_total=0 sample#drainscale_drain_bodies_total=0".into(),
        "count#window_series=5 sample#outlet_flushes_total=0 count#app.router.requests=3".into(),
        "measure#x=5 sample#x_count=9 sample#x_min=1 sample#x_sum=2".into(),
        "count#y=1 sample#y_total=2 measure#z_total=4".into(),
        "count#db.query=1 count#db-query=2 count#db:query=3".into(),
        "sample#memoryRss=1 sample#queue:depth=1 unique#members=u1".into(),
        r#"sample#label.quote=1 source="we\"b\\1""#.into(),
        "sample#label.newline=1 source=line1\nline2".into(),
        "sample#label.utf8=1 source=w\u{e9}b\u{1F600}".into(),
        format!("count#{long}=1 sample#short=1 source={long}"),
        format!("measure#{}=1", "m.".repeat(40_000)),
    ]
}

fn body() -> String {
    let mut body = String::new();
    for _ in 0..2 {
        body.push_str(&router(200));
    }
    body.push_str(&router(503));
    for line in hostile_lines() {
        body.push_str(&frame("app", "web.1", &line));
    }
    body
}

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .map(|v| v.parse().unwrap())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_names_leave_the_drains_own_series_alone_and_the_page_valid() {
    let store = Arc::new(Store::new(WindowConfig {
        resolution: Duration::from_secs(1),
        grace: Duration::ZERO,
        ..WindowConfig::default()
    }));
    let outlets = Outlets::start(
        &OutletConfig {
            flush_interval: Duration::from_millis(20),
            ..OutletConfig::default()
        },
        store.clone(),
    )
    .unwrap();
    let page: Arc<dyn MetricsPage> = outlets.metrics_page().unwrap();
    let pages = Pages {
        status: None,
        metrics: Some(page),
    };
    let sink: Arc<dyn EventSink> = store.clone();
    let server = Server::bind(config(), sink, pages).unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let drain = tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));

    let answer = once(addr, logs_post(&[]), body()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // The last flush takes every bucket, open ones included, onto the page.
    outlets.shutdown().await;
    let text = metrics(addr).await;

    // The drain's own counter: one TYPE line, its true value.
    let types = |family: &str| {
        text.lines()
            .filter(|l| *l == format!("# TYPE {family} counter"))
            .count()
    };
    assert_eq!(types("drainscale_drain_bodies_total"), 1, "{text}");
    assert_eq!(
        value(&text, "drainscale_drain_bodies_total"),
        Some(1.0),
        "{text}"
    );
    // Router series: what the router lines said, nothing more.
    assert_eq!(value(&text, "drainscale_router_requests_total"), Some(3.0));
    assert_eq!(
        value(&text, "drainscale_router_status_2xx_total"),
        Some(2.0)
    );
    assert_eq!(
        value(&text, "drainscale_router_status_5xx_total"),
        Some(1.0)
    );
    // The forged ones, renamed under app.
    for (series, want) in [
        ("drainscale_app_router_requests_total", 1_000_000.0),
        ("drainscale_app_router_status_2xx_total", 1_000_000.0),
        ("drainscale_app_Router_Requests_total", 7.0),
        ("drainscale_app_router_requests_total", 1_000_000.0),
        ("drainscale_app_app_router_requests_total", 3.0),
        ("drainscale_app_drain_bodies_total_value", 0.0),
        ("drainscale_app_window_series_total", 5.0),
        ("drainscale_app_outlet_flushes_total_value", 0.0),
        ("drainscale_x_count_value", 9.0),
        ("drainscale_x_sum_value", 2.0),
        ("drainscale_y_total", 1.0),
        ("drainscale_y_total_value", 2.0),
        ("drainscale_memory_Rss", 1.0),
        ("drainscale_members", 1.0),
        ("drainscale_queue_depth", 1.0),
        (r#"drainscale_label_quote{source="we\\\"b\\\\1"}"#, 1.0),
        (r#"drainscale_label_newline{source="line1\nline2"}"#, 1.0),
    ] {
        assert_eq!(value(&text, series), Some(want), "{series} in\n{text}");
    }
    // Collisions, whichever claimant comes first: `app.router_requests` and `app.router.requests` share a
    // family (1), so do `db-query`, `db.query` and `db:query` (2), and `x_min` is a name of the summary `x` (1).
    // The long name and source are refused (by the windows or by the page) and never rendered.
    let refused = value(
        &text,
        "drainscale_outlet_prometheus_refused_series_total{reason=\"collision\"}",
    )
    .unwrap();
    assert_eq!(refused, 4.0, "collisions in\n{text}");
    assert!(!text.contains(&"n".repeat(300)), "a long name on the page");
    assert!(!text.contains(&"m_".repeat(300)), "a long name on the page");
    assert!(text.len() < 64 * 1024, "{} bytes", text.len());
    // A family has one HELP and one TYPE line.
    let mut types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    let helps = text.lines().filter(|l| l.starts_with("# HELP ")).count();
    assert_eq!(types.len(), helps);
    types.sort();
    let n = types.len();
    types.dedup();
    assert_eq!(types.len(), n, "a second TYPE line in\n{text}");
    promtool::check_metrics(&text);

    let _ = stop.send(());
    drain.await.unwrap().unwrap();
}

/// A frame stamped `secs_ago` seconds in the past (its bucket already closed).
fn frame_at(secs_ago: i64, app: &str, procid: &str, msg: &str) -> String {
    let ts = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(secs_ago);
    let line = format!("<190>1 {ts:.6} host {app} {procid} - {msg}\n");
    format!("{} {line}", line.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_distinct_names_across_flushes_leaves_the_page_bounded() {
    let max_series = 100;
    let store = Arc::new(Store::new(WindowConfig {
        resolution: Duration::from_secs(1),
        grace: Duration::ZERO,
        max_series,
        ..WindowConfig::default()
    }));
    let outlets = Outlets::start(
        &OutletConfig {
            flush_interval: Duration::from_millis(10),
            ..OutletConfig::default()
        },
        store.clone(),
    )
    .unwrap();
    let page: Arc<dyn MetricsPage> = outlets.metrics_page().unwrap();
    let sink: Arc<dyn EventSink> = store.clone();
    let pages = Pages {
        status: None,
        metrics: Some(page),
    };
    let server = Server::bind(config(), sink, pages).unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let drain = tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));

    let bodies: usize = 30;
    for b in 0..bodies {
        // Each body its own (closed) bucket, 80 new names in it: the store takes them, a flush empties it.
        let ago = 60 - b as i64;
        let mut body = frame_at(
            ago,
            "heroku",
            "router",
            "at=info method=GET path=\"/\" dyno=web.1 connect=1ms service=2ms status=200 bytes=1",
        );
        let line: String = (0..80).map(|i| format!("measure#b{b}.n{i}=1 ")).collect();
        body.push_str(&frame_at(ago, "app", "web.1", &line));
        let answer = once(addr, logs_post(&[]), body).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        // Two flushes begun after the body was ingested: the page has taken it.
        let seen = outlets.stats().flushes;
        eventually("two flushes", || outlets.stats().flushes >= seen + 2).await;
    }
    outlets.shutdown().await;
    let text = metrics(addr).await;
    let l2met = value(&text, "drainscale_outlet_prometheus_series{kind=\"l2met\"}").unwrap();
    assert_eq!(l2met, max_series as f64, "{text}");
    let refused = value(
        &text,
        "drainscale_outlet_prometheus_refused_series_total{reason=\"series_cap\"}",
    )
    .unwrap();
    assert_eq!(refused, (bodies * 80 - max_series) as f64, "{text}");
    let summaries = text.lines().filter(|l| l.ends_with(" summary")).count();
    // The names the page holds, plus router.connect and router.service.
    assert_eq!(summaries, max_series + 2);
    // The router lines were all counted, the drain's own counters are true.
    assert_eq!(
        value(&text, "drainscale_router_requests_total"),
        Some(bodies as f64)
    );
    assert_eq!(
        value(&text, "drainscale_drain_bodies_total"),
        Some(bodies as f64)
    );
    promtool::check_metrics(&text);

    let _ = stop.send(());
    drain.await.unwrap().unwrap();
}

/// The rename happens once, at the flush: every outlet (statsd takes `FlushedSeries::name` as given, Librato
/// here) sees the app's `router.requests` apart from the router's.
#[test]
fn every_outlet_gets_the_forged_names_renamed() {
    let store = Store::new(WindowConfig::default());
    let body = body();
    let now = jiff::Timestamp::now().as_microsecond();
    store.ingest(&mut drainscale::logplex::parse_body(body.as_bytes()), now);
    let snapshot = store.flush_all(now);
    let names: Vec<&str> = snapshot.series().map(|(_, s)| s.name.as_str()).collect();
    assert!(names.contains(&"router.requests"), "{names:?}");
    assert!(names.contains(&"app.router.requests"), "{names:?}");
    assert!(names.contains(&"app.drain_bodies_total"), "{names:?}");
    let router: f64 = snapshot
        .series()
        .filter(|(_, s)| s.name == "router.requests")
        .map(|(_, s)| match s.value {
            drainscale::window::FlushedValue::Count(n) => n,
            _ => panic!("router.requests is a count"),
        })
        .sum();
    assert_eq!(router, 3.0);
    let gauges = gauges_of(&snapshot, "ds", &LibratoStats::default());
    let of = |name: &str| {
        gauges
            .iter()
            .filter(|g| g.name == name)
            .map(|g| g.value)
            .sum::<f64>()
    };
    assert_eq!(of("ds.router.requests"), 3.0);
    assert_eq!(of("ds.app.router.requests"), 1_000_000.0);
}
