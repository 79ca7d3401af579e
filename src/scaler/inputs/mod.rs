//! The input registry: every input type's parameters and constructor. Adding an input = one file here
//! implementing [`super::input::Input`] + one variant in [`InputParams`] and one arm in each match below.
//!
//! Parameters are parsed here (each type owns a `deny_unknown_fields` struct); the common keys (`name`,
//! `interval`, `hysteresis_period`, conversion, `fallback`) are in [`crate::config::controller::InputConfig`].

pub mod drain;
pub mod google_analytics;
pub mod random;
pub mod sine;

use super::clock::Tick;
use super::input::{Conversion, Input};
use crate::window::WindowReader;
use std::sync::Arc;
use std::time::Duration;

/// An input type's own parameters, parsed from the keys the common ones leave over.
#[derive(Debug, Clone, PartialEq)]
pub enum InputParams {
    Drain(drain::DrainParams),
    Sine(sine::SineParams),
    Random(random::RandomParams),
}

/// What inputs may need at run time.
#[derive(Clone, Default)]
pub struct InputContext {
    /// The drain's windows; `None` when no drain runs (then `drain` inputs are refused at load time).
    pub windows: Option<Arc<dyn WindowReader>>,
}

/// Input type names accepted in `type:`.
pub const TYPES: &[&str] = &["drain", "sine", "random"];

impl InputParams {
    /// Parses the leftover keys of an input entry for its `type`.
    pub fn parse(kind: &str, params: serde_yaml_ng::Mapping) -> Result<InputParams, String> {
        let value = serde_yaml_ng::Value::Mapping(params);
        let typed = |e: serde_yaml_ng::Error| format!("{kind} input: {e}");
        match kind {
            "drain" => {
                let p: drain::DrainParams = serde_yaml_ng::from_value(value).map_err(typed)?;
                p.validate().map_err(|e| format!("{kind} input: {e}"))?;
                Ok(InputParams::Drain(p))
            }
            "sine" => serde_yaml_ng::from_value(value)
                .map(InputParams::Sine)
                .map_err(typed),
            "random" => serde_yaml_ng::from_value(value)
                .map(InputParams::Random)
                .map_err(typed),
            other => Err(format!(
                "unknown input type {other:?} (known: {})",
                TYPES.join(", ")
            )),
        }
    }

    /// The type name.
    pub fn kind(&self) -> &'static str {
        match self {
            InputParams::Drain(_) => "drain",
            InputParams::Sine(_) => "sine",
            InputParams::Random(_) => "random",
        }
    }

    /// The conversion used when the entry names none (`None`: the entry must name one).
    pub fn default_conversion(&self) -> Option<Conversion> {
        match self {
            InputParams::Drain(_) => None,
            InputParams::Sine(_) => Some(Conversion::PerDyno(sine::DEFAULT_PER_DYNO)),
            InputParams::Random(_) => Some(Conversion::PerDyno(random::DEFAULT_PER_DYNO)),
        }
    }

    /// The cache interval used when the entry names none.
    pub fn default_interval(&self) -> Duration {
        match self {
            InputParams::Drain(_) => drain::DEFAULT_INTERVAL,
            _ => Duration::from_secs(60),
        }
    }

    /// Readable form for plans and status pages.
    pub fn describe(&self) -> String {
        match self {
            InputParams::Drain(p) => p.describe(),
            InputParams::Sine(p) => p.describe(),
            InputParams::Random(p) => p.describe(),
        }
    }

    /// Builds the input.
    pub fn build(
        &self,
        conversion: Conversion,
        ctx: &InputContext,
        start: Tick,
    ) -> Result<Box<dyn Input>, String> {
        Ok(match self {
            InputParams::Drain(p) => {
                let windows = ctx
                    .windows
                    .clone()
                    .ok_or("a drain input needs the drain (add a `drain:` section)")?;
                Box::new(drain::DrainInput::new(p.clone(), conversion, windows))
            }
            InputParams::Sine(p) => Box::new(sine::SineInput::new(p.clone(), conversion, start)),
            InputParams::Random(p) => Box::new(random::RandomInput::new(p.clone(), conversion)),
        })
    }
}
