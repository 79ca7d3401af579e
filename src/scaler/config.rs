//! The `scaler:` section: the app, credentials, pass interval, stats, the Heroku client's patience, the
//! success handlers (dead man's switches) and the error handlers. Read by [`super::build`]; the `controllers:` entries are in
//! [`super::controller_config`].

use super::handlers::ErrorHandlerConfig;
use super::success::SuccessHandlerConfig;
use crate::secret::{Secret, SecretUrl};
use serde::Deserialize;
use std::time::Duration;

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
    /// A URL pinged (GET) after passes without errors, at most once per its interval: one `ping` success
    /// handler, in the older spelling.
    pub dead_mans_switch: Option<DeadMansSwitchConfig>,
    /// Told after passes in which no controller had an error (a dead man's switch: `ping`, `cronut`).
    pub success_handlers: Vec<SuccessHandlerConfig>,
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
            success_handlers: Vec::new(),
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

impl ScalerConfig {
    /// Every success handler: `dead_mans_switch` (as a `ping`) first, then `success_handlers`.
    pub fn all_success_handlers(&self) -> Vec<SuccessHandlerConfig> {
        self.dead_mans_switch
            .iter()
            .map(|d| SuccessHandlerConfig::ping(d.url.clone(), d.interval))
            .chain(self.success_handlers.iter().cloned())
            .collect()
    }
}

fn one_minute() -> Duration {
    Duration::from_secs(60)
}
