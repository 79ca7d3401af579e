//! The Bugsnag handler: Bugsnag's Error Reporting API, payload version 5. `POST <endpoint>/` with headers
//! `Bugsnag-Api-Key`, `Bugsnag-Payload-Version: 5`, `Bugsnag-Sent-At` and a body
//! `{apiKey, payloadVersion, notifier{name,version,url}, events[{exceptions[{errorClass, message, stacktrace}],
//! severity, severityReason, unhandled, context, app{releaseStage?}, metaData{drainscale{...}}}]}`.
//!
//! `errorClass` is the event kind (`drainscale::pass_error`, `drainscale::input_outage`...), so Bugsnag groups by
//! kind; the context is `<app>/<controller>[/<input>]`. Recoveries are sent with severity `info`.

use super::webhook::check;
use super::{ErrorEvent, ErrorHandler, EventKind, HandlerError, Sending};
use crate::secret::{http_error, Secret, SecretUrl};
use serde_json::{json, Value};
use std::time::Duration;

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
