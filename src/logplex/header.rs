//! A frame's syslog header as its parsers give it: priority, time, host, app, procid, msgid and the message
//! after them, all borrowed from the frame.

use super::event::Micros;

/// The fields of a syslog header; strings are slices of the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// facility * 8 + severity; 0 for `heroku logs` lines, which carry none.
    pub pri: u8,
    pub timestamp: Micros,
    /// `host` on Heroku's drains; empty for `heroku logs` lines.
    pub hostname: &'a str,
    pub app: &'a str,
    pub procid: &'a str,
    /// `-` on Heroku's drains; empty for `heroku logs` lines.
    pub msgid: &'a str,
    /// Everything after the header (and the nil SD, when present).
    pub message: &'a [u8],
}
