//! The Heroku Platform API client behind the `heroku` backend: `GET`/`PATCH /apps/{app}/formation/{type}`
//! (a process type's quantity, and its dyno size when the controller names one) and
//! `GET`/`PATCH /apps/{app}/addons/{addon}` (an add-on's plan, used by [`super::addon`]).
//!
//! What follows holds for both resources (the client works on a resource's path and JSON):
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

use super::{Backend, BackendError, BackendFuture};
use crate::retry::{retry_after, Attempt, Backoff, GaveUp, Landed};
use crate::secret::{http_error, Secret, SecretUrl};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    /// Per resource path: the last answer read and when.
    cache: Mutex<HashMap<String, (Value, Instant)>>,
    /// Last `RateLimit-Remaining` seen; -1 when unknown.
    remaining: AtomicI64,
    /// Per resource path: the last write a PATCH was refused for.
    refused: Mutex<HashMap<String, Refusal>>,
}

/// A write Heroku refused.
struct Refusal {
    body: Value,
    at: Instant,
    error: BackendError,
}

/// The formation answer's fields drainscale reads.
#[derive(Deserialize)]
struct Formation {
    quantity: u32,
    #[serde(default)]
    size: Option<String>,
}

/// The add-on answer's fields drainscale reads.
#[derive(Deserialize)]
struct Addon {
    plan: AddonPlan,
}

#[derive(Deserialize)]
struct AddonPlan {
    name: String,
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

    fn formation_path(&self, process: &str) -> String {
        format!("/apps/{}/formation/{}", self.settings.app, process)
    }

    fn addon_path(&self, addon: &str) -> String {
        format!("/apps/{}/addons/{}", self.settings.app, addon)
    }

    /// The last `RateLimit-Remaining` seen.
    pub fn rate_limit_remaining(&self) -> Option<i64> {
        Some(self.remaining.load(Ordering::Relaxed)).filter(|r| *r >= 0)
    }

    fn cached(&self, path: &str) -> Option<Value> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(path)
            .filter(|(_, at)| at.elapsed() < self.settings.cache_ttl)
            .map(|(v, _)| v.clone())
    }

    fn remember(&self, path: &str, value: &Value) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.to_string(), (value.clone(), Instant::now()));
    }

    /// One request, classified.
    async fn attempt(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> Attempt<Value, BackendError> {
        let url = self.settings.api_url.join(path);
        let request = match body {
            None => self.client.get(url.expose()),
            Some(b) => self.client.patch(url.expose()).json(b),
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
            return match serde_json::from_slice::<Value>(&body) {
                Ok(v) => Attempt::Done(v),
                Err(e) => Attempt::Fail(BackendError::Protocol {
                    method,
                    path: path.to_string(),
                    message: format!("answer is not JSON: {e}"),
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
            path: path.to_string(),
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
    fn gave_up(&self, method: &'static str, path: &str, e: GaveUp<BackendError>) -> BackendError {
        match e {
            GaveUp::Fail(e) => e,
            GaveUp::Exhausted { attempts, last } => BackendError::Exhausted {
                method,
                path: path.to_string(),
                attempts,
                last,
            },
        }
    }

    /// GET with retries; refreshes the cache.
    async fn fetch(&self, path: &str) -> Result<Value, BackendError> {
        let value = self
            .backoff()
            .run(
                |_, _| self.attempt("GET", path, None),
                |attempt, why| {
                    tracing::warn!(
                        path,
                        attempt = attempt + 1,
                        "Heroku GET failed, retrying: {why}"
                    )
                },
            )
            .await
            .map_err(|e| self.gave_up("GET", path, e))?;
        self.remember(path, &value);
        Ok(value)
    }

    /// The cached answer, or a GET.
    async fn read(&self, path: &str) -> Result<Value, BackendError> {
        match self.cached(path) {
            Some(v) => Ok(v),
            None => self.fetch(path).await,
        }
    }

    /// The refusal of `body` at `path`, if it was refused less than `refusal_backoff` ago; a refusal of another
    /// body is forgotten (what is asked for changed).
    fn refused_before(&self, path: &str, body: &Value) -> Option<BackendError> {
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        let r = refused.get(path)?;
        if r.body == *body && r.at.elapsed() < self.settings.refusal_backoff {
            return Some(r.error.clone());
        }
        refused.remove(path);
        None
    }

    fn refuse(&self, path: &str, body: &Value, error: &BackendError) {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                path.to_string(),
                Refusal {
                    body: body.clone(),
                    at: Instant::now(),
                    error: error.clone(),
                },
            );
    }

    /// Makes the resource at `path` what `done` accepts, with a PATCH of `body` when a fresh read shows it is
    /// not already; returns the answer in force.
    async fn write(
        &self,
        path: &str,
        body: &Value,
        done: impl Fn(&Value) -> bool,
    ) -> Result<Value, BackendError> {
        if let Some(earlier) = self.refused_before(path, body) {
            return Err(BackendError::Refused {
                earlier: Box::new(earlier),
            });
        }
        let fresh = self.fetch(path).await?;
        if done(&fresh) {
            return Ok(fresh);
        }
        let done = &done;
        let written = self
            .backoff()
            .run(
                |_, previous| async move {
                    // After a failure that may have landed (not a 429), look before writing again.
                    if previous == Some(Landed::Maybe) {
                        match self.fetch(path).await {
                            Ok(v) if done(&v) => return Attempt::Done(v),
                            Ok(_) => {}
                            Err(e) => return Attempt::Fail(e),
                        }
                    }
                    self.attempt("PATCH", path, Some(body)).await
                },
                |attempt, why| {
                    tracing::warn!(path, attempt = attempt + 1, %body, "Heroku PATCH failed: {why}")
                },
            )
            .await;
        match written {
            Ok(v) => {
                self.remember(path, &v);
                Ok(v)
            }
            Err(e) => {
                let e = self.gave_up("PATCH", path, e);
                // The PATCH itself refused (not a GET made between tries).
                if matches!(
                    e,
                    BackendError::Api {
                        method: "PATCH",
                        ..
                    }
                ) {
                    self.refuse(path, body, &e);
                }
                Err(e)
            }
        }
    }

    /// A process type's quantity (from the cache when fresh).
    pub async fn quantity(&self, process: &str) -> Result<u32, BackendError> {
        let path = self.formation_path(process);
        let v = self.read(&path).await?;
        parse::<Formation>("GET", &path, v).map(|f| f.quantity)
    }

    /// Sets a process type's quantity, and its dyno size when `size` is given (compared without case, as
    /// Heroku answers `Standard-2X` for `standard-2x`).
    pub async fn set_quantity(
        &self,
        process: &str,
        quantity: u32,
        size: Option<&str>,
    ) -> Result<u32, BackendError> {
        let path = self.formation_path(process);
        let body = match size {
            Some(s) => json!({ "quantity": quantity, "size": s }),
            None => json!({ "quantity": quantity }),
        };
        let matches = |v: &Value| match serde_json::from_value::<Formation>(v.clone()) {
            Ok(f) => {
                f.quantity == quantity
                    && size.is_none_or(|want| {
                        f.size.is_some_and(|have| have.eq_ignore_ascii_case(want))
                    })
            }
            Err(_) => false,
        };
        let v = self.write(&path, &body, matches).await?;
        parse::<Formation>("PATCH", &path, v).map(|f| f.quantity)
    }

    /// A process type's dyno size as Heroku last answered (from the cache when fresh).
    pub async fn size(&self, process: &str) -> Result<Option<String>, BackendError> {
        let path = self.formation_path(process);
        let v = self.read(&path).await?;
        parse::<Formation>("GET", &path, v).map(|f| f.size)
    }

    /// An add-on's plan name (from the cache when fresh).
    pub async fn plan(&self, addon: &str) -> Result<String, BackendError> {
        let path = self.addon_path(addon);
        let v = self.read(&path).await?;
        parse::<Addon>("GET", &path, v).map(|a| a.plan.name)
    }

    /// Changes an add-on's plan (`{"plan": NAME}`); returns the plan in force.
    pub async fn set_plan(&self, addon: &str, plan: &str) -> Result<String, BackendError> {
        let path = self.addon_path(addon);
        let body = json!({ "plan": plan });
        let matches = |v: &Value| {
            serde_json::from_value::<Addon>(v.clone()).is_ok_and(|a| a.plan.name == plan)
        };
        let v = self.write(&path, &body, matches).await?;
        parse::<Addon>("PATCH", &path, v).map(|a| a.plan.name)
    }

    /// One line for plans and status pages.
    pub fn api(&self) -> String {
        format!(
            "Heroku Platform API {} app {}",
            self.settings.api_url, self.settings.app
        )
    }
}

/// A 2xx answer read as the fields drainscale needs.
fn parse<T: DeserializeOwned>(
    method: &'static str,
    path: &str,
    v: Value,
) -> Result<T, BackendError> {
    serde_json::from_value(v).map_err(|e| BackendError::Protocol {
        method,
        path: path.to_string(),
        message: format!("unexpected JSON: {e}"),
    })
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

impl Heroku {
    /// How long the loop should wait for the rate-limit pool to refill, when it is low.
    pub fn pace(&self) -> Option<Duration> {
        let remaining = self.rate_limit_remaining()?;
        if remaining >= self.settings.rate_limit_low {
            return None;
        }
        let missing = (self.settings.rate_limit_low - remaining) as f64;
        Some(Duration::from_secs_f64(
            (missing / REFILL_PER_MINUTE * 60.0).clamp(5.0, 300.0),
        ))
    }
}

/// The client as a backend: formation quantities, no dyno size.
impl Backend for Heroku {
    fn current<'a>(&'a self, process: &'a str) -> BackendFuture<'a, u32> {
        Box::pin(self.quantity(process))
    }

    fn set<'a>(&'a self, process: &'a str, target: u32) -> BackendFuture<'a, u32> {
        Box::pin(self.set_quantity(process, target, None))
    }

    fn pace(&self) -> Option<Duration> {
        Heroku::pace(self)
    }

    fn describe(&self) -> String {
        self.api()
    }
}
