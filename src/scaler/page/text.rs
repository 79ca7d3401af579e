//! Text for the status page: HTML escaping (every string from the config, an input or an API goes through
//! [`escape`]), numbers, times and ages in words.

/// Escapes `& < > " '` for HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A value with at most two decimals, trailing zeros dropped: `1830`, `0.25`, `12.5`.
pub fn number(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// A pass's RFC 3339 time as a `<time>` element: `18:25:44 UTC` shown, the full time in `datetime`.
pub fn clock(rfc3339: &str) -> String {
    let shown = match rfc3339.parse::<jiff::Timestamp>() {
        Ok(t) => t.strftime("%H:%M:%S UTC").to_string(),
        Err(_) => escape(rfc3339),
    };
    format!("<time datetime=\"{}\">{shown}</time>", escape(rfc3339))
}

/// An age: `3.2 s`, `4 min 5 s`, `2 h 10 min`.
pub fn age(seconds: f64) -> String {
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let s = seconds.round() as u64;
    if s < 3600 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{} h {} min", s / 3600, s % 3600 / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn numbers_and_ages_read_well() {
        assert_eq!(number(1830.0), "1830");
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(0.254), "0.25");
        assert_eq!(number(-0.001), "0");
        assert_eq!(age(3.21), "3.2 s");
        assert_eq!(age(245.0), "4 min 5 s");
        assert_eq!(age(7800.0), "2 h 10 min");
        assert_eq!(
            clock("2026-11-23T14:00:05.25Z"),
            "<time datetime=\"2026-11-23T14:00:05.25Z\">14:00:05 UTC</time>"
        );
    }
}
