//! The drain's own counters (atomics, shared by every connection) and their Prometheus text rendering, with
//! the gauges of what it holds now ([`Held`], read from the budgets when a page is rendered). It counts what the
//! drain did; the windows' aggregated metrics are rendered elsewhere (`MetricsPage`).

use super::auth::Denied;
use crate::logplex::{BadReason, ParseStats};
use crate::window::IngestCounts;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Why a body was not ingested (besides auth, which has its own counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Larger than `max_body_bytes` (413).
    TooLarge,
    /// Larger than `max_decompressed_bytes` once gunzipped (413).
    DecompressedTooLarge,
    /// A corrupt gzip stream (400).
    BadGzip,
    /// A `Content-Encoding` other than gzip or identity (415).
    UnsupportedEncoding,
    /// The body did not arrive within `body_timeout` (503).
    BodyTimeout,
    /// The connection broke while the body was being read (503).
    BodyError,
    /// The body's framing was malformed, e.g. a bad chunk size (400: no retry can fix it).
    Malformed,
    /// `max_receiving_bytes` were already held by bodies being received (503).
    ReceiveBudget,
    /// `max_decoding_bytes` were already held by bodies being decoded and parsed (503).
    DecodeBudget,
    /// `max_in_flight` bodies were already being decoded and parsed (503).
    Busy,
    /// A retry arrived while the first attempt with the same Frame-Id was still being ingested (503).
    FrameIdInProgress,
}

impl Rejected {
    const ALL: [Rejected; 11] = [
        Rejected::TooLarge,
        Rejected::DecompressedTooLarge,
        Rejected::BadGzip,
        Rejected::UnsupportedEncoding,
        Rejected::BodyTimeout,
        Rejected::BodyError,
        Rejected::Malformed,
        Rejected::ReceiveBudget,
        Rejected::DecodeBudget,
        Rejected::Busy,
        Rejected::FrameIdInProgress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rejected::TooLarge => "too_large",
            Rejected::DecompressedTooLarge => "decompressed_too_large",
            Rejected::BadGzip => "bad_gzip",
            Rejected::UnsupportedEncoding => "unsupported_encoding",
            Rejected::BodyTimeout => "body_timeout",
            Rejected::BodyError => "body_error",
            Rejected::Malformed => "malformed_body",
            Rejected::ReceiveBudget => "receive_budget",
            Rejected::DecodeBudget => "decode_budget",
            Rejected::Busy => "busy",
            Rejected::FrameIdInProgress => "frame_id_in_progress",
        }
    }
}

/// Why a connection was closed before any request on it was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `max_connections` were already open (answered 503 when possible, else closed).
    MaxConnections,
    /// Its peer already had `max_connections_per_peer` open (answered 503 when possible, else closed).
    MaxConnectionsPerPeer,
    /// No complete request head within `first_header_timeout` (closed).
    FirstHeaderTimeout,
}

impl Refused {
    const ALL: [Refused; 3] = [
        Refused::MaxConnections,
        Refused::MaxConnectionsPerPeer,
        Refused::FirstHeaderTimeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Refused::MaxConnections => "max_connections",
            Refused::MaxConnectionsPerPeer => "max_connections_per_peer",
            Refused::FirstHeaderTimeout => "first_header_timeout",
        }
    }
}

/// What the drain holds now, read when a page is rendered.
#[derive(Debug, Clone, Copy, Default)]
pub struct Held {
    /// Wire bytes of bodies being received.
    pub receiving_bytes: usize,
    /// Bytes of bodies being decoded and parsed.
    pub decoding_bytes: usize,
    /// Distinct peers with a connection open.
    pub peers: usize,
}

/// Status codes the drain answers with, in the order rendered.
const CODES: [u16; 10] = [200, 400, 401, 404, 405, 413, 415, 500, 503, 0];

/// Every counter the drain keeps. All `Relaxed`: they are independent tallies.
#[derive(Default)]
pub struct DrainStats {
    pub bodies: AtomicU64,
    pub wire_bytes: AtomicU64,
    pub body_bytes: AtomicU64,
    pub frames: AtomicU64,
    pub events: AtomicU64,
    pub bad_frames: [AtomicU64; 6],
    pub bad_values: AtomicU64,
    pub duplicates: AtomicU64,
    pub msg_count_mismatch: AtomicU64,
    pub parse_nanos: AtomicU64,
    pub ingest_nanos: AtomicU64,
    pub accepted: AtomicU64,
    pub too_old: AtomicU64,
    pub future_clamped: AtomicU64,
    pub over_cap: AtomicU64,
    pub too_long: AtomicU64,
    pub over_bytes: AtomicU64,
    pub auth_failures: [AtomicU64; 4],
    pub rejected: [AtomicU64; 11],
    /// Indexed as `CODES`; the last slot counts any other code.
    pub responses: [AtomicU64; 10],
    pub connections_open: AtomicU64,
    pub connections_total: AtomicU64,
    /// Every connection refused, whatever the reason.
    pub connections_refused: AtomicU64,
    /// Indexed as `Refused::ALL`.
    pub connections_refused_by: [AtomicU64; 3],
    /// `/metrics` requests answered 503 because enough renders were already running or waiting.
    pub scrapes_refused: AtomicU64,
    /// `/metrics` requests rendering or waiting to render now.
    pub scrapes_in_progress: AtomicU64,
}

impl DrainStats {
    pub fn add_parse(&self, p: &ParseStats, elapsed: Duration) {
        self.frames.fetch_add(p.frames, Relaxed);
        self.events.fetch_add(p.events, Relaxed);
        self.bad_values.fetch_add(p.bad_values, Relaxed);
        for (i, r) in BadReason::ALL.iter().enumerate() {
            let n = p.bad(*r);
            if n > 0 {
                self.bad_frames[i].fetch_add(n, Relaxed);
            }
        }
        self.parse_nanos
            .fetch_add(elapsed.as_nanos().min(u64::MAX as u128) as u64, Relaxed);
    }

    pub fn add_ingest(&self, c: &IngestCounts, elapsed: Duration) {
        let nanos = elapsed.as_nanos().min(u64::MAX as u128) as u64;
        self.ingest_nanos.fetch_add(nanos, Relaxed);
        self.accepted.fetch_add(c.accepted, Relaxed);
        self.too_old.fetch_add(c.too_old, Relaxed);
        self.future_clamped.fetch_add(c.future_clamped, Relaxed);
        self.over_cap.fetch_add(c.over_cap, Relaxed);
        self.too_long.fetch_add(c.too_long, Relaxed);
        self.over_bytes.fetch_add(c.over_bytes, Relaxed);
    }

    pub fn auth_failed(&self, d: &Denied) {
        let i = Denied::REASONS
            .iter()
            .position(|r| *r == d.reason())
            .unwrap_or(0);
        self.auth_failures[i].fetch_add(1, Relaxed);
    }

    pub fn rejected(&self, r: Rejected) {
        let i = Rejected::ALL.iter().position(|x| *x == r).unwrap_or(0);
        self.rejected[i].fetch_add(1, Relaxed);
    }

    pub fn refused(&self, r: Refused) {
        let i = Refused::ALL.iter().position(|x| *x == r).unwrap_or(0);
        self.connections_refused.fetch_add(1, Relaxed);
        self.connections_refused_by[i].fetch_add(1, Relaxed);
    }

    pub fn responded(&self, code: u16) {
        let i = CODES
            .iter()
            .position(|c| *c == code)
            .unwrap_or(CODES.len() - 1);
        self.responses[i].fetch_add(1, Relaxed);
    }

    /// Appends the Prometheus text exposition of every counter and of the gauges in `held`: every family with
    /// one `# HELP` and one `# TYPE` line.
    pub fn render(&self, held: Held, out: &mut String) {
        let g = |a: &AtomicU64| a.load(Relaxed);
        let one = |out: &mut String, name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        };
        one(
            out,
            "drainscale_drain_bodies_total",
            "counter",
            "Bodies taken (2xx), duplicates excluded.",
            g(&self.bodies),
        );
        one(
            out,
            "drainscale_drain_wire_bytes_total",
            "counter",
            "Bytes of taken bodies as sent.",
            g(&self.wire_bytes),
        );
        one(
            out,
            "drainscale_drain_body_bytes_total",
            "counter",
            "Bytes of taken bodies after gunzip.",
            g(&self.body_bytes),
        );
        one(
            out,
            "drainscale_drain_frames_total",
            "counter",
            "Syslog frames found, good and bad.",
            g(&self.frames),
        );
        one(
            out,
            "drainscale_drain_events_total",
            "counter",
            "Events parsed from frames.",
            g(&self.events),
        );
        let _ = writeln!(
            out,
            "# HELP drainscale_drain_bad_frames_total Frames not turned into events, by reason.\n\
             # TYPE drainscale_drain_bad_frames_total counter"
        );
        for (i, r) in BadReason::ALL.iter().enumerate() {
            let _ = writeln!(
                out,
                "drainscale_drain_bad_frames_total{{reason=\"{}\"}} {}",
                r.as_str(),
                g(&self.bad_frames[i])
            );
        }
        one(
            out,
            "drainscale_drain_bad_values_total",
            "counter",
            "l2met values that were not numbers.",
            g(&self.bad_values),
        );
        one(
            out,
            "drainscale_drain_duplicates_total",
            "counter",
            "Bodies skipped as retries of a Frame-Id already taken.",
            g(&self.duplicates),
        );
        one(
            out,
            "drainscale_drain_msg_count_mismatch_total",
            "counter",
            "Bodies whose Logplex-Msg-Count differed from the frames found.",
            g(&self.msg_count_mismatch),
        );
        let secs = g(&self.parse_nanos) as f64 / 1e9;
        let _ = writeln!(
            out,
            "# HELP drainscale_drain_parse_seconds_total Time spent parsing bodies into events.\n\
             # TYPE drainscale_drain_parse_seconds_total counter\ndrainscale_drain_parse_seconds_total {secs}"
        );
        let secs = g(&self.ingest_nanos) as f64 / 1e9;
        let _ = writeln!(
            out,
            "# HELP drainscale_drain_ingest_seconds_total Time spent handing events to the windows.\n\
             # TYPE drainscale_drain_ingest_seconds_total counter\ndrainscale_drain_ingest_seconds_total {secs}"
        );
        let _ = writeln!(
            out,
            "# HELP drainscale_drain_ingested_events_total What the windows did with the events.\n\
             # TYPE drainscale_drain_ingested_events_total counter"
        );
        for (result, a) in [
            ("accepted", &self.accepted),
            ("too_old", &self.too_old),
            ("future_clamped", &self.future_clamped),
            ("over_cap", &self.over_cap),
            ("too_long", &self.too_long),
            ("over_bytes", &self.over_bytes),
        ] {
            let _ = writeln!(
                out,
                "drainscale_drain_ingested_events_total{{result=\"{result}\"}} {}",
                g(a)
            );
        }
        let _ = writeln!(
            out,
            "# HELP drainscale_drain_auth_failures_total Requests refused with 401, by reason.\n\
             # TYPE drainscale_drain_auth_failures_total counter"
        );
        for (i, r) in Denied::REASONS.iter().enumerate() {
            let _ = writeln!(
                out,
                "drainscale_drain_auth_failures_total{{reason=\"{r}\"}} {}",
                g(&self.auth_failures[i])
            );
        }
        let _ = writeln!(
            out,
            "# HELP drainscale_drain_rejected_bodies_total Bodies not taken, by reason.\n\
             # TYPE drainscale_drain_rejected_bodies_total counter"
        );
        for (i, r) in Rejected::ALL.iter().enumerate() {
            let _ = writeln!(
                out,
                "drainscale_drain_rejected_bodies_total{{reason=\"{}\"}} {}",
                r.as_str(),
                g(&self.rejected[i])
            );
        }
        let _ = writeln!(
            out,
            "# HELP drainscale_drain_responses_total Responses by status code (\"other\" for any code not listed).\n\
             # TYPE drainscale_drain_responses_total counter"
        );
        for (i, c) in CODES.iter().enumerate() {
            let label = if *c == 0 {
                "other".to_string()
            } else {
                c.to_string()
            };
            let _ = writeln!(
                out,
                "drainscale_drain_responses_total{{code=\"{label}\"}} {}",
                g(&self.responses[i])
            );
        }
        one(
            out,
            "drainscale_drain_connections_open",
            "gauge",
            "Connections being served.",
            g(&self.connections_open),
        );
        one(
            out,
            "drainscale_drain_connections_total",
            "counter",
            "Connections accepted and served.",
            g(&self.connections_total),
        );
        let _ = writeln!(
            out,
            "# HELP drainscale_drain_connections_refused_total Connections closed before a request was served, by reason.\n\
             # TYPE drainscale_drain_connections_refused_total counter"
        );
        for (i, r) in Refused::ALL.iter().enumerate() {
            let _ = writeln!(
                out,
                "drainscale_drain_connections_refused_total{{reason=\"{}\"}} {}",
                r.as_str(),
                g(&self.connections_refused_by[i])
            );
        }
        one(
            out,
            "drainscale_drain_peers",
            "gauge",
            "Distinct peer addresses with a connection open.",
            held.peers as u64,
        );
        one(
            out,
            "drainscale_drain_receiving_bytes",
            "gauge",
            "Wire bytes held by bodies being received.",
            held.receiving_bytes as u64,
        );
        one(
            out,
            "drainscale_drain_decoding_bytes",
            "gauge",
            "Bytes held by bodies being decoded and parsed.",
            held.decoding_bytes as u64,
        );
        one(
            out,
            "drainscale_drain_scrapes_refused_total",
            "counter",
            "Metrics scrapes answered 503 because enough renders were running or waiting.",
            g(&self.scrapes_refused),
        );
        one(
            out,
            "drainscale_drain_scrapes_in_progress",
            "gauge",
            "Metrics scrapes rendering or waiting to render, this one included.",
            g(&self.scrapes_in_progress),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_type_lines() {
        let s = DrainStats::default();
        s.responded(200);
        s.responded(418);
        s.rejected(Rejected::BadGzip);
        s.auth_failed(&Denied::WrongToken);
        s.refused(Refused::FirstHeaderTimeout);
        let mut out = String::new();
        s.render(
            Held {
                receiving_bytes: 7,
                ..Held::default()
            },
            &mut out,
        );
        assert!(out.contains("drainscale_drain_responses_total{code=\"200\"} 1\n"));
        assert!(out.contains("drainscale_drain_responses_total{code=\"other\"} 1\n"));
        assert!(out.contains("drainscale_drain_rejected_bodies_total{reason=\"bad_gzip\"} 1\n"));
        assert!(out.contains("drainscale_drain_auth_failures_total{reason=\"wrong_token\"} 1\n"));
        assert!(out.contains("drainscale_drain_bad_frames_total{reason=\"length_mismatch\"} 0\n"));
        assert!(out.contains(
            "drainscale_drain_connections_refused_total{reason=\"first_header_timeout\"} 1\n"
        ));
        assert!(out.contains("drainscale_drain_receiving_bytes 7\n"));
        // Every sample line belongs to a family announced by exactly one HELP and one TYPE line.
        for line in out.lines().filter(|l| !l.starts_with('#')) {
            let family = line.split(['{', ' ']).next().unwrap();
            for kind in ["HELP", "TYPE"] {
                let announced = format!("# {kind} {family} ");
                assert_eq!(out.matches(&announced).count(), 1, "{announced}");
            }
        }
    }
}
