//! The flush task that ties the store to the outlets, and the handle the binary keeps.
//!
//! Every `flush_interval` it takes the store's closed buckets and hands them to the Prometheus page, statsd and
//! Librato, none of which can block it (statsd is a bounded line queue drained by a paced sender thread, its
//! lines formatted on a blocking-pool thread; Librato a bounded drop-oldest queue with its own sender task). On shutdown it flushes EVERY bucket, open ones
//! included, then lets both outlets deliver, at once, within `shutdown_timeout`. It does not aggregate or encode
//! anything itself.

use super::config::OutletConfig;
use super::librato::LibratoOutlet;
use super::prometheus::PrometheusPage;
use super::statsd::{StatsdOutlet, StatsdStats};
use crate::window::store::now_micros;
use crate::window::{Snapshot, Store};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Why an outlet could not start.
#[derive(Debug, thiserror::Error)]
pub enum OutletError {
    #[error("statsd outlet to {address}: {reason}")]
    Statsd { address: String, reason: String },
    #[error("librato outlet to {url}: {reason}")]
    Librato { url: String, reason: String },
}

/// One gauge from outside the windows (the scaler's stats), optionally with a source. Its name is sent as given:
/// the scaler's stat names carry their own prefix (`dynosaur.<app>.<controller>...`).
#[derive(Debug, Clone, PartialEq)]
pub struct StatGauge {
    pub name: String,
    pub source: Option<String>,
    pub value: f64,
}

impl StatGauge {
    pub fn new(name: impl Into<String>, value: f64) -> StatGauge {
        StatGauge {
            name: name.into(),
            source: None,
            value,
        }
    }
}

/// The Librato outlet's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LibratoTotals {
    pub batches_sent: u64,
    pub gauges_sent: u64,
    pub retries: u64,
    pub batches_failed: u64,
    pub batches_rejected: u64,
    pub queue_dropped: u64,
    pub late_skipped: u64,
    pub name_collisions: u64,
}

/// Every outlet's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutletStats {
    /// Flushes run (ticks plus the final one).
    pub flushes: u64,
    pub statsd: Option<StatsdStats>,
    pub librato: Option<LibratoTotals>,
}

/// Where the Prometheus page and the handle read the outlets' totals.
pub struct OutletStatsSource {
    flushes: AtomicU64,
    statsd: Option<Arc<StatsdOutlet>>,
    librato: Option<Arc<LibratoOutlet>>,
}

impl OutletStatsSource {
    pub fn snapshot(&self) -> OutletStats {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        OutletStats {
            flushes: load(&self.flushes),
            statsd: self.statsd.as_ref().map(|s| s.stats()),
            librato: self.librato.as_ref().map(|l| {
                let s = l.stats();
                LibratoTotals {
                    batches_sent: load(&s.batches_sent),
                    gauges_sent: load(&s.gauges_sent),
                    retries: load(&s.retries),
                    batches_failed: load(&s.batches_failed),
                    batches_rejected: load(&s.batches_rejected),
                    queue_dropped: l.queue_dropped(),
                    late_skipped: load(&s.late_skipped),
                    name_collisions: load(&s.name_collisions),
                }
            }),
        }
    }
}

/// Sends gauges from outside the windows (the scaler's stats) to statsd and Librato. Cheap to clone; never
/// blocks.
#[derive(Clone)]
pub struct StatsSender {
    statsd: Option<Arc<StatsdOutlet>>,
    librato: Option<Arc<LibratoOutlet>>,
}

impl StatsSender {
    pub fn gauges(&self, gauges: &[StatGauge]) {
        if let Some(s) = &self.statsd {
            s.send_gauges(gauges);
        }
        if let Some(l) = &self.librato {
            l.send_gauges(gauges, now_micros().div_euclid(1_000_000));
        }
    }
}

/// Entry point: see [`Outlets::start`].
pub struct Outlets;

struct FlushLoop {
    store: Arc<Store>,
    page: Option<Arc<PrometheusPage>>,
    source: Arc<OutletStatsSource>,
    interval: Duration,
    shutdown_timeout: Duration,
}

impl Outlets {
    /// Starts the configured outlets and the flush task (call inside a tokio runtime).
    pub fn start(cfg: &OutletConfig, store: Arc<Store>) -> Result<OutletsHandle, OutletError> {
        let statsd = cfg
            .statsd
            .as_ref()
            .map(StatsdOutlet::new)
            .transpose()?
            .map(Arc::new);
        let librato = cfg
            .librato
            .as_ref()
            .map(LibratoOutlet::start)
            .transpose()?
            .map(Arc::new);
        let source = Arc::new(OutletStatsSource {
            flushes: AtomicU64::new(0),
            statsd,
            librato,
        });
        let page = cfg.prometheus.enabled.then(|| {
            Arc::new(PrometheusPage::new(
                &cfg.prometheus.prefix,
                store.clone(),
                Some(source.clone()),
            ))
        });
        let (stop, stopped) = oneshot::channel();
        let flush = FlushLoop {
            store,
            page: page.clone(),
            source: source.clone(),
            interval: cfg.flush_interval.max(Duration::from_millis(10)),
            shutdown_timeout: cfg.shutdown_timeout,
        };
        let task = tokio::spawn(flush.run(stopped));
        Ok(OutletsHandle {
            stop: Some(stop),
            task,
            page,
            source,
        })
    }
}

impl FlushLoop {
    async fn run(self, mut stopped: oneshot::Receiver<()>) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let snapshot = self.store.flush(now_micros());
                    self.deliver(snapshot).await;
                }
                _ = &mut stopped => break,
            }
        }
        let snapshot = self.store.flush_all(now_micros());
        self.deliver(snapshot).await;
        let librato = async {
            if let Some(librato) = &self.source.librato {
                librato.shutdown(self.shutdown_timeout).await;
            }
        };
        let statsd = async {
            if let Some(statsd) = &self.source.statsd {
                statsd.shutdown(self.shutdown_timeout).await;
            }
        };
        tokio::join!(librato, statsd);
    }

    /// Hands a snapshot to every outlet (nothing here waits on a network).
    async fn deliver(&self, snapshot: Snapshot) {
        self.source.flushes.fetch_add(1, Ordering::Relaxed);
        if let Some(page) = &self.page {
            page.update(&snapshot);
        }
        if let Some(librato) = &self.source.librato {
            librato.send_snapshot(&snapshot);
        }
        if let Some(statsd) = self.source.statsd.clone() {
            // Formatting a large flush's lines is CPU work: it runs off the async workers.
            let formatted = tokio::task::spawn_blocking(move || statsd.send_snapshot(&snapshot));
            if let Err(e) = formatted.await {
                tracing::warn!(error = %e, "statsd lines of a flush not formatted");
            }
        }
    }
}

/// What the binary keeps: the Prometheus page, a stats sender, and the way to shut down.
pub struct OutletsHandle {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    page: Option<Arc<PrometheusPage>>,
    source: Arc<OutletStatsSource>,
}

impl OutletsHandle {
    /// The windows' Prometheus text (a [`crate::drain::MetricsPage`]), `None` when disabled.
    pub fn metrics_page(&self) -> Option<Arc<PrometheusPage>> {
        self.page.clone()
    }

    /// A cloneable sender for the scaler's gauges.
    pub fn stats_sender(&self) -> StatsSender {
        StatsSender {
            statsd: self.source.statsd.clone(),
            librato: self.source.librato.clone(),
        }
    }

    /// Sends gauges from outside the windows now.
    pub fn gauges(&self, gauges: &[StatGauge]) {
        self.stats_sender().gauges(gauges);
    }

    pub fn stats(&self) -> OutletStats {
        self.source.snapshot()
    }

    /// Installs a process-wide `metrics` recorder that sends to the statsd outlet, so `metrics::gauge!` calls
    /// elsewhere (the scaler's `MetricsGauges` reporter) reach it. `Ok(false)` when statsd is not configured;
    /// an error when a global recorder is already installed. The windows never need it.
    pub fn install_global_statsd(&self) -> Result<bool, OutletError> {
        let Some(statsd) = &self.source.statsd else {
            return Ok(false);
        };
        let recorder = statsd.global_recorder()?;
        metrics::set_global_recorder(recorder).map_err(|e| OutletError::Statsd {
            address: "global recorder".into(),
            reason: e.to_string(),
        })?;
        Ok(true)
    }

    /// Flushes every bucket (open ones too), delivers what is queued within `shutdown_timeout`, and stops.
    pub async fn shutdown(mut self) -> OutletStats {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Err(e) = (&mut self.task).await {
            tracing::warn!(error = %e, "outlet flush task ended abnormally");
        }
        self.source.snapshot()
    }
}
