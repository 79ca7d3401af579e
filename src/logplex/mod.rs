//! The logplex parser: a drain body (octet-counted or newline-delimited syslog frames) to typed [`Event`]s.
//!
//! It knows nothing of HTTP, windows or scaling. Input is `&[u8]`, output an iterator of events borrowing from
//! it. Bad frames never stop the iterator: they are counted by reason in [`ParseStats`] and parsing resumes at
//! the next plausible frame start.

pub mod corpus;
pub mod event;
mod events;
mod find;
pub mod frame;
pub mod header;
mod l10;
pub mod l2met;
pub mod logfmt;
mod number;
pub mod queue_time;
mod router;
mod scan;
pub mod source;
pub mod syslog;
pub mod syslog_nom;
pub mod timestamp;

pub use event::{Event, EventKind, Meta, Metric, Micros, Router, Text, Unique};
pub use events::Events;
pub use frame::{Frame, Frames, Framing};

/// Why a frame (or part of one) was not turned into events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BadReason {
    /// The octet count was not a number.
    LengthNotNumber,
    /// The octet count ran past the end of the body.
    LengthPastEnd,
    /// The octet count did not end on a frame boundary (too long or too short); the parser resynchronised.
    LengthMismatch,
    /// The syslog header (PRI, version, hostname, app, procid, msgid) did not parse.
    Header,
    /// The timestamp was not RFC 3339.
    Timestamp,
    /// The message was not valid UTF-8.
    Utf8,
}

impl BadReason {
    pub const ALL: [BadReason; 6] = [
        BadReason::LengthNotNumber,
        BadReason::LengthPastEnd,
        BadReason::LengthMismatch,
        BadReason::Header,
        BadReason::Timestamp,
        BadReason::Utf8,
    ];

    /// A stable snake_case name, used in logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            BadReason::LengthNotNumber => "length_not_number",
            BadReason::LengthPastEnd => "length_past_end",
            BadReason::LengthMismatch => "length_mismatch",
            BadReason::Header => "bad_header",
            BadReason::Timestamp => "bad_timestamp",
            BadReason::Utf8 => "bad_utf8",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Counts of what a body held: frames, events, and the damage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseStats {
    /// Frames found (good and bad).
    pub frames: u64,
    /// Events produced.
    pub events: u64,
    /// Bad frames, indexed as [`BadReason::ALL`].
    bad: [u64; 6],
    /// l2met values that did not parse as numbers (`measure#x=abc`); the rest of the line still counts.
    pub bad_values: u64,
}

impl ParseStats {
    pub fn bad(&self, reason: BadReason) -> u64 {
        self.bad[reason.index()]
    }

    pub fn bad_total(&self) -> u64 {
        self.bad.iter().sum()
    }

    /// Non-zero bad counts with their reasons.
    pub fn bad_by_reason(&self) -> impl Iterator<Item = (BadReason, u64)> + '_ {
        BadReason::ALL
            .iter()
            .map(|r| (*r, self.bad(*r)))
            .filter(|(_, n)| *n > 0)
    }

    pub(crate) fn count_bad(&mut self, reason: BadReason) {
        self.bad[reason.index()] += 1;
    }

    /// Adds another body's counts to these.
    pub fn merge(&mut self, other: &ParseStats) {
        self.frames += other.frames;
        self.events += other.events;
        self.bad_values += other.bad_values;
        for (a, b) in self.bad.iter_mut().zip(other.bad.iter()) {
            *a += b;
        }
    }
}

/// Parses a whole drain body. Iterate for events; read [`Events::stats`] at any point (complete at the end).
pub fn parse_body(body: &[u8]) -> Events<'_> {
    Events::new(body)
}
