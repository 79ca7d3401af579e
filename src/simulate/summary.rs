//! The summary of each run: dyno-hours (the integral of the count after policies over the replay), changes,
//! peak, and the minutes under- and over-provisioned against the capacity per dyno the user states
//! (`--capacity rpm=600`: the `rpm` input's value over 600 is the dynos needed). Under-provisioned: fewer
//! dynos serving (booted) than needed. Over-provisioned: more serving than needed, rounded up, with at least
//! one. The needed dynos come from the first run's inputs, so every run is judged against the same traffic.

use super::lane::Lane;
use std::fmt::Write as _;
use std::time::Duration;

/// `--capacity INPUT=PER_DYNO`.
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    pub input: String,
    pub per_dyno: f64,
}

impl Capacity {
    pub fn parse(spec: &str) -> Result<Capacity, String> {
        let bad = || format!("--capacity {spec}: expected INPUT=PER_DYNO, e.g. rpm=600");
        let (input, per) = spec.split_once('=').ok_or_else(bad)?;
        let per_dyno: f64 = per.trim().parse().map_err(|_| bad())?;
        if !(per_dyno.is_finite() && per_dyno > 0.0) || input.trim().is_empty() {
            return Err(bad());
        }
        Ok(Capacity {
            input: input.trim().to_string(),
            per_dyno,
        })
    }
}

/// The dynos needed at each pass of `lane`: the max over `capacities` of value / per dyno (`None` before any
/// capacity input has a value). Errors when `lane` has no input of a capacity's name.
pub fn needed(lane: &Lane, capacities: &[Capacity]) -> Result<Vec<Option<f64>>, String> {
    let columns = capacities
        .iter()
        .map(|c| {
            lane.input_names
                .iter()
                .position(|n| *n == c.input)
                .map(|i| (i, c.per_dyno))
                .ok_or_else(|| {
                    format!(
                        "--capacity {}: controller has no input named {:?} (inputs: {})",
                        c.input,
                        c.input,
                        lane.input_names.join(", ")
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(lane
        .rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .filter_map(|(i, per)| row.inputs.get(*i).and_then(|(v, _)| *v).map(|v| v / per))
                .reduce(f64::max)
        })
        .collect())
}

/// One run's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub run: String,
    /// Replayed time, hours.
    pub hours: f64,
    pub dyno_hours: f64,
    pub changes: usize,
    pub peak: u32,
    /// `None` without `--capacity`.
    pub under_minutes: Option<f64>,
    pub over_minutes: Option<f64>,
}

/// How long each row's count held: to the next row, and `step` for the last.
pub fn durations(lane: &Lane, step: Duration) -> Vec<f64> {
    let rows = &lane.rows;
    (0..rows.len())
        .map(|i| match rows.get(i + 1) {
            Some(next) => (next.at - rows[i].at) as f64 / 1e6,
            None => step.as_secs_f64(),
        })
        .collect()
}

/// Summarizes `lane`, judged against `needed` (per row) when given.
pub fn summarize(lane: &Lane, needed: Option<&[Option<f64>]>, step: Duration) -> Summary {
    let dt = durations(lane, step);
    let dyno_seconds: f64 = lane
        .rows
        .iter()
        .zip(&dt)
        .map(|(r, d)| f64::from(r.count) * d)
        .sum();
    let judged = |pick: fn(u32, f64) -> bool| {
        needed.map(|needed| {
            lane.rows
                .iter()
                .zip(&dt)
                .zip(needed)
                .filter_map(|((row, d), n)| n.filter(|n| pick(row.serving, *n)).map(|_| *d))
                .sum::<f64>()
                / 60.0
                + 0.0 // an empty sum is -0.0
        })
    };
    Summary {
        run: lane.name.clone(),
        hours: dt.iter().sum::<f64>() / 3600.0,
        dyno_hours: dyno_seconds / 3600.0,
        changes: lane.rows.iter().filter(|r| r.changed).count(),
        peak: lane.rows.iter().map(|r| r.count).max().unwrap_or(0),
        under_minutes: judged(under),
        over_minutes: judged(over),
    }
}

/// Fewer dynos serving than needed.
pub fn under(serving: u32, needed: f64) -> bool {
    f64::from(serving) < needed - 1e-9
}

/// More dynos serving than needed, rounded up, with at least one.
fn over(serving: u32, needed: f64) -> bool {
    f64::from(serving) > (needed - 1e-9).ceil().max(1.0)
}

/// The summaries as a table.
pub fn render(summaries: &[Summary]) -> String {
    let width = summaries
        .iter()
        .map(|s| s.run.len())
        .max()
        .unwrap_or(3)
        .max(3);
    let minutes = |m: Option<f64>| m.map_or("-".to_string(), |m| format!("{m:.1}"));
    let mut out = format!(
        "{:<width$}  {:>10}  {:>7}  {:>4}  {:>15}  {:>14}\n",
        "run", "dyno-hours", "changes", "peak", "under-prov. min", "over-prov. min"
    );
    for s in summaries {
        let _ = writeln!(
            out,
            "{:<width$}  {:>10.2}  {:>7}  {:>4}  {:>15}  {:>14}",
            s.run,
            s.dyno_hours,
            s.changes,
            s.peak,
            minutes(s.under_minutes),
            minutes(s.over_minutes)
        );
    }
    out
}

/// Each run after the first against the first: the same decisions, or the differences in its figures.
pub fn differences(lanes: &[Lane], summaries: &[Summary]) -> String {
    let (Some(first_lane), Some(first)) = (lanes.first(), summaries.first()) else {
        return String::new();
    };
    let mut out = String::new();
    for (lane, s) in lanes.iter().zip(summaries).skip(1) {
        let same = lane.rows.len() == first_lane.rows.len()
            && lane
                .rows
                .iter()
                .zip(&first_lane.rows)
                .all(|(a, b)| a.count == b.count && a.serving == b.serving);
        if same {
            let _ = writeln!(
                out,
                "{} vs {}: no difference (the same decisions)",
                s.run, first.run
            );
            continue;
        }
        let pct = if first.dyno_hours > 0.0 {
            format!(
                " ({:+.1}%)",
                100.0 * (s.dyno_hours - first.dyno_hours) / first.dyno_hours
            )
        } else {
            String::new()
        };
        let under = match (s.under_minutes, first.under_minutes) {
            (Some(a), Some(b)) => format!(", under-provisioned {:+.1} min", a - b),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{} vs {}: dyno-hours {:+.2}{pct}, changes {:+}{under}",
            s.run,
            first.run,
            s.dyno_hours - first.dyno_hours,
            s.changes as i64 - first.changes as i64,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_specs() {
        assert_eq!(
            Capacity::parse("rpm=600"),
            Ok(Capacity {
                input: "rpm".into(),
                per_dyno: 600.0
            })
        );
        assert!(Capacity::parse("rpm").is_err());
        assert!(Capacity::parse("rpm=0").is_err());
        assert!(Capacity::parse("=5").is_err());
    }

    #[test]
    fn under_and_over_provisioning() {
        assert!(under(2, 2.5));
        assert!(!under(3, 2.5));
        assert!(!under(3, 3.0));
        assert!(over(4, 2.5));
        assert!(!over(3, 2.5));
        assert!(!over(1, 0.0));
        assert!(over(2, 0.0));
    }
}
