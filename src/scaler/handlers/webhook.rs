//! The webhook handler: `POST <url>` with the [`ErrorEvent`] as JSON (`{app, controller, input?, kind,
//! message, health?, at}`) and the configured extra headers. Any 2xx is success. The URL and the header values
//! are secrets: logs and errors show the URL masked and never a header value.

use super::{ErrorEvent, ErrorHandler, HandlerError, Sending};
use crate::secret::{http_error, Secret, SecretUrl};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::collections::BTreeMap;
use std::time::Duration;

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
