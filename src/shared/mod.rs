//! Several drain instances as one, through Redis: the `store:` and `shared:` config ([`config`]), the client
//! ([`client`]), key names with a hash tag per app ([`keys`]), cross-instance Frame-Id deduplication
//! ([`frame_ids`]), the scaler leader lease with its fencing number ([`lease`]) and the backend wrapper that
//! checks it before every formation write ([`fenced`]). The shared windows themselves live in
//! [`crate::window::redis`].
//!
//! Nothing here runs unless the config says `store: redis://...`: the in-memory path has no Redis code on it.

pub mod client;
pub mod config;
pub mod fenced;
pub mod frame_ids;
pub mod instance;
pub mod keys;
pub mod lease;
pub mod status;

pub use client::{Redis, RedisError};
pub use config::SharedConfig;
pub use keys::Keys;

/// A random identifier for this process: tells instances apart in Redis (push sequence numbers, claims, the
/// lease). Prefixed with `$DYNO` when set, so `/status` says which dyno leads.
pub fn instance_id() -> String {
    let random = format!("{:016x}", fastrand::u64(..));
    match std::env::var("DYNO") {
        Ok(dyno) if !dyno.is_empty() && dyno.len() < 64 => format!("{dyno}-{random}"),
        _ => random,
    }
}
