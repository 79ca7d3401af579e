//! Environment interpolation, line by line so YAML line numbers stay the same:
//!
//! - `${VAR}`: the variable; an error naming it (and the line) when it is not set.
//! - `${VAR:-default}`: the variable, or `default` when it is unset or empty.
//! - `$${` writes a literal `${`.
//! - Dynosaur's ERB forms: `<%= ENV['VAR'] %>` (empty when unset, as ERB renders nil, with a warning) and
//!   `<%= ENV.fetch('VAR', default) %>` / `<%= ENV.fetch('VAR') %>` (an error when unset without default).
//!   Trailing `.to_i` / `.to_s` / `.to_f` and `.gsub("a", "b")` (string literals, as Dynosaur's sample uses to
//!   flatten PEM keys) are applied; any other Ruby is an error naming the expression.
//!
//! Comment lines (first non-blank character `#`) are copied as they are. Values may not contain newlines.
//! Time is linear in the text: each line is read once, up to each reference and past it.

/// An interpolation failure, with the 1-based line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct InterpolateError {
    pub line: usize,
    pub message: String,
}

/// The text with every reference replaced, and warnings (ERB variables that were unset).
pub fn interpolate(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Vec<String>), InterpolateError> {
    let mut out = String::with_capacity(text.len());
    let mut warnings = Vec::new();
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = i + 1;
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        let fail = |message: String| InterpolateError { line: n, message };
        let mut rest = line;
        while let Some(pos) = next_marker(rest) {
            out.push_str(&rest[..pos]);
            rest = &rest[pos..];
            if let Some(after) = rest.strip_prefix("$${") {
                out.push_str("${");
                rest = after;
            } else if let Some(after) = rest.strip_prefix("${") {
                let end = after
                    .find('}')
                    .ok_or_else(|| fail("`${` without a closing `}`".into()))?;
                let value = shell(&after[..end], env).map_err(fail)?;
                push_value(&mut out, &value, &after[..end]).map_err(fail)?;
                rest = &after[end + 1..];
            } else if let Some(after) = rest.strip_prefix("<%=") {
                let end = after
                    .find("%>")
                    .ok_or_else(|| fail("`<%=` without a closing `%>`".into()))?;
                let expr = after[..end].trim();
                let (value, warning) = erb(expr, env).map_err(fail)?;
                if let Some(w) = warning {
                    warnings.push(format!("line {n}: {w}"));
                }
                push_value(&mut out, &value, expr).map_err(fail)?;
                rest = &after[end + 2..];
            } else {
                // `<%` without `=`: a Ruby statement, which YAML would not understand either.
                return Err(fail(
                    "only `<%= ENV[...] %>` and `<%= ENV.fetch(...) %>` ERB forms are supported"
                        .into(),
                ));
            }
        }
        out.push_str(rest);
    }
    Ok((out, warnings))
}

/// Where the next reference (`$${`, `${` or `<%`) starts in `s`. It reads `s` only up to that reference, which
/// the caller then consumes, so a line costs one pass however many references it holds.
fn next_marker(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(off) = memchr::memchr2(b'$', b'<', &bytes[from..]) {
        let at = from + off;
        let rest = &bytes[at..];
        if rest.starts_with(b"${") || rest.starts_with(b"$${") || rest.starts_with(b"<%") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn push_value(out: &mut String, value: &str, expr: &str) -> Result<(), String> {
    if value.contains('\n') {
        return Err(format!(
            "the value of {expr} contains a newline, which would break the file's lines"
        ));
    }
    out.push_str(value);
    Ok(())
}

fn shell(inner: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let (name, default) = match inner.split_once(":-") {
        Some((n, d)) => (n.trim(), Some(d)),
        None => (inner.trim(), None),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`${{{inner}}}` is not a variable reference (use ${{VAR}} or ${{VAR:-default}})"
        ));
    }
    match (env(name), default) {
        (Some(v), Some(d)) if v.is_empty() => Ok(d.to_string()),
        (Some(v), _) => Ok(v),
        (None, Some(d)) => Ok(d.to_string()),
        (None, None) => Err(format!(
            "environment variable {name} is not set (write ${{{name}:-default}} for a default)"
        )),
    }
}

fn erb(
    expr: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Option<String>), String> {
    let unsupported = || {
        format!("unsupported ERB expression `{expr}` (supported: ENV['VAR'], ENV.fetch('VAR', default))")
    };
    // Inside a double-quoted YAML scalar, Dynosaur's sample escapes the expression's own quotes for YAML
    // (`"<%= ENV.fetch('K', '').gsub(\"\n\", \"|\") %>"`): read them as quotes.
    let unescaped = expr.replace("\\\"", "\"");
    // Trailing methods, outermost first: `.to_i`, `.to_s`, `.to_f` (no-ops here) and `.gsub("a", "b")`.
    let mut body = unescaped.as_str();
    let mut gsubs = Vec::new();
    loop {
        if let Some(b) = [".to_i", ".to_s", ".to_f"]
            .iter()
            .find_map(|suf| body.strip_suffix(suf))
        {
            body = b;
        } else if let Some(at) = body.rfind(".gsub(").filter(|_| body.ends_with(')')) {
            let (from, to) = split_args(&body[at + 6..body.len() - 1]).ok_or_else(unsupported)?;
            gsubs.push((
                ruby_string(from).ok_or_else(unsupported)?,
                ruby_string(to).ok_or_else(unsupported)?,
            ));
            body = &body[..at];
        } else {
            break;
        }
    }
    let (value, warning) = erb_env(body, expr, env).map_err(|e| e.unwrap_or_else(unsupported))?;
    let value = gsubs.iter().rev().fold(value, |v, (from, to)| {
        if from.is_empty() {
            v
        } else {
            v.replace(from, to)
        }
    });
    Ok((value, warning))
}

/// `ENV['X']` or `ENV.fetch('X'[, default])`; `Err(None)` when it is neither.
fn erb_env(
    body: &str,
    expr: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Option<String>), Option<String>> {
    let unsupported = || None;
    if let Some(inner) = body.strip_prefix("ENV[").and_then(|r| r.strip_suffix(']')) {
        let name = ruby_string(inner).ok_or_else(unsupported)?;
        return Ok(match env(&name) {
            Some(v) => (v, None),
            None => (
                String::new(),
                Some(format!(
                    "{name} is not set: `{expr}` renders empty, as in Dynosaur"
                )),
            ),
        });
    }
    if let Some(inner) = body
        .strip_prefix("ENV.fetch(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let (name, default) = match split_args(inner) {
            Some((a, b)) => (a, Some(b)),
            None => (inner, None),
        };
        let name = ruby_string(name).ok_or_else(unsupported)?;
        return match (env(&name), default) {
            (Some(v), _) => Ok((v, None)),
            (None, Some(d)) => Ok((ruby_literal(d).ok_or_else(unsupported)?, None)),
            (None, None) => Err(Some(format!(
                "environment variable {name} is not set (`{expr}` has no default)"
            ))),
        };
    }
    Err(None)
}

/// Splits `'A', 2` at the top-level comma.
fn split_args(s: &str) -> Option<(&str, &str)> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ',') => return Some((s[..i].trim(), s[i + 1..].trim())),
            _ => {}
        }
    }
    None
}

fn ruby_string(s: &str) -> Option<String> {
    let s = s.trim();
    let q = s.chars().next()?;
    if !((q == '\'' || q == '"') && s.len() >= 2 && s.ends_with(q)) {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match (q, chars.next()) {
            ('"', Some('n')) => out.push('\n'),
            ('"', Some('t')) => out.push('\t'),
            (_, Some(c @ ('\\' | '\'' | '"'))) => out.push(c),
            (_, Some(c)) => {
                out.push('\\');
                out.push(c);
            }
            (_, None) => out.push('\\'),
        }
    }
    Some(out)
}

fn ruby_literal(s: &str) -> Option<String> {
    let s = s.trim();
    if let Some(v) = ruby_string(s) {
        return Some(v);
    }
    if s == "nil" {
        return Some(String::new());
    }
    if s == "true" || s == "false" || s.parse::<f64>().is_ok() {
        return Some(s.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "APP" => Some("shop".into()),
            "EMPTY" => Some(String::new()),
            "PORT" => Some("5000".into()),
            "MULTI" => Some("a\nb".into()),
            _ => None,
        }
    }

    fn run(text: &str) -> Result<String, InterpolateError> {
        interpolate(text, &env).map(|(t, _)| t)
    }

    #[test]
    fn shell_forms() {
        assert_eq!(run("app: ${APP}\n").unwrap(), "app: shop\n");
        assert_eq!(
            run("listen: 0.0.0.0:${PORT:-8080}\n").unwrap(),
            "listen: 0.0.0.0:5000\n"
        );
        assert_eq!(
            run("listen: 0.0.0.0:${NOPE:-8080}\n").unwrap(),
            "listen: 0.0.0.0:8080\n"
        );
        assert_eq!(run("x: ${EMPTY:-d}\n").unwrap(), "x: d\n");
        assert_eq!(run("x: ${EMPTY}\n").unwrap(), "x: \n");
        assert_eq!(run("x: $${APP}\n").unwrap(), "x: ${APP}\n");
        assert_eq!(run("a: ${APP}-${PORT}\n").unwrap(), "a: shop-5000\n");
    }

    #[test]
    fn unset_without_default_names_the_variable_and_line() {
        let e = run("a: 1\nb: ${API_KEY}\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("API_KEY"), "{e}");
        assert_eq!(run("a: ${oops\n").unwrap_err().line, 1);
        assert!(run("a: ${A B}\n").is_err());
    }

    #[test]
    fn erb_forms() {
        assert_eq!(run("a: <%= ENV['APP'] %>\n").unwrap(), "a: shop\n");
        assert_eq!(run("a: <%= ENV[\"APP\"] %>\n").unwrap(), "a: shop\n");
        assert_eq!(
            run("min: <%= ENV.fetch('MIN_WEB_DYNOS', 2) %>\n").unwrap(),
            "min: 2\n"
        );
        assert_eq!(
            run("min: <%= ENV.fetch('PORT', 2).to_i %>\n").unwrap(),
            "min: 5000\n"
        );
        assert_eq!(
            run("k: <%= ENV.fetch(\"X\", 'a, b') %>\n").unwrap(),
            "k: a, b\n"
        );
        let (text, warnings) = interpolate("k: <%= ENV['UNSET'] %>\n", &env).unwrap();
        assert_eq!(text, "k: \n");
        assert!(warnings[0].contains("UNSET"));
        assert!(run("k: <%= ENV.fetch('UNSET') %>\n")
            .unwrap_err()
            .message
            .contains("UNSET"));
        // Dynosaur's sample flattens PEM keys with gsub.
        assert_eq!(
            run("k: <%= ENV.fetch('MULTI', \"\").gsub(\"\\n\", \"|\") %>\n").unwrap(),
            "k: a|b\n"
        );
        assert_eq!(
            run("k: <%= ENV.fetch('NONE', \"\").gsub(\"\\n\", \"|\") %>\n").unwrap(),
            "k: \n"
        );
        assert_eq!(
            run("k: <%= ENV['APP'].gsub('o', '0').gsub('s', '5') %>\n").unwrap(),
            "k: 5h0p\n"
        );
        // ... and inside a double-quoted scalar, with its quotes escaped for YAML (its Cronut key).
        assert_eq!(
            run("k: \"<%= ENV.fetch('MULTI', '').gsub(\\\"\\n\\\", \\\"|\\\") %>\"\n").unwrap(),
            "k: \"a|b\"\n"
        );
        let e = run("\n\nk: <%= ENV.fetch('X', '').strip %>\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("strip"), "{e}");
    }

    #[test]
    fn comments_are_left_alone_and_lines_are_kept() {
        let text = "# key: ${NOT_SET}\na: 1\n  #  b: <%= ENV['X'].gsub(1) %>\nc: ${APP}";
        let out = run(text).unwrap();
        assert_eq!(out.lines().count(), text.lines().count());
        assert!(out.ends_with("c: shop"));
    }

    /// 1 MB lines of references come out whole: shell forms only (nothing ERB-like to find ahead), ERB only, and
    /// one reference that fails at the end. The scan for the next reference starts where the last one ended, so
    /// this takes time linear in the line.
    #[test]
    fn one_megabyte_lines_interpolate() {
        let shell = "${APP}/${NOPE:-d}/$${x}|";
        let erb = "<%= ENV['PORT'] %>|";
        let (ns, ne) = ((1 << 20) / shell.len(), (1 << 20) / erb.len());
        let text = format!(
            "a: 1\nk: {}\nj: {}\nb: ${{PORT}}",
            shell.repeat(ns),
            erb.repeat(ne)
        );
        let want = format!(
            "a: 1\nk: {}\nj: {}\nb: 5000",
            "shop/d/${x}|".repeat(ns),
            "5000|".repeat(ne)
        );
        assert_eq!(run(&text).unwrap(), want);
        let e = run(&format!("\nk: {}${{UNSET}}\n", shell.repeat(ns))).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("UNSET"), "{e}");
    }

    #[test]
    fn next_marker_finds_the_first_reference() {
        assert_eq!(next_marker("a $ b < c ${X}"), Some(10));
        assert_eq!(next_marker("$$${X}"), Some(1));
        assert_eq!(next_marker("$${X}"), Some(0));
        assert_eq!(next_marker("$<%= x %>"), Some(1));
        assert_eq!(next_marker("a <b> $c $"), None);
        assert_eq!(next_marker(""), None);
    }

    #[test]
    fn newlines_in_values_are_refused() {
        assert!(run("k: ${MULTI}\n")
            .unwrap_err()
            .message
            .contains("newline"));
    }
}
