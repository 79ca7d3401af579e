//! The responses the drain sends: [`Reply`], and the small helpers every route shares (`text/plain`, HTML, JSON,
//! 405, `Retry-After`, `Connection: close`).

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Response, StatusCode};

/// Every response the drain sends.
pub type Reply = Response<Full<Bytes>>;

/// A pretty-printed JSON response.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
    let body = serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A `text/html` page, never cached (it describes the present).
pub fn html(status: StatusCode, page: String) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(page)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// 405 with the `Allow` header.
pub fn not_allowed(allow: &'static str) -> Reply {
    let mut r = plain(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed; use {allow}\n"),
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    r
}

/// A `text/plain` response.
pub fn plain(status: StatusCode, text: &str) -> Reply {
    let mut r = Response::new(Full::new(Bytes::copy_from_slice(text.as_bytes())));
    *r.status_mut() = status;
    if !text.is_empty() {
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    r
}

/// Small adjustments to a [`Reply`].
pub trait ReplyExt {
    /// Adds `Retry-After: 1` (for 503s).
    fn retry_after(self) -> Reply;
    /// Asks the client to close the connection (hyper closes it too when the body was not read).
    fn close(self) -> Reply;
}

impl ReplyExt for Reply {
    fn retry_after(mut self) -> Reply {
        self.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        self
    }

    fn close(mut self) -> Reply {
        self.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        self
    }
}
