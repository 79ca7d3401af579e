//! The drain: an HTTP server that logplex POSTs to. It authenticates, decompresses, deduplicates by
//! Frame-Id, parses with [`crate::logplex`] and hands events to an [`crate::window::EventSink`].
//!
//! It knows nothing of the scaler: `/`, `/status`, `/ping` and the windows' Prometheus text are served through the
//! small page traits below, which the binary's wiring implements.
//!
//! Wiring: [`Server::bind`] (config, sink, [`Pages`]) then [`Server::run_until`] with e.g. [`shutdown_signal`].

pub mod auth;
pub mod body;
mod budget;
mod config;
pub mod dedup;
pub mod ingest;
mod logs;
mod logsafe;
mod peers;
mod reply;
mod routes;
mod server;
mod shared;
pub mod stats;
mod throttle;

pub use config::{AuthConfig, BasicUser, DedupConfig, DrainConfig};
pub use server::{shutdown_signal, DrainError, Server};
pub use shared::Pages;
pub use stats::DrainStats;

/// The scaler's status, as served on `/status` and `/ping`.
pub trait StatusPage: Send + Sync {
    /// The `/status` JSON document.
    fn status(&self) -> serde_json::Value;
    /// `Ok(())` when every input is healthy, else the names of those that are not.
    fn ping(&self) -> Result<(), Vec<String>>;
    /// The HTML status page served on `/` (`None`: this status has no page, and `/` is 404).
    fn html(&self) -> Option<String> {
        None
    }
}

/// Extra Prometheus text (the aggregated windows) appended to the drain's own metrics on `/metrics`.
pub trait MetricsPage: Send + Sync {
    fn render(&self, out: &mut String);
}

/// Several pages on one `/metrics`, rendered in order (the windows, the scaler's error handlers, ...).
pub struct MetricsPages(pub Vec<std::sync::Arc<dyn MetricsPage>>);

impl MetricsPage for MetricsPages {
    fn render(&self, out: &mut String) {
        for page in &self.0 {
            page.render(out);
        }
    }
}
