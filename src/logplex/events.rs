//! The body-to-events iterator: frames -> header -> message -> typed events, counting the damage on the way.
//!
//! One frame may give several events (an l2met line with many metrics); they are produced lazily from the
//! line's pairs, so nothing is buffered or allocated. Which layer decides what: `frame` splits, `syslog` reads
//! the header, `router`, `l10` and `l2met` type the message (with `queue_time`'s HireFire-style pairs read as
//! `measure#queue_time`); anything else is a `line` event.

use super::event::{Event, EventKind, Meta};
use super::frame::{Frame, Frames};
use super::l2met::{self, Found};
use super::logfmt::Pairs;
use super::timestamp::MinuteCache;
use super::{l10, queue_time, router, scan, syslog, BadReason, ParseStats};

/// Iterator over the events of one body; see [`super::parse_body`].
pub struct Events<'a> {
    frames: Frames<'a>,
    stats: ParseStats,
    pending: Option<MetricLine<'a>>,
    /// Frames of one body share the timestamp's minute: parsed once.
    minutes: MinuteCache,
}

/// An l2met line whose pairs are still being read.
struct MetricLine<'a> {
    meta: Meta<'a>,
    line: &'a str,
    pairs: Pairs<'a>,
    source: Option<&'a str>,
    /// Whether any l2met key (good value or bad) was seen; a line with none is a plain `line` event.
    had_metric_key: bool,
}

impl<'a> Events<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Self {
        Events {
            frames: Frames::new(body),
            stats: ParseStats::default(),
            pending: None,
            minutes: MinuteCache::default(),
        }
    }

    /// Counts so far; complete once the iterator has returned `None`.
    pub fn stats(&self) -> &ParseStats {
        &self.stats
    }

    /// Consumes the iterator and returns the final counts.
    pub fn into_stats(mut self) -> ParseStats {
        for _ in self.by_ref() {}
        self.stats
    }

    #[inline(always)]
    fn emit(&mut self, meta: Meta<'a>, kind: EventKind<'a>) -> Option<Event<'a>> {
        self.stats.events += 1;
        Some(Event { meta, kind })
    }

    /// Reads one frame; returns its first event, or `None` when it has none yet (bad, or an l2met line whose
    /// metrics [`Self::take_metrics`] will produce).
    #[inline(always)]
    fn start_frame(&mut self, frame: Frame<'a>) -> Option<Event<'a>> {
        self.stats.frames += 1;
        let (text, ascii, damaged) = match frame {
            Frame::Good { text, ascii } => (text, ascii, false),
            Frame::Damaged { reason, salvaged } => {
                self.stats.count_bad(reason);
                (salvaged?, false, true)
            }
        };
        let count_bad = |stats: &mut ParseStats, reason| {
            if !damaged {
                stats.count_bad(reason);
            }
        };
        let checked = if ascii {
            // SAFETY: `Frames` sets `ascii` only when every byte of `text` is below 0x80 (frame.rs), and these
            // frames come from `self.frames`; ASCII is valid UTF-8.
            Ok(unsafe { std::str::from_utf8_unchecked(text) })
        } else {
            scan::utf8(text)
        };
        let parsed = match checked {
            Ok(frame) => syslog::parse_frame_str(frame, &mut self.minutes),
            // Not UTF-8 somewhere: the header decides whether it is its fault; if not, keep what the message can give.
            Err(_) => syslog::parse_frame(text).and_then(|header| {
                match std::str::from_utf8(header.message) {
                    Ok(message) => Ok((header, message)),
                    Err(err) => {
                        count_bad(&mut self.stats, BadReason::Utf8);
                        valid_words(header.message, err.valid_up_to())
                            .map(|words| (header, words))
                            .ok_or(BadReason::Utf8)
                    }
                }
            }),
        };
        let (header, message) = match parsed {
            Ok(parsed) => parsed,
            Err(BadReason::Utf8) => return None,
            Err(reason) => {
                count_bad(&mut self.stats, reason);
                return None;
            }
        };
        let meta = Meta {
            timestamp: header.timestamp,
            app: header.app,
            procid: header.procid,
        };
        if router::is_router(meta.app, meta.procid, message) {
            let (line, bad_values) = router::parse(message);
            self.stats.bad_values += bad_values;
            return self.emit(meta, EventKind::Router(line));
        }
        if l10::is_l10(message) && l10::from_logplex(meta.app, meta.procid) {
            if let Some(dropped) = l10::dropped(message) {
                return self.emit(meta, EventKind::L10 { dropped });
            }
        }
        if l2met::may_have_metrics(message) {
            let (source, pairs) = l2met::source_and_pairs(message);
            self.pending = Some(MetricLine {
                meta,
                line: message,
                pairs,
                source,
                had_metric_key: false,
            });
            return None;
        }
        if let Some(queue) = queue_time::in_line(message) {
            return self.emit(meta, EventKind::Measure(queue));
        }
        self.emit(meta, EventKind::Line(message))
    }
}

/// The whole words of a message's valid UTF-8 prefix (up to its last space); `None` when nothing is left.
fn valid_words(message: &[u8], valid_up_to: usize) -> Option<&str> {
    let prefix = &message[..valid_up_to];
    let cut = prefix.iter().rposition(|b| *b == b' ')?;
    let words = std::str::from_utf8(&prefix[..cut]).ok()?.trim_end();
    (!words.is_empty()).then_some(words)
}

impl<'a> Events<'a> {
    /// The next event: the body of [`Iterator::next`] and [`Iterator::fold`] (which `for_each`, `count` and the
    /// other internal loops use), inlined into each so that between events the parser's state stays in
    /// registers instead of going through a call per event. [`Events::take_into`] has its own loop.
    #[inline(always)]
    fn step(&mut self) -> Option<Event<'a>> {
        loop {
            if self.pending.is_some() {
                let mut event = None;
                self.take_metrics(1, &mut |e| event = Some(e));
                if event.is_some() {
                    return event;
                }
                continue;
            }
            let frame = self.frames.next()?;
            if let Some(event) = self.start_frame(frame) {
                return Some(event);
            }
        }
    }

    /// Hands the next events, up to `limit`, to `take` in order; returns how many. The same events as calling
    /// `next` that many times, with no call per event; [`Events::stats`] stays readable afterwards.
    pub fn take_into(&mut self, limit: usize, mut take: impl FnMut(Event<'a>)) -> usize {
        let mut taken = 0;
        while taken < limit {
            if self.pending.is_some() {
                taken += self.take_metrics(limit - taken, &mut take);
                continue;
            }
            let Some(frame) = self.frames.next() else {
                break;
            };
            if let Some(event) = self.start_frame(frame) {
                take(event);
                taken += 1;
            }
        }
        taken
    }

    /// [`Events::take_into`] for the pending l2met line: its metrics, up to `limit` (at least one), handed to
    /// `take` from a loop whose state is local (so it stays in registers whatever `take` does with memory),
    /// then the line's own event if it had no l2met key. Returns how many events were taken.
    #[inline(always)]
    fn take_metrics(&mut self, limit: usize, take: &mut impl FnMut(Event<'a>)) -> usize {
        let Some(line) = self.pending.as_mut() else {
            return 0;
        };
        let (meta, source) = (line.meta, line.source);
        let mut pairs = line.pairs.clone();
        let (mut had_metric_key, mut bad_values, mut taken) = (line.had_metric_key, 0, 0);
        let mut finished = true;
        for pair in pairs.by_ref() {
            match l2met::metric(pair, source) {
                Found::Nothing => {}
                Found::BadValue => {
                    had_metric_key = true;
                    bad_values += 1;
                }
                found => {
                    had_metric_key = true;
                    if let Some(kind) = found.into_kind() {
                        take(Event { meta, kind });
                        taken += 1;
                        if taken == limit {
                            finished = false;
                            break;
                        }
                    }
                }
            }
        }
        self.stats.bad_values += bad_values;
        self.stats.events += taken as u64;
        line.pairs = pairs;
        line.had_metric_key = had_metric_key;
        if finished {
            let done = self.pending.take();
            if let Some(done) = done.filter(|d| !d.had_metric_key) {
                // `taken == 0 < limit` here: the line had no metric, so there is room for its own event.
                self.stats.events += 1;
                take(Event {
                    meta: done.meta,
                    kind: EventKind::Line(done.line),
                });
                taken += 1;
            }
        }
        taken
    }
}

impl<'a> Iterator for Events<'a> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        self.step()
    }

    fn fold<B, F>(mut self, init: B, mut f: F) -> B
    where
        F: FnMut(B, Event<'a>) -> B,
    {
        let mut acc = init;
        while let Some(event) = self.step() {
            acc = f(acc, event);
        }
        acc
    }
}
