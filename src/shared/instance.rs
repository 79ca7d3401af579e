//! One instance's shared parts, built from the config when `store:` names Redis: the client, the shared
//! windows, the Frame-Id memory and (with controllers) the leader lease. The binary's wiring uses them in place
//! of the in-memory store.

use super::frame_ids::SharedFrameIds;
use super::lease::Lease;
use super::{instance_id, Keys, Redis, RedisError};
use crate::config::Config;
use crate::secret::SecretUrl;
use crate::window::redis::RedisStore;
use std::sync::Arc;

/// The shared parts of one instance.
pub struct Instance {
    pub store: Arc<RedisStore>,
    pub frame_ids: Option<Arc<SharedFrameIds>>,
    /// Only with controllers: instances without a scaler never lead.
    pub lease: Option<Arc<Lease>>,
}

impl Instance {
    /// Sets everything up; nothing is sent to Redis until the tasks run.
    pub fn new(config: &Config, url: &SecretUrl) -> Result<Instance, RedisError> {
        let shared = &config.shared;
        let redis = Arc::new(Redis::connect(url, shared)?);
        let keys = Keys::new(shared.tag(&config.scaler.app));
        let instance = instance_id();
        let has_controllers = !config.controllers.is_empty();
        let store = Arc::new(RedisStore::new(
            config.windows.clone(),
            shared.clone(),
            redis.clone(),
            keys.clone(),
            instance.clone(),
            has_controllers,
        ));
        let frame_ids = match (&config.drain, shared.dedup) {
            (Some(drain), true) => Some(Arc::new(SharedFrameIds::new(
                redis.clone(),
                keys.clone(),
                drain.dedup.ttl,
            ))),
            _ => None,
        };
        let lease = has_controllers.then(|| {
            Arc::new(Lease::new(
                redis,
                keys,
                instance,
                shared.lease,
                shared.timeout,
            ))
        });
        Ok(Instance {
            store,
            frame_ids,
            lease,
        })
    }
}
