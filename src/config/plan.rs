//! The plan `drainscale check` prints: what would run (drain, windows, outlets, controllers with their
//! backends, policies, schedules and inputs), then the warnings. Secrets are masked.

use super::{BackendConfig, ErrorHandlerConfig, Layout, Loaded};
use crate::config::duration::format as dur;
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
            let _ = writeln!(out, "drain: {}", masked_json(d));
        }
        None => {
            let _ = writeln!(
                out,
                "drain: off (no `drain:` section): no listener, no /status or /ping"
            );
        }
    }
    let _ = writeln!(out, "windows: {}", masked_json(&c.windows));
    let _ = writeln!(out, "outlets: {}", masked_json(&c.outlets));
    let s = &c.scaler;
    let key = match s.api_key.as_deref() {
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
            sinks.push(format!(
                "Librato-format {} as {}.<app>...",
                mask_url(&l.url),
                l.prefix
            ));
        }
    }
    let _ = writeln!(
        out,
        "  stats: {}.{}.<controller>.<input>.{{value,max,estimate}} and .combined.{{estimate,actual}} -> {}",
        s.stats.prefix,
        if s.app.is_empty() { "<app>" } else { &s.app },
        if sinks.is_empty() { "nowhere".to_string() } else { sinks.join(", ") }
    );
    if let Some(d) = &s.dead_mans_switch {
        let _ = writeln!(
            out,
            "  dead man's switch: GET {} at most every {}",
            mask_url(&d.url),
            dur(d.interval)
        );
    }
    for h in &s.error_handlers {
        let _ = writeln!(out, "  error handler: {}", describe_handler(h));
    }
    for ctl in &c.controllers {
        let _ = writeln!(
            out,
            "controller {}: process {}, min {}, max {}",
            ctl.name,
            ctl.process(),
            ctl.min,
            ctl.max
        );
        let backend = match (&ctl.backend, s.dry_run) {
            (BackendConfig::Heroku, false) => format!(
                "Heroku formation {}/apps/{app}/formation/{}",
                s.api_url,
                ctl.process()
            ),
            (BackendConfig::File(p), false) => format!("formation file {}", p.display()),
            (_, true) if key == "set" && matches!(ctl.backend, BackendConfig::Heroku) => {
                "dry run (reads the start count from Heroku, never writes)".to_string()
            }
            (_, true) => format!("dry run (assumes {} at start, never writes)", ctl.min),
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

/// One `scaler.error_handlers` entry in words; the API key and every header value are masked.
fn describe_handler(h: &ErrorHandlerConfig) -> String {
    let d = h.delivery();
    let delivery = format!(
        "same event at most every {}, timeout {}, queue {}",
        dur(d.repeat_after),
        dur(d.timeout),
        d.queue
    );
    match h {
        ErrorHandlerConfig::Webhook { url, headers, .. } => {
            let headers: Vec<String> = headers.keys().map(|k| format!("{k}: ***")).collect();
            let headers = if headers.is_empty() {
                String::new()
            } else {
                format!(" with {}", headers.join(", "))
            };
            // A query string often carries a token: keep its presence, not its content.
            let shown = match url.split_once('?') {
                Some((base, _)) => format!("{}?***", mask_url(base)),
                None => mask_url(url),
            };
            format!("webhook POST {shown}{headers}; {delivery}")
        }
        ErrorHandlerConfig::Bugsnag {
            api_key,
            endpoint,
            release_stage,
            ..
        } => {
            let key = if api_key.is_empty() { "empty" } else { "***" };
            let stage = release_stage
                .as_deref()
                .map_or(String::new(), |s| format!(", release stage {s}"));
            format!(
                "bugsnag {} (api key {key}{stage}); {delivery}",
                mask_url(endpoint)
            )
        }
    }
}

/// JSON of a section with secret-looking values replaced.
fn masked_json<T: serde::Serialize>(value: &T) -> String {
    let mut v = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    mask(&mut v);
    v.to_string()
}

fn mask(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                let k = k.to_ascii_lowercase();
                let secret = ["password", "secret", "token", "key", "credential"]
                    .iter()
                    .any(|s| k.contains(s));
                if secret {
                    hide(val);
                } else if k.contains("url") {
                    if let serde_json::Value::String(s) = val {
                        *s = mask_url(s);
                    }
                } else {
                    mask(val);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask),
        _ => {}
    }
}

/// Replaces secret strings (also inside lists) with `***`, keeping empty ones visible as empty.
fn hide(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => *s = "***".into(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(hide),
        serde_json::Value::Object(_) => mask(v),
        serde_json::Value::Number(_) | serde_json::Value::Bool(_) => *v = "***".into(),
        _ => {}
    }
}

/// `https://user:pass@host/x` -> `https://user:***@host/x`.
fn mask_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
