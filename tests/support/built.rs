//! A scaler built from a loaded config the way `drainscale run` builds it: the system clock, and the drain's
//! windows when the test has some.
#![allow(dead_code)]

use drainscale::config::Loaded;
use drainscale::scaler::clock::SystemClock;
use drainscale::scaler::Scaler;
use drainscale::window::WindowReader;
use std::sync::Arc;

/// Builds `loaded`'s scaler; a config the test wrote is expected to build.
pub fn scaler(loaded: &Loaded, windows: Option<Arc<dyn WindowReader>>) -> Scaler {
    match drainscale::scaler::build(
        &loaded.config.scaler,
        &loaded.config.controllers,
        windows,
        Arc::new(SystemClock),
    ) {
        Ok(scaler) => scaler,
        Err(e) => panic!("the test's config does not build: {e}"),
    }
}
