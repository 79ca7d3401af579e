//! `drainscale parse [FILES...]`: what drainscale makes of a drain body or raw log lines, as JSON lines.
//!
//! Each file (or stdin when none) is one body: octet-counted frames or newline-delimited lines, gzip or not.
//! One JSON object per event goes to stdout; a summary of frames, events and damage goes to stderr. Bad frames
//! are reported, never fatal. It shows the parser's output; it does not aggregate.

use anyhow::Context;
use drainscale::logplex::{parse_body, Event, EventKind, ParseStats, Text};
use serde::Serialize;
use std::borrow::Cow;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(files: &[PathBuf], strict: bool) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut total = ParseStats::default();
    let result = if files.is_empty() {
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .context("reading stdin")?;
        print_body(&body, &mut out, &mut total)
    } else {
        files.iter().try_for_each(|path| {
            let body =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            print_body(&body, &mut out, &mut total)
                .with_context(|| format!("parsing {}", path.display()))
        })
    };
    let result = result.and_then(|()| out.flush().context("writing stdout"));
    if let Err(err) = result {
        if !is_broken_pipe(&err) {
            return Err(err);
        }
    }
    eprintln!("{}", summary(&total));
    if strict && (total.bad_total() > 0 || total.bad_values > 0) {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Parses one body (gunzipping it first when it is gzip) and prints its events.
fn print_body(body: &[u8], out: &mut impl Write, total: &mut ParseStats) -> anyhow::Result<()> {
    let body = drainscale::simulate::source::maybe_gunzip(body).context("gunzipping the body")?;
    let mut events = parse_body(&body);
    for event in events.by_ref() {
        serde_json::to_writer(&mut *out, &EventJson::from(&event)).context("writing stdout")?;
        out.write_all(b"\n").context("writing stdout")?;
    }
    total.merge(events.stats());
    Ok(())
}

/// `frames=N events=N bad=N (reason=N ...) bad_values=N`.
pub fn summary(stats: &ParseStats) -> String {
    let reasons: Vec<String> = stats
        .bad_by_reason()
        .map(|(r, n)| format!("{}={n}", r.as_str()))
        .collect();
    let reasons = if reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", reasons.join(" "))
    };
    format!(
        "frames={} events={} bad={}{reasons} bad_values={}",
        stats.frames,
        stats.events,
        stats.bad_total(),
        stats.bad_values
    )
}

/// One output line. Absent fields are left out.
#[derive(Serialize, Default)]
struct EventJson<'a> {
    kind: &'static str,
    timestamp: String,
    app: &'a str,
    procid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fwd: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dyno: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connect_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    desc: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dropped: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

fn text<'a>(t: Option<Text<'a>>) -> Option<Cow<'a, str>> {
    t.map(|t| t.unescape())
}

impl<'a> From<&Event<'a>> for EventJson<'a> {
    fn from(event: &Event<'a>) -> Self {
        let timestamp = match jiff::Timestamp::from_microsecond(event.meta.timestamp) {
            Ok(ts) => ts.to_string(),
            Err(_) => event.meta.timestamp.to_string(),
        };
        let base = EventJson {
            kind: event.kind.name(),
            timestamp,
            app: event.meta.app,
            procid: event.meta.procid,
            ..EventJson::default()
        };
        match event.kind {
            EventKind::Router(r) => EventJson {
                method: r.method(),
                path: text(r.path()),
                host: r.host(),
                request_id: r.request_id(),
                fwd: text(r.fwd()),
                dyno: r.dyno(),
                connect_ms: r.connect_ms(),
                service_ms: r.service_ms(),
                status: r.status(),
                bytes: r.bytes(),
                protocol: r.protocol(),
                code: r.code(),
                desc: text(r.desc()),
                ..base
            },
            EventKind::Measure(m) | EventKind::Count(m) | EventKind::Sample(m) => EventJson {
                name: Some(m.name),
                value: Some(m.value),
                unit: Some(m.unit),
                source: m.source,
                ..base
            },
            EventKind::Unique(u) => EventJson {
                name: Some(u.name),
                member: text(Some(u.member)),
                source: u.source,
                ..base
            },
            EventKind::L10 { dropped } => EventJson {
                dropped: Some(dropped),
                ..base
            },
            EventKind::Line(message) => EventJson {
                message: Some(message),
                ..base
            },
        }
    }
}
