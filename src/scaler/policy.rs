//! Policies: from a combined estimate to the count to set, given the current count. Bounds (min/max, possibly
//! overridden by a schedule), separate up/down cool-downs, a maximum step per change in each direction, and
//! the safety rule: while any input is not OK, the count never goes down.
//!
//! Pure functions of their arguments: no clock, no I/O.

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// A controller's `policy:` section. The defaults keep Dynosaur's behaviour (scale straight to the estimate,
/// scale up at once) and add a 5-minute scale-down cool-down (Dynosaur's `blackout`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Time after any change before the count may go up again (default `0s`: scale up at once).
    #[serde(with = "crate::duration")]
    pub up_cooldown: Duration,
    /// Time after any change before the count may go down (default `5m`).
    #[serde(with = "crate::duration")]
    pub down_cooldown: Duration,
    /// Most dynos added in one change (default: no limit).
    pub max_step_up: Option<u32>,
    /// Most dynos removed in one change (default: no limit).
    pub max_step_down: Option<u32>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            up_cooldown: Duration::ZERO,
            down_cooldown: Duration::from_secs(300),
            max_step_up: None,
            max_step_down: None,
        }
    }
}

/// The min and max in force, and the schedule that set them (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounds {
    pub min: u32,
    pub max: u32,
    pub schedule: Option<String>,
}

/// Everything a decision depends on.
#[derive(Debug, Clone)]
pub struct Situation {
    pub current: u32,
    /// The max of the inputs' estimates (with fallbacks); `None` when no input has ever produced a value.
    pub estimate: Option<u32>,
    pub bounds: Bounds,
    /// Inputs that are not OK: they block any scale-down.
    pub unhealthy: Vec<String>,
    pub last_change: Option<Instant>,
    /// When the controller started: the first scale-down after a (re)start also waits one down cool-down,
    /// since the hysteresis windows start empty.
    pub started: Option<Instant>,
    pub now: Instant,
}

/// Why the count was held where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// Inputs not OK: scale-down blocked.
    Unhealthy(Vec<String>),
    /// In the up cool-down for this much longer.
    UpCooldown(Duration),
    /// In the down cool-down for this much longer.
    DownCooldown(Duration),
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The count to set (== current: nothing to do).
    pub target: u32,
    /// The clamped estimate before cool-downs and steps.
    pub desired: u32,
    pub hold: Option<Hold>,
    /// A sentence for logs and the status page.
    pub reason: String,
}

/// Which way a change goes: each direction has its own cool-down, step limit and (down only) safety rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

impl Policy {
    /// Decides the count to set.
    pub fn decide(&self, s: &Situation) -> Decision {
        let raw = s.estimate.unwrap_or(s.current);
        let desired = raw.clamp(s.bounds.min, s.bounds.max.max(s.bounds.min));
        let source = match (&s.estimate, &s.bounds.schedule) {
            (None, _) => "no input has a value yet".to_string(),
            (Some(e), _) if *e == desired => format!("estimate {e}"),
            (Some(e), Some(name)) => {
                format!("estimate {e} clamped to {desired} by schedule {name}")
            }
            (Some(e), None) => format!("estimate {e} clamped to {desired}"),
        };
        let direction = match desired.cmp(&s.current) {
            std::cmp::Ordering::Greater => Direction::Up,
            std::cmp::Ordering::Less => Direction::Down,
            std::cmp::Ordering::Equal => {
                return Decision {
                    target: s.current,
                    desired,
                    hold: None,
                    reason: format!("{source}: steady at {}", s.current),
                }
            }
        };
        self.step(s, direction, desired, &source)
    }

    /// One change toward `desired`, or the reason it is held: the same rule both ways, with each direction's
    /// cool-down and step limit. A scale-down also waits for every input to be OK, and its cool-down runs
    /// from the later of the last change and the start (the hysteresis windows start empty).
    fn step(&self, s: &Situation, direction: Direction, desired: u32, source: &str) -> Decision {
        let hold = |hold: Hold, why: String| Decision {
            target: s.current,
            desired,
            hold: Some(hold),
            reason: format!("{source}: {why}"),
        };
        let (word, cooldown, max_step, since): (_, _, _, Option<Instant>) = match direction {
            Direction::Up => ("up", self.up_cooldown, self.max_step_up, s.last_change),
            Direction::Down => {
                if !s.unhealthy.is_empty() {
                    let names = s.unhealthy.join(", ");
                    return hold(
                        Hold::Unhealthy(s.unhealthy.clone()),
                        format!("scale-down blocked, input not OK: {names}"),
                    );
                }
                let since = match (s.last_change, s.started) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
                ("down", self.down_cooldown, self.max_step_down, since)
            }
        };
        let left = since
            .map(|at| s.now.saturating_duration_since(at))
            .and_then(|d| cooldown.checked_sub(d))
            .filter(|r| !r.is_zero());
        if let Some(left) = left {
            let kind = match direction {
                Direction::Up => Hold::UpCooldown(left),
                Direction::Down => Hold::DownCooldown(left),
            };
            return hold(kind, format!("{word} cool-down, {}s left", left.as_secs()));
        }
        let step = max_step.unwrap_or(u32::MAX).max(1);
        let target = match direction {
            Direction::Up => desired.min(s.current.saturating_add(step)),
            Direction::Down => desired.max(s.current.saturating_sub(step)),
        };
        let capped = if target != desired {
            format!(" (step limit {step})")
        } else {
            String::new()
        };
        Decision {
            target,
            desired,
            hold: None,
            reason: format!("{source}: {word} {} -> {target}{capped}", s.current),
        }
    }

    /// Readable form for plans.
    pub fn describe(&self) -> String {
        let step = |s: Option<u32>| s.map_or("no limit".to_string(), |v| v.to_string());
        format!(
            "up cool-down {}, down cool-down {}, max step up {}, max step down {}",
            crate::duration::format(self.up_cooldown),
            crate::duration::format(self.down_cooldown),
            step(self.max_step_up),
            step(self.max_step_down)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation(current: u32, estimate: Option<u32>) -> Situation {
        Situation {
            current,
            estimate,
            bounds: Bounds {
                min: 3,
                max: 27,
                schedule: None,
            },
            unhealthy: vec![],
            last_change: None,
            started: None,
            now: Instant::now() + Duration::from_secs(3600),
        }
    }

    fn dynosaur() -> Policy {
        Policy {
            down_cooldown: Duration::ZERO,
            ..Policy::default()
        }
    }

    #[test]
    fn clamps_like_dynosaur() {
        // Dynosaur: plugins at 10 and 33 with 2 per dyno combine to 17; clamps with min 3 / max 27.
        assert_eq!(dynosaur().decide(&situation(5, Some(17))).target, 17);
        assert_eq!(dynosaur().decide(&situation(5, Some(40))).target, 27);
        assert_eq!(dynosaur().decide(&situation(5, Some(1))).target, 3);
        assert_eq!(dynosaur().decide(&situation(17, Some(17))).target, 17);
    }

    #[test]
    fn unhealthy_inputs_block_scale_down_not_scale_up() {
        let mut s = situation(10, Some(4));
        s.unhealthy = vec!["drain".into()];
        let d = dynosaur().decide(&s);
        assert_eq!(d.target, 10);
        assert_eq!(d.hold, Some(Hold::Unhealthy(vec!["drain".into()])));
        s.estimate = Some(14);
        assert_eq!(dynosaur().decide(&s).target, 14);
    }

    #[test]
    fn no_estimate_holds_but_honours_a_raised_min() {
        assert_eq!(dynosaur().decide(&situation(5, None)).target, 5);
        assert_eq!(dynosaur().decide(&situation(1, None)).target, 3);
    }

    #[test]
    fn cool_downs_are_separate_per_direction() {
        let p = Policy {
            up_cooldown: Duration::from_secs(60),
            down_cooldown: Duration::from_secs(600),
            ..Policy::default()
        };
        let mut s = situation(10, Some(12));
        s.last_change = Some(s.now - Duration::from_secs(30));
        let d = p.decide(&s);
        assert_eq!(d.target, 10);
        assert_eq!(d.hold, Some(Hold::UpCooldown(Duration::from_secs(30))));
        s.last_change = Some(s.now - Duration::from_secs(60));
        assert_eq!(p.decide(&s).target, 12);

        s.estimate = Some(5);
        s.last_change = Some(s.now - Duration::from_secs(599));
        assert_eq!(
            p.decide(&s).hold,
            Some(Hold::DownCooldown(Duration::from_secs(1)))
        );
        s.last_change = Some(s.now - Duration::from_secs(600));
        assert_eq!(p.decide(&s).target, 5);
    }

    #[test]
    fn default_policy_scales_up_at_once_and_waits_5m_to_scale_down() {
        let p = Policy::default();
        let mut s = situation(4, Some(9));
        s.last_change = Some(s.now - Duration::from_secs(1));
        assert_eq!(p.decide(&s).target, 9);
        s.estimate = Some(3);
        s.last_change = Some(s.now - Duration::from_secs(299));
        assert_eq!(p.decide(&s).target, 4);
        s.last_change = Some(s.now - Duration::from_secs(300));
        assert_eq!(p.decide(&s).target, 3);
        // With no change ever made there is no cool-down to wait for ...
        s.last_change = None;
        assert_eq!(p.decide(&s).target, 3);
        // ... except right after a (re)start: the first scale-down waits one down cool-down.
        s.started = Some(s.now - Duration::from_secs(120));
        assert_eq!(
            p.decide(&s).hold,
            Some(Hold::DownCooldown(Duration::from_secs(180)))
        );
        s.estimate = Some(9);
        assert_eq!(p.decide(&s).target, 9);
    }

    #[test]
    fn steps_limit_each_change() {
        let p = Policy {
            max_step_up: Some(2),
            max_step_down: Some(1),
            down_cooldown: Duration::ZERO,
            ..Policy::default()
        };
        let d = p.decide(&situation(4, Some(20)));
        assert_eq!((d.target, d.desired), (6, 20));
        assert!(d.reason.contains("step limit 2"), "{}", d.reason);
        assert_eq!(p.decide(&situation(10, Some(3))).target, 9);
        assert_eq!(p.decide(&situation(4, Some(3))).target, 3);
    }

    #[test]
    fn schedule_bounds_apply_and_are_named() {
        let mut s = situation(2, Some(2));
        s.bounds = Bounds {
            min: 6,
            max: 27,
            schedule: Some("business".into()),
        };
        let d = dynosaur().decide(&s);
        assert_eq!(d.target, 6);
        assert!(d.reason.contains("schedule business"), "{}", d.reason);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the inputs: never down while an input is unhealthy, steps respected, and any move goes
        /// toward the clamped estimate without passing it.
        #[test]
        fn decisions_are_safe(
            current in 0u32..60,
            estimate in proptest::option::of(0u32..80),
            min in 0u32..20,
            span in 0u32..40,
            unhealthy in any::<bool>(),
            step_up in proptest::option::of(1u32..5),
            step_down in proptest::option::of(1u32..5),
            since in proptest::option::of(0u64..900),
        ) {
            let now = Instant::now() + Duration::from_secs(3600);
            let policy = Policy { max_step_up: step_up, max_step_down: step_down, ..Policy::default() };
            let s = Situation {
                current,
                estimate,
                bounds: Bounds { min, max: min + span, schedule: None },
                unhealthy: if unhealthy { vec!["x".into()] } else { vec![] },
                last_change: since.map(|s| now - Duration::from_secs(s)),
                started: None,
                now,
            };
            let d = policy.decide(&s);
            prop_assert!(d.desired >= min && d.desired <= min + span);
            if unhealthy {
                prop_assert!(d.target >= current);
            }
            if d.target > current {
                prop_assert!(d.target <= d.desired);
                prop_assert!(d.target - current <= step_up.unwrap_or(u32::MAX));
            }
            if d.target < current {
                prop_assert!(d.target >= d.desired);
                prop_assert!(current - d.target <= step_down.unwrap_or(u32::MAX));
                prop_assert!(since.is_none_or(|s| s >= 300));
            }
        }
    }
}
