//! `Logplex-Frame-Id`s shared by every instance: a fresh id is marked `pending` with `SET NX` (one script
//! round trip), `done` for the dedup TTL once its body was taken, and deleted when the attempt failed, so a
//! logplex retry that lands on another instance counts once and a failed attempt stays retryable.
//!
//! The drain awaits the check like any I/O (its worker serves other connections meanwhile), bounded by
//! `shared.timeout`; when Redis does not answer, the id counts as fresh here (counted in `failures`).

use super::{Keys, Redis};
use crate::drain::dedup::{RemoteAnswer, RemoteBegin, RemoteFrameIds};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;

const BEGIN: &str = r#"
if redis.call('SET', KEYS[1], 'pending', 'NX', 'PX', ARGV[1]) then return 1 end
if redis.call('GET', KEYS[1]) == 'done' then return 2 end
return 3
"#;

const ABANDON: &str = r#"
if redis.call('GET', KEYS[1]) == 'pending' then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// How long an id stays `pending` when the instance ingesting it dies mid-body.
const PENDING: Duration = Duration::from_secs(10);

/// Frame-Ids in Redis.
pub struct SharedFrameIds {
    redis: Arc<Redis>,
    keys: Keys,
    ttl: Duration,
    /// Ids counted here because Redis did not answer.
    pub failures: AtomicU64,
}

impl SharedFrameIds {
    pub fn new(redis: Arc<Redis>, keys: Keys, ttl: Duration) -> SharedFrameIds {
        SharedFrameIds {
            redis,
            keys,
            ttl,
            failures: AtomicU64::new(0),
        }
    }

    fn key(&self, id: &[u8]) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, id);
        let hex: String = digest.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.keys.frame(&hex)
    }
}

impl RemoteFrameIds for SharedFrameIds {
    fn begin<'a>(&'a self, id: &'a [u8]) -> RemoteAnswer<'a> {
        Box::pin(async move {
            let key = self.key(id);
            let answer = self
                .redis
                .call(async |c| {
                    redis::Script::new(BEGIN)
                        .key(&key)
                        .arg(PENDING.as_millis() as u64)
                        .invoke_async::<i64>(c)
                        .await
                })
                .await;
            match answer {
                Ok(1) => RemoteBegin::Fresh,
                Ok(2) => RemoteBegin::Duplicate,
                Ok(_) => RemoteBegin::InProgress,
                Err(_) => {
                    self.failures.fetch_add(1, Relaxed);
                    RemoteBegin::Unavailable
                }
            }
        })
    }

    fn commit(&self, id: &[u8]) {
        let key = self.key(id);
        let (redis, ttl) = (self.redis.clone(), self.ttl.as_millis() as u64);
        if let Ok(handle) = Handle::try_current() {
            handle.spawn(async move {
                let _ = redis
                    .call(async |c| {
                        redis::cmd("SET")
                            .arg(&key)
                            .arg("done")
                            .arg("PX")
                            .arg(ttl.max(1))
                            .query_async::<()>(c)
                            .await
                    })
                    .await;
            });
        }
    }

    fn abandon(&self, id: &[u8]) {
        let key = self.key(id);
        let redis = self.redis.clone();
        if let Ok(handle) = Handle::try_current() {
            handle.spawn(async move {
                let _ = redis
                    .call(async |c| {
                        redis::Script::new(ABANDON)
                            .key(&key)
                            .invoke_async::<i64>(c)
                            .await
                    })
                    .await;
            });
        }
    }
}
