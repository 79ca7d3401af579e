//! A fast, per-process seeded hasher for the window store's maps (series keys, dyno names).
//!
//! std's SipHash costs about 20 ns on a 25-byte series key and is paid on every ingested metric event. This is
//! the folded-multiply construction of foldhash / wyhash: 16 input bytes per 64x64->128-bit multiply, with two
//! seeds drawn once per process from std's `RandomState`, so key collisions cannot be precomputed offline
//! (the same "minimal DoS resistance" foldhash offers; the series cap bounds what any collision could cost).
//! It is not a cryptographic hash and its values are not stable across processes: never persist them.

use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// A `HashMap` keyed through [`FastState`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, FastState>;
/// A `HashSet` keyed through [`FastState`].
pub type FastSet<K> = std::collections::HashSet<K, FastState>;

const ARBITRARY: u64 = 0x243f_6a88_85a3_08d3; // digits of pi

#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

fn process_seeds() -> (u64, u64) {
    static SEEDS: OnceLock<(u64, u64)> = OnceLock::new();
    *SEEDS.get_or_init(|| {
        let random = std::collections::hash_map::RandomState::new();
        (random.hash_one(1u64), random.hash_one(2u64))
    })
}

/// Builds [`FastHasher`]s with this process's seeds.
#[derive(Debug, Clone, Copy)]
pub struct FastState {
    seeds: (u64, u64),
}

impl Default for FastState {
    fn default() -> Self {
        FastState {
            seeds: process_seeds(),
        }
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;
    #[inline]
    fn build_hasher(&self) -> FastHasher {
        FastHasher {
            acc: self.seeds.0,
            seed: self.seeds.1,
        }
    }
}

/// The hasher: folds 16 bytes at a time into a 64-bit accumulator.
#[derive(Debug, Clone)]
pub struct FastHasher {
    acc: u64,
    seed: u64,
}

#[inline(always)]
fn read8(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn read4(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&bytes[at..at + 4]);
    u64::from(u32::from_le_bytes(w))
}

/// The last 0..=16 bytes as two words, from fixed-size (possibly overlapping) reads: no variable-length copy.
#[inline(always)]
fn tail(rest: &[u8]) -> (u64, u64) {
    let n = rest.len();
    if n >= 8 {
        (read8(rest, 0), read8(rest, n - 8))
    } else if n >= 4 {
        (read4(rest, 0), read4(rest, n - 4))
    } else if n > 0 {
        (
            u64::from(rest[0]) | (u64::from(rest[n / 2]) << 8),
            u64::from(rest[n - 1]),
        )
    } else {
        (0, 0)
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut acc = self.acc;
        let mut chunks = bytes.chunks_exact(16);
        for c in &mut chunks {
            acc = fold(read8(c, 0) ^ acc, read8(c, 8) ^ self.seed);
        }
        let (lo, hi) = tail(chunks.remainder());
        acc = fold(lo ^ acc ^ bytes.len() as u64, hi ^ self.seed ^ ARBITRARY);
        self.acc = acc;
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.write_u64(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.acc = fold(i ^ self.acc, self.seed ^ ARBITRARY);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        fold(self.acc, self.seed.rotate_left(29) ^ ARBITRARY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn equal_keys_hash_equal_and_near_keys_spread() {
        let state = FastState::default();
        assert_eq!(state.hash_one("db.query"), state.hash_one("db.query"));
        let owned: std::sync::Arc<str> = "db.query".into();
        assert_eq!(state.hash_one(&*owned), state.hash_one("db.query"));
        // Keys differing in one byte, in length only, or past 16 bytes all land apart.
        let keys: Vec<String> = (0..20_000)
            .map(|i| format!("mapp.metric.number_{i:05}\0web.{}", i % 7))
            .chain((0..40).map(|n| "x".repeat(n)))
            .collect();
        let hashes: HashSet<u64> = keys.iter().map(|k| state.hash_one(k)).collect();
        assert_eq!(hashes.len(), keys.len());
        // The top 7 bits (hashbrown's tag) are spread too.
        let tags: HashSet<u64> = keys.iter().map(|k| state.hash_one(k) >> 57).collect();
        assert_eq!(tags.len(), 128);
    }

    #[test]
    fn maps_work_through_borrowed_lookups() {
        let mut map: FastMap<std::sync::Arc<str>, u32> = FastMap::default();
        map.insert("a".into(), 1);
        map.insert("ab".into(), 2);
        assert_eq!(map.get("a"), Some(&1));
        assert_eq!(map.get("ab"), Some(&2));
        assert_eq!(map.get("b"), None);
    }
}
