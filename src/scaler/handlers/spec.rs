//! What every error handler type provides: [`HandlerKind`] (its `type:` name and parser), [`HandlerSpec`]
//! (describe, validate, build) and [`HandlerParams`], an entry's parameters of whatever type. Each type's
//! file implements these; `config.rs` lists the types.

use super::super::inputs::SpecAny;
use super::{ErrorHandler, HandlerError};
use crate::invalid::Invalid;
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// One handler type: its name and how an entry's own keys become its parameters.
pub struct HandlerKind {
    /// The `type:` name.
    pub name: &'static str,
    /// Parses the keys the delivery keys leave over.
    pub parse: fn(serde_yaml_ng::Value) -> Result<HandlerParams, String>,
}

/// A handler type's parameters: what each type's file implements.
pub trait HandlerSpec: SpecAny + fmt::Debug + Send + Sync {
    /// The `type:` name.
    fn kind(&self) -> &'static str;
    /// Readable form for `check` (URLs masked, no secret).
    fn describe(&self) -> String;
    /// Checks serde cannot make (keys relative to the entry).
    fn validate(&self) -> Result<(), Invalid>;
    /// Builds the handler, sending with this per-request timeout.
    fn build(&self, timeout: Duration) -> Result<Arc<dyn ErrorHandler>, HandlerError>;
}

/// One entry's parameters, of whatever type.
#[derive(Clone)]
pub struct HandlerParams(Arc<dyn HandlerSpec>);

impl HandlerParams {
    pub fn new(spec: impl HandlerSpec + 'static) -> Self {
        HandlerParams(Arc::new(spec))
    }

    /// The parameters as their own type, when they are of it.
    pub fn get<T: std::any::Any>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref::<T>()
    }
}

impl std::ops::Deref for HandlerParams {
    type Target = dyn HandlerSpec;
    fn deref(&self) -> &dyn HandlerSpec {
        &*self.0
    }
}

impl fmt::Debug for HandlerParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for HandlerParams {
    fn eq(&self, other: &Self) -> bool {
        self.0.same(other.0.as_any())
    }
}

/// The usual `parse` of a kind: deserialize the type's struct.
pub fn parse_as<T>(value: serde_yaml_ng::Value) -> Result<HandlerParams, String>
where
    T: DeserializeOwned + HandlerSpec + 'static,
{
    let spec: T = serde_yaml_ng::from_value(value).map_err(|e| e.to_string())?;
    Ok(HandlerParams::new(spec))
}
