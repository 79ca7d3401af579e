//! Byte scanning eight bytes at a time (SWAR) for the short spans of the hot path: logfmt keys and values, the
//! syslog timestamp. Long spans (a whole frame) use memchr instead; this file knows no formats.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// A mask whose lowest set bit marks the first byte of `word` equal to `b` (higher bits may be false hits).
#[inline(always)]
pub(crate) fn has_byte(word: u64, b: u8) -> u64 {
    let x = word ^ (LO * u64::from(b));
    x.wrapping_sub(LO) & !x & HI
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
