//! Metric and source names as each backend accepts them.
//!
//! statsd: no `:`, `|`, `@`, `#`, `,` or whitespace (they are protocol separators). Librato: `[A-Za-z0-9.:_-]`,
//! at most 255 characters. Prometheus: `[a-zA-Z_:][a-zA-Z0-9_:]*`. Anything else becomes `_`. This file only
//! rewrites names; it decides nothing about which metrics exist.

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
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.chars().next().map_or(true, |c| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A Prometheus label value, escaped for the inside of double quotes.
pub fn prometheus_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
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
        assert_eq!(prometheus_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(prefixed("", '.', "x"), "x");
        assert_eq!(prefixed("p", '_', "x"), "p_x");
    }
}
