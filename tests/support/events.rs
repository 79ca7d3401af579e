//! Events built by hand for the window and outlet tests (no parser involved), and the clock values they use.
#![allow(dead_code)]

use drainscale::logplex::{Event, EventKind, Meta, Metric};

pub const SEC: i64 = 1_000_000;
/// A round time: 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600 * SEC;

pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// An app line's metadata (`app`, `web.1`) at `ts`.
pub fn meta(ts: i64) -> Meta<'static> {
    Meta {
        timestamp: ts,
        app: "app",
        procid: "web.1",
    }
}

/// `measure#name=<value>ms [source=...]`.
pub fn measure(
    ts: i64,
    name: &'static str,
    value: f64,
    source: Option<&'static str>,
) -> Event<'static> {
    Event {
        meta: meta(ts),
        kind: EventKind::Measure(Metric {
            name,
            value,
            unit: "ms",
            source,
        }),
    }
}

/// `count#name=<value>`.
pub fn count(ts: i64, name: &'static str, value: f64) -> Event<'static> {
    Event {
        meta: meta(ts),
        kind: EventKind::Count(Metric {
            name,
            value,
            unit: "",
            source: None,
        }),
    }
}

/// `sample#name=<value>MB source=...`.
pub fn sample(ts: i64, name: &'static str, value: f64, source: &'static str) -> Event<'static> {
    Event {
        meta: meta(ts),
        kind: EventKind::Sample(Metric {
            name,
            value,
            unit: "MB",
            source: Some(source),
        }),
    }
}
