//! A bounded queue that never blocks the producer: when full, the OLDEST item is dropped and counted.
//!
//! Producers (the flush task) call [`DropOldest::push`], which takes a short lock and returns at once. One
//! consumer (an outlet's sender task) awaits [`DropOldest::pop`]. After [`DropOldest::close`], `pop` drains what
//! is left and then returns `None`. It knows nothing of what the items are.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::Notify;

pub struct DropOldest<T> {
    items: Mutex<State<T>>,
    notify: Notify,
    capacity: usize,
    dropped: AtomicU64,
}

struct State<T> {
    queue: VecDeque<T>,
    closed: bool,
}

impl<T> DropOldest<T> {
    /// A queue of at most `capacity` items (at least 1).
    pub fn new(capacity: usize) -> Self {
        DropOldest {
            items: Mutex::new(State {
                queue: VecDeque::new(),
                closed: false,
            }),
            notify: Notify::new(),
            capacity: capacity.max(1),
            dropped: AtomicU64::new(0),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds an item, dropping the oldest when full. Items pushed after `close` are dropped and counted.
    pub fn push(&self, item: T) {
        {
            let mut state = self.state();
            if state.closed {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            if state.queue.len() >= self.capacity {
                state.queue.pop_front();
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            state.queue.push_back(item);
        }
        self.notify.notify_one();
    }

    /// The next item; `None` once closed and empty.
    pub async fn pop(&self) -> Option<T> {
        loop {
            let notified = self.notify.notified();
            {
                let mut state = self.state();
                if let Some(item) = state.queue.pop_front() {
                    return Some(item);
                }
                if state.closed {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// No more pushes; `pop` returns what is left, then `None`.
    pub fn close(&self) {
        self.state().closed = true;
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    /// Items dropped because the queue was full (or closed).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn len(&self) -> usize {
        self.state().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drops_oldest_when_full_and_drains_after_close() {
        let q = DropOldest::new(2);
        q.push(1);
        q.push(2);
        q.push(3);
        assert_eq!(q.dropped(), 1);
        q.close();
        q.push(4);
        assert_eq!(q.dropped(), 2);
        assert_eq!(q.pop().await, Some(2));
        assert_eq!(q.pop().await, Some(3));
        assert_eq!(q.pop().await, None);
    }

    #[tokio::test]
    async fn pop_waits_for_a_push() {
        let q = std::sync::Arc::new(DropOldest::new(4));
        let consumer = tokio::spawn({
            let q = q.clone();
            async move { q.pop().await }
        });
        tokio::task::yield_now().await;
        q.push("x");
        let got = tokio::time::timeout(std::time::Duration::from_secs(20), consumer)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, Some("x"));
    }
}
