//! `--trace CSV`: a plain time series to replay instead of (or beside) logs, like Dynosaur's sine plot. The
//! first column is the time (RFC 3339, or seconds from the start of the trace), each other column the values
//! of the input of that name; an empty cell is a failed read. Inputs that call outside services (GA4, New
//! Relic, Papertrail) take their values from here, since a replay calls no service.

use crate::scaler::clock::Tick;
use crate::scaler::input::{ready, Conversion, Input, InputError, Retrieval};
use std::sync::Arc;

/// Where numeric trace times count from: 2024-01-01T00:00:00Z.
pub const TRACE_EPOCH_MICROS: i64 = 1_704_067_200_000_000;

/// A parsed trace: rows sorted by time.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Row times, Unix micros, ascending.
    pub times: Vec<i64>,
    /// Column names (without the time column) and their values per row.
    pub columns: Vec<(String, Vec<Option<f64>>)>,
}

impl Trace {
    /// Parses a trace file's text; errors name the file and the line.
    pub fn parse(text: &str, file: &str) -> Result<Trace, String> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        let Some((_, header)) = lines.next() else {
            return Err(format!(
                "{file}: empty trace: expected a header `time,INPUT,...`"
            ));
        };
        let names: Vec<String> = header
            .split(',')
            .skip(1)
            .map(|n| n.trim().to_string())
            .collect();
        if names.is_empty() || names.iter().any(String::is_empty) {
            return Err(format!(
                "{file}: line 1: expected a header `time,INPUT,...` naming each input column"
            ));
        }
        let mut trace = Trace {
            times: Vec::new(),
            columns: names.into_iter().map(|n| (n, Vec::new())).collect(),
        };
        for (index, line) in lines {
            let at = |what: String| format!("{file}: line {}: {what}", index + 1);
            let mut cells = line.split(',').map(str::trim);
            let time = parse_time(cells.next().unwrap_or("")).map_err(at)?;
            if trace.times.last().is_some_and(|last| time < *last) {
                return Err(at("times must not go backwards".into()));
            }
            trace.times.push(time);
            for (i, (name, values)) in trace.columns.iter_mut().enumerate() {
                let cell = cells.next().unwrap_or("");
                let value = if cell.is_empty() {
                    None
                } else {
                    Some(cell.parse::<f64>().map_err(|_| {
                        at(format!(
                            "column {} ({name}): expected a number or nothing",
                            i + 2
                        ))
                    })?)
                };
                values.push(value);
            }
        }
        if trace.times.is_empty() {
            return Err(format!("{file}: the trace has a header but no rows"));
        }
        Ok(trace)
    }

    /// The column of an input, by name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|(n, _)| n == name)
    }

    /// The value of `column` at `at` (Unix micros): the last row at or before it.
    pub fn value_at(&self, column: usize, at: i64) -> Option<f64> {
        let row = self.times.partition_point(|t| *t <= at).checked_sub(1)?;
        self.columns.get(column)?.1.get(row).copied().flatten()
    }

    /// The first and last row times.
    pub fn span(&self) -> (i64, i64) {
        (
            self.times.first().copied().unwrap_or(0),
            self.times.last().copied().unwrap_or(0),
        )
    }
}

fn parse_time(cell: &str) -> Result<i64, String> {
    if let Ok(seconds) = cell.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Ok(TRACE_EPOCH_MICROS + (seconds * 1e6) as i64);
        }
    }
    cell.parse::<jiff::Timestamp>()
        .map(|t| t.as_microsecond())
        .map_err(|_| {
            "time: expected RFC 3339 (2024-01-01T00:00:00Z) or seconds from the start".to_string()
        })
}

/// An input whose values come from a trace column.
pub struct TraceInput {
    trace: Arc<Trace>,
    column: usize,
    conversion: Conversion,
}

impl TraceInput {
    pub fn new(trace: Arc<Trace>, column: usize, conversion: Conversion) -> Self {
        TraceInput {
            trace,
            column,
            conversion,
        }
    }
}

impl Input for TraceInput {
    fn retrieve(&self, now: Tick) -> Retrieval<'_> {
        ready(
            self.trace
                .value_at(self.column, now.wall.as_microsecond())
                .ok_or_else(|| InputError::Unavailable("no trace value at this time".into())),
        )
    }

    fn unit(&self) -> &str {
        ""
    }

    fn conversion(&self) -> &Conversion {
        &self.conversion
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_hold_until_the_next_row() {
        let t = Trace::parse("time,rpm,users\n0,100,\n60,200,7\n", "t.csv").unwrap();
        let rpm = t.column("rpm").unwrap();
        let users = t.column("users").unwrap();
        assert_eq!(t.value_at(rpm, TRACE_EPOCH_MICROS - 1), None);
        assert_eq!(
            t.value_at(rpm, TRACE_EPOCH_MICROS + 59_000_000),
            Some(100.0)
        );
        assert_eq!(
            t.value_at(rpm, TRACE_EPOCH_MICROS + 3_600_000_000),
            Some(200.0)
        );
        assert_eq!(t.value_at(users, TRACE_EPOCH_MICROS), None);
        assert_eq!(
            t.value_at(users, TRACE_EPOCH_MICROS + 60_000_000),
            Some(7.0)
        );
    }

    #[test]
    fn rfc3339_times_and_errors_with_lines() {
        let t = Trace::parse("time,rpm\n2024-05-01T00:00:00Z,1\n", "t.csv").unwrap();
        assert_eq!(t.span().0, 1_714_521_600_000_000);
        let e = Trace::parse("time,rpm\n0,1\nsoon,2\n", "t.csv").unwrap_err();
        assert!(e.starts_with("t.csv: line 3: time"), "{e}");
        let e = Trace::parse("time,rpm\n10,1\n5,2\n", "t.csv").unwrap_err();
        assert!(e.contains("line 3") && e.contains("backwards"), "{e}");
        let e = Trace::parse("time,rpm\n0,lots\n", "t.csv").unwrap_err();
        assert!(e.contains("column 2 (rpm)"), "{e}");
        assert!(Trace::parse("", "t.csv").is_err());
    }
}
