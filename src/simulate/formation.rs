//! The simulated formation every replayed controller writes to instead of a real backend. A change takes effect
//! in the formation (and the bill) when the pass makes it; a new dyno serves only after the boot time. A
//! scale-down stops the newest dynos first (booting ones before serving ones), as Heroku stops the
//! highest-numbered.

use super::clock::VirtualClock;
use crate::scaler::backend::{Backend, BackendFuture};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One process type's dynos, each with the time it was started.
pub struct SimFormation {
    boot: i64,
    clock: Arc<VirtualClock>,
    /// Start times (Unix micros), oldest first; the initial dynos are already serving.
    dynos: Mutex<Vec<i64>>,
}

impl SimFormation {
    /// `initial` dynos already serving; new ones serve `boot` after they start.
    pub fn new(initial: u32, boot: Duration, clock: Arc<VirtualClock>) -> Self {
        SimFormation {
            boot: i64::try_from(boot.as_micros()).unwrap_or(i64::MAX),
            clock,
            dynos: Mutex::new(vec![i64::MIN; initial as usize]),
        }
    }

    fn dynos(&self) -> std::sync::MutexGuard<'_, Vec<i64>> {
        self.dynos.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Dynos in the formation (the billed count).
    pub fn count(&self) -> u32 {
        u32::try_from(self.dynos().len()).unwrap_or(u32::MAX)
    }

    /// Dynos serving at `at` (Unix micros): started at least the boot time before.
    pub fn serving_at(&self, at: i64) -> u32 {
        let n = self
            .dynos()
            .iter()
            .filter(|start| start.saturating_add(self.boot) <= at)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn resize(&self, target: u32) {
        let now = self.clock.now_micros();
        let mut dynos = self.dynos();
        let target = target as usize;
        if target > dynos.len() {
            dynos.resize(target, now);
        } else {
            dynos.truncate(target);
        }
    }
}

impl Backend for SimFormation {
    fn current<'a>(&'a self, _process: &'a str) -> BackendFuture<'a, u32> {
        let count = self.count();
        Box::pin(std::future::ready(Ok(count)))
    }

    fn set<'a>(&'a self, _process: &'a str, target: u32) -> BackendFuture<'a, u32> {
        self.resize(target);
        Box::pin(std::future::ready(Ok(target)))
    }

    fn describe(&self) -> String {
        format!(
            "simulated formation (a new dyno serves {}s after it starts)",
            self.boot / 1_000_000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn new_dynos_serve_after_the_boot_time_and_the_newest_stop_first() {
        let clock = Arc::new(VirtualClock::starting_at(0));
        let f = SimFormation::new(2, Duration::from_secs(30), clock.clone());
        assert_eq!(f.serving_at(0), 2);
        clock.set(10_000_000);
        assert_eq!(f.set("web", 5).await, Ok(5));
        assert_eq!(f.current("web").await, Ok(5));
        assert_eq!(f.serving_at(39_999_999), 2);
        assert_eq!(f.serving_at(40_000_000), 5);
        clock.set(20_000_000);
        f.set("web", 3).await.unwrap();
        // The two removed were booting: still 2 serving until the third one boots.
        assert_eq!(f.serving_at(30_000_000), 2);
        assert_eq!(f.serving_at(40_000_000), 3);
        f.set("web", 1).await.unwrap();
        assert_eq!(f.serving_at(40_000_000), 1);
    }
}
