//! Retrying a call to an HTTP service: one loop for every client that retries (the Heroku backend's GET and
//! PATCH, the Librato sender), driven by a typed decision per attempt, with exponential backoff and jitter.
//!
//! An attempt answers [`Attempt::Done`], [`Attempt::Fail`] (final: a 4xx that retrying cannot fix) or
//! [`Attempt::Retry`] with *why* and what the failure says about the request: [`Landed::No`] when the
//! service refused it outright (a 429: nothing happened) and [`Landed::Maybe`] when it may have taken effect
//! (a 5xx, a timeout, a reset). The next attempt is told which, so a write can look before it writes again.
//! A leaf module: it knows no service.

use std::future::Future;
use std::time::Duration;

/// Whether a failed request may have taken effect anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed {
    /// Refused before doing anything (429 Too Many Requests).
    No,
    /// Unknown: a 5xx or a transport error may come after the work was done.
    Maybe,
}

/// What one attempt came to.
#[derive(Debug)]
pub enum Attempt<T, E> {
    Done(T),
    /// Final: no retry can change it.
    Fail(E),
    /// Worth another try.
    Retry {
        why: String,
        landed: Landed,
        /// The service's own `Retry-After`, if it gave one.
        wait: Option<Duration>,
    },
}

/// The last failure when the attempts ran out, or a final one.
#[derive(Debug, Clone, PartialEq)]
pub enum GaveUp<E> {
    Fail(E),
    Exhausted { attempts: u32, last: String },
}

/// How many attempts and how far apart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first delay; each next one doubles.
    pub base: Duration,
    /// No delay is longer (a `Retry-After` included).
    pub max: Duration,
    /// Attempts in all (the first included); at least one is made.
    pub attempts: u32,
}

impl Backoff {
    /// The delay after attempt `attempt` (0-based): `base * 2^attempt` capped at `max`, times a jitter in
    /// [0.5, 1.0]; a service's `Retry-After` is honoured up to `max` (never shortened by the jitter).
    pub fn delay(&self, attempt: u32, hint: Option<Duration>) -> Duration {
        let step = self
            .base
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
            .min(self.max);
        let jittered = step.mul_f64(0.5 + fastrand::f64() * 0.5);
        hint.map_or(jittered, |h| h.min(self.max).max(jittered))
    }

    /// Runs `attempt` until it is done, fails for good, or the attempts run out, sleeping between tries.
    /// `attempt` gets the attempt's number and, after a failure, whether that one may have landed;
    /// `on_retry` hears each retriable failure before the sleep (for logs and counters).
    pub async fn run<T, E, F, Fut>(
        &self,
        mut attempt: F,
        mut on_retry: impl FnMut(u32, &str),
    ) -> Result<T, GaveUp<E>>
    where
        F: FnMut(u32, Option<Landed>) -> Fut,
        Fut: Future<Output = Attempt<T, E>>,
    {
        let attempts = self.attempts.max(1);
        let (mut previous, mut last) = (None, String::new());
        for n in 0..attempts {
            match attempt(n, previous).await {
                Attempt::Done(value) => return Ok(value),
                Attempt::Fail(e) => return Err(GaveUp::Fail(e)),
                Attempt::Retry { why, landed, wait } => {
                    on_retry(n, &why);
                    last = why;
                    previous = Some(landed);
                    if n + 1 < attempts {
                        tokio::time::sleep(self.delay(n, wait)).await;
                    }
                }
            }
        }
        Err(GaveUp::Exhausted { attempts, last })
    }
}

/// A `Retry-After` in seconds (the HTTP-date form is read as absent: the backoff applies).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// `Retry-After` as seconds or an HTTP date, from `now`.
pub fn retry_after_value(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    static PARSER: jiff::fmt::rfc2822::DateTimeParser = jiff::fmt::rfc2822::DateTimeParser::new();
    let at = PARSER.parse_timestamp(value).ok()?;
    let wait = at.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    const QUICK: Backoff = Backoff {
        base: Duration::from_millis(1),
        max: Duration::from_millis(2),
        attempts: 3,
    };

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now: jiff::Timestamp = "2015-10-21T07:27:00Z".parse().unwrap();
        assert_eq!(retry_after_value("30", now), Some(Duration::from_secs(30)));
        assert_eq!(
            retry_after_value("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after_value("Wed, 21 Oct 2015 07:26:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after_value("soon", now), None);
    }

    #[test]
    fn delays_double_with_jitter_cap_and_honour_retry_after() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(8),
            attempts: 5,
        };
        for attempt in 0..40 {
            let d = b.delay(attempt, None);
            let full = Duration::from_secs(1u64 << attempt.min(3));
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert_eq!(
            b.delay(0, Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        assert_eq!(
            b.delay(0, Some(Duration::from_secs(600))),
            Duration::from_secs(8)
        );
    }

    #[tokio::test]
    async fn each_attempt_hears_whether_the_last_may_have_landed() {
        let seen = RefCell::new(Vec::new());
        let answers = RefCell::new(vec![
            Attempt::Retry {
                why: "429".into(),
                landed: Landed::No,
                wait: None,
            },
            Attempt::Retry {
                why: "503".into(),
                landed: Landed::Maybe,
                wait: None,
            },
            Attempt::Done(7),
        ]);
        let mut retried = Vec::new();
        let out: Result<u32, GaveUp<()>> = QUICK
            .run(
                |n, previous| {
                    seen.borrow_mut().push((n, previous));
                    let answer = answers.borrow_mut().remove(0);
                    async move { answer }
                },
                |n, why| retried.push((n, why.to_string())),
            )
            .await;
        assert_eq!(out, Ok(7));
        assert_eq!(
            *seen.borrow(),
            [(0, None), (1, Some(Landed::No)), (2, Some(Landed::Maybe))]
        );
        assert_eq!(retried, [(0, "429".to_string()), (1, "503".to_string())]);
    }

    #[tokio::test]
    async fn a_final_failure_stops_and_running_out_names_the_last_reason() {
        let mut calls = 0;
        let out: Result<(), GaveUp<&str>> = QUICK
            .run(
                |_, _| {
                    calls += 1;
                    async { Attempt::Fail("422") }
                },
                |_, _| {},
            )
            .await;
        assert_eq!((out, calls), (Err(GaveUp::Fail("422")), 1));
        let out: Result<(), GaveUp<()>> = QUICK
            .run(
                |n, _| async move {
                    Attempt::Retry {
                        why: format!("HTTP 500 #{n}"),
                        landed: Landed::Maybe,
                        wait: None,
                    }
                },
                |_, _| {},
            )
            .await;
        assert_eq!(
            out,
            Err(GaveUp::Exhausted {
                attempts: 3,
                last: "HTTP 500 #2".into()
            })
        );
    }
}
