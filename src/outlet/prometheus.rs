//! Prometheus text of the windows, appended to the drain's own `/metrics` through [`MetricsPage`].
//!
//! The page remembers what the flushes produced: gauges show each series' most recent flushed bucket (measures
//! as `<p>_<name>{quantile="0.5|0.95|0.99"}` plus `_min`, `_max`, `_mean`, `_sum`, `_count`; samples and uniques
//! as `<p>_<name>`), counts become cumulative counters `<p>_<name>_total`. A gauge disappears after
//! [`STALE_AFTER`] without data; a counter once it has had no data for the window retention. It also renders the
//! store's and the outlets' own counters. It does not read the windows' sketches itself.

use super::names;
use super::run::OutletStatsSource;
use crate::drain::MetricsPage;
use crate::window::{FlushedValue, MeasureStats, Snapshot, Store};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::{Arc, Mutex};

/// How long a gauge stays on the page without new data (Prometheus' own staleness delta).
pub const STALE_AFTER: i64 = 300 * 1_000_000;

type SeriesId = (String, Option<String>);

enum Last {
    Measure(MeasureStats),
    Gauge(f64),
}

#[derive(Default)]
struct State {
    gauges: HashMap<SeriesId, (Last, i64)>,
    totals: HashMap<SeriesId, (f64, i64)>,
    newest: i64,
}

/// The windows' Prometheus text. Share it as `Arc<PrometheusPage>`; [`crate::outlet::Outlets`] updates it.
pub struct PrometheusPage {
    prefix: String,
    store: Arc<Store>,
    outlets: Option<Arc<OutletStatsSource>>,
    state: Mutex<State>,
}

impl PrometheusPage {
    pub fn new(
        prefix: &str,
        store: Arc<Store>,
        outlets: Option<Arc<OutletStatsSource>>,
    ) -> PrometheusPage {
        PrometheusPage {
            prefix: prefix.to_owned(),
            store,
            outlets,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes in a flush's numbers.
    pub fn update(&self, snapshot: &Snapshot) {
        let retention =
            i64::try_from(self.store.config().retention.as_micros()).unwrap_or(i64::MAX);
        let mut state = self.state();
        for bucket in &snapshot.buckets {
            state.newest = state.newest.max(bucket.start);
            for s in &bucket.series {
                let id = (s.name.clone(), s.source.clone());
                let last = match &s.value {
                    FlushedValue::Count(n) => {
                        let entry = state.totals.entry(id).or_insert((0.0, bucket.start));
                        entry.0 += n;
                        entry.1 = entry.1.max(bucket.start);
                        continue;
                    }
                    FlushedValue::Measure(m) => Last::Measure(*m),
                    FlushedValue::Sample(v) => Last::Gauge(*v),
                    FlushedValue::Unique(n) => Last::Gauge(*n as f64),
                };
                if bucket.late {
                    continue;
                }
                match state.gauges.get(&id) {
                    Some((_, at)) if *at > bucket.start => {}
                    _ => {
                        state.gauges.insert(id, (last, bucket.start));
                    }
                }
            }
        }
        let newest = state.newest;
        state
            .gauges
            .retain(|_, (_, at)| newest - *at <= STALE_AFTER);
        state.totals.retain(|_, (_, at)| newest - *at <= retention);
    }

    fn family(&self, name: &str, suffix: &str) -> String {
        names::prometheus(&format!("{}_{}{}", self.prefix, name, suffix))
    }

    fn render_windows(&self, families: &mut Families) {
        let state = self.state();
        for ((name, source), (last, _)) in &state.gauges {
            let src = source.as_deref();
            match last {
                Last::Gauge(v) => families.add(self.family(name, ""), "gauge", src, None, *v),
                Last::Measure(m) => {
                    let base = self.family(name, "");
                    for (q, v) in [("0.5", m.median), ("0.95", m.p95), ("0.99", m.p99)] {
                        families.add(base.clone(), "gauge", src, Some(("quantile", q)), v);
                    }
                    for (field, v) in [
                        ("min", m.min),
                        ("max", m.max),
                        ("mean", m.mean),
                        ("sum", m.sum),
                    ] {
                        families.add(
                            self.family(name, &format!("_{field}")),
                            "gauge",
                            src,
                            None,
                            v,
                        );
                    }
                    families.add(
                        self.family(name, "_count"),
                        "gauge",
                        src,
                        None,
                        m.count as f64,
                    );
                }
            }
        }
        for ((name, source), (total, _)) in &state.totals {
            families.add(
                self.family(name, "_total"),
                "counter",
                source.as_deref(),
                None,
                *total,
            );
        }
    }

    fn render_own(&self, families: &mut Families) {
        let s = self.store.stats();
        // What the store did with each event is on the drain's page (`drainscale_drain_ingested_events_total`).
        families.add(
            self.family("window_late_after_flush", "_total"),
            "counter",
            None,
            None,
            s.late_after_flush as f64,
        );
        families.add(
            self.family("logplex_dropped_messages", "_total"),
            "counter",
            None,
            None,
            s.logplex_dropped as f64,
        );
        families.add(
            self.family("window_series", ""),
            "gauge",
            None,
            None,
            s.series as f64,
        );
        families.add(
            self.family("window_buckets", ""),
            "gauge",
            None,
            None,
            s.buckets as f64,
        );
        let Some(outlets) = &self.outlets else { return };
        let o = outlets.snapshot();
        families.add(
            self.family("outlet_flushes", "_total"),
            "counter",
            None,
            None,
            o.flushes as f64,
        );
        if let Some(st) = o.statsd {
            let lines = self.family("outlet_statsd_lines", "_total");
            for (result, n) in st.by_result() {
                families.add(
                    lines.clone(),
                    "counter",
                    None,
                    Some(("result", result)),
                    n as f64,
                );
            }
            families.add(
                self.family("outlet_statsd_queue_lines", ""),
                "gauge",
                None,
                None,
                st.pending as f64,
            );
            families.add(
                self.family("outlet_statsd_queue_bytes", ""),
                "gauge",
                None,
                None,
                st.pending_bytes as f64,
            );
            families.add(
                self.family("outlet_statsd_datagrams", "_total"),
                "counter",
                None,
                None,
                st.datagrams as f64,
            );
        }
        if let Some(l) = o.librato {
            let batches = self.family("outlet_librato_batches", "_total");
            for (result, n) in [
                ("sent", l.batches_sent),
                ("failed", l.batches_failed),
                ("rejected", l.batches_rejected),
                ("queue_dropped", l.queue_dropped),
            ] {
                families.add(
                    batches.clone(),
                    "counter",
                    None,
                    Some(("result", result)),
                    n as f64,
                );
            }
            families.add(
                self.family("outlet_librato_gauges_sent", "_total"),
                "counter",
                None,
                None,
                l.gauges_sent as f64,
            );
            families.add(
                self.family("outlet_librato_retries", "_total"),
                "counter",
                None,
                None,
                l.retries as f64,
            );
            families.add(
                self.family("outlet_librato_late_skipped", "_total"),
                "counter",
                None,
                None,
                l.late_skipped as f64,
            );
        }
    }
}

/// Samples grouped by family so each `# TYPE` line appears once; a family name claimed by two types keeps the
/// first.
#[derive(Default)]
struct Families {
    by_name: BTreeMap<String, (&'static str, Vec<String>)>,
}

impl Families {
    fn add(
        &mut self,
        family: String,
        kind: &'static str,
        source: Option<&str>,
        extra: Option<(&str, &str)>,
        v: f64,
    ) {
        let entry = self
            .by_name
            .entry(family.clone())
            .or_insert((kind, Vec::new()));
        if entry.0 != kind {
            return;
        }
        let mut labels = Vec::new();
        if let Some(src) = source {
            labels.push(format!("source=\"{}\"", names::prometheus_label(src)));
        }
        if let Some((k, val)) = extra {
            labels.push(format!("{k}=\"{}\"", names::prometheus_label(val)));
        }
        let labels = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", labels.join(","))
        };
        entry.1.push(format!("{family}{labels} {}", number(v)));
    }

    fn write(mut self, out: &mut String) {
        for (family, (kind, lines)) in &mut self.by_name {
            lines.sort();
            let _ = writeln!(out, "# TYPE {family} {kind}");
            for line in lines.iter() {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

impl MetricsPage for PrometheusPage {
    fn render(&self, out: &mut String) {
        let mut families = Families::default();
        self.render_windows(&mut families);
        self.render_own(&mut families);
        families.write(out);
    }
}
