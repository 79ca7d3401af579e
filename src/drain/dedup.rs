//! Remembers recent `Logplex-Frame-Id`s so a retried batch is counted once. Bounded (capacity, oldest
//! forgotten first) and with a TTL. An id is remembered only once its body was taken: a failed attempt stays
//! retryable. While an attempt is in progress, a concurrent retry of the same id is told so (the drain answers
//! 503 and the sender tries again later, by which time the first attempt has either landed or failed).
//!
//! It stores a keyed 64-bit hash of each id, not the id: about 40 bytes per remembered id.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What [`FrameIds::begin`] found.
pub enum Begin {
    /// A new id: ingest the body, then [`Attempt::commit`]. Dropping the attempt forgets it.
    Fresh(Attempt),
    /// Already taken within the TTL: count it, answer 2xx, ingest nothing.
    Duplicate,
    /// Another request with this id is being ingested right now.
    InProgress,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    InProgress,
    Done(Instant),
}

struct Inner {
    states: HashMap<u64, State>,
    /// Committed ids in commit order, for expiry and eviction.
    order: VecDeque<(u64, Instant)>,
}

/// The set of recent Frame-Ids.
#[derive(Clone)]
pub struct FrameIds {
    inner: Arc<Mutex<Inner>>,
    hasher: RandomState,
    capacity: usize,
    ttl: Duration,
}

impl FrameIds {
    pub fn new(capacity: usize, ttl: Duration) -> FrameIds {
        FrameIds {
            inner: Arc::new(Mutex::new(Inner {
                states: HashMap::new(),
                order: VecDeque::new(),
            })),
            hasher: RandomState::new(),
            capacity,
            ttl,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data (every update is a single insert/remove).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Looks an id up and, when it is new, marks it in progress.
    pub fn begin(&self, id: &[u8]) -> Begin {
        self.begin_at(id, Instant::now())
    }

    fn begin_at(&self, id: &[u8], now: Instant) -> Begin {
        let key = self.hasher.hash_one(id);
        let mut inner = self.lock();
        expire(&mut inner, now, self.ttl);
        match inner.states.get(&key) {
            Some(State::InProgress) => Begin::InProgress,
            Some(State::Done(_)) => Begin::Duplicate,
            None => {
                inner.states.insert(key, State::InProgress);
                Begin::Fresh(Attempt {
                    ids: self.clone(),
                    key,
                    committed: false,
                })
            }
        }
    }

    /// Committed ids currently remembered.
    pub fn len(&self) -> usize {
        self.lock().order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn commit(&self, key: u64, now: Instant) {
        let mut inner = self.lock();
        inner.states.insert(key, State::Done(now));
        inner.order.push_back((key, now));
        while inner.order.len() > self.capacity {
            if let Some((old, at)) = inner.order.pop_front() {
                forget_if_done_at(&mut inner, old, at);
            }
        }
    }

    fn abandon(&self, key: u64) {
        let mut inner = self.lock();
        if inner.states.get(&key) == Some(&State::InProgress) {
            inner.states.remove(&key);
        }
    }
}

fn expire(inner: &mut Inner, now: Instant, ttl: Duration) {
    while let Some(&(key, at)) = inner.order.front() {
        if now.saturating_duration_since(at) < ttl {
            break;
        }
        inner.order.pop_front();
        forget_if_done_at(inner, key, at);
    }
}

/// Removes `key` only if its state is the commit recorded at `at` (a later re-commit keeps it).
fn forget_if_done_at(inner: &mut Inner, key: u64, at: Instant) {
    if inner.states.get(&key) == Some(&State::Done(at)) {
        inner.states.remove(&key);
    }
}

/// An id being ingested. [`Attempt::commit`] remembers it; dropping it without committing forgets it.
pub struct Attempt {
    ids: FrameIds,
    key: u64,
    committed: bool,
}

impl Attempt {
    pub fn commit(mut self) {
        self.committed = true;
        self.ids.commit(self.key, Instant::now());
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.committed {
            self.ids.abandon(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(b: Begin) -> Attempt {
        match b {
            Begin::Fresh(a) => a,
            Begin::Duplicate => panic!("duplicate"),
            Begin::InProgress => panic!("in progress"),
        }
    }

    #[test]
    fn commit_then_duplicate_and_abandon_stays_retryable() {
        let ids = FrameIds::new(10, Duration::from_secs(60));
        let a = fresh(ids.begin(b"A"));
        assert!(matches!(ids.begin(b"A"), Begin::InProgress));
        a.commit();
        assert!(matches!(ids.begin(b"A"), Begin::Duplicate));
        let b = fresh(ids.begin(b"B"));
        drop(b);
        let b = fresh(ids.begin(b"B"));
        b.commit();
        assert!(matches!(ids.begin(b"B"), Begin::Duplicate));
        assert_eq!(ids.len(), 2);
    }

    #[test]
    fn capacity_forgets_oldest() {
        let ids = FrameIds::new(3, Duration::from_secs(60));
        for id in ["1", "2", "3", "4"] {
            fresh(ids.begin(id.as_bytes())).commit();
        }
        assert_eq!(ids.len(), 3);
        assert!(matches!(ids.begin(b"4"), Begin::Duplicate));
        assert!(matches!(ids.begin(b"2"), Begin::Duplicate));
        fresh(ids.begin(b"1"));
    }

    #[test]
    fn ttl_expires() {
        let ids = FrameIds::new(100, Duration::from_secs(60));
        let t0 = Instant::now();
        fresh(ids.begin_at(b"A", t0)).commit();
        assert!(matches!(
            ids.begin_at(b"A", t0 + Duration::from_secs(30)),
            Begin::Duplicate
        ));
        fresh(ids.begin_at(b"A", t0 + Duration::from_secs(61)));
        assert_eq!(ids.len(), 0);
    }
}
