//! The parser's throughput on a generated, realistic, mixed corpus (`logplex::corpus`), with two in-run
//! baselines: the floor (memchr finding every newline, i.e. touching each byte once) and the peer
//! (`syslog_loose`, Vector's syslog parser, on the same frames in log-shuttle's `- -` form, which is the only
//! form it can read). `parse_bytes` reports bytes/s, `parse_lines` lines/s.
//!
//! Run: `cargo bench --bench parse -- --measurement-time 3 --warm-up-time 1`.

use criterion::{criterion_group, Criterion, Throughput};
use drainscale::logplex::corpus::{Corpus, Form};
use drainscale::logplex::frame::{Frame, Frames};
use drainscale::logplex::{logfmt, parse_body};
use std::hint::black_box;

const SEED: u64 = 42;
const BODY_BYTES: usize = 4 << 20;

/// Our whole parse: body to typed events, taken the way the drain takes them (`Events::take_into`, a chunk at a
/// time). Returns the event count so nothing is optimised away.
fn drainscale_full(body: &[u8]) -> usize {
    let mut events = parse_body(body);
    while events.take_into(4096, |event| {
        black_box(&event);
    }) > 0
    {}
    events.stats().events as usize
}

/// The peer: the same octet-counted body split by our splitter, each frame parsed by `syslog_loose`.
fn syslog_loose_full(body: &[u8]) -> usize {
    let mut n = 0;
    for frame in Frames::new(body) {
        if let Frame::Good { text, .. } = frame {
            if let Ok(text) = std::str::from_utf8(text) {
                let msg = syslog_loose::parse_message(text, syslog_loose::Variant::Either);
                black_box(&msg);
                n += 1;
            }
        }
    }
    n
}

fn frames_only(body: &[u8]) -> usize {
    Frames::new(body)
        .inspect(|f| {
            black_box(f);
        })
        .count()
}

/// The splitter and the UTF-8 decision `parse_body` makes per frame, nothing else: the frame layer's own cost.
fn frames_utf8(body: &[u8]) -> usize {
    Frames::new(body)
        .filter(|f| match *f {
            Frame::Good { ascii: true, .. } => true,
            Frame::Good { text, .. } => std::str::from_utf8(black_box(text)).is_ok(),
            Frame::Damaged { .. } => false,
        })
        .count()
}

fn memchr_floor(body: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', body).count()
}

fn bench(c: &mut Criterion) {
    let heroku = Corpus::new(SEED).body(BODY_BYTES);
    let shuttle = Corpus::new(SEED)
        .with_form(Form::LogShuttle)
        .body(BODY_BYTES);
    assert_eq!(memchr_floor(&heroku.bytes), heroku.frames);
    assert!(drainscale_full(&heroku.bytes) >= heroku.frames);
    assert_eq!(syslog_loose_full(&shuttle.bytes), shuttle.frames);
    eprintln!(
        "corpus: {} frames, {} bytes ({:.0} bytes/frame); log-shuttle form {} frames, {} bytes",
        heroku.frames,
        heroku.bytes.len(),
        heroku.bytes.len() as f64 / heroku.frames as f64,
        shuttle.frames,
        shuttle.bytes.len()
    );

    let mut bytes = c.benchmark_group("parse_bytes");
    bytes.throughput(Throughput::Bytes(heroku.bytes.len() as u64));
    bytes.bench_function("floor_memchr_newlines", |b| {
        b.iter(|| memchr_floor(black_box(&heroku.bytes)))
    });
    bytes.bench_function("frames_only", |b| {
        b.iter(|| frames_only(black_box(&heroku.bytes)))
    });
    bytes.bench_function("drainscale_full", |b| {
        b.iter(|| drainscale_full(black_box(&heroku.bytes)))
    });
    bytes.finish();

    let mut lines = c.benchmark_group("parse_lines");
    lines.throughput(Throughput::Elements(heroku.frames as u64));
    lines.bench_function("drainscale_full_heroku", |b| {
        b.iter(|| drainscale_full(black_box(&heroku.bytes)))
    });
    lines.throughput(Throughput::Elements(shuttle.frames as u64));
    lines.bench_function("drainscale_full_log_shuttle", |b| {
        b.iter(|| drainscale_full(black_box(&shuttle.bytes)))
    });
    lines.bench_function("syslog_loose_log_shuttle", |b| {
        b.iter(|| syslog_loose_full(black_box(&shuttle.bytes)))
    });
    lines.finish();

    // The hottest inner loop, logfmt, hand-written vs the same grammar in nom (the reason the loop is used).
    let messages: Vec<&str> = Frames::new(&heroku.bytes)
        .filter_map(|f| match f {
            Frame::Good { text, .. } => drainscale::logplex::syslog::parse_frame(text).ok(),
            Frame::Damaged { .. } => None,
        })
        .filter_map(|h| std::str::from_utf8(h.message).ok())
        .take(20_000)
        .collect();
    let mut logfmt = c.benchmark_group("logfmt");
    logfmt.throughput(Throughput::Elements(messages.len() as u64));
    logfmt.bench_function("hand_loop", |b| {
        b.iter(|| {
            messages
                .iter()
                .map(|m| {
                    logfmt::pairs(m)
                        .inspect(|p| {
                            black_box(p);
                        })
                        .count()
                })
                .sum::<usize>()
        })
    });
    logfmt.bench_function("nom_reference", |b| {
        b.iter(|| {
            messages
                .iter()
                .map(|m| {
                    logfmt::reference::pairs(m)
                        .inspect(|p| {
                            black_box(p);
                        })
                        .count()
                })
                .sum::<usize>()
        })
    });
    logfmt.finish();
}

criterion_group!(benches, bench);

/// `PARSE_BENCH_ONLY=<drainscale|drainscale_heroku|syslog_loose|frames> PARSE_BENCH_ROUNDS=N` parses the corpus N times with one parser
/// and exits, for `perf stat -e instructions` (a load-independent count on a shared machine).
fn only(which: &str) {
    let rounds: usize = std::env::var("PARSE_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let (form, parse): (Form, fn(&[u8]) -> usize) = match which {
        "syslog_loose" => (Form::LogShuttle, syslog_loose_full),
        "frames" => (Form::LogShuttle, frames_utf8),
        "drainscale_heroku" => (Form::Heroku, drainscale_full),
        _ => (Form::LogShuttle, drainscale_full),
    };
    let body = Corpus::new(SEED).with_form(form).body(BODY_BYTES);
    let n: usize = (0..rounds).map(|_| parse(black_box(&body.bytes))).sum();
    eprintln!(
        "{which}: {rounds} rounds of {} frames ({n} items)",
        body.frames
    );
}

/// Seconds `f` takes over `body`, once.
fn time(f: fn(&[u8]) -> usize, body: &[u8]) -> f64 {
    let start = std::time::Instant::now();
    black_box(f(black_box(body)));
    start.elapsed().as_secs_f64()
}

/// The median of `v`, which is left sorted (so its first and last are the minimum and maximum).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `PARSE_BENCH_RATIO=N`: N rounds, each timing our full parse and `syslog_loose` on the log-shuttle corpus (and
/// our parse on the Heroku corpus) back to back, in alternating order; prints the median of the per-round ratios.
/// On a shared machine whose speed drifts within seconds, ratios of neighbouring timings are steadier than
/// criterion's separate groups.
fn ratio(rounds: usize) {
    let heroku = Corpus::new(SEED).body(BODY_BYTES);
    let shuttle = Corpus::new(SEED)
        .with_form(Form::LogShuttle)
        .body(BODY_BYTES);
    let (mut lines, mut bytes) = (Vec::new(), Vec::new());
    let (mut ours_lines, mut peer_lines) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (ours, peer, ours_heroku) = if round % 2 == 0 {
            let o = time(drainscale_full, &shuttle.bytes);
            let p = time(syslog_loose_full, &shuttle.bytes);
            (o, p, time(drainscale_full, &heroku.bytes))
        } else {
            let h = time(drainscale_full, &heroku.bytes);
            let p = time(syslog_loose_full, &shuttle.bytes);
            (time(drainscale_full, &shuttle.bytes), p, h)
        };
        lines.push(peer / ours);
        ours_lines.push(shuttle.frames as f64 / ours);
        peer_lines.push(shuttle.frames as f64 / peer);
        bytes.push(heroku.bytes.len() as f64 / ours_heroku);
    }
    println!(
        "{rounds} rounds: full parse / syslog_loose lines/s, median {:.2} (min {:.2}, max {:.2}); full parse, Heroku form, median {:.0} MB/s",
        median(&mut lines),
        lines[0],
        lines[lines.len() - 1],
        median(&mut bytes) / 1e6
    );
    println!(
        "  log-shuttle form, median lines/s: full parse {:.2} M, syslog_loose {:.2} M",
        median(&mut ours_lines) / 1e6,
        median(&mut peer_lines) / 1e6
    );
}

/// The kind of line a log-shuttle frame carries, for [`kinds`]: by its header and the shape of its message.
fn kind_of(frame: &[u8]) -> &'static str {
    let Ok(header) = drainscale::logplex::syslog::parse_frame(frame) else {
        return "bad";
    };
    let message = String::from_utf8_lossy(header.message);
    match (header.app, header.procid) {
        ("heroku", "router") if message.starts_with("at=error") => "router error",
        ("heroku", "router") => "router",
        ("heroku", "logplex") => "L10",
        ("heroku", _) => "dyno runtime metrics",
        _ if message.contains(" addon=") => "add-on metrics",
        _ if message.contains('#') => "app l2met",
        _ => "app plain",
    }
}

/// `PARSE_BENCH_KINDS=N`: the log-shuttle corpus split by kind of line (each kind's frames in a body of its own,
/// plus all of them grouped by kind), N rounds timing our parse and `syslog_loose` on each body back to back;
/// prints median ns per frame and the ratio per kind. Shows where the time goes, and (mixed vs grouped) what
/// the line-to-line change of kind costs in mispredicted branches.
fn kinds(rounds: usize) {
    let shuttle = Corpus::new(SEED)
        .with_form(Form::LogShuttle)
        .body(BODY_BYTES);
    let mut bodies: Vec<(&str, Vec<u8>, usize)> = Vec::new();
    for frame in Frames::new(&shuttle.bytes) {
        let Frame::Good { text, .. } = frame else {
            continue;
        };
        let kind = kind_of(text);
        let at = match bodies.iter().position(|b| b.0 == kind) {
            Some(at) => at,
            None => {
                bodies.push((kind, Vec::new(), 0));
                bodies.len() - 1
            }
        };
        // `text` is the frame without its newline; the count includes it.
        let body = &mut bodies[at];
        body.1
            .extend_from_slice(format!("{} ", text.len() + 1).as_bytes());
        body.1.extend_from_slice(text);
        body.1.push(b'\n');
        body.2 += 1;
    }
    let grouped: Vec<u8> = bodies.iter().flat_map(|b| b.1.iter().copied()).collect();
    bodies.push(("all, grouped by kind", grouped, shuttle.frames));
    bodies.push((
        "all, mixed (the corpus)",
        shuttle.bytes.clone(),
        shuttle.frames,
    ));
    println!("{rounds} rounds, median ns per frame: kind, frames, full parse, syslog_loose, ratio");
    for (kind, body, frames) in &bodies {
        let (mut ours, mut peer) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let (o, p) = if round % 2 == 0 {
                let o = time(drainscale_full, body);
                (o, time(syslog_loose_full, body))
            } else {
                let p = time(syslog_loose_full, body);
                (time(drainscale_full, body), p)
            };
            ours.push(o * 1e9 / *frames as f64);
            peer.push(p * 1e9 / *frames as f64);
        }
        let (o, p) = (median(&mut ours), median(&mut peer));
        println!("  {kind:24} {frames:6} {o:7.1} {p:7.1} {:6.2}", p / o);
    }
}

fn main() {
    if let Ok(which) = std::env::var("PARSE_BENCH_ONLY") {
        return only(&which);
    }
    if let Some(rounds) = std::env::var("PARSE_BENCH_KINDS")
        .ok()
        .and_then(|r| r.parse::<usize>().ok())
    {
        return kinds(rounds.max(1));
    }
    if let Some(rounds) = std::env::var("PARSE_BENCH_RATIO")
        .ok()
        .and_then(|r| r.parse::<usize>().ok())
    {
        return ratio(rounds.max(1));
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
