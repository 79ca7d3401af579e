//! The drain: an HTTP server that logplex POSTs to. It authenticates, decompresses, deduplicates by
//! Frame-Id, parses with [`crate::logplex`] and hands events to an [`crate::window::EventSink`].
//!
//! It knows nothing of the scaler: `/status`, `/ping` and the windows' Prometheus text are served through the
//! small page traits below, which the binary's wiring implements.

use serde::{Deserialize, Serialize};

/// The scaler's status, as served on `/status` and `/ping`.
pub trait StatusPage: Send + Sync {
    /// The `/status` JSON document.
    fn status(&self) -> serde_json::Value;
    /// `Ok(())` when every input is healthy, else the names of those that are not.
    fn ping(&self) -> Result<(), Vec<String>>;
}

/// Extra Prometheus text (the aggregated windows) appended to the drain's own metrics on `/metrics`.
pub trait MetricsPage: Send + Sync {
    fn render(&self, out: &mut String);
}

/// The `drain:` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DrainConfig {
    /// Listen address (default `0.0.0.0:$PORT`, or `0.0.0.0:8080` without PORT).
    pub listen: String,
    /// Path logplex POSTs to (default `/logs`).
    pub path: String,
}

impl Default for DrainConfig {
    fn default() -> Self {
        let port = std::env::var("PORT")
            .ok()
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or(8080);
        DrainConfig {
            listen: format!("0.0.0.0:{port}"),
            path: "/logs".into(),
        }
    }
}
