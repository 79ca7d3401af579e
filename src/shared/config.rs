//! The `store:` key (where windows live: absent for memory, `redis://` or `rediss://` for Redis) and the
//! `shared:` section (how instances share them).

use crate::invalid::Invalid;
use crate::secret::SecretUrl;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `shared:` config section: read only when `store:` names Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SharedConfig {
    /// The hash tag every key carries (`drainscale:{APP}:...`), so one app's keys stay on one Redis Cluster
    /// shard and several apps can share one Redis. Default: `scaler.app`, else `drainscale`.
    pub app: String,
    /// How long the scaler leader's lease lasts without a renewal (default 15s). It is renewed every third of
    /// that; a new leader takes over within one lease after the old one dies.
    #[serde(with = "crate::duration")]
    pub lease: Duration,
    /// Longest wait for one Redis round trip (default 1s). Past it the call counts as failed.
    #[serde(with = "crate::duration")]
    pub timeout: Duration,
    /// Pushes (one per bucket per resolution step) held while Redis is unreachable (default 2000). Past it
    /// the oldest are dropped and counted in `shared_pushes_dropped`.
    pub max_held_pushes: usize,
    /// Check every `Logplex-Frame-Id` in Redis too (`SET NX`), so a retry that lands on another instance
    /// counts once (default true).
    pub dedup: bool,
}

impl Default for SharedConfig {
    fn default() -> Self {
        SharedConfig {
            app: String::new(),
            lease: Duration::from_secs(15),
            timeout: Duration::from_secs(1),
            max_held_pushes: 2000,
            dedup: true,
        }
    }
}

impl SharedConfig {
    /// The hash tag in use: `app`, else the scaler's app, else `drainscale`.
    pub fn tag<'a>(&'a self, scaler_app: &'a str) -> &'a str {
        if !self.app.is_empty() {
            &self.app
        } else if !scaler_app.is_empty() {
            scaler_app
        } else {
            "drainscale"
        }
    }

    /// Keys are relative to the `shared:` section.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.lease < Duration::from_millis(100) {
            return Err(Invalid::at("lease", "must be at least 100ms"));
        }
        if self.timeout.is_zero() || self.timeout >= self.lease {
            return Err(Invalid::at(
                "timeout",
                "must be more than 0s and less than the lease",
            ));
        }
        if self.max_held_pushes == 0 {
            return Err(Invalid::at("max_held_pushes", "must be at least 1"));
        }
        if self.app.contains(['{', '}']) {
            return Err(Invalid::at(
                "app",
                "must not contain `{` or `}` (it is the keys' hash tag)",
            ));
        }
        Ok(())
    }
}

/// Checks the top-level `store:` value: `redis://` or `rediss://` (`rediss://...#insecure` accepts a
/// self-signed certificate, as Heroku Key-Value Store has).
pub fn validate_store(url: &SecretUrl) -> Result<(), Invalid> {
    let u = url.expose();
    let rest = u
        .strip_prefix("rediss://")
        .or_else(|| u.strip_prefix("redis://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => {}
        _ => {
            return Err(Invalid::new(format!(
                "expected a redis:// or rediss:// URL with a host (like $REDIS_URL), got {url}"
            )))
        }
    }
    if let Some((_, fragment)) = u.split_once('#') {
        if fragment != "insecure" {
            return Err(Invalid::new(
                "the only URL fragment understood is #insecure (accept a self-signed certificate)",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls() {
        for ok in [
            "redis://127.0.0.1:6390",
            "rediss://:pw@host.example:1234",
            "rediss://h:1#insecure",
        ] {
            assert_eq!(validate_store(&SecretUrl::new(ok)), Ok(()), "{ok}");
        }
        for bad in [
            "http://x",
            "redis://",
            "redis:///0",
            "rediss://h#verify",
            "memory",
        ] {
            assert!(validate_store(&SecretUrl::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn section_defaults_and_checks() {
        let c: SharedConfig = serde_yaml_ng::from_str("lease: 2s\ntimeout: 200ms\n").unwrap();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.tag("my-app"), "my-app");
        assert_eq!(SharedConfig::default().tag(""), "drainscale");
        let slow = SharedConfig {
            timeout: Duration::from_secs(20),
            ..SharedConfig::default()
        };
        assert_eq!(slow.validate().unwrap_err().key(), "timeout");
        assert!(serde_yaml_ng::from_str::<SharedConfig>("leese: 2s").is_err());
    }
}
