//! The windows' Prometheus text: what a scrape of `/metrics` shows after flushes, rendered through the
//! `MetricsPage` trait the drain calls, and checked by `promtool check metrics`.

#[path = "support/events.rs"]
mod events;
#[path = "support/promtool.rs"]
mod promtool;
use events::{meta, SEC, T0};

use drainscale::drain::MetricsPage;
use drainscale::logplex::{Event, EventKind, Meta, Metric, Router};
use drainscale::outlet::{OutletConfig, Outlets, PrometheusPage};
use drainscale::window::{EventSink, Store, WindowConfig};
use std::sync::Arc;
use std::time::Duration;

fn events(ts: i64) -> Vec<Event<'static>> {
    let mut out: Vec<Event<'static>> = (1..=100)
        .map(|i| Event {
            meta: meta(ts),
            kind: EventKind::Measure(Metric {
                name: "db.query",
                value: i as f64,
                unit: "ms",
                source: Some("web.1"),
            }),
        })
        .collect();
    out.push(Event {
        meta: meta(ts),
        kind: EventKind::Count(Metric {
            name: "jobs",
            value: 3.0,
            unit: "",
            source: None,
        }),
    });
    out.push(Event {
        meta: meta(ts),
        kind: EventKind::Sample(Metric {
            name: "memory_rss",
            value: 21.5,
            unit: "MB",
            source: Some("web\"1"),
        }),
    });
    out.push(Event {
        meta: Meta {
            timestamp: ts,
            app: "heroku",
            procid: "router",
        },
        kind: EventKind::Router(Router::from_line("at=error code=H12 dyno=web.1 status=503")),
    });
    out
}

fn render(page: &PrometheusPage) -> String {
    let mut out = String::new();
    page.render(&mut out);
    out
}

fn has(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[test]
fn flushed_windows_render_as_summaries_gauges_and_cumulative_counters() {
    let store = Arc::new(Store::new(WindowConfig::default()));
    let page = PrometheusPage::new("drainscale", store.clone(), None);
    store.ingest(&mut events(T0).into_iter(), T0);
    page.update(&store.flush(T0 + 20 * SEC));
    store.ingest(&mut events(T0 + 20 * SEC).into_iter(), T0 + 20 * SEC);
    page.update(&store.flush(T0 + 40 * SEC));
    let text = render(&page);

    for line in [
        "# TYPE drainscale_db_query summary",
        "# TYPE drainscale_db_query_min gauge",
        "drainscale_db_query_count{source=\"web.1\"} 200",
        "drainscale_db_query_sum{source=\"web.1\"} 10100",
        "drainscale_db_query_min{source=\"web.1\"} 1",
        "drainscale_db_query_max{source=\"web.1\"} 100",
        "# TYPE drainscale_jobs_total counter",
        "drainscale_jobs_total 6",
        "drainscale_memory_rss{source=\"web\\\"1\"} 21.5",
        "drainscale_router_requests_total 2",
        "drainscale_router_status_5xx_total 2",
        "drainscale_router_error_H12_total 2",
        "drainscale_router_dyno_requests_total{source=\"web.1\"} 2",
        "drainscale_window_late_after_flush_total 0",
        "drainscale_window_series 0",
        "drainscale_outlet_prometheus_series{kind=\"l2met\"} 3",
        "drainscale_outlet_prometheus_series{kind=\"router\"} 6",
        "drainscale_outlet_prometheus_refused_series_total{reason=\"collision\"} 0",
    ] {
        assert!(has(&text, line), "missing {line:?} in\n{text}");
    }
    for (q, want) in [("0.5", 50.0), ("0.95", 95.0), ("0.99", 99.0)] {
        let prefix = format!("drainscale_db_query{{source=\"web.1\",quantile=\"{q}\"}} ");
        let got: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap()
            .parse()
            .unwrap();
        assert!((got - want).abs() <= want * 0.01, "q{q}: {got}");
    }
    // Each family's TYPE line appears once.
    let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    let mut unique = types.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(types.len(), unique.len());
    // Every sample line belongs to a family whose HELP and TYPE came before it.
    let mut family = "";
    let mut helped = "";
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped = rest.split(' ').next().unwrap();
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            family = rest.split(' ').next().unwrap();
            assert_eq!(family, helped, "TYPE without HELP");
        } else {
            assert!(line.starts_with(family), "{line} outside {family}");
        }
    }
    promtool::check_metrics(&text);
}

#[test]
fn gauges_go_stale_counters_stay_within_retention() {
    let store = Arc::new(Store::new(WindowConfig::default()));
    let page = PrometheusPage::new("ds", store.clone(), None);
    store.ingest(&mut events(T0).into_iter(), T0);
    page.update(&store.flush(T0 + 20 * SEC));
    // Only router data six minutes later: the measure's gauge is stale, the jobs counter still shown.
    let later = T0 + 360 * SEC;
    let router_only: Vec<_> = events(later)
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::Router(_)))
        .collect();
    store.ingest(&mut router_only.into_iter(), later);
    page.update(&store.flush(later + 20 * SEC));
    let text = render(&page);
    assert!(!text.contains("ds_db_query{"), "{text}");
    assert!(has(&text, "ds_jobs_total 3"), "{text}");
    assert!(has(&text, "ds_router_requests_total 2"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outlets_keep_the_page_up_to_date_and_render_their_own_counters() {
    let store = Arc::new(Store::new(WindowConfig::default()));
    let cfg = OutletConfig {
        flush_interval: Duration::from_millis(50),
        ..OutletConfig::default()
    };
    let handle = Outlets::start(&cfg, store.clone()).unwrap();
    let page = handle.metrics_page().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    store.ingest(&mut events(now).into_iter(), now);
    handle.shutdown().await;
    let text = render(&page);
    assert!(has(&text, "drainscale_jobs_total 3"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("drainscale_outlet_flushes_total ")),
        "{text}"
    );
    promtool::check_metrics(&text);
}
