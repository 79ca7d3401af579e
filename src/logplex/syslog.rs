//! The syslog header of one frame: `<PRI>VERSION TIMESTAMP HOST APP PROCID MSGID [SD] MSG`.
//!
//! Heroku's HTTPS drains send no structured data (`... web.1 - msg`, the `-` is MSGID); log-shuttle sends
//! `- -` (MSGID and a nil SD). Both parse; only the nil SD `-` is recognised, so a message that itself starts
//! with `- ` in the Heroku form loses those two bytes. `heroku logs` lines (`TIMESTAMP app[web.1]: msg`) parse
//! too, for newline-delimited input. The message is returned as raw bytes: UTF-8 and meaning are decided later.

use super::event::Micros;
pub use super::header::Header;
use super::scan::{has_byte, not_print, scan};
use super::syslog_nom::{ascii, is_print, parse_heroku_logs_line};
use super::timestamp::{parse_rfc3339, MinuteCache};
use super::BadReason;

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
/// Inlined into the events loop: 65 instructions per frame fewer than a call there (measured with callgrind
/// once the frame splitter's and the router's changes were in; on its own it measured the other way).
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
    let heroku = heroku_prelude(bytes)
        .and_then(|(pri, ts)| Some((pri, minutes.parse(&bytes[ts.clone()])?, ts.end + 1)));
    let spans = match heroku {
        Some((pri, timestamp, at)) => names(bytes, at, pri, timestamp)?,
        None => scan_syslog(bytes, |ts| minutes.parse(ts))?,
    };
    let header = Header {
        pri: spans.pri,
        timestamp: spans.timestamp,
        hostname: printable(bytes, spans.host),
        app: printable(bytes, spans.app),
        procid: printable(bytes, spans.procid),
        msgid: printable(bytes, spans.msgid),
        message: &bytes[spans.message..],
    };
    // The message starts right after an ASCII byte (a space, or the MSGID's last byte): a character boundary.
    Ok((header, &frame[spans.message..]))
}

/// A header field of a frame known to be UTF-8, as `&str` without a second check: every span is a run of
/// printable ASCII (what `token_end` and the fixed `host` test accept).
#[inline(always)]
fn printable(bytes: &[u8], (from, to): (usize, usize)) -> &str {
    let field = &bytes[from..to];
    debug_assert!(field.iter().all(|b| is_print(*b)), "{field:?}");
    // SAFETY: `field` is printable ASCII (see above, asserted in tests), and ASCII is valid UTF-8.
    unsafe { std::str::from_utf8_unchecked(field) }
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

/// The syslog header by hand, held to `syslog_nom::parse_syslog`'s answers (same fields, same error reasons) by
/// the property tests. The hot path tries [`heroku_prelude`] first; this is the general (and error) path.
#[inline(never)]
fn scan_syslog(
    f: &[u8],
    mut parse_timestamp: impl FnMut(&[u8]) -> Option<Micros>,
) -> Result<Spans, BadReason> {
    let (pri, timestamp, at) = prelude(f, &mut parse_timestamp)?;
    names(f, at, pri, timestamp)
}

/// The prelude as Heroku writes it, `<PRI>1 ` and a 32-byte timestamp then a space, with fixed positions: PRI
/// and version read without scanning. `None` when the frame differs (or is bad): [`prelude`] then decides.
/// Returns the PRI and where the timestamp is (the caller parses it; when that fails, `prelude` decides too).
#[inline(always)]
fn heroku_prelude(f: &[u8]) -> Option<(u8, std::ops::Range<usize>)> {
    const TIMESTAMP: usize = "2012-07-22T00:06:26.123456+00:00".len();
    let head: &[u8; 8] = f.get(..8)?.try_into().ok()?;
    let (pri, close) = match three_digit_pri(head) {
        Some(pri) => (pri, 4),
        None => short_pri(head)?,
    };
    let pri = u8::try_from(pri).ok().filter(|p| *p <= 191)?;
    let at = close + 3;
    if f.get(at + TIMESTAMP) != Some(&b' ') {
        return None;
    }
    Some((pri, at..at + TIMESTAMP))
}

/// `<DDD>D ` (a three-digit PRI and a one-digit version, what Heroku sends) as one word: its PRI.
#[inline(always)]
fn three_digit_pri(head: &[u8; 8]) -> Option<u32> {
    const SHAPE: u64 = u64::from_le_bytes(*b"<000>0 \0");
    // Six where a digit goes; the literals `<`, `>` and ` ` must match exactly.
    const DIGITS: u64 = u64::from_le_bytes([0, 6, 6, 6, 0, 6, 0, 0]);
    const LITERALS: u64 = u64::from_le_bytes([0xFF, 0, 0, 0, 0xFF, 0, 0xFF, 0]);
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    // At a digit, `t` is its value if it is one (0x30..=0x39), else it has a high nibble or reaches one when
    // six is added (a carry out of a byte needs a high nibble already set, so it cannot hide one).
    let t = (u64::from_le_bytes(*head) ^ SHAPE) & 0x00FF_FFFF_FFFF_FFFF;
    if ((t | t.wrapping_add(DIGITS)) & HIGH_NIBBLES) | (t & LITERALS) != 0 {
        return None;
    }
    let d = |i: u32| ((t >> (8 * i)) & 0xFF) as u32;
    Some(d(1) * 100 + d(2) * 10 + d(3))
}

/// `<D>D ` to `<DDD>D ` byte by byte: the PRI and where its `>` is.
#[inline(always)]
fn short_pri(head: &[u8; 8]) -> Option<(u32, usize)> {
    let d = |i: usize| head[i].wrapping_sub(b'0');
    // Where `>` is; a digit test of every PRI byte below rules out a `>` earlier than that.
    let close = match (head[2], head[3], head[4]) {
        (_, _, b'>') => 4,
        (_, b'>', _) => 3,
        (b'>', _, _) => 2,
        _ => return None,
    };
    let mut pri = 0u32;
    for i in 1..close {
        if d(i) > 9 {
            return None;
        }
        pri = pri * 10 + u32::from(d(i));
    }
    (d(close + 1) <= 9 && head[close + 2] == b' ').then_some((pri, close))
}

/// `<PRI>VERSION TIMESTAMP ` in general: returns the PRI, the timestamp and where the hostname starts, or the
/// grammar's error reason.
#[inline]
fn prelude(
    f: &[u8],
    parse_timestamp: &mut impl FnMut(&[u8]) -> Option<Micros>,
) -> Result<(u8, Micros, usize), BadReason> {
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
    match (pri, timestamp) {
        (Some(pri), Some(t)) if version_ok => Ok((pri, t, ts_end + 1)),
        _ if !ts_field() => Err(BadReason::Header),
        (Some(_), None) if version_ok => Err(BadReason::Timestamp),
        _ => Err(BadReason::Header),
    }
}

/// `HOST APP PROCID MSGID [-] ` from `at`, and where the message starts. Heroku's `host` and `-` are taken
/// without scanning.
#[inline(always)]
fn names(f: &[u8], at: usize, pri: u8, timestamp: Micros) -> Result<Spans, BadReason> {
    let (host, at) = if f.get(at..at + 5) == Some(b"host ") {
        ((at, at + 4), at + 5)
    } else {
        short_field(f, at).ok_or(BadReason::Header)?
    };
    let (app, at) = short_field(f, at).ok_or(BadReason::Header)?;
    let (procid, at) = short_field(f, at).ok_or(BadReason::Header)?;
    // log-shuttle's `- - ` (MSGID and a nil SD), Heroku's `- `, or any MSGID.
    if f.get(at..at + 4) == Some(b"- - ") {
        return Ok(Spans {
            pri,
            timestamp,
            host,
            app,
            procid,
            msgid: (at, at + 1),
            message: at + 4,
        });
    }
    let (end, mut message) = if f.get(at..at + 2) == Some(b"- ") {
        (at + 1, at + 2)
    } else {
        let end = token_end(f, at);
        if end == at {
            return Err(BadReason::Header);
        }
        (
            end,
            (end + usize::from(f.get(end) == Some(&b' '))).min(f.len()),
        )
    };
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

/// Where the run of printable ASCII starting at `from` ends (eight bytes a step).
#[inline(always)]
fn token_end(f: &[u8], from: usize) -> usize {
    scan(f, from, not_print, |b| !is_print(b))
}

/// [`field`] for a token shorter than eight bytes (app names and process ids nearly always are): one word
/// read, no loop; longer tokens and the frame's last bytes go to `field`.
#[inline(always)]
fn short_field(f: &[u8], from: usize) -> Option<((usize, usize), usize)> {
    if let Some(chunk) = f.get(from..from + 8) {
        let chunk: [u8; 8] = chunk.try_into().ok()?;
        // The lowest mark is the first byte that is not printable (higher marks may be false).
        let stop = not_print(u64::from_le_bytes(chunk));
        if stop != 0 {
            let len = (stop.trailing_zeros() / 8) as usize & 7;
            return (len > 0 && chunk[len] == b' ').then_some(((from, from + len), from + len + 1));
        }
    }
    field(f, from)
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

    /// Frames in Heroku's layout (the fast path) and near it.
    const HEROKU_FRAMES: [&str; 6] = [
        "<190>1 2012-07-22T00:06:26.123456+00:00 host app web.1 - - measure#x=1",
        "<13>1 2012-07-22T00:06:26.123456+00:00 host app web.1 - hi there",
        "<7>1 2012-07-22T00:06:26.123456+00:00 host heroku router - at=info",
        "<158>1 2012-07-22T00:06:26.123456+00:00 hostname a-much-longer-app-name web.12345678 msg - x",
        "<0>1 2016-12-31T23:59:60.999999+00:00 h a p -",
        "<191>9 2012-07-22T00:06:26.123456+00:00 host app web.1 -- - caf\u{e9}",
    ];

    /// The `&str` path (with its fast path and minute cache) against the bytes path and the nom grammar.
    fn assert_paths_agree(frame: &[u8], minutes: &mut MinuteCache) {
        let from_bytes = parse_frame(frame);
        if frame.first() == Some(&b'<') {
            assert_eq!(
                from_bytes,
                crate::logplex::syslog_nom::parse_syslog(frame),
                "{:?}",
                String::from_utf8_lossy(frame)
            );
        }
        if let Ok(text) = std::str::from_utf8(frame) {
            let from_str = parse_frame_str(text, minutes).map(|(h, m)| (h, m.as_bytes()));
            let from_bytes = from_bytes.map(|h| (h, h.message));
            assert_eq!(from_str, from_bytes, "{text:?}");
        }
    }

    #[test]
    fn the_str_fast_path_agrees_on_every_byte_of_the_header() {
        let replacements = (0..=0x7f_u8).chain([0x80, 0xc3, 0xff]);
        let replacements: Vec<u8> = replacements.collect();
        let mut minutes = MinuteCache::default();
        for frame in HEROKU_FRAMES {
            let frame = frame.as_bytes();
            assert_paths_agree(frame, &mut minutes);
            for at in 0..frame.len().min(96) {
                for &b in &replacements {
                    let mut mutated = frame.to_vec();
                    mutated[at] = b;
                    assert_paths_agree(&mutated, &mut minutes);
                    assert_paths_agree(&mutated, &mut MinuteCache::default());
                }
                // A two-byte character in place of one byte.
                let mut widened = frame[..at].to_vec();
                widened.extend_from_slice("\u{e9}".as_bytes());
                widened.extend_from_slice(&frame[at + 1..]);
                assert_paths_agree(&widened, &mut minutes);
            }
        }
    }

    #[test]
    fn the_str_fast_path_agrees_at_every_length() {
        let mut minutes = MinuteCache::default();
        for frame in HEROKU_FRAMES {
            let frame = frame.as_bytes();
            for len in 0..=frame.len() {
                assert_paths_agree(&frame[..len], &mut minutes);
                let mut spaced = frame[..len].to_vec();
                spaced.push(b' ');
                assert_paths_agree(&spaced, &mut minutes);
            }
        }
    }

    #[test]
    fn the_str_fast_path_reads_heroku_frames() {
        let mut minutes = MinuteCache::default();
        let (h, message) = parse_frame_str(HEROKU_FRAMES[0], &mut minutes).unwrap();
        assert_eq!(h.pri, 190);
        assert_eq!(h.timestamp, 1_342_915_586_123_456);
        assert_eq!(
            (h.hostname, h.app, h.procid, h.msgid),
            ("host", "app", "web.1", "-")
        );
        assert_eq!(message, "measure#x=1");
        let (h, message) = parse_frame_str(HEROKU_FRAMES[5], &mut minutes).unwrap();
        assert_eq!((h.pri, h.msgid), (191, "--"));
        assert_eq!(message, "caf\u{e9}");
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
