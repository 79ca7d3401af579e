//! Fuzz target: the whole body parser (frames, header, logfmt, router, l2met, L10) on any bytes. Counts must
//! agree with what the iterator yielded; nothing may panic.
#![no_main]

use drainscale::logplex::{parse_body, EventKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let mut events = parse_body(body);
    let mut n = 0u64;
    for event in events.by_ref() {
        n += 1;
        if let EventKind::Measure(m) | EventKind::Count(m) | EventKind::Sample(m) = event.kind {
            assert!(m.value.is_finite());
        }
    }
    let stats = events.stats();
    assert_eq!(stats.events, n);
    assert!(stats.bad_total() <= stats.frames);
});
