//! Parsing a taken body and handing its events to the sink, in one of two places. A body of up to
//! [`INLINE_MAX_BYTES`] is parsed on the worker it arrived on and offered to the sink without waiting
//! ([`try_inline`]); a larger one, or one whose sink was busy, is parsed on the drain's parse pool, where the
//! sink may wait ([`parse_and_ingest`]). Either way the sink takes a body in one call, so a reader never sees
//! part of it. It does no HTTP and no counting of its own: the caller records the figures it returns.

use crate::logplex::{parse_body, Event, Events, ParseStats};
use crate::window::{EventSink, IngestCounts};
use std::time::{Duration, Instant};

/// Largest decoded body parsed on its worker: a logplex batch (~100 KB, ~500 lines) takes well under a
/// millisecond there; anything larger would hold the worker's other connections back, so it goes to the pool.
pub const INLINE_MAX_BYTES: usize = 256 << 10;

/// Events parsed ahead of the sink on the pool: an 8 MiB body is parsed in a few hundred KB of events at a time.
const CHUNK: usize = 4096;

/// What one body gave.
pub struct Ingested {
    pub parse: ParseStats,
    pub counts: IngestCounts,
    pub parse_time: Duration,
    pub ingest_time: Duration,
}

/// Parses `body` whole and offers its events to the sink without waiting. `None` when the sink would have had
/// to wait (it took nothing): the caller then hands the body to the pool.
pub fn try_inline(sink: &dyn EventSink, body: &[u8], now: i64) -> Option<Ingested> {
    let t = Instant::now();
    let mut events = parse_body(body);
    let mut parsed: Vec<Event<'_>> = Vec::with_capacity(body.len() / 128 + 1);
    events.take_into(usize::MAX, |event| parsed.push(event));
    let parse_time = t.elapsed();
    let t = Instant::now();
    let counts = sink.try_ingest(&parsed, now)?;
    Some(Ingested {
        parse: events.stats().clone(),
        counts,
        parse_time,
        ingest_time: t.elapsed(),
    })
}

/// Parses `body` and ingests it in one call to the sink, which may wait. For the pool, never a worker.
pub fn parse_and_ingest(sink: &dyn EventSink, body: &[u8], now: i64) -> Ingested {
    let mut timed = Timed {
        events: parse_body(body),
        chunk: Vec::with_capacity(CHUNK.min(body.len() / 64 + 1)),
        at: 0,
        parse_time: Duration::ZERO,
    };
    let t = Instant::now();
    let counts = sink.ingest(&mut timed, now);
    let total = t.elapsed();
    Ingested {
        parse: timed.events.stats().clone(),
        counts,
        parse_time: timed.parse_time,
        ingest_time: total.saturating_sub(timed.parse_time),
    }
}

/// The body's events, parsed a chunk at a time as the sink asks for them, with the time spent parsing.
struct Timed<'a> {
    events: Events<'a>,
    chunk: Vec<Event<'a>>,
    at: usize,
    parse_time: Duration,
}

impl<'a> Iterator for Timed<'a> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        if self.at == self.chunk.len() {
            self.chunk.clear();
            self.at = 0;
            let t = Instant::now();
            let chunk = &mut self.chunk;
            self.events.take_into(CHUNK, |event| chunk.push(event));
            self.parse_time += t.elapsed();
        }
        let event = self.chunk.get(self.at).copied();
        self.at += 1;
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Counts the events of each call; `busy` makes `try_ingest` refuse.
    struct Calls {
        calls: Mutex<Vec<usize>>,
        busy: bool,
    }

    impl Calls {
        fn new(busy: bool) -> Calls {
            Calls {
                calls: Mutex::new(vec![]),
                busy,
            }
        }
        fn take(&self, n: usize) -> IngestCounts {
            self.calls.lock().unwrap().push(n);
            IngestCounts {
                accepted: n as u64,
                ..Default::default()
            }
        }
    }

    impl EventSink for Calls {
        fn ingest(&self, events: &mut dyn Iterator<Item = Event<'_>>, _now: i64) -> IngestCounts {
            let n = events.count();
            self.take(n)
        }
        fn try_ingest(&self, events: &[Event<'_>], _now: i64) -> Option<IngestCounts> {
            (!self.busy).then(|| self.take(events.len()))
        }
    }

    fn body(lines: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..lines {
            let line =
                format!("<190>1 2024-01-01T00:00:00.000000+00:00 host app web.1 - count#n={i}\n");
            out.extend(format!("{} {line}", line.len()).into_bytes());
        }
        out
    }

    #[test]
    fn a_body_is_one_call_to_the_sink_however_large() {
        let sink = Calls::new(false);
        let got = parse_and_ingest(&sink, &body(500), 0);
        assert_eq!(
            (got.parse.frames, got.parse.events, got.counts.accepted),
            (500, 500, 500)
        );
        let got = parse_and_ingest(&sink, &body(CHUNK * 2 + 1), 0);
        assert_eq!(got.counts.accepted, (CHUNK * 2 + 1) as u64);
        let got = parse_and_ingest(&sink, b"", 0);
        assert_eq!(got.parse.frames, 0);
        assert_eq!(*sink.calls.lock().unwrap(), [500, CHUNK * 2 + 1, 0]);
    }

    #[test]
    fn inline_takes_the_whole_body_or_nothing() {
        let sink = Calls::new(false);
        let got = try_inline(&sink, &body(300), 0).map(|g| (g.parse.events, g.counts.accepted));
        assert_eq!(got, Some((300, 300)));
        let busy = Calls::new(true);
        assert!(try_inline(&busy, &body(300), 0).is_none());
        assert!(busy.calls.lock().unwrap().is_empty());
    }
}
