//! The toy `sine` input (as in Dynosaur): a value between 0 and 100 following a sine wave of `period`,
//! 10 per dyno by default. For demos and dry runs; it reads nothing real.

use super::super::clock::Tick;
use super::super::input::{ready, Conversion, Input, Retrieval};
use super::{no_checks, parse_with, same_keys, DynosaurInput, InputContext, InputKind, InputSpec};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `type: sine`, Dynosaur's `SinePlugin`.
pub const KIND: InputKind = InputKind {
    name: "sine",
    parse: |v| parse_with::<SineParams>(v, no_checks),
    dynosaur: Some(DynosaurInput {
        classes: &["SinePlugin"],
        translate: |_, keys| same_keys(keys),
        from_env: &[],
    }),
};

/// Dynosaur's sine plugin: `ceil(value / 10)`.
pub const DEFAULT_PER_DYNO: f64 = 10.0;

/// `type: sine` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SineParams {
    /// One full wave (default `30s`, Dynosaur's).
    #[serde(default = "default_period", with = "crate::duration")]
    pub period: Duration,
}

fn default_period() -> Duration {
    Duration::from_secs(30)
}

impl Default for SineParams {
    fn default() -> Self {
        SineParams {
            period: default_period(),
        }
    }
}

impl InputSpec for SineParams {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn describe(&self) -> String {
        format!(
            "sine wave 0..100, period {}",
            crate::duration::format(self.period)
        )
    }

    fn default_conversion(&self) -> Option<Conversion> {
        Some(Conversion::PerDyno(DEFAULT_PER_DYNO))
    }

    fn build(
        &self,
        conversion: Conversion,
        _ctx: &InputContext,
        start: Tick,
    ) -> Result<Box<dyn Input>, String> {
        Ok(Box::new(SineInput::new(self.clone(), conversion, start)))
    }
}

pub struct SineInput {
    params: SineParams,
    conversion: Conversion,
    start: Tick,
}

impl SineInput {
    pub fn new(params: SineParams, conversion: Conversion, start: Tick) -> Self {
        SineInput {
            params,
            conversion,
            start,
        }
    }

    /// The wave at `now`: `ceil((sin(2 pi t / period) + 1) * 50)`.
    pub fn value_at(&self, now: Tick) -> f64 {
        let t = now
            .mono
            .saturating_duration_since(self.start.mono)
            .as_secs_f64();
        let period = self.params.period.as_secs_f64().max(1e-3);
        ((std::f64::consts::TAU * t / period).sin() + 1.0) * 50.0
    }
}

impl Input for SineInput {
    fn retrieve(&self, now: Tick) -> Retrieval<'_> {
        ready(Ok(self.value_at(now).ceil()))
    }

    fn unit(&self) -> &str {
        "sine"
    }

    fn conversion(&self) -> &Conversion {
        &self.conversion
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaler::clock::{Clock, ManualClock};

    #[test]
    fn follows_the_wave() {
        let clock = ManualClock::default();
        let input = SineInput::new(
            SineParams::default(),
            Conversion::PerDyno(10.0),
            clock.tick(),
        );
        assert!((input.value_at(clock.tick()) - 50.0).abs() < 1e-9);
        clock.advance(Duration::from_millis(7500)); // a quarter period: the top
        assert!((input.value_at(clock.tick()) - 100.0).abs() < 1e-9);
        clock.advance(Duration::from_secs(15)); // three quarters: the bottom
        assert!(input.value_at(clock.tick()).abs() < 1e-9);
    }
}
