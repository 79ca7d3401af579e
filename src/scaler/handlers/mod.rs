//! Error handlers (Dynosaur's `error_handlers`, made useful): what happened to the scaler, told to someone
//! outside it. [`Notifier`] watches pass reports, turns pass errors, panics and input health *transitions*
//! (to STALE, to OUTAGE, back to OK) into [`ErrorEvent`]s and hands them to each handler's delivery lane
//! ([`dispatch`]), which sends from its own task. Nothing here can block or fail a pass.
//!
//! The handlers themselves only know their wire format: [`webhook`], [`bugsnag`] and [`email`], each one file registered
//! by one line in [`config::KINDS`].

pub mod bugsnag;
pub mod config;
pub mod dispatch;
pub mod email;
pub mod repeat;
pub mod spec;
pub mod webhook;

use super::controller::PassReport;
use super::health::Health;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

pub use config::{DeliveryConfig, ErrorHandlerConfig};
pub use dispatch::{Lane, LaneStats};

/// What kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A pass reported an error (a backend failure: the formation could not be read or written).
    PassError,
    /// A pass panicked or its task failed.
    PassPanic,
    /// An input became STALE.
    InputStale,
    /// An input went into OUTAGE.
    InputOutage,
    /// An input is OK again after STALE or OUTAGE.
    InputRecovered,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::PassError => "pass_error",
            EventKind::PassPanic => "pass_panic",
            EventKind::InputStale => "input_stale",
            EventKind::InputOutage => "input_outage",
            EventKind::InputRecovered => "input_recovered",
        }
    }
}

/// One event, as the webhook sends it (JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorEvent {
    pub app: String,
    pub controller: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    pub kind: EventKind,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    #[serde(serialize_with = "rfc3339")]
    pub at: Timestamp,
}

fn rfc3339<S: serde::Serializer>(at: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(at)
}

/// A failed delivery.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("{handler}: HTTP {status}: {body}")]
    Status {
        handler: String,
        status: u16,
        body: String,
    },
    /// A transport failure, told without the URL (see [`crate::secret::http_error`]).
    #[error("{handler}: {message}")]
    Http { handler: String, message: String },
    #[error("{handler}: bad configuration: {message}")]
    Config { handler: String, message: String },
    /// An SMTP session failed: the stage (connecting, STARTTLS, AUTH, a recipient...) and the relay's answer.
    #[error("{handler}: {message}")]
    Smtp { handler: String, message: String },
    /// Not sent: the handler's own limit (e-mail's `max_per_hour`) is reached. Counted apart from failures.
    #[error("{handler}: rate limited: {message}")]
    RateLimited { handler: String, message: String },
}

/// The future a handler returns.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send + 'a>>;

/// Something that delivers [`ErrorEvent`]s somewhere.
pub trait ErrorHandler: Send + Sync {
    /// For logs and metrics labels: `webhook https://host/***` (the URL masked, see [`crate::secret::SecretUrl`]).
    fn name(&self) -> String;
    /// Sends one event. Called from the handler's own task, under its timeout.
    fn send<'a>(&'a self, event: &'a ErrorEvent) -> Sending<'a>;
}

/// Builds the handler an entry of `scaler.error_handlers` describes.
pub fn from_config(c: &ErrorHandlerConfig) -> Result<Arc<dyn ErrorHandler>, HandlerError> {
    c.params.build(c.delivery.timeout)
}

/// Turns pass reports into events for every lane. Keeps each input's last health to report transitions only.
pub struct Notifier {
    app: String,
    lanes: Vec<Lane>,
    health: Mutex<HashMap<(String, String), Health>>,
}

impl Notifier {
    pub fn new(app: &str, lanes: Vec<Lane>) -> Self {
        Notifier {
            app: app.to_string(),
            lanes,
            health: Mutex::new(HashMap::new()),
        }
    }

    /// From the config's `scaler.error_handlers` (`None` when there are none).
    pub fn from_config(
        app: &str,
        handlers: &[ErrorHandlerConfig],
    ) -> Result<Option<Self>, HandlerError> {
        if handlers.is_empty() {
            return Ok(None);
        }
        let lanes = handlers
            .iter()
            .map(|c| from_config(c).map(|h| Lane::new(h, c.delivery())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Notifier::new(app, lanes)))
    }

    /// The lanes' counters (sent, failed, deduplicated, dropped, rate limited), in config order.
    pub fn stats(&self) -> Vec<LaneStats> {
        self.lanes.iter().map(Lane::stats).collect()
    }

    /// Called after every pass: a pass error (not a refusal already reported), and inputs whose health changed
    /// since the last pass.
    pub fn after_pass(&self, report: &PassReport) {
        if let Some(err) = report.error.as_ref().filter(|_| !report.error_repeated) {
            self.emit(ErrorEvent {
                app: self.app.clone(),
                controller: report.controller.clone(),
                input: None,
                kind: EventKind::PassError,
                message: err.clone(),
                health: None,
                at: report.at,
            });
        }
        let mut changed = Vec::new();
        {
            let mut last = self.health.lock().unwrap_or_else(|p| p.into_inner());
            for i in &report.inputs {
                let key = (report.controller.clone(), i.name.clone());
                let before = last.insert(key, i.health).unwrap_or(Health::Ok);
                if before != i.health {
                    changed.push((i, before));
                }
            }
        }
        for (i, before) in changed {
            let (kind, message) = match i.health {
                Health::Ok => (
                    EventKind::InputRecovered,
                    format!("input {} is OK again (was {before})", i.name),
                ),
                Health::Stale => (EventKind::InputStale, stale_message(i, "STALE")),
                Health::Outage => (EventKind::InputOutage, stale_message(i, "OUTAGE")),
            };
            self.emit(ErrorEvent {
                app: self.app.clone(),
                controller: report.controller.clone(),
                input: Some(i.name.clone()),
                kind,
                message,
                health: Some(i.health),
                at: report.at,
            });
        }
    }

    /// Called when a pass panicked or its task failed.
    pub fn pass_failed(&self, controller: &str, message: &str, at: Timestamp) {
        self.emit(ErrorEvent {
            app: self.app.clone(),
            controller: controller.to_string(),
            input: None,
            kind: EventKind::PassPanic,
            message: message.to_string(),
            health: None,
            at,
        });
    }

    fn emit(&self, event: ErrorEvent) {
        for lane in &self.lanes {
            lane.push(event.clone());
        }
    }
}

/// No age in the message: the same outage reported twice reads the same, so deduplication can catch it.
fn stale_message(i: &super::controller::InputReport, state: &str) -> String {
    match &i.last_error {
        Some(e) => format!("input {} is {state}: {e}", i.name),
        None => format!("input {} is {state}", i.name),
    }
}

/// The handlers' counters in Prometheus text, appended to the drain's `/metrics`.
impl crate::drain::MetricsPage for Notifier {
    fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let lanes = self.stats();
        if lanes.is_empty() {
            return;
        }
        out.push_str(
            "# HELP drainscale_error_handler_events_total Scaler error events per handler, by what became of them.\n\
             # TYPE drainscale_error_handler_events_total counter\n",
        );
        for lane in &lanes {
            let handler = lane.handler.replace('\\', "\\\\").replace('"', "\\\"");
            for (result, n) in [
                ("sent", lane.sent),
                ("failed", lane.failed),
                ("deduplicated", lane.deduplicated),
                ("dropped", lane.dropped),
                ("rate_limited", lane.rate_limited),
            ] {
                let _ = writeln!(
                    out,
                    "drainscale_error_handler_events_total{{handler=\"{handler}\",result=\"{result}\"}} {n}"
                );
            }
        }
    }
}
