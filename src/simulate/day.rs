//! A generated day of router traffic with a known shape, for tests, benchmarks and the README's figures: a
//! diurnal wave (trough at 04:00 UTC, peak at 16:00) and a flash spike, written as `heroku logs` router lines
//! at evenly spaced times (no randomness: the same day, the same bytes).

use std::fmt::Write as _;

/// Midnight UTC, 2024-01-01 (a Monday), in Unix micros.
pub const DAY_START_MICROS: i64 = 1_704_067_200_000_000;
pub const DAY_SECONDS: u32 = 86_400;

/// The day's traffic shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// Mean requests per second of the wave.
    pub mean_rps: f64,
    /// The wave's half-height as a fraction of the mean (0.6: from 0.4x to 1.6x).
    pub swing: f64,
    /// When the spike starts, seconds after midnight.
    pub spike_at: u32,
    /// How long it lasts, seconds.
    pub spike_seconds: u32,
    /// Requests per second the spike adds, as a multiple of the mean.
    pub spike_extra: f64,
}

impl Day {
    /// The default shape at `mean_rps`: a 0.6 swing and a 10-minute spike at 14:00 adding twice the mean.
    pub fn new(mean_rps: f64) -> Self {
        Day {
            mean_rps,
            swing: 0.6,
            spike_at: 14 * 3600,
            spike_seconds: 600,
            spike_extra: 2.0,
        }
    }

    /// Requests per second during second `s` of the day.
    pub fn rate(&self, s: u32) -> f64 {
        let phase = 2.0 * std::f64::consts::PI * (f64::from(s) - 4.0 * 3600.0) / 86_400.0;
        let wave = self.mean_rps * (1.0 - self.swing * phase.cos());
        let spike = if (self.spike_at..self.spike_at + self.spike_seconds).contains(&s) {
            self.spike_extra * self.mean_rps
        } else {
            0.0
        };
        wave + spike
    }

    /// Appends the router lines of seconds `from..to` to `out` (the requests of a second evenly spaced in
    /// it); returns how many lines it wrote.
    pub fn write_lines(&self, from: u32, to: u32, out: &mut Vec<u8>) -> u64 {
        let mut lines = 0u64;
        let mut line = String::with_capacity(256);
        for s in from..to.min(DAY_SECONDS) {
            // Whole requests so far minus those of the seconds before: the fractions carry over.
            let before = self.cumulative(s);
            let n = (self.cumulative(s + 1) - before) as u32;
            let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
            for k in 0..n {
                let micros = u64::from(k) * 1_000_000 / u64::from(n);
                let request = before as u64 + u64::from(k);
                line.clear();
                let _ = writeln!(
                    line,
                    "2024-01-01T{h:02}:{m:02}:{sec:02}.{micros:06}+00:00 heroku[router]: at=info method=GET \
                     path=\"/items/{}\" host=shop.herokuapp.com request_id=9c1d{request:012x} \
                     fwd=\"203.0.113.{}\" dyno=web.{} connect=1ms service={}ms status=200 bytes=2817 \
                     protocol=https",
                    request % 977,
                    request % 250,
                    request % 8 + 1,
                    20 + request % 60,
                );
                out.extend_from_slice(line.as_bytes());
                lines += 1;
            }
        }
        lines
    }

    /// Requests in the seconds before `s` (the floor of the integral of the rate, second by second).
    fn cumulative(&self, s: u32) -> f64 {
        // A closed form keeps `write_lines` of any slice consistent with the whole day.
        let s = f64::from(s.min(DAY_SECONDS));
        let omega = 2.0 * std::f64::consts::PI / 86_400.0;
        let shift = 4.0 * 3600.0;
        let wave = self.mean_rps
            * (s - self.swing / omega * ((omega * (s - shift)).sin() - (omega * -shift).sin()));
        let spike_start = f64::from(self.spike_at);
        let spike_end = spike_start + f64::from(self.spike_seconds);
        let spike =
            self.spike_extra * self.mean_rps * (s.clamp(spike_start, spike_end) - spike_start);
        (wave + spike).floor()
    }

    /// Lines in the whole day.
    pub fn total_lines(&self) -> u64 {
        self.cumulative(DAY_SECONDS) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_has_its_trough_peak_and_spike() {
        let d = Day::new(10.0);
        assert!((d.rate(4 * 3600) - 4.0).abs() < 1e-9);
        assert!((d.rate(16 * 3600) - 16.0).abs() < 1e-9);
        assert!(d.rate(14 * 3600) > 30.0);
        assert!(d.rate(14 * 3600 + 600) < 20.0);
    }

    #[test]
    fn lines_follow_the_rate_and_slices_add_up() {
        let d = Day::new(2.0);
        let mut whole = Vec::new();
        let n = d.write_lines(0, 7200, &mut whole);
        let mut parts = Vec::new();
        let a = d.write_lines(0, 3600, &mut parts);
        let b = d.write_lines(3600, 7200, &mut parts);
        assert_eq!(n, a + b);
        assert_eq!(whole, parts);
        let expected: f64 = (0..7200).map(|s| d.rate(s)).sum();
        assert!((n as f64 - expected).abs() < 2.0, "{n} vs {expected}");
        let events: Vec<_> = crate::logplex::parse_body(&whole).collect();
        assert_eq!(events.len() as u64, n);
        assert!(matches!(
            events[0].kind,
            crate::logplex::EventKind::Router(_)
        ));
        assert_eq!(events[0].meta.timestamp, DAY_START_MICROS);
    }
}
