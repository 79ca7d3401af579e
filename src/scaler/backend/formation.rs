//! `backend: heroku` (the default): a controller's process type on the Heroku formation API, through the
//! scaler's one [`Heroku`] client, with the dyno size the controller sends on every change.

use super::heroku::Heroku;
use super::spec::{BackendConfig, BackendKind, BackendSpec, Describe, Shared};
use super::{Backend, BackendFuture};
use std::sync::Arc;
use std::time::Duration;

/// `backend: heroku` (the default): the scaler's Heroku client (`scaler.app`, `scaler.api_key`, `scaler.api_url`).
pub const KIND: BackendKind = BackendKind {
    name: "heroku",
    parse: |params| match params {
        None => Ok(BackendConfig::new(HerokuBackend)),
        Some(_) => Err("takes no parameters: write `backend: heroku`".into()),
    },
};

/// `backend: heroku` parameters: none (the client's settings are the scaler's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HerokuBackend;

impl BackendSpec for HerokuBackend {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn describe(&self, cx: &Describe) -> String {
        format!(
            "Heroku formation {}/apps/{}/formation/{}",
            cx.api_url, cx.app, cx.process
        )
    }

    fn identity(&self) -> String {
        KIND.name.to_string()
    }

    fn uses_heroku_api(&self) -> bool {
        true
    }

    fn build(&self, shared: &Shared) -> Option<Arc<dyn Backend>> {
        let client = shared.heroku.clone()?;
        Some(Arc::new(HerokuFormation::new(client, shared.size.clone())))
    }
}

/// One controller's formation: its process type's quantity, with the dyno size it sends on every change.
pub struct HerokuFormation {
    client: Arc<Heroku>,
    size: Option<String>,
}

impl HerokuFormation {
    pub fn new(client: Arc<Heroku>, size: Option<String>) -> Self {
        HerokuFormation { client, size }
    }
}

impl Backend for HerokuFormation {
    fn current<'a>(&'a self, process: &'a str) -> BackendFuture<'a, u32> {
        Box::pin(self.client.quantity(process))
    }

    fn set<'a>(&'a self, process: &'a str, target: u32) -> BackendFuture<'a, u32> {
        Box::pin(
            self.client
                .set_quantity(process, target, self.size.as_deref()),
        )
    }

    fn pace(&self) -> Option<Duration> {
        self.client.pace()
    }

    fn describe(&self) -> String {
        match &self.size {
            Some(size) => format!("{}, size {size}", self.client.api()),
            None => self.client.api(),
        }
    }
}
