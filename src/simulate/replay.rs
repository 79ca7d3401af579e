//! The replay driver: log chunks go through the real parser into the windows, and every scaler `interval` of
//! the logs' own time the virtual clock moves to that pass and every run makes its pass. Events are ingested
//! as received at their own timestamps, so the windows' retention and skew rules apply as they did live.

use super::clock::VirtualClock;
use super::lane::Lane;
use crate::logplex::{parse_body, Event, ParseStats};
use crate::scaler::clock::Clock;
use crate::window::Store;
use std::sync::Arc;
use std::time::Duration;

/// How often, in the logs' time, closed buckets of export-only names are dropped from the windows.
const FLUSH_EVERY: i64 = 60_000_000;

/// A replay in progress.
pub struct Replay {
    clock: Arc<VirtualClock>,
    stores: Vec<Arc<Store>>,
    pub lanes: Vec<Lane>,
    step: i64,
    next_pass: Option<i64>,
    last_flush: i64,
    newest: Option<i64>,
    stats: ParseStats,
}

impl Replay {
    /// Runs `lanes` every `interval` over `stores` (each fed every event), on `clock`.
    pub fn new(
        clock: Arc<VirtualClock>,
        stores: Vec<Arc<Store>>,
        lanes: Vec<Lane>,
        interval: Duration,
    ) -> Self {
        Replay {
            clock,
            stores,
            lanes,
            step: i64::try_from(interval.as_micros())
                .unwrap_or(i64::MAX)
                .max(1_000),
            next_pass: None,
            last_flush: i64::MIN,
            newest: None,
            stats: ParseStats::default(),
        }
    }

    /// The first pass runs at `at` (Unix micros), unless the logs began earlier.
    pub fn start_at(&mut self, at: i64) {
        self.next_pass.get_or_insert(at);
    }

    /// What the parser made of the logs so far: frames, events, bad frames.
    pub fn parse_stats(&self) -> &ParseStats {
        &self.stats
    }

    /// Replays one chunk of logs (whole frames or lines, in time order across chunks).
    pub async fn feed(&mut self, chunk: &[u8]) {
        let mut events = parse_body(chunk);
        let mut batch: Vec<Event<'_>> = Vec::with_capacity(4096);
        for event in events.by_ref() {
            let ts = event.meta.timestamp;
            let first = ts
                .div_euclid(self.step)
                .saturating_add(1)
                .saturating_mul(self.step);
            let next = *self.next_pass.get_or_insert(first);
            if ts >= next {
                self.ingest(&mut batch);
                self.run_until(ts).await;
            }
            batch.push(event);
        }
        self.ingest(&mut batch);
        self.stats.merge(events.stats());
    }

    fn ingest(&mut self, batch: &mut Vec<Event<'_>>) {
        let Some(newest) = batch.iter().map(|e| e.meta.timestamp).max() else {
            return;
        };
        let now = self.newest.map_or(newest, |n| n.max(newest));
        self.newest = Some(now);
        match self.stores.as_slice() {
            [one] => {
                one.ingest_at(&mut batch.drain(..), now);
            }
            many => {
                for store in many {
                    store.ingest_at(&mut batch.iter().copied(), now);
                }
                batch.clear();
            }
        }
    }

    /// Runs every pass due up to and including `until` (Unix micros).
    pub async fn run_until(&mut self, until: i64) {
        while let Some(at) = self.next_pass.filter(|at| *at <= until) {
            self.clock.set(at);
            let tick = self.clock.tick();
            for lane in &mut self.lanes {
                lane.pass(tick).await;
            }
            if at.saturating_sub(self.last_flush) >= FLUSH_EVERY {
                for store in &self.stores {
                    drop(store.flush(at));
                }
                self.last_flush = at;
            }
            self.next_pass = Some(at.saturating_add(self.step));
        }
    }

    /// Runs the passes left up to the newest event (or `until`, when later) and hands the runs back.
    pub async fn finish(mut self, until: Option<i64>) -> Vec<Lane> {
        let end = match (self.newest, until) {
            (Some(a), Some(b)) => a.max(b),
            (a, b) => a.or(b).unwrap_or(i64::MIN),
        };
        self.run_until(end).await;
        self.lanes
    }
}
