//! A controller scales one resource (a process type's dyno count, or an add-on's plan as a position in its
//! plan table): it refreshes its inputs, takes the max of
//! their estimates (with fallbacks for inputs in OUTAGE), lets the policy decide within the bounds in force
//! (min/max or an active schedule), and sets the new count through its backend.
//!
//! One pass = [`Controller::pass`]; the loop, the reporting and the status page are elsewhere.

use super::backend::{Backend, BackendError};
use super::clock::Tick;
use super::health::Health;
use super::hysteresis::Hysteresis;
use super::input::{Input, InputError};
use super::plans::PlanTable;
use super::policy::{Bounds, Policy, Situation};
use super::schedule::Schedule;
use jiff::Timestamp;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest a single retrieval may take before it counts as failed.
const RETRIEVE_TIMEOUT: Duration = Duration::from_secs(30);

/// One input of a controller, with its cache, window and health bookkeeping.
pub struct InputSlot {
    pub name: String,
    pub kind: &'static str,
    pub description: String,
    input: Box<dyn Input>,
    window: Hysteresis,
    fallback: Option<u32>,
    outage_after: Duration,
    created: Instant,
    last_error: Option<String>,
}

impl InputSlot {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        kind: &'static str,
        description: String,
        input: Box<dyn Input>,
        interval: Duration,
        hysteresis_period: Duration,
        fallback: Option<u32>,
        outage_after: Duration,
        created: Instant,
    ) -> Self {
        InputSlot {
            name,
            kind,
            description,
            input,
            window: Hysteresis::new(interval, hysteresis_period),
            fallback,
            outage_after,
            created,
            last_error: None,
        }
    }

    /// Retrieves a new value when the cached one has expired; its estimate is made against `current`.
    async fn refresh(&mut self, now: Tick, current: u32) {
        if !self.window.due(now.mono) {
            return;
        }
        let result = match tokio::time::timeout(RETRIEVE_TIMEOUT, self.input.retrieve(now)).await {
            Ok(r) => r,
            Err(_) => Err(InputError::Unavailable(format!(
                "no answer within {}s",
                RETRIEVE_TIMEOUT.as_secs()
            ))),
        };
        let error = match result {
            Ok(v) if v.is_finite() => {
                let estimate = self.input.conversion().estimate(v, current);
                let epoch = self.input.window_epoch(now.wall);
                self.window.record_in(epoch, now.mono, v, estimate);
                None
            }
            Ok(v) => Some(InputError::BadValue(v.to_string()).to_string()),
            Err(e) => Some(e.to_string()),
        };
        if error.is_some() {
            self.window.record_failure();
        }
        // Log changes only: a drain that stays silent for an hour makes one line, not one per pass.
        match (&self.last_error, &error) {
            (None, Some(e)) => tracing::warn!(input = %self.name, "input failed: {e}"),
            (Some(old), Some(e)) if old != e => {
                tracing::warn!(input = %self.name, "input still failing: {e}")
            }
            (Some(_), None) => tracing::info!(input = %self.name, "input recovered"),
            _ => {}
        }
        self.last_error = error;
    }

    fn report(&self, now: Tick) -> InputReport {
        let health = Health::assess(
            now.mono,
            self.created,
            self.window.last_success(),
            self.last_error.is_some(),
            self.window.interval(),
            self.outage_after,
        );
        let max = self.window.max();
        let mut estimate = self.window.max_estimate();
        let fallback_used = health == Health::Outage && self.fallback.is_some();
        if fallback_used {
            estimate = estimate.max(self.fallback);
        }
        InputReport {
            name: self.name.clone(),
            kind: self.kind,
            description: self.description.clone(),
            unit: self.input.unit().to_string(),
            value: self.window.last(),
            max,
            estimate,
            health,
            age: self
                .window
                .last_success()
                .map(|at| now.mono.saturating_duration_since(at)),
            last_error: self.last_error.clone(),
            fallback_used,
        }
    }
}

/// An input as seen in one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct InputReport {
    pub name: String,
    pub kind: &'static str,
    /// What it reads, in words (`drain p95 router service time (ms) over 1m, ...`).
    pub description: String,
    pub unit: String,
    /// The newest good value.
    pub value: Option<f64>,
    /// The max of the hysteresis window.
    pub max: Option<f64>,
    /// The count this input asks for (its fallback included when in OUTAGE).
    pub estimate: Option<u32>,
    pub health: Health,
    /// Time since the last good value.
    pub age: Option<Duration>,
    pub last_error: Option<String>,
    pub fallback_used: bool,
}

/// A change the controller made.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub at: Timestamp,
    pub from: u32,
    pub to: u32,
    pub reason: String,
}

/// What one pass saw and did.
#[derive(Debug, Clone, PartialEq)]
pub struct PassReport {
    pub controller: String,
    pub process: String,
    pub at: Timestamp,
    pub inputs: Vec<InputReport>,
    /// The count before the pass (`None`: the backend could not be read).
    pub current: Option<u32>,
    /// The combined estimate, clamped to the bounds in force.
    pub estimate: Option<u32>,
    /// The count in force after the pass.
    pub actual: Option<u32>,
    pub bounds: Bounds,
    /// Why the count is what it is.
    pub reason: String,
    /// Set when this pass changed the count.
    pub change: Option<Change>,
    /// A backend failure this pass.
    pub error: Option<String>,
    /// The error is a write the backend refused before for the same count and did not send again: it is
    /// shown (`/status`, no dead man's switch ping) but not logged at error level or sent to the error
    /// handlers again.
    pub error_repeated: bool,
    pub dry_run: bool,
    /// An add-on controller's plan table (its counts are plan positions).
    pub plans: Option<PlanTable>,
    /// The dyno size a dyno controller sends with its changes.
    pub size: Option<String>,
}

impl PassReport {
    /// A count in words: the number, or an add-on controller's plan name.
    pub fn label(&self, count: u32) -> String {
        match &self.plans {
            Some(t) => t.label(count),
            None => count.to_string(),
        }
    }
}

/// One scaled resource.
pub struct Controller {
    pub name: String,
    pub process: String,
    pub min: u32,
    pub max: u32,
    pub schedules: Vec<Schedule>,
    pub policy: Policy,
    inputs: Vec<InputSlot>,
    backend: Arc<dyn Backend>,
    last_change: Option<(Instant, Change)>,
    /// The last count read, for estimates made while the backend cannot be read.
    last_known: Option<u32>,
    /// The first pass.
    started: Option<Instant>,
    plans: Option<PlanTable>,
    size: Option<String>,
}

impl Controller {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        process: String,
        min: u32,
        max: u32,
        schedules: Vec<Schedule>,
        policy: Policy,
        inputs: Vec<InputSlot>,
        backend: Arc<dyn Backend>,
    ) -> Self {
        Controller {
            name,
            process,
            min,
            max,
            schedules,
            policy,
            inputs,
            backend,
            last_change: None,
            last_known: None,
            started: None,
            plans: None,
            size: None,
        }
    }

    /// Makes this an add-on controller: counts are positions in `plans`, shown as plan names.
    pub fn with_plans(mut self, plans: PlanTable) -> Self {
        self.plans = Some(plans);
        self
    }

    /// Shows the dyno size its backend sends.
    pub fn with_size(mut self, size: Option<String>) -> Self {
        self.size = size;
        self
    }

    /// A count in words: the number, or the plan's name.
    fn label(&self, count: u32) -> String {
        match &self.plans {
            Some(t) => t.label(count),
            None => count.to_string(),
        }
    }

    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    pub fn input_names(&self) -> Vec<String> {
        self.inputs.iter().map(|i| i.name.clone()).collect()
    }

    /// The last change made, if any.
    pub fn last_change(&self) -> Option<&Change> {
        self.last_change.as_ref().map(|(_, c)| c)
    }

    /// The bounds in force at `at`: the first active schedule's, else min/max.
    pub fn bounds(&self, at: Timestamp) -> Bounds {
        match self.schedules.iter().find(|s| s.active(at)) {
            Some(s) => {
                let max = s.max.unwrap_or(self.max);
                Bounds {
                    min: s.min.unwrap_or(self.min).min(max),
                    max,
                    schedule: Some(s.name.clone()),
                }
            }
            None => Bounds {
                min: self.min,
                max: self.max,
                schedule: None,
            },
        }
    }

    /// One pass: read the count, refresh inputs, decide, write if needed.
    pub async fn pass(&mut self, now: Tick) -> PassReport {
        let bounds = self.bounds(now.wall);
        self.started.get_or_insert(now.mono);
        let mut error = None;
        let current = match self.backend.current(&self.process).await {
            Ok(c) => Some(c),
            Err(e) => {
                error = Some(format!("reading the current count: {e}"));
                None
            }
        };
        self.last_known = current.or(self.last_known);
        let basis = self.last_known.unwrap_or(self.min);
        for slot in &mut self.inputs {
            slot.refresh(now, basis).await;
        }
        let inputs: Vec<InputReport> = self.inputs.iter().map(|s| s.report(now)).collect();
        let combined = inputs.iter().filter_map(|i| i.estimate).max();
        let unhealthy: Vec<String> = inputs
            .iter()
            .filter(|i| i.health != Health::Ok)
            .map(|i| format!("{} ({})", i.name, i.health))
            .collect();
        let mut report = PassReport {
            controller: self.name.clone(),
            process: self.process.clone(),
            at: now.wall,
            estimate: combined.map(|c| c.clamp(bounds.min, bounds.max.max(bounds.min))),
            inputs,
            current,
            actual: current,
            bounds: bounds.clone(),
            reason: String::new(),
            change: None,
            error: None,
            error_repeated: false,
            dry_run: self.backend.is_dry_run(),
            plans: self.plans.clone(),
            size: self.size.clone(),
        };
        let Some(current) = current else {
            report.reason = "holding: the current count is unknown".into();
            report.error = error;
            return report;
        };
        let decision = self.policy.decide(&Situation {
            current,
            estimate: combined,
            bounds,
            unhealthy,
            last_change: self.last_change.as_ref().map(|(at, _)| *at),
            started: self.started,
            now: now.mono,
        });
        report.reason = decision.reason.clone();
        if decision.target != current {
            match self.backend.set(&self.process, decision.target).await {
                Ok(actual) => {
                    report.actual = Some(actual);
                    if actual != current {
                        let change = Change {
                            at: now.wall,
                            from: current,
                            to: actual,
                            reason: decision.reason,
                        };
                        let verb = if report.dry_run {
                            "DRY RUN: would change"
                        } else {
                            "changed"
                        };
                        tracing::info!(
                            controller = %self.name,
                            "{verb} {} from {} to {}: {}",
                            self.process,
                            self.label(current),
                            self.label(actual),
                            change.reason
                        );
                        self.last_change = Some((now.mono, change.clone()));
                        report.change = Some(change);
                    }
                }
                Err(e) => {
                    report.error_repeated = matches!(
                        e,
                        BackendError::Refused { .. } | BackendError::Fenced { .. }
                    );
                    error = Some(format!(
                        "setting {} to {}: {e}",
                        self.process,
                        self.label(decision.target)
                    ))
                }
            }
        }
        report.error = error;
        report
    }
}

#[cfg(test)]
#[path = "controller_tests.rs"]
mod tests;
