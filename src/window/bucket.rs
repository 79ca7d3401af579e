//! One time bucket: router aggregates and l2met series for `[start, start + resolution)`.
//!
//! A bucket holds two halves. `pending` takes every event ingested and has not been flushed to the outlets;
//! `retained` is what earlier flushes moved over for the scaler's queries (router data and the l2met names the
//! scaler reads). Reads see both halves. Data is only ever merged in, never overwritten. This file knows nothing
//! of wall clocks or outlets.

use super::ddsketch::DdSketch;
use super::fasthash::FastMap;
use super::series::{SeriesAgg, SeriesKey};
use crate::logplex::Router;

/// Most distinct dynos counted per bucket; router lines from further dynos still count in the totals.
pub const MAX_DYNOS: usize = 1000;

/// Most distinct H-error codes counted per bucket (Heroku has a few dozen); lines with further codes still count
/// in `errors`, so a sender making up codes cannot grow a bucket or slow ingestion.
pub const MAX_ERROR_CODES: usize = 64;

/// Most distinct exact statuses counted per bucket (an app sees a few dozen); lines with further statuses still
/// count in their class and in `requests`.
pub const MAX_STATUSES: usize = 64;

/// Longest `dyno=` value kept as a key (Heroku's are like `web.1` or `web-58d8c6d8f9-x2x7q`); longer ones count
/// in the totals only.
pub const MAX_DYNO_BYTES: usize = 64;

/// Longest error `code=` kept as a key (Heroku's are like `H12`); longer ones count in `errors` only.
pub const MAX_CODE_BYTES: usize = 16;

/// Router lines in one bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouterAgg {
    /// Router lines (`at=info` and `at=error`).
    pub requests: u64,
    /// Requests by status class: index 1..=5 for 1xx..5xx; 0 for lines without a status or outside 100..=599.
    pub classes: [u64; 6],
    /// Requests by exact status code (100..=599 only), in first-seen order, at most [`MAX_STATUSES`].
    pub statuses: Vec<(u16, u64)>,
    /// `at=error` lines.
    pub errors: u64,
    /// `at=error` lines by code (`H12`), at most [`MAX_ERROR_CODES`]; lines without a code are only in `errors`.
    pub error_codes: Vec<(Box<str>, u64)>,
    /// `connect=` times, ms.
    pub connect: DdSketch,
    /// `service=` times, ms.
    pub service: DdSketch,
    /// Requests per dyno (`web.1`), at most [`MAX_DYNOS`] entries.
    pub dynos: FastMap<Box<str>, u64>,
}

/// Adds `n` under `code`; false when the code is not kept (too long, or the list is full).
fn add_code(codes: &mut Vec<(Box<str>, u64)>, code: &str, n: u64) -> bool {
    if let Some((_, c)) = codes.iter_mut().find(|(k, _)| &**k == code) {
        *c += n;
    } else if codes.len() < MAX_ERROR_CODES && code.len() <= MAX_CODE_BYTES {
        codes.push((code.into(), n));
    } else {
        return false;
    }
    true
}

/// Adds `n` under `status`; false when the status is not kept (outside 100..=599, or the list is full).
fn add_status(list: &mut Vec<(u16, u64)>, status: u16, n: u64) -> bool {
    if let Some((_, c)) = list.iter_mut().find(|(k, _)| *k == status) {
        *c += n;
    } else if list.len() < MAX_STATUSES && (100..=599).contains(&status) {
        list.push((status, n));
    } else {
        return false;
    }
    true
}

/// Adds `n` under `dyno`; false when the dyno is not kept (too long, or the map is full).
fn add_dyno(dynos: &mut FastMap<Box<str>, u64>, dyno: &str, n: u64) -> bool {
    if let Some(c) = dynos.get_mut(dyno) {
        *c += n;
    } else if dynos.len() < MAX_DYNOS && dyno.len() <= MAX_DYNO_BYTES {
        dynos.insert(dyno.into(), n);
    } else {
        return false;
    }
    true
}

impl RouterAgg {
    /// Counts one router line. Returns how many of its keys (status, error code, dyno) were not kept because
    /// of the bounds above; the line itself always counts in the totals.
    pub fn add(&mut self, r: &Router<'_>) -> u32 {
        let mut refused = 0;
        self.requests += 1;
        let status = r.status();
        let class = status
            .map(|s| s / 100)
            .filter(|c| (1..=5).contains(c))
            .unwrap_or(0);
        self.classes[class as usize] += 1;
        if let Some(status) = status {
            refused += u32::from(!add_status(&mut self.statuses, status, 1));
        }
        if r.error() {
            self.errors += 1;
            if let Some(code) = r.code() {
                refused += u32::from(!add_code(&mut self.error_codes, code, 1));
            }
        }
        if let Some(ms) = r.connect_ms() {
            self.connect.add(ms);
        }
        if let Some(ms) = r.service_ms() {
            self.service.add(ms);
        }
        if let Some(dyno) = r.dyno().filter(|d| !d.is_empty()) {
            refused += u32::from(!add_dyno(&mut self.dynos, dyno, 1));
        }
        refused
    }

    /// Approximate heap bytes held (the lists, the dyno map and its keys, the sketches).
    pub fn heap_bytes(&self) -> usize {
        let dyno_keys: usize = self.dynos.keys().map(|k| k.len()).sum();
        let code_keys: usize = self.error_codes.iter().map(|(k, _)| k.len()).sum();
        std::mem::size_of::<RouterAgg>()
            + self.statuses.capacity() * std::mem::size_of::<(u16, u64)>()
            + self.error_codes.capacity() * std::mem::size_of::<(Box<str>, u64)>()
            + code_keys
            + self.dynos.capacity() * (std::mem::size_of::<(Box<str>, u64)>() + 1)
            + dyno_keys
            + self.connect.heap_bytes()
            + self.service.heap_bytes()
    }

    pub fn merge(&mut self, other: &RouterAgg) {
        self.requests += other.requests;
        for (a, b) in self.classes.iter_mut().zip(other.classes) {
            *a += b;
        }
        // Keys the bounds refuse here were counted when their lines were added.
        for (s, n) in &other.statuses {
            add_status(&mut self.statuses, *s, *n);
        }
        self.errors += other.errors;
        for (code, n) in &other.error_codes {
            add_code(&mut self.error_codes, code, *n);
        }
        self.connect.merge(&other.connect);
        self.service.merge(&other.service);
        for (dyno, n) in &other.dynos {
            add_dyno(&mut self.dynos, dyno, *n);
        }
    }

    /// Requests with one exact status.
    pub fn status_count(&self, status: u16) -> u64 {
        self.statuses
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    }

    /// Error lines with one code, or all error lines for `None`.
    pub fn error_count(&self, code: Option<&str>) -> u64 {
        match code {
            None => self.errors,
            Some(code) => self
                .error_codes
                .iter()
                .find(|(k, _)| &**k == code)
                .map_or(0, |(_, n)| *n),
        }
    }

    /// Requests in a status class (1..=5).
    pub fn class_count(&self, class: u8) -> u64 {
        self.classes.get(class as usize).copied().unwrap_or(0)
    }
}

/// Router data plus l2met series: one half of a bucket.
#[derive(Debug, Clone, Default)]
pub struct Aggs {
    pub router: Option<Box<RouterAgg>>,
    pub series: FastMap<SeriesKey, SeriesAgg>,
}

/// What one series entry of a bucket's map costs besides its aggregate's heap: the slot (key pointer and
/// aggregate) plus the map's control byte.
pub const SERIES_ENTRY_BYTES: usize = std::mem::size_of::<(SeriesKey, SeriesAgg)>() + 1;

impl Aggs {
    pub fn is_empty(&self) -> bool {
        self.router.is_none() && self.series.is_empty()
    }

    /// Approximate heap bytes held by this half (the series keys' text is the store's registry's, not counted).
    pub fn heap_bytes(&self) -> usize {
        let router = self.router.as_ref().map_or(0, |r| r.heap_bytes());
        let aggs: usize = self.series.values().map(SeriesAgg::heap_bytes).sum();
        router + self.series.capacity() * SERIES_ENTRY_BYTES + aggs
    }

    pub fn router_mut(&mut self) -> &mut RouterAgg {
        self.router.get_or_insert_with(Box::default)
    }

    /// Merges a series aggregate in under `key`.
    pub fn merge_series(&mut self, key: SeriesKey, agg: SeriesAgg) {
        match self.series.get_mut(&key) {
            Some(existing) => existing.merge(&agg),
            None => {
                self.series.insert(key, agg);
            }
        }
    }
}

/// A time bucket: what was flushed and kept, and what awaits a flush.
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    pub retained: Aggs,
    pub pending: Aggs,
    /// True once any flush has taken this bucket's pending half.
    pub flushed: bool,
}

impl Bucket {
    /// The router data of both halves (a copy only when both have some).
    pub fn router(&self) -> Option<std::borrow::Cow<'_, RouterAgg>> {
        use std::borrow::Cow;
        match (
            self.retained.router.as_deref(),
            self.pending.router.as_deref(),
        ) {
            (None, None) => None,
            (Some(r), None) | (None, Some(r)) => Some(Cow::Borrowed(r)),
            (Some(a), Some(b)) => {
                let mut both = a.clone();
                both.merge(b);
                Some(Cow::Owned(both))
            }
        }
    }

    /// Visits the aggregates of `key` in both halves.
    pub fn series<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a SeriesAgg> + 'a {
        self.retained
            .series
            .get(key)
            .into_iter()
            .chain(self.pending.series.get(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_error_codes_are_capped_but_still_counted_as_errors() {
        let codes: Vec<String> = (0..MAX_ERROR_CODES + 10).map(|i| format!("X{i}")).collect();
        let mut agg = RouterAgg::default();
        let lines: Vec<String> = codes.iter().map(|c| format!("at=error code={c}")).collect();
        for line in &lines {
            agg.add(&Router::from_line(line));
        }
        agg.add(&Router::from_line("at=error code=X0"));
        assert_eq!(agg.errors, codes.len() as u64 + 1);
        assert_eq!(agg.error_codes.len(), MAX_ERROR_CODES);
        assert_eq!(agg.error_count(Some("X0")), 2);
        let mut merged = RouterAgg::default();
        merged.merge(&agg);
        merged.merge(&agg);
        assert_eq!(merged.error_codes.len(), MAX_ERROR_CODES);
        assert_eq!(merged.error_count(Some("X0")), 4);
    }

    fn router(
        status: u16,
        error: Option<&'static str>,
        dyno: &'static str,
        service: f64,
    ) -> Router<'static> {
        let at = match error {
            Some(code) => format!("at=error code={code}"),
            None => "at=info".to_string(),
        };
        let line = format!("{at} dyno={dyno} connect=1ms service={service}ms status={status}");
        // A test's few lines, kept for the test's life.
        Router::from_line(Box::leak(line.into_boxed_str()))
    }

    #[test]
    fn router_counts_by_class_status_code_and_dyno() {
        let mut a = RouterAgg::default();
        a.add(&router(200, None, "web.1", 10.0));
        a.add(&router(204, None, "web.2", 20.0));
        a.add(&router(503, Some("H12"), "web.1", 30000.0));
        let mut b = RouterAgg::default();
        b.add(&router(503, Some("H12"), "web.2", 30000.0));
        b.add(&router(500, None, "web.2", 5.0));
        a.merge(&b);
        assert_eq!(a.requests, 5);
        assert_eq!(a.class_count(2), 2);
        assert_eq!(a.class_count(5), 3);
        assert_eq!(a.status_count(503), 2);
        assert_eq!(a.status_count(404), 0);
        assert_eq!(a.error_count(Some("H12")), 2);
        assert_eq!(a.error_count(None), 2);
        assert_eq!(a.dynos.get("web.2"), Some(&3));
        assert_eq!(a.service.count(), 5);
        assert_eq!(a.service.max(), Some(30000.0));
    }
}
