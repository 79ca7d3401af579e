//! The `papertrail` input: the log volume a Papertrail account has used today, in bytes, for the Papertrail
//! add-on's plan controller (`capacity: log_volume` by default, compared with each plan's daily volume).
//!
//! It reads `GET {api_url}/accounts` with the `X-Papertrail-Token` header and takes `log_data_transfer_used`
//! (other fields, such as `log_data_transfer_plan_limit`, are ignored). Papertrail's volume starts again from
//! zero at UTC midnight, so the input names the UTC day as its window epoch: after midnight, yesterday's values
//! no longer hold the plan.
//!
//! Every failure is an error, never zero bytes: 401/403 (the token), 429 (no request until `Retry-After`, else
//! `X-Rate-Limit-Reset`, else 60 s, has passed), other statuses, timeouts, a body that is not JSON, and a
//! missing, non-numeric or negative `log_data_transfer_used`.

use super::super::clock::Tick;
use super::super::input::{Conversion, Input, InputError, Retrieval};
use super::{clip, parse_with, CheckContext, DynosaurEntry, DynosaurInput, InputContext};
use super::{InputKind, InputSpec};
use crate::invalid::Invalid;
use crate::secret::{http_error, Secret, SecretUrl};
use serde::Deserialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `type: papertrail`, Dynosaur's `PapertrailInputPlugin`.
pub const KIND: InputKind = InputKind {
    name: "papertrail",
    parse: |v| parse_with::<PapertrailParams>(v, PapertrailParams::validate),
    dynosaur: Some(DynosaurInput {
        classes: &["PapertrailInputPlugin"],
        translate: |_, keys| from_dynosaur(keys),
        from_env: &[],
    }),
};

/// Papertrail's API.
pub const DEFAULT_API_URL: &str = "https://papertrailapp.com/api/v1";

/// Per-request timeout by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default cache interval: 5 minutes. The day's volume moves slowly, and Papertrail allows 25 requests per
/// 5 seconds per token, shared with every other use of the token.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

/// Default hysteresis period: a day (the window also starts again at UTC midnight).
pub const DEFAULT_HYSTERESIS: Duration = Duration::from_secs(86_400);

/// The plan table's figure the volume is compared with.
pub const FIGURE: &str = "log_volume";

/// How long to wait after a 429 that says neither `Retry-After` nor `X-Rate-Limit-Reset`.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);
/// The longest wait after a 429, whatever the headers say.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The range of Dynosaur's `PapertrailRandomInputPlugin` as a `random` input: 0 to 1 GB a day (choklad to
/// liatorp), unless the entry gives `min`/`max`.
pub const RANDOM_MAX_BYTES: f64 = 1024.0 * 1024.0 * 1024.0;

/// `type: papertrail` parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PapertrailParams {
    /// The account's API token (Papertrail: Settings > Profile > API Token). Required; a secret, never printed.
    #[serde(deserialize_with = "empty_if_null")]
    pub api_token: Secret,
    /// The API's base URL (default `https://papertrailapp.com/api/v1`; for tests and proxies).
    #[serde(default)]
    pub api_url: Option<SecretUrl>,
    /// Per-request timeout (default `10s`).
    #[serde(default = "default_timeout", with = "crate::duration")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}

/// A secret written as nothing (an unset variable: `api_token: ${UNSET}`) reads as empty, so `validate` names
/// the key.
fn empty_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    Ok(Option::<Secret>::deserialize(d)?.unwrap_or_else(|| Secret::new("")))
}

impl PapertrailParams {
    /// Parameters with the defaults.
    pub fn new(api_token: &str) -> PapertrailParams {
        PapertrailParams {
            api_token: Secret::new(api_token),
            api_url: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.api_token.is_blank() {
            return Err("`api_token` is empty: expected the Papertrail account's API token".into());
        }
        if self.api_token.expose().trim() != self.api_token.expose() {
            return Err("`api_token` has spaces around it: remove them".into());
        }
        if let Some(url) = &self.api_url {
            if !url.is_http() {
                return Err(format!(
                    "`api_url` must be an http:// or https:// URL, got {url}"
                ));
            }
        }
        if self.timeout.is_zero() {
            return Err("`timeout` must be more than 0s".into());
        }
        Ok(())
    }

    /// The API's base URL: `api_url`, else Papertrail's.
    pub fn base_url(&self) -> SecretUrl {
        self.api_url
            .clone()
            .unwrap_or_else(|| SecretUrl::new(DEFAULT_API_URL))
            .trim_end_slashes()
    }
}

/// Dynosaur's `PapertrailInputPlugin`: `papertrail_api_key` is `api_token`, `max_percentage_threshold` the
/// plan threshold; this type's own keys pass as they are. An empty key (an unset environment variable) is an
/// error naming `papertrail_api_key`.
pub fn from_dynosaur(mut keys: serde_yaml_ng::Mapping) -> Result<DynosaurEntry, String> {
    let threshold = super::dynosaur_threshold(&mut keys)?;
    let token = match keys.remove("papertrail_api_key") {
        Some(serde_yaml_ng::Value::String(s)) => s.trim().to_string(),
        Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
        Some(serde_yaml_ng::Value::Null) | None => String::new(),
        Some(_) => return Err("papertrail_api_key: expected the API token as text".into()),
    };
    if token.is_empty() {
        return Err(
            "papertrail_api_key is missing or empty (an unset environment variable? Dynosaur's sample \
             reads PAPERTRAIL_API_KEY): expected the Papertrail account's API token"
                .into(),
        );
    }
    keys.insert("api_token".into(), token.into());
    Ok(DynosaurEntry {
        params: keys,
        threshold,
        ..DynosaurEntry::default()
    })
}

/// Papertrail's error message (`{"message": ...}`), else the start of the body.
fn api_error(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = match v["message"].as_str() {
        Some(m) => m.to_string(),
        None => {
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

/// `GET /accounts`'s answer: `log_data_transfer_used`, bytes used today (a number of 0 or more).
pub fn parse_accounts(body: &[u8]) -> Result<f64, InputError> {
    let unavailable = |m: String| InputError::Unavailable(m);
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        unavailable(format!(
            "Papertrail answered with a body that is not JSON (line {}, column {}): {}",
            e.line(),
            e.column(),
            clip(&String::from_utf8_lossy(body))
        ))
    })?;
    let Some(used) = v.get("log_data_transfer_used") else {
        return Err(unavailable(format!(
            "Papertrail's answer has no log_data_transfer_used: {}",
            clip(&v.to_string())
        )));
    };
    match used.as_f64() {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(n),
        _ => Err(unavailable(format!(
            "Papertrail's log_data_transfer_used is {}, not a number of bytes of 0 or more",
            clip(&used.to_string())
        ))),
    }
}

/// The UTC day of `wall` (days since 1970-01-01): Papertrail's volume starts again at each.
pub fn utc_day(wall: jiff::Timestamp) -> i64 {
    wall.as_second().div_euclid(86_400)
}

/// The input.
pub struct PapertrailInput {
    url: SecretUrl,
    api_token: Secret,
    client: reqwest::Client,
    conversion: Conversion,
    /// After a 429: no request before this.
    backoff_until: Mutex<Option<Instant>>,
}

impl PapertrailInput {
    /// Validates and builds the HTTP client.
    pub fn new(
        params: PapertrailParams,
        conversion: Conversion,
    ) -> Result<PapertrailInput, String> {
        params.validate()?;
        let client = reqwest::Client::builder()
            .timeout(params.timeout)
            .user_agent(concat!("drainscale/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", http_error(&e)))?;
        Ok(PapertrailInput {
            url: params.base_url().join("/accounts"),
            api_token: params.api_token.clone(),
            client,
            conversion,
            backoff_until: Mutex::new(None),
        })
    }

    /// The URL this input reads (a secret: a proxy's URL may carry credentials).
    pub fn request_url(&self) -> &SecretUrl {
        &self.url
    }

    fn backoff(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.backoff_until.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn retrieve_at(&self, now: Tick) -> Result<f64, InputError> {
        let unavailable = |m: String| InputError::Unavailable(m);
        if let Some(until) = *self.backoff() {
            if now.mono < until {
                return Err(unavailable(format!(
                    "Papertrail answered 429: no request for {}s more",
                    until.saturating_duration_since(now.mono).as_secs().max(1)
                )));
            }
        }
        let response = self
            .client
            .get(self.url.expose())
            .header("X-Papertrail-Token", self.api_token.expose())
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| unavailable(format!("Papertrail: {}", http_error(&e))))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let wait = header("Retry-After")
            .and_then(|v| crate::retry::retry_after_value(&v, now.wall))
            .or_else(|| {
                header("X-Rate-Limit-Reset")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs)
            });
        let bytes = response.bytes().await.map_err(|e| {
            unavailable(format!(
                "Papertrail: reading the answer: {}",
                http_error(&e)
            ))
        })?;
        if (200..300).contains(&status) {
            *self.backoff() = None;
            return parse_accounts(&bytes);
        }
        let said = api_error(&bytes);
        Err(match status {
            401 | 403 => unavailable(format!(
                "Papertrail refused the token ({status} {said}): `api_token` must be the API token of a \
                 user of the account (Settings > Profile > API Token)"
            )),
            429 => {
                let step = wait
                    .unwrap_or(DEFAULT_BACKOFF)
                    .clamp(Duration::from_secs(1), MAX_BACKOFF);
                *self.backoff() = Some(now.mono + step);
                tracing::warn!(
                    "Papertrail answered 429 ({said}): no request for {}s",
                    step.as_secs()
                );
                unavailable(format!(
                    "Papertrail answered 429 ({said}): no request for {}s (its limit is 25 requests per \
                     5 s per token)",
                    step.as_secs()
                ))
            }
            _ => unavailable(format!("Papertrail answered HTTP {status} ({said})")),
        })
    }
}

impl InputSpec for PapertrailParams {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn describe(&self) -> String {
        let via = match &self.api_url {
            Some(url) => url.to_string(),
            None => DEFAULT_API_URL.to_string(),
        };
        format!("Papertrail log volume used today (bytes, resets at UTC midnight), via {via}")
    }

    fn default_conversion(&self) -> Option<Conversion> {
        Some(Conversion::Capacity {
            figure: FIGURE.into(),
            threshold: None,
        })
    }

    /// 5 minutes: the volume moves slowly.
    fn default_interval(&self) -> Duration {
        DEFAULT_INTERVAL
    }

    /// A day: the plan follows the day's volume (the window also starts again at UTC midnight).
    fn default_hysteresis_period(&self) -> Duration {
        DEFAULT_HYSTERESIS
    }

    /// Warns of an interval under a minute (the token's requests are rate limited, shared with other uses).
    fn check(&self, cx: &CheckContext) -> Result<Vec<String>, Invalid> {
        let mut warnings = Vec::new();
        if cx.interval < Duration::from_secs(60) {
            warnings.push(format!(
                "interval {} is under a minute: the day's volume moves slowly, and Papertrail allows 25 \
                 requests per 5 s per token, shared with every other use of the token",
                crate::duration::format(cx.interval)
            ));
        }
        Ok(warnings)
    }

    fn build(
        &self,
        conversion: Conversion,
        _ctx: &InputContext,
        _start: Tick,
    ) -> Result<Box<dyn Input>, String> {
        Ok(Box::new(PapertrailInput::new(self.clone(), conversion)?))
    }
}

impl Input for PapertrailInput {
    fn retrieve(&self, now: Tick) -> Retrieval<'_> {
        Box::pin(self.retrieve_at(now))
    }

    fn unit(&self) -> &str {
        "bytes"
    }

    fn conversion(&self) -> &Conversion {
        &self.conversion
    }

    /// The UTC day: Papertrail's volume starts again at midnight.
    fn window_epoch(&self, wall: jiff::Timestamp) -> Option<i64> {
        Some(utc_day(wall))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Result<PapertrailParams, String> {
        let p: PapertrailParams = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        p.validate()?;
        Ok(p)
    }

    fn mapping(text: &str) -> serde_yaml_ng::Mapping {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn keys_defaults_and_their_errors() {
        let p = yaml("api_token: abc123").unwrap();
        assert_eq!(p, PapertrailParams::new("abc123"));
        assert_eq!(p.base_url().expose(), DEFAULT_API_URL);
        assert_eq!(p.default_interval(), Duration::from_secs(300));
        assert_eq!(p.default_hysteresis_period(), Duration::from_secs(86_400));
        assert_eq!(
            p.default_conversion(),
            Some(Conversion::Capacity {
                figure: "log_volume".into(),
                threshold: None
            })
        );
        let p = yaml("api_token: T\napi_url: http://127.0.0.1:9/api/v1/\ntimeout: 2s").unwrap();
        assert_eq!(p.timeout, Duration::from_secs(2));
        let input = PapertrailInput::new(p, Conversion::PerDyno(1.0)).unwrap();
        assert_eq!(
            input.request_url().expose(),
            "http://127.0.0.1:9/api/v1/accounts"
        );
        for (text, says) in [
            ("api_url: http://x", "missing field `api_token`"),
            ("api_token: ''", "`api_token` is empty"),
            ("api_token:", "`api_token` is empty"),
            ("api_token: ' T '", "spaces"),
            (
                "api_token: T\napi_url: ftp://x",
                "`api_url` must be an http",
            ),
            ("api_token: T\ntimeout: 0s", "`timeout`"),
            ("api_token: T\napi_key: x", "unknown field `api_key`"),
        ] {
            let e = yaml(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        let p = yaml("api_token: SECRET9").unwrap();
        assert!(!p.describe().contains("SECRET9") && !format!("{p:?}").contains("SECRET9"));
        assert!(
            p.describe()
                .ends_with("via https://papertrailapp.com/api/v1"),
            "{}",
            p.describe()
        );
        let p = yaml("api_token: T\napi_url: 'https://user:hunter2@proxy.example/pt'").unwrap();
        assert!(!p.describe().contains("hunter2"), "{}", p.describe());
    }

    #[test]
    fn the_accounts_answer_gives_todays_bytes() {
        assert_eq!(
            parse_accounts(
                br#"{"log_data_transfer_used":125829120,"log_data_transfer_plan_limit":209715200}"#
            ),
            Ok(125_829_120.0)
        );
        assert_eq!(parse_accounts(br#"{"log_data_transfer_used":0}"#), Ok(0.0));
        for (bad, says) in [
            (
                r#"{"log_data_transfer_plan_limit":1}"#,
                "no log_data_transfer_used",
            ),
            (r#"{"log_data_transfer_used":-5}"#, "-5"),
            (r#"{"log_data_transfer_used":"12"}"#, "\"12\""),
            (r#"{"log_data_transfer_used":null}"#, "null"),
            ("<html>busy</html>", "not JSON"),
            ("[]", "no log_data_transfer_used"),
        ] {
            match parse_accounts(bad.as_bytes()) {
                Err(InputError::Unavailable(m)) => assert!(m.contains(says), "{bad}: {m}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_epoch_is_the_utc_day() {
        let day = |t: &str| utc_day(t.parse().unwrap());
        assert_eq!(day("1970-01-01T00:00:00Z"), 0);
        assert_eq!(day("2026-12-03T23:59:59Z") + 1, day("2026-12-04T00:00:00Z"));
        assert_eq!(day("2026-12-03T00:00:00Z"), day("2026-12-03T23:59:59Z"));
        // Midnight in UTC, not in the local zone of the time written.
        assert_eq!(
            day("2026-12-03T23:30:00-01:00"),
            day("2026-12-04T00:10:00Z")
        );
        assert_eq!(day("1969-12-31T23:00:00Z"), -1);
    }

    #[test]
    fn dynosaurs_papertrail_plugin_maps_key_and_threshold() {
        let e = from_dynosaur(mapping(
            "papertrail_api_key: ' tok3n '\nmax_percentage_threshold: 95\n",
        ))
        .unwrap();
        assert_eq!(e.threshold, Some(95.0));
        assert_eq!(e.skip, None);
        assert_eq!(e.conversion, None);
        let p: PapertrailParams =
            serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(e.params)).unwrap();
        assert_eq!(p, PapertrailParams::new("tok3n"));
        let e = from_dynosaur(mapping(
            "papertrail_api_key: t\nmax_percentage_threshold: '80.5'\n",
        ))
        .unwrap();
        assert_eq!(e.threshold, Some(80.5));
        assert_eq!(
            from_dynosaur(mapping("papertrail_api_key: t\n"))
                .unwrap()
                .threshold,
            None
        );
        for (text, says) in [
            ("papertrail_api_key: ''\n", "papertrail_api_key"),
            ("papertrail_api_key:\n", "papertrail_api_key"),
            ("max_percentage_threshold: 90\n", "papertrail_api_key"),
            (
                "papertrail_api_key: t\nmax_percentage_threshold: 120\n",
                "max_percentage_threshold",
            ),
            (
                "papertrail_api_key: t\nmax_percentage_threshold: lots\n",
                "max_percentage_threshold",
            ),
        ] {
            let e = from_dynosaur(mapping(text)).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    /// Dynosaur's `PapertrailRandomInputPlugin` through the `random` type's mapping.
    fn random_toy(keys: serde_yaml_ng::Mapping) -> Result<DynosaurEntry, String> {
        let mapping = super::super::random::KIND.dynosaur.as_ref().unwrap();
        (mapping.translate)("PapertrailRandomInputPlugin", keys)
    }

    #[test]
    fn dynosaurs_random_papertrail_plugin_is_a_random_volume() {
        let e = random_toy(mapping("max_percentage_threshold: 90\n")).unwrap();
        assert_eq!(e.threshold, Some(90.0));
        assert_eq!(
            e.conversion,
            Some(Conversion::Capacity {
                figure: "log_volume".into(),
                threshold: None
            })
        );
        let p: super::super::random::RandomParams =
            serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(e.params)).unwrap();
        assert_eq!((p.min, p.max), (Some(0.0), Some(RANDOM_MAX_BYTES)));
        assert_eq!(p.validate(), Ok(()));
        let e = random_toy(mapping("seed: 4\nmin: 10\nmax: 20\n")).unwrap();
        let p: super::super::random::RandomParams =
            serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(e.params)).unwrap();
        assert_eq!((p.seed, p.min, p.max), (Some(4), Some(10.0), Some(20.0)));
        assert!(random_toy(mapping("max_percentage_threshold: 0\n")).is_err());
        // Registered with the random type.
        assert_eq!(
            super::super::dynosaur_kind("Dynosaur::Inputs::PapertrailRandomInputPlugin")
                .map(|k| k.name),
            Some("random")
        );
        assert_eq!(
            super::super::dynosaur_kind("PapertrailInputPlugin").map(|k| k.name),
            Some("papertrail")
        );
    }
}
