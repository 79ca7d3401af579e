//! The windows as a replayed `drain` input reads them: the store's answer as of the virtual clock's time, not
//! the machine's.

use super::clock::VirtualClock;
use crate::window::{Query, ReadError, Reading, Store, WindowReader};
use std::sync::Arc;

/// A [`WindowReader`] over a [`Store`] at the replay's time.
pub struct ReplayWindows {
    store: Arc<Store>,
    clock: Arc<VirtualClock>,
}

impl ReplayWindows {
    pub fn new(store: Arc<Store>, clock: Arc<VirtualClock>) -> Self {
        ReplayWindows { store, clock }
    }
}

impl WindowReader for ReplayWindows {
    fn read(&self, query: &Query) -> Result<Reading, ReadError> {
        Ok(self.store.read_at(query, self.clock.now_micros()))
    }
}
