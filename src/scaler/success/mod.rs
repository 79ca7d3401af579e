//! Success handlers (Dynosaur's `success_handlers`): a dead man's switch told that the scaler is alive and
//! well. [`Switch`] hears every pass; once every controller's last pass had no error, each handler whose
//! interval has run out is sent from its own task (never blocking a pass). A failed send is logged and counted
//! and tried again after the next clean pass, but not sooner than [`RETRY_AFTER_FAILURE`] (or its interval,
//! when shorter).
//!
//! The handlers only know their wire format: [`ping`] (an HTTP GET) and [`cronut`] (Cronut's encrypted
//! check-in); their keys are read in [`config`].

pub mod config;
pub mod cronut;
pub mod ping;

use super::handlers::{HandlerError, Sending};
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use config::SuccessHandlerConfig;

/// After a failed send, the next attempt waits at least this long (or the handler's interval, if shorter).
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// Something told that the scaler is fine.
pub trait SuccessHandler: Send + Sync {
    /// For logs and metrics labels (URLs masked, never a token).
    fn name(&self) -> String;
    /// At most one send per this long.
    fn interval(&self) -> Duration;
    /// Sends one check-in for the pass that ended at `at`.
    fn send(&self, at: Timestamp) -> Sending<'_>;
}

/// One handler's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuccessStats {
    pub handler: String,
    /// Check-ins the receiver accepted.
    pub sent: u64,
    /// Check-ins that failed (error status, network error, timeout).
    pub failed: u64,
}

#[derive(Default)]
struct SlotState {
    /// When the last accepted check-in was started.
    last_sent: Option<Instant>,
    /// When the last failed one was started.
    last_failed: Option<Instant>,
    in_flight: bool,
    sent: u64,
    failed: u64,
}

struct Slot {
    handler: Arc<dyn SuccessHandler>,
    state: Mutex<SlotState>,
}

/// The success handlers and what the last pass of each controller said.
pub struct Switch {
    slots: Vec<Arc<Slot>>,
    clean: Mutex<HashMap<String, bool>>,
}

impl Switch {
    /// `controllers`: every controller's name; none counts as clean before its first pass.
    pub fn new(handlers: Vec<Arc<dyn SuccessHandler>>, controllers: Vec<String>) -> Self {
        Switch {
            slots: handlers
                .into_iter()
                .map(|handler| {
                    Arc::new(Slot {
                        handler,
                        state: Mutex::new(SlotState::default()),
                    })
                })
                .collect(),
            clean: Mutex::new(controllers.into_iter().map(|c| (c, false)).collect()),
        }
    }

    /// Called after every pass of `controller` (`clean`: the pass had no error).
    pub fn after_pass(&self, controller: &str, clean: bool, at: Timestamp) {
        {
            let mut all = self.clean.lock().unwrap_or_else(|p| p.into_inner());
            all.insert(controller.to_string(), clean);
            if !all.values().all(|c| *c) {
                return;
            }
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let now = Instant::now();
        for slot in &self.slots {
            {
                let mut s = slot.state.lock().unwrap_or_else(|p| p.into_inner());
                let every = slot.handler.interval();
                let due = s.last_sent.is_none_or(|t| now.duration_since(t) >= every);
                let backed_off = s
                    .last_failed
                    .is_some_and(|t| now.duration_since(t) < RETRY_AFTER_FAILURE.min(every));
                if !due || backed_off || s.in_flight {
                    continue;
                }
                s.in_flight = true;
            }
            let slot = slot.clone();
            rt.spawn(async move {
                let result = slot.handler.send(at).await;
                let mut s = slot.state.lock().unwrap_or_else(|p| p.into_inner());
                s.in_flight = false;
                match result {
                    Ok(()) => {
                        s.last_sent = Some(now);
                        s.last_failed = None;
                        s.sent += 1;
                        tracing::debug!(handler = %slot.handler.name(), "success handler checked in");
                    }
                    Err(e) => {
                        s.last_failed = Some(now);
                        s.failed += 1;
                        tracing::warn!(handler = %slot.handler.name(), "success handler failed: {e}");
                    }
                }
            });
        }
    }

    /// Every handler's counters, in config order.
    pub fn stats(&self) -> Vec<SuccessStats> {
        self.slots
            .iter()
            .map(|slot| {
                let s = slot.state.lock().unwrap_or_else(|p| p.into_inner());
                SuccessStats {
                    handler: slot.handler.name(),
                    sent: s.sent,
                    failed: s.failed,
                }
            })
            .collect()
    }
}

/// The handlers' counters in Prometheus text, appended to the drain's `/metrics`.
impl crate::drain::MetricsPage for Switch {
    fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let stats = self.stats();
        if stats.is_empty() {
            return;
        }
        out.push_str(
            "# HELP drainscale_success_handler_check_ins_total Success handler check-ins, by result.\n\
             # TYPE drainscale_success_handler_check_ins_total counter\n",
        );
        for s in &stats {
            let handler = s.handler.replace('\\', "\\\\").replace('"', "\\\"");
            for (result, n) in [("sent", s.sent), ("failed", s.failed)] {
                let _ = writeln!(
                    out,
                    "drainscale_success_handler_check_ins_total{{handler=\"{handler}\",result=\"{result}\"}} {n}"
                );
            }
        }
    }
}

/// A handler's transport error or non-2xx answer, for [`HandlerError`].
pub(crate) fn error(handler: String, message: String) -> HandlerError {
    HandlerError::Http { handler, message }
}
