//! The line of a key path (`controllers[1].inputs[0].query`) in a YAML file, for errors found after
//! deserializing (when serde's locations are gone). Reads block-style YAML by indentation: mappings of
//! `key:` lines and sequences of `- ` items (at the parent's indentation or deeper). Where the path runs into
//! flow style (`{...}`, `[...]`) or anything else it cannot follow, it answers the deepest line it found, or
//! nothing: a line is a help, never required.

/// One step of a key path.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// `a.b[2].c` as steps; `None` when it is not a key path.
fn steps(path: &str) -> Option<Vec<Step<'_>>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Step::Key(key));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            out.push(Step::Index(r[..end].trim().parse().ok()?));
            rest = &r[end + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(out)
}

/// A line of the file: its number (1-based), indentation and text after it.
struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

/// The text of a line after its `- ` markers, and the column it starts at.
fn after_dashes<'a>(line: &Line<'a>) -> (usize, &'a str) {
    let (mut col, mut text) = (line.indent, line.text);
    while let Some(rest) = text
        .strip_prefix("- ")
        .or_else(|| text.strip_prefix('-').filter(|r| r.is_empty()))
    {
        let trimmed = rest.trim_start();
        col += text.len() - trimmed.len();
        text = trimmed;
    }
    (col, text)
}

/// Whether `text` is `key:` (followed by a space, the end, or a comment).
fn is_key(text: &str, key: &str) -> bool {
    let unquoted = [key.to_string(), format!("\"{key}\""), format!("'{key}'")];
    unquoted.iter().any(|k| {
        text.strip_prefix(k.as_str())
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix(':'))
            .is_some_and(|r| r.is_empty() || r.starts_with(' '))
    })
}

/// The 1-based line where `path` is written in `text`, or the deepest part of it that could be found.
pub fn line_of_path(text: &str, path: &str) -> Option<usize> {
    let steps = steps(path)?;
    let lines: Vec<Line<'_>> = text
        .lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let text = raw.trim_start();
            (!text.is_empty() && !text.starts_with('#') && text != "---").then(|| Line {
                number: i + 1,
                indent: raw.len() - text.len(),
                text: text.trim_end(),
            })
        })
        .collect();
    // The lines that hold the current node's content, and the column its own key sits at (children are
    // deeper; sequence items may sit at the same column).
    let (mut lo, mut hi, mut parent): (usize, usize, Option<usize>) = (0, lines.len(), None);
    let mut found = None;
    for step in steps {
        match step {
            Step::Key(key) => {
                // The children's column: that of the first line in the range.
                let Some(first) = lines.get(lo..hi).and_then(|r| r.first()) else {
                    return found;
                };
                let col = after_dashes(first).0;
                let hit = (lo..hi).find(|&i| {
                    let (c, t) = after_dashes(&lines[i]);
                    c == col && parent.is_none_or(|p| c > p) && is_key(t, key)
                });
                let Some(i) = hit else { return found };
                found = Some(lines[i].number);
                let end = (i + 1..hi)
                    .find(|&j| {
                        let l = &lines[j];
                        l.indent < col || (l.indent == col && !l.text.starts_with('-'))
                    })
                    .unwrap_or(hi);
                (lo, hi, parent) = (i + 1, end, Some(col));
            }
            Step::Index(n) => {
                let Some(first) = lines.get(lo..hi).and_then(|r| r.first()) else {
                    return found;
                };
                let dash = first.indent;
                // Items of this sequence: `- ` lines at its column (a line's own nested items are deeper).
                let items: Vec<usize> = (lo..hi)
                    .filter(|&i| lines[i].indent == dash && lines[i].text.starts_with('-'))
                    .collect();
                let Some(&i) = items.get(n) else { return found };
                found = Some(lines[i].number);
                let end = items.get(n + 1).copied().unwrap_or(hi);
                // The item's content starts on its own line, after the dash.
                (lo, hi, parent) = (i, end, Some(dash));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# comment
scaler:
  app: shop
  heroku:
    interval: 3s
  interval: 5s
controllers:
- name: web
  inputs:
    - name: rpm
      type: drain
      query: {signal: request_rate}
    - name: p95
      query:
        signal: service_time
- name: worker
  max: 3
";

    #[test]
    fn keys_and_items_are_found_at_their_lines() {
        assert_eq!(line_of_path(FILE, "scaler"), Some(2));
        assert_eq!(line_of_path(FILE, "scaler.interval"), Some(6));
        assert_eq!(line_of_path(FILE, "scaler.heroku.interval"), Some(5));
        assert_eq!(line_of_path(FILE, "controllers[0]"), Some(8));
        assert_eq!(line_of_path(FILE, "controllers[0].name"), Some(8));
        assert_eq!(line_of_path(FILE, "controllers[1].max"), Some(17));
        assert_eq!(line_of_path(FILE, "controllers[0].inputs[1]"), Some(13));
        assert_eq!(
            line_of_path(FILE, "controllers[0].inputs[1].query.signal"),
            Some(15)
        );
        assert_eq!(
            line_of_path(FILE, "controllers[0].inputs[0].type"),
            Some(11)
        );
    }

    #[test]
    fn what_cannot_be_followed_gives_the_deepest_line_found() {
        // Flow style: the line of `query`.
        assert_eq!(
            line_of_path(FILE, "controllers[0].inputs[0].query.signal"),
            Some(12)
        );
        assert_eq!(line_of_path(FILE, "controllers[5]"), Some(7));
        assert_eq!(line_of_path(FILE, "nothing.here"), None);
        assert_eq!(line_of_path(FILE, "a[x]"), None);
        assert_eq!(line_of_path("", "a"), None);
    }
}
