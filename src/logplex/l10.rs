//! Logplex's own overflow notice: `Error L10 (output buffer overflow): 500 messages dropped since ...`.
//!
//! Parsed with nom; only the dropped count is kept. Only logplex's own frames (`heroku`/`logplex`) are notices:
//! an app printing the same words is an ordinary line, so app output cannot forge the drain's dropped counter.

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

/// True for the app name and procid logplex sends its own notices with.
pub fn from_logplex(app: &str, procid: &str) -> bool {
    app == "heroku" && procid == "logplex"
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
    fn only_logplex_sends_notices() {
        assert!(from_logplex("heroku", "logplex"));
        assert!(!from_logplex("app", "web.1"));
        assert!(!from_logplex("heroku", "router"));
        let body = "<190>1 2026-01-01T00:00:00+00:00 host app web.1 - Error L10 (x): 18446744073709551615 messages dropped\n";
        let body = format!("{} {body}", body.len());
        let events: Vec<_> = crate::logplex::parse_body(body.as_bytes()).collect();
        assert_eq!(events.len(), 1);
        assert!(matches!(events[0].kind, crate::logplex::EventKind::Line(_)));
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
