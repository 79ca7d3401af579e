//! The scaler leader: one instance at a time holds a lease in Redis (`SET NX PX`, renewed every third of
//! `shared.lease`, released by a compare-and-delete script). Each new holder takes the next fencing number
//! (`INCR`), so a lease value `INSTANCE FENCE` is never reused: a formation write first checks that Redis still
//! holds this exact value ([`Lease::check`]) and refuses otherwise, so a leader that lost its lease (paused,
//! partitioned) cannot write after a new one took over. When the holder dies, the lease expires and another
//! instance takes it within one lease.

use super::{Keys, Redis, RedisError};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Renews our lease, or takes a free one with the next fencing number; returns the lease's value after.
const TICK: &str = r#"
local v = redis.call('GET', KEYS[1])
if v and v == ARGV[3] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return v end
if not v then
  v = ARGV[1] .. ' ' .. redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
end
return v
"#;

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// What this instance knows of the lease.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeaseView {
    /// The lease's value as last seen (`INSTANCE FENCE`), ours or another instance's.
    pub holder: Option<String>,
    /// Our fencing number while we hold the lease.
    pub fence: Option<u64>,
    /// Leaderships this instance took.
    pub taken: u64,
}

struct State {
    view: LeaseView,
    /// Our token and until when we may act on it without hearing from Redis.
    ours: Option<(String, Instant)>,
}

/// The leader lease, as one instance sees it.
pub struct Lease {
    redis: Arc<Redis>,
    keys: Keys,
    instance: String,
    duration: Duration,
    timeout: Duration,
    state: Mutex<State>,
}

impl Lease {
    pub fn new(
        redis: Arc<Redis>,
        keys: Keys,
        instance: String,
        duration: Duration,
        timeout: Duration,
    ) -> Lease {
        Lease {
            redis,
            keys,
            instance,
            duration,
            timeout,
            state: Mutex::new(State {
                view: LeaseView::default(),
                ours: None,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What this instance knows now.
    pub fn view(&self) -> LeaseView {
        let mut s = self.state();
        if s.ours
            .as_ref()
            .is_some_and(|(_, until)| Instant::now() >= *until)
        {
            s.ours = None;
            s.view.fence = None;
        }
        s.view.clone()
    }

    /// Our token (`INSTANCE FENCE`) while we hold the lease by our own clock.
    pub fn token(&self) -> Option<String> {
        let s = self.state();
        s.ours
            .as_ref()
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(t, _)| t.clone())
    }

    /// One renewal or takeover attempt.
    pub async fn tick(&self) -> Result<LeaseView, RedisError> {
        let mine = self.token().unwrap_or_default();
        let sent = Instant::now();
        let ms = self.duration.as_millis() as u64;
        let value: Result<String, RedisError> = self
            .redis
            .call(async |c| {
                redis::Script::new(TICK)
                    .key(self.keys.lease())
                    .key(self.keys.fence())
                    .arg(&self.instance)
                    .arg(ms)
                    .arg(&mine)
                    .invoke_async(c)
                    .await
            })
            .await;
        let value = value?;
        let mut s = self.state();
        match value
            .strip_prefix(self.instance.as_str())
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|f| f.parse::<u64>().ok())
        {
            Some(fence) => {
                if s.view.fence != Some(fence) {
                    s.view.taken += 1;
                    tracing::info!(fence, "scaler leader lease taken");
                }
                s.view.fence = Some(fence);
                // Our clock may only trust the lease for its length from before the call, less a timeout.
                let until = sent + self.duration.saturating_sub(self.timeout);
                s.ours = Some((value.clone(), until));
            }
            None => {
                if s.ours.take().is_some() {
                    tracing::warn!(holder = %value, "scaler leader lease lost");
                }
                s.view.fence = None;
            }
        }
        s.view.holder = Some(value);
        Ok(s.view.clone())
    }

    /// True when Redis still holds `token` as the lease: the fence check right before a write.
    pub async fn check(&self, token: &str) -> Result<bool, RedisError> {
        let held: Option<String> = self
            .redis
            .call(async |c| {
                redis::cmd("GET")
                    .arg(self.keys.lease())
                    .query_async(c)
                    .await
            })
            .await?;
        Ok(held.as_deref() == Some(token))
    }

    /// Gives the lease up (only if still ours), so another instance takes over at once.
    pub async fn release(&self) {
        let Some(token) = self.state().ours.take().map(|(t, _)| t) else {
            return;
        };
        let _ = self
            .redis
            .call(async |c| {
                redis::Script::new(RELEASE)
                    .key(self.keys.lease())
                    .arg(&token)
                    .invoke_async::<i64>(c)
                    .await
            })
            .await;
    }

    /// Renews or takes the lease every third of its length until `stop`, then releases it.
    pub async fn run_until(self: Arc<Self>, stop: impl Future<Output = ()>) {
        let mut tick = tokio::time::interval(self.duration / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => {
                    if let Err(e) = self.tick().await {
                        tracing::debug!(error = %e, "scaler leader lease: Redis did not answer");
                    }
                }
            }
        }
        self.release().await;
    }
}
