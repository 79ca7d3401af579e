//! l2met's conventions on any line: `measure#name=12.5ms`, `count#name=3` (empty or missing value = 1),
//! `sample#name=21.00MB`, `unique#name=member`, with the line's `source=` attached to each.
//!
//! Turns one logfmt pair into one event kind. It does not aggregate (the windows do) and does not judge units.

use super::event::{EventKind, Metric, Text, Unique};
use super::logfmt::Pair;
use super::number::number_with_unit;
use memchr::memmem;
use std::sync::LazyLock;

static SOURCE_KEY: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"source="));

/// What one pair turned out to be.
// Returned by value and matched at once, never stored: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Found<'a> {
    /// Not an l2met key.
    Nothing,
    /// An l2met key whose value did not parse (`measure#x=abc`): to be counted, not fatal.
    BadValue,
    Metric(EventKind<'a>),
}

/// Reads one pair of a line whose `source=` is `source`.
pub fn metric<'a>(pair: Pair<'a>, source: Option<&'a str>) -> Found<'a> {
    let Some((prefix, name)) = pair.key.split_once('#') else {
        return Found::Nothing;
    };
    if name.is_empty() {
        return Found::Nothing;
    }
    let build = |value: f64, unit: &'a str| Metric {
        name,
        value,
        unit,
        source,
    };
    match prefix {
        "measure" | "sample" => {
            let Some((value, unit)) = pair.value.and_then(|v| number_with_unit(v.raw)) else {
                return Found::BadValue;
            };
            let m = build(value, unit);
            Found::Metric(if prefix == "measure" {
                EventKind::Measure(m)
            } else {
                EventKind::Sample(m)
            })
        }
        "count" => match pair.value {
            None => Found::Metric(EventKind::Count(build(1.0, ""))),
            Some(v) if v.raw.is_empty() => Found::Metric(EventKind::Count(build(1.0, ""))),
            Some(v) => match number_with_unit(v.raw) {
                Some((value, unit)) => Found::Metric(EventKind::Count(build(value, unit))),
                None => Found::BadValue,
            },
        },
        "unique" => match pair.value {
            Some(member) if !member.raw.is_empty() => Found::Metric(EventKind::Unique(Unique {
                name,
                member,
                source,
            })),
            _ => Found::BadValue,
        },
        _ => Found::Nothing,
    }
}

/// Cheap pre-check: can this line hold an l2met metric at all?
pub fn may_have_metrics(line: &str) -> bool {
    memchr::memchr(b'#', line.as_bytes()).is_some()
}

/// The value of the line's `source=` key (a whole key: `xsource=` does not count), unquoted as written.
pub fn source(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    let finder = &*SOURCE_KEY;
    let mut from = 0;
    while let Some(off) = finder.find(&bytes[from..]) {
        let at = from + off;
        from = at + 1;
        if at > 0 && bytes[at - 1] != b' ' {
            continue;
        }
        let v = at + "source=".len();
        let value: Text<'_> = match super::logfmt::pairs(&line[at..])
            .next()
            .and_then(|p| p.value)
        {
            Some(t) => t,
            None => Text::plain(&line[v..v]),
        };
        return (!value.raw.is_empty()).then_some(value.raw);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
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
                Found::Metric(EventKind::Measure(m("db.query", 12.5, "ms", None))),
                Found::Metric(EventKind::Count(m("hits", 1.0, "", None))),
                Found::Metric(EventKind::Count(m("x", 1.0, "", None))),
                Found::Metric(EventKind::Count(m("y", 3.0, "", None))),
                Found::Metric(EventKind::Sample(m("mem", 21.0, "MB", None))),
                Found::Metric(EventKind::Unique(Unique {
                    name: "user",
                    member: Text::plain("bob"),
                    source: None
                })),
            ]
        );
    }

    #[test]
    fn source_attaches_wherever_it_is() {
        let got = all("measure#a=-1.5 source=web.1");
        assert_eq!(
            got,
            vec![Found::Metric(EventKind::Measure(m(
                "a",
                -1.5,
                "",
                Some("web.1")
            )))]
        );
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
                Found::Metric(EventKind::Measure(m("c", 1.0, "", None))),
                Found::BadValue,
                Found::BadValue,
            ]
        );
    }

    #[test]
    fn other_hash_keys_are_not_metrics() {
        assert!(all("issue#12=x measure#=3 # hello#").is_empty());
    }
}
