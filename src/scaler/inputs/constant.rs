//! The `constant` input: always the same value. A floor that holds whatever the other inputs say (say
//! `value: 3, per_dyno: 1` for "never fewer than 3 dynos while this controller runs"), and the smallest
//! complete input type: the template for adding one (this file plus one line in [`super::KINDS`]).

use super::super::clock::Tick;
use super::super::input::{ready, Conversion, Input, Retrieval};
use super::{parse_with, InputContext, InputKind, InputSpec};
use serde::Deserialize;

/// `type: constant`.
pub const KIND: InputKind = InputKind {
    name: "constant",
    parse: |v| parse_with::<ConstantParams>(v, ConstantParams::validate),
    dynosaur: None,
};

/// `type: constant` parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstantParams {
    /// The value every read returns (required; a finite number, 0 or more).
    pub value: f64,
    /// The value's unit, for status pages (default `units`).
    #[serde(default = "default_unit")]
    pub unit: String,
}

fn default_unit() -> String {
    "units".into()
}

impl ConstantParams {
    fn validate(&self) -> Result<(), String> {
        if !(self.value.is_finite() && self.value >= 0.0) {
            return Err(format!(
                "value must be a number of 0 or more, got {}",
                self.value
            ));
        }
        if self.unit.is_empty() || self.unit.len() > 32 || self.unit.chars().any(char::is_control) {
            return Err("unit must be 1 to 32 printable characters".into());
        }
        Ok(())
    }
}

impl InputSpec for ConstantParams {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn describe(&self) -> String {
        format!("constant {} {}", self.value, self.unit)
    }

    /// One dyno per unit: `value: 3` holds 3 dynos.
    fn default_conversion(&self) -> Option<Conversion> {
        Some(Conversion::PerDyno(1.0))
    }

    fn build(
        &self,
        conversion: Conversion,
        _ctx: &InputContext,
        _start: Tick,
    ) -> Result<Box<dyn Input>, String> {
        Ok(Box::new(ConstantInput {
            params: self.clone(),
            conversion,
        }))
    }
}

/// Answers `value`, every time.
pub struct ConstantInput {
    params: ConstantParams,
    conversion: Conversion,
}

impl Input for ConstantInput {
    fn retrieve(&self, _now: Tick) -> Retrieval<'_> {
        ready(Ok(self.params.value))
    }

    fn unit(&self) -> &str {
        &self.params.unit
    }

    fn conversion(&self) -> &Conversion {
        &self.conversion
    }
}
