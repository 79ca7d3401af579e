//! Taking a request body: the `Content-Encoding` check, receiving with a size limit, a deadline and the
//! receive byte budget, and decoding (gzip, with its own size limit and the decode byte budget: a gzip bomb gets
//! 413, a full budget 503, never an out-of-memory). It does not parse.

use super::budget::{Budget, Reservation};
use super::logsafe;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderMap, CONTENT_ENCODING};
use std::io::Read;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

/// Output a gzip body first gets room for, per wire byte (grown by doubling up to the limit).
const GZIP_RATIO_GUESS: usize = 4;

/// Why a body could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("body larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("body larger than {limit} bytes once decompressed")]
    DecompressedTooLarge { limit: usize },
    #[error("corrupt gzip body: {0}")]
    BadGzip(String),
    #[error("unsupported Content-Encoding {0} (gzip or identity only)")]
    UnsupportedEncoding(String),
    #[error("body not received within {0:?}")]
    Timeout(Duration),
    /// The connection broke or was cut off mid-body: the same body may well arrive whole on a retry.
    #[error("reading the body: {0}")]
    Read(hyper::Error),
    /// The body's framing is broken (e.g. a chunk size that is not hex): no retry can fix it.
    #[error("malformed body: {0}")]
    Malformed(hyper::Error),
    #[error("the drain holds {limit} bytes of bodies being received; retry")]
    ReceiveBudget { limit: usize },
    #[error("the drain holds {limit} bytes of bodies being decoded; retry")]
    DecodeBudget { limit: usize },
}

impl From<hyper::Error> for BodyError {
    /// Framing errors (hyper's decoder reports them as `InvalidData` / `InvalidInput`) are the sender's fault;
    /// the rest (end of file, reset, "connection error") are the network's.
    fn from(e: hyper::Error) -> BodyError {
        let io_kind = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .map(std::io::Error::kind);
        let malformed = e.is_parse()
            || matches!(
                io_kind,
                Some(std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput)
            );
        if malformed {
            BodyError::Malformed(e)
        } else {
            BodyError::Read(e)
        }
    }
}

/// How a body was encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
}

/// Reads `Content-Encoding`; a missing header is identity.
pub fn encoding(headers: &HeaderMap) -> Result<Encoding, BodyError> {
    let Some(value) = headers.get(CONTENT_ENCODING) else {
        return Ok(Encoding::Identity);
    };
    let text = String::from_utf8_lossy(value.as_bytes())
        .trim()
        .to_ascii_lowercase();
    match text.as_str() {
        "" | "identity" => Ok(Encoding::Identity),
        "gzip" | "x-gzip" => Ok(Encoding::Gzip),
        _ => Err(BodyError::UnsupportedEncoding(format!(
            "\"{}\"",
            logsafe::clip(&text)
        ))),
    }
}

/// A body as sent, in the chunks it arrived in, holding its bytes of the receive budget until dropped.
pub struct Received {
    chunks: Vec<Bytes>,
    len: usize,
    _held: Reservation,
}

impl Received {
    /// Wire bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Receives the body, failing fast when its declared length is over `limit`. Each chunk is counted against
/// `budget` as it arrives (a declared length reserves nothing), so a slow sender holds only what it has sent.
pub async fn receive(
    mut body: Incoming,
    limit: usize,
    deadline: Duration,
    budget: &Arc<Budget>,
) -> Result<Received, BodyError> {
    if body.size_hint().lower() > limit as u64 {
        return Err(BodyError::TooLarge { limit });
    }
    let mut held = budget.reserve();
    let read = async {
        let mut chunks = Chunked::default();
        let mut total = 0usize;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                total += data.len();
                if total > limit {
                    return Err(BodyError::TooLarge { limit });
                }
                if !held.try_grow(data.len()) {
                    return Err(BodyError::ReceiveBudget {
                        limit: budget.limit(),
                    });
                }
                chunks.push(data);
            }
        }
        Ok((chunks.finish(), total))
    };
    let (chunks, len) = tokio::time::timeout(deadline, read)
        .await
        .map_err(|_| BodyError::Timeout(deadline))??;
    Ok(Received {
        chunks,
        len,
        _held: held,
    })
}

/// Chunks below this size are copied together rather than kept one by one.
const SMALL_CHUNK: usize = 1024;
/// The buffer small chunks are copied into; once full it is kept as one chunk.
const COALESCED: usize = 8 << 10;

/// The chunks of a body as they arrive. A sender dribbling a byte at a time would otherwise make the drain keep
/// one `Bytes` (32 bytes, and a pinned read buffer) per byte; small chunks are copied into
/// [`COALESCED`]-byte buffers instead, each kept once at least 7/8 full. Memory held is then the bytes received
/// plus at most one partly filled buffer.
#[derive(Default)]
struct Chunked {
    chunks: Vec<Bytes>,
    tail: BytesMut,
}

impl Chunked {
    fn push(&mut self, data: Bytes) {
        if data.len() >= SMALL_CHUNK {
            self.flush();
            self.chunks.push(data);
            return;
        }
        if self.tail.len() + data.len() > COALESCED {
            self.flush();
        }
        if self.tail.capacity() == 0 {
            self.tail.reserve(COALESCED);
        }
        self.tail.extend_from_slice(&data);
    }

    fn flush(&mut self) {
        if !self.tail.is_empty() {
            self.chunks.push(self.tail.split().freeze());
            self.tail = BytesMut::new();
        }
    }

    fn finish(mut self) -> Vec<Bytes> {
        self.flush();
        self.chunks
    }
}

/// A decoded body, holding its bytes of the decode budget until dropped.
pub struct Decoded {
    bytes: Bytes,
    _held: Reservation,
}

impl Deref for Decoded {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Decodes a received body into one contiguous buffer counted against `budget`; identity bodies that arrived
/// in one chunk are not copied. The received chunks (and their share of the receive budget) are released once
/// the decoded body is built.
pub fn decode(
    received: Received,
    encoding: Encoding,
    limit: usize,
    budget: &Arc<Budget>,
) -> Result<Decoded, BodyError> {
    let mut held = budget.reserve();
    let full = || BodyError::DecodeBudget {
        limit: budget.limit(),
    };
    let bytes = match encoding {
        Encoding::Gzip if !received.is_empty() => {
            Bytes::from(gunzip_counted(&received.chunks, limit, &mut held).ok_or_else(full)??)
        }
        _ => {
            if !held.try_grow(received.len) {
                return Err(full());
            }
            join(received.chunks, received.len)
        }
    };
    Ok(Decoded { bytes, _held: held })
}

fn join(mut chunks: Vec<Bytes>, total: usize) -> Bytes {
    if chunks.len() == 1 {
        return chunks.pop().unwrap_or_default();
    }
    let mut out = BytesMut::with_capacity(total);
    for c in chunks {
        out.extend_from_slice(&c);
    }
    out.freeze()
}

/// Decompresses one or more concatenated gzip members, reading at most `limit + 1` bytes of output.
pub fn gunzip(raw: &[u8], limit: usize) -> Result<Vec<u8>, BodyError> {
    let budget = Budget::new(usize::MAX);
    gunzip_counted(&[Bytes::copy_from_slice(raw)], limit, &mut budget.reserve())
        .unwrap_or(Err(BodyError::DecodeBudget { limit: usize::MAX }))
}

/// [`gunzip`] over the chunks as received. The output buffer grows by doubling, each growth held from `held`
/// first: `None` when the budget has no room for the next growth.
fn gunzip_counted(
    chunks: &[Bytes],
    limit: usize,
    held: &mut Reservation,
) -> Option<Result<Vec<u8>, BodyError>> {
    let wire: usize = chunks.iter().map(Bytes::len).sum();
    let mut decoder = flate2::read::MultiGzDecoder::new(Chunks {
        chunks,
        at: 0,
        offset: 0,
    });
    let first = wire.saturating_mul(GZIP_RATIO_GUESS).clamp(1, limit.max(1));
    if !held.try_grow(first) {
        return None;
    }
    let mut out = vec![0u8; first];
    let mut filled = 0;
    loop {
        if filled == out.len() {
            if out.len() >= limit {
                if filled > limit {
                    return Some(Err(BodyError::DecompressedTooLarge { limit }));
                }
                // Full to the limit: one byte more means too large.
                let mut probe = [0u8; 1];
                return Some(match decoder.read(&mut probe) {
                    Ok(0) => {
                        out.truncate(filled);
                        Ok(out)
                    }
                    Ok(_) => Err(BodyError::DecompressedTooLarge { limit }),
                    Err(e) => Err(BodyError::BadGzip(e.to_string())),
                });
            }
            let grown = out.len().saturating_mul(2).min(limit);
            if !held.try_grow(grown - out.len()) {
                return None;
            }
            out.resize(grown, 0);
        }
        match decoder.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Some(Err(BodyError::BadGzip(e.to_string()))),
        }
    }
    out.truncate(filled);
    Some(Ok(out))
}

/// Reads a body's chunks in order, as one stream.
struct Chunks<'a> {
    chunks: &'a [Bytes],
    at: usize,
    offset: usize,
}

impl Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(chunk) = self.chunks.get(self.at) {
            let rest = &chunk[self.offset.min(chunk.len())..];
            if rest.is_empty() {
                self.at += 1;
                self.offset = 0;
                continue;
            }
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.offset += n;
            return Ok(n);
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gunzips_single_and_concatenated_members() {
        assert_eq!(gunzip(&gz(b"hello"), 100).unwrap(), b"hello");
        let mut two = gz(b"hello ");
        two.extend(gz(b"world"));
        assert_eq!(gunzip(&two, 100).unwrap(), b"hello world");
    }

    #[test]
    fn gzip_bomb_is_too_large_not_oom() {
        let bomb = gz(&vec![b'a'; 10 << 20]);
        assert!(bomb.len() < 100 << 10);
        assert!(
            matches!(gunzip(&bomb, 1 << 20), Err(BodyError::DecompressedTooLarge { limit }) if limit == 1 << 20)
        );
    }

    #[test]
    fn corrupt_gzip_is_bad() {
        let mut g = gz(b"hello world, hello world");
        let n = g.len();
        g[n / 2] ^= 0xff;
        g.truncate(n - 4);
        assert!(matches!(gunzip(&g, 100), Err(BodyError::BadGzip(_))));
        assert!(matches!(
            gunzip(b"not gzip at all", 100),
            Err(BodyError::BadGzip(_))
        ));
    }

    #[test]
    fn encodings() {
        let mut h = HeaderMap::new();
        assert_eq!(encoding(&h).unwrap(), Encoding::Identity);
        h.insert(CONTENT_ENCODING, "GZIP".parse().unwrap());
        assert_eq!(encoding(&h).unwrap(), Encoding::Gzip);
        h.insert(CONTENT_ENCODING, "br".parse().unwrap());
        assert!(matches!(encoding(&h), Err(BodyError::UnsupportedEncoding(e)) if e == "\"br\""));
        h.insert(CONTENT_ENCODING, "z".repeat(10_000).parse().unwrap());
        let err = encoding(&h).unwrap_err().to_string();
        assert!(err.len() < 200 && err.contains("(10000 bytes)"), "{err}");
    }

    #[test]
    fn gunzips_across_chunks_and_holds_its_growth_from_the_budget() {
        let data = b"hello world ".repeat(10_000);
        let g = gz(&data);
        let chunks: Vec<Bytes> = g.chunks(7).map(Bytes::copy_from_slice).collect();
        let budget = Budget::new(1 << 20);
        let mut held = budget.reserve();
        let out = gunzip_counted(&chunks, 1 << 20, &mut held)
            .unwrap()
            .unwrap();
        assert_eq!(out, data);
        assert!(held.held() >= data.len() && held.held() <= 2 * data.len() + g.len() * 4);
        assert_eq!(budget.held(), held.held());
        drop(held);
        assert_eq!(budget.held(), 0);

        // Too small a budget: no room to grow, nothing held afterwards.
        let small = Budget::new(data.len() / 2);
        assert!(gunzip_counted(&chunks, 1 << 20, &mut small.reserve()).is_none());
        assert_eq!(small.held(), 0);
    }

    #[test]
    fn small_chunks_are_coalesced_in_order() {
        let mut c = Chunked::default();
        let mut want = Vec::new();
        for i in 0..20_000u32 {
            let piece = Bytes::from(vec![(i % 251) as u8; 1 + (i % 3) as usize]);
            want.extend_from_slice(&piece);
            c.push(piece);
        }
        let big = Bytes::from(vec![7u8; 5000]);
        want.extend_from_slice(&big);
        c.push(big);
        c.push(Bytes::from_static(b"end"));
        want.extend_from_slice(b"end");
        let chunks = c.finish();
        assert!(chunks.len() < 10, "{}", chunks.len());
        let last_small = chunks.len() - 3;
        assert!(chunks[..last_small]
            .iter()
            .all(|c| c.len() > COALESCED - SMALL_CHUNK));
        assert_eq!(chunks.concat(), want);
    }

    #[test]
    fn output_exactly_at_the_limit_is_taken() {
        let data = vec![b'a'; 5000];
        assert_eq!(gunzip(&gz(&data), 5000).unwrap(), data);
        assert!(matches!(
            gunzip(&gz(&data), 4999),
            Err(BodyError::DecompressedTooLarge { limit: 4999 })
        ));
    }
}
