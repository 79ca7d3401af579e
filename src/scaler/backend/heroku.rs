//! The Heroku Platform API backend: `GET`/`PATCH /apps/{app}/formation/{type}`.
//!
//! - Reads are cached (`cache_ttl`, default 60 s) and refreshed before every write; no write when the fresh
//!   count already matches.
//! - 429, 5xx and transport errors (timeouts, resets) are retried with exponential backoff and full jitter,
//!   at most `max_attempts` times; `Retry-After` is honoured (capped at `backoff_max`).
//! - After a failed PATCH the formation is read again before any retry, so a PATCH that landed despite an error
//!   is never sent twice.
//! - `RateLimit-Remaining` is remembered; when it falls below `rate_limit_low`, [`Backend::pace`] asks the loop
//!   to wait for the pool to refill (Heroku refills about 75 requests a minute).
//! - Other 4xx answers are reported with Heroku's `id` and `message`, and never retried. A write refused so
//!   (e.g. 422 "Cannot update to more than 100 dynos") is remembered per process type: the same count is not
//!   sent again until `refusal_backoff` (default 1 h) has passed; a different count is sent at once. Meanwhile
//!   `set` answers [`BackendError::Refused`] without a request.
//! - The API URL and token are [`SecretUrl`] and [`Secret`]: descriptions and errors show the URL masked, and
//!   transport errors are told without the URL `reqwest` puts in them.

use super::config::{BackendConfig, BackendKind, BackendSpec, Describe, Shared};
use super::{Backend, BackendError, BackendFuture};
use crate::retry::{retry_after, Attempt, Backoff, GaveUp, Landed};
use crate::secret::{http_error, Secret, SecretUrl};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `backend: heroku` (the default): the scaler's Heroku client (`scaler.app`, `scaler.api_key`, `scaler.api_url`).
pub const KIND: BackendKind = BackendKind {
    name: "heroku",
    parse: |params| match params {
        None => Ok(BackendConfig::new(HerokuBackend)),
        Some(_) => Err("takes no parameters: write `backend: heroku`".into()),
    },
};

/// `backend: heroku` parameters: none (the client's settings are the scaler's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HerokuBackend;

impl BackendSpec for HerokuBackend {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn describe(&self, cx: &Describe) -> String {
        format!(
            "Heroku formation {}/apps/{}/formation/{}",
            cx.api_url, cx.app, cx.process
        )
    }

    fn identity(&self) -> String {
        KIND.name.to_string()
    }

    fn uses_heroku_api(&self) -> bool {
        true
    }

    fn build(&self, shared: &Shared) -> Option<std::sync::Arc<dyn Backend>> {
        shared.heroku.clone()
    }
}

/// How to reach the API and how patient to be.
#[derive(Debug, Clone)]
pub struct HerokuSettings {
    /// API base URL (default `https://api.heroku.com`).
    pub api_url: SecretUrl,
    pub app: String,
    pub api_key: Secret,
    pub cache_ttl: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Below this many remaining requests, the loop slows down.
    pub rate_limit_low: i64,
    /// How long a count Heroku refused (4xx other than 429) is not asked for again.
    pub refusal_backoff: Duration,
}

impl HerokuSettings {
    pub fn new(api_url: &str, app: &str, api_key: &str) -> Self {
        HerokuSettings {
            api_url: SecretUrl::new(api_url).trim_end_slashes(),
            app: app.to_string(),
            api_key: Secret::new(api_key),
            cache_ttl: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            max_attempts: 4,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(8),
            rate_limit_low: 100,
            refusal_backoff: DEFAULT_REFUSAL_BACKOFF,
        }
    }
}

/// How long a refused count is not sent again, by default.
pub const DEFAULT_REFUSAL_BACKOFF: Duration = Duration::from_secs(3600);

/// Heroku refills the rate-limit pool at about this many requests per minute.
const REFILL_PER_MINUTE: f64 = 75.0;

pub struct Heroku {
    settings: HerokuSettings,
    client: reqwest::Client,
    cache: Mutex<HashMap<String, (u32, Instant)>>,
    /// Last `RateLimit-Remaining` seen; -1 when unknown.
    remaining: AtomicI64,
    /// Per process type: the last count a PATCH was refused for.
    refused: Mutex<HashMap<String, Refusal>>,
}

/// A write Heroku refused.
struct Refusal {
    quantity: u32,
    at: Instant,
    error: BackendError,
}

#[derive(Deserialize)]
struct Formation {
    quantity: u32,
}

#[derive(Deserialize, Default)]
struct ApiError {
    #[serde(default)]
    id: String,
    #[serde(default)]
    message: String,
}

impl Heroku {
    pub fn new(settings: HerokuSettings) -> Result<Self, BackendError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("drainscale/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BackendError::Protocol {
                method: "INIT",
                path: settings.api_url.to_string(),
                message: format!("cannot build the HTTP client: {}", http_error(&e)),
            })?;
        Ok(Heroku {
            settings,
            client,
            cache: Mutex::new(HashMap::new()),
            remaining: AtomicI64::new(-1),
            refused: Mutex::new(HashMap::new()),
        })
    }

    fn path(&self, process: &str) -> String {
        format!("/apps/{}/formation/{}", self.settings.app, process)
    }

    /// The last `RateLimit-Remaining` seen.
    pub fn rate_limit_remaining(&self) -> Option<i64> {
        Some(self.remaining.load(Ordering::Relaxed)).filter(|r| *r >= 0)
    }

    fn cached(&self, process: &str) -> Option<u32> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(process)
            .filter(|(_, at)| at.elapsed() < self.settings.cache_ttl)
            .map(|(n, _)| *n)
    }

    fn remember(&self, process: &str, count: u32) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(process.to_string(), (count, Instant::now()));
    }

    /// One request, classified.
    async fn attempt(
        &self,
        method: &'static str,
        process: &str,
        quantity: Option<u32>,
    ) -> Attempt<u32, BackendError> {
        let path = self.path(process);
        let url = self.settings.api_url.join(&path);
        let request = match quantity {
            None => self.client.get(url.expose()),
            Some(q) => self
                .client
                .patch(url.expose())
                .json(&serde_json::json!({ "quantity": q })),
        };
        let response = request
            .header("Accept", "application/vnd.heroku+json; version=3")
            .bearer_auth(self.settings.api_key.expose())
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry {
                    why: transport_error(&e),
                    landed: Landed::Maybe,
                    wait: None,
                }
            }
        };
        if let Some(rem) =
            header(&response, "RateLimit-Remaining").and_then(|v| v.parse::<i64>().ok())
        {
            self.remaining.store(rem.max(0), Ordering::Relaxed);
        }
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Retry {
                    why: format!("reading the body: {}", transport_error(&e)),
                    landed: Landed::Maybe,
                    wait: None,
                }
            }
        };
        if (200..300).contains(&status) {
            return match serde_json::from_slice::<Formation>(&body) {
                Ok(f) => Attempt::Done(f.quantity),
                Err(e) => Attempt::Fail(BackendError::Protocol {
                    method,
                    path,
                    message: format!("formation JSON: {e}"),
                }),
            };
        }
        let err: ApiError = serde_json::from_slice(&body).unwrap_or_default();
        let message = if err.message.is_empty() {
            String::from_utf8_lossy(&body).chars().take(200).collect()
        } else {
            err.message
        };
        let id = if err.id.is_empty() {
            "unknown".to_string()
        } else {
            err.id
        };
        if status == 429 || status >= 500 {
            return Attempt::Retry {
                why: format!("HTTP {status} {id}: {message}"),
                landed: if status == 429 {
                    Landed::No
                } else {
                    Landed::Maybe
                },
                wait: retry_after,
            };
        }
        Attempt::Fail(BackendError::Api {
            method,
            path,
            status,
            id,
            message,
        })
    }

    fn backoff(&self) -> Backoff {
        Backoff {
            base: self.settings.backoff_base,
            max: self.settings.backoff_max,
            attempts: self.settings.max_attempts,
        }
    }

    /// The error for a request that gave up.
    fn gave_up(
        &self,
        method: &'static str,
        process: &str,
        e: GaveUp<BackendError>,
    ) -> BackendError {
        match e {
            GaveUp::Fail(e) => e,
            GaveUp::Exhausted { attempts, last } => BackendError::Exhausted {
                method,
                path: self.path(process),
                attempts,
                last,
            },
        }
    }

    /// GET with retries; refreshes the cache.
    async fn fetch(&self, process: &str) -> Result<u32, BackendError> {
        let count = self
            .backoff()
            .run(
                |_, _| self.attempt("GET", process, None),
                |attempt, why| {
                    tracing::warn!(
                        process,
                        attempt = attempt + 1,
                        "Heroku GET failed, retrying: {why}"
                    )
                },
            )
            .await
            .map_err(|e| self.gave_up("GET", process, e))?;
        self.remember(process, count);
        Ok(count)
    }

    /// The refusal of `target` for `process`, if it was refused less than `refusal_backoff` ago; a refusal of
    /// another count is forgotten (the count asked for changed).
    fn refused_before(&self, process: &str, target: u32) -> Option<BackendError> {
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        let r = refused.get(process)?;
        if r.quantity == target && r.at.elapsed() < self.settings.refusal_backoff {
            return Some(r.error.clone());
        }
        refused.remove(process);
        None
    }

    fn refuse(&self, process: &str, quantity: u32, error: &BackendError) {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                process.to_string(),
                Refusal {
                    quantity,
                    at: Instant::now(),
                    error: error.clone(),
                },
            );
    }

    async fn write(&self, process: &str, target: u32) -> Result<u32, BackendError> {
        if let Some(earlier) = self.refused_before(process, target) {
            return Err(BackendError::Refused {
                earlier: Box::new(earlier),
            });
        }
        let fresh = self.fetch(process).await?;
        if fresh == target {
            return Ok(fresh);
        }
        let written = self
            .backoff()
            .run(
                |_, previous| async move {
                    // After a failure that may have landed (not a 429), look before writing again.
                    if previous == Some(Landed::Maybe) {
                        match self.fetch(process).await {
                            Ok(count) if count == target => return Attempt::Done(count),
                            Ok(_) => {}
                            Err(e) => return Attempt::Fail(e),
                        }
                    }
                    self.attempt("PATCH", process, Some(target)).await
                },
                |attempt, why| {
                    tracing::warn!(
                        process,
                        attempt = attempt + 1,
                        target,
                        "Heroku PATCH failed: {why}"
                    )
                },
            )
            .await;
        match written {
            Ok(count) => {
                self.remember(process, count);
                Ok(count)
            }
            Err(e) => {
                let e = self.gave_up("PATCH", process, e);
                // The PATCH itself refused (not a GET made between tries).
                if matches!(
                    e,
                    BackendError::Api {
                        method: "PATCH",
                        ..
                    }
                ) {
                    self.refuse(process, target, &e);
                }
                Err(e)
            }
        }
    }
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

/// Never the URL (it may hold a credential): `reqwest` puts it in its errors.
fn transport_error(e: &reqwest::Error) -> String {
    http_error(e)
}

impl Backend for Heroku {
    fn current<'a>(&'a self, process: &'a str) -> BackendFuture<'a, u32> {
        Box::pin(async move {
            match self.cached(process) {
                Some(count) => Ok(count),
                None => self.fetch(process).await,
            }
        })
    }

    fn set<'a>(&'a self, process: &'a str, target: u32) -> BackendFuture<'a, u32> {
        Box::pin(self.write(process, target))
    }

    fn pace(&self) -> Option<Duration> {
        let remaining = self.rate_limit_remaining()?;
        if remaining >= self.settings.rate_limit_low {
            return None;
        }
        let missing = (self.settings.rate_limit_low - remaining) as f64;
        Some(Duration::from_secs_f64(
            (missing / REFILL_PER_MINUTE * 60.0).clamp(5.0, 300.0),
        ))
    }

    fn describe(&self) -> String {
        format!(
            "Heroku Platform API {} app {}",
            self.settings.api_url, self.settings.app
        )
    }
}
