//! The statsd outlet's line queue: bounded by line count AND bytes, never blocking the producer.
//!
//! Producers (the exporter's sink, on the flush task or any thread using the global recorder) call
//! [`LineQueue::push`], which takes a short lock, copies the line into one contiguous byte ring and returns at
//! once; a line that would pass either bound (or arrives after [`LineQueue::close`]) is refused and counted.
//! Memory held is at most `max_bytes` plus 4 bytes per line of `max_lines` (capacity included), whatever the
//! input. One consumer (the paced sender's thread) blocks in [`LineQueue::take_datagram`], which packs whole lines, `\n`-separated, up to a
//! datagram size. It knows nothing of sockets, pacing or what a line means.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a partly filled datagram waits for more lines while a producer is still pushing without a
/// [`LineQueue::commit`] (the global recorder never commits).
const LINGER: Duration = Duration::from_millis(20);
/// How long an idle consumer sleeps between looks at an empty queue (pushes do not wake it; commits do).
const IDLE: Duration = Duration::from_millis(100);
/// Above this capacity, an emptied byte ring gives its memory back.
const KEEP_CAPACITY: usize = 1 << 20;

pub struct LineQueue {
    state: Mutex<State>,
    ready: Condvar,
    max_lines: usize,
    max_bytes: usize,
    accepted: AtomicU64,
    refused: AtomicU64,
}

struct State {
    /// The queued lines' bytes, back to back.
    bytes: VecDeque<u8>,
    /// Each queued line's length, in order.
    lens: VecDeque<u32>,
    /// Lines handed to the consumer by the last take and not yet reported [`LineQueue::done`].
    in_flight: usize,
    /// Lines pushed since the last commit.
    dirty: bool,
    closed: bool,
}

/// What [`LineQueue::take_datagram`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Take {
    /// This many lines were written into the buffer.
    Lines(usize),
    /// The queue is closed: stop (what is left is for [`LineQueue::discard`]).
    Closed,
}

impl LineQueue {
    /// A queue of at most `max_lines` lines and `max_bytes` bytes of line text (each at least 1).
    pub fn new(max_lines: usize, max_bytes: usize) -> LineQueue {
        LineQueue {
            state: Mutex::new(State {
                bytes: VecDeque::new(),
                lens: VecDeque::new(),
                in_flight: 0,
                dirty: false,
                closed: false,
            }),
            ready: Condvar::new(),
            max_lines: max_lines.max(1),
            max_bytes: max_bytes.max(1),
            accepted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues one line; `false` (counted as refused) when it would pass a bound or the queue is closed.
    /// Does not wake the consumer: call [`LineQueue::commit`] after a batch.
    pub fn push(&self, line: &str) -> bool {
        let len = line.len();
        let mut state = self.state();
        let fits = !state.closed
            && state.lens.len() < self.max_lines
            && len <= self.max_bytes - state.bytes.len().min(self.max_bytes)
            && u32::try_from(len).is_ok();
        if !fits {
            drop(state);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        // Grow by doubling, but never past the bounds: capacity, not only length, stays within them.
        let needed = state.bytes.len() + len;
        if needed > state.bytes.capacity() {
            let target = (state.bytes.capacity() * 2).clamp(needed, self.max_bytes);
            let have = state.bytes.len();
            state.bytes.reserve_exact(target - have);
        }
        if state.lens.len() == state.lens.capacity() {
            let target = (state.lens.capacity() * 2).max(16).min(self.max_lines);
            let have = state.lens.len();
            state.lens.reserve_exact(target.max(have + 1) - have);
        }
        state.bytes.extend(line.as_bytes());
        state.lens.push_back(len as u32);
        state.dirty = true;
        drop(state);
        self.accepted.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Ends a batch: the consumer wakes and may send a partly filled datagram at once.
    pub fn commit(&self) {
        self.state().dirty = false;
        self.ready.notify_all();
    }

    /// Blocks until lines are queued (or the queue is closed), then moves whole lines into `buf`, `\n`-separated,
    /// up to `max_packet` bytes (a single longer line goes alone). A partly filled datagram waits up to
    /// [`LINGER`] for more lines unless the batch was committed. The lines taken are in flight (see
    /// [`LineQueue::idle`]) until [`LineQueue::done`].
    pub fn take_datagram(&self, max_packet: usize, buf: &mut Vec<u8>) -> Take {
        buf.clear();
        let mut state = self.state();
        state.in_flight = 0;
        let mut lingered = false;
        loop {
            if state.closed {
                return Take::Closed;
            }
            if state.lens.is_empty() {
                state = self.wait(state, IDLE);
                continue;
            }
            let full = state.bytes.len() + state.lens.len() > max_packet;
            if full || !state.dirty || lingered {
                break;
            }
            lingered = true;
            state = self.wait(state, LINGER);
        }
        let mut lines = 0;
        while let Some(&len) = state.lens.front() {
            let len = len as usize;
            let sep = usize::from(!buf.is_empty());
            if lines > 0 && buf.len() + sep + len > max_packet {
                break;
            }
            if sep == 1 {
                buf.push(b'\n');
            }
            buf.extend(state.bytes.drain(..len));
            state.lens.pop_front();
            lines += 1;
        }
        if state.lens.is_empty() && state.bytes.capacity() > KEEP_CAPACITY {
            state.bytes = VecDeque::new();
            state.lens = VecDeque::new();
        }
        state.in_flight = lines;
        Take::Lines(lines)
    }

    /// The lines of the last take are counted (sent, failed or unsent): they are no longer in flight.
    pub fn done(&self) {
        self.state().in_flight = 0;
    }

    /// True when no line is queued or in flight.
    pub fn idle(&self) -> bool {
        let state = self.state();
        state.lens.is_empty() && state.in_flight == 0
    }

    fn wait<'a>(&self, state: MutexGuard<'a, State>, timeout: Duration) -> MutexGuard<'a, State> {
        match self.ready.wait_timeout(state, timeout) {
            Ok((state, _)) => state,
            Err(p) => p.into_inner().0,
        }
    }

    /// Sleeps until `until` or until the queue is closed; `true` when closed.
    pub fn sleep_until(&self, until: Instant) -> bool {
        let mut state = self.state();
        loop {
            if state.closed {
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            state = self.wait(state, until - now);
        }
    }

    /// Refuses every later push and wakes the consumer, which stops.
    pub fn close(&self) {
        self.state().closed = true;
        self.ready.notify_all();
    }

    /// Empties the queue; returns how many lines it held.
    pub fn discard(&self) -> usize {
        let mut state = self.state();
        let n = state.lens.len();
        state.bytes = VecDeque::new();
        state.lens = VecDeque::new();
        n
    }

    /// Lines queued now (not counting those in flight).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.state().lens.len()
    }

    /// Bytes of line text queued now.
    pub fn bytes(&self) -> usize {
        self.state().bytes.len()
    }

    /// Lines ever accepted.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Lines ever refused (a bound reached, or closed).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(q: &LineQueue, max: usize) -> (Take, String) {
        let mut buf = Vec::new();
        let t = q.take_datagram(max, &mut buf);
        (t, String::from_utf8(buf).unwrap())
    }

    #[test]
    fn bounded_by_lines_and_by_bytes() {
        let q = LineQueue::new(3, 10);
        assert!(q.push("aaaa"));
        assert!(q.push("bbbb"));
        assert!(!q.push("ccc"), "4 + 4 + 3 bytes pass the 10-byte bound");
        assert!(q.push("cc"));
        assert!(!q.push("d"), "the 3-line bound");
        assert_eq!(
            (q.accepted(), q.refused(), q.len(), q.bytes()),
            (3, 2, 3, 10)
        );
        q.commit();
        assert_eq!(take(&q, 100), (Take::Lines(3), "aaaa\nbbbb\ncc".into()));
        assert!(q.push("ccc"), "room again once taken");
    }

    #[test]
    fn capacity_stays_within_the_bounds() {
        let q = LineQueue::new(2000, 100_000);
        let line = "x".repeat(99);
        while q.push(&line) {}
        let state = q.state();
        assert_eq!(state.bytes.len(), 99_990);
        assert!(
            state.bytes.capacity() <= 100_000,
            "{}",
            state.bytes.capacity()
        );
        assert!(state.lens.capacity() <= 2000, "{}", state.lens.capacity());
    }

    #[test]
    fn packs_whole_lines_up_to_the_packet_size() {
        let q = LineQueue::new(100, 1000);
        for line in ["a:1|c", "b:2|c", "c:3|c", "a-much-longer-line:4|g"] {
            q.push(line);
        }
        q.commit();
        // "a:1|c\nb:2|c" is 11 bytes; a third line would make 17.
        assert_eq!(take(&q, 12), (Take::Lines(2), "a:1|c\nb:2|c".into()));
        assert_eq!(take(&q, 12), (Take::Lines(1), "c:3|c".into()));
        // Longer than a packet: it goes alone rather than never.
        assert_eq!(
            take(&q, 12),
            (Take::Lines(1), "a-much-longer-line:4|g".into())
        );
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn close_stops_the_consumer_and_refuses_pushes() {
        let q = std::sync::Arc::new(LineQueue::new(10, 100));
        let consumer = std::thread::spawn({
            let q = q.clone();
            move || take(&q, 100).0
        });
        q.close();
        assert_eq!(consumer.join().unwrap(), Take::Closed);
        assert!(!q.push("x:1|c"));
        assert_eq!(q.refused(), 1);
        assert!(q.sleep_until(Instant::now() + Duration::from_secs(60)));
    }

    #[test]
    fn discard_counts_what_was_left() {
        let q = LineQueue::new(10, 100);
        q.push("a:1|c");
        q.push("b:1|c");
        assert_eq!(q.discard(), 2);
        assert_eq!((q.len(), q.bytes()), (0, 0));
    }
}
