//! The config file: YAML after environment interpolation, in drainscale's own layout or Dynosaur's.

pub mod duration;
