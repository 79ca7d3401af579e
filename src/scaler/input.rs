//! What every scaler input is: something that retrieves a value (requests per minute, p95 ms, a sample) and
//! converts a value to a resource count (dynos). Caching, hysteresis and health live elsewhere
//! ([`super::hysteresis`], [`super::health`]): an input only answers "what is the value now?".
//!
//! Adding an input = one file in `inputs/` implementing [`Input`] + one line in `inputs/mod.rs`.

use super::clock::Tick;
use std::future::Future;
use std::pin::Pin;

/// Why an input has no value this time. Never read as zero load.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// The source could not be read (API down, window store unavailable, timeout).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The source answered but its data cannot be trusted to mean "low load" (e.g. the drain stopped receiving).
    #[error("stale: {0}")]
    Stale(String),
    /// The source answered with something that is not a finite number.
    #[error("bad value: {0}")]
    BadValue(String),
}

/// A retrieval in flight (boxed so inputs stay object-safe; sync inputs return a ready future).
pub type Retrieval<'a> = Pin<Box<dyn Future<Output = Result<f64, InputError>> + Send + 'a>>;

/// One scaler input.
pub trait Input: Send + Sync {
    /// Reads the value now. Called at most once per the input's `interval`.
    fn retrieve(&self, now: Tick) -> Retrieval<'_>;
    /// The value's unit, for status pages and logs (`rpm`, `ms`, `dynos`).
    fn unit(&self) -> &str;
    /// How to turn a value into a resource count.
    fn conversion(&self) -> &Conversion;
    /// The period the source's value belongs to at `wall`, for sources that start again from zero at set
    /// times (Papertrail's log volume at UTC midnight): when it changes, the hysteresis window forgets the
    /// values of the period before. `None` (the default): values never expire but by the window's length.
    fn window_epoch(&self, _wall: jiff::Timestamp) -> Option<i64> {
        None
    }
}

/// How a value becomes a resource count.
#[derive(Debug, Clone, PartialEq)]
pub enum Conversion {
    /// Dynosaur's rule: `ceil(value / per_dyno)`.
    PerDyno(f64),
    /// Kubernetes HPA's rule: `ceil(current * value / target)`, unchanged while `|value/target - 1| <= tolerance`.
    Target { target: f64, tolerance: f64 },
    /// An add-on plan, as written in an entry (`capacity: FIGURE`): compared with the named figure of its
    /// controller's plan table. The controller's config turns it into [`Conversion::Plan`]; it never runs as
    /// it is (its estimate is 0).
    Capacity {
        figure: String,
        /// Percent of a plan's figure the value may use (`None`: the controller's, default 90).
        threshold: Option<f64>,
    },
    /// Dynosaur's plan rule, resolved against a plan table: the index of the smallest plan whose figure
    /// times `threshold`/100 exceeds the value (`None` figures have no limit). Above every plan: the last.
    Plan {
        figure: String,
        limits: Vec<Option<f64>>,
        threshold: f64,
    },
}

impl Conversion {
    /// The resource count this value asks for, given the current count.
    ///
    /// With `Target`, a current count of 0 is treated as 1 (there is no ratio to apply to zero dynos).
    pub fn estimate(&self, value: f64, current: u32) -> u32 {
        let value = if value.is_finite() {
            value.max(0.0)
        } else {
            0.0
        };
        match *self {
            Conversion::PerDyno(per_dyno) => to_count((value / per_dyno).ceil()),
            Conversion::Target { target, tolerance } => {
                let base = current.max(1);
                let ratio = value / target;
                if (ratio - 1.0).abs() <= tolerance {
                    return current;
                }
                // Guard against float noise: 3 * 0.6666.../0.6666 must stay 3, not 4.
                let raw = f64::from(base) * ratio;
                to_count((raw - 1e-9).ceil())
            }
            Conversion::Capacity { .. } => 0,
            Conversion::Plan {
                ref limits,
                threshold,
                ..
            } => {
                let fits =
                    |limit: &Option<f64>| limit.is_none_or(|l| l * threshold / 100.0 > value);
                let index = limits
                    .iter()
                    .position(fits)
                    .unwrap_or(limits.len().saturating_sub(1));
                u32::try_from(index).unwrap_or(u32::MAX)
            }
        }
    }

    /// Readable form for plans and status pages.
    pub fn describe(&self) -> String {
        match self {
            Conversion::PerDyno(n) => format!("ceil(value / {n}) dynos"),
            Conversion::Target { target, tolerance } => {
                format!("ceil(current * value / {target}), tolerance {tolerance}")
            }
            Conversion::Capacity { figure, threshold } => match threshold {
                Some(t) => format!("the smallest plan whose {figure} * {t}% exceeds the value"),
                None => format!("the smallest plan whose {figure} * threshold exceeds the value"),
            },
            Conversion::Plan {
                figure, threshold, ..
            } => format!("the smallest plan whose {figure} * {threshold}% exceeds the value"),
        }
    }
}

fn to_count(x: f64) -> u32 {
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        x as u32
    }
}

/// A ready retrieval, for inputs that answer synchronously.
pub fn ready(result: Result<f64, InputError>) -> Retrieval<'static> {
    Box::pin(std::future::ready(result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_dyno_is_dynosaurs_ceiling() {
        let c = Conversion::PerDyno(2.0);
        assert_eq!(c.estimate(33.0, 0), 17);
        assert_eq!(c.estimate(10.0, 0), 5);
        assert_eq!(c.estimate(0.0, 4), 0);
        assert_eq!(c.estimate(-1.0, 4), 0);
        assert_eq!(c.estimate(f64::NAN, 4), 0);
        assert_eq!(Conversion::PerDyno(10.0).estimate(100.0, 0), 10);
    }

    #[test]
    fn target_follows_the_hpa_formula() {
        let c = Conversion::Target {
            target: 200.0,
            tolerance: 0.1,
        };
        // 4 dynos at 300 ms against a 200 ms target: ceil(4 * 1.5) = 6.
        assert_eq!(c.estimate(300.0, 4), 6);
        // 4 dynos at 100 ms: ceil(4 * 0.5) = 2.
        assert_eq!(c.estimate(100.0, 4), 2);
        // 5 dynos at 130: ceil(3.25) = 4.
        assert_eq!(c.estimate(130.0, 5), 4);
        // Exact ratios do not round up from float noise.
        assert_eq!(
            Conversion::Target {
                target: 0.3,
                tolerance: 0.0
            }
            .estimate(0.6, 3),
            6
        );
    }

    #[test]
    fn target_tolerance_keeps_the_current_count() {
        let c = Conversion::Target {
            target: 200.0,
            tolerance: 0.1,
        };
        assert_eq!(c.estimate(219.0, 7), 7);
        assert_eq!(c.estimate(181.0, 7), 7);
        assert_eq!(c.estimate(221.0, 7), 8);
        assert_eq!(c.estimate(179.0, 7), 7); // ceil(7 * 0.895) = 7
        assert_eq!(c.estimate(150.0, 7), 6); // ceil(5.25) = 6
    }

    #[test]
    fn plan_is_the_smallest_that_fits_under_the_threshold() {
        const MB: f64 = 1024.0 * 1024.0;
        // RedisCloud's memory figures, in bytes: 25, 100, 250 MB; then a plan without a limit.
        let c = Conversion::Plan {
            figure: "memory".into(),
            limits: vec![Some(25.0 * MB), Some(100.0 * MB), Some(250.0 * MB), None],
            threshold: 90.0,
        };
        // Dynosaur's spec: 70 MB -> rediscloud:100 (index 1).
        assert_eq!(c.estimate(70.0 * MB, 0), 1);
        assert_eq!(c.estimate(120.0 * MB, 0), 2);
        assert_eq!(c.estimate(22.0 * MB, 3), 0);
        // 90% of 25 MB is exactly 22.5 MB: not "exceeds".
        assert_eq!(c.estimate(22.5 * MB, 0), 1);
        assert_eq!(c.estimate(1e15, 0), 3);
        let bounded = Conversion::Plan {
            figure: "memory".into(),
            limits: vec![Some(10.0), Some(20.0)],
            threshold: 100.0,
        };
        assert_eq!(bounded.estimate(500.0, 0), 1);
    }

    #[test]
    fn target_from_zero_dynos_uses_one() {
        let c = Conversion::Target {
            target: 100.0,
            tolerance: 0.1,
        };
        assert_eq!(c.estimate(350.0, 0), 4);
    }
}
