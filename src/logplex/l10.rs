//! Logplex's own overflow notice: `Error L10 (output buffer overflow): 500 messages dropped since ...`.
//!
//! Parsed with nom; only the dropped count is kept. It does not care which app or procid sent it (logplex
//! sends it as `heroku`/`logplex`, but a line that says this from elsewhere is the same fact).

use nom::bytes::complete::{tag, take_until, take_while1};
use nom::{IResult, Parser};

fn l10(i: &str) -> IResult<&str, &str> {
    let (i, _) = tag("Error L10").parse(i)?;
    let (i, _) = take_until("): ").parse(i)?;
    let (i, _) = tag("): ").parse(i)?;
    let (i, n) = take_while1(|c: char| c.is_ascii_digit()).parse(i)?;
    let (i, _) = tag(" messages dropped").parse(i)?;
    Ok((i, n))
}

/// True when the message is an L10 notice (cheap prefix test).
pub fn is_l10(message: &str) -> bool {
    message.starts_with("Error L10")
}

/// The number of dropped messages, when the message is a well-formed L10 notice.
pub fn dropped(message: &str) -> Option<u64> {
    let (_, n) = l10(message).ok()?;
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_line() {
        let line = "Error L10 (output buffer overflow): 500 messages dropped since 2013-04-17T19:04:46+00:00.";
        assert!(is_l10(line));
        assert_eq!(dropped(line), Some(500));
    }

    #[test]
    fn not_l10() {
        assert_eq!(
            dropped("Error L10 (output buffer overflow): many messages dropped"),
            None
        );
        assert_eq!(dropped("Error L11 (x): 5 messages dropped"), None);
        assert_eq!(
            dropped("Error L10 (output buffer overflow): 99999999999999999999999 messages dropped"),
            None
        );
    }
}
