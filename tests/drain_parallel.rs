//! The drain's two ingest places (a logplex batch parsed on its worker, a large body on the parse pool) against
//! a real window store: bodies posted over many connections at once give exactly what the same bodies posted
//! one by one give, and a reader polling the store during ingestion only ever sees whole bodies.

#[path = "support/drain.rs"]
mod support;

use drainscale::drain::{Pages, Server};
use drainscale::window::{FlushedValue, Query, Signal, Store, WindowConfig};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::{config, logs_post, Conn};

/// Events the store accepts from every body: 800 l2met lines of 5 metrics and 500 router lines.
const EVENTS_PER_BODY: u64 = 800 * 5 + 500;
const BODIES: usize = 24;
const CONNECTIONS: usize = 8;

fn frame_at(ts: jiff::Timestamp, app: &str, procid: &str, msg: &str) -> String {
    let ts = format!("{ts:.6}").replace('Z', "+00:00");
    let line = format!("<190>1 {ts} host {app} {procid} - {msg}\n");
    format!("{} {line}", line.len())
}

/// Body `b`: every line has its own microsecond (so the newest sample is the same whatever the order); odd
/// bodies carry ~300 KB of plain lines too, which sends them to the parse pool.
fn body(b: usize, base: jiff::Timestamp) -> String {
    let mut out = String::new();
    let mut rng = fastrand::Rng::with_seed(b as u64);
    for i in 0..1300 {
        let ts = base + jiff::SignedDuration::from_micros((b * 10_000 + i) as i64);
        if i % 13 < 5 {
            let msg = format!(
                "at=info method=GET path=\"/\" host=a.example.com dyno=web.{} connect={}ms service={}ms status={} bytes=10",
                rng.u8(1..4),
                rng.u8(0..5),
                rng.u32(1..900),
                [200, 200, 404, 503][rng.usize(0..4)]
            );
            out.push_str(&frame_at(ts, "heroku", "router", &msg));
        } else {
            let msg = format!(
                "source=web.{} count#atomic=1 count#hits={} measure#lat={:.2}ms sample#mem={}MB unique#user=u{}",
                rng.u8(1..4),
                rng.u8(1..9),
                rng.f64() * 300.0,
                rng.u32(1..512),
                rng.u32(0..2000)
            );
            out.push_str(&frame_at(ts, "app", "web.1", &msg));
        }
    }
    if b % 2 == 1 {
        let pad = "x".repeat(1000);
        for _ in 0..300 {
            out.push_str(&frame_at(base, "app", "web.1", &pad));
        }
    }
    out
}

fn drain(store: &Arc<Store>) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let server = Server::bind(config(), store.clone(), Pages::default()).unwrap();
    let addr = server.local_addr();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async move {
        let _ = rx.await;
    }));
    (addr, tx)
}

async fn post(conn: &mut Conn, b: usize, body: String) {
    let id = format!("frame-{b}");
    let a = conn
        .send(logs_post(&[("logplex-frame-id", id.as_str())]), body)
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
}

fn queries() -> Vec<Query> {
    let q = |signal| Query {
        signal,
        span: Duration::from_secs(60),
    };
    vec![
        q(Signal::RequestRate),
        q(Signal::StatusRate { status: 503 }),
        q(Signal::StatusClassRate { class: 4 }),
        q(Signal::ServiceTime { quantile: 0.95 }),
        q(Signal::ConnectTime { quantile: 0.5 }),
        q(Signal::CountRate {
            name: "atomic".into(),
            source: None,
        }),
        q(Signal::CountRate {
            name: "hits".into(),
            source: Some("web.2".into()),
        }),
        q(Signal::Measure {
            name: "lat".into(),
            quantile: 0.99,
            source: None,
        }),
        q(Signal::Sample {
            name: "mem".into(),
            source: None,
        }),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_bodies_equal_the_same_bodies_one_by_one_and_are_never_seen_in_part() {
    let base = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(5);
    let bodies: Vec<String> = (0..BODIES).map(|b| body(b, base)).collect();
    let cfg = || WindowConfig {
        keep: vec!["atomic".into(), "hits".into(), "lat".into(), "mem".into()],
        ..WindowConfig::default()
    };

    // One by one, on one connection.
    let serial = Arc::new(Store::new(cfg()));
    let (addr, stop_serial) = drain(&serial);
    let mut conn = Conn::open(addr).await;
    for (b, body) in bodies.iter().enumerate() {
        post(&mut conn, b, body.clone()).await;
    }

    // All at once, while a reader polls the store (holding its lock often) and checks it only ever sees
    // whole bodies.
    let parallel = Arc::new(Store::new(cfg()));
    let (addr, stop_parallel) = drain(&parallel);
    let done = Arc::new(AtomicBool::new(false));
    let (partial, polls) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let reader = {
        let (store, done, partial, polls) = (
            parallel.clone(),
            done.clone(),
            partial.clone(),
            polls.clone(),
        );
        std::thread::spawn(move || {
            let queries = queries();
            while !done.load(Ordering::SeqCst) {
                let accepted = store.stats().ingest.accepted;
                if accepted % EVENTS_PER_BODY != 0 {
                    partial.fetch_add(1, Ordering::SeqCst);
                }
                for q in &queries {
                    std::hint::black_box(store.read_at(q, drainscale::window::store::now_micros()));
                }
                polls.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let mine: Vec<(usize, String)> = bodies
            .iter()
            .enumerate()
            .filter(|(b, _)| b % CONNECTIONS == c)
            .map(|(b, body)| (b, body.clone()))
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            for (b, body) in mine {
                post(&mut conn, b, body).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    reader.join().unwrap();
    let _ = (stop_serial.send(()), stop_parallel.send(()));

    assert!(polls.load(Ordering::SeqCst) > 0);
    assert_eq!(
        partial.load(Ordering::SeqCst),
        0,
        "a reader saw part of a body"
    );
    let (s, p) = (serial.stats(), parallel.stats());
    assert_eq!(s.ingest.accepted, EVENTS_PER_BODY * BODIES as u64);
    assert_eq!(p.ingest, s.ingest);
    let now = drainscale::window::store::now_micros();
    for q in queries() {
        let (a, b) = (
            serial.read_at(&q, now).value,
            parallel.read_at(&q, now).value,
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        // Counts and sums are exact; a sketch's bins do not depend on the order values arrive in.
        assert!(
            (a - b).abs() <= 1e-9 * a.abs().max(1.0),
            "{q:?}: {a} vs {b}"
        );
    }
    // The exports agree too: every series of every bucket.
    let (a, b) = (serial.flush_all(now), parallel.flush_all(now));
    // Sums of floats are compared to 12 significant digits (the order of the additions differs).
    let flat = |s: &drainscale::window::Snapshot| {
        let mut v: Vec<String> = s
            .series()
            .map(|(t, x)| {
                let value = match &x.value {
                    FlushedValue::Measure(m) => m
                        .fields()
                        .iter()
                        .map(|(k, f)| format!("{k}={f:.11e}"))
                        .collect::<Vec<_>>()
                        .join(","),
                    FlushedValue::Count(f) | FlushedValue::Sample(f) => format!("{f:.11e}"),
                    FlushedValue::Unique(n) => n.to_string(),
                };
                format!("{t} {} {:?} {value}", x.name, x.source)
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(flat(&a), flat(&b));
    assert!(!flat(&a).is_empty());
}
