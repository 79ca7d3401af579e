//! Finding the first of one or two bytes in a short span, sixteen bytes a step: the logfmt key, value and
//! quoted-value ends, where the span is a few to a few dozen bytes and memchr's set-up costs more than the search.
//!
//! On x86_64 one SSE2 compare per byte sought and one movemask cover sixteen bytes (SSE2 is part of the x86_64
//! baseline, so no runtime detection); elsewhere the same answers come from eight-byte SWAR words. A span's
//! last partial block is read as the sixteen bytes ending at the span's end (overlapping what was already
//! searched), so no byte-at-a-time tail loop runs unless the whole span is shorter than sixteen bytes.
//! This file knows no formats.

use super::scan::{has_byte, scan};

/// The first index at or after `from` whose byte is `a` or `b` (pass the same byte twice for one), or
/// `bytes.len()` when there is none.
#[inline(always)]
pub(crate) fn find2(bytes: &[u8], from: usize, a: u8, b: u8) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::find2(bytes, from, a, b)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        swar_find2(bytes, from, a, b)
    }
}

/// The portable answer, eight bytes a word.
#[inline(always)]
pub(crate) fn swar_find2(bytes: &[u8], from: usize, a: u8, b: u8) -> usize {
    if from >= bytes.len() {
        return bytes.len();
    }
    scan(
        bytes,
        from,
        |w| has_byte(w, a) | has_byte(w, b),
        |c| c == a || c == b,
    )
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    const BLOCK: usize = 16;

    /// Bit `k` set when byte `at + k` of `bytes` is `a` or `b`.
    ///
    /// # Safety
    /// `at + BLOCK <= bytes.len()`: the sixteen bytes from `at` are read without a bounds check.
    #[inline(always)]
    unsafe fn mask_at(bytes: &[u8], at: usize, a: __m128i, b: __m128i) -> u32 {
        debug_assert!(at + BLOCK <= bytes.len());
        // SAFETY: the sixteen bytes from `at` are inside `bytes` (the caller's promise), exactly what an
        // unaligned 128-bit load reads (`loadu` has no alignment requirement); SSE2 is part of every x86_64 target.
        let m = unsafe {
            let v = _mm_loadu_si128(bytes.as_ptr().add(at).cast::<__m128i>());
            _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, a), _mm_cmpeq_epi8(v, b)))
        };
        // Movemask sets only the low sixteen bits, so the cast keeps every bit.
        m as u32
    }

    #[inline(always)]
    pub(super) fn find2(bytes: &[u8], from: usize, a: u8, b: u8) -> usize {
        let len = bytes.len();
        if from >= len {
            return len;
        }
        if len < BLOCK {
            return super::swar_find2(bytes, from, a, b);
        }
        // `as i8` reinterprets the byte's bits, which is what the compare wants.
        // SAFETY: SSE2 is part of every x86_64 target; the splat touches no memory.
        let (va, vb) = unsafe { (_mm_set1_epi8(a as i8), _mm_set1_epi8(b as i8)) };
        // `len >= BLOCK` here, so blocks may start at `0..=base`; one compare per block, no overflow to check.
        let base = len - BLOCK;
        let mut at = from;
        while at <= base {
            // SAFETY: `at <= len - BLOCK`, so the sixteen bytes from `at` are within `bytes`.
            let m = unsafe { mask_at(bytes, at, va, vb) };
            if m != 0 {
                return at + m.trailing_zeros() as usize;
            }
            at += BLOCK;
        }
        if at >= len {
            return len;
        }
        // The last sixteen bytes; the ones before `at` were searched already and are shifted out.
        // SAFETY: `base = len - BLOCK`, so the sixteen bytes from `base` are the last ones of `bytes`.
        let m = unsafe { mask_at(bytes, base, va, vb) } >> (at - base);
        if m != 0 {
            at + m.trailing_zeros() as usize
        } else {
            len
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(bytes: &[u8], from: usize, a: u8, b: u8) -> usize {
        bytes
            .iter()
            .enumerate()
            .skip(from)
            .find(|(_, c)| **c == a || **c == b)
            .map_or(bytes.len(), |(i, _)| i)
    }

    #[test]
    fn agrees_with_a_byte_loop_at_every_length_start_and_position() {
        for len in 0..70 {
            for hit in 0..=len {
                let mut bytes = vec![b'x'; len];
                if hit < len {
                    bytes[hit] = b'=';
                }
                // A second, later hit of the other byte, and a high byte that must not confuse the compare.
                if hit + 3 < len {
                    bytes[hit + 3] = b' ';
                }
                if hit + 1 < len {
                    bytes[hit + 1] = 0xff;
                }
                for from in 0..=len + 1 {
                    let want = naive(&bytes, from, b'=', b' ').min(len);
                    assert_eq!(find2(&bytes, from, b'=', b' '), want, "{len} {hit} {from}");
                    assert_eq!(swar_find2(&bytes, from, b'=', b' '), want);
                    let one = naive(&bytes, from, b' ', b' ').min(len);
                    assert_eq!(find2(&bytes, from, b' ', b' '), one);
                }
            }
        }
    }

    #[test]
    fn high_bytes_are_found_as_themselves() {
        let bytes = "caf\u{e9} au lait with a long tail \u{e9}".as_bytes();
        assert_eq!(find2(bytes, 0, 0xc3, 0xc3), 3);
        assert_eq!(find2(bytes, 5, 0xc3, 0xc3), naive(bytes, 5, 0xc3, 0xc3));
    }
}
