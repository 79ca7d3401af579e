//! A seeded generator of realistic drain traffic, for benchmarks, load tests and property tests.
//!
//! The mix follows what a busy Heroku app drains: router lines (mostly `at=info`, a few `at=error` H12/H13),
//! app lines with l2met metrics, plain app log lines, dyno runtime metrics, Postgres and Redis add-on metrics,
//! and the odd L10 overflow notice. Same seed, same bytes. It writes frames; it never parses them.

use std::fmt::Write as _;

use super::event::Micros;

/// The frame layout: Heroku's HTTPS drains or log-shuttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `<PRI>1 TS host APP PROCID - MSG`: no structured data.
    Heroku,
    /// `<PRI>1 TS host APP PROCID - - MSG`: a nil structured-data field, which `syslog_loose` can read.
    LogShuttle,
}

/// A generated body and how many frames it holds.
#[derive(Debug, Clone)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub frames: usize,
}

/// The generator. Timestamps start at 2024-01-01 and move forward a few milliseconds per frame.
#[derive(Debug, Clone)]
pub struct Corpus {
    rng: fastrand::Rng,
    form: Form,
    clock: Micros,
    message: String,
}

const PATHS: &[&str] = &[
    "/",
    "/cart",
    "/cart_link",
    "/api/v1/orders",
    "/search?q=red+shoes",
    "/assets/app.js",
];
const METHODS: &[&str] = &["GET", "GET", "GET", "POST", "PUT", "DELETE"];
const STATUSES: &[u16] = &[200, 200, 200, 200, 200, 201, 304, 302, 404, 500];
const APP_LINES: &[&str] = &[
    "Started GET \"/cart\" for 73.75.38.87 at 2024-01-01 00:00:00 +0000",
    "Completed 200 OK in 22ms (Views: 12.1ms | ActiveRecord: 4.3ms)",
    "Processing by CartsController#show as HTML",
    "  Rendered carts/show.html.erb within layouts/application (8.2ms)",
    "[worker] job=ReceiptMailer id=8f1c queue=default done in 120ms",
];
const ERRORS: &[(&str, &str)] = &[
    ("H12", "Request timeout"),
    ("H13", "Connection closed without response"),
];

impl Corpus {
    /// A generator in Heroku's form.
    pub fn new(seed: u64) -> Self {
        Corpus {
            rng: fastrand::Rng::with_seed(seed),
            form: Form::Heroku,
            clock: 1_704_067_200_000_000,
            message: String::with_capacity(512),
        }
    }

    /// The same traffic in another frame layout.
    pub fn with_form(mut self, form: Form) -> Self {
        self.form = form;
        self
    }

    /// Appends one frame, with its trailing newline and without an octet count.
    pub fn frame(&mut self, out: &mut Vec<u8>) {
        self.clock += self.rng.i64(100..5_000);
        let (pri, app, procid) = self.message();
        let sd = match self.form {
            Form::Heroku => "",
            Form::LogShuttle => " -",
        };
        let mut head = String::with_capacity(80);
        let _ = write!(head, "<{pri}>1 ");
        format_timestamp(self.clock, &mut head);
        let _ = write!(head, " host {app} {procid} -{sd} ");
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(self.message.as_bytes());
        out.push(b'\n');
    }

    /// An octet-counted body of whole frames, at least `target_bytes` long.
    pub fn body(&mut self, target_bytes: usize) -> Body {
        let mut bytes = Vec::with_capacity(target_bytes + 1024);
        let mut frame = Vec::with_capacity(1024);
        let mut frames = 0;
        while bytes.len() < target_bytes {
            frame.clear();
            self.frame(&mut frame);
            bytes.extend_from_slice(format!("{} ", frame.len()).as_bytes());
            bytes.extend_from_slice(&frame);
            frames += 1;
        }
        Body { bytes, frames }
    }

    /// `count` frames, one per line, with no octet counts.
    pub fn lines(&mut self, count: usize) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(count * 256);
        for _ in 0..count {
            self.frame(&mut bytes);
        }
        bytes
    }

    /// Writes the next message into `self.message`; returns its PRI, app and procid.
    fn message(&mut self) -> (u8, &'static str, String) {
        self.message.clear();
        let roll = self.rng.u32(0..1000);
        match roll {
            0..=399 => {
                self.router_line(false);
                (158, "heroku", "router".into())
            }
            400..=414 => {
                self.router_line(true);
                (158, "heroku", "router".into())
            }
            415..=664 => {
                self.app_metrics();
                (190, "app", self.web_dyno())
            }
            665..=764 => {
                let line = APP_LINES[self.rng.usize(..APP_LINES.len())];
                self.message.push_str(line);
                (190, "app", self.web_dyno())
            }
            765..=884 => {
                let dyno = self.web_dyno();
                self.runtime_metrics(&dyno);
                (190, "heroku", dyno)
            }
            885..=997 => {
                let procid = self.addon_metrics();
                (190, "app", procid.into())
            }
            _ => {
                let n = self.rng.u32(1..5000);
                let _ = write!(
                    self.message,
                    "Error L10 (output buffer overflow): {n} messages dropped since "
                );
                format_timestamp(self.clock - 60_000_000, &mut self.message);
                self.message.push('.');
                (172, "heroku", "logplex".into())
            }
        }
    }

    fn web_dyno(&mut self) -> String {
        format!("web.{}", self.rng.u32(1..9))
    }

    fn hex(&mut self, n: usize) {
        for _ in 0..n {
            let d = self.rng.u8(0..16);
            self.message
                .push(char::from_digit(u32::from(d), 16).unwrap_or('0'));
        }
    }

    fn router_line(&mut self, error: bool) {
        let rng = &mut self.rng;
        let method = METHODS[rng.usize(..METHODS.len())];
        let path = PATHS[rng.usize(..PATHS.len())];
        let (a, b, c, d) = (rng.u8(1..255), rng.u8(..), rng.u8(..), rng.u8(1..255));
        let dyno = rng.u32(1..9);
        let connect = rng.u32(0..4);
        if error {
            let (code, desc) = ERRORS[rng.usize(..ERRORS.len())];
            let _ = write!(self.message, "at=error code={code} desc=\"{desc}\" ");
        } else {
            self.message.push_str("at=info ");
        }
        let _ = write!(
            self.message,
            "method={method} path=\"{path}\" host=shop.example.com request_id="
        );
        self.hex(8);
        self.message.push('-');
        self.hex(4);
        self.message.push('-');
        self.hex(4);
        self.message.push('-');
        self.hex(4);
        self.message.push('-');
        self.hex(12);
        let (service, status, bytes) = if error {
            (30_000, 503, 0)
        } else {
            (
                self.rng.u32(1..2_000),
                STATUSES[self.rng.usize(..STATUSES.len())],
                self.rng.u32(0..200_000),
            )
        };
        let _ = write!(
            self.message,
            " fwd=\"{a}.{b}.{c}.{d}\" dyno=web.{dyno} connect={connect}ms service={service}ms status={status} bytes={bytes} protocol=https"
        );
    }

    fn app_metrics(&mut self) {
        let rng = &mut self.rng;
        let (q, v, neg) = (rng.u32(1..50_000), rng.u32(1..9_000), rng.bool());
        let delta = if neg {
            -f64::from(rng.u32(1..100))
        } else {
            f64::from(rng.u32(1..100))
        } / 4.0;
        let queue = rng.u32(0..400);
        let user = rng.u32(1..5_000);
        let _ = write!(
            self.message,
            "source=web measure#db.query={}.{:03}ms measure#view.render={}.{}ms measure#queue_time={queue}ms count#orders.created count#cache.miss=2 sample#balance.delta={delta} unique#user=u{user}",
            q / 1000,
            q % 1000,
            v / 10,
            v % 10,
        );
    }

    fn runtime_metrics(&mut self, dyno: &str) {
        let rng = &mut self.rng;
        let id = rng.u32(1_000_000..9_999_999);
        let _ = write!(
            self.message,
            "source={dyno} dyno=heroku.{id}.d97d0ea7-4d1c-4a6b-a1f0-2c0c0e0a3b11 "
        );
        if rng.bool() {
            let (a, b, c) = (rng.u32(0..400), rng.u32(0..400), rng.u32(0..400));
            let _ = write!(
                self.message,
                "sample#load_avg_1m={}.{:02} sample#load_avg_5m={}.{:02} sample#load_avg_15m={}.{:02}",
                a / 100,
                a % 100,
                b / 100,
                b % 100,
                c / 100,
                c % 100
            );
        } else {
            let (total, rss, pages) = (
                rng.u32(10_000..51_200),
                rng.u32(10_000..51_200),
                rng.u32(1..900_000),
            );
            let _ = write!(
                self.message,
                "sample#memory_total={}.{:02}MB sample#memory_rss={}.{:02}MB sample#memory_quota=512.00MB sample#memory_pgpgin={pages}pages",
                total / 100,
                total % 100,
                rss / 100,
                rss % 100
            );
        }
    }

    fn addon_metrics(&mut self) -> &'static str {
        let rng = &mut self.rng;
        if rng.bool() {
            let (tx, size, conns, mem) = (
                rng.u32(1..100_000),
                rng.u64(1..10_000_000_000),
                rng.u32(1..100),
                rng.u32(1..900_000),
            );
            let _ = write!(
                self.message,
                "source=DATABASE addon=postgresql-clean-12345 sample#current_transaction={tx} sample#db_size={size}bytes sample#active-connections={conns} sample#memory-postgres={mem}kB"
            );
            "heroku-postgres"
        } else {
            let (conns, load, mem, hit) = (
                rng.u32(1..1000),
                rng.u32(0..1000),
                rng.u64(1..1_000_000_000),
                rng.u32(0..100),
            );
            let _ = write!(
                self.message,
                "source=REDIS addon=redis-shiny-67890 sample#active-connections={conns} sample#load-avg-1m=0.{load:03} sample#memory-redis={mem}bytes sample#hit-rate=0.{hit:02}"
            );
            "heroku-redis"
        }
    }
}

/// `2024-01-01T00:00:00.123456+00:00`.
fn format_timestamp(micros: Micros, out: &mut String) {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:06}+00:00"
    );
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logplex::{parse_body, timestamp::parse_rfc3339};

    #[test]
    fn timestamps_round_trip() {
        for micros in [
            0,
            1_704_067_200_123_456,
            951_782_400_000_001,
            4_102_444_799_999_999,
        ] {
            let mut s = String::new();
            format_timestamp(micros, &mut s);
            assert_eq!(parse_rfc3339(s.as_bytes()), Some(micros), "{s}");
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        assert_eq!(
            Corpus::new(7).body(10_000).bytes,
            Corpus::new(7).body(10_000).bytes
        );
        assert_ne!(
            Corpus::new(7).body(10_000).bytes,
            Corpus::new(8).body(10_000).bytes
        );
    }

    #[test]
    fn every_frame_parses_cleanly_in_both_forms() {
        for form in [Form::Heroku, Form::LogShuttle] {
            let body = Corpus::new(1).with_form(form).body(300_000);
            let mut events = parse_body(&body.bytes);
            let mut kinds = std::collections::BTreeMap::new();
            for e in events.by_ref() {
                *kinds.entry(e.kind.name()).or_insert(0) += 1;
            }
            let stats = events.stats();
            assert_eq!(stats.frames, body.frames as u64);
            assert_eq!((stats.bad_total(), stats.bad_values), (0, 0));
            for kind in [
                "router", "measure", "count", "sample", "unique", "l10", "line",
            ] {
                assert!(
                    kinds.get(kind).copied().unwrap_or(0) > 0,
                    "no {kind} in {kinds:?}"
                );
            }
        }
    }

    #[test]
    fn lines_are_newline_delimited() {
        let lines = Corpus::new(3).lines(100);
        let stats = parse_body(&lines).into_stats();
        assert_eq!((stats.frames, stats.bad_total()), (100, 0));
    }
}
