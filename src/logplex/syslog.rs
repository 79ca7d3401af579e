//! The syslog header of one frame: `<PRI>VERSION TIMESTAMP HOST APP PROCID MSGID [SD] MSG`.
//!
//! Heroku's HTTPS drains send no structured data (`... web.1 - msg`, the `-` is MSGID); log-shuttle sends
//! `- -` (MSGID and a nil SD). Both parse; only the nil SD `-` is recognised, so a message that itself starts
//! with `- ` in the Heroku form loses those two bytes. `heroku logs` lines (`TIMESTAMP app[web.1]: msg`) parse
//! too, for newline-delimited input. The message is returned as raw bytes: UTF-8 and meaning are decided later.

use super::event::Micros;
use super::scan::{has_byte, scan};
use super::syslog_nom::{ascii, is_print, parse_heroku_logs_line};
use super::timestamp::{parse_rfc3339, MinuteCache};
use super::BadReason;

/// The fields of a syslog header; strings are slices of the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// facility * 8 + severity; 0 for `heroku logs` lines, which carry none.
    pub pri: u8,
    pub timestamp: Micros,
    /// `host` on Heroku's drains; empty for `heroku logs` lines.
    pub hostname: &'a str,
    pub app: &'a str,
    pub procid: &'a str,
    /// `-` on Heroku's drains; empty for `heroku logs` lines.
    pub msgid: &'a str,
    /// Everything after the header (and the nil SD, when present).
    pub message: &'a [u8],
}

/// Parses a frame's header: a syslog frame when it starts with `<`, a `heroku logs` line otherwise.
#[inline]
pub fn parse_frame(frame: &[u8]) -> Result<Header<'_>, BadReason> {
    if frame.first() == Some(&b'<') {
        parse_syslog(frame)
    } else {
        parse_heroku_logs_line(frame)
    }
}

/// Parses a frame already known to be UTF-8: the same answers as [`parse_frame`], plus the message as `&str`,
/// without validating each field again (the hot path: one UTF-8 check per frame).
/// `minutes` carries the last timestamp's minute from frame to frame (keep one per body).
#[inline]
pub fn parse_frame_str<'a>(
    frame: &'a str,
    minutes: &mut MinuteCache,
) -> Result<(Header<'a>, &'a str), BadReason> {
    let bytes = frame.as_bytes();
    if bytes.first() != Some(&b'<') {
        let header = parse_heroku_logs_line(bytes)?;
        let message = &frame[frame.len() - header.message.len()..];
        return Ok((header, message));
    }
    let spans = scan_syslog(bytes, |ts| minutes.parse(ts))?;
    // Every span ends at an ASCII byte, so slicing the `&str` cannot split a character.
    let header = Header {
        pri: spans.pri,
        timestamp: spans.timestamp,
        hostname: &frame[spans.host.0..spans.host.1],
        app: &frame[spans.app.0..spans.app.1],
        procid: &frame[spans.procid.0..spans.procid.1],
        msgid: &frame[spans.msgid.0..spans.msgid.1],
        message: &bytes[spans.message..],
    };
    Ok((header, &frame[spans.message..]))
}

/// Where a syslog header's fields are, as byte ranges of the frame.
struct Spans {
    pri: u8,
    timestamp: Micros,
    host: (usize, usize),
    app: (usize, usize),
    procid: (usize, usize),
    msgid: (usize, usize),
    message: usize,
}

fn parse_syslog(f: &[u8]) -> Result<Header<'_>, BadReason> {
    let spans = scan_syslog(f, parse_rfc3339)?;
    let text = |(a, b): (usize, usize)| ascii(&f[a..b]);
    Ok(Header {
        pri: spans.pri,
        timestamp: spans.timestamp,
        hostname: text(spans.host)?,
        app: text(spans.app)?,
        procid: text(spans.procid)?,
        msgid: text(spans.msgid)?,
        message: &f[spans.message..],
    })
}

/// The syslog header by hand: the hottest per-frame step, held to `syslog_nom::parse_syslog`'s answers (same
/// fields, same error reasons) by the property tests.
#[inline]
fn scan_syslog(
    f: &[u8],
    mut parse_timestamp: impl FnMut(&[u8]) -> Option<Micros>,
) -> Result<Spans, BadReason> {
    let digits = f
        .iter()
        .skip(1)
        .take(3)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || f.get(1 + digits) != Some(&b'>') {
        return Err(BadReason::Header);
    }
    let pri = f[1..1 + digits]
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let (version, at) = field(f, 2 + digits).ok_or(BadReason::Header)?;
    // The timestamp's end by SWAR; whether it is a well-formed field is only asked when it does not parse
    // (a parsed RFC 3339 timestamp is printable ASCII), so the error reasons stay the grammar's.
    let ts_end = scan(f, at, |w| has_byte(w, b' '), |b| b == b' ');
    let ts = &f[at..ts_end];
    let version_ok =
        version.1 - version.0 <= 2 && f[version.0..version.1].iter().all(u8::is_ascii_digit);
    let pri = u8::try_from(pri).ok().filter(|p| *p <= 191);
    let timestamp = parse_timestamp(ts).filter(|_| ts_end < f.len());
    let ts_field = || !ts.is_empty() && ts_end < f.len() && ts.iter().all(|b| is_print(*b));
    let timestamp = match (pri, timestamp) {
        (Some(pri), Some(t)) if version_ok => (pri, t),
        _ if !ts_field() => return Err(BadReason::Header),
        (Some(_), None) if version_ok => return Err(BadReason::Timestamp),
        _ => return Err(BadReason::Header),
    };
    let (pri, timestamp) = timestamp;
    let at = ts_end + 1;
    let (host, at) = field(f, at).ok_or(BadReason::Header)?;
    let (app, at) = field(f, at).ok_or(BadReason::Header)?;
    let (procid, at) = field(f, at).ok_or(BadReason::Header)?;
    let end = token_end(f, at);
    if end == at {
        return Err(BadReason::Header);
    }
    let mut message = (end + usize::from(f.get(end) == Some(&b' '))).min(f.len());
    match &f[message..] {
        [b'-'] => message += 1,
        [b'-', b' ', ..] => message += 2,
        _ => {}
    }
    Ok(Spans {
        pri,
        timestamp,
        host,
        app,
        procid,
        msgid: (at, end),
        message,
    })
}

/// Where the run of printable ASCII starting at `from` ends.
#[inline(always)]
fn token_end(f: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < f.len() && is_print(f[i]) {
        i += 1;
    }
    i
}

/// A non-empty printable token at `from` and the single space after it; returns its range and where the next
/// field starts.
#[inline(always)]
fn field(f: &[u8], from: usize) -> Option<((usize, usize), usize)> {
    let end = token_end(f, from);
    (end > from && f.get(end) == Some(&b' ')).then_some(((from, end), end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heroku_https_form_has_no_structured_data() {
        let h =
            parse_frame(b"<174>1 2012-07-22T00:06:26+00:00 host erlang console - Hi from erlang")
                .unwrap();
        assert_eq!(h.pri, 174);
        assert_eq!(h.timestamp, 1_342_915_586_000_000);
        assert_eq!(
            (h.hostname, h.app, h.procid, h.msgid),
            ("host", "erlang", "console", "-")
        );
        assert_eq!(h.message, b"Hi from erlang");
    }

    #[test]
    fn log_shuttle_form_has_nil_structured_data() {
        let h = parse_frame(b"<190>1 2012-07-22T00:06:26.123456Z host app web.1 - - measure#x=1")
            .unwrap();
        assert_eq!((h.app, h.procid), ("app", "web.1"));
        assert_eq!(h.timestamp, 1_342_915_586_123_456);
        assert_eq!(h.message, b"measure#x=1");
    }

    #[test]
    fn empty_message() {
        assert_eq!(
            parse_frame(b"<13>1 2012-07-22T00:06:26Z host app web.1 -")
                .unwrap()
                .message,
            b""
        );
        assert_eq!(
            parse_frame(b"<13>1 2012-07-22T00:06:26Z host app web.1 - -")
                .unwrap()
                .message,
            b""
        );
    }

    #[test]
    fn heroku_logs_lines() {
        let h = parse_frame(b"2010-09-16T15:13:46.677020+00:00 heroku[router]: at=info method=GET")
            .unwrap();
        assert_eq!((h.app, h.procid), ("heroku", "router"));
        assert_eq!(h.message, b"at=info method=GET");
        assert_eq!(h.timestamp, 1_284_650_026_677_020);
    }

    #[test]
    fn bad_headers_have_reasons() {
        assert_eq!(
            parse_frame(b"<13>1 yesterday host app web.1 - x"),
            Err(BadReason::Timestamp)
        );
        assert_eq!(
            parse_frame(b"<13>1 - host app web.1 - x"),
            Err(BadReason::Timestamp)
        );
        assert_eq!(
            parse_frame(b"<192>1 2012-07-22T00:06:26Z host app web.1 - x"),
            Err(BadReason::Header)
        );
        assert_eq!(
            parse_frame(b"<13>1 2012-07-22T00:06:26Z host app"),
            Err(BadReason::Header)
        );
        assert_eq!(
            parse_frame(b"<13>x 2012-07-22T00:06:26Z host app web.1 - x"),
            Err(BadReason::Header)
        );
        assert_eq!(
            parse_frame(b"<13 2012-07-22T00:06:26Z host app web.1 - x"),
            Err(BadReason::Header)
        );
        assert_eq!(parse_frame(b"just some text"), Err(BadReason::Header));
        assert_eq!(parse_frame(b""), Err(BadReason::Header));
        assert_eq!(
            parse_frame(b"2012-07-22T00:06:26Z app[web.1 x"),
            Err(BadReason::Header)
        );
    }
}
