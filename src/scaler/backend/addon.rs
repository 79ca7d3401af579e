//! The add-on plan backend: an add-on controller's count is a plan's position in its plan table; this reads
//! the add-on's plan (`GET /apps/{app}/addons/{addon}`) and changes it (`PATCH` with `{"plan": NAME}`) through
//! the scaler's Heroku client, with its retries, rate-limit pacing and refusal memory (a 422 for a plan is not
//! sent again for `refusal_backoff` unless another plan is asked for).
//!
//! A plan the table does not list is an error, never a guess: the controller holds and reports it.

use super::heroku::Heroku;
use super::{Backend, BackendError, BackendFuture};
use crate::scaler::plans::PlanTable;
use std::sync::Arc;
use std::time::Duration;

pub struct AddonPlans {
    client: Arc<Heroku>,
    plans: PlanTable,
}

impl AddonPlans {
    pub fn new(client: Arc<Heroku>, plans: PlanTable) -> Self {
        AddonPlans { client, plans }
    }

    fn position(&self, addon: &str, plan: &str) -> Result<u32, BackendError> {
        self.plans
            .index_of(plan)
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| BackendError::Protocol {
                method: "GET",
                path: format!("/apps/.../addons/{addon}"),
                message: format!(
                    "the add-on is on plan {plan:?}, which the {} plan table does not list ({})",
                    self.plans.name,
                    self.plans.names().join(", ")
                ),
            })
    }
}

impl Backend for AddonPlans {
    fn current<'a>(&'a self, addon: &'a str) -> BackendFuture<'a, u32> {
        Box::pin(async move {
            let plan = self.client.plan(addon).await?;
            self.position(addon, &plan)
        })
    }

    fn set<'a>(&'a self, addon: &'a str, target: u32) -> BackendFuture<'a, u32> {
        Box::pin(async move {
            let name = self.plans.label(target);
            let plan = self.client.set_plan(addon, &name).await?;
            self.position(addon, &plan)
        })
    }

    fn pace(&self) -> Option<Duration> {
        self.client.pace()
    }

    fn describe(&self) -> String {
        format!(
            "{}, add-on plans ({} table)",
            self.client.api(),
            self.plans.name
        )
    }
}
