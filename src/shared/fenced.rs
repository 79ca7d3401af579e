//! A backend whose writes only the scaler leader makes: before every write it checks, in Redis, that the lease
//! still carries this instance's fencing token ([`super::lease::Lease::check`]) and refuses otherwise. Reads go
//! through: every instance shows the formation on `/status`.

use super::lease::Lease;
use crate::scaler::backend::{Backend, BackendError, BackendFuture};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// A backend behind the leader's fence.
pub struct Fenced {
    inner: Arc<dyn Backend>,
    lease: Arc<Lease>,
    /// Writes refused because this instance was not (or no longer) the leader.
    pub refused: AtomicU64,
}

impl Fenced {
    pub fn new(inner: Arc<dyn Backend>, lease: Arc<Lease>) -> Fenced {
        Fenced {
            inner,
            lease,
            refused: AtomicU64::new(0),
        }
    }

    fn refuse(&self, message: String) -> BackendError {
        self.refused.fetch_add(1, Relaxed);
        BackendError::Fenced { message }
    }
}

impl Backend for Fenced {
    fn current<'a>(&'a self, process: &'a str) -> BackendFuture<'a, u32> {
        self.inner.current(process)
    }

    fn set<'a>(&'a self, process: &'a str, target: u32) -> BackendFuture<'a, u32> {
        Box::pin(async move {
            let Some(token) = self.lease.token() else {
                let holder = self.lease.view().holder.unwrap_or_else(|| "nobody".into());
                return Err(self.refuse(format!(
                    "not the scaler leader (the lease is {holder}): not written"
                )));
            };
            match self.lease.check(&token).await {
                Ok(true) => self.inner.set(process, target).await,
                Ok(false) => Err(self.refuse(format!(
                    "the lease {token} was taken over: this fencing number may not write"
                ))),
                Err(e) => Err(self.refuse(format!(
                    "the fencing number could not be checked ({e}): not written"
                ))),
            }
        })
    }

    fn pace(&self) -> Option<Duration> {
        self.inner.pace()
    }

    fn describe(&self) -> String {
        format!("{} (leader only)", self.inner.describe())
    }

    fn is_dry_run(&self) -> bool {
        self.inner.is_dry_run()
    }
}
