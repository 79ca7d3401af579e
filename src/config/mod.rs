//! The config file: YAML after environment interpolation, in drainscale's own layout or Dynosaur's.
//!
//! [`load`] reads a file into a validated [`Config`] (plus warnings); [`plan`] renders it for
//! `drainscale check`. Nothing here starts anything: the binary's wiring builds components from a `Config`.

pub mod dynosaur;
mod dynosaur_handlers;
pub mod dynosaur_ses;
pub mod interpolate;
pub mod load;
mod locate;
pub mod plan;
pub mod redact;
mod validate;

pub use crate::scaler::config::{DeadMansSwitchConfig, HerokuTuning, ScalerConfig, StatsConfig};
pub use crate::scaler::controller_config::{BackendConfig, ControllerConfig, InputConfig};
pub use crate::scaler::handlers::{DeliveryConfig, ErrorHandlerConfig};
pub use load::{
    load, load_overriding, load_str, load_str_overriding, ConfigError, Layout, Loaded, Overrides,
};

use crate::drain::DrainConfig;
use crate::outlet::OutletConfig;
use crate::window::WindowConfig;
use serde::Deserialize;

/// The whole file, in drainscale's layout.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The drain's HTTP listener (absent: no drain; write `drain: {}` for the defaults).
    #[serde(default)]
    pub drain: Option<DrainConfig>,
    /// Rolling windows the drain fills and the `drain` inputs read.
    #[serde(default)]
    pub windows: WindowConfig,
    /// Where window aggregates are exported.
    #[serde(default)]
    pub outlets: OutletConfig,
    /// Global scaler settings.
    #[serde(default)]
    pub scaler: ScalerConfig,
    /// The scaled resources.
    #[serde(default)]
    pub controllers: Vec<ControllerConfig>,
    /// Where the windows live: absent for this process' memory, `redis://...` or `rediss://...` for windows
    /// shared by several instances.
    #[serde(default)]
    pub store: Option<crate::secret::SecretUrl>,
    /// How instances share the windows (read only with a Redis `store:`).
    #[serde(default)]
    pub shared: crate::shared::SharedConfig,
}
