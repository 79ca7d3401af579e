//! The reference curves, written as configs for the real controller so they share its code:
//!
//! - Dynosaur's algorithm: no cool-downs, no step limits, straight to the max over the hysteresis window.
//! - Kubernetes HPA's defaults: a 15 s sync period; `ceil(current * average / target)` with a 0.1 tolerance,
//!   where a `per_dyno` figure is the target of the per-dyno average; a scale-down stabilization window of
//!   5 minutes (the max of the recommendations of the last 5 minutes, which is what a 5-minute hysteresis
//!   window of estimates is); no cool-downs. HPA's scale-up rate limit (100 % or 4 pods per 15 s) is not
//!   modelled.
//!
//! Both keep the controller's min, max and schedules: those are the user's limits, not the algorithm.

use super::formation::SimFormation;
use crate::scaler::clock::Tick;
use crate::scaler::controller_config::ControllerConfig;
use crate::scaler::input::{Conversion, Input, Retrieval};
use crate::scaler::policy::Policy;
use std::sync::Arc;
use std::time::Duration;

/// HPA's sync period.
pub const HPA_SYNC: Duration = Duration::from_secs(15);
/// HPA's default scale-down stabilization window.
pub const HPA_STABILIZATION: Duration = Duration::from_secs(300);
/// HPA's default tolerance.
pub const HPA_TOLERANCE: f64 = 0.1;

/// A policy with no cool-downs and no step limits.
fn immediate() -> Policy {
    Policy {
        up_cooldown: Duration::ZERO,
        down_cooldown: Duration::ZERO,
        max_step_up: None,
        max_step_down: None,
    }
}

/// `c` run by Dynosaur's algorithm.
pub fn dynosaur(c: &ControllerConfig) -> ControllerConfig {
    let mut c = c.clone();
    c.policy = immediate();
    c
}

/// `c` run by HPA's defaults (each `per_dyno` input wrapped by [`PerDynoAverage`] when built).
pub fn hpa(c: &ControllerConfig) -> ControllerConfig {
    let mut c = c.clone();
    c.policy = immediate();
    for i in &mut c.inputs {
        i.interval = HPA_SYNC;
        i.hysteresis_period = HPA_STABILIZATION;
    }
    c
}

/// An input's value divided by the formation's dyno count (at least 1), with HPA's conversion against the
/// `per_dyno` figure as target: `ceil(current * average / per_dyno)`, unchanged within the tolerance.
pub struct PerDynoAverage {
    inner: Box<dyn Input>,
    formation: Arc<SimFormation>,
    conversion: Conversion,
}

impl PerDynoAverage {
    pub fn new(inner: Box<dyn Input>, formation: Arc<SimFormation>, per_dyno: f64) -> Self {
        PerDynoAverage {
            inner,
            formation,
            conversion: Conversion::Target {
                target: per_dyno,
                tolerance: HPA_TOLERANCE,
            },
        }
    }
}

impl Input for PerDynoAverage {
    fn retrieve(&self, now: Tick) -> Retrieval<'_> {
        let dynos = f64::from(self.formation.count().max(1));
        let inner = self.inner.retrieve(now);
        Box::pin(async move { inner.await.map(|v| v / dynos) })
    }

    fn unit(&self) -> &str {
        self.inner.unit()
    }

    fn conversion(&self) -> &Conversion {
        &self.conversion
    }

    fn window_epoch(&self, wall: jiff::Timestamp) -> Option<i64> {
        self.inner.window_epoch(wall)
    }
}
