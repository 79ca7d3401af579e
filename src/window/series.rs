//! l2met series: the key (kind + name + source) and the per-bucket aggregate for each kind.
//!
//! A key is one compact string, `<kind letter><name>` or `<kind letter><name>\0<source>`, so a bucket's map
//! can be searched with a reused buffer and no allocation per event. This file knows nothing of time or buckets.

use super::ddsketch::DdSketch;
use super::hll::Distinct;
use std::sync::Arc;

/// The l2met kind a series was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// `measure#`: a distribution.
    Measure,
    /// `count#`: a sum.
    Count,
    /// `sample#`: the last value.
    Sample,
    /// `unique#`: a distinct count.
    Unique,
}

impl MetricKind {
    fn letter(self) -> char {
        match self {
            MetricKind::Measure => 'm',
            MetricKind::Count => 'c',
            MetricKind::Sample => 's',
            MetricKind::Unique => 'u',
        }
    }

    fn from_letter(c: u8) -> Option<MetricKind> {
        match c {
            b'm' => Some(MetricKind::Measure),
            b'c' => Some(MetricKind::Count),
            b's' => Some(MetricKind::Sample),
            b'u' => Some(MetricKind::Unique),
            _ => None,
        }
    }
}

/// A series key, shared between the buckets that hold it. One pointer wide (the text sits behind a second
/// one): every bucket's map holds one per series, and with a single value per series a narrower key is about a
/// tenth less memory. Hashes and compares as its text, so maps keyed by it are searched with a `&str`.
#[derive(Clone)]
pub struct SeriesKey(Arc<Box<str>>);

impl SeriesKey {
    pub fn new(text: &str) -> SeriesKey {
        SeriesKey(Arc::new(text.into()))
    }

    /// How many holders share this key (the registry is one).
    pub fn holders(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    /// Heap bytes the key costs besides the slot holding it: the shared block (two counts and the text's
    /// pointer and length) and the text.
    pub fn heap_bytes(&self) -> usize {
        2 * std::mem::size_of::<usize>() + std::mem::size_of::<Box<str>>() + self.len()
    }
}

impl From<&str> for SeriesKey {
    fn from(text: &str) -> SeriesKey {
        SeriesKey::new(text)
    }
}

impl std::ops::Deref for SeriesKey {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for SeriesKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::hash::Hash for SeriesKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl PartialEq for SeriesKey {
    fn eq(&self, other: &SeriesKey) -> bool {
        **self == **other
    }
}

impl Eq for SeriesKey {}

impl std::fmt::Debug for SeriesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

/// Writes the key for (kind, name, source) into `buf` (cleared first). NUL bytes in the name or source, which
/// would break the layout, become `_`.
#[inline(always)]
pub fn write_key(buf: &mut String, kind: MetricKind, name: &str, source: Option<&str>) {
    buf.clear();
    buf.push(kind.letter());
    push_clean(buf, name);
    if let Some(source) = source {
        buf.push('\0');
        push_clean(buf, source);
    }
}

/// Names and sources are short: a plain loop finds a NUL in them sooner than a call to `memchr` returns.
#[inline]
fn push_clean(buf: &mut String, text: &str) {
    if text.bytes().any(|b| b == 0) {
        buf.extend(text.chars().map(|c| if c == '\0' { '_' } else { c }));
    } else {
        buf.push_str(text);
    }
}

/// The parts of a key written by [`write_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyParts<'a> {
    pub kind: MetricKind,
    pub name: &'a str,
    pub source: Option<&'a str>,
}

/// Splits a key written by [`write_key`]; `None` for anything else.
pub fn split_key(key: &str) -> Option<KeyParts<'_>> {
    let kind = MetricKind::from_letter(*key.as_bytes().first()?)?;
    let rest = &key[1..];
    Some(match rest.split_once('\0') {
        Some((name, source)) => KeyParts {
            kind,
            name,
            source: Some(source),
        },
        None => KeyParts {
            kind,
            name: rest,
            source: None,
        },
    })
}

/// One series' data in one bucket.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesAgg {
    Measure(DdSketch),
    /// The sum of the counts (an empty `count#x=` is 1, as the parser reports it).
    Count(f64),
    /// The value with the newest event timestamp (ties: the one that arrived last).
    Sample {
        value: f64,
        at: i64,
    },
    Unique(Distinct),
}

impl SeriesAgg {
    /// An empty aggregate for a kind.
    pub fn empty(kind: MetricKind) -> SeriesAgg {
        match kind {
            MetricKind::Measure => SeriesAgg::Measure(DdSketch::new()),
            MetricKind::Count => SeriesAgg::Count(0.0),
            MetricKind::Sample => SeriesAgg::Sample {
                value: f64::NAN,
                at: i64::MIN,
            },
            MetricKind::Unique => SeriesAgg::Unique(Distinct::new()),
        }
    }

    /// Folds `other` (same kind) into `self`. Aggregates of different kinds never share a key, so a mismatch
    /// is ignored.
    pub fn merge(&mut self, other: &SeriesAgg) {
        match (self, other) {
            (SeriesAgg::Measure(a), SeriesAgg::Measure(b)) => a.merge(b),
            (SeriesAgg::Count(a), SeriesAgg::Count(b)) => *a += b,
            (SeriesAgg::Sample { value, at }, SeriesAgg::Sample { value: v, at: t })
                if *t >= *at =>
            {
                *value = *v;
                *at = *t;
            }
            (SeriesAgg::Unique(a), SeriesAgg::Unique(b)) => a.merge(b),
            _ => {}
        }
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        match self {
            SeriesAgg::Measure(s) => s.heap_bytes(),
            SeriesAgg::Unique(d) => d.heap_bytes(),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let mut buf = String::new();
        write_key(&mut buf, MetricKind::Measure, "db.query", Some("web.1"));
        assert_eq!(
            split_key(&buf),
            Some(KeyParts {
                kind: MetricKind::Measure,
                name: "db.query",
                source: Some("web.1")
            })
        );
        write_key(&mut buf, MetricKind::Unique, "users", None);
        assert_eq!(
            split_key(&buf),
            Some(KeyParts {
                kind: MetricKind::Unique,
                name: "users",
                source: None
            })
        );
        write_key(&mut buf, MetricKind::Count, "a\0b", Some("s\0"));
        assert_eq!(
            split_key(&buf),
            Some(KeyParts {
                kind: MetricKind::Count,
                name: "a_b",
                source: Some("s_")
            })
        );
    }

    #[test]
    fn sample_keeps_the_newest_timestamp() {
        let mut a = SeriesAgg::Sample { value: 1.0, at: 20 };
        a.merge(&SeriesAgg::Sample { value: 2.0, at: 10 });
        assert_eq!(a, SeriesAgg::Sample { value: 1.0, at: 20 });
        a.merge(&SeriesAgg::Sample { value: 3.0, at: 20 });
        assert_eq!(a, SeriesAgg::Sample { value: 3.0, at: 20 });
    }
}
