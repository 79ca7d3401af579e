//! The shared windows: a [`RedisStore`] lets several drain instances behave as one.
//!
//! Each instance ingests into a local in-memory [`Store`] used only as an aggregator. Once per resolution step
//! it swaps in a fresh one and pushes the old one's buckets to Redis (`push.rs`: one script call per bucket,
//! with this instance's sequence number, so a repeated push is a no-op), then claims the closed buckets for
//! its outlets (`claim.rs`: exactly one instance exports each) and reads the merged retained buckets back for
//! the scaler (`view.rs`). Redis traffic grows with the number of buckets, series and instances, never with
//! the log rate.
//!
//! When Redis is down or slow, the drain goes on answering and aggregating: pushes are held (bounded by
//! `shared.max_held_pushes`, the oldest dropped and counted) and sent again in order when Redis answers; the
//! scaler's reads fail with [`ReadError`] once the view is two steps old, so inputs go STALE then OUTAGE and
//! nothing scales down on missing data.

mod claim;
mod encode;
mod push;
mod uniques;
mod view;

use crate::drain::MetricsPage;
use crate::logplex::Event;
use crate::shared::{Keys, Redis, SharedConfig};
use crate::window::store::{micros, now_micros, Store, StoreStats};
use crate::window::{
    EventSink, FlushedBucket, IngestCounts, Query, ReadError, Reading, Snapshot, WindowConfig,
    WindowReader, WindowStore,
};
use claim::Claimed;
use push::{Held, Push};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use uniques::Members;

/// Running figures of the shared windows, for `/metrics` and `/status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SharedStats {
    /// Pushes Redis applied.
    pub pushes: u64,
    /// Pushes Redis had already applied (a repeat after a lost answer): not counted twice.
    pub pushes_repeated: u64,
    /// Push attempts that failed (Redis down, slow or refusing).
    pub push_failures: u64,
    /// Pushes waiting for Redis now.
    pub pushes_held: usize,
    /// Pushes dropped because `shared.max_held_pushes` were already held.
    pub pushes_dropped: u64,
    /// `unique#` members not shared because a step held too many.
    pub members_dropped: u64,
    /// Buckets this instance claimed and handed to its outlets.
    pub exports: u64,
    /// Buckets another instance had exported (or was exporting) when this one tried.
    pub exports_elsewhere: u64,
    /// Steps whose merged view could not be read.
    pub view_failures: u64,
}

struct Shared {
    stats: SharedStats,
    /// Claimed buckets waiting for the outlets' next flush.
    exports: Vec<FlushedBucket>,
    /// Ingest figures of the local aggregators already swapped out.
    swapped: StoreStats,
}

/// Windows shared through Redis. Share it as `Arc<RedisStore>`; run [`RedisStore::run_until`] once.
pub struct RedisStore {
    cfg: WindowConfig,
    shared_cfg: SharedConfig,
    redis: Arc<Redis>,
    keys: Keys,
    instance: String,
    /// The aggregator ingest writes into; a read guard is held during each body's ingest, so the step's swap
    /// waits for bodies in progress.
    local: RwLock<Arc<Store>>,
    members: Mutex<Members>,
    shared: Mutex<Shared>,
    view: RwLock<Option<view::View>>,
    reserved: Mutex<Vec<Box<[u8]>>>,
    /// Read the merged view every step (only the scaler needs it).
    reads: bool,
}

impl RedisStore {
    /// `reads`: fetch the merged view each step (set when controllers read the windows).
    pub fn new(
        cfg: WindowConfig,
        shared_cfg: SharedConfig,
        redis: Arc<Redis>,
        keys: Keys,
        instance: String,
        reads: bool,
    ) -> RedisStore {
        RedisStore {
            local: RwLock::new(Arc::new(Store::new(cfg.clone()))),
            cfg,
            shared_cfg,
            redis,
            keys,
            instance,
            members: Mutex::new(Members::default()),
            shared: Mutex::new(Shared {
                stats: SharedStats::default(),
                exports: Vec::new(),
                swapped: StoreStats::default(),
            }),
            view: RwLock::new(None),
            reserved: Mutex::new(Vec::new()),
            reads,
        }
    }

    /// This instance's id in Redis.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn redis(&self) -> &Arc<Redis> {
        &self.redis
    }

    /// App metrics may not land on names starting with `segment` (see [`Store::reserve_namespace`]).
    pub fn reserve_namespace(&self, segment: &str) {
        if let Some(folded) = crate::window::flush::fold_segment(segment) {
            let mut reserved = self.reserved.lock().unwrap_or_else(|p| p.into_inner());
            if !reserved.contains(&folded) {
                reserved.push(folded);
            }
        }
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The shared windows' own figures.
    pub fn shared_stats(&self) -> SharedStats {
        self.shared().stats
    }

    fn resolution(&self) -> i64 {
        micros(self.cfg.resolution).max(1_000)
    }

    fn ttl_ms(&self) -> u64 {
        // A little past the retention, so a bucket outlives every read of it.
        (self.cfg.retention + self.cfg.resolution * 2 + self.cfg.grace).as_millis() as u64
    }

    /// Longest time a view is answered from.
    fn max_view_age(&self) -> Duration {
        self.cfg.resolution * 2 + self.shared_cfg.timeout * 2
    }

    /// Steps until `stop`, then one last step (the last partial buckets pushed, closed buckets exported).
    pub async fn run_until(self: Arc<Self>, stop: impl Future<Output = ()>) {
        let mut pusher = Pusher::default();
        let mut tick = tokio::time::interval(self.cfg.resolution);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => self.step(&mut pusher, now_micros()).await,
            }
        }
        self.step(&mut pusher, now_micros()).await;
    }

    /// One step: push the local deltas (and any held), claim closed buckets, read the merged view.
    async fn step(&self, pusher: &mut Pusher, now: i64) {
        self.take_deltas(pusher, now);
        let pushed = self.push_held(pusher).await;
        if pushed {
            self.export_closed(pusher, now).await;
        }
        if self.reads {
            match view::fetch(&self.redis, &self.keys, &self.cfg, now_micros()).await {
                Ok(store) => {
                    *self.view.write().unwrap_or_else(|p| p.into_inner()) = Some(view::View {
                        store,
                        fetched: std::time::Instant::now(),
                    })
                }
                Err(e) => {
                    self.shared().stats.view_failures += 1;
                    tracing::debug!(error = %e, "shared windows: reading the merged view failed");
                }
            }
        }
    }

    /// Swaps in a fresh aggregator and turns the old one's buckets into held pushes.
    fn take_deltas(&self, pusher: &mut Pusher, now: i64) {
        let old = {
            let mut local = self.local.write().unwrap_or_else(|p| p.into_inner());
            std::mem::replace(&mut *local, Arc::new(Store::new(self.cfg.clone())))
        };
        let members = self
            .members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let (buckets, last_ingest) = {
            let mut inner = old.lock();
            (std::mem::take(&mut inner.buckets), inner.last_ingest)
        };
        let stats = old.stats();
        let mut deltas: BTreeMap<i64, Push> = BTreeMap::new();
        let at = last_ingest.unwrap_or(now);
        for (start, mut bucket) in buckets {
            let mut aggs = std::mem::take(&mut bucket.pending);
            if let Some(r) = bucket.retained.router.take() {
                match aggs.router.as_deref_mut() {
                    Some(mine) => mine.merge(&r),
                    None => aggs.router = Some(r),
                }
            }
            for (k, a) in std::mem::take(&mut bucket.retained.series) {
                aggs.merge_series(k, a);
            }
            let ops = encode::encode(&aggs);
            deltas.insert(start, Push::new(start, at, ops));
        }
        for (start, series) in members {
            let push = deltas
                .entry(start)
                .or_insert_with(|| Push::new(start, at, Vec::new()));
            for (key, _) in &series {
                push.ops
                    .push(encode::Op::Int(encode::series_field("u", key), 0));
            }
            push.uniques = series;
        }
        {
            let mut shared = self.shared();
            let s = &mut shared.swapped;
            s.ingest.add(&stats.ingest);
            s.logplex_dropped += stats.logplex_dropped;
            s.late_after_flush += stats.late_after_flush;
            s.router_keys_refused += stats.router_keys_refused;
            shared.stats.members_dropped += std::mem::take(
                &mut self
                    .members
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .dropped,
            );
        }
        for (_, mut push) in deltas {
            if push.ops.is_empty() && push.uniques.is_empty() {
                continue;
            }
            pusher.seq += 1;
            push.seq = pusher.seq;
            pusher.held.hold(push, self.shared_cfg.max_held_pushes);
        }
        let mut shared = self.shared();
        shared.stats.pushes_held = pusher.held.len();
        shared.stats.pushes_dropped = pusher.held.dropped;
    }

    /// Sends held pushes in order; true when none is left.
    async fn push_held(&self, pusher: &mut Pusher) -> bool {
        let ttl = self.ttl_ms();
        while let Some(push) = pusher.held.front() {
            match push
                .send(&self.redis, &self.keys, &self.instance, ttl)
                .await
            {
                Ok(applied) => {
                    pusher.held.pop();
                    let mut shared = self.shared();
                    if applied {
                        shared.stats.pushes += 1;
                    } else {
                        shared.stats.pushes_repeated += 1;
                    }
                    shared.stats.pushes_held = pusher.held.len();
                }
                Err(e) => {
                    let mut shared = self.shared();
                    shared.stats.push_failures += 1;
                    shared.stats.pushes_held = pusher.held.len();
                    if pusher.logged_failure.is_none() {
                        tracing::warn!(error = %e, held = pusher.held.len(), "shared windows: Redis push failed; holding partial buckets");
                        pusher.logged_failure = Some(());
                    }
                    return false;
                }
            }
        }
        if pusher.logged_failure.take().is_some() {
            tracing::info!("shared windows: Redis answers again; held partial buckets pushed");
        }
        true
    }

    /// Claims every bucket closed long enough for every instance to have pushed its part.
    async fn export_closed(&self, pusher: &mut Pusher, now: i64) {
        let res = self.resolution();
        let settle = 2 * res + micros(self.cfg.grace) + micros(self.shared_cfg.timeout);
        let last = (now - settle).div_euclid(res) * res;
        let oldest = view::retained_starts(&self.cfg, now)
            .first()
            .copied()
            .unwrap_or(last);
        let mut next = pusher.next_claim.unwrap_or(oldest).max(oldest);
        while next <= last {
            pusher.unsettled.insert(next);
            next += res;
        }
        pusher.next_claim = Some(next);
        pusher.unsettled.retain(|s| *s >= oldest);
        let hold_ms = self.shared_cfg.lease.as_millis() as u64;
        let reserved = self
            .reserved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let starts: Vec<i64> = pusher.unsettled.iter().copied().collect();
        for start in starts {
            let claimed = claim::claim(
                &self.redis,
                &self.keys,
                &self.instance,
                start,
                hold_ms,
                &reserved,
            )
            .await;
            match claimed {
                Ok(Claimed::Won(bucket)) => {
                    {
                        let mut shared = self.shared();
                        if let Some(b) = bucket {
                            shared.stats.exports += 1;
                            shared.exports.push(b);
                        }
                    }
                    if claim::mark_done(&self.redis, &self.keys, start, self.ttl_ms())
                        .await
                        .is_err()
                    {
                        // The claim expires after a lease; the bucket is ours already and not sent twice
                        // from here: another instance would export it again only if this one died.
                    }
                    pusher.unsettled.remove(&start);
                }
                Ok(Claimed::Done) => {
                    self.shared().stats.exports_elsewhere += 1;
                    pusher.unsettled.remove(&start);
                }
                Ok(Claimed::Held) => {}
                Err(_) => return,
            }
        }
    }
}

/// What only the step task touches.
#[derive(Default)]
struct Pusher {
    seq: u64,
    held: Held,
    next_claim: Option<i64>,
    /// Closed buckets not yet known exported.
    unsettled: BTreeSet<i64>,
    logged_failure: Option<()>,
}

/// Where a `unique#` member of a body goes: its bucket as the local store places it (clamped from the future,
/// dropped when older than the retention). The members are kept for the next push's PFADD (the local store
/// keeps only its HyperLogLog registers).
struct MemberBuckets {
    res: i64,
    oldest: i64,
    latest: i64,
    now: i64,
}

impl MemberBuckets {
    fn record(&self, members: &mut Option<Members>, e: &Event<'_>) {
        if matches!(e.kind, crate::logplex::EventKind::Unique(_)) {
            members
                .get_or_insert_with(Members::default)
                .record(e, |ts| {
                    let ts = if ts > self.latest { self.now } else { ts };
                    let start = ts.div_euclid(self.res) * self.res;
                    (start >= self.oldest).then_some(start)
                });
        }
    }
}

impl RedisStore {
    fn member_buckets(&self, now: i64) -> MemberBuckets {
        let res = self.resolution();
        MemberBuckets {
            res,
            oldest: (now - micros(self.cfg.retention)).div_euclid(res) * res,
            latest: now + micros(self.cfg.max_skew),
            now,
        }
    }

    fn keep_members(&self, members: Option<Members>) {
        if let Some(m) = members {
            self.members
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .absorb(m);
        }
    }
}

impl EventSink for RedisStore {
    fn ingest(&self, events: &mut dyn Iterator<Item = Event<'_>>, now: i64) -> IngestCounts {
        let local = self.local.read().unwrap_or_else(|p| p.into_inner());
        let buckets = self.member_buckets(now);
        let mut members = None;
        let counts = local.ingest_at(
            &mut events.inspect(|e| buckets.record(&mut members, e)),
            now,
        );
        self.keep_members(members);
        counts
    }

    fn try_ingest(&self, events: &[Event<'_>], now: i64) -> Option<IngestCounts> {
        let local = match self.local.try_read() {
            Ok(local) => local,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        let counts = local.try_ingest_at(events, now)?;
        let buckets = self.member_buckets(now);
        let mut members = None;
        for e in events {
            buckets.record(&mut members, e);
        }
        self.keep_members(members);
        Some(counts)
    }
}

impl WindowReader for RedisStore {
    fn read(&self, query: &Query) -> Result<Reading, ReadError> {
        let view = self.view.read().unwrap_or_else(|p| p.into_inner());
        view::read(view.as_ref(), query, self.max_view_age())
    }
}

impl WindowStore for RedisStore {
    fn config(&self) -> &WindowConfig {
        &self.cfg
    }

    fn stats(&self) -> StoreStats {
        let local = self.local.read().unwrap_or_else(|p| p.into_inner()).stats();
        let swapped = self.shared().swapped;
        let mut ingest = swapped.ingest;
        ingest.add(&local.ingest);
        StoreStats {
            ingest,
            logplex_dropped: swapped.logplex_dropped + local.logplex_dropped,
            late_after_flush: swapped.late_after_flush + local.late_after_flush,
            router_keys_refused: swapped.router_keys_refused + local.router_keys_refused,
            ..local
        }
    }

    fn flush(&self, _now: i64) -> Snapshot {
        Snapshot {
            resolution: self.cfg.resolution,
            buckets: std::mem::take(&mut self.shared().exports),
        }
    }

    fn flush_all(&self, now: i64) -> Snapshot {
        self.flush(now)
    }
}

impl MetricsPage for RedisStore {
    fn render(&self, out: &mut String) {
        let s = self.shared_stats();
        let up = u64::from(self.redis.down().is_none());
        for (name, kind, help, v) in [
            (
                "shared_redis_up",
                "gauge",
                "1 while the newest Redis call succeeded.",
                up,
            ),
            (
                "shared_pushes_total",
                "counter",
                "Partial buckets pushed to Redis.",
                s.pushes,
            ),
            (
                "shared_pushes_repeated_total",
                "counter",
                "Pushes Redis had already applied (not counted twice).",
                s.pushes_repeated,
            ),
            (
                "shared_push_failures_total",
                "counter",
                "Push attempts that failed.",
                s.push_failures,
            ),
            (
                "shared_pushes_held",
                "gauge",
                "Pushes waiting for Redis.",
                s.pushes_held as u64,
            ),
            (
                "shared_pushes_dropped_total",
                "counter",
                "Pushes dropped past shared.max_held_pushes.",
                s.pushes_dropped,
            ),
            (
                "shared_members_dropped_total",
                "counter",
                "unique# members not shared (too many in one step).",
                s.members_dropped,
            ),
            (
                "shared_exports_total",
                "counter",
                "Buckets this instance claimed and exported.",
                s.exports,
            ),
            (
                "shared_exports_elsewhere_total",
                "counter",
                "Buckets exported by another instance.",
                s.exports_elsewhere,
            ),
            (
                "shared_view_failures_total",
                "counter",
                "Steps whose merged view could not be read.",
                s.view_failures,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP drainscale_{name} {help}\n# TYPE drainscale_{name} {kind}\ndrainscale_{name} {v}"
            );
        }
    }
}
