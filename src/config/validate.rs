//! Checks that need the whole file: unique names, bounds, backends with their credentials, drain inputs with a
//! drain, spans within the windows' retention. Returns warnings for what is allowed but probably unintended.

use super::locate::line_of_path;
use super::Config;
use crate::invalid::{self, Invalid};
use crate::scaler::controller_config::Resource;
use crate::scaler::inputs::CheckContext;
use crate::scaler::schedule::Schedule;
use crate::scaler::success::SuccessHandlerConfig;
use std::collections::HashSet;

/// `Err` is the first problem found, at its key path (the loader adds the file and line); `Ok` carries the
/// warnings, each naming its key path and, where found, its line.
pub fn validate(c: &Config, text: &str) -> Result<Vec<String>, Invalid> {
    let mut warnings = Vec::new();
    let at =
        |path: &str| line_of_path(text, path).map_or(String::new(), |l| format!(" (line {l})"));
    c.windows.validate().map_err(|e| e.under("windows"))?;
    c.outlets.validate().map_err(|e| e.under("outlets"))?;
    if let Some(store) = &c.store {
        crate::shared::config::validate_store(store).map_err(|e| e.under("store"))?;
        c.shared.validate().map_err(|e| e.under("shared"))?;
    }
    if let Some(d) = &c.drain {
        // The drain's own checks (auth or an explicit `insecure`, path, limits), so `check` reports them.
        d.validate().map_err(|e| e.under("drain"))?;
        warnings.extend(d.warnings());
    }
    for (i, h) in c.scaler.error_handlers.iter().enumerate() {
        h.validate()
            .map_err(|e| e.under(&format!("scaler.error_handlers[{i}]")))?;
    }
    if let Some(d) = &c.scaler.dead_mans_switch {
        SuccessHandlerConfig::ping(d.url.clone(), d.interval)
            .validate()
            .map_err(|e| e.under("scaler.dead_mans_switch"))?;
    }
    for (i, h) in c.scaler.success_handlers.iter().enumerate() {
        h.validate()
            .map_err(|e| e.under(&format!("scaler.success_handlers[{i}]")))?;
    }
    if c.scaler.interval.is_zero() {
        return Err(Invalid::at("scaler.interval", "must be more than 0s"));
    }
    if c.drain.is_none() && c.controllers.is_empty() {
        return Err(Invalid::new(
            "nothing to run: add a `drain:` section, `controllers:`, or both",
        ));
    }
    if c.controllers.is_empty() {
        warnings.push("no controllers: only the drain runs".into());
    }
    let mut names = HashSet::new();
    let mut processes = HashSet::new();
    let mut needs_heroku = false;
    for (i, ctl) in c.controllers.iter().enumerate() {
        let key = format!("controllers[{i}]");
        let here = format!("{key} ({:?}){}", ctl.name, at(&key));
        let invalid = |sub: &str, message: String| Invalid::at(invalid::join(&key, sub), message);
        if !valid_name(&ctl.name) {
            return Err(invalid(
                "name",
                format!("{:?} must be letters, digits, `_` or `-`", ctl.name),
            ));
        }
        if !names.insert(ctl.name.as_str()) {
            return Err(invalid(
                "name",
                format!("another controller is called {:?}", ctl.name),
            ));
        }
        let process = ctl.process();
        match &ctl.resource {
            Resource::Dynos { size, .. } => {
                if process.is_empty()
                    || !process
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                {
                    return Err(invalid(
                        "process",
                        format!(
                            "process type {process:?} must be letters, digits or `_` (as in a Procfile)"
                        ),
                    ));
                }
                if let Some(size) = size {
                    if size.is_empty()
                        || !size
                            .chars()
                            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
                    {
                        return Err(invalid(
                            "size",
                            format!(
                                "{size:?} is not a dyno size (e.g. standard-2x, performance-m)"
                            ),
                        ));
                    }
                    if !ctl.backend.uses_heroku_api() {
                        warnings.push(format!(
                            "{here}: size {size} is sent to Heroku only; the {} backend ignores it",
                            ctl.backend.kind()
                        ));
                    }
                }
            }
            Resource::Addon { .. } => {
                if !ctl.backend.uses_heroku_api() {
                    return Err(invalid(
                        "backend",
                        "add-on plans are read and changed through the Heroku API: use `backend: heroku`"
                            .into(),
                    ));
                }
            }
        }
        let backend_key = match &ctl.resource {
            Resource::Dynos { .. } => ctl.backend.identity(),
            Resource::Addon { .. } => "addon".into(),
        };
        if !processes.insert((backend_key, process.to_string())) {
            let (key, what) = match &ctl.resource {
                Resource::Dynos { .. } => ("process", "process"),
                Resource::Addon { .. } => ("addon", "add-on"),
            };
            return Err(invalid(
                key,
                format!("another controller already scales {what} {process:?} on the same backend"),
            ));
        }
        if ctl.min > ctl.max {
            return Err(invalid(
                "min",
                format!(
                    "{} is above max {} ({:?})",
                    ctl.label(ctl.min),
                    ctl.label(ctl.max),
                    ctl.name
                ),
            ));
        }
        for (j, s) in ctl.schedules.iter().enumerate() {
            Schedule::from_config(s, j)
                .map_err(|e| e.under(&format!("schedules[{j}]")).under(&key))?;
        }
        if ctl.backend.uses_heroku_api() {
            needs_heroku = true;
        }
        if ctl.inputs.is_empty() {
            warnings.push(format!(
                "{here}: no inputs: the count only follows min, max and schedules"
            ));
        }
        let mut input_names = HashSet::new();
        for (j, input) in ctl.inputs.iter().enumerate() {
            let key = format!("controllers[{i}].inputs[{j}]");
            let here = format!("{key} ({:?}){}", input.name, at(&key));
            let name_error = |message: String| Invalid::at(invalid::join(&key, "name"), message);
            if !valid_name(&input.name.replace(' ', "_")) {
                return Err(name_error(format!(
                    "{:?} must be letters, digits, spaces, `_` or `-`",
                    input.name
                )));
            }
            if input.name == "combined" {
                return Err(name_error(
                    "`combined` is reserved for the controller's own stats".into(),
                ));
            }
            if !input_names.insert(input.name.as_str()) {
                return Err(name_error(format!(
                    "another input of {:?} is called {:?}",
                    ctl.name, input.name
                )));
            }
            if input.fallback.is_some() && ctl.plans().is_some() {
                return Err(Invalid::at(
                    invalid::join(&key, "fallback"),
                    "a fallback is a dyno count; add-on controllers hold their plan in an outage",
                ));
            }
            if let Some(f) = input.fallback.filter(|f| *f > ctl.max) {
                warnings.push(format!(
                    "{here}: fallback {f} is above max {}: max applies",
                    ctl.max
                ));
            }
            if input.hysteresis_period < input.interval {
                warnings.push(format!(
                    "{here}: hysteresis_period is shorter than interval: the estimate follows the last value only"
                ));
            }
            let cx = CheckContext {
                drain: c.drain.is_some(),
                windows: &c.windows,
                conversion: &input.conversion,
                interval: input.interval,
                policy: &ctl.policy,
            };
            let more = input.params.check(&cx).map_err(|e| e.under(&key))?;
            warnings.extend(more.into_iter().map(|w| format!("{here}: {w}")));
        }
    }
    if needs_heroku {
        let app = &c.scaler.app;
        if c.scaler.dry_run {
            if c.scaler.api_key.as_ref().is_none_or(|k| k.is_empty()) {
                warnings.push(
                    "dry run without scaler.api_key: each controller assumes it starts at its min"
                        .into(),
                );
            }
        } else {
            if app.is_empty() {
                return Err(Invalid::at(
                    "scaler.app",
                    "the Heroku app name is required to scale with the Heroku API",
                ));
            }
            if c.scaler.api_key.as_ref().is_none_or(|k| k.is_empty()) {
                return Err(Invalid::at(
                    "scaler.api_key",
                    "a Heroku API token is required unless scaler.dry_run is true",
                ));
            }
        }
        if !app.is_empty()
            && !app
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        {
            return Err(Invalid::at(
                "scaler.app",
                format!("{app:?} is not a Heroku app name (lowercase letters, digits, `-`)"),
            ));
        }
    }
    Ok(warnings)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
}
