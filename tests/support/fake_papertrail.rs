//! A fake of Papertrail's account usage API, as a real hyper HTTP/1 server on 127.0.0.1: `GET
//! /api/v1/accounts` checks the `X-Papertrail-Token` header (401 `{"message":"..."}` otherwise) and answers the
//! account's `log_data_transfer_used` beside its other usage fields, with `X-Rate-Limit-Limit`,
//! `X-Rate-Limit-Remaining` and `X-Rate-Limit-Reset` on every answer; past 25 requests in 5 seconds per token it
//! answers 429, as Papertrail does. Faults are queued and apply to the next request whose token is accepted.
//! Every request is recorded.
#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Papertrail's limit: requests per token per window.
pub const LIMIT: u32 = 25;
/// Papertrail's rate-limit window.
pub const LIMIT_WINDOW: Duration = Duration::from_secs(5);

/// What to do to the next request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This HTTP status with Papertrail's `{"message": ...}`.
    Status(u16),
    /// 429 with `Retry-After: <retry_after>` when given, and `X-Rate-Limit-Reset: <reset>` when given.
    RateLimited {
        retry_after: Option<u64>,
        reset: Option<u64>,
    },
    /// Stall this long before answering normally.
    Stall(Duration),
    /// 200 with this raw body.
    Body(&'static str),
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub token: Option<String>,
    pub accept: Option<String>,
}

struct State {
    token: String,
    used: f64,
    faults: VecDeque<Fault>,
    requests: Vec<Recorded>,
    /// The start of the current rate-limit window and the requests in it.
    window: (Instant, u32),
    /// The rate-limit window's length (Papertrail's: 5 s).
    limit_window: Duration,
}

/// The running fake; its API is at `{url}/api/v1`.
#[derive(Clone)]
pub struct FakePapertrail {
    pub url: String,
    pub api_url: String,
    state: Arc<Mutex<State>>,
}

impl FakePapertrail {
    /// Starts the fake for this token, with 0 bytes used.
    pub async fn start(token: &str) -> FakePapertrail {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = FakePapertrail {
            url: format!("http://{addr}"),
            api_url: format!("http://{addr}/api/v1"),
            state: Arc::new(Mutex::new(State {
                token: token.into(),
                used: 0.0,
                faults: VecDeque::new(),
                requests: Vec::new(),
                window: (Instant::now(), 0),
                limit_window: LIMIT_WINDOW,
            })),
        };
        super::serve::serve(
            listener,
            fake.clone(),
            |server: FakePapertrail, req| async move { server.handle(req).await },
        );
        fake
    }

    /// The bytes used today the API answers.
    pub fn set_used(&self, bytes: f64) {
        self.state.lock().unwrap().used = bytes;
    }
    /// Stretches the rate-limit window, so a test's burst lands in one window however slow the machine.
    pub fn set_limit_window(&self, window: Duration) {
        let mut s = self.state.lock().unwrap();
        s.limit_window = window;
        s.window = (Instant::now(), 0);
    }
    pub fn fail_next(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push_back(fault);
    }
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let seen = Recorded {
            method: req.method().to_string(),
            path: req.uri().path().to_string(),
            token: header("x-papertrail-token"),
            accept: header("accept"),
        };
        self.state.lock().unwrap().requests.push(seen.clone());
        if seen.method != "GET"
            || !(seen.path == "/api/v1/accounts" || seen.path == "/api/v1/accounts.json")
        {
            return json(404, r#"{"message":"Not Found"}"#.into());
        }
        let (want, used) = {
            let s = self.state.lock().unwrap();
            (s.token.clone(), s.used)
        };
        if seen.token.as_deref() != Some(want.as_str()) {
            return json(
                401,
                r#"{"message":"Authentication failed: invalid API token"}"#.into(),
            );
        }
        let (remaining, reset) = self.count();
        let limited = |r: Response<Full<Bytes>>| rate_headers(r, remaining, reset);
        if remaining < 0 {
            return limited(json(429, r#"{"message":"Rate limit exceeded"}"#.into()));
        }
        let fault = self.state.lock().unwrap().faults.pop_front();
        let answer = || {
            format!(
                r#"{{"log_data_transfer_used":{used},"log_data_transfer_soft_limit":209715200,"log_data_transfer_hard_limit":419430400,"log_data_transfer_plan_limit":209715200,"log_data_transfer_used_percent":{:.2},"log_data_transfer_plan_limit_percent":100.0}}"#,
                used / 209_715_200.0 * 100.0
            )
        };
        match fault {
            Some(Fault::Status(code)) => {
                limited(json(code, format!(r#"{{"message":"fake status {code}"}}"#)))
            }
            Some(Fault::RateLimited { retry_after, reset }) => {
                let mut r = json(429, r#"{"message":"Rate limit exceeded"}"#.into());
                if let Some(secs) = retry_after {
                    r = with_header(r, "retry-after", &secs.to_string());
                }
                if let Some(secs) = reset {
                    r = with_header(r, "x-rate-limit-reset", &secs.to_string());
                }
                r
            }
            Some(Fault::Stall(d)) => {
                tokio::time::sleep(d).await;
                limited(json(200, answer()))
            }
            Some(Fault::Body(raw)) => limited(json(200, raw.into())),
            None => limited(json(200, answer())),
        }
    }

    /// Counts a request in the rate-limit window: the requests left (below 0: over the limit) and the
    /// seconds until the window resets.
    fn count(&self) -> (i64, u64) {
        let mut s = self.state.lock().unwrap();
        let now = Instant::now();
        if now.duration_since(s.window.0) >= s.limit_window {
            s.window = (now, 0);
        }
        s.window.1 += 1;
        let left = i64::from(LIMIT) - i64::from(s.window.1);
        let reset = s
            .limit_window
            .saturating_sub(now.duration_since(s.window.0))
            .as_secs()
            .max(1);
        (left, reset)
    }
}

fn rate_headers(r: Response<Full<Bytes>>, remaining: i64, reset: u64) -> Response<Full<Bytes>> {
    let r = with_header(r, "x-rate-limit-limit", &LIMIT.to_string());
    let r = with_header(r, "x-rate-limit-remaining", &remaining.max(0).to_string());
    with_header(r, "x-rate-limit-reset", &reset.to_string())
}

fn with_header(
    mut r: Response<Full<Bytes>>,
    name: &'static str,
    value: &str,
) -> Response<Full<Bytes>> {
    r.headers_mut().insert(name, value.parse().unwrap());
    r
}

fn json(status: u16, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}
