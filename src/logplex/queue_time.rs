//! Request queue time as HireFire's and Judoscale's users already log it: `[hirefire:router] queue=162ms`, or
//! any app line with a `queue=` or `queue_time=` pair whose value is milliseconds (`queue_time=12`,
//! `queue=12.5ms`; `s` is read as seconds and converted). Such a pair becomes the measure `queue_time` (in ms),
//! the same series as l2met's `measure#queue_time=12ms`, so an app moving from those services keeps its logging
//! and scales on p95 queue time.
//!
//! Only whole keys count (`myqueue=` does not) and only numeric values (`queue=default`, a job queue's name as
//! Sidekiq and others log it, is not a queue time and is left alone, not counted as a bad value).

use super::event::Metric;
use super::find::find2;
use super::logfmt::Pair;

/// The measure these pairs feed.
pub const NAME: &str = "queue_time";

/// The queue time of a line without l2met metrics (those go through [`metric`] pair by pair): the first whole
/// `queue=` or `queue_time=` key whose value is a time, with the line's `source=`. Each `q` is found with the
/// parser's sixteen-byte search (a rare letter: most lines have none, and on these short lines that beats a
/// substring search's set-up), so a plain line without a queue time costs one scan and no logfmt parse.
#[inline(never)]
pub fn in_line(line: &str) -> Option<Metric<'_>> {
    let bytes = line.as_bytes();
    let mut start = find2(bytes, 0, b'q', b'q');
    while start < bytes.len() {
        let at = start;
        start = find2(bytes, at + 1, b'q', b'q');
        if !bytes[at..].starts_with(b"queue") || (at > 0 && bytes[at - 1] != b' ') {
            continue;
        }
        let rest = &line[at + "queue".len()..];
        let value = if let Some(v) = rest.strip_prefix('=') {
            v
        } else if let Some(v) = rest.strip_prefix("_time=") {
            v
        } else {
            continue;
        };
        let value = value.split(' ').next().unwrap_or(value);
        if let Some(ms) = milliseconds(value) {
            return Some(Metric {
                name: NAME,
                value: ms,
                unit: "ms",
                source: super::source::source(line),
            });
        }
    }
    None
}

/// The queue time of one pair, when it is one: `queue=162ms` gives 162 ms.
#[inline]
pub fn metric<'a>(pair: Pair<'a>, source: Option<&'a str>) -> Option<Metric<'a>> {
    if pair.key != "queue" && pair.key != "queue_time" {
        return None;
    }
    let ms = milliseconds(pair.value?.raw)?;
    Some(Metric {
        name: NAME,
        value: ms,
        unit: "ms",
        source,
    })
}

/// `162ms`, `162` (ms) or `0.162s` as milliseconds; anything else (a name, another unit, a negative) is none.
fn milliseconds(raw: &str) -> Option<f64> {
    let (value, unit) = super::number::number_with_unit(raw)?;
    let ms = match unit {
        "" | "ms" => value,
        "s" => value * 1000.0,
        _ => return None,
    };
    (ms.is_finite() && ms >= 0.0).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logplex::logfmt::pairs;

    /// Both paths, which must agree: pair by pair (lines with l2met metrics) and the plain-line search.
    fn all(line: &str) -> Vec<Metric<'_>> {
        let source = crate::logplex::source::source(line);
        let by_pairs: Vec<_> = pairs(line).filter_map(|p| metric(p, source)).collect();
        assert_eq!(in_line(line), by_pairs.first().copied(), "{line}");
        by_pairs
    }

    #[test]
    fn hirefire_router_line() {
        let m = all("[hirefire:router] queue=162ms");
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].name, m[0].value, m[0].unit),
            ("queue_time", 162.0, "ms")
        );
    }

    #[test]
    fn queue_time_key_units_and_source() {
        let m = all("at=info queue_time=12.5 source=web.1");
        assert_eq!((m[0].value, m[0].source), (12.5, Some("web.1")));
        assert_eq!(all("queue=0.25s")[0].value, 250.0);
        assert_eq!(all("queue_time=7ms")[0].value, 7.0);
    }

    #[test]
    fn job_queue_names_and_other_keys_are_not_queue_times() {
        assert!(all("queue=default jid=abc").is_empty());
        assert!(all("myqueue=12ms").is_empty());
        assert!(all("queue=12MB").is_empty());
        assert!(all("queue=-3ms").is_empty());
        assert!(all("queue=").is_empty());
        assert!(all("enqueued job").is_empty());
        assert!(all("queues=3").is_empty());
        assert_eq!(all("x queues=3 queue=default queue_time=4")[0].value, 4.0);
    }
}
