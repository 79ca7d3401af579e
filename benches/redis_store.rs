//! The shared windows' cost, on a redis-server of this run's own (a free port, nothing saved):
//!
//! 1. Redis commands per second per instance (`INFO stats` `total_commands_processed`, deltas) with the same
//!    metrics at 1x, 10x and 100x a base log rate, with and without the cross-instance Frame-Id check: the
//!    shared windows' traffic stays flat with the log rate; the Frame-Id check adds two commands per body.
//! 2. The drain's lines/s with the Redis store as a ratio to the memory store, in the same run and the same
//!    way (mixed ~100-line bodies with fresh Frame-Ids over keep-alive connections, as `drain_load` posts them).
//!
//! `cargo bench --bench redis_store [-- --seconds 3]`.

use bytes::Bytes;
use drainscale::drain::{BasicUser, DrainConfig, Pages, Server};
use drainscale::shared::frame_ids::SharedFrameIds;
use drainscale::shared::{Keys, Redis, SharedConfig};
use drainscale::window::redis::RedisStore;
use drainscale::window::{EventSink, Store, WindowConfig};
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

const USER: &str = "bench";
const PASSWORD: &str = "bench-password";
/// Lines per second of the 1x load.
const BASE_RATE: f64 = 500.0;
const CONNECTIONS: usize = 4;

static FRAME_ID: AtomicU64 = AtomicU64::new(0);

struct RedisServer {
    port: u16,
    child: Child,
}

impl RedisServer {
    fn start() -> RedisServer {
        let port = loop {
            let p = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            if p != 6379 {
                break p;
            }
        };
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server");
        let server = RedisServer { port, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.cli(&["PING"]) != "PONG" {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn cli(&self, args: &[&str]) -> String {
        Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    }

    fn commands(&self) -> u64 {
        self.cli(&["INFO", "stats"])
            .lines()
            .find_map(|l| l.strip_prefix("total_commands_processed:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `count` bodies of about 100 lines: router lines and app metrics over a fixed set of names.
fn corpus(count: usize) -> Vec<(Bytes, usize)> {
    let mut rng = fastrand::Rng::with_seed(7);
    (0..count)
        .map(|_| {
            let ts = format!("{:.6}", jiff::Timestamp::now()).replace('Z', "+00:00");
            let mut body = String::new();
            for _ in 0..100 {
                let msg = if rng.bool() {
                    format!(
                        "<158>1 {ts} host heroku router - at=info method=GET path=\"/i/{}\" host=shop dyno=web.{} connect={}ms service={}ms status={} bytes=512",
                        rng.u32(..5000),
                        rng.u8(1..9),
                        rng.u8(0..5),
                        rng.u32(1..900),
                        [200, 200, 304, 404, 500][rng.usize(0..5)]
                    )
                } else {
                    format!(
                        "<190>1 {ts} host app web.1 - source=web.{} measure#db.query={:.2}ms count#orders={}",
                        rng.u8(1..9),
                        rng.f64() * 50.0,
                        rng.u8(1..4)
                    )
                };
                let line = format!("{msg}\n");
                body.push_str(&format!("{} {line}", line.len()));
            }
            (Bytes::from(body), 100)
        })
        .collect()
}

fn drain(sink: Arc<dyn EventSink>, ids: Option<Arc<SharedFrameIds>>) -> SocketAddr {
    let mut cfg = DrainConfig {
        listen: "127.0.0.1:0".into(),
        ..DrainConfig::default()
    };
    cfg.auth.users = vec![BasicUser {
        user: USER.into(),
        password: PASSWORD.into(),
    }];
    let mut server = Server::bind(cfg, sink, Pages::default()).unwrap();
    if let Some(ids) = ids {
        server.share_frame_ids(ids);
    }
    let addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending()));
    addr
}

fn windows() -> WindowConfig {
    WindowConfig {
        resolution: Duration::from_secs(1),
        retention: Duration::from_secs(60),
        ..WindowConfig::default()
    }
}

/// A drain on the shared windows (reading the merged view every step, as with a scaler), with or without the
/// Frame-Id check in Redis.
fn shared_drain(url: &str, tag: &str, dedup: bool) -> SocketAddr {
    let cfg = SharedConfig::default();
    let redis = Arc::new(Redis::connect(&url.into(), &cfg).unwrap());
    let keys = Keys::new(tag);
    let store = Arc::new(RedisStore::new(
        windows(),
        cfg,
        redis.clone(),
        keys.clone(),
        tag.into(),
        true,
    ));
    tokio::spawn(store.clone().run_until(std::future::pending()));
    let ids = dedup.then(|| Arc::new(SharedFrameIds::new(redis, keys, Duration::from_secs(300))));
    drain(store, ids)
}

/// Posts for `seconds` over [`CONNECTIONS`] connections, at `rate` lines/s in all (`None`: as fast as it goes).
/// Returns lines/s.
async fn post(
    addr: SocketAddr,
    bodies: &Arc<Vec<(Bytes, usize)>>,
    seconds: f64,
    rate: Option<f64>,
) -> f64 {
    use base64::Engine;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let (bodies, auth) = (bodies.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let _ = stream.set_nodelay(true);
            let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .unwrap();
            tokio::spawn(conn);
            let mut lines = 0u64;
            let mut i = c;
            while Instant::now() < deadline {
                let (data, n) = &bodies[i % bodies.len()];
                i += 1;
                let req = Request::post("/logs")
                    .header("host", addr.to_string())
                    .header("authorization", &auth)
                    .header("content-type", "application/logplex-1")
                    .header(
                        "logplex-frame-id",
                        format!("{:032X}", FRAME_ID.fetch_add(1, Relaxed)),
                    )
                    .body(Full::new(data.clone()))
                    .unwrap();
                let resp = send.send_request(req).await.unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
                resp.into_body().collect().await.unwrap();
                lines += *n as u64;
                if let Some(rate) = rate {
                    let due = started
                        + Duration::from_secs_f64(lines as f64 / (rate / CONNECTIONS as f64));
                    tokio::time::sleep_until(due.into()).await;
                }
            }
            lines
        }));
    }
    let mut lines = 0;
    for t in tasks {
        lines += t.await.unwrap();
    }
    lines as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: f64 = args
        .windows(2)
        .find(|w| w[0] == "--seconds")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(3.0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let redis = RedisServer::start();
        let url = format!("redis://127.0.0.1:{}", redis.port);
        let bodies = Arc::new(corpus(64));

        println!("Redis commands per second, one instance, same metrics (1 s resolution, 60 s retention, merged view read every step):");
        for dedup in [false, true] {
            let addr = shared_drain(&url, &format!("cmds-{dedup}"), dedup);
            for factor in [1.0, 10.0, 100.0] {
                let rate = BASE_RATE * factor;
                // One step to settle, then the measured period.
                post(addr, &bodies, 1.0, Some(rate)).await;
                let before = redis.commands();
                let got = post(addr, &bodies, seconds, Some(rate)).await;
                let per_s = (redis.commands() - before) as f64 / seconds;
                println!(
                    "  {:>4}x ({:>7.0} lines/s sent){}: {:>8.1} commands/s",
                    factor,
                    got,
                    if dedup { ", Frame-Id check on " } else { ", Frame-Id check off" },
                    per_s
                );
            }
        }

        println!("Drain lines/s, as fast as it goes ({CONNECTIONS} connections, ~100-line bodies, fresh Frame-Ids):");
        let memory: Arc<dyn EventSink> = Arc::new(Store::new(windows()));
        let memory = drain(memory, None);
        let windows_only = shared_drain(&url, "speed-windows", false);
        let with_dedup = shared_drain(&url, "speed-dedup", true);
        for round in 1..=2 {
            let m = post(memory, &bodies, seconds, None).await;
            let r = post(windows_only, &bodies, seconds, None).await;
            let d = post(with_dedup, &bodies, seconds, None).await;
            println!(
                "  round {round}: memory {m:.0}, redis {r:.0} (ratio {:.2}), redis + Frame-Id check {d:.0} (ratio {:.2})",
                r / m,
                d / m
            );
        }
    });
}
