//! What a backend type implements ([`BackendSpec`], described by a [`BackendKind`]) and the type-erased
//! [`BackendConfig`] a controller holds; the registry of types and the `backend:` key's parsing are in
//! `config.rs`.

use super::super::inputs::SpecAny;
use super::heroku::Heroku;
use super::Backend;
use crate::secret::SecretUrl;
use std::fmt;
use std::sync::Arc;

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
