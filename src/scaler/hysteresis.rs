//! An input's recent values: the cache (one retrieval per `interval`) and the hysteresis window (the estimate
//! comes from the maximum of the last `hysteresis_period / interval` good values, as in Dynosaur).
//!
//! Each value is kept with the estimate made when it was retrieved. For `per_dyno` inputs the max estimate is
//! the estimate of the max value (Dynosaur's rule); for `target` inputs (`ceil(current * value / target)`) the
//! max is taken over those recommendations, as Kubernetes' HPA stabilises recommendations: re-applying an old
//! value to a count that already grew because of it would scale up without end.
//!
//! A source whose value starts again from zero at set times (a daily counter) names its period, its epoch: the
//! first good value of a new epoch clears the window, so yesterday's peak does not hold today's estimate.
//!
//! Unlike Dynosaur, a failed retrieval pushes nothing: the window keeps the last good values, so an outage
//! never looks like low load. Health is judged in [`super::health`], not here.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The cached value and the window of recent good values.
#[derive(Debug, Clone)]
pub struct Hysteresis {
    interval: Duration,
    capacity: usize,
    values: VecDeque<(f64, u32)>,
    last_attempt: Option<Instant>,
    last_success: Option<Instant>,
    retrievals: u64,
    /// The epoch of the values in the window (`None`: the source has none).
    epoch: Option<i64>,
}

impl Hysteresis {
    /// `interval`: how long a value is cached; `period`: how far back the max looks. The window holds
    /// `max(1, round(period / interval))` values (Dynosaur's ring buffer size).
    pub fn new(interval: Duration, period: Duration) -> Self {
        let capacity = if interval.is_zero() {
            1
        } else {
            ((period.as_secs_f64() / interval.as_secs_f64()).round() as usize).max(1)
        };
        Hysteresis {
            interval,
            capacity,
            values: VecDeque::with_capacity(capacity),
            last_attempt: None,
            last_success: None,
            retrievals: 0,
            epoch: None,
        }
    }

    /// True when the cached value has expired (or none was ever attempted): time to retrieve.
    pub fn due(&self, now: Instant) -> bool {
        match self.last_attempt {
            None => true,
            Some(at) => now.saturating_duration_since(at) >= self.interval,
        }
    }

    /// Records a good value and the estimate made from it.
    pub fn record(&mut self, now: Instant, value: f64, estimate: u32) {
        self.retrievals += 1;
        self.last_attempt = Some(now);
        self.last_success = Some(now);
        if self.values.len() == self.capacity {
            self.values.pop_front();
        }
        self.values.push_back((value, estimate));
    }

    /// Records a good value of `epoch` (see [`super::input::Input::window_epoch`]): a value of another epoch
    /// than the window's clears the window first.
    pub fn record_in(&mut self, epoch: Option<i64>, now: Instant, value: f64, estimate: u32) {
        if epoch.is_some() && self.epoch.is_some() && epoch != self.epoch {
            self.values.clear();
        }
        if epoch.is_some() {
            self.epoch = epoch;
        }
        self.record(now, value, estimate);
    }

    /// Records a failed retrieval: nothing enters the window. The next pass retries (the failure is not cached).
    pub fn record_failure(&mut self) {
        self.retrievals += 1;
    }

    /// The newest good value.
    pub fn last(&self) -> Option<f64> {
        self.values.back().map(|(v, _)| *v)
    }

    /// The maximum of the window: what the estimate is made from.
    pub fn max(&self) -> Option<f64> {
        self.values.iter().map(|(v, _)| *v).reduce(f64::max)
    }

    /// The maximum estimate in the window: what the controller follows.
    pub fn max_estimate(&self) -> Option<u32> {
        self.values.iter().map(|(_, e)| *e).max()
    }

    /// When the last good value was retrieved.
    pub fn last_success(&self) -> Option<Instant> {
        self.last_success
    }

    /// How many retrievals were attempted (good or failed).
    pub fn retrievals(&self) -> u64 {
        self.retrievals
    }

    /// How many values the window holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn caches_for_one_interval() {
        // Dynosaur: two reads inside one interval make one retrieval; after the interval, a second.
        let t0 = Instant::now();
        let mut h = Hysteresis::new(secs(30), secs(300));
        assert!(h.due(t0));
        h.record(t0, 7.0, 4);
        assert!(!h.due(t0 + secs(29)));
        assert!(h.due(t0 + secs(30)));
        assert_eq!(h.retrievals(), 1);
    }

    #[test]
    fn window_is_period_over_interval_values() {
        assert_eq!(Hysteresis::new(secs(60), secs(300)).capacity(), 5);
        assert_eq!(Hysteresis::new(secs(10), secs(300)).capacity(), 30);
        assert_eq!(Hysteresis::new(secs(60), secs(0)).capacity(), 1);
        assert_eq!(Hysteresis::new(Duration::ZERO, secs(60)).capacity(), 1);
    }

    #[test]
    fn estimate_follows_the_max_of_the_last_values() {
        // Dynosaur's hysteresis spec: the estimate follows the max of the last period/interval values.
        let t0 = Instant::now();
        let mut h = Hysteresis::new(Duration::from_millis(50), Duration::from_millis(250));
        let values = [40.0, 90.0, 10.0, 20.0, 30.0, 35.0, 5.0, 60.0, 1.0, 2.0, 3.0];
        let mut seen = Vec::new();
        for (i, v) in values.iter().enumerate() {
            h.record(
                t0 + Duration::from_millis(100 * i as u64),
                *v,
                (v / 2.0).ceil() as u32,
            );
            seen.push(*v);
            let last5 = &seen[seen.len().saturating_sub(5)..];
            let want = last5.iter().copied().fold(f64::MIN, f64::max);
            assert_eq!(h.max(), Some(want), "after {seen:?}");
            assert_eq!(h.max_estimate(), Some((want / 2.0).ceil() as u32));
        }
    }

    #[test]
    fn values_of_an_earlier_epoch_do_not_count() {
        // A daily counter: 120 at 23:50 of day 7, then 30 after midnight (day 8), with a 24h window.
        let t0 = Instant::now();
        let mut h = Hysteresis::new(secs(300), secs(86_400));
        h.record_in(Some(7), t0, 100.0, 3);
        h.record_in(Some(7), t0 + secs(300), 120.0, 3);
        assert_eq!(h.max(), Some(120.0));
        h.record_in(Some(8), t0 + secs(600), 30.0, 1);
        assert_eq!(h.max(), Some(30.0));
        assert_eq!(h.max_estimate(), Some(1));
        h.record_in(Some(8), t0 + secs(900), 40.0, 1);
        assert_eq!(h.max(), Some(40.0));
        // Without an epoch, values stay for the window's length.
        let mut plain = Hysteresis::new(secs(300), secs(86_400));
        plain.record_in(None, t0, 120.0, 3);
        plain.record_in(None, t0 + secs(300), 30.0, 1);
        assert_eq!(plain.max(), Some(120.0));
    }

    #[test]
    fn failures_keep_the_last_good_values() {
        let t0 = Instant::now();
        let mut h = Hysteresis::new(secs(10), secs(30));
        h.record(t0, 50.0, 25);
        h.record_failure();
        h.record_failure();
        assert_eq!(h.max(), Some(50.0));
        assert_eq!(h.last_success(), Some(t0));
        // A failure is not cached: the next pass retries.
        assert!(h.due(t0 + secs(10)));
    }
}
