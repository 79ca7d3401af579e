//! A fake Cronut (the dead man's switch Dynosaur pinged), as a real hyper HTTP/1 server on 127.0.0.1.
//! `POST /ping/` with `X-CRONUT-API-TOKEN` (403 otherwise) and a form body `public_id=<base64>`: the value is
//! decrypted with the job's private key (400 if it cannot be), must read `<unix seconds>-<job token>` (404
//! for an unknown job token) with a time within a minute of now (400 otherwise: a replayed check-in). Every
//! accepted check-in is recorded; faults are queued for the next requests.
#![allow(dead_code)]

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The fixture key pair's public half (PEM).
pub const PUBLIC_KEY: &str = include_str!("../fixtures/cronut/job_public_key.pem");
const PRIVATE_KEY: &str = include_str!("../fixtures/cronut/job_private_key.pem");

struct State {
    api_token: String,
    job_token: String,
    key: RsaPrivateKey,
    faults: VecDeque<u16>,
    check_ins: Vec<i64>,
    refused: Vec<(u16, String)>,
}

#[derive(Clone)]
pub struct FakeCronut {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeCronut {
    pub async fn start(api_token: &str, job_token: &str) -> FakeCronut {
        let key = RsaPrivateKey::from_pkcs1_pem(PRIVATE_KEY).expect("fixture key");
        let state = Arc::new(Mutex::new(State {
            api_token: api_token.into(),
            job_token: job_token.into(),
            key,
            faults: VecDeque::new(),
            check_ins: Vec::new(),
            refused: Vec::new(),
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        super::serve::serve(listener, state.clone(), handle);
        FakeCronut { url, state }
    }

    /// The times (unix seconds) inside accepted check-ins.
    pub fn check_ins(&self) -> Vec<i64> {
        self.state.lock().unwrap().check_ins.clone()
    }

    /// Refused requests: status and why.
    pub fn refused(&self) -> Vec<(u16, String)> {
        self.state.lock().unwrap().refused.clone()
    }

    /// The next request gets this status (before any check).
    pub fn fail_next(&self, status: u16) {
        self.state.lock().unwrap().faults.push_back(status);
    }
}

fn answer(status: u16, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    r
}

async fn handle(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let token = req
        .headers()
        .get("X-CRONUT-API-TOKEN")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let form = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let mut s = state.lock().unwrap();
    let refuse = |s: &mut State, status: u16, why: String| {
        s.refused.push((status, why.clone()));
        answer(status, &why)
    };
    if let Some(status) = s.faults.pop_front() {
        return refuse(&mut s, status, "injected fault".into());
    }
    if method != hyper::Method::POST || path != "/ping/" {
        return refuse(&mut s, 404, format!("no route {method} {path}"));
    }
    if token.as_deref() != Some(s.api_token.as_str()) {
        return refuse(&mut s, 403, "Forbidden".into());
    }
    if !form {
        return refuse(&mut s, 400, "not a form".into());
    }
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let Some(id) = fields
        .iter()
        .find(|(k, _)| k == "public_id")
        .map(|(_, v)| v.clone())
    else {
        return refuse(&mut s, 400, "no public_id".into());
    };
    let Ok(sealed) = base64::engine::general_purpose::STANDARD.decode(id.trim()) else {
        return refuse(&mut s, 400, "public_id is not base64".into());
    };
    let Ok(plain) = s.key.decrypt(Pkcs1v15Encrypt, &sealed) else {
        return refuse(&mut s, 400, "cannot decrypt public_id".into());
    };
    let plain = String::from_utf8_lossy(&plain).to_string();
    let Some((time, job)) = plain.split_once('-') else {
        return refuse(&mut s, 400, format!("bad check-in {plain:?}"));
    };
    if job != s.job_token {
        return refuse(&mut s, 404, format!("no job {job:?}"));
    }
    let now = jiff::Timestamp::now().as_second();
    match time.parse::<i64>() {
        Ok(t) if (now - t).abs() <= 60 => {
            s.check_ins.push(t);
            answer(200, "OK")
        }
        _ => refuse(&mut s, 400, format!("stale or bad time {time:?}")),
    }
}
