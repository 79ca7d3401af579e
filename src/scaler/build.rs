//! From a validated `scaler:` section and `controllers:` list to a ready [`Scaler`]: backends (one shared Heroku client, one writer per
//! formation file, dry-run wrappers), inputs with their windows, reporters, the dead man's switch, the error handlers.

use super::backend::addon::AddonPlans;
use super::backend::config::Shared;
use super::backend::dry_run::DryRun;
use super::backend::heroku::{Heroku, HerokuSettings};
use super::backend::Backend;
use super::clock::{Clock, Tick};
use super::config::ScalerConfig;
use super::controller::{Controller, InputSlot};
use super::controller_config::{ControllerConfig, InputConfig, Resource};
use super::engine::Scaler;
use super::handlers::Notifier;
use super::input::Input;
use super::inputs::InputContext;
use super::report::{Console, OutletGauges, StatsReporter};
use super::schedule::Schedule;
use crate::outlet::StatsSender;
use crate::window::WindowReader;
use std::collections::HashMap;
use std::sync::Arc;

/// A config that validated but cannot be built (a bad time zone, a drain input without windows...).
#[derive(Debug, thiserror::Error)]
#[error("controller {controller:?}: {message}")]
pub struct BuildError {
    pub controller: String,
    pub message: String,
}

/// Builds the scaler. `windows` is the drain's window store (needed by `drain` inputs).
///
/// Stats go to the console when `scaler.stats.console`; for the outlets, add
/// [`super::report::OutletGauges`] over [`crate::outlet::OutletsHandle::stats_sender`] with
/// [`Scaler::add_reporter`] when `scaler.stats.outlets` (see [`outlet_reporter`]).
pub fn build(
    s: &ScalerConfig,
    controllers_config: &[ControllerConfig],
    windows: Option<Arc<dyn WindowReader>>,
    clock: Arc<dyn Clock>,
) -> Result<Scaler, BuildError> {
    build_wrapping(s, controllers_config, windows, clock, &|b| b)
}

/// [`build`], with every controller's backend passed through `wrap` (the shared windows put writes behind the
/// scaler leader's fence).
pub fn build_wrapping(
    s: &ScalerConfig,
    controllers_config: &[ControllerConfig],
    windows: Option<Arc<dyn WindowReader>>,
    clock: Arc<dyn Clock>,
    wrap: &dyn Fn(Arc<dyn Backend>) -> Arc<dyn Backend>,
) -> Result<Scaler, BuildError> {
    let ctx = InputContext { windows };
    let start = clock.tick();
    let key = s.api_key.as_ref().map_or("", |k| k.expose());
    let heroku: Option<Arc<Heroku>> = if !key.is_empty() && !s.app.is_empty() {
        let mut settings = HerokuSettings::new(s.api_url.expose(), &s.app, key);
        settings.cache_ttl = s.heroku.cache_ttl;
        settings.timeout = s.heroku.timeout;
        settings.max_attempts = s.heroku.max_attempts.max(1);
        settings.backoff_base = s.heroku.backoff_base;
        settings.backoff_max = s.heroku.backoff_max;
        settings.rate_limit_low = s.heroku.rate_limit_low;
        settings.refusal_backoff = s.heroku.refusal_backoff;
        let client = Heroku::new(settings).map_err(|e| BuildError {
            controller: "*".into(),
            message: e.to_string(),
        })?;
        Some(Arc::new(client))
    } else {
        None
    };
    let mut shared_backends: HashMap<String, Arc<dyn Backend>> = HashMap::new();
    let mut controllers = Vec::new();
    for c in controllers_config {
        let fail = |message: String| BuildError {
            controller: c.name.clone(),
            message,
        };
        // One backend object per identity (controllers of one formation file share its lock); an add-on
        // controller reads and sets plans through the Heroku client.
        let identity = format!("{} {:?}", c.backend.identity(), c.size());
        let real: Option<Arc<dyn Backend>> = match (&c.resource, shared_backends.get(&identity)) {
            (Resource::Addon { plans, .. }, _) => heroku
                .clone()
                .map(|h| Arc::new(AddonPlans::new(h, plans.clone())) as Arc<dyn Backend>),
            (Resource::Dynos { .. }, Some(b)) => Some(b.clone()),
            (Resource::Dynos { size, .. }, None) => {
                let shared = Shared {
                    heroku: heroku.clone(),
                    size: size.clone(),
                };
                let built = c.backend.build(&shared);
                if let Some(b) = &built {
                    shared_backends.insert(identity, b.clone());
                }
                built
            }
        };
        let backend: Arc<dyn Backend> = match (s.dry_run, real) {
            (true, reader) => Arc::new(DryRun::new(reader, c.min)),
            (false, Some(b)) => b,
            (false, None) => {
                return Err(fail(
                    "the Heroku backend needs scaler.app and scaler.api_key".into(),
                ))
            }
        };
        let backend = wrap(backend);
        let controller = controller(c, backend, start, |i| {
            i.params.build(i.conversion.clone(), &ctx, start)
        })?;
        controllers.push(controller);
    }
    let mut reporters: Vec<Arc<dyn StatsReporter>> = Vec::new();
    if s.stats.console {
        reporters.push(Arc::new(Console::stdout(&s.stats.prefix, &s.app)));
    }
    let mut scaler = Scaler::new(controllers, clock, reporters, s.interval, s.dry_run);
    let success = s
        .all_success_handlers()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            h.build().map_err(|e| BuildError {
                controller: "*".into(),
                message: format!("scaler.success_handlers[{i}]: {e}"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !success.is_empty() {
        scaler = scaler.with_success_handlers(success);
    }
    let notifier = Notifier::from_config(&s.app, &s.error_handlers).map_err(|e| BuildError {
        controller: "*".into(),
        message: format!("scaler.error_handlers: {e}"),
    })?;
    if let Some(n) = notifier {
        scaler = scaler.with_error_handlers(Arc::new(n));
    }
    Ok(scaler)
}

/// The reporter that sends pass stats through the outlets (statsd, Librato-format HTTP), or `None` when
/// `scaler.stats.outlets` is off. Names are `<scaler.stats.prefix>.<app>...`, as on the console.
pub fn outlet_reporter(s: &ScalerConfig, sender: StatsSender) -> Option<Arc<dyn StatsReporter>> {
    s.stats.outlets.then(|| {
        Arc::new(OutletGauges::new(sender, &s.stats.prefix, &s.app)) as Arc<dyn StatsReporter>
    })
}

/// Builds one controller over `backend`, its inputs made by `input` (the config's own in [`build`]; a replay
/// substitutes recorded values for outside services). `start` is when its inputs' health starts counting.
pub fn controller(
    c: &ControllerConfig,
    backend: Arc<dyn Backend>,
    start: Tick,
    mut input: impl FnMut(&InputConfig) -> Result<Box<dyn Input>, String>,
) -> Result<Controller, BuildError> {
    let fail = |message: String| BuildError {
        controller: c.name.clone(),
        message,
    };
    let schedules = c
        .schedules
        .iter()
        .enumerate()
        .map(|(i, sc)| {
            Schedule::from_config(sc, i).map_err(|e| e.under(&format!("schedules[{i}]")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    let mut inputs = Vec::new();
    for i in &c.inputs {
        let built = input(i).map_err(|e| fail(format!("input {:?}: {e}", i.name)))?;
        inputs.push(InputSlot::new(
            i.name.clone(),
            i.kind(),
            i.params.describe(),
            built,
            i.interval,
            i.hysteresis_period,
            i.fallback,
            i.outage_after,
            start.mono,
        ));
    }
    let controller = Controller::new(
        c.name.clone(),
        c.process().to_string(),
        c.min,
        c.max,
        schedules,
        c.policy.clone(),
        inputs,
        backend,
    )
    .with_size(c.size().map(str::to_string));
    Ok(match c.plans() {
        Some(t) => controller.with_plans(t.clone()),
        None => controller,
    })
}
