//! Helpers for the drain's integration tests: a recording sink, a drain started on 127.0.0.1:0, logplex frame
//! builders and a small real HTTP/1.1 client. Not a fake of anything: every request crosses a real socket.
#![allow(dead_code)]

use base64::Engine;
use bytes::Bytes;
use drainscale::drain::{BasicUser, DrainConfig, DrainStats, Pages, Server};
use drainscale::logplex::{Event, EventKind};
use drainscale::window::{EventSink, IngestCounts};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const USER: &str = "logplex";
pub const PASSWORD: &str = "s3cret-pw";

/// Remembers every event it is handed, one `Vec` per body, as short descriptions like `measure:db.query`.
#[derive(Default)]
pub struct Recorder {
    pub bodies: Mutex<Vec<Vec<String>>>,
    /// While closed, `ingest` waits inside the sink (holding a request in flight) until [`Recorder::release`].
    gate: (Mutex<bool>, Condvar),
    /// Calls to `ingest` begun.
    pub entered: AtomicUsize,
}

impl Recorder {
    pub fn events(&self) -> Vec<String> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .cloned()
            .collect()
    }
    /// Makes the next `ingest` calls wait until [`Recorder::release`].
    pub fn hold(&self) {
        *self.gate.0.lock().unwrap() = true;
    }

    pub fn release(&self) {
        *self.gate.0.lock().unwrap() = false;
        self.gate.1.notify_all();
    }

    pub fn body_count(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }
}

pub fn describe(e: &Event<'_>) -> String {
    match &e.kind {
        EventKind::Router(r) => format!("router:{}", r.status().unwrap_or(0)),
        EventKind::Measure(m) => format!("measure:{}", m.name),
        EventKind::Count(m) => format!("count:{}", m.name),
        EventKind::Sample(m) => format!("sample:{}", m.name),
        EventKind::Unique(u) => format!("unique:{}", u.name),
        EventKind::L10 { dropped } => format!("l10:{dropped}"),
        EventKind::Line(l) => format!("line:{l}"),
    }
}

impl EventSink for Recorder {
    fn ingest(&self, events: &mut dyn Iterator<Item = Event<'_>>, _now: i64) -> IngestCounts {
        self.entered.fetch_add(1, Ordering::SeqCst);
        let (closed, opened) = &self.gate;
        let mut closed = closed.lock().unwrap();
        while *closed {
            // Bounded, so a failed test cannot hang the suite.
            let (c, timeout) = opened
                .wait_timeout(closed, Duration::from_secs(30))
                .unwrap();
            assert!(!timeout.timed_out(), "the test never released the sink");
            closed = c;
        }
        drop(closed);
        let got: Vec<String> = events.map(|e| describe(&e)).collect();
        let accepted = got.len() as u64;
        self.bodies.lock().unwrap().push(got);
        IngestCounts {
            accepted,
            ..Default::default()
        }
    }
}

/// A test config: 127.0.0.1:0, one Basic user, short timeouts.
pub fn config() -> DrainConfig {
    let mut cfg = DrainConfig {
        listen: "127.0.0.1:0".into(),
        ..DrainConfig::default()
    };
    cfg.auth.users = vec![BasicUser {
        user: USER.into(),
        password: PASSWORD.into(),
    }];
    cfg.header_timeout = Duration::from_secs(2);
    cfg.body_timeout = Duration::from_secs(2);
    cfg
}

/// A drain running on its own task.
pub struct Running {
    pub addr: SocketAddr,
    pub sink: Arc<Recorder>,
    pub stats: Arc<DrainStats>,
    stop: Option<oneshot::Sender<()>>,
    pub task: Option<JoinHandle<Result<(), drainscale::drain::DrainError>>>,
}

impl Running {
    /// Signals shutdown and waits (up to 30 s) for `run_until` to return.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let task = self.task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }

    pub fn signal_stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

pub fn start(cfg: DrainConfig) -> Running {
    start_with(cfg, Pages::default())
}

pub fn start_with(cfg: DrainConfig, pages: Pages) -> Running {
    let sink = Arc::new(Recorder::default());
    let server = Server::bind(cfg, sink.clone(), pages).unwrap();
    let addr = server.local_addr();
    let stats = server.stats();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run_until(async move {
        let _ = rx.await;
    }));
    Running {
        addr,
        sink,
        stats,
        stop: Some(tx),
        task: Some(task),
    }
}

/// One octet-counted logplex frame in Heroku's HTTPS-drain form (no structured data).
pub fn frame(app: &str, procid: &str, msg: &str) -> String {
    let ts = format!("{:.6}", jiff::Timestamp::now());
    let line = format!("<190>1 {ts} host {app} {procid} - {msg}\n");
    format!("{} {line}", line.len())
}

pub fn router(status: u16) -> String {
    frame(
        "heroku",
        "router",
        &format!(
            "at=info method=GET path=\"/\" host=shop.example.com request_id=abc fwd=\"1.2.3.4\" dyno=web.1 \
             connect=1ms service=22ms status={status} bytes=656 protocol=https"
        ),
    )
}

pub fn basic_header(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A keep-alive HTTP/1.1 connection.
pub struct Conn {
    send: SendRequest<Full<Bytes>>,
    addr: SocketAddr,
}

/// A TCP connection to `addr` from the local address `from` (any 127.0.0.0/8 address works on Linux), so a
/// test can play several peers.
pub async fn connect_from(from: std::net::IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    socket.connect(addr).await.unwrap()
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Conn {
        Conn::over(TcpStream::connect(addr).await.unwrap(), addr).await
    }

    /// A keep-alive connection from the local address `from`.
    pub async fn open_from(from: std::net::IpAddr, addr: SocketAddr) -> Conn {
        Conn::over(connect_from(from, addr).await, addr).await
    }

    async fn over(stream: TcpStream, addr: SocketAddr) -> Conn {
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        Conn { send, addr }
    }

    /// Sends a request; the `Host` header is added.
    pub async fn send(
        &mut self,
        req: hyper::http::request::Builder,
        body: impl Into<Bytes>,
    ) -> Answer {
        let req = req
            .header("host", self.addr.to_string())
            .body(Full::new(body.into()))
            .unwrap();
        // Keep-alive: the previous exchange may still be winding down in the connection task.
        self.send.ready().await.unwrap();
        let resp = self.send.send_request(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.send.is_closed()
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

/// A POST to the logs path with valid Basic auth plus the given headers.
pub fn logs_post(headers: &[(&str, &str)]) -> hyper::http::request::Builder {
    let mut b = Request::post("/logs")
        .header("authorization", basic_header(USER, PASSWORD))
        .header("content-type", "application/logplex-1");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b
}

/// One request on a fresh connection.
pub async fn once(
    addr: SocketAddr,
    req: hyper::http::request::Builder,
    body: impl Into<Bytes>,
) -> Answer {
    Conn::open(addr).await.send(req, body).await
}

/// `/metrics` as text (with valid auth).
pub async fn metrics(addr: SocketAddr) -> String {
    let req = Request::get("/metrics").header("authorization", basic_header(USER, PASSWORD));
    let a = once(addr, req, Bytes::new()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body
}

/// The value of one sample line (`name{labels}`) in Prometheus text.
pub fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .parse()
        .unwrap()
}

/// Polls `cond` every 20 ms until it holds or 20 s pass.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
