//! The `drain:` config section: where to listen, who may post, and the limits that keep slow or hostile
//! clients from holding the drain. Plain serde structs with defaults; nothing here touches a socket.

use crate::invalid::Invalid;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The smallest `max_header_bytes` (hyper's smallest read buffer).
pub const MIN_HEADER_BYTES: usize = 8192;

/// The `drain:` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DrainConfig {
    /// Listen address (default `0.0.0.0:$PORT`, or `0.0.0.0:8080` without PORT).
    pub listen: String,
    /// Path logplex POSTs to (default `/logs`).
    pub path: String,
    /// Who may POST logs (and, unless `status_auth` is set, read `/status`, `/ping` and `/metrics`).
    pub auth: AuthConfig,
    /// Separate credentials for `/status`, `/ping` and `/metrics` (default: none, the `auth` section applies).
    pub status_auth: Option<AuthConfig>,
    /// Largest request body accepted as sent on the wire, bytes (default 8 MiB); larger gets 413.
    pub max_body_bytes: usize,
    /// Largest body after gzip decompression, bytes (default 32 MiB); larger gets 413 (no gzip bomb gets through).
    pub max_decompressed_bytes: usize,
    /// Time a new connection has to send its first request's headers (default 2s); slower is closed without
    /// an answer and counted. Logplex and the Heroku router send a request as soon as they connect.
    #[serde(with = "crate::duration")]
    pub first_header_timeout: Duration,
    /// Time a client has to send a later request's headers on a keep-alive connection, counted from the end of
    /// the previous answer: also how long an idle keep-alive connection stays open (default 10s).
    #[serde(with = "crate::duration")]
    pub header_timeout: Duration,
    /// Largest request head (request line and headers), bytes (default 64 KiB, at least 8192); larger gets
    /// 431. It is also each connection's read buffer, so headers held cost at most
    /// `max_connections * max_header_bytes`.
    pub max_header_bytes: usize,
    /// Time a client has to send a whole body once its headers are in (default 30s); slower gets 503 and the
    /// connection is closed.
    #[serde(with = "crate::duration")]
    pub body_timeout: Duration,
    /// Open connections served at once (default 512); connections beyond get 503 and are closed.
    pub max_connections: usize,
    /// Open connections served at once from one peer address (IPv6: one /64), default 128; beyond get 503
    /// and are closed. The peer is the socket's: behind the Heroku router it is a router instance, not the
    /// sender (`X-Forwarded-For` is not used: the limit applies before any header is read).
    pub max_connections_per_peer: usize,
    /// Wire bytes of bodies being received, held at once across every connection (default 32 MiB, at least
    /// `max_body_bytes`); a body that would go over gets 503. A slow body holds only the bytes it has sent.
    pub max_receiving_bytes: usize,
    /// Bytes of decoded bodies being decompressed and parsed, held at once (default 64 MiB, at least
    /// `max_decompressed_bytes` and `max_body_bytes`); a body that would go over gets 503.
    pub max_decoding_bytes: usize,
    /// Bodies decoded and parsed at once (default 32); a received body beyond gets 503 (the sender retries).
    /// Bodies still being received are not counted: `max_receiving_bytes` bounds them.
    pub max_in_flight: usize,
    /// How long a graceful shutdown waits for in-flight requests before dropping them (default 20s, which leaves
    /// time within Heroku's 30s to flush the windows).
    #[serde(with = "crate::duration")]
    pub shutdown_timeout: Duration,
    /// Remembering `Logplex-Frame-Id`s so a retried batch is counted once.
    pub dedup: DedupConfig,
}

impl Default for DrainConfig {
    fn default() -> Self {
        let port = std::env::var("PORT")
            .ok()
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or(8080);
        DrainConfig {
            listen: format!("0.0.0.0:{port}"),
            path: "/logs".into(),
            auth: AuthConfig::default(),
            status_auth: None,
            max_body_bytes: 8 << 20,
            max_decompressed_bytes: 32 << 20,
            first_header_timeout: Duration::from_secs(2),
            header_timeout: Duration::from_secs(10),
            max_header_bytes: 64 << 10,
            body_timeout: Duration::from_secs(30),
            max_connections: 512,
            max_connections_per_peer: 128,
            max_receiving_bytes: 32 << 20,
            max_decoding_bytes: 64 << 20,
            max_in_flight: 32,
            shutdown_timeout: Duration::from_secs(20),
            dedup: DedupConfig::default(),
        }
    }
}

impl DrainConfig {
    /// Checks what serde cannot: a path, non-zero limits, and auth (or an explicit `insecure: true`).
    /// [`crate::drain::Server::bind`] calls it; `drainscale check` can call it without binding.
    pub fn validate(&self) -> Result<(), Invalid> {
        if !self.path.starts_with('/') {
            return Err(Invalid::at(
                "path",
                format!("must start with '/', got {:?}", self.path),
            ));
        }
        for (key, value) in [
            ("max_connections", self.max_connections),
            ("max_connections_per_peer", self.max_connections_per_peer),
            ("max_in_flight", self.max_in_flight),
        ] {
            if value == 0 {
                return Err(Invalid::at(key, "must be at least 1"));
            }
        }
        for (key, value) in [
            ("first_header_timeout", self.first_header_timeout),
            ("header_timeout", self.header_timeout),
        ] {
            if value.is_zero() {
                return Err(Invalid::at(key, "must be above 0"));
            }
        }
        if self.max_header_bytes < MIN_HEADER_BYTES {
            return Err(Invalid::at(
                "max_header_bytes",
                format!(
                    "must be at least {MIN_HEADER_BYTES}, got {}",
                    self.max_header_bytes
                ),
            ));
        }
        // A body the budget could never hold would get 503 forever, and the sender retries 503s.
        if self.max_receiving_bytes < self.max_body_bytes {
            return Err(Invalid::at(
                "max_receiving_bytes",
                format!(
                    "{} must be at least max_body_bytes ({})",
                    self.max_receiving_bytes, self.max_body_bytes
                ),
            ));
        }
        let largest_decoded = self.max_decompressed_bytes.max(self.max_body_bytes);
        if self.max_decoding_bytes < largest_decoded {
            return Err(Invalid::at(
                "max_decoding_bytes",
                format!(
                    "{} must be at least max_decompressed_bytes and max_body_bytes ({largest_decoded})",
                    self.max_decoding_bytes
                ),
            ));
        }
        self.auth.validate().map_err(|e| e.under("auth"))?;
        if let Some(s) = &self.status_auth {
            s.validate().map_err(|e| e.under("status_auth"))?;
        }
        Ok(())
    }

    /// Warnings a user should see (`drainscale check`, and the log at start): e.g. a drain without auth.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.auth.is_open() && self.auth.insecure {
            out.push(
                "drain.auth.insecure is true: anyone who can reach the drain can post logs".into(),
            );
        }
        if let Some(s) = &self.status_auth {
            if s.is_open() && s.insecure {
                out.push(
                    "drain.status_auth.insecure is true: /status, /ping and /metrics are public"
                        .into(),
                );
            }
        }
        out
    }
}

/// Credentials: HTTP Basic users (from the drain URL's userinfo) and/or allowed `Logplex-Drain-Token`s.
/// When both are configured a request must pass both.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Basic-auth users; the drain URL is then `https://USER:PASSWORD@host/logs` (default none).
    pub users: Vec<BasicUser>,
    /// Allowed `Logplex-Drain-Token` header values, e.g. `d.fc6b856b-...` (default none); shown as `***`.
    pub tokens: Vec<Secret>,
    /// Must be `true` to run with no users and no tokens, i.e. open to anyone (default false).
    pub insecure: bool,
}

impl AuthConfig {
    fn validate(&self) -> Result<(), Invalid> {
        if self.is_open() && !self.insecure {
            return Err(Invalid::new(
                "no users and no tokens; configure one, or set `insecure: true` here to run open",
            ));
        }
        Ok(())
    }

    /// True when neither users nor tokens are configured.
    pub fn is_open(&self) -> bool {
        self.users.is_empty() && self.tokens.is_empty()
    }
}

/// One Basic-auth user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicUser {
    /// The user name.
    pub user: String,
    /// The password (use `${ENV_VAR}` interpolation rather than writing it in the file); shown as `***`.
    pub password: Secret,
}

/// The Frame-Id memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// Most Frame-Ids remembered at once; the oldest are forgotten first (default 100000, about 4 MB).
    pub capacity: usize,
    /// How long a Frame-Id is remembered (default 10m; logplex retries within seconds).
    #[serde(with = "crate::duration")]
    pub ttl: Duration,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            capacity: 100_000,
            ttl: Duration::from_secs(600),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_yaml_with_defaults_and_rejects_unknown_keys() {
        let cfg: DrainConfig = serde_yaml_ng::from_str(
            "listen: 127.0.0.1:9000\nauth:\n  users: [{user: u, password: p}]\nbody_timeout: 5s\ndedup: {ttl: 2m}\n",
        )
        .unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:9000");
        assert_eq!(cfg.path, "/logs");
        assert_eq!(cfg.auth.users[0].user, "u");
        assert_eq!(cfg.body_timeout, Duration::from_secs(5));
        assert_eq!(cfg.dedup.ttl, Duration::from_secs(120));
        assert_eq!(cfg.dedup.capacity, 100_000);
        assert!(serde_yaml_ng::from_str::<DrainConfig>("auth: {user: x}").is_err());
        assert!(serde_yaml_ng::from_str::<DrainConfig>("max_body: 3").is_err());
    }

    #[test]
    fn debug_never_shows_passwords() {
        let u = BasicUser {
            user: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{u:?}").contains("hunter2"));
        assert!(!serde_json::to_string(&u).unwrap().contains("hunter2"));
    }

    #[test]
    fn validates_auth_path_and_limits() {
        let mut cfg = DrainConfig::default();
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("auth: no users and no tokens"));
        cfg.auth.tokens = vec!["d.1".into()];
        assert_eq!(cfg.validate(), Ok(()));
        cfg.status_auth = Some(AuthConfig::default());
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("status_auth"));
        cfg.status_auth = None;
        cfg.path = "logs".into();
        assert!(cfg.validate().unwrap_err().to_string().contains("path"));
        cfg.path = "/logs".into();
        cfg.max_in_flight = 0;
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn validates_connection_limits_and_budgets() {
        let mut cfg = DrainConfig::default();
        cfg.auth.tokens = vec!["d.1".into()];
        assert_eq!(cfg.validate(), Ok(()));
        let bad = |f: fn(&mut DrainConfig), what: &str| {
            let mut c = cfg.clone();
            f(&mut c);
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(what), "{err}");
        };
        bad(
            |c| c.max_connections_per_peer = 0,
            "max_connections_per_peer",
        );
        bad(
            |c| c.first_header_timeout = Duration::ZERO,
            "first_header_timeout",
        );
        bad(|c| c.max_header_bytes = 8191, "max_header_bytes");
        bad(
            |c| c.max_receiving_bytes = c.max_body_bytes - 1,
            "max_receiving_bytes",
        );
        bad(
            |c| c.max_decoding_bytes = c.max_decompressed_bytes - 1,
            "max_decoding_bytes",
        );
        bad(
            |c| {
                c.max_decompressed_bytes = 1 << 20;
                c.max_decoding_bytes = 2 << 20;
                c.max_body_bytes = 3 << 20;
            },
            "max_decoding_bytes",
        );
        let yaml =
            "first_header_timeout: 1s\nmax_connections_per_peer: 4\nmax_receiving_bytes: 9000000\n\
                    max_decoding_bytes: 40000000\nmax_header_bytes: 16384\n";
        let c: DrainConfig = serde_yaml_ng::from_str(yaml).unwrap();
        assert_eq!(c.first_header_timeout, Duration::from_secs(1));
        assert_eq!(
            (
                c.max_connections_per_peer,
                c.max_receiving_bytes,
                c.max_decoding_bytes,
                c.max_header_bytes
            ),
            (4, 9_000_000, 40_000_000, 16384)
        );
    }

    #[test]
    fn warns_when_insecure() {
        let mut cfg = DrainConfig::default();
        assert!(cfg.warnings().is_empty());
        cfg.auth.insecure = true;
        assert_eq!(cfg.warnings().len(), 1);
    }
}
