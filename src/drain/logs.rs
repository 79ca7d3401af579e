//! `POST /logs`: one logplex body from auth to the windows. The order matters for logplex's retry rules:
//! credentials and encoding first (4xx: can never succeed), then the body, held against the receive byte budget
//! as it arrives (413 too large, 400 malformed framing, 503 on a timeout, a broken connection or a full
//! budget), then a parse slot (503: retry later), the Frame-Id (a duplicate is a 200 that ingests nothing),
//! decoding against the decode byte budget (503 when full), parsing into the sink, and only then is the Frame-Id
//! remembered. Bad frames never change the 200.

use super::body::{self, BodyError};
use super::dedup::Begin;
use super::ingest::parse_and_ingest;
use super::reply::{plain, Reply, ReplyExt};
use super::shared::Shared;
use super::stats::Rejected;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{SystemTime, UNIX_EPOCH};

/// Takes one body.
pub async fn take(shared: &Shared, req: Request<Incoming>, peer: SocketAddr) -> Reply {
    let cfg = &shared.cfg;
    if let Some(denied) = shared.check_auth(&shared.auth, req.headers(), peer, cfg.path.as_str()) {
        return denied;
    }
    let encoding = match body::encoding(req.headers()) {
        Ok(e) => e,
        Err(e) => return reject(shared, e, peer),
    };
    let frame_id = req
        .headers()
        .get("logplex-frame-id")
        .map(|v| v.as_bytes().to_vec());
    let msg_count = req
        .headers()
        .get("logplex-msg-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());

    let received = body::receive(
        req.into_body(),
        cfg.max_body_bytes,
        cfg.body_timeout,
        &shared.receiving,
    )
    .await;
    let raw = match received {
        Ok(raw) => raw,
        Err(e) => return reject(shared, e, peer),
    };
    let Ok(_slot) = shared.in_flight.clone().try_acquire_owned() else {
        shared.stats.rejected(Rejected::Busy);
        tracing::debug!(%peer, "max_in_flight bodies already being parsed: 503");
        return plain(StatusCode::SERVICE_UNAVAILABLE, "drain busy, retry\n").retry_after();
    };

    let attempt = match frame_id.as_deref().map(|id| shared.frame_ids.begin(id)) {
        None => None,
        Some(Begin::Fresh(attempt)) => Some(attempt),
        Some(Begin::Duplicate) => {
            shared.stats.duplicates.fetch_add(1, Relaxed);
            tracing::debug!(%peer, "duplicate Logplex-Frame-Id: already taken, ingesting nothing");
            return plain(StatusCode::OK, "");
        }
        Some(Begin::InProgress) => {
            shared.stats.rejected(Rejected::FrameIdInProgress);
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "this Frame-Id is being ingested, retry\n",
            )
            .retry_after();
        }
    };

    let wire_len = raw.len();
    let decoding = &shared.decoding;
    let decode = || body::decode(raw, encoding, cfg.max_decompressed_bytes, decoding);
    // Gunzipping is CPU work; an identity body is at most one copy.
    let decoded = if encoding == body::Encoding::Gzip {
        off_the_reactor(decode)
    } else {
        decode()
    };
    let decoded = match decoded {
        Ok(b) => b,
        Err(e) => return reject(shared, e, peer),
    };

    let got = off_the_reactor(|| parse_and_ingest(shared.sink.as_ref(), &decoded, now_micros()));
    let parsed = &got.parse;

    let stats = &shared.stats;
    stats.bodies.fetch_add(1, Relaxed);
    stats.wire_bytes.fetch_add(wire_len as u64, Relaxed);
    stats.body_bytes.fetch_add(decoded.len() as u64, Relaxed);
    stats.add_parse(parsed, got.parse_time);
    stats.add_ingest(&got.counts, got.ingest_time);
    if msg_count.is_some_and(|n| n != parsed.frames) {
        stats.msg_count_mismatch.fetch_add(1, Relaxed);
    }
    if parsed.bad_total() > 0 {
        tracing::debug!(%peer, bad = parsed.bad_total(), frames = parsed.frames, "body had bad frames (taken, counted)");
    }
    if let Some(a) = attempt {
        a.commit();
    }
    plain(StatusCode::OK, "")
}

/// Maps a body failure to its answer, counts and logs it.
fn reject(shared: &Shared, err: BodyError, peer: SocketAddr) -> Reply {
    let (reason, status) = match &err {
        BodyError::TooLarge { .. } => (Rejected::TooLarge, StatusCode::PAYLOAD_TOO_LARGE),
        BodyError::DecompressedTooLarge { .. } => (
            Rejected::DecompressedTooLarge,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        BodyError::BadGzip(_) => (Rejected::BadGzip, StatusCode::BAD_REQUEST),
        BodyError::UnsupportedEncoding(_) => (
            Rejected::UnsupportedEncoding,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        // Bad chunked framing: the same bytes can never succeed.
        BodyError::Malformed(_) => (Rejected::Malformed, StatusCode::BAD_REQUEST),
        // A retry may well succeed: 503 matches logplex's rule for timeouts.
        BodyError::Timeout(_) => (Rejected::BodyTimeout, StatusCode::SERVICE_UNAVAILABLE),
        // The connection broke mid-body: the same batch may well arrive whole on a retry.
        BodyError::Read(_) => (Rejected::BodyError, StatusCode::SERVICE_UNAVAILABLE),
        // Other bodies hold the memory now; once they are done a retry fits.
        BodyError::ReceiveBudget { .. } => {
            (Rejected::ReceiveBudget, StatusCode::SERVICE_UNAVAILABLE)
        }
        BodyError::DecodeBudget { .. } => (Rejected::DecodeBudget, StatusCode::SERVICE_UNAVAILABLE),
    };
    shared.stats.rejected(reason);
    tracing::warn!(%peer, status = status.as_u16(), "body not taken: {err}");
    let reply = plain(status, &format!("{err}\n")).close();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        reply.retry_after()
    } else {
        reply
    }
}

/// Runs CPU work (parsing, a sink that may take a lock) without starving the tasks queued on this worker: on a
/// multi-threaded runtime they move to another thread meanwhile (`block_in_place`); elsewhere it runs inline.
fn off_the_reactor<T>(work: impl FnOnce() -> T) -> T {
    let multi = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
