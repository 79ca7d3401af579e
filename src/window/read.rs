//! Answering the scaler's queries ([`WindowReader`]) from the store's buckets.
//!
//! Rates divide the events in the buckets from `floor(now - span)` on by the time from that bucket's start (or
//! the first bucket ever ingested, when the store is younger than the span) to now, at least one second.
//! Quantiles merge the sketches of those buckets. It only reads; the one thing it changes is the set of kept
//! names (a queried l2met name is kept for the whole retention from then on).

use super::bucket::Bucket;
use super::ddsketch::DdSketch;
use super::series::{split_key, write_key, MetricKind, SeriesAgg};
use super::store::{micros, now_micros, Inner, Store};
use super::{Query, ReadError, Reading, Signal, WindowReader};

impl Store {
    fn read_locked(&self, inner: &mut Inner, query: &Query, now: i64) -> Option<f64> {
        use Signal::*;
        let span = micros(query.span).max(1);
        let from = self.bucket_start(now.saturating_sub(span));
        let start = inner.first_bucket.map_or(from, |f| from.max(f));
        let seconds = now.saturating_sub(start).max(1_000_000) as f64 / 1e6;
        let buckets = inner.buckets.range(from..);
        let rate = |n: u64| Some(n as f64 / seconds);
        match &query.signal {
            RequestRate => rate(
                buckets
                    .filter_map(|(_, b)| b.router())
                    .map(|r| r.requests)
                    .sum(),
            ),
            StatusClassRate { class } => rate(
                buckets
                    .filter_map(|(_, b)| b.router())
                    .map(|r| r.class_count(*class))
                    .sum(),
            ),
            StatusRate { status } => rate(
                buckets
                    .filter_map(|(_, b)| b.router())
                    .map(|r| r.status_count(*status))
                    .sum(),
            ),
            ErrorRate { code } => rate(
                buckets
                    .filter_map(|(_, b)| b.router())
                    .map(|r| r.error_count(code.as_deref()))
                    .sum(),
            ),
            ServiceTime { quantile } | ConnectTime { quantile } => {
                let service = matches!(query.signal, ServiceTime { .. });
                let mut merged = DdSketch::new();
                for r in buckets.filter_map(|(_, b)| b.router()) {
                    merged.merge(if service { &r.service } else { &r.connect });
                }
                merged.quantile(*quantile)
            }
            Measure {
                name,
                quantile,
                source,
            } => {
                let mut merged = DdSketch::new();
                for_series(
                    buckets,
                    MetricKind::Measure,
                    name,
                    source.as_deref(),
                    |_, agg| {
                        if let SeriesAgg::Measure(s) = agg {
                            merged.merge(s);
                        }
                    },
                );
                merged.quantile(*quantile)
            }
            CountRate { name, source } => {
                let mut sum = 0.0;
                for_series(
                    buckets,
                    MetricKind::Count,
                    name,
                    source.as_deref(),
                    |_, agg| {
                        if let SeriesAgg::Count(n) = agg {
                            sum += n;
                        }
                    },
                );
                Some(sum / seconds)
            }
            Sample { name, source } => {
                // The newest value per source, then the max over sources.
                let mut latest: Vec<(Option<Box<str>>, f64, i64)> = Vec::new();
                for_series(
                    buckets,
                    MetricKind::Sample,
                    name,
                    source.as_deref(),
                    |src, agg| {
                        if let SeriesAgg::Sample { value, at } = agg {
                            match latest.iter_mut().find(|(s, _, _)| s.as_deref() == src) {
                                Some(entry) if *at >= entry.2 => {
                                    entry.1 = *value;
                                    entry.2 = *at;
                                }
                                Some(_) => {}
                                None => latest.push((src.map(Into::into), *value, *at)),
                            }
                        }
                    },
                );
                latest
                    .iter()
                    .map(|(_, v, _)| *v)
                    .filter(|v| !v.is_nan())
                    .reduce(f64::max)
            }
        }
    }

    /// Answers a query as of `now` (Unix micros). Reading an l2met name marks it kept (see [`Store::keep_name`]).
    pub fn read_at(&self, query: &Query, now: i64) -> Reading {
        let mut inner = self.lock();
        if let Signal::Measure { name, .. }
        | Signal::CountRate { name, .. }
        | Signal::Sample { name, .. } = &query.signal
        {
            if !inner.keep.contains(name.as_str()) {
                inner.keep.insert(name.as_str().into());
            }
        }
        let value = self.read_locked(&mut inner, query, now);
        Reading {
            value,
            last_ingest: inner.last_ingest,
        }
    }
}

/// Visits every aggregate of (kind, name[, source]) in `buckets`, with its source.
fn for_series<'a>(
    buckets: impl Iterator<Item = (&'a i64, &'a Bucket)>,
    kind: MetricKind,
    name: &str,
    source: Option<&str>,
    mut visit: impl FnMut(Option<&str>, &SeriesAgg),
) {
    let mut key = String::new();
    write_key(&mut key, kind, name, source);
    for (_, bucket) in buckets {
        if source.is_some() {
            bucket.series(&key).for_each(|agg| visit(source, agg));
            continue;
        }
        for half in [&bucket.retained, &bucket.pending] {
            for (k, agg) in &half.series {
                if let Some(parts) = split_key(k) {
                    if parts.kind == kind && parts.name == name {
                        visit(parts.source, agg);
                    }
                }
            }
        }
    }
}

impl WindowReader for Store {
    fn read(&self, query: &Query) -> Result<Reading, ReadError> {
        Ok(self.read_at(query, now_micros()))
    }
}
