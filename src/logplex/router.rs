//! Heroku router lines (APP `heroku`, PROCID `router`): `at=info method=GET path="/" ... status=200 bytes=656`.
//!
//! Reads the known keys into a [`Router`]; unknown keys are ignored, empty values (`connect=`) stay `None`, and
//! a value that should be a number but is not is counted as a bad value. It does not decide what a line means
//! for scaling.

use super::event::{Router, RouterField, Text};
use super::logfmt::pairs;
use super::number::number_with_unit;
use RouterField::*;

/// True when a message from `app`/`procid` is a router line.
#[inline(always)]
pub fn is_router(app: &str, procid: &str, message: &str) -> bool {
    app == "heroku" && procid == "router" && message.starts_with("at=")
}

/// Where a router key's value goes.
#[derive(Clone, Copy)]
enum Target {
    At,
    Text(RouterField),
    Connect,
    Service,
    Status,
    Bytes,
}

/// Parses a router line's pairs; returns the line and how many values did not parse (or could not be kept).
#[inline(always)]
pub fn parse<'a>(message: &'a str) -> (Router<'a>, u64) {
    let mut r = Router::new(message);
    let mut numbers = Numbers { bad: 0 };
    let mut line = pairs(message);
    // Every offset in a line this short fits the router's 16-bit spans: no per-value check.
    let short = message.len() <= usize::from(u16::MAX);
    let non_empty = |v: Option<Text<'a>>| v.filter(|v| !v.raw.is_empty());
    // Heroku writes the keys in this order: take them in order with one compare each (spelled out, so each
    // compare is against a constant)...
    macro_rules! in_order {
        ($($key:literal => $target:expr),*) => {
            $(if let Some(v) = non_empty(line.value_of($key)) {
                apply(&mut r, &mut numbers, short, $target, v);
            })*
        };
    }
    in_order!(
        "at=" => Target::At,
        "code=" => Target::Text(Code),
        "desc=" => Target::Text(Desc),
        "method=" => Target::Text(Method),
        "path=" => Target::Text(Path),
        "host=" => Target::Text(Host),
        "request_id=" => Target::Text(RequestId),
        "fwd=" => Target::Text(Fwd),
        "dyno=" => Target::Text(Dyno),
        "connect=" => Target::Connect,
        "service=" => Target::Service,
        "status=" => Target::Status,
        "bytes=" => Target::Bytes,
        "protocol=" => Target::Text(Protocol)
    );
    // ...and whatever is left (other order, extra keys) the general way.
    for pair in line {
        let Some(v) = non_empty(pair.value) else {
            continue;
        };
        // Dispatch on length first: one compare per key instead of a chain of string compares.
        let target = match (pair.key.len(), pair.key) {
            (2, "at") => Target::At,
            (3, "fwd") => Target::Text(Fwd),
            (4, "code") => Target::Text(Code),
            (4, "desc") => Target::Text(Desc),
            (4, "path") => Target::Text(Path),
            (4, "host") => Target::Text(Host),
            (4, "dyno") => Target::Text(Dyno),
            (5, "bytes") => Target::Bytes,
            (6, "method") => Target::Text(Method),
            (6, "status") => Target::Status,
            (7, "connect") => Target::Connect,
            (7, "service") => Target::Service,
            (8, "protocol") => Target::Text(Protocol),
            (10, "request_id") => Target::Text(RequestId),
            _ => continue,
        };
        apply(&mut r, &mut numbers, short, target, v);
    }
    (r, numbers.bad)
}

/// Puts value `v` of the router's own line where `target` says; `short`: the line is at most 64 KiB long.
#[inline(always)]
fn apply<'a>(r: &mut Router<'a>, numbers: &mut Numbers, short: bool, target: Target, v: Text<'a>) {
    match target {
        Target::At => r.set_error(v.raw == "error"),
        Target::Text(field) if short => {
            // `v` is a non-empty slice of the line (the pairs come from it), so both fit in 16 bits.
            let start = (v.raw.as_ptr() as usize - r.line_start()) as u16;
            r.put(field, start, v.raw.len() as u16, v.escaped);
        }
        Target::Text(field) => {
            if !r.set(field, v) {
                numbers.bad += 1;
            }
        }
        Target::Connect => r.set_connect_ms(numbers.millis(v.raw)),
        Target::Service => r.set_service_ms(numbers.millis(v.raw)),
        Target::Status => r.set_status(numbers.status(v.raw)),
        Target::Bytes => r.set_bytes(numbers.unsigned(v.raw)),
    }
}

/// A router line's numeric values, counting the ones that do not parse (and string values it cannot keep).
struct Numbers {
    bad: u64,
}

impl Numbers {
    fn counted<T>(&mut self, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.bad += 1;
        }
        value
    }

    #[inline(always)]
    fn unsigned(&mut self, raw: &str) -> Option<u64> {
        self.counted(unsigned(raw))
    }

    #[inline(always)]
    fn status(&mut self, raw: &str) -> Option<u16> {
        self.counted(unsigned(raw).and_then(|n| u16::try_from(n).ok()))
    }

    /// `22ms` (or a bare number, or seconds) in milliseconds.
    #[inline(always)]
    fn millis(&mut self, raw: &str) -> Option<f64> {
        // What the router writes: whole milliseconds, `22ms`.
        if let Some(whole) = raw.strip_suffix("ms").and_then(small_unsigned) {
            return Some(whole as f64);
        }
        let ms = match number_with_unit(raw) {
            Some((v, "ms" | "")) => Some(v),
            Some((v, "s")) => Some(v * 1000.0),
            Some((v, "us" | "µs")) => Some(v / 1000.0),
            _ => None,
        };
        self.counted(ms)
    }
}

impl<'a> Router<'a> {
    /// The router fields of `line` (`at=info dyno=web.1 status=200 ...`), values that do not parse left out.
    pub fn from_line(line: &'a str) -> Self {
        parse(line).0
    }
}

/// One to nine decimal digits (no sign), read exactly; `None` for anything else (which the general path reads).
#[inline(always)]
fn small_unsigned(digits: &str) -> Option<u32> {
    let b = digits.as_bytes();
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    let mut n = 0u32;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d >= 10 {
            return None;
        }
        n = n * 10 + u32::from(d);
    }
    Some(n)
}

/// An unsigned integer as `str::parse::<u64>` reads it (optional `+`, digits only), without its generic
/// set-up for the common short case.
#[inline(always)]
fn unsigned(raw: &str) -> Option<u64> {
    // What the router writes (`status=200 bytes=656`) straight; a sign, a long number or anything odd is std's.
    match small_unsigned(raw) {
        Some(n) => Some(u64::from(n)),
        None => raw.parse().ok(),
    }
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
        assert!(!r.error());
        assert_eq!((r.code(), r.desc()), (None, None));
        assert_eq!(r.method(), Some("GET"));
        assert_eq!(r.path(), Some(Text::plain("/cart_link")));
        assert_eq!(r.host(), Some("shop.example.com"));
        assert_eq!(r.request_id(), Some("05726858-c44e-4f94-9a20-37df73be9006"));
        assert_eq!(r.fwd(), Some(Text::plain("73.75.38.87")));
        assert_eq!(r.dyno(), Some("web.1"));
        assert_eq!((r.connect_ms(), r.service_ms()), (Some(1.0), Some(22.0)));
        assert_eq!((r.status(), r.bytes()), (Some(304), Some(656)));
        assert_eq!(r.protocol(), Some("https"));
    }

    #[test]
    fn a_router_equals_another_with_the_same_fields_from_another_line() {
        let (a, _) = parse("at=info dyno=web.1 status=200 service=3ms");
        let (b, _) = parse("service=3ms   status=200 extra=x dyno=web.1 at=info");
        assert_eq!(a, b);
        let (c, _) = parse("at=info dyno=web.2 status=200 service=3ms");
        assert_ne!(a, c);
        assert_eq!(Router::default(), parse("").0);
        assert_eq!(Router::default().connect_ms(), None);
    }

    #[test]
    fn values_past_64_kib_are_counted_not_kept() {
        let line = format!(
            "at=info path=\"{}\" dyno=web.1 status=200",
            "a".repeat(70_000)
        );
        let (r, bad) = parse(&line);
        assert_eq!(bad, 2, "the path is too long, the dyno starts too far");
        assert_eq!((r.path(), r.dyno(), r.status()), (None, None, Some(200)));
        // A value that is not a slice of the router's line is refused, not kept.
        let mut r = Router::new("dyno=web.1");
        assert!(!r.set(RouterField::Dyno, Text::plain("elsewhere")));
        assert_eq!(r.dyno(), None);
    }

    #[test]
    fn an_event_stays_small() {
        // Events are moved once each on the hot path; a memcpy call starts above 128 bytes.
        assert!(std::mem::size_of::<crate::logplex::Event<'_>>() <= 128);
    }

    #[test]
    fn error_line_from_the_reference() {
        let line = r#"at=error code=H12 desc="Request timeout" method=GET path="/" host=myapp.herokuapp.com request_id=... fwd="204.204.204.204" dyno=web.1 connect=0ms service=30000ms status=503 bytes=0 protocol=https"#;
        let (r, bad) = parse(line);
        assert_eq!(bad, 0);
        assert!(r.error());
        assert_eq!(r.code(), Some("H12"));
        assert_eq!(r.desc(), Some(Text::plain("Request timeout")));
        assert_eq!(r.service_ms(), Some(30000.0));
        assert_eq!(r.status(), Some(503));
        assert_eq!(r.bytes(), Some(0));
        assert_eq!(r.request_id(), Some("..."));
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
        assert_eq!(want.0.path().map(|p| p.raw), Some("/a b"));
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
            (r.connect_ms(), r.dyno(), r.service_ms(), r.status()),
            (None, None, None, None)
        );
        assert_eq!(bad, 2);
    }

    #[test]
    fn millis_fast_path_agrees_with_the_general_one() {
        for raw in [
            "0ms",
            "22ms",
            "30000ms",
            "123456789ms",
            "1234567890ms",
            "ms",
            "-1ms",
            "+1ms",
            "1.5ms",
            "1e3ms",
            "07ms",
            "2s",
            "1500us",
            "x1ms",
            "1xms",
        ] {
            let mut fast = Numbers { bad: 0 };
            let general = match number_with_unit(raw) {
                Some((v, "ms" | "")) => Some(v),
                Some((v, "s")) => Some(v * 1000.0),
                Some((v, "us" | "µs")) => Some(v / 1000.0),
                _ => None,
            };
            assert_eq!(fast.millis(raw), general, "{raw}");
            assert_eq!(fast.bad, u64::from(general.is_none()), "{raw}");
        }
    }

    #[test]
    fn unsigned_agrees_with_std() {
        for raw in [
            "0",
            "656",
            "+7",
            "+",
            "",
            "-1",
            "1x",
            "18446744073709551615",
            "18446744073709551616",
            "000000000000000000000042",
            "9999999999999999999",
        ] {
            assert_eq!(unsigned(raw), raw.parse::<u64>().ok(), "{raw}");
        }
    }

    #[test]
    fn detection_is_by_app_and_procid() {
        assert!(is_router("heroku", "router", "at=info method=GET"));
        assert!(!is_router("app", "router", "at=info method=GET"));
        assert!(!is_router("heroku", "web.1", "at=info method=GET"));
    }
}
