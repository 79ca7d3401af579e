//! Numbers with a unit suffix, as l2met and the router write them: `12.5ms`, `-3`, `21.00MB`, `1e3`.
//!
//! The common case (up to 15 significant digits, a short fraction) is computed exactly without going through
//! `str::parse`; anything else (exponents, long fractions) falls back to it. `inf` and `NaN` are not numbers
//! here. It does not know what units mean.

/// Splits `12.5ms` into `(12.5, "ms")`. The unit is the ASCII letters (or `%`) right after the number and must
/// end the value; anything else after the number makes the value unparsable.
#[inline(always)]
pub fn number_with_unit(s: &str) -> Option<(f64, &str)> {
    let b = s.as_bytes();
    let (negative, int_start) = match b.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let (mut mantissa, mut i) = digits(b, int_start, 0);
    let int_digits = i - int_start;
    let mut frac_digits = 0usize;
    if b.get(i) == Some(&b'.') {
        let (m, end) = digits(b, i + 1, mantissa);
        frac_digits = end - (i + 1);
        mantissa = m;
        i = end;
    }
    let significant = int_digits + frac_digits;
    if significant == 0 {
        return None;
    }
    let mut exponent = false;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let (_, end) = digits(b, j, 0);
        if end > j {
            exponent = true;
            i = end;
        }
    }
    debug_assert!(i <= s.len() && s.is_char_boundary(i));
    // SAFETY: `i` only moved over ASCII bytes (sign, digits, dot, exponent), so it is at most the length and at
    // an ASCII byte or the end: a char boundary.
    let unit = unsafe { s.get_unchecked(i..) };
    for &c in unit.as_bytes() {
        if (c | 0x20).wrapping_sub(b'a') >= 26 && c != b'%' {
            return None;
        }
    }
    let value = if !exponent && significant <= 15 && frac_digits < POW10.len() {
        // Both the mantissa (below 10^15 < 2^53) and the power of ten are exact, so one division is correctly
        // rounded: the same f64 as `str::parse`. Below 10^15 the mantissa also fits an `i64`, whose conversion
        // is one instruction on x86_64 (the unsigned one is several).
        let v = mantissa as i64 as f64 / POW10[frac_digits];
        if negative {
            -v
        } else {
            v
        }
    } else {
        s[..i].parse::<f64>().ok().filter(|v| v.is_finite())?
    };
    Some((value, unit))
}

/// Reads decimal digits from `from`, continuing `mantissa` (wrapping: callers only trust it for <= 15 digits);
/// returns it and where the digits end.
#[inline(always)]
fn digits(b: &[u8], from: usize, mut mantissa: u64) -> (u64, usize) {
    let mut i = from;
    while let Some(&c) = b.get(i) {
        let d = c.wrapping_sub(b'0');
        if d >= 10 {
            break;
        }
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    (mantissa, i)
}

/// Powers of ten that are exact in an f64; with a mantissa below 2^53 the division is correctly rounded.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_units() {
        assert_eq!(number_with_unit("12.5ms"), Some((12.5, "ms")));
        assert_eq!(number_with_unit("21.00MB"), Some((21.0, "MB")));
        assert_eq!(
            number_with_unit("4347350804bytes"),
            Some((4_347_350_804.0, "bytes"))
        );
        assert_eq!(number_with_unit("-3"), Some((-3.0, "")));
        assert_eq!(number_with_unit("+0.115"), Some((0.115, "")));
        assert_eq!(number_with_unit(".5s"), Some((0.5, "s")));
        assert_eq!(number_with_unit("7."), Some((7.0, "")));
        assert_eq!(number_with_unit("1e3ms"), Some((1000.0, "ms")));
        assert_eq!(number_with_unit("45%"), Some((45.0, "%")));
        assert_eq!(
            number_with_unit("12345678901234567890123"),
            Some((1.2345678901234568e22, ""))
        );
    }

    #[test]
    fn not_numbers() {
        for s in [
            "", "-", ".", "abc", "12ms/s", "1.2.3", "inf", "NaN", "12 ms", "1e999",
        ] {
            assert_eq!(number_with_unit(s), None, "{s}");
        }
    }

    #[test]
    fn fast_path_matches_std() {
        for s in [
            "0.1",
            "123.456",
            "-99.999999",
            "0.000000000000001",
            "999999999999999",
            "3.14159265358979",
        ] {
            assert_eq!(
                number_with_unit(s).map(|v| v.0),
                s.parse::<f64>().ok(),
                "{s}"
            );
        }
    }
}
