//! Add-on plan tables: an add-on's plans in order, each a name and its capacity figures (`memory`,
//! `connections`, `log_volume`, ...). An add-on controller scales along a table: its count is a plan's position.
//!
//! Two tables ship built in, from the add-ons' published plans: `rediscloud` (figures `memory` in bytes and
//! `connections`) and `papertrail` (figure `log_volume`, bytes per day). A config may write its own as a list.
//! Sizes may be written `100MB`, `1.5GB`, `512kB` (1024-based, as Redis reports memory) or as plain numbers.
//! A figure left empty (`connections:` with no value) has no limit.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Heroku's plan name (`rediscloud:100`).
    pub name: String,
    /// Capacity figures; `None`: no limit.
    pub figures: BTreeMap<String, Option<f64>>,
}

/// An ordered plan table (smallest first).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanTable {
    /// `rediscloud`, `papertrail`, or `custom` for a table written in the config.
    pub name: String,
    pub plans: Arc<[Plan]>,
}

const KB: f64 = 1024.0;
const MB: f64 = KB * 1024.0;
const GB: f64 = MB * 1024.0;

/// The built-in tables' names.
pub const BUILT_IN: &[&str] = &["rediscloud", "papertrail"];

impl PlanTable {
    /// A built-in table by name.
    pub fn built_in(name: &str) -> Option<PlanTable> {
        let plans: Vec<Plan> = match name {
            "rediscloud" => [
                (25, Some(10.0)),
                (100, Some(256.0)),
                (250, Some(256.0)),
                (500, Some(512.0)),
                (1000, Some(1024.0)),
                (2500, None),
                (5000, None),
                (10000, None),
                (25000, None),
                (50000, None),
            ]
            .iter()
            .map(|&(mb, connections)| Plan {
                name: format!("rediscloud:{mb}"),
                figures: BTreeMap::from([
                    ("memory".to_string(), Some(f64::from(mb) * MB)),
                    ("connections".to_string(), connections),
                ]),
            })
            .collect(),
            "papertrail" => [
                ("choklad", 10.0 * MB),
                ("fixa", 50.0 * MB),
                ("ludvig", 100.0 * MB),
                ("forsta", 200.0 * MB),
                ("volmar", 500.0 * MB),
                ("liatorp", GB),
                ("fredrik", 5.0 * GB),
                ("numerar", 10.0 * GB),
                ("galant", 10.0 * GB),
                ("sparsam", 20.0 * GB),
                ("grundtal", 20.0 * GB),
            ]
            .iter()
            .map(|&(plan, bytes)| Plan {
                name: format!("papertrail:{plan}"),
                figures: BTreeMap::from([("log_volume".to_string(), Some(bytes))]),
            })
            .collect(),
            _ => return None,
        };
        Some(PlanTable {
            name: name.to_string(),
            plans: plans.into(),
        })
    }

    /// The position of a plan.
    pub fn index_of(&self, plan: &str) -> Option<usize> {
        self.plans.iter().position(|p| p.name == plan)
    }

    /// A plan's name by position (`?` past the end).
    pub fn label(&self, index: u32) -> String {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.plans.get(i))
            .map_or_else(|| format!("plan #{index}"), |p| p.name.clone())
    }

    /// Every plan's value of `figure`, in order; `None` when no plan has it.
    pub fn limits(&self, figure: &str) -> Option<Vec<Option<f64>>> {
        if !self.plans.iter().any(|p| p.figures.contains_key(figure)) {
            return None;
        }
        Some(
            self.plans
                .iter()
                .map(|p| p.figures.get(figure).copied().flatten())
                .collect(),
        )
    }

    /// The figures any plan has, sorted.
    pub fn figures(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .plans
            .iter()
            .flat_map(|p| p.figures.keys().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// The plan names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.plans.iter().map(|p| p.name.as_str()).collect()
    }
}

/// A figure as written: a number, a size with a unit, or empty (no limit).
#[derive(Deserialize)]
#[serde(untagged)]
enum Figure {
    Number(f64),
    Text(String),
    None(()),
}

/// `100MB` -> bytes (1024-based units: `B`, `kB`/`KB`, `MB`, `GB`, `TB`, case-insensitive).
pub fn parse_size(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a number or a size like 100MB"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1.0,
        "kb" => KB,
        "mb" => MB,
        "gb" => GB,
        "tb" => GB * 1024.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use B, kB, MB, GB, TB)"
            ))
        }
    };
    Ok(n * scale)
}

/// A plan as written in a config's own table.
#[derive(Deserialize)]
struct RawPlan {
    name: String,
    #[serde(flatten)]
    figures: BTreeMap<String, Figure>,
}

/// `plans: rediscloud` (a built-in table) or `plans: [{name: "x:small", memory: 100MB}, ...]`.
impl<'de> Deserialize<'de> for PlanTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            List(Vec<RawPlan>),
        }
        match Raw::deserialize(d).map_err(|_| {
            D::Error::custom(format!(
                "plans is a built-in table ({}) or a list of {{name: PLAN, FIGURE: N, ...}}",
                BUILT_IN.join(", ")
            ))
        })? {
            Raw::Name(name) => PlanTable::built_in(&name).ok_or_else(|| {
                D::Error::custom(format!(
                    "unknown plan table {name:?} (built in: {}; or write the plans as a list)",
                    BUILT_IN.join(", ")
                ))
            }),
            Raw::List(raw) => {
                if raw.is_empty() {
                    return Err(D::Error::custom("plans: the list is empty"));
                }
                let mut plans = Vec::with_capacity(raw.len());
                for p in raw {
                    if p.name.trim().is_empty() {
                        return Err(D::Error::custom("plans: a plan has an empty name"));
                    }
                    if plans.iter().any(|q: &Plan| q.name == p.name) {
                        return Err(D::Error::custom(format!(
                            "plans: {:?} is listed twice",
                            p.name
                        )));
                    }
                    let mut figures = BTreeMap::new();
                    for (k, v) in p.figures {
                        let value = match v {
                            Figure::Number(n) => Some(n),
                            Figure::Text(t) => Some(parse_size(&t).map_err(|e| {
                                D::Error::custom(format!("plans {:?} {k}: {e}", p.name))
                            })?),
                            Figure::None(()) => None,
                        };
                        if let Some(n) = value.filter(|n| !(n.is_finite() && *n > 0.0)) {
                            return Err(D::Error::custom(format!(
                                "plans {:?} {k}: must be above 0, got {n}",
                                p.name
                            )));
                        }
                        figures.insert(k, value);
                    }
                    if figures.is_empty() {
                        return Err(D::Error::custom(format!(
                            "plans {:?}: give at least one capacity figure (e.g. memory: 100MB)",
                            p.name
                        )));
                    }
                    plans.push(Plan {
                        name: p.name,
                        figures,
                    });
                }
                Ok(PlanTable {
                    name: "custom".into(),
                    plans: plans.into(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_tables_are_ordered_and_named_as_heroku_names_them() {
        let r = PlanTable::built_in("rediscloud").unwrap();
        assert_eq!(r.plans.len(), 10);
        assert_eq!(r.index_of("rediscloud:100"), Some(1));
        assert_eq!(r.label(2), "rediscloud:250");
        assert_eq!(r.figures(), ["connections", "memory"]);
        let conns = r.limits("connections").unwrap();
        assert_eq!(conns[0], Some(10.0));
        assert_eq!(conns[9], None);
        let p = PlanTable::built_in("papertrail").unwrap();
        assert_eq!(p.plans.first().unwrap().name, "papertrail:choklad");
        assert_eq!(p.plans.last().unwrap().name, "papertrail:grundtal");
        assert_eq!(p.limits("log_volume").unwrap()[5], Some(GB));
        assert!(p.limits("memory").is_none());
        assert!(PlanTable::built_in("heroku-redis").is_none());
    }

    #[test]
    fn a_config_may_write_its_own_table() {
        let t: PlanTable = serde_yaml_ng::from_str(
            "[{name: 'heroku-redis:mini', memory: 25MB, connections: 20},\n {name: 'heroku-redis:premium-0', memory: 50MB, connections: }]",
        )
        .unwrap();
        assert_eq!(t.name, "custom");
        assert_eq!(
            t.limits("memory").unwrap(),
            vec![Some(25.0 * MB), Some(50.0 * MB)]
        );
        assert_eq!(t.limits("connections").unwrap(), vec![Some(20.0), None]);
        let named: PlanTable = serde_yaml_ng::from_str("papertrail").unwrap();
        assert_eq!(named.name, "papertrail");
    }

    #[test]
    fn bad_tables_say_what_is_wrong() {
        let e = |y: &str| {
            serde_yaml_ng::from_str::<PlanTable>(y)
                .unwrap_err()
                .to_string()
        };
        assert!(
            e("memcachier").contains("unknown plan table"),
            "{}",
            e("memcachier")
        );
        assert!(e("[]").contains("empty"));
        assert!(e("[{name: a, memory: 10XB}]").contains("unknown unit"));
        assert!(e("[{name: a, memory: 1}, {name: a, memory: 2}]").contains("twice"));
        assert!(e("[{name: a}]").contains("at least one"));
        assert!(e("[{name: a, memory: -1}]").contains("above 0"));
    }

    #[test]
    fn sizes_are_1024_based() {
        assert_eq!(parse_size("100MB").unwrap(), 100.0 * MB);
        assert_eq!(parse_size("1.5 GB").unwrap(), 1.5 * GB);
        assert_eq!(parse_size("512kB").unwrap(), 512.0 * KB);
        assert_eq!(parse_size("42").unwrap(), 42.0);
        assert!(parse_size("MB").is_err());
    }
}
