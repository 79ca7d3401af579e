//! Splitting a drain body into frames: octet counting (`<len> <frame>`) or one frame per line, detected per body.
//!
//! A wrong octet count never loses the rest of the body: the splitter resynchronises on the next plausible frame
//! start (`<digits> <PRI>`), reports the damaged frame with its reason and, when the damaged frame's end is
//! certain (the next frame starts there, or it ends with a newline), hands its text back for salvage. That also
//! covers logplex#105, an L10 line with no trailing newline glued to the next frame.
//! This file knows nothing of syslog headers or messages.

use super::{scan, BadReason};
use memchr::memchr;

/// How a body's frames are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `<len> <frame>` as logplex sends them; `len` includes the frame's trailing newline.
    OctetCounted,
    /// One frame per line: raw syslog lines, `heroku logs` output, a file.
    NewlineDelimited,
}

impl Framing {
    /// Octet-counted when the body (after leading whitespace) starts with `<digits> <`, or when a frame start
    /// whose count checks out is found in its first [`DETECT_WINDOW`] bytes after junk (a damaged first count:
    /// `-5`, `abc`, `+47`, a BOM, a NUL); newline-delimited otherwise.
    pub fn detect(body: &[u8]) -> Framing {
        let start = skip_blank(body, 0);
        let digits = count_digits(body, start);
        let counted_start = digits > 0
            && body.get(start + digits) == Some(&b' ')
            && body.get(start + digits + 1) == Some(&b'<');
        if counted_start || has_counted_frame(body, start) {
            Framing::OctetCounted
        } else {
            Framing::NewlineDelimited
        }
    }
}

/// How far into a body whose first count is damaged detection looks for a frame start: past the longest frame
/// logplex sends (10 KB) and whatever junk came before it, and a bound on the work for a newline-delimited body.
pub const DETECT_WINDOW: usize = 64 * 1024;

/// Whether a frame start whose octet count ends exactly at the body's end or at another frame start has its PRI
/// in the first [`DETECT_WINDOW`] bytes from `from`. Such a count is the evidence: a newline-delimited body (raw
/// syslog lines, `heroku logs` output) does not hold `<digits> <PRI>` with an exact count by chance. Every tail
/// of a digit run before a PRI is tried, so junk ending in digits (`x9` before `52 <13>`) does not hide the
/// count. Out of line: once per body, and only for bodies that do not start with a
/// count.
#[inline(never)]
fn has_counted_frame(body: &[u8], from: usize) -> bool {
    let window = &body[..body.len().min(from.saturating_add(DETECT_WINDOW))];
    let mut search = from;
    while let Some(off) = window.get(search..).and_then(|rest| memchr(b'<', rest)) {
        let lt = search + off;
        search = lt + 1;
        if lt < from + 2 || body[lt - 1] != b' ' || !is_pri(body, lt) {
            continue;
        }
        let space = lt - 1;
        let mut start = space;
        while start > from && space - start < MAX_LENGTH_DIGITS && body[start - 1].is_ascii_digit()
        {
            start -= 1;
            if count_checks_out(body, start) {
                return true;
            }
        }
    }
    false
}

/// The frame at `at` (a frame start) ends exactly at the end of the body (trailing blanks allowed) or where
/// another frame starts.
fn count_checks_out(body: &[u8], at: usize) -> bool {
    let digits = count_digits(body, at);
    let Some(length) = parse_length(&body[at..at + digits]) else {
        return false;
    };
    let end = (at + digits + 1).saturating_add(length);
    if end > body.len() {
        return false;
    }
    let next = skip_blank(body, end);
    let glued = next == end && body[end - 1].is_ascii_digit();
    next == body.len() || (!glued && is_frame_start(body, next))
}

/// One frame as the splitter found it. Text excludes the octet count and the trailing newline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A frame whose delimiting was sound. `ascii` says every byte of `text` is below 0x80 (exactly: never set for
    /// a text that is not all ASCII, never clear for one that is), so the caller can skip its UTF-8 check.
    Good { text: &'a [u8], ascii: bool },
    /// A frame whose octet count was wrong. `salvaged` is its text when where it ends is certain.
    Damaged {
        reason: BadReason,
        salvaged: Option<&'a [u8]>,
    },
}

/// Iterator over the frames of one body.
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    body: &'a [u8],
    pos: usize,
    framing: Framing,
}

impl<'a> Frames<'a> {
    /// Splits `body`, detecting its framing.
    pub fn new(body: &'a [u8]) -> Self {
        Self::with_framing(body, Framing::detect(body))
    }

    /// Splits `body` with a known framing.
    pub fn with_framing(body: &'a [u8], framing: Framing) -> Self {
        Frames {
            body,
            pos: 0,
            framing,
        }
    }

    pub fn framing(&self) -> Framing {
        self.framing
    }

    // The out-of-line paths are free functions of the body and a position that return the new position: a call
    // that took `&mut self` would make the iterator's position live in memory (its address taken) on the hot
    // path too, a store and a reload per frame on the dependency chain from one frame to the next.

    #[inline(always)]
    fn next_line(&mut self) -> Option<Frame<'a>> {
        let (frame, pos) = next_line(self.body, self.pos);
        self.pos = pos;
        frame
    }

    #[inline(always)]
    fn next_counted(&mut self) -> Option<Frame<'a>> {
        self.next_plain().or_else(|| {
            let (frame, pos) = next_counted_checked(self.body, self.pos);
            self.pos = pos;
            frame
        })
    }

    /// The common octet-counted frame in one straight line: `<1-4 digits> <text>\n` at the current position, the
    /// text plain (see [`scan::is_plain`]: ASCII, no inner newline, so no swallowed frame and no `\r` to strip).
    /// Ending with its newline makes its end a boundary. `None`, with nothing consumed, for anything else: then
    /// [`next_counted_checked`] decides, with the same answer for the frames this one takes.
    #[inline(always)]
    fn next_plain(&mut self) -> Option<Frame<'a>> {
        let body = self.body;
        let (length, start) = short_count(body, self.pos)?;
        if length == 0 {
            return None;
        }
        let newline = start + length - 1;
        if body.get(newline) != Some(&b'\n') {
            return None;
        }
        let text = &body[start..newline];
        if !scan::is_plain(text) {
            return None;
        }
        self.pos = newline + 1;
        Some(Frame::Good { text, ascii: true })
    }
}

/// The next non-blank line of a newline-delimited body from `pos`, and where the one after it starts.
#[inline(never)]
fn next_line(body: &[u8], mut pos: usize) -> (Option<Frame<'_>>, usize) {
    loop {
        if pos >= body.len() {
            return (None, pos);
        }
        let rest = &body[pos..];
        let (line, advance) = match memchr(b'\n', rest) {
            Some(nl) => (&rest[..nl], nl + 1),
            None => (rest, rest.len()),
        };
        pos += advance;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(u8::is_ascii_whitespace) {
            return (Some(Frame::good(line)), pos);
        }
    }
}

/// The octet-counted frame at `pos` in general (any framing damage included), and where the next one starts.
#[inline(never)]
fn next_counted_checked(body: &[u8], pos: usize) -> (Option<Frame<'_>>, usize) {
    let pos = skip_blank(body, pos);
    if pos >= body.len() {
        return (None, pos);
    }
    let digits = count_digits(body, pos);
    let length = parse_length(&body[pos..pos + digits]);
    let (length, start) = match length {
        Some(n) if body.get(pos + digits) == Some(&b' ') => (n, pos + digits + 1),
        _ => {
            let next = resync_after_token(body, pos);
            let salvaged = salvage(body, after_prefix(&body[pos..next]), next);
            let reason = BadReason::LengthNotNumber;
            return (Some(Frame::Damaged { reason, salvaged }), next);
        }
    };
    let end = start.saturating_add(length);
    if end > body.len() {
        let next = find_frame_start(body, start);
        let salvaged = salvage(body, &body[start..next], next);
        let reason = BadReason::LengthPastEnd;
        return (Some(Frame::Damaged { reason, salvaged }), next);
    }
    if is_boundary(body, end) {
        if let Some(cut) = swallowed_frame_start(body, start, end) {
            // The count ran over whole frames: keep this one, and the ones it swallowed.
            let salvaged = salvage(body, &body[start..cut], cut);
            let reason = BadReason::LengthMismatch;
            return (Some(Frame::Damaged { reason, salvaged }), cut);
        }
        return (Some(Frame::good(strip_newline(&body[start..end]))), end);
    }
    let next = find_frame_start(body, start);
    let salvaged = salvage(body, &body[start..next], next);
    let reason = BadReason::LengthMismatch;
    (Some(Frame::Damaged { reason, salvaged }), next)
}

impl<'a> Iterator for Frames<'a> {
    type Item = Frame<'a>;

    /// Inlined so the common frame costs no call; the rare paths stay out of line.
    #[inline(always)]
    fn next(&mut self) -> Option<Frame<'a>> {
        match self.framing {
            Framing::OctetCounted => self.next_counted(),
            Framing::NewlineDelimited => self.next_line(),
        }
    }
}

impl<'a> Frame<'a> {
    /// A sound frame, its `ascii` flag computed.
    pub fn good(text: &'a [u8]) -> Self {
        Frame::Good {
            text,
            ascii: text.is_ascii(),
        }
    }
}

/// The longest octet count the fast path reads; logplex frames are at most 10 KB.
const SHORT_LENGTH_DIGITS: usize = 4;

/// `<1-4 digits> ` at `pos`: the length and where the frame starts, or `None` (blanks first, a longer count, no
/// space, fewer than eight bytes left) for the general path. The eight bytes at `pos` are read as one word: where
/// the digits end, and their value, without a branch per digit.
#[inline(always)]
fn short_count(body: &[u8], pos: usize) -> Option<(usize, usize)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let head: [u8; 8] = body.get(pos..pos + 8)?.try_into().ok()?;
    // Each byte less `0`: a digit is 0..=9; anything else gets its top bit, here or once 0x76 is added (a borrow or
    // carry only starts at such a byte, so the lowest flagged byte is the first non-digit).
    let digits = u64::from_le_bytes(head).wrapping_sub(ONES * u64::from(b'0'));
    let not_digit = (digits | digits.wrapping_add(ONES * (0x80 - 10))) & TOPS;
    let count = (not_digit.trailing_zeros() / 8) as usize;
    if count == 0 || count > SHORT_LENGTH_DIGITS || head[count] != b' ' {
        return None;
    }
    Some((short_decimal(digits, count), pos + count + 1))
}

/// The value of the first `count` (1..=4) byte digits of `digits` (values 0..=9, most significant first): they are
/// moved to the top of the low four bytes, then pairs and the two halves are combined.
#[inline(always)]
fn short_decimal(digits: u64, count: usize) -> usize {
    let aligned = (digits << (8 * (SHORT_LENGTH_DIGITS - count))) as u32;
    let pairs = (aligned & 0x00ff_00ff) * 10 + ((aligned >> 8) & 0x00ff_00ff);
    ((pairs & 0xffff) * 100 + (pairs >> 16)) as usize
}

/// The longest octet count accepted; anything longer is not a number a sender could mean.
const MAX_LENGTH_DIGITS: usize = 12;

fn parse_length(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || digits.len() > MAX_LENGTH_DIGITS {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0usize, |n, d| n * 10 + usize::from(d - b'0')),
    )
}

fn count_digits(body: &[u8], from: usize) -> usize {
    body.get(from..).map_or(0, |rest| {
        rest.iter().take_while(|b| b.is_ascii_digit()).count()
    })
}

/// Skips newlines and spaces some senders put between or after frames.
fn skip_blank(body: &[u8], mut pos: usize) -> usize {
    while pos < body.len() && matches!(body[pos], b'\n' | b'\r' | b' ' | b'\t') {
        pos += 1;
    }
    pos
}

/// True when a frame ending at `end` ends cleanly: with its newline, at the end of the body (trailing blanks
/// allowed), or where the next frame plausibly starts. A count that ends inside the next frame's digits
/// (`..5|3 <13>`, logplex#105's missing newline) is not a boundary. Junk after a newline-terminated frame is
/// the next frame's problem.
fn is_boundary(body: &[u8], end: usize) -> bool {
    let at = skip_blank(body, end);
    if at >= body.len() || (end > 0 && body[end - 1] == b'\n') {
        return true;
    }
    let glued_digits = at == end && end > 0 && body[end - 1].is_ascii_digit();
    !glued_digits && is_frame_start(body, at)
}

/// Where a frame that seems to end cleanly at `end` holds a line that starts another frame (`...\n53 <190>1`):
/// its count was too long. Only newlines inside the frame are checked, so single-line frames cost one memchr.
fn swallowed_frame_start(body: &[u8], start: usize, end: usize) -> Option<usize> {
    let inner = end.checked_sub(1).filter(|e| *e > start)?;
    let mut from = start;
    while let Some(off) = memchr(b'\n', &body[from..inner]) {
        let next = from + off + 1;
        if is_frame_start(body, next) {
            return Some(next);
        }
        from = next;
    }
    None
}

/// `<digits> <PRI>` at `at`: an octet count, one space, and a syslog PRI of one to three digits.
fn is_frame_start(body: &[u8], at: usize) -> bool {
    let digits = count_digits(body, at);
    if digits == 0 || digits > MAX_LENGTH_DIGITS || body.get(at + digits) != Some(&b' ') {
        return false;
    }
    is_pri(body, at + digits + 1)
}

fn is_pri(body: &[u8], at: usize) -> bool {
    if body.get(at) != Some(&b'<') {
        return false;
    }
    let digits = count_digits(body, at + 1);
    (1..=3).contains(&digits) && body.get(at + 1 + digits) == Some(&b'>')
}

/// Where the frames go on after the damaged count at `pos`, a token up to its first blank (`-5`, `abc`, `+47`,
/// a BOM or a NUL glued to the digits). A frame start whose digits are a tail of the token is taken only when
/// its count checks out (`+47 <13>`, the count right after the sign); otherwise (`5` of `-5 <13>`) the token is
/// the damaged frame's count and the next frame is looked for after it.
fn resync_after_token(body: &[u8], pos: usize) -> usize {
    let first = find_frame_start(body, pos + 1);
    let token_end = token_end(body, pos);
    if first >= token_end {
        return first;
    }
    let digits_end = first + count_digits(body, first);
    (first..digits_end)
        .find(|at| count_checks_out(body, *at))
        .unwrap_or_else(|| find_frame_start(body, token_end))
}

/// Where the token at `pos` (a damaged count) ends: at its first blank, and at least one byte on.
fn token_end(body: &[u8], pos: usize) -> usize {
    body[pos + 1..]
        .iter()
        .position(|b| matches!(b, b'\n' | b'\r' | b' ' | b'\t'))
        .map_or(body.len(), |off| pos + 1 + off)
}

/// The first plausible frame start at or after `from` whose digit run is not a tail of a longer one (of at most
/// [`MAX_LENGTH_DIGITS`] digits: the tail of a longer run is a count), or the body's length when there is none.
fn find_frame_start(body: &[u8], from: usize) -> usize {
    let mut search = from;
    while let Some(off) = body.get(search..).and_then(|rest| memchr(b'<', rest)) {
        let lt = search + off;
        search = lt + 1;
        if lt < from + 2 || body[lt - 1] != b' ' || !is_pri(body, lt) {
            continue;
        }
        let mut start = lt - 1;
        while start > from && lt - 1 - start < MAX_LENGTH_DIGITS && body[start - 1].is_ascii_digit()
        {
            start -= 1;
        }
        if start < lt - 1 && is_frame_start(body, start) {
            return start;
        }
    }
    body.len()
}

/// The text after a leading token and its blanks when the span does not start with a PRI (a non-numeric count).
fn after_prefix(span: &[u8]) -> &[u8] {
    if matches!(span.first(), None | Some(b'<')) {
        return span;
    }
    &span[skip_blank(span, token_end(span, 0))..]
}

/// A damaged frame's text, kept only when its end is certain: the next frame starts there, or it ends a line.
fn salvage<'a>(body: &[u8], text: &'a [u8], next: usize) -> Option<&'a [u8]> {
    let certain = next < body.len() || text.ends_with(b"\n");
    let text = strip_newline(trim_end_blank(text));
    (certain && text.first() == Some(&b'<')).then_some(text)
}

fn trim_end_blank(text: &[u8]) -> &[u8] {
    let keep = text
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    &text[..keep]
}

#[inline]
fn strip_newline(text: &[u8]) -> &[u8] {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    text.strip_suffix(b"\r").unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(body: &[u8]) -> Vec<Frame<'_>> {
        Frames::new(body).collect()
    }

    const A: &[u8] = b"<13>1 2012-07-22T00:06:26+00:00 host app web.1 - a\n";

    fn counted(frame: &[u8]) -> Vec<u8> {
        let mut out = format!("{} ", frame.len()).into_bytes();
        out.extend_from_slice(frame);
        out
    }

    #[test]
    fn detects_framing() {
        assert_eq!(Framing::detect(b"70 <174>1 x"), Framing::OctetCounted);
        assert_eq!(Framing::detect(b"\n70 <174>1 x"), Framing::OctetCounted);
        assert_eq!(Framing::detect(b"<174>1 x\n"), Framing::NewlineDelimited);
        assert_eq!(
            Framing::detect(b"2012-07-22T00:06:26Z app[web.1]: x"),
            Framing::NewlineDelimited
        );
        assert_eq!(Framing::detect(b""), Framing::NewlineDelimited);
    }

    #[test]
    fn octet_counted_frames_split_exactly() {
        let mut body = counted(A);
        body.extend(counted(
            b"<14>1 2012-07-22T00:06:26Z host app web.2 - two\nlines\n",
        ));
        let got = frames(&body);
        assert_eq!(
            got,
            vec![
                Frame::good(&A[..A.len() - 1]),
                Frame::good(b"<14>1 2012-07-22T00:06:26Z host app web.2 - two\nlines"),
            ]
        );
    }

    #[test]
    fn reference_example_frame() {
        let body = b"70 <174>1 2012-07-22T00:06:26+00:00 host erlang console - Hi from erlang\n";
        assert_eq!(frames(body), vec![Frame::good(&body[3..body.len() - 1])]);
    }

    #[test]
    fn length_too_short_resyncs_and_salvages() {
        let mut body = b"20 ".to_vec();
        body.extend_from_slice(A);
        body.extend(counted(A));
        let got = frames(&body);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            Frame::Damaged {
                reason: BadReason::LengthMismatch,
                salvaged: Some(&A[..A.len() - 1])
            }
        );
        assert_eq!(got[1], Frame::good(&A[..A.len() - 1]));
    }

    #[test]
    fn length_too_long_resyncs_on_next_frame() {
        let mut body = format!("{} ", A.len() + 5).into_bytes();
        body.extend_from_slice(A);
        body.extend(counted(A));
        body.extend(counted(A));
        let got = frames(&body);
        assert_eq!(got.len(), 3);
        assert!(matches!(
            got[0],
            Frame::Damaged {
                reason: BadReason::LengthMismatch,
                salvaged: Some(_)
            }
        ));
        assert_eq!(got[1], Frame::good(&A[..A.len() - 1]));
        assert_eq!(got[2], Frame::good(&A[..A.len() - 1]));
    }

    #[test]
    fn length_swallowing_whole_frames_keeps_them() {
        let two = [counted(A), counted(A)].concat();
        let mut body = format!("{} ", A.len() + two.len()).into_bytes();
        body.extend_from_slice(A);
        body.extend_from_slice(&two);
        body.extend(counted(A));
        let got = frames(&body);
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(
            got[0],
            Frame::Damaged {
                reason: BadReason::LengthMismatch,
                salvaged: Some(&A[..A.len() - 1])
            }
        );
        for frame in &got[1..] {
            assert_eq!(*frame, Frame::good(&A[..A.len() - 1]));
        }
    }

    #[test]
    fn length_not_a_number() {
        let mut body = counted(A);
        body.extend_from_slice(b"7x ");
        body.extend_from_slice(A);
        body.extend(counted(A));
        let got = frames(&body);
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[1],
            Frame::Damaged {
                reason: BadReason::LengthNotNumber,
                salvaged: Some(&A[..A.len() - 1])
            }
        );
        assert_eq!(got[2], Frame::good(&A[..A.len() - 1]));
    }

    #[test]
    fn length_past_end_of_truncated_body_is_dropped() {
        let mut body = counted(A);
        body.extend_from_slice(b"500 <13>1 2012-07-22T00:06:26Z host app web.1 - measure#x=12");
        let got = frames(&body);
        assert_eq!(got[0], Frame::good(&A[..A.len() - 1]));
        assert_eq!(
            got[1],
            Frame::Damaged {
                reason: BadReason::LengthPastEnd,
                salvaged: None
            }
        );
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn l10_glued_to_next_frame_logplex_105() {
        let l10 = b"<172>1 2013-04-17T19:04:46+00:00 host heroku logplex - Error L10 (output buffer overflow): 5 messages dropped since 2013-04-17T19:04:46+00:00.";
        // The count includes a newline the sender forgot, so it eats the first digit of the next count.
        let mut body = format!("{} ", l10.len() + 1).into_bytes();
        body.extend_from_slice(l10);
        body.extend(counted(A));
        let got = frames(&body);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(matches!(got[0], Frame::Damaged { salvaged: Some(t), .. } if t.starts_with(l10)));
        assert_eq!(got[1], Frame::good(&A[..A.len() - 1]));
        // And when the count is right but the newline is missing, both frames are good.
        let mut body = counted(l10);
        body.extend(counted(A));
        assert_eq!(
            frames(&body),
            vec![Frame::good(l10), Frame::good(&A[..A.len() - 1])]
        );
    }

    #[test]
    fn newline_delimited_skips_blank_lines() {
        let body = b"<13>1 a\r\n\n  \n<13>1 b";
        assert_eq!(
            frames(body),
            vec![Frame::good(b"<13>1 a"), Frame::good(b"<13>1 b")]
        );
    }

    #[test]
    fn short_count_reads_one_to_four_digits_then_a_space() {
        assert_eq!(short_count(b"7 <13>1 x", 0), Some((7, 2)));
        assert_eq!(short_count(b"70 <13>1 x", 0), Some((70, 3)));
        assert_eq!(short_count(b"x\n707 <13>1 x", 2), Some((707, 6)));
        assert_eq!(short_count(b"9999 <13>1 x", 0), Some((9999, 5)));
        assert_eq!(short_count(b"0 <13>1 x", 0), Some((0, 2)));
        // Anything else is the general path's: five digits, no digit, no space, blanks first, a short tail.
        assert_eq!(short_count(b"10000 <13>1 x", 0), None);
        assert_eq!(short_count(b" 70 <13>1 x", 0), None);
        assert_eq!(short_count(b"\n70 <13>1 x", 0), None);
        assert_eq!(short_count(b"7x <13>1 x", 0), None);
        assert_eq!(short_count(b"70<13>1 x", 0), None);
        assert_eq!(short_count(b"12345678", 0), None);
        assert_eq!(short_count(b"7 <13>1", 0), None);
        assert_eq!(short_count(b"70 <13>1 x", 3), None);
        assert_eq!(short_count(b"7\xb0 <13>1 x", 0), None);
        assert_eq!(short_count(b"7/ <13>1 x", 0), None);
        assert_eq!(short_count(b"7: <13>1 x", 0), None);
    }

    #[test]
    fn short_decimal_matches_every_count() {
        for n in 0..10_000usize {
            let mut head = format!("{n} <13>1 ").into_bytes();
            head.resize(8, b'x');
            let digits = n.to_string().len();
            assert_eq!(short_count(&head, 0), Some((n, digits + 1)), "{n}");
        }
    }

    /// The fast path's frames are exactly what the general path would give, and it declines the rest.
    #[test]
    fn plain_path_agrees_with_the_checked_path() {
        let texts: Vec<Vec<u8>> = vec![
            b"<13>1 - a".to_vec(),
            A.to_vec(),
            b"<13>1 caf\xc3\xa9 au lait".to_vec(),
            b"<13>1 tab\there".to_vec(),
            b"<13>1 crlf\r".to_vec(),
            b"<13>1 two\nlines".to_vec(),
            b"<13>1 holds\n12 <13>1 a frame".to_vec(),
            b"".to_vec(),
            b"x".to_vec(),
        ];
        let mut bodies: Vec<Vec<u8>> = Vec::new();
        for text in &texts {
            for pad in [0usize, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 200] {
                let mut frame = text.clone();
                frame.extend(std::iter::repeat_n(b'y', pad));
                frame.push(b'\n');
                bodies.push([counted(&frame), counted(A)].concat());
                bodies.push(counted(&frame));
                bodies.push([counted(&frame), b"\r\n".to_vec()].concat());
                let mut short = counted(&frame);
                short.pop();
                bodies.push(short);
            }
        }
        for body in &bodies {
            let mut fast = Frames::with_framing(body, Framing::OctetCounted);
            let mut checked = 0;
            while let (Some(frame), next) = next_counted_checked(body, checked) {
                checked = next;
                if let Some(plain) = fast.clone().next_plain() {
                    assert_eq!(plain, frame, "{:?}", String::from_utf8_lossy(body));
                }
                assert_eq!(fast.next(), Some(frame));
                assert_eq!(fast.pos, checked);
            }
            assert_eq!(fast.next(), None);
        }
    }

    #[test]
    fn good_frames_say_whether_they_are_ascii() {
        let text = "<13>1 2012-07-22T00:06:26Z host app web.1 - caf\u{e9}".as_bytes();
        let mut body = counted(&[text, b"\n"].concat());
        body.extend(counted(A));
        assert_eq!(
            frames(&body),
            vec![
                Frame::Good { text, ascii: false },
                Frame::Good {
                    text: &A[..A.len() - 1],
                    ascii: true
                }
            ]
        );
        let line = b"<13>1 a\tb\n<13>1 \xff";
        assert_eq!(
            frames(line),
            vec![
                Frame::Good {
                    text: b"<13>1 a\tb",
                    ascii: true
                },
                Frame::Good {
                    text: b"<13>1 \xff",
                    ascii: false
                }
            ]
        );
    }

    const B: &[u8] = b"<14>1 2012-07-22T00:06:27+00:00 host app web.2 - b\n";
    const C: &[u8] = b"<15>1 2012-07-22T00:06:28+00:00 host app web.3 - c\n";

    /// `prefix` then A's text, then B and C well counted: detected as octet-counted, B and C good, A damaged
    /// once, its text salvaged.
    fn damaged_first(prefix: &[u8]) {
        let mut body = prefix.to_vec();
        body.extend_from_slice(A);
        body.extend(counted(B));
        body.extend(counted(C));
        let shown = String::from_utf8_lossy(&body).into_owned();
        assert_eq!(Framing::detect(&body), Framing::OctetCounted, "{shown:?}");
        let want = vec![
            Frame::Damaged {
                reason: BadReason::LengthNotNumber,
                salvaged: Some(&A[..A.len() - 1]),
            },
            Frame::good(&B[..B.len() - 1]),
            Frame::good(&C[..C.len() - 1]),
        ];
        assert_eq!(frames(&body), want, "{shown:?}");
    }

    /// `junk` then A, B and C well counted: the junk is one damaged frame, A, B and C good.
    fn junk_then_good(junk: &[u8]) {
        let mut body = junk.to_vec();
        for f in [A, B, C] {
            body.extend(counted(f));
        }
        let shown = String::from_utf8_lossy(&body).into_owned();
        assert_eq!(Framing::detect(&body), Framing::OctetCounted, "{shown:?}");
        let got = frames(&body);
        let reason = BadReason::LengthNotNumber;
        assert!(
            matches!(got[0], Frame::Damaged { reason: r, .. } if r == reason),
            "{shown:?}: {got:?}"
        );
        let good = [A, B, C].map(|f| Frame::good(&f[..f.len() - 1]));
        assert_eq!(got[1..], good, "{shown:?}");
    }

    #[test]
    fn damaged_first_count_negative() {
        damaged_first(b"-5 ");
        // With the right count after the sign, the sign is the junk.
        junk_then_good(b"-");
    }

    #[test]
    fn damaged_first_count_letters() {
        damaged_first(b"abc ");
    }

    /// `+47`: the sign is the junk, the count after it is right.
    #[test]
    fn damaged_first_count_plus_sign() {
        junk_then_good(b"+");
        damaged_first(b"+5 ");
    }

    #[test]
    fn damaged_first_count_after_a_bom() {
        junk_then_good("\u{feff}".as_bytes());
        damaged_first("\u{feff} ".as_bytes());
    }

    #[test]
    fn damaged_first_count_nul() {
        damaged_first(b"\0 ");
        junk_then_good(b"\0");
        junk_then_good(b"\0\0\0\n");
    }

    #[test]
    fn damaged_first_count_missing() {
        damaged_first(b"");
        damaged_first(b" ");
    }

    /// Junk before a sound first count: the junk is one damaged frame, every frame after it is good.
    #[test]
    fn junk_before_the_first_count() {
        for junk in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"%%%",
            b"x9",
            b"<1>",
            b"\x1f\x8b\x08",
        ] {
            junk_then_good(junk);
        }
        // Junk ending in more digits than a count has: the count's frame is salvaged.
        let mut body = b"- 1234567890123".to_vec();
        for f in [A, B, C] {
            body.extend(counted(f));
        }
        assert_eq!(Framing::detect(&body), Framing::OctetCounted);
        let got = frames(&body);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(matches!(got[0], Frame::Damaged { salvaged: None, .. }));
        assert!(
            matches!(got[1], Frame::Damaged { salvaged: Some(t), .. } if t == &A[..A.len() - 1])
        );
        assert_eq!(
            got[2..],
            [
                Frame::good(&B[..B.len() - 1]),
                Frame::good(&C[..C.len() - 1])
            ]
        );
    }

    /// Newline-delimited bodies stay so, even with an octet count in a message that does not check out.
    #[test]
    fn newline_bodies_are_not_taken_for_damaged_counted_ones() {
        for body in [
            &b"<13>1 2012-07-22T00:06:26Z host app web.1 - got 5 <13> back\n<13>1 2012-07-22T00:06:26Z host app web.1 - b\n"[..],
            b"2012-07-22T00:06:26.123456+00:00 app[web.1]: 12 <190> said\n2012-07-22T00:06:27+00:00 heroku[router]: at=info\n",
            b"hello 3 <1> x\n",
            b"<13>1 - a\n3 <1> x\n",
        ] {
            assert_eq!(Framing::detect(body), Framing::NewlineDelimited);
        }
    }

    /// Detection looks only so far for a frame start after junk.
    #[test]
    fn detection_window_is_bounded() {
        let mut body = vec![b'x'; DETECT_WINDOW];
        body.extend(counted(A));
        assert_eq!(Framing::detect(&body), Framing::NewlineDelimited);
        // The frame's PRI (after `52 `) in the window.
        body.drain(..4);
        assert_eq!(Framing::detect(&body), Framing::OctetCounted);
    }

    #[test]
    fn trailing_blanks_after_last_frame() {
        let mut body = counted(A);
        body.extend_from_slice(b"\r\n\n");
        assert_eq!(frames(&body), vec![Frame::good(&A[..A.len() - 1])]);
    }
}
