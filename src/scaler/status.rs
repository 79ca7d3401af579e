//! The scaler's status page: what `/`, `/status` and `/ping` show (served by the drain through
//! [`crate::drain::StatusPage`]). The engine updates it after every pass; readers never wait on a pass.
//! `/` is rendered from the `/status` document and each controller's last hour ([`Track`]).

use super::controller::{Change, PassReport};
use super::history::Track;
use crate::drain::StatusPage;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::RwLock;

/// The shared status of all controllers.
pub struct ScalerStatus {
    dry_run: bool,
    controllers: RwLock<BTreeMap<String, Value>>,
    unhealthy: RwLock<BTreeMap<String, Vec<String>>>,
    last_changes: RwLock<BTreeMap<String, Change>>,
    history: RwLock<BTreeMap<String, Track>>,
    refresh_seconds: u64,
}

impl ScalerStatus {
    /// `controllers`: each controller's name and input names, shown as pending until their first pass.
    pub fn new(dry_run: bool, controllers: &[(String, Vec<String>)]) -> Self {
        let mut docs = BTreeMap::new();
        let mut unhealthy = BTreeMap::new();
        for (name, inputs) in controllers {
            docs.insert(name.clone(), json!({ "name": name, "pending": true }));
            unhealthy.insert(
                name.clone(),
                inputs.iter().map(|i| format!("{name}.{i}")).collect(),
            );
        }
        ScalerStatus {
            dry_run,
            controllers: RwLock::new(docs),
            unhealthy: RwLock::new(unhealthy),
            last_changes: RwLock::new(BTreeMap::new()),
            history: RwLock::new(BTreeMap::new()),
            refresh_seconds: super::page::refresh_seconds(std::time::Duration::ZERO),
        }
    }

    /// The page on `/` reloads at the scaler's `interval` (kept between 5 s and 60 s).
    pub fn with_interval(mut self, interval: std::time::Duration) -> Self {
        self.refresh_seconds = super::page::refresh_seconds(interval);
        self
    }

    /// Records a pass that could not finish (it panicked): the controller's entry shows the error.
    pub fn fail(&self, controller: &str, message: &str) {
        let mut docs = self.controllers.write().unwrap_or_else(|p| p.into_inner());
        let doc = docs
            .entry(controller.to_string())
            .or_insert_with(|| json!({ "name": controller }));
        doc["error"] = Value::String(message.to_string());
    }

    /// Records a pass.
    pub fn update(&self, pass: &PassReport) {
        if let Some(change) = &pass.change {
            self.last_changes
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(pass.controller.clone(), change.clone());
        }
        let last_change = self
            .last_changes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&pass.controller)
            .cloned();
        self.history
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(pass.controller.clone())
            .or_default()
            .record(pass);
        let doc = document(pass, last_change.as_ref());
        let bad: Vec<String> = pass
            .inputs
            .iter()
            .filter(|i| i.health != super::health::Health::Ok)
            .map(|i| format!("{}.{}", pass.controller, i.name))
            .collect();
        self.controllers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(pass.controller.clone(), doc);
        self.unhealthy
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(pass.controller.clone(), bad);
    }
}

fn document(pass: &PassReport, last_change: Option<&Change>) -> Value {
    let inputs: Vec<Value> = pass
        .inputs
        .iter()
        .map(|i| {
            json!({
                "name": i.name,
                "type": i.kind,
                "reads": i.description,
                "unit": i.unit,
                "value": i.value,
                "max": i.max,
                "estimate": i.estimate,
                "age_seconds": i.age.map(|a| a.as_secs_f64()),
                "health": i.health,
                "last_error": i.last_error,
                "fallback_used": i.fallback_used,
            })
        })
        .collect();
    let plan = |n: Option<u32>| pass.plans.as_ref().and(n).map(|n| pass.label(n));
    json!({
        "name": pass.controller,
        "process": pass.process,
        "size": pass.size,
        "plan": plan(pass.actual),
        "estimate_plan": plan(pass.estimate),
        "min_plan": plan(Some(pass.bounds.min)),
        "max_plan": plan(Some(pass.bounds.max)),
        "at": pass.at.to_string(),
        "current": pass.actual,
        "estimate": pass.estimate,
        "min": pass.bounds.min,
        "max": pass.bounds.max,
        "schedule": pass.bounds.schedule,
        "reason": pass.reason,
        "error": pass.error,
        "last_change": last_change.map(|c| json!({
            "at": c.at.to_string(), "from": c.from, "to": c.to, "reason": c.reason,
            "from_plan": plan(Some(c.from)), "to_plan": plan(Some(c.to)),
        })),
        "inputs": inputs,
    })
}

impl StatusPage for ScalerStatus {
    fn status(&self) -> Value {
        let controllers: Vec<Value> = self
            .controllers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        json!({ "dry_run": self.dry_run, "controllers": controllers })
    }

    fn ping(&self) -> Result<(), Vec<String>> {
        let bad: Vec<String> = self
            .unhealthy
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .flatten()
            .cloned()
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad)
        }
    }

    fn html(&self) -> Option<String> {
        let status = self.status();
        let history = self
            .history
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Some(super::page::page(&status, &history, self.refresh_seconds))
    }
}
