//! The statsd outlet's paced UDP sender: one thread that takes lines from the [`LineQueue`], packs them into
//! datagrams of at most `max_packet` bytes and sends them no faster than `max_lines_per_second`.
//!
//! Pacing: a datagram of `n` lines is due `n / rate` seconds after the previous one was (an idle period earns
//! at most [`CREDIT`] of catch-up, which absorbs sleeps that overshoot), so a receiver sees a steady stream
//! instead of one burst that overflows its socket buffer. The thread blocks on
//! the queue, on its own clock and on its own (blocking, connected) socket, never on the flush task or
//! ingestion. Every line taken from the queue ends in exactly one count: `sent` (the socket accepted its
//! datagram), `send_failed` (the socket refused it) or `unsent` (still queued or waiting for its budget when
//! the sender was stopped). It does not format lines, and it cannot know what a receiver dropped.

use super::statsd_queue::{LineQueue, Take};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The most an idle sender may catch up on at once (it compensates sleeps that overshoot).
const CREDIT: Duration = Duration::from_millis(10);
/// A blocking send that takes longer than this fails (and its lines are counted `send_failed`).
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// What became of the lines taken from the queue.
#[derive(Default)]
pub struct SendCounts {
    sent: AtomicU64,
    send_failed: AtomicU64,
    unsent: AtomicU64,
    datagrams: AtomicU64,
}

impl SendCounts {
    fn load(a: &AtomicU64) -> u64 {
        a.load(Ordering::Relaxed)
    }

    /// Lines in datagrams the socket accepted.
    pub fn sent(&self) -> u64 {
        Self::load(&self.sent)
    }

    /// Lines in datagrams the socket refused.
    pub fn send_failed(&self) -> u64 {
        Self::load(&self.send_failed)
    }

    /// Lines discarded when the sender was stopped.
    pub fn unsent(&self) -> u64 {
        Self::load(&self.unsent)
    }

    /// Datagrams the socket accepted.
    pub fn datagrams(&self) -> u64 {
        Self::load(&self.datagrams)
    }
}

/// How the sender sends.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Lines per second; 0 = unpaced.
    pub max_lines_per_second: u64,
    /// Bytes per datagram.
    pub max_packet: usize,
}

/// The sender thread and what it counts.
pub struct PacedSender {
    queue: Arc<LineQueue>,
    counts: Arc<SendCounts>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl PacedSender {
    /// Connects a UDP socket to `target` and starts the thread.
    pub fn start(
        target: SocketAddr,
        queue: Arc<LineQueue>,
        pace: Pace,
    ) -> std::io::Result<PacedSender> {
        let local = if target.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        };
        let socket = UdpSocket::bind(local)?;
        socket.connect(target)?;
        socket.set_write_timeout(Some(WRITE_TIMEOUT))?;
        let counts = Arc::new(SendCounts::default());
        let worker = Worker {
            queue: queue.clone(),
            counts: counts.clone(),
            socket,
            pace,
        };
        let thread = std::thread::Builder::new()
            .name("statsd-sender".into())
            .spawn(move || worker.run())?;
        Ok(PacedSender {
            queue,
            counts,
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn counts(&self) -> &SendCounts {
        &self.counts
    }

    /// True when nothing is queued or in flight.
    pub fn idle(&self) -> bool {
        self.queue.idle()
    }

    /// Waits (asynchronously, polling) until idle or `max_wait` has passed; then stops the thread and counts
    /// every line still queued as `unsent`.
    /// Later calls only count what is left.
    pub async fn shutdown(&self, max_wait: Duration) {
        let deadline = Instant::now() + max_wait;
        while !self.idle() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.queue.close();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            // A send in progress ends within WRITE_TIMEOUT.
            while !thread.is_finished() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            if thread.join().is_err() {
                tracing::warn!("statsd sender thread panicked");
            }
        }
        let left = self.queue.discard() as u64;
        self.counts.unsent.fetch_add(left, Ordering::Relaxed);
    }
}

impl Drop for PacedSender {
    fn drop(&mut self) {
        // Never joined here: the thread sees the closed queue and ends by itself.
        self.queue.close();
    }
}

struct Worker {
    queue: Arc<LineQueue>,
    counts: Arc<SendCounts>,
    socket: UdpSocket,
    pace: Pace,
}

impl Worker {
    fn run(self) {
        let rate =
            (self.pace.max_lines_per_second > 0).then_some(self.pace.max_lines_per_second as f64);
        let mut buf = Vec::with_capacity(self.pace.max_packet);
        let mut due = Instant::now();
        let mut failures = 0u64;
        loop {
            let n = match self.queue.take_datagram(self.pace.max_packet, &mut buf) {
                Take::Closed => return,
                Take::Lines(n) => n as u64,
            };
            if rate.is_some() && self.queue.sleep_until(due) {
                self.counts.unsent.fetch_add(n, Ordering::Relaxed);
                self.queue.done();
                return;
            }
            match self.socket.send(&buf) {
                Ok(_) => {
                    self.counts.sent.fetch_add(n, Ordering::Relaxed);
                    self.counts.datagrams.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    self.counts.send_failed.fetch_add(n, Ordering::Relaxed);
                    failures += 1;
                    if failures.is_power_of_two() {
                        tracing::warn!(error = %e, failures, "statsd datagram not sent");
                    }
                }
            }
            self.queue.done();
            if let Some(rate) = rate {
                let now = Instant::now();
                let floor = now.checked_sub(CREDIT).unwrap_or(now);
                due = due.max(floor) + Duration::from_secs_f64(n as f64 / rate);
            }
        }
    }
}
