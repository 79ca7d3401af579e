//! The syslog header grammar in nom: the reference definition of a frame's header, and the parser of
//! `heroku logs` lines (`2010-09-16T15:13:46.677020+00:00 app[web.1]: message`), which are never on the hot path.
//!
//! `syslog::parse_frame` reads Heroku's syslog headers with a hand-written loop that the property tests hold
//! to exactly this grammar's answers (the benchmark measures both). Messages are not interpreted here.

use super::header::Header;
use super::timestamp::parse_rfc3339;
use super::BadReason;
use nom::bytes::complete::{take_while1, take_while_m_n};
use nom::character::complete::char;
use nom::combinator::opt;
use nom::sequence::{delimited, terminated};
use nom::{IResult, Parser};

type Res<'a, T> = IResult<&'a [u8], T>;

pub(crate) fn is_print(b: u8) -> bool {
    (33..=126).contains(&b)
}

pub(crate) fn ascii(bytes: &[u8]) -> Result<&str, BadReason> {
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

pub fn parse_syslog(frame: &[u8]) -> Result<Header<'_>, BadReason> {
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

pub fn parse_heroku_logs_line(line: &[u8]) -> Result<Header<'_>, BadReason> {
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
