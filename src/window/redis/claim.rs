//! Exporting each bucket exactly once across instances: once a bucket is closed and every instance has had a
//! step to push its part, the first instance whose `SET claim NX PX` wins reads the merged bucket, hands it to
//! its outlets and marks the claim `done` for the retention. A claim whose holder dies before marking it
//! expires after one lease and is taken over by another instance.

use super::encode::decode;
use crate::shared::{Keys, Redis, RedisError};
use crate::window::bucket::Bucket;
use crate::window::flush::{app_series_name_in, take_pending};
use crate::window::series::split_key;
use crate::window::{FlushedBucket, FlushedSeries, FlushedValue};
use std::collections::HashSet;

/// What a claim attempt found.
pub enum Claimed {
    /// Ours: the merged bucket (`None` when no instance pushed anything to it).
    Won(Option<FlushedBucket>),
    /// Exported already (by anyone).
    Done,
    /// Another instance holds it now.
    Held,
}

/// Tries to claim the bucket at `start` for `instance`, holding the claim for `hold_ms`.
pub async fn claim(
    redis: &Redis,
    keys: &Keys,
    instance: &str,
    start: i64,
    hold_ms: u64,
    reserved: &[Box<[u8]>],
) -> Result<Claimed, RedisError> {
    let key = keys.claim(start);
    let won: Option<String> = redis
        .call(async |c| {
            redis::cmd("SET")
                .arg(&key)
                .arg(instance)
                .arg("NX")
                .arg("PX")
                .arg(hold_ms)
                .query_async(c)
                .await
        })
        .await?;
    if won.is_none() {
        let holder: Option<String> = redis
            .call(async |c| redis::cmd("GET").arg(&key).query_async(c).await)
            .await?;
        return Ok(match holder.as_deref() {
            Some("done") => Claimed::Done,
            Some(_) => Claimed::Held,
            // Expired between the two calls: try again next step.
            None => Claimed::Held,
        });
    }
    let fields: Vec<(String, String)> = redis
        .call(async |c| {
            redis::cmd("HGETALL")
                .arg(keys.bucket(start))
                .query_async(c)
                .await
        })
        .await?;
    if fields.is_empty() {
        return Ok(Claimed::Won(None));
    }
    let decoded = decode(&fields);
    let mut counts = Vec::with_capacity(decoded.uniques.len());
    if !decoded.uniques.is_empty() {
        let mut pipe = redis::pipe();
        for u in &decoded.uniques {
            pipe.cmd("PFCOUNT").arg(keys.unique(start, u));
        }
        counts = redis.call(async |c| pipe.query_async(c).await).await?;
    }
    let mut bucket = Bucket {
        pending: decoded.aggs,
        ..Bucket::default()
    };
    let mut flushed = take_pending(start, &mut bucket, &HashSet::new(), reserved);
    for (series, n) in decoded.uniques.iter().zip(counts) {
        if let Some(parts) = split_key(series) {
            flushed.series.push(FlushedSeries {
                name: app_series_name_in(parts.name, reserved).into_owned(),
                source: parts.source.map(str::to_owned),
                value: FlushedValue::Unique(n),
            });
        }
    }
    Ok(Claimed::Won(Some(flushed)))
}

/// Marks an exported bucket `done` for `keep_ms`.
pub async fn mark_done(
    redis: &Redis,
    keys: &Keys,
    start: i64,
    keep_ms: u64,
) -> Result<(), RedisError> {
    redis
        .call(async |c| {
            redis::cmd("SET")
                .arg(keys.claim(start))
                .arg("done")
                .arg("PX")
                .arg(keep_ms)
                .query_async::<()>(c)
                .await
        })
        .await
}
