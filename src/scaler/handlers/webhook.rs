//! The webhook handler: `POST <url>` with the [`ErrorEvent`] as JSON (`{app, controller, input?, kind,
//! message, health?, at}`) and the configured extra headers. Any 2xx is success. The URL and the header values
//! are secrets: logs and errors show the URL masked and never a header value.

use super::spec::{parse_as, HandlerKind, HandlerSpec};
use super::{ErrorEvent, ErrorHandler, HandlerError, Sending};
use crate::invalid::Invalid;
use crate::secret::{http_error, Secret, SecretUrl};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// `type: webhook`.
pub const KIND: HandlerKind = HandlerKind {
    name: "webhook",
    parse: parse_as::<WebhookParams>,
};

/// `type: webhook` parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookParams {
    /// The receiving URL (shown masked: its path and query often hold a token).
    pub url: SecretUrl,
    /// Extra request headers (e.g. `Authorization`); values are secrets, shown as `***`.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
}

/// A URL a handler can POST to.
pub(super) fn check_http(key: &str, url: &SecretUrl) -> Result<(), Invalid> {
    if url.is_http() {
        Ok(())
    } else {
        Err(Invalid::at(
            key,
            format!("{url} must start with http:// or https://"),
        ))
    }
}

impl HandlerSpec for WebhookParams {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn describe(&self) -> String {
        let headers: Vec<String> = self.headers.keys().map(|k| format!("{k}: ***")).collect();
        let headers = if headers.is_empty() {
            String::new()
        } else {
            format!(" with {}", headers.join(", "))
        };
        format!("webhook POST {}{headers}", self.url)
    }

    /// An http(s) URL, header names and values HTTP allows.
    fn validate(&self) -> Result<(), Invalid> {
        check_http("url", &self.url)?;
        for (k, v) in &self.headers {
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
        Ok(())
    }

    fn build(&self, timeout: Duration) -> Result<Arc<dyn ErrorHandler>, HandlerError> {
        Ok(Arc::new(Webhook::new(&self.url, &self.headers, timeout)?))
    }
}

pub struct Webhook {
    url: SecretUrl,
    client: reqwest::Client,
}

impl Webhook {
    /// Fails on a header name or value that HTTP does not allow.
    pub fn new(
        url: &SecretUrl,
        headers: &BTreeMap<String, Secret>,
        timeout: Duration,
    ) -> Result<Self, HandlerError> {
        let handler = format!("webhook {url}");
        let bad = |message: String| HandlerError::Config {
            handler: handler.clone(),
            message,
        };
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| bad(format!("header name {k:?}: {e}")))?;
            let mut value = HeaderValue::from_str(v.expose())
                .map_err(|_| bad(format!("header {k:?}: the value is not valid in HTTP")))?;
            value.set_sensitive(true);
            map.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .default_headers(map)
            .build()
            .map_err(|e| bad(http_error(&e)))?;
        Ok(Webhook {
            url: url.clone(),
            client,
        })
    }
}

impl ErrorHandler for Webhook {
    fn name(&self) -> String {
        format!("webhook {}", self.url)
    }

    fn send<'a>(&'a self, event: &'a ErrorEvent) -> Sending<'a> {
        Box::pin(async move {
            let name = self.name();
            let response = self
                .client
                .post(self.url.expose())
                .json(event)
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

/// 2xx or an error carrying the start of the body.
pub(super) async fn check(
    handler: String,
    response: reqwest::Response,
) -> Result<(), HandlerError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let mut body = response.text().await.unwrap_or_default();
    if body.len() > 200 {
        let mut cut = 200;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
    }
    Err(HandlerError::Status {
        handler,
        status: status.as_u16(),
        body,
    })
}
