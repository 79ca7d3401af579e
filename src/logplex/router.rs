//! Heroku router lines (APP `heroku`, PROCID `router`): `at=info method=GET path="/" ... status=200 bytes=656`.
//!
//! Reads the known keys into a [`Router`]; unknown keys are ignored, empty values (`connect=`) stay `None`, and
//! a value that should be a number but is not is counted as a bad value. It does not decide what a line means
//! for scaling.

use super::event::{Router, Text};
use super::logfmt::pairs;
use super::number::number_with_unit;

/// True when a message from `app`/`procid` is a router line.
pub fn is_router(app: &str, procid: &str, message: &str) -> bool {
    app == "heroku" && procid == "router" && message.starts_with("at=")
}

/// Parses a router line's pairs; returns the line and how many values did not parse.
#[inline(always)]
pub fn parse<'a>(message: &'a str) -> (Router<'a>, u64) {
    let mut r = Router::default();
    let mut bad = 0u64;
    let mut line = pairs(message);
    // Heroku writes the keys in this order: take them in order with one compare each...
    let non_empty = |v: Option<Text<'a>>| v.filter(|v| !v.raw.is_empty());
    if let Some(v) = non_empty(line.value_of("at")) {
        r.error = v.raw == "error";
    }
    if let Some(v) = non_empty(line.value_of("code")) {
        r.code = Some(v.raw);
    }
    if let Some(v) = non_empty(line.value_of("desc")) {
        r.desc = Some(v);
    }
    r.method = non_empty(line.value_of("method")).map(|v| v.raw);
    r.path = non_empty(line.value_of("path"));
    r.host = non_empty(line.value_of("host")).map(|v| v.raw);
    r.request_id = non_empty(line.value_of("request_id")).map(|v| v.raw);
    r.fwd = non_empty(line.value_of("fwd"));
    r.dyno = non_empty(line.value_of("dyno")).map(|v| v.raw);
    if let Some(v) = non_empty(line.value_of("connect")) {
        r.connect_ms = millis(v.raw, &mut bad);
    }
    if let Some(v) = non_empty(line.value_of("service")) {
        r.service_ms = millis(v.raw, &mut bad);
    }
    if let Some(v) = non_empty(line.value_of("status")) {
        r.status = count_bad(v.raw.parse().ok(), &mut bad);
    }
    if let Some(v) = non_empty(line.value_of("bytes")) {
        r.bytes = count_bad(v.raw.parse().ok(), &mut bad);
    }
    r.protocol = non_empty(line.value_of("protocol")).map(|v| v.raw);
    // ...and whatever is left (other order, extra keys) the general way.
    for pair in line {
        let Some(v) = pair.value else { continue };
        if v.raw.is_empty() {
            continue;
        }
        // Dispatch on length first: one compare per key instead of a chain of string compares.
        match (pair.key.len(), pair.key) {
            (2, "at") => r.error = v.raw == "error",
            (3, "fwd") => r.fwd = Some(v),
            (4, "code") => r.code = Some(v.raw),
            (4, "desc") => r.desc = Some(v),
            (4, "path") => r.path = Some(v),
            (4, "host") => r.host = Some(v.raw),
            (4, "dyno") => r.dyno = Some(v.raw),
            (5, "bytes") => r.bytes = count_bad(v.raw.parse().ok(), &mut bad),
            (6, "method") => r.method = Some(v.raw),
            (6, "status") => r.status = count_bad(v.raw.parse().ok(), &mut bad),
            (7, "connect") => r.connect_ms = millis(v.raw, &mut bad),
            (7, "service") => r.service_ms = millis(v.raw, &mut bad),
            (8, "protocol") => r.protocol = Some(v.raw),
            (10, "request_id") => r.request_id = Some(v.raw),
            _ => {}
        }
    }
    (r, bad)
}

fn count_bad<T>(value: Option<T>, bad: &mut u64) -> Option<T> {
    if value.is_none() {
        *bad += 1;
    }
    value
}

/// `22ms` (or a bare number, or seconds) in milliseconds.
fn millis(raw: &str, bad: &mut u64) -> Option<f64> {
    let ms = match number_with_unit(raw) {
        Some((v, "ms" | "")) => Some(v),
        Some((v, "s")) => Some(v * 1000.0),
        Some((v, "us" | "µs")) => Some(v / 1000.0),
        _ => None,
    };
    count_bad(ms, bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logplex::event::Text;

    #[test]
    fn info_line_from_the_reference() {
        let line = r#"at=info method=GET path="/cart_link" host=shop.example.com request_id=05726858-c44e-4f94-9a20-37df73be9006 fwd="73.75.38.87" dyno=web.1 connect=1ms service=22ms status=304 bytes=656 protocol=https"#;
        let (r, bad) = parse(line);
        assert_eq!(bad, 0);
        assert_eq!(
            r,
            Router {
                error: false,
                code: None,
                desc: None,
                method: Some("GET"),
                path: Some(Text::plain("/cart_link")),
                host: Some("shop.example.com"),
                request_id: Some("05726858-c44e-4f94-9a20-37df73be9006"),
                fwd: Some(Text::plain("73.75.38.87")),
                dyno: Some("web.1"),
                connect_ms: Some(1.0),
                service_ms: Some(22.0),
                status: Some(304),
                bytes: Some(656),
                protocol: Some("https"),
            }
        );
    }

    #[test]
    fn error_line_from_the_reference() {
        let line = r#"at=error code=H12 desc="Request timeout" method=GET path="/" host=myapp.herokuapp.com request_id=... fwd="204.204.204.204" dyno=web.1 connect=0ms service=30000ms status=503 bytes=0 protocol=https"#;
        let (r, bad) = parse(line);
        assert_eq!(bad, 0);
        assert!(r.error);
        assert_eq!(r.code, Some("H12"));
        assert_eq!(r.desc, Some(Text::plain("Request timeout")));
        assert_eq!(r.service_ms, Some(30000.0));
        assert_eq!(r.status, Some(503));
        assert_eq!(r.bytes, Some(0));
        assert_eq!(r.request_id, Some("..."));
    }

    #[test]
    fn key_order_does_not_matter() {
        let ordered = r#"at=error code=H12 desc="Request timeout" method=GET path="/a b" host=h request_id=r fwd="1.2.3.4" dyno=web.1 connect=1ms service=2ms status=503 bytes=7 protocol=https"#;
        let mut words: Vec<&str> = vec![
            "protocol=https",
            "bytes=7",
            "extra=1",
            r#"fwd="1.2.3.4""#,
            "at=error",
            "status=503",
            "host=h",
            r#"desc="Request timeout""#,
            "connect=1ms",
            "request_id=r",
            "dyno=web.1",
            "code=H12",
            "service=2ms",
            r#"path="/a b""#,
            "method=GET",
        ];
        let want = parse(ordered);
        assert_eq!(want.1, 0);
        assert_eq!(want.0.path.map(|p| p.raw), Some("/a b"));
        for _ in 0..words.len() {
            words.rotate_left(1);
            let line = words.join(" ");
            assert_eq!(parse(&line), want, "{line}");
        }
        words.reverse();
        assert_eq!(parse(&words.join(" ")), want);
    }

    #[test]
    fn empty_and_bad_values() {
        let (r, bad) = parse(
            "at=error code=H13 desc=\"Connection closed\" connect= dyno= service=lots status=5xx",
        );
        assert_eq!(
            (r.connect_ms, r.dyno, r.service_ms, r.status),
            (None, None, None, None)
        );
        assert_eq!(bad, 2);
    }

    #[test]
    fn detection_is_by_app_and_procid() {
        assert!(is_router("heroku", "router", "at=info method=GET"));
        assert!(!is_router("app", "router", "at=info method=GET"));
        assert!(!is_router("heroku", "web.1", "at=info method=GET"));
    }
}
