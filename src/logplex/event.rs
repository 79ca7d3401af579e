//! Typed events the parser produces, borrowing from the body they were parsed from.
//!
//! Nothing here allocates: every string is a slice of the input buffer. Quoted logfmt values keep their escapes
//! in the slice ([`Text`]) and are unescaped only when a consumer asks for it.

use std::borrow::Cow;

/// Microseconds since the Unix epoch, UTC, as read from a frame's syslog header.
pub type Micros = i64;

/// A logfmt value as it appears on the wire: the bytes between the quotes (escapes intact) or the bare value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text<'a> {
    /// The raw slice; for a quoted value, without the surrounding quotes.
    pub raw: &'a str,
    /// True when the raw slice contains backslash escapes that [`Text::unescape`] resolves.
    pub escaped: bool,
}

impl<'a> Text<'a> {
    /// A value with no escapes.
    pub const fn plain(raw: &'a str) -> Self {
        Text {
            raw,
            escaped: false,
        }
    }

    /// The value with `\"` and `\\` resolved; borrows when there is nothing to resolve.
    pub fn unescape(&self) -> Cow<'a, str> {
        if !self.escaped {
            return Cow::Borrowed(self.raw);
        }
        let mut out = String::with_capacity(self.raw.len());
        let mut chars = self.raw.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some(n) => out.push(n),
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }
}

/// What every event carries from its frame's syslog header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Meta<'a> {
    /// The frame's timestamp, UTC microseconds.
    pub timestamp: Micros,
    /// APP-NAME: `heroku` for platform lines, `app` for the app's own.
    pub app: &'a str,
    /// PROCID: `router`, `web.1`, `logplex`, ...
    pub procid: &'a str,
}

/// An `at=info` or `at=error` line from Heroku's router.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Router<'a> {
    /// Set for `at=error` lines.
    pub error: bool,
    /// `code=H12` on error lines.
    pub code: Option<&'a str>,
    /// `desc="Request timeout"` on error lines.
    pub desc: Option<Text<'a>>,
    pub method: Option<&'a str>,
    pub path: Option<Text<'a>>,
    pub host: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub fwd: Option<Text<'a>>,
    pub dyno: Option<&'a str>,
    /// `connect=1ms`, in milliseconds.
    pub connect_ms: Option<f64>,
    /// `service=22ms`, in milliseconds.
    pub service_ms: Option<f64>,
    pub status: Option<u16>,
    pub bytes: Option<u64>,
    pub protocol: Option<&'a str>,
}

/// One l2met metric (`measure#`, `count#`, `sample#`): `measure#db.query=12.5ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric<'a> {
    /// The name after the `#`: `db.query`.
    pub name: &'a str,
    pub value: f64,
    /// The letters right after the number: `ms`, `MB`, `bytes`; empty when none.
    pub unit: &'a str,
    /// The line's `source=` value, if any.
    pub source: Option<&'a str>,
}

/// One `unique#name=member` metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unique<'a> {
    pub name: &'a str,
    pub member: Text<'a>,
    pub source: Option<&'a str>,
}

/// What a frame's message turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventKind<'a> {
    Router(Router<'a>),
    Measure(Metric<'a>),
    Count(Metric<'a>),
    Sample(Metric<'a>),
    Unique(Unique<'a>),
    /// Logplex's `Error L10 (output buffer overflow): N messages dropped ...`: N.
    L10 {
        dropped: u64,
    },
    /// Any other message: the text as it arrived.
    Line(&'a str),
}

impl EventKind<'_> {
    /// The `kind` name used in `drainscale parse` output and in metrics.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Router(_) => "router",
            EventKind::Measure(_) => "measure",
            EventKind::Count(_) => "count",
            EventKind::Sample(_) => "sample",
            EventKind::Unique(_) => "unique",
            EventKind::L10 { .. } => "l10",
            EventKind::Line(_) => "line",
        }
    }
}

/// One typed event with its frame's metadata.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event<'a> {
    pub meta: Meta<'a>,
    pub kind: EventKind<'a>,
}
