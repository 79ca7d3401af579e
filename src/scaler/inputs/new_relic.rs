//! The `new_relic` input: requests per minute of an application as New Relic measures it, 150 per dyno by
//! default (Dynosaur's `rpm_per_dyno`). Two ways to read it, chosen by the keys:
//!
//! - NerdGraph (the current API, the default): `POST {api_url}/graphql` with a user key, running NRQL in an
//!   account: `app_name` asks for `rate(count(*), 1 minute)` of the app's transactions over the last 5 minutes,
//!   or `nrql` runs any query that returns one number.
//! - REST v2 (legacy, what Dynosaur used; its end of life is 2027-07-31): `app_id` reads the application's
//!   `HttpDispatcher` `requests_per_minute`, summarized over the last `window` (10 minutes, as Dynosaur: shorter
//!   windows tend to answer 0).
//!
//! Every failure is an error, never zero requests: 401/403 (the key), 404, 429 (no request until `Retry-After`
//! has passed), 5xx, timeouts, a body that is not the expected JSON, NerdGraph's `errors` (even beside `data`),
//! an empty result (New Relic answers a row with 0 when there is no traffic, so no row means the query matches
//! nothing), several or no numbers where one is expected, and a value that is not a finite number of 0 or more.
//!
//! It does not read other REST metrics, Browser or Synthetics data, and it does not page through NRQL results:
//! only the first result row counts.

use super::super::clock::Tick;
use super::super::input::{Conversion, Input, InputError, Retrieval};
use super::clip;
#[cfg(test)]
use super::MESSAGE_CHARS;
use super::{
    parse_with, CheckContext, DynosaurEntry, DynosaurInput, InputContext, InputKind, InputSpec,
};
use crate::invalid::Invalid;
use crate::secret::{http_error, Secret, SecretUrl};
use jiff::Timestamp;
use serde::{Deserialize, Deserializer};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `type: new_relic`, Dynosaur's `NewRelicInputPlugin` (0.6+, `app_id`) and `NewRelicPlugin` (older, `appid`).
pub const KIND: InputKind = InputKind {
    name: "new_relic",
    parse: |v| parse_with::<NewRelicParams>(v, NewRelicParams::validate),
    dynosaur: Some(DynosaurInput {
        classes: &["NewRelicInputPlugin", "NewRelicPlugin"],
        translate: |_, keys| from_dynosaur(keys),
        from_env: &[],
    }),
};

/// What `check` says of every REST v2 entry.
pub const REST_END_OF_LIFE: &str = "New Relic's REST API v2 (`app_id`) reaches end of life on 2027-07-31: \
     switch to NerdGraph by replacing `app_id` with `account_id: <your account id>` and `app_name: <the app's \
     name in APM>` (the same user key NRAK-...)";

/// What the Dynosaur mapping says of a plugin it reads through REST v2.
const DYNOSAUR_REST: &str = "read through New Relic's REST API v2, as Dynosaur did; REST v2 ends on \
     2027-07-31: to switch, replace `app_id` in this entry with `account_id: <your account id>` and \
     `app_name: <the app's name in APM>` (NerdGraph, the same user key)";

/// Dynosaur's `key`, `app_id` (`appid` in the older `NewRelicPlugin`) and `rpm_per_dyno`: the REST v2 mode.
/// Dynosaur's New Relic plugins read no other keys of their own; anything else is refused as unknown, except
/// this type's own keys: with `account_id` (and `app_name` or `nrql`) the entry runs on NerdGraph. A key or
/// app id left empty (an unset environment variable) skips the input with the reason. `api_key` is read as
/// `key`.
fn from_dynosaur(mut keys: serde_yaml_ng::Mapping) -> Result<DynosaurEntry, String> {
    let mut entry = DynosaurEntry::default();
    if let Some(n) = keys.remove("rpm_per_dyno") {
        let per_dyno = match &n {
            serde_yaml_ng::Value::Number(n) => n.as_f64(),
            serde_yaml_ng::Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        entry.per_dyno = Some(
            per_dyno.ok_or("rpm_per_dyno: expected a number of requests per minute per dyno")?,
        );
    }
    let key = match (keys.remove("key"), keys.remove("api_key")) {
        (Some(_), Some(_)) => return Err("give `key` or `api_key`, not both".into()),
        (a, b) => a.or(b),
    };
    let key_blank = match &key {
        None | Some(serde_yaml_ng::Value::Null) => true,
        Some(serde_yaml_ng::Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    };
    if key_blank {
        entry.skip = Some(
            "`key` is missing or empty (an unset environment variable?): New Relic needs a user key \
             (NRAK-...)"
                .into(),
        );
        return Ok(entry);
    }
    if let Some(key) = key {
        keys.insert("api_key".into(), key);
    }
    let app_id = match (keys.remove("app_id"), keys.remove("appid")) {
        (Some(_), Some(_)) => return Err("give `app_id` or `appid`, not both".into()),
        (a, b) => a.or(b),
    };
    let app_id = app_id.filter(|id| match id {
        serde_yaml_ng::Value::Null => false,
        serde_yaml_ng::Value::String(s) => !s.trim().is_empty(),
        _ => true,
    });
    if let Some(id) = &app_id {
        keys.insert("app_id".into(), id.clone());
    }
    if !keys.contains_key("account_id") {
        if app_id.is_none() {
            entry.skip = Some(
                "`app_id` (`appid`) is missing or empty: REST v2 needs the application's id (the number \
                 in its APM URL)"
                    .into(),
            );
            return Ok(entry);
        }
        entry.warnings.push(DYNOSAUR_REST.into());
    }
    entry.params = keys;
    Ok(entry)
}

/// Default cache interval: 60 s. New Relic aggregates per minute: a faster poll reads the same minute again
/// (and a partial current minute, which reads low).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// Dynosaur's `rpm_per_dyno`.
pub const DEFAULT_PER_DYNO: f64 = 150.0;

/// The US region's API.
pub const US_API_URL: &str = "https://api.newrelic.com";

/// The EU region's API.
pub const EU_API_URL: &str = "https://api.eu.newrelic.com";

/// Per-request timeout by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The REST v2 window by default: 10 minutes, as Dynosaur (shorter windows tend to return 0).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(600);

/// How long to wait after a 429 without `Retry-After`.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);
/// The longest wait after a 429, whatever `Retry-After` says.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The NerdGraph query; the account and the NRQL go in as variables, so nothing needs escaping by hand.
const GRAPHQL_QUERY: &str =
    "query($id: Int!, $nrql: Nrql!) { actor { account(id: $id) { nrql(query: $nrql) { results } } } }";

/// Which New Relic data center the account lives in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// `https://api.newrelic.com`.
    #[default]
    Us,
    /// `https://api.eu.newrelic.com`.
    Eu,
}

impl Region {
    /// The region's API base URL.
    pub fn api_url(self) -> &'static str {
        match self {
            Region::Us => US_API_URL,
            Region::Eu => EU_API_URL,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
        }
    }
}

/// `type: new_relic` parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRelicParams {
    /// A New Relic user key (`NRAK-...`; API keys > Create a key > User). Required; a secret, never printed.
    /// REST API keys stopped working on 2025-03-01 (`check` warns about a key that does not look like a user key).
    pub api_key: Secret,
    /// NerdGraph: the account to run the NRQL in (the number in the account's URLs). Required unless `app_id`.
    #[serde(default, deserialize_with = "id_number")]
    pub account_id: Option<u64>,
    /// NerdGraph: the application's name in APM; the query is then
    /// `SELECT rate(count(*), 1 minute) FROM Transaction WHERE appName = '<app_name>' SINCE 5 minutes ago`.
    /// Either this or `nrql`.
    #[serde(default)]
    pub app_name: Option<String>,
    /// NerdGraph: any NRQL whose first result row holds one number, instead of `app_name`.
    #[serde(default)]
    pub nrql: Option<String>,
    /// REST v2 (legacy, Dynosaur's): the APM application id. Selects the REST mode; without
    /// `account_id`, `app_name` and `nrql`.
    #[serde(default, deserialize_with = "id_number")]
    pub app_id: Option<u64>,
    /// REST v2: how far back the summarized `requests_per_minute` reaches (default `10m`, 1m to 1d).
    #[serde(default, with = "crate::duration::option")]
    pub window: Option<Duration>,
    /// `us` (default, `https://api.newrelic.com`) or `eu` (`https://api.eu.newrelic.com`).
    #[serde(default)]
    pub region: Region,
    /// The API's base URL, instead of the region's (for tests and proxies).
    #[serde(default)]
    pub api_url: Option<SecretUrl>,
    /// Per-request timeout (default `10s`).
    #[serde(default = "default_timeout", with = "crate::duration")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}

/// An id written as a number (`app_id: 12345`) or as digits in a string (`app_id: "12345"`, from a variable).
fn id_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Number(n)) => Ok(Some(n)),
        Some(Raw::Text(t)) => {
            t.trim().parse::<u64>().map(Some).map_err(|_| {
                serde::de::Error::custom(format!("expected an id of digits, got {t:?}"))
            })
        }
    }
}

/// What the input asks, once the keys are read.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// NerdGraph: this NRQL in this account.
    NerdGraph { account_id: u64, nrql: String },
    /// REST v2: this application's `HttpDispatcher` over this window.
    Rest { app_id: u64, window: Duration },
}

impl NewRelicParams {
    /// Parameters with the defaults: NerdGraph, the default query for `app_name` in `account_id`.
    pub fn new(api_key: &str, account_id: u64, app_name: &str) -> NewRelicParams {
        NewRelicParams {
            api_key: Secret::new(api_key),
            account_id: Some(account_id),
            app_name: Some(app_name.to_string()),
            nrql: None,
            app_id: None,
            window: None,
            region: Region::Us,
            api_url: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Parameters for the REST v2 mode on `app_id`.
    pub fn rest(api_key: &str, app_id: u64) -> NewRelicParams {
        NewRelicParams {
            account_id: None,
            app_name: None,
            app_id: Some(app_id),
            ..NewRelicParams::new(api_key, 0, "")
        }
    }

    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.api_key.is_blank() {
            return Err("`api_key` is empty: expected a New Relic user key (NRAK-...)".into());
        }
        if self.api_key.expose().trim() != self.api_key.expose() {
            return Err("`api_key` has spaces around it: remove them".into());
        }
        self.mode()?;
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

    /// The mode the keys choose, or why they choose none.
    pub fn mode(&self) -> Result<Mode, String> {
        if let Some(app_id) = self.app_id {
            let nerdgraph: Vec<&str> = [
                ("`account_id`", self.account_id.is_some()),
                ("`app_name`", self.app_name.is_some()),
                ("`nrql`", self.nrql.is_some()),
            ]
            .iter()
            .filter(|(_, set)| *set)
            .map(|(k, _)| *k)
            .collect();
            if !nerdgraph.is_empty() {
                return Err(format!(
                    "`app_id` selects REST v2, {} select NerdGraph: give one or the other",
                    nerdgraph.join(", ")
                ));
            }
            if app_id == 0 {
                return Err(
                    "`app_id` must be the application's id (the number in its APM URL), not 0"
                        .into(),
                );
            }
            let window = self.window.unwrap_or(DEFAULT_WINDOW);
            if window < Duration::from_secs(60) || window > Duration::from_secs(86_400) {
                return Err(format!(
                    "`window` must be 1m to 1d (New Relic keeps per-minute timeslices), got {}",
                    crate::duration::format(window)
                ));
            }
            return Ok(Mode::Rest { app_id, window });
        }
        if self.window.is_some() {
            return Err(
                "`window` is for REST v2 (`app_id`); with NerdGraph the NRQL's SINCE sets it"
                    .into(),
            );
        }
        let Some(account_id) = self.account_id else {
            return Err(
                "`account_id` is required (NerdGraph runs NRQL in an account), with `app_name` or \
                 `nrql`; or `app_id` for the legacy REST v2 API"
                    .into(),
            );
        };
        if account_id == 0 || account_id > i32::MAX as u64 {
            return Err(format!(
                "`account_id` {account_id} is not a New Relic account id (1 to 2147483647)"
            ));
        }
        let nrql = match (&self.app_name, &self.nrql) {
            (Some(_), Some(_)) => return Err("give `app_name` or `nrql`, not both".into()),
            (None, None) => {
                return Err(
                    "NerdGraph needs `app_name` (the app's name in APM) or `nrql` (a query \
                     returning one number)"
                        .into(),
                )
            }
            (Some(name), None) => {
                if name.trim().is_empty() {
                    return Err("`app_name` is empty".into());
                }
                if name.chars().any(char::is_control) {
                    return Err("`app_name` has control characters".into());
                }
                default_nrql(name)
            }
            (None, Some(nrql)) => {
                if nrql.trim().is_empty() {
                    return Err("`nrql` is empty: expected a query returning one number".into());
                }
                nrql.trim().to_string()
            }
        };
        Ok(Mode::NerdGraph { account_id, nrql })
    }

    /// The API's base URL: `api_url`, else the region's.
    pub fn base_url(&self) -> SecretUrl {
        self.api_url
            .clone()
            .unwrap_or_else(|| SecretUrl::new(self.region.api_url()))
            .trim_end_slashes()
    }

    fn endpoint(&self) -> String {
        match &self.api_url {
            Some(url) => url.to_string(),
            None => format!("region {} ({})", self.region.name(), self.region.api_url()),
        }
    }
}

/// The query for `app_name`: its transactions per minute over the last 5 minutes.
pub fn default_nrql(app_name: &str) -> String {
    format!(
        "SELECT rate(count(*), 1 minute) FROM Transaction WHERE appName = '{}' SINCE 5 minutes ago",
        nrql_string(app_name)
    )
}

/// The text of an NRQL single-quoted string: `\` and `'` escaped with a backslash.
fn nrql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The message of New Relic's JSON error (NerdGraph's `{"errors":[{"message"}]}`, REST's
/// `{"error":{"title"}}`), else the start of the body.
fn api_error(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let said = v["errors"][0]["message"]
        .as_str()
        .or_else(|| v["error"]["title"].as_str())
        .or_else(|| v["error"]["message"].as_str())
        .or_else(|| v["error"].as_str())
        .map(str::to_string);
    let text = said.unwrap_or_else(|| {
        let raw = String::from_utf8_lossy(body);
        if raw.trim().is_empty() {
            "empty body".to_string()
        } else {
            raw.into_owned()
        }
    });
    clip(&text)
}

/// `value` as a value of the input: a finite number of 0 or more.
fn checked(what: &str, value: &serde_json::Value) -> Result<f64, InputError> {
    match value.as_f64() {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(n),
        Some(n) => Err(InputError::BadValue(format!(
            "{what} is {n}, not a number of 0 or more"
        ))),
        None => Err(InputError::BadValue(format!(
            "{what} is {}, not a number",
            clip(&value.to_string())
        ))),
    }
}

/// NerdGraph's answer: the one number of the first result row. Strings in the row are labels (a FACET's
/// name) and are passed over; every other field is a value, and there must be exactly one, a number.
pub fn parse_nerdgraph(body: &[u8]) -> Result<f64, InputError> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        InputError::Unavailable(format!(
            "NerdGraph answered with a body that is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    if let Some(errors) = v.get("errors").and_then(|e| e.as_array()) {
        if let Some(first) = errors.first() {
            let message = first["message"]
                .as_str()
                .map_or_else(|| first.to_string(), str::to_string);
            let more = match errors.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            return Err(InputError::Unavailable(format!(
                "NerdGraph answered an error: {}{more}",
                clip(&message)
            )));
        }
    }
    let results = v
        .pointer("/data/actor/account/nrql/results")
        .and_then(|r| r.as_array())
        .ok_or_else(|| {
            InputError::BadValue("NerdGraph's answer has no data.actor.account.nrql.results".into())
        })?;
    let Some(first) = results.first() else {
        return Err(InputError::BadValue(
            "the NRQL returned no rows: New Relic answers a row with 0 when there is no traffic, so none \
             means the query matches nothing (check `app_name` or the NRQL's FROM and WHERE)"
                .into(),
        ));
    };
    let row = first.as_object().ok_or_else(|| {
        InputError::BadValue(format!(
            "the NRQL's first row is {}, not an object",
            clip(&first.to_string())
        ))
    })?;
    let values: Vec<(&String, &serde_json::Value)> =
        row.iter().filter(|(_, v)| !v.is_string()).collect();
    let names = |fields: &mut dyn Iterator<Item = &String>| {
        clip(
            &fields
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", "),
        )
    };
    match values.as_slice() {
        [(name, value)] => checked(&format!("the NRQL's `{name}`"), value),
        [] if row.is_empty() => Err(InputError::BadValue(
            "the NRQL's first row is empty: expected one number".into(),
        )),
        [] => Err(InputError::BadValue(format!(
            "the NRQL's first row has no number, only text: {}",
            names(&mut row.keys())
        ))),
        several => Err(InputError::BadValue(format!(
            "the NRQL's first row has {} values ({}): write a query that returns one number",
            several.len(),
            names(&mut several.iter().map(|(k, _)| *k))
        ))),
    }
}

/// REST v2's answer: `requests_per_minute` of the `HttpDispatcher` metric's last timeslice.
pub fn parse_rest(body: &[u8]) -> Result<f64, InputError> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        InputError::Unavailable(format!(
            "New Relic REST v2 answered with a body that is not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let metrics = v
        .pointer("/metric_data/metrics")
        .and_then(|m| m.as_array())
        .ok_or_else(|| {
            InputError::BadValue("New Relic REST v2's answer has no metric_data.metrics".into())
        })?;
    let Some(metric) = metrics.iter().find(|m| m["name"] == "HttpDispatcher") else {
        let not_found = v
            .pointer("/metric_data/metrics_not_found")
            .map(|n| format!(" (metrics_not_found: {})", clip(&n.to_string())))
            .unwrap_or_default();
        return Err(InputError::BadValue(format!(
            "New Relic REST v2 answered no HttpDispatcher metric{not_found}: does the application \
             serve web transactions?"
        )));
    };
    let Some(slice) = metric["timeslices"].as_array().and_then(|t| t.last()) else {
        return Err(InputError::BadValue(
            "New Relic REST v2: HttpDispatcher has no timeslice".into(),
        ));
    };
    let value = slice
        .pointer("/values/requests_per_minute")
        .ok_or_else(|| {
            InputError::BadValue(
                "New Relic REST v2: HttpDispatcher's timeslice has no requests_per_minute".into(),
            )
        })?;
    checked("New Relic REST v2's requests_per_minute", value)
}

/// A time for the REST query: RFC 3339 in UTC, whole seconds (`2026-12-02T18:40:00Z`: no `+` to encode).
fn iso(t: Timestamp) -> String {
    Timestamp::from_second(t.as_second())
        .unwrap_or(t)
        .to_string()
}

/// The REST v2 request's path and query for `app_id` over `[from, to]`.
pub fn rest_path(app_id: u64, from: Timestamp, to: Timestamp) -> String {
    format!(
        "/v2/applications/{app_id}/metrics/data.json?names[]=HttpDispatcher&values[]=requests_per_minute&from={}&to={}&summarize=true",
        iso(from),
        iso(to)
    )
}

/// The NerdGraph request body.
pub fn graphql_body(account_id: u64, nrql: &str) -> String {
    serde_json::json!({
        "query": GRAPHQL_QUERY,
        "variables": {"id": account_id, "nrql": nrql},
    })
    .to_string()
}

/// The input.
pub struct NewRelicInput {
    mode: Mode,
    base: SecretUrl,
    api_key: Secret,
    client: reqwest::Client,
    conversion: Conversion,
    unit: &'static str,
    /// After a 429: no request before this.
    backoff_until: Mutex<Option<Instant>>,
}

impl NewRelicInput {
    /// Validates and builds the HTTP client.
    pub fn new(params: NewRelicParams, conversion: Conversion) -> Result<NewRelicInput, String> {
        params.validate()?;
        let mode = params.mode()?;
        let client = reqwest::Client::builder()
            .timeout(params.timeout)
            .user_agent(concat!("drainscale/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", http_error(&e)))?;
        Ok(NewRelicInput {
            unit: if params.nrql.is_some() {
                "value"
            } else {
                "rpm"
            },
            mode,
            base: params.base_url(),
            api_key: params.api_key.clone(),
            client,
            conversion,
            backoff_until: Mutex::new(None),
        })
    }

    /// The request this input sends at `wall`: the URL (a secret) and, for NerdGraph, the body.
    pub fn request_url(&self, wall: Timestamp) -> SecretUrl {
        match &self.mode {
            Mode::NerdGraph { .. } => self.base.join("/graphql"),
            Mode::Rest { app_id, window } => {
                let from = wall
                    .checked_sub(jiff::SignedDuration::try_from(*window).unwrap_or_default())
                    .unwrap_or(wall);
                self.base.join(&rest_path(*app_id, from, wall))
            }
        }
    }

    fn backoff(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.backoff_until.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn what(&self) -> String {
        match &self.mode {
            Mode::NerdGraph { account_id, .. } => format!("NerdGraph (account {account_id})"),
            Mode::Rest { app_id, .. } => format!("New Relic REST v2 (application {app_id})"),
        }
    }

    async fn retrieve_at(&self, now: Tick) -> Result<f64, InputError> {
        if let Some(until) = *self.backoff() {
            if now.mono < until {
                return Err(InputError::Unavailable(format!(
                    "{} answered 429: no request for {}s more",
                    self.what(),
                    until.saturating_duration_since(now.mono).as_secs().max(1)
                )));
            }
        }
        let unavailable = |m: String| InputError::Unavailable(m);
        let url = self.request_url(now.wall);
        let request = match &self.mode {
            Mode::NerdGraph { account_id, nrql } => self
                .client
                .post(url.expose())
                .header("API-Key", self.api_key.expose())
                .header("Content-Type", "application/json")
                .body(graphql_body(*account_id, nrql)),
            Mode::Rest { .. } => self
                .client
                .get(url.expose())
                .header("X-Api-Key", self.api_key.expose()),
        };
        let response = request
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| unavailable(format!("{}: {}", self.what(), http_error(&e))))?;
        let status = response.status().as_u16();
        let wait = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::retry::retry_after_value(v, now.wall));
        let bytes = response.bytes().await.map_err(|e| {
            unavailable(format!(
                "{}: reading the answer: {}",
                self.what(),
                http_error(&e)
            ))
        })?;
        if (200..300).contains(&status) {
            *self.backoff() = None;
            return match self.mode {
                Mode::NerdGraph { .. } => parse_nerdgraph(&bytes),
                Mode::Rest { .. } => parse_rest(&bytes),
            };
        }
        let said = api_error(&bytes);
        Err(match status {
            401 | 403 => unavailable(format!(
                "{} refused the API key ({status} {said}): it needs a user key (NRAK-...) of a user \
                 with access to {}; REST API keys stopped working on 2025-03-01",
                self.what(),
                match self.mode {
                    Mode::NerdGraph { account_id, .. } => format!("account {account_id}"),
                    Mode::Rest { app_id, .. } => format!("application {app_id}"),
                }
            )),
            404 => unavailable(format!(
                "{} answered 404 ({said}): {}",
                self.what(),
                match self.mode {
                    Mode::NerdGraph { .. } => "is `api_url` New Relic's API?".to_string(),
                    Mode::Rest { app_id, .. } =>
                        format!("is {app_id} the application's id, in this region?"),
                }
            )),
            429 => {
                let step = wait
                    .unwrap_or(DEFAULT_BACKOFF)
                    .clamp(Duration::from_secs(1), MAX_BACKOFF);
                *self.backoff() = Some(now.mono + step);
                tracing::warn!("{} answered 429 ({said}): no request for {}s", self.what(), step.as_secs());
                unavailable(format!(
                    "{} answered 429 ({said}): no request for {}s",
                    self.what(),
                    step.as_secs()
                ))
            }
            _ => unavailable(format!("{} answered HTTP {status} ({said})", self.what())),
        })
    }
}

impl InputSpec for NewRelicParams {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn describe(&self) -> String {
        let what = match self.mode() {
            Ok(Mode::NerdGraph { account_id, nrql }) => match &self.app_name {
                Some(app) => format!(
                    "New Relic requests per minute of app {app:?} in account {account_id} (NerdGraph)"
                ),
                None => format!(
                    "New Relic NRQL `{}` in account {account_id} (NerdGraph)",
                    clip(&nrql)
                ),
            },
            Ok(Mode::Rest { app_id, window }) => format!(
                "New Relic requests per minute of application {app_id} over the last {} (REST v2)",
                crate::duration::format(window)
            ),
            Err(e) => format!("New Relic ({e})"),
        };
        format!("{what}, via {}", self.endpoint())
    }

    fn default_conversion(&self) -> Option<Conversion> {
        Some(Conversion::PerDyno(DEFAULT_PER_DYNO))
    }

    /// 60 s: New Relic aggregates per minute.
    fn default_interval(&self) -> Duration {
        DEFAULT_INTERVAL
    }

    /// Warnings: the REST API's end of life, a key that is not a user key, an interval under a minute.
    fn check(&self, cx: &CheckContext) -> Result<Vec<String>, Invalid> {
        let mut warnings = Vec::new();
        if let Mode::Rest { .. } = self.mode()? {
            warnings.push(REST_END_OF_LIFE.to_string());
        }
        if !self.api_key.expose().starts_with("NRAK-") {
            warnings.push(
                "`api_key` does not look like a user key (NRAK-...): REST API keys stopped working on \
                 2025-03-01; create a user key under API keys > Create a key > User"
                    .into(),
            );
        }
        if cx.interval < DEFAULT_INTERVAL {
            warnings.push(format!(
                "interval {} is under a minute: New Relic aggregates per minute, so reads repeat the same \
                 minute",
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
        Ok(Box::new(NewRelicInput::new(self.clone(), conversion)?))
    }
}

impl Input for NewRelicInput {
    fn retrieve(&self, now: Tick) -> Retrieval<'_> {
        Box::pin(self.retrieve_at(now))
    }

    fn unit(&self) -> &str {
        self.unit
    }

    fn conversion(&self) -> &Conversion {
        &self.conversion
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Result<NewRelicParams, String> {
        let p: NewRelicParams = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        p.validate()?;
        Ok(p)
    }

    fn graph(results: &str) -> Vec<u8> {
        format!(r#"{{"data":{{"actor":{{"account":{{"nrql":{{"results":{results}}}}}}}}}}}"#)
            .into_bytes()
    }

    #[test]
    fn nerdgraph_answers_give_the_one_number() {
        assert_eq!(
            parse_nerdgraph(&graph(r#"[{"rate.count": 1234.5}]"#)),
            Ok(1234.5)
        );
        assert_eq!(parse_nerdgraph(&graph(r#"[{"count": 0}]"#)), Ok(0.0));
        // A FACET's label is passed over; the one number counts.
        assert_eq!(
            parse_nerdgraph(&graph(
                r#"[{"facet": "shop", "appName": "shop", "count": 7}, {"count": 9}]"#
            )),
            Ok(7.0)
        );
        for (bad, says) in [
            (r#"[{"rate.count": "1234.5"}]"#, "only text: `rate.count`"),
            (r#"[{"rate.count": "abc"}]"#, "only text"),
            (r#"[{"rate.count": null}]"#, "`rate.count` is null"),
            (r#"[{"rate.count": -3}]"#, "-3, not a number of 0 or more"),
            (r#"[{"rate.count": true}]"#, "not a number"),
            (r#"[{"percentile.duration": {"95": 0.3}}]"#, "not a number"),
            (r#"[{"a": 1, "b": 2}]"#, "2 values (`a`, `b`)"),
            (r#"[{}]"#, "empty"),
            (r#"[5]"#, "not an object"),
            ("[]", "no rows"),
            ("null", "no data.actor"),
        ] {
            match parse_nerdgraph(&graph(bad)) {
                Err(InputError::BadValue(m)) => assert!(m.contains(says), "{bad}: {m}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(matches!(
            parse_nerdgraph(b"<html>"),
            Err(InputError::Unavailable(_))
        ));
        // JSON has no NaN: such a body is not JSON, and an error.
        assert!(parse_nerdgraph(&graph(r#"[{"x": NaN}]"#)).is_err());
        assert!(parse_nerdgraph(&graph(r#"[{"x": 1e999}]"#)).is_err());
    }

    #[test]
    fn nerdgraph_errors_fail_even_beside_data() {
        let body = br#"{"data":{"actor":{"account":{"nrql":{"results":[{"count":5}]}}}},"errors":[{"message":"NRQL Syntax Error: Error at line 1"},{"message":"x"}]}"#;
        match parse_nerdgraph(body) {
            Err(InputError::Unavailable(m)) => {
                assert!(
                    m.contains("NRQL Syntax Error") && m.contains("1 more"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
        // An empty `errors` is no error.
        let body =
            br#"{"data":{"actor":{"account":{"nrql":{"results":[{"count":5}]}}}},"errors":[]}"#;
        assert_eq!(parse_nerdgraph(body), Ok(5.0));
    }

    #[test]
    fn rest_answers_give_requests_per_minute() {
        let ok = br#"{"metric_data":{"from":"2026-12-02T18:30:00+00:00","to":"2026-12-02T18:40:00+00:00","metrics_not_found":[],"metrics_found":["HttpDispatcher"],"metrics":[{"name":"HttpDispatcher","timeslices":[{"from":"2026-12-02T18:30:00+00:00","to":"2026-12-02T18:40:00+00:00","values":{"requests_per_minute":12.3}}]}]}}"#;
        assert_eq!(parse_rest(ok), Ok(12.3));
        for (bad, says) in [
            (
                r#"{"metric_data":{"metrics_not_found":["HttpDispatcher"],"metrics":[]}}"#,
                "no HttpDispatcher",
            ),
            (
                r#"{"metric_data":{"metrics":[{"name":"HttpDispatcher","timeslices":[]}]}}"#,
                "no timeslice",
            ),
            (
                r#"{"metric_data":{"metrics":[{"name":"HttpDispatcher","timeslices":[{"values":{}}]}]}}"#,
                "no requests_per_minute",
            ),
            (
                r#"{"metric_data":{"metrics":[{"name":"HttpDispatcher","timeslices":[{"values":{"requests_per_minute":"abc"}}]}]}}"#,
                "not a number",
            ),
            (
                r#"{"metric_data":{"metrics":[{"name":"HttpDispatcher","timeslices":[{"values":{"requests_per_minute":null}}]}]}}"#,
                "null",
            ),
            (
                r#"{"metric_data":{"metrics":[{"name":"HttpDispatcher","timeslices":[{"values":{"requests_per_minute":-1}}]}]}}"#,
                "0 or more",
            ),
            (r#"{"applications":[]}"#, "no metric_data"),
        ] {
            match parse_rest(bad.as_bytes()) {
                Err(InputError::BadValue(m)) => assert!(m.contains(says), "{bad}: {m}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(matches!(parse_rest(b""), Err(InputError::Unavailable(_))));
    }

    #[test]
    fn error_bodies_of_both_apis_are_read_and_clipped() {
        assert_eq!(
            api_error(br#"{"errors":[{"message":"Invalid API key"}]}"#),
            "Invalid API key"
        );
        assert_eq!(
            api_error(br#"{"error":{"title":"The API key provided is invalid"}}"#),
            "The API key provided is invalid"
        );
        assert_eq!(api_error(b""), "empty body");
        assert!(api_error("x".repeat(1000).as_bytes()).chars().count() <= MESSAGE_CHARS + 1);
    }

    #[test]
    fn app_names_are_quoted_as_nrql_wants() {
        assert_eq!(
            default_nrql("shop"),
            "SELECT rate(count(*), 1 minute) FROM Transaction WHERE appName = 'shop' SINCE 5 minutes ago"
        );
        assert!(default_nrql("Bob's shop").contains(r"appName = 'Bob\'s shop'"));
        assert!(default_nrql(r"a\' OR true").contains(r"'a\\\' OR true'"));
        // The body is JSON with the NRQL as a variable, whatever it holds.
        let body: serde_json::Value =
            serde_json::from_str(&graphql_body(123, &default_nrql("say \"hi\""))).unwrap();
        assert_eq!(body["variables"]["id"], 123);
        assert!(body["variables"]["nrql"]
            .as_str()
            .unwrap()
            .contains("'say \"hi\"'"));
        assert!(body["query"]
            .as_str()
            .unwrap()
            .contains("nrql(query: $nrql)"));
    }

    #[test]
    fn params_read_from_yaml_with_defaults() {
        let p = yaml("api_key: NRAK-TEST\naccount_id: 123\napp_name: shop\n").unwrap();
        assert_eq!(p.region, Region::Us);
        assert_eq!(p.timeout, DEFAULT_TIMEOUT);
        assert_eq!(p.base_url().expose(), US_API_URL);
        assert_eq!(
            p.mode(),
            Ok(Mode::NerdGraph {
                account_id: 123,
                nrql: default_nrql("shop")
            })
        );
        let d = p.describe();
        assert!(
            d.contains("\"shop\"") && d.contains("account 123") && d.contains("region us"),
            "{d}"
        );
        assert!(!d.contains("NRAK"), "{d}");
        assert_eq!(p.default_conversion(), Some(Conversion::PerDyno(150.0)));
        assert_eq!(p.default_interval(), Duration::from_secs(60));

        let p = yaml("api_key: NRAK-TEST\napp_id: \"456\"\nregion: eu\n").unwrap();
        assert_eq!(p.base_url().expose(), EU_API_URL);
        assert_eq!(
            p.mode(),
            Ok(Mode::Rest {
                app_id: 456,
                window: DEFAULT_WINDOW
            })
        );
        assert!(p.describe().contains("REST v2") && p.describe().contains("api.eu.newrelic.com"));
        let p = yaml("api_key: k\napp_id: 1\napi_url: http://127.0.0.1:9/\nwindow: 5m\n").unwrap();
        assert_eq!(p.base_url().expose(), "http://127.0.0.1:9");

        let e = yaml("api_key: k\naccount_id: 1\napp_name: x\nregion: de\n").unwrap_err();
        assert!(e.contains("unknown variant"), "{e}");
        let e = yaml("api_key: k\naccount_id: 1\napp_name: x\nappName: y\n").unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn params_are_validated_with_the_key_named() {
        let cases = [
            (
                "api_key: ''\naccount_id: 1\napp_name: x",
                "`api_key` is empty",
            ),
            ("api_key: k\napp_name: x", "`account_id` is required"),
            ("api_key: k\naccount_id: 1", "`app_name`"),
            (
                "api_key: k\naccount_id: 1\napp_name: x\nnrql: SELECT 1",
                "not both",
            ),
            (
                "api_key: k\naccount_id: 0\napp_name: x",
                "not a New Relic account id",
            ),
            (
                "api_key: k\naccount_id: 99999999999\napp_name: x",
                "not a New Relic account id",
            ),
            (
                "api_key: k\naccount_id: 1\napp_name: '  '",
                "`app_name` is empty",
            ),
            ("api_key: k\naccount_id: 1\nnrql: ''", "`nrql` is empty"),
            (
                "api_key: k\naccount_id: 1\napp_name: x\nwindow: 5m",
                "`window` is for REST v2",
            ),
            (
                "api_key: k\napp_id: 1\naccount_id: 2",
                "give one or the other",
            ),
            ("api_key: k\napp_id: 1\napp_name: x", "`app_name`"),
            ("api_key: k\napp_id: 0", "not 0"),
            (
                "api_key: k\napp_id: 1\nwindow: 10s",
                "`window` must be 1m to 1d",
            ),
            ("api_key: k\napp_id: 1\napi_url: ftp://x", "`api_url`"),
            ("api_key: k\napp_id: 1\ntimeout: 0s", "`timeout`"),
            ("api_key: k\napp_id: abc", "expected an id of digits"),
        ];
        for (text, says) in cases {
            let e = yaml(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        let e = yaml("api_key: NRAK-SECRET1\napp_id: 0").unwrap_err();
        assert!(!e.contains("SECRET1"), "{e}");
    }

    #[test]
    fn the_eu_region_picks_the_eu_url_and_api_url_overrides_it() {
        let mut p = NewRelicParams::new("NRAK-X", 1, "shop");
        p.region = Region::Eu;
        let input = NewRelicInput::new(p.clone(), Conversion::PerDyno(150.0)).unwrap();
        assert_eq!(
            input.request_url(Timestamp::UNIX_EPOCH).expose(),
            "https://api.eu.newrelic.com/graphql"
        );
        p.api_url = Some(SecretUrl::new("http://proxy.example/nr/"));
        let input = NewRelicInput::new(p, Conversion::PerDyno(150.0)).unwrap();
        assert_eq!(
            input.request_url(Timestamp::UNIX_EPOCH).expose(),
            "http://proxy.example/nr/graphql"
        );
        let mut r = NewRelicParams::rest("NRAK-X", 42);
        r.region = Region::Eu;
        let input = NewRelicInput::new(r, Conversion::PerDyno(150.0)).unwrap();
        let at: Timestamp = "2026-12-02T18:40:00.5Z".parse().unwrap();
        assert_eq!(
            input.request_url(at).expose(),
            "https://api.eu.newrelic.com/v2/applications/42/metrics/data.json?names[]=HttpDispatcher\
             &values[]=requests_per_minute&from=2026-12-02T18:30:00Z&to=2026-12-02T18:40:00Z&summarize=true"
        );
        assert_eq!(input.unit(), "rpm");
    }

    #[test]
    fn check_warns_of_rest_end_of_life_old_keys_and_short_intervals() {
        let windows = crate::window::WindowConfig::default();
        let policy = crate::scaler::policy::Policy::default();
        let conversion = Conversion::PerDyno(150.0);
        let cx = |interval| CheckContext {
            drain: false,
            windows: &windows,
            conversion: &conversion,
            interval,
            policy: &policy,
        };
        let ok = NewRelicParams::new("NRAK-X", 1, "shop");
        assert_eq!(ok.check(&cx(Duration::from_secs(60))), Ok(vec![]));
        let w = NewRelicParams::rest("0123abcd", 7)
            .check(&cx(Duration::from_secs(10)))
            .unwrap()
            .join("\n");
        assert!(
            w.contains("2027-07-31") && w.contains("account_id") && w.contains("app_name"),
            "{w}"
        );
        assert!(
            w.contains("NRAK-") && w.contains("2025-03-01") && !w.contains("0123abcd"),
            "{w}"
        );
        assert!(w.contains("under a minute"), "{w}");
    }

    fn mapping(text: &str) -> serde_yaml_ng::Mapping {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn dynosaur_keys_map_to_the_rest_mode() {
        let e = from_dynosaur(mapping("key: NRAK-X\nappid: 123\nrpm_per_dyno: 200\n")).unwrap();
        assert_eq!(e.per_dyno, Some(200.0));
        assert_eq!(e.skip, None);
        assert!(e.warnings.iter().any(|w| w.contains("2027-07-31")));
        let p: NewRelicParams =
            serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(e.params)).unwrap();
        assert_eq!(p.app_id, Some(123));
        assert_eq!(p.api_key.expose(), "NRAK-X");
        assert_eq!(p.validate(), Ok(()));

        let e = from_dynosaur(mapping("key: K\napp_id: '77'\n")).unwrap();
        assert_eq!(e.per_dyno, None);
        let p: NewRelicParams =
            serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(e.params)).unwrap();
        assert_eq!(p.app_id, Some(77));

        assert_eq!(
            from_dynosaur(mapping("key: K\napp_id: 1\nrpm_per_dyno: '120'\n"))
                .unwrap()
                .per_dyno,
            Some(120.0)
        );
        assert!(from_dynosaur(mapping("key: K\napp_id: 1\nrpm_per_dyno: lots\n")).is_err());
        assert!(from_dynosaur(mapping("key: K\napp_id: 1\nappid: 1\n")).is_err());
        assert!(from_dynosaur(mapping("key: K\napi_key: K\napp_id: 1\n")).is_err());
        let skipped = from_dynosaur(mapping("key: ''\napp_id: 1\n")).unwrap();
        assert!(skipped.skip.unwrap().contains("`key`"));
        let skipped = from_dynosaur(mapping("key: K\nappid:\n")).unwrap();
        assert!(skipped.skip.unwrap().contains("`app_id`"));
        // Switched to NerdGraph in the Dynosaur file: no REST, no warning.
        let e = from_dynosaur(mapping("key: NRAK-X\naccount_id: 5\napp_name: shop\n")).unwrap();
        assert!(e.skip.is_none() && e.warnings.is_empty(), "{e:?}");
        let p: NewRelicParams =
            serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(e.params)).unwrap();
        assert_eq!(
            p.mode(),
            Ok(Mode::NerdGraph {
                account_id: 5,
                nrql: default_nrql("shop")
            })
        );
    }
}
