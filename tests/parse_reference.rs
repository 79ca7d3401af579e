//! Every sample line in the Heroku drain reference, through the whole parser (`parse_body`), in both the
//! octet-counted (HTTPS drain and log-shuttle) forms and as newline-delimited lines.

use drainscale::logplex::{parse_body, BadReason, Event, EventKind, Metric, Text};

const TS: &str = "2012-07-22T00:06:26.123456+00:00";
const TS_MICROS: i64 = 1_342_915_586_123_456;

const ROUTER_INFO: &str = r#"at=info method=GET path="/cart_link" host=shop.example.com request_id=05726858-c44e-4f94-9a20-37df73be9006 fwd="73.75.38.87" dyno=web.1 connect=1ms service=22ms status=304 bytes=656 protocol=https"#;
const ROUTER_ERROR: &str = r#"at=error code=H12 desc="Request timeout" method=GET path="/" host=myapp.herokuapp.com request_id=... fwd="204.204.204.204" dyno=web.1 connect=0ms service=30000ms status=503 bytes=0 protocol=https"#;
const LOAD: &str = "source=web.1 dyno=heroku.2808254.d97d0ea7-... sample#load_avg_1m=2.46 sample#load_avg_5m=1.06 sample#load_avg_15m=0.99";
const MEMORY: &str = "source=web.1 dyno=heroku.2808254.d97d0ea7-... sample#memory_total=21.00MB sample#memory_rss=21.22MB sample#memory_quota=512.00MB sample#memory_pgpgin=348836pages";
const POSTGRES: &str = "source=DATABASE addon=postgresql-... sample#current_transaction=15365 sample#db_size=4347350804bytes sample#active-connections=6 sample#memory-postgres=181644kB";
const REDIS: &str = "source=REDIS addon=redis-... sample#active-connections=404 sample#load-avg-1m=0.115 sample#memory-redis=343477584bytes sample#hit-rate=0.7";
const L10: &str =
    "Error L10 (output buffer overflow): 500 messages dropped since 2013-04-17T19:04:46+00:00.";

/// The reference's samples as (app, procid, message).
fn samples() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("heroku", "router", ROUTER_INFO),
        ("heroku", "router", ROUTER_ERROR),
        ("heroku", "web.1", LOAD),
        ("heroku", "web.1", MEMORY),
        ("app", "heroku-postgres", POSTGRES),
        ("app", "heroku-redis", REDIS),
        ("heroku", "logplex", L10),
        (
            "app",
            "web.1",
            "measure#db.query=12.5ms count#x sample#memory_total=21.00MB unique#user=bob",
        ),
        ("erlang", "console", "Hi from erlang"),
    ]
}

/// An octet-counted body; `sd` adds log-shuttle's nil structured data.
fn counted_body(sd: bool) -> Vec<u8> {
    let mut body = Vec::new();
    for (app, procid, msg) in samples() {
        let sd = if sd { " -" } else { "" };
        let frame = format!("<190>1 {TS} host {app} {procid} -{sd} {msg}\n");
        body.extend(format!("{} {frame}", frame.len()).into_bytes());
    }
    body
}

fn lines_body() -> Vec<u8> {
    let mut body = String::new();
    for (app, procid, msg) in samples() {
        body.push_str(&format!("<190>1 {TS} host {app} {procid} - {msg}\n"));
    }
    body.into_bytes()
}

fn heroku_logs_body() -> Vec<u8> {
    let mut body = String::new();
    for (app, procid, msg) in samples() {
        body.push_str(&format!("{TS} {app}[{procid}]: {msg}\n"));
    }
    body.into_bytes()
}

fn metric(
    name: &str,
    value: f64,
    unit: &str,
    source: Option<&str>,
) -> (String, f64, String, Option<String>) {
    (
        name.to_string(),
        value,
        unit.to_string(),
        source.map(str::to_string),
    )
}

fn owned(m: &Metric<'_>) -> (String, f64, String, Option<String>) {
    metric(m.name, m.value, m.unit, m.source)
}

fn check_events(events: &[Event<'_>]) {
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
    let mut expected = vec!["router", "router"];
    expected.extend(["sample"; 3 + 4 + 4 + 4]);
    expected.push("l10");
    expected.extend(["measure", "count", "sample", "unique", "line"]);
    assert_eq!(kinds, expected);
    for e in events {
        assert_eq!(e.meta.timestamp, TS_MICROS);
    }

    let EventKind::Router(info) = events[0].kind else {
        panic!("not router: {:?}", events[0])
    };
    assert_eq!(
        (events[0].meta.app, events[0].meta.procid),
        ("heroku", "router")
    );
    assert!(!info.error());
    assert_eq!(info.method(), Some("GET"));
    assert_eq!(info.path(), Some(Text::plain("/cart_link")));
    assert_eq!(info.host(), Some("shop.example.com"));
    assert_eq!(
        info.request_id(),
        Some("05726858-c44e-4f94-9a20-37df73be9006")
    );
    assert_eq!(info.fwd(), Some(Text::plain("73.75.38.87")));
    assert_eq!(info.dyno(), Some("web.1"));
    assert_eq!(
        (info.connect_ms(), info.service_ms()),
        (Some(1.0), Some(22.0))
    );
    assert_eq!(
        (info.status(), info.bytes(), info.protocol()),
        (Some(304), Some(656), Some("https"))
    );

    let EventKind::Router(err) = events[1].kind else {
        panic!("not router: {:?}", events[1])
    };
    assert!(err.error());
    assert_eq!(err.code(), Some("H12"));
    assert_eq!(
        err.desc().map(|d| d.unescape().into_owned()),
        Some("Request timeout".to_string())
    );
    assert_eq!(
        (err.service_ms(), err.status(), err.bytes()),
        (Some(30000.0), Some(503), Some(0))
    );

    let samples: Vec<_> = events[2..17]
        .iter()
        .map(|e| match &e.kind {
            EventKind::Sample(m) => owned(m),
            other => panic!("not a sample: {other:?}"),
        })
        .collect();
    assert_eq!(samples[0], metric("load_avg_1m", 2.46, "", Some("web.1")));
    assert_eq!(samples[2], metric("load_avg_15m", 0.99, "", Some("web.1")));
    assert_eq!(
        samples[3],
        metric("memory_total", 21.0, "MB", Some("web.1"))
    );
    assert_eq!(
        samples[6],
        metric("memory_pgpgin", 348836.0, "pages", Some("web.1"))
    );
    assert_eq!(
        samples[8],
        metric("db_size", 4347350804.0, "bytes", Some("DATABASE"))
    );
    assert_eq!(
        samples[10],
        metric("memory-postgres", 181644.0, "kB", Some("DATABASE"))
    );
    assert_eq!(
        samples[11],
        metric("active-connections", 404.0, "", Some("REDIS"))
    );
    assert_eq!(samples[14], metric("hit-rate", 0.7, "", Some("REDIS")));

    assert_eq!(events[17].kind, EventKind::L10 { dropped: 500 });
    assert_eq!(
        (events[17].meta.app, events[17].meta.procid),
        ("heroku", "logplex")
    );

    let EventKind::Measure(m) = &events[18].kind else {
        panic!("not measure")
    };
    assert_eq!(owned(m), metric("db.query", 12.5, "ms", None));
    let EventKind::Count(c) = &events[19].kind else {
        panic!("not count")
    };
    assert_eq!(owned(c), metric("x", 1.0, "", None));
    let EventKind::Unique(u) = &events[21].kind else {
        panic!("not unique")
    };
    assert_eq!((u.name, u.member.raw), ("user", "bob"));
    assert_eq!(events[22].kind, EventKind::Line("Hi from erlang"));
    assert_eq!(
        (events[22].meta.app, events[22].meta.procid),
        ("erlang", "console")
    );
}

fn parse_all(body: &[u8]) -> (Vec<Event<'_>>, drainscale::logplex::ParseStats) {
    let mut events = parse_body(body);
    let got: Vec<_> = events.by_ref().collect();
    (got, events.stats().clone())
}

#[test]
fn heroku_https_drain_form() {
    let body = counted_body(false);
    let (events, stats) = parse_all(&body);
    check_events(&events);
    assert_eq!(
        (
            stats.frames,
            stats.events,
            stats.bad_total(),
            stats.bad_values
        ),
        (9, 23, 0, 0)
    );
}

#[test]
fn log_shuttle_form() {
    let body = counted_body(true);
    let (events, stats) = parse_all(&body);
    check_events(&events);
    assert_eq!((stats.frames, stats.bad_total()), (9, 0));
}

#[test]
fn newline_delimited_syslog_lines() {
    let body = lines_body();
    let (events, stats) = parse_all(&body);
    check_events(&events);
    assert_eq!((stats.frames, stats.bad_total()), (9, 0));
}

#[test]
fn heroku_logs_lines() {
    let body = heroku_logs_body();
    let (events, stats) = parse_all(&body);
    check_events(&events);
    assert_eq!((stats.frames, stats.bad_total()), (9, 0));
}

#[test]
fn reference_example_body() {
    let body = b"70 <174>1 2012-07-22T00:06:26+00:00 host erlang console - Hi from erlang\n";
    let (events, stats) = parse_all(body);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::Line("Hi from erlang"));
    assert_eq!(events[0].meta.timestamp, 1_342_915_586_000_000);
    assert_eq!((stats.frames, stats.bad_total()), (1, 0));
}

#[test]
fn damage_is_counted_and_later_frames_survive() {
    let counted = |frame: &[u8]| {
        let mut out = format!("{} ", frame.len()).into_bytes();
        out.extend_from_slice(frame);
        out
    };
    let good = |msg: &str| counted(format!("<190>1 {TS} host app web.1 - {msg}\n").as_bytes());
    let mut bytes = good("count#a");
    bytes.extend(b"12 <190>1 2012-07-22T00:06:26Z host app web.1 - count#short_length\n");
    bytes.extend(good("count#b"));
    bytes.extend(counted(b"<190>1 yesterday host app web.1 - count#bad_ts\n"));
    bytes.extend(good("count#c"));
    bytes.extend(counted(
        b"<999>1 2012-07-22T00:06:26Z host app web.1 - count#bad_pri\n",
    ));
    bytes.extend(good("measure#d=abc measure#e=1"));
    bytes.extend(counted(
        b"<190>1 2012-07-22T00:06:26Z h a p - count#g \xff\xfe count#h\n",
    ));
    bytes.extend(good("count#f"));
    let (events, stats) = parse_all(&bytes);
    let names: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Count(m) | EventKind::Measure(m) => Some(m.name),
            _ => None,
        })
        .collect();
    assert_eq!(names, vec!["a", "short_length", "b", "c", "e", "g", "f"]);
    assert_eq!(stats.bad(BadReason::LengthMismatch), 1);
    assert_eq!(stats.bad(BadReason::Header), 1);
    assert_eq!(stats.bad(BadReason::Timestamp), 1);
    assert_eq!(stats.bad(BadReason::Utf8), 1);
    assert_eq!(stats.bad_values, 1);
    assert_eq!(stats.frames, 9);
}
