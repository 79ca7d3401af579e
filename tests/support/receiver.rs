//! A recording HTTP receiver for tests: a real hyper HTTP/1 server on 127.0.0.1 (port 0) standing in for a
//! webhook endpoint or Bugsnag's notify endpoint. It records every request (method, path, headers, JSON body)
//! and answers 200 (Bugsnag answers `OK`), or 500, or stalls, as the test says.
#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Ok,
    Fail500,
    /// Never answer within any test's timeout.
    Stall,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: serde_json::Value,
}

pub struct Receiver {
    pub url: String,
    seen: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
    /// Requests that arrived (also those answered 500 or stalled).
    arrived: Arc<Mutex<usize>>,
}

impl Receiver {
    pub async fn start(mode: Mode) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mode = Arc::new(Mutex::new(mode));
        let arrived = Arc::new(Mutex::new(0));
        let (s, m, a) = (seen.clone(), mode.clone(), arrived.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (s, m, a) = (s.clone(), m.clone(), a.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let (s, m, a) = (s.clone(), m.clone(), a.clone());
                        async move {
                            let method = req.method().to_string();
                            let path = req.uri().path().to_string();
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(k, v)| {
                                    (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())
                                })
                                .collect();
                            let body = req.into_body().collect().await?.to_bytes();
                            *a.lock().unwrap() += 1;
                            let mode = *m.lock().unwrap();
                            if mode == Mode::Stall {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                            }
                            let body =
                                serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                            let status = if mode == Mode::Fail500 { 500 } else { 200 };
                            if status == 200 {
                                s.lock().unwrap().push(Received {
                                    method,
                                    path,
                                    headers,
                                    body,
                                });
                            }
                            let text = if status == 200 {
                                "OK"
                            } else {
                                "internal error"
                            };
                            Ok::<_, hyper::Error>(
                                Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::from(text)))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver {
            url,
            seen,
            mode,
            arrived,
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Requests answered 200.
    pub fn received(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    pub fn arrived(&self) -> usize {
        *self.arrived.lock().unwrap()
    }

    /// Polls until `cond` holds on the received requests (20 s deadline).
    pub async fn wait_until(
        &self,
        what: &str,
        cond: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.received();
            if cond(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
