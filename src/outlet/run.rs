//! The flush task that ties the windows to the outlets, and the handle the binary keeps; the only place that
//! names the outlet kinds (to start the configured ones).
//!
//! Every `flush_interval` it takes the windows' closed buckets ([`WindowStore::flush`]) and hands them to the
//! Prometheus page and to every [`Outlet`], none of which can block it (statsd is a bounded line queue drained
//! by a paced sender thread, its lines formatted on a blocking-pool thread; Librato a bounded drop-oldest
//! queue with its own sender task). On shutdown it flushes EVERY bucket, open ones included, then lets every
//! outlet deliver, at once, within `shutdown_timeout`. It does not aggregate or encode anything itself.

use super::config::OutletConfig;
use super::contract::{Outlet, OutletError, OutletStatsSource, StatGauge};
use super::librato::LibratoOutlet;
use super::prometheus::PrometheusPage;
use super::statsd::StatsdOutlet;
use super::totals::OutletStats;
use crate::window::store::now_micros;
use crate::window::{Snapshot, WindowStore};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Sends gauges from outside the windows (the scaler's stats) to statsd and Librato. Cheap to clone; never
/// blocks.
#[derive(Clone)]
pub struct StatsSender {
    source: Arc<OutletStatsSource>,
}

impl StatsSender {
    pub fn gauges(&self, gauges: &[StatGauge]) {
        let now_secs = now_micros().div_euclid(1_000_000);
        for outlet in self.source.outlets() {
            outlet.send_gauges(gauges, now_secs);
        }
    }
}

/// Entry point: see [`Outlets::start`].
pub struct Outlets;

struct FlushLoop {
    store: Arc<dyn WindowStore>,
    page: Option<Arc<PrometheusPage>>,
    source: Arc<OutletStatsSource>,
    interval: Duration,
    shutdown_timeout: Duration,
}

impl Outlets {
    /// Starts the configured outlets and the flush task (call inside a tokio runtime).
    pub fn start(
        cfg: &OutletConfig,
        store: Arc<dyn WindowStore>,
    ) -> Result<OutletsHandle, OutletError> {
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
        let mut outlets: Vec<Arc<dyn Outlet>> = Vec::new();
        if let Some(s) = &statsd {
            outlets.push(s.clone());
        }
        if let Some(l) = librato {
            outlets.push(l);
        }
        let source = Arc::new(OutletStatsSource::new(outlets));
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
            statsd,
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
        let deliveries = self
            .source
            .outlets()
            .iter()
            .map(|o| o.shutdown(self.shutdown_timeout));
        futures_join_all(deliveries).await;
    }

    /// Hands a snapshot to every outlet (nothing here waits on a network).
    async fn deliver(&self, snapshot: Snapshot) {
        self.source.flushed();
        if let Some(page) = &self.page {
            page.update(&snapshot);
        }
        let snapshot = Arc::new(snapshot);
        for outlet in self.source.outlets() {
            if outlet.heavy() {
                // Formatting a large flush's lines is CPU work: it runs off the async workers.
                let (outlet, snapshot) = (outlet.clone(), snapshot.clone());
                let formatted =
                    tokio::task::spawn_blocking(move || outlet.send_snapshot(&snapshot));
                if let Err(e) = formatted.await {
                    tracing::warn!(error = %e, "the lines of a flush were not formatted");
                }
            } else {
                outlet.send_snapshot(&snapshot);
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
    /// Kept by kind for [`OutletsHandle::install_global_statsd`].
    statsd: Option<Arc<StatsdOutlet>>,
}

impl OutletsHandle {
    /// The windows' Prometheus text (a [`crate::drain::MetricsPage`]), `None` when disabled.
    pub fn metrics_page(&self) -> Option<Arc<PrometheusPage>> {
        self.page.clone()
    }

    /// A cloneable sender for the scaler's gauges.
    pub fn stats_sender(&self) -> StatsSender {
        StatsSender {
            source: self.source.clone(),
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
        let Some(statsd) = &self.statsd else {
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

/// Runs every future to its end, concurrently (each outlet's delivery gets the whole deadline).
async fn futures_join_all<'a>(
    futures: impl Iterator<Item = Pin<Box<dyn Future<Output = ()> + Send + 'a>>>,
) {
    let mut pending: Vec<Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>> =
        futures.map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for slot in pending.iter_mut() {
            if let Some(f) = slot {
                if f.as_mut().poll(cx).is_ready() {
                    *slot = None;
                } else {
                    done = false;
                }
            }
        }
        if done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}
