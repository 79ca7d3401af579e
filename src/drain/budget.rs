//! Byte budgets shared by every connection: one for bodies being received (wire bytes), one for bodies being
//! decoded and parsed. A [`Reservation`] grows chunk by chunk as bytes arrive or are decompressed and gives its
//! bytes back when dropped, so a slow sender holds only what it has sent. It counts bytes; it allocates nothing.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// At most `limit` bytes held at once, across every [`Reservation`] taken from it.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    held: AtomicUsize,
}

impl Budget {
    pub fn new(limit: usize) -> Arc<Budget> {
        Arc::new(Budget {
            limit,
            held: AtomicUsize::new(0),
        })
    }

    /// Bytes held now by every reservation.
    pub fn held(&self) -> usize {
        self.held.load(Relaxed)
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// An empty reservation, to grow with [`Reservation::try_grow`].
    pub fn reserve(self: &Arc<Self>) -> Reservation {
        Reservation {
            budget: self.clone(),
            held: 0,
        }
    }

    fn try_take(&self, n: usize) -> bool {
        self.held
            .fetch_update(Relaxed, Relaxed, |held| {
                held.checked_add(n).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }
}

/// Bytes held from a [`Budget`] until dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<Budget>,
    held: usize,
}

impl Reservation {
    /// Holds `n` more bytes; `false` (and nothing more held) when the budget has not that much left.
    pub fn try_grow(&mut self, n: usize) -> bool {
        if !self.budget.try_take(n) {
            return false;
        }
        self.held += n;
        true
    }

    /// Bytes this reservation holds.
    pub fn held(&self) -> usize {
        self.held
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.held, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_limit_and_give_back_on_drop() {
        let b = Budget::new(100);
        let mut a = b.reserve();
        let mut c = b.reserve();
        assert!(a.try_grow(60));
        assert!(!c.try_grow(41));
        assert_eq!((c.held(), b.held()), (0, 60));
        assert!(c.try_grow(40));
        assert!(!a.try_grow(1));
        assert_eq!(b.held(), 100);
        drop(a);
        assert_eq!(b.held(), 40);
        assert!(c.try_grow(60));
        drop(c);
        assert_eq!(b.held(), 0);
        assert!(!b.reserve().try_grow(usize::MAX));
    }
}
