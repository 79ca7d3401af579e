//! Memory with 10,000 distinct metric names: the store's peak resident size stays far under 100 MB.
//!
//! One test in its own binary so nothing else shares the process. It reads the kernel's high-water mark
//! (`VmHWM` in /proc/self/status, Linux) before and after, and prints the figures.

use drainscale::logplex::{Event, EventKind, Meta, Metric};
use drainscale::window::{EventSink, Store, WindowConfig};

const SEC: i64 = 1_000_000;
const T0: i64 = 1_767_225_600 * SEC;
const BUCKETS: i64 = 12;

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn ten_thousand_names_stay_compact() {
    let Some(before) = status_kib("VmHWM:") else {
        eprintln!("no /proc/self/status: memory not measured on this platform");
        return;
    };
    let names: Vec<String> = (0..10_000)
        .map(|i| format!("app.metric.number_{i:05}"))
        .collect();
    let store = Store::new(WindowConfig {
        keep: vec![names[0].clone(), names[1].clone()],
        ..WindowConfig::default()
    });
    // Two minutes of 10 s buckets. Every name gets 20 values per bucket spread over 1..10000 ms, in bodies of
    // 1000 events; two names are kept for the scaler, the rest export-only (flushed as the outlets would).
    let mut accepted = 0;
    for bucket in 0..BUCKETS {
        let ts = T0 + bucket * 10 * SEC;
        for chunk in names.chunks(50) {
            let mut events = chunk.iter().enumerate().flat_map(|(n, name)| {
                (0..20u64).map(move |k| {
                    let value = ((n as u64 * 7919 + k * 104_729) % 10_000 + 1) as f64;
                    Event {
                        meta: Meta {
                            timestamp: ts + k as i64 * 1000,
                            app: "app",
                            procid: "web.1",
                        },
                        kind: EventKind::Measure(Metric {
                            name,
                            value,
                            unit: "ms",
                            source: Some("web.1"),
                        }),
                    }
                })
            });
            accepted += store.ingest(&mut events, ts + 5 * SEC).accepted;
        }
        let flushed = store.flush(ts + 13 * SEC);
        assert_eq!(flushed.buckets.len(), 1);
        assert_eq!(flushed.buckets[0].series.len(), 10_000);
    }
    assert_eq!(accepted, BUCKETS as u64 * 10_000 * 20);
    let stats = store.stats();
    let after = status_kib("VmHWM:").unwrap_or(before);
    eprintln!(
        "10k names x {BUCKETS} buckets: VmHWM {} KiB -> {} KiB (+{} KiB); series held {}, buckets {}",
        before,
        after,
        after.saturating_sub(before),
        stats.series,
        stats.buckets
    );
    assert!(stats.series <= 10_000);
    assert!(after < 100 * 1024, "peak RSS {after} KiB");
}
