//! A controller's `backend:` key, and the registry of backend types: each type is one file in this folder
//! (its name, its parameters, description, identity and constructor, through [`BackendSpec`] and a
//! [`BackendKind`] constant), registered by one line in [`KINDS`]. Written as the type's name alone
//! (`backend: heroku`) or as a one-key map of the name to its parameters (`backend: {file: PATH}`).

use super::super::inputs::SpecAny;
use super::heroku::Heroku;
use super::{file, heroku, Backend};
use crate::secret::SecretUrl;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::sync::Arc;

/// Every backend type. One line per type.
pub const KINDS: &[BackendKind] = &[heroku::KIND, file::KIND];

/// One backend type.
pub struct BackendKind {
    /// The name in `backend:`.
    pub name: &'static str,
    /// Its parameters: `None` when written as the bare name.
    pub parse: fn(Option<serde_yaml_ng::Value>) -> Result<BackendConfig, String>,
}

/// What a description may mention.
pub struct Describe<'a> {
    pub api_url: &'a SecretUrl,
    pub app: &'a str,
    pub process: &'a str,
}

/// What building may share: the one Heroku client of the scaler (`None` without an app and key), and the
/// controller's dyno size.
pub struct Shared {
    pub heroku: Option<Arc<Heroku>>,
    pub size: Option<String>,
}

/// A backend type's parameters: what each type's file implements.
pub trait BackendSpec: SpecAny + fmt::Debug + Send + Sync {
    /// The name in `backend:`.
    fn kind(&self) -> &'static str;
    /// Readable form for `check` (no secret).
    fn describe(&self, cx: &Describe) -> String;
    /// What two controllers of one process type must not share (and what one backend object serves).
    fn identity(&self) -> String;
    /// Whether it needs `scaler.app` and `scaler.api_key`.
    fn uses_heroku_api(&self) -> bool {
        false
    }
    /// The backend (`None`: the shared one it needs is missing).
    fn build(&self, shared: &Shared) -> Option<Arc<dyn Backend>>;
}

/// A controller's backend, of whatever type (default: Heroku).
#[derive(Clone)]
pub struct BackendConfig(Arc<dyn BackendSpec>);

impl BackendConfig {
    pub fn new(spec: impl BackendSpec + 'static) -> Self {
        BackendConfig(Arc::new(spec))
    }

    /// The parameters as their own type, when they are of it.
    pub fn get<T: std::any::Any>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref::<T>()
    }
}

impl Default for BackendConfig {
    fn default() -> Self {
        BackendConfig::new(heroku::HerokuBackend)
    }
}

impl std::ops::Deref for BackendConfig {
    type Target = dyn BackendSpec;
    fn deref(&self) -> &dyn BackendSpec {
        &*self.0
    }
}

impl fmt::Debug for BackendConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for BackendConfig {
    fn eq(&self, other: &Self) -> bool {
        self.0.same(other.0.as_any())
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
