//! RFC 3339 timestamps (`2012-07-22T00:06:26.123456+00:00`, `...Z`) to Unix microseconds, without allocating.
//!
//! Accepts any number of fractional digits (kept to microseconds, extra digits truncated), `Z`/`z` or a
//! `+HH:MM`/`-HH:MM` offset, and `T`/`t` as the separator. It does not accept the syslog NILVALUE `-`, week dates,
//! or anything else RFC 3339 does not allow; a leap second (`:60`) is read as the next second.
//! Formatting back to text is the caller's business (the CLI uses jiff).

use super::event::Micros;

/// Parses one RFC 3339 timestamp that must span the whole input.
pub fn parse_rfc3339(s: &[u8]) -> Option<Micros> {
    finish(s, minute_of(s)?)
}

/// Remembers the last `YYYY-MM-DDTHH:MM` seen: the frames of one body nearly all share it, so only the seconds,
/// fraction and offset are read again. Same answers as [`parse_rfc3339`].
#[derive(Debug, Clone)]
pub struct MinuteCache {
    /// The minute's 16 bytes as two little-endian words; always a valid minute (see `Default`), so a match
    /// needs no further check.
    prefix: [u64; 2],
    secs: i64,
}

/// The Unix epoch's minute, a valid prefix to start from.
const EPOCH_MINUTE: &[u8; 16] = b"1970-01-01T00:00";

impl Default for MinuteCache {
    fn default() -> Self {
        MinuteCache {
            prefix: split_minute(EPOCH_MINUTE),
            secs: 0,
        }
    }
}

impl MinuteCache {
    #[inline(always)]
    pub fn parse(&mut self, s: &[u8]) -> Option<Micros> {
        let head: &[u8; 16] = s.get(..16)?.try_into().ok()?;
        let prefix = split_minute(head);
        if prefix != self.prefix {
            self.secs = minute_of(s)?;
            self.prefix = prefix;
        }
        match s.try_into() {
            Ok(heroku) => finish_heroku(heroku, self.secs).or_else(|| finish(s, self.secs)),
            Err(_) => finish(s, self.secs),
        }
    }
}

/// A minute's 16 bytes as two words, compared in two instructions.
#[inline(always)]
fn split_minute(head: &[u8; 16]) -> [u64; 2] {
    [word(head, 0), word(head, 8)]
}

/// Eight bytes from `at` as a little-endian word (first byte lowest); one load.
#[inline(always)]
fn word<const N: usize>(s: &[u8; N], at: usize) -> u64 {
    u64::from_le_bytes([
        s[at],
        s[at + 1],
        s[at + 2],
        s[at + 3],
        s[at + 4],
        s[at + 5],
        s[at + 6],
        s[at + 7],
    ])
}

/// Whether all eight bytes of `word` are ASCII digits: the high nibble is 3, and stays 3 when six is added
/// (0x3A..=0x3F do not). A carry out of a byte needs a byte at 0xFA or above, which already fails the first test.
#[inline(always)]
fn all_digits(word: u64) -> bool {
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const THREES: u64 = 0x3030_3030_3030_3030;
    (word & HIGH_NIBBLES == THREES)
        & (word.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES == THREES)
}

/// Eight ASCII digits (first the most significant) already checked, as their number.
#[inline(always)]
fn eight_digits(word: u64) -> u64 {
    let v = word & 0x0F0F_0F0F_0F0F_0F0F;
    let v = (v * 10 + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
    let v = (v * 100 + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    (v * 10_000 + (v >> 32)) & 0xFFFF_FFFF
}

/// The rest after the minute as Heroku sends it, `:SS.ffffff+00:00` (bytes 16..32), read as words; `None`
/// when it differs (another offset, fewer digits, ...): the general [`finish`] then decides. Same answers as
/// `finish`.
#[inline(always)]
fn finish_heroku(s: &[u8; 32], minute_secs: i64) -> Option<Micros> {
    // `:` at 16 and `.` at 19, among the seconds' and fraction's digits.
    const PUNCTUATION: u64 = 0x0000_0000_FF00_00FF;
    let punctuated = word(s, 16) & PUNCTUATION == u64::from_le_bytes(*b":\0\0.\0\0\0\0");
    // Bytes 26..32; 24 and 25 are the fraction's last digits.
    let utc = word(s, 24) & !0xFFFF == u64::from_le_bytes(*b"\0\0+00:00");
    // `SSffffff`: the seconds' two digits (bytes 17, 18), then the fraction's six (bytes 20..26).
    let digits = (word(s, 17) & 0xFFFF) | (word(s, 18) & !0xFFFF);
    if !(punctuated & utc & all_digits(digits)) {
        return None;
    }
    // Seconds and fraction in one number: SS * 1_000_000 + ffffff; SS may be 60 (a leap second), not more.
    let micros = eight_digits(digits) as i64;
    (micros < 61_000_000).then_some(minute_secs * 1_000_000 + micros)
}

/// Seconds since the epoch of the `YYYY-MM-DDTHH:MM` that starts `s`, before any offset.
fn minute_of(s: &[u8]) -> Option<i64> {
    // A fixed-size head: the compiler checks each position once, without bounds checks.
    let head: [u8; 16] = s.get(..16)?.try_into().ok()?;
    let d = |i: usize| u32::from(head[i].wrapping_sub(b'0'));
    let is_digit = |i: usize| head[i].wrapping_sub(b'0') < 10;
    // Spelled out (not a loop over positions) so it compiles to straight-line compares.
    let all_digits = is_digit(0)
        & is_digit(1)
        & is_digit(2)
        & is_digit(3)
        & is_digit(5)
        & is_digit(6)
        & is_digit(8)
        & is_digit(9)
        & is_digit(11)
        & is_digit(12)
        & is_digit(14)
        & is_digit(15);
    let separators =
        (head[4] == b'-') & (head[7] == b'-') & ((head[10] | 0x20) == b't') & (head[13] == b':');
    if !(all_digits & separators) {
        return None;
    }
    let year = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
    let month = d(5) * 10 + d(6);
    let day = d(8) * 10 + d(9);
    let hour = d(11) * 10 + d(12);
    let minute = d(14) * 10 + d(15);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    Some(days * 86_400 + i64::from(hour * 3600 + minute * 60))
}

/// The rest after the minute, `:SS[.fraction](Z|+HH:MM|-HH:MM)`, added to `minute_secs`.
fn finish(s: &[u8], minute_secs: i64) -> Option<Micros> {
    if s.len() < 20 || s[16] != b':' {
        return None;
    }
    let second = digits2(s, 17)?;
    if second > 60 {
        return None;
    }
    let mut i = 19;
    let mut micros: i64 = 0;
    if s[i] == b'.' {
        i += 1;
        let start = i;
        // Six digits (what Heroku sends) straight-line; the loop then takes any further (truncated) digits.
        if let Some(six) = s.get(start..start + 6) {
            let six: [u8; 6] = [six[0], six[1], six[2], six[3], six[4], six[5]];
            if six.iter().all(u8::is_ascii_digit) {
                micros = six.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
                i = start + 6;
            }
        }
        while i < s.len() && s[i].is_ascii_digit() {
            if i - start < 6 {
                micros = micros * 10 + i64::from(s[i] - b'0');
            }
            i += 1;
        }
        let taken = i - start;
        if taken == 0 {
            return None;
        }
        for _ in taken..6 {
            micros *= 10;
        }
    }
    let offset_secs = match s.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest[2] == b':' => {
            let oh = digits2(rest, 0)?;
            let om = digits2(rest, 3)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let secs = minute_secs + i64::from(second) - offset_secs;
    Some(secs * 1_000_000 + micros)
}

fn digit(b: u8) -> Option<u32> {
    if b.is_ascii_digit() {
        Some(u32::from(b - b'0'))
    } else {
        None
    }
}

fn digits2(s: &[u8], at: usize) -> Option<u32> {
    Some(digit(*s.get(at)?)? * 10 + digit(*s.get(at + 1)?)?)
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<Micros> {
        parse_rfc3339(s.as_bytes())
    }

    fn jiff_micros(s: &str) -> Micros {
        let ts: jiff::Timestamp = s.parse().unwrap();
        ts.as_microsecond()
    }

    #[test]
    fn whole_seconds_with_offset() {
        assert_eq!(p("2012-07-22T00:06:26+00:00"), Some(1_342_915_586_000_000));
        assert_eq!(p("1970-01-01T00:00:00Z"), Some(0));
    }

    #[test]
    fn fractions_of_any_length() {
        assert_eq!(p("1970-01-01T00:00:00.5Z"), Some(500_000));
        assert_eq!(p("1970-01-01T00:00:00.123456Z"), Some(123_456));
        assert_eq!(p("1970-01-01T00:00:00.123456789Z"), Some(123_456));
    }

    #[test]
    fn offsets_shift_to_utc() {
        assert_eq!(p("1970-01-01T01:30:00+01:30"), Some(0));
        assert_eq!(p("1969-12-31T22:00:00-02:00"), Some(0));
    }

    #[test]
    fn agrees_with_jiff() {
        for s in [
            "2013-04-17T19:04:46+00:00",
            "2024-02-29T23:59:59.999999-07:00",
            "2000-03-01T00:00:00.000001Z",
            "1900-01-01T12:00:00+05:45",
            "2099-12-31T23:59:59.1+14:00",
        ] {
            assert_eq!(p(s), Some(jiff_micros(s)), "{s}");
        }
    }

    #[test]
    fn the_minute_cache_gives_the_same_answers() {
        let mut cache = MinuteCache::default();
        for s in [
            "2013-04-17T19:04:46+00:00",
            "2013-04-17T19:04:59.5-02:00",
            "2013-04-17T19:04:61Z",
            "2013-04-17T19:04:07.123456789Z",
            "2013-04-17T19:05:00Z",
            "2013-04-17T19:05:00",
            "2013-04-17T19:05x00Z",
            "2013-02-30T19:05:00Z",
            "2013-02-30T19:05:01Z",
            "2013-04-17T19:05:00.Z",
            "2013-04-17T19:05",
        ] {
            assert_eq!(cache.parse(s.as_bytes()), p(s), "{s}");
        }
    }

    /// The 32-byte Heroku layout the fast path reads, at the edges of what it accepts.
    const HEROKU_STAMPS: [&str; 4] = [
        "2012-07-22T00:06:26.123456+00:00",
        "2016-12-31T23:59:60.999999+00:00",
        "1970-01-01T00:00:00.000000+00:00",
        "2024-02-29T09:09:59.000001+00:00",
    ];

    /// The cache with the fast path against the general parse, with the minute cached and not.
    fn assert_cache_agrees(s: &[u8]) {
        let plain = parse_rfc3339(s);
        assert_eq!(
            MinuteCache::default().parse(s),
            plain,
            "{:?}",
            String::from_utf8_lossy(s)
        );
        let mut warm = MinuteCache::default();
        for base in HEROKU_STAMPS {
            warm.parse(base.as_bytes());
            assert_eq!(
                warm.parse(s),
                plain,
                "{:?} after {base}",
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn the_heroku_fast_path_agrees_with_the_general_path_on_every_byte() {
        for base in HEROKU_STAMPS {
            // jiff reads a leap second as :59, this parser as the next second.
            if !base.contains(":60.") {
                assert_eq!(p(base), Some(jiff_micros(base)), "{base}");
            }
            for at in 0..base.len() {
                for b in 0..=255u8 {
                    let mut s = base.as_bytes().to_vec();
                    s[at] = b;
                    assert_cache_agrees(&s);
                }
            }
        }
    }

    #[test]
    fn the_heroku_fast_path_agrees_on_other_shapes_and_lengths() {
        let mut shapes = vec![
            "2012-07-22T00:06:26.123456-00:00".to_string(),
            "2012-07-22T00:06:26.123456+01:30".to_string(),
            "2012-07-22T00:06:26.123456-23:59".to_string(),
            "2012-07-22T00:06:26.123456+24:00".to_string(),
            "2012-07-22t00:06:26.123456+00:00".to_string(),
            "2012-07-22T00:06:26.1234567+0:00".to_string(),
            "2012-07-22T00:06:61.123456+00:00".to_string(),
            "2012-07-22T00:06:60.123456+00:00".to_string(),
            "2012-07-22T00:06:26.12345678901Z".to_string(),
            "2012-07-22T00:06:26.1234567890z".to_string(),
            "2012-07-22T00:06:26:123456+00:00".to_string(),
            "2012-07-22T00:06:26.123456 00:00".to_string(),
        ];
        for digits in 0..=9 {
            let fraction = &"123456789"[..digits];
            let dot = if digits == 0 { "" } else { "." };
            for offset in ["Z", "z", "+00:00", "-00:00", "+05:45", "-07:00", "+23:59"] {
                shapes.push(format!("2012-07-22T00:06:26{dot}{fraction}{offset}"));
            }
        }
        for shape in &shapes {
            let bytes = shape.as_bytes();
            for len in 0..=bytes.len() {
                assert_cache_agrees(&bytes[..len]);
            }
            let mut longer = bytes.to_vec();
            longer.extend_from_slice(b"00");
            assert_cache_agrees(&longer);
        }
        for base in HEROKU_STAMPS {
            for len in 0..=40 {
                let mut s = base.as_bytes().to_vec();
                s.resize(len, b'0');
                assert_cache_agrees(&s);
            }
        }
    }

    #[test]
    fn all_digits_is_exact_at_every_byte() {
        for at in 0..8 {
            for b in 0..=255u8 {
                let mut bytes = *b"01234567";
                bytes[at] = b;
                assert_eq!(
                    all_digits(u64::from_le_bytes(bytes)),
                    b.is_ascii_digit(),
                    "{b:#x} at {at}"
                );
            }
        }
    }

    #[test]
    fn eight_digits_reads_the_first_byte_as_the_most_significant() {
        for text in [
            "00000000", "12345678", "99999999", "60999999", "00000001", "10000000",
        ] {
            let bytes: [u8; 8] = text.as_bytes().try_into().unwrap();
            assert_eq!(
                eight_digits(u64::from_le_bytes(bytes)),
                text.parse::<u64>().unwrap()
            );
        }
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for s in [
            "-",
            "2012-07-22 00:06:26+00:00",
            "2012-07-22T00:06:26",
            "2012-07-22T00:06:26.Z",
            "2012-13-22T00:06:26Z",
            "2023-02-29T00:06:26Z",
            "2012-07-22T24:06:26Z",
            "2012-07-22T00:06:26+0000",
            "2012-07-22T00:06:26+00:00x",
            "2012-07-22T00:06:26+24:00",
            "２０12-07-22T00:06:26Z",
        ] {
            assert_eq!(p(s), None, "{s}");
        }
    }
}
