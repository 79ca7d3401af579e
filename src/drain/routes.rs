//! Request dispatch: the logs path, `/healthz`, `/metrics`, `/` (the HTML status page), `/status`, `/ping`. What happens to a body is in
//! `logs.rs`, the responses' shapes in `reply.rs`; connections are `server.rs`'s business.

use super::logs;
use super::reply::{html, json, not_allowed, plain, Reply, ReplyExt};
use super::shared::Shared;
use super::stats::DrainStats;
use super::MetricsPage;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// The hyper service entry point: routes, then counts the answer.
pub async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Reply, Infallible> {
    let reply = route(&shared, req, peer).await;
    shared.stats.responded(reply.status().as_u16());
    Ok(reply)
}

async fn route(shared: &Shared, req: Request<Incoming>, peer: SocketAddr) -> Reply {
    let path = req.uri().path();
    let get = matches!(*req.method(), Method::GET | Method::HEAD);
    if path == shared.cfg.path {
        if req.method() != Method::POST {
            return not_allowed("POST");
        }
        return logs::take(shared, req, peer).await;
    }
    let page = match path {
        "/" | "/healthz" | "/metrics" | "/status" | "/ping" => path,
        _ => {
            return plain(
                StatusCode::NOT_FOUND,
                &format!("no such path; logs go to POST {}\n", shared.cfg.path),
            )
        }
    };
    if !get {
        return not_allowed("GET, HEAD");
    }
    if page == "/healthz" {
        return plain(StatusCode::OK, "ok\n");
    }
    if let Some(denied) = shared.check_auth(shared.page_auth(), req.headers(), peer, page) {
        return denied;
    }
    match page {
        "/metrics" => metrics(shared).await,
        "/" => match shared.pages.status.as_ref().and_then(|s| s.html()) {
            Some(page) => html(StatusCode::OK, page),
            None => plain(
                StatusCode::NOT_FOUND,
                "no status page: the scaler is not running in this process\n",
            ),
        },
        "/status" => match &shared.pages.status {
            Some(s) => json(StatusCode::OK, &s.status()),
            None => plain(
                StatusCode::NOT_FOUND,
                "no status page: the scaler is not running in this process\n",
            ),
        },
        _ => match &shared.pages.status {
            Some(s) => match s.ping() {
                Ok(()) => plain(StatusCode::OK, "OK"),
                Err(names) => plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("BAD: [{}]", names.join(", ")),
                ),
            },
            None => plain(
                StatusCode::NOT_FOUND,
                "no ping page: the scaler is not running in this process\n",
            ),
        },
    }
}

/// Renders `/metrics` on a blocking thread, one render at a time, so a large page never holds an async worker
/// (and with it the bodies queued on it); a few scrapes may wait their turn, more get 503.
async fn metrics(shared: &Shared) -> Reply {
    let Ok(_queued) = shared.scrapes.clone().try_acquire_owned() else {
        shared.stats.scrapes_refused.fetch_add(1, Relaxed);
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics pages already being rendered, retry\n",
        )
        .retry_after();
    };
    let _counted = InProgress::new(&shared.stats);
    let Ok(rendering) = shared.render.clone().acquire_owned().await else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
    };
    let stats = shared.stats.clone();
    let held = shared.held();
    let page = shared.pages.metrics.clone();
    // The permit goes with the render: a scraper that leaves does not let a second render start beside it.
    let rendered = tokio::task::spawn_blocking(move || {
        let _rendering = rendering;
        render(&stats, held, page.as_deref())
    })
    .await;
    let Ok(out) = rendered else {
        tracing::error!("rendering /metrics failed");
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n");
    };
    let mut r = Response::new(Full::new(Bytes::from(out)));
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// Counts one scrape in `scrapes_in_progress` while alive (a scrape whose client leaves is dropped mid-wait).
struct InProgress<'a>(&'a DrainStats);

impl<'a> InProgress<'a> {
    fn new(stats: &'a DrainStats) -> Self {
        stats.scrapes_in_progress.fetch_add(1, Relaxed);
        InProgress(stats)
    }
}

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        self.0.scrapes_in_progress.fetch_sub(1, Relaxed);
    }
}

fn render(stats: &DrainStats, held: super::stats::Held, page: Option<&dyn MetricsPage>) -> String {
    let mut out = String::with_capacity(8 << 10);
    stats.render(held, &mut out);
    if let Some(page) = page {
        page.render(&mut out);
    }
    out
}
