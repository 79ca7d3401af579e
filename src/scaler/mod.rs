//! The autoscaler: inputs produce values, estimates come from a hysteresis window, controllers combine,
//! clamp and apply policies, and backends set the formation.
//!
//! It knows nothing of logplex or HTTP servers: the `drain` input reads windows through
//! [`crate::window::WindowReader`].

pub mod backend;
pub mod build;
pub mod clock;
pub mod config;
pub mod controller;
pub mod controller_config;
pub mod engine;
pub mod handlers;
pub mod health;
pub mod history;
pub mod hysteresis;
pub mod input;
pub mod inputs;
pub mod page;
pub mod plans;
pub mod policy;
pub mod report;
pub mod schedule;
pub mod status;
pub mod success;

pub use build::build;
pub use engine::Scaler;
pub use status::ScalerStatus;
