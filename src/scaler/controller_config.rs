//! The `controllers:` section: one entry per scaled resource, with its bounds, backend, policy, schedules
//! and inputs. Each input entry's common keys are parsed here; the keys left over belong to its `type` and
//! are parsed by that type's file through [`super::inputs::InputParams::parse`].

use super::health::DEFAULT_OUTAGE_AFTER;
use super::input::Conversion;
use super::inputs::InputParams;
use super::policy::Policy;
use super::schedule::ScheduleConfig;
use serde::Deserialize;
use std::time::Duration;

/// One scaled resource: a process type's dyno count.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerConfig {
    /// Names the controller in stats, logs and the status page (`[A-Za-z0-9_-]`).
    pub name: String,
    /// The Procfile process type it scales (default: the name).
    #[serde(default)]
    pub process: Option<String>,
    /// Fewest dynos (default 1).
    #[serde(default = "default_min")]
    pub min: u32,
    /// Most dynos (required: the cost ceiling).
    pub max: u32,
    /// Where the count is read and set: `heroku` (default) or `{file: PATH}`.
    #[serde(default)]
    pub backend: BackendConfig,
    /// Cool-downs and steps.
    #[serde(default)]
    pub policy: Policy,
    /// Time ranges that override min/max; the first active one wins.
    #[serde(default)]
    pub schedules: Vec<ScheduleConfig>,
    /// The inputs; the controller follows the largest estimate.
    pub inputs: Vec<InputConfig>,
}

fn default_min() -> u32 {
    1
}

impl ControllerConfig {
    /// The process type scaled.
    pub fn process(&self) -> &str {
        self.process.as_deref().unwrap_or(&self.name)
    }
}

pub use super::backend::config::BackendConfig;

/// One input, validated: common settings plus its type's parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawInput")]
pub struct InputConfig {
    pub name: String,
    /// How long a value is cached (default 10s for `drain`, 60s otherwise).
    pub interval: Duration,
    /// How far back the max looks (default 5m).
    pub hysteresis_period: Duration,
    /// How long without a good value before the input is in OUTAGE (default 5m).
    pub outage_after: Duration,
    /// The count this input asks for while in OUTAGE (it only ever raises the count).
    pub fallback: Option<u32>,
    pub conversion: Conversion,
    pub params: InputParams,
}

impl InputConfig {
    pub fn kind(&self) -> &'static str {
        self.params.kind()
    }
}

/// An input entry as written.
#[derive(Deserialize)]
struct RawInput {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, with = "crate::duration::option")]
    interval: Option<Duration>,
    #[serde(default, with = "crate::duration::option")]
    hysteresis_period: Option<Duration>,
    #[serde(default, with = "crate::duration::option")]
    outage_after: Option<Duration>,
    #[serde(default)]
    fallback: Option<u32>,
    #[serde(default)]
    per_dyno: Option<f64>,
    #[serde(default)]
    target: Option<f64>,
    #[serde(default)]
    tolerance: Option<f64>,
    /// In an add-on controller: the plan table's figure this value is compared with.
    #[serde(default)]
    capacity: Option<String>,
    /// With `capacity`: the percent of a plan's figure the value may use (default: the controller's).
    #[serde(default)]
    max_percentage_threshold: Option<f64>,
    #[serde(flatten)]
    params: serde_yaml_ng::Mapping,
}

/// HPA's default tolerance.
pub const DEFAULT_TOLERANCE: f64 = 0.1;

impl TryFrom<RawInput> for InputConfig {
    type Error = String;

    fn try_from(raw: RawInput) -> Result<Self, String> {
        let name = raw.name.clone();
        let fail = |e: String| format!("input {name:?}: {e}");
        let params = InputParams::parse(&raw.kind, raw.params).map_err(fail)?;
        if let Some(t) = raw.max_percentage_threshold {
            if raw.per_dyno.is_some() || raw.target.is_some() {
                return Err(fail(
                    "`max_percentage_threshold` goes with `capacity` (add-on plans)".into(),
                ));
            }
            if !(t > 0.0 && t <= 100.0) {
                return Err(fail(format!(
                    "max_percentage_threshold must be in (0, 100], got {t}"
                )));
            }
        }
        let conversion = match (raw.per_dyno, raw.target, raw.tolerance) {
            _ if raw.capacity.is_some() && (raw.per_dyno.is_some() || raw.target.is_some()) => {
                return Err(fail(
                    "set `capacity` (add-on plans) or `per_dyno`/`target` (dynos), not both".into(),
                ))
            }
            (None, None, None) if raw.capacity.is_some() => Conversion::Capacity {
                figure: raw.capacity.clone().unwrap_or_default(),
                threshold: raw.max_percentage_threshold,
            },
            (Some(_), Some(_), _) => {
                return Err(fail("set `per_dyno` or `target`, not both".into()))
            }
            (Some(_), None, Some(_)) => {
                return Err(fail(
                    "`tolerance` goes with `target`, not `per_dyno`".into(),
                ))
            }
            (Some(p), None, None) if p > 0.0 && p.is_finite() => Conversion::PerDyno(p),
            (Some(p), None, None) => {
                return Err(fail(format!("per_dyno must be above 0, got {p}")))
            }
            (None, Some(t), tol) => {
                let tolerance = tol.unwrap_or(DEFAULT_TOLERANCE);
                if !(t > 0.0 && t.is_finite()) {
                    return Err(fail(format!("target must be above 0, got {t}")));
                }
                if !(0.0..1.0).contains(&tolerance) {
                    return Err(fail(format!("tolerance must be in 0..1, got {tolerance}")));
                }
                Conversion::Target {
                    target: t,
                    tolerance,
                }
            }
            (None, None, Some(_)) => return Err(fail("`tolerance` goes with `target`".into())),
            (None, None, None) => match params.default_conversion() {
                Some(Conversion::Capacity { figure, .. }) => Conversion::Capacity {
                    figure,
                    threshold: raw.max_percentage_threshold,
                },
                other => other.ok_or_else(|| {
                    fail(format!(
                    "a {} input needs `per_dyno: N` or `target: N` to turn its value into dynos",
                    raw.kind
                ))
                })?,
            },
        };
        let interval = raw.interval.unwrap_or_else(|| params.default_interval());
        if interval.is_zero() {
            return Err(fail("interval must be more than 0s".into()));
        }
        Ok(InputConfig {
            name: raw.name,
            interval,
            hysteresis_period: raw
                .hysteresis_period
                .unwrap_or_else(|| params.default_hysteresis_period()),
            outage_after: raw.outage_after.unwrap_or(DEFAULT_OUTAGE_AFTER),
            fallback: raw.fallback,
            conversion,
            params,
        })
    }
}
