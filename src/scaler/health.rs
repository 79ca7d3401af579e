//! An input's health, as Dynosaur reported it: OK, STALE (the last good value is older than the input's
//! interval) or OUTAGE (older than `outage_after`, default 300 s or three intervals, whichever is longer). Anything but OK blocks scale-down.

use serde::Serialize;
use std::time::{Duration, Instant};

/// Dynosaur's outage period.
pub const DEFAULT_OUTAGE_AFTER: Duration = Duration::from_secs(300);

/// An input's `outage_after` when the entry names none: Dynosaur's 300 s, or three intervals for inputs read
/// less often (a `papertrail` input every 5m), so one failed read is STALE, not OUTAGE.
pub fn default_outage_after(interval: Duration) -> Duration {
    DEFAULT_OUTAGE_AFTER.max(interval.saturating_mul(3))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Health {
    Ok,
    Stale,
    Outage,
}

impl Health {
    /// Judges an input at `now`.
    ///
    /// - `last_success`: when it last produced a good value (`None`: never; age counts from `since`, when the
    ///   input was created).
    /// - `failing`: the latest retrieval attempt failed (a failed input is at least STALE even if its last good
    ///   value is young).
    pub fn assess(
        now: Instant,
        since: Instant,
        last_success: Option<Instant>,
        failing: bool,
        interval: Duration,
        outage_after: Duration,
    ) -> Health {
        let age = now.saturating_duration_since(last_success.unwrap_or(since));
        if age >= outage_after {
            Health::Outage
        } else if failing || last_success.is_none() || age > interval {
            Health::Stale
        } else {
            Health::Ok
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "OK",
            Health::Stale => "STALE",
            Health::Outage => "OUTAGE",
        }
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn dynosaurs_three_states() {
        let t0 = Instant::now();
        let assess = |age: u64, failing| {
            Health::assess(
                t0 + Duration::from_secs(age),
                t0,
                Some(t0),
                failing,
                Duration::from_secs(30),
                5 * MIN,
            )
        };
        assert_eq!(assess(0, false), Health::Ok);
        assert_eq!(assess(30, false), Health::Ok);
        // Dynosaur's spec: last good value 4 minutes ago -> STALE, 6 minutes ago -> OUTAGE.
        assert_eq!(assess(240, true), Health::Stale);
        assert_eq!(assess(360, true), Health::Outage);
        // A fresh value but a failed attempt since: STALE.
        assert_eq!(assess(5, true), Health::Stale);
    }

    #[test]
    fn never_retrieved_is_stale_then_outage() {
        let t0 = Instant::now();
        let h =
            |age: u64| Health::assess(t0 + Duration::from_secs(age), t0, None, true, MIN, 5 * MIN);
        assert_eq!(h(0), Health::Stale);
        assert_eq!(h(299), Health::Stale);
        assert_eq!(h(300), Health::Outage);
    }
}
