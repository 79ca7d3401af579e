//! The plan `drainscale check` prints: what would run (drain, windows, outlets, controllers with their
//! backends, policies, schedules and inputs), then the warnings. Credentials and URLs are
//! [`crate::secret::Secret`] and [`crate::secret::SecretUrl`], which print (and serialize) masked: nothing here
//! masks by hand, and nothing here can print a credential.

use super::{ErrorHandlerConfig, Layout, Loaded};
use crate::duration::format as dur;
use crate::scaler::backend::config::Describe;
use crate::scaler::controller_config::Resource;
use crate::scaler::schedule::Schedule;
use std::fmt::Write;

/// The plan as text.
pub fn render(loaded: &Loaded) -> String {
    let c = &loaded.config;
    let mut out = String::new();
    let layout = match loaded.layout {
        Layout::Native => "drainscale layout",
        Layout::Dynosaur => "Dynosaur layout",
    };
    let _ = writeln!(out, "{}: OK ({layout})", loaded.file);
    if c.scaler.dry_run {
        let _ = writeln!(
            out,
            "DRY RUN: decisions are logged (\"would change web from X to Y\"), nothing is written"
        );
    }
    match &c.drain {
        Some(d) => {
            let _ = writeln!(out, "drain: {}", json(d));
        }
        None => {
            let _ = writeln!(
                out,
                "drain: off (no `drain:` section): no listener, no /status or /ping"
            );
        }
    }
    let _ = writeln!(out, "windows: {}", json(&c.windows));
    let _ = writeln!(out, "{}", store_line(c));
    let _ = writeln!(out, "outlets: {}", json(&c.outlets));
    let s = &c.scaler;
    let key = match &s.api_key {
        Some(k) if !k.is_empty() => "set",
        _ => "not set",
    };
    let app = if s.app.is_empty() {
        "(none)"
    } else {
        s.app.as_str()
    };
    let _ = writeln!(
        out,
        "scaler: app {app}, API {} (key {key}), a pass every {}",
        s.api_url,
        dur(s.interval)
    );
    let mut sinks: Vec<String> = Vec::new();
    if s.stats.console {
        sinks.push("console".into());
    }
    if s.stats.outlets {
        if let Some(st) = &c.outlets.statsd {
            sinks.push(format!("statsd {}", st.address));
        }
        if let Some(l) = &c.outlets.librato {
            sinks.push(format!("Librato-format {} as {}", l.url, l.user));
        }
    }
    let _ = writeln!(
        out,
        "  stats: {}.{}.<controller>.<input>.{{value,max,estimate}} and .combined.{{estimate,actual}} -> {}",
        s.stats.prefix,
        if s.app.is_empty() { "<app>" } else { &s.app },
        if sinks.is_empty() { "nowhere".to_string() } else { sinks.join(", ") }
    );
    for h in s.all_success_handlers() {
        let _ = writeln!(out, "  success handler: {}", h.describe());
    }
    for h in &s.error_handlers {
        let _ = writeln!(out, "  error handler: {}", describe_handler(h));
    }
    for ctl in &c.controllers {
        match &ctl.resource {
            Resource::Dynos { process, size } => {
                let size = size.as_ref().map_or(String::new(), |s| {
                    format!(", size {s} (sent with every change)")
                });
                let _ = writeln!(
                    out,
                    "controller {}: process {process}, min {}, max {}{size}",
                    ctl.name, ctl.min, ctl.max
                );
            }
            Resource::Addon { addon, plans } => {
                let _ = writeln!(
                    out,
                    "controller {}: add-on {addon}, plan table {} ({}), min {}, max {}",
                    ctl.name,
                    plans.name,
                    plans.names().join(", "),
                    ctl.label(ctl.min),
                    ctl.label(ctl.max)
                );
            }
        }
        let backend = match (s.dry_run, &ctl.resource) {
            (false, Resource::Addon { addon, .. }) => format!(
                "Heroku add-on {}/apps/{app}/addons/{addon} (GET its plan, PATCH {{\"plan\": ...}})",
                s.api_url
            ),
            (false, Resource::Dynos { .. }) => ctl.backend.describe(&Describe {
                api_url: &s.api_url,
                app,
                process: ctl.process(),
            }),
            (true, _) if key == "set" && ctl.backend.uses_heroku_api() => {
                "dry run (reads the start from Heroku, never writes)".to_string()
            }
            (true, _) => format!(
                "dry run (assumes {} at start, never writes)",
                ctl.label(ctl.min)
            ),
        };
        let _ = writeln!(out, "  backend: {backend}");
        let _ = writeln!(out, "  policy: {}", ctl.policy.describe());
        for (i, sc) in ctl.schedules.iter().enumerate() {
            if let Ok(sched) = Schedule::from_config(sc, i) {
                let _ = writeln!(out, "  schedule {}", sched.describe());
            }
        }
        for input in &ctl.inputs {
            let fallback = input
                .fallback
                .map_or(String::new(), |f| format!(", fallback {f} in outage"));
            let _ = writeln!(
                out,
                "  input {} ({}): {}; every {}, max over {}, -> {}; outage after {}{fallback}",
                input.name,
                input.kind(),
                input.params.describe(),
                dur(input.interval),
                dur(input.hysteresis_period),
                input.conversion.describe(),
                dur(input.outage_after)
            );
        }
    }
    if loaded.warnings.is_empty() {
        let _ = writeln!(out, "no warnings");
    } else {
        let _ = writeln!(out, "warnings:");
        for w in &loaded.warnings {
            let _ = writeln!(out, "  - {w}");
        }
    }
    out
}

/// One `scaler.error_handlers` entry in words; the URL is masked, header values and the API key are not shown.
fn describe_handler(h: &ErrorHandlerConfig) -> String {
    let d = h.delivery();
    let delivery = format!(
        "same event at most every {}, timeout {}, queue {}",
        dur(d.repeat_after),
        dur(d.timeout),
        d.queue
    );
    format!("{}; {delivery}", h.params.describe())
}

/// A section as JSON: its secrets serialize as their masks.
/// `store: memory` or the Redis URL (masked) with the `shared:` settings in force.
pub fn store_line(c: &super::Config) -> String {
    match &c.store {
        None => "store: memory (this process only)".to_string(),
        Some(url) => format!(
            "store: {url} (shared windows, keys under {}), shared: {}",
            crate::shared::Keys::new(c.shared.tag(&c.scaler.app)).prefix(),
            json(&c.shared)
        ),
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("(cannot render: {e})"))
}
