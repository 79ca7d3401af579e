//! The outlets' running totals as plain numbers: what the Prometheus page renders and the binary logs at
//! shutdown. Each outlet fills its own; nothing here sends anything.

/// Running totals of the statsd outlet, in lines. Once the outlet is shut down,
/// `queued == sent + send_failed + unsent`; before, the difference is `pending`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsdStats {
    /// Lines accepted by the queue.
    pub queued: u64,
    /// Lines refused by the queue: it held `queue_size` lines or `queue_bytes` bytes (or the outlet had shut down).
    pub dropped: u64,
    /// Values statsd cannot carry (negative count sums, non-finite gauges), never formatted.
    pub skipped: u64,
    /// Lines in datagrams the socket accepted.
    pub sent: u64,
    /// Lines in datagrams the socket refused (e.g. connection refused, no buffer space).
    pub send_failed: u64,
    /// Lines still queued, or waiting for their send budget, when shutdown's deadline passed.
    pub unsent: u64,
    /// Lines queued or in flight now.
    pub pending: u64,
    /// Bytes of line text queued now.
    pub pending_bytes: u64,
    /// Datagrams the socket accepted.
    pub datagrams: u64,
}

impl StatsdStats {
    /// Every line counter, by its `result` label.
    pub fn by_result(&self) -> [(&'static str, u64); 6] {
        [
            ("queued", self.queued),
            ("dropped", self.dropped),
            ("skipped", self.skipped),
            ("sent", self.sent),
            ("send_failed", self.send_failed),
            ("unsent", self.unsent),
        ]
    }
}

/// The Librato outlet's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LibratoTotals {
    pub batches_sent: u64,
    pub gauges_sent: u64,
    pub retries: u64,
    pub batches_failed: u64,
    pub batches_rejected: u64,
    pub queue_dropped: u64,
    pub late_skipped: u64,
    pub name_collisions: u64,
}

/// Every outlet's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutletStats {
    /// Flushes run (ticks plus the final one).
    pub flushes: u64,
    pub statsd: Option<StatsdStats>,
    pub librato: Option<LibratoTotals>,
}

/// One outlet's totals, of whichever kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutletTotals {
    Statsd(StatsdStats),
    Librato(LibratoTotals),
}
