//! Backends: where a controller reads and sets its resource count (a process type's dyno count).
//! [`heroku`] is the Heroku Platform API client, which [`formation`] (dyno counts) and [`addon`] (add-on
//! plans) use; [`file`] keeps a formation file for apps off Heroku; [`dry_run`] only logs what it would do.
//! [`config`] is the registry of the types a `backend:` key names, [`spec`] what each type implements.
//!
//! A backend does not decide anything: it reads, and writes only when asked for a different count.

pub mod addon;
pub mod config;
pub mod dry_run;
pub mod file;
pub mod formation;
pub mod heroku;
pub mod spec;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Why a backend could not read or set a count.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    /// The API refused the request (4xx other than 429): not retried. `id` and `message` are Heroku's.
    #[error("{method} {path}: HTTP {status} {id}: {message}")]
    Api {
        method: &'static str,
        path: String,
        status: u16,
        id: String,
        message: String,
    },
    /// Retriable failures (429, 5xx, timeouts) went on past the retry budget.
    #[error("{method} {path}: gave up after {attempts} attempts, last: {last}")]
    Exhausted {
        method: &'static str,
        path: String,
        attempts: u32,
        last: String,
    },
    /// The answer could not be understood.
    #[error("{method} {path}: unexpected response: {message}")]
    Protocol {
        method: &'static str,
        path: String,
        message: String,
    },
    /// This count was refused by the API (an [`BackendError::Api`] answer to a write) a short while ago and was
    /// not sent again. It reads as the refusal itself, so a repeat looks the same in `/status` and to the error
    /// handlers' deduplication; the controller logs and reports it once.
    #[error("{earlier}")]
    Refused { earlier: Box<BackendError> },
    /// Not written: this instance does not hold the scaler leader's lease (instances sharing windows through
    /// Redis), or its fencing number was superseded.
    #[error("{message}")]
    Fenced { message: String },
    /// The formation file could not be read or written.
    #[error("formation file {path}: {message}")]
    File { path: String, message: String },
}

/// A backend call in flight.
pub type BackendFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BackendError>> + Send + 'a>>;

/// Reads and sets one process type's count.
pub trait Backend: Send + Sync {
    /// The current count (a backend may answer from a short cache).
    fn current<'a>(&'a self, process: &'a str) -> BackendFuture<'a, u32>;
    /// Sets the count: re-reads first and writes nothing when the count already matches. Returns the count in
    /// force afterwards.
    fn set<'a>(&'a self, process: &'a str, target: u32) -> BackendFuture<'a, u32>;
    /// Extra time the loop should wait before its next pass (e.g. the API rate limit is low).
    fn pace(&self) -> Option<Duration> {
        None
    }
    /// One line for plans and status pages.
    fn describe(&self) -> String;
    /// True when this backend never writes.
    fn is_dry_run(&self) -> bool {
        false
    }
}
