//! The toy `random` input (as in Dynosaur): a value of about 50 plus or minus 9, 2 per dyno by default.
//! Seeded, so a dry run can be replayed. It reads nothing real.

use super::super::clock::Tick;
use super::super::input::{ready, Conversion, Input, Retrieval};
use super::{no_checks, parse_with, same_keys, DynosaurInput, InputContext, InputKind, InputSpec};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// `type: random`, Dynosaur's `RandomPlugin`.
pub const KIND: InputKind = InputKind {
    name: "random",
    parse: |v| parse_with::<RandomParams>(v, no_checks),
    dynosaur: Some(DynosaurInput {
        classes: &["RandomPlugin"],
        translate: same_keys,
        from_env: &[],
    }),
};

/// Dynosaur's random plugin: `ceil(value / 2)`.
pub const DEFAULT_PER_DYNO: f64 = 2.0;

/// `type: random` parameters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomParams {
    /// Seed for the generator (default: a random seed).
    #[serde(default)]
    pub seed: Option<u64>,
}

impl InputSpec for RandomParams {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn describe(&self) -> String {
        match self.seed {
            Some(seed) => format!("random values around 50 (seed {seed})"),
            None => "random values around 50".into(),
        }
    }

    fn default_conversion(&self) -> Option<Conversion> {
        Some(Conversion::PerDyno(DEFAULT_PER_DYNO))
    }

    fn build(
        &self,
        conversion: Conversion,
        _ctx: &InputContext,
        _start: Tick,
    ) -> Result<Box<dyn Input>, String> {
        Ok(Box::new(RandomInput::new(self.clone(), conversion)))
    }
}

pub struct RandomInput {
    conversion: Conversion,
    base: f64,
    rng: Mutex<fastrand::Rng>,
}

impl RandomInput {
    pub fn new(params: RandomParams, conversion: Conversion) -> Self {
        let mut rng = params
            .seed
            .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        let base = f64::from(45 + rng.u32(0..10));
        RandomInput {
            conversion,
            base,
            rng: Mutex::new(rng),
        }
    }
}

impl Input for RandomInput {
    fn retrieve(&self, _now: Tick) -> Retrieval<'_> {
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let v = (self.base + f64::from(rng.u32(0..18)) - 9.0).max(0.0);
        ready(Ok(v))
    }

    fn unit(&self) -> &str {
        "randoms"
    }

    fn conversion(&self) -> &Conversion {
        &self.conversion
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaler::clock::{Clock, ManualClock};

    #[tokio::test]
    async fn seeded_values_repeat_and_stay_in_range() {
        let clock = ManualClock::default();
        let a = RandomInput::new(RandomParams { seed: Some(7) }, Conversion::PerDyno(2.0));
        let b = RandomInput::new(RandomParams { seed: Some(7) }, Conversion::PerDyno(2.0));
        for _ in 0..50 {
            let va = a.retrieve(clock.tick()).await.unwrap();
            assert_eq!(va, b.retrieve(clock.tick()).await.unwrap());
            assert!((36.0..=63.0).contains(&va), "{va}");
        }
    }
}
