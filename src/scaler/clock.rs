//! Time for the scaler: a monotonic instant (intervals, cool-downs, staleness) and a wall-clock timestamp
//! (schedules, status pages), read together so a pass sees one consistent "now".
//!
//! Production code uses [`SystemClock`]; tests use [`ManualClock`] and advance it instead of sleeping.

use jiff::Timestamp;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One reading of the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Monotonic time: what intervals and cool-downs are measured with.
    pub mono: Instant,
    /// Wall-clock time: what schedules and status pages show.
    pub wall: Timestamp,
}

/// Where the scaler gets its time from.
pub trait Clock: Send + Sync {
    fn tick(&self) -> Tick;
}

/// The real clocks.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn tick(&self) -> Tick {
        Tick {
            mono: Instant::now(),
            wall: Timestamp::now(),
        }
    }
}

/// A clock that moves only when told to: for tests of hysteresis, cool-downs and staleness.
#[derive(Debug)]
pub struct ManualClock {
    start: Tick,
    elapsed: Mutex<Duration>,
}

impl ManualClock {
    /// Starts at the real "now" (monotonic) and at `wall` (wall clock).
    pub fn starting_at(wall: Timestamp) -> Self {
        ManualClock {
            start: Tick {
                mono: Instant::now(),
                wall,
            },
            elapsed: Mutex::new(Duration::ZERO),
        }
    }

    /// Moves both clocks forward.
    pub fn advance(&self, by: Duration) {
        let mut elapsed = self.elapsed.lock().unwrap_or_else(|p| p.into_inner());
        *elapsed += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::starting_at(Timestamp::UNIX_EPOCH)
    }
}

impl Clock for ManualClock {
    fn tick(&self) -> Tick {
        let elapsed = *self.elapsed.lock().unwrap_or_else(|p| p.into_inner());
        let wall = self
            .start
            .wall
            .checked_add(
                jiff::SignedDuration::try_from(elapsed).unwrap_or(jiff::SignedDuration::MAX),
            )
            .unwrap_or(Timestamp::MAX);
        Tick {
            mono: self.start.mono + elapsed,
            wall,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_both_clocks_together() {
        let clock = ManualClock::default();
        let t0 = clock.tick();
        clock.advance(Duration::from_secs(90));
        let t1 = clock.tick();
        assert_eq!(t1.mono - t0.mono, Duration::from_secs(90));
        assert_eq!(t1.wall.as_second() - t0.wall.as_second(), 90);
    }
}
