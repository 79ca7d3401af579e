//! One handler's delivery lane: a bounded queue (drop-oldest), deduplication of the same (controller, input,
//! kind, message) within `repeat_after` (messages compared by their [`fingerprint`], so a fresh request id
//! does not make a repeat new), and a task that sends one event at a time under a timeout. Pushing
//! never waits; failures are logged and counted, never returned to the scaler.
//!
//! The sending task starts with the first event pushed inside a tokio runtime.

use super::config::DeliveryConfig;
use super::repeat::fingerprint;
use super::{ErrorEvent, ErrorHandler, EventKind, HandlerError};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A lane's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaneStats {
    pub handler: String,
    /// Delivered (the receiver answered 2xx).
    pub sent: u64,
    /// Failed (error status, network error or timeout).
    pub failed: u64,
    /// Not queued: the same event was queued less than `repeat_after` ago.
    pub deduplicated: u64,
    /// Dropped from a full queue (the oldest goes).
    pub dropped: u64,
    /// Not sent: the handler's own rate limit (e-mail's `max_per_hour`) was reached.
    pub rate_limited: u64,
}

/// At most this many distinct events are remembered for deduplication.
const MAX_REMEMBERED: usize = 1024;

type DedupeKey = (String, Option<String>, EventKind, String);

struct Shared {
    handler: Arc<dyn ErrorHandler>,
    config: DeliveryConfig,
    queue: Mutex<VecDeque<ErrorEvent>>,
    wake: Notify,
    seen: Mutex<HashMap<DedupeKey, Instant>>,
    started: AtomicBool,
    sent: AtomicU64,
    failed: AtomicU64,
    deduplicated: AtomicU64,
    dropped: AtomicU64,
    rate_limited: AtomicU64,
}

/// One handler with its queue and sending task.
pub struct Lane {
    shared: Arc<Shared>,
}

impl Lane {
    pub fn new(handler: Arc<dyn ErrorHandler>, config: DeliveryConfig) -> Self {
        Lane {
            shared: Arc::new(Shared {
                handler,
                config,
                queue: Mutex::new(VecDeque::new()),
                wake: Notify::new(),
                seen: Mutex::new(HashMap::new()),
                started: AtomicBool::new(false),
                sent: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                deduplicated: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                rate_limited: AtomicU64::new(0),
            }),
        }
    }

    pub fn stats(&self) -> LaneStats {
        let s = &self.shared;
        LaneStats {
            handler: s.handler.name(),
            sent: s.sent.load(Ordering::Relaxed),
            failed: s.failed.load(Ordering::Relaxed),
            deduplicated: s.deduplicated.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            rate_limited: s.rate_limited.load(Ordering::Relaxed),
        }
    }

    /// Queues an event unless it repeats one queued within `repeat_after`. Never waits.
    pub fn push(&self, event: ErrorEvent) {
        let s = &self.shared;
        let key = (
            event.controller.clone(),
            event.input.clone(),
            event.kind,
            fingerprint(&event.message),
        );
        {
            let now = Instant::now();
            let mut seen = s.seen.lock().unwrap_or_else(|p| p.into_inner());
            let repeat = s.config.repeat_after;
            seen.retain(|_, at| now.duration_since(*at) < repeat);
            if seen.contains_key(&key) {
                s.deduplicated.fetch_add(1, Ordering::Relaxed);
                return;
            }
            if seen.len() >= MAX_REMEMBERED {
                // Messages that never repeat (request ids...) must not grow this without bound: forget the
                // oldest, at worst an event is sent again early.
                if let Some(oldest) = seen
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(k, _)| k.clone())
                {
                    seen.remove(&oldest);
                }
            }
            seen.insert(key, now);
        }
        {
            let mut q = s.queue.lock().unwrap_or_else(|p| p.into_inner());
            if q.len() >= s.config.queue.max(1) {
                q.pop_front();
                let n = s.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(handler = %s.handler.name(), "error handler queue full: dropped the oldest event ({n} dropped so far)");
            }
            q.push_back(event);
        }
        self.start();
        s.wake.notify_one();
    }

    fn start(&self) {
        if self.shared.started.load(Ordering::Acquire) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.shared.started.swap(true, Ordering::AcqRel) {
            return;
        }
        rt.spawn(run(Arc::downgrade(&self.shared)));
    }
}

/// Sends queued events one by one until the lane is dropped.
async fn run(shared: std::sync::Weak<Shared>) {
    loop {
        let Some(s) = shared.upgrade() else { return };
        let next = s
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front();
        let Some(event) = next else {
            // Wait for a push, but look again now and then so a dropped lane ends the task.
            let _ = tokio::time::timeout(Duration::from_secs(5), s.wake.notified()).await;
            continue;
        };
        let name = s.handler.name();
        match tokio::time::timeout(s.config.timeout, s.handler.send(&event)).await {
            Ok(Ok(())) => {
                s.sent.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(handler = %name, kind = event.kind.as_str(), "error event sent");
            }
            Ok(Err(e @ HandlerError::RateLimited { .. })) => {
                let n = s.rate_limited.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::info!(handler = %name, kind = event.kind.as_str(), "{e} ({n} rate limited so far)");
            }
            Ok(Err(e)) => {
                s.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(handler = %name, kind = event.kind.as_str(), "error handler failed: {e}");
            }
            Err(_) => {
                s.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(handler = %name, kind = event.kind.as_str(), "error handler timed out after {:?}", s.config.timeout);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaler::handlers::{HandlerError, Sending};

    struct Nowhere;

    impl ErrorHandler for Nowhere {
        fn name(&self) -> String {
            "nowhere".into()
        }
        fn send<'a>(&'a self, _: &'a ErrorEvent) -> Sending<'a> {
            Box::pin(async { Ok::<(), HandlerError>(()) })
        }
    }

    fn event(message: String) -> ErrorEvent {
        ErrorEvent {
            app: "shop".into(),
            controller: "web".into(),
            input: None,
            kind: EventKind::PassError,
            message,
            health: None,
            at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    /// A lane that sends nowhere, remembering repeats for 10 minutes, queueing 8 (no runtime: nothing is sent).
    fn quiet_lane() -> Lane {
        Lane::new(
            Arc::new(Nowhere),
            DeliveryConfig {
                repeat_after: Duration::from_secs(600),
                timeout: Duration::from_secs(1),
                queue: 8,
            },
        )
    }

    #[test]
    fn a_fresh_request_id_does_not_make_a_repeat_new() {
        let lane = quiet_lane();
        lane.push(event(
            "HTTP 503: Request ID: 7f2c1e9a-4b3d-4e5f-8a6b-1c2d3e4f5a6b".into(),
        ));
        lane.push(event(
            "HTTP 503: Request ID: 0a1b2c3d-0000-4e5f-8a6b-ffffffffffff".into(),
        ));
        lane.push(event(
            "HTTP 422: Request ID: 0a1b2c3d-0000-4e5f-8a6b-ffffffffffff".into(),
        ));
        let s = lane.stats();
        assert_eq!(s.deduplicated, 1);
        // The queued events keep their own messages.
        let queue = lane.shared.queue.lock().unwrap();
        assert!(queue[0].message.ends_with("1c2d3e4f5a6b"));
        assert_eq!(queue.len(), 2);
    }

    #[test]
    fn dedupe_memory_is_bounded_and_the_queue_drops_the_oldest() {
        // No runtime here: nothing is sent, so the queue fills.
        let lane = quiet_lane();
        let n = MAX_REMEMBERED + 10;
        for i in 0..n {
            lane.push(event(format!("error {i}")));
        }
        let s = lane.stats();
        assert_eq!((s.dropped, s.deduplicated), (n as u64 - 8, 0));
        assert!(lane.shared.seen.lock().unwrap().len() <= MAX_REMEMBERED);
        // The newest is remembered.
        lane.push(event(format!("error {}", n - 1)));
        assert_eq!(lane.stats().deduplicated, 1);
        let queue = lane.shared.queue.lock().unwrap();
        let kept: Vec<&str> = queue.iter().map(|e| e.message.as_str()).collect();
        let want: Vec<String> = (n - 8..n).map(|i| format!("error {i}")).collect();
        assert_eq!(kept, want);
    }
}
