//! A fake Heroku Platform API for tests: a real hyper HTTP/1 server on 127.0.0.1 (port 0) that behaves like
//! `GET`/`PATCH /apps/{app}/formation/{type}` and `GET`/`PATCH /apps/{app}/addons/{addon}` (plan changes,
//! with 422 for a plan it is told to refuse or does not know): it checks `Accept` and `Authorization: Bearer`, keeps the
//! formation, answers Heroku's JSON errors (401, 404, 406, 422, 429 with `RateLimit-Remaining`, 503) and can
//! be told to fail or stall the next requests. Every request is logged for assertions.
#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to do to the next matching request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status with Heroku's error JSON, without applying anything.
    Status {
        status: u16,
        id: &'static str,
        message: &'static str,
    },
    /// This status with Heroku's error JSON whose message ends with a fresh `Request ID: <uuid>` each time, as
    /// Heroku's 5xx answers read.
    StatusWithRequestId {
        status: u16,
        id: &'static str,
        message: &'static str,
    },
    /// 429 `rate_limit` with `Retry-After: secs`.
    RateLimited { retry_after: u64 },
    /// Apply a PATCH, then answer 503 (the write landed but the client cannot know).
    ApplyThen503,
    /// Apply a PATCH, then stall this long before answering (longer than the client's timeout).
    ApplyThenStall(Duration),
    /// Stall this long, then answer normally.
    Stall(Duration),
}

/// One request as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub body: String,
    pub status: u16,
}

#[derive(Default)]
struct State {
    formation: HashMap<String, u32>,
    faults: VecDeque<(Option<&'static str>, Fault)>,
    log: Vec<Seen>,
    /// Requests as they arrive (method, path), before any stall.
    arrived: Vec<(String, String)>,
    /// Successful writes (PATCHes that changed or set the formation), in order: (type, quantity).
    writes: Vec<(String, u32)>,
    rate_limit_remaining: i64,
    /// Add-on name -> plan name.
    addons: HashMap<String, String>,
    /// Plans a PATCH may not move to, with Heroku's message.
    refused_plans: HashMap<String, &'static str>,
    /// Applied plan changes, in order: (add-on, plan).
    plan_writes: Vec<(String, String)>,
    /// Sizes of process types (default `standard-1X`).
    sizes: HashMap<String, String>,
    /// Request ids handed out by [`Fault::StatusWithRequestId`].
    request_ids: u64,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeHeroku {
    pub url: String,
    pub app: String,
    pub token: String,
    state: Arc<Mutex<State>>,
}

/// The most dynos a PATCH may ask for (beyond: 422, as Heroku does for account limits).
pub const MAX_QUANTITY: u32 = 100;

impl FakeHeroku {
    /// Starts the server with a formation (`[("web", 2)]`).
    pub async fn start(app: &str, token: &str, formation: &[(&str, u32)]) -> FakeHeroku {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            formation: formation.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
            rate_limit_remaining: 4500,
            ..State::default()
        }));
        let fake = FakeHeroku {
            url: format!("http://{addr}"),
            app: app.into(),
            token: token.into(),
            state,
        };
        super::serve::serve(
            listener,
            fake.clone(),
            |server: FakeHeroku, req| async move { server.handle(req).await },
        );
        fake
    }

    /// Queues a fault for the next request (with `method`, or any when `None`).
    pub fn fail_next(&self, method: Option<&'static str>, fault: Fault) {
        self.state.lock().unwrap().faults.push_back((method, fault));
    }

    pub fn set_rate_limit_remaining(&self, n: i64) {
        self.state.lock().unwrap().rate_limit_remaining = n;
    }

    pub fn quantity(&self, process: &str) -> Option<u32> {
        self.state.lock().unwrap().formation.get(process).copied()
    }

    pub fn set_quantity(&self, process: &str, n: u32) {
        self.state
            .lock()
            .unwrap()
            .formation
            .insert(process.into(), n);
    }

    /// Provisions an add-on on a plan.
    pub fn set_addon(&self, addon: &str, plan: &str) {
        self.state
            .lock()
            .unwrap()
            .addons
            .insert(addon.into(), plan.into());
    }

    /// The add-on's plan now.
    pub fn plan(&self, addon: &str) -> Option<String> {
        self.state.lock().unwrap().addons.get(addon).cloned()
    }

    /// Answers 422 to any PATCH asking for this plan (as Heroku does for a plan the account may not have).
    pub fn refuse_plan(&self, plan: &str, message: &'static str) {
        self.state
            .lock()
            .unwrap()
            .refused_plans
            .insert(plan.into(), message);
    }

    /// Applied plan changes.
    pub fn plan_writes(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().plan_writes.clone()
    }

    /// A process type's dyno size now.
    pub fn size(&self, process: &str) -> String {
        self.state
            .lock()
            .unwrap()
            .sizes
            .get(process)
            .cloned()
            .unwrap_or_else(|| "standard-1X".into())
    }

    pub fn log(&self) -> Vec<Seen> {
        self.state.lock().unwrap().log.clone()
    }

    /// Requests with this method that have arrived (answered or not yet).
    pub fn arrived(&self, method: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .arrived
            .iter()
            .filter(|(m, _)| m == method)
            .count()
    }

    /// Requests with this method.
    pub fn count(&self, method: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|s| s.method == method)
            .count()
    }

    /// PATCHes that were applied.
    pub fn writes(&self) -> Vec<(String, u32)> {
        self.state.lock().unwrap().writes.clone()
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let method = req.method().as_str().to_string();
        let path = req.uri().path().to_string();
        let accept = header(&req, "accept");
        let auth = header(&req, "authorization");
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body = String::from_utf8_lossy(&body).into_owned();
        self.state
            .lock()
            .unwrap()
            .arrived
            .push((method.clone(), path.clone()));
        let (status, json, extra, stall) = self.decide(&method, &path, &accept, &auth, &body);
        if let Some(d) = stall {
            tokio::time::sleep(d).await;
        }
        let remaining = {
            let mut st = self.state.lock().unwrap();
            st.log.push(Seen {
                method,
                path,
                body,
                status,
            });
            st.rate_limit_remaining
        };
        let mut resp = Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("RateLimit-Remaining", remaining.to_string());
        for (k, v) in extra {
            resp = resp.header(k, v);
        }
        resp.body(Full::new(Bytes::from(json.to_string()))).unwrap()
    }

    #[allow(clippy::type_complexity)]
    fn decide(
        &self,
        method: &str,
        path: &str,
        accept: &str,
        auth: &str,
        body: &str,
    ) -> (
        u16,
        serde_json::Value,
        Vec<(&'static str, String)>,
        Option<Duration>,
    ) {
        let error = |status: u16, id: &str, message: &str| {
            (
                status,
                serde_json::json!({"id": id, "message": message, "url": "https://devcenter.heroku.com/articles/platform-api-reference"}),
                vec![],
                None,
            )
        };
        let mut st = self.state.lock().unwrap();
        let fault = match st.faults.front() {
            Some((m, _)) if m.is_none_or(|m| m == method) => st.faults.pop_front().map(|(_, f)| f),
            _ => None,
        };
        let mut stall = None;
        match &fault {
            Some(Fault::Status {
                status,
                id,
                message,
            }) => return error(*status, id, message),
            Some(Fault::StatusWithRequestId {
                status,
                id,
                message,
            }) => {
                st.request_ids += 1;
                let n = st.request_ids;
                let message = format!(
                    "{message} Request ID: {:08x}-{:04x}-4e5f-8a6b-{:012x}",
                    n.wrapping_mul(2_654_435_761) as u32,
                    n % 0xffff,
                    n.wrapping_mul(0x9e37_79b9_7f4a)
                );
                return error(*status, id, &message);
            }
            Some(Fault::RateLimited { retry_after }) => {
                let (s, j, _, _) = error(429, "rate_limit", "Your account reached the API rate limit. Please wait a few minutes before making new requests");
                return (s, j, vec![("Retry-After", retry_after.to_string())], None);
            }
            Some(Fault::Stall(d)) => stall = Some(*d),
            _ => {}
        }
        if accept != "application/vnd.heroku+json; version=3" {
            return error(
                406,
                "not_acceptable",
                "Please specify a version along with Heroku's API MIME type.",
            );
        }
        if auth != format!("Bearer {}", self.token) {
            return error(401, "unauthorized", "Invalid credentials provided.");
        }
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        if let ["apps", app, "addons", addon] = parts.as_slice() {
            if *app != self.app {
                return error(404, "not_found", "Couldn't find that app.");
            }
            return Self::addon(&mut st, &self.app, addon, method, body, fault, stall, error);
        }
        let ["apps", app, "formation", process] = parts.as_slice() else {
            return error(
                404,
                "not_found",
                "The requested API endpoint was not found.",
            );
        };
        if *app != self.app {
            return error(404, "not_found", "Couldn't find that app.");
        }
        let Some(&current) = st.formation.get(*process) else {
            return error(404, "not_found", "Couldn't find that formation.");
        };
        let process = process.to_string();
        let size = st
            .sizes
            .get(&process)
            .cloned()
            .unwrap_or_else(|| "standard-1X".into());
        let formation = |n: u32, size: &str| {
            serde_json::json!({
                "app": {"name": self.app, "id": "01234567-89ab-cdef-0123-456789abcdef"},
                "command": "bundle exec puma", "created_at": "2026-01-01T00:00:00Z",
                "id": "01234567-89ab-cdef-0123-456789abcdef", "quantity": n, "size": size,
                "type": process, "updated_at": "2026-01-01T00:00:00Z"
            })
        };
        match method {
            "GET" => (200, formation(current, &size), vec![], stall),
            "PATCH" => {
                let parsed: Option<u32> = serde_json::from_str::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.get("quantity").and_then(|q| q.as_u64()))
                    .and_then(|q| u32::try_from(q).ok());
                let Some(q) = parsed else {
                    return error(
                        422,
                        "invalid_params",
                        "Invalid params: quantity must be an integer.",
                    );
                };
                if q > MAX_QUANTITY {
                    return error(
                        422,
                        "invalid_params",
                        "Cannot update to more than 100 dynos per process type.",
                    );
                }
                let asked_size = serde_json::from_str::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.get("size").and_then(|s| s.as_str()).map(str::to_string));
                let size = match asked_size {
                    Some(s) if KNOWN_SIZES.iter().any(|k| k.eq_ignore_ascii_case(&s)) => {
                        // Heroku answers sizes in its own capitalisation.
                        let canonical = KNOWN_SIZES
                            .iter()
                            .find(|k| k.eq_ignore_ascii_case(&s))
                            .unwrap()
                            .to_string();
                        st.sizes.insert(process.clone(), canonical.clone());
                        canonical
                    }
                    Some(_) => {
                        return error(422, "invalid_params", "No such size as that.");
                    }
                    None => size,
                };
                st.formation.insert(process.clone(), q);
                st.writes.push((process.clone(), q));
                match fault {
                    Some(Fault::ApplyThen503) => {
                        error(503, "unavailable", "Service temporarily unavailable.")
                    }
                    Some(Fault::ApplyThenStall(d)) => (200, formation(q, &size), vec![], Some(d)),
                    _ => (200, formation(q, &size), vec![], stall),
                }
            }
            _ => error(405, "method_not_allowed", "Method not allowed."),
        }
    }
}

/// Sizes the fake accepts, as Heroku writes them.
pub const KNOWN_SIZES: &[&str] = &[
    "eco",
    "basic",
    "standard-1X",
    "standard-2X",
    "performance-M",
    "performance-L",
];

type Answer = (
    u16,
    serde_json::Value,
    Vec<(&'static str, String)>,
    Option<Duration>,
);

impl FakeHeroku {
    #[allow(clippy::too_many_arguments)]
    fn addon(
        st: &mut State,
        app: &str,
        addon: &str,
        method: &str,
        body: &str,
        fault: Option<Fault>,
        stall: Option<Duration>,
        error: impl Fn(u16, &str, &str) -> Answer,
    ) -> Answer {
        let Some(current) = st.addons.get(addon).cloned() else {
            return error(404, "not_found", "Couldn't find that add-on.");
        };
        let doc = |plan: &str| {
            let service = plan.split(':').next().unwrap_or(plan);
            serde_json::json!({
                "id": "01234567-89ab-cdef-0123-456789abcdef", "name": addon,
                "addon_service": {"id": "01234567-89ab-cdef-0123-456789abcdef", "name": service},
                "app": {"id": "01234567-89ab-cdef-0123-456789abcdef", "name": app},
                "plan": {"id": "01234567-89ab-cdef-0123-456789abcdef", "name": plan},
                "state": "provisioned", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
            })
        };
        match method {
            "GET" => (200, doc(&current), vec![], stall),
            "PATCH" => {
                let Some(plan) = serde_json::from_str::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.get("plan").and_then(|p| p.as_str()).map(str::to_string))
                else {
                    return error(422, "invalid_params", "Invalid params: plan is required.");
                };
                let service = current.split(':').next().unwrap_or(&current);
                if !plan.starts_with(&format!("{service}:")) {
                    return error(
                        422,
                        "invalid_params",
                        "Couldn't find either the add-on service or the add-on plan.",
                    );
                }
                if let Some(message) = st.refused_plans.get(&plan) {
                    return error(422, "invalid_params", message);
                }
                st.addons.insert(addon.to_string(), plan.clone());
                st.plan_writes.push((addon.to_string(), plan.clone()));
                match fault {
                    Some(Fault::ApplyThen503) => {
                        error(503, "unavailable", "Service temporarily unavailable.")
                    }
                    _ => (200, doc(&plan), vec![], stall),
                }
            }
            _ => error(405, "method_not_allowed", "Method not allowed."),
        }
    }
}

fn header(req: &Request<Incoming>, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}
