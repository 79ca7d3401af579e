//! The window store through its public interfaces: ingest (EventSink), queries (WindowReader-style
//! `read_at`), flushes and the caps, with events built directly.

#[path = "support/events.rs"]
mod events;
use events::{count, measure, meta, sample, SEC, T0};

use drainscale::logplex::{Event, EventKind, Meta, Router, Text, Unique};
use drainscale::window::{
    EventSink, FlushedValue, IngestCounts, Query, Signal, Snapshot, Store, WindowConfig,
    WindowReader,
};
use std::time::Duration;

fn router(ts: i64, status: u16, service: f64, dyno: &'static str) -> Event<'static> {
    Event {
        meta: Meta {
            timestamp: ts,
            app: "heroku",
            procid: "router",
        },
        kind: EventKind::Router(router_line(format!(
            "at=info dyno={dyno} connect=1ms service={service}ms status={status}"
        ))),
    }
}

fn h12(ts: i64) -> Event<'static> {
    Event {
        meta: Meta {
            timestamp: ts,
            app: "heroku",
            procid: "router",
        },
        kind: EventKind::Router(Router::from_line(
            "at=error code=H12 service=30000ms status=503",
        )),
    }
}

/// A router parsed from `line`, which is kept for the test's life (a few lines per test).
fn router_line(line: String) -> Router<'static> {
    Router::from_line(Box::leak(line.into_boxed_str()))
}

fn store() -> Store {
    Store::new(WindowConfig::default())
}

fn ingest(store: &Store, events: Vec<Event<'static>>, now: i64) -> IngestCounts {
    store.ingest(&mut events.into_iter(), now)
}

fn q(signal: Signal, secs: u64) -> Query {
    Query {
        signal,
        span: Duration::from_secs(secs),
    }
}

#[test]
fn request_rates_over_the_span() {
    let s = store();
    // 60 s of history ending at T0+60: 3 requests per second, one in ten a 500, one H12 per 10 s.
    let mut events = Vec::new();
    for sec in 0..60 {
        for i in 0..3 {
            let status = if (sec * 3 + i) % 10 == 0 { 500 } else { 200 };
            events.push(router(T0 + sec * SEC + i * 1000, status, 20.0, "web.1"));
        }
        if sec % 10 == 0 {
            events.push(h12(T0 + sec * SEC));
        }
    }
    let counts = ingest(&s, events, T0 + 60 * SEC);
    assert_eq!(
        counts,
        IngestCounts {
            accepted: 186,
            ..IngestCounts::default()
        }
    );
    let now = T0 + 60 * SEC;
    let rate = s.read_at(&q(Signal::RequestRate, 60), now).value.unwrap();
    assert!((rate - 186.0 / 60.0).abs() < 1e-9, "rate {rate}");
    let five = s
        .read_at(&q(Signal::StatusClassRate { class: 5 }, 60), now)
        .value
        .unwrap();
    assert!((five - 24.0 / 60.0).abs() < 1e-9, "5xx {five}");
    let h = s
        .read_at(
            &q(
                Signal::ErrorRate {
                    code: Some("H12".into()),
                },
                60,
            ),
            now,
        )
        .value
        .unwrap();
    assert!((h - 0.1).abs() < 1e-9);
    let any = s
        .read_at(&q(Signal::ErrorRate { code: None }, 60), now)
        .value
        .unwrap();
    assert_eq!(any, h);
    let s503 = s
        .read_at(&q(Signal::StatusRate { status: 503 }, 60), now)
        .value
        .unwrap();
    assert!((s503 - 0.1).abs() < 1e-9);
    // Only the last 20 s: buckets T0+40 and T0+50.
    let recent = s.read_at(&q(Signal::RequestRate, 20), now).value.unwrap();
    assert!((recent - 62.0 / 20.0).abs() < 1e-9, "recent {recent}");
    let reading = s.read_at(&q(Signal::RequestRate, 60), now);
    assert_eq!(reading.last_ingest, Some(now));
}

#[test]
fn rates_read_zero_without_data_and_quantiles_none() {
    let s = store();
    let r = s.read_at(&q(Signal::RequestRate, 60), T0);
    assert_eq!(r.value, Some(0.0));
    assert_eq!(r.last_ingest, None);
    assert_eq!(
        s.read_at(&q(Signal::ServiceTime { quantile: 0.95 }, 60), T0)
            .value,
        None
    );
    // The trait path answers too.
    assert!(s.read(&q(Signal::RequestRate, 60)).is_ok());
}

#[test]
fn service_time_quantiles_within_one_percent() {
    let s = store();
    let events: Vec<_> = (1..=1000)
        .map(|i| router(T0 + i * 10_000, 200, i as f64, "web.1"))
        .collect();
    ingest(&s, events, T0 + 10 * SEC);
    for (qq, want) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
        let got = s
            .read_at(&q(Signal::ServiceTime { quantile: qq }, 60), T0 + 10 * SEC)
            .value
            .unwrap();
        assert!((got - want).abs() <= want * 0.01 + 1.0, "q{qq}: {got}");
    }
    let connect = s
        .read_at(&q(Signal::ConnectTime { quantile: 0.5 }, 60), T0 + 10 * SEC)
        .value;
    assert_eq!(connect.map(|c| (c - 1.0).abs() < 0.01), Some(true));
}

#[test]
fn measures_counts_samples_by_name_and_source() {
    let s = store();
    let now = T0 + 30 * SEC;
    let mut events = Vec::new();
    for i in 1..=100 {
        events.push(measure(
            T0 + i * 100_000,
            "db.query",
            i as f64,
            Some("web.1"),
        ));
        events.push(measure(
            T0 + i * 100_000,
            "db.query",
            1000.0 + i as f64,
            Some("web.2"),
        ));
    }
    events.push(count(T0, "signups", 5.0));
    events.push(count(T0 + 15 * SEC, "signups", 25.0));
    events.push(sample(T0 + SEC, "memory_rss", 100.0, "web.1"));
    events.push(sample(T0 + 2 * SEC, "memory_rss", 120.0, "web.1"));
    events.push(sample(T0 + SEC, "memory_rss", 300.0, "web.2"));
    ingest(&s, events, now);
    let p50 = |source: Option<&str>| {
        s.read_at(
            &q(
                Signal::Measure {
                    name: "db.query".into(),
                    quantile: 0.5,
                    source: source.map(Into::into),
                },
                60,
            ),
            now,
        )
        .value
        .unwrap()
    };
    assert!((p50(Some("web.1")) - 50.0).abs() <= 0.5 + 1e-9);
    assert!((p50(Some("web.2")) - 1050.0).abs() <= 10.5);
    // All sources: rank 99 of 200 = the largest web.1 value, 100.
    assert!((p50(None) - 100.0).abs() <= 1.0 + 1e-9, "{}", p50(None));
    let rate = s
        .read_at(
            &q(
                Signal::CountRate {
                    name: "signups".into(),
                    source: None,
                },
                60,
            ),
            now,
        )
        .value;
    assert_eq!(rate, Some(30.0 / 30.0));
    let web1 = s.read_at(
        &q(
            Signal::Sample {
                name: "memory_rss".into(),
                source: Some("web.1".into()),
            },
            60,
        ),
        now,
    );
    assert_eq!(web1.value, Some(120.0));
    let max = s.read_at(
        &q(
            Signal::Sample {
                name: "memory_rss".into(),
                source: None,
            },
            60,
        ),
        now,
    );
    assert_eq!(max.value, Some(300.0));
    let missing = s.read_at(
        &q(
            Signal::Sample {
                name: "nope".into(),
                source: None,
            },
            60,
        ),
        now,
    );
    assert_eq!(missing.value, None);
}

#[test]
fn too_old_dropped_future_clamped() {
    let s = store();
    let now = T0 + 3600 * SEC;
    let counts = ingest(
        &s,
        vec![
            router(now - 601 * SEC - 10 * SEC, 200, 1.0, "web.1"),
            router(now + 61 * SEC, 200, 1.0, "web.1"),
            router(now + 30 * SEC, 200, 1.0, "web.1"),
            router(now - 500 * SEC, 200, 1.0, "web.1"),
        ],
        now,
    );
    assert_eq!(
        counts,
        IngestCounts {
            accepted: 3,
            too_old: 1,
            future_clamped: 1,
            ..IngestCounts::default()
        }
    );
    assert_eq!(s.stats().ingest, counts);
    // The clamped one landed in now's bucket: a flush of everything shows it there.
    let snap = s.flush_all(now);
    let starts: Vec<i64> = snap.buckets.iter().map(|b| b.start).collect();
    assert!(starts.contains(&s.bucket_start(now)));
    assert!(starts.contains(&s.bucket_start(now + 30 * SEC)));
}

fn flushed_count(snap: &Snapshot, name: &str) -> Vec<(i64, f64)> {
    snap.series()
        .filter(|(_, s)| s.name == name)
        .filter_map(|(t, s)| match s.value {
            FlushedValue::Count(n) => Some((t, n)),
            _ => None,
        })
        .collect()
}

#[test]
fn flush_takes_closed_buckets_once_and_late_data_merges() {
    let s = store();
    ingest(
        &s,
        vec![
            router(T0 + SEC, 200, 10.0, "web.1"),
            count(T0 + 2 * SEC, "jobs", 3.0),
        ],
        T0 + 3 * SEC,
    );
    // Bucket [T0, T0+10) closes at T0+10+2s grace.
    assert!(s.flush(T0 + 11 * SEC).is_empty());
    let first = s.flush(T0 + 12 * SEC);
    assert_eq!(first.buckets.len(), 1);
    assert!(!first.buckets[0].late);
    assert_eq!(flushed_count(&first, "router.requests"), vec![(T0, 1.0)]);
    assert_eq!(flushed_count(&first, "jobs"), vec![(T0, 3.0)]);
    assert!(s.flush(T0 + 13 * SEC).is_empty(), "flushed twice");
    // Late data for the flushed bucket: merged for the scaler, exported again as late only.
    ingest(
        &s,
        vec![
            router(T0 + 5 * SEC, 500, 10.0, "web.1"),
            count(T0 + 5 * SEC, "jobs", 4.0),
        ],
        T0 + 14 * SEC,
    );
    assert_eq!(s.stats().late_after_flush, 2);
    let late = s.flush(T0 + 15 * SEC);
    assert!(late.buckets[0].late);
    assert_eq!(flushed_count(&late, "router.requests"), vec![(T0, 1.0)]);
    assert_eq!(flushed_count(&late, "jobs"), vec![(T0, 4.0)]);
    let rate = s
        .read_at(&q(Signal::RequestRate, 20), T0 + 20 * SEC)
        .value
        .unwrap();
    assert!(
        (rate - 2.0 / 20.0).abs() < 1e-9,
        "router data retained and merged: {rate}"
    );
}

#[test]
fn export_only_series_are_dropped_after_flush_kept_ones_stay() {
    let s = Store::new(WindowConfig {
        keep: vec!["kept".into()],
        ..WindowConfig::default()
    });
    ingest(
        &s,
        vec![
            count(T0, "kept", 1.0),
            count(T0, "export_only", 1.0),
            count(T0, "queried", 2.0),
        ],
        T0 + SEC,
    );
    // The scaler asks for `queried` before the flush: it becomes kept.
    let before = s.read_at(
        &q(
            Signal::CountRate {
                name: "queried".into(),
                source: None,
            },
            10,
        ),
        T0 + 10 * SEC,
    );
    assert_eq!(before.value, Some(0.2));
    assert_eq!(s.stats().series, 3);
    s.flush(T0 + 20 * SEC);
    assert_eq!(
        s.stats().series,
        2,
        "export-only series freed after its flush"
    );
    let read = |name: &str| {
        s.read_at(
            &q(
                Signal::CountRate {
                    name: name.into(),
                    source: None,
                },
                20,
            ),
            T0 + 20 * SEC,
        )
        .value
        .unwrap()
    };
    assert_eq!(read("kept"), 1.0 / 20.0);
    assert_eq!(read("queried"), 2.0 / 20.0);
    assert_eq!(read("export_only"), 0.0);
}

#[test]
fn series_cap_refuses_and_counts() {
    let s = Store::new(WindowConfig {
        max_series: 10,
        ..WindowConfig::default()
    });
    let names: Vec<&'static str> = (0..15)
        .map(|i| &*Box::leak(format!("m{i}").into_boxed_str()))
        .collect();
    let events: Vec<_> = names.iter().map(|n| measure(T0, n, 1.0, None)).collect();
    let counts = ingest(&s, events, T0 + SEC);
    assert_eq!(counts.accepted, 10);
    assert_eq!(counts.over_cap, 5);
    // Known series still take data at the cap.
    let again = ingest(&s, vec![measure(T0 + SEC, names[0], 2.0, None)], T0 + SEC);
    assert_eq!(again.accepted, 1);
    // After the retention the slots free up.
    let later = T0 + 700 * SEC;
    let counts = ingest(&s, vec![measure(later, names[14], 1.0, None)], later);
    assert_eq!(counts.accepted, 1);
    assert_eq!(s.stats().buckets, 1);
}

#[test]
fn unique_counts_distinct_members() {
    let s = store();
    let members: Vec<String> = (0..500).map(|i| format!("user{}", i % 200)).collect();
    let events: Vec<Event<'_>> = members
        .iter()
        .map(|m| Event {
            meta: meta(T0),
            kind: EventKind::Unique(Unique {
                name: "users",
                member: Text::plain(m),
                source: None,
            }),
        })
        .collect();
    s.ingest(&mut events.into_iter(), T0 + SEC);
    let snap = s.flush_all(T0 + SEC);
    let users: Vec<_> = snap.series().filter(|(_, s)| s.name == "users").collect();
    assert_eq!(users.len(), 1);
    match users[0].1.value {
        FlushedValue::Unique(n) => assert!((190..=210).contains(&n), "distinct {n}"),
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn l10_and_plain_lines_are_not_window_data() {
    let s = store();
    let events = vec![
        Event {
            meta: meta(T0),
            kind: EventKind::L10 { dropped: 500 },
        },
        Event {
            meta: meta(T0),
            kind: EventKind::Line("hello"),
        },
    ];
    let counts = ingest(&s, events, T0);
    assert_eq!(counts, IngestCounts::default());
    assert_eq!(s.stats().logplex_dropped, 500);
}
