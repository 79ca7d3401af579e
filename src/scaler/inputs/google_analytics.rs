//! The `google_analytics` input: GA4 realtime active users of one property (the Data API's
//! `runRealtimeReport` with metric `activeUsers`), read as a service account, 100 users per dyno by default.
//! It replaces Dynosaur's Universal Analytics plugin, whose API is gone.
//!
//! - Auth is [`google_auth`]: a signed JWT traded for an access token, cached until near expiry. A 401 from the
//!   Data API drops the token and retries once with a fresh one.
//! - Every failure is an error, never zero users: 403, 404, 429, 5xx, timeouts, a body that is not a report, a
//!   value that is not a non-negative number. Only a report without `rows` is a real zero (GA4 leaves them out
//!   when nobody is on the site).
//! - Quota: each report asks for `propertyQuota`; [`QuotaPacer`] spaces calls further apart when, at the
//!   current pace, the hourly or daily tokens would run out before they refill, and backs off after a 429.
//!
//! It does not read dimensions, other metrics or the Universal Analytics API, and it does not share a quota
//! budget with other programs reading the same property: it only sees what GA says is left.

#[path = "google_auth.rs"]
pub mod google_auth;

use super::super::clock::Tick;
use super::super::input::{Conversion, Input, InputError, Retrieval};
use super::{
    parse_with, CheckContext, DynosaurEntry, DynosaurInput, InputContext, InputKind, InputSpec,
};
use crate::invalid::Invalid;
use crate::secret::{http_error, Secret, SecretUrl};
use google_auth::{clip, ServiceAccount, ServiceAccountKey, Signer};
use jiff::Timestamp;
use serde::{Deserialize, Deserializer};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `type: google_analytics`, Dynosaur's `GoogleAnalyticsInputPlugin` (UA era: it needs `property_id` added).
pub const KIND: InputKind = InputKind {
    name: "google_analytics",
    parse: |v| parse_with::<GoogleAnalyticsParams>(v, GoogleAnalyticsParams::validate),
    dynosaur: Some(DynosaurInput {
        classes: &["GoogleAnalyticsInputPlugin", "GoogleAnalyticsPlugin"],
        translate: |_, keys| from_dynosaur(keys),
        from_env: &[("property_id", "GA4_PROPERTY_ID")],
    }),
};

/// Dynosaur's `client_email`, `key` (PEM with `|` for newlines) and `users_per_dyno`; its `analytics_view_id`
/// names a Universal Analytics view, which cannot become a GA4 property id: `property_id` must sit beside it.
fn from_dynosaur(mut keys: serde_yaml_ng::Mapping) -> Result<DynosaurEntry, String> {
    let mut entry = DynosaurEntry::default();
    if let Some(n) = keys.remove("users_per_dyno") {
        entry.per_dyno = Some(
            n.as_f64()
                .ok_or("users_per_dyno: expected a number of users per dyno")?,
        );
    }
    if let Some(key) = keys.remove("key") {
        keys.insert("private_key".into(), key);
    }
    if keys.remove("analytics_view_id").is_some() {
        if !keys.contains_key("property_id") {
            entry.skip = Some("analytics_view_id is a Universal Analytics view id, and that API is gone: GA4 \
                        needs the property's id; add `property_id: <digits>` (Admin > Property details) \
                        beside it, or set GA4_PROPERTY_ID"
                .into());
            return Ok(entry);
        }
        entry
            .warnings
            .push("analytics_view_id is ignored: GA4 reads property_id".into());
    }
    entry.params = keys;
    Ok(entry)
}

/// Default cache interval: 30 s. Dynosaur polled every 60 s; a standard property has 200k realtime tokens a
/// day and 14k per project per hour, and a report costs up to about 10 tokens, so one call every 30 s uses at
/// most ~29k tokens a day and ~1.2k an hour (under 15% and 9%), leaving the rest to dashboards and other tools
/// reading the same property. Active users over the last 30 minutes move slowly: polling faster buys little.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// Dynosaur's `users_per_dyno`.
pub const DEFAULT_PER_DYNO: f64 = 100.0;

/// The Data API's base URL.
pub const DEFAULT_API_URL: &str = "https://analyticsdata.googleapis.com";

/// Per-request timeout by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// `type: google_analytics` parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleAnalyticsParams {
    /// The GA4 property id, digits only (Admin > Property details, e.g. `123456789`). Required. A Universal
    /// Analytics view id (`ga:12345`, `UA-...`) is refused: that API is gone.
    #[serde(deserialize_with = "digits_or_text")]
    pub property_id: String,
    /// A service-account JSON key file as Google Cloud writes it (`client_email`, `private_key`, `token_uri`).
    /// Either this or `client_email` + `private_key`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The service account's e-mail (`name@project.iam.gserviceaccount.com`), with `private_key`, instead of
    /// `key_file`.
    #[serde(default)]
    pub client_email: Option<String>,
    /// The service account's PKCS#8 RSA key in PEM, with real newlines, `\n` escapes or Dynosaur's `|` for
    /// newlines. With `client_email`, instead of `key_file`.
    #[serde(default)]
    pub private_key: Option<Secret>,
    /// The OAuth token endpoint (default: the key file's `token_uri`, else `https://oauth2.googleapis.com/token`).
    #[serde(default)]
    pub token_uri: Option<SecretUrl>,
    /// The Data API's base URL (default `https://analyticsdata.googleapis.com`; for tests and proxies).
    #[serde(default = "default_api_url")]
    pub api_url: SecretUrl,
    /// Per-request timeout (default `10s`), for the token endpoint and the report each.
    #[serde(default = "default_timeout", with = "crate::duration")]
    pub timeout: Duration,
    /// How many past minutes count as active (`minuteRanges`; default: GA's own, the last 30; up to 60 on
    /// Analytics 360).
    #[serde(default)]
    pub minutes: Option<u32>,
}

fn default_api_url() -> SecretUrl {
    SecretUrl::new(DEFAULT_API_URL)
}

fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}

/// A property id written as a number (`property_id: 123456789`) or a string.
fn digits_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::Number(n) => n.to_string(),
        Raw::Text(t) => t,
    })
}

impl GoogleAnalyticsParams {
    /// Parameters with the defaults and this property and key source.
    pub fn new(property_id: &str) -> GoogleAnalyticsParams {
        GoogleAnalyticsParams {
            property_id: property_id.to_string(),
            key_file: None,
            client_email: None,
            private_key: None,
            token_uri: None,
            api_url: default_api_url(),
            timeout: DEFAULT_TIMEOUT,
            minutes: None,
        }
    }

    /// Checks what serde cannot. An inline key is parsed here; a key file is read by
    /// [`GoogleAnalyticsInput::new`].
    pub fn validate(&self) -> Result<(), String> {
        check_property_id(&self.property_id)?;
        match (&self.key_file, &self.client_email, &self.private_key) {
            (Some(path), None, None) => {
                if path.as_os_str().is_empty() {
                    return Err("`key_file` is empty: expected the path of a JSON key file".into());
                }
            }
            (Some(_), _, _) => {
                return Err(
                    "give either `key_file` or `client_email` + `private_key`, not both".into(),
                )
            }
            (None, Some(email), Some(key)) => {
                check_client_email(email)?;
                if key.is_blank() {
                    return Err("`private_key` is empty: expected a PEM PRIVATE KEY".into());
                }
                Signer::from_pem(key)?;
            }
            (None, Some(_), None) => {
                return Err("`private_key` is missing (it goes with `client_email`)".into())
            }
            (None, None, Some(_)) => {
                return Err("`client_email` is missing (it goes with `private_key`)".into())
            }
            (None, None, None) => {
                return Err("a service-account key is needed: `key_file: PATH`, or \
                     `client_email` + `private_key`"
                    .into())
            }
        }
        if let Some(uri) = &self.token_uri {
            if !uri.is_http() {
                return Err(format!(
                    "`token_uri` must be an http:// or https:// URL, got {uri}"
                ));
            }
        }
        if !self.api_url.is_http() {
            return Err(format!(
                "`api_url` must be an http:// or https:// URL, got {}",
                self.api_url
            ));
        }
        if self.timeout.is_zero() {
            return Err("`timeout` must be more than 0s".into());
        }
        if let Some(m) = self.minutes {
            if !(1..=60).contains(&m) {
                return Err(format!(
                    "`minutes` must be 1 to 60 (standard properties allow up to 30, Analytics 360 up \
                     to 60), got {m}"
                ));
            }
        }
        Ok(())
    }
}

fn check_property_id(id: &str) -> Result<(), String> {
    let id = id.trim();
    let lower = id.to_ascii_lowercase();
    if lower.starts_with("ga:") || lower.starts_with("ua-") {
        return Err(format!(
            "`property_id` {id:?} is a Universal Analytics id; GA4 needs the numeric property id \
             (Admin > Property details, e.g. 123456789): Universal Analytics no longer answers"
        ));
    }
    if let Some(digits) = lower.strip_prefix("properties/") {
        return Err(format!(
            "`property_id` {id:?}: write the digits only ({digits})"
        ));
    }
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`property_id` {id:?} is not a GA4 property id: expected digits, e.g. 123456789"
        ));
    }
    Ok(())
}

fn check_client_email(email: &str) -> Result<(), String> {
    if email.trim().is_empty() || !email.contains('@') {
        return Err(format!(
            "`client_email` {email:?} is not an e-mail: expected the service account's \
             (name@project.iam.gserviceaccount.com)"
        ));
    }
    Ok(())
}

/// One quota figure as GA reports it (proto3 JSON leaves zeros out, so a missing figure is 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct QuotaStatus {
    /// Tokens this request used.
    #[serde(default)]
    pub consumed: u64,
    /// Tokens left in the period.
    #[serde(default)]
    pub remaining: u64,
}

/// The property's quota after a request (`returnPropertyQuota: true`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyQuota {
    /// The property's tokens per hour.
    #[serde(default)]
    pub tokens_per_hour: Option<QuotaStatus>,
    /// The property's tokens per day.
    #[serde(default)]
    pub tokens_per_day: Option<QuotaStatus>,
    /// The property's tokens per hour for this Cloud project.
    #[serde(default)]
    pub tokens_per_project_per_hour: Option<QuotaStatus>,
}

/// Which quota a slowdown is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaPeriod {
    Hour,
    ProjectHour,
    Day,
}

impl QuotaPeriod {
    fn describe(self) -> &'static str {
        match self {
            QuotaPeriod::Hour => "this hour",
            QuotaPeriod::ProjectHour => "this hour for this Cloud project",
            QuotaPeriod::Day => "today",
        }
    }
}

/// Calls spaced further apart to make a quota last until it refills, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slowdown {
    /// One call per this long.
    pub interval: Duration,
    /// The quota that would run out.
    pub period: QuotaPeriod,
    /// Tokens left in it.
    pub remaining: u64,
    /// The estimated tokens per call.
    pub tokens_per_call: f64,
    /// The pace it would run out at.
    pub pace: Duration,
    /// How long until it refills (at the latest).
    pub refill_in: Duration,
}

impl std::fmt::Display for Slowdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} tokens left {} (about {:.0} per call, refilled within {}); at one call every {} they \
             would run out first: one call every {} until then",
            self.remaining,
            self.period.describe(),
            self.tokens_per_call,
            words(self.refill_in),
            words(self.pace),
            words(self.interval)
        )
    }
}

/// What the pacer says before a call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gate {
    /// Call.
    Go,
    /// Slowed down: no call before this interval has passed since the last one.
    Slowed(Duration),
    /// After a 429: no call for this long since the refusal.
    BackingOff(Duration),
}

/// What a quota reading changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Nothing: not slowed before, not slowed now (or still slowed).
    Unchanged,
    /// A slowdown began (warn once).
    Started(Slowdown),
    /// The slowdown is over.
    Ended,
}

/// The pacing rule, pure: it is told when calls happen and what quota GA reports, and answers when to call.
///
/// - The pace is the gap between the engine's retrievals (its cache interval), [`DEFAULT_INTERVAL`] until seen.
/// - Tokens per call: the largest `consumed` of the latest answer, smoothed upward (a cost spike counts at
///   once, a drop slowly), at least 1.
/// - Refill: hourly quotas are assumed to refill a full hour from now (GA says "within an hour"), the daily
///   one at midnight PST (UTC-8, never earlier than the real reset); so the estimate errs on the slow side.
/// - A tenth of what remains is left for other readers of the property.
/// - After a 429: no call for `Retry-After`, else 1, 2, 4, ... minutes (at most an hour), reset by a success.
#[derive(Debug, Clone)]
pub struct QuotaPacer {
    default_pace: Duration,
    tokens_per_call: Option<f64>,
    last_retrieval: Option<Instant>,
    pace: Option<Duration>,
    last_request: Option<Instant>,
    slowdown: Option<Slowdown>,
    backoff_until: Option<(Instant, Duration)>,
    refusals: u32,
}

/// The share of the remaining tokens left for others.
const RESERVE: f64 = 0.1;
/// The first back-off after a 429 without `Retry-After`.
const FIRST_BACKOFF: Duration = Duration::from_secs(60);
/// The longest back-off.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
const HOUR: Duration = Duration::from_secs(3600);

impl Default for QuotaPacer {
    fn default() -> Self {
        QuotaPacer::new(DEFAULT_INTERVAL)
    }
}

impl QuotaPacer {
    /// A pacer that assumes `default_pace` until it has seen two retrievals.
    pub fn new(default_pace: Duration) -> QuotaPacer {
        QuotaPacer {
            default_pace,
            tokens_per_call: None,
            last_retrieval: None,
            pace: None,
            last_request: None,
            slowdown: None,
            backoff_until: None,
            refusals: 0,
        }
    }

    /// The current slowdown.
    pub fn slowdown(&self) -> Option<Slowdown> {
        self.slowdown
    }

    /// A retrieval at `now`: may a request go out?
    pub fn gate(&mut self, now: Instant) -> Gate {
        if let Some(prev) = self.last_retrieval {
            let gap = now.saturating_duration_since(prev);
            if !gap.is_zero() {
                self.pace = Some(gap);
            }
        }
        self.last_retrieval = Some(now);
        if let Some((until, step)) = self.backoff_until {
            if now < until {
                return Gate::BackingOff(step);
            }
        }
        if let (Some(s), Some(last)) = (self.slowdown, self.last_request) {
            if now.saturating_duration_since(last) < s.interval {
                return Gate::Slowed(s.interval);
            }
        }
        Gate::Go
    }

    /// A request went out at `now`.
    pub fn requested(&mut self, now: Instant) {
        self.last_request = Some(now);
    }

    /// GA refused a request at `now` with 429: how long to wait.
    pub fn throttled(&mut self, now: Instant, retry_after: Option<Duration>) -> Duration {
        self.refusals = self.refusals.saturating_add(1);
        let step = retry_after
            .unwrap_or_else(|| FIRST_BACKOFF.saturating_mul(1u32 << (self.refusals - 1).min(10)));
        let step = step.clamp(Duration::from_secs(1), MAX_BACKOFF);
        self.backoff_until = Some((now + step, step));
        step
    }

    /// A successful answer at `now` (`wall` for the daily refill) with the quota GA reported.
    pub fn observe(&mut self, wall: Timestamp, quota: &PropertyQuota) -> Pacing {
        self.refusals = 0;
        self.backoff_until = None;
        let consumed = [
            quota.tokens_per_hour,
            quota.tokens_per_day,
            quota.tokens_per_project_per_hour,
        ]
        .iter()
        .flatten()
        .map(|q| q.consumed)
        .max();
        if let Some(c) = consumed {
            let c = (c as f64).max(1.0);
            self.tokens_per_call = Some(match self.tokens_per_call {
                Some(old) => c.max(old * 0.8 + c * 0.2),
                None => c,
            });
        }
        let tokens_per_call = self.tokens_per_call.unwrap_or(1.0);
        let pace = self
            .pace
            .unwrap_or(self.default_pace)
            .max(Duration::from_secs(1));
        let periods = [
            (QuotaPeriod::Hour, quota.tokens_per_hour, HOUR),
            (
                QuotaPeriod::ProjectHour,
                quota.tokens_per_project_per_hour,
                HOUR,
            ),
            (
                QuotaPeriod::Day,
                quota.tokens_per_day,
                until_midnight_pst(wall),
            ),
        ];
        let mut slowest: Option<Slowdown> = None;
        for (period, status, refill_in) in periods {
            let Some(status) = status else { continue };
            let usable = status.remaining as f64 * (1.0 - RESERVE);
            let needed = refill_in.as_secs_f64() / pace.as_secs_f64() * tokens_per_call;
            if needed <= usable {
                continue;
            }
            let calls = usable / tokens_per_call;
            let interval = if calls < 1.0 {
                refill_in
            } else {
                refill_in.div_f64(calls).min(refill_in)
            };
            if interval <= pace {
                continue;
            }
            if slowest.is_none_or(|s| interval > s.interval) {
                slowest = Some(Slowdown {
                    interval,
                    period,
                    remaining: status.remaining,
                    tokens_per_call,
                    pace,
                    refill_in,
                });
            }
        }
        let before = self.slowdown.is_some();
        self.slowdown = slowest;
        match (before, slowest) {
            (false, Some(s)) => Pacing::Started(s),
            (true, None) => Pacing::Ended,
            _ => Pacing::Unchanged,
        }
    }
}

/// How long from `wall` until the next midnight PST (UTC-8), when GA refills daily quotas.
fn until_midnight_pst(wall: Timestamp) -> Duration {
    const DAY: i64 = 86_400;
    let local = wall.as_second() - 8 * 3600;
    let left = DAY - local.rem_euclid(DAY);
    Duration::from_secs(left.unsigned_abs())
}

/// A duration as people read it in a log line (`45s`, `3m20s`, `2h5m`).
fn words(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{}s", s.max(1))
    } else if s < 3600 {
        match s % 60 {
            0 => format!("{}m", s / 60),
            r => format!("{}m{r}s", s / 60),
        }
    } else {
        match (s % 3600) / 60 {
            0 => format!("{}h", s / 3600),
            m => format!("{}h{m}m", s / 3600),
        }
    }
}

/// A realtime report, the parts read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RealtimeReport {
    #[serde(default)]
    rows: Option<Vec<Row>>,
    #[serde(default)]
    property_quota: Option<PropertyQuota>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    #[serde(default)]
    metric_values: Vec<MetricValue>,
}

#[derive(Deserialize)]
struct MetricValue {
    #[serde(default)]
    value: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct ApiErrorBody {
    #[serde(default)]
    error: ApiError,
}

#[derive(Deserialize, Default)]
struct ApiError {
    #[serde(default)]
    status: String,
    #[serde(default)]
    message: String,
}

/// How one report request went.
enum Failure {
    /// 401: the token was refused.
    Unauthorized(String),
    /// 429: quota exhausted.
    Throttled {
        said: String,
        retry_after: Option<Duration>,
    },
    /// Anything else.
    Input(InputError),
}

/// A good answer: the users and the quota.
struct Report {
    users: f64,
    quota: Option<PropertyQuota>,
}

/// What the input remembers between retrievals.
struct State {
    pacer: QuotaPacer,
    /// When the last good value was read, and the value.
    last_good: Option<(Instant, f64)>,
}

/// The input.
pub struct GoogleAnalyticsInput {
    property_id: String,
    report_url: SecretUrl,
    body: String,
    auth: ServiceAccount,
    client: reqwest::Client,
    conversion: Conversion,
    state: Mutex<State>,
}

impl GoogleAnalyticsInput {
    /// Validates, reads the key (a key file that cannot be read or parsed is an error here, naming the file
    /// and the field) and builds the HTTP client.
    pub fn new(
        params: GoogleAnalyticsParams,
        conversion: Conversion,
    ) -> Result<GoogleAnalyticsInput, String> {
        params.validate()?;
        let key = match (&params.key_file, &params.client_email, &params.private_key) {
            (Some(path), _, _) => google_auth::read_key_file(path)?,
            (None, Some(email), Some(key)) => ServiceAccountKey {
                client_email: email.clone(),
                private_key: key.clone(),
                token_uri: None,
            },
            _ => return Err("a service-account key is needed".into()),
        };
        if let Some(path) = &params.key_file {
            check_client_email(&key.client_email)
                .map_err(|e| format!("key_file {}: {e}", path.display()))?;
        }
        let token_uri = params
            .token_uri
            .clone()
            .or_else(|| key.token_uri.clone().map(SecretUrl::new))
            .unwrap_or_else(|| SecretUrl::new(google_auth::DEFAULT_TOKEN_URI));
        if !token_uri.is_http() {
            return Err(format!(
                "the key file's `token_uri` must be an http:// or https:// URL, got {token_uri}"
            ));
        }
        let auth =
            ServiceAccount::new(&key, token_uri, params.timeout).map_err(|e| {
                match &params.key_file {
                    Some(path) => format!("key_file {}: {e}", path.display()),
                    None => e,
                }
            })?;
        let client = reqwest::Client::builder()
            .timeout(params.timeout)
            .user_agent(concat!("drainscale/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", http_error(&e)))?;
        let property_id = params.property_id.trim().to_string();
        let report_url = params.api_url.trim_end_slashes().join(&format!(
            "/v1beta/properties/{property_id}:runRealtimeReport"
        ));
        let mut body = serde_json::json!({
            "metrics": [{"name": "activeUsers"}],
            "returnPropertyQuota": true,
        });
        if let Some(m) = params.minutes {
            body["minuteRanges"] = serde_json::json!([
                {"name": format!("last {m} minutes"), "startMinutesAgo": m - 1, "endMinutesAgo": 0}
            ]);
        }
        Ok(GoogleAnalyticsInput {
            property_id,
            report_url,
            body: body.to_string(),
            auth,
            client,
            conversion,
            state: Mutex::new(State {
                pacer: QuotaPacer::new(DEFAULT_INTERVAL),
                last_good: None,
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the pacer allows at `now`: `None` to call, or the answer without a call.
    fn paced(&self, now: Instant) -> Option<Result<f64, InputError>> {
        let mut state = self.state();
        match state.pacer.gate(now) {
            Gate::Go => None,
            Gate::BackingOff(step) => Some(Err(InputError::Unavailable(format!(
                "GA4 quota exhausted for property {} (429): waiting {} after the refusal before \
                 asking again",
                self.property_id,
                words(step)
            )))),
            Gate::Slowed(interval) => Some(match state.last_good {
                Some((at, users)) if now.saturating_duration_since(at) < interval => Ok(users),
                _ => Err(InputError::Unavailable(format!(
                    "GA4 quota nearly used up for property {}: calls slowed to one every {} and \
                     the last good value is older than that",
                    self.property_id,
                    words(interval)
                ))),
            }),
        }
    }

    async fn retrieve_at(&self, now: Tick) -> Result<f64, InputError> {
        if let Some(answer) = self.paced(now.mono) {
            return answer;
        }
        self.state().pacer.requested(now.mono);
        let result = self.fetch(now.mono).await;
        let mut state = self.state();
        match result {
            Ok(report) => {
                state.last_good = Some((now.mono, report.users));
                if let Some(quota) = &report.quota {
                    match state.pacer.observe(now.wall, quota) {
                        Pacing::Started(s) => tracing::warn!(
                            property = %self.property_id,
                            "GA4 quota: slowing down: {s}"
                        ),
                        Pacing::Ended => tracing::info!(
                            property = %self.property_id,
                            "GA4 quota: back to the normal pace"
                        ),
                        Pacing::Unchanged => {}
                    }
                }
                Ok(report.users)
            }
            Err(Failure::Throttled { said, retry_after }) => {
                let step = state.pacer.throttled(now.mono, retry_after);
                tracing::warn!(
                    property = %self.property_id,
                    "GA4 answered 429 ({said}): no request for {}",
                    words(step)
                );
                Err(InputError::Unavailable(format!(
                    "GA4 quota exhausted for property {} (429 {said}): waiting {} before asking again",
                    self.property_id,
                    words(step)
                )))
            }
            Err(Failure::Unauthorized(said)) => Err(InputError::Unavailable(format!(
                "GA4 refused the access token (401 {said})"
            ))),
            Err(Failure::Input(e)) => Err(e),
        }
    }

    /// A token, the report, and on a 401 a fresh token and the report once more.
    async fn fetch(&self, now: Instant) -> Result<Report, Failure> {
        let token = self.token(now).await?;
        match self.report(&token).await {
            Err(Failure::Unauthorized(first)) => {
                tracing::info!(property = %self.property_id, "GA4 answered 401 ({first}): fetching a new token");
                self.auth.invalidate();
                let token = self.token(now).await?;
                match self.report(&token).await {
                    Err(Failure::Unauthorized(again)) => {
                        Err(Failure::Input(InputError::Unavailable(format!(
                            "GA4 refused a fresh access token too (401 {again}): check that the \
                             Google Analytics Data API is enabled for the service account's project"
                        ))))
                    }
                    other => other,
                }
            }
            other => other,
        }
    }

    async fn token(&self, now: Instant) -> Result<Secret, Failure> {
        self.auth
            .token(now)
            .await
            .map_err(|e| Failure::Input(InputError::Unavailable(format!("Google OAuth: {e}"))))
    }

    async fn report(&self, token: &Secret) -> Result<Report, Failure> {
        let unavailable = |m: String| Failure::Input(InputError::Unavailable(m));
        let response = self
            .client
            .post(self.report_url.expose())
            .bearer_auth(token.expose())
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(self.body.clone())
            .send()
            .await
            .map_err(|e| unavailable(format!("GA4 Data API: {}", http_error(&e))))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response.bytes().await.map_err(|e| {
            unavailable(format!(
                "GA4 Data API: reading the answer: {}",
                http_error(&e)
            ))
        })?;
        if (200..300).contains(&status) {
            return parse_report(&bytes).map_err(Failure::Input);
        }
        let said = api_error(&bytes);
        match status {
            401 => Err(Failure::Unauthorized(said)),
            429 => Err(Failure::Throttled { said, retry_after }),
            403 => Err(unavailable(format!(
                "GA4 Data API answered 403 ({said}): give the service account {} Viewer access to \
                 property {} and enable the Data API in its project",
                self.auth.client_email(),
                self.property_id
            ))),
            404 => Err(unavailable(format!(
                "GA4 Data API answered 404 ({said}): is {} the GA4 property id?",
                self.property_id
            ))),
            _ => Err(unavailable(format!(
                "GA4 Data API answered HTTP {status} ({said})"
            ))),
        }
    }
}

/// `STATUS: message` from Google's JSON error, else the start of the body.
fn api_error(body: &[u8]) -> String {
    let parsed: ApiErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let e = parsed.error;
    let text = match (e.status.is_empty(), e.message.is_empty()) {
        (false, false) => format!("{}: {}", e.status, e.message),
        (false, true) => e.status,
        (true, false) => e.message,
        (true, true) => {
            let raw = String::from_utf8_lossy(body);
            if raw.trim().is_empty() {
                "empty body".to_string()
            } else {
                raw.into_owned()
            }
        }
    };
    clip(&text)
}

/// The sum of `rows[].metricValues[0].value` (strings in GA's JSON; numbers accepted too). No `rows`: 0.
fn parse_report(body: &[u8]) -> Result<Report, InputError> {
    let report: RealtimeReport = serde_json::from_slice(body).map_err(|e| {
        InputError::Unavailable(format!(
            "GA4 Data API answered with a body that is not a realtime report (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let mut users = 0.0;
    for (i, row) in report.rows.unwrap_or_default().iter().enumerate() {
        let value = row
            .metric_values
            .first()
            .and_then(|m| m.value.as_ref())
            .ok_or_else(|| {
                InputError::BadValue(format!("GA4 report row {i} has no activeUsers value"))
            })?;
        let number = match value {
            serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
            serde_json::Value::Number(n) => n.as_f64(),
            _ => None,
        };
        match number {
            Some(n) if n.is_finite() && n >= 0.0 => users += n,
            _ => {
                return Err(InputError::BadValue(format!(
                    "GA4 report row {i}: activeUsers {} is not a non-negative number",
                    clip(&value.to_string())
                )))
            }
        }
    }
    if !users.is_finite() {
        return Err(InputError::BadValue(
            "GA4 report: the sum of activeUsers is not finite".into(),
        ));
    }
    Ok(Report {
        users,
        quota: report.property_quota,
    })
}

impl InputSpec for GoogleAnalyticsParams {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn describe(&self) -> String {
        let minutes = self
            .minutes
            .map_or("the last 30 minutes (GA's default)".to_string(), |m| {
                format!("the last {m} minutes")
            });
        let key = match (&self.key_file, &self.client_email) {
            (Some(path), _) => format!("key file {}", path.display()),
            (None, Some(email)) => format!("service account {email}"),
            (None, None) => "no key".to_string(),
        };
        format!(
            "GA4 realtime active users of property {} over {minutes}, {key}, via {}",
            self.property_id, self.api_url
        )
    }

    fn default_conversion(&self) -> Option<Conversion> {
        Some(Conversion::PerDyno(DEFAULT_PER_DYNO))
    }

    fn default_interval(&self) -> Duration {
        DEFAULT_INTERVAL
    }

    /// The key file is read now, so `check` names a missing or broken one.
    fn check(&self, _cx: &CheckContext) -> Result<Vec<String>, Invalid> {
        if let Some(path) = &self.key_file {
            google_auth::read_key_file(path).map_err(|e| Invalid::at("key_file", e))?;
        }
        Ok(Vec::new())
    }

    fn build(
        &self,
        conversion: Conversion,
        _ctx: &InputContext,
        _start: Tick,
    ) -> Result<Box<dyn Input>, String> {
        Ok(Box::new(GoogleAnalyticsInput::new(
            self.clone(),
            conversion,
        )?))
    }
}

impl Input for GoogleAnalyticsInput {
    fn retrieve(&self, now: Tick) -> Retrieval<'_> {
        Box::pin(self.retrieve_at(now))
    }

    fn unit(&self) -> &str {
        "users"
    }

    fn conversion(&self) -> &Conversion {
        &self.conversion
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(hour: u64, day: u64, consumed: u64) -> PropertyQuota {
        PropertyQuota {
            tokens_per_hour: Some(QuotaStatus {
                consumed,
                remaining: hour,
            }),
            tokens_per_day: Some(QuotaStatus {
                consumed,
                remaining: day,
            }),
            tokens_per_project_per_hour: None,
        }
    }

    /// 12:00 PST: twelve hours before the daily refill.
    fn noon_pst() -> Timestamp {
        "2026-12-02T20:00:00Z".parse().unwrap()
    }

    fn paced_at(pace: u64) -> (QuotaPacer, Instant) {
        let mut p = QuotaPacer::new(DEFAULT_INTERVAL);
        let t0 = Instant::now();
        assert_eq!(p.gate(t0), Gate::Go);
        p.requested(t0);
        let t1 = t0 + Duration::from_secs(pace);
        assert_eq!(p.gate(t1), Gate::Go);
        p.requested(t1);
        (p, t1)
    }

    #[test]
    fn plenty_of_quota_changes_nothing() {
        let (mut p, t) = paced_at(30);
        assert_eq!(
            p.observe(noon_pst(), &quota(39_000, 190_000, 5)),
            Pacing::Unchanged
        );
        assert_eq!(p.slowdown(), None);
        assert_eq!(p.gate(t + Duration::from_secs(30)), Gate::Go);
    }

    #[test]
    fn a_short_hourly_quota_spaces_calls_to_last_the_hour() {
        let (mut p, t) = paced_at(30);
        // 500 left, 10% kept back: 450 tokens = 45 calls of 10 over an hour: one every 80 s.
        let Pacing::Started(s) = p.observe(noon_pst(), &quota(500, 190_000, 10)) else {
            panic!("no slowdown");
        };
        assert_eq!(s.period, QuotaPeriod::Hour);
        assert_eq!(s.interval, Duration::from_secs(80));
        assert_eq!(s.pace, Duration::from_secs(30));
        assert_eq!(s.remaining, 500);
        assert!(s.to_string().contains("500 tokens left this hour"), "{s}");
        assert_eq!(
            p.gate(t + Duration::from_secs(30)),
            Gate::Slowed(Duration::from_secs(80))
        );
        assert_eq!(
            p.gate(t + Duration::from_secs(60)),
            Gate::Slowed(Duration::from_secs(80))
        );
        assert_eq!(p.gate(t + Duration::from_secs(90)), Gate::Go);
        // Still short: stays slowed without a second warning.
        assert_eq!(
            p.observe(noon_pst(), &quota(480, 190_000, 10)),
            Pacing::Unchanged
        );
        assert!(p.slowdown().is_some());
        // Refilled: back to the pace.
        assert_eq!(
            p.observe(noon_pst(), &quota(40_000, 190_000, 10)),
            Pacing::Ended
        );
        assert_eq!(p.slowdown(), None);
    }

    #[test]
    fn a_short_daily_quota_counts_until_midnight_pst() {
        let (mut p, _) = paced_at(30);
        // 12 h left; 200 * 0.9 / 10 = 18 calls: one every 40 minutes.
        let Pacing::Started(s) = p.observe(noon_pst(), &quota(40_000, 200, 10)) else {
            panic!("no slowdown");
        };
        assert_eq!(s.period, QuotaPeriod::Day);
        assert_eq!(s.refill_in, Duration::from_secs(12 * 3600));
        assert_eq!(s.interval, Duration::from_secs(40 * 60));
    }

    #[test]
    fn an_exhausted_quota_waits_for_the_refill() {
        let (mut p, _) = paced_at(30);
        // Proto3 JSON leaves `remaining: 0` out: 0 tokens left.
        let q: PropertyQuota = serde_json::from_str(
            r#"{"tokensPerHour":{"consumed":3},"tokensPerDay":{"consumed":3,"remaining":100000}}"#,
        )
        .unwrap();
        let Pacing::Started(s) = p.observe(noon_pst(), &q) else {
            panic!("no slowdown");
        };
        assert_eq!(s.interval, HOUR);
    }

    #[test]
    fn a_429_backs_off_longer_each_time_until_a_success() {
        let mut p = QuotaPacer::default();
        let t0 = Instant::now();
        assert_eq!(p.throttled(t0, None), Duration::from_secs(60));
        assert_eq!(
            p.gate(t0 + Duration::from_secs(59)),
            Gate::BackingOff(Duration::from_secs(60))
        );
        assert_eq!(p.gate(t0 + Duration::from_secs(60)), Gate::Go);
        let t1 = t0 + Duration::from_secs(60);
        assert_eq!(p.throttled(t1, None), Duration::from_secs(120));
        assert_eq!(
            p.throttled(t1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            p.throttled(t1, Some(Duration::from_secs(86_400))),
            MAX_BACKOFF
        );
        p.observe(noon_pst(), &quota(40_000, 200_000, 1));
        assert_eq!(p.gate(t1 + Duration::from_secs(1)), Gate::Go);
        assert_eq!(p.throttled(t1, None), Duration::from_secs(60));
    }

    #[test]
    fn tokens_per_call_rise_at_once_and_fall_slowly() {
        let (mut p, _) = paced_at(30);
        p.observe(noon_pst(), &quota(40_000, 200_000, 5));
        p.observe(noon_pst(), &quota(40_000, 200_000, 50));
        assert_eq!(p.tokens_per_call, Some(50.0));
        p.observe(noon_pst(), &quota(40_000, 200_000, 5));
        assert_eq!(p.tokens_per_call, Some(41.0));
    }

    #[test]
    fn midnight_pst_is_utc_eight() {
        let t: Timestamp = "2026-12-02T07:59:00Z".parse().unwrap();
        assert_eq!(until_midnight_pst(t), Duration::from_secs(60));
        let t: Timestamp = "2026-12-02T08:00:00Z".parse().unwrap();
        assert_eq!(until_midnight_pst(t), Duration::from_secs(86_400));
    }

    #[test]
    fn values_are_summed_and_checked() {
        let r = parse_report(
            br#"{"rows":[{"metricValues":[{"value":"12"}]},{"metricValues":[{"value":"30"}]}]}"#,
        )
        .unwrap();
        assert_eq!(r.users, 42.0);
        assert_eq!(
            parse_report(br#"{"kind":"analyticsData#runRealtimeReport"}"#)
                .unwrap()
                .users,
            0.0
        );
        for bad in [
            r#"{"rows":[{"metricValues":[{"value":"abc"}]}]}"#,
            r#"{"rows":[{"metricValues":[{"value":"-1"}]}]}"#,
            r#"{"rows":[{"metricValues":[{"value":"NaN"}]}]}"#,
            r#"{"rows":[{"metricValues":[{"value":"inf"}]}]}"#,
            r#"{"rows":[{"metricValues":[]}]}"#,
            r#"{"rows":[{"metricValues":[{"value":true}]}]}"#,
        ] {
            assert!(
                matches!(parse_report(bad.as_bytes()), Err(InputError::BadValue(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_report(b"<html>"),
            Err(InputError::Unavailable(_))
        ));
    }

    #[test]
    fn params_are_validated_with_the_key_named() {
        let mut p = GoogleAnalyticsParams::new("ga:12345");
        p.key_file = Some("/k.json".into());
        assert!(p
            .validate()
            .unwrap_err()
            .contains("GA4 needs the numeric property id"));
        p.property_id = "UA-1234-1".into();
        assert!(p.validate().unwrap_err().contains("Universal Analytics"));
        p.property_id = "12x".into();
        assert!(p.validate().unwrap_err().contains("`property_id`"));
        p.property_id = "123".into();
        assert_eq!(p.validate(), Ok(()));
        p.minutes = Some(61);
        assert!(p.validate().unwrap_err().contains("`minutes`"));
        p.minutes = Some(5);
        p.client_email = Some("a@b".into());
        assert!(p.validate().unwrap_err().contains("not both"));
        p.key_file = None;
        assert!(p
            .validate()
            .unwrap_err()
            .contains("`private_key` is missing"));
        p.private_key = Some(Secret::new(
            "-----BEGIN RSA PRIVATE KEY-----|hunter2|-----END RSA PRIVATE KEY-----",
        ));
        let e = p.validate().unwrap_err();
        assert!(e.contains("PKCS#1") && !e.contains("hunter2"), "{e}");
        p.client_email = None;
        assert!(p
            .validate()
            .unwrap_err()
            .contains("`client_email` is missing"));
        p.private_key = None;
        assert!(p.validate().unwrap_err().contains("key_file"));
    }

    #[test]
    fn params_read_from_yaml_with_defaults() {
        let p: GoogleAnalyticsParams =
            serde_yaml_ng::from_str("property_id: 123456789\nkey_file: /etc/ga.json\n").unwrap();
        assert_eq!(p.property_id, "123456789");
        assert_eq!(p.timeout, DEFAULT_TIMEOUT);
        assert_eq!(p.api_url.expose(), DEFAULT_API_URL);
        assert_eq!(p.minutes, None);
        assert!(p.describe().contains("property 123456789"));
        let e = serde_yaml_ng::from_str::<GoogleAnalyticsParams>("property_id: 1\nkey: x\n")
            .unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn google_errors_are_told_by_status_and_message() {
        let body = br#"{"error":{"code":429,"message":"Exhausted property tokens per hour.","status":"RESOURCE_EXHAUSTED"}}"#;
        assert_eq!(
            api_error(body),
            "RESOURCE_EXHAUSTED: Exhausted property tokens per hour."
        );
        assert_eq!(api_error(b""), "empty body");
        assert!(api_error("x".repeat(1000).as_bytes()).chars().count() <= 201);
    }
}
