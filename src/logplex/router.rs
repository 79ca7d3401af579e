//! Heroku router lines (APP `heroku`, PROCID `router`): `at=info method=GET path="/" ... status=200 bytes=656`.
//!
//! Reads the known keys into a [`Router`]; unknown keys are ignored, empty values (`connect=`) stay `None`, and
//! a value that should be a number but is not is counted as a bad value. It does not decide what a line means
//! for scaling.

use super::event::Router;
use super::logfmt::pairs;
use super::number::number_with_unit;

/// True when a message from `app`/`procid` is a router line.
pub fn is_router(app: &str, procid: &str, message: &str) -> bool {
    app == "heroku" && procid == "router" && message.starts_with("at=")
}

/// Parses a router line's pairs; returns the line and how many values did not parse.
pub fn parse(message: &str) -> (Router<'_>, u64) {
    let mut r = Router::default();
    let mut bad = 0u64;
    for pair in pairs(message) {
        let Some(v) = pair.value else { continue };
        if v.raw.is_empty() {
            continue;
        }
        match pair.key {
            "at" => r.error = v.raw == "error",
            "code" => r.code = Some(v.raw),
            "desc" => r.desc = Some(v),
            "method" => r.method = Some(v.raw),
            "path" => r.path = Some(v),
            "host" => r.host = Some(v.raw),
            "request_id" => r.request_id = Some(v.raw),
            "fwd" => r.fwd = Some(v),
            "dyno" => r.dyno = Some(v.raw),
            "connect" => r.connect_ms = millis(v.raw, &mut bad),
            "service" => r.service_ms = millis(v.raw, &mut bad),
            "status" => r.status = count_bad(v.raw.parse().ok(), &mut bad),
            "bytes" => r.bytes = count_bad(v.raw.parse().ok(), &mut bad),
            "protocol" => r.protocol = Some(v.raw),
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
