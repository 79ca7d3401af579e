//! Byte scanning eight bytes at a time (SWAR) for the short spans of the hot path: logfmt keys and values, the
//! syslog timestamp. Long spans (a whole frame) use memchr instead; and the frame's UTF-8 check with an ASCII
//! fast path. This file knows no formats.

use std::str::Utf8Error;

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// A mask whose lowest set bit marks the first byte of `word` equal to `b` (higher bits may be false hits).
#[inline(always)]
pub(crate) fn has_byte(word: u64, b: u8) -> u64 {
    let x = word ^ (LO * u64::from(b));
    x.wrapping_sub(LO) & !x & HI
}

/// A mask whose lowest set bit marks the first byte of `word` that is not printable ASCII (`!`..=`~`, what
/// syslog header fields are made of); higher bits may be false hits.
#[inline(always)]
pub(crate) fn not_print(word: u64) -> u64 {
    // Below `!` (0x21): the classic has-less test; above `~`: adding one reaches 0x80 (bytes already at or
    // above 0x80 are caught by `| word`). Carries and borrows only run upward from a real hit.
    let below = word.wrapping_sub(LO * 0x21) & !word;
    let above = word.wrapping_add(LO) | word;
    (below | above) & HI
}

/// The first index at or after `from` where `hit` says so, eight bytes at a time (`word` is the SWAR form of
/// `hit`), or the length. Logfmt keys and values are short, where this beats memchr's set-up.
#[inline(always)]
pub(crate) fn scan(
    bytes: &[u8],
    from: usize,
    word: impl Fn(u64) -> u64,
    hit: impl Fn(u8) -> bool,
) -> usize {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let w = u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        let m = word(w);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && !hit(bytes[i]) {
        i += 1;
    }
    i
}

/// The frame as `&str`. Drain traffic is nearly all ASCII: std's `is_ascii` (a word at a time) decides that, and
/// the full UTF-8 validation runs only when a byte is not ASCII. Same answers as `std::str::from_utf8`.
/// Out of line: only frames the splitter could not mark ASCII come here, and inlined it costs the hot loop.
#[inline(never)]
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, Utf8Error> {
    if bytes.is_ascii() {
        // SAFETY: `is_ascii` saw every byte below 0x80, and a sequence of ASCII bytes is valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes)
    }
}

/// Bytes a plain-text pass folds in one step: one SSE2/NEON register when the compiler vectorises the lanes.
const LANES: usize = 16;

/// Plain text: a byte less 0x20 (wrapping) stays below this, i.e. the byte is a space or printable ASCII.
const PLAIN_SHIFT: u8 = 0x20;
const PLAIN_LIMIT: u8 = 0x80 - PLAIN_SHIFT;

/// Whether every byte is plain text: a space or printable ASCII (0x20..=0x7f), so no newline, no control byte,
/// nothing outside ASCII. One pass answers "ASCII?" and "any line break inside?" for a whole frame: every byte,
/// less 0x20, must stay below 0x60; a running unsigned maximum over sixteen lanes, no branch per byte, the last
/// step overlapping the one before.
#[inline]
pub(crate) fn is_plain(bytes: &[u8]) -> bool {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        is_plain_sse2(bytes)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        is_plain_lanes(bytes)
    }
}

/// Fewer than sixteen bytes, one at a time.
#[inline]
fn is_plain_short(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| b.wrapping_sub(PLAIN_SHIFT) < PLAIN_LIMIT)
}

/// [`is_plain`] in portable code, sixteen lanes the compiler vectorises.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
#[inline]
fn is_plain_lanes(bytes: &[u8]) -> bool {
    let Some(last) = bytes.len().checked_sub(LANES) else {
        return is_plain_short(bytes);
    };
    let mut top = [0u8; LANES];
    let mut fold = |step: &[u8]| {
        for (t, b) in top.iter_mut().zip(step) {
            *t = (*t).max(b.wrapping_sub(PLAIN_SHIFT));
        }
    };
    bytes.chunks_exact(LANES).for_each(&mut fold);
    fold(&bytes[last..]);
    // A lane at or past the limit gets its top bit here (saturating); the OR of all lanes keeps it.
    top.iter()
        .fold(0u8, |any, t| any | t.saturating_add(0x80 - PLAIN_LIMIT))
        < 0x80
}

/// [`is_plain`] in SSE2, which every x86_64 has: one load, one add and one unsigned max per sixteen bytes, four
/// steps a round, then the verdict in one mask. The compiler's own vectorising of [`is_plain_lanes`] spends about
/// a quarter more on a typical frame.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline]
fn is_plain_sse2(bytes: &[u8]) -> bool {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_adds_epu8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8,
        _mm_set1_epi8, _mm_setzero_si128,
    };
    let len = bytes.len();
    let Some(last) = len.checked_sub(LANES) else {
        return is_plain_short(bytes);
    };
    let at = bytes.as_ptr();
    // SAFETY: SSE2 is enabled (cfg above). Every load reads sixteen bytes at an offset `i <= last = len - 16`, so
    // inside `bytes`; `_mm_loadu_si128` takes unaligned addresses.
    unsafe {
        let shift = _mm_set1_epi8(PLAIN_SHIFT.wrapping_neg() as i8);
        let step = |top: __m128i, i: usize| {
            let lanes = _mm_loadu_si128(at.add(i).cast::<__m128i>());
            _mm_max_epu8(top, _mm_add_epi8(lanes, shift))
        };
        let mut top = _mm_setzero_si128();
        let rounds = bytes.chunks_exact(4 * LANES);
        let mut i = len - rounds.remainder().len();
        for round in rounds {
            let at = round.as_ptr();
            let lanes = |k: usize| {
                _mm_add_epi8(_mm_loadu_si128(at.add(k * LANES).cast::<__m128i>()), shift)
            };
            top = _mm_max_epu8(
                _mm_max_epu8(top, _mm_max_epu8(lanes(0), lanes(1))),
                _mm_max_epu8(lanes(2), lanes(3)),
            );
        }
        if i + 2 * LANES <= len {
            top = step(top, i);
            top = step(top, i + LANES);
            i += 2 * LANES;
        }
        if i + LANES <= len {
            top = step(top, i);
        }
        top = step(top, last);
        let verdict = _mm_adds_epu8(top, _mm_set1_epi8((0x80 - PLAIN_LIMIT) as i8));
        _mm_movemask_epi8(verdict) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_agrees_with_std() {
        let cases: [&[u8]; 8] = [
            b"",
            b"plain ascii text that is longer than one word",
            "caf\u{e9} au lait, longer than eight bytes".as_bytes(),
            b"\xff",
            b"0123456789abcdef\x80",
            b"0123456\xc3",
            "\u{1f600}".as_bytes(),
            b"seven b",
        ];
        for case in cases {
            assert_eq!(utf8(case), std::str::from_utf8(case), "{case:?}");
        }
    }

    fn plain_reference(bytes: &[u8]) -> bool {
        bytes.iter().all(|b| (0x20..=0x7f).contains(b))
    }

    /// Every length around the 16/32/64-byte steps, each byte position, each kind of byte at the edges.
    #[test]
    fn is_plain_agrees_with_the_reference() {
        let odd = [
            0x00u8, b'\t', b'\n', b'\r', 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xc3, 0xff,
        ];
        for len in 0..=140 {
            let base: Vec<u8> = (0..len).map(|i| b'!' + (i % 94) as u8).collect();
            assert!(is_plain(&base), "len {len}");
            assert!(is_plain_lanes(&base), "len {len}");
            for at in 0..len {
                for b in odd {
                    let mut bytes = base.clone();
                    bytes[at] = b;
                    let want = plain_reference(&bytes);
                    assert_eq!(is_plain(&bytes), want, "len {len} at {at} byte {b:#x}");
                    assert_eq!(
                        is_plain_lanes(&bytes),
                        want,
                        "len {len} at {at} byte {b:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn is_plain_reads_only_its_slice() {
        let body = b"\n0123456789abcdefghijklmnopqrstuvwxyz\n";
        assert!(is_plain(&body[1..body.len() - 1]));
        assert!(!is_plain(&body[..body.len() - 1]));
        assert!(!is_plain(&body[1..]));
    }

    #[test]
    fn not_print_finds_the_first_non_printable_byte() {
        for b in 0u8..=255 {
            for at in 0..8 {
                let mut bytes = [b'a'; 8];
                bytes[at] = b;
                let m = not_print(u64::from_le_bytes(bytes));
                let printable = (0x21..=0x7e).contains(&b);
                assert_eq!(m == 0, printable, "{b:#x} at {at}");
                if !printable {
                    assert_eq!((m.trailing_zeros() / 8) as usize, at, "{b:#x} at {at}");
                }
            }
        }
        let m = not_print(u64::from_le_bytes(*b"ab \xffc\x7f\x00d"));
        assert_eq!(m.trailing_zeros() / 8, 2);
    }
}
