//! Parsing a taken body and handing its events to the sink. Parsing happens here, outside the sink, so that
//! bodies on different connections parse in parallel even when the sink holds one lock while it ingests.
//! It does no HTTP and no counting of its own: the caller records the figures it returns.

use crate::logplex::{parse_body, Event, ParseStats};
use crate::window::{EventSink, IngestCounts};
use std::time::{Duration, Instant};

/// Events handed to the sink per call: a ~100 KB logplex batch (~500 lines) is one call; an 8 MiB body is a
/// handful, which bounds the parsed-events buffer to a few hundred KB.
const CHUNK: usize = 4096;

/// What one body gave.
pub struct Ingested {
    pub parse: ParseStats,
    pub counts: IngestCounts,
    pub parse_time: Duration,
    pub ingest_time: Duration,
}

/// Parses `body` in chunks of events and ingests each chunk with `now` (Unix µs).
pub fn parse_and_ingest(sink: &dyn EventSink, body: &[u8], now: i64) -> Ingested {
    let mut events = parse_body(body);
    let mut chunk: Vec<Event<'_>> = Vec::with_capacity(CHUNK.min(body.len() / 64 + 1));
    let mut counts = IngestCounts::default();
    let (mut parse_time, mut ingest_time) = (Duration::ZERO, Duration::ZERO);
    loop {
        let t = Instant::now();
        events.take_into(CHUNK, |event| chunk.push(event));
        parse_time += t.elapsed();
        if chunk.is_empty() {
            break;
        }
        let t = Instant::now();
        let c = sink.ingest(&mut chunk.drain(..), now);
        ingest_time += t.elapsed();
        counts.add(&c);
    }
    Ingested {
        parse: events.stats().clone(),
        counts,
        parse_time,
        ingest_time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Calls(Mutex<Vec<usize>>);

    impl EventSink for Calls {
        fn ingest(&self, events: &mut dyn Iterator<Item = Event<'_>>, _now: i64) -> IngestCounts {
            let n = events.count();
            self.0.lock().unwrap().push(n);
            IngestCounts {
                accepted: n as u64,
                ..Default::default()
            }
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
    fn one_call_for_a_normal_body_chunks_for_a_huge_one() {
        let sink = Calls(Mutex::new(vec![]));
        let got = parse_and_ingest(&sink, &body(500), 0);
        assert_eq!(
            (got.parse.frames, got.parse.events, got.counts.accepted),
            (500, 500, 500)
        );
        assert_eq!(*sink.0.lock().unwrap(), [500]);

        let sink = Calls(Mutex::new(vec![]));
        let got = parse_and_ingest(&sink, &body(CHUNK * 2 + 1), 0);
        assert_eq!(got.counts.accepted, (CHUNK * 2 + 1) as u64);
        assert_eq!(*sink.0.lock().unwrap(), [CHUNK, CHUNK, 1]);

        let sink = Calls(Mutex::new(vec![]));
        let got = parse_and_ingest(&sink, b"", 0);
        assert_eq!(got.parse.frames, 0);
        assert!(sink.0.lock().unwrap().is_empty());
    }
}
