//! `type: ping`: an HTTP GET of a check-in URL (healthchecks.io, Dead Man's Snitch, Cronitor, a Cronut
//! public URL...). Any 2xx is accepted. The URL is the check-in token: logs show it masked.

use super::{error, SuccessHandler};
use crate::scaler::handlers::Sending;
use crate::secret::{http_error, SecretUrl};
use jiff::Timestamp;
use std::time::Duration;

pub struct Ping {
    url: SecretUrl,
    interval: Duration,
    client: reqwest::Client,
}

impl Ping {
    pub fn new(url: SecretUrl, interval: Duration, timeout: Duration) -> Result<Ping, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| http_error(&e))?;
        Ok(Ping {
            url,
            interval,
            client,
        })
    }
}

impl SuccessHandler for Ping {
    fn name(&self) -> String {
        format!("ping {}", self.url)
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn send(&self, _at: Timestamp) -> Sending<'_> {
        Box::pin(async move {
            let response = self
                .client
                .get(self.url.expose())
                .send()
                .await
                .map_err(|e| error(self.name(), http_error(&e)))?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(error(self.name(), format!("HTTP {}", response.status())))
            }
        })
    }
}
