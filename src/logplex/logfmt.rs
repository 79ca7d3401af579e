//! logfmt pairs (`key=value key="quoted \"value\"" key= bare`) as a zero-copy iterator.
//!
//! A hand-written byte loop: this is the hottest path of the parser (every router and metric line goes
//! through it), and it never fails. [`reference`] is the same grammar in nom: the property tests hold the
//! two to the same answers and the benchmark measures both (the loop is the faster). A word with no `=` is a pair with no value; an unterminated quote runs to
//! the end of the line. It does not interpret keys or values; `router` and `l2met` do.

use super::event::Text;
use super::find::find2;

/// One `key=value` pair. `value` is `None` for a bare word (`count#hits`), empty for `key=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair<'a> {
    pub key: &'a str,
    pub value: Option<Text<'a>>,
}

/// Iterator over the pairs of one message.
///
/// It walks byte positions of the line and cuts `&str`s only where a key or value ends. Every cut point is the
/// start or end of the line, the position of an ASCII byte (`=`, a space, a quote), or just after one; all of
/// them are char boundaries, so [`Pairs::cut`] skips `str`'s boundary checks (checked in debug builds).
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    line: &'a str,
    /// Where the next pair's search starts; at most one past the end.
    at: usize,
}

/// The pairs of `line`.
pub fn pairs(line: &str) -> Pairs<'_> {
    Pairs { line, at: 0 }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Pair<'a>;

    #[inline(always)]
    fn next(&mut self) -> Option<Pair<'a>> {
        let start = self.skip_spaces();
        let bytes = self.line.as_bytes();
        if start >= bytes.len() {
            self.at = bytes.len();
            return None;
        }
        let key_end = find2(bytes, start, b'=', b' ');
        let key = self.cut(start, key_end);
        if bytes.get(key_end) != Some(&b'=') {
            self.past(key_end);
            return Some(Pair { key, value: None });
        }
        let value = self.value_at(key_end + 1);
        Some(Pair {
            key,
            value: Some(value),
        })
    }
}

impl<'a> Pairs<'a> {
    /// When the next pair starts with `key_eq` (a key with its `=`: `"status="`), consumes it and returns its
    /// value; otherwise consumes nothing. For lines whose keys come in a known order (router lines): no key
    /// scanning, one compare.
    #[inline(always)]
    pub fn value_of(&mut self, key_eq: &str) -> Option<Text<'a>> {
        debug_assert!(key_eq.ends_with('='));
        let start = self.skip_spaces();
        self.at = start;
        if self.line.as_bytes().get(start..start + key_eq.len()) != Some(key_eq.as_bytes()) {
            return None;
        }
        // `start + key_eq.len()` is just past the `=`, a char boundary whatever the key is.
        Some(self.value_at(start + key_eq.len()))
    }

    /// Moves to just past `end`, where a key or bare value stopped: a space (skipped here, so the next pair's
    /// search for its start usually looks at one byte) or the end of the line (then one past it, which every
    /// reader of `at` takes as the end).
    #[inline(always)]
    fn past(&mut self, end: usize) {
        self.at = end + 1;
    }

    /// Where the next non-space byte (or the end) is.
    #[inline(always)]
    fn skip_spaces(&self) -> usize {
        let bytes = self.line.as_bytes();
        let mut i = self.at;
        while bytes.get(i) == Some(&b' ') {
            i += 1;
        }
        i
    }

    /// `line[from..to]` for cut points this iterator found (see [`Pairs`]).
    #[inline(always)]
    fn cut(&self, from: usize, to: usize) -> &'a str {
        cut(self.line, from, to)
    }

    /// The value starting at `v` (just after `=`): quoted or bare; moves past it.
    #[inline(always)]
    fn value_at(&mut self, v: usize) -> Text<'a> {
        let bytes = self.line.as_bytes();
        if bytes.get(v) == Some(&b'"') {
            // The common quoted value, no escapes, here; the rest (escapes, no closing quote) out of line.
            let hit = find2(bytes, v + 1, b'"', b'\\');
            if bytes.get(hit) == Some(&b'"') {
                self.at = hit + 1;
                return Text::plain(self.cut(v + 1, hit));
            }
            let (raw, escaped, past) = quoted(self.line, v + 1, hit);
            self.at = past;
            return Text { raw, escaped };
        }
        let end = find2(bytes, v, b' ', b' ');
        self.past(end);
        Text::plain(self.cut(v, end))
    }
}

/// The quoted value of `line` starting at `from` (just after the opening quote), given `hit`, the first quote or
/// backslash at or after `from` (or the end): its raw text, whether it has escapes, and where the next pair's
/// search starts (just past the closing quote, or the end).
///
/// Out of line and a free function on purpose: a call that took the iterator by reference would make its
/// state live in memory (its address taken) on the hot path too, one store and load of the position per pair.
#[inline(never)]
fn quoted(line: &str, from: usize, mut hit: usize) -> (&str, bool, usize) {
    let bytes = line.as_bytes();
    let mut escaped = false;
    while hit < bytes.len() {
        if bytes[hit] == b'"' {
            return (cut(line, from, hit), escaped, hit + 1);
        }
        escaped = true;
        // Skip the escaped byte; if it is a multi-byte char, the next scan starts inside it harmlessly
        // because the search only stops at an ASCII quote or backslash (and this position is never a cut).
        hit = find2(bytes, (hit + 2).min(bytes.len()), b'"', b'\\');
    }
    (cut(line, from, bytes.len()), escaped, bytes.len())
}

/// `line[from..to]` for cut points found as [`Pairs`] describes: char boundaries, so no check.
#[inline(always)]
fn cut(line: &str, from: usize, to: usize) -> &str {
    debug_assert!(from <= to && to <= line.len());
    debug_assert!(line.is_char_boundary(from) && line.is_char_boundary(to));
    // SAFETY: `from <= to <= len`, and both are the line's ends, positions of ASCII bytes, or just after an
    // ASCII byte (see [`Pairs`]): char boundaries, so the slice is valid UTF-8.
    unsafe { line.get_unchecked(from..to) }
}

/// The logfmt grammar in nom, the executable definition [`pairs`] must agree with; slower, so not used to parse.
pub mod reference {
    use super::Pair;
    use crate::logplex::event::Text;
    use nom::branch::alt;
    use nom::bytes::complete::{take_till, take_while};
    use nom::character::complete::{anychar, char, none_of};
    use nom::combinator::{opt, recognize};
    use nom::multi::many0_count;
    use nom::sequence::{delimited, preceded};
    use nom::{IResult, Parser};

    fn quoted(i: &str) -> IResult<&str, Text<'_>> {
        let body = recognize(many0_count(alt((
            recognize(preceded(char('\\'), opt(anychar))),
            recognize(none_of("\"\\")),
        ))));
        let (i, raw) = delimited(char('"'), body, opt(char('"'))).parse(i)?;
        Ok((
            i,
            Text {
                raw,
                escaped: raw.contains('\\'),
            },
        ))
    }

    fn bare(i: &str) -> IResult<&str, Text<'_>> {
        let (i, raw) = take_till(|c| c == ' ').parse(i)?;
        Ok((i, Text::plain(raw)))
    }

    /// One pair, after any spaces.
    pub fn pair(i: &str) -> IResult<&str, Pair<'_>> {
        let (i, _) = take_while(|c| c == ' ').parse(i)?;
        let (i, key) = take_till(|c| c == '=' || c == ' ').parse(i)?;
        let (i, value) = opt(preceded(char('='), alt((quoted, bare)))).parse(i)?;
        Ok((i, Pair { key, value }))
    }

    /// All pairs of a line.
    pub fn pairs(mut line: &str) -> impl Iterator<Item = Pair<'_>> {
        std::iter::from_fn(move || {
            if line.trim_start_matches(' ').is_empty() {
                return None;
            }
            let (rest, p) = pair(line).ok()?;
            line = rest;
            Some(p)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(line: &str) -> Vec<(&str, Option<(&str, bool)>)> {
        pairs(line)
            .map(|p| (p.key, p.value.map(|v| (v.raw, v.escaped))))
            .collect()
    }

    #[test]
    fn bare_quoted_and_empty_values() {
        assert_eq!(
            all(r#"at=info path="/a b" connect= dyno=web.1"#),
            vec![
                ("at", Some(("info", false))),
                ("path", Some(("/a b", false))),
                ("connect", Some(("", false))),
                ("dyno", Some(("web.1", false))),
            ]
        );
    }

    #[test]
    fn escaped_quotes_stay_raw_until_unescaped() {
        let got: Vec<_> = pairs(r#"desc="say \"hi\" \\ now" x=1"#).collect();
        assert_eq!(got[0].key, "desc");
        let v = got[0].value.unwrap();
        assert_eq!(v.raw, r#"say \"hi\" \\ now"#);
        assert!(v.escaped);
        assert_eq!(v.unescape(), r#"say "hi" \ now"#);
        assert_eq!(got[1].key, "x");
    }

    #[test]
    fn words_without_values_and_extra_spaces() {
        assert_eq!(
            all("  count#hits   Hello   a=b  "),
            vec![
                ("count#hits", None),
                ("Hello", None),
                ("a", Some(("b", false)))
            ]
        );
    }

    #[test]
    fn unterminated_quote_runs_to_end() {
        assert_eq!(
            all(r#"a="open end \"#),
            vec![("a", Some((r#"open end \"#, true)))]
        );
    }

    #[test]
    fn multibyte_text() {
        assert_eq!(
            all("k=\"é ü\" ñ=ö"),
            vec![("k", Some(("é ü", false))), ("ñ", Some(("ö", false)))]
        );
    }
}
