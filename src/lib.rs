//! drainscale: a Heroku log drain, metrics pipeline and autoscaler.
//!
//! Data flows one way: `logplex` (parse) -> `window` (aggregate) -> `outlet` (export) and `scaler` (decide)
//! -> backends. `drain` is the HTTP front door; `config` reads the file; the binary wires them together. Credentials and URLs that may hold one are
//! [`secret::Secret`] and [`secret::SecretUrl`], which print masked.

pub mod config;
pub mod drain;
pub mod duration;
pub mod invalid;
pub mod logplex;
pub mod outlet;
pub mod retry;
pub mod scaler;
pub mod secret;
pub mod shared;
pub mod simulate;
pub mod window;
