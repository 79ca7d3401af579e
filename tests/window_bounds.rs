//! The window store's bounds against hostile events: long names and sources, the byte budget, router keys out
//! of range or too long, and the scaler's names exempt from the caps. Events built directly, no parser.

#[path = "support/events.rs"]
mod events;
use events::{measure, meta, SEC, T0};

use drainscale::logplex::{Event, EventKind, Meta, Router, Text, Unique};
use drainscale::window::{EventSink, Query, Signal, Store, WindowConfig};
use std::time::Duration;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn router(line: String) -> Event<'static> {
    Event {
        meta: Meta {
            timestamp: T0,
            app: "heroku",
            procid: "router",
        },
        kind: EventKind::Router(Router::from_line(leak(line))),
    }
}

fn unique(ts: i64, name: &'static str, member: &'static str) -> Event<'static> {
    Event {
        meta: meta(ts),
        kind: EventKind::Unique(Unique {
            name,
            member: Text::plain(member),
            source: None,
        }),
    }
}

#[test]
fn names_and_sources_over_the_limit_are_refused_and_counted() {
    let s = Store::new(WindowConfig::default());
    let long_name = leak("n".repeat(256));
    let ok_name = leak("n".repeat(255));
    let long_source = leak("s".repeat(256));
    let events = vec![
        measure(T0, long_name, 1.0, None),
        measure(T0, ok_name, 1.0, None),
        measure(T0, "db.query", 1.0, Some(long_source)),
        measure(T0, "db.query", 1.0, Some("web.1")),
    ];
    let counts = s.ingest(&mut events.into_iter(), T0 + SEC);
    assert_eq!((counts.accepted, counts.too_long), (2, 2));
    assert_eq!(s.stats().series, 2);
    assert_eq!(s.stats().ingest.too_long, 2);
}

#[test]
fn the_byte_budget_refuses_what_would_grow_and_a_flush_frees_it() {
    let cfg = WindowConfig {
        max_bytes: 1 << 20,
        ..WindowConfig::default()
    };
    let s = Store::new(cfg);
    // Unique series past 64 members hold 4 KiB of registers each: 1 MiB holds about 250 of them.
    let names: Vec<&'static str> = (0..1000).map(|i| leak(format!("u{i}"))).collect();
    let members: Vec<&'static str> = (0..80).map(|i| leak(format!("m{i}"))).collect();
    let mut refused = 0;
    for name in &names {
        let mut events = members.iter().map(|m| unique(T0, name, m));
        refused += s.ingest(&mut events, T0 + SEC).over_bytes;
    }
    let stats = s.stats();
    assert!(refused > 0, "nothing refused");
    assert!(
        stats.bytes <= (1 << 20) + (64 << 10),
        "held {} bytes, budget 1 MiB",
        stats.bytes
    );
    assert_eq!(stats.ingest.over_bytes, refused);
    // Counts into existing series still land when the budget is used up; new series do not.
    let more = s.ingest(
        &mut vec![measure(T0, "new.series", 1.0, None)].into_iter(),
        T0 + SEC,
    );
    assert_eq!(more.over_bytes, 1);
    // The flush exports and drops the export-only series: the budget frees.
    let snap = s.flush_all(T0 + SEC);
    assert!(!snap.is_empty());
    assert!(
        s.stats().bytes < 64 << 10,
        "after flush {}",
        s.stats().bytes
    );
    let after = s.ingest(
        &mut vec![measure(T0, "new.series", 1.0, None)].into_iter(),
        T0 + SEC,
    );
    assert_eq!(after.accepted, 1);
}

#[test]
fn the_scalers_names_have_a_reserve_past_the_caps_and_it_is_bounded() {
    let s = Store::new(WindowConfig {
        max_series: 10,
        max_bytes: 1 << 20,
        keep: vec!["queue_time".into()],
        ..WindowConfig::default()
    });
    let junk: Vec<&'static str> = (0..20).map(|i| leak(format!("junk{i}"))).collect();
    let mut events: Vec<_> = junk.iter().map(|n| measure(T0, n, 1.0, None)).collect();
    events.push(measure(T0, "queue_time", 250.0, None));
    let counts = s.ingest(&mut events.into_iter(), T0 + SEC);
    assert_eq!((counts.accepted, counts.over_cap), (11, 10));
    let read = s.read_at(
        &Query {
            signal: Signal::Measure {
                name: "queue_time".into(),
                quantile: 0.5,
                source: None,
            },
            span: Duration::from_secs(60),
        },
        T0 + SEC,
    );
    let median = read.value.unwrap();
    assert!((median - 250.0).abs() < 250.0 * 0.02, "median {median}");
    // A kept name with made-up sources uses the reserve (a quarter of max_series: 2 more), then is refused too.
    let sources: Vec<&'static str> = (0..10).map(|i| leak(format!("src{i}"))).collect();
    let mut events = sources
        .iter()
        .map(|src| measure(T0, "queue_time", 1.0, Some(src)));
    let counts = s.ingest(&mut events, T0 + SEC);
    assert_eq!((counts.accepted, counts.over_cap), (1, 9));
    assert_eq!(s.stats().series, 12);
}

#[test]
fn router_keys_are_bounded_by_range_count_and_length_but_lines_always_count() {
    let s = Store::new(WindowConfig::default());
    let mut events = Vec::new();
    // Statuses outside 100..=599, then more distinct statuses than a bucket keeps.
    for status in [0u32, 42, 600, 999, 65535] {
        events.push(router(format!("at=info status={status} dyno=web.1")));
    }
    for status in 100..400u32 {
        events.push(router(format!("at=info status={status} dyno=web.1")));
    }
    // A dyno name of 30 KB and a made-up error code of 1 KB.
    let long_dyno = "d".repeat(30_000);
    events.push(router(format!("at=info status=200 dyno={long_dyno}")));
    let long_code = "H".repeat(1000);
    events.push(router(format!(
        "at=error code={long_code} status=503 dyno=web.1"
    )));
    let lines = events.len() as u64;
    let counts = s.ingest(&mut events.into_iter(), T0 + SEC);
    assert_eq!(counts.accepted, lines);
    let stats = s.stats();
    // 5 out of range + (300 - 64) over the count, the long dyno, the long code, and the statuses of those two
    // lines (200 and 503 came after the 64 kept).
    assert_eq!(stats.router_keys_refused, 5 + (300 - 64) + 1 + 1 + 2);
    let rate = |signal| {
        s.read_at(
            &Query {
                signal,
                span: Duration::from_secs(10),
            },
            T0 + SEC,
        )
        .value
        .unwrap()
    };
    assert_eq!(rate(Signal::RequestRate), lines as f64);
    assert_eq!(rate(Signal::ErrorRate { code: None }), 1.0);
    assert_eq!(rate(Signal::StatusRate { status: 100 }), 1.0);
    assert_eq!(rate(Signal::StatusRate { status: 65535 }), 0.0);
    // A flush exports the kept keys only: no 30 KB source, no out-of-range status.
    let snap = s.flush_all(T0 + SEC);
    for (_, series) in snap.series() {
        assert!(series.name.len() < 64, "{}", series.name);
        assert!(series.source.as_ref().is_none_or(|src| src.len() <= 64));
    }
}

#[test]
fn a_reserved_namespace_renames_app_series_at_the_flush() {
    let s = Store::new(WindowConfig::default());
    s.reserve_namespace("my-app");
    let events = vec![
        measure(T0, "my-app.web.rpm.value", 1.0, None),
        measure(T0, "db.query", 1.0, None),
    ];
    s.ingest(&mut events.into_iter(), T0 + SEC);
    let snap = s.flush_all(T0 + SEC);
    let mut names: Vec<_> = snap.series().map(|(_, s)| s.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["app.my-app.web.rpm.value", "db.query"]);
}
