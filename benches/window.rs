//! Window store figures: ingest cost per event, flush cost for 10,000 series, query cost over 10 minutes.
//!
//! A plain `main` (no harness) that prints figures a reader can compare: `cargo bench --bench window`.
//! Each figure is the best of a few rounds, to be less sensitive to a shared machine.

use drainscale::logplex::{Event, EventKind, Meta, Metric, Router};
use drainscale::window::{EventSink, Query, Signal, Store, WindowConfig};
use std::hint::black_box;
use std::time::{Duration, Instant};

const SEC: i64 = 1_000_000;
const T0: i64 = 1_767_225_600 * SEC;

fn best_of<T>(rounds: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// The router line of event `i`: a spread of statuses, times and dynos.
fn router_line(i: u64) -> String {
    let status = if i.is_multiple_of(50) { 503 } else { 200 };
    format!(
        "at=info dyno=web.{} connect={}ms service={}ms status={status}",
        i % 4 + 1,
        i % 3,
        i % 997 + 1
    )
}

fn router<'a>(ts: i64, r: Router<'a>) -> Event<'a> {
    Event {
        meta: Meta {
            timestamp: ts,
            app: "heroku",
            procid: "router",
        },
        kind: EventKind::Router(r),
    }
}

fn main() {
    let events_per_body = 1000u64;
    let bodies = 200u64;

    // Router lines, 1000 per body, all in the current minute.
    let lines: Vec<String> = (0..events_per_body).map(router_line).collect();
    let routers: Vec<Router<'_>> = lines.iter().map(|l| Router::from_line(l)).collect();
    let store = Store::new(WindowConfig::default());
    let per_event = best_of(3, || {
        for b in 0..bodies {
            let ts = T0 + (b as i64 % 60) * SEC;
            let mut events = routers.iter().map(|r| router(ts, *r));
            store.ingest(&mut events, T0 + 60 * SEC);
        }
    }) / (bodies * events_per_body) as u32;
    println!(
        "ingest router lines:        {:>7} ns/event",
        per_event.as_nanos()
    );

    // measure# over 10,000 names (the cap), 1000 per body.
    let names: Vec<String> = (0..10_000).map(|i| format!("app.metric.{i:05}")).collect();
    let store = Store::new(WindowConfig::default());
    let per_event = best_of(3, || {
        for b in 0..bodies {
            let mut events = (0..events_per_body).map(|i| {
                let n = ((b * events_per_body + i) % names.len() as u64) as usize;
                Event {
                    meta: Meta {
                        timestamp: T0,
                        app: "app",
                        procid: "web.1",
                    },
                    kind: EventKind::Measure(Metric {
                        name: &names[n],
                        value: (i % 1000) as f64,
                        unit: "ms",
                        source: Some("web.1"),
                    }),
                }
            });
            store.ingest(&mut events, T0 + SEC);
        }
    }) / (bodies * events_per_body) as u32;
    println!(
        "ingest measure#, 10k names: {:>7} ns/event",
        per_event.as_nanos()
    );

    // Flush of one bucket holding 10,000 measure series (each with 60 values).
    let flush_once = || {
        let store = Store::new(WindowConfig::default());
        let mut events = names.iter().flat_map(|name| {
            (0..60).map(move |k| Event {
                meta: Meta {
                    timestamp: T0,
                    app: "app",
                    procid: "web.1",
                },
                kind: EventKind::Measure(Metric {
                    name,
                    value: k as f64,
                    unit: "ms",
                    source: None,
                }),
            })
        });
        store.ingest(&mut events, T0 + SEC);
        let start = Instant::now();
        let snapshot = store.flush(T0 + 20 * SEC);
        let took = start.elapsed();
        assert_eq!(snapshot.buckets[0].series.len(), names.len());
        took
    };
    let flush = (0..3).map(|_| flush_once()).min().unwrap_or_default();
    println!("flush 10k measure series:   {:>7} us", flush.as_micros());

    // Queries over 10 minutes of router data (60 buckets, 100 lines per second).
    let store = Store::new(WindowConfig::default());
    for b in 0..60 {
        let ts = T0 + b * 10 * SEC;
        let mut events = (0..1000).map(|i| router(ts + (i as i64) * 10_000, routers[i]));
        store.ingest(&mut events, ts + 10 * SEC);
        store.flush(ts + 13 * SEC);
    }
    let now = T0 + 600 * SEC;
    for (label, signal) in [
        ("request_rate", Signal::RequestRate),
        (
            "status_class_rate 5xx",
            Signal::StatusClassRate { class: 5 },
        ),
        ("service_time p95", Signal::ServiceTime { quantile: 0.95 }),
    ] {
        let query = Query {
            signal,
            span: Duration::from_secs(600),
        };
        let per_read = best_of(5, || {
            for _ in 0..100 {
                black_box(store.read_at(&query, now));
            }
        }) / 100;
        println!(
            "read {label:<22} {:>7} ns over 60 buckets",
            per_read.as_nanos()
        );
    }
}
