//! Flushing: a closed bucket's pending half becomes plain numbers ([`Snapshot`]) for the outlets.
//!
//! Each event is exported exactly once: a flush takes the pending half, turns it into [`FlushedSeries`], then
//! moves router data and the kept l2met names into the retained half (for the scaler) and drops the rest. Events
//! that arrive for an already flushed bucket form a new pending half, exported by a later flush as a second data
//! point with the same bucket time (`FlushedBucket::late`). This file does not talk to any outlet.
//!
//! It also decides the one namespace rule every outlet inherits: an l2met name whose first segment is reserved
//! for the drain's own series ([`RESERVED`]) is exported as `app.<name>` ([`app_series_name`]), so an app line
//! can never add to `router.requests` or to the drain's own counters in statsd, Librato or Prometheus.

use super::bucket::{Bucket, RouterAgg};
use super::ddsketch::DdSketch;
use super::series::{split_key, KeyParts, SeriesAgg};
use std::borrow::Cow;
use std::collections::HashSet;
use std::time::Duration;

/// First name segments that belong to the drain's own series: router data (`router.*`), the drain's, windows',
/// outlets' and logplex counters on `/metrics` (`drain_*`, `window_*`, `outlet_*`, `logplex_*`), the scaler's
/// error handlers (`error_handler_*`) and stats (`dynosaur.*`), the default prefix itself, and `app`, which the
/// renamed names live under (so the rename is one-to-one: `app.x` from an app becomes `app.app.x`).
pub const RESERVED: [&str; 9] = [
    "router",
    "drain",
    "window",
    "outlet",
    "logplex",
    "error_handler",
    "dynosaur",
    "drainscale",
    "app",
];

/// What a renamed l2met name is put under.
pub const APP_NAMESPACE: &str = "app.";

/// The name an l2met series is exported under: `app.<name>` when its first segment is reserved ([`RESERVED`]),
/// else the name as logged. Segments are compared the way the outlets could blur them: ASCII case ignored,
/// leading separators skipped, any character other than `A-Za-z0-9` (or a lower-to-upper case change, which
/// Prometheus names split at) ends a segment, and characters a statsd daemon deletes are also tried deleted.
pub fn app_series_name(name: &str) -> Cow<'_, str> {
    app_series_name_in(name, &[])
}

/// [`app_series_name`] with further reserved first segments, folded by [`fold_segment`] (the scaler's app name,
/// which its stats are sent under: `<prefix>.<app>.<controller>...`).
pub fn app_series_name_in<'a>(name: &'a str, extra: &[Box<[u8]>]) -> Cow<'a, str> {
    if is_reserved_in(name, extra) {
        Cow::Owned(format!("{APP_NAMESPACE}{name}"))
    } else {
        Cow::Borrowed(name)
    }
}

/// True when `name`'s first segment (see [`app_series_name`]) is one of [`RESERVED`].
pub fn is_reserved(name: &str) -> bool {
    is_reserved_in(name, &[])
}

/// [`is_reserved`] with further reserved segments, each folded by [`fold_segment`].
pub fn is_reserved_in(name: &str, extra: &[Box<[u8]>]) -> bool {
    // Separators as Prometheus maps them (every other character to `_`), then with the characters Etsy's statsd
    // strips (anything outside `A-Za-z0-9_.-/` and whitespace) removed first.
    let mut buf = [0u8; FOLDED];
    let starts_reserved = |folded: &[u8]| {
        RESERVED
            .iter()
            .map(|r| r.as_bytes())
            .chain(extra.iter().map(|e| &e[..]))
            .any(|r| folded.starts_with(r) && folded.get(r.len()).is_none_or(|b| *b == b'_'))
    };
    starts_reserved(fold(name.chars(), &mut buf))
        || starts_reserved(fold(
            name.chars().filter(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/') || c.is_whitespace()
            }),
            &mut buf,
        ))
}

/// Longest reserved segment compared, folded (Heroku app names are at most 30 characters), plus one.
const FOLDED: usize = 64;

/// A segment to reserve besides [`RESERVED`], folded the way names are compared; `None` when empty or too
/// long to compare.
pub fn fold_segment(segment: &str) -> Option<Box<[u8]>> {
    let mut buf = [0u8; FOLDED];
    let folded = fold(segment.chars(), &mut buf);
    (!folded.is_empty() && folded.len() < FOLDED).then(|| folded.into())
}

/// The start of a name folded for comparison: lower case, separators (and lower-to-upper changes) as `_`,
/// leading separators skipped, at most `FOLDED` bytes.
fn fold(chars: impl Iterator<Item = char>, folded: &mut [u8; FOLDED]) -> &[u8] {
    let mut len = 0;
    let mut prev_lower = false;
    for c in chars {
        if len == folded.len() {
            break;
        }
        let byte = if c.is_ascii_alphanumeric() {
            if prev_lower && c.is_ascii_uppercase() && len > 0 {
                folded[len] = b'_';
                len += 1;
                if len == folded.len() {
                    break;
                }
            }
            prev_lower = c.is_ascii_lowercase();
            c.to_ascii_lowercase() as u8
        } else {
            prev_lower = false;
            if len == 0 {
                continue;
            }
            b'_'
        };
        folded[len] = byte;
        len += 1;
    }
    &folded[..len]
}

/// What a flush produced: zero or more closed buckets, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub resolution: Duration,
    pub buckets: Vec<FlushedBucket>,
}

impl Snapshot {
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Every series of every bucket, with its bucket's start.
    pub fn series(&self) -> impl Iterator<Item = (i64, &FlushedSeries)> {
        self.buckets
            .iter()
            .flat_map(|b| b.series.iter().map(move |s| (b.start, s)))
    }
}

/// One bucket's flushed data.
#[derive(Debug, Clone, PartialEq)]
pub struct FlushedBucket {
    /// Bucket start, Unix micros.
    pub start: i64,
    /// True when an earlier flush already exported this bucket: this is late data only.
    pub late: bool,
    pub series: Vec<FlushedSeries>,
}

/// One series' numbers for one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct FlushedSeries {
    /// `db.query`, or `router.requests` etc. for router data (see the README).
    pub name: String,
    pub source: Option<String>,
    pub value: FlushedValue,
}

/// The numbers a series kind flushes to.
#[derive(Debug, Clone, PartialEq)]
pub enum FlushedValue {
    Measure(MeasureStats),
    /// A counter: the sum for the bucket.
    Count(f64),
    /// A gauge: the last value.
    Sample(f64),
    /// A gauge: distinct members in the bucket.
    Unique(u64),
}

/// A distribution summarised (`median`, `p95`, `p99` within the sketch's 1%).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasureStats {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub median: f64,
    pub p95: f64,
    pub p99: f64,
}

impl MeasureStats {
    /// `None` for an empty sketch.
    pub fn of(s: &DdSketch) -> Option<MeasureStats> {
        let [median, p95, p99] = s.quantiles([0.5, 0.95, 0.99])?;
        Some(MeasureStats {
            count: s.count(),
            sum: s.sum(),
            min: s.min()?,
            max: s.max()?,
            mean: s.mean()?,
            median,
            p95,
            p99,
        })
    }

    /// `(suffix, value)` pairs in a fixed order: count, sum, min, max, mean, median, p95, p99.
    pub fn fields(&self) -> [(&'static str, f64); 8] {
        [
            ("count", self.count as f64),
            ("sum", self.sum),
            ("min", self.min),
            ("max", self.max),
            ("mean", self.mean),
            ("median", self.median),
            ("p95", self.p95),
            ("p99", self.p99),
        ]
    }
}

fn series(name: impl Into<String>, source: Option<&str>, value: FlushedValue) -> FlushedSeries {
    FlushedSeries {
        name: name.into(),
        source: source.map(str::to_owned),
        value,
    }
}

/// Router data as series: `router.requests`, `router.status.2xx`, `router.status.503`, `router.errors`,
/// `router.error.H12`, `router.connect`, `router.service`, `router.dyno.requests` (source = dyno).
pub fn router_series(r: &RouterAgg, out: &mut Vec<FlushedSeries>) {
    out.push(series(
        "router.requests",
        None,
        FlushedValue::Count(r.requests as f64),
    ));
    for class in 1..=5u8 {
        let n = r.class_count(class);
        if n > 0 {
            out.push(series(
                format!("router.status.{class}xx"),
                None,
                FlushedValue::Count(n as f64),
            ));
        }
    }
    for (status, n) in &r.statuses {
        out.push(series(
            format!("router.status.{status}"),
            None,
            FlushedValue::Count(*n as f64),
        ));
    }
    out.push(series(
        "router.errors",
        None,
        FlushedValue::Count(r.errors as f64),
    ));
    for (code, n) in &r.error_codes {
        out.push(series(
            format!("router.error.{code}"),
            None,
            FlushedValue::Count(*n as f64),
        ));
    }
    if let Some(stats) = MeasureStats::of(&r.connect) {
        out.push(series("router.connect", None, FlushedValue::Measure(stats)));
    }
    if let Some(stats) = MeasureStats::of(&r.service) {
        out.push(series("router.service", None, FlushedValue::Measure(stats)));
    }
    let mut dynos: Vec<_> = r.dynos.iter().collect();
    dynos.sort();
    for (dyno, n) in dynos {
        out.push(series(
            "router.dyno.requests",
            Some(dyno),
            FlushedValue::Count(*n as f64),
        ));
    }
}

fn value_of(agg: &SeriesAgg) -> Option<FlushedValue> {
    match agg {
        SeriesAgg::Measure(s) => MeasureStats::of(s).map(FlushedValue::Measure),
        SeriesAgg::Count(n) => Some(FlushedValue::Count(*n)),
        SeriesAgg::Sample { value, .. } => {
            (!value.is_nan()).then_some(FlushedValue::Sample(*value))
        }
        SeriesAgg::Unique(d) => Some(FlushedValue::Unique(d.estimate())),
    }
}

/// Takes a bucket's pending half: summarises it, then keeps router data and `keep` names in the retained half.
pub fn take_pending(
    start: i64,
    bucket: &mut Bucket,
    keep: &HashSet<Box<str>>,
    reserved: &[Box<[u8]>],
) -> FlushedBucket {
    let pending = std::mem::take(&mut bucket.pending);
    let mut out = Vec::with_capacity(pending.series.len() + 8);
    if let Some(router) = pending.router {
        router_series(&router, &mut out);
        match bucket.retained.router.as_deref_mut() {
            Some(r) => r.merge(&router),
            None => bucket.retained.router = Some(router),
        }
    }
    let mut l2met: Vec<_> = pending.series.into_iter().collect();
    l2met.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, agg) in l2met {
        let Some(KeyParts { name, source, .. }) = split_key(&key) else {
            continue;
        };
        if let Some(value) = value_of(&agg) {
            out.push(series(app_series_name_in(name, reserved), source, value));
        }
        if keep.contains(name) {
            bucket.retained.merge_series(key.clone(), agg);
        }
    }
    let late = bucket.flushed;
    bucket.flushed = true;
    FlushedBucket {
        start,
        late,
        series: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_first_segments_go_under_app() {
        // The folding buffer holds the longest reserved segment and the character after it.
        assert!(RESERVED.iter().all(|r| r.len() < FOLDED));
        for forged in [
            "router.requests",
            "router",
            "Router.Requests",
            "router_requests",
            "router-status.5xx",
            ".router.requests",
            "routerRequests",
            "drain_bodies_total",
            "drain.bodies",
            "window_series",
            "outlet_flushes",
            "logplex.dropped",
            "error_handler_events",
            "errorHandler.events",
            "dynosaur.my-app.web.rpm",
            "drainscale_drain_bodies",
            "app.router.requests",
            "app",
            "rou\u{301}ter.requests",
            "router\u{e9}.x",
        ] {
            assert!(is_reserved(forged), "{forged}");
            assert_eq!(app_series_name(forged), format!("app.{forged}"));
        }
        for own in [
            "routers.x",
            "router2",
            "db.query",
            "drains",
            "windows.open",
            "application.boot",
            "apps",
            "error.count",
            "errors_handled",
            "",
            "...",
        ] {
            assert!(!is_reserved(own), "{own}");
            assert_eq!(app_series_name(own), own);
        }
    }

    #[test]
    fn the_scalers_app_name_is_reserved_when_given() {
        let app = [fold_segment("my-app").unwrap()];
        assert_eq!(
            app_series_name_in("my-app.web.rpm.value", &app),
            "app.my-app.web.rpm.value"
        );
        assert_eq!(
            app_series_name_in("My_App.web.combined.estimate", &app),
            "app.My_App.web.combined.estimate"
        );
        assert_eq!(app_series_name_in("my-apple.x", &app), "my-apple.x");
        assert_eq!(
            app_series_name("my-app.web.rpm.value"),
            "my-app.web.rpm.value"
        );
        assert_eq!(fold_segment(""), None);
        assert_eq!(fold_segment(&"a".repeat(100)), None);
    }
}
