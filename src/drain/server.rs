//! The accept loop: binding, the connection limit, HTTP/1.1 keep-alive connections with a header timeout,
//! and graceful shutdown (stop accepting, let in-flight requests finish, give up after a deadline).
//! What a request means is `routes.rs`'s business.

use super::auth::Authenticator;
use super::config::DrainConfig;
use super::dedup::FrameIds;
use super::routes::{self, plain, Reply, ReplyExt};
use super::stats::DrainStats;
use super::throttle::Throttle;
use super::{MetricsPage, StatusPage};
use crate::window::EventSink;
use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// Connections over `max_connections` that are still answered (503) rather than closed outright.
const REFUSED_ANSWERED: usize = 64;
/// How long a refused connection may take to send its request headers.
const REFUSED_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the drain could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    #[error("drain config: {0}")]
    Config(String),
    #[error("binding the drain to {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("starting the drain's listener: {0}")]
    Listener(std::io::Error),
}

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
    pub in_flight: Arc<Semaphore>,
    pub stats: Arc<DrainStats>,
    /// At most one "unauthorized" log line a second; `/metrics` counts every failure.
    pub auth_log: Throttle,
}

impl Shared {
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
                    tracing::warn!(%peer, path, user = %user.escape_debug(), reason = denied.reason(), held_back, "unauthorized")
                }
                _ => {
                    tracing::warn!(%peer, path, reason = denied.reason(), held_back, "unauthorized")
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

/// A bound, not yet running drain.
pub struct Server {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Server {
    /// Validates the config and binds the listening socket (no runtime needed; nothing is served yet). The
    /// config's [`DrainConfig::warnings`] are the caller's to log (`config::load` gathers them with the rest).
    pub fn bind(
        cfg: DrainConfig,
        sink: Arc<dyn EventSink>,
        pages: Pages,
    ) -> Result<Server, DrainError> {
        cfg.validate().map_err(DrainError::Config)?;
        let auth = Authenticator::new(&cfg.auth);
        let status_auth = cfg.status_auth.as_ref().and_then(Authenticator::new);
        let bind_err = |source| DrainError::Bind {
            addr: cfg.listen.clone(),
            source,
        };
        let listener = std::net::TcpListener::bind(cfg.listen.as_str()).map_err(bind_err)?;
        listener.set_nonblocking(true).map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        let shared = Arc::new(Shared {
            frame_ids: FrameIds::new(cfg.dedup.capacity, cfg.dedup.ttl),
            in_flight: Arc::new(Semaphore::new(cfg.max_in_flight)),
            stats: Arc::new(DrainStats::default()),
            auth_log: Throttle::new(Duration::from_secs(1)),
            auth,
            status_auth,
            sink,
            pages,
            cfg,
        });
        Ok(Server {
            listener,
            addr,
            shared,
        })
    }

    /// The bound address (with the real port when the config said port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The drain's counters (also served on `/metrics`).
    pub fn stats(&self) -> Arc<DrainStats> {
        self.shared.stats.clone()
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight requests finish (idle keep-alive
    /// connections close at once) and returns; connections still busy after `shutdown_timeout` are dropped.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), DrainError> {
        let listener = TcpListener::from_std(self.listener).map_err(DrainError::Listener)?;
        let shared = self.shared;
        tracing::info!(addr = %self.addr, path = %shared.cfg.path, "drain listening");
        let slots = Arc::new(Semaphore::new(shared.cfg.max_connections));
        let refusals = Arc::new(Semaphore::new(REFUSED_ANSWERED));
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        if let Ok(slot) = slots.clone().try_acquire_owned() {
                            tasks.spawn(serve(stream, peer, shared.clone(), slot, stop_rx.clone()));
                        } else {
                            shared.stats.connections_refused.fetch_add(1, Relaxed);
                            if let Ok(slot) = refusals.clone().try_acquire_owned() {
                                tasks.spawn(refuse(stream, slot));
                            }
                            tracing::debug!(%peer, "max_connections reached: connection refused");
                        }
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        drop(listener);
        let busy = tasks.len();
        tracing::info!(
            connections = busy,
            "drain stopping: no new connections, finishing in-flight requests"
        );
        let _ = stop_tx.send(true);
        let deadline = shared.cfg.shutdown_timeout;
        let finished = tokio::time::timeout(deadline, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                dropped = tasks.len(),
                "drain shutdown deadline {deadline:?} passed: dropping connections"
            );
            tasks.shutdown().await;
        }
        tracing::info!("drain stopped");
        Ok(())
    }
}

/// Serves one connection until the client leaves, a timeout closes it, or shutdown is signalled.
async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    _slot: OwnedSemaphorePermit,
    mut stop: watch::Receiver<bool>,
) {
    let stats = shared.stats.clone();
    stats.connections_total.fetch_add(1, Relaxed);
    stats.connections_open.fetch_add(1, Relaxed);
    let _ = stream.set_nodelay(true);
    let header_timeout = shared.cfg.header_timeout;
    let service = service_fn(move |req| routes::handle(shared.clone(), req, peer));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        }
        _ = async { drop(stop.wait_for(|stopping| *stopping).await) } => {
            conn.as_mut().graceful_shutdown();
            if let Err(e) = conn.await {
                tracing::debug!(%peer, "connection ended during shutdown: {e}");
            }
        }
    }
    stats.connections_open.fetch_sub(1, Relaxed);
}

/// Answers one request on a connection over the limit with 503 (so the sender retries), then closes it.
async fn refuse(stream: TcpStream, _slot: OwnedSemaphorePermit) {
    let service = service_fn(|_req| async {
        Ok::<_, std::convert::Infallible>(
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many connections, retry\n",
            )
            .retry_after()
            .close(),
        )
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(REFUSED_HEADER_TIMEOUT)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(REFUSED_HEADER_TIMEOUT * 2, conn).await;
}

/// Completes on SIGTERM or SIGINT (Ctrl-C): pass it to [`Server::run_until`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for SIGINT: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}
