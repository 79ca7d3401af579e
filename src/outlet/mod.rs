//! Outlets: where closed window buckets go (statsd, Librato-format HTTP, Prometheus text).
//!
//! Outlets never block ingestion: each has a bounded queue and retries with backoff.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `outlets:` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutletConfig {
    /// How often closed buckets are flushed to the outlets (default: the window resolution, 10s).
    #[serde(with = "crate::config::duration")]
    pub flush_interval: Duration,
}

impl Default for OutletConfig {
    fn default() -> Self {
        OutletConfig {
            flush_interval: Duration::from_secs(10),
        }
    }
}
