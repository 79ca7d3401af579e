//! The input registry: every input type is one file in this folder, registered by one line in [`KINDS`].
//!
//! A type's file owns its `type:` name (and the Dynosaur class names it stands for), its parameters (a serde
//! struct with `deny_unknown_fields`, defaults and a doc comment per field), their validation, description,
//! default conversion and interval, and its constructor, all through [`InputSpec`] and an [`InputKind`]
//! constant. Nothing else in the crate matches on input types. The keys every input shares (`name`,
//! `interval`, `hysteresis_period`, conversion, `fallback`) are parsed in [`super::controller_config::InputConfig`].

pub mod constant;
pub mod drain;
pub mod google_analytics;
pub mod new_relic;
pub mod papertrail;
pub mod random;
pub mod sine;

use super::clock::Tick;
use super::input::{Conversion, Input};
use crate::invalid::Invalid;
use crate::window::WindowReader;
use serde::de::DeserializeOwned;
use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Every input type drainscale knows, in the order `check` lists them. One line per type.
pub const KINDS: &[InputKind] = &[
    drain::KIND,
    google_analytics::KIND,
    new_relic::KIND,
    papertrail::KIND,
    sine::KIND,
    random::KIND,
    constant::KIND,
];

/// One input type: its names and how an entry's own keys become its parameters.
pub struct InputKind {
    /// The `type:` name.
    pub name: &'static str,
    /// Parses the keys the common ones leave over (validated: an `Ok` is a usable input).
    pub parse: fn(serde_yaml_ng::Value) -> Result<InputParams, String>,
    /// Dynosaur's plugin classes this type stands for, and how their keys map.
    pub dynosaur: Option<DynosaurInput>,
}

/// How Dynosaur's input plugin classes map to an input type.
pub struct DynosaurInput {
    /// Class names as written in Dynosaur's `type:` (the last `::` segment), e.g. `SinePlugin`.
    pub classes: &'static [&'static str],
    /// Dynosaur's class (its short name, one of `classes`) and keys (without `name`, `type`, `interval`,
    /// `hysteresis_period`) to this type's keys.
    pub translate: fn(&str, serde_yaml_ng::Mapping) -> Result<DynosaurEntry, String>,
    /// Keys Dynosaur's plugin never had that an environment variable may supply, so its file runs as it is:
    /// `(key, VARIABLE)`, used when the entry lacks the key and the variable is set and not empty.
    pub from_env: &'static [(&'static str, &'static str)],
}

/// A Dynosaur input plugin's keys, mapped.
#[derive(Debug, Default)]
pub struct DynosaurEntry {
    /// This type's own keys.
    pub params: serde_yaml_ng::Mapping,
    /// Dynosaur's per-resource figure (e.g. `users_per_dyno`), when it gave one.
    pub per_dyno: Option<f64>,
    /// The conversion instead of the type's default (e.g. a toy input standing for an add-on's figure).
    pub conversion: Option<Conversion>,
    /// Dynosaur's `max_percentage_threshold`, for a `Capacity` conversion.
    pub threshold: Option<f64>,
    /// What the user should know about the mapping.
    pub warnings: Vec<String>,
    /// Why this entry cannot run as written (it is skipped with this reason, and the controller runs on its
    /// other inputs; with none left, the file is refused).
    pub skip: Option<String>,
}

/// A number written as a number or as text (from an environment variable).
fn number(value: &serde_yaml_ng::Value) -> Option<f64> {
    match value {
        serde_yaml_ng::Value::Number(n) => n.as_f64(),
        serde_yaml_ng::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// Dynosaur's `max_percentage_threshold`, when given: a percent in (0, 100].
pub fn dynosaur_threshold(keys: &mut serde_yaml_ng::Mapping) -> Result<Option<f64>, String> {
    let Some(raw) = keys.remove("max_percentage_threshold") else {
        return Ok(None);
    };
    match number(&raw) {
        Some(t) if t > 0.0 && t <= 100.0 => Ok(Some(t)),
        _ => Err(format!(
            "max_percentage_threshold: expected a percent above 0 and at most 100, got {}",
            clip(&serde_yaml_ng::to_string(&raw).unwrap_or_default())
        )),
    }
}

/// Dynosaur's keys as they are, for types whose keys are the same in both layouts.
pub fn same_keys(params: serde_yaml_ng::Mapping) -> Result<DynosaurEntry, String> {
    Ok(DynosaurEntry {
        params,
        ..DynosaurEntry::default()
    })
}

/// The kind for a `type:` name.
pub fn kind(name: &str) -> Option<&'static InputKind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The kind standing for a Dynosaur class (`Dynosaur::Inputs::SinePlugin` or `SinePlugin`).
pub fn dynosaur_kind(class: &str) -> Option<&'static InputKind> {
    let short = class.rsplit("::").next().unwrap_or(class);
    KINDS.iter().find(|k| {
        k.dynosaur
            .as_ref()
            .is_some_and(|d| d.classes.contains(&short))
    })
}

/// Input type names accepted in `type:`.
pub fn names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name).collect()
}

/// What the whole file tells an input's checks.
pub struct CheckContext<'a> {
    /// Whether a `drain:` section is present.
    pub drain: bool,
    /// The windows' retention and resolution.
    pub windows: &'a crate::window::WindowConfig,
    /// The entry's conversion and interval, and its controller's policy.
    pub conversion: &'a Conversion,
    pub interval: Duration,
    pub policy: &'a super::policy::Policy,
}

/// What inputs may need at run time.
#[derive(Clone, Default)]
pub struct InputContext {
    /// The drain's windows; `None` when no drain runs (then `drain` inputs are refused at load time).
    pub windows: Option<Arc<dyn WindowReader>>,
}

/// An input type's parameters: what each type's file implements.
pub trait InputSpec: SpecAny + fmt::Debug + Send + Sync {
    /// The `type:` name.
    fn kind(&self) -> &'static str;
    /// Readable form for `check` and status pages (never a secret).
    fn describe(&self) -> String;
    /// The conversion used when the entry names none (`None`: the entry must name one).
    fn default_conversion(&self) -> Option<Conversion>;
    /// The cache interval used when the entry names none.
    fn default_interval(&self) -> Duration {
        Duration::from_secs(60)
    }
    /// How far back the max looks when the entry names none (default 5m, Dynosaur's).
    fn default_hysteresis_period(&self) -> Duration {
        Duration::from_secs(300)
    }
    /// Checks against the rest of the file (an error's key is relative to the entry); `Ok` carries warnings.
    fn check(&self, _cx: &CheckContext) -> Result<Vec<String>, Invalid> {
        Ok(Vec::new())
    }
    /// Builds the input.
    fn build(
        &self,
        conversion: Conversion,
        ctx: &InputContext,
        start: Tick,
    ) -> Result<Box<dyn Input>, String>;
}

/// Equality and downcasting for any `PartialEq` parameters, so configs compare and tests can look inside.
pub trait SpecAny: Any {
    fn as_any(&self) -> &dyn Any;
    fn same(&self, other: &dyn Any) -> bool;
}

impl<T: PartialEq + Any> SpecAny for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn same(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<T>().is_some_and(|o| o == self)
    }
}

/// One entry's parsed parameters, of whatever type.
#[derive(Clone)]
pub struct InputParams(Arc<dyn InputSpec>);

impl InputParams {
    /// Wraps a type's parameters.
    pub fn new(spec: impl InputSpec + 'static) -> Self {
        InputParams(Arc::new(spec))
    }

    /// Parses the leftover keys of an input entry for its `type`.
    pub fn parse(kind_name: &str, params: serde_yaml_ng::Mapping) -> Result<InputParams, String> {
        let k = kind(kind_name).ok_or_else(|| {
            format!(
                "unknown input type {kind_name:?} (known: {})",
                names().join(", ")
            )
        })?;
        (k.parse)(serde_yaml_ng::Value::Mapping(params))
            .map_err(|e| format!("{kind_name} input: {e}"))
    }

    /// The parameters as their own type, when they are of it.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref::<T>()
    }
}

impl std::ops::Deref for InputParams {
    type Target = dyn InputSpec;
    fn deref(&self) -> &dyn InputSpec {
        &*self.0
    }
}

impl fmt::Debug for InputParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for InputParams {
    fn eq(&self, other: &Self) -> bool {
        self.0.same(other.0.as_any())
    }
}

/// The usual `parse` of a kind: deserialize the type's struct, then run its `validate`.
pub fn parse_with<T>(
    value: serde_yaml_ng::Value,
    validate: fn(&T) -> Result<(), String>,
) -> Result<InputParams, String>
where
    T: DeserializeOwned + InputSpec + 'static,
{
    let spec: T = serde_yaml_ng::from_value(value).map_err(|e| e.to_string())?;
    validate(&spec)?;
    Ok(InputParams::new(spec))
}

/// Most characters of a service's answer quoted in an input's error message.
pub const MESSAGE_CHARS: usize = 200;

/// A service's answer as quoted in an error message: on one line, cut to about [`MESSAGE_CHARS`] characters.
pub fn clip(text: &str) -> String {
    let one_line: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= MESSAGE_CHARS {
        one_line
    } else {
        let mut cut: String = one_line.chars().take(MESSAGE_CHARS).collect();
        cut.push('…');
        cut
    }
}

/// A `validate` for types that need none beyond serde.
pub fn no_checks<T>(_: &T) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_classes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for k in KINDS {
            assert!(seen.insert(k.name), "type {} registered twice", k.name);
        }
        let mut classes = std::collections::HashSet::new();
        for c in KINDS
            .iter()
            .filter_map(|k| k.dynosaur.as_ref())
            .flat_map(|d| d.classes)
        {
            assert!(classes.insert(*c), "class {c} registered twice");
        }
    }

    #[test]
    fn unknown_types_list_the_known_ones() {
        let e = InputParams::parse("nope", serde_yaml_ng::Mapping::new()).unwrap_err();
        for k in KINDS {
            assert!(e.contains(k.name), "{e}");
        }
    }

    #[test]
    fn dynosaur_classes_resolve_with_or_without_their_module() {
        assert_eq!(
            dynosaur_kind("Dynosaur::Inputs::SinePlugin").map(|k| k.name),
            Some("sine")
        );
        assert_eq!(
            dynosaur_kind("RandomPlugin").map(|k| k.name),
            Some("random")
        );
        assert!(dynosaur_kind("NoSuchPlugin").is_none());
    }

    #[test]
    fn parameters_compare_by_type_and_value() {
        let a =
            InputParams::parse("sine", serde_yaml_ng::from_str("period: 30s").unwrap()).unwrap();
        let b =
            InputParams::parse("sine", serde_yaml_ng::from_str("period: 30s").unwrap()).unwrap();
        let c = InputParams::parse("sine", serde_yaml_ng::from_str("period: 1m").unwrap()).unwrap();
        let d = InputParams::parse("random", serde_yaml_ng::Mapping::new()).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert!(a.get::<sine::SineParams>().is_some());
        assert!(a.get::<random::RandomParams>().is_none());
    }
}
