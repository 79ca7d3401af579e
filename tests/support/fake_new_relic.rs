//! A fake of New Relic's two APIs, as a real hyper HTTP/1 server on 127.0.0.1:
//! - NerdGraph, `POST /graphql`: checks the `API-Key` header (401 with NerdGraph's `{"errors":[...]}`
//!   otherwise), that the body is JSON with a query over `actor.account.nrql.results`, the expected account id
//!   and NRQL (as variables or written into the query), and answers `[{"rate.count": <rpm>}]`.
//! - REST v2, `GET /v2/applications/{id}/metrics/data.json`: checks the `X-Api-Key` header (401 with REST's
//!   `{"error":{"title":...}}` otherwise), the application id, `names[]=HttpDispatcher`,
//!   `values[]=requests_per_minute`, `summarize=true` and `from`/`to` as ISO 8601 times `window` apart, and
//!   answers one timeslice with `requests_per_minute`.
//!
//! Faults are queued and apply to the next request of either API once its key is accepted. Every request is
//! recorded.
#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to do to the next request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This HTTP status with the API's JSON error.
    Status(u16),
    /// 429 with `Retry-After: <seconds>`.
    RateLimited(u64),
    /// Stall this long before answering normally.
    Stall(Duration),
    /// 200 with a body that is not JSON.
    NotJson,
    /// 200 with `errors` beside good `data` (NerdGraph).
    GraphErrors,
    /// 200 with this raw JSON where the number goes (`"\"abc\""`, `"null"`, `"-5"`).
    Value(&'static str),
    /// 200 without rows (NerdGraph: `results: []`; REST: no metric).
    NoRows,
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// `API-Key` or `X-Api-Key`, whichever came.
    pub api_key: Option<String>,
    pub body: String,
}

struct State {
    api_key: String,
    account_id: u64,
    nrql: String,
    app_id: u64,
    window: Duration,
    rpm: String,
    faults: VecDeque<Fault>,
    requests: Vec<Recorded>,
    /// Requests refused for their shape, with why.
    refused: Vec<String>,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeNewRelic {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeNewRelic {
    /// Starts the fake for this key, NerdGraph account and NRQL, and REST application id (window 10m).
    pub async fn start(api_key: &str, account_id: u64, nrql: &str, app_id: u64) -> FakeNewRelic {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = FakeNewRelic {
            url: format!("http://{addr}"),
            state: Arc::new(Mutex::new(State {
                api_key: api_key.into(),
                account_id,
                nrql: nrql.into(),
                app_id,
                window: Duration::from_secs(600),
                rpm: "1234.5".into(),
                faults: VecDeque::new(),
                requests: Vec::new(),
                refused: Vec::new(),
            })),
        };
        super::serve::serve(
            listener,
            fake.clone(),
            |server: FakeNewRelic, req| async move { server.handle(req).await },
        );
        fake
    }

    /// The figure both APIs answer (raw JSON number).
    pub fn set_rpm(&self, rpm: &str) {
        self.state.lock().unwrap().rpm = rpm.into();
    }
    /// The REST window the fake expects between `from` and `to`.
    pub fn set_window(&self, window: Duration) {
        self.state.lock().unwrap().window = window;
    }
    pub fn fail_next(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push_back(fault);
    }
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
    pub fn refused(&self) -> Vec<String> {
        self.state.lock().unwrap().refused.clone()
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let query = req.uri().query().map(parse_query).unwrap_or_default();
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let graph_key = header("api-key");
        let rest_key = header("x-api-key");
        let content_type = header("content-type");
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body = String::from_utf8_lossy(&body).to_string();
        let rest_path = path
            .strip_prefix("/v2/applications/")
            .and_then(|p| p.strip_suffix("/metrics/data.json"))
            .map(str::to_string);
        let is_graph = method == "POST" && path == "/graphql";
        self.state.lock().unwrap().requests.push(Recorded {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            api_key: if is_graph {
                graph_key.clone()
            } else {
                rest_key.clone()
            },
            body: body.clone(),
        });
        if is_graph {
            return self.graphql(graph_key, content_type, &body).await;
        }
        if let (Some(app), "GET") = (rest_path, method.as_str()) {
            return self.rest(rest_key, &app, &query).await;
        }
        json(404, r#"{"error":{"title":"Not found"}}"#.into())
    }

    fn refuse(&self, why: String) {
        self.state.lock().unwrap().refused.push(why);
    }

    async fn graphql(
        &self,
        key: Option<String>,
        content_type: Option<String>,
        body: &str,
    ) -> Response<Full<Bytes>> {
        let (want_key, account_id, nrql) = {
            let s = self.state.lock().unwrap();
            (s.api_key.clone(), s.account_id, s.nrql.clone())
        };
        if key.as_deref() != Some(want_key.as_str()) {
            return json(
                401,
                r#"{"errors":[{"message":"Invalid API key","extensions":{"errorClass":"UNAUTHENTICATED"}}]}"#.into(),
            );
        }
        let v: serde_json::Value = match serde_json::from_str(body) {
            Ok(v) if content_type.as_deref() == Some("application/json") => v,
            _ => {
                self.refuse(format!("not JSON ({content_type:?}): {body}"));
                return json(
                    400,
                    r#"{"errors":[{"message":"Bad request: the body must be JSON"}]}"#.into(),
                );
            }
        };
        let query = v["query"].as_str().unwrap_or_default();
        let vars = &v["variables"];
        let query_ok = query.contains("actor")
            && query.contains("account(id:")
            && query.contains("nrql(query:")
            && query.contains("results");
        let account_ok = vars["id"] == account_id
            || (vars["id"].is_null() && query.contains(&format!("account(id: {account_id})")));
        let nrql_ok = vars["nrql"] == nrql.as_str()
            || (vars["nrql"].is_null()
                && query.contains(&serde_json::Value::from(nrql.as_str()).to_string()));
        if !(query_ok && account_ok && nrql_ok) {
            self.refuse(format!("unexpected GraphQL request: {body}"));
            return json(
                200,
                format!(
                    r#"{{"data":{{"actor":{{"account":null}}}},"errors":[{{"message":"fake: expected account {account_id} and NRQL {nrql:?}"}}]}}"#
                ),
            );
        }
        let fault = self.state.lock().unwrap().faults.pop_front();
        let rpm = self.state.lock().unwrap().rpm.clone();
        let results = |value: &str| {
            format!(
                r#"{{"data":{{"actor":{{"account":{{"nrql":{{"results":[{{"rate.count":{value}}}]}}}}}}}}}}"#
            )
        };
        match fault {
            Some(Fault::Status(code)) => json(
                code,
                format!(r#"{{"errors":[{{"message":"fake status {code}"}}]}}"#),
            ),
            Some(Fault::RateLimited(secs)) => with_retry_after(
                json(
                    429,
                    r#"{"errors":[{"message":"Too many requests"}]}"#.into(),
                ),
                secs,
            ),
            Some(Fault::Stall(d)) => {
                tokio::time::sleep(d).await;
                json(200, results(&rpm))
            }
            Some(Fault::NotJson) => json(200, "<html>oops</html>".into()),
            Some(Fault::GraphErrors) => json(
                200,
                results(&rpm).replacen(
                    "{\"data\"",
                    r#"{"errors":[{"message":"NRQL query timed out","extensions":{"errorClass":"TIMEOUT"}}],"data""#,
                    1,
                ),
            ),
            Some(Fault::Value(raw)) => json(200, results(raw)),
            Some(Fault::NoRows) => json(
                200,
                r#"{"data":{"actor":{"account":{"nrql":{"results":[]}}}}}"#.into(),
            ),
            None => json(200, results(&rpm)),
        }
    }

    async fn rest(
        &self,
        key: Option<String>,
        app: &str,
        query: &[(String, String)],
    ) -> Response<Full<Bytes>> {
        let (want_key, app_id, window) = {
            let s = self.state.lock().unwrap();
            (s.api_key.clone(), s.app_id, s.window)
        };
        if key.as_deref() != Some(want_key.as_str()) {
            return json(
                401,
                r#"{"error":{"title":"The API key provided is invalid"}}"#.into(),
            );
        }
        if app != app_id.to_string() {
            return json(
                404,
                format!(r#"{{"error":{{"title":"No Application found with ID {app}"}}}}"#),
            );
        }
        let param = |k: &str| {
            query
                .iter()
                .filter(|(name, _)| name == k)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        let time = |k: &str| {
            param(k)
                .first()
                .and_then(|v| v.parse::<jiff::Timestamp>().ok())
        };
        let mut wrong = Vec::new();
        if param("names[]") != ["HttpDispatcher"] {
            wrong.push(format!("names[] {:?}", param("names[]")));
        }
        if param("values[]") != ["requests_per_minute"] {
            wrong.push(format!("values[] {:?}", param("values[]")));
        }
        if param("summarize") != ["true"] {
            wrong.push(format!("summarize {:?}", param("summarize")));
        }
        match (time("from"), time("to")) {
            (Some(from), Some(to)) => {
                let span = to.duration_since(from);
                if span != jiff::SignedDuration::try_from(window).unwrap() {
                    wrong.push(format!("from..to is {span:?}, expected {window:?}"));
                }
            }
            _ => wrong.push(format!(
                "from {:?} / to {:?} are not ISO 8601",
                param("from"),
                param("to")
            )),
        }
        if !wrong.is_empty() {
            let why = wrong.join("; ");
            self.refuse(why.clone());
            return json(422, format!(r#"{{"error":{{"title":"fake: {why}"}}}}"#));
        }
        let fault = self.state.lock().unwrap().faults.pop_front();
        let rpm = self.state.lock().unwrap().rpm.clone();
        let (from, to) = (param("from")[0].to_string(), param("to")[0].to_string());
        let answer = |value: &str| {
            format!(
                r#"{{"metric_data":{{"from":"{from}","to":"{to}","metrics_not_found":[],"metrics_found":["HttpDispatcher"],"metrics":[{{"name":"HttpDispatcher","timeslices":[{{"from":"{from}","to":"{to}","values":{{"requests_per_minute":{value}}}}}]}}]}}}}"#
            )
        };
        match fault {
            Some(Fault::Status(code)) => json(
                code,
                format!(r#"{{"error":{{"title":"fake status {code}"}}}}"#),
            ),
            Some(Fault::RateLimited(secs)) => with_retry_after(
                json(429, r#"{"error":{"title":"Rate limit exceeded"}}"#.into()),
                secs,
            ),
            Some(Fault::Stall(d)) => {
                tokio::time::sleep(d).await;
                json(200, answer(&rpm))
            }
            Some(Fault::NotJson) => json(200, "<html>oops</html>".into()),
            Some(Fault::GraphErrors) => json(200, answer(&rpm)),
            Some(Fault::Value(raw)) => json(200, answer(raw)),
            Some(Fault::NoRows) => json(
                200,
                format!(
                    r#"{{"metric_data":{{"from":"{from}","to":"{to}","metrics_not_found":["HttpDispatcher"],"metrics_found":[],"metrics":[]}}}}"#
                ),
            ),
            None => json(200, answer(&rpm)),
        }
    }
}

/// `a=1&b%5B%5D=2` as decoded pairs (`+` is a space, as in forms).
fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn with_retry_after(mut r: Response<Full<Bytes>>, secs: u64) -> Response<Full<Bytes>> {
    r.headers_mut()
        .insert("retry-after", secs.to_string().parse().unwrap());
    r
}

fn json(status: u16, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}
