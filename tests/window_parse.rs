//! Real drain bodies through the real parser into the window store: a hand-written body with known answers,
//! and generated traffic cross-checked against the parsed events counted independently.

use drainscale::logplex::corpus::Corpus;
use drainscale::logplex::{parse_body, EventKind};
use drainscale::window::{EventSink, FlushedValue, Query, Signal, Store, WindowConfig};
use std::time::Duration;

fn frame(ts: &str, app: &str, procid: &str, msg: &str) -> String {
    let f = format!("<158>1 {ts} host {app} {procid} - {msg}\n");
    format!("{} {f}", f.len())
}

const NOW: i64 = 1_767_225_660 * 1_000_000; // 2026-01-01T00:01:00Z

#[test]
fn a_hand_written_body_reads_back_exactly() {
    let mut body = String::new();
    for (i, status) in [200, 200, 200, 503, 404].iter().enumerate() {
        let code = if *status == 503 {
            "at=error code=H12 desc=\"Request timeout\""
        } else {
            "at=info"
        };
        body += &frame(
            &format!("2026-01-01T00:00:0{i}.000000+00:00"),
            "heroku",
            "router",
            &format!(
                "{code} method=GET path=\"/\" host=a.herokuapp.com request_id=r{i} fwd=\"1.2.3.4\" dyno=web.{} \
                 connect=1ms service={}ms status={status} bytes=10 protocol=https",
                i % 2 + 1,
                (i + 1) * 100
            ),
        );
    }
    body += &frame(
        "2026-01-01T00:00:10.5+00:00",
        "app",
        "web.1",
        "source=web.1 measure#db.query=12.5ms count#jobs=3",
    );
    body += &frame(
        "2026-01-01T00:00:11+00:00",
        "app",
        "web.1",
        "source=web.1 measure#db.query=-2ms sample#mem=21MB",
    );
    body += &frame(
        "2026-01-01T00:00:12Z",
        "heroku",
        "logplex",
        "Error L10 (output buffer overflow): 7 messages dropped since 2026-01-01T00:00:00+00:00.",
    );

    let store = Store::new(WindowConfig::default());
    let mut events = parse_body(body.as_bytes());
    let counts = store.ingest(&mut events, NOW);
    assert_eq!(counts.accepted, 5 + 4);
    assert_eq!(store.stats().logplex_dropped, 7);

    let read = |signal: Signal| {
        store
            .read_at(
                &Query {
                    signal,
                    span: Duration::from_secs(60),
                },
                NOW,
            )
            .value
    };
    assert_eq!(read(Signal::RequestRate), Some(5.0 / 60.0));
    assert_eq!(read(Signal::StatusClassRate { class: 2 }), Some(3.0 / 60.0));
    assert_eq!(
        read(Signal::ErrorRate {
            code: Some("H12".into())
        }),
        Some(1.0 / 60.0)
    );
    assert_eq!(read(Signal::ServiceTime { quantile: 1.0 }), Some(500.0));
    assert_eq!(read(Signal::ServiceTime { quantile: 0.0 }), Some(100.0));
    assert_eq!(
        read(Signal::CountRate {
            name: "jobs".into(),
            source: Some("web.1".into())
        }),
        Some(3.0 / 60.0)
    );
    assert_eq!(
        read(Signal::Sample {
            name: "mem".into(),
            source: None
        }),
        Some(21.0)
    );
    let min = read(Signal::Measure {
        name: "db.query".into(),
        quantile: 0.0,
        source: None,
    });
    assert_eq!(min, Some(-2.0), "negative measures are kept");

    let snapshot = store.flush_all(NOW);
    let dyno = |d: &str| {
        snapshot
            .series()
            .find(|(_, s)| s.name == "router.dyno.requests" && s.source.as_deref() == Some(d))
            .map(|(_, s)| s.value.clone())
    };
    assert_eq!(dyno("web.1"), Some(FlushedValue::Count(3.0)));
    assert_eq!(dyno("web.2"), Some(FlushedValue::Count(2.0)));
}

#[test]
fn generated_traffic_matches_the_parsed_events() {
    let mut corpus = Corpus::new(42);
    let bodies: Vec<Vec<u8>> = (0..30).map(|_| corpus.body(100_000).bytes).collect();
    // Independent tally straight from the parser.
    let mut routers = 0u64;
    let mut service: Vec<f64> = Vec::new();
    let mut last_ts = 0;
    for body in &bodies {
        for event in parse_body(body) {
            last_ts = last_ts.max(event.meta.timestamp);
            if let EventKind::Router(r) = event.kind {
                routers += 1;
                service.extend(r.service_ms());
            }
        }
    }
    assert!(routers > 1000, "the corpus has router traffic ({routers})");
    let now = last_ts + 1_000_000;
    let store = Store::new(WindowConfig {
        retention: Duration::from_secs(3600),
        ..WindowConfig::default()
    });
    for body in &bodies {
        store.ingest(&mut parse_body(body), now);
    }
    let snapshot = store.flush_all(now);
    let total: f64 = snapshot
        .series()
        .filter(|(_, s)| s.name == "router.requests")
        .map(|(_, s)| match s.value {
            FlushedValue::Count(n) => n,
            _ => 0.0,
        })
        .sum();
    assert_eq!(total, routers as f64);

    service.sort_by(f64::total_cmp);
    let span = Duration::from_micros((now - 1_704_067_200_000_000) as u64 + 10_000_000);
    for q in [0.5, 0.95, 0.99] {
        let want = service[(q * (service.len() - 1) as f64).floor() as usize];
        let got = store
            .read_at(
                &Query {
                    signal: Signal::ServiceTime { quantile: q },
                    span,
                },
                now,
            )
            .value
            .unwrap();
        assert!(
            (got - want).abs() <= want.abs() * 0.01 + 1e-9,
            "q{q}: sketch {got}, exact {want}"
        );
    }
}
