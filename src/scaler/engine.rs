//! The scaler loop: every controller runs in its own task at the scaler's `interval` (slowed down when a
//! backend asks, e.g. a low Heroku rate limit). A failing or panicking pass of one controller never stops the
//! others; it is logged and the next pass runs as usual. Shutdown stops every loop at once, even mid-pass.
//! After each pass the stats reporters, the status page, the success handlers and the error handlers hear
//! about it.

use super::clock::Clock;
use super::controller::{Controller, PassReport};
use super::handlers::Notifier;
use super::report::StatsReporter;
use super::status::ScalerStatus;
use super::success::{SuccessHandler, Switch};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The running scaler.
pub struct Scaler {
    controllers: Vec<Controller>,
    clock: Arc<dyn Clock>,
    reporters: Vec<Arc<dyn StatsReporter>>,
    status: Arc<ScalerStatus>,
    interval: Duration,
    success: Option<Arc<Switch>>,
    notifier: Option<Arc<Notifier>>,
}

impl Scaler {
    pub fn new(
        controllers: Vec<Controller>,
        clock: Arc<dyn Clock>,
        reporters: Vec<Arc<dyn StatsReporter>>,
        interval: Duration,
        dry_run: bool,
    ) -> Self {
        let names: Vec<(String, Vec<String>)> = controllers
            .iter()
            .map(|c| (c.name.clone(), c.input_names()))
            .collect();
        Scaler {
            controllers,
            clock,
            reporters,
            status: Arc::new(ScalerStatus::new(dry_run, &names).with_interval(interval)),
            interval,
            success: None,
            notifier: None,
        }
    }

    /// Reports pass errors, panics and input health changes to the error handlers (sent from their own tasks).
    pub fn with_error_handlers(mut self, notifier: Arc<Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Tells `handlers` after passes in which no controller had an error, each at most once per its interval.
    pub fn with_success_handlers(mut self, handlers: Vec<Arc<dyn SuccessHandler>>) -> Self {
        let names = self.controllers.iter().map(|c| c.name.clone()).collect();
        self.success = Some(Arc::new(Switch::new(handlers, names)));
        self
    }

    /// The success handlers, if any: keep it to read their counters ([`Switch::stats`]).
    pub fn success_handlers(&self) -> Option<Arc<Switch>> {
        self.success.clone()
    }

    /// The error handlers, if any: keep it to read their counters ([`Notifier::stats`]: sent, failed,
    /// deduplicated, dropped) after [`Scaler::run_until`] took the scaler.
    pub fn error_handlers(&self) -> Option<Arc<Notifier>> {
        self.notifier.clone()
    }

    /// Adds a stats reporter (e.g. a Librato-format adapter).
    pub fn add_reporter(&mut self, reporter: Arc<dyn StatsReporter>) {
        self.reporters.push(reporter);
    }

    /// The status page (`/status`, `/ping`): hand it to the drain.
    pub fn status(&self) -> Arc<ScalerStatus> {
        self.status.clone()
    }

    /// Runs one pass of every controller, one after the other, and returns their reports (for tests and
    /// one-shot tools; [`Scaler::run_until`] is the real loop).
    pub async fn pass_once(&mut self) -> Vec<PassReport> {
        let mut out = Vec::new();
        for c in &mut self.controllers {
            let report = c.pass(self.clock.tick()).await;
            after_pass(
                &report,
                &self.reporters,
                &self.status,
                self.success.as_deref(),
                self.notifier.as_deref(),
            );
            out.push(report);
        }
        out
    }

    /// Runs every controller until `shutdown` resolves; returns once all controller tasks have stopped.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let reporters = Arc::new(self.reporters);
        let mut tasks = Vec::new();
        for controller in self.controllers {
            let lane = Lane {
                controller: Arc::new(tokio::sync::Mutex::new(controller)),
                clock: self.clock.clone(),
                reporters: reporters.clone(),
                status: self.status.clone(),
                interval: self.interval,
                success: self.success.clone(),
                notifier: self.notifier.clone(),
            };
            tasks.push(tokio::spawn(lane.run(stop_rx.clone())));
        }
        shutdown.await;
        let _ = stop_tx.send(true);
        for task in tasks {
            if let Err(e) = task.await {
                tracing::error!("a controller task ended abnormally: {e}");
            }
        }
    }
}

/// One controller's loop.
struct Lane {
    controller: Arc<tokio::sync::Mutex<Controller>>,
    clock: Arc<dyn Clock>,
    reporters: Arc<Vec<Arc<dyn StatsReporter>>>,
    status: Arc<ScalerStatus>,
    interval: Duration,
    success: Option<Arc<Switch>>,
    notifier: Option<Arc<Notifier>>,
}

impl Lane {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let name = self.controller.lock().await.name.clone();
        loop {
            // Each pass runs in its own task so a panic ends that pass only.
            let controller = self.controller.clone();
            let clock = self.clock.clone();
            let mut pass = tokio::spawn(async move {
                let mut c = controller.lock().await;
                let report = c.pass(clock.tick()).await;
                (report, c.backend().pace())
            });
            let mut wait = self.interval;
            // Shutdown does not wait for a pass stuck on a slow API: the pass is dropped (a write in flight may
            // or may not land; the next start reads the formation afresh).
            let outcome = tokio::select! {
                outcome = &mut pass => outcome,
                _ = stop.changed() => {
                    pass.abort();
                    return;
                }
            };
            match outcome {
                Ok((report, pace)) => {
                    after_pass(
                        &report,
                        &self.reporters,
                        &self.status,
                        self.success.as_deref(),
                        self.notifier.as_deref(),
                    );
                    if let Some(p) = pace.filter(|p| *p > wait) {
                        tracing::warn!(controller = %name, "the backend asks to slow down: next pass in {}s", p.as_secs());
                        wait = p;
                    }
                }
                Err(e) => {
                    tracing::error!(controller = %name, "pass failed: {e}");
                    self.status
                        .fail(&name, &format!("the last pass failed: {e}"));
                    if let Some(n) = &self.notifier {
                        n.pass_failed(
                            &name,
                            &format!("the pass failed: {e}"),
                            self.clock.tick().wall,
                        );
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}

fn after_pass(
    report: &PassReport,
    reporters: &[Arc<dyn StatsReporter>],
    status: &ScalerStatus,
    success: Option<&Switch>,
    notifier: Option<&Notifier>,
) {
    match &report.error {
        Some(err) if report.error_repeated => {
            tracing::debug!(controller = %report.controller, "still refused, not sent again: {err}")
        }
        Some(err) => tracing::error!(controller = %report.controller, "{err}"),
        None => {}
    }
    let details: Vec<String> = report
        .inputs
        .iter()
        .map(|i| {
            format!(
                "{}: {} -> {}",
                i.name,
                fmt_opt(i.value),
                i.estimate.map_or("-".into(), |e| e.to_string())
            )
        })
        .collect();
    tracing::debug!(
        controller = %report.controller,
        "[combined: {}] {}; {}",
        report.estimate.map_or("-".into(), |e| e.to_string()),
        details.join("; "),
        report.reason
    );
    for r in reporters {
        r.report(report);
    }
    status.update(report);
    if let Some(s) = success {
        s.after_pass(&report.controller, report.error.is_none(), report.at);
    }
    if let Some(n) = notifier {
        n.after_pass(report);
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}
