//! The autoscaler: inputs produce values, estimates come from a hysteresis window, controllers combine,
//! clamp and apply policies, and backends set the formation.
//!
//! It knows nothing of logplex or HTTP servers: the `drain` input reads windows through
//! [`crate::window::WindowReader`].
