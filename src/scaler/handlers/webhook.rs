//! The webhook handler: `POST <url>` with the [`ErrorEvent`] as JSON (`{app, controller, input?, kind,
//! message, health?, at}`) and the configured extra headers. Any 2xx is success.

use super::{ErrorEvent, ErrorHandler, HandlerError, Sending};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::collections::BTreeMap;
use std::time::Duration;

pub struct Webhook {
    url: String,
    client: reqwest::Client,
}

impl Webhook {
    /// Fails on a header name or value that HTTP does not allow.
    pub fn new(
        url: &str,
        headers: &BTreeMap<String, String>,
        timeout: Duration,
    ) -> Result<Self, HandlerError> {
        let handler = format!("webhook {}", redact(url));
        let bad = |message: String| HandlerError::Config {
            handler: handler.clone(),
            message,
        };
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| bad(format!("header name {k:?}: {e}")))?;
            let value =
                HeaderValue::from_str(v).map_err(|e| bad(format!("header {k:?} value: {e}")))?;
            map.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .default_headers(map)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        Ok(Webhook {
            url: url.to_string(),
            client,
        })
    }
}

impl ErrorHandler for Webhook {
    fn name(&self) -> String {
        format!("webhook {}", redact(&self.url))
    }

    fn send<'a>(&'a self, event: &'a ErrorEvent) -> Sending<'a> {
        Box::pin(async move {
            let name = self.name();
            let response = self
                .client
                .post(&self.url)
                .json(event)
                .send()
                .await
                .map_err(|source| HandlerError::Http {
                    handler: name.clone(),
                    source,
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

/// The URL without query string or userinfo (either may hold a token), for logs.
fn redact(url: &str) -> String {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    match (no_query.find("://"), no_query.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &no_query[..s + 3], &no_query[at..]),
        _ => no_query.to_string(),
    }
}
