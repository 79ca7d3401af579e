//! The runs of a replay, built from configs: the config's controller, each `--compare` config's, each
//! `--policy` variant and the reference curves. Every run gets its own simulated formation (starting at the
//! controller's min) and its own inputs; inputs with a `--trace` column read it, inputs that call outside
//! services must have one, and `drain` inputs read the replayed windows.

use super::clock::VirtualClock;
use super::formation::SimFormation;
use super::lane::Lane;
use super::reference::{self, PerDynoAverage};
use super::trace::{Trace, TraceInput};
use super::windows::ReplayWindows;
use crate::config::Config;
use crate::scaler::controller_config::{ControllerConfig, InputConfig};
use crate::scaler::input::{Conversion, Input};
use crate::scaler::inputs::InputContext;
use crate::window::{Store, WindowConfig};
use std::sync::Arc;
use std::time::Duration;

/// Input types that call outside services: in a replay their values come from `--trace`.
pub const OUTSIDE: &[&str] = &["google_analytics", "new_relic", "papertrail"];

/// How a run converts and runs its controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// The controller as configured (or with a `--policy` variant).
    Config,
    /// Dynosaur's algorithm.
    Dynosaur,
    /// Kubernetes HPA's defaults.
    Hpa,
}

/// What every run shares.
pub struct Shared {
    pub clock: Arc<VirtualClock>,
    pub trace: Option<Arc<Trace>>,
    /// Whether logs are replayed (else `drain` inputs need a trace column).
    pub logs: bool,
    pub boot: Duration,
    stores: Vec<(WindowConfig, Arc<Store>)>,
}

impl Shared {
    pub fn new(
        clock: Arc<VirtualClock>,
        trace: Option<Arc<Trace>>,
        logs: bool,
        boot: Duration,
    ) -> Self {
        Shared {
            clock,
            trace,
            logs,
            boot,
            stores: Vec::new(),
        }
    }

    /// The window stores the runs read (one per distinct `windows:` section), to feed every event to.
    pub fn stores(&self) -> Vec<Arc<Store>> {
        self.stores.iter().map(|(_, s)| s.clone()).collect()
    }

    fn store(&mut self, cfg: &WindowConfig) -> Arc<Store> {
        if let Some((_, s)) = self.stores.iter().find(|(c, _)| c == cfg) {
            return s.clone();
        }
        let store = Arc::new(Store::new(cfg.clone()));
        self.stores.push((cfg.clone(), store.clone()));
        store
    }

    /// A run of `controller` (from `config`) under `algorithm`, named `name`.
    pub fn lane(
        &mut self,
        name: String,
        config: &Config,
        controller: &ControllerConfig,
        algorithm: Algorithm,
    ) -> Result<Lane, String> {
        let c = match algorithm {
            Algorithm::Config => controller.clone(),
            Algorithm::Dynosaur => reference::dynosaur(controller),
            Algorithm::Hpa => reference::hpa(controller),
        };
        let windows = ReplayWindows::new(self.store(&config.windows), self.clock.clone());
        let ctx = InputContext {
            windows: Some(Arc::new(windows)),
        };
        let formation = Arc::new(SimFormation::new(c.min, self.boot, self.clock.clone()));
        let start = crate::scaler::clock::Clock::tick(&*self.clock);
        let trace = self.trace.clone();
        let logs = self.logs;
        let built = crate::scaler::build::controller(&c, formation.clone(), start, |i| {
            let input = replay_input(i, trace.as_ref(), logs, &ctx, start)?;
            Ok(match (algorithm, &i.conversion) {
                (Algorithm::Hpa, Conversion::PerDyno(per)) => {
                    Box::new(PerDynoAverage::new(input, formation.clone(), *per))
                }
                _ => input,
            })
        })
        .map_err(|e| e.to_string())?;
        Ok(Lane::new(name, built, formation))
    }
}

/// The input a replay runs for an entry: its trace column, or the entry's own input when it calls no outside
/// service.
fn replay_input(
    i: &InputConfig,
    trace: Option<&Arc<Trace>>,
    logs: bool,
    ctx: &InputContext,
    start: crate::scaler::clock::Tick,
) -> Result<Box<dyn Input>, String> {
    if let Some((trace, column)) = trace.and_then(|t| t.column(&i.name).map(|c| (t, c))) {
        return Ok(Box::new(TraceInput::new(
            trace.clone(),
            column,
            i.conversion.clone(),
        )));
    }
    let kind = i.kind();
    if OUTSIDE.contains(&kind) {
        return Err(format!(
            "a {kind} input calls an outside service, which a replay never does: give its values in a --trace \
             column named {:?}",
            i.name
        ));
    }
    if kind == "drain" && !logs {
        return Err(format!(
            "a drain input reads the logs: pass --logs, or give its values in a --trace column named {:?}",
            i.name
        ));
    }
    i.params.build(i.conversion.clone(), ctx, start)
}

/// The controller a replay runs: the one named, or the first.
pub fn pick<'a>(
    config: &'a Config,
    file: &str,
    name: Option<&str>,
) -> Result<&'a ControllerConfig, String> {
    match name {
        Some(n) => config
            .controllers
            .iter()
            .find(|c| c.name == n)
            .ok_or_else(|| {
                let names: Vec<&str> = config.controllers.iter().map(|c| c.name.as_str()).collect();
                format!(
                    "{file}: no controller named {n:?} (controllers: {})",
                    names.join(", ")
                )
            }),
        None => config.controllers.first().ok_or_else(|| {
            format!("{file}: controllers: expected at least one controller to replay")
        }),
    }
}
