//! Remembers recent `Logplex-Frame-Id`s so a retried batch is counted once. Bounded (capacity, oldest
//! forgotten first) and with a TTL. An id is remembered only once its body was taken: a failed attempt stays
//! retryable. While an attempt is in progress, a concurrent retry of the same id is told so (the drain answers
//! 503 and the sender tries again later, by which time the first attempt has either landed or failed).
//!
//! It stores a keyed 64-bit hash of each id, not the id: about 40 bytes per remembered id.
//!
//! Several instances behind one load balancer can share what they took ([`RemoteFrameIds`], set with
//! [`FrameIds::share`]): an id fresh here is then also checked there, so a retry that lands on another instance
//! counts once. The local map stays the first filter; when the shared memory cannot answer, the id counts as
//! fresh (the body is never refused for it).

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

/// What the shared memory of Frame-Ids says of an id fresh here.
pub enum RemoteBegin {
    /// Taken by no instance: marked in progress there.
    Fresh,
    /// Another instance took it.
    Duplicate,
    /// Another instance is ingesting it now.
    InProgress,
    /// No answer: count it here.
    Unavailable,
}

/// What [`RemoteFrameIds::begin`] gives: a future of its answer.
pub type RemoteAnswer<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = RemoteBegin> + Send + 'a>>;

/// Frame-Ids shared by several drain instances (Redis, for the shared windows).
pub trait RemoteFrameIds: Send + Sync {
    /// Looks `id` up and, when no instance took it, marks it in progress. Awaited on the drain's worker, so it
    /// must not block.
    fn begin<'a>(&'a self, id: &'a [u8]) -> RemoteAnswer<'a>;
    /// The body of `id` was taken: remember it for the TTL.
    fn commit(&self, id: &[u8]);
    /// The attempt failed: forget the in-progress mark.
    fn abandon(&self, id: &[u8]);
}

/// The set of recent Frame-Ids.
#[derive(Clone)]
pub struct FrameIds {
    inner: Arc<Mutex<Inner>>,
    hasher: RandomState,
    capacity: usize,
    ttl: Duration,
    remote: Option<Arc<dyn RemoteFrameIds>>,
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
            remote: None,
        }
    }

    /// Also checks every fresh id in `remote`, shared with other instances.
    pub fn share(&mut self, remote: Arc<dyn RemoteFrameIds>) {
        self.remote = Some(remote);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data (every update is a single insert/remove).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Looks an id up in this instance's memory and, when it is new, marks it in progress.
    pub fn begin(&self, id: &[u8]) -> Begin {
        self.begin_at(id, Instant::now())
    }

    /// [`FrameIds::begin`], then, for an id fresh here, the memory shared with other instances (when set).
    pub async fn begin_shared(&self, id: &[u8]) -> Begin {
        let local = self.begin(id);
        let Some(remote) = &self.remote else {
            return local;
        };
        let mut attempt = match local {
            Begin::Fresh(attempt) => attempt,
            other => return other,
        };
        match remote.begin(id).await {
            RemoteBegin::Fresh => {
                attempt.remote = Some(id.to_vec());
                Begin::Fresh(attempt)
            }
            RemoteBegin::Unavailable => Begin::Fresh(attempt),
            RemoteBegin::Duplicate => {
                // Taken elsewhere: remembered here too, so the next retry does not ask again.
                attempt.commit();
                Begin::Duplicate
            }
            RemoteBegin::InProgress => Begin::InProgress,
        }
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
                    remote: None,
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
    /// The id, when the shared memory marked it in progress for this attempt.
    remote: Option<Vec<u8>>,
}

impl Attempt {
    pub fn commit(mut self) {
        self.committed = true;
        self.ids.commit(self.key, Instant::now());
        if let (Some(id), Some(remote)) = (self.remote.take(), &self.ids.remote) {
            remote.commit(&id);
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.committed {
            self.ids.abandon(self.key);
            if let (Some(id), Some(remote)) = (self.remote.take(), &self.ids.remote) {
                remote.abandon(&id);
            }
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

    /// A shared memory that has taken "T" and is ingesting "P".
    struct Elsewhere;
    impl RemoteFrameIds for Elsewhere {
        fn begin<'a>(&'a self, id: &'a [u8]) -> RemoteAnswer<'a> {
            let answer = match id {
                b"T" => RemoteBegin::Duplicate,
                b"P" => RemoteBegin::InProgress,
                b"D" => RemoteBegin::Unavailable,
                _ => RemoteBegin::Fresh,
            };
            Box::pin(std::future::ready(answer))
        }
        fn commit(&self, _: &[u8]) {}
        fn abandon(&self, _: &[u8]) {}
    }

    #[tokio::test]
    async fn shared_ids_taken_elsewhere_are_duplicates_here() {
        let mut ids = FrameIds::new(10, Duration::from_secs(60));
        ids.share(Arc::new(Elsewhere));
        assert!(matches!(ids.begin_shared(b"T").await, Begin::Duplicate));
        assert!(matches!(ids.begin_shared(b"P").await, Begin::InProgress));
        // Not remembered here: the next retry asks again.
        assert!(matches!(ids.begin_shared(b"P").await, Begin::InProgress));
        fresh(ids.begin_shared(b"D").await).commit();
        assert!(matches!(ids.begin_shared(b"D").await, Begin::Duplicate));
        fresh(ids.begin_shared(b"N").await).commit();
        assert_eq!(ids.len(), 3);
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
