//! Hostile input against the real binary's memory: each attack runs against its own `drainscale run` child
//! with the default limits, and the child's peak resident size (`VmHWM` in `/proc/<pid>/status`) must stay under
//! the documented budget ([`BUDGET_MIB`], README "Memory budget"). After each attack router lines are still
//! counted, and the `/metrics` page stays bounded.
//!
//! Bodies are logplex's own shape (octet-counted frames, RFC 5424 headers with logplex's timestamps, a fresh
//! `Logplex-Frame-Id` per body) over real sockets on 127.0.0.1. Linux only (it reads `/proc`).

use flate2::write::GzEncoder;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// The documented peak for the default limits (README "Memory budget"): fits a 512 MB dyno with room to spare.
const BUDGET_MIB: u64 = 400;
/// The documented bound on the `/metrics` page with the default limits.
const PAGE_MIB: usize = 32;

const USER: &str = "logplex";
const PASSWORD: &str = "hostile-pw";

static FRAME_ID: AtomicU64 = AtomicU64::new(1);

struct Drain {
    child: Child,
    client: Client,
}

/// A plain HTTP/1.1 client, one connection per request.
#[derive(Clone)]
struct Client {
    addr: String,
}

impl Drain {
    fn start() -> Drain {
        Drain::start_flushing_every("1s")
    }

    /// A drain whose outlets flush every `interval` (a long one plays a stuck flush: nothing leaves the store).
    fn start_flushing_every(interval: &str) -> Drain {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("drainscale.yaml");
        // Defaults everywhere but the listener, credentials and a quick flush so router data reaches the page.
        let config = format!(
            r#"
drain:
  listen: "127.0.0.1:0"
  auth:
    users: [{{user: {USER}, password: {PASSWORD}}}]
windows:
  grace: 0s
outlets:
  flush_interval: {interval}
"#
        );
        std::fs::write(&path, config).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_drainscale"))
            .arg("run")
            .arg(&path)
            .env("RUST_LOG", "warn,drainscale::drain::server=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start drainscale");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("drain listening addr=").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                } else if line.len() < 2000 {
                    eprintln!("[drainscale] {line}");
                } else {
                    eprintln!("[drainscale] {}... ({} bytes)", &line[..200], line.len());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("drainscale logs its listening address");
        drop(dir);
        Drain {
            child,
            client: Client { addr },
        }
    }

    /// Peak resident size so far, MiB.
    fn peak_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/<pid>/status");
        let kib: u64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .expect("VmHWM");
        kib / 1024
    }

    /// Router lines stamped now, then waits for the flush to count them on the page: the value of
    /// `drainscale_router_requests_total` once it reaches at least `n` more than before.
    fn router_lines_still_counted(&self, n: usize) {
        let before = router_total(&self.client.metrics().1);
        assert_eq!(
            self.client.post(&body(router_lines(n, "web.1")), false),
            200
        );
        for _ in 0..100 {
            let now = router_total(&self.client.metrics().1);
            if now >= before + n as f64 {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("router lines posted after the attack were not counted on /metrics");
    }

    fn assert_within_budget(&self, attack: &str) {
        let peak = self.peak_mib();
        eprintln!("{attack}: peak RSS {peak} MiB (budget {BUDGET_MIB} MiB)");
        assert!(
            peak < BUDGET_MIB,
            "{attack}: peak RSS {peak} MiB over the {BUDGET_MIB} MiB budget"
        );
    }
}

impl Client {
    /// POSTs a body (gzipped when asked) with a fresh Frame-Id; the status code.
    fn post(&self, body: &[u8], gzip: bool) -> u16 {
        let payload = if gzip { gz(body) } else { body.to_vec() };
        let id = FRAME_ID.fetch_add(1, Ordering::Relaxed);
        let mut head = format!(
            "POST /logs HTTP/1.1\r\nHost: drain\r\nAuthorization: Basic {}\r\nContent-Type: application/logplex-1\r\nLogplex-Frame-Id: {id:032x}\r\nContent-Length: {}\r\nConnection: close\r\n",
            basic(),
            payload.len()
        );
        if gzip {
            head.push_str("Content-Encoding: gzip\r\n");
        }
        head.push_str("\r\n");
        let (status, _) = self.request(head.as_bytes(), &payload);
        status
    }

    /// GETs `/metrics`: status and page.
    fn metrics(&self) -> (u16, String) {
        let head = format!(
            "GET /metrics HTTP/1.1\r\nHost: drain\r\nAuthorization: Basic {}\r\nConnection: close\r\n\r\n",
            basic()
        );
        let (status, body) = self.request(head.as_bytes(), b"");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn request(&self, head: &[u8], body: &[u8]) -> (u16, Vec<u8>) {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(120))).ok();
        s.write_all(head).expect("send head");
        s.write_all(body).expect("send body");
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).expect("read answer");
        let text_end = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete response head");
        let head = String::from_utf8_lossy(&answer[..text_end]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("status code");
        let mut rest = answer[text_end + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            rest = dechunk(&rest);
        }
        (status, rest)
    }
}

impl Drop for Drain {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn basic() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..eol])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
}

/// Logplex's timestamp form, now minus `back` seconds.
fn stamp(back: i64) -> String {
    let t = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(back);
    // As logplex writes it: microseconds and a `+00:00` offset.
    format!("{t:.6}").replace('Z', "+00:00")
}

/// Octet-counted frames around `messages` (each `(app name, procid, text)`).
fn body(messages: Vec<(String, String, String)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (app, procid, msg) in messages {
        let frame = format!("<190>1 {} host {app} {procid} - {msg}\n", stamp(0));
        out.extend(format!("{} {frame}", frame.len()).into_bytes());
    }
    out
}

fn body_at(back: i64, messages: impl Iterator<Item = String>) -> Vec<u8> {
    let ts = stamp(back);
    let mut out = Vec::new();
    for msg in messages {
        let frame = format!("<190>1 {ts} host app web.1 - {msg}\n");
        out.extend(format!("{} {frame}", frame.len()).into_bytes());
    }
    out
}

fn router_lines(n: usize, dyno: &str) -> Vec<(String, String, String)> {
    (0..n)
        .map(|i| {
            (
                "heroku".to_string(),
                "router".to_string(),
                format!(
                    "at=info method=GET path=\"/p/{i}\" host=shop.herokuapp.com request_id=r{i} fwd=\"10.0.0.1\" dyno={dyno} connect=1ms service=12ms status=200 bytes=512 protocol=https"
                ),
            )
        })
        .collect()
}

fn router_total(page: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix("drainscale_router_requests_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

fn page_series(page: &str) -> usize {
    page.lines().filter(|l| !l.starts_with('#')).count()
}

#[test]
fn a_flood_of_distinct_names_and_concurrent_scrapes_stay_bounded() {
    let drain = Drain::start();
    // 300,000 distinct measure names over 60 bodies (the store holds 10,000 series), scraped while it arrives.
    for round in 0..60 {
        let lines = (0..5000).map(|i| format!("measure#flood.{round}.{i}={i}ms"));
        assert_eq!(drain.client.post(&body_at(0, lines), true), 200);
        if round % 10 == 9 {
            let scrapes: Vec<_> = (0..3)
                .map(|_| {
                    let client = drain.client.clone();
                    std::thread::spawn(move || client.metrics())
                })
                .collect();
            for s in scrapes {
                let (status, page) = s.join().expect("scrape");
                assert_eq!(status, 200);
                assert!(page.len() < PAGE_MIB << 20, "page of {} bytes", page.len());
            }
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
    let (_, page) = drain.client.metrics();
    assert!(page.len() < PAGE_MIB << 20, "page of {} bytes", page.len());
    assert!(
        page_series(&page) < 10_000 * 12,
        "{} samples on the page",
        page_series(&page)
    );
    drain.router_lines_still_counted(50);
    drain.assert_within_budget("distinct-name flood");
}

#[test]
fn long_dyno_values_names_and_sources_stay_bounded() {
    let drain = Drain::start();
    // Router lines with 30 KB dyno values, 1000 per body (gzip makes them small on the wire).
    for round in 0..4 {
        let dyno = format!("{round}{}", "d".repeat(30_000));
        let lines = (0..1000)
            .map(|i| {
                (
                    "heroku".to_string(),
                    "router".to_string(),
                    format!("at=info method=GET path=\"/\" dyno={dyno}{i} connect=1ms service=3ms status=200 bytes=1"),
                )
            })
            .collect();
        assert_eq!(drain.client.post(&body(lines), true), 200);
    }
    // Five 1 MiB metric names and five 1 MiB sources in one gzipped body.
    let huge = "n".repeat(1 << 20);
    let lines = (0..5)
        .map(|i| format!("measure#{huge}{i}=1ms"))
        .chain((0..5).map(|i| format!("source={huge}{i} measure#db.query=1ms")));
    assert_eq!(drain.client.post(&body_at(0, lines), true), 200);
    std::thread::sleep(Duration::from_millis(1500));
    let (_, page) = drain.client.metrics();
    assert!(page.len() < 1 << 20, "page of {} bytes", page.len());
    assert!(
        page.lines().all(|l| l.len() < 4096),
        "a line of the page is over 4 KiB"
    );
    let too_long = page
        .lines()
        .find_map(|l| {
            l.strip_prefix("drainscale_drain_ingested_events_total{result=\"too_long\"} ")
        })
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    assert_eq!(too_long, 10.0, "long names and sources refused and counted");
    drain.router_lines_still_counted(50);
    drain.assert_within_budget("long dynos, names and sources");
}

#[test]
fn sketches_and_distinct_counts_grown_in_every_bucket_stay_within_the_store_budget() {
    // No flush: everything stays in the store (the worst case). Unique series past the exact limit hold 4 KiB of
    // registers each: 45 buckets x 800 series would be about 150 MB, past the 96 MiB budget.
    let drain = Drain::start_flushing_every("1h");
    let members: Vec<String> = (0..70).map(|m| format!("u{m}")).collect();
    for bucket in 0..45i64 {
        let mut lines = Vec::with_capacity(800 * 70);
        for series in 0..800 {
            for m in &members {
                lines.push(format!("unique#visitors.{series}={m}"));
            }
        }
        assert_eq!(
            drain
                .client
                .post(&body_at(bucket * 10 + 5, lines.into_iter()), true),
            200
        );
    }
    let (_, page) = drain.client.metrics();
    let value = |prefix: &str| {
        page.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{prefix} on the page"))
    };
    let held = value("drainscale_window_bytes ");
    let refused = value("drainscale_drain_ingested_events_total{result=\"over_bytes\"} ");
    eprintln!("store holds {held} bytes, refused {refused} events over the budget");
    assert!(refused > 0.0, "the budget was never reached");
    assert!(held <= (96 << 20) as f64 * 1.05, "store holds {held} bytes");
    // Router lines are still taken: the drain's accepted count grows by them.
    let accepted = value("drainscale_drain_ingested_events_total{result=\"accepted\"} ");
    assert_eq!(
        drain.client.post(&body(router_lines(50, "web.1")), false),
        200
    );
    let (_, page) = drain.client.metrics();
    let after = page
        .lines()
        .find_map(|l| {
            l.strip_prefix("drainscale_drain_ingested_events_total{result=\"accepted\"} ")
        })
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    assert_eq!(after, accepted + 50.0);
    drain.assert_within_budget("sketch and distinct-count growth, no flush");
}

#[test]
fn made_up_router_statuses_stay_bounded() {
    let drain = Drain::start();
    // 65,536 distinct statuses in one bucket.
    for chunk in 0..8u32 {
        let lines = (0..8192u32)
            .map(|i| {
                let status = chunk * 8192 + i;
                (
                    "heroku".to_string(),
                    "router".to_string(),
                    format!("at=info method=GET path=\"/\" dyno=web.1 connect=1ms service=3ms status={status} bytes=1"),
                )
            })
            .collect();
        assert_eq!(drain.client.post(&body(lines), true), 200);
    }
    std::thread::sleep(Duration::from_millis(1500));
    let (_, page) = drain.client.metrics();
    let statuses = page
        .lines()
        .filter(|l| l.starts_with("drainscale_router_status_") && !l.contains("xx"))
        .count();
    assert!(statuses <= 64, "{statuses} exact statuses on the page");
    drain.router_lines_still_counted(50);
    drain.assert_within_budget("made-up statuses");
}
