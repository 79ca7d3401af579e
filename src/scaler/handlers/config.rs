//! `scaler.error_handlers` entries: where pass errors and input health changes go, and how each handler
//! delivers (repeat suppression, timeout, queue).

use crate::invalid::Invalid;
use crate::secret::{Secret, SecretUrl};
use serde::Deserialize;
use std::time::Duration;

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
    pub fn validate(&self) -> Result<(), Invalid> {
        let http = |what: &str, url: &SecretUrl| {
            if url.is_http() {
                Ok(())
            } else {
                Err(Invalid::at(
                    what,
                    format!("{url} must start with http:// or https://"),
                ))
            }
        };
        match self {
            ErrorHandlerConfig::Webhook { url, headers, .. } => {
                http("url", url)?;
                for (k, v) in headers {
                    if k.is_empty() || !k.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                        return Err(Invalid::at(
                            "headers",
                            format!("{k:?} is not a valid HTTP header name"),
                        ));
                    }
                    if v.expose()
                        .bytes()
                        .any(|b| b.is_ascii_control() && b != b'\t')
                    {
                        return Err(Invalid::at(
                            format!("headers.{k}"),
                            "the value has control characters",
                        ));
                    }
                }
            }
            ErrorHandlerConfig::Bugsnag {
                api_key, endpoint, ..
            } => {
                http("endpoint", endpoint)?;
                if api_key.is_blank() {
                    return Err(Invalid::at("api_key", "is empty"));
                }
            }
        }
        if self.delivery().queue == 0 {
            return Err(Invalid::at("queue", "must be at least 1"));
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
