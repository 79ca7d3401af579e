//! The in-memory window store: ingest ([`EventSink`]) and flushes for the outlets; queries are in `read.rs`.
//!
//! One `Mutex` guards every bucket; each body takes it once, for all its events (a reader never sees part of a
//! body), and the drain's worker only ever tries it ([`Store::try_ingest_at`]): a body that finds it held goes
//! to the drain's parse pool, which waits for it, so a long flush or query never stalls a connection. Buckets are keyed by
//! `floor(event timestamp / resolution)`; an event older than the retention is dropped and counted, one from
//! further in the future than `max_skew` is clamped to the receiver's clock and counted. Late events merge into
//! their bucket as long as it is retained. It is not an exporter: [`Store::flush`] hands closed buckets over as a
//! [`Snapshot`] and the outlets decide what to do with them.

use super::bucket::{Bucket, SERIES_ENTRY_BYTES};
use super::fasthash::FastSet;
use super::flush::{take_pending, Snapshot};
use super::series::{write_key, MetricKind, SeriesAgg, SeriesKey};
use super::{EventSink, IngestCounts, WindowConfig};
use crate::logplex::{Event, EventKind};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, MutexGuard, TryLockError};

/// Running totals since the store was created, for the drain's `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Every [`IngestCounts`] summed.
    pub ingest: IngestCounts,
    /// Messages logplex said it dropped (L10 notices).
    pub logplex_dropped: u64,
    /// Events that arrived for a bucket that had already been flushed (exported as a second data point).
    pub late_after_flush: u64,
    /// Distinct series held now.
    pub series: usize,
    /// Buckets held now.
    pub buckets: usize,
    /// Bytes of series data held now, as the store accounts them against `windows.max_bytes`.
    pub bytes: usize,
    /// Router keys (an exact status, an error code, a dyno) not kept because a per-bucket bound was reached
    /// or the key was out of range or too long; their lines still count in the totals.
    pub router_keys_refused: u64,
}

pub(super) struct Inner {
    pub(super) buckets: BTreeMap<i64, Bucket>,
    /// Every series key held by some bucket. A key whose only owner is this set is free to go.
    registry: FastSet<SeriesKey>,
    /// l2met names kept for the whole retention.
    pub(super) keep: HashSet<Box<str>>,
    pub(super) last_ingest: Option<i64>,
    /// The earliest bucket ever ingested: rates over a span longer than the store's history divide by the
    /// history, not the span.
    pub(super) first_bucket: Option<i64>,
    stats: StoreStats,
    key_buf: String,
    /// Bytes held, recounted at every flush and expiry and grown by ingestion in between.
    bytes: usize,
    /// First name segments reserved besides the drain's own (folded): app series starting so are exported
    /// under `app.`.
    reserved: Vec<Box<[u8]>>,
}

/// Heap bytes a registry key costs: the shared text with its reference counts, and the set's slot.
fn key_bytes(key: &SeriesKey) -> usize {
    key.heap_bytes() + std::mem::size_of::<SeriesKey>() + 1
}

/// Rolling windows in memory. Share it as `Arc<Store>`.
pub struct Store {
    cfg: WindowConfig,
    resolution: i64,
    retention: i64,
    grace: i64,
    max_skew: i64,
    inner: Mutex<Inner>,
}

pub(super) fn micros(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// The wall clock in Unix micros.
pub fn now_micros() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    micros(now)
}

impl Store {
    pub fn new(cfg: WindowConfig) -> Store {
        let resolution = micros(cfg.resolution).max(1_000);
        let keep = cfg.keep.iter().map(|n| n.as_str().into()).collect();
        Store {
            resolution,
            retention: micros(cfg.retention).max(resolution),
            grace: micros(cfg.grace),
            max_skew: micros(cfg.max_skew),
            inner: Mutex::new(Inner {
                buckets: BTreeMap::new(),
                registry: FastSet::default(),
                keep,
                last_ingest: None,
                first_bucket: None,
                stats: StoreStats::default(),
                key_buf: String::new(),
                bytes: 0,
                reserved: Vec::new(),
            }),
            cfg,
        }
    }

    pub fn config(&self) -> &WindowConfig {
        &self.cfg
    }

    /// Bucket width in micros.
    pub fn resolution_micros(&self) -> i64 {
        self.resolution
    }

    /// The start of the bucket holding `t` (Unix micros).
    pub fn bucket_start(&self, t: i64) -> i64 {
        t.div_euclid(self.resolution)
            .saturating_mul(self.resolution)
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves counters at worst half-updated; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Running totals.
    pub fn stats(&self) -> StoreStats {
        let inner = self.lock();
        StoreStats {
            series: inner.registry.len(),
            buckets: inner.buckets.len(),
            bytes: inner.bytes,
            ..inner.stats
        }
    }

    /// Marks an l2met name as read by the scaler: its buckets are kept for the whole retention from now on.
    pub fn keep_name(&self, name: &str) {
        let mut inner = self.lock();
        if !inner.keep.contains(name) {
            inner.keep.insert(name.into());
        }
    }

    /// Reserves a first name segment for the exports (the scaler's app name, which its stats are sent under):
    /// from the next flush on, an l2met name starting with it is exported as `app.<name>`, like the drain's
    /// own names. An empty or over-long segment is ignored.
    pub fn reserve_namespace(&self, segment: &str) {
        if let Some(folded) = super::flush::fold_segment(segment) {
            let mut inner = self.lock();
            if !inner.reserved.contains(&folded) {
                inner.reserved.push(folded);
            }
        }
    }

    /// Drops buckets that left the retention and the series no bucket holds any more.
    fn expire(&self, inner: &mut Inner, now: i64) {
        let oldest = self.bucket_start(now).saturating_sub(self.retention);
        if inner
            .buckets
            .first_key_value()
            .is_some_and(|(start, _)| *start < oldest)
        {
            inner.buckets = inner.buckets.split_off(&oldest);
            inner.registry.retain(|k| k.holders() > 1);
            recount(inner);
        }
    }

    /// Flushes every bucket closed at `now` (its end plus the grace has passed) that holds unflushed data.
    pub fn flush(&self, now: i64) -> Snapshot {
        self.flush_where(now, |start| {
            start
                .saturating_add(self.resolution)
                .saturating_add(self.grace)
                <= now
        })
    }

    /// Flushes every bucket with unflushed data, open or not (graceful shutdown).
    pub fn flush_all(&self, now: i64) -> Snapshot {
        self.flush_where(now, |_| true)
    }

    fn flush_where(&self, now: i64, closed: impl Fn(i64) -> bool) -> Snapshot {
        let mut inner = self.lock();
        self.expire(&mut inner, now);
        let Inner {
            buckets,
            keep,
            registry,
            reserved,
            ..
        } = &mut *inner;
        let mut snapshot = Snapshot {
            resolution: self.cfg.resolution,
            buckets: Vec::new(),
        };
        for (start, bucket) in buckets.iter_mut() {
            if !closed(*start) || bucket.pending.is_empty() {
                continue;
            }
            snapshot
                .buckets
                .push(take_pending(*start, bucket, keep, reserved));
        }
        registry.retain(|k| k.holders() > 1);
        recount(&mut inner);
        snapshot
    }

    /// Ingests events as received at `now` (Unix micros), under one hold of the lock: a reader sees all of
    /// them or none.
    pub fn ingest_at(&self, events: &mut dyn Iterator<Item = Event<'_>>, now: i64) -> IngestCounts {
        let mut inner = self.lock();
        self.ingest_locked(&mut inner, events, now)
    }

    /// [`Store::ingest_at`] for a parsed body, unless another thread holds the lock (a flush, a query, another
    /// body): then `None`, and nothing was taken. The drain calls it on its worker, so a body never waits there.
    pub fn try_ingest_at(&self, events: &[Event<'_>], now: i64) -> Option<IngestCounts> {
        let mut inner = match self.inner.try_lock() {
            Ok(inner) => inner,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        Some(self.ingest_locked(&mut inner, events.iter().copied(), now))
    }

    fn ingest_locked<'e>(
        &self,
        inner: &mut Inner,
        events: impl Iterator<Item = Event<'e>>,
        now: i64,
    ) -> IngestCounts {
        let mut counts = IngestCounts::default();
        self.expire(inner, now);
        let oldest = self.bucket_start(now).saturating_sub(self.retention);
        let max_series = self.cfg.max_series;
        let (max_name, max_source) = (self.cfg.max_name_bytes, self.cfg.max_source_bytes);
        let max_bytes = self.cfg.max_bytes;
        let Inner {
            buckets,
            registry,
            key_buf,
            stats,
            first_bucket,
            bytes,
            keep,
            ..
        } = inner;
        // The bucket of the previous event: a body's events mostly share one, so the map is searched only when
        // the bucket changes.
        let mut current: Option<(i64, &mut Bucket)> = None;
        for event in events {
            let mut ts = event.meta.timestamp;
            let (kind, name, source) = match &event.kind {
                EventKind::Line(_) => continue,
                EventKind::L10 { dropped } => {
                    stats.logplex_dropped = stats.logplex_dropped.saturating_add(*dropped);
                    continue;
                }
                EventKind::Router(_) => (None, "", None),
                EventKind::Measure(m) => (Some(MetricKind::Measure), m.name, m.source),
                EventKind::Count(m) => (Some(MetricKind::Count), m.name, m.source),
                EventKind::Sample(m) => (Some(MetricKind::Sample), m.name, m.source),
                EventKind::Unique(u) => (Some(MetricKind::Unique), u.name, u.source),
            };
            if name.len() > max_name || source.is_some_and(|s| s.len() > max_source) {
                counts.too_long += 1;
                continue;
            }
            if ts > now.saturating_add(self.max_skew) {
                ts = now;
                counts.future_clamped += 1;
            }
            let start = self.bucket_start(ts);
            if start < oldest {
                counts.too_old += 1;
                continue;
            }
            if current.as_ref().map(|(s, _)| *s) != Some(start) {
                *first_bucket = Some(first_bucket.map_or(start, |f| f.min(start)));
                current = Some((start, buckets.entry(start).or_default()));
            }
            let Some((_, bucket)) = current.as_mut() else {
                continue; // unreachable: just set
            };
            if bucket.flushed {
                stats.late_after_flush += 1;
            }
            let Some(kind) = kind else {
                if let EventKind::Router(r) = &event.kind {
                    // Bounded by count and key length per bucket (see `bucket.rs`), so never refused here.
                    stats.router_keys_refused += u64::from(bucket.pending.router_mut().add(r));
                }
                counts.accepted += 1;
                continue;
            };
            write_key(key_buf, kind, name, source);
            // The names the scaler reads have a reserve of a quarter more room, so junk cannot starve an input
            // (and a kept name with made-up sources cannot grow without bound either).
            let full = *bytes >= max_bytes
                && (*bytes >= max_bytes + max_bytes / 4 || !keep.contains(name));
            let agg = match bucket.pending.series.get_mut(key_buf.as_str()) {
                Some(agg) => agg,
                None if full => {
                    counts.over_bytes += 1;
                    continue;
                }
                None => {
                    let key = match registry.get(key_buf.as_str()) {
                        Some(key) => key.clone(),
                        None if registry.len() >= max_series
                            && (registry.len() >= max_series + max_series / 4
                                || !keep.contains(name)) =>
                        {
                            counts.over_cap += 1;
                            continue;
                        }
                        None => {
                            let key = SeriesKey::new(key_buf);
                            *bytes += key_bytes(&key);
                            registry.insert(key.clone());
                            key
                        }
                    };
                    let series = &mut bucket.pending.series;
                    let capacity = series.capacity();
                    series.reserve(1);
                    // The map's growth is charged when it happens (it doubles).
                    *bytes += (series.capacity() - capacity) * SERIES_ENTRY_BYTES;
                    series.entry(key).or_insert_with(|| SeriesAgg::empty(kind))
                }
            };
            match (&event.kind, agg) {
                (EventKind::Measure(_) | EventKind::Unique(_), _) if full => {
                    // Either may grow its bins or registers: refused while the budget is used up.
                    counts.over_bytes += 1;
                    continue;
                }
                (EventKind::Measure(m), SeriesAgg::Measure(s)) => {
                    *bytes = bytes.saturating_add_signed(s.add_counted(m.value))
                }
                (EventKind::Count(m), SeriesAgg::Count(sum)) => *sum += m.value,
                (EventKind::Sample(m), agg @ SeriesAgg::Sample { .. }) => {
                    agg.merge(&SeriesAgg::Sample {
                        value: m.value,
                        at: ts,
                    })
                }
                (EventKind::Unique(u), SeriesAgg::Unique(d)) => {
                    let before = d.heap_bytes();
                    d.insert(&u.member.unescape());
                    *bytes += d.heap_bytes().saturating_sub(before);
                }
                _ => {}
            }
            counts.accepted += 1;
        }
        inner.stats.ingest.add(&counts);
        inner.last_ingest = Some(inner.last_ingest.map_or(now, |l| l.max(now)));
        counts
    }
}

/// Recounts the bytes held: every bucket's halves plus the registry's keys. Run after flushes and expiry, which
/// free memory the ingest path does not track.
fn recount(inner: &mut Inner) {
    let buckets: usize = inner
        .buckets
        .values()
        .map(|b| b.pending.heap_bytes() + b.retained.heap_bytes())
        .sum();
    let keys: usize = inner.registry.iter().map(key_bytes).sum();
    inner.bytes = buckets + keys;
}

impl EventSink for Store {
    fn ingest(&self, events: &mut dyn Iterator<Item = Event<'_>>, now: i64) -> IngestCounts {
        self.ingest_at(events, now)
    }
    fn try_ingest(&self, events: &[Event<'_>], now: i64) -> Option<IngestCounts> {
        self.try_ingest_at(events, now)
    }
}

impl super::WindowStore for Store {
    fn config(&self) -> &WindowConfig {
        Store::config(self)
    }
    fn stats(&self) -> StoreStats {
        Store::stats(self)
    }
    fn flush(&self, now: i64) -> Snapshot {
        Store::flush(self, now)
    }
    fn flush_all(&self, now: i64) -> Snapshot {
        Store::flush_all(self, now)
    }
}
