//! `scaler.error_handlers` entries, and the registry of handler types: every type is one file in this folder
//! (its `type:` name, its parameters, their checks, description and constructor, through the [`HandlerSpec`]
//! and [`HandlerKind`] of `spec.rs`), registered by one line in [`KINDS`]. The delivery keys every handler
//! shares (`repeat_after`, `timeout`, `queue`) are read here.

use super::{bugsnag, email, webhook};
use crate::invalid::Invalid;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

pub use super::spec::{parse_as, HandlerKind, HandlerParams, HandlerSpec};

/// Every error handler type, in the order `check` lists them. One line per type.
pub const KINDS: &[HandlerKind] = &[webhook::KIND, bugsnag::KIND, email::KIND];

/// One entry of `scaler.error_handlers`: its type's parameters and how it delivers.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorHandlerConfig {
    pub params: HandlerParams,
    pub delivery: DeliveryConfig,
}

impl ErrorHandlerConfig {
    /// A handler with the default delivery.
    pub fn new(spec: impl HandlerSpec + 'static) -> Self {
        ErrorHandlerConfig {
            params: HandlerParams::new(spec),
            delivery: DeliveryConfig::default(),
        }
    }

    /// The type's own checks, and a queue that holds one event.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.params.validate()?;
        if self.delivery.queue == 0 {
            return Err(Invalid::at("queue", "must be at least 1"));
        }
        Ok(())
    }

    /// The handler's delivery tuning.
    pub fn delivery(&self) -> DeliveryConfig {
        self.delivery
    }
}

/// An entry: `type`, the delivery keys, and the type's own keys.
impl<'de> Deserialize<'de> for ErrorHandlerConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut keys = serde_yaml_ng::Mapping::deserialize(d)?;
        let known = || KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ");
        let kind_name = match keys.remove("type") {
            Some(serde_yaml_ng::Value::String(t)) => t,
            Some(_) => return Err(D::Error::custom("`type` must be a handler type name")),
            None => {
                return Err(D::Error::custom(format!(
                    "missing field `type` (one of: {})",
                    known()
                )))
            }
        };
        let kind = KINDS.iter().find(|k| k.name == kind_name).ok_or_else(|| {
            D::Error::custom(format!(
                "unknown error handler type {kind_name:?} (known: {})",
                known()
            ))
        })?;
        let mut delivery = serde_yaml_ng::Mapping::new();
        for key in ["repeat_after", "timeout", "queue"] {
            if let Some(v) = keys.remove(key) {
                delivery.insert(key.into(), v);
            }
        }
        let delivery: DeliveryConfig =
            serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(delivery))
                .map_err(|e| D::Error::custom(format!("{kind_name} handler: {e}")))?;
        let params = (kind.parse)(serde_yaml_ng::Value::Mapping(keys))
            .map_err(|e| D::Error::custom(format!("{kind_name} handler: {e}")))?;
        Ok(ErrorHandlerConfig { params, delivery })
    }
}

/// How an error handler delivers: deduplication, timeout, queue (written flat in the handler's entry).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// The same (controller, input, kind, message) is sent at most once per this long (default `10m`).
    #[serde(with = "crate::duration")]
    pub repeat_after: Duration,
    /// Per-request timeout (default `10s`).
    #[serde(with = "crate::duration")]
    pub timeout: Duration,
    /// Events waiting to be sent; when full, the oldest is dropped (counted, logged). Default 64.
    pub queue: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            repeat_after: Duration::from_secs(600),
            timeout: Duration::from_secs(10),
            queue: 64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_unknown_types_list_the_known_ones() {
        let mut seen = std::collections::HashSet::new();
        for k in KINDS {
            assert!(seen.insert(k.name), "type {} registered twice", k.name);
        }
        let e = serde_yaml_ng::from_str::<ErrorHandlerConfig>("{type: pagerduty}").unwrap_err();
        for k in KINDS {
            assert!(e.to_string().contains(k.name), "{e}");
        }
    }

    #[test]
    fn delivery_keys_are_shared_and_the_rest_belong_to_the_type() {
        let c: ErrorHandlerConfig = serde_yaml_ng::from_str(
            "{type: webhook, url: 'https://h.example/x', repeat_after: 1m, queue: 3}",
        )
        .unwrap();
        assert_eq!(c.delivery.repeat_after, Duration::from_secs(60));
        assert_eq!(c.delivery.queue, 3);
        assert_eq!(c.delivery.timeout, Duration::from_secs(10));
        assert_eq!(c.params.kind(), "webhook");
        let e = serde_yaml_ng::from_str::<ErrorHandlerConfig>(
            "{type: webhook, url: 'https://h.example/x', spam: 1}",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `spam`"), "{e}");
    }
}
