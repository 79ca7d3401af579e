//! An input that panics on every retrieval: for tests that a bug in one input never stops the scaler.

pub struct Panics;

impl drainscale::scaler::input::Input for Panics {
    fn retrieve(
        &self,
        _now: drainscale::scaler::clock::Tick,
    ) -> drainscale::scaler::input::Retrieval<'_> {
        panic!("a bug in an input plugin")
    }
    fn unit(&self) -> &str {
        ""
    }
    fn conversion(&self) -> &drainscale::scaler::input::Conversion {
        &drainscale::scaler::input::Conversion::PerDyno(1.0)
    }
}
