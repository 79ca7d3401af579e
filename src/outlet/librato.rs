//! The Librato-format HTTP outlet: `POST <url>` (`/v1/metrics`) with Basic auth and a JSON body of gauges,
//! each with `name`, `value`, `source` (when the series has one) and `measure_time` (the bucket start, Unix
//! seconds), at most `batch_size` (<= 300) per request.
//!
//! The flush task only encodes and pushes batches into a bounded drop-oldest queue; one sender task posts them.
//! 2xx is delivered; 429, 5xx and network errors are retried with exponential backoff and jitter (honouring
//! `Retry-After`, capped at `max_backoff`) up to `max_retries`, by the same loop as the Heroku backend's
//! ([`crate::retry`]), then dropped and counted; other 4xx are
//! permanent and dropped at once. Late re-flushes are not sent: Librato keys a measurement by its time, and a
//! late-only point would replace the complete one. Names are as flushed (app names under a reserved first
//! segment already renamed `app.<name>` by the flush); when two series of one bucket still give the same gauge
//! name and source (a sample `x.count` beside a measure `x`, names that differ only in characters Librato does
//! not take), the first is sent and the rest counted (`name_collisions`). Nothing here aggregates.

use super::config::LibratoConfig;
use super::contract::{Outlet, OutletError, StatGauge};
use super::names;
use super::queue::DropOldest;
use super::totals::{LibratoTotals, OutletTotals};
use crate::retry::{retry_after, Attempt, Backoff, GaveUp, Landed};
use crate::window::{FlushedValue, Snapshot};
use serde::Serialize;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Librato's limit of measurements per request.
pub const MAX_BATCH: usize = 300;

/// One gauge measurement as Librato's legacy API takes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gauge {
    pub name: String,
    pub value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub measure_time: i64,
}

#[derive(Serialize)]
struct Body<'a> {
    gauges: &'a [Gauge],
}

/// Running totals of the Librato outlet.
#[derive(Debug, Default)]
pub struct LibratoStats {
    /// Requests answered 2xx.
    pub batches_sent: AtomicU64,
    /// Gauges in those requests.
    pub gauges_sent: AtomicU64,
    /// Retries after 429, 5xx or a network error.
    pub retries: AtomicU64,
    /// Requests dropped after `max_retries`.
    pub batches_failed: AtomicU64,
    /// Requests refused with a 4xx other than 429 (bad auth, bad body): dropped.
    pub batches_rejected: AtomicU64,
    /// Flushed buckets not sent because they were late re-flushes.
    pub late_skipped: AtomicU64,
    /// Gauges not sent because an earlier gauge of the same bucket had the same name and source.
    pub name_collisions: AtomicU64,
}

/// Gauges for a snapshot: `<prefix>.<name>.<stat>` for measures, `<prefix>.<name>` for the rest.
pub fn gauges_of(snapshot: &Snapshot, prefix: &str, stats: &LibratoStats) -> Vec<Gauge> {
    let mut out = Vec::new();
    for bucket in &snapshot.buckets {
        if bucket.late {
            stats.late_skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let measure_time = bucket.start.div_euclid(1_000_000);
        let first = out.len();
        for s in &bucket.series {
            let base = names::librato(&names::prefixed(prefix, '.', &s.name));
            let source = s.source.as_deref().map(names::librato);
            let mut push = |name: String, value: f64| {
                if value.is_finite() {
                    out.push(Gauge {
                        name,
                        value,
                        source: source.clone(),
                        measure_time,
                    });
                }
            };
            match &s.value {
                FlushedValue::Measure(m) => {
                    for (field, v) in m.fields() {
                        push(format!("{base}.{field}"), v);
                    }
                }
                FlushedValue::Count(v) | FlushedValue::Sample(v) => push(base, *v),
                FlushedValue::Unique(n) => push(base, *n as f64),
            }
        }
        let mut seen = HashSet::with_capacity(out.len() - first);
        let mut i = first;
        out.retain(|g| {
            i += 1;
            i <= first || seen.insert((g.name.clone(), g.source.clone()))
        });
        let collisions = (i - first) - (out.len() - first);
        if collisions > 0 {
            stats
                .name_collisions
                .fetch_add(collisions as u64, Ordering::Relaxed);
        }
    }
    out
}

/// The Librato outlet: a queue of batches and the task that posts them.
pub struct LibratoOutlet {
    cfg: LibratoConfig,
    queue: Arc<DropOldest<Vec<Gauge>>>,
    stats: Arc<LibratoStats>,
    sender: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl LibratoOutlet {
    /// Starts the sender task (needs a tokio runtime).
    pub fn start(cfg: &LibratoConfig) -> Result<LibratoOutlet, OutletError> {
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .user_agent(concat!("drainscale/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OutletError::Librato {
                url: cfg.url.to_string(),
                reason: crate::secret::http_error(&e),
            })?;
        let queue = Arc::new(DropOldest::new(cfg.queue_size));
        let stats = Arc::new(LibratoStats::default());
        let sender = tokio::spawn(run(client, cfg.clone(), queue.clone(), stats.clone()));
        Ok(LibratoOutlet {
            cfg: cfg.clone(),
            queue,
            stats,
            sender: std::sync::Mutex::new(Some(sender)),
        })
    }

    pub fn stats(&self) -> &LibratoStats {
        &self.stats
    }

    /// Batches dropped because the queue was full.
    pub fn queue_dropped(&self) -> u64 {
        self.queue.dropped()
    }

    /// Splits gauges into batches and queues them. Never blocks.
    pub fn send(&self, gauges: Vec<Gauge>) {
        let size = self.cfg.batch_size.clamp(1, MAX_BATCH);
        let mut gauges = gauges.into_iter().peekable();
        while gauges.peek().is_some() {
            self.queue.push(gauges.by_ref().take(size).collect());
        }
    }

    pub fn send_snapshot(&self, snapshot: &Snapshot) {
        self.send(gauges_of(snapshot, &self.cfg.prefix, &self.stats));
    }

    /// Gauges from outside the windows (the scaler's stats), measured now, named as given (no prefix added).
    pub fn send_gauges(&self, gauges: &[StatGauge], now_secs: i64) {
        let out = gauges
            .iter()
            .filter(|g| g.value.is_finite())
            .map(|g| Gauge {
                name: names::librato(&g.name),
                value: g.value,
                source: g.source.as_deref().map(names::librato),
                measure_time: now_secs,
            })
            .collect();
        self.send(out);
    }

    /// Stops taking batches and waits up to `deadline` for the queue to be delivered. Returns the batches left
    /// undelivered.
    pub async fn shutdown(&self, deadline: Duration) -> usize {
        self.queue.close();
        let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(mut sender) = sender else {
            return self.queue.len();
        };
        match tokio::time::timeout(deadline, &mut sender).await {
            Ok(_) => 0,
            Err(_) => {
                sender.abort();
                let left = self.queue.len() + 1;
                tracing::warn!(
                    batches = left,
                    "librato: shutdown deadline passed, batches undelivered"
                );
                left
            }
        }
    }
}

async fn run(
    client: reqwest::Client,
    cfg: LibratoConfig,
    queue: Arc<DropOldest<Vec<Gauge>>>,
    stats: Arc<LibratoStats>,
) {
    while let Some(batch) = queue.pop().await {
        post_with_retries(&client, &cfg, &batch, &stats).await;
    }
}

/// Librato's retry schedule: `backoff * 2^attempt`, capped at `max_backoff`, with jitter, `max_retries` after
/// the first try.
pub fn backoff(cfg: &LibratoConfig) -> Backoff {
    Backoff {
        base: cfg.backoff,
        max: cfg.max_backoff,
        attempts: cfg.max_retries.saturating_add(1),
    }
}

/// Why a batch was not delivered for good: Librato refused it (a 4xx other than 429).
struct Refused {
    status: reqwest::StatusCode,
    body: String,
}

/// One POST of a batch, classified.
async fn post(
    client: &reqwest::Client,
    cfg: &LibratoConfig,
    batch: &[Gauge],
) -> Attempt<(), Refused> {
    let response = client
        .post(cfg.url.expose())
        .basic_auth(&cfg.user, Some(cfg.token.expose()))
        .json(&Body { gauges: batch })
        .send()
        .await;
    match response {
        Ok(r) if r.status().is_success() => Attempt::Done(()),
        Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => Attempt::Retry {
            why: "HTTP 429".into(),
            landed: Landed::No,
            wait: retry_after(r.headers()),
        },
        Ok(r) if r.status().is_client_error() => {
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            Attempt::Fail(Refused {
                status,
                body: body.chars().take(200).collect(),
            })
        }
        Ok(r) => Attempt::Retry {
            why: format!("HTTP {}", r.status()),
            landed: Landed::Maybe,
            wait: retry_after(r.headers()),
        },
        Err(e) => Attempt::Retry {
            why: crate::secret::http_error(&e),
            landed: Landed::Maybe,
            wait: None,
        },
    }
}

async fn post_with_retries(
    client: &reqwest::Client,
    cfg: &LibratoConfig,
    batch: &[Gauge],
    stats: &LibratoStats,
) {
    let plan = backoff(cfg);
    let outcome = plan
        .run(
            |_, _| post(client, cfg, batch),
            |attempt, why| {
                tracing::debug!(%why, attempt, "librato: will retry");
                if attempt + 1 < plan.attempts {
                    stats.retries.fetch_add(1, Ordering::Relaxed);
                }
            },
        )
        .await;
    match outcome {
        Ok(()) => {
            stats.batches_sent.fetch_add(1, Ordering::Relaxed);
            stats
                .gauges_sent
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
        }
        Err(GaveUp::Fail(Refused { status, body })) => {
            tracing::warn!(%status, %body, "librato: batch refused");
            stats.batches_rejected.fetch_add(1, Ordering::Relaxed);
        }
        Err(GaveUp::Exhausted { last, .. }) => {
            tracing::warn!(
                gauges = batch.len(),
                retries = cfg.max_retries,
                %last,
                "librato: batch dropped after retries"
            );
            stats.batches_failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Outlet for LibratoOutlet {
    fn send_snapshot(&self, snapshot: &Snapshot) {
        LibratoOutlet::send_snapshot(self, snapshot)
    }
    fn send_gauges(&self, gauges: &[StatGauge], now_secs: i64) {
        LibratoOutlet::send_gauges(self, gauges, now_secs)
    }
    fn shutdown(&self, deadline: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            LibratoOutlet::shutdown(self, deadline).await;
        })
    }
    fn totals(&self) -> OutletTotals {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let s = self.stats();
        OutletTotals::Librato(LibratoTotals {
            batches_sent: load(&s.batches_sent),
            gauges_sent: load(&s.gauges_sent),
            retries: load(&s.retries),
            batches_failed: load(&s.batches_failed),
            batches_rejected: load(&s.batches_rejected),
            queue_dropped: self.queue_dropped(),
            late_skipped: load(&s.late_skipped),
            name_collisions: load(&s.name_collisions),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::{FlushedBucket, FlushedSeries, MeasureStats};

    fn snapshot(late: bool) -> Snapshot {
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
        Snapshot {
            resolution: Duration::from_secs(10),
            buckets: vec![FlushedBucket {
                start: 1_700_000_000_000_000,
                late,
                series: vec![
                    FlushedSeries {
                        name: "db.query".into(),
                        source: Some("web 1".into()),
                        value: FlushedValue::Measure(m),
                    },
                    FlushedSeries {
                        name: "jobs".into(),
                        source: None,
                        value: FlushedValue::Count(4.0),
                    },
                ],
            }],
        }
    }

    #[test]
    fn measures_become_eight_gauges_with_source_and_time() {
        let stats = LibratoStats::default();
        let g = gauges_of(&snapshot(false), "ds", &stats);
        assert_eq!(g.len(), 9);
        assert_eq!(g[0].name, "ds.db.query.count");
        assert_eq!(g[7].name, "ds.db.query.p99");
        assert_eq!(g[0].source.as_deref(), Some("web_1"));
        assert_eq!(g[0].measure_time, 1_700_000_000);
        assert_eq!(
            g[8],
            Gauge {
                name: "ds.jobs".into(),
                value: 4.0,
                source: None,
                measure_time: 1_700_000_000
            }
        );
        let json = serde_json::to_value(Body { gauges: &g[8..] }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"gauges": [{"name": "ds.jobs", "value": 4.0, "measure_time": 1_700_000_000}]})
        );
    }

    #[test]
    fn a_gauge_name_claimed_twice_in_a_bucket_is_sent_once_and_counted() {
        let stats = LibratoStats::default();
        let mut snap = snapshot(false);
        let series = &mut snap.buckets[0].series;
        for (name, source) in [
            ("db.query.count", Some("web 1")),
            ("db.query.count", None),
            ("jobs", None),
            ("jo_bs", None),
            ("jo bs", None),
        ] {
            series.push(FlushedSeries {
                name: name.into(),
                source: source.map(Into::into),
                value: FlushedValue::Sample(7.0),
            });
        }
        let g = gauges_of(&snap, "ds", &stats);
        let count: Vec<_> = g.iter().filter(|g| g.name == "ds.db.query.count").collect();
        assert_eq!(count.len(), 2, "{g:?}");
        assert_eq!(count[0].value, 2.0);
        assert_eq!(count[0].source.as_deref(), Some("web_1"));
        assert_eq!(count[1].value, 7.0);
        assert_eq!(count[1].source, None);
        let jobs: Vec<_> = g.iter().filter(|g| g.name == "ds.jobs").collect();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].value, 4.0);
        assert_eq!(g.iter().filter(|g| g.name == "ds.jo_bs").count(), 1);
        assert_eq!(stats.name_collisions.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn late_buckets_are_skipped_and_counted() {
        let stats = LibratoStats::default();
        assert!(gauges_of(&snapshot(true), "", &stats).is_empty());
        assert_eq!(stats.late_skipped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn backoff_follows_the_config() {
        let cfg = LibratoConfig {
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
            max_retries: 5,
            ..LibratoConfig::default()
        };
        let b = backoff(&cfg);
        assert_eq!(b.attempts, 6);
        for attempt in 0..40 {
            let d = b.delay(attempt, None);
            let full = Duration::from_secs(1u64 << attempt.min(3));
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
    }
}
