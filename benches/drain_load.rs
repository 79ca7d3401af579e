//! Load benchmark for the drain: logplex bodies POSTed over keep-alive connections from the same machine.
//!
//! Reports lines/s for the full drain (auth, Frame-Id dedup, parse, window store) and, in the same run and the
//! same way, for a minimal hyper server that only reads the body and counts newlines; then the ratio. Then the
//! peak RSS (VmHWM) of a drain in a child process after it took 10,000 distinct metric names. Last, the one-core
//! figure: a drain in a child process pinned to CPU 0 (`taskset`), this process (the client) pinned to CPU 1,
//! ~100-frame bodies with fresh Frame-Ids over 8 keep-alive connections, against the same server answering a
//! Frame-Id it already took (the floor: auth, body, dedup, no parse), in the same run; bodies per second of each,
//! their ratio, and lines per server CPU-second (the child's own CPU time, from `/proc`).
//!
//! `cargo bench --bench drain_load [-- --seconds 3 --connections 4 --rounds 2]`; `-- --in-process --rounds 2` runs
//! only the in-process parse and parse + window store figures (for a profiler); `-- --one-core` only the
//! one-core figure (it needs two CPUs and `taskset`); `-- --rss` only the peak RSS figures.

use bytes::Bytes;
use drainscale::drain::{BasicUser, DrainConfig, Pages, Server};
use drainscale::window::{EventSink, Store, WindowConfig};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

const USER: &str = "bench";
const PASSWORD: &str = "bench-password";
const CHILD_ENV: &str = "DRAIN_LOAD_CHILD";
/// The child's worker threads (`1` for the one-core figure, as tokio would pick on a one-core machine).
const CHILD_WORKERS_ENV: &str = "DRAIN_LOAD_CHILD_WORKERS";
/// Keep-alive connections and frames per body of the one-core figure.
const ONE_CORE_CONNECTIONS: usize = 8;
const ONE_CORE_BODY_BYTES: usize = 24_000;
/// Buckets each distinct name is fed into for the RSS figure: 570 s of the default 600 s retention at 10 s.
const RSS_BUCKETS: i64 = 57;
/// The first figure: six buckets, e.g. a metric reported once a minute over the last six minutes.
const RSS_EARLY: i64 = 6;

struct Opts {
    seconds: f64,
    connections: usize,
    rounds: usize,
}

fn opts() -> Opts {
    let mut o = Opts {
        seconds: 3.0,
        connections: 4,
        rounds: 2,
    };
    let args: Vec<String> = std::env::args().collect();
    for w in args.windows(2) {
        match w[0].as_str() {
            "--seconds" => o.seconds = w[1].parse().unwrap_or(o.seconds),
            "--connections" => o.connections = w[1].parse().unwrap_or(o.connections),
            "--rounds" => o.rounds = w[1].parse().unwrap_or(o.rounds),
            _ => {}
        }
    }
    o
}

fn main() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return child_drain();
    }
    let o = opts();
    if std::env::args().any(|a| a == "--one-core") {
        one_core(&o);
        return;
    }
    if std::env::args().any(|a| a == "--rss") {
        // Only the peak RSS figures.
        print_rss();
        return;
    }
    if std::env::args().any(|a| a == "--in-process") {
        // Only the in-process figures (e.g. under `valgrind --tool=callgrind`).
        in_process(&corpus(32, 100_000, 1), o.rounds);
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bodies = corpus(32, 100_000, 1);
    let lines: usize = bodies.iter().map(|b| b.lines).sum();
    let bytes: usize = bodies.iter().map(|b| b.data.len()).sum();
    println!(
        "drain_load: {} keep-alive connections, {} bodies of ~{} KB ({} lines each on average), {}s per run, best of {}",
        o.connections,
        bodies.len(),
        bytes / bodies.len() / 1000,
        lines / bodies.len(),
        o.seconds,
        o.rounds
    );
    let (mut base_best, mut drain_best) = ((0f64, 0f64), (0f64, 0f64));
    rt.block_on(async {
        let baseline = start_baseline().await;
        let drain = start_drain(window_store());
        for round in 0..o.rounds {
            let b = load(baseline, &bodies, &o).await;
            let d = load(drain, &bodies, &o).await;
            println!(
                "  round {}: baseline {:>10.0} lines/s ({:>10.0} per CPU-s)   drain {:>10.0} lines/s ({:>10.0} per CPU-s)",
                round + 1,
                b.0,
                b.1,
                d.0,
                d.1
            );
            base_best = (base_best.0.max(b.0), base_best.1.max(b.1));
            drain_best = (drain_best.0.max(d.0), drain_best.1.max(d.1));
        }
    });
    let ceiling = in_process(&bodies, 40);
    let mb = |lps: f64| lps * bytes as f64 / lines as f64 / 1e6;
    for (name, best) in [
        ("baseline (hyper, read body + count newlines)", base_best),
        ("drain (auth, dedup, parse, window store)    ", drain_best),
    ] {
        println!(
            "{name}: {:>10.0} lines/s ({:.0} MB/s), {:>10.0} lines per CPU-second",
            best.0,
            mb(best.0),
            best.1
        );
    }
    println!(
        "ratio drain/baseline: {:.2} in lines/s, {:.2} in lines per CPU-second (bar: >= 0.8)",
        drain_best.0 / base_best.0,
        drain_best.1 / base_best.1
    );
    println!(
        "ratio drain/(parse + window store in process), lines per CPU-second: {:.2} (what HTTP, auth and dedup cost)",
        drain_best.1 / ceiling
    );
    print_rss();
    // Last: it pins this process to one CPU for the rest of its life.
    one_core(&o);
}

/// The peak RSS figures (see [`peak_rss_with_distinct_names`]).
fn print_rss() {
    match peak_rss_with_distinct_names(10_000) {
        Ok((idle, peaks, over_cap)) => {
            for (buckets, peak) in peaks {
                println!(
                    "peak RSS (VmHWM) of a drain process holding 10,000 distinct measure names in each of \
                     {buckets} buckets, none flushed: {:.1} MB (bar: < 64 MB)",
                    peak as f64 / 1024.0
                );
            }
            println!(
                "  (idle drain: {:.1} MB; events refused over the series cap: {over_cap})",
                idle as f64 / 1024.0
            );
        }
        Err(e) => println!("peak RSS: not measured: {e}"),
    }
}

/// The one-core figure (see the module comment). Prints why when it cannot be measured here.
fn one_core(o: &Opts) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        println!("one core: not measured: it needs two CPUs, this process may use {cpus}");
        return;
    }
    let bodies = corpus(32, ONE_CORE_BODY_BYTES, 7);
    let frames = bodies.iter().map(|b| b.lines).sum::<usize>() / bodies.len();
    let (mut child, addr, pid) = match spawn_child(Some("0"), 1) {
        Ok(c) => c,
        Err(e) => {
            println!("one core: not measured: {e}");
            return;
        }
    };
    let me = std::process::id().to_string();
    let pinned = std::process::Command::new("taskset")
        .args(["-a", "-cp", "1", &me])
        .stdout(std::process::Stdio::null())
        .status();
    if !pinned.is_ok_and(|s| s.success()) {
        println!("one core: not measured: `taskset -a -cp 1` on the client failed");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "one core: drain pinned to CPU 0, client to CPU 1; {ONE_CORE_CONNECTIONS} keep-alive connections, bodies of \
         {frames} frames (~{} KB), {}s per run, best of {}",
        ONE_CORE_BODY_BYTES / 1000,
        o.seconds,
        o.rounds
    );
    let (mut fresh_best, mut dup_best, mut cpu_best) = (0f64, 0f64, 0f64);
    rt.block_on(async {
        for round in 0..o.rounds {
            let cpu = process_cpu_seconds(pid);
            let drained = post_for(addr, &bodies, o.seconds, ONE_CORE_CONNECTIONS, false).await;
            let server_cpu = (process_cpu_seconds(pid) - cpu).max(0.01);
            let floor = post_for(addr, &bodies, o.seconds, ONE_CORE_CONNECTIONS, true).await;
            let (fresh, dup) = (
                drained.bodies / drained.seconds,
                floor.bodies / floor.seconds,
            );
            let fresh_lines = drained.lines;
            let per_cpu = fresh_lines / server_cpu;
            println!(
                "  round {}: drain {fresh:>8.0} bodies/s ({:>10.0} lines/s, {per_cpu:>10.0} lines per server \
                 CPU-second)   duplicate floor {dup:>8.0} bodies/s",
                round + 1,
                fresh_lines / drained.seconds
            );
            fresh_best = fresh_best.max(fresh);
            dup_best = dup_best.max(dup);
            cpu_best = cpu_best.max(per_cpu);
        }
    });
    println!(
        "one core: drain {fresh_best:.0} bodies/s, duplicate floor {dup_best:.0} bodies/s, ratio {:.2} (bar: >= 0.5); \
         {cpu_best:.0} lines per server CPU-second (bar: >= 3.5 M)",
        fresh_best / dup_best.max(1.0)
    );
    drop(child.stdin.take());
    let _ = child.wait();
}

/// What [`post_for`] posted (the duplicate mode's first, taking post of each connection left out).
struct Posted {
    bodies: f64,
    lines: f64,
    seconds: f64,
}

/// POSTs bodies round-robin over `connections` keep-alive connections for `seconds`, each with a fresh
/// Frame-Id, or (`duplicate`) each connection's one Frame-Id, taken by its first post.
async fn post_for(
    addr: SocketAddr,
    bodies: &[Body],
    seconds: f64,
    connections: usize,
    duplicate: bool,
) -> Posted {
    let bodies: Arc<Vec<(Bytes, usize)>> =
        Arc::new(bodies.iter().map(|b| (b.data.clone(), b.lines)).collect());
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut clients = Vec::new();
    for c in 0..connections {
        let bodies = bodies.clone();
        clients.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let _ = stream.set_nodelay(true);
            let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .unwrap();
            tokio::spawn(conn);
            let auth = auth_header();
            let taken = format!("{:032X}", FRAME_ID.fetch_add(1, Relaxed));
            let (mut posted, mut lines, mut i) = (0u64, 0u64, c);
            let mut first = true;
            while first || Instant::now() < deadline {
                let (data, n) = &bodies[if duplicate { c } else { i } % bodies.len()];
                i += 1;
                let id = if duplicate {
                    taken.clone()
                } else {
                    format!("{:032X}", FRAME_ID.fetch_add(1, Relaxed))
                };
                let req = Request::post("/logs")
                    .header("host", addr.to_string())
                    .header("authorization", &auth)
                    .header("content-type", "application/logplex-1")
                    .header("logplex-msg-count", n.to_string())
                    .header("logplex-frame-id", id)
                    .body(Full::new(data.clone()))
                    .unwrap();
                let resp = send.send_request(req).await.unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
                resp.into_body().collect().await.unwrap();
                if first && duplicate {
                    // The Frame-Id is taken now; what follows are duplicates.
                    first = false;
                    continue;
                }
                first = false;
                posted += 1;
                lines += *n as u64;
            }
            (posted, lines)
        }));
    }
    let (mut posted, mut lines) = (0, 0);
    for c in clients {
        let (p, l) = c.await.unwrap();
        posted += p;
        lines += l;
    }
    Posted {
        bodies: posted as f64,
        lines: lines as f64,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// User + system CPU seconds of process `pid` (all its threads), from `/proc/<pid>/stat`; 0 if unreadable.
fn process_cpu_seconds(pid: u32) -> f64 {
    cpu_seconds_of(&format!("/proc/{pid}/stat"))
}

/// Where the time goes without HTTP: parsing alone, then parsing into a window store, on one thread.
/// Returns parse + store lines per CPU-second.
fn in_process(bodies: &[Body], rounds: usize) -> f64 {
    let lines: usize = bodies.iter().map(|b| b.lines).sum();
    let cpu = cpu_seconds();
    for _ in 0..rounds {
        for b in bodies {
            std::hint::black_box(drainscale::logplex::parse_body(&b.data).count());
        }
    }
    let counted = (lines * rounds) as f64 / (cpu_seconds() - cpu).max(0.01);
    // Every event handed on (as the drain hands it to the store): `count()` alone lets the compiler skip
    // reading what no one looks at, such as the numbers.
    let cpu = cpu_seconds();
    for _ in 0..rounds {
        for b in bodies {
            let mut events = drainscale::logplex::parse_body(&b.data);
            events.take_into(usize::MAX, |event| {
                std::hint::black_box(event);
            });
        }
    }
    let parse = (lines * rounds) as f64 / (cpu_seconds() - cpu).max(0.01);
    let store = Store::new(WindowConfig::default());
    let cpu = cpu_seconds();
    for _ in 0..rounds {
        for b in bodies {
            // The drain's own path for a logplex batch: parsed whole, then taken by the store in one go.
            let now = drainscale::window::store::now_micros();
            let got = drainscale::drain::ingest::try_inline(&store, &b.data, now);
            std::hint::black_box(got.map(|g| g.counts));
        }
    }
    let both = (lines * rounds) as f64 / (cpu_seconds() - cpu).max(0.01);
    println!(
        "in process, no HTTP: parse {parse:>10.0} lines per CPU-second (each event handed on; {counted:.0} when only \
         counted); parse + window store {both:>10.0} lines per CPU-second; ratio {:.2} (bar: >= 0.6; {:.2} against \
         counting)",
        both / parse,
        both / counted
    );
    both
}

/// One generated body.
struct Body {
    data: Bytes,
    lines: usize,
}

/// Realistic mixed bodies (router lines, app measures/counts, runtime samples, plain lines), seeded.
fn corpus(count: usize, target_bytes: usize, seed: u64) -> Vec<Body> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let now = jiff::Timestamp::now();
    (0..count)
        .map(|_| {
            let mut data = String::with_capacity(target_bytes + 1000);
            let mut lines = 0;
            while data.len() < target_bytes {
                // As logplex writes it: microseconds and a `+00:00` offset.
                let ts = format!("{:.6}", now).replace('Z', "+00:00");
                let (app, procid, msg) = match rng.u8(0..10) {
                    0..=5 => (
                        "heroku",
                        "router",
                        format!(
                            "at=info method={} path=\"/items/{}\" host=shop.example.com request_id={:032x} \
                             fwd=\"73.75.38.{}\" dyno=web.{} connect={}ms service={}ms status={} bytes={} protocol=https",
                            ["GET", "POST"][rng.usize(0..2)],
                            rng.u32(0..5000),
                            rng.u128(..),
                            rng.u8(..),
                            rng.u8(1..9),
                            rng.u8(0..5),
                            rng.u32(1..900),
                            [200, 200, 200, 304, 404, 500][rng.usize(0..6)],
                            rng.u32(100..50_000)
                        ),
                    ),
                    6 | 7 => (
                        "app",
                        "web.1",
                        format!(
                            "source=web.{} measure#db.query={:.2}ms measure#render={}ms count#orders={}",
                            rng.u8(1..9),
                            rng.f64() * 50.0,
                            rng.u32(1..200),
                            rng.u8(1..4)
                        ),
                    ),
                    8 => (
                        "heroku",
                        "web.3",
                        format!(
                            "source=web.3 dyno=heroku.2808254.d97d0ea7 sample#load_avg_1m={:.2} \
                             sample#memory_rss={:.2}MB sample#memory_quota=512.00MB",
                            rng.f64() * 4.0,
                            rng.f64() * 500.0
                        ),
                    ),
                    _ => ("app", "worker.1", format!("Processed job {} in {}ms", rng.u64(..), rng.u32(1..2000))),
                };
                let line = format!("<190>1 {ts} host {app} {procid} - {msg}\n");
                data.push_str(&format!("{} {line}", line.len()));
                lines += 1;
            }
            Body { data: Bytes::from(data), lines }
        })
        .collect()
}

/// The floor: hyper reading each body and counting its newlines.
async fn start_baseline() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(|req: Request<hyper::body::Incoming>| async move {
                    let body = req.into_body().collect().await?.to_bytes();
                    std::hint::black_box(memchr::memchr_iter(b'\n', &body).count());
                    Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::new())))
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// The sink the drain feeds: the real window store with its default config.
fn window_store() -> Arc<dyn EventSink> {
    Arc::new(Store::new(WindowConfig::default()))
}

fn drain_config() -> DrainConfig {
    let mut cfg = DrainConfig {
        listen: "127.0.0.1:0".into(),
        ..DrainConfig::default()
    };
    cfg.auth.users = vec![BasicUser {
        user: USER.into(),
        password: PASSWORD.into(),
    }];
    cfg
}

fn start_drain(sink: Arc<dyn EventSink>) -> SocketAddr {
    let server = Server::bind(drain_config(), sink, Pages::default()).unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending()));
    addr
}

fn auth_header() -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    )
}

static FRAME_ID: AtomicU64 = AtomicU64::new(0);

/// Posts bodies round-robin over `o.connections` keep-alive connections for `o.seconds`, each with a fresh
/// Frame-Id. Returns (lines per wall-clock second, lines per CPU-second of this process, client included).
async fn load(addr: SocketAddr, bodies: &[Body], o: &Opts) -> (f64, f64) {
    let cpu_started = cpu_seconds();
    let posted = post_for(addr, bodies, o.seconds, o.connections, false).await;
    let cpu = (cpu_seconds() - cpu_started).max(0.01);
    (posted.lines / posted.seconds, posted.lines / cpu)
}

/// User + system CPU time of this process so far (from /proc/self/stat, clock ticks of 10 ms); 0 if unreadable.
fn cpu_seconds() -> f64 {
    cpu_seconds_of("/proc/self/stat")
}

fn cpu_seconds_of(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // After the comm: state is field 3 of the man page, utime 14 and stime 15.
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / 100.0
}

/// Runs a drain in a child process (this bench re-executed), feeds it `names` distinct measure names spread over
/// `RSS_BUCKETS` 10-second buckets (every series in every bucket of the default 10-minute retention, none flushed),
/// and reads its VmHWM. Returns (idle kB, peak kB, events refused over the cap).
/// Returns (idle kB, (buckets, peak kB) after `RSS_EARLY` and after `RSS_BUCKETS` buckets, events over the cap).
type RssFigures = (u64, Vec<(i64, u64)>, u64);

fn peak_rss_with_distinct_names(names: usize) -> Result<RssFigures, String> {
    let (mut child, addr, pid) = spawn_child(None, 2)?;
    let idle = vm_hwm(pid)?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut peaks = Vec::new();
    let over_cap = rt.block_on(async {
        let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let now = jiff::Timestamp::now();
        for step in 0..RSS_BUCKETS {
            if step == RSS_EARLY {
                peaks.push((step, vm_hwm(pid)?));
            }
            let ts = format!("{:.6}", now - jiff::SignedDuration::from_secs(step * 10));
            for chunk in (0..names).collect::<Vec<_>>().chunks(500) {
                let mut body = String::new();
                for n in chunk {
                    let line = format!(
                        "<190>1 {ts} host app web.1 - source=web.1 measure#metric.{n:05}={}ms\n",
                        n % 97 + step as usize
                    );
                    body.push_str(&format!("{} {line}", line.len()));
                }
                let req = Request::post("/logs")
                    .header("host", addr.to_string())
                    .header("authorization", auth_header())
                    .body(Full::new(Bytes::from(body)))
                    .map_err(|e| e.to_string())?;
                let resp = send.send_request(req).await.map_err(|e| e.to_string())?;
                if resp.status() != StatusCode::OK {
                    return Err(format!("child drain answered {}", resp.status()));
                }
                resp.into_body()
                    .collect()
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        let req = Request::get("/metrics")
            .header("host", addr.to_string())
            .header("authorization", auth_header())
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let resp = send.send_request(req).await.map_err(|e| e.to_string())?;
        let text = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let text = String::from_utf8_lossy(&text);
        let over = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("drainscale_drain_ingested_events_total{result=\"over_cap\"} ")
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok::<u64, String>(over)
    })?;
    peaks.push((RSS_BUCKETS, vm_hwm(pid)?));
    drop(child.stdin.take()); // the child exits when its stdin closes
    let _ = child.wait();
    Ok((idle, peaks, over_cap))
}

/// Starts this bench again as a child drain (on CPU `cpu` when given, through `taskset`) with `workers` tokio
/// worker threads; returns it with its address and pid.
fn spawn_child(
    cpu: Option<&str>,
    workers: usize,
) -> Result<(std::process::Child, SocketAddr, u32), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = match cpu {
        Some(cpu) => {
            let mut c = std::process::Command::new("taskset");
            c.args(["-c", cpu]).arg(exe);
            c
        }
        None => std::process::Command::new(exe),
    };
    let mut child = command
        .env(CHILD_ENV, "1")
        .env(CHILD_WORKERS_ENV, workers.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawning the child drain: {e}"))?;
    // `taskset` executes the program in its own process: the pid is the drain's.
    let pid = child.id();
    let mut out = std::io::BufReader::new(child.stdout.take().ok_or("no child stdout")?);
    let mut first = String::new();
    out.read_line(&mut first).map_err(|e| e.to_string())?;
    let addr: SocketAddr = first
        .trim()
        .parse()
        .map_err(|e| format!("child said {first:?}: {e}"))?;
    Ok((child, addr, pid))
}

fn vm_hwm(pid: u32) -> Result<u64, String> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmHWM in /proc status".to_string())
}

/// The child: a drain with a window store, serving until stdin closes. Prints its address first.
fn child_drain() {
    let workers = std::env::var(CHILD_WORKERS_ENV)
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = Server::bind(drain_config(), window_store(), Pages::default()).unwrap();
        println!("{}", server.local_addr());
        std::io::stdout().flush().unwrap();
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin()
                .read_line(&mut sink)
                .map(|n| n > 0)
                .unwrap_or(false)
            {}
        });
        server
            .run_until(async {
                let _ = stdin_closed.await;
            })
            .await
            .unwrap();
    });
}
