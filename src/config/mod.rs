//! The config file: YAML after environment interpolation, in drainscale's own layout or Dynosaur's.
//!
//! [`load`] reads a file into a validated [`Config`] (plus warnings); [`plan`] renders it for
//! `drainscale check`. Nothing here starts anything: the binary's wiring builds components from a `Config`.

pub mod controller;
pub mod dynosaur;
pub mod interpolate;
pub mod load;
pub mod plan;
pub mod redact;
mod validate;

pub use controller::{BackendConfig, ControllerConfig, InputConfig};
pub use load::{load, load_str, ConfigError, Layout, Loaded};

use crate::drain::DrainConfig;
use crate::outlet::OutletConfig;
use crate::secret::{Secret, SecretUrl};
use crate::window::WindowConfig;
use serde::Deserialize;
use std::time::Duration;

/// The whole file, in drainscale's layout.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The drain's HTTP listener (absent: no drain; write `drain: {}` for the defaults).
    #[serde(default)]
    pub drain: Option<DrainConfig>,
    /// Rolling windows the drain fills and the `drain` inputs read.
    #[serde(default)]
    pub windows: WindowConfig,
    /// Where window aggregates are exported.
    #[serde(default)]
    pub outlets: OutletConfig,
    /// Global scaler settings.
    #[serde(default)]
    pub scaler: ScalerConfig,
    /// The scaled resources.
    #[serde(default)]
    pub controllers: Vec<ControllerConfig>,
}

/// The `scaler:` section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScalerConfig {
    /// The Heroku app whose formation is scaled.
    pub app: String,
    /// Heroku API token (`heroku authorizations:create`); not needed for a dry run or file backends.
    pub api_key: Option<Secret>,
    /// Heroku API base URL (default `https://api.heroku.com`); shown masked, as it may hold a credential.
    pub api_url: SecretUrl,
    /// Decide and log "would change web from X to Y", never write (default false).
    pub dry_run: bool,
    /// Time between passes of each controller (default `5s`, Dynosaur's).
    #[serde(with = "crate::duration")]
    pub interval: Duration,
    /// Stats reported after every pass.
    pub stats: StatsConfig,
    /// Heroku API client tuning.
    pub heroku: HerokuTuning,
    /// A URL pinged (GET) after passes without errors, at most once per its interval.
    pub dead_mans_switch: Option<DeadMansSwitchConfig>,
    /// Where pass errors and input health changes (STALE, OUTAGE, recovered) are reported, besides the log.
    pub error_handlers: Vec<ErrorHandlerConfig>,
}

impl Default for ScalerConfig {
    fn default() -> Self {
        ScalerConfig {
            app: String::new(),
            api_key: None,
            api_url: SecretUrl::new("https://api.heroku.com"),
            dry_run: false,
            interval: Duration::from_secs(5),
            stats: StatsConfig::default(),
            heroku: HerokuTuning::default(),
            dead_mans_switch: None,
            error_handlers: Vec::new(),
        }
    }
}

/// `scaler.stats`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatsConfig {
    /// First segment of every stat name (default `drainscale`; `dynosaur` gives Dynosaur's exact names).
    pub prefix: String,
    /// Print a `stats ...` line to stdout after every pass (default true).
    pub console: bool,
    /// Also send the stats through the configured outlets (`outlets.statsd`, `outlets.librato`), under the
    /// same names (default true).
    pub outlets: bool,
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig {
            prefix: "drainscale".into(),
            console: true,
            outlets: true,
        }
    }
}

/// `scaler.heroku`: how patient the Heroku API client is.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HerokuTuning {
    /// How long a read formation count is trusted (default `60s`); always refreshed before a write.
    #[serde(with = "crate::duration")]
    pub cache_ttl: Duration,
    /// Per-request timeout (default `10s`).
    #[serde(with = "crate::duration")]
    pub timeout: Duration,
    /// Attempts per call for 429, 5xx and timeouts (default 4).
    pub max_attempts: u32,
    /// First retry wait, doubled each time, with jitter (default `500ms`).
    #[serde(with = "crate::duration")]
    pub backoff_base: Duration,
    /// Longest retry wait (default `8s`).
    #[serde(with = "crate::duration")]
    pub backoff_max: Duration,
    /// Below this `RateLimit-Remaining`, the loop slows down (default 100).
    pub rate_limit_low: i64,
    /// A count Heroku refused to write (4xx other than 429, e.g. 422 over the account's dyno limit) is not
    /// sent again for this long (default `1h`); a different count is sent at once.
    #[serde(with = "crate::duration")]
    pub refusal_backoff: Duration,
}

impl Default for HerokuTuning {
    fn default() -> Self {
        HerokuTuning {
            cache_ttl: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            max_attempts: 4,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(8),
            rate_limit_low: 100,
            refusal_backoff: crate::scaler::backend::heroku::DEFAULT_REFUSAL_BACKOFF,
        }
    }
}

/// `scaler.dead_mans_switch`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadMansSwitchConfig {
    /// The URL to GET (a Cronut, healthchecks.io or Dead Man's Snitch check-in URL); its path and query are
    /// shown masked (they are the check-in token).
    pub url: SecretUrl,
    /// At most one ping per this long (default `1m`).
    #[serde(default = "one_minute", with = "crate::duration")]
    pub interval: Duration,
}

fn one_minute() -> Duration {
    Duration::from_secs(60)
}

/// One entry of `scaler.error_handlers`.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "snake_case")]
pub enum ErrorHandlerConfig {
    /// POST a JSON event to a URL.
    Webhook {
        /// The receiving URL (shown masked: its path and query often hold a token).
        url: SecretUrl,
        /// Extra request headers (e.g. `Authorization`); values are secrets, shown as `***`.
        #[serde(default)]
        headers: std::collections::BTreeMap<String, Secret>,
        /// The same (controller, input, kind, message) is sent at most once per this long (default `10m`).
        #[serde(default = "ten_minutes", with = "crate::duration")]
        repeat_after: Duration,
        /// Per-request timeout (default `10s`).
        #[serde(default = "ten_seconds", with = "crate::duration")]
        timeout: Duration,
        /// Events waiting to be sent; when full, the oldest is dropped (counted, logged). Default 64.
        #[serde(default = "sixty_four")]
        queue: usize,
    },
    /// Bugsnag's Error Reporting API (payload version 5).
    Bugsnag {
        /// The project's notifier API key.
        api_key: Secret,
        /// The notify endpoint (default `https://notify.bugsnag.com`; on-premise installs differ).
        #[serde(default = "bugsnag_endpoint")]
        endpoint: SecretUrl,
        /// `app.releaseStage` of every event (e.g. `production`); absent: not sent.
        #[serde(default)]
        release_stage: Option<String>,
        /// The same (controller, input, kind, message) is sent at most once per this long (default `10m`).
        #[serde(default = "ten_minutes", with = "crate::duration")]
        repeat_after: Duration,
        /// Per-request timeout (default `10s`).
        #[serde(default = "ten_seconds", with = "crate::duration")]
        timeout: Duration,
        /// Events waiting to be sent; when full, the oldest is dropped (counted, logged). Default 64.
        #[serde(default = "sixty_four")]
        queue: usize,
    },
}

impl ErrorHandlerConfig {
    /// A bugsnag handler with the default endpoint and delivery.
    pub fn bugsnag(api_key: Secret) -> Self {
        ErrorHandlerConfig::Bugsnag {
            api_key,
            endpoint: bugsnag_endpoint(),
            release_stage: None,
            repeat_after: ten_minutes(),
            timeout: ten_seconds(),
            queue: sixty_four(),
        }
    }

    /// URLs are http(s), the Bugsnag key is set, header names and values are valid HTTP, the queue holds one.
    pub fn validate(&self) -> Result<(), String> {
        let http = |what: &str, url: &SecretUrl| {
            if url.is_http() {
                Ok(())
            } else {
                Err(format!("{what} {url} must start with http:// or https://"))
            }
        };
        match self {
            ErrorHandlerConfig::Webhook { url, headers, .. } => {
                http("url", url)?;
                for (k, v) in headers {
                    if k.is_empty() || !k.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                        return Err(format!("header name {k:?} is not a valid HTTP header name"));
                    }
                    if v.expose()
                        .bytes()
                        .any(|b| b.is_ascii_control() && b != b'\t')
                    {
                        return Err(format!("header {k:?}: the value has control characters"));
                    }
                }
            }
            ErrorHandlerConfig::Bugsnag {
                api_key, endpoint, ..
            } => {
                http("endpoint", endpoint)?;
                if api_key.is_blank() {
                    return Err("api_key is empty".into());
                }
            }
        }
        if self.delivery().queue == 0 {
            return Err("queue must be at least 1".into());
        }
        Ok(())
    }

    /// The handler's delivery tuning.
    pub fn delivery(&self) -> DeliveryConfig {
        match self {
            ErrorHandlerConfig::Webhook {
                repeat_after,
                timeout,
                queue,
                ..
            }
            | ErrorHandlerConfig::Bugsnag {
                repeat_after,
                timeout,
                queue,
                ..
            } => DeliveryConfig {
                repeat_after: *repeat_after,
                timeout: *timeout,
                queue: *queue,
            },
        }
    }
}

fn bugsnag_endpoint() -> SecretUrl {
    SecretUrl::new("https://notify.bugsnag.com")
}

/// How an error handler delivers: deduplication, timeout, queue (written flat in the handler's entry).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeliveryConfig {
    /// Deduplication period.
    pub repeat_after: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Queue bound.
    pub queue: usize,
}

fn ten_minutes() -> Duration {
    Duration::from_secs(600)
}

fn ten_seconds() -> Duration {
    Duration::from_secs(10)
}

fn sixty_four() -> usize {
    64
}
