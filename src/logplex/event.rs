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

/// An `at=info` or `at=error` line from Heroku's router, read through its accessors.
///
/// Compact on purpose: an [`Event`] is as large as its largest kind and is moved once per event, so the string
/// fields are kept as 16-bit offsets into the line (router lines are a few hundred bytes) and
/// the numbers without `Option` wrappers. A value that starts or ends past 64 KiB into a line is not kept and
/// is counted as a bad value. Two routers are equal when every field is, whatever lines they came from.
#[derive(Clone, Copy)]
pub struct Router<'a> {
    line: &'a str,
    spans: [Span; FIELDS],
    /// Bits 0..FIELDS: the field's value has escapes; then [`ERROR`], [`HAS_STATUS`], [`HAS_BYTES`].
    flags: u16,
    status: u16,
    /// NaN when absent (a parsed value is never NaN).
    connect_ms: f64,
    service_ms: f64,
    bytes: u64,
}

/// A router line's string fields, in the order Heroku writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouterField {
    Code,
    Desc,
    Method,
    Path,
    Host,
    RequestId,
    Fwd,
    Dyno,
    Protocol,
}

const FIELDS: usize = 9;
const ERROR: u16 = 1 << FIELDS;
const HAS_STATUS: u16 = 1 << (FIELDS + 1);
const HAS_BYTES: u16 = 1 << (FIELDS + 2);

/// Where a value sits in its line; `len == 0` is no value (kept values are never empty).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: u16,
    len: u16,
}

impl<'a> Router<'a> {
    /// A router for fields of `line` (see [`Router::set`]); no field set yet.
    pub fn new(line: &'a str) -> Self {
        Router {
            line,
            spans: [Span::default(); FIELDS],
            flags: 0,
            status: 0,
            connect_ms: f64::NAN,
            service_ms: f64::NAN,
            bytes: 0,
        }
    }

    /// Sets `field` to `value`, a non-empty slice of this router's line; returns false (and keeps nothing) when
    /// it is not one, or lies past the 64 KiB the offsets reach.
    pub fn set(&mut self, field: RouterField, value: Text<'a>) -> bool {
        let start = (value.raw.as_ptr() as usize).wrapping_sub(self.line.as_ptr() as usize);
        let in_line = start <= self.line.len() && value.raw.len() <= self.line.len() - start;
        match (u16::try_from(start), u16::try_from(value.raw.len())) {
            (Ok(start), Ok(len)) if in_line && len > 0 => {
                self.put(field, start, len, value.escaped);
                true
            }
            _ => false,
        }
    }

    /// Where the router's line starts in memory, for offsets of its slices.
    #[inline(always)]
    pub(super) fn line_start(&self) -> usize {
        self.line.as_ptr() as usize
    }

    /// Sets `field` to the `len` bytes at `start` of the line; the caller knows they are in it and not empty.
    #[inline(always)]
    pub(super) fn put(&mut self, field: RouterField, start: u16, len: u16, escaped: bool) {
        let i = field as usize;
        self.spans[i] = Span { start, len };
        self.flag(1 << i, escaped);
    }

    /// Sets or clears the `flags` bit(s) `bit`.
    #[inline(always)]
    fn flag(&mut self, bit: u16, on: bool) {
        self.flags = (self.flags & !bit) | if on { bit } else { 0 };
    }

    /// The field's value, escapes intact.
    #[inline]
    pub fn text(&self, field: RouterField) -> Option<Text<'a>> {
        let i = field as usize;
        let Span { start, len } = self.spans[i];
        if len == 0 {
            return None;
        }
        let (start, end) = (usize::from(start), usize::from(start) + usize::from(len));
        let raw = self.line.get(start..end)?;
        Some(Text {
            raw,
            escaped: self.flags & (1 << i) != 0,
        })
    }

    /// The field's raw value (a quoted value without its quotes, escapes intact).
    #[inline]
    pub fn str(&self, field: RouterField) -> Option<&'a str> {
        self.text(field).map(|t| t.raw)
    }

    /// Set for `at=error` lines.
    #[inline]
    pub fn error(&self) -> bool {
        self.flags & ERROR != 0
    }
    pub fn set_error(&mut self, error: bool) {
        self.flag(ERROR, error);
    }
    /// `code=H12` on error lines.
    pub fn code(&self) -> Option<&'a str> {
        self.str(RouterField::Code)
    }
    /// `desc="Request timeout"` on error lines.
    pub fn desc(&self) -> Option<Text<'a>> {
        self.text(RouterField::Desc)
    }
    pub fn method(&self) -> Option<&'a str> {
        self.str(RouterField::Method)
    }
    pub fn path(&self) -> Option<Text<'a>> {
        self.text(RouterField::Path)
    }
    pub fn host(&self) -> Option<&'a str> {
        self.str(RouterField::Host)
    }
    pub fn request_id(&self) -> Option<&'a str> {
        self.str(RouterField::RequestId)
    }
    pub fn fwd(&self) -> Option<Text<'a>> {
        self.text(RouterField::Fwd)
    }
    pub fn dyno(&self) -> Option<&'a str> {
        self.str(RouterField::Dyno)
    }
    pub fn protocol(&self) -> Option<&'a str> {
        self.str(RouterField::Protocol)
    }
    /// `connect=1ms`, in milliseconds.
    #[inline]
    pub fn connect_ms(&self) -> Option<f64> {
        (!self.connect_ms.is_nan()).then_some(self.connect_ms)
    }
    /// `service=22ms`, in milliseconds.
    #[inline]
    pub fn service_ms(&self) -> Option<f64> {
        (!self.service_ms.is_nan()).then_some(self.service_ms)
    }
    #[inline]
    pub fn status(&self) -> Option<u16> {
        (self.flags & HAS_STATUS != 0).then_some(self.status)
    }
    pub fn bytes(&self) -> Option<u64> {
        (self.flags & HAS_BYTES != 0).then_some(self.bytes)
    }
    /// Sets (or clears, with `None`) the connect time; a NaN is no value.
    pub fn set_connect_ms(&mut self, ms: Option<f64>) {
        self.connect_ms = ms.unwrap_or(f64::NAN);
    }
    /// Sets (or clears, with `None`) the service time; a NaN is no value.
    pub fn set_service_ms(&mut self, ms: Option<f64>) {
        self.service_ms = ms.unwrap_or(f64::NAN);
    }
    pub fn set_status(&mut self, status: Option<u16>) {
        self.status = status.unwrap_or(0);
        self.flag(HAS_STATUS, status.is_some());
    }
    pub fn set_bytes(&mut self, bytes: Option<u64>) {
        self.bytes = bytes.unwrap_or(0);
        self.flag(HAS_BYTES, bytes.is_some());
    }

    /// Every field as a comparable tuple (for `PartialEq` and `Debug`).
    #[allow(clippy::type_complexity)]
    fn fields(
        &self,
    ) -> (
        bool,
        [Option<Text<'a>>; FIELDS],
        Option<f64>,
        Option<f64>,
        Option<u16>,
        Option<u64>,
    ) {
        use RouterField::*;
        let all = [
            Code, Desc, Method, Path, Host, RequestId, Fwd, Dyno, Protocol,
        ]
        .map(|f| self.text(f));
        (
            self.error(),
            all,
            self.connect_ms(),
            self.service_ms(),
            self.status(),
            self.bytes(),
        )
    }
}

impl Default for Router<'_> {
    /// No field set.
    fn default() -> Self {
        Router::new("")
    }
}

impl PartialEq for Router<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.fields() == other.fields()
    }
}

impl std::fmt::Debug for Router<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("error", &self.error())
            .field("code", &self.code())
            .field("desc", &self.desc())
            .field("method", &self.method())
            .field("path", &self.path())
            .field("host", &self.host())
            .field("request_id", &self.request_id())
            .field("fwd", &self.fwd())
            .field("dyno", &self.dyno())
            .field("connect_ms", &self.connect_ms())
            .field("service_ms", &self.service_ms())
            .field("status", &self.status())
            .field("bytes", &self.bytes())
            .field("protocol", &self.protocol())
            .finish()
    }
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
