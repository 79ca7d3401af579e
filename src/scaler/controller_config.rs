//! The `controllers:` section: one entry per scaled resource, with its bounds, backend, policy, schedules
//! and inputs. Each input entry's common keys are parsed here; the keys left over belong to its `type` and
//! are parsed by that type's file through [`super::inputs::InputParams::parse`].

use super::health::default_outage_after;
use super::input::Conversion;
use super::inputs::InputParams;
use super::plans::PlanTable;
use super::policy::Policy;
use super::schedule::ScheduleConfig;
use serde::Deserialize;
use std::time::Duration;

/// One scaled resource: a process type's dyno count, or an add-on's plan.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawController")]
pub struct ControllerConfig {
    /// Names the controller in stats, logs and the status page (`[A-Za-z0-9_-]`).
    pub name: String,
    /// What it scales.
    pub resource: Resource,
    /// Fewest dynos, or the smallest plan's position in the plan table.
    pub min: u32,
    /// Most dynos, or the largest plan's position.
    pub max: u32,
    /// Where the count is read and set: `heroku` (default) or `{file: PATH}`.
    pub backend: BackendConfig,
    /// Cool-downs and steps (for plans, steps are plan steps).
    pub policy: Policy,
    /// Time ranges that override min/max; the first active one wins (dyno controllers).
    pub schedules: Vec<ScheduleConfig>,
    /// The inputs; the controller follows the largest estimate.
    pub inputs: Vec<InputConfig>,
}

/// What a controller scales.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    /// A process type's dyno count; `size` (e.g. `standard-2x`) is sent with every formation change.
    Dynos {
        process: String,
        size: Option<String>,
    },
    /// An add-on's plan, along a plan table: the count is the plan's position.
    Addon { addon: String, plans: PlanTable },
}

impl ControllerConfig {
    /// A dyno controller with default backend and policy (for code that builds configs).
    pub fn dynos(name: &str, process: &str, min: u32, max: u32, inputs: Vec<InputConfig>) -> Self {
        ControllerConfig {
            name: name.to_string(),
            resource: Resource::Dynos {
                process: process.to_string(),
                size: None,
            },
            min,
            max,
            backend: BackendConfig::default(),
            policy: Policy::default(),
            schedules: Vec::new(),
            inputs,
        }
    }

    /// An add-on plan controller on a built-in table, with bounds as plan names (`None`: the table's ends):
    /// what Dynosaur's Papertrail and RedisCloud controllers were. Its inputs' `capacity` is resolved as in a
    /// config entry.
    pub fn addon(
        name: &str,
        addon: &str,
        min: Option<&str>,
        max: Option<&str>,
        inputs: Vec<InputConfig>,
    ) -> Result<Self, String> {
        ControllerConfig::try_from(RawController {
            name: name.to_string(),
            process: None,
            size: None,
            addon: Some(addon.to_string()),
            plans: None,
            max_percentage_threshold: None,
            min: min.map(|p| Bound::Plan(p.to_string())),
            max: max.map(|p| Bound::Plan(p.to_string())),
            backend: BackendConfig::default(),
            policy: Policy::default(),
            schedules: Vec::new(),
            inputs,
        })
    }

    /// The process type scaled, or the add-on.
    pub fn process(&self) -> &str {
        match &self.resource {
            Resource::Dynos { process, .. } => process,
            Resource::Addon { addon, .. } => addon,
        }
    }

    /// The dyno size sent with formation changes.
    pub fn size(&self) -> Option<&str> {
        match &self.resource {
            Resource::Dynos { size, .. } => size.as_deref(),
            Resource::Addon { .. } => None,
        }
    }

    /// The plan table of an add-on controller.
    pub fn plans(&self) -> Option<&PlanTable> {
        match &self.resource {
            Resource::Addon { plans, .. } => Some(plans),
            Resource::Dynos { .. } => None,
        }
    }

    /// A count in words: `3` dynos, or the plan's name.
    pub fn label(&self, count: u32) -> String {
        match self.plans() {
            Some(t) => t.label(count),
            None => count.to_string(),
        }
    }
}

/// A controller entry as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawController {
    name: String,
    /// The Procfile process type it scales (default: the name).
    #[serde(default)]
    process: Option<String>,
    /// Dyno size sent with formation changes.
    #[serde(default)]
    size: Option<String>,
    /// The add-on (name or id on the app) whose plan this controller scales.
    #[serde(default)]
    addon: Option<String>,
    /// The plan table (default: the built-in table named like the add-on's service).
    #[serde(default)]
    plans: Option<PlanTable>,
    /// Percent of a plan's figure a value may use (default 90, Dynosaur's).
    #[serde(default)]
    max_percentage_threshold: Option<f64>,
    #[serde(default)]
    min: Option<Bound>,
    #[serde(default)]
    max: Option<Bound>,
    #[serde(default)]
    backend: BackendConfig,
    #[serde(default)]
    policy: Policy,
    #[serde(default)]
    schedules: Vec<ScheduleConfig>,
    inputs: Vec<InputConfig>,
}

/// `min:`/`max:`: a dyno count, or a plan name.
#[derive(Deserialize)]
#[serde(untagged)]
enum Bound {
    Count(u32),
    Plan(String),
}

/// Dynosaur's default `max_percentage_threshold`.
pub const DEFAULT_THRESHOLD: f64 = 90.0;

impl TryFrom<RawController> for ControllerConfig {
    type Error = String;

    fn try_from(raw: RawController) -> Result<Self, String> {
        let resource = match raw.addon {
            Some(addon) => {
                if let Some(key) = [
                    raw.process.as_ref().map(|_| "process"),
                    raw.size.as_ref().map(|_| "size"),
                ]
                .into_iter()
                .flatten()
                .next()
                {
                    return Err(format!(
                        "`{key}` is for dyno controllers; this one scales the add-on {addon:?}"
                    ));
                }
                if !raw.schedules.is_empty() {
                    return Err("schedules apply to dyno controllers, not add-on plans".into());
                }
                if addon.trim().is_empty() {
                    return Err("addon: the add-on's name or id is empty".into());
                }
                let plans = match raw.plans {
                    Some(t) => t,
                    None => default_table(&addon).ok_or_else(|| {
                        format!(
                            "plans: the add-on {addon:?} has no built-in plan table ({}): write \
                             `plans: NAME` or the plans as a list",
                            super::plans::BUILT_IN.join(", ")
                        )
                    })?,
                };
                Resource::Addon { addon, plans }
            }
            None => {
                if raw.plans.is_some() || raw.max_percentage_threshold.is_some() {
                    return Err(
                        "`plans` and `max_percentage_threshold` go with `addon:` (add-on plans)"
                            .into(),
                    );
                }
                Resource::Dynos {
                    process: raw.process.unwrap_or_else(|| raw.name.clone()),
                    size: raw.size,
                }
            }
        };
        let threshold = raw.max_percentage_threshold.unwrap_or(DEFAULT_THRESHOLD);
        if !(threshold > 0.0 && threshold <= 100.0) {
            return Err(format!(
                "max_percentage_threshold must be in (0, 100], got {threshold}"
            ));
        }
        let (min, max, inputs) = match &resource {
            Resource::Dynos { .. } => {
                let count = |b: Option<Bound>, key: &str| match b {
                    None => Ok(None),
                    Some(Bound::Count(n)) => Ok(Some(n)),
                    Some(Bound::Plan(p)) => Err(format!(
                        "{key}: {p:?} is not a dyno count (plan names go with `addon:`)"
                    )),
                };
                let min = count(raw.min, "min")?.unwrap_or(1);
                let max = count(raw.max, "max")?
                    .ok_or("missing field `max` (the most dynos: the cost ceiling)")?;
                for i in &raw.inputs {
                    if let Conversion::Capacity { .. } = i.conversion {
                        return Err(format!(
                            "input {:?}: `capacity` compares with add-on plans; a dyno controller's \
                             inputs need `per_dyno: N` or `target: N`",
                            i.name
                        ));
                    }
                }
                (min, max, raw.inputs)
            }
            Resource::Addon { plans, .. } => {
                let position = |b: Option<Bound>, key: &str, default: usize| match b {
                    None => Ok(default),
                    Some(Bound::Plan(p)) => plans.index_of(&p).ok_or_else(|| {
                        format!(
                            "{key}: {p:?} is not in the plan table ({})",
                            plans.names().join(", ")
                        )
                    }),
                    Some(Bound::Count(n)) => Err(format!(
                        "{key}: {n} is a count; an add-on controller's bounds are plan names ({})",
                        plans.names().join(", ")
                    )),
                };
                let last = plans.plans.len().saturating_sub(1);
                let min = position(raw.min, "min", 0)?;
                let max = position(raw.max, "max", last)?;
                let mut inputs = raw.inputs;
                for i in &mut inputs {
                    i.conversion = plan_conversion(&i.name, &i.conversion, plans, threshold)?;
                }
                (to_u32(min), to_u32(max), inputs)
            }
        };
        Ok(ControllerConfig {
            name: raw.name,
            resource,
            min,
            max,
            backend: raw.backend,
            policy: raw.policy,
            schedules: raw.schedules,
            inputs,
        })
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The built-in table for an add-on written by its service's name (`rediscloud`, `papertrail`, or an
/// attachment such as `REDISCLOUD` or `rediscloud-flat-12345`).
fn default_table(addon: &str) -> Option<PlanTable> {
    let lower = addon.to_ascii_lowercase();
    super::plans::BUILT_IN
        .iter()
        .find(|t| lower.starts_with(*t))
        .and_then(|t| PlanTable::built_in(t))
}

/// An add-on controller's input: `capacity: FIGURE` resolved against the table.
fn plan_conversion(
    input: &str,
    conversion: &Conversion,
    plans: &PlanTable,
    controller_threshold: f64,
) -> Result<Conversion, String> {
    let Conversion::Capacity { figure, threshold } = conversion else {
        return Err(format!(
            "input {input:?}: an add-on controller's inputs compare their value with a plan figure: \
             write `capacity: FIGURE` (this table has: {}), not per_dyno/target",
            plans.figures().join(", ")
        ));
    };
    let limits = plans.limits(figure).ok_or_else(|| {
        format!(
            "input {input:?}: capacity {figure:?} is not a figure of the plan table (it has: {})",
            plans.figures().join(", ")
        )
    })?;
    Ok(Conversion::Plan {
        figure: figure.clone(),
        limits,
        threshold: threshold.unwrap_or(controller_threshold),
    })
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
            outage_after: raw
                .outage_after
                .unwrap_or_else(|| default_outage_after(interval)),
            fallback: raw.fallback,
            conversion,
            params,
        })
    }
}
