//! What the flush loop, the stats sender and the Prometheus page know of an outlet: the [`Outlet`] trait, the
//! gauges from outside the windows ([`StatGauge`]), start-up errors, and [`OutletStatsSource`], which reads
//! every outlet's totals. The outlets implement it; none of them is named here.

use super::totals::{OutletStats, OutletTotals};
use crate::window::Snapshot;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

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

/// Somewhere flushed windows and the scaler's gauges go. Nothing here may wait on a network: an outlet queues
/// and sends from its own task or thread.
pub trait Outlet: Send + Sync {
    /// Takes a flush's numbers.
    fn send_snapshot(&self, snapshot: &Snapshot);
    /// True when [`Outlet::send_snapshot`] is CPU work worth a blocking-pool thread (formatting many lines).
    fn heavy(&self) -> bool {
        false
    }
    /// Takes gauges from outside the windows, measured at `now_secs` (Unix seconds).
    fn send_gauges(&self, gauges: &[StatGauge], now_secs: i64);
    /// Delivers what is queued, within `deadline`, and stops.
    fn shutdown(&self, deadline: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    /// Its running totals.
    fn totals(&self) -> OutletTotals;
}

/// Where the Prometheus page and the handle read the outlets' totals.
pub struct OutletStatsSource {
    flushes: AtomicU64,
    outlets: Vec<Arc<dyn Outlet>>,
}

impl OutletStatsSource {
    pub fn new(outlets: Vec<Arc<dyn Outlet>>) -> OutletStatsSource {
        OutletStatsSource {
            flushes: AtomicU64::new(0),
            outlets,
        }
    }

    /// The outlets, in start order.
    pub fn outlets(&self) -> &[Arc<dyn Outlet>] {
        &self.outlets
    }

    /// Counts one flush.
    pub fn flushed(&self) {
        self.flushes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> OutletStats {
        let mut stats = OutletStats {
            flushes: self.flushes.load(Ordering::Relaxed),
            ..OutletStats::default()
        };
        for outlet in &self.outlets {
            match outlet.totals() {
                OutletTotals::Statsd(s) => stats.statsd = Some(s),
                OutletTotals::Librato(l) => stats.librato = Some(l),
            }
        }
        stats
    }
}
