//! The merged view the scaler reads: every retained bucket fetched from Redis once per resolution step and
//! put into an in-memory [`Store`] (never ingested into), which answers queries exactly as the memory store
//! does. A view older than two steps is not answered from: the reader gets a [`ReadError`] and the scaler holds.

use super::encode::decode;
use crate::shared::{Keys, Redis, RedisError};
use crate::window::bucket::Bucket;
use crate::window::store::{micros, Store};
use crate::window::{Query, ReadError, Reading, WindowConfig};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Bucket starts from the oldest retained one to the one holding `now`.
pub fn retained_starts(cfg: &WindowConfig, now: i64) -> Vec<i64> {
    let resolution = micros(cfg.resolution).max(1_000);
    let retention = micros(cfg.retention).max(resolution);
    let last = now.div_euclid(resolution) * resolution;
    let first = (now - retention).div_euclid(resolution) * resolution;
    (0..)
        .map(|i| first + i * resolution)
        .take_while(|s| *s <= last)
        .collect()
}

/// Fetches every retained bucket's hash (one pipeline), and the shared first bucket and newest receive time.
pub async fn fetch(
    redis: &Redis,
    keys: &Keys,
    cfg: &WindowConfig,
    now: i64,
) -> Result<Store, RedisError> {
    let starts = retained_starts(cfg, now);
    let mut pipe = redis::pipe();
    pipe.get(keys.first_bucket()).get(keys.last_ingest());
    for s in &starts {
        pipe.hgetall(keys.bucket(*s));
    }
    let all: Vec<redis::Value> = redis.call(async |c| pipe.query_async(c).await).await?;
    let mut it = all.into_iter();
    let mut parse_i64 = || -> Option<i64> {
        it.next()
            .and_then(|v| redis::from_redis_value::<Option<i64>>(v).ok().flatten())
    };
    let first = parse_i64();
    let last = parse_i64();
    let hashes: Vec<Vec<(String, String)>> = it
        .map(|v| redis::from_redis_value::<Vec<(String, String)>>(v).unwrap_or_default())
        .collect();
    let store = Store::new(cfg.clone());
    {
        let mut inner = store.lock();
        let mut buckets = BTreeMap::new();
        for (start, fields) in starts.iter().zip(&hashes) {
            if fields.is_empty() {
                continue;
            }
            let bucket = Bucket {
                retained: decode(fields).aggs,
                ..Bucket::default()
            };
            buckets.insert(*start, bucket);
        }
        inner.buckets = buckets;
        inner.first_bucket = first;
        inner.last_ingest = last;
    }
    Ok(store)
}

/// The newest view and when it was fetched.
pub struct View {
    pub store: Store,
    pub fetched: Instant,
}

/// Answers a query from the view, or says why not.
pub fn read(view: Option<&View>, query: &Query, max_age: Duration) -> Result<Reading, ReadError> {
    match view {
        None => Err(ReadError(
            "the shared windows have not been read from Redis yet".into(),
        )),
        Some(v) if v.fetched.elapsed() > max_age => Err(ReadError(format!(
            "the shared windows were last read from Redis {}s ago",
            v.fetched.elapsed().as_secs()
        ))),
        Some(v) => crate::window::WindowReader::read(&v.store, query),
    }
}
