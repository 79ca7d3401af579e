//! A line's `source=` (l2met's convention, and Heroku's on its runtime and add-on lines): found once per
//! line, for the l2met metrics and the queue-time lines alike.

use super::event::Text;
use super::logfmt::{pairs, Pairs};
use memchr::memmem;
use std::sync::LazyLock;

static SOURCE_KEY: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"source="));

/// The line's source (as [`source`]) and its pairs; when the line starts with `source=` (Heroku's runtime and
/// add-on lines, and most apps) the pairs come positioned after it, so one scan serves both. The skipped pair is
/// never a metric.
#[inline]
pub fn source_and_pairs(line: &str) -> (Option<&str>, Pairs<'_>) {
    let mut all = pairs(line);
    if line.starts_with("source=") {
        // Put first: no search needed.
        let value = all.next().and_then(|p| p.value).map(|v| v.raw);
        return (value.filter(|v| !v.is_empty()), all);
    }
    (source_anywhere(line), all)
}

/// The value of the line's `source=` key (a whole key: `xsource=` does not count), unquoted as written.
pub fn source(line: &str) -> Option<&str> {
    source_and_pairs(line).0
}

/// [`source`] for a line that does not start with it: searched for.
fn source_anywhere(line: &str) -> Option<&str> {
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
        let value: Text<'_> = match pairs(&line[at..]).next().and_then(|p| p.value) {
            Some(t) => t,
            None => Text::plain(&line[v..v]),
        };
        return (!value.raw.is_empty()).then_some(value.raw);
    }
    None
}
