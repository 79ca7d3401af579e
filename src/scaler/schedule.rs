//! Schedules: time ranges in a named time zone that override a controller's min and/or max
//! (e.g. "at least 4 web dynos 08:00-19:00 Europe/Paris on weekdays"). The first active schedule wins.
//!
//! This file only answers "which bounds apply at this instant?"; it does not decide counts.

use crate::invalid::Invalid;
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The `schedules:` entries of a controller, as written in the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// A name for logs and the status page (default `schedule-N`).
    #[serde(default)]
    pub name: Option<String>,
    /// IANA time zone name (`Europe/Paris`, `America/New_York`); default `UTC`.
    #[serde(default = "default_tz")]
    pub timezone: String,
    /// Days the range starts on: `mon`..`sun`, or `weekdays` / `weekends`; default every day.
    #[serde(default)]
    pub days: Vec<String>,
    /// Local start time, `HH:MM` (inclusive).
    pub start: String,
    /// Local end time, `HH:MM` (exclusive). An end before the start runs over midnight.
    pub end: String,
    /// The minimum while active (default: the controller's min).
    #[serde(default)]
    pub min: Option<u32>,
    /// The maximum while active (default: the controller's max).
    #[serde(default)]
    pub max: Option<u32>,
}

fn default_tz() -> String {
    "UTC".into()
}

/// A validated schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub name: String,
    pub tz_name: String,
    tz: TimeZone,
    /// Monday = 0.
    days: [bool; 7],
    pub start: Time,
    pub end: Time,
    pub min: Option<u32>,
    pub max: Option<u32>,
}

impl Schedule {
    /// Validates a config entry; `index` names it when it has no name.
    pub fn from_config(c: &ScheduleConfig, index: usize) -> Result<Schedule, Invalid> {
        let name = c
            .name
            .clone()
            .unwrap_or_else(|| format!("schedule-{}", index + 1));
        let tz = TimeZone::get(&c.timezone).map_err(|e| {
            Invalid::at(
                "timezone",
                format!("unknown time zone {:?}: {e}", c.timezone),
            )
        })?;
        let start = parse_time(&c.start).map_err(|e| Invalid::at("start", e))?;
        let end = parse_time(&c.end).map_err(|e| Invalid::at("end", e))?;
        if start == end {
            return Err(Invalid::at(
                "end",
                format!("start and end are both {start}: the range is empty"),
            ));
        }
        let days = parse_days(&c.days).map_err(|e| Invalid::at("days", e))?;
        if c.min.is_none() && c.max.is_none() {
            return Err(Invalid::new(format!(
                "schedule {name:?}: set `min`, `max` or both"
            )));
        }
        if let (Some(lo), Some(hi)) = (c.min, c.max) {
            if lo > hi {
                return Err(Invalid::at("min", format!("{lo} is above max {hi}")));
            }
        }
        Ok(Schedule {
            name,
            tz_name: c.timezone.clone(),
            tz,
            days,
            start,
            end,
            min: c.min,
            max: c.max,
        })
    }

    /// True when `at` falls in the range (in the schedule's time zone).
    pub fn active(&self, at: Timestamp) -> bool {
        let local = at.to_zoned_datetime(self.tz.clone());
        let day = local.weekday();
        let time = local.time();
        let on = |d: Weekday| self.days[d.to_monday_zero_offset() as usize];
        if self.start < self.end {
            on(day) && time >= self.start && time < self.end
        } else {
            // Over midnight: the part after the start belongs to today, the part before the end to yesterday.
            (time >= self.start && on(day)) || (time < self.end && on(day.previous()))
        }
    }

    /// Readable form for plans and status pages.
    pub fn describe(&self) -> String {
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let days: Vec<&str> = names
            .iter()
            .zip(self.days)
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect();
        let days = if days.len() == 7 {
            "every day".to_string()
        } else {
            days.join(",")
        };
        let bound = |b: Option<u32>| b.map_or("-".to_string(), |v| v.to_string());
        format!(
            "{}: {} {}-{} {} -> min {} max {}",
            self.name,
            days,
            self.start.strftime("%H:%M"),
            self.end.strftime("%H:%M"),
            self.tz_name,
            bound(self.min),
            bound(self.max)
        )
    }
}

fn parse_time(text: &str) -> Result<Time, String> {
    Time::strptime("%H:%M", text.trim())
        .or_else(|_| Time::strptime("%H:%M:%S", text.trim()))
        .map_err(|_| format!("expected a time like 08:30, got {text:?}"))
}

fn parse_days(days: &[String]) -> Result<[bool; 7], String> {
    if days.is_empty() {
        return Ok([true; 7]);
    }
    let mut out = [false; 7];
    for d in days {
        let lower = d.trim().to_ascii_lowercase();
        let set: &[usize] = match lower.as_str() {
            "mon" | "monday" => &[0],
            "tue" | "tuesday" => &[1],
            "wed" | "wednesday" => &[2],
            "thu" | "thursday" => &[3],
            "fri" | "friday" => &[4],
            "sat" | "saturday" => &[5],
            "sun" | "sunday" => &[6],
            "weekdays" => &[0, 1, 2, 3, 4],
            "weekends" => &[5, 6],
            _ => {
                return Err(format!(
                    "unknown day {d:?} (use mon..sun, weekdays or weekends)"
                ))
            }
        };
        for &i in set {
            out[i] = true;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(tz: &str, days: &[&str], start: &str, end: &str) -> ScheduleConfig {
        ScheduleConfig {
            name: Some("s".into()),
            timezone: tz.into(),
            days: days.iter().map(|d| d.to_string()).collect(),
            start: start.into(),
            end: end.into(),
            min: Some(4),
            max: None,
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn business_hours_in_a_named_zone() {
        let s = Schedule::from_config(&cfg("Europe/Paris", &["weekdays"], "08:00", "19:00"), 0)
            .unwrap();
        // Monday 2026-11-23 07:30 UTC is 08:30 in Paris (CET, UTC+1).
        assert!(s.active(at("2026-11-23T07:30:00Z")));
        // 06:59 UTC is 07:59 Paris: not yet.
        assert!(!s.active(at("2026-11-23T06:59:00Z")));
        // 18:00 UTC is 19:00 Paris: ended (end is exclusive).
        assert!(!s.active(at("2026-11-23T18:00:00Z")));
        // Saturday.
        assert!(!s.active(at("2026-11-28T10:00:00Z")));
    }

    #[test]
    fn ranges_over_midnight_belong_to_the_start_day() {
        let s = Schedule::from_config(&cfg("UTC", &["fri"], "22:00", "02:00"), 0).unwrap();
        assert!(s.active(at("2026-11-27T23:00:00Z"))); // Friday night
        assert!(s.active(at("2026-11-28T01:00:00Z"))); // early Saturday, started Friday
        assert!(!s.active(at("2026-11-28T23:00:00Z"))); // Saturday night
        assert!(!s.active(at("2026-11-27T01:00:00Z"))); // early Friday, started Thursday
    }

    #[test]
    fn rejects_bad_entries() {
        assert!(
            Schedule::from_config(&cfg("Mars/Olympus", &[], "08:00", "09:00"), 0)
                .unwrap_err()
                .to_string()
                .contains("time zone")
        );
        assert!(
            Schedule::from_config(&cfg("UTC", &["funday"], "08:00", "09:00"), 0)
                .unwrap_err()
                .to_string()
                .contains("funday")
        );
        assert!(Schedule::from_config(&cfg("UTC", &[], "8am", "09:00"), 0)
            .unwrap_err()
            .to_string()
            .contains("8am"));
        assert!(Schedule::from_config(&cfg("UTC", &[], "08:00", "08:00"), 0)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        let mut c = cfg("UTC", &[], "08:00", "09:00");
        c.min = None;
        assert!(Schedule::from_config(&c, 0).is_err());
    }
}
