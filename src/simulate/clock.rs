//! The replay's clock: it stands still until the replay moves it to the next pass's time, taken from the logs'
//! own timestamps, so a day of logs runs in seconds and every cool-down, hysteresis window and schedule sees
//! the time the logs saw.

use crate::scaler::clock::{Clock, Tick};
use jiff::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// A clock set by the replay, in Unix microseconds. It never goes backwards.
#[derive(Debug)]
pub struct VirtualClock {
    base: Instant,
    start: i64,
    now: AtomicI64,
}

impl VirtualClock {
    /// A clock reading `start` (Unix micros).
    pub fn starting_at(start: i64) -> Self {
        VirtualClock {
            base: Instant::now(),
            start,
            now: AtomicI64::new(start),
        }
    }

    /// Moves the clock to `micros` (a time before the current one leaves it where it is).
    pub fn set(&self, micros: i64) {
        self.now.fetch_max(micros, Ordering::Relaxed);
    }

    /// The time now, Unix micros.
    pub fn now_micros(&self) -> i64 {
        self.now.load(Ordering::Relaxed)
    }
}

impl Clock for VirtualClock {
    fn tick(&self) -> Tick {
        let now = self.now_micros();
        let elapsed = u64::try_from(now.saturating_sub(self.start)).unwrap_or(0);
        Tick {
            mono: self.base + Duration::from_micros(elapsed),
            wall: Timestamp::from_microsecond(now).unwrap_or(Timestamp::UNIX_EPOCH),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_both_clocks_forward_only() {
        let clock = VirtualClock::starting_at(1_700_000_000_000_000);
        let t0 = clock.tick();
        clock.set(1_700_000_090_000_000);
        let t1 = clock.tick();
        assert_eq!(t1.mono - t0.mono, Duration::from_secs(90));
        assert_eq!(t1.wall.as_second() - t0.wall.as_second(), 90);
        clock.set(1_700_000_000_000_000);
        assert_eq!(clock.tick(), t1);
    }
}
