//! l2met's conventions on any line: `measure#name=12.5ms`, `count#name=3` (empty or missing value = 1),
//! `sample#name=21.00MB`, `unique#name=member`, with the line's `source=` attached to each. A key of no
//! convention may still be a HireFire-style queue time ([`super::queue_time`]), read as `measure#queue_time`.
//!
//! Turns one logfmt pair into one event kind. It does not aggregate (the windows do) and does not judge units.

use super::event::{EventKind, Metric, Unique};
use super::find::find2;
use super::logfmt::Pair;
use super::number::number_with_unit;
use super::queue_time;
pub use super::source::{source, source_and_pairs};

/// What one pair turned out to be.
/// Small on purpose (no router-sized [`EventKind`]): it is returned once per pair on the hot path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Found<'a> {
    /// Not an l2met key.
    Nothing,
    /// An l2met key whose value did not parse (`measure#x=abc`): to be counted, not fatal.
    BadValue,
    Measure(Metric<'a>),
    Count(Metric<'a>),
    Sample(Metric<'a>),
    Unique(Unique<'a>),
}

impl<'a> Found<'a> {
    /// The event kind, when this is a metric.
    #[inline]
    pub fn into_kind(self) -> Option<EventKind<'a>> {
        match self {
            Found::Nothing | Found::BadValue => None,
            Found::Measure(m) => Some(EventKind::Measure(m)),
            Found::Count(m) => Some(EventKind::Count(m)),
            Found::Sample(m) => Some(EventKind::Sample(m)),
            Found::Unique(u) => Some(EventKind::Unique(u)),
        }
    }
}

/// Which l2met convention a key follows.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Convention {
    Measure,
    Count,
    Sample,
    Unique,
}

/// Reads one pair of a line whose `source=` is `source`.
#[inline]
pub fn metric<'a>(pair: Pair<'a>, source: Option<&'a str>) -> Found<'a> {
    let key = pair.key;
    let Some((convention, name)) = convention(key) else {
        return queue_time::metric(pair, source).map_or(Found::Nothing, Found::Measure);
    };
    let build = |value: f64, unit: &'a str| Metric {
        name,
        value,
        unit,
        source,
    };
    let value = pair.value.filter(|v| !v.raw.is_empty());
    match convention {
        Convention::Measure | Convention::Sample => {
            let Some((value, unit)) = value.and_then(|v| number_with_unit(v.raw)) else {
                return Found::BadValue;
            };
            let m = build(value, unit);
            if matches!(convention, Convention::Measure) {
                Found::Measure(m)
            } else {
                Found::Sample(m)
            }
        }
        Convention::Count => match value {
            None => Found::Count(build(1.0, "")),
            Some(v) => match number_with_unit(v.raw) {
                Some((value, unit)) => Found::Count(build(value, unit)),
                None => Found::BadValue,
            },
        },
        Convention::Unique => match value {
            Some(member) => Found::Unique(Unique {
                name,
                member,
                source,
            }),
            None => Found::BadValue,
        },
    }
}

/// A key's convention and its metric's name (`measure#db.query`: measure, `db.query`); `None` for any other key
/// or an empty name.
#[inline(always)]
fn convention(key: &str) -> Option<(Convention, &str)> {
    let (convention, prefix) = match key.as_bytes().first_chunk::<8>() {
        // A key of eight bytes or more: its first word against each prefix, no branch on single bytes.
        Some(head) => {
            let word = u64::from_le_bytes(*head);
            let starts = |prefix: &[u8; 8], len: u32| {
                let mask = u64::MAX >> (64 - 8 * len);
                word & mask == u64::from_le_bytes(*prefix)
            };
            if starts(b"measure#", 8) {
                (Convention::Measure, 8)
            } else if starts(b"count#\0\0", 6) {
                (Convention::Count, 6)
            } else if starts(b"sample#\0", 7) {
                (Convention::Sample, 7)
            } else if starts(b"unique#\0", 7) {
                (Convention::Unique, 7)
            } else {
                return None;
            }
        }
        // Shorter keys (`dyno`, `addon`, `count#a`): one byte decides which prefix to try.
        None => match key.as_bytes().first() {
            Some(b'c') if key.starts_with("count#") => (Convention::Count, 6),
            Some(b's') if key.starts_with("sample#") => (Convention::Sample, 7),
            Some(b'u') if key.starts_with("unique#") => (Convention::Unique, 7),
            _ => return None,
        },
    };
    if key.len() == prefix {
        return None;
    }
    debug_assert!(key.len() > prefix && key.is_char_boundary(prefix));
    // SAFETY: the key starts with the prefix (tested above), so it is at least that long, and the prefix is
    // ASCII, so its end is a char boundary.
    Some((convention, unsafe { key.get_unchecked(prefix..) }))
}

/// Cheap pre-check: can this line hold an l2met metric at all?
pub fn may_have_metrics(line: &str) -> bool {
    // Lines are short and the `#` is near the start: a sixteen-byte search beats memchr's set-up here.
    let bytes = line.as_bytes();
    find2(bytes, 0, b'#', b'#') < bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logplex::event::Text;
    use crate::logplex::logfmt::pairs;

    fn all(line: &str) -> Vec<Found<'_>> {
        let src = source(line);
        pairs(line)
            .map(|p| metric(p, src))
            .filter(|f| *f != Found::Nothing)
            .collect()
    }

    fn m<'a>(name: &'a str, value: f64, unit: &'a str, source: Option<&'a str>) -> Metric<'a> {
        Metric {
            name,
            value,
            unit,
            source,
        }
    }

    #[test]
    fn measure_count_sample_unique() {
        let got = all("measure#db.query=12.5ms count#hits count#x= count#y=3 sample#mem=21.00MB unique#user=bob");
        assert_eq!(
            got,
            vec![
                Found::Measure(m("db.query", 12.5, "ms", None)),
                Found::Count(m("hits", 1.0, "", None)),
                Found::Count(m("x", 1.0, "", None)),
                Found::Count(m("y", 3.0, "", None)),
                Found::Sample(m("mem", 21.0, "MB", None)),
                Found::Unique(Unique {
                    name: "user",
                    member: Text::plain("bob"),
                    source: None
                }),
            ]
        );
    }

    #[test]
    fn source_attaches_wherever_it_is() {
        let got = all("measure#a=-1.5 source=web.1");
        assert_eq!(got, vec![Found::Measure(m("a", -1.5, "", Some("web.1")))]);
        assert_eq!(source("xsource=no source=\"yes\""), Some("yes"));
        assert_eq!(source("source= measure#a=1"), None);
        assert_eq!(source("nosource=a"), None);
    }

    #[test]
    fn bad_values_are_reported_not_fatal() {
        let got = all("measure#a=abc measure#b measure#c=1 unique#u= sample#s=12ms/s");
        assert_eq!(
            got,
            vec![
                Found::BadValue,
                Found::BadValue,
                Found::Measure(m("c", 1.0, "", None)),
                Found::BadValue,
                Found::BadValue,
            ]
        );
    }

    #[test]
    fn source_and_pairs_agrees_with_source_then_all_pairs() {
        for (line, want_src) in [
            ("source=web.1 measure#a=1 count#b", Some("web.1")),
            ("source=\"quoted src\" sample#m=2MB", Some("quoted src")),
            ("source= measure#a=1", None),
            ("measure#a=1 source=web.2", Some("web.2")),
            ("source=web.1", Some("web.1")),
            ("", None),
        ] {
            let (src, rest) = source_and_pairs(line);
            assert_eq!(src, want_src, "{line}");
            assert_eq!(source(line), want_src, "{line}");
            let keep = |f: &Found<'_>| *f != Found::Nothing;
            let got: Vec<_> = rest.map(|p| metric(p, src)).filter(keep).collect();
            let want: Vec<_> = pairs(line).map(|p| metric(p, src)).filter(keep).collect();
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn conventions_at_every_key_length_around_the_eight_byte_word() {
        use Convention::*;
        for (key, want) in [
            ("count#a", Some((Count, "a"))),
            ("count#ab", Some((Count, "ab"))),
            ("count#", None),
            ("sample#", None),
            ("sample#a", Some((Sample, "a"))),
            ("unique#", None),
            ("unique#a", Some((Unique, "a"))),
            ("measure#", None),
            ("measure#a", Some((Measure, "a"))),
            ("measure", None),
            ("measures#a", None),
            ("counts#a", None),
            ("Count#abc", None),
            ("c", None),
            ("", None),
        ] {
            assert_eq!(convention(key), want, "{key}");
        }
    }

    #[test]
    fn other_hash_keys_are_not_metrics() {
        assert!(all("issue#12=x measure#=3 # hello#").is_empty());
    }
}
