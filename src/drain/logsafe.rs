//! Text from a request made fit for the log and for error answers: clipped to a few dozen characters (with an
//! ellipsis and the original length) and escaped, so a client cannot write megabytes or control characters
//! into either. It formats; it does not decide what is logged.

/// Characters of client text kept.
pub const MAX_CHARS: usize = 64;

/// `s` escaped, or its first [`MAX_CHARS`] characters escaped, then `…` and the original length in bytes.
pub fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_CHARS) {
        None => s.escape_debug().to_string(),
        Some((end, _)) => format!("{}… ({} bytes)", s[..end].escape_debug(), s.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_escaped_long_text_clipped_with_its_length() {
        assert_eq!(clip("logplex"), "logplex");
        assert_eq!(clip("a\nb"), "a\\nb");
        let long = "é".repeat(100_000);
        let got = clip(&long);
        assert_eq!(got, format!("{}… (200000 bytes)", "é".repeat(MAX_CHARS)));
        assert_eq!(clip(&"x".repeat(MAX_CHARS)), "x".repeat(MAX_CHARS));
    }
}
