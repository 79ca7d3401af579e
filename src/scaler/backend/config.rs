//! A controller's `backend:` key, and the registry of backend types: each type is one file in this folder
//! (its name, its parameters, description, identity and constructor, through [`BackendSpec`] and a
//! [`BackendKind`] constant, both in `spec.rs`), registered by one line in [`KINDS`]. Written as the type's name alone
//! (`backend: heroku`) or as a one-key map of the name to its parameters (`backend: {file: PATH}`).

pub use super::spec::{BackendConfig, BackendKind, BackendSpec, Describe, Shared};
use super::{file, formation};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// Every backend type. One line per type.
pub const KINDS: &[BackendKind] = &[formation::KIND, file::KIND];

impl Default for BackendConfig {
    fn default() -> Self {
        BackendConfig::new(formation::HerokuBackend)
    }
}

impl<'de> Deserialize<'de> for BackendConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let known = || KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ");
        let (name, params) = match serde_yaml_ng::Value::deserialize(d)? {
            serde_yaml_ng::Value::String(name) => (name, None),
            serde_yaml_ng::Value::Mapping(m) if m.len() == 1 => {
                let Some((serde_yaml_ng::Value::String(name), v)) = m.into_iter().next() else {
                    return Err(D::Error::custom(
                        "a backend is its name, or {name: parameters}",
                    ));
                };
                (name, Some(v))
            }
            _ => {
                return Err(D::Error::custom(format!(
                    "a backend is its name or {{name: parameters}} (one of: {})",
                    known()
                )))
            }
        };
        let kind = KINDS.iter().find(|k| k.name == name).ok_or_else(|| {
            D::Error::custom(format!(
                "unknown backend {name:?}: use `heroku` or `{{file: PATH}}` (known: {})",
                known()
            ))
        })?;
        (kind.parse)(params).map_err(|e| D::Error::custom(format!("{name} backend: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_maps_parse_and_unknown_ones_are_named() {
        let h: BackendConfig = serde_yaml_ng::from_str("heroku").unwrap();
        assert_eq!(h, BackendConfig::default());
        assert!(h.uses_heroku_api());
        let f: BackendConfig = serde_yaml_ng::from_str("{file: /tmp/f}").unwrap();
        assert_eq!(f.identity(), "file /tmp/f");
        assert_ne!(f, h);
        let e = serde_yaml_ng::from_str::<BackendConfig>("kubernetes").unwrap_err();
        assert!(
            e.to_string().contains("unknown backend \"kubernetes\""),
            "{e}"
        );
        assert!(serde_yaml_ng::from_str::<BackendConfig>("file").is_err());
        assert!(serde_yaml_ng::from_str::<BackendConfig>("{heroku: 3}").is_err());
    }
}
