//! The last hour of each controller, for the status page's chart: one [`Point`] per pass (time, each input's
//! value, the estimate, the dynos in force), in a ring capped by count and by age so memory stays bounded
//! whatever the scaler interval.

use super::controller::PassReport;
use jiff::{SignedDuration, Timestamp};
use std::collections::VecDeque;

/// How far back the chart looks.
pub const SPAN: SignedDuration = SignedDuration::from_secs(3600);

/// The most points kept per controller (an hour at the default 5 s interval); with a faster interval the
/// chart covers the most recent passes only.
pub const CAPACITY: usize = 720;

/// One pass, as the chart draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub at: Timestamp,
    /// Each input's newest value, in the order of [`Track::inputs`].
    pub values: Vec<Option<f64>>,
    pub estimate: Option<u32>,
    pub dynos: Option<u32>,
}

/// One controller's recent passes.
#[derive(Debug, Clone, Default)]
pub struct Track {
    /// The inputs' names and units, as of the newest pass.
    pub inputs: Vec<(String, String)>,
    pub points: VecDeque<Point>,
}

impl Track {
    /// Adds a pass, dropping points beyond [`CAPACITY`] or older than [`SPAN`] before it.
    pub fn record(&mut self, pass: &PassReport) {
        let inputs: Vec<(String, String)> = pass
            .inputs
            .iter()
            .map(|i| (i.name.clone(), i.unit.clone()))
            .collect();
        if inputs != self.inputs {
            // A changed input list (never, today: the config is read once) would misalign old points.
            self.points.clear();
            self.inputs = inputs;
        }
        self.points.push_back(Point {
            at: pass.at,
            values: pass.inputs.iter().map(|i| i.value).collect(),
            estimate: pass.estimate,
            dynos: pass.actual,
        });
        let oldest = pass.at - SPAN;
        while self.points.len() > CAPACITY || self.points.front().is_some_and(|p| p.at < oldest) {
            self.points.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stats tests' pass (inputs `rpm` and `redis connections`), at `at_secs` with `rpm` at `value` and `dynos` in force.
    fn pass(at_secs: i64, value: f64, dynos: u32) -> PassReport {
        let mut p = crate::scaler::report::tests::sample_pass();
        p.at = Timestamp::from_second(at_secs).unwrap();
        p.inputs[0].value = Some(value);
        p.actual = Some(dynos);
        p
    }

    #[test]
    fn keeps_at_most_capacity_points_newest_last() {
        let mut t = Track::default();
        for i in 0..(CAPACITY as i64 + 50) {
            t.record(&pass(1_000_000 + i, i as f64, 2));
        }
        assert_eq!(t.points.len(), CAPACITY);
        let newest = t.points.back().unwrap();
        assert_eq!(newest.values, vec![Some((CAPACITY + 49) as f64), None]);
        assert_eq!(t.points.front().unwrap().values[0], Some(50.0));
        assert_eq!(t.inputs[0], ("rpm".to_string(), "per minute".to_string()));
        assert_eq!(t.inputs.len(), 2);
    }

    #[test]
    fn drops_points_older_than_an_hour() {
        let mut t = Track::default();
        t.record(&pass(1_000_000, 1.0, 1));
        t.record(&pass(1_000_000 + 1800, 2.0, 2));
        t.record(&pass(1_000_000 + 3601, 3.0, 3));
        let dynos: Vec<Option<u32>> = t.points.iter().map(|p| p.dynos).collect();
        assert_eq!(dynos, vec![Some(2), Some(3)]);
    }
}
