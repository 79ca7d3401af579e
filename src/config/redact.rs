//! What of a YAML or serde error message may be shown: serde's messages echo the offending value
//! (`invalid type: string "hunter2", expected a sequence`), which for a secret field is the secret. Every config
//! error passes through [`redact`], which keeps the key path, the line and column and what was expected, and
//! replaces the value by its kind (`invalid type: a string, expected a sequence`).
//!
//! It does not know which fields are secrets: it redacts every value, which is simpler and cannot miss one.
//! Key and variant names stay (`unknown field `mni``) when they look like names (see [`MAX_NAME`]).

/// Kinds serde names with the value in backticks.
const BACKTICKED: [(&str, &str); 4] = [
    ("integer `", "an integer"),
    ("floating point `", "a floating point number"),
    ("boolean `", "a boolean"),
    ("character `", "a character"),
];

/// Longest name kept in `unknown field` / `unknown variant` messages. Names are kept only when they are made of
/// letters, `_` and `-`, as every key and variant of the config is: a name with a digit or any other character
/// may be a secret written where a key goes.
const MAX_NAME: usize = 40;

/// The message without the values it echoed.
pub fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        let Some((at, what)) = next_value(rest) else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        match what {
            Value::Quoted => {
                out.push_str("a string");
                rest = skip_quoted(&after["string \"".len()..]);
            }
            Value::Backticked(prefix, kind) => {
                out.push_str(kind);
                let inner = &after[prefix.len()..];
                rest = inner.find('`').map_or("", |end| &inner[end + 1..]);
            }
            Value::Name(prefix) => {
                let inner = &after[prefix.len()..];
                let end = inner.find('`');
                let name = end.map_or(inner, |e| &inner[..e]);
                let plain = name.len() <= MAX_NAME
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'-'));
                if plain {
                    out.push_str(prefix);
                    out.push_str(name);
                    out.push('`');
                } else {
                    // Not a key anyone meant: it may be a value written where a key goes.
                    out.push_str(prefix.trim_end_matches(" `"));
                    out.push_str(" (not shown)");
                }
                rest = end.map_or("", |e| &inner[e + 1..]);
            }
        }
    }
}

enum Value {
    /// `string "..."`, escaped as Rust's `Debug` does.
    Quoted,
    /// `integer `...``: the prefix and the kind's words.
    Backticked(&'static str, &'static str),
    /// `unknown field `...``: kept when it looks like a key.
    Name(&'static str),
}

fn next_value(s: &str) -> Option<(usize, Value)> {
    let mut best: Option<(usize, Value)> = None;
    let mut consider = |at: Option<usize>, v: Value| {
        if let Some(at) = at {
            if best.as_ref().is_none_or(|(b, _)| at < *b) {
                best = Some((at, v));
            }
        }
    };
    consider(s.find("string \""), Value::Quoted);
    for (prefix, kind) in BACKTICKED {
        consider(s.find(prefix), Value::Backticked(prefix, kind));
    }
    for prefix in ["unknown field `", "unknown variant `", "duplicate field `"] {
        consider(s.find(prefix), Value::Name(prefix));
    }
    best
}

/// The text after a `Debug`-escaped string's closing quote (`\"` and `\\` are escapes). Unterminated: the text
/// from its ` at line ` on, or nothing.
fn skip_quoted(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return &s[i + 1..],
            _ => i += 1,
        }
    }
    s.rfind(" at line ").map_or("", |at| &s[at..])
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn values_are_replaced_by_their_kind() {
        assert_eq!(
            redact("drain.auth.tokens: invalid type: string \"hunter2\", expected a sequence at line 3 column 13"),
            "drain.auth.tokens: invalid type: a string, expected a sequence at line 3 column 13"
        );
        assert_eq!(
            redact(
                r#"x: invalid value: string "a\"b\\c, expected d", expected e at line 1 column 2"#
            ),
            "x: invalid value: a string, expected e at line 1 column 2"
        );
        assert_eq!(
            redact(
                "a: invalid type: integer `123456`, expected a sequence; b: floating point `1.5`"
            ),
            "a: invalid type: an integer, expected a sequence; b: a floating point number"
        );
        assert_eq!(
            redact("invalid type: boolean `true`, expected struct X"),
            "invalid type: a boolean, expected struct X"
        );
        assert_eq!(
            redact("invalid type: string \"unterminated at line 4 column 1"),
            "invalid type: a string at line 4 column 1"
        );
    }

    #[test]
    fn key_names_stay_unless_they_look_like_values() {
        assert_eq!(
            redact("controllers[0]: unknown field `mni`, expected one of `min`, `max` at line 5 column 5"),
            "controllers[0]: unknown field `mni`, expected one of `min`, `max` at line 5 column 5"
        );
        assert_eq!(
            redact(
                "drain.auth: unknown field `p@ss/w:rd`, expected one of `users` at line 2 column 9"
            ),
            "drain.auth: unknown field (not shown), expected one of `users` at line 2 column 9"
        );
        assert_eq!(
            redact("drain.auth: unknown field `hunter2`, expected one of `users`"),
            "drain.auth: unknown field (not shown), expected one of `users`"
        );
        assert_eq!(redact("no values here"), "no values here");
    }
}
