//! The status page's HTML, built from the same JSON document `/status` serves (so the two always agree) and
//! each controller's [`Track`]: a DRY RUN banner, then per controller the dynos and estimate, bounds and the
//! schedule in force, the last change and why, each input's value, estimate, age and health, and the chart.
//! No script: the page reloads itself every `refresh` seconds.

use super::chart;
use super::text::{age, clock, escape, number};
use crate::scaler::history::Track;
use serde_json::Value;
use std::collections::BTreeMap;

const STYLE: &str = include_str!("style.css");

/// The whole page.
pub fn page(status: &Value, tracks: &BTreeMap<String, Track>, refresh_seconds: u64) -> String {
    let mut out = String::with_capacity(16 << 10);
    out.push_str(&format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta http-equiv=\"refresh\" content=\"{refresh_seconds}\"><title>drainscale status</title>\
<style>{STYLE}</style></head><body><header><h1>drainscale</h1>\
<p class=\"muted\">Refreshes every {refresh_seconds} s. Also as JSON: <a href=\"/status\">/status</a>, \
<a href=\"/ping\">/ping</a>.</p></header><main>"
    ));
    if status["dry_run"].as_bool() == Some(true) {
        out.push_str(
            "<div class=\"banner\" id=\"dry-run\" role=\"status\"><strong>DRY RUN</strong>: \
changes are logged as “would change”, never sent.</div>",
        );
    }
    let empty = Vec::new();
    let controllers = status["controllers"].as_array().unwrap_or(&empty);
    for c in controllers {
        let name = c["name"].as_str().unwrap_or("");
        let track = tracks.get(name).cloned().unwrap_or_default();
        controller(&mut out, c, &track);
    }
    out.push_str("</main></body></html>\n");
    out
}

fn controller(out: &mut String, c: &Value, track: &Track) {
    let name = escape(c["name"].as_str().unwrap_or(""));
    out.push_str(&format!(
        "<section class=\"controller\" data-controller=\"{name}\"><h2>{name}"
    ));
    if let Some(p) = c["process"].as_str() {
        let size = c["size"]
            .as_str()
            .map(|s| format!(", {}", escape(s)))
            .unwrap_or_default();
        out.push_str(&format!(" <small>process {}{size}</small>", escape(p)));
    }
    out.push_str("</h2>");
    if let Some(e) = c["error"].as_str() {
        out.push_str(&format!(
            "<p class=\"error\" data-field=\"error\">{}</p>",
            escape(e)
        ));
    }
    if c["pending"].as_bool() == Some(true) {
        out.push_str("<p class=\"muted\">Waiting for the first pass.</p></section>");
        return;
    }
    out.push_str("<dl class=\"figures\">");
    figure(out, "current", "dynos", count(c, "current", "plan"));
    figure(
        out,
        "estimate",
        "estimate",
        count(c, "estimate", "estimate_plan"),
    );
    let bounds = format!(
        "{}–{}",
        count(c, "min", "min_plan"),
        count(c, "max", "max_plan")
    );
    figure(out, "bounds", "bounds", bounds);
    let schedule = match c["schedule"].as_str() {
        Some(s) => escape(s),
        None => "none".to_string(),
    };
    figure(out, "schedule", "schedule in force", schedule);
    out.push_str("</dl>");
    out.push_str(&format!(
        "<p class=\"reason\"><span class=\"muted\">Last pass</span> <span data-field=\"at\">{}</span>: \
<span data-field=\"reason\">{}</span></p>",
        clock(c["at"].as_str().unwrap_or("")),
        text(&c["reason"])
    ));
    match c["last_change"].as_object() {
        Some(ch) => out.push_str(&format!(
            "<p class=\"change\" data-field=\"last_change\"><span class=\"muted\">Last change</span> \
{}: <span data-field=\"change_from\">{}</span> → <span data-field=\"change_to\">{}</span>, \
{}</p>",
            clock(ch["at"].as_str().unwrap_or("")),
            plan_or_count(&ch["from_plan"], &ch["from"]),
            plan_or_count(&ch["to_plan"], &ch["to"]),
            text(&ch["reason"])
        )),
        None => out.push_str(
            "<p class=\"change muted\" data-field=\"last_change\">No change since the scaler started.</p>",
        ),
    }
    inputs(out, c["inputs"].as_array().map_or(&[][..], |v| &v[..]));
    out.push_str(&chart::figure(track));
    out.push_str("</section>");
}

fn figure(out: &mut String, field: &str, label: &str, value: String) {
    out.push_str(&format!(
        "<div><dt>{label}</dt><dd data-field=\"{field}\">{value}</dd></div>"
    ));
}

/// A count, or an add-on controller's plan name with its position.
fn count(c: &Value, field: &str, plan: &str) -> String {
    plan_or_count(&c[plan], &c[field])
}

fn plan_or_count(plan: &Value, n: &Value) -> String {
    match (plan.as_str(), n.as_u64()) {
        (Some(p), _) => escape(p),
        (None, Some(n)) => n.to_string(),
        (None, None) => "–".to_string(),
    }
}

fn inputs(out: &mut String, inputs: &[Value]) {
    out.push_str(
        "<div class=\"scroll\"><table class=\"inputs\"><thead><tr><th>input</th><th>value</th>\
<th>estimate</th><th>age</th><th>health</th></tr></thead><tbody>",
    );
    for i in inputs {
        let health = i["health"].as_str().unwrap_or("");
        let value = match i["value"].as_f64() {
            Some(v) => format!(
                "{} <span class=\"muted\">{}</span>",
                number(v),
                text(&i["unit"])
            ),
            None => "–".to_string(),
        };
        let estimate = match i["estimate"].as_u64() {
            Some(e) if i["fallback_used"].as_bool() == Some(true) => format!("{e} (fallback)"),
            Some(e) => e.to_string(),
            None => "–".to_string(),
        };
        let (age_text, seconds) = match i["age_seconds"].as_f64() {
            Some(s) => (age(s), format!("{s:.3}")),
            None => ("never read".to_string(), String::new()),
        };
        let error = i["last_error"]
            .as_str()
            .map(|e| format!("<div class=\"error\">{}</div>", escape(e)))
            .unwrap_or_default();
        out.push_str(&format!(
            "<tr data-input=\"{name}\"><th scope=\"row\">{name}<div class=\"muted reads\">{reads}</div>{error}</th>\
<td data-label=\"value\" data-field=\"value\">{value}</td><td data-label=\"estimate\" data-field=\"estimate\">{estimate}</td>\
<td data-label=\"age\" data-field=\"age\" data-seconds=\"{seconds}\">{age_text}</td>\
<td data-label=\"health\" data-field=\"health\"><span class=\"health health-{class}\">{health_text}</span></td></tr>",
            name = text(&i["name"]),
            reads = text(&i["reads"]),
            class = escape(&health.to_ascii_lowercase()),
            health_text = escape(health),
        ));
    }
    out.push_str("</tbody></table></div>");
}

/// A JSON string, escaped (empty for anything else).
fn text(v: &Value) -> String {
    escape(v.as_str().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_from_inputs_and_apis_are_escaped() {
        let status = json!({"dry_run": false, "controllers": [{
            "name": "web<1>", "process": "web", "at": "2026-11-23T14:00:05Z", "current": 2, "estimate": 3,
            "min": 1, "max": 4, "schedule": "\"peak\"", "reason": "<script>alert(1)</script>",
            "error": "GET /apps/a&b failed", "last_change": null,
            "inputs": [{"name": "rpm", "unit": "<b>", "reads": "x'y", "value": 1.5, "estimate": 2,
                        "age_seconds": 1.0, "health": "OK", "last_error": "<i>", "fallback_used": false}]}]});
        let page = page(&status, &BTreeMap::new(), 5);
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("data-controller=\"web&lt;1&gt;\""));
        assert!(page.contains("&quot;peak&quot;"));
        assert!(page.contains("a&amp;b"));
        assert!(
            page.contains("&lt;b&gt;") && page.contains("x&#39;y") && page.contains("&lt;i&gt;")
        );
        assert!(!page.contains("DRY RUN"));
    }

    #[test]
    fn a_controller_before_its_first_pass_says_so() {
        let status = json!({"dry_run": true, "controllers": [{"name": "web", "pending": true}]});
        let page = page(&status, &BTreeMap::new(), 5);
        assert!(page.contains("Waiting for the first pass."));
        assert!(page.contains("id=\"dry-run\""));
    }
}
