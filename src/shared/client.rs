//! The Redis client: one multiplexed connection that reconnects by itself, every call bounded by
//! `shared.timeout`, and what the last call said (for `/ping`, `/status` and `check --connect`).

use super::config::SharedConfig;
use crate::secret::SecretUrl;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why a Redis call failed (the message never carries the URL's password).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("redis: {0}")]
pub struct RedisError(pub String);

impl From<redis::RedisError> for RedisError {
    fn from(e: redis::RedisError) -> Self {
        RedisError(e.to_string())
    }
}

/// The outcome of the newest call.
#[derive(Debug, Clone, Default)]
struct Health {
    last_ok: Option<Instant>,
    /// The newest failure, while no call has succeeded since.
    down: Option<(Instant, String)>,
}

/// A connection to the store's Redis. Cheap to share as `Arc<Redis>`.
pub struct Redis {
    conn: ConnectionManager,
    timeout: Duration,
    url: SecretUrl,
    health: Mutex<Health>,
}

impl Redis {
    /// Sets up the connection; it is made on the first call (so a Redis that is down at start does not stop the
    /// drain). Needs a tokio runtime.
    pub fn connect(url: &SecretUrl, cfg: &SharedConfig) -> Result<Redis, RedisError> {
        // `rediss://` uses rustls; the process picks ring once (a second install is a no-op error).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = redis::Client::open(url.expose())
            .map_err(|e| RedisError(format!("{url}: {}", e.category())))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(cfg.timeout))
            .set_response_timeout(Some(cfg.timeout))
            .set_number_of_retries(1)
            .set_max_delay(cfg.timeout);
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Redis {
            conn,
            timeout: cfg.timeout,
            url: url.clone(),
            health: Mutex::new(Health::default()),
        })
    }

    /// The URL, masked when shown.
    pub fn url(&self) -> &SecretUrl {
        &self.url
    }

    /// Runs one command or pipeline, bounded by the timeout, and records the outcome.
    pub async fn call<T: redis::FromRedisValue>(
        &self,
        f: impl AsyncFnOnce(&mut ConnectionManager) -> redis::RedisResult<T>,
    ) -> Result<T, RedisError> {
        let mut conn = self.conn.clone();
        let result = match tokio::time::timeout(self.timeout, f(&mut conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(RedisError::from(e)),
            Err(_) => Err(RedisError(format!(
                "no answer within {}",
                crate::duration::format(self.timeout)
            ))),
        };
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(_) => {
                health.last_ok = Some(Instant::now());
                health.down = None;
            }
            Err(e) => {
                let since = health.down.as_ref().map_or_else(Instant::now, |d| d.0);
                health.down = Some((since, e.0.clone()));
            }
        }
        result
    }

    /// `PING`, for `check --connect`.
    pub async fn ping(&self) -> Result<String, RedisError> {
        self.call(async |c| redis::cmd("PING").query_async::<String>(c).await)
            .await
    }

    /// `None` while the newest call succeeded; else since when calls fail and the newest error.
    pub fn down(&self) -> Option<(Duration, String)> {
        let health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        health
            .down
            .as_ref()
            .map(|(since, e)| (since.elapsed(), e.clone()))
    }

    /// Time since the newest successful call.
    pub fn since_ok(&self) -> Option<Duration> {
        let health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        health.last_ok.map(|t| t.elapsed())
    }
}
