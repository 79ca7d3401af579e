//! Durations in config files: `10s`, `5m`, `1h`, `250ms`, or a bare number of seconds.

use serde::{de, Deserialize, Deserializer, Serializer};
use std::time::Duration;

/// Parses `10s`, `5m`, `1h`, `1d`, `250ms`, `1.5s` or `30` (seconds).
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        format!("expected a duration like 10s, 5m, 250ms or a number of seconds, got {text:?}")
    })?;
    let secs = match unit.trim() {
        "" | "s" | "sec" | "secs" => n,
        "ms" => n / 1000.0,
        "m" | "min" | "mins" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} in {text:?} (use ms, s, m, h or d)"
            ))
        }
    };
    from_secs(secs).ok_or_else(|| format!("duration {text:?} is out of range (0 to 3650d)"))
}

/// The longest duration a config may name: ten years, far past any sensible
/// interval, and small enough that `Instant::now() + d` cannot overflow.
pub const MAX: Duration = Duration::from_secs(3650 * 86_400);

/// Seconds to a `Duration`, or `None` when negative, not finite or past [`MAX`].
fn from_secs(secs: f64) -> Option<Duration> {
    if !secs.is_finite() || secs < 0.0 || secs > MAX.as_secs_f64() {
        return None;
    }
    Duration::try_from_secs_f64(secs).ok()
}

/// Formats a duration the way `parse` reads it back (`10s`, `5m`, `250ms`).
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if ms.is_multiple_of(3_600_000) && ms > 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else {
        format!("{}s", ms / 1000)
    }
}

/// `#[serde(with = "crate::duration")]` for `Duration` fields.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Num(f64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Num(n) => from_secs(n)
            .ok_or_else(|| de::Error::custom(format!("duration {n} is out of range (0 to 3650d)"))),
        Raw::Text(t) => parse(&t).map_err(de::Error::custom),
    }
}

pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse("ten").is_err());
        assert!(parse("5y").is_err());
    }

    #[test]
    fn refuses_durations_past_ten_years() {
        assert!(parse("1e300").is_err());
        assert!(parse("99999999999999999999999d").is_err());
        assert!(parse("3651d").is_err());
        assert_eq!(parse("3650d"), Ok(MAX));
        #[derive(Deserialize, Debug)]
        struct Holder(#[serde(with = "super")] Duration);
        for text in ["1.0e300", "-1", "18446744073709551616", ".inf"] {
            let err = serde_yaml_ng::from_str::<Holder>(text);
            assert!(err.is_err(), "{text} was accepted: {err:?}");
        }
        assert_eq!(
            serde_yaml_ng::from_str::<Holder>("90").map(|h| h.0).ok(),
            Some(Duration::from_secs(90))
        );
    }

    #[test]
    fn formats_round_trip() {
        for t in ["10s", "5m", "250ms", "1h"] {
            assert_eq!(format(parse(t).unwrap()), t);
        }
    }
}

/// `#[serde(default, with = "crate::duration::option")]` for `Option<Duration>` fields.
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(with = "super")] Duration);
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::serialize(d, s),
            None => s.serialize_none(),
        }
    }
}
