//! The `outlets:` config section and its `statsd`, `librato` and `prometheus` subsections.
//!
//! Plain serde structs with defaults; unknown keys are errors. Nothing here opens a socket.

use crate::invalid::Invalid;
use crate::secret::{Secret, SecretUrl};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `outlets:` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutletConfig {
    /// How often closed buckets are flushed to the outlets (default: the window resolution, 10s).
    #[serde(with = "crate::duration")]
    pub flush_interval: Duration,
    /// On shutdown, how long the outlets may take to deliver what is queued (default 5s).
    #[serde(with = "crate::duration")]
    pub shutdown_timeout: Duration,
    /// statsd over UDP (off unless present).
    pub statsd: Option<StatsdConfig>,
    /// Librato-format HTTP (off unless present).
    pub librato: Option<LibratoConfig>,
    /// Prometheus text of the windows on the drain's `/metrics` (on by default).
    pub prometheus: PrometheusConfig,
}

impl Default for OutletConfig {
    fn default() -> Self {
        OutletConfig {
            flush_interval: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(5),
            statsd: None,
            librato: None,
            prometheus: PrometheusConfig::default(),
        }
    }
}

impl OutletConfig {
    /// Checks values serde cannot. Keys are relative to the `outlets:` section.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.flush_interval < Duration::from_millis(10) {
            return Err(Invalid::at("flush_interval", "must be at least 10ms"));
        }
        if let Some(s) = &self.statsd {
            s.validate().map_err(|e| e.under("statsd"))?;
        }
        if let Some(l) = &self.librato {
            if !l.url.is_http() {
                return Err(Invalid::at(
                    "librato.url",
                    format!("{} is not an http(s) URL", l.url),
                ));
            }
            if !(1..=300).contains(&l.batch_size) {
                return Err(Invalid::at(
                    "librato.batch_size",
                    format!("{} must be 1..=300", l.batch_size),
                ));
            }
            if l.queue_size == 0 {
                return Err(Invalid::at("librato.queue_size", "must be at least 1"));
            }
        }
        Ok(())
    }
}

impl StatsdConfig {
    /// An address with a port, and a queue that holds at least one packet.
    fn validate(&self) -> Result<(), Invalid> {
        let port = self.address.rsplit_once(':').and_then(|(host, port)| {
            (!host.is_empty()).then_some(())?;
            port.parse::<u16>().ok().filter(|p| *p != 0)
        });
        if port.is_none() {
            return Err(Invalid::at(
                "address",
                format!("{:?} is not host:port", self.address),
            ));
        }
        if self.queue_size == 0 {
            return Err(Invalid::at("queue_size", "must be at least 1"));
        }
        if self.queue_bytes < self.max_packet {
            return Err(Invalid::at(
                "queue_bytes",
                format!(
                    "{} must be at least max_packet ({})",
                    self.queue_bytes, self.max_packet
                ),
            ));
        }
        if !(64..=65_507).contains(&self.max_packet) {
            return Err(Invalid::at(
                "max_packet",
                format!("{} must be 64..=65507", self.max_packet),
            ));
        }
        Ok(())
    }
}

/// How a series' source reaches statsd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TagStyle {
    /// The source becomes a name segment: `<prefix>.<name>.<source>.p95`.
    #[default]
    None,
    /// DogStatsD tags: `<prefix>.<name>.p95:12|g|#source:web.1`.
    Dogstatsd,
}

/// The `outlets.statsd:` subsection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatsdConfig {
    /// `host:port` of the statsd server (default `127.0.0.1:8125`).
    pub address: String,
    /// Prefix of every metric name (default `drainscale`).
    pub prefix: String,
    /// `none` (source in the name) or `dogstatsd` (source as a tag) (default `none`).
    pub tags: TagStyle,
    /// Lines the send queue may hold; a line past it is dropped and counted (default 100000).
    pub queue_size: usize,
    /// Bytes of line text the send queue may hold; a line past it is dropped and counted (default 8388608,
    /// 8 MiB; the queue also keeps 4 bytes per line).
    pub queue_bytes: usize,
    /// Bytes per UDP datagram: lines are packed up to this size (default 1432, safe for a 1500-byte MTU).
    pub max_packet: usize,
    /// Send budget: lines per second, spread evenly over the datagrams (default 20000; 0 = no pacing). A
    /// flush of N lines takes about N / this to leave.
    pub max_lines_per_second: u64,
}

impl Default for StatsdConfig {
    fn default() -> Self {
        StatsdConfig {
            address: "127.0.0.1:8125".into(),
            prefix: "drainscale".into(),
            tags: TagStyle::None,
            queue_size: 100_000,
            queue_bytes: 8 << 20,
            max_packet: 1432,
            max_lines_per_second: 20_000,
        }
    }
}

/// The `outlets.librato:` subsection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LibratoConfig {
    /// Full URL of the metrics endpoint (default `https://metrics-api.librato.com/v1/metrics`; the hosted
    /// service is retired, point this at a compatible receiver). Shown masked (scheme, host and port).
    pub url: SecretUrl,
    /// Basic-auth user (Librato: the account email).
    pub user: String,
    /// Basic-auth password (Librato: the API token); shown as `***`.
    pub token: Secret,
    /// Prefix of every gauge name (default `drainscale`; empty for none).
    pub prefix: String,
    /// Gauges per request, at most 300 (default 300).
    pub batch_size: usize,
    /// Requests waiting to be sent before the oldest is dropped (default 1000).
    pub queue_size: usize,
    /// Retries of a failed request (429, 5xx, network) before it is dropped (default 5).
    pub max_retries: u32,
    /// First retry delay; it doubles per retry, with jitter (default 1s).
    #[serde(with = "crate::duration")]
    pub backoff: Duration,
    /// Longest retry delay (default 30s).
    #[serde(with = "crate::duration")]
    pub max_backoff: Duration,
    /// Timeout of one request (default 10s).
    #[serde(with = "crate::duration")]
    pub timeout: Duration,
}

impl Default for LibratoConfig {
    fn default() -> Self {
        LibratoConfig {
            url: SecretUrl::new("https://metrics-api.librato.com/v1/metrics"),
            user: String::new(),
            token: Secret::default(),
            prefix: "drainscale".into(),
            batch_size: 300,
            queue_size: 1000,
            max_retries: 5,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The `outlets.prometheus:` subsection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusConfig {
    /// Render the windows on `/metrics` (default true).
    pub enabled: bool,
    /// Prefix of every family name (default `drainscale`).
    pub prefix: String,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            enabled: true,
            prefix: "drainscale".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_with_every_subsection() {
        let yaml = "flush_interval: 5s\nstatsd:\n  address: 10.0.0.1:8125\n  tags: dogstatsd\n\
                    librato:\n  url: http://127.0.0.1:9/v1/metrics\n  user: me\n  token: t\n\
                    prometheus:\n  enabled: false\n";
        let cfg: OutletConfig = serde_yaml_ng::from_str(yaml).unwrap();
        assert_eq!(cfg.flush_interval, Duration::from_secs(5));
        let statsd = cfg.statsd.unwrap();
        assert_eq!(statsd.tags, TagStyle::Dogstatsd);
        assert_eq!(statsd.prefix, "drainscale");
        assert_eq!(statsd.queue_size, 100_000);
        assert_eq!(statsd.queue_bytes, 8 << 20);
        assert_eq!(statsd.max_lines_per_second, 20_000);
        assert_eq!(cfg.librato.unwrap().batch_size, 300);
        assert!(!cfg.prometheus.enabled);
    }

    #[test]
    fn validate_names_the_bad_key() {
        assert_eq!(OutletConfig::default().validate(), Ok(()));
        let mut cfg = OutletConfig {
            statsd: Some(StatsdConfig::default()),
            ..OutletConfig::default()
        };
        assert_eq!(cfg.validate(), Ok(()));
        cfg.statsd.as_mut().unwrap().max_packet = 70_000;
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_packet"));
        cfg.statsd.as_mut().unwrap().max_packet = 1432;
        cfg.statsd.as_mut().unwrap().queue_bytes = 100;
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("queue_bytes"));
        cfg.statsd.as_mut().unwrap().queue_bytes = 8 << 20;
        cfg.statsd.as_mut().unwrap().address = "localhost".into();
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("statsd.address"));
        let cfg = OutletConfig {
            librato: Some(LibratoConfig {
                batch_size: 301,
                ..LibratoConfig::default()
            }),
            ..OutletConfig::default()
        };
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("batch_size"));
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = serde_yaml_ng::from_str::<OutletConfig>("statsd:\n  adress: x\n").unwrap_err();
        assert!(err.to_string().contains("adress"), "{err}");
    }

    #[test]
    fn defaults_have_no_remote_outlets() {
        let cfg = OutletConfig::default();
        assert!(cfg.statsd.is_none() && cfg.librato.is_none() && cfg.prometheus.enabled);
    }
}
