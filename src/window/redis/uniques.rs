//! `unique#` members seen since the last push, for Redis' own HyperLogLogs (`PFADD`): the local sketch of a
//! distinct count cannot be merged by Redis, its members can. Members are kept as 64-bit hashes, bounded per
//! step; past the bound they are counted in `dropped` and not shared.

use crate::logplex::{Event, EventKind};
use crate::window::hll::hash_member;
use crate::window::series::{write_key, MetricKind};
use std::collections::{HashMap, HashSet};

/// Most member hashes held between two pushes.
pub const MAX_MEMBERS: usize = 100_000;

/// Members by (bucket start, series key).
#[derive(Default)]
pub struct Members {
    by_series: HashMap<(i64, String), HashSet<u64>>,
    held: usize,
    pub dropped: u64,
}

impl Members {
    /// Records a `unique#` event into the bucket `bucket(ts)` says.
    pub fn record(&mut self, event: &Event<'_>, bucket: impl Fn(i64) -> Option<i64>) {
        let EventKind::Unique(u) = &event.kind else {
            return;
        };
        let Some(start) = bucket(event.meta.timestamp) else {
            return;
        };
        if self.held >= MAX_MEMBERS {
            self.dropped += 1;
            return;
        }
        let mut key = String::new();
        write_key(&mut key, MetricKind::Unique, u.name, u.source);
        if self
            .by_series
            .entry((start, key))
            .or_default()
            .insert(hash_member(&u.member.unescape()))
        {
            self.held += 1;
        }
    }

    /// Takes everything recorded: per bucket start, each series key with its member hashes.
    pub fn take(&mut self) -> HashMap<i64, Vec<(String, Vec<u64>)>> {
        self.held = 0;
        let mut out: HashMap<i64, Vec<(String, Vec<u64>)>> = HashMap::new();
        for ((start, key), members) in std::mem::take(&mut self.by_series) {
            out.entry(start)
                .or_default()
                .push((key, members.into_iter().collect()));
        }
        out
    }
}

impl Members {
    /// Adds what one body recorded (collected without the lock).
    pub fn absorb(&mut self, other: Members) {
        self.dropped += other.dropped;
        for (k, members) in other.by_series {
            let set = self.by_series.entry(k).or_default();
            for m in members {
                if self.held >= MAX_MEMBERS {
                    self.dropped += 1;
                } else if set.insert(m) {
                    self.held += 1;
                }
            }
        }
    }
}
