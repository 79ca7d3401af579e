//! Rolling windows: events bucketed by their own timestamps, with mergeable sketches.
//!
//! The window store knows nothing of HTTP or of Heroku's API. It takes [`Event`]s in ([`EventSink`]), answers
//! the scaler's questions ([`WindowReader`]) and hands closed buckets to the outlets.

use crate::invalid::Invalid;
use crate::logplex::Event;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub mod bucket;
pub mod ddsketch;
pub mod fasthash;
pub mod flush;
pub mod hll;
mod read;
pub mod redis;
pub mod series;
pub mod store;

pub use flush::{FlushedBucket, FlushedSeries, FlushedValue, MeasureStats, Snapshot};
pub use store::{Store, StoreStats};

/// What the scaler (or a dashboard) can ask the windows for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "signal", deny_unknown_fields)]
pub enum Signal {
    /// Router requests per second.
    RequestRate,
    /// Router requests per second whose status is in a class: 2 for 2xx, 5 for 5xx.
    StatusClassRate { class: u8 },
    /// Router requests per second with one exact status code.
    StatusRate { status: u16 },
    /// Router `at=error` lines per second with one code (`H12`), or any code when `code` is absent.
    ErrorRate {
        #[serde(default)]
        code: Option<String>,
    },
    /// A quantile (0..=1) of router `service=` time, ms.
    ServiceTime { quantile: f64 },
    /// A quantile (0..=1) of router `connect=` time, ms.
    ConnectTime { quantile: f64 },
    /// A quantile (0..=1) of a `measure#name`, optionally for one source.
    Measure {
        name: String,
        quantile: f64,
        #[serde(default)]
        source: Option<String>,
    },
    /// `count#name` per second.
    CountRate {
        name: String,
        #[serde(default)]
        source: Option<String>,
    },
    /// The last `sample#name` value (the max over sources when `source` is absent).
    Sample {
        name: String,
        #[serde(default)]
        source: Option<String>,
    },
}

/// A question: one signal over the last `span` of retained buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub signal: Signal,
    pub span: Duration,
}

/// The answer to a [`Query`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// The value; `None` when the span held no data for this signal (for rates, no data reads as `Some(0.0)`).
    pub value: Option<f64>,
    /// Unix micros of the newest event the store ingested from any source, if any: lets a reader tell a quiet
    /// app from a drain that stopped receiving.
    pub last_ingest: Option<i64>,
}

/// Why a window could not be read (e.g. a remote store that is down). Never to be read as zero load.
#[derive(Debug, thiserror::Error)]
#[error("window store unavailable: {0}")]
pub struct ReadError(pub String);

/// The scaler's view of the windows.
pub trait WindowReader: Send + Sync {
    fn read(&self, query: &Query) -> Result<Reading, ReadError>;
}

/// What the store did with a batch of events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestCounts {
    pub accepted: u64,
    /// Older than the retention: dropped.
    pub too_old: u64,
    /// From the future (beyond a small skew): clamped to now and kept.
    pub future_clamped: u64,
    /// Refused because a cap on distinct metric names/sources was reached.
    pub over_cap: u64,
    /// Refused because the metric name or its `source=` is longer than the configured limit.
    pub too_long: u64,
    /// Refused because the store's memory budget (`windows.max_bytes`) was used up.
    pub over_bytes: u64,
}

impl IngestCounts {
    /// Adds `other`'s figures to these.
    pub fn add(&mut self, other: &IngestCounts) {
        self.accepted += other.accepted;
        self.too_old += other.too_old;
        self.future_clamped += other.future_clamped;
        self.over_cap += other.over_cap;
        self.too_long += other.too_long;
        self.over_bytes += other.over_bytes;
    }
}

/// What the outlets need of the windows: closed buckets to export, the windows' settings and running
/// figures for the Prometheus page. The in-memory [`Store`] is one; a shared store plugs in the same way.
pub trait WindowStore: Send + Sync {
    /// The windows' settings.
    fn config(&self) -> &WindowConfig;
    /// Running totals and sizes.
    fn stats(&self) -> StoreStats;
    /// Closed buckets not yet handed out, as of `now` (Unix micros).
    fn flush(&self, now: i64) -> Snapshot;
    /// Every bucket, open ones too (at shutdown).
    fn flush_all(&self, now: i64) -> Snapshot;
}

/// Where the drain puts parsed events. One call per body: a reader of the sink sees all of a body or none.
pub trait EventSink: Send + Sync {
    /// Ingests a body's events; it may wait (e.g. for a lock), so the drain calls it off its workers. `now` is
    /// the receiver's wall clock in Unix micros.
    fn ingest(&self, events: &mut dyn Iterator<Item = Event<'_>>, now: i64) -> IngestCounts;

    /// Ingests a parsed body if that needs no waiting; `None`, having taken nothing, when it would wait. The
    /// drain calls it on its worker and hands the body to its parse pool on `None`. The default never tries.
    fn try_ingest(&self, _events: &[Event<'_>], _now: i64) -> Option<IngestCounts> {
        None
    }
}

/// The `windows:` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowConfig {
    /// Bucket width (default 10s).
    #[serde(with = "crate::duration")]
    pub resolution: Duration,
    /// How long buckets are kept for the scaler's queries and for late data (default 10m).
    #[serde(with = "crate::duration")]
    pub retention: Duration,
    /// Cap on distinct metric series (name + source) held at once (default 10000). A series counts from its
    /// first event until its last bucket is flushed (export-only names) or leaves the retention (names the
    /// scaler reads). Events for new series past the cap are refused and counted in `over_cap`.
    pub max_series: usize,
    /// How long after a bucket's end it stays open for late events before the outlets flush it (default 2s).
    #[serde(with = "crate::duration")]
    pub grace: Duration,
    /// How far ahead of the receiver's clock an event's timestamp may be before it is clamped to now and
    /// counted in `future_clamped` (default 60s).
    #[serde(with = "crate::duration")]
    pub max_skew: Duration,
    /// Longest l2met metric name accepted, in bytes (default 255, Librato's limit). Longer names are refused
    /// and counted in `too_long`.
    pub max_name_bytes: usize,
    /// Longest `source=` accepted, in bytes (default 255). Longer sources are refused and counted in
    /// `too_long`.
    pub max_source_bytes: usize,
    /// Memory budget of the store's series data in bytes (keys, aggregates, sketch bins and distinct-count
    /// registers, as the store accounts them; default 96 MiB). Once used up, events that would need more
    /// (a new series in a bucket, a measure or unique that may grow its sketch) are refused and counted in
    /// `over_bytes` until a flush or the retention frees some. Router totals are always counted. The names the
    /// scaler reads (`keep` and queried names) may use a reserve of a quarter more, here and in `max_series`.
    pub max_bytes: usize,
    /// l2met metric names whose buckets are kept for the whole retention (for the scaler), on top of the
    /// router's. Names the scaler queries are added on their first query. Every other name is export-only:
    /// its buckets are dropped once flushed (default: empty).
    pub keep: Vec<String>,
}

impl WindowConfig {
    /// Checks values serde cannot: widths and their order. Keys are relative to the `windows:` section.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.resolution < Duration::from_millis(1) {
            return Err(Invalid::at("resolution", "must be at least 1ms"));
        }
        if self.retention < self.resolution {
            return Err(Invalid::at(
                "retention",
                format!(
                    "{} must be at least the resolution ({})",
                    crate::duration::format(self.retention),
                    crate::duration::format(self.resolution)
                ),
            ));
        }
        if self.max_series == 0 {
            return Err(Invalid::at("max_series", "must be at least 1"));
        }
        if self.max_name_bytes == 0 {
            return Err(Invalid::at("max_name_bytes", "must be at least 1"));
        }
        if self.max_source_bytes == 0 {
            return Err(Invalid::at("max_source_bytes", "must be at least 1"));
        }
        if self.max_bytes < 1 << 20 {
            return Err(Invalid::at("max_bytes", "must be at least 1048576 (1 MiB)"));
        }
        Ok(())
    }
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            resolution: Duration::from_secs(10),
            retention: Duration::from_secs(600),
            max_series: 10_000,
            max_name_bytes: 255,
            max_source_bytes: 255,
            max_bytes: 96 << 20,
            grace: Duration::from_secs(2),
            max_skew: Duration::from_secs(60),
            keep: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_from_yaml_with_defaults() {
        let cfg: WindowConfig =
            serde_yaml_ng::from_str("resolution: 5s\nkeep: [queue_time]\n").unwrap();
        assert_eq!(cfg.resolution, Duration::from_secs(5));
        assert_eq!(cfg.retention, Duration::from_secs(600));
        assert_eq!(cfg.grace, Duration::from_secs(2));
        assert_eq!(cfg.keep, vec!["queue_time".to_string()]);
        assert_eq!(cfg.validate(), Ok(()));
        assert!(serde_yaml_ng::from_str::<WindowConfig>("resolutoin: 5s").is_err());
    }

    #[test]
    fn validate_rejects_retention_below_resolution() {
        let cfg = WindowConfig {
            retention: Duration::from_secs(5),
            ..WindowConfig::default()
        };
        assert_eq!(cfg.validate().unwrap_err().key(), "retention");
    }
}
