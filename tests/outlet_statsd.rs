//! The statsd outlet end to end: a window store, the flush task and a real UDP listener on 127.0.0.1 that
//! records every line it receives.

#[path = "support/events.rs"]
mod events;
use events::{count, measure, now_micros};

use drainscale::logplex::{Event, EventKind, Meta, Router};
use drainscale::outlet::statsd::{StatsdOutlet, StatsdStats};
use drainscale::outlet::{
    OutletConfig, Outlets, PrometheusConfig, StatGauge, StatsdConfig, TagStyle,
};
use drainscale::window::{
    EventSink, FlushedBucket, FlushedSeries, FlushedValue, MeasureStats, Snapshot, Store,
    WindowConfig,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

fn router(ts: i64, status: u16) -> Event<'static> {
    Event {
        meta: Meta {
            timestamp: ts,
            app: "heroku",
            procid: "router",
        },
        // A few lines per test, kept for its life.
        kind: EventKind::Router(Router::from_line(Box::leak(
            format!("at=info service=12ms status={status}").into_boxed_str(),
        ))),
    }
}

/// Lines received, keyed by `name|type[|#tags]`, values in arrival order.
type Received = HashMap<String, Vec<f64>>;

fn parse_line(line: &str, into: &mut Received) {
    let Some((name, rest)) = line.split_once(':') else {
        return;
    };
    let mut parts = rest.split('|');
    let value: f64 = parts.next().unwrap().parse().unwrap();
    let kind = parts.next().unwrap();
    let key = match parts.next() {
        Some(tags) => format!("{name}|{kind}|{tags}"),
        None => format!("{name}|{kind}"),
    };
    into.entry(key).or_default().push(value);
}

/// Receives until `done` holds or 20 s pass.
async fn receive_until(
    socket: &UdpSocket,
    received: &mut Received,
    done: impl Fn(&Received) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = vec![0u8; 65536];
    while !done(received) && Instant::now() < deadline {
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(200), socket.recv(&mut buf)).await
        {
            for line in std::str::from_utf8(&buf[..n]).unwrap().lines() {
                parse_line(line, received);
            }
        }
    }
}

fn config(port: u16, tags: TagStyle) -> OutletConfig {
    OutletConfig {
        flush_interval: Duration::from_millis(100),
        statsd: Some(StatsdConfig {
            address: format!("127.0.0.1:{port}"),
            tags,
            ..StatsdConfig::default()
        }),
        prometheus: PrometheusConfig {
            enabled: false,
            ..PrometheusConfig::default()
        },
        ..OutletConfig::default()
    }
}

fn within_one_percent(got: f64, want: f64) -> bool {
    (got - want).abs() <= want.abs() * 0.01 + 1e-9
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushed_windows_arrive_as_counters_and_gauges() {
    let listener = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // A wide bucket so every event below lands in one; shutdown flushes it.
    let store = Arc::new(Store::new(WindowConfig {
        resolution: Duration::from_secs(600),
        ..WindowConfig::default()
    }));
    let handle = Outlets::start(&config(port, TagStyle::None), store.clone()).unwrap();
    let ts = now_micros();
    let mut events: Vec<_> = (1..=1000)
        .map(|i| measure(ts, "db.query", i as f64, Some("web.1")))
        .collect();
    events.push(count(ts, "jobs", 7.0));
    events.push(count(ts, "jobs", 5.0));
    events.extend((0..30).map(|_| router(ts, 200)));
    events.extend((0..3).map(|_| router(ts, 503)));
    let counts = store.ingest(&mut events.into_iter(), ts);
    assert_eq!(counts.accepted, 1035);
    let stats = handle.shutdown().await;
    assert_eq!(stats.statsd.unwrap().dropped, 0);

    let mut got = Received::new();
    receive_until(&listener, &mut got, |r| {
        r.contains_key("drainscale.db.query.web.1.p99|g")
            && r.contains_key("drainscale.router.status.5xx|c")
    })
    .await;
    let one = |key: &str| -> f64 {
        let v = got
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {:?}", got.keys().collect::<Vec<_>>()));
        assert_eq!(v.len(), 1, "{key} sent {} times", v.len());
        v[0]
    };
    assert_eq!(one("drainscale.db.query.web.1.count|c"), 1000.0);
    assert_eq!(one("drainscale.db.query.web.1.sum|g"), 500_500.0);
    assert_eq!(one("drainscale.db.query.web.1.min|g"), 1.0);
    assert_eq!(one("drainscale.db.query.web.1.max|g"), 1000.0);
    assert_eq!(one("drainscale.db.query.web.1.mean|g"), 500.5);
    assert!(within_one_percent(
        one("drainscale.db.query.web.1.median|g"),
        500.0
    ));
    assert!(within_one_percent(
        one("drainscale.db.query.web.1.p95|g"),
        950.0
    ));
    assert!(within_one_percent(
        one("drainscale.db.query.web.1.p99|g"),
        990.0
    ));
    assert_eq!(one("drainscale.jobs|c"), 12.0);
    assert_eq!(one("drainscale.router.requests|c"), 33.0);
    assert_eq!(one("drainscale.router.status.2xx|c"), 30.0);
    assert_eq!(one("drainscale.router.status.503|c"), 3.0);
    assert_eq!(one("drainscale.router.status.5xx|c"), 3.0);
    assert!(within_one_percent(
        one("drainscale.router.service.p95|g"),
        12.0
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dogstatsd_tags_carry_the_source_and_closed_buckets_flush_on_the_tick() {
    let listener = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let store = Arc::new(Store::new(WindowConfig {
        resolution: Duration::from_secs(1),
        grace: Duration::ZERO,
        ..WindowConfig::default()
    }));
    let handle = Outlets::start(&config(port, TagStyle::Dogstatsd), store.clone()).unwrap();
    // Two seconds ago: the bucket is already closed, so the periodic flush (not shutdown) sends it.
    let ts = now_micros() - 2_000_000;
    let events = vec![
        measure(ts, "queue_time", 4.0, Some("web.2")),
        measure(ts, "queue_time", 6.0, Some("web.2")),
    ];
    store.ingest(&mut events.into_iter(), now_micros());
    handle.gauges(&[StatGauge {
        name: "dynosaur.app.web.combined.estimate".into(),
        source: Some("web".into()),
        value: 3.0,
    }]);

    let mut got = Received::new();
    receive_until(&listener, &mut got, |r| {
        r.contains_key("drainscale.queue_time.max|g|#source:web.2")
            && r.contains_key("dynosaur.app.web.combined.estimate|g|#source:web")
    })
    .await;
    assert_eq!(
        got.get("drainscale.queue_time.count|c|#source:web.2"),
        Some(&vec![2.0])
    );
    assert_eq!(
        got.get("drainscale.queue_time.max|g|#source:web.2"),
        Some(&vec![6.0])
    );
    assert_eq!(
        got.get("dynosaur.app.web.combined.estimate|g|#source:web"),
        Some(&vec![3.0])
    );
    assert!(handle.stats().flushes >= 1);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statsd_nobody_listens_to_never_blocks_the_flush() {
    // Bind then drop a socket: its port is (very likely) closed, so datagrams are refused.
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let store = Arc::new(Store::new(WindowConfig::default()));
    let handle = Outlets::start(&config(port, TagStyle::None), store.clone()).unwrap();
    let ts = now_micros();
    let events: Vec<_> = (0..5000)
        .map(|i| measure(ts, "x", i as f64, None))
        .collect();
    store.ingest(&mut events.into_iter(), ts);
    let stats = tokio::time::timeout(Duration::from_secs(20), handle.shutdown())
        .await
        .unwrap();
    assert!(stats.flushes >= 1);
    let st = stats.statsd.unwrap();
    assert_eq!(st.queued, 8, "one measure series: {st:?}");
    assert_eq!(st.queued, st.sent + st.send_failed + st.unsent, "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_refused_by_the_network_are_counted_as_failed() {
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let outlet = StatsdOutlet::new(&StatsdConfig {
        address: format!("127.0.0.1:{port}"),
        max_lines_per_second: 0,
        ..StatsdConfig::default()
    })
    .unwrap();
    outlet.send_snapshot(&flood(2_000, 8));
    outlet.shutdown(Duration::from_secs(20)).await;
    let st = outlet.stats();
    assert_eq!((st.queued, st.dropped), (16_000, 0), "{st:?}");
    assert_eq!(st.queued, st.sent + st.send_failed + st.unsent, "{st:?}");
    // The connected socket hears the port unreachable answer to one datagram as the next send's error.
    assert!(st.send_failed > 0, "{st:?}");
}

/// A loopback UDP receiver with a large receive buffer, on its own thread, counting lines and datagrams.
struct Receiver {
    port: u16,
    lines: Arc<std::sync::atomic::AtomicU64>,
    datagrams: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start() -> Receiver {
        use socket2::{Domain, Protocol, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        // The kernel caps this at net.core.rmem_max; what a paced sender needs is far less.
        socket.set_recv_buffer_size(32 << 20).unwrap();
        let addr: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        socket.bind(&addr.into()).unwrap();
        let socket: std::net::UdpSocket = socket.into();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let lines = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let datagrams = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (lines, datagrams, stop) = (lines.clone(), datagrams.clone(), stop.clone());
            move || {
                let mut buf = vec![0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(n) = socket.recv(&mut buf) {
                        let n_lines = buf[..n].split(|b| *b == b'\n').count() as u64;
                        lines.fetch_add(n_lines, Ordering::Relaxed);
                        datagrams.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        Receiver {
            port,
            lines,
            datagrams,
            stop,
            thread: Some(thread),
        }
    }

    /// (lines, datagrams) once `lines` reach `want` (or 20 s pass), then stops.
    fn finish(mut self, want: u64) -> (u64, u64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.lines.load(Ordering::Relaxed) < want && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Anything more than `want` would still be counted: give it a last read timeout to show up.
        std::thread::sleep(Duration::from_millis(200));
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        (
            self.lines.load(Ordering::Relaxed),
            self.datagrams.load(Ordering::Relaxed),
        )
    }
}

/// One bucket of `n` measure series named `<name_len x 'n'>.<i>`: 8 statsd lines each, all values positive.
fn flood(n: usize, name_len: usize) -> Snapshot {
    let stem = "n".repeat(name_len);
    let series = (0..n)
        .map(|i| FlushedSeries {
            name: format!("{stem}.{i}"),
            source: None,
            value: FlushedValue::Measure(MeasureStats {
                count: 3,
                sum: 6.0,
                min: 1.0,
                max: 3.0,
                mean: 2.0,
                median: 2.0,
                p95: 3.0,
                p99: 3.0,
            }),
        })
        .collect();
    Snapshot {
        resolution: Duration::from_secs(10),
        buckets: vec![FlushedBucket {
            start: now_micros(),
            late: false,
            series,
        }],
    }
}

/// After shutdown: every line produced is dropped, skipped, or queued and then sent, failed or unsent; the
/// receiver got exactly what was sent.
fn assert_every_line_counted(st: &StatsdStats, produced: u64, received: (u64, u64)) {
    eprintln!("produced {produced}, received {received:?}: {st:?}");
    assert_eq!(st.queued + st.dropped + st.skipped, produced, "{st:?}");
    assert_eq!(st.queued, st.sent + st.send_failed + st.unsent, "{st:?}");
    assert_eq!((st.pending, st.pending_bytes), (0, 0), "{st:?}");
    assert_eq!(
        received,
        (st.sent, st.datagrams),
        "received (lines, datagrams) vs sent: {st:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_flush_is_held_within_the_queue_paced_and_every_line_counted() {
    let receiver = Receiver::start();
    let queue_size = 50_000;
    let outlet = StatsdOutlet::new(&StatsdConfig {
        address: format!("127.0.0.1:{}", receiver.port),
        queue_size,
        ..StatsdConfig::default()
    })
    .unwrap();
    let series = 150_000;
    outlet.send_snapshot(&flood(series, 8));
    let produced = series as u64 * 8;
    // The flush returned having queued at most the bound (plus one datagram in the sender's hands).
    let during = outlet.stats();
    assert!(
        during.pending <= queue_size as u64 + 300,
        "held {} lines: {during:?}",
        during.pending
    );
    assert!(during.pending_bytes <= 8 << 20);
    assert!(
        during.dropped > 0,
        "1.2 M lines cannot pass a 50,000-line queue paced at 20,000 lines/s: {during:?}"
    );
    // A shutdown deadline shorter than what is left to send at the pace: the rest is counted unsent.
    outlet.shutdown(Duration::from_secs(1)).await;
    let st = outlet.stats();
    assert!(st.unsent > 0, "{st:?}");
    assert!(st.sent > 0, "{st:?}");
    let received = receiver.finish(st.sent);
    assert_every_line_counted(&st, produced, received);
    // Lines after shutdown are refused and counted too.
    outlet.send_gauges(&[StatGauge::new("late.gauge", 1.0)]);
    assert_eq!(outlet.stats().dropped, st.dropped + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lines_are_held_within_the_byte_bound() {
    let receiver = Receiver::start();
    let queue_bytes = 100_000;
    let outlet = StatsdOutlet::new(&StatsdConfig {
        address: format!("127.0.0.1:{}", receiver.port),
        queue_size: 1_000_000,
        queue_bytes,
        max_lines_per_second: 2_000,
        ..StatsdConfig::default()
    })
    .unwrap();
    // 2,000 series x 8 lines of ~230 bytes: 3.7 MB produced at once.
    let series = 2_000;
    outlet.send_snapshot(&flood(series, 200));
    let during = outlet.stats();
    assert!(during.pending_bytes <= queue_bytes as u64, "{during:?}");
    assert!(during.pending < 500, "{during:?}");
    assert!(during.dropped > 0, "{during:?}");
    outlet.shutdown(Duration::from_millis(200)).await;
    let st = outlet.stats();
    let received = receiver.finish(st.sent);
    assert_every_line_counted(&st, series as u64 * 8, received);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_keeps_to_its_line_budget() {
    let receiver = Receiver::start();
    let budget = 5_000u64;
    let outlet = StatsdOutlet::new(&StatsdConfig {
        address: format!("127.0.0.1:{}", receiver.port),
        max_lines_per_second: budget,
        ..StatsdConfig::default()
    })
    .unwrap();
    let started = Instant::now();
    outlet.send_snapshot(&flood(2_500, 8));
    outlet.shutdown(Duration::from_millis(500)).await;
    // However slow this machine is, the sender can only have sent less: the bound is on lines per elapsed
    // time (plus its 10 ms of catch-up credit and one datagram), never on how long anything took.
    let elapsed = started.elapsed().as_secs_f64();
    let st = outlet.stats();
    let bound = (budget as f64 * (elapsed + 0.010)) as u64 + 100;
    assert!(
        st.sent <= bound,
        "sent {} lines in {elapsed:.3} s against a budget of {budget}/s: {st:?}",
        st.sent
    );
    assert!(st.sent > 0 && st.unsent > 0, "{st:?}");
    let received = receiver.finish(st.sent);
    assert_every_line_counted(&st, 20_000, received);
}
