//! The accept loop: binding, the connection limits (in all and per peer), HTTP/1.1 keep-alive connections
//! with a short timeout for the first request's headers and a longer one for later requests, and graceful
//! shutdown (stop accepting, let in-flight requests finish, give up after a deadline). What a request means is
//! `routes.rs`'s business.

use super::auth::Authenticator;
use super::budget::Budget;
use super::config::DrainConfig;
use super::dedup::FrameIds;
use super::peers::{PeerLimits, PeerSlot};
use super::reply::{plain, ReplyExt};
use super::routes;
use super::shared::{Pages, Shared};
use super::stats::{DrainStats, Refused};
use super::throttle::Throttle;
use crate::window::EventSink;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
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
/// `/metrics` requests rendering or waiting to render at once; beyond get 503.
const SCRAPES_QUEUED: usize = 4;

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
        cfg.validate()
            .map_err(|e| DrainError::Config(e.under("drain").to_string()))?;
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
            parse_pool: Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            receiving: Budget::new(cfg.max_receiving_bytes),
            decoding: Budget::new(cfg.max_decoding_bytes),
            peers: PeerLimits::new(cfg.max_connections_per_peer),
            scrapes: Arc::new(Semaphore::new(SCRAPES_QUEUED)),
            render: Arc::new(Semaphore::new(1)),
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

    /// Checks fresh Frame-Ids in `remote` too (instances sharing their windows). Call before serving.
    pub fn share_frame_ids(&mut self, remote: Arc<dyn super::dedup::RemoteFrameIds>) {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.frame_ids.share(remote);
        }
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
                    Ok((stream, peer)) => match admit(&shared, &slots, peer) {
                        Ok(held) => {
                            tasks.spawn(serve(stream, peer, shared.clone(), held, stop_rx.clone()));
                        }
                        Err(reason) => {
                            shared.stats.refused(reason);
                            if let Ok(slot) = refusals.clone().try_acquire_owned() {
                                tasks.spawn(refuse(stream, slot));
                            }
                            tracing::debug!(%peer, reason = reason.as_str(), "connection refused");
                        }
                    },
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

/// The slots a served connection holds until it closes.
struct Admitted {
    _slot: OwnedSemaphorePermit,
    _peer: PeerSlot,
}

/// Takes a slot of the peer's and one of `max_connections`, or says which limit refused the connection.
fn admit(shared: &Shared, slots: &Arc<Semaphore>, peer: SocketAddr) -> Result<Admitted, Refused> {
    let peer_slot = shared
        .peers
        .try_open(peer.ip())
        .ok_or(Refused::MaxConnectionsPerPeer)?;
    let slot = slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| Refused::MaxConnections)?;
    Ok(Admitted {
        _slot: slot,
        _peer: peer_slot,
    })
}

/// Serves one connection until the client leaves, a timeout closes it, or shutdown is signalled. A connection
/// whose first request head is not complete within `first_header_timeout` is closed (hyper's own
/// `header_timeout` then covers later requests and idle keep-alive time).
async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    _held: Admitted,
    mut stop: watch::Receiver<bool>,
) {
    let stats = shared.stats.clone();
    stats.connections_total.fetch_add(1, Relaxed);
    stats.connections_open.fetch_add(1, Relaxed);
    let _ = stream.set_nodelay(true);
    let cfg = &shared.cfg;
    let (header_timeout, first_header_timeout) = (cfg.header_timeout, cfg.first_header_timeout);
    let head_bytes = cfg.max_header_bytes.max(super::config::MIN_HEADER_BYTES);
    let served = Arc::new(AtomicBool::new(false));
    let service = {
        let (shared, served) = (shared.clone(), served.clone());
        service_fn(move |req| {
            served.store(true, Relaxed);
            routes::handle(shared.clone(), req, peer)
        })
    };
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_header_size(head_bytes)
        .max_buf_size(head_bytes)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let first_deadline = tokio::time::sleep(first_header_timeout);
    tokio::pin!(first_deadline);
    let mut awaiting_first = true;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, "connection ended: {e}");
                }
                break;
            }
            _ = &mut first_deadline, if awaiting_first => {
                awaiting_first = false;
                if !served.load(Relaxed) {
                    stats.refused(Refused::FirstHeaderTimeout);
                    tracing::debug!(%peer, "no request head within first_header_timeout: closed");
                    break;
                }
            }
            _ = async { drop(stop.wait_for(|stopping| *stopping).await) } => {
                conn.as_mut().graceful_shutdown();
                if let Err(e) = conn.await {
                    tracing::debug!(%peer, "connection ended during shutdown: {e}");
                }
                break;
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
        .max_header_size(super::config::MIN_HEADER_BYTES)
        .max_buf_size(super::config::MIN_HEADER_BYTES)
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
