//! `scaler.success_handlers` entries: `type: ping` (GET a check-in URL) and `type: cronut` (Cronut's
//! encrypted check-in), their keys, defaults, checks and descriptions. `scaler.dead_mans_switch` is the
//! older spelling of one `ping` entry and is read as one.

use super::cronut::{self, Cronut};
use super::ping::Ping;
use super::SuccessHandler;
use crate::invalid::Invalid;
use crate::secret::{Secret, SecretUrl};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// One `scaler.success_handlers` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SuccessHandlerConfig {
    /// GET a URL.
    Ping(PingConfig),
    /// Cronut's check-in.
    Cronut(CronutConfig),
}

/// `type: ping`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingConfig {
    /// The check-in URL (shown masked: its path and query are the token).
    pub url: SecretUrl,
    /// At most one check-in per this long (default `1m`).
    #[serde(default = "one_minute", with = "crate::duration")]
    pub interval: Duration,
    /// Per-request timeout (default `10s`).
    #[serde(default = "ten_seconds", with = "crate::duration")]
    pub timeout: Duration,
}

/// `type: cronut`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronutConfig {
    /// The Cronut app's base URL (`https://your-cronut.herokuapp.com`); check-ins go to `{host}/ping/`. Shown
    /// masked, as every URL that may hold a credential.
    pub host: SecretUrl,
    /// The job's RSA public key, PEM, with newlines or `|` for newlines (Dynosaur's form).
    pub public_key: Secret,
    /// The job's token, encrypted into each check-in.
    pub cronut_token: Secret,
    /// Cronut's API token, sent as `X-CRONUT-API-TOKEN`.
    pub api_token: Secret,
    /// At most one check-in per this long (default `1m`; Dynosaur's sample uses 1800, i.e. 30 minutes).
    #[serde(default = "one_minute", with = "crate::duration")]
    pub interval: Duration,
    /// Per-request timeout (default `10s`).
    #[serde(default = "ten_seconds", with = "crate::duration")]
    pub timeout: Duration,
}

impl CronutConfig {
    /// `host` without surrounding spaces or trailing `/`s, to join `/ping/` to.
    pub fn base(&self) -> SecretUrl {
        SecretUrl::new(self.host.expose().trim()).trim_end_slashes()
    }
}

fn one_minute() -> Duration {
    Duration::from_secs(60)
}

fn ten_seconds() -> Duration {
    Duration::from_secs(10)
}

impl SuccessHandlerConfig {
    /// A `ping` entry (what `scaler.dead_mans_switch` stands for).
    pub fn ping(url: SecretUrl, interval: Duration) -> Self {
        SuccessHandlerConfig::Ping(PingConfig {
            url,
            interval,
            timeout: ten_seconds(),
        })
    }

    /// Checks serde cannot make (keys relative to the entry).
    pub fn validate(&self) -> Result<(), Invalid> {
        let positive = |key: &str, d: Duration| {
            if d.is_zero() {
                Err(Invalid::at(key, "must be more than 0s"))
            } else {
                Ok(())
            }
        };
        match self {
            SuccessHandlerConfig::Ping(p) => {
                if !p.url.is_http() {
                    return Err(Invalid::at(
                        "url",
                        format!("{} must start with http:// or https://", p.url),
                    ));
                }
                positive("interval", p.interval)?;
                positive("timeout", p.timeout)
            }
            SuccessHandlerConfig::Cronut(c) => {
                let host = c.base();
                if !host.is_http() {
                    return Err(Invalid::at(
                        "host",
                        format!("{host} must start with http:// or https://"),
                    ));
                }
                cronut::public_key(c.public_key.expose())
                    .map_err(|e| Invalid::at("public_key", e))?;
                for (key, value) in [
                    ("cronut_token", &c.cronut_token),
                    ("api_token", &c.api_token),
                ] {
                    if value.expose().trim().is_empty() {
                        return Err(Invalid::at(key, "is empty"));
                    }
                }
                positive("interval", c.interval)?;
                positive("timeout", c.timeout)
            }
        }
    }

    /// Readable form for `check` (URLs masked, no token).
    pub fn describe(&self) -> String {
        match self {
            SuccessHandlerConfig::Ping(p) => format!(
                "ping GET {} at most every {}",
                p.url,
                crate::duration::format(p.interval)
            ),
            SuccessHandlerConfig::Cronut(c) => format!(
                "cronut POST {}/ping/ (public_id encrypted with the job's key, X-CRONUT-API-TOKEN ***) at most \
                 every {}",
                c.base(),
                crate::duration::format(c.interval)
            ),
        }
    }

    /// Builds the handler.
    pub fn build(&self) -> Result<Arc<dyn SuccessHandler>, String> {
        Ok(match self {
            SuccessHandlerConfig::Ping(p) => {
                Arc::new(Ping::new(p.url.clone(), p.interval, p.timeout)?)
            }
            SuccessHandlerConfig::Cronut(c) => Arc::new(Cronut::new(
                c.base(),
                cronut::public_key(c.public_key.expose())?,
                c.cronut_token.clone(),
                c.api_token.clone(),
                c.interval,
                c.timeout,
            )?),
        })
    }
}
