//! Memory with 10,000 distinct metric names in every bucket of the 10-minute retention, nothing flushed: the
//! store's peak resident size stays under 100 MB.
//!
//! The worst case of the default config for a metric reported about once per bucket per name (e.g. a periodic
//! job's timing): 57 buckets x 10,000 series held at once, because no outlet flushed them. One test in its own
//! binary so nothing else shares the process; it reads the kernel's high-water mark (`VmHWM`, Linux).

use drainscale::logplex::{Event, EventKind, Meta, Metric};
use drainscale::window::{EventSink, Query, Signal, Store, WindowConfig};
use std::time::Duration;

const SEC: i64 = 1_000_000;
const T0: i64 = 1_767_225_600 * SEC;
/// 570 s of the default 600 s retention at 10 s.
const BUCKETS: i64 = 57;

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn ten_thousand_names_in_every_bucket_of_the_retention() {
    let Some(before) = status_kib("VmHWM:") else {
        eprintln!("no /proc/self/status: memory not measured on this platform");
        return;
    };
    let names: Vec<String> = (0..10_000).map(|i| format!("metric.{i:05}")).collect();
    let store = Store::new(WindowConfig::default());
    let now = T0 + BUCKETS * 10 * SEC;
    let mut accepted = 0;
    for bucket in 0..BUCKETS {
        let ts = T0 + bucket * 10 * SEC;
        for chunk in names.chunks(500) {
            let mut events = chunk.iter().enumerate().map(|(n, name)| Event {
                meta: Meta {
                    timestamp: ts,
                    app: "app",
                    procid: "web.1",
                },
                kind: EventKind::Measure(Metric {
                    name,
                    value: (n % 97) as f64 + bucket as f64,
                    unit: "ms",
                    source: Some("web.1"),
                }),
            });
            accepted += store.ingest(&mut events, now).accepted;
        }
    }
    assert_eq!(accepted, BUCKETS as u64 * 10_000);
    let stats = store.stats();
    assert_eq!((stats.series, stats.buckets), (10_000, BUCKETS as usize));
    // Every bucket still answers: the median of one name over the whole retention.
    let median = store
        .read_at(
            &Query {
                signal: Signal::Measure {
                    name: names[3].clone(),
                    quantile: 0.5,
                    source: Some("web.1".into()),
                },
                span: Duration::from_secs(600),
            },
            now,
        )
        .value
        .unwrap();
    // Values 3..=59 over the buckets: the median is 31, within the sketch's 1%.
    assert!((median - 31.0).abs() <= 0.31 + 1e-9, "median {median}");
    let after = status_kib("VmHWM:").unwrap_or(before);
    eprintln!(
        "10k names x {BUCKETS} buckets, unflushed: VmHWM {before} KiB -> {after} KiB (+{} KiB)",
        after.saturating_sub(before)
    );
    assert!(after < 100 * 1024, "peak RSS {after} KiB");
    // The store's own accounting (what `windows.max_bytes` bounds) must not grossly underestimate what it holds:
    // at least 60% of the growth in resident memory (the rest is the allocator's and the maps' slack).
    let held = store.stats().bytes as u64 / 1024;
    let grown = after.saturating_sub(before);
    eprintln!("accounted {held} KiB of {grown} KiB grown");
    assert!(
        held * 10 >= grown * 6,
        "accounted {held} KiB, grown {grown} KiB"
    );
    assert!(
        held < 96 * 1024,
        "the default budget holds this case: {held} KiB"
    );
}
