//! A bucket's aggregates as fields of one Redis hash, both ways: [`encode`] turns a local delta into the
//! operations a push applies (`HINCRBY` for counts, `HINCRBYFLOAT` for sums, min/max/last-sample compares, one
//! counter per sketch bin), and [`decode`] turns the merged hash back into aggregates the readers and the
//! flush already understand.
//!
//! Fields: router data under `r:` (`r:req`, `r:cls:2`, `r:st:503`, `r:err`, `r:code:H12`, `r:dyno:web.1`,
//! sketches `r:con:PART` and `r:svc:PART`); l2met series as `s:PART:KEY` with the store's series key
//! (`c` count, `v`/`t` sample value and time, `u` a distinct-count marker, measures `n`, `s`, `lo`, `hi` and
//! bins `p<i>`, `m<i>`, `z`); `seq:INSTANCE` is each instance's last applied push.

use crate::window::bucket::{Aggs, RouterAgg};
use crate::window::ddsketch::{BinIndex, DdSketch};
use crate::window::series::{split_key, MetricKind, SeriesAgg, SeriesKey};
use std::collections::HashMap;

/// One change to a bucket's hash.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `HINCRBY`.
    Int(String, u64),
    /// `HINCRBYFLOAT`.
    Float(String, f64),
    /// Keeps the smaller value.
    Min(String, f64),
    /// Keeps the larger value.
    Max(String, f64),
    /// A sample: kept when its time is not older than the stored one (`s:v:KEY`, time in `s:t:KEY`).
    Sample(String, i64, f64),
}

impl Op {
    /// The script's three arguments: op letter, field, value.
    pub fn args(&self) -> [String; 3] {
        match self {
            Op::Int(f, n) => ["i".into(), f.clone(), n.to_string()],
            Op::Float(f, v) => ["f".into(), f.clone(), fmt_float(*v)],
            Op::Min(f, v) => ["n".into(), f.clone(), fmt_float(*v)],
            Op::Max(f, v) => ["x".into(), f.clone(), fmt_float(*v)],
            Op::Sample(f, at, v) => ["s".into(), f.clone(), format!("{at} {}", fmt_float(*v))],
        }
    }
}

/// Round-trips through Redis' float parser (Rust's shortest form, `e` exponent for very large or small).
fn fmt_float(v: f64) -> String {
    format!("{v:?}")
}

/// The field of a series part: `s:PART:KEY`.
pub fn series_field(part: &str, key: &str) -> String {
    format!("s:{part}:{key}")
}

fn sketch_ops(sketch: &DdSketch, field: impl Fn(&str) -> String, ops: &mut Vec<Op>) {
    let (Some(min), Some(max)) = (sketch.min(), sketch.max()) else {
        return;
    };
    ops.push(Op::Int(field("n"), sketch.count()));
    if sketch.sum().is_finite() {
        ops.push(Op::Float(field("s"), sketch.sum()));
    }
    ops.push(Op::Min(field("lo"), min));
    ops.push(Op::Max(field("hi"), max));
    sketch.visit_bins(|bin, n| {
        let part = match bin {
            BinIndex::Positive(i) => format!("p{i}"),
            BinIndex::Negative(i) => format!("m{i}"),
            BinIndex::Zero => "z".into(),
        };
        ops.push(Op::Int(field(&part), n));
    });
}

fn router_ops(r: &RouterAgg, ops: &mut Vec<Op>) {
    let mut int = |field: String, n: u64| {
        if n > 0 {
            ops.push(Op::Int(field, n));
        }
    };
    int("r:req".into(), r.requests);
    for (class, n) in r.classes.iter().enumerate() {
        int(format!("r:cls:{class}"), *n);
    }
    for (status, n) in &r.statuses {
        int(format!("r:st:{status}"), *n);
    }
    int("r:err".into(), r.errors);
    for (code, n) in &r.error_codes {
        int(format!("r:code:{code}"), *n);
    }
    for (dyno, n) in &r.dynos {
        int(format!("r:dyno:{dyno}"), *n);
    }
    sketch_ops(&r.connect, |p| format!("r:con:{p}"), ops);
    sketch_ops(&r.service, |p| format!("r:svc:{p}"), ops);
}

/// The operations that add `aggs` to a bucket's hash. Distinct counts are not here: their members go to
/// Redis' own HyperLogLogs (see `uniques.rs`).
pub fn encode(aggs: &Aggs) -> Vec<Op> {
    let mut ops = Vec::new();
    if let Some(r) = &aggs.router {
        router_ops(r, &mut ops);
    }
    for (key, agg) in &aggs.series {
        match agg {
            SeriesAgg::Count(n) if n.is_finite() => ops.push(Op::Float(series_field("c", key), *n)),
            SeriesAgg::Sample { value, at } if value.is_finite() => {
                ops.push(Op::Sample(series_field("v", key), *at, *value))
            }
            SeriesAgg::Measure(s) => sketch_ops(s, |p| series_field(p, key), &mut ops),
            _ => {}
        }
    }
    ops
}

/// A sketch being read back part by part.
#[derive(Default)]
struct SketchParts {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    bins: Vec<(BinIndex, u64)>,
}

impl SketchParts {
    fn set(&mut self, part: &str, value: &str) {
        let float = || value.parse::<f64>().unwrap_or(0.0);
        let int = || value.parse::<u64>().unwrap_or(0);
        match part {
            "n" => self.count = int(),
            "s" => self.sum = float(),
            "lo" => self.min = float(),
            "hi" => self.max = float(),
            "z" => self.bins.push((BinIndex::Zero, int())),
            _ => {
                let index = |s: &str| s.parse::<i32>().ok();
                if let Some(i) = part.strip_prefix('p').and_then(index) {
                    self.bins.push((BinIndex::Positive(i), int()));
                } else if let Some(i) = part.strip_prefix('m').and_then(index) {
                    self.bins.push((BinIndex::Negative(i), int()));
                }
            }
        }
    }

    fn sketch(self) -> DdSketch {
        DdSketch::from_parts(self.count, self.sum, self.min, self.max, self.bins)
    }
}

/// A merged bucket read back: its aggregates, and the keys of its `unique#` series (whose counts are in
/// HyperLogLogs of their own).
#[derive(Default)]
pub struct Decoded {
    pub aggs: Aggs,
    pub uniques: Vec<String>,
}

/// Rebuilds a bucket's aggregates from its hash's fields.
pub fn decode(fields: &[(String, String)]) -> Decoded {
    let mut router = RouterAgg::default();
    let mut has_router = false;
    let (mut connect, mut service) = (SketchParts::default(), SketchParts::default());
    let mut sketches: HashMap<&str, SketchParts> = HashMap::new();
    let mut samples: HashMap<&str, (Option<f64>, i64)> = HashMap::new();
    let mut out = Decoded::default();
    for (field, value) in fields {
        let int = || value.parse::<u64>().unwrap_or(0);
        if let Some(r) = field.strip_prefix("r:") {
            has_router = true;
            if r == "req" {
                router.requests = int();
            } else if r == "err" {
                router.errors = int();
            } else if let Some(c) = r.strip_prefix("cls:") {
                if let Some(slot) = c
                    .parse::<usize>()
                    .ok()
                    .and_then(|c| router.classes.get_mut(c))
                {
                    *slot = int();
                }
            } else if let Some(s) = r.strip_prefix("st:") {
                if let Ok(status) = s.parse::<u16>() {
                    router.statuses.push((status, int()));
                }
            } else if let Some(code) = r.strip_prefix("code:") {
                router.error_codes.push((code.into(), int()));
            } else if let Some(dyno) = r.strip_prefix("dyno:") {
                router.dynos.insert(dyno.into(), int());
            } else if let Some(p) = r.strip_prefix("con:") {
                connect.set(p, value);
            } else if let Some(p) = r.strip_prefix("svc:") {
                service.set(p, value);
            }
        } else if let Some(s) = field.strip_prefix("s:") {
            let Some((part, key)) = s.split_once(':') else {
                continue;
            };
            let Some(kind) = split_key(key).map(|k| k.kind) else {
                continue;
            };
            match (kind, part) {
                (MetricKind::Count, "c") => {
                    let n = value.parse::<f64>().unwrap_or(0.0);
                    out.aggs
                        .series
                        .insert(SeriesKey::new(key), SeriesAgg::Count(n));
                }
                (MetricKind::Sample, "v") => samples.entry(key).or_default().0 = value.parse().ok(),
                (MetricKind::Sample, "t") => {
                    samples.entry(key).or_default().1 = value.parse().unwrap_or(i64::MIN)
                }
                (MetricKind::Unique, "u") => out.uniques.push(key.to_string()),
                (MetricKind::Measure, part) => sketches.entry(key).or_default().set(part, value),
                _ => {}
            }
        }
    }
    if has_router {
        router.statuses.sort_unstable();
        router.error_codes.sort_unstable();
        router.connect = connect.sketch();
        router.service = service.sketch();
        out.aggs.router = Some(Box::new(router));
    }
    for (key, parts) in sketches {
        out.aggs
            .series
            .insert(SeriesKey::new(key), SeriesAgg::Measure(parts.sketch()));
    }
    for (key, (value, at)) in samples {
        if let Some(value) = value {
            out.aggs
                .series
                .insert(SeriesKey::new(key), SeriesAgg::Sample { value, at });
        }
    }
    out.uniques.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies ops the way the push script does, to a plain map.
    fn apply(hash: &mut HashMap<String, String>, ops: &[Op]) {
        for op in ops {
            match op {
                Op::Int(f, n) => {
                    let cur: u64 = hash.get(f).and_then(|v| v.parse().ok()).unwrap_or(0);
                    hash.insert(f.clone(), (cur + n).to_string());
                }
                Op::Float(f, v) => {
                    let cur: f64 = hash.get(f).and_then(|v| v.parse().ok()).unwrap_or(0.0);
                    hash.insert(f.clone(), fmt_float(cur + v));
                }
                Op::Min(f, v) | Op::Max(f, v) => {
                    let min = matches!(op, Op::Min(..));
                    let keep = hash
                        .get(f)
                        .and_then(|c| c.parse::<f64>().ok())
                        .is_some_and(|c| if min { c <= *v } else { c >= *v });
                    if !keep {
                        hash.insert(f.clone(), fmt_float(*v));
                    }
                }
                Op::Sample(f, at, v) => {
                    let tf = format!("s:t:{}", &f[4..]);
                    let newer = hash
                        .get(&tf)
                        .and_then(|t| t.parse::<i64>().ok())
                        .is_none_or(|t| *at >= t);
                    if newer {
                        hash.insert(tf, at.to_string());
                        hash.insert(f.clone(), fmt_float(*v));
                    }
                }
            }
        }
    }

    fn aggs(values: &[f64], count: f64, status: u16) -> Aggs {
        let mut a = Aggs::default();
        let r = a.router_mut();
        r.requests = values.len() as u64;
        r.classes[(status / 100) as usize] = values.len() as u64;
        r.statuses.push((status, values.len() as u64));
        for v in values {
            r.service.add(*v);
        }
        let mut sketch = DdSketch::new();
        values.iter().for_each(|v| sketch.add(*v));
        a.series
            .insert("mdb.query".into(), SeriesAgg::Measure(sketch));
        a.series
            .insert("cjobs\0worker".into(), SeriesAgg::Count(count));
        a
    }

    #[test]
    fn merged_hash_equals_merged_aggregates() {
        let parts = [
            aggs(&[3.0], 1.5, 200),
            aggs(&[1.0, 20.0, 300.0], 2.0, 503),
            aggs(&[0.0, -4.0, 7.0, 7.0], 0.5, 200),
        ];
        let mut hash = HashMap::new();
        let mut all = Vec::new();
        for p in &parts {
            apply(&mut hash, &encode(p));
            if let Some(SeriesAgg::Measure(s)) = p.series.get("mdb.query") {
                all.push(s.clone());
            }
        }
        let fields: Vec<(String, String)> = hash.into_iter().collect();
        let back = decode(&fields).aggs;
        let router = back.router.unwrap();
        assert_eq!(router.requests, 8);
        assert_eq!(router.classes[2], 5);
        assert_eq!(router.classes[5], 3);
        assert_eq!(router.statuses, vec![(200, 5), (503, 3)]);
        let mut merged = DdSketch::new();
        all.iter().for_each(|s| merged.merge(s));
        let Some(SeriesAgg::Measure(s)) = back.series.get("mdb.query") else {
            panic!("no measure")
        };
        assert_eq!(s.count(), 8);
        assert_eq!(s.min(), Some(-4.0));
        assert_eq!(s.max(), Some(300.0));
        assert_eq!(s.quantiles([0.5, 0.9]), merged.quantiles([0.5, 0.9]));
        assert_eq!(router.service.quantile(0.5), merged.quantile(0.5));
        assert_eq!(
            back.series.get("cjobs\0worker"),
            Some(&SeriesAgg::Count(4.0))
        );
    }

    #[test]
    fn a_newer_sample_wins_an_older_one_does_not() {
        let mut hash = HashMap::new();
        let mut a = Aggs::default();
        a.series
            .insert("sload".into(), SeriesAgg::Sample { value: 2.0, at: 20 });
        apply(&mut hash, &encode(&a));
        a.series
            .insert("sload".into(), SeriesAgg::Sample { value: 9.0, at: 10 });
        apply(&mut hash, &encode(&a));
        let fields: Vec<(String, String)> = hash.into_iter().collect();
        assert_eq!(
            decode(&fields).aggs.series.get("sload"),
            Some(&SeriesAgg::Sample { value: 2.0, at: 20 })
        );
    }
}
