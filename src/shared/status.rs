//! `/status` and `/ping` of an instance sharing its windows: the scaler's page plus the shared state (this
//! instance, the leader and its fencing number, Redis up or why not, held pushes), and `/ping` fails with the
//! reason while Redis does not answer or pushes are held.

use super::lease::Lease;
use crate::drain::StatusPage;
use crate::window::redis::RedisStore;
use serde_json::{json, Value};
use std::sync::Arc;

/// The scaler's status page with the shared state added.
pub struct SharedStatus {
    pub scaler: Option<Arc<dyn StatusPage>>,
    pub store: Arc<RedisStore>,
    pub lease: Option<Arc<Lease>>,
}

impl SharedStatus {
    fn shared(&self) -> Value {
        let s = self.store.shared_stats();
        let redis = match self.store.redis().down() {
            None => json!({ "up": true }),
            Some((since, error)) => {
                json!({ "up": false, "down_for_s": since.as_secs(), "error": error })
            }
        };
        let leader = self.lease.as_ref().map(|l| {
            let v = l.view();
            json!({
                "holder": v.holder,
                "this_instance": v.fence.is_some(),
                "fence": v.fence,
                "taken": v.taken,
            })
        });
        json!({
            "instance": self.store.instance(),
            "redis": redis,
            "leader": leader,
            "pushes": s.pushes,
            "pushes_repeated": s.pushes_repeated,
            "pushes_held": s.pushes_held,
            "pushes_dropped": s.pushes_dropped,
            "exports": s.exports,
            "exports_elsewhere": s.exports_elsewhere,
        })
    }
}

impl StatusPage for SharedStatus {
    fn status(&self) -> Value {
        let mut doc = self
            .scaler
            .as_ref()
            .map_or_else(|| json!({}), |s| s.status());
        if let Value::Object(map) = &mut doc {
            map.insert("shared".into(), self.shared());
        }
        doc
    }

    fn ping(&self) -> Result<(), Vec<String>> {
        let mut bad = match self.scaler.as_ref().map(|s| s.ping()) {
            Some(Err(bad)) => bad,
            _ => Vec::new(),
        };
        if let Some((since, error)) = self.store.redis().down() {
            bad.push(format!(
                "shared windows: Redis unreachable for {}s ({error}); aggregating locally, scaler holding",
                since.as_secs()
            ));
        }
        let held = self.store.shared_stats().pushes_held;
        if held > 0 {
            bad.push(format!(
                "shared windows: {held} partial buckets held for Redis"
            ));
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad)
        }
    }

    /// The scaler's page: in shared mode `/` is served like on a single instance.
    fn html(&self) -> Option<String> {
        self.scaler.as_ref().and_then(|s| s.html())
    }
}
