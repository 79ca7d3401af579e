//! The `drain` input: reads the drain's rolling windows (request rate, status-class or H-error rate, a
//! percentile of router service time or of a `measure#`, a `count#` rate, a `sample#` value).
//!
//! The silence rule (so a dead drain never reads as low load): if the drain's newest event is older than
//! `max_silence` (or it never received one), the input is STALE, whatever the windows say. While the drain is
//! receiving, a router percentile or rate with no data reads as 0 (no requests); a `measure#`/`sample#` with
//! no data in the span is STALE (the app stopped reporting it).

use super::super::clock::Tick;
use super::super::input::{ready, Conversion, Input, InputError, Retrieval};
use super::{
    parse_with, CheckContext, DynosaurEntry, DynosaurInput, InputContext, InputKind, InputSpec,
};
use crate::invalid::Invalid;
use crate::window::{Query, Signal, WindowReader};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// `type: drain`. Dynosaur had no such input; its RedisCloud usage plugins (which read New Relic's retired
/// plugin metrics) map to the add-on's own metrics lines in the drain.
pub const KIND: InputKind = InputKind {
    name: "drain",
    parse: |v| parse_with::<DrainParams>(v, DrainParams::validate),
    dynosaur: Some(DynosaurInput {
        classes: &[
            "RediscloudMemoryUsageInputPlugin",
            "RediscloudConnectionUsageInputPlugin",
        ],
        translate: from_dynosaur,
        from_env: &[],
    }),
};

/// Dynosaur's `RediscloudMemoryUsageInputPlugin` / `RediscloudConnectionUsageInputPlugin`
/// (`max_percentage_threshold`, `component_id`, `new_relic_api_key`): the drain's `sample#memory-redis` /
/// `sample#active-connections` (as Heroku's Redis add-ons log them), compared with the plans' `memory` /
/// `connections`. New Relic's plugin metrics, which Dynosaur read by `component_id`, were retired, so the
/// New Relic keys are dropped with a warning. An optional `source` (the add-on's attachment name, `REDIS`)
/// picks one add-on when several log.
fn from_dynosaur(class: &str, mut keys: serde_yaml_ng::Mapping) -> Result<DynosaurEntry, String> {
    let threshold = super::dynosaur_threshold(&mut keys)?;
    let (sample, figure) = match class {
        "RediscloudConnectionUsageInputPlugin" => ("active-connections", "connections"),
        _ => ("memory-redis", "memory"),
    };
    let mut warnings = Vec::new();
    let dropped: Vec<String> = ["component_id", "new_relic_api_key"]
        .into_iter()
        .filter(|k| keys.remove(*k).is_some())
        .map(|k| format!("`{k}`"))
        .collect();
    warnings.push(format!(
        "reads `sample#{sample}` from the drain's windows (the add-on's metrics lines; needs a `drain:` section \
         in this file){}",
        if dropped.is_empty() {
            String::new()
        } else {
            format!(
                "; {} not used: New Relic's plugin metrics, which Dynosaur read, were retired",
                dropped.join(" and ")
            )
        }
    ));
    let source = keys.remove("source");
    let mut query = serde_yaml_ng::Mapping::new();
    query.insert("signal".into(), "sample".into());
    query.insert("name".into(), sample.into());
    if let Some(source) = source {
        query.insert("source".into(), source);
    }
    keys.insert("query".into(), query.into());
    Ok(DynosaurEntry {
        params: keys,
        conversion: Some(Conversion::Capacity {
            figure: figure.into(),
            threshold: None,
        }),
        threshold,
        warnings,
        ..DynosaurEntry::default()
    })
}

/// Default cache interval of a drain input: one window bucket.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// The time unit of a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    #[default]
    Second,
    Minute,
}

/// `type: drain` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrainParams {
    /// What to read, as a window signal: `{signal: request_rate}`, `{signal: service_time, quantile: 0.95}`,
    /// `{signal: error_rate, code: H12}`, `{signal: measure, name: db.query, quantile: 0.99}`, ...
    pub query: Signal,
    /// How far back the windows are read (default `1m`).
    #[serde(default = "default_span", with = "crate::duration")]
    pub span: Duration,
    /// For rates: per `second` (default) or per `minute` (requests per minute, as New Relic's RPM).
    #[serde(default)]
    pub per: Per,
    /// How old the drain's newest event may be before the input is STALE (default `2m`).
    #[serde(default = "default_max_silence", with = "crate::duration")]
    pub max_silence: Duration,
}

fn default_span() -> Duration {
    Duration::from_secs(60)
}

fn default_max_silence() -> Duration {
    Duration::from_secs(120)
}

impl DrainParams {
    /// Checks what serde cannot: quantiles in 0..=1, `per: minute` only on rates.
    pub fn validate(&self) -> Result<(), String> {
        let quantile = match &self.query {
            Signal::ServiceTime { quantile }
            | Signal::ConnectTime { quantile }
            | Signal::Measure { quantile, .. } => Some(*quantile),
            _ => None,
        };
        if let Some(q) = quantile {
            if !(0.0..=1.0).contains(&q) {
                return Err(format!(
                    "quantile {q} is outside 0..=1 (write 0.95 for p95)"
                ));
            }
        }
        if self.per == Per::Minute && !is_rate(&self.query) {
            return Err("`per: minute` applies to rates only".into());
        }
        if self.span.is_zero() {
            return Err("span must be more than 0s".into());
        }
        Ok(())
    }
}

impl InputSpec for DrainParams {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn describe(&self) -> String {
        let per = if is_rate(&self.query) {
            match self.per {
                Per::Second => " per second",
                Per::Minute => " per minute",
            }
        } else {
            ""
        };
        format!(
            "drain {}{per} over {}, stale after {} of drain silence",
            describe_signal(&self.query),
            crate::duration::format(self.span),
            crate::duration::format(self.max_silence)
        )
    }

    /// A request rate or a latency has no natural "per dyno": the entry names it.
    fn default_conversion(&self) -> Option<Conversion> {
        None
    }

    fn default_interval(&self) -> Duration {
        DEFAULT_INTERVAL
    }

    /// A drain input needs the drain, and a span the windows keep.
    fn check(&self, cx: &CheckContext) -> Result<Vec<String>, Invalid> {
        let format = crate::duration::format;
        let mut warnings = Vec::new();
        if !cx.drain {
            return Err(Invalid::at(
                "type",
                "a drain input needs the drain: add a `drain:` section",
            ));
        }
        if self.span > cx.windows.retention {
            return Err(Invalid::at(
                "span",
                format!(
                    "{} is longer than windows.retention {}",
                    format(self.span),
                    format(cx.windows.retention)
                ),
            ));
        }
        if matches!(cx.conversion, Conversion::Target { .. }) && cx.policy.up_cooldown < self.span {
            warnings.push(format!(
                "with `target`, a scale-up is judged again before the {} span holds data from the new count: \
                 consider policy.up_cooldown >= {}",
                format(self.span),
                format(self.span)
            ));
        }
        if cx.interval < cx.windows.resolution {
            warnings.push(format!(
                "interval {} is shorter than windows.resolution {}: reads will repeat",
                format(cx.interval),
                format(cx.windows.resolution)
            ));
        }
        Ok(warnings)
    }

    fn build(
        &self,
        conversion: Conversion,
        ctx: &InputContext,
        _start: Tick,
    ) -> Result<Box<dyn Input>, String> {
        let windows = ctx
            .windows
            .clone()
            .ok_or("a drain input needs the drain (add a `drain:` section)")?;
        Ok(Box::new(DrainInput::new(self.clone(), conversion, windows)))
    }
}

fn is_rate(signal: &Signal) -> bool {
    matches!(
        signal,
        Signal::RequestRate
            | Signal::StatusClassRate { .. }
            | Signal::StatusRate { .. }
            | Signal::ErrorRate { .. }
            | Signal::CountRate { .. }
    )
}

fn describe_signal(signal: &Signal) -> String {
    let src = |s: &Option<String>| {
        s.as_ref()
            .map_or(String::new(), |s| format!(" (source {s})"))
    };
    let p = |q: f64| format!("p{}", (q * 1000.0).round() / 10.0);
    match signal {
        Signal::RequestRate => "request rate".into(),
        Signal::StatusClassRate { class } => format!("{class}xx rate"),
        Signal::StatusRate { status } => format!("status {status} rate"),
        Signal::ErrorRate { code: Some(c) } => format!("{c} error rate"),
        Signal::ErrorRate { code: None } => "router error rate".into(),
        Signal::ServiceTime { quantile } => format!("{} router service time (ms)", p(*quantile)),
        Signal::ConnectTime { quantile } => format!("{} router connect time (ms)", p(*quantile)),
        Signal::Measure {
            name,
            quantile,
            source,
        } => format!("{} of measure#{name}{}", p(*quantile), src(source)),
        Signal::CountRate { name, source } => format!("count#{name} rate{}", src(source)),
        Signal::Sample { name, source } => format!("sample#{name}{}", src(source)),
    }
}

pub struct DrainInput {
    params: DrainParams,
    conversion: Conversion,
    windows: Arc<dyn WindowReader>,
    unit: String,
}

impl DrainInput {
    pub fn new(
        params: DrainParams,
        conversion: Conversion,
        windows: Arc<dyn WindowReader>,
    ) -> Self {
        let unit = match (&params.query, params.per) {
            (s, Per::Minute) if is_rate(s) => "per minute",
            (s, Per::Second) if is_rate(s) => "per second",
            (Signal::ServiceTime { .. } | Signal::ConnectTime { .. }, _) => "ms",
            _ => "",
        }
        .to_string();
        DrainInput {
            params,
            conversion,
            windows,
            unit,
        }
    }

    /// Reads the windows and applies the silence rule.
    pub fn read(&self, now: Tick) -> Result<f64, InputError> {
        let query = Query {
            signal: self.params.query.clone(),
            span: self.params.span,
        };
        let reading = self
            .windows
            .read(&query)
            .map_err(|e| InputError::Unavailable(e.to_string()))?;
        let now_us = now.wall.as_microsecond();
        let silence = self.params.max_silence.as_micros() as i64;
        match reading.last_ingest {
            None => {
                return Err(InputError::Stale(
                    "the drain has not received any log yet".into(),
                ))
            }
            Some(at) if now_us.saturating_sub(at) > silence => {
                // A stable message (no running count) so the failure is logged once, not every pass.
                return Err(InputError::Stale(format!(
                    "the drain has received nothing for more than {}",
                    crate::duration::format(self.params.max_silence)
                )));
            }
            Some(_) => {}
        }
        let value = match (reading.value, &self.params.query) {
            (Some(v), _) if v.is_finite() => v,
            (Some(v), _) => return Err(InputError::BadValue(format!("window returned {v}"))),
            (None, Signal::Measure { name, .. }) => {
                return Err(InputError::Stale(format!(
                    "no measure#{name} in the last {}s",
                    self.params.span.as_secs()
                )))
            }
            (None, Signal::Sample { name, .. }) => {
                return Err(InputError::Stale(format!(
                    "no sample#{name} in the last {}s",
                    self.params.span.as_secs()
                )))
            }
            // The drain is receiving but saw no requests: no load.
            (None, _) => 0.0,
        };
        Ok(
            if self.params.per == Per::Minute && is_rate(&self.params.query) {
                value * 60.0
            } else {
                value
            },
        )
    }
}

impl Input for DrainInput {
    fn retrieve(&self, now: Tick) -> Retrieval<'_> {
        ready(self.read(now))
    }

    fn unit(&self) -> &str {
        &self.unit
    }

    fn conversion(&self) -> &Conversion {
        &self.conversion
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaler::clock::{Clock, ManualClock};
    use crate::window::{ReadError, Reading};
    use std::sync::Mutex;

    /// Answers every query with a settable reading, and remembers the last query.
    struct FakeWindows {
        answer: Mutex<Result<Reading, String>>,
        asked: Mutex<Option<Query>>,
    }

    impl WindowReader for FakeWindows {
        fn read(&self, query: &Query) -> Result<Reading, ReadError> {
            *self.asked.lock().unwrap() = Some(query.clone());
            self.answer.lock().unwrap().clone().map_err(ReadError)
        }
    }

    fn setup(
        query: Signal,
        per: Per,
        answer: Result<Reading, String>,
    ) -> (DrainInput, Arc<FakeWindows>, ManualClock) {
        let clock = ManualClock::starting_at("2026-11-23T12:00:00Z".parse().unwrap());
        let windows = Arc::new(FakeWindows {
            answer: Mutex::new(answer),
            asked: Mutex::new(None),
        });
        let params = DrainParams {
            query,
            span: default_span(),
            per,
            max_silence: default_max_silence(),
        };
        params.validate().unwrap();
        let input = DrainInput::new(params, Conversion::PerDyno(100.0), windows.clone());
        (input, windows, clock)
    }

    fn at(clock: &ManualClock, secs_ago: i64) -> Option<i64> {
        Some(clock.tick().wall.as_microsecond() - secs_ago * 1_000_000)
    }

    #[test]
    fn reads_a_rate_per_minute() {
        let clock = ManualClock::starting_at("2026-11-23T12:00:00Z".parse().unwrap());
        let (input, windows, _) = setup(
            Signal::RequestRate,
            Per::Minute,
            Ok(Reading {
                value: Some(12.5),
                last_ingest: at(&clock, 3),
            }),
        );
        assert_eq!(input.read(clock.tick()), Ok(750.0));
        let asked = windows.asked.lock().unwrap().clone().unwrap();
        assert_eq!(
            asked,
            Query {
                signal: Signal::RequestRate,
                span: Duration::from_secs(60)
            }
        );
    }

    #[test]
    fn a_silent_drain_is_stale_not_zero() {
        let clock = ManualClock::starting_at("2026-11-23T12:00:00Z".parse().unwrap());
        let (input, _, _) = setup(
            Signal::RequestRate,
            Per::Second,
            Ok(Reading {
                value: Some(0.0),
                last_ingest: at(&clock, 121),
            }),
        );
        assert!(matches!(
            input.read(clock.tick()),
            Err(InputError::Stale(_))
        ));
        let (input, _, _) = setup(
            Signal::RequestRate,
            Per::Second,
            Ok(Reading {
                value: Some(0.0),
                last_ingest: None,
            }),
        );
        assert!(matches!(
            input.read(clock.tick()),
            Err(InputError::Stale(_))
        ));
    }

    #[test]
    fn no_requests_while_receiving_is_zero_load() {
        let clock = ManualClock::starting_at("2026-11-23T12:00:00Z".parse().unwrap());
        let (input, _, _) = setup(
            Signal::ServiceTime { quantile: 0.95 },
            Per::Second,
            Ok(Reading {
                value: None,
                last_ingest: at(&clock, 5),
            }),
        );
        assert_eq!(input.read(clock.tick()), Ok(0.0));
        assert_eq!(input.unit(), "ms");
    }

    #[test]
    fn a_missing_measure_is_stale() {
        let clock = ManualClock::starting_at("2026-11-23T12:00:00Z".parse().unwrap());
        let signal = Signal::Measure {
            name: "db.query".into(),
            quantile: 0.99,
            source: None,
        };
        let (input, _, _) = setup(
            signal,
            Per::Second,
            Ok(Reading {
                value: None,
                last_ingest: at(&clock, 5),
            }),
        );
        assert!(
            matches!(input.read(clock.tick()), Err(InputError::Stale(m)) if m.contains("measure#db.query"))
        );
    }

    #[test]
    fn a_store_error_is_unavailable() {
        let clock = ManualClock::default();
        let (input, _, _) = setup(Signal::RequestRate, Per::Second, Err("redis down".into()));
        assert!(
            matches!(input.read(clock.tick()), Err(InputError::Unavailable(m)) if m.contains("redis down"))
        );
    }

    #[test]
    fn validation_names_the_problem() {
        let mut p = DrainParams {
            query: Signal::ServiceTime { quantile: 95.0 },
            span: default_span(),
            per: Per::Second,
            max_silence: default_max_silence(),
        };
        assert!(p.validate().unwrap_err().contains("quantile 95"));
        p.query = Signal::Sample {
            name: "load".into(),
            source: None,
        };
        p.per = Per::Minute;
        assert!(p.validate().unwrap_err().contains("rates only"));
    }
}
