//! Prometheus text of the windows, appended to the drain's own `/metrics` through [`MetricsPage`].
//!
//! The page remembers what the flushes produced, one family per flushed series name and kind: a count is a
//! counter `<p>_<name>_total` (summed over every flushed bucket); a sample or a unique a gauge `<p>_<name>` (the
//! latest flushed bucket); a measure a summary `<p>_<name>{quantile="0.5|0.95|0.99"}` with `_sum` and `_count`
//! summed over every flushed bucket, plus gauges `<p>_<name>_min`, `_max` and `_mean` of the latest bucket. A
//! gauge or summary series disappears after [`STALE_AFTER`] without data; a counter once it has had no data for
//! the window retention.
//!
//! The page stays valid exposition text whatever the names: one `# HELP` and `# TYPE` per family, label values
//! escaped, and a family (or one of a summary's derived names) claimed once: the first series to claim it keeps
//! it, later claimants are refused and counted. What it holds is bounded (series count, bytes of names) and what
//! one render writes is bounded ([`MAX_RENDER_BYTES`]). A flush never waits for a render in progress: it is kept
//! (at most [`MAX_WAITING`]) and taken in when the render ends. It also renders the store's and the outlets' own
//! counters. It does not read the windows' sketches, and it does not decide reserved names (the flush does:
//! [`crate::window::flush::app_series_name`]).

use super::contract::OutletStatsSource;
use super::names;
use crate::drain::MetricsPage;
use crate::window::{FlushedSeries, FlushedValue, MeasureStats, Snapshot, WindowStore};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

/// How long a gauge stays on the page without new data (Prometheus' own staleness delta).
pub const STALE_AFTER: i64 = 300 * 1_000_000;

/// The longest flushed series name the page takes, in bytes; longer ones are refused and counted.
pub const MAX_NAME_BYTES: usize = 255;

/// The longest `source=` the page takes as a label value, in bytes; longer ones are refused and counted.
pub const MAX_SOURCE_BYTES: usize = 255;

/// The page holds at most `windows.max_series` series and `windows.max_series` x this many bytes of names,
/// sources and bookkeeping, for router series and for l2met series each; series past either bound are refused
/// and counted.
pub const BYTES_PER_SERIES: usize = 512;

/// What one render writes for the windows' series at most; series past it are left off that render (counted
/// in `<p>_outlet_prometheus_left_off_series`). The page's own families always follow in full.
pub const MAX_RENDER_BYTES: usize = 16 << 20;

/// Bookkeeping counted per family and per series on top of their names.
const FAMILY_OVERHEAD: usize = 96;
const SERIES_OVERHEAD: usize = 64;

/// Names a summary family `x` also uses.
const SUMMARY_DERIVED: [&str; 5] = ["_sum", "_count", "_min", "_max", "_mean"];

/// Endings a gauge or summary family may not have (`promtool check metrics` reserves them for counters,
/// histograms and summaries): such a family gets `_value` appended.
const RESERVED_ENDINGS: [&str; 4] = ["_total", "_count", "_sum", "_bucket"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Summary,
}

/// The kind of flushed series a family was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Count,
    Measure,
    Sample,
    Unique,
}

impl Origin {
    fn of(v: &FlushedValue) -> Origin {
        match v {
            FlushedValue::Count(_) => Origin::Count,
            FlushedValue::Measure(_) => Origin::Measure,
            FlushedValue::Sample(_) => Origin::Sample,
            FlushedValue::Unique(_) => Origin::Unique,
        }
    }

    fn kind(self) -> Kind {
        match self {
            Origin::Count => Kind::Counter,
            Origin::Measure => Kind::Summary,
            Origin::Sample | Origin::Unique => Kind::Gauge,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Origin::Count => "count",
            Origin::Measure => "measure",
            Origin::Sample => "sample",
            Origin::Unique => "unique",
        }
    }
}

/// One series' numbers (`at`: the newest bucket start that set them).
enum Point {
    Total {
        total: f64,
        at: i64,
    },
    Gauge {
        value: f64,
        at: i64,
    },
    Summary {
        last: MeasureStats,
        at: i64,
        /// `_count` and `_sum`: every flushed bucket added, late ones included.
        count: u64,
        sum: f64,
    },
}

impl Point {
    fn new(value: &FlushedValue, start: i64) -> Point {
        match value {
            FlushedValue::Count(n) => Point::Total {
                total: *n,
                at: start,
            },
            FlushedValue::Measure(m) => Point::Summary {
                last: *m,
                at: start,
                count: m.count,
                sum: m.sum,
            },
            FlushedValue::Sample(v) => Point::Gauge {
                value: *v,
                at: start,
            },
            FlushedValue::Unique(n) => Point::Gauge {
                value: *n as f64,
                at: start,
            },
        }
    }

    /// Takes in one more flushed bucket of the same series.
    fn add(&mut self, value: &FlushedValue, start: i64, late: bool) {
        match (self, value) {
            (Point::Total { total, at }, FlushedValue::Count(n)) => {
                *total += n;
                *at = (*at).max(start);
            }
            (
                Point::Summary {
                    last,
                    at,
                    count,
                    sum,
                },
                FlushedValue::Measure(m),
            ) => {
                *count = count.saturating_add(m.count);
                *sum += m.sum;
                if !late && start >= *at {
                    *last = *m;
                    *at = start;
                }
            }
            (Point::Gauge { value, at }, FlushedValue::Sample(v)) if !late && start >= *at => {
                *value = *v;
                *at = start;
            }
            (Point::Gauge { value, at }, FlushedValue::Unique(n)) if !late && start >= *at => {
                *value = *n as f64;
                *at = start;
            }
            _ => {}
        }
    }

    fn kept(&self, newest: i64, retention: i64) -> bool {
        match self {
            Point::Total { at, .. } => newest - *at <= retention,
            Point::Gauge { at, .. } | Point::Summary { at, .. } => newest - *at <= STALE_AFTER,
        }
    }
}

/// One family: the flushed series (name and kind) that claimed it, and its series by source.
struct Family {
    origin: Origin,
    owner: Box<str>,
    unsourced: Option<Point>,
    by_source: BTreeMap<Box<str>, Point>,
}

impl Family {
    fn len(&self) -> usize {
        usize::from(self.unsourced.is_some()) + self.by_source.len()
    }

    fn points(&self) -> impl Iterator<Item = (Option<&str>, &Point)> {
        self.unsourced
            .iter()
            .map(|p| (None, p))
            .chain(self.by_source.iter().map(|(s, p)| (Some(&**s), p)))
    }
}

/// Why a flushed series did not get onto the page.
#[derive(Debug, Default, Clone, Copy)]
struct Refused {
    /// Its family (or a name its family needs) belongs to another series, or to the page's own counters.
    collision: u64,
    /// Its name or source is longer than [`MAX_NAME_BYTES`] / [`MAX_SOURCE_BYTES`].
    too_long: u64,
    /// The page already holds `max_series` series.
    series_cap: u64,
    /// The page already holds its byte budget.
    bytes_cap: u64,
}

/// Router series and l2met series are held and bounded apart, so a flood of app names cannot keep a router
/// series (a new status code, a new dyno) off the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Router = 0,
    L2met = 1,
}

impl Class {
    /// Router series are the flush's `router.*` names (app names there were renamed `app.*` by the flush).
    fn of(name: &str) -> Class {
        if name.starts_with("router.") {
            Class::Router
        } else {
            Class::L2met
        }
    }
}

#[derive(Default)]
struct State {
    families: BTreeMap<Box<str>, Family>,
    /// Indexed by [`Class`].
    series: [usize; 2],
    bytes: [usize; 2],
    newest: i64,
    refused: Refused,
    /// A family name being built (kept to spare an allocation per flushed series).
    scratch: String,
}

/// The windows' Prometheus text. Share it as `Arc<PrometheusPage>`; [`crate::outlet::Outlets`] updates it.
pub struct PrometheusPage {
    prefix: String,
    store: Arc<dyn WindowStore>,
    outlets: Option<Arc<OutletStatsSource>>,
    /// Family name starts the page (or the drain's page around it) renders itself: never given to a series.
    own: Vec<String>,
    max_series: usize,
    max_bytes: usize,
    state: Mutex<State>,
    /// Flushes that arrived while a render held `state`, taken in when it ends (or by the next flush).
    waiting: Mutex<Vec<Snapshot>>,
}

/// Flushes kept waiting for a render at most; past it the flush waits for the render instead.
pub const MAX_WAITING: usize = 4;

impl PrometheusPage {
    pub fn new(
        prefix: &str,
        store: Arc<dyn WindowStore>,
        outlets: Option<Arc<OutletStatsSource>>,
    ) -> PrometheusPage {
        let prefix = names::prometheus(prefix);
        let own = ["window_", "outlet_", "logplex_"]
            .iter()
            .map(|s| join(&prefix, s))
            .chain([
                "drainscale_drain_".into(),
                "drainscale_error_handler_".into(),
            ])
            .collect();
        let max_series = store.config().max_series.max(1);
        PrometheusPage {
            prefix,
            store,
            outlets,
            own,
            max_series,
            max_bytes: max_series.saturating_mul(BYTES_PER_SERIES),
            state: Mutex::default(),
            waiting: Mutex::default(),
        }
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Vec<Snapshot>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes in a flush's numbers. Never waits for a render in progress (the flush task runs on the async
    /// workers): the flush is kept and taken in when the render ends, unless [`MAX_WAITING`] already wait.
    pub fn update(&self, snapshot: &Snapshot) {
        let mut guard = match self.state.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                let mut waiting = self.waiting();
                if waiting.len() < MAX_WAITING {
                    waiting.push(snapshot.clone());
                    return;
                }
                drop(waiting);
                self.state()
            }
        };
        self.take_waiting(&mut guard);
        self.apply(&mut guard, snapshot);
    }

    /// Takes in the flushes that waited for a render.
    fn take_waiting(&self, state: &mut State) {
        let waiting = std::mem::take(&mut *self.waiting());
        for snapshot in &waiting {
            self.apply(state, snapshot);
        }
    }

    fn apply(&self, state: &mut State, snapshot: &Snapshot) {
        let retention =
            i64::try_from(self.store.config().retention.as_micros()).unwrap_or(i64::MAX);
        let mut scratch = std::mem::take(&mut state.scratch);
        for bucket in &snapshot.buckets {
            state.newest = state.newest.max(bucket.start);
            for s in &bucket.series {
                self.take(state, &mut scratch, s, bucket.start, bucket.late);
            }
        }
        state.scratch = scratch;
        let newest = state.newest;
        let (mut series, mut bytes) = ([0; 2], [0; 2]);
        state.families.retain(|name, f| {
            if let Some(p) = &f.unsourced {
                if !p.kept(newest, retention) {
                    f.unsourced = None;
                }
            }
            f.by_source.retain(|_, p| p.kept(newest, retention));
            let n = f.len();
            if n == 0 {
                return false;
            }
            let c = Class::of(&f.owner) as usize;
            series[c] += n;
            bytes[c] += family_bytes(name, &f.owner)
                + f.by_source.keys().map(|s| s.len()).sum::<usize>()
                + n * SERIES_OVERHEAD;
            true
        });
        state.series = series;
        state.bytes = bytes;
    }

    /// One flushed series onto the page, or refused and counted.
    fn take(
        &self,
        state: &mut State,
        scratch: &mut String,
        s: &FlushedSeries,
        start: i64,
        late: bool,
    ) {
        let origin = Origin::of(&s.value);
        let kind = origin.kind();
        if late && kind == Kind::Gauge {
            return; // A late bucket holds only the late part: it is not the series' value.
        }
        let source = s.source.as_deref();
        if s.name.len() > MAX_NAME_BYTES || source.map_or(0, str::len) > MAX_SOURCE_BYTES {
            state.refused.too_long += 1;
            return;
        }
        self.family_name(scratch, &s.name, kind);
        let class = Class::of(&s.name) as usize;
        let series_bytes = source.map_or(0, str::len) + SERIES_OVERHEAD;
        if let Some(f) = state.families.get_mut(scratch.as_str()) {
            if f.origin != origin || *f.owner != *s.name {
                state.refused.collision += 1;
                return;
            }
            let existing = match source {
                None => f.unsourced.as_mut(),
                Some(src) => f.by_source.get_mut(src),
            };
            if let Some(p) = existing {
                p.add(&s.value, start, late);
                return;
            }
            if !self
                .room(state.series[class], state.bytes[class])
                .fits(series_bytes, &mut state.refused)
            {
                return;
            }
            let p = Point::new(&s.value, start);
            match source {
                None => f.unsourced = Some(p),
                Some(src) => {
                    f.by_source.insert(src.into(), p);
                }
            }
            state.series[class] += 1;
            state.bytes[class] += series_bytes;
            return;
        }
        if self.own.iter().any(|o| scratch.starts_with(o.as_str()))
            || conflicts(&state.families, scratch, kind)
        {
            state.refused.collision += 1;
            return;
        }
        let cost = family_bytes(scratch, &s.name) + series_bytes;
        if !self
            .room(state.series[class], state.bytes[class])
            .fits(cost, &mut state.refused)
        {
            return;
        }
        let p = Point::new(&s.value, start);
        let mut f = Family {
            origin,
            owner: s.name.as_str().into(),
            unsourced: None,
            by_source: BTreeMap::new(),
        };
        match source {
            None => f.unsourced = Some(p),
            Some(src) => {
                f.by_source.insert(src.into(), p);
            }
        }
        state.families.insert(scratch.as_str().into(), f);
        state.series[class] += 1;
        state.bytes[class] += cost;
    }

    fn room(&self, series: usize, bytes: usize) -> Room {
        Room {
            series,
            bytes,
            max_series: self.max_series,
            max_bytes: self.max_bytes,
        }
    }

    /// `<prefix>_<name>` as a Prometheus name, `_total` for counters, `_value` after a reserved ending.
    fn family_name(&self, out: &mut String, name: &str, kind: Kind) {
        out.clear();
        out.push_str(&self.prefix);
        if !self.prefix.is_empty() {
            out.push('_');
        }
        names::push_prometheus(out, name);
        match kind {
            Kind::Counter => out.push_str("_total"),
            Kind::Gauge | Kind::Summary => {
                if RESERVED_ENDINGS.iter().any(|e| out.ends_with(e)) {
                    out.push_str("_value");
                }
            }
        }
    }

    /// Writes the windows' families; returns how many series were left off (over [`MAX_RENDER_BYTES`]).
    fn render_windows(&self, state: &State, out: &mut String) -> usize {
        let start = out.len();
        let full = |out: &String| out.len() - start >= MAX_RENDER_BYTES;
        let mut left_off = 0;
        for (name, f) in &state.families {
            if full(out) {
                left_off += f.len();
                continue;
            }
            let kind = f.origin.kind();
            let (kind_str, what) = match f.origin {
                Origin::Count => ("counter", "sum of all buckets"),
                Origin::Sample => ("gauge", "latest value"),
                Origin::Unique => ("gauge", "distinct members in the latest bucket"),
                Origin::Measure => (
                    "summary",
                    "quantiles of the latest bucket, _sum and _count of all",
                ),
            };
            header(out, name, "", f, kind_str, what);
            let mut written = 0;
            for (source, p) in f.points() {
                if full(out) {
                    left_off += 1;
                    continue;
                }
                written += 1;
                match p {
                    Point::Total { total: v, .. } | Point::Gauge { value: v, .. } => {
                        sample(out, name, "", source, None, *v);
                    }
                    Point::Summary {
                        last, count, sum, ..
                    } => {
                        for (q, v) in [("0.5", last.median), ("0.95", last.p95), ("0.99", last.p99)]
                        {
                            sample(out, name, "", source, Some(q), v);
                        }
                        sample(out, name, "_sum", source, None, *sum);
                        sample(out, name, "_count", source, None, *count as f64);
                    }
                }
            }
            if kind != Kind::Summary {
                continue;
            }
            for (suffix, what) in [
                ("_min", "min of the latest bucket"),
                ("_max", "max of the latest bucket"),
                ("_mean", "mean of the latest bucket"),
            ] {
                header(out, name, suffix, f, "gauge", what);
                for (source, p) in f.points().take(written) {
                    if let Point::Summary { last, .. } = p {
                        let v = match suffix {
                            "_min" => last.min,
                            "_max" => last.max,
                            _ => last.mean,
                        };
                        sample(out, name, suffix, source, None, v);
                    }
                }
            }
        }
        left_off
    }

    fn render_own(&self, state: &State, left_off: usize, out: &mut String) {
        let p = &self.prefix;
        let s = self.store.stats();
        // What the store did with each event is on the drain's page (`drainscale_drain_ingested_events_total`).
        own(
            out,
            p,
            "window_late_after_flush_total",
            "counter",
            "Events for a bucket already flushed (exported as late data).",
            &[(None, s.late_after_flush as f64)],
        );
        own(
            out,
            p,
            "logplex_dropped_messages_total",
            "counter",
            "Messages logplex reported dropping (L10).",
            &[(None, s.logplex_dropped as f64)],
        );
        own(
            out,
            p,
            "window_series",
            "gauge",
            "Series the windows hold now.",
            &[(None, s.series as f64)],
        );
        own(
            out,
            p,
            "window_buckets",
            "gauge",
            "Buckets the windows hold now.",
            &[(None, s.buckets as f64)],
        );
        own(
            out,
            p,
            "window_bytes",
            "gauge",
            "Bytes of series data the windows hold now, as accounted against windows.max_bytes.",
            &[(None, s.bytes as f64)],
        );
        own(
            out,
            p,
            "window_router_keys_refused_total",
            "counter",
            "Router statuses, error codes and dynos not kept as keys (out of range, too long, or over the per-bucket bound).",
            &[(None, s.router_keys_refused as f64)],
        );
        own(
            out,
            p,
            "outlet_prometheus_series",
            "gauge",
            "Series this page holds now, router and l2met each at most windows.max_series.",
            &[
                (
                    Some(("kind", "router")),
                    state.series[Class::Router as usize] as f64,
                ),
                (
                    Some(("kind", "l2met")),
                    state.series[Class::L2met as usize] as f64,
                ),
            ],
        );
        own(
            out,
            p,
            "outlet_prometheus_held_bytes",
            "gauge",
            "Bytes of names, sources and bookkeeping this page holds, router and l2met each at most \
             windows.max_series x 512.",
            &[
                (Some(("kind", "router")), state.bytes[Class::Router as usize] as f64),
                (Some(("kind", "l2met")), state.bytes[Class::L2met as usize] as f64),
            ],
        );
        let r = state.refused;
        own(
            out,
            p,
            "outlet_prometheus_refused_series_total",
            "counter",
            "Flushed series this page did not take, by reason.",
            &[
                (Some(("reason", "collision")), r.collision as f64),
                (Some(("reason", "too_long")), r.too_long as f64),
                (Some(("reason", "series_cap")), r.series_cap as f64),
                (Some(("reason", "bytes_cap")), r.bytes_cap as f64),
            ],
        );
        own(
            out,
            p,
            "outlet_prometheus_left_off_series",
            "gauge",
            "Series left off this render because it reached its size limit.",
            &[(None, left_off as f64)],
        );
        let Some(outlets) = &self.outlets else { return };
        let o = outlets.snapshot();
        own(
            out,
            p,
            "outlet_flushes_total",
            "counter",
            "Flushes run.",
            &[(None, o.flushes as f64)],
        );
        if let Some(st) = o.statsd {
            let results = st.by_result();
            let samples: Vec<Labelled<'_>> = results
                .iter()
                .map(|(result, n)| (Some(("result", *result)), *n as f64))
                .collect();
            own(
                out,
                p,
                "outlet_statsd_lines_total",
                "counter",
                "statsd lines queued, dropped (queue full), skipped (not representable), sent, send_failed (socket error), unsent (left at shutdown).",
                &samples,
            );
            own(
                out,
                p,
                "outlet_statsd_queue_lines",
                "gauge",
                "statsd lines queued or being sent now.",
                &[(None, st.pending as f64)],
            );
            own(
                out,
                p,
                "outlet_statsd_queue_bytes",
                "gauge",
                "Bytes of statsd lines queued now.",
                &[(None, st.pending_bytes as f64)],
            );
            own(
                out,
                p,
                "outlet_statsd_datagrams_total",
                "counter",
                "statsd datagrams sent.",
                &[(None, st.datagrams as f64)],
            );
        }
        if let Some(l) = o.librato {
            own(
                out,
                p,
                "outlet_librato_batches_total",
                "counter",
                "Librato requests by what became of them.",
                &[
                    (Some(("result", "sent")), l.batches_sent as f64),
                    (Some(("result", "failed")), l.batches_failed as f64),
                    (Some(("result", "rejected")), l.batches_rejected as f64),
                    (Some(("result", "queue_dropped")), l.queue_dropped as f64),
                ],
            );
            own(
                out,
                p,
                "outlet_librato_gauges_sent_total",
                "counter",
                "Librato gauges delivered.",
                &[(None, l.gauges_sent as f64)],
            );
            own(
                out,
                p,
                "outlet_librato_retries_total",
                "counter",
                "Librato requests retried.",
                &[(None, l.retries as f64)],
            );
            own(
                out,
                p,
                "outlet_librato_late_skipped_total",
                "counter",
                "Late buckets not sent to Librato.",
                &[(None, l.late_skipped as f64)],
            );
            own(
                out,
                p,
                "outlet_librato_name_collisions_total",
                "counter",
                "Librato gauges not sent: an earlier gauge of the bucket had the same name and source.",
                &[(None, l.name_collisions as f64)],
            );
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}_{name}")
    }
}

fn family_bytes(name: &str, owner: &str) -> usize {
    name.len() + owner.len() + FAMILY_OVERHEAD
}

/// Series and bytes held, and the bounds on them.
struct Room {
    series: usize,
    bytes: usize,
    max_series: usize,
    max_bytes: usize,
}

impl Room {
    /// True when there is room for one more series costing `bytes`; else counts the refusal.
    fn fits(&self, bytes: usize, refused: &mut Refused) -> bool {
        if self.series >= self.max_series {
            refused.series_cap += 1;
            false
        } else if self.bytes.saturating_add(bytes) > self.max_bytes {
            refused.bytes_cap += 1;
            false
        } else {
            true
        }
    }
}

/// True when `name` is a family, or a name a summary family derives.
fn taken(families: &BTreeMap<Box<str>, Family>, name: &str) -> bool {
    families.contains_key(name)
        || SUMMARY_DERIVED.iter().any(|d| {
            name.strip_suffix(d)
                .and_then(|base| families.get(base))
                .is_some_and(|f| f.origin.kind() == Kind::Summary)
        })
}

/// True when a new family `name` of `kind` would need a name another family has.
fn conflicts(families: &BTreeMap<Box<str>, Family>, name: &str, kind: Kind) -> bool {
    taken(families, name)
        || (kind == Kind::Summary
            && SUMMARY_DERIVED
                .iter()
                .any(|d| taken(families, &format!("{name}{d}"))))
}

/// `# HELP` and `# TYPE` of a window family (`suffix` for a summary's derived gauges).
fn header(out: &mut String, name: &str, suffix: &str, f: &Family, kind: &str, what: &str) {
    let _ = write!(out, "# HELP {name}{suffix} {} ", f.origin.as_str());
    push_help(out, &f.owner);
    let _ = write!(out, ": {what}.\n# TYPE {name}{suffix} {kind}\n");
}

/// HELP text escaping: backslash and newline.
fn push_help(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// One sample line: `name{source="...",quantile="..."} value`.
fn sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    source: Option<&str>,
    quantile: Option<&str>,
    v: f64,
) {
    out.push_str(name);
    out.push_str(suffix);
    if source.is_some() || quantile.is_some() {
        out.push('{');
        if let Some(src) = source {
            out.push_str("source=\"");
            names::push_prometheus_label(out, src);
            out.push('"');
        }
        if let Some(q) = quantile {
            if source.is_some() {
                out.push(',');
            }
            out.push_str("quantile=\"");
            out.push_str(q);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    names::push_prometheus_number(out, v);
    out.push('\n');
}

type Labelled<'a> = (Option<(&'a str, &'a str)>, f64);

/// One of the page's own families (fixed names and label values).
fn own(out: &mut String, prefix: &str, name: &str, kind: &str, help: &str, samples: &[Labelled]) {
    let sep = if prefix.is_empty() { "" } else { "_" };
    let _ = writeln!(
        out,
        "# HELP {prefix}{sep}{name} {help}\n# TYPE {prefix}{sep}{name} {kind}"
    );
    for (label, v) in samples {
        let _ = write!(out, "{prefix}{sep}{name}");
        if let Some((k, val)) = label {
            let _ = write!(out, "{{{k}=\"{val}\"}}");
        }
        out.push(' ');
        names::push_prometheus_number(out, *v);
        out.push('\n');
    }
}

impl MetricsPage for PrometheusPage {
    fn render(&self, out: &mut String) {
        let mut state = self.state();
        let left_off = self.render_windows(&state, out);
        self.render_own(&state, left_off, out);
        self.take_waiting(&mut state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::{FlushedBucket, Store, WindowConfig};
    use std::time::Duration;

    const T0: i64 = 1_700_000_000_000_000;
    const SEC: i64 = 1_000_000;

    fn page(max_series: usize) -> PrometheusPage {
        let store = Arc::new(Store::new(WindowConfig {
            max_series,
            ..WindowConfig::default()
        }));
        PrometheusPage::new("ds", store, None)
    }

    fn flushed(start: i64, series: Vec<FlushedSeries>) -> Snapshot {
        Snapshot {
            resolution: Duration::from_secs(10),
            buckets: vec![FlushedBucket {
                start,
                late: false,
                series,
            }],
        }
    }

    fn one(name: &str, source: Option<&str>, value: FlushedValue) -> FlushedSeries {
        FlushedSeries {
            name: name.into(),
            source: source.map(Into::into),
            value,
        }
    }

    fn render(p: &PrometheusPage) -> String {
        let mut out = String::new();
        p.render(&mut out);
        out
    }

    fn held(p: &PrometheusPage) -> (usize, usize, Refused) {
        let s = p.state();
        let counted: usize = s.families.values().map(Family::len).sum();
        assert_eq!(counted, s.series[0] + s.series[1]);
        (s.series[1], s.bytes[1], s.refused)
    }

    #[test]
    fn state_stays_bounded_over_many_flushes_of_distinct_names() {
        let p = page(1_000);
        let long = "n".repeat(MAX_NAME_BYTES);
        for flush in 0..200i64 {
            let series = (0..500)
                .map(|i| {
                    let name = if i % 50 == 0 {
                        format!("{}{flush}.{i}", &long[..200])
                    } else {
                        format!("m{flush}.{i}")
                    };
                    one(&name, Some("web.1"), FlushedValue::Sample(i as f64))
                })
                .collect();
            // Every flush within the staleness delta: nothing goes stale, so only the bounds hold it.
            p.update(&flushed(T0 + flush * SEC, series));
            let (series, bytes, _) = held(&p);
            assert!(series <= 1_000, "flush {flush}: {series} series");
            assert!(
                bytes <= 1_000 * BYTES_PER_SERIES,
                "flush {flush}: {bytes} B"
            );
        }
        let (series, _, refused) = held(&p);
        assert_eq!(series, 1_000);
        assert_eq!(refused.series_cap + refused.bytes_cap, 200 * 500 - 1_000);
        let text = render(&p);
        assert!(
            text.contains("ds_outlet_prometheus_series{kind=\"l2met\"} 1000\n"),
            "{text}"
        );
        // Names over the limit are refused, not held.
        p.update(&flushed(
            T0 + 300 * SEC,
            vec![one(
                &"x".repeat(MAX_NAME_BYTES + 1),
                None,
                FlushedValue::Count(1.0),
            )],
        ));
        assert_eq!(held(&p).2.too_long, 1);
    }

    #[test]
    fn a_flood_of_app_names_leaves_room_for_router_series() {
        let p = page(10);
        let flood: Vec<_> = (0..50)
            .map(|i| one(&format!("app.router.x{i}"), None, FlushedValue::Count(1.0)))
            .chain((0..50).map(|i| one(&format!("n{i}"), None, FlushedValue::Count(1.0))))
            .collect();
        p.update(&flushed(T0, flood));
        p.update(&flushed(
            T0 + SEC,
            vec![
                one("router.status.404", None, FlushedValue::Count(2.0)),
                one(
                    "router.dyno.requests",
                    Some("web.9"),
                    FlushedValue::Count(2.0),
                ),
            ],
        ));
        let text = render(&p);
        assert!(text.contains("ds_router_status_404_total 2\n"), "{text}");
        assert!(text.contains("ds_router_dyno_requests_total{source=\"web.9\"} 2\n"));
        assert!(text.contains("ds_outlet_prometheus_series{kind=\"router\"} 2\n"));
        assert!(text.contains("ds_outlet_prometheus_series{kind=\"l2met\"} 10\n"));
        assert_eq!(held(&p).2.series_cap, 90);
    }

    #[test]
    fn a_flush_during_a_render_does_not_wait_for_it() {
        let p = Arc::new(page(10));
        let rendering = p.state(); // What a render holds while it writes.
        let (done, finished) = std::sync::mpsc::channel();
        let flusher = {
            let p = p.clone();
            std::thread::spawn(move || {
                for i in 0..MAX_WAITING {
                    p.update(&flushed(
                        T0 + i as i64 * SEC,
                        vec![one("jobs", None, FlushedValue::Count(1.0))],
                    ));
                }
                done.send(()).unwrap();
            })
        };
        // Received while the state is still held: the updates did not wait for it.
        finished
            .recv_timeout(Duration::from_secs(30))
            .expect("update waited for the render");
        assert_eq!(p.waiting().len(), MAX_WAITING);
        drop(rendering);
        flusher.join().unwrap();
        // The render takes them in when it ends: the next render shows them all.
        render(&p);
        assert!(p.waiting().is_empty());
        assert!(render(&p).contains(&format!("ds_jobs_total {MAX_WAITING}\n")));
    }

    #[test]
    fn stale_series_leave_and_free_their_room() {
        let p = page(10);
        let names: Vec<String> = (0..10).map(|i| format!("a{i}")).collect();
        let batch = |names: &[String]| {
            names
                .iter()
                .map(|n| one(n, None, FlushedValue::Sample(1.0)))
                .collect()
        };
        p.update(&flushed(T0, batch(&names)));
        assert_eq!(held(&p).0, 10);
        let later: Vec<String> = (0..10).map(|i| format!("b{i}")).collect();
        p.update(&flushed(T0 + STALE_AFTER + SEC, batch(&later)));
        // The a* gauges went stale after the b* were refused; the next flush takes the b*.
        assert_eq!(held(&p).0, 0);
        p.update(&flushed(T0 + STALE_AFTER + 2 * SEC, batch(&later)));
        assert_eq!(held(&p).0, 10);
        assert!(render(&p).contains("ds_b3 1\n"));
    }

    #[test]
    fn first_claimant_keeps_a_family_and_its_derived_names() {
        let p = page(100);
        let m = MeasureStats {
            count: 2,
            sum: 3.0,
            min: 1.0,
            max: 2.0,
            mean: 1.5,
            median: 1.0,
            p95: 2.0,
            p99: 2.0,
        };
        p.update(&flushed(
            T0,
            vec![
                one("x", None, FlushedValue::Measure(m)),
                one("x_min", None, FlushedValue::Sample(7.0)),
                one("x_count", None, FlushedValue::Sample(8.0)),
                one("x", None, FlushedValue::Sample(9.0)),
                one("y", None, FlushedValue::Count(1.0)),
                one("y_total", None, FlushedValue::Sample(2.0)),
                one("db.query", None, FlushedValue::Sample(1.0)),
                one("db-query", None, FlushedValue::Sample(2.0)),
                one("outlet.flushes", None, FlushedValue::Count(1.0)),
            ],
        ));
        let text = render(&p);
        for line in [
            "# TYPE ds_x summary",
            "ds_x{quantile=\"0.5\"} 1",
            "ds_x_sum 3",
            "ds_x_count 2",
            "ds_x_min 1",
            "ds_x_count_value 8",
            "ds_y_total 1",
            "ds_y_total_value 2",
            "ds_db_query 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
        }
        // x_min (sample), x (sample), db-query and outlet.flushes (the page's own family) refused.
        assert_eq!(held(&p).2.collision, 4);
        let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE")).collect();
        let mut unique = types.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(types.len(), unique.len(), "{text}");
    }

    #[test]
    fn render_size_is_bounded_and_left_off_series_counted() {
        let p = page(100_000);
        let source = "s".repeat(MAX_SOURCE_BYTES);
        let series: Vec<_> = (0..80_000)
            .map(|i| {
                one(
                    &format!("{}{i}", "n".repeat(200)),
                    Some(&source),
                    FlushedValue::Sample(1.0),
                )
            })
            .collect();
        p.update(&flushed(T0, series));
        let held_series = held(&p).0;
        let text = render(&p);
        assert!(text.len() < MAX_RENDER_BYTES + 64 * 1024, "{}", text.len());
        let left: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("ds_outlet_prometheus_left_off_series "))
            .unwrap()
            .parse()
            .unwrap();
        let shown = text.lines().filter(|l| l.starts_with("ds_n")).count();
        assert!(left > 0);
        assert_eq!(shown + left, held_series);
    }
}
