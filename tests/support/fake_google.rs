//! A fake of Google's OAuth token endpoint and the GA4 Data API's `runRealtimeReport`, as a real hyper HTTP/1
//! server on 127.0.0.1: the token endpoint checks the form (`grant_type`, `assertion`), verifies the JWT's
//! header, claims (`iss`, `scope`, `aud`, `iat`, `exp`) and RS256 signature with the test key's public half, and
//! issues tokens with a chosen lifetime; the report endpoint checks the Bearer token and the body, and answers
//! rows and `propertyQuota`, or a queued fault (Google's JSON errors, a stall, a body that is not JSON).
#![allow(dead_code)]

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to do to the next report request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Google's JSON error with this HTTP status and `error.status`.
    Status(u16, &'static str),
    /// Stall this long before answering normally.
    Stall(Duration),
    /// 200 with a body that is not JSON.
    NotJson,
    /// 200 with a value that is not a number.
    BadValue,
    /// 200 with no `rows` (nobody on the site).
    NoRows,
}

#[derive(Default)]
struct State {
    users: Vec<u64>,
    token_lifetime: u64,
    tokens_issued: u32,
    current_token: Option<String>,
    faults: VecDeque<Fault>,
    reports: Vec<String>,
    /// Claims of every verified assertion.
    claims: Vec<serde_json::Value>,
    /// Token requests refused, with why.
    refused: Vec<String>,
    hourly_remaining: i64,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeGoogle {
    pub url: String,
    pub client_email: String,
    public_key: Arc<Vec<u8>>,
    state: Arc<Mutex<State>>,
}

impl FakeGoogle {
    /// Starts the fake for a service account whose public key (PKCS#1 DER) is given.
    pub async fn start(client_email: &str, public_key_der: Vec<u8>) -> FakeGoogle {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = FakeGoogle {
            url: format!("http://{addr}"),
            client_email: client_email.into(),
            public_key: Arc::new(public_key_der),
            state: Arc::new(Mutex::new(State {
                users: vec![40, 87],
                token_lifetime: 3600,
                hourly_remaining: 39_000,
                ..State::default()
            })),
        };
        super::serve::serve(
            listener,
            fake.clone(),
            |server: FakeGoogle, req| async move { server.handle(req).await },
        );
        fake
    }

    pub fn token_uri(&self) -> String {
        format!("{}/token", self.url)
    }
    pub fn set_users(&self, users: &[u64]) {
        self.state.lock().unwrap().users = users.to_vec();
    }
    pub fn set_token_lifetime(&self, secs: u64) {
        self.state.lock().unwrap().token_lifetime = secs;
    }
    pub fn set_hourly_remaining(&self, n: i64) {
        self.state.lock().unwrap().hourly_remaining = n;
    }
    pub fn fail_next(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push_back(fault);
    }
    pub fn tokens_issued(&self) -> u32 {
        self.state.lock().unwrap().tokens_issued
    }
    pub fn claims(&self) -> Vec<serde_json::Value> {
        self.state.lock().unwrap().claims.clone()
    }
    pub fn refused(&self) -> Vec<String> {
        self.state.lock().unwrap().refused.clone()
    }
    pub fn reports(&self) -> Vec<String> {
        self.state.lock().unwrap().reports.clone()
    }
    /// Revokes the current token (the next report with it gets a 401).
    pub fn revoke(&self) {
        self.state.lock().unwrap().current_token = None;
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body = String::from_utf8_lossy(&body).to_string();
        if path == "/token" {
            return self.token(&body);
        }
        if path.starts_with("/v1beta/properties/") && path.ends_with(":runRealtimeReport") {
            return self.report(auth, body).await;
        }
        json(
            404,
            r#"{"error":{"code":404,"status":"NOT_FOUND","message":"no such path"}}"#.into(),
        )
    }

    fn token(&self, form: &str) -> Response<Full<Bytes>> {
        let field = |k: &str| {
            form.split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .map(|v| v.replace("%3A", ":").replace("%3a", ":"))
        };
        let refuse = |why: String| {
            self.state.lock().unwrap().refused.push(why.clone());
            json(
                400,
                format!(r#"{{"error":"invalid_grant","error_description":"{why}"}}"#),
            )
        };
        if field("grant_type").as_deref() != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
            return refuse("bad grant_type".into());
        }
        let Some(jwt) = field("assertion") else {
            return refuse("no assertion".into());
        };
        let parts: Vec<&str> = jwt.split('.').collect();
        if parts.len() != 3 {
            return refuse("not a JWT".into());
        }
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (Ok(header), Ok(claims), Ok(sig)) = (
            b64.decode(parts[0]),
            b64.decode(parts[1]),
            b64.decode(parts[2]),
        ) else {
            return refuse("not base64url".into());
        };
        let header: serde_json::Value = serde_json::from_slice(&header).unwrap_or_default();
        if header["alg"] != "RS256" || header["typ"] != "JWT" {
            return refuse(format!("bad header {header}"));
        }
        let key = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            self.public_key.as_slice(),
        );
        let signed = format!("{}.{}", parts[0], parts[1]);
        if key.verify(signed.as_bytes(), &sig).is_err() {
            return refuse("bad signature".into());
        }
        let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap_or_default();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap_or(0),
            claims["exp"].as_i64().unwrap_or(0),
        );
        if claims["iss"] != self.client_email.as_str()
            || claims["scope"] != "https://www.googleapis.com/auth/analytics.readonly"
            || claims["aud"] != self.token_uri().as_str()
            || (iat - now).abs() > 60
            || exp <= iat
            || exp > iat + 3600
        {
            return refuse(format!("bad claims {claims}"));
        }
        let mut s = self.state.lock().unwrap();
        s.claims.push(claims);
        s.tokens_issued += 1;
        let token = format!("ya29.test-{}", s.tokens_issued);
        s.current_token = Some(token.clone());
        json(
            200,
            format!(
                r#"{{"access_token":"{token}","expires_in":{},"token_type":"Bearer"}}"#,
                s.token_lifetime
            ),
        )
    }

    async fn report(&self, auth: Option<String>, body: String) -> Response<Full<Bytes>> {
        let fault = {
            let mut s = self.state.lock().unwrap();
            s.reports.push(body.clone());
            let want = s.current_token.as_ref().map(|t| format!("Bearer {t}"));
            if want.is_none() || auth != want {
                return json(
                    401,
                    r#"{"error":{"code":401,"status":"UNAUTHENTICATED","message":"Request had invalid authentication credentials."}}"#.into(),
                );
            }
            s.faults.pop_front()
        };
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if v["metrics"][0]["name"] != "activeUsers" || v["returnPropertyQuota"] != true {
            return json(
                400,
                r#"{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"bad body"}}"#.into(),
            );
        }
        match fault {
            Some(Fault::Status(code, status)) => {
                return json(
                    code,
                    format!(
                        r#"{{"error":{{"code":{code},"status":"{status}","message":"fake {status}"}}}}"#
                    ),
                )
            }
            Some(Fault::Stall(d)) => tokio::time::sleep(d).await,
            Some(Fault::NotJson) => return json(200, "<html>oops</html>".into()),
            Some(Fault::BadValue) => {
                return json(
                    200,
                    r#"{"rows":[{"metricValues":[{"value":"lots"}]}]}"#.into(),
                )
            }
            Some(Fault::NoRows) => {
                return json(
                    200,
                    r#"{"kind":"analyticsData#runRealtimeReport","rowCount":0}"#.into(),
                )
            }
            None => {}
        }
        let s = self.state.lock().unwrap();
        let rows: Vec<String> = s
            .users
            .iter()
            .map(|u| format!(r#"{{"metricValues":[{{"value":"{u}"}}]}}"#))
            .collect();
        json(
            200,
            format!(
                r#"{{"metricHeaders":[{{"name":"activeUsers","type":"TYPE_INTEGER"}}],"rows":[{}],"rowCount":{},
                "propertyQuota":{{"tokensPerDay":{{"consumed":5,"remaining":199000}},"tokensPerHour":{{"consumed":5,"remaining":{}}},
                "tokensPerProjectPerHour":{{"consumed":5,"remaining":13900}}}},"kind":"analyticsData#runRealtimeReport"}}"#,
                rows.join(","),
                rows.len(),
                s.hourly_remaining
            ),
        )
    }
}

fn json(status: u16, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}
