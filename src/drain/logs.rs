//! `POST /logs`: one logplex body from auth to the windows. The order matters for logplex's retry rules:
//! credentials and encoding first (4xx: can never succeed), then the body, held against the receive byte budget
//! as it arrives (413 too large, 400 malformed framing, 503 on a timeout, a broken connection or a full
//! budget), then a parse slot (503: retry later), the Frame-Id (a duplicate is a 200 that ingests nothing),
//! decoding against the decode byte budget (503 when full), parsing into the sink (on this worker for a logplex
//! batch, on the parse pool for a large or gzipped body or when the sink is busy: see `ingest.rs`), and only
//! then is the Frame-Id remembered. Bad frames never change the 200.

use super::body::{self, BodyError};
use super::dedup::Begin;
use super::ingest::{parse_and_ingest, try_inline, Ingested, INLINE_MAX_BYTES};
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

    let begun = match frame_id.as_deref() {
        Some(id) => Some(shared.frame_ids.begin_shared(id).await),
        None => None,
    };
    let attempt = match begun {
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
    let now = now_micros();
    // A logplex batch is parsed right here; a large or gzipped body, or one the sink could not take without
    // waiting, goes to the parse pool.
    let work = if encoding == body::Encoding::Identity && wire_len <= INLINE_MAX_BYTES {
        match body::decode(raw, encoding, cfg.max_decompressed_bytes, &shared.decoding) {
            Ok(decoded) => Work::Decoded(decoded),
            Err(e) => return reject(shared, e, peer),
        }
    } else {
        Work::Received(raw)
    };
    let inline = match &work {
        Work::Decoded(decoded) => {
            try_inline(shared.sink.as_ref(), decoded, now).map(|got| (got, decoded.len()))
        }
        Work::Received(_) => None,
    };
    let (got, body_len) = match inline {
        Some(done) => done,
        None => match on_the_pool(shared, work, encoding, now).await {
            Ok(done) => done,
            Err(Pooled::Body(e)) => return reject(shared, e, peer),
            Err(Pooled::Lost(why)) => {
                tracing::error!(%peer, "parsing a body failed: {why}");
                return plain(StatusCode::SERVICE_UNAVAILABLE, "parse failed, retry\n")
                    .retry_after();
            }
        },
    };
    let parsed = &got.parse;

    let stats = &shared.stats;
    stats.bodies.fetch_add(1, Relaxed);
    stats.wire_bytes.fetch_add(wire_len as u64, Relaxed);
    stats.body_bytes.fetch_add(body_len as u64, Relaxed);
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

/// A body on its way to the pool: as received, or already decoded (its sink was busy).
enum Work {
    Received(body::Received),
    Decoded(body::Decoded),
}

/// Why the pool gave no events.
enum Pooled {
    Body(BodyError),
    /// The pool's thread panicked or was cancelled (never expected; logged, and the body may be retried).
    Lost(String),
}

/// Decodes (when needed), parses and ingests a body on a blocking thread, at most one per core at a time; the
/// worker awaits it like any I/O. Returns what it gave and the decoded length.
async fn on_the_pool(
    shared: &Shared,
    work: Work,
    encoding: body::Encoding,
    now: i64,
) -> Result<(Ingested, usize), Pooled> {
    let permit = shared
        .parse_pool
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| Pooled::Lost(e.to_string()))?;
    let sink = shared.sink.clone();
    let budget = shared.decoding.clone();
    let limit = shared.cfg.max_decompressed_bytes;
    let job = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let decoded = match work {
            Work::Decoded(d) => d,
            Work::Received(raw) => body::decode(raw, encoding, limit, &budget)?,
        };
        let got = parse_and_ingest(sink.as_ref(), &decoded, now);
        Ok((got, decoded.len()))
    });
    match job.await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(e)) => Err(Pooled::Body(e)),
        Err(e) => Err(Pooled::Lost(e.to_string())),
    }
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
