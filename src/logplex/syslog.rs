//! The syslog header of one frame, with nom: `<PRI>VERSION TIMESTAMP HOST APP PROCID MSGID [SD] MSG`.
//!
//! Heroku's HTTPS drains send no structured data (`... web.1 - msg`, the `-` is MSGID); log-shuttle sends
//! `- -` (MSGID and a nil SD). Both parse; only the nil SD `-` is recognised, so a message that itself starts
//! with `- ` in the Heroku form loses those two bytes. `heroku logs` lines (`TIMESTAMP app[web.1]: msg`) parse
//! too, for newline-delimited input. The message is returned as raw bytes: UTF-8 and meaning are decided later.

use super::event::Micros;
use super::timestamp::parse_rfc3339;
use super::BadReason;
use nom::bytes::complete::{take_while1, take_while_m_n};
use nom::character::complete::char;
use nom::combinator::opt;
use nom::sequence::{delimited, terminated};
use nom::{IResult, Parser};

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
pub fn parse_frame(frame: &[u8]) -> Result<Header<'_>, BadReason> {
    if frame.first() == Some(&b'<') {
        parse_syslog(frame)
    } else {
        parse_heroku_logs_line(frame)
    }
}

type Res<'a, T> = IResult<&'a [u8], T>;

fn is_print(b: u8) -> bool {
    (33..=126).contains(&b)
}

fn ascii(bytes: &[u8]) -> Result<&str, BadReason> {
    std::str::from_utf8(bytes).map_err(|_| BadReason::Header)
}

fn pri(i: &[u8]) -> Res<'_, &[u8]> {
    delimited(
        char('<'),
        take_while_m_n(1, 3, |b: u8| b.is_ascii_digit()),
        char('>'),
    )
    .parse(i)
}

/// A printable token and the single space after it.
fn field(i: &[u8]) -> Res<'_, &[u8]> {
    terminated(take_while1(is_print), char(' ')).parse(i)
}

fn prelude(i: &[u8]) -> Res<'_, (&[u8], &[u8], &[u8])> {
    let (i, pri) = pri(i)?;
    let (i, _version) = field(i)?;
    let (i, ts) = field(i)?;
    Ok((i, (pri, _version, ts)))
}

/// HOSTNAME, APP-NAME, PROCID, MSGID.
type Names<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [u8]);

fn names(i: &[u8]) -> Res<'_, Names<'_>> {
    let (i, host) = field(i)?;
    let (i, app) = field(i)?;
    let (i, procid) = field(i)?;
    let (i, msgid) = terminated(take_while1(is_print), opt(char(' '))).parse(i)?;
    Ok((i, (host, app, procid, msgid)))
}

fn parse_syslog(frame: &[u8]) -> Result<Header<'_>, BadReason> {
    let (rest, (pri, version, ts)) = prelude(frame).map_err(|_| BadReason::Header)?;
    if !version.iter().all(u8::is_ascii_digit) || version.len() > 2 {
        return Err(BadReason::Header);
    }
    let pri = pri.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let pri = u8::try_from(pri)
        .ok()
        .filter(|p| *p <= 191)
        .ok_or(BadReason::Header)?;
    let timestamp = parse_rfc3339(ts).ok_or(BadReason::Timestamp)?;
    let (message, (host, app, procid, msgid)) = names(rest).map_err(|_| BadReason::Header)?;
    let message = match message {
        [b'-'] => &[],
        [b'-', b' ', rest @ ..] => rest,
        other => other,
    };
    Ok(Header {
        pri,
        timestamp,
        hostname: ascii(host)?,
        app: ascii(app)?,
        procid: ascii(procid)?,
        msgid: ascii(msgid)?,
        message,
    })
}

/// `2010-09-16T15:13:46.677020+00:00 app[web.1]: message`.
fn heroku_logs_line(i: &[u8]) -> Res<'_, (&[u8], &[u8], &[u8])> {
    let (i, ts) = field(i)?;
    let (i, app) = take_while1(|b| is_print(b) && b != b'[').parse(i)?;
    let (i, procid) = delimited(
        char('['),
        take_while1(|b| is_print(b) && b != b']'),
        char(']'),
    )
    .parse(i)?;
    let (i, _) = char(':').parse(i)?;
    let (i, _) = opt(char(' ')).parse(i)?;
    Ok((i, (ts, app, procid)))
}

fn parse_heroku_logs_line(line: &[u8]) -> Result<Header<'_>, BadReason> {
    let (message, (ts, app, procid)) = heroku_logs_line(line).map_err(|_| BadReason::Header)?;
    let timestamp = parse_rfc3339(ts).ok_or(BadReason::Timestamp)?;
    Ok(Header {
        pri: 0,
        timestamp,
        hostname: "",
        app: ascii(app)?,
        procid: ascii(procid)?,
        msgid: "",
        message,
    })
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
