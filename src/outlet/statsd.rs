//! The statsd outlet: flushed windows through the `metrics` facade and `metrics-exporter-statsd`.
//!
//! The recorder is never installed globally: each flush runs inside `metrics::with_local_recorder`, so several
//! outlets (and tests) can live in one process. The exporter formats each line and hands it to [`LineSink`],
//! which puts it in a [`LineQueue`] bounded by lines (`queue_size`) and bytes (`queue_bytes`): a line past
//! either bound is dropped and counted, nothing here waits. The [`PacedSender`]'s thread packs the queued lines
//! into datagrams of at most `max_packet` bytes and sends them at most `max_lines_per_second`, so a flush leaves
//! as a steady stream rather than one burst a receiver's socket buffer cannot hold. Every line the exporter
//! produces is counted exactly once as dropped, or queued and then sent, send_failed or unsent (see
//! [`StatsdStats`]). Per flushed series (`<base>` is `<prefix>.<name>`, plus `.<source>` when tags are `none`;
//! the name is used as the flush gives it): measure -> counter `<base>.count`, gauges
//! `<base>.{sum,min,max,mean,median,p95,p99}`; count -> counter `<base>`; sample and unique -> gauge `<base>`
//! (a negative gauge is preceded by a `0` line: statsd reads a sign as a change). Late re-flushes send their
//! counters only. Gauges from outside the windows ([`StatGauge`], the scaler's stats) are sent under the name
//! they carry, without the prefix. What a receiver drops cannot be seen from here: pacing is the remedy.

use super::config::{StatsdConfig, TagStyle};
use super::contract::{Outlet, OutletError, StatGauge};
use super::names;
use super::statsd_queue::LineQueue;
use super::statsd_sender::{Pace, PacedSender};
use super::totals::OutletTotals;
pub use super::totals::StatsdStats;
use crate::window::{FlushedValue, Snapshot};
use cadence::MetricSink;
use metrics_exporter_statsd::{StatsdBuilder, StatsdRecorder};
use std::future::Future;
use std::net::ToSocketAddrs;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The exporter's sink: every line it formats goes to the queue (or is refused and counted there).
struct LineSink {
    queue: Arc<LineQueue>,
}

impl MetricSink for LineSink {
    fn emit(&self, metric: &str) -> std::io::Result<usize> {
        if self.queue.push(metric) {
            Ok(metric.len())
        } else {
            Err(std::io::ErrorKind::WouldBlock.into())
        }
    }
}

/// A statsd client for flushed windows and the scaler's gauges.
pub struct StatsdOutlet {
    recorder: StatsdRecorder,
    queue: Arc<LineQueue>,
    sender: PacedSender,
    skipped: AtomicU64,
    tags: TagStyle,
    prefix: String,
    address: String,
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
        let queue = Arc::new(LineQueue::new(cfg.queue_size, cfg.queue_bytes));
        let pace = Pace {
            max_lines_per_second: cfg.max_lines_per_second,
            max_packet: cfg.max_packet.clamp(64, 65_507),
        };
        let sender = PacedSender::start(target, queue.clone(), pace)
            .map_err(|e| statsd_err(format!("udp socket: {e}")))?;
        // The prefix is added per name (window series get it, the scaler's stats carry their own).
        let recorder = Self::recorder(&queue).map_err(statsd_err)?;
        Ok(StatsdOutlet {
            recorder,
            queue,
            sender,
            skipped: AtomicU64::new(0),
            tags: cfg.tags,
            prefix: cfg.prefix.clone(),
            address: cfg.address.clone(),
        })
    }

    fn recorder(queue: &Arc<LineQueue>) -> Result<StatsdRecorder, String> {
        let sink = LineSink {
            queue: queue.clone(),
        };
        StatsdBuilder::from("", 0)
            .with_sink(sink)
            .build(None)
            .map_err(|e| e.to_string())
    }

    /// A second recorder over the same queue and sender, for `metrics::set_global_recorder`: any
    /// `metrics::gauge!`/`counter!` in the process (the scaler's stats reporter) then reaches this statsd,
    /// names as given, counted with this outlet's lines.
    pub fn global_recorder(&self) -> Result<StatsdRecorder, OutletError> {
        Self::recorder(&self.queue).map_err(|reason| OutletError::Statsd {
            address: self.address.clone(),
            reason,
        })
    }

    pub fn stats(&self) -> StatsdStats {
        let c = self.sender.counts();
        // Read the sender's counts before the queue's, so `pending` never goes negative.
        let (sent, send_failed, unsent, datagrams) =
            (c.sent(), c.send_failed(), c.unsent(), c.datagrams());
        let queued = self.queue.accepted();
        StatsdStats {
            queued,
            dropped: self.queue.refused(),
            skipped: self.skipped.load(Ordering::Relaxed),
            sent,
            send_failed,
            unsent,
            pending: queued.saturating_sub(sent + send_failed + unsent),
            pending_bytes: self.queue.bytes() as u64,
            datagrams,
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

    /// A gauge line. statsd reads a leading sign as a change to the gauge, so a negative value is sent as
    /// `0` then the value (two lines, in this order); `-0` is sent as `0`.
    fn gauge(&self, name: String, source: &Option<String>, value: f64) {
        if !value.is_finite() {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let gauge = match source {
            Some(src) => metrics::gauge!(name, "source" => src.clone()),
            None => metrics::gauge!(name),
        };
        if value < 0.0 {
            gauge.set(0.0);
            gauge.set(value);
        } else {
            gauge.set(value.abs());
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
                                    self.gauge(format!("{base}.{field}"), &tag, *v);
                                }
                            }
                        }
                        FlushedValue::Count(n) => self.counter(base, &tag, *n),
                        FlushedValue::Sample(v) if !bucket.late => self.gauge(base, &tag, *v),
                        FlushedValue::Unique(n) if !bucket.late => {
                            self.gauge(base, &tag, *n as f64)
                        }
                        _ => {}
                    }
                }
            }
        });
        self.queue.commit();
    }

    /// Queues gauges from outside the windows, named as given (no prefix added). Never blocks.
    pub fn send_gauges(&self, gauges: &[StatGauge]) {
        metrics::with_local_recorder(&self.recorder, || {
            for g in gauges {
                let (base, tag) = self.base("", &g.name, g.source.as_deref());
                self.gauge(base, &tag, g.value);
            }
        });
        self.queue.commit();
    }

    /// Waits (asynchronously, at most `max_wait`) for every queued line to be sent, then stops the sender:
    /// lines still queued are counted `unsent`, later lines `dropped`.
    pub async fn shutdown(&self, max_wait: Duration) {
        self.sender.shutdown(max_wait).await;
    }
}

impl Outlet for StatsdOutlet {
    fn send_snapshot(&self, snapshot: &Snapshot) {
        StatsdOutlet::send_snapshot(self, snapshot)
    }
    fn heavy(&self) -> bool {
        true
    }
    fn send_gauges(&self, gauges: &[StatGauge], _now_secs: i64) {
        StatsdOutlet::send_gauges(self, gauges)
    }
    fn shutdown(&self, deadline: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(StatsdOutlet::shutdown(self, deadline))
    }
    fn totals(&self) -> OutletTotals {
        OutletTotals::Statsd(self.stats())
    }
}
