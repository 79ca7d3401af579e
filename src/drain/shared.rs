//! What every connection of the drain shares: the config, the sink, the pages it serves for others, the
//! authenticators, the Frame-Id memory, the byte budgets and slots, the counters; and the auth check every
//! route makes with them.

use super::auth::Authenticator;
use super::budget::Budget;
use super::config::DrainConfig;
use super::dedup::FrameIds;
use super::logsafe;
use super::peers::PeerLimits;
use super::reply::{plain, Reply};
use super::stats::{DrainStats, Held};
use super::throttle::Throttle;
use super::{MetricsPage, StatusPage};
use crate::window::EventSink;
use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::{HeaderMap, StatusCode};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The optional pages the drain serves for others.
#[derive(Clone, Default)]
pub struct Pages {
    /// Serves `/status` and `/ping` (the scaler).
    pub status: Option<Arc<dyn StatusPage>>,
    /// Appended to the drain's own counters on `/metrics` (the windows).
    pub metrics: Option<Arc<dyn MetricsPage>>,
}

/// What every connection shares.
pub struct Shared {
    pub cfg: DrainConfig,
    pub sink: Arc<dyn EventSink>,
    pub pages: Pages,
    pub auth: Option<Authenticator>,
    pub status_auth: Option<Authenticator>,
    pub frame_ids: FrameIds,
    /// Bodies being decoded and parsed (`max_in_flight`).
    pub in_flight: Arc<Semaphore>,
    /// The parse pool: blocking threads, one per core, for bodies too large (or gzipped, or whose sink was
    /// busy) to parse on their worker.
    pub parse_pool: Arc<Semaphore>,
    /// Wire bytes of bodies being received (`max_receiving_bytes`).
    pub receiving: Arc<Budget>,
    /// Bytes of bodies being decoded and parsed (`max_decoding_bytes`).
    pub decoding: Arc<Budget>,
    /// Connections per peer (`max_connections_per_peer`).
    pub peers: Arc<PeerLimits>,
    /// `/metrics` requests rendering or waiting ([`SCRAPES_QUEUED`]).
    pub scrapes: Arc<Semaphore>,
    /// One `/metrics` render at a time, on a blocking thread.
    pub render: Arc<Semaphore>,
    pub stats: Arc<DrainStats>,
    /// At most one "unauthorized" log line a second; `/metrics` counts every failure.
    pub auth_log: Throttle,
}

impl Shared {
    /// The gauges of what is held now.
    pub fn held(&self) -> Held {
        Held {
            receiving_bytes: self.receiving.held(),
            decoding_bytes: self.decoding.held(),
            peers: self.peers.peers(),
        }
    }

    /// The authenticator for `/status`, `/ping` and `/metrics`.
    pub fn page_auth(&self) -> &Option<Authenticator> {
        if self.cfg.status_auth.is_some() {
            &self.status_auth
        } else {
            &self.auth
        }
    }

    /// `None` when the request may proceed, else the 401 to send (counted and logged without the secret).
    pub fn check_auth(
        &self,
        auth: &Option<Authenticator>,
        headers: &HeaderMap,
        peer: SocketAddr,
        path: &str,
    ) -> Option<Reply> {
        let denied = auth.as_ref()?.check(headers).err()?;
        self.stats.auth_failed(&denied);
        if let Some(held_back) = self.auth_log.allow() {
            match &denied {
                super::auth::Denied::WrongBasic { user } => {
                    tracing::warn!(%peer, path = %logsafe::clip(path), user = %logsafe::clip(user), reason = denied.reason(), held_back, "unauthorized")
                }
                _ => {
                    tracing::warn!(%peer, path = %logsafe::clip(path), reason = denied.reason(), held_back, "unauthorized")
                }
            }
        }
        let mut r = plain(StatusCode::UNAUTHORIZED, "unauthorized\n");
        r.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"drainscale\""),
        );
        Some(r)
    }
}
