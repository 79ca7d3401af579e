//! Dynosaur's config layout, read as it is so a Dynosaur user can switch without rewriting: `scaler`
//! (`heroku_app_name`, `heroku_api_key`, `dry_run`, `interval`, `relaxation_period`/`blackout`, and drainscale's
//! `api_url`),
//! `controller_plugins` (`min_resource`/`max_resource`, `input_plugins`), `stats_plugins`, `error_handlers`,
//! `success_handlers`, and the older top-level `plugins` with `scaler.min_web_dynos`/`max_web_dynos`; drainscale's
//! own `drain`, `windows` and `outlets` sections may sit beside them.
//!
//! Only the mapping lives here; the result is an ordinary [`Config`] with stats prefix `dynosaur`.
//! Plugins that drainscale does not have yet are named in an error (or a warning when the controller keeps
//! other inputs).

use super::dynosaur_handlers;
use super::{Config, ControllerConfig, ErrorHandlerConfig, InputConfig, ScalerConfig, StatsConfig};
use crate::drain::DrainConfig;
use crate::outlet::OutletConfig;
use crate::scaler::input::Conversion;
use crate::scaler::inputs;
use crate::scaler::policy::Policy;
use crate::secret::{Secret, SecretUrl};
use crate::window::WindowConfig;
use serde::Deserialize;
use std::time::Duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    scaler: Scaler,
    #[serde(default)]
    controller_plugins: Vec<Controller>,
    /// Dynosaur before 0.5: inputs at the top, bounds in `scaler`.
    #[serde(default)]
    plugins: Vec<Plugin>,
    #[serde(default)]
    stats_plugins: Vec<Handler>,
    #[serde(default)]
    error_handlers: Vec<Handler>,
    #[serde(default)]
    success_handlers: Vec<Handler>,
    /// drainscale's own sections may sit beside Dynosaur's: the drain (with `/status` and `/ping`), its windows
    /// and the outlets.
    #[serde(default)]
    drain: Option<DrainConfig>,
    #[serde(default)]
    windows: WindowConfig,
    #[serde(default)]
    outlets: OutletConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scaler {
    #[serde(default)]
    heroku_app_name: Option<String>,
    #[serde(default)]
    heroku_api_key: Option<Secret>,
    /// drainscale's: the Heroku API's base URL (proxies, tests).
    #[serde(default)]
    api_url: Option<SecretUrl>,
    #[serde(default)]
    dry_run: Option<bool>,
    #[serde(default, with = "crate::duration::option")]
    interval: Option<Duration>,
    /// In Dynosaur's sample but never read there; here it is the scale-down cool-down.
    #[serde(default, with = "crate::duration::option")]
    relaxation_period: Option<Duration>,
    /// Dynosaur before 0.5: the scale-down blackout.
    #[serde(default, with = "crate::duration::option")]
    blackout: Option<Duration>,
    #[serde(default)]
    min_web_dynos: Option<u32>,
    #[serde(default)]
    max_web_dynos: Option<u32>,
    #[serde(default)]
    stats: Option<bool>,
    #[serde(default)]
    librato_email: Option<String>,
    #[serde(default)]
    librato_api_key: Option<Secret>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Controller {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    /// A dyno count, or (add-on controllers) a plan name.
    #[serde(default)]
    min_resource: Option<Amount>,
    #[serde(default)]
    max_resource: Option<Amount>,
    #[serde(default)]
    min_web_dynos: Option<u32>,
    #[serde(default)]
    max_web_dynos: Option<u32>,
    #[serde(default)]
    min_resource_name: Option<String>,
    #[serde(default)]
    max_resource_name: Option<String>,
    #[serde(default, with = "crate::duration::option")]
    interval: Option<Duration>,
    #[serde(default)]
    input_plugins: Vec<Plugin>,
}

/// `min_resource`/`max_resource`: dynos, or a plan.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum Amount {
    Count(u32),
    Plan(String),
}

#[derive(Deserialize)]
struct Plugin {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, with = "crate::duration::option")]
    interval: Option<Duration>,
    #[serde(default, with = "crate::duration::option")]
    hysteresis_period: Option<Duration>,
    #[serde(flatten)]
    rest: serde_yaml_ng::Mapping,
}

#[derive(Deserialize)]
struct Handler {
    #[serde(rename = "type")]
    kind: String,
    #[serde(flatten)]
    rest: serde_yaml_ng::Mapping,
}

/// Dynosaur's defaults.
const DEFAULT_MIN: u32 = 2;
const DEFAULT_MAX: u32 = 100;
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
const DEFAULT_HYSTERESIS: Duration = Duration::from_secs(300);

/// A handler or stats entry as the mapping functions read it.
fn entry(h: &Handler) -> dynosaur_handlers::Entry<'_> {
    dynosaur_handlers::Entry {
        kind: &h.kind,
        rest: &h.rest,
    }
}

/// `Dynosaur::Inputs::SinePlugin` -> `SinePlugin`.
fn short(kind: &str) -> &str {
    kind.rsplit("::").next().unwrap_or(kind)
}

/// Parses Dynosaur's layout into a [`Config`]; warnings name what is mapped loosely or left out.
pub fn parse(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Config, Vec<String>), String> {
    let file: File = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    let mut warnings = Vec::new();
    let s = &file.scaler;
    let mut policy = Policy::default();
    if let Some(d) = s.relaxation_period.or(s.blackout) {
        policy.down_cooldown = d;
    }

    let mut controllers = Vec::new();
    if !file.plugins.is_empty() {
        let c = Controller {
            name: "dynos".into(),
            kind: "Dynosaur::Controllers::DynosControllerPlugin".into(),
            min_resource: None,
            max_resource: None,
            min_web_dynos: s.min_web_dynos,
            max_web_dynos: s.max_web_dynos,
            min_resource_name: None,
            max_resource_name: None,
            interval: None,
            input_plugins: file.plugins,
        };
        controllers.push(controller(c, &policy, env, &mut warnings)?);
    }
    for c in file.controller_plugins {
        match short(&c.kind) {
            "DynosControllerPlugin" => {
                controllers.push(controller(c, &policy, env, &mut warnings)?)
            }
            "PapertrailControllerPlugin" => controllers.push(addon_controller(
                c,
                "papertrail",
                &policy,
                env,
                &mut warnings,
            )?),
            "RediscloudControllerPlugin" => controllers.push(addon_controller(
                c,
                "rediscloud",
                &policy,
                env,
                &mut warnings,
            )?),
            _ => {
                return Err(format!(
                    "controller_plugins {:?}: unknown controller type {:?}",
                    c.name, c.kind
                ))
            }
        }
    }
    if controllers.is_empty() {
        return Err("controller_plugins: no controller".into());
    }

    let mut outlets = file.outlets;
    let mut stats = StatsConfig {
        prefix: "dynosaur".into(),
        ..StatsConfig::default()
    };
    if !file.stats_plugins.is_empty() {
        stats.console = false;
    }
    if s.stats == Some(true) {
        stats.console = true;
    }
    for h in &file.stats_plugins {
        match short(&h.kind) {
            "Console" => stats.console = true,
            "Librato" => match dynosaur_handlers::librato(&entry(h), &mut outlets)? {
                Some(w) => warnings.push(format!("stats_plugins {}: {w}", h.kind)),
                None => warnings.push(format!(
                    "stats_plugins {}: api_email or api_key is empty; skipped (stats still go to the console \
                     and the outlets under `outlets:`)",
                    h.kind
                )),
            },
            _ => warnings.push(format!("stats_plugins {}: not supported, skipped", h.kind)),
        }
    }
    if s.librato_email.is_some() || s.librato_api_key.is_some() {
        warnings.push(
            "scaler.librato_email/librato_api_key: not used; configure the Librato-format outlet"
                .into(),
        );
    }
    let mut error_handlers = Vec::new();
    for h in &file.error_handlers {
        match short(&h.kind) {
            "Console" => {}
            "Bugsnag" => match dynosaur_handlers::bugsnag(&entry(h)) {
                Some(b) => error_handlers.push(b),
                None => warnings.push(format!(
                    "error_handlers {}: api_key is empty; skipped (errors are still logged)",
                    h.kind
                )),
            },
            "Ses" => match super::dynosaur_ses::email_params(&h.rest) {
                Ok(p) => error_handlers.push(ErrorHandlerConfig::new(p)),
                Err(super::dynosaur_ses::Skipped::Empty(keys)) => warnings.push(format!(
                    "error_handlers {}: {} empty; skipped (errors are still logged)",
                    h.kind,
                    keys.join(", ")
                )),
                Err(super::dynosaur_ses::Skipped::BadPort(p)) => {
                    return Err(format!(
                        "error_handlers {}: port: {p:?} is not a port number (expected 1 to 65535)",
                        h.kind
                    ))
                }
            },
            _ => warnings.push(format!(
                "error_handlers {}: not supported; errors are logged to the console (stderr); \
                 drainscale's layout has `scaler.error_handlers` with webhook, bugsnag and email",
                h.kind
            )),
        }
    }
    let mut success_handlers = Vec::new();
    for h in &file.success_handlers {
        match short(&h.kind) {
            "Cronut" => match dynosaur_handlers::cronut(&entry(h))? {
                Some(c) => success_handlers.push(c),
                None => warnings.push(format!(
                    "success_handlers {}: public_key or api_token is empty; skipped (no check-ins are sent)",
                    h.kind
                )),
            },
            _ => warnings.push(format!(
                "success_handlers {}: not supported, skipped; drainscale's layout has `scaler.success_handlers` \
                 with ping and cronut",
                h.kind
            )),
        }
    }

    let mut scaler = ScalerConfig {
        app: s.heroku_app_name.clone().unwrap_or_default(),
        api_key: s.heroku_api_key.clone().filter(|k| !k.is_empty()),
        dry_run: s.dry_run.unwrap_or(false),
        interval: s.interval.unwrap_or(Duration::from_secs(5)),
        stats,
        error_handlers,
        success_handlers,
        ..ScalerConfig::default()
    };
    if let Some(url) = &s.api_url {
        scaler.api_url = url.clone();
    }
    Ok((
        Config {
            drain: file.drain,
            windows: file.windows,
            outlets,
            scaler,
            controllers,
            ..Config::default()
        },
        warnings,
    ))
}

/// A `DynosControllerPlugin`: the web process between `min_resource`/`min_web_dynos` (default 2) and
/// `max_resource`/`max_web_dynos` (default 100).
fn controller(
    c: Controller,
    policy: &Policy,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<ControllerConfig, String> {
    if c.min_resource_name.is_some() || c.max_resource_name.is_some() {
        return Err(format!(
            "controller_plugins {:?}: min/max_resource_name are for add-on plans",
            c.name
        ));
    }
    let count = |a: &Option<Amount>, key: &str| match a {
        None => Ok(None),
        Some(Amount::Count(n)) => Ok(Some(*n)),
        Some(Amount::Plan(p)) => Err(format!(
            "controller_plugins {:?}: {key}: {p:?} is not a dyno count",
            c.name
        )),
    };
    let min = count(&c.min_resource, "min_resource")?
        .or(c.min_web_dynos)
        .unwrap_or(DEFAULT_MIN);
    let max = count(&c.max_resource, "max_resource")?
        .or(c.max_web_dynos)
        .unwrap_or(DEFAULT_MAX);
    let name = c.name.clone();
    let inputs = inputs_of(c, env, warnings)?;
    if let Some(i) = inputs
        .iter()
        .find(|i| matches!(i.conversion, Conversion::Capacity { .. }))
    {
        return Err(format!(
            "controller_plugins {name:?} input_plugins {:?}: reads an add-on's usage, compared with its plans: \
             put it under a PapertrailControllerPlugin or RediscloudControllerPlugin, not a \
             DynosControllerPlugin",
            i.name
        ));
    }
    let mut config = ControllerConfig::dynos(&name, "web", min, max, inputs);
    config.policy = policy.clone();
    Ok(config)
}

/// A `PapertrailControllerPlugin` or `RediscloudControllerPlugin`: the add-on named like its service, on the
/// built-in plan table, between `min_resource_name` and `max_resource_name` (or `min_resource`/`max_resource`
/// written as plan names; default: the table's ends).
fn addon_controller(
    c: Controller,
    addon: &str,
    policy: &Policy,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<ControllerConfig, String> {
    let plan = |named: &Option<String>, amount: &Option<Amount>, key: &str| {
        match (named, amount) {
        (Some(p), _) => Ok(Some(p.clone())),
        (None, Some(Amount::Plan(p))) => Ok(Some(p.clone())),
        (None, Some(Amount::Count(n))) => Err(format!(
            "controller_plugins {:?}: {key}: {n} is a count; an add-on controller's bounds are plan names",
            c.name
        )),
        (None, None) => Ok(None),
    }
    };
    let min = plan(&c.min_resource_name, &c.min_resource, "min_resource")?;
    let max = plan(&c.max_resource_name, &c.max_resource, "max_resource")?;
    if c.min_resource_name.is_some() || c.max_resource_name.is_some() {
        warnings.push(format!(
            "controller_plugins {:?}: min/max_resource_name are honoured (Dynosaur 0.7 read `min_resource` and \
             scaled over the whole plan table)",
            c.name
        ));
    }
    let name = c.name.clone();
    let inputs = inputs_of(c, env, warnings)?;
    let mut config = ControllerConfig::addon(&name, addon, min.as_deref(), max.as_deref(), inputs)
        .map_err(|e| format!("controller_plugins {name:?}: {e}"))?;
    config.policy = policy.clone();
    Ok(config)
}

/// A controller's input plugins as inputs; those that cannot run are skipped with a warning unless none can.
fn inputs_of(
    c: Controller,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Vec<InputConfig>, String> {
    if c.interval.is_some() {
        warnings.push(format!(
            "controller_plugins {:?}: interval is global here (scaler.interval)",
            c.name
        ));
    }
    let mut inputs = Vec::new();
    let mut unsupported = Vec::new();
    for (j, p) in c.input_plugins.into_iter().enumerate() {
        let name = p.name.clone().unwrap_or_else(|| format!("input_{j}"));
        let here = format!(
            "controller_plugins {:?} input_plugins {name:?} ({})",
            c.name, p.kind
        );
        match input(p, &name, env, warnings) {
            Ok(Mapped::Input(i)) => inputs.push(i),
            Ok(Mapped::Skipped(reason)) => unsupported.push(format!("{here}: {reason}")),
            Err(e) => return Err(format!("{here}: {e}")),
        }
    }
    if inputs.is_empty() && !unsupported.is_empty() {
        return Err(format!(
            "{}: no input of this controller can run (add a `drain` input in drainscale's layout; see README \
             \"Configuration\")",
            unsupported.join("; ")
        ));
    }
    warnings.extend(unsupported.into_iter().map(|u| format!("{u}; skipped")));
    Ok(inputs)
}

/// One Dynosaur input plugin as a drainscale input. The mapping of each class is in its input type's
/// file ([`inputs::InputKind::dynosaur`]).
/// A Dynosaur input plugin, mapped: an input, or skipped with the reason (the file may still run).
enum Mapped {
    Input(InputConfig),
    Skipped(String),
}

fn input(
    mut p: Plugin,
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<Mapped, String> {
    let Some(kind) = inputs::dynosaur_kind(&p.kind) else {
        return Err(format!("unknown input plugin type {:?}", p.kind));
    };
    let Some(mapping) = &kind.dynosaur else {
        return Ok(Mapped::Skipped("not supported yet".into()));
    };
    for (key, var) in mapping.from_env {
        if p.rest.contains_key(*key) {
            continue;
        }
        if let Some(value) = env(var).filter(|v| !v.trim().is_empty()) {
            p.rest.insert((*key).into(), value.trim().into());
            warnings.push(format!("{name} ({}): {key} from ${var}", p.kind));
        }
    }
    let entry =
        (mapping.translate)(short(&p.kind), p.rest).map_err(|e| format!("{}: {e}", p.kind))?;
    if let Some(reason) = entry.skip {
        return Ok(Mapped::Skipped(reason));
    }
    warnings.extend(
        entry
            .warnings
            .into_iter()
            .map(|w| format!("{name} ({}): {w}", p.kind)),
    );
    let params = (kind.parse)(serde_yaml_ng::Value::Mapping(entry.params))
        .map_err(|e| format!("{}: {e}", p.kind))?;
    let conversion = match entry.per_dyno {
        Some(n) if n > 0.0 && n.is_finite() => Conversion::PerDyno(n),
        Some(n) => {
            return Err(format!(
                "{}: the per-dyno figure must be above 0, got {n}",
                p.kind
            ))
        }
        None => match entry.conversion {
            Some(c) => c,
            None => params.default_conversion().ok_or_else(|| {
                format!(
                    "{}: give a per-dyno figure to turn its value into dynos",
                    p.kind
                )
            })?,
        },
    };
    let conversion = match (conversion, entry.threshold) {
        (Conversion::Capacity { figure, .. }, Some(t)) => Conversion::Capacity {
            figure,
            threshold: Some(t),
        },
        (_, Some(_)) => {
            return Err(format!(
                "{}: max_percentage_threshold is for add-on plan inputs",
                p.kind
            ))
        }
        (c, None) => c,
    };
    let interval = p
        .interval
        .filter(|d| !d.is_zero())
        .unwrap_or(DEFAULT_INTERVAL);
    Ok(Mapped::Input(InputConfig {
        name: name.to_string(),
        interval,
        hysteresis_period: p.hysteresis_period.unwrap_or(DEFAULT_HYSTERESIS),
        outage_after: crate::scaler::health::default_outage_after(interval),
        fallback: None,
        conversion,
        params,
    }))
}
