//! A log throttle: lets one line through per period and counts the lines it held back, so a flood of bad
//! requests (wrong credentials from a misconfigured drain, a scanner) cannot flood the log. Counters are kept
//! elsewhere; this only decides whether to log.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// One line per `period`; the rest counted.
pub struct Throttle {
    start: Instant,
    period_ms: u64,
    /// Milliseconds since `start` when the next line may go out.
    next_ms: AtomicU64,
    held_back: AtomicU64,
}

impl Throttle {
    pub fn new(period: Duration) -> Throttle {
        Throttle {
            start: Instant::now(),
            period_ms: period.as_millis().max(1) as u64,
            next_ms: AtomicU64::new(0),
            held_back: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line may be logged now, `n` being how many were held back since the last one.
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(self.start.elapsed().as_millis() as u64)
    }

    fn allow_at(&self, now_ms: u64) -> Option<u64> {
        let next = self.next_ms.load(Relaxed);
        if now_ms >= next
            && self
                .next_ms
                .compare_exchange(next, now_ms + self.period_ms, Relaxed, Relaxed)
                .is_ok()
        {
            return Some(self.held_back.swap(0, Relaxed));
        }
        self.held_back.fetch_add(1, Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_and_the_rest_counted() {
        let t = Throttle::new(Duration::from_secs(1));
        assert_eq!(t.allow_at(0), Some(0));
        assert_eq!(t.allow_at(10), None);
        assert_eq!(t.allow_at(999), None);
        assert_eq!(t.allow_at(1000), Some(2));
        assert_eq!(t.allow_at(1500), None);
        assert_eq!(t.allow_at(5000), Some(1));
    }
}
