//! Hostile connections over real sockets: idle connections from one peer, slowly dribbled bodies, malformed and
//! cut-off bodies, bodies over the byte budgets, a huge Basic user name, scrapes while a page renders, and the
//! binary's `/status` and `/ping` without a scaler. Each test asserts the bound (counters, gauges) and that a
//! normal request is answered meanwhile, by ordering, never by timing.

#[path = "support/drain.rs"]
mod support;

use drainscale::drain::{MetricsPage, Pages};
use hyper::{Request, StatusCode};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// Reads until the server closes the connection (or 20 s pass, which fails the test): everything it sent.
async fn read_to_close(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let read = async {
        let mut chunk = [0u8; 4096];
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("the server did not close the connection");
    String::from_utf8_lossy(&buf).into_owned()
}

/// True while the server has neither answered nor closed `s`.
fn still_open_and_unanswered(s: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(s.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// A POST head with credentials and a Content-Length, as a dribbler sends it.
fn post_head(content_length: usize, extra: &str) -> String {
    format!(
        "POST /logs HTTP/1.1\r\nhost: x\r\nauthorization: {}\r\ncontent-length: {content_length}\r\n{extra}\r\n",
        basic_header(USER, PASSWORD)
    )
}

async fn gauge(addr: std::net::SocketAddr, name: &str) -> f64 {
    sample(&metrics(addr).await, name)
}

#[tokio::test]
async fn idle_connections_from_one_peer_leave_room_for_other_peers_and_healthz() {
    let mut cfg = config();
    cfg.max_connections = 16;
    cfg.max_connections_per_peer = 8;
    // Long enough that only the per-peer limit can be what lets the others in.
    cfg.first_header_timeout = Duration::from_secs(60);
    cfg.header_timeout = Duration::from_secs(60);
    let drain = start(cfg);
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(connect_from(ATTACKER, drain.addr).await);
    }
    eventually("the attacker's connections served or refused", || {
        drain.stats.connections_open.load(Relaxed) == 8
            && drain.stats.connections_refused.load(Relaxed) == 12
    })
    .await;

    let mut conn = Conn::open_from(OTHER, drain.addr).await;
    assert_eq!(
        conn.send(logs_post(&[]), router(200)).await.status,
        StatusCode::OK
    );
    let mut other = Conn::open_from(OTHER, drain.addr).await;
    let health = other.send(Request::get("/healthz"), "").await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (StatusCode::OK, "ok\n")
    );

    // Answered while the attacker's served connections are all still open.
    let open = idle.iter().filter(|s| still_open_and_unanswered(s)).count();
    assert!(open >= 8, "{open}");
    assert!(drain.stats.connections_open.load(Relaxed) >= 8 + 2);
    assert_eq!(drain.sink.events(), ["router:200"]);
    // The attacker's address is over its limit: read the page from the other one.
    let page = Request::get("/metrics").header("authorization", basic_header(USER, PASSWORD));
    let m = other.send(page, "").await.body;
    let per_peer =
        "drainscale_drain_connections_refused_total{reason=\"max_connections_per_peer\"}";
    assert_eq!(sample(&m, per_peer), 12.0);
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_connections_refused_total{reason=\"max_connections\"}"
        ),
        0.0
    );
    // The attacker and the other peer.
    assert_eq!(sample(&m, "drainscale_drain_peers"), 2.0);
    drop(idle);
    drain.stop().await;
}

#[tokio::test]
async fn connections_without_a_first_request_are_closed_and_keep_alive_ones_are_not() {
    let mut cfg = config();
    cfg.max_connections = 8;
    cfg.first_header_timeout = Duration::from_secs(1);
    cfg.header_timeout = Duration::from_secs(60);
    let drain = start(cfg);
    // A sender that already sent a request keeps its keep-alive connection...
    let mut sender = Conn::open_from(OTHER, drain.addr).await;
    assert_eq!(
        sender.send(logs_post(&[]), router(200)).await.status,
        StatusCode::OK
    );
    // ...while connections that never send one fill every other slot.
    let mut idle = Vec::new();
    for _ in 0..7 {
        idle.push(connect_from(ATTACKER, drain.addr).await);
    }
    for s in &mut idle {
        let got = read_to_close(s).await;
        assert_eq!(got, "", "closed without an answer");
    }
    // All seven were served (every slot taken), then closed for sending nothing.
    let m = metrics(drain.addr).await;
    let timed_out = "drainscale_drain_connections_refused_total{reason=\"first_header_timeout\"}";
    assert_eq!(sample(&m, timed_out), 7.0);
    assert_eq!(drain.stats.connections_refused.load(Relaxed), 7);
    // The keep-alive connection outlived the idle ones and still works.
    assert!(!sender.is_closed());
    assert_eq!(
        sender.send(logs_post(&[]), router(201)).await.status,
        StatusCode::OK
    );
    assert_eq!(drain.sink.events(), ["router:200", "router:201"]);
    drain.stop().await;
}

#[tokio::test]
async fn slowly_dribbled_bodies_hold_only_their_bytes_and_others_are_taken() {
    let mut cfg = config();
    cfg.body_timeout = Duration::from_secs(60);
    cfg.max_in_flight = 4;
    let drain = start(cfg);
    // More dribblers than max_in_flight, each declaring 100 KB and sending 100 bytes.
    const DRIBBLERS: usize = 40;
    let mut dribblers = Vec::new();
    for _ in 0..DRIBBLERS {
        let mut s = connect_from(ATTACKER, drain.addr).await;
        s.write_all(post_head(100_000, "").as_bytes())
            .await
            .unwrap();
        s.write_all(&[b'x'; 100]).await.unwrap();
        dribblers.push(s);
    }
    let sent = (DRIBBLERS * 100) as f64;
    let mut seen = 0.0;
    while seen < sent {
        seen = gauge(drain.addr, "drainscale_drain_receiving_bytes").await;
        assert!(seen <= sent, "held {seen} bytes for {sent} sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let a = once(drain.addr, logs_post(&[]), router(200)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(drain.sink.events(), ["router:200"]);
    // Taken while every dribbler is still being received.
    assert!(dribblers.iter().all(still_open_and_unanswered));
    let m = metrics(drain.addr).await;
    assert_eq!(sample(&m, "drainscale_drain_receiving_bytes"), sent);
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_rejected_bodies_total{reason=\"busy\"}"
        ),
        0.0
    );
    drop(dribblers);
    eventually("the dribblers' bytes given back", || {
        drain.stats.connections_open.load(Relaxed) == 0
    })
    .await;
    assert_eq!(
        gauge(drain.addr, "drainscale_drain_receiving_bytes").await,
        0.0
    );
    drain.stop().await;
}

#[tokio::test]
async fn a_malformed_chunked_body_gets_400_and_the_connection_is_closed() {
    let drain = start(config());
    let mut s = TcpStream::connect(drain.addr).await.unwrap();
    let head = format!(
        "POST /logs HTTP/1.1\r\nhost: x\r\nauthorization: {}\r\ntransfer-encoding: chunked\r\n\r\n",
        basic_header(USER, PASSWORD)
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let body = router(200);
    s.write_all(format!("{:x}\r\n{body}\r\nzz\r\n", body.len()).as_bytes())
        .await
        .unwrap();
    let reply = read_to_close(&mut s).await;
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert!(reply.contains("malformed body"), "{reply}");
    assert_eq!(drain.sink.body_count(), 0);
    let m = metrics(drain.addr).await;
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_rejected_bodies_total{reason=\"malformed_body\"}"
        ),
        1.0
    );
    drain.stop().await;
}

#[tokio::test]
async fn a_body_cut_off_mid_stream_gets_503_and_its_retry_is_taken() {
    let drain = start(config());
    let body = router(200);
    // Content-Length, then the sender stops sending half-way (its write side closed).
    let mut s = TcpStream::connect(drain.addr).await.unwrap();
    let head = post_head(body.len(), "logplex-frame-id: CUT1\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body.as_bytes()[..body.len() / 2])
        .await
        .unwrap();
    s.shutdown().await.unwrap();
    let reply = read_to_close(&mut s).await;
    assert!(
        reply.starts_with("HTTP/1.1 503") && reply.contains("retry-after: 1\r\n"),
        "{reply:?}"
    );
    // Chunked, cut off inside a chunk.
    let mut s = TcpStream::connect(drain.addr).await.unwrap();
    let head = format!(
        "POST /logs HTTP/1.1\r\nhost: x\r\nauthorization: {}\r\nlogplex-frame-id: CUT1\r\ntransfer-encoding: chunked\r\n\r\n",
        basic_header(USER, PASSWORD)
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(format!("{:x}\r\n{}", body.len(), &body[..10]).as_bytes())
        .await
        .unwrap();
    s.shutdown().await.unwrap();
    let reply = read_to_close(&mut s).await;
    assert!(
        reply.starts_with("HTTP/1.1 503") && reply.contains("retry-after: 1\r\n"),
        "{reply:?}"
    );
    let cut = "drainscale_drain_rejected_bodies_total{reason=\"body_error\"}";
    while gauge(drain.addr, cut).await < 2.0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(drain.sink.body_count(), 0);
    let m = metrics(drain.addr).await;
    assert_eq!(sample(&m, cut), 2.0);
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_rejected_bodies_total{reason=\"malformed_body\"}"
        ),
        0.0
    );
    // Not remembered: the retry is taken.
    let a = once(drain.addr, logs_post(&[("logplex-frame-id", "CUT1")]), body).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(drain.sink.events(), ["router:200"]);
    drain.stop().await;
}

#[tokio::test]
async fn bodies_over_the_receive_budget_get_503_and_fit_once_it_frees() {
    let mut cfg = config();
    cfg.max_body_bytes = 4000;
    cfg.max_receiving_bytes = 8000;
    cfg.body_timeout = Duration::from_secs(60);
    let drain = start(cfg);
    let held_body = router(200).repeat(4000 / router(200).len());
    let first_part = held_body.len() - 300;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(drain.addr).await.unwrap();
        s.write_all(post_head(held_body.len(), "").as_bytes())
            .await
            .unwrap();
        s.write_all(&held_body.as_bytes()[..first_part])
            .await
            .unwrap();
        held.push(s);
    }
    let holding = (2 * first_part) as f64;
    while gauge(drain.addr, "drainscale_drain_receiving_bytes").await < holding {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(8000.0 - holding < 2000.0);

    let other = router(201).repeat(2000 / router(201).len() + 1);
    let id = ("logplex-frame-id", "OVER-BUDGET");
    let a = once(drain.addr, logs_post(&[id]), other.clone()).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.body);
    assert_eq!(a.headers["retry-after"], "1");
    let m = metrics(drain.addr).await;
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_rejected_bodies_total{reason=\"receive_budget\"}"
        ),
        1.0
    );
    assert_eq!(sample(&m, "drainscale_drain_receiving_bytes"), holding);

    // One held body completes and is taken: its bytes come back, and the retry fits.
    let mut done = held.pop().unwrap();
    done.write_all(&held_body.as_bytes()[first_part..])
        .await
        .unwrap();
    let mut reply = [0u8; 12];
    done.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"HTTP/1.1 200");
    let a = once(drain.addr, logs_post(&[id]), other).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(drain.sink.body_count(), 2);
    assert!(still_open_and_unanswered(&held[0]));
    drop(held);
    drain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_decode_budget_get_503_and_fit_once_it_frees() {
    let mut cfg = config();
    cfg.max_body_bytes = 4000;
    cfg.max_decompressed_bytes = 8000;
    cfg.max_decoding_bytes = 8000;
    let drain = start(cfg);
    drain.sink.hold();
    let parsing = router(200).repeat(3800 / router(200).len());
    let addr = drain.addr;
    let first = {
        let body = parsing.clone();
        tokio::spawn(async move { once(addr, logs_post(&[]), body).await.status })
    };
    eventually("the first body in the sink", || {
        drain.sink.entered.load(Relaxed) == 1
    })
    .await;
    assert_eq!(
        gauge(drain.addr, "drainscale_drain_decoding_bytes").await,
        parsing.len() as f64
    );
    // Small on the wire, 6 KB decoded: more than the decode budget has left.
    let big = router(201).repeat(6000 / router(201).len());
    let gz = gzip(big.as_bytes());
    let gzip_post = || logs_post(&[("content-encoding", "gzip")]);
    let a = once(drain.addr, gzip_post(), gz.clone()).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.body);
    assert_eq!(a.headers["retry-after"], "1");
    let m = metrics(drain.addr).await;
    assert_eq!(
        sample(
            &m,
            "drainscale_drain_rejected_bodies_total{reason=\"decode_budget\"}"
        ),
        1.0
    );
    drain.sink.release();
    assert_eq!(first.await.unwrap(), StatusCode::OK);
    assert_eq!(
        once(drain.addr, gzip_post(), gz).await.status,
        StatusCode::OK
    );
    assert_eq!(drain.sink.body_count(), 2);
    assert_eq!(
        gauge(drain.addr, "drainscale_drain_decoding_bytes").await,
        0.0
    );
    drain.stop().await;
}

/// Captures log output of the current thread (the test runs on a current-thread runtime).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_huge_basic_user_name_gets_401_and_a_clipped_log_line() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut cfg = config();
    cfg.max_header_bytes = 256 << 10;
    let drain = start(cfg);
    let user = "u".repeat(100_000);
    let req = Request::post("/logs").header("authorization", basic_header(&user, "guess"));
    let a = once(drain.addr, req, router(200)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    drain.stop().await;
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("unauthorized"))
        .expect("an unauthorized line");
    assert!(line.contains("(100000 bytes)"), "{line}");
    assert!(line.contains(&format!("{}…", "u".repeat(64))), "{line}");
    assert!(!line.contains(&"u".repeat(65)), "{line}");
    assert!(line.len() < 1000, "{} bytes", line.len());

    // With the default 64 KiB head limit the same request never reaches the drain's code.
    let drain = start(config());
    let mut s = TcpStream::connect(drain.addr).await.unwrap();
    let head = format!(
        "POST /logs HTTP/1.1\r\nhost: x\r\nauthorization: {}\r\ncontent-length: 0\r\n\r\n",
        basic_header(&user, "guess")
    );
    let _ = s.write_all(head.as_bytes()).await;
    let reply = read_to_close(&mut s).await;
    assert!(reply.starts_with("HTTP/1.1 431"), "{reply}");
    drain.stop().await;
}

/// A metrics page that blocks inside `render` until released.
#[derive(Default)]
struct SlowPage {
    gate: (Mutex<bool>, Condvar),
    entered: AtomicUsize,
}

impl SlowPage {
    fn close(&self) {
        *self.gate.0.lock().unwrap() = true;
    }
    fn open(&self) {
        *self.gate.0.lock().unwrap() = false;
        self.gate.1.notify_all();
    }
}

impl MetricsPage for SlowPage {
    fn render(&self, out: &mut String) {
        self.entered.fetch_add(1, SeqCst);
        let mut closed = self.gate.0.lock().unwrap();
        while *closed {
            let (c, timeout) = self
                .gate
                .1
                .wait_timeout(closed, Duration::from_secs(30))
                .unwrap();
            assert!(!timeout.timed_out(), "the test never opened the page");
            closed = c;
        }
        out.push_str("# HELP drainscale_test_page A test page.\n# TYPE drainscale_test_page gauge\ndrainscale_test_page 1\n");
    }
}

// A current-thread runtime: if the page rendered on the async worker, nothing else could be served meanwhile.
#[tokio::test]
async fn a_slow_metrics_render_never_delays_a_post_and_extra_scrapes_get_503() {
    let page = Arc::new(SlowPage::default());
    page.close();
    let pages = Pages {
        status: None,
        metrics: Some(page.clone()),
    };
    let drain = start_with(config(), pages);
    let addr = drain.addr;
    let mut scrapes = vec![tokio::spawn(async move { metrics(addr).await })];
    eventually("a render under way", || page.entered.load(SeqCst) == 1).await;

    let a = once(drain.addr, logs_post(&[]), router(200)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(drain.sink.events(), ["router:200"]);
    let health = once(drain.addr, Request::get("/healthz"), "").await;
    assert_eq!(health.status, StatusCode::OK);

    for _ in 0..3 {
        scrapes.push(tokio::spawn(async move { metrics(addr).await }));
    }
    eventually("four scrapes rendering or waiting", || {
        drain.stats.scrapes_in_progress.load(Relaxed) == 4
    })
    .await;
    let req = Request::get("/metrics").header("authorization", basic_header(USER, PASSWORD));
    let a = once(drain.addr, req, "").await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.headers["retry-after"], "1");
    assert_eq!(page.entered.load(SeqCst), 1, "one render at a time");

    page.open();
    for s in scrapes {
        let text = s.await.unwrap();
        assert!(text.contains("drainscale_test_page 1\n"));
    }
    let m = metrics(drain.addr).await;
    assert_eq!(sample(&m, "drainscale_drain_scrapes_refused_total"), 1.0);
    assert_eq!(sample(&m, "drainscale_drain_scrapes_in_progress"), 1.0);
    drain.stop().await;
}

#[tokio::test]
async fn every_family_on_the_drains_page_has_one_help_and_one_type_line() {
    let drain = start(config());
    assert_eq!(
        once(drain.addr, logs_post(&[]), router(200)).await.status,
        StatusCode::OK
    );
    let page = metrics(drain.addr).await;
    let mut families = Vec::new();
    for line in page.lines().filter(|l| !l.starts_with('#')) {
        let family = line.split(['{', ' ']).next().unwrap().to_string();
        if !families.contains(&family) {
            families.push(family);
        }
    }
    assert!(families.len() > 20, "{families:?}");
    for family in &families {
        for kind in ["HELP", "TYPE"] {
            let announced = format!("# {kind} {family} ");
            assert_eq!(page.matches(&announced).count(), 1, "{announced}");
        }
    }
    drain.stop().await;
    // Prometheus' own checker and linter, when installed (`.ci/run` installs it).
    if let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success() && said.trim().is_empty(), "{said}");
    } else {
        eprintln!("promtool not installed: checked HELP and TYPE lines only");
    }
}

/// `drainscale run` with a drain and no controllers: no scaler runs, so `/status` and `/ping` are 404.
#[tokio::test]
async fn the_binary_without_controllers_answers_404_on_status_and_ping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drain-only.yaml");
    std::fs::write(
        &path,
        format!(
            "drain:\n  listen: \"127.0.0.1:0\"\n  auth:\n    users: [{{user: {USER}, password: {PASSWORD}}}]\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_drainscale"))
        .arg("run")
        .arg(&path)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start drainscale");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("drain listening addr=").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(30));
    let result = async {
        let addr: std::net::SocketAddr = addr.expect("the listening address").parse().unwrap();
        let get = |p: &str| Request::get(p).header("authorization", basic_header(USER, PASSWORD));
        let health = once(addr, Request::get("/healthz"), "").await;
        assert_eq!(health.status, StatusCode::OK);
        for path in ["/status", "/ping"] {
            let a = once(addr, get(path), "").await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}: {}", a.body);
            assert!(a.body.contains("scaler is not running"), "{}", a.body);
        }
        assert_eq!(once(addr, get("/metrics"), "").await.status, StatusCode::OK);
    };
    let outcome = tokio::time::timeout(Duration::from_secs(30), result).await;
    let _ = child.kill();
    let _ = child.wait();
    outcome.expect("the binary answered in time");
}

/// A page far larger than a connection's read buffer.
struct BigPage;

impl MetricsPage for BigPage {
    fn render(&self, out: &mut String) {
        out.push_str("# HELP drainscale_test_big A big page.\n# TYPE drainscale_test_big gauge\n");
        for i in 0..100_000 {
            out.push_str(&format!("drainscale_test_big{{i=\"{i}\"}} {i}\n"));
        }
    }
}

#[tokio::test]
async fn the_smallest_read_buffer_still_serves_a_large_page_whole() {
    let mut cfg = config();
    cfg.max_header_bytes = 8192;
    let pages = Pages {
        status: None,
        metrics: Some(Arc::new(BigPage)),
    };
    let drain = start_with(cfg, pages);
    let page = metrics(drain.addr).await;
    assert!(page.len() > 3 << 20, "{}", page.len());
    assert!(page.ends_with("drainscale_test_big{i=\"99999\"} 99999\n"));
    drain.stop().await;
}
