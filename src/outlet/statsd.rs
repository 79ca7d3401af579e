//! The statsd outlet: flushed windows through the `metrics` facade and `metrics-exporter-statsd`.
//!
//! The recorder is never installed globally: each flush runs inside `metrics::with_local_recorder`, so several
//! outlets (and tests) can live in one process. Lines go to a bounded cadence queue (size set explicitly; the
//! exporter's default is 256) drained by cadence's own thread into a UDP socket that packs lines up to
//! `max_packet` bytes per datagram. A full queue drops lines and counts them; nothing here ever waits on the
//! network. Per flushed series (`<base>` is `<prefix>.<name>`, plus `.<source>` when tags are `none`):
//! measure -> counter `<base>.count`, gauges `<base>.{sum,min,max,mean,median,p95,p99}`; count -> counter
//! `<base>`; sample and unique -> gauge `<base>`. Late re-flushes send their counters only. Gauges from outside
//! the windows ([`StatGauge`], the scaler's stats) are sent under the name they carry, without the prefix.

use super::config::{StatsdConfig, TagStyle};
use super::names;
use super::run::{OutletError, StatGauge};
use crate::window::{FlushedValue, Snapshot};
use cadence::{BufferedUdpMetricSink, MetricSink, QueuingMetricSink};
use metrics_exporter_statsd::{StatsdBuilder, StatsdRecorder};
use std::net::{ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts lines the queue refused, then passes everything on.
struct CountingSink {
    inner: Arc<QueuingMetricSink>,
    dropped: Arc<AtomicU64>,
}

impl MetricSink for CountingSink {
    fn emit(&self, metric: &str) -> std::io::Result<usize> {
        let sent = self.inner.emit(metric);
        if sent.is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    fn flush(&self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A statsd client for flushed windows and the scaler's gauges.
pub struct StatsdOutlet {
    recorder: StatsdRecorder,
    sink: Arc<QueuingMetricSink>,
    dropped: Arc<AtomicU64>,
    skipped: AtomicU64,
    tags: TagStyle,
    prefix: String,
    address: String,
}

/// Running totals of the statsd outlet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsdStats {
    /// Lines accepted by the queue.
    pub queued: u64,
    /// Lines dropped because the queue was full.
    pub dropped: u64,
    /// Counter values statsd cannot carry (negative count sums), not sent.
    pub skipped: u64,
}

impl StatsdOutlet {
    pub fn new(cfg: &StatsdConfig) -> Result<StatsdOutlet, OutletError> {
        let statsd_err = |e: String| OutletError::Statsd {
            address: cfg.address.clone(),
            reason: e,
        };
        let target = cfg
            .address
            .to_socket_addrs()
            .map_err(|e| statsd_err(e.to_string()))?
            .next()
            .ok_or_else(|| statsd_err("resolves to no address".into()))?;
        let local = if target.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        };
        let socket =
            UdpSocket::bind(local).map_err(|e| statsd_err(format!("bind {local}: {e}")))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| statsd_err(e.to_string()))?;
        let udp = BufferedUdpMetricSink::with_capacity(target, socket, cfg.max_packet.max(64))
            .map_err(|e| statsd_err(e.to_string()))?;
        let sink = Arc::new(QueuingMetricSink::with_capacity(udp, cfg.queue_size.max(1)));
        let dropped = Arc::new(AtomicU64::new(0));
        let counting = CountingSink {
            inner: sink.clone(),
            dropped: dropped.clone(),
        };
        // The prefix is added per name (window series get it, the scaler's stats carry their own).
        let recorder = StatsdBuilder::from("", 0)
            .with_sink(counting)
            .build(None)
            .map_err(|e| statsd_err(e.to_string()))?;
        Ok(StatsdOutlet {
            recorder,
            sink,
            dropped,
            skipped: AtomicU64::new(0),
            tags: cfg.tags,
            prefix: cfg.prefix.clone(),
            address: cfg.address.clone(),
        })
    }

    /// A second recorder over the same queue and socket, for `metrics::set_global_recorder`: any
    /// `metrics::gauge!`/`counter!` in the process (the scaler's stats reporter) then reaches this statsd,
    /// names as given, counted with this outlet's lines.
    pub fn global_recorder(&self) -> Result<StatsdRecorder, OutletError> {
        let counting = CountingSink {
            inner: self.sink.clone(),
            dropped: self.dropped.clone(),
        };
        StatsdBuilder::from("", 0)
            .with_sink(counting)
            .build(None)
            .map_err(|e| OutletError::Statsd {
                address: self.address.clone(),
                reason: e.to_string(),
            })
    }

    pub fn stats(&self) -> StatsdStats {
        StatsdStats {
            queued: self.sink.submitted(),
            dropped: self.dropped.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
        }
    }

    /// The full name (`prefix` + name) and the source tag, per the tag style.
    fn base(&self, prefix: &str, name: &str, source: Option<&str>) -> (String, Option<String>) {
        let name = names::prefixed(prefix, '.', &names::statsd(name));
        match (self.tags, source) {
            (TagStyle::None, Some(src)) => (format!("{name}.{}", names::statsd(src)), None),
            (TagStyle::Dogstatsd, Some(src)) => (name, Some(names::statsd_tag(src))),
            (_, None) => (name, None),
        }
    }

    fn gauge(name: String, source: &Option<String>, value: f64) {
        match source {
            Some(src) => metrics::gauge!(name, "source" => src.clone()).set(value),
            None => metrics::gauge!(name).set(value),
        }
    }

    fn counter(&self, name: String, source: &Option<String>, value: f64) {
        if !(value >= 0.0 && value.is_finite()) {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let n = value.round() as u64;
        match source {
            Some(src) => metrics::counter!(name, "source" => src.clone()).increment(n),
            None => metrics::counter!(name).increment(n),
        }
    }

    /// Queues a snapshot's lines. Never blocks.
    pub fn send_snapshot(&self, snapshot: &Snapshot) {
        metrics::with_local_recorder(&self.recorder, || {
            for bucket in &snapshot.buckets {
                for s in &bucket.series {
                    let (base, tag) = self.base(&self.prefix, &s.name, s.source.as_deref());
                    match &s.value {
                        FlushedValue::Measure(m) => {
                            self.counter(format!("{base}.count"), &tag, m.count as f64);
                            if !bucket.late {
                                for (field, v) in &m.fields()[1..] {
                                    Self::gauge(format!("{base}.{field}"), &tag, *v);
                                }
                            }
                        }
                        FlushedValue::Count(n) => self.counter(base, &tag, *n),
                        FlushedValue::Sample(v) if !bucket.late => Self::gauge(base, &tag, *v),
                        FlushedValue::Unique(n) if !bucket.late => {
                            Self::gauge(base, &tag, *n as f64)
                        }
                        _ => {}
                    }
                }
            }
        });
    }

    /// Queues gauges from outside the windows, named as given (no prefix added). Never blocks.
    pub fn send_gauges(&self, gauges: &[StatGauge]) {
        metrics::with_local_recorder(&self.recorder, || {
            for g in gauges {
                let (base, tag) = self.base("", &g.name, g.source.as_deref());
                Self::gauge(base, &tag, g.value);
            }
        });
    }

    /// Waits (asynchronously, at most `max_wait`) for the queue to drain, then sends the partly filled datagram.
    pub async fn flush(&self, max_wait: Duration) {
        let deadline = Instant::now() + max_wait;
        while self.sink.queued() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // `queued` reaches 0 just before cadence's thread writes the last line: give it a moment.
        tokio::time::sleep(Duration::from_millis(5)).await;
        if let Err(e) = self.sink.flush() {
            tracing::debug!(error = %e, "statsd flush");
        }
    }
}
