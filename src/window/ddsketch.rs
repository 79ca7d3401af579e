//! DDSketch: a mergeable quantile sketch with a stated relative error.
//!
//! Values map to logarithmic bins `ceil(ln|x| / ln γ)` with `γ = (1+α)/(1-α)`, `α = 0.01`: any quantile it
//! returns is within 1% of the true value at that rank. Positive and negative values have their own bins;
//! values within `1e-9` of zero have a counter of their own. Each side's bins start as a short sorted list of `(index, count)` pairs and
//! turn into a dense run once more than 32 indexes are in use; the run covers only the indexes seen, capped at
//! [`MAX_BINS`]; past the cap the LOWEST bins collapse into one (small magnitudes lose accuracy first, the tail
//! the scaler reads keeps it). It also keeps exact count, sum, min and max, and allocates no bins at all while
//! it holds a single value (that value is its min, max and every quantile). It is not a store of raw values
//! and never grows with the number of values added.

/// Relative accuracy of every quantile.
pub const RELATIVE_ACCURACY: f64 = 0.01;
/// Most bins per side (positive, negative). 2048 bins at α=1% span a factor of about 10^17.
pub const MAX_BINS: usize = 2048;
/// Magnitudes below this count as zero.
const MIN_INDEXABLE: f64 = 1e-9;

fn gamma() -> f64 {
    (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)
}

/// `1 / ln γ`, so that an index costs one `ln` and one multiply. A test checks it against `γ`.
const INV_LN_GAMMA: f64 = 49.998_333_288_886_78;

/// Whole magnitudes below this have their index looked up: Heroku's router writes `connect=` and `service=` as
/// whole milliseconds, and many app measures are too, so most values skip the `ln`.
const WHOLE_INDEXED: usize = 4096;

/// [`index_of_computed`] of 0, 1, 2, ... [`WHOLE_INDEXED`] - 1 (entry 0 is never read).
static WHOLE_INDEXES: std::sync::LazyLock<Box<[i32]>> = std::sync::LazyLock::new(|| {
    (0..WHOLE_INDEXED)
        .map(|v| index_of_computed(v as f64))
        .collect()
});

/// `ceil(ln(magnitude) / ln γ)`, from a table for whole magnitudes (the same numbers: the table is computed).
#[inline]
fn index_of(magnitude: f64) -> i32 {
    let whole = magnitude as usize;
    if whole.wrapping_sub(1) < WHOLE_INDEXED - 1 && whole as f64 == magnitude {
        return WHOLE_INDEXES[whole];
    }
    index_of_computed(magnitude)
}

/// `ceil(ln(magnitude) / ln γ)`. The ceiling is done with integer casts: `f64::ceil` is a libm call on
/// baseline x86-64 (no SSE4.1).
#[inline]
fn index_of_computed(magnitude: f64) -> i32 {
    let t = magnitude.ln() * INV_LN_GAMMA;
    let truncated = t as i32;
    truncated + i32::from(f64::from(truncated) < t)
}

/// The value a bin stands for: the point with relative error α to both of its edges, `2 γ^i / (γ + 1)`.
/// (`exp` rather than `powi`, which is a slow software loop in compiler-builtins.) Never inlined: inlined, the
/// compiler hoists it out of the quantile walk's rank test and computes it for every bin.
#[inline(never)]
fn value_of(index: i32) -> f64 {
    let g = gamma();
    (f64::from(index) / INV_LN_GAMMA).exp() * (2.0 / (g + 1.0))
}

/// Bytes newly allocated (negative: freed) when a vector of `T` went from capacity `before` to `after`.
#[inline]
fn grown<T>(before: usize, after: usize) -> isize {
    (after as isize - before as isize) * std::mem::size_of::<T>() as isize
}

/// A run of bin counters: dense, `counts[k]` holding index `offset + k`.
#[derive(Debug, Clone, Default, PartialEq)]
struct Dense {
    offset: i32,
    counts: Vec<u32>,
}

impl Dense {
    /// Adds `n` at `index`; returns the heap bytes newly allocated, negative when freed (0 on the common path).
    fn add(&mut self, index: i32, n: u32) -> isize {
        let capacity = self.counts.capacity();
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(n);
            return grown::<u32>(capacity, self.counts.capacity());
        }
        let mut allocated = 0;
        let high = self.offset + self.counts.len() as i32 - 1;
        let mut index = index;
        if index < self.offset {
            let lowest_allowed = high - MAX_BINS as i32 + 1;
            index = index.max(lowest_allowed);
            if index < self.offset {
                let grow = (self.offset - index) as usize;
                let mut counts = vec![0u32; grow + self.counts.len()];
                counts[grow..].copy_from_slice(&self.counts);
                self.counts = counts;
                self.offset = index;
                allocated = grown::<u32>(capacity, self.counts.capacity());
            }
        } else if index > high {
            let new_len = (index - self.offset + 1) as usize;
            if new_len > MAX_BINS {
                self.collapse_below(index - MAX_BINS as i32 + 1);
            }
            let len = (index - self.offset + 1) as usize;
            self.counts.resize(len, 0);
            allocated = grown::<u32>(capacity, self.counts.capacity());
        }
        let slot = &mut self.counts[(index - self.offset) as usize];
        *slot = slot.saturating_add(n);
        allocated
    }

    /// Folds every bin below `new_offset` into the bin at `new_offset`.
    fn collapse_below(&mut self, new_offset: i32) {
        if new_offset <= self.offset {
            return;
        }
        let cut = ((new_offset - self.offset) as usize).min(self.counts.len());
        let folded: u32 = self.counts[..cut]
            .iter()
            .fold(0u32, |a, c| a.saturating_add(*c));
        self.counts.drain(..cut);
        if self.counts.is_empty() {
            self.counts.push(0);
        }
        self.offset = new_offset;
        self.counts[0] = self.counts[0].saturating_add(folded);
    }
}

/// Distinct indexes kept as sorted pairs before a side turns dense: 32 pairs are 256 bytes, where a dense run
/// over 1 ms..10 s would take about 1.9 KB.
const SPARSE_LIMIT: usize = 32;

/// One side's bins: sparse `(index, count)` pairs while few indexes are in use, then a dense run.
#[derive(Debug, Clone, PartialEq)]
enum Bins {
    Sparse(Vec<(i32, u32)>),
    Dense(Dense),
}

impl Default for Bins {
    fn default() -> Self {
        Bins::Sparse(Vec::new())
    }
}

impl Bins {
    /// Adds `n` at `index`; returns the heap bytes newly allocated, negative when freed (0 on the common path).
    fn add(&mut self, index: i32, n: u32) -> isize {
        match self {
            Bins::Dense(d) => d.add(index, n),
            Bins::Sparse(pairs) => match pairs.binary_search_by_key(&index, |p| p.0) {
                Ok(at) => {
                    pairs[at].1 = pairs[at].1.saturating_add(n);
                    0
                }
                Err(at) if pairs.len() < SPARSE_LIMIT => {
                    let capacity = pairs.capacity();
                    pairs.insert(at, (index, n));
                    grown::<(i32, u32)>(capacity, pairs.capacity())
                }
                Err(_) => {
                    let before = pairs.capacity() * std::mem::size_of::<(i32, u32)>();
                    let low = pairs[0].0.min(index);
                    let high = pairs[pairs.len() - 1].0.max(index);
                    let mut dense = Dense::default();
                    if high - low < MAX_BINS as i32 {
                        // One allocation covering every index.
                        dense.offset = low;
                        dense.counts = vec![0; (high - low + 1) as usize];
                    }
                    // Highest first: any collapse happens at the bottom.
                    for (i, c) in pairs.iter().rev() {
                        dense.add(*i, *c);
                    }
                    dense.add(index, n);
                    *self = Bins::Dense(dense);
                    self.heap_bytes() as isize - before as isize
                }
            },
        }
    }

    fn merge(&mut self, other: &Bins) {
        let (Some((low, _)), Some((high, _))) =
            (other.entries().next(), other.entries().next_back())
        else {
            return;
        };
        match self {
            Bins::Dense(mine) => {
                // Size the run once (top first, so any collapse happens at the bottom), then add counts in
                // place; indexes below the run (collapsed) fold into its lowest bin, as `Dense::add` does.
                mine.add(high, 0);
                mine.add(low, 0);
                let offset = mine.offset;
                for (i, c) in other.entries() {
                    if let Some(slot) = mine.counts.get_mut((i.max(offset) - offset) as usize) {
                        *slot = slot.saturating_add(c);
                    }
                }
            }
            Bins::Sparse(_) => {
                for (i, c) in other.entries().rev() {
                    if c > 0 {
                        self.add(i, c);
                    }
                }
            }
        }
    }

    /// Calls `visit(index, count)` in ascending index order (descending when `rev`) until it returns false;
    /// returns false when it was stopped.
    #[inline]
    fn visit_until(&self, rev: bool, mut visit: impl FnMut(i32, u32) -> bool) -> bool {
        match (self, rev) {
            (Bins::Sparse(pairs), false) => pairs.iter().all(|(i, c)| visit(*i, *c)),
            (Bins::Sparse(pairs), true) => pairs.iter().rev().all(|(i, c)| visit(*i, *c)),
            (Bins::Dense(d), false) => (d.offset..)
                .zip(&d.counts)
                .all(|(i, c)| *c == 0 || visit(i, *c)),
            (Bins::Dense(d), true) => d
                .counts
                .iter()
                .enumerate()
                .rev()
                .all(|(k, c)| *c == 0 || visit(d.offset + k as i32, *c)),
        }
    }

    /// `(index, count)` in ascending index order.
    fn entries(&self) -> Entries<'_> {
        match self {
            Bins::Sparse(pairs) => Entries::Sparse(pairs.iter()),
            Bins::Dense(d) => Entries::Dense(d.offset, d.counts.iter().enumerate()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Bins::Sparse(pairs) => pairs.len(),
            Bins::Dense(d) => d.counts.len(),
        }
    }

    #[cfg(test)]
    fn total(&self) -> u64 {
        self.entries().map(|(_, c)| u64::from(c)).sum()
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Bins::Sparse(pairs) => pairs.capacity() * std::mem::size_of::<(i32, u32)>(),
            Bins::Dense(d) => d.counts.capacity() * std::mem::size_of::<u32>(),
        }
    }
}

enum Entries<'a> {
    Sparse(std::slice::Iter<'a, (i32, u32)>),
    Dense(i32, std::iter::Enumerate<std::slice::Iter<'a, u32>>),
}

impl Iterator for Entries<'_> {
    type Item = (i32, u32);
    fn next(&mut self) -> Option<(i32, u32)> {
        match self {
            Entries::Sparse(it) => it.next().copied(),
            Entries::Dense(offset, it) => it.next().map(|(k, c)| (*offset + k as i32, *c)),
        }
    }
}

impl DoubleEndedIterator for Entries<'_> {
    fn next_back(&mut self) -> Option<(i32, u32)> {
        match self {
            Entries::Sparse(it) => it.next_back().copied(),
            Entries::Dense(offset, it) => it.next_back().map(|(k, c)| (*offset + k as i32, *c)),
        }
    }
}

/// Both sides' bins and the zero counter.
#[derive(Debug, Clone, Default, PartialEq)]
struct Sides {
    positive: Bins,
    negative: Bins,
    zero: u64,
}

impl Sides {
    /// Adds one value; returns the heap bytes newly allocated (negative: freed).
    fn add(&mut self, value: f64) -> isize {
        if value > MIN_INDEXABLE {
            self.positive.add(index_of(value), 1)
        } else if value < -MIN_INDEXABLE {
            self.negative.add(index_of(-value), 1)
        } else {
            self.zero += 1;
            0
        }
    }

    fn merge(&mut self, other: &Sides) {
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
        self.zero += other.zero;
    }
}

/// Where one bin of a sketch sits, for keeping a sketch outside the process (the shared windows store each bin
/// as a counter): an index on the positive or the negative side, or the zero bin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BinIndex {
    Positive(i32),
    Negative(i32),
    Zero,
}

/// A distribution: exact count/sum/min/max plus DDSketch bins for quantiles.
#[derive(Debug, Clone, PartialEq)]
pub struct DdSketch {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    /// `None` while `count <= 1`: a single value is `min` (and `max`), exactly.
    bins: Option<Box<Sides>>,
}

impl Default for DdSketch {
    fn default() -> Self {
        DdSketch {
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            bins: None,
        }
    }
}

impl DdSketch {
    pub fn new() -> Self {
        Self::default()
    }

    /// The bins, created on first need with the single value held so far.
    fn sides_mut(&mut self) -> &mut Sides {
        let (count, only) = (self.count, self.min);
        self.bins.get_or_insert_with(|| {
            let mut sides = Box::<Sides>::default();
            if count == 1 {
                sides.add(only);
            }
            sides
        })
    }

    /// Adds one value. NaN and infinities are ignored (they have no place in a distribution).
    #[inline]
    pub fn add(&mut self, value: f64) {
        self.add_counted(value);
    }

    /// [`DdSketch::add`], returning the change in [`DdSketch::heap_bytes`] (0 on the common path, negative
    /// when a sparse side turning dense frees more than it takes), so a holder can account its memory without
    /// asking around every value.
    #[inline]
    pub fn add_counted(&mut self, value: f64) -> isize {
        if !value.is_finite() {
            return 0;
        }
        let mut allocated = 0;
        if self.count > 0 {
            if self.bins.is_some() {
                allocated = self.sides_mut().add(value);
            } else {
                // The second value: the bins are created (rare: once per sketch).
                self.sides_mut().add(value);
                allocated = self.heap_bytes() as isize;
            }
        }
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        allocated
    }

    /// Adds every value of `other` to this sketch.
    pub fn merge(&mut self, other: &DdSketch) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other.clone();
            return;
        }
        let sides = self.sides_mut();
        match &other.bins {
            Some(theirs) => sides.merge(theirs),
            None => {
                sides.add(other.min);
            }
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Visits every non-empty bin with its count. A sketch of one value reports that value's bin, so counts
    /// added up elsewhere rebuild the bins of the merged sketch.
    pub fn visit_bins(&self, mut visit: impl FnMut(BinIndex, u64)) {
        if self.count == 0 {
            return;
        }
        let single;
        let sides = match &self.bins {
            Some(sides) => &**sides,
            None => {
                let mut one = Sides::default();
                one.add(self.min);
                single = one;
                &single
            }
        };
        sides.positive.visit_until(false, |i, c| {
            visit(BinIndex::Positive(i), u64::from(c));
            true
        });
        sides.negative.visit_until(false, |i, c| {
            visit(BinIndex::Negative(i), u64::from(c));
            true
        });
        if sides.zero > 0 {
            visit(BinIndex::Zero, sides.zero);
        }
    }

    /// A sketch from parts kept elsewhere: the exact count, sum, min and max, and the bins
    /// ([`DdSketch::visit_bins`]).
    pub fn from_parts(
        count: u64,
        sum: f64,
        min: f64,
        max: f64,
        bins: impl IntoIterator<Item = (BinIndex, u64)>,
    ) -> DdSketch {
        let mut sketch = DdSketch::default();
        if count == 0 {
            return sketch;
        }
        sketch.count = count;
        sketch.sum = sum;
        sketch.min = min;
        sketch.max = max;
        if count > 1 {
            let mut sides = Sides::default();
            let mut bins: Vec<_> = bins.into_iter().collect();
            // Highest first, as a merge adds them: any collapse happens at the bottom.
            bins.sort_by_key(|(b, _)| std::cmp::Reverse(*b));
            for (bin, n) in bins {
                let n = u32::try_from(n).unwrap_or(u32::MAX);
                match bin {
                    BinIndex::Positive(i) => {
                        sides.positive.add(i, n);
                    }
                    BinIndex::Negative(i) => {
                        sides.negative.add(i, n);
                    }
                    BinIndex::Zero => sides.zero += u64::from(n),
                }
            }
            sketch.bins = Some(Box::new(sides));
        }
        sketch
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The smallest value added, `None` when empty.
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// The largest value added, `None` when empty.
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    /// The value at rank `q * (count - 1)`, within [`RELATIVE_ACCURACY`] of the true one; `None` when empty.
    /// `q` is clamped to 0..=1 (NaN reads as 0.5).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.quantiles([q]).map(|[v]| v)
    }

    /// Several quantiles in one walk over the bins (the flush asks for median, p95 and p99 of every series).
    /// A bin's value is computed only for the bins a quantile lands in, and the walk stops at the last one.
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> Option<[f64; N]> {
        if self.count == 0 {
            return None;
        }
        let mut out = [self.max; N];
        // (rank, slot), ascending by rank; q = 0 and q = 1 are the exact min and max.
        let mut wanted = [(0u64, 0usize); N];
        let mut n = 0;
        for (slot, q) in qs.iter().enumerate() {
            let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
            if q == 0.0 {
                out[slot] = self.min;
            } else if q < 1.0 {
                wanted[n] = ((q * (self.count - 1) as f64).floor() as u64, slot);
                n += 1;
            }
        }
        let Some(sides) = self.bins.as_deref() else {
            // One value: it is every quantile.
            wanted[..n]
                .iter()
                .for_each(|(_, slot)| out[*slot] = self.min);
            return Some(out);
        };
        let wanted = &mut wanted[..n];
        wanted.sort_unstable();
        let mut next = wanted.iter().peekable();
        let mut seen = 0u64;
        let (min, max) = (self.min, self.max);
        // Counts one bin in ascending value order; its value (`sign * value_of(index)`, 0 for the zero counter)
        // is computed only when a rank lands in it. False once every rank is found.
        let mut take = |count: u64, index: i32, sign: f64| {
            seen += count;
            while let Some((_, slot)) = next.next_if(|(rank, _)| seen > *rank) {
                let value = if sign == 0.0 {
                    0.0
                } else {
                    sign * value_of(index)
                };
                out[*slot] = value.clamp(min, max);
            }
            next.peek().is_some()
        };
        // Most negative first (highest negative index), then zero, then positives.
        let _ = sides
            .negative
            .visit_until(true, |i, c| take(u64::from(c), i, -1.0))
            && take(sides.zero, 0, 0.0)
            && sides
                .positive
                .visit_until(false, |i, c| take(u64::from(c), i, 1.0));
        Some(out)
    }

    /// Bytes held on the heap (for memory accounting and tests).
    pub fn heap_bytes(&self) -> usize {
        self.bins.as_deref().map_or(0, |s| {
            std::mem::size_of::<Sides>() + s.positive.heap_bytes() + s.negative.heap_bytes()
        })
    }

    /// Bins in use on both sides (0 while the sketch holds at most one value).
    pub fn bins(&self) -> usize {
        self.bins
            .as_deref()
            .map_or(0, |s| s.positive.len() + s.negative.len())
    }

    #[cfg(test)]
    fn binned_total(&self) -> u64 {
        self.bins.as_deref().map_or(self.count, |s| {
            s.positive.total() + s.negative.total() + s.zero
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_counted_reports_every_allocation() {
        // Spreads that stay sparse, turn dense, grow both ways, and collapse past MAX_BINS.
        let spreads: [&dyn Fn(u32) -> f64; 5] = [
            &|i| f64::from(i % 7) + 1.0,
            &|i| 1.0 + f64::from(i) * 0.37,
            &|i| 1e6 / (1.0 + f64::from(i)),
            &|i| {
                if i % 2 == 0 {
                    1e-6 * 1.05f64.powi(i as i32)
                } else {
                    -f64::from(i)
                }
            },
            &|i| 1e-8 * 1.03f64.powi(i as i32),
        ];
        for spread in spreads {
            let mut s = DdSketch::new();
            let mut counted = 0isize;
            for i in 0..5000 {
                counted += s.add_counted(spread(i));
                assert_eq!(counted, s.heap_bytes() as isize, "after {i} values");
            }
        }
    }
    use proptest::prelude::*;

    fn exact(sorted: &[f64], q: f64) -> f64 {
        sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
    }

    fn within(got: f64, want: f64) -> bool {
        (got - want).abs() <= RELATIVE_ACCURACY * want.abs() + 1e-9
    }

    #[test]
    fn empty_sketch_has_no_quantiles() {
        let s = DdSketch::new();
        assert_eq!(s.quantile(0.5), None);
        assert_eq!(s.min(), None);
        assert_eq!(s.mean(), None);
    }

    #[test]
    fn uniform_values_within_one_percent() {
        let mut s = DdSketch::new();
        let values: Vec<f64> = (1..=10_000).map(f64::from).collect();
        for v in &values {
            s.add(*v);
        }
        for q in [0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999] {
            let got = s.quantile(q).unwrap();
            let want = exact(&values, q);
            assert!(within(got, want), "q={q} got {got} want {want}");
        }
        assert_eq!(s.count(), 10_000);
        assert_eq!(s.sum(), 50_005_000.0);
        assert_eq!(s.min(), Some(1.0));
        assert_eq!(s.max(), Some(10_000.0));
    }

    #[test]
    fn zeros_and_negatives_are_ordered() {
        let mut s = DdSketch::new();
        for v in [-100.0, -10.0, -1.0, 0.0, 0.0, 1.0, 10.0, 100.0, 1000.0] {
            s.add(v);
        }
        assert!(within(s.quantile(0.0).unwrap(), -100.0));
        assert!(within(s.quantile(0.2).unwrap(), -10.0));
        assert_eq!(s.quantile(0.4), Some(0.0));
        assert!(within(s.quantile(0.75).unwrap(), 10.0));
        assert_eq!(s.quantile(1.0), Some(1000.0));
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let mut s = DdSketch::new();
        s.add(f64::NAN);
        s.add(f64::INFINITY);
        s.add(3.0);
        assert_eq!(s.count(), 1);
        assert_eq!(s.quantile(0.5), Some(3.0));
    }

    #[test]
    fn bins_are_capped_and_lowest_collapse() {
        let mut s = DdSketch::new();
        // 1e-8 .. 1e12 spans far more than MAX_BINS bins at 1%.
        let mut v = 1e-8;
        while v < 1e12 {
            s.add(v);
            v *= 1.01;
        }
        assert!(s.bins() <= MAX_BINS, "bins {}", s.bins());
        assert_eq!(s.binned_total(), s.count());
        // The top of the distribution keeps its accuracy.
        let p99 = s.quantile(0.99).unwrap();
        let mut all = Vec::new();
        let mut v = 1e-8;
        while v < 1e12 {
            all.push(v);
            v *= 1.01;
        }
        assert!(within(p99, exact(&all, 0.99)), "p99 {p99}");
    }

    #[test]
    fn a_single_value_uses_no_heap_and_a_repeated_one_one_bin() {
        let mut s = DdSketch::new();
        s.add(42.5);
        assert_eq!((s.bins(), s.heap_bytes()), (0, 0));
        assert_eq!(s.quantiles([0.0, 0.5, 0.99, 1.0]), Some([42.5; 4]));
        for _ in 0..1000 {
            s.add(42.5);
        }
        assert_eq!(s.bins(), 1);
        assert!(s.heap_bytes() <= 128, "{}", s.heap_bytes());
        assert!(std::mem::size_of::<DdSketch>() <= 40);
    }

    #[test]
    fn index_is_the_ceiling_of_the_log() {
        assert!((INV_LN_GAMMA - 1.0 / gamma().ln()).abs() < 1e-9);
        let mut v: f64 = 1e-9;
        while v < 1e15 {
            let want = (v.ln() / gamma().ln()).ceil() as i32;
            let got = index_of(v);
            // The constant may differ from the division in the last bit: allow an off-by-one only at an edge.
            let edge = ((v.ln() / gamma().ln()) - f64::from(want - 1)).abs() < 1e-9;
            assert!(got == want || edge, "v={v} got {got} want {want}");
            assert!(within(value_of(got), v), "v={v}");
            v *= 1.003_7;
        }
        assert_eq!(index_of(1.0), 0);
        for v in (1..WHOLE_INDEXED + 10)
            .map(|v| v as f64)
            .chain([0.5, 1.5, 4095.5, 1e9])
        {
            assert_eq!(index_of(v), index_of_computed(v), "{v}");
        }
        assert_eq!(index_of(gamma() * gamma() * 1.000_001), 3);
        // At the top of f64's range a bin's value overflows and is clamped to the max seen.
        let mut s = DdSketch::new();
        [f64::MAX, f64::MAX / 2.0, f64::MAX]
            .iter()
            .for_each(|v| s.add(*v));
        assert_eq!(s.quantile(0.9), Some(f64::MAX));
    }

    #[test]
    fn merging_single_values_and_empties() {
        let mut a = DdSketch::new();
        a.merge(&DdSketch::new());
        assert_eq!(a.count(), 0);
        let mut one = DdSketch::new();
        one.add(-3.0);
        a.merge(&one);
        assert_eq!((a.count(), a.bins()), (1, 0));
        a.merge(&one);
        let mut b = DdSketch::new();
        b.add(5.0);
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.binned_total(), 3);
        assert_eq!(a.quantile(0.0), Some(-3.0));
        assert!(within(a.quantile(0.5).unwrap(), -3.0));
        assert_eq!(a.quantile(1.0), Some(5.0));
    }

    #[test]
    fn quantiles_in_one_walk_equal_one_at_a_time() {
        let mut s = DdSketch::new();
        (-500..1500).for_each(|v| s.add(f64::from(v) * 0.37));
        let qs = [0.99, 0.0, 0.5, 1.0, 0.95, 0.25];
        let together = s.quantiles(qs).unwrap();
        for (q, v) in qs.iter().zip(together) {
            assert_eq!(s.quantile(*q), Some(v));
        }
        assert_eq!(together[1], -500.0 * 0.37);
        assert_eq!(together[3], 1499.0 * 0.37);
    }

    proptest! {
        #[test]
        fn merge_equals_adding_all(a in prop::collection::vec(-1e6f64..1e6, 1..300),
                                   b in prop::collection::vec(-1e6f64..1e6, 1..300)) {
            let mut left = DdSketch::new();
            a.iter().for_each(|v| left.add(*v));
            let mut right = DdSketch::new();
            b.iter().for_each(|v| right.add(*v));
            let mut both = DdSketch::new();
            a.iter().chain(&b).for_each(|v| both.add(*v));
            left.merge(&right);
            prop_assert_eq!(left.count(), both.count());
            for q in [0.1, 0.5, 0.95, 0.99] {
                prop_assert_eq!(left.quantile(q), both.quantile(q));
            }
        }

        #[test]
        fn quantiles_within_relative_error(values in prop::collection::vec(-1e9f64..1e9, 1..2000),
                                           q in 0.0f64..=1.0) {
            let mut s = DdSketch::new();
            values.iter().for_each(|v| s.add(*v));
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let got = s.quantile(q).unwrap();
            let want = exact(&sorted, q);
            prop_assert!(within(got, want), "q={} got {} want {}", q, got, want);
        }
    }
}
