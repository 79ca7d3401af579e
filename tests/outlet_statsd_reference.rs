//! The statsd outlet against the reference statsd daemon (Etsy's `statsd` from npm, run by node as a child
//! process on free loopback ports): a corpus of drain traffic goes through the real parser, the window store and
//! the outlet with its default pacing, and the daemon's counters (read on its management TCP port) must equal
//! the corpus truth counted straight from the parser, its gauges the last flushed values, and it must have
//! received every line and datagram the outlet counts as sent.
//!
//! The daemon is found through `DRAINSCALE_STATSD_BIN` (its `bin/statsd`), then `statsd` on `PATH`, then the
//! npm global prefix. When it is absent the test fails and says how to install it (`.ci/run` does).

use drainscale::logplex::corpus::Corpus;
use drainscale::logplex::{parse_body, EventKind};
use drainscale::outlet::statsd::StatsdOutlet;
use drainscale::outlet::StatsdConfig;
use drainscale::window::{EventSink, FlushedValue, Store, WindowConfig};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const INSTALL: &str = "the reference statsd daemon is not installed: run `npm install -g statsd@0.9.0` \
                       (.ci/run does this when it is absent), or set DRAINSCALE_STATSD_BIN to its bin/statsd";

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn npm(arg: &[&str]) -> Option<PathBuf> {
    let out = Command::new("npm").args(arg).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(text.trim()))
}

/// The daemon's `bin/statsd`, wherever npm put it.
fn daemon_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("DRAINSCALE_STATSD_BIN") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "DRAINSCALE_STATSD_BIN={p:?} is not a file; {INSTALL}"
        );
        return p;
    }
    on_path("statsd")
        .or_else(|| npm(&["prefix", "-g"]).map(|p| p.join("bin/statsd")))
        .filter(|p| p.is_file())
        .or_else(|| npm(&["root", "-g"]).map(|p| p.join("statsd/bin/statsd")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| panic!("{INSTALL}"))
}

/// The daemon as a child process; killed when dropped.
struct Daemon {
    child: Child,
    udp_port: u16,
    mgmt_port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Daemon {
    /// Starts the daemon with no backend and a flush interval longer than the test, so counters add up for its
    /// whole life; returns once its management port answers.
    fn start(bin: &Path) -> Daemon {
        let (udp_port, mgmt_port) = (free_udp_port(), free_tcp_port());
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("statsd.js");
        std::fs::write(
            &config,
            format!(
                "{{ port: {udp_port}, address: \"127.0.0.1\", mgmt_address: \"127.0.0.1\", \
                 mgmt_port: {mgmt_port}, flushInterval: 3600000, backends: [], \
                 automaticConfigReload: false, title: false }}\n"
            ),
        )
        .unwrap();
        let mut child = Command::new(bin)
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {bin:?} ({e}); {INSTALL}"));
        // Wait for "server is up" on its log, then for the management port.
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let daemon = Daemon {
            child,
            udp_port,
            mgmt_port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut log = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) if line.contains("server is up") => break,
                Ok(line) => log.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("statsd exited before it was up: {log:?}")
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            assert!(Instant::now() < deadline, "statsd not up: {log:?}");
        }
        while daemon.mgmt("health").is_err() {
            assert!(
                Instant::now() < deadline,
                "statsd management port not answering"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }

    /// One management command's answer.
    fn mgmt(&self, command: &str) -> std::io::Result<String> {
        let mut conn = TcpStream::connect(("127.0.0.1", self.mgmt_port))?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        conn.write_all(format!("{command}\n").as_bytes())?;
        let mut answer = Vec::new();
        let mut buf = [0u8; 65536];
        let end: &[u8] = if command == "health" {
            b"\n"
        } else {
            b"END\n\n"
        };
        while !answer.ends_with(end) {
            let n = conn.read(&mut buf)?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        Ok(String::from_utf8_lossy(&answer).into_owned())
    }

    /// `counters` or `gauges`, read from node's `util.inspect` text.
    fn values(&self, command: &str) -> BTreeMap<String, f64> {
        parse_inspect(&self.mgmt(command).unwrap())
    }
}

/// `{ 'a.b': 1, 'c': -2.5 }` (node's `util.inspect` of a flat object of numbers) as a map.
fn parse_inspect(text: &str) -> BTreeMap<String, f64> {
    let (Some(open), Some(close)) = (text.find('{'), text.rfind('}')) else {
        panic!("not an object: {text:?}");
    };
    let mut rest = &text[open + 1..close];
    let mut out = BTreeMap::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        if rest.is_empty() {
            return out;
        }
        let (key, after) = match rest.chars().next() {
            Some(q @ ('\'' | '"')) => {
                let end = rest[1..].find(q).unwrap() + 1;
                (&rest[1..end], &rest[end + 1..])
            }
            _ => {
                let end = rest.find(':').unwrap();
                (rest[..end].trim(), &rest[end..])
            }
        };
        let after = after.trim_start().strip_prefix(':').unwrap().trim_start();
        let end = after
            .find(|c: char| c == ',' || c == '}' || c.is_whitespace())
            .unwrap_or(after.len());
        let value: f64 = after[..end]
            .parse()
            .unwrap_or_else(|e| panic!("{key}: {:?}: {e}", &after[..end]));
        out.insert(key.to_string(), value);
        rest = &after[end..];
    }
}

#[test]
fn inspect_text_parses() {
    let got = parse_inspect(
        "{\n  'statsd.bad_lines_seen': 0,\n  'a.b-c': -1.5e+21, plain: 3\n}\nEND\n\n",
    );
    assert_eq!(got.len(), 3);
    assert_eq!(got["statsd.bad_lines_seen"], 0.0);
    assert_eq!(got["a.b-c"], -1.5e21);
    assert_eq!(got["plain"], 3.0);
}

/// The corpus and what the daemon's counters must read, counted straight from the parser.
struct Truth {
    bodies: Vec<Vec<u8>>,
    counters: BTreeMap<String, f64>,
    last_ts: i64,
}

fn corpus_truth() -> Truth {
    let mut corpus = Corpus::new(10);
    let bodies: Vec<Vec<u8>> = (0..40).map(|_| corpus.body(100_000).bytes).collect();
    let mut counters = BTreeMap::new();
    let mut add = |key: String, n: f64| *counters.entry(key).or_insert(0.0) += n;
    let mut last_ts = 0;
    for body in &bodies {
        for event in parse_body(body) {
            last_ts = last_ts.max(event.meta.timestamp);
            match event.kind {
                EventKind::Router(r) => {
                    add("drainscale.router.requests".into(), 1.0);
                    if let Some(status) = r.status() {
                        add(format!("drainscale.router.status.{}xx", status / 100), 1.0);
                        add(format!("drainscale.router.status.{status}"), 1.0);
                    }
                    // Every bucket sends `router.errors`, 0 or not.
                    add("drainscale.router.errors".into(), 0.0);
                    if let Some(code) = r.code() {
                        add("drainscale.router.errors".into(), 1.0);
                        add(format!("drainscale.router.error.{code}"), 1.0);
                    }
                    if r.connect_ms().is_some() {
                        add("drainscale.router.connect.count".into(), 1.0);
                    }
                    if r.service_ms().is_some() {
                        add("drainscale.router.service.count".into(), 1.0);
                    }
                    if let Some(dyno) = r.dyno() {
                        add(format!("drainscale.router.dyno.requests.{dyno}"), 1.0);
                    }
                }
                EventKind::Measure(m) => {
                    let src = m.source.map(|s| format!(".{s}")).unwrap_or_default();
                    add(format!("drainscale.{}{src}.count", m.name), 1.0);
                }
                EventKind::Count(m) => {
                    let src = m.source.map(|s| format!(".{s}")).unwrap_or_default();
                    add(format!("drainscale.{}{src}", m.name), m.value);
                }
                _ => {}
            }
        }
    }
    Truth {
        bodies,
        counters,
        last_ts,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_daemon_receives_every_line_of_a_corpus_flush() {
    let bin = daemon_bin();
    let daemon = Daemon::start(&bin);
    let truth = corpus_truth();

    // One-second buckets over the corpus' span: an ordinary flush of a few thousand lines.
    let now = truth.last_ts + 5_000_000;
    let store = Store::new(WindowConfig {
        resolution: Duration::from_secs(1),
        retention: Duration::from_secs(3600),
        ..WindowConfig::default()
    });
    for body in &truth.bodies {
        store.ingest(&mut parse_body(body), now);
    }
    let snapshot = store.flush_all(now);
    // The gauges the daemon must hold: each key's value in the newest bucket that has it.
    let mut buckets: Vec<_> = snapshot.buckets.iter().collect();
    buckets.sort_by_key(|b| b.start);
    let mut gauges = BTreeMap::new();
    let mut negative = 0;
    for bucket in &buckets {
        for s in &bucket.series {
            let src = s
                .source
                .as_ref()
                .map(|s| format!(".{s}"))
                .unwrap_or_default();
            let base = format!("drainscale.{}{src}", s.name);
            match &s.value {
                FlushedValue::Measure(m) => {
                    for (field, v) in &m.fields()[1..] {
                        gauges.insert(format!("{base}.{field}"), *v);
                    }
                }
                FlushedValue::Sample(v) => {
                    negative += usize::from(*v < 0.0);
                    gauges.insert(base, *v);
                }
                FlushedValue::Unique(n) => {
                    gauges.insert(base, *n as f64);
                }
                FlushedValue::Count(_) => {}
            }
        }
    }
    assert!(
        negative > 0,
        "the corpus has negative gauges (each sent as 0 then the value)"
    );

    let outlet = StatsdOutlet::new(&StatsdConfig {
        address: format!("127.0.0.1:{}", daemon.udp_port),
        ..StatsdConfig::default()
    })
    .unwrap();
    outlet.send_snapshot(&snapshot);
    outlet.shutdown(Duration::from_secs(60)).await;
    let stats = outlet.stats();
    eprintln!("flushed to the reference daemon: {stats:?}");
    assert_eq!(
        (
            stats.dropped,
            stats.send_failed,
            stats.unsent,
            stats.pending
        ),
        (0, 0, 0, 0),
        "{stats:?}"
    );
    assert_eq!(stats.sent, stats.queued);
    assert!(
        stats.datagrams >= 150,
        "an ordinary flush of ~150+ datagrams: {stats:?}"
    );

    // Wait until the daemon has read as many lines as were sent (or 30 s), then compare everything.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut counters = daemon.values("counters");
    while counters.get("statsd.metrics_received") < Some(&(stats.sent as f64))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
        counters = daemon.values("counters");
    }
    let own = |k: &str| counters.get(&format!("statsd.{k}")).copied();
    assert_eq!(
        (
            own("packets_received"),
            own("metrics_received"),
            own("bad_lines_seen")
        ),
        (
            Some(stats.datagrams as f64),
            Some(stats.sent as f64),
            Some(0.0)
        ),
        "the daemon got every datagram and line sent ({stats:?})"
    );
    let app: BTreeMap<String, f64> = counters
        .into_iter()
        .filter(|(k, _)| !k.starts_with("statsd."))
        .collect();
    let diff: Vec<_> = truth
        .counters
        .iter()
        .filter(|(k, v)| app.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: truth {v}, daemon {:?}", app.get(k)))
        .chain(
            app.keys()
                .filter(|k| !truth.counters.contains_key(*k))
                .map(|k| format!("{k}: not in the corpus")),
        )
        .collect();
    assert!(diff.is_empty(), "counters differ: {diff:#?}");
    assert!(truth.counters["drainscale.router.requests"] > 1000.0);

    let daemon_gauges = daemon.values("gauges");
    let gauge_diff: Vec<_> = gauges
        .iter()
        .filter(|(k, v)| daemon_gauges.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: flushed {v}, daemon {:?}", daemon_gauges.get(k)))
        .collect();
    assert!(gauge_diff.is_empty(), "gauges differ: {gauge_diff:#?}");
    assert_eq!(daemon_gauges.len(), gauges.len());
}
