//! Fuzz target: the window store fed arbitrary events at arbitrary `now`s, with flushes and reads in between.
//! Events are parsed from arbitrary bytes or built directly: any names and sources, values including NaN and the
//! infinities, timestamps including the extremes, router lines with any status and times. Nothing may panic and
//! every event a batch held that the windows aggregate is accepted or refused for exactly one reason. It does not test what the
//! outlets make of a flush.
#![no_main]

use drainscale::logplex::event::RouterField;
use drainscale::logplex::{parse_body, Event, EventKind, Meta, Metric, Router, Text, Unique};
use drainscale::window::{Query, Signal, Store, WindowConfig};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

/// Operations per input, so one input stays fast.
const MAX_OPS: usize = 64;
/// Events built per ingest.
const MAX_EVENTS: usize = 32;

const ROUTER_FIELDS: [RouterField; 9] = [
    RouterField::Code,
    RouterField::Desc,
    RouterField::Method,
    RouterField::Path,
    RouterField::Host,
    RouterField::RequestId,
    RouterField::Fwd,
    RouterField::Dyno,
    RouterField::Protocol,
];

fn config(u: &mut Unstructured<'_>) -> Result<WindowConfig> {
    let resolution = Duration::from_millis(u.int_in_range(1..=60_000)?);
    let keep = (0..u.int_in_range(0..=3)?)
        .map(|_| u.arbitrary::<&str>().map(str::to_string))
        .collect::<Result<Vec<_>>>()?;
    Ok(WindowConfig {
        resolution,
        retention: resolution * u.int_in_range(1..=100)?,
        max_series: u.int_in_range(1..=64)?,
        max_name_bytes: u.int_in_range(1..=300)?,
        max_source_bytes: u.int_in_range(1..=300)?,
        // From the smallest budget allowed up: small ones are reached within a run.
        max_bytes: u.int_in_range(1usize << 20..=4 << 20)?,
        grace: Duration::from_millis(u.int_in_range(0..=120_000)?),
        max_skew: Duration::from_millis(u.int_in_range(0..=3_600_000)?),
        keep,
    })
}

/// A time in Unix micros: an extreme, near `base`, or anything.
fn micros(u: &mut Unstructured<'_>, base: i64) -> Result<i64> {
    Ok(match u.int_in_range(0..=5)? {
        0 => i64::MIN,
        1 => i64::MAX,
        2 => 0,
        3 => base.saturating_add(u.int_in_range(-700_000_000i64..=700_000_000)?),
        _ => u.arbitrary()?,
    })
}

fn value(u: &mut Unstructured<'_>) -> Result<f64> {
    Ok(match u.int_in_range(0..=7)? {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3 => f64::MAX,
        4 => f64::MIN_POSITIVE,
        5 => -0.0,
        _ => u.arbitrary()?,
    })
}

fn router<'a>(u: &mut Unstructured<'a>) -> Result<Router<'a>> {
    let line: &'a str = u.arbitrary()?;
    let mut r = Router::new(line);
    for field in ROUTER_FIELDS {
        if !u.arbitrary::<bool>()? || line.is_empty() {
            continue;
        }
        // A slice of the line on character boundaries (or, sometimes, a string from elsewhere: refused).
        let a = u.int_in_range(0..=line.len())?;
        let b = u.int_in_range(a..=line.len())?;
        let raw = match line.get(a..b) {
            Some(raw) if !u.arbitrary::<bool>()? => raw,
            _ => u.arbitrary::<&'a str>()?,
        };
        r.set(
            field,
            Text {
                raw,
                escaped: u.arbitrary()?,
            },
        );
    }
    r.set_error(u.arbitrary()?);
    r.set_status(u.arbitrary()?);
    r.set_bytes(u.arbitrary()?);
    r.set_connect_ms(u.arbitrary::<bool>()?.then(|| value(u)).transpose()?);
    r.set_service_ms(u.arbitrary::<bool>()?.then(|| value(u)).transpose()?);
    Ok(r)
}

fn event<'a>(u: &mut Unstructured<'a>, now: i64) -> Result<Event<'a>> {
    let meta = Meta {
        timestamp: micros(u, now)?,
        app: u.arbitrary()?,
        procid: u.arbitrary()?,
    };
    let name: &'a str = u.arbitrary()?;
    let source: Option<&'a str> = u.arbitrary()?;
    let metric = |u: &mut Unstructured<'a>| -> Result<Metric<'a>> {
        Ok(Metric {
            name,
            value: value(u)?,
            unit: u.arbitrary()?,
            source,
        })
    };
    let kind = match u.int_in_range(0..=6)? {
        0 => EventKind::Measure(metric(u)?),
        1 => EventKind::Count(metric(u)?),
        2 => EventKind::Sample(metric(u)?),
        3 => EventKind::Unique(Unique {
            name,
            member: Text {
                raw: u.arbitrary()?,
                escaped: u.arbitrary()?,
            },
            source,
        }),
        4 => EventKind::Router(router(u)?),
        5 => EventKind::L10 {
            dropped: u.arbitrary()?,
        },
        _ => EventKind::Line(name),
    };
    Ok(Event { meta, kind })
}

fn query(u: &mut Unstructured<'_>) -> Result<Query> {
    let quantile = value(u)?;
    let text =
        |u: &mut Unstructured<'_>| -> Result<String> { Ok(u.arbitrary::<&str>()?.to_string()) };
    let source = |u: &mut Unstructured<'_>| -> Result<Option<String>> {
        Ok(u.arbitrary::<Option<&str>>()?.map(str::to_string))
    };
    let signal = match u.int_in_range(0..=8)? {
        0 => Signal::RequestRate,
        1 => Signal::StatusClassRate {
            class: u.arbitrary()?,
        },
        2 => Signal::StatusRate {
            status: u.arbitrary()?,
        },
        3 => Signal::ErrorRate { code: source(u)? },
        4 => Signal::ServiceTime { quantile },
        5 => Signal::ConnectTime { quantile },
        6 => Signal::Measure {
            name: text(u)?,
            quantile,
            source: source(u)?,
        },
        7 => Signal::CountRate {
            name: text(u)?,
            source: source(u)?,
        },
        _ => Signal::Sample {
            name: text(u)?,
            source: source(u)?,
        },
    };
    let span = match u.int_in_range(0..=2)? {
        0 => Duration::MAX,
        1 => Duration::ZERO,
        _ => Duration::from_micros(u.arbitrary()?),
    };
    Ok(Query { signal, span })
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let store = Store::new(config(u)?);
    let mut now: i64 = 1_700_000_000_000_000;
    for _ in 0..MAX_OPS {
        if u.is_empty() {
            break;
        }
        now = match u.int_in_range(0..=3)? {
            0 => now,
            _ => micros(u, now)?,
        };
        match u.int_in_range(0..=6)? {
            0 => {
                let body: &[u8] = u.arbitrary()?;
                let mut events = parse_body(body);
                let counts = store.ingest_at(&mut events, now);
                let stats = events.stats();
                let refused =
                    counts.too_old + counts.over_cap + counts.too_long + counts.over_bytes;
                assert!(counts.accepted + refused <= stats.events);
            }
            1 | 2 => {
                let n = u.int_in_range(0..=MAX_EVENTS)?;
                let events = (0..n).map(|_| event(u, now)).collect::<Result<Vec<_>>>()?;
                let stored = events
                    .iter()
                    .filter(|e| !matches!(e.kind, EventKind::Line(_) | EventKind::L10 { .. }))
                    .count() as u64;
                let counts = store.ingest_at(&mut events.into_iter(), now);
                // Every aggregatable event is accepted or refused for exactly one reason.
                let refused =
                    counts.too_old + counts.over_cap + counts.too_long + counts.over_bytes;
                assert_eq!(counts.accepted + refused, stored);
            }
            3 => {
                let _ = store.flush(now);
            }
            4 => {
                let _ = store.flush_all(now);
            }
            5 => {
                let _ = store.read_at(&query(u)?, now);
            }
            _ => {
                store.keep_name(u.arbitrary()?);
                let _ = store.stats();
            }
        }
    }
    let _ = store.flush_all(now);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
