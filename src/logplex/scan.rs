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

/// The frame as `&str`. Drain traffic is nearly all ASCII: one OR over the frame, eight bytes a word (which the
/// compiler vectorises, no branch per byte), decides that; std's full UTF-8 validation runs only when a byte is
/// not ASCII. Same answers as `std::str::from_utf8`.
#[inline]
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, Utf8Error> {
    if is_ascii(bytes) {
        // SAFETY: `is_ascii` saw every byte below 0x80, and a sequence of ASCII bytes is valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes)
    }
}

/// Whether every byte is below 0x80: the OR of all bytes, 32 at a time as four words, no early exit.
#[inline]
fn is_ascii(bytes: &[u8]) -> bool {
    let word = |c: &[u8], i: usize| {
        u64::from_ne_bytes([
            c[i],
            c[i + 1],
            c[i + 2],
            c[i + 3],
            c[i + 4],
            c[i + 5],
            c[i + 6],
            c[i + 7],
        ])
    };
    let blocks = bytes.chunks_exact(32);
    let rest = blocks.remainder();
    let mut all = blocks.fold(0u64, |acc, c| {
        acc | word(c, 0) | word(c, 8) | word(c, 16) | word(c, 24)
    });
    let words = rest.chunks_exact(8);
    let tail = words.remainder();
    all |= words.fold(0u64, |acc, c| acc | word(c, 0));
    let tail = tail.iter().fold(0u8, |acc, b| acc | b);
    all & HI == 0 && tail < 0x80
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
