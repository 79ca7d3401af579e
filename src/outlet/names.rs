//! Metric and source names as each backend accepts them.
//!
//! statsd: no `:`, `|`, `@`, `#`, `,` or whitespace (they are protocol separators). Librato: `[A-Za-z0-9.:_-]`,
//! at most 255 characters. Prometheus: `[a-zA-Z_][a-zA-Z0-9_]*` (no `:`, which is for recording rules, and a
//! `_` between a lower-case and an upper-case letter, as `promtool check metrics` wants snake_case). Anything
//! else becomes `_`. This file only rewrites names; it decides nothing about which metrics exist (the reserved
//! namespaces are decided once, at the flush: [`crate::window::flush::app_series_name`]).

use std::fmt::Write;

/// A statsd name segment (also used for sources put into names).
pub fn statsd(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_whitespace() || matches!(c, ':' | '|' | '@' | '#' | ',') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// A statsd tag value (DogStatsD: no `|`, `,`, `#` or whitespace; `:` is fine in values).
pub fn statsd_tag(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_whitespace() || matches!(c, '|' | ',' | '#') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// A Librato metric name or source.
pub fn librato(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(255)
        .collect()
}

/// A Prometheus metric family name.
pub fn prometheus(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    push_prometheus(&mut out, name);
    out
}

/// Appends `name` as a Prometheus name: `[a-zA-Z0-9_]` kept, anything else `_`, a `_` inserted where a lower-case
/// letter meets an upper-case one, and a leading `_` when `out` is empty and the name starts with a digit.
pub fn push_prometheus(out: &mut String, name: &str) {
    let mut prev_lower = out
        .chars()
        .next_back()
        .is_some_and(|c| c.is_ascii_lowercase());
    if out.is_empty() && name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            if prev_lower && c.is_ascii_uppercase() {
                out.push('_');
            }
            out.push(c);
        } else {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase();
    }
}

/// A Prometheus label value, escaped for the inside of double quotes.
pub fn prometheus_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_prometheus_label(&mut out, value);
    out
}

/// Appends `value` escaped for the inside of a label value's double quotes (`\\`, `\"`, `\n`).
pub fn push_prometheus_label(out: &mut String, value: &str) {
    let mut rest = value;
    while let Some(i) = rest.find(['\\', '"', '\n']) {
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

/// Appends a sample value as Prometheus parses it: `NaN`, `+Inf`, `-Inf`, integers and ordinary magnitudes in
/// decimal, very large or small magnitudes in exponent form (never hundreds of digits).
pub fn push_prometheus_number(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v == 0.0 || (1e-6..1e15).contains(&v.abs()) {
        let _ = write!(out, "{v}");
    } else {
        let _ = write!(out, "{v:e}");
    }
}

/// Joins a prefix and a name with `sep`, skipping an empty prefix.
pub fn prefixed(prefix: &str, sep: char, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}{sep}{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_what_each_backend_refuses() {
        assert_eq!(statsd("db query:x|y"), "db_query_x_y");
        assert_eq!(statsd_tag("web.1:a b"), "web.1:a_b");
        assert_eq!(librato("memory/rss ü"), "memory_rss__");
        assert_eq!(librato(&"x".repeat(300)).len(), 255);
        assert_eq!(prometheus("db.query-time"), "db_query_time");
        assert_eq!(prometheus("5xx"), "_5xx");
        assert_eq!(prometheus("a:b"), "a_b");
        assert_eq!(prometheus("memoryRss.HTTP"), "memory_Rss_HTTP");
        assert_eq!(prometheus("router.error.H12"), "router_error_H12");
        assert_eq!(prometheus("ü"), "_");
        let mut out = String::from("ds_");
        push_prometheus(&mut out, "5xx");
        assert_eq!(out, "ds_5xx");
        assert_eq!(prometheus_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(prometheus_label("plain"), "plain");
        for (v, want) in [
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (0.0, "0"),
            (21.5, "21.5"),
            (-3.0, "-3"),
            (1e300, "1e300"),
            (1e-300, "1e-300"),
            (f64::MAX, "1.7976931348623157e308"),
        ] {
            let mut out = String::new();
            push_prometheus_number(&mut out, v);
            assert_eq!(out, want);
            if !v.is_nan() {
                assert_eq!(out.replace("Inf", "inf").parse::<f64>().unwrap(), v);
            }
        }
        assert_eq!(prefixed("", '.', "x"), "x");
        assert_eq!(prefixed("p", '_', "x"), "p_x");
    }
}
