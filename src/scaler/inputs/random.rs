//! The toy `random` input (as in Dynosaur): a value of about 50 plus or minus 9, 2 per dyno by default, or
//! uniform between `min` and `max` when given (Dynosaur's random Papertrail volume). Seeded, so a dry run can be
//! replayed. It reads nothing real.

use super::super::clock::Tick;
use super::super::input::{ready, Conversion, Input, Retrieval};
use super::{parse_with, same_keys, DynosaurInput, InputContext, InputKind, InputSpec};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// `type: random`, Dynosaur's `RandomPlugin` and `PapertrailRandomInputPlugin` (a random log volume, mapped in
/// [`super::papertrail`]).
pub const KIND: InputKind = InputKind {
    name: "random",
    parse: |v| parse_with::<RandomParams>(v, RandomParams::validate),
    dynosaur: Some(DynosaurInput {
        classes: &[
            "RandomPlugin",
            "PapertrailRandomInputPlugin",
            "RediscloudRandomInputPlugin",
        ],
        translate: |class, keys| match class {
            "PapertrailRandomInputPlugin" => toy_from_dynosaur(
                keys,
                "log_volume",
                super::papertrail::RANDOM_MAX_BYTES,
                "random log volumes (bytes a day), for trying the Papertrail plan controller",
            ),
            "RediscloudRandomInputPlugin" => toy_from_dynosaur(
                keys,
                "memory",
                1000.0 * MB,
                "random memory use (bytes), for trying the RedisCloud plan controller",
            ),
            _ => same_keys(keys),
        },
        from_env: &[],
    }),
};

/// Dynosaur's random add-on toys as `random` between 0 and `max` bytes unless `min`/`max` are given,
/// compared with the plans' `figure`, at `max_percentage_threshold` if given: `PapertrailRandomInputPlugin`
/// (0 to 1 GB a day, choklad to liatorp) and `RediscloudRandomInputPlugin` (0 to 1000 MB of memory). The
/// toys' own ranges are not documented.
fn toy_from_dynosaur(
    mut keys: serde_yaml_ng::Mapping,
    figure: &str,
    max: f64,
    what: &str,
) -> Result<super::DynosaurEntry, String> {
    let threshold = super::dynosaur_threshold(&mut keys)?;
    if !keys.contains_key("min") && !keys.contains_key("max") {
        keys.insert("min".into(), 0.0.into());
        keys.insert("max".into(), max.into());
    }
    Ok(super::DynosaurEntry {
        params: keys,
        conversion: Some(Conversion::Capacity {
            figure: figure.into(),
            threshold: None,
        }),
        threshold,
        warnings: vec![format!("a toy: {what}")],
        ..super::DynosaurEntry::default()
    })
}

const MB: f64 = 1024.0 * 1024.0;

/// Dynosaur's random plugin: `ceil(value / 2)`.
pub const DEFAULT_PER_DYNO: f64 = 2.0;

/// `type: random` parameters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomParams {
    /// Seed for the generator (default: a random seed).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Lowest value, with `max` (default: values around 50).
    #[serde(default)]
    pub min: Option<f64>,
    /// Highest value, with `min`.
    #[serde(default)]
    pub max: Option<f64>,
}

impl RandomParams {
    /// `min` and `max` come together, finite, `min` <= `max`.
    pub fn validate(&self) -> Result<(), String> {
        match (self.min, self.max) {
            (None, None) => Ok(()),
            (Some(min), Some(max)) if min.is_finite() && max.is_finite() && min <= max => Ok(()),
            (Some(min), Some(max)) => Err(format!(
                "`min` and `max` must be numbers with min <= max, got {min} and {max}"
            )),
            _ => Err("give `min` and `max` together (a range), or neither".into()),
        }
    }

    /// The range values are drawn from, when set.
    fn range(&self) -> Option<(f64, f64)> {
        self.min.zip(self.max)
    }
}

impl InputSpec for RandomParams {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn describe(&self) -> String {
        let what = match self.range() {
            Some((min, max)) => format!("random values from {min} to {max}"),
            None => "random values around 50".into(),
        };
        match self.seed {
            Some(seed) => format!("{what} (seed {seed})"),
            None => what,
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
    range: Option<(f64, f64)>,
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
            range: params.range(),
            rng: Mutex::new(rng),
        }
    }
}

impl Input for RandomInput {
    fn retrieve(&self, _now: Tick) -> Retrieval<'_> {
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let v = match self.range {
            Some((min, max)) => min + rng.f64() * (max - min),
            None => (self.base + f64::from(rng.u32(0..18)) - 9.0).max(0.0),
        };
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
        let seeded = RandomParams {
            seed: Some(7),
            ..RandomParams::default()
        };
        let a = RandomInput::new(seeded.clone(), Conversion::PerDyno(2.0));
        let b = RandomInput::new(seeded, Conversion::PerDyno(2.0));
        for _ in 0..50 {
            let va = a.retrieve(clock.tick()).await.unwrap();
            assert_eq!(va, b.retrieve(clock.tick()).await.unwrap());
            assert!((36.0..=63.0).contains(&va), "{va}");
        }
    }

    #[tokio::test]
    async fn a_range_bounds_the_values() {
        let clock = ManualClock::default();
        let p: RandomParams = serde_yaml_ng::from_str("{seed: 3, min: 1000, max: 2000}").unwrap();
        assert_eq!(p.validate(), Ok(()));
        let input = RandomInput::new(p, Conversion::PerDyno(2.0));
        for _ in 0..50 {
            let v = input.retrieve(clock.tick()).await.unwrap();
            assert!((1000.0..=2000.0).contains(&v), "{v}");
        }
        for bad in ["{min: 5}", "{max: 5}", "{min: 5, max: 1}"] {
            let p: RandomParams = serde_yaml_ng::from_str(bad).unwrap();
            assert!(p.validate().unwrap_err().contains("`min`"), "{bad}");
        }
    }
}
