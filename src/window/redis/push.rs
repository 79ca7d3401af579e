//! Pushing one instance's partial buckets: one script call per bucket per resolution step, carrying this
//! instance's sequence number. The script applies the operations only when the number is newer than the last
//! one the bucket's hash recorded for this instance, so a push repeated after a lost answer (Redis was slow,
//! the connection broke after the write) is a no-op: held pushes are sent again, in order, until one is
//! answered, and never counted twice.

use super::encode::Op;
use crate::shared::{Keys, Redis, RedisError};
use std::collections::VecDeque;

/// KEYS: the bucket hash, `last_ingest`, `first_bucket`, then the distinct counts' HyperLogLogs.
/// ARGV: instance, sequence, TTL (ms), receive time, bucket start, number of HLL members per HLL key
/// (one count per HLL key, in order), then the members, then op/field/value triples.
const SCRIPT: &str = r#"
local h = KEYS[1]
local seqf = 'seq:' .. ARGV[1]
local seq = tonumber(ARGV[2])
if seq <= tonumber(redis.call('HGET', h, seqf) or '0') then return 0 end
local ttl = ARGV[3]
local now = tonumber(ARGV[4])
local li = redis.call('GET', KEYS[2])
if (not li) or now > tonumber(li) then redis.call('SET', KEYS[2], ARGV[4], 'PX', ttl)
else redis.call('PEXPIRE', KEYS[2], ttl) end
local fb = redis.call('GET', KEYS[3])
if (not fb) or tonumber(ARGV[5]) < tonumber(fb) then redis.call('SET', KEYS[3], ARGV[5], 'PX', ttl)
else redis.call('PEXPIRE', KEYS[3], ttl) end
local hlls = #KEYS - 3
local i = 6 + hlls
for k = 1, hlls do
  local n = tonumber(ARGV[5 + k])
  local key = KEYS[3 + k]
  for m = i, i + n - 1 do redis.call('PFADD', key, ARGV[m]) end
  redis.call('PEXPIRE', key, ttl)
  i = i + n
end
while i <= #ARGV do
  local op, f, v = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if op == 'i' then redis.call('HINCRBY', h, f, v)
  elseif op == 'f' then redis.call('HINCRBYFLOAT', h, f, v)
  elseif op == 'n' or op == 'x' then
    local c = redis.call('HGET', h, f)
    if (not c) or (op == 'n' and tonumber(v) < tonumber(c)) or (op == 'x' and tonumber(v) > tonumber(c)) then
      redis.call('HSET', h, f, v)
    end
  elseif op == 's' then
    local sp = string.find(v, ' ', 1, true)
    local at = string.sub(v, 1, sp - 1)
    local tf = 's:t:' .. string.sub(f, 5)
    local c = redis.call('HGET', h, tf)
    if (not c) or tonumber(at) >= tonumber(c) then redis.call('HSET', h, tf, at, f, string.sub(v, sp + 1)) end
  end
  i = i + 3
end
redis.call('HSET', h, seqf, ARGV[2])
redis.call('PEXPIRE', h, ttl)
return 1
"#;

/// One bucket's delta from this instance, ready to send (and to send again).
#[derive(Debug, Clone)]
pub struct Push {
    pub start: i64,
    pub seq: u64,
    /// Receive time of the newest event in it.
    pub now: i64,
    pub ops: Vec<Op>,
    /// `unique#` series keys with their member hashes.
    pub uniques: Vec<(String, Vec<u64>)>,
}

impl Push {
    /// Sends it; `Ok(true)` when applied now, `Ok(false)` when an earlier attempt already was.
    pub async fn send(
        &self,
        redis: &Redis,
        keys: &Keys,
        instance: &str,
        ttl_ms: u64,
    ) -> Result<bool, RedisError> {
        let script = redis::Script::new(SCRIPT);
        let mut inv = script.prepare_invoke();
        inv.key(keys.bucket(self.start))
            .key(keys.last_ingest())
            .key(keys.first_bucket());
        for (series, _) in &self.uniques {
            inv.key(keys.unique(self.start, series));
        }
        inv.arg(instance)
            .arg(self.seq)
            .arg(ttl_ms)
            .arg(self.now)
            .arg(self.start);
        for (_, members) in &self.uniques {
            inv.arg(members.len());
        }
        for (_, members) in &self.uniques {
            for m in members {
                inv.arg(*m);
            }
        }
        for op in &self.ops {
            for a in op.args() {
                inv.arg(a);
            }
        }
        let applied: i64 = redis.call(async |c| inv.invoke_async(c).await).await?;
        Ok(applied == 1)
    }
}

/// Pushes not yet answered, oldest first, bounded.
#[derive(Default)]
pub struct Held {
    queue: VecDeque<Push>,
    pub dropped: u64,
}

impl Held {
    /// Adds a push; drops (and counts) the oldest past `max`.
    pub fn hold(&mut self, push: Push, max: usize) {
        self.queue.push_back(push);
        while self.queue.len() > max {
            self.queue.pop_front();
            self.dropped += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn front(&self) -> Option<&Push> {
        self.queue.front()
    }

    pub fn pop(&mut self) -> Option<Push> {
        self.queue.pop_front()
    }
}

impl Push {
    /// A push without a sequence number yet (the step numbers it when it holds it).
    pub fn new(start: i64, now: i64, ops: Vec<Op>) -> Push {
        Push {
            start,
            seq: 0,
            now,
            ops,
            uniques: Vec::new(),
        }
    }
}
