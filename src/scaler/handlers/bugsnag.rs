//! The Bugsnag handler: Bugsnag's Error Reporting API, payload version 5. `POST <endpoint>/` with headers
//! `Bugsnag-Api-Key`, `Bugsnag-Payload-Version: 5`, `Bugsnag-Sent-At` and a body
//! `{apiKey, payloadVersion, notifier{name,version,url}, events[{exceptions[{errorClass, message, stacktrace}],
//! severity, severityReason, unhandled, context, app{releaseStage?}, metaData{drainscale{...}}}]}`.
//!
//! `errorClass` is the event kind (`drainscale::pass_error`, `drainscale::input_outage`...), so Bugsnag groups by
//! kind; the context is `<app>/<controller>[/<input>]`. Recoveries are sent with severity `info`.

use super::spec::{parse_as, HandlerKind, HandlerSpec};
use super::webhook::{check, check_http};
use super::{ErrorEvent, ErrorHandler, EventKind, HandlerError, Sending};
use crate::invalid::Invalid;
use crate::secret::{http_error, Secret, SecretUrl};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// `type: bugsnag` (Dynosaur's `BugsnagErrorHandler` maps to it).
pub const KIND: HandlerKind = HandlerKind {
    name: "bugsnag",
    parse: parse_as::<BugsnagParams>,
};

/// The notify endpoint by default.
pub const DEFAULT_ENDPOINT: &str = "https://notify.bugsnag.com";

/// `type: bugsnag` parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BugsnagParams {
    /// The project's notifier API key.
    pub api_key: Secret,
    /// The notify endpoint (default `https://notify.bugsnag.com`; on-premise installs differ).
    #[serde(default = "default_endpoint")]
    pub endpoint: SecretUrl,
    /// `app.releaseStage` of every event (e.g. `production`); absent: not sent.
    #[serde(default)]
    pub release_stage: Option<String>,
}

fn default_endpoint() -> SecretUrl {
    SecretUrl::new(DEFAULT_ENDPOINT)
}

impl BugsnagParams {
    /// This key, the default endpoint, no release stage.
    pub fn new(api_key: Secret) -> BugsnagParams {
        BugsnagParams {
            api_key,
            endpoint: default_endpoint(),
            release_stage: None,
        }
    }
}

impl HandlerSpec for BugsnagParams {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn describe(&self) -> String {
        let stage = self
            .release_stage
            .as_deref()
            .map_or(String::new(), |s| format!(", release stage {s}"));
        format!(
            "bugsnag {} (api key {}{stage})",
            self.endpoint,
            self.api_key.masked()
        )
    }

    /// An http(s) endpoint and a key.
    fn validate(&self) -> Result<(), Invalid> {
        check_http("endpoint", &self.endpoint)?;
        if self.api_key.is_blank() {
            return Err(Invalid::at("api_key", "is empty"));
        }
        Ok(())
    }

    fn build(&self, timeout: Duration) -> Result<Arc<dyn ErrorHandler>, HandlerError> {
        Ok(Arc::new(Bugsnag::new(
            &self.api_key,
            &self.endpoint,
            self.release_stage.clone(),
            timeout,
        )?))
    }
}

pub struct Bugsnag {
    api_key: Secret,
    url: SecretUrl,
    release_stage: Option<String>,
    client: reqwest::Client,
}

impl Bugsnag {
    pub fn new(
        api_key: &Secret,
        endpoint: &SecretUrl,
        release_stage: Option<String>,
        timeout: Duration,
    ) -> Result<Self, HandlerError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| HandlerError::Config {
                handler: format!("bugsnag {endpoint}"),
                message: http_error(&e),
            })?;
        let url = endpoint.trim_end_slashes().join("/");
        Ok(Bugsnag {
            api_key: api_key.clone(),
            url,
            release_stage,
            client,
        })
    }

    /// The JSON body for one event.
    pub fn payload(&self, event: &ErrorEvent) -> Value {
        let severity = match event.kind {
            EventKind::PassError | EventKind::PassPanic | EventKind::InputOutage => "error",
            EventKind::InputStale => "warning",
            EventKind::InputRecovered => "info",
        };
        let mut context = format!("{}/{}", event.app, event.controller);
        if let Some(i) = &event.input {
            context.push('/');
            context.push_str(i);
        }
        let mut app = serde_json::Map::new();
        if let Some(stage) = &self.release_stage {
            app.insert("releaseStage".into(), json!(stage));
        }
        json!({
            "apiKey": self.api_key.expose(),
            "payloadVersion": "5",
            "notifier": {
                "name": "drainscale",
                "version": env!("CARGO_PKG_VERSION"),
                "url": "https://github.com/drainscale/drainscale",
            },
            "events": [{
                "exceptions": [{
                    "errorClass": format!("drainscale::{}", event.kind.as_str()),
                    "message": event.message,
                    "stacktrace": [],
                }],
                "severity": severity,
                "severityReason": {"type": "handledError"},
                "unhandled": false,
                "context": context,
                "app": Value::Object(app),
                "metaData": {"drainscale": event},
            }],
        })
    }
}

/// The key as a header value marked sensitive (kept out of `Debug` output of requests).
fn api_key_header(key: &Secret) -> reqwest::header::HeaderValue {
    match reqwest::header::HeaderValue::from_str(key.expose()) {
        Ok(mut v) => {
            v.set_sensitive(true);
            v
        }
        // Not a valid header value: send none rather than fail here (Bugsnag answers 401, which is logged).
        Err(_) => reqwest::header::HeaderValue::from_static(""),
    }
}

impl ErrorHandler for Bugsnag {
    fn name(&self) -> String {
        format!("bugsnag {}", self.url)
    }

    fn send<'a>(&'a self, event: &'a ErrorEvent) -> Sending<'a> {
        Box::pin(async move {
            let name = self.name();
            let sent_at = jiff::Timestamp::now().to_string();
            let response = self
                .client
                .post(self.url.expose())
                .header("Bugsnag-Api-Key", api_key_header(&self.api_key))
                .header("Bugsnag-Payload-Version", "5")
                .header("Bugsnag-Sent-At", sent_at)
                .json(&self.payload(event))
                .send()
                .await
                .map_err(|e| HandlerError::Http {
                    handler: name.clone(),
                    message: http_error(&e),
                })?;
            check(name, response).await
        })
    }
}
