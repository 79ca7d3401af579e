//! Taking a request body: the `Content-Encoding` check, collection with a size limit and a deadline, and gzip
//! decompression with its own limit (a gzip bomb gets 413, not an out-of-memory). It does not parse.

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use hyper::header::{HeaderMap, CONTENT_ENCODING};
use std::io::Read;
use std::time::Duration;

/// Why a body could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("body larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("body larger than {limit} bytes once decompressed")]
    DecompressedTooLarge { limit: usize },
    #[error("corrupt gzip body: {0}")]
    BadGzip(String),
    #[error("unsupported Content-Encoding {0:?} (gzip or identity only)")]
    UnsupportedEncoding(String),
    #[error("body not received within {0:?}")]
    Timeout(Duration),
    #[error("reading the body: {0}")]
    Read(#[from] hyper::Error),
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
        _ => Err(BodyError::UnsupportedEncoding(text)),
    }
}

/// Collects the body as sent, failing fast when its declared length is over `limit`.
pub async fn collect(
    mut body: Incoming,
    limit: usize,
    deadline: Duration,
) -> Result<Bytes, BodyError> {
    if body.size_hint().lower() > limit as u64 {
        return Err(BodyError::TooLarge { limit });
    }
    let read = async {
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut total = 0usize;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                total += data.len();
                if total > limit {
                    return Err(BodyError::TooLarge { limit });
                }
                chunks.push(data);
            }
        }
        Ok(join(chunks, total))
    };
    tokio::time::timeout(deadline, read)
        .await
        .map_err(|_| BodyError::Timeout(deadline))?
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

/// Decodes a body; identity bodies are returned as they are.
pub fn decode(raw: Bytes, encoding: Encoding, limit: usize) -> Result<Bytes, BodyError> {
    match encoding {
        Encoding::Identity => Ok(raw),
        Encoding::Gzip if raw.is_empty() => Ok(raw),
        Encoding::Gzip => gunzip(&raw, limit).map(Bytes::from),
    }
}

/// Decompresses one or more concatenated gzip members, reading at most `limit + 1` bytes of output.
pub fn gunzip(raw: &[u8], limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(limit));
    let mut decoder = flate2::read::MultiGzDecoder::new(raw).take(limit as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| BodyError::BadGzip(e.to_string()))?;
    if out.len() > limit {
        return Err(BodyError::DecompressedTooLarge { limit });
    }
    Ok(out)
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
        assert!(matches!(encoding(&h), Err(BodyError::UnsupportedEncoding(e)) if e == "br"));
    }
}
