//! One run of a replay: a real [`Controller`] (the config's, a `--compare` config's, a `--policy` variant or a
//! reference algorithm expressed as a config) over its own [`SimFormation`], and the decision it made at every
//! pass.

use super::formation::SimFormation;
use crate::scaler::clock::Tick;
use crate::scaler::controller::Controller;
use std::sync::Arc;

/// One pass of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Unix micros.
    pub at: i64,
    /// Per input, in the controller's order: the newest value and the input's estimate.
    pub inputs: Vec<(Option<f64>, Option<u32>)>,
    /// The combined estimate, clamped to the bounds in force.
    pub estimate: Option<u32>,
    /// The count after the policies (the formation's, billed).
    pub count: u32,
    /// Dynos serving (booted) right after the pass.
    pub serving: u32,
    /// This pass changed the count.
    pub changed: bool,
    /// Why the count is what it is.
    pub reason: String,
}

/// A named run.
pub struct Lane {
    pub name: String,
    pub input_names: Vec<String>,
    controller: Controller,
    formation: Arc<SimFormation>,
    pub rows: Vec<Row>,
}

impl Lane {
    pub fn new(name: String, controller: Controller, formation: Arc<SimFormation>) -> Self {
        Lane {
            name,
            input_names: controller.input_names(),
            controller,
            formation,
            rows: Vec::new(),
        }
    }

    /// Runs one pass at `now` and records it.
    pub async fn pass(&mut self, now: Tick) {
        let report = self.controller.pass(now).await;
        let at = now.wall.as_microsecond();
        let reason = match &report.error {
            Some(e) => format!("{}; error: {e}", report.reason),
            None => report.reason,
        };
        self.rows.push(Row {
            at,
            inputs: report
                .inputs
                .iter()
                .map(|i| (i.value, i.estimate))
                .collect(),
            estimate: report.estimate,
            count: report.actual.unwrap_or_else(|| self.formation.count()),
            serving: self.formation.serving_at(at),
            changed: report.change.is_some(),
            reason,
        });
    }
}
