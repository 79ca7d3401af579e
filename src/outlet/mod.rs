//! Outlets: where closed window buckets go (statsd, Librato-format HTTP, Prometheus text).
//!
//! [`Outlets::start`] runs one flush task: every `flush_interval` it takes the windows' closed buckets
//! ([`crate::window::WindowStore::flush`]) and hands the numbers to each configured [`Outlet`]. Outlets never block
//! ingestion: statsd goes through a bounded line queue to its own paced sender thread, Librato through a bounded
//! drop-oldest queue of batches to a sender task that retries with backoff. This module does not aggregate
//! anything itself.

mod config;
mod contract;
pub mod librato;
pub mod names;
pub mod prometheus;
pub mod queue;
mod run;
pub mod statsd;
mod statsd_queue;
mod statsd_sender;
mod totals;

pub use config::{LibratoConfig, OutletConfig, PrometheusConfig, StatsdConfig, TagStyle};
pub use contract::{Outlet, OutletError, OutletStatsSource, StatGauge};
pub use prometheus::PrometheusPage;
pub use run::{Outlets, OutletsHandle, StatsSender};
pub use totals::{LibratoTotals, OutletStats, OutletTotals, StatsdStats};
