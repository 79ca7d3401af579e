//! Distinct counts for `unique#name=member`: exact below [`EXACT_LIMIT`] members, HyperLogLog above.
//!
//! Members are hashed to 64 bits (`DefaultHasher::new()`: fixed keys, so within a process the same member always lands in
//! the same register and sets from different buckets merge). Small sets stay an exact sorted list of hashes (at most 512 bytes);
//! once they outgrow it they become a dense HyperLogLog with 2^12 registers (4 KiB, standard error about 1.6%).
//! It stores no member text.

use std::hash::{Hash, Hasher};

/// Members kept exactly before switching to HyperLogLog.
pub const EXACT_LIMIT: usize = 64;
/// Register-index bits: 2^12 = 4096 registers.
const P: u32 = 12;
const REGISTERS: usize = 1 << P;

/// The stable 64-bit hash of a member.
pub fn hash_member(member: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    member.hash(&mut h);
    h.finish()
}

/// A mergeable distinct-count estimator.
#[derive(Debug, Clone, PartialEq)]
pub enum Distinct {
    /// Sorted, deduplicated member hashes.
    Exact(Vec<u64>),
    /// HyperLogLog registers: the longest run of leading zeros (+1) seen per register.
    Sketch(Box<[u8]>),
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::Exact(Vec::new())
    }
}

fn register_update(registers: &mut [u8], hash: u64) {
    let index = (hash >> (64 - P)) as usize;
    let rest = (hash << P) | (1 << (P - 1));
    let rank = rest.leading_zeros() as u8 + 1;
    if registers[index] < rank {
        registers[index] = rank;
    }
}

impl Distinct {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, member: &str) {
        self.insert_hash(hash_member(member));
    }

    pub fn insert_hash(&mut self, hash: u64) {
        match self {
            Distinct::Exact(set) => {
                if let Err(at) = set.binary_search(&hash) {
                    set.insert(at, hash);
                    if set.len() > EXACT_LIMIT {
                        self.promote();
                    }
                }
            }
            Distinct::Sketch(registers) => register_update(registers, hash),
        }
    }

    fn promote(&mut self) {
        if let Distinct::Exact(set) = self {
            let mut registers = vec![0u8; REGISTERS].into_boxed_slice();
            for h in set.iter() {
                register_update(&mut registers, *h);
            }
            *self = Distinct::Sketch(registers);
        }
    }

    pub fn merge(&mut self, other: &Distinct) {
        match other {
            Distinct::Exact(set) => set.iter().for_each(|h| self.insert_hash(*h)),
            Distinct::Sketch(theirs) => {
                self.promote();
                if let Distinct::Sketch(mine) = self {
                    for (m, t) in mine.iter_mut().zip(theirs.iter()) {
                        *m = (*m).max(*t);
                    }
                }
            }
        }
    }

    /// The number of distinct members: exact while small, a HyperLogLog estimate after.
    pub fn estimate(&self) -> u64 {
        match self {
            Distinct::Exact(set) => set.len() as u64,
            Distinct::Sketch(registers) => {
                let m = REGISTERS as f64;
                let alpha = 0.7213 / (1.0 + 1.079 / m);
                let sum: f64 = registers.iter().map(|r| 2f64.powi(-i32::from(*r))).sum();
                let raw = alpha * m * m / sum;
                let zeros = registers.iter().filter(|r| **r == 0).count();
                let estimate = if raw <= 2.5 * m && zeros > 0 {
                    m * (m / zeros as f64).ln()
                } else {
                    raw
                };
                estimate.round() as u64
            }
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            Distinct::Exact(set) => set.capacity() * 8,
            Distinct::Sketch(r) => r.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_below_the_limit() {
        let mut d = Distinct::new();
        for i in 0..EXACT_LIMIT {
            d.insert(&format!("user-{i}"));
            d.insert(&format!("user-{i}"));
        }
        assert_eq!(d.estimate(), EXACT_LIMIT as u64);
        assert!(matches!(d, Distinct::Exact(_)));
    }

    #[test]
    fn estimate_within_five_percent_above_the_limit() {
        for n in [100u64, 1_000, 10_000, 100_000] {
            let mut d = Distinct::new();
            for i in 0..n {
                d.insert(&format!("member-{i}"));
            }
            let e = d.estimate() as f64;
            let err = (e - n as f64).abs() / n as f64;
            assert!(err < 0.05, "n={n} estimate={e}");
        }
    }

    #[test]
    fn merge_of_overlapping_sets_counts_the_union() {
        let mut a = Distinct::new();
        let mut b = Distinct::new();
        for i in 0..5_000 {
            a.insert(&format!("m{i}"));
        }
        for i in 2_500..7_500 {
            b.insert(&format!("m{i}"));
        }
        let small: Distinct = {
            let mut s = Distinct::new();
            s.insert("m1");
            s.insert("unseen");
            s
        };
        a.merge(&b);
        a.merge(&small);
        let e = a.estimate() as f64;
        assert!((e - 7_501.0).abs() / 7_501.0 < 0.05, "estimate {e}");
    }

    #[test]
    fn exact_sets_merge_exactly() {
        let mut a = Distinct::new();
        let mut b = Distinct::new();
        ["x", "y"].iter().for_each(|m| a.insert(m));
        ["y", "z"].iter().for_each(|m| b.insert(m));
        a.merge(&b);
        assert_eq!(a.estimate(), 3);
    }
}
