//! The drain's other pages over real HTTP: `/healthz`, `/status` and `/ping` from a `StatusPage`, `/metrics`
//! with a `MetricsPage` appended, and who may read them.

#[path = "support/drain.rs"]
mod support;

use drainscale::drain::{AuthConfig, BasicUser, MetricsPage, Pages, StatusPage};
use hyper::{Request, StatusCode};
use std::sync::{Arc, Mutex};
use support::*;

struct Scaler {
    unhealthy: Mutex<Vec<String>>,
}

impl StatusPage for Scaler {
    fn status(&self) -> serde_json::Value {
        serde_json::json!({"controllers": [{"name": "web", "current": 2, "estimate": 3}]})
    }
    fn ping(&self) -> Result<(), Vec<String>> {
        let bad = self.unhealthy.lock().unwrap().clone();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad)
        }
    }
}

struct Windows;

impl MetricsPage for Windows {
    fn render(&self, out: &mut String) {
        out.push_str("# TYPE drainscale_window_requests gauge\ndrainscale_window_requests 42\n");
    }
}

fn get(path: &str) -> hyper::http::request::Builder {
    Request::get(path).header("authorization", basic_header(USER, PASSWORD))
}

#[tokio::test]
async fn healthz_is_open_and_pages_without_a_scaler_are_404() {
    let drain = start(config());
    let a = once(drain.addr, Request::get("/healthz"), "").await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "ok\n"));
    for path in ["/", "/status", "/ping"] {
        let a = once(drain.addr, get(path), "").await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        assert!(a.body.contains("scaler is not running"), "{}", a.body);
    }
    drain.stop().await;
}

#[tokio::test]
async fn status_ping_and_metrics_pages() {
    let scaler = Arc::new(Scaler {
        unhealthy: Mutex::new(vec![]),
    });
    let pages = Pages {
        status: Some(scaler.clone()),
        metrics: Some(Arc::new(Windows)),
    };
    let drain = start_with(config(), pages);

    let a = once(drain.addr, get("/status"), "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers["content-type"], "application/json");
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v["controllers"][0]["estimate"], 3);

    let a = once(drain.addr, get("/ping"), "").await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "OK"));
    *scaler.unhealthy.lock().unwrap() = vec!["drain".into(), "ga4".into()];
    let a = once(drain.addr, get("/ping"), "").await;
    assert_eq!(
        (a.status, a.body.as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, "BAD: [drain, ga4]")
    );

    let m = metrics(drain.addr).await;
    assert_eq!(sample(&m, "drainscale_window_requests"), 42.0);
    assert!(m.contains("# TYPE drainscale_drain_frames_total counter"));

    // This status has no HTML page: `/` is 404, behind the same credentials.
    assert_eq!(
        once(drain.addr, get("/"), "").await.status,
        StatusCode::NOT_FOUND
    );
    for path in ["/", "/status", "/ping", "/metrics"] {
        assert_eq!(
            once(drain.addr, Request::get(path), "").await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    drain.stop().await;
}

#[tokio::test]
async fn status_auth_replaces_the_drain_credentials_for_pages() {
    let mut cfg = config();
    cfg.status_auth = Some(AuthConfig {
        users: vec![BasicUser {
            user: "ops".into(),
            password: "watch".into(),
        }],
        ..AuthConfig::default()
    });
    let scaler = Arc::new(Scaler {
        unhealthy: Mutex::new(vec![]),
    });
    let drain = start_with(
        cfg,
        Pages {
            status: Some(scaler),
            metrics: None,
        },
    );
    let ops = Request::get("/ping").header("authorization", basic_header("ops", "watch"));
    assert_eq!(once(drain.addr, ops, "").await.status, StatusCode::OK);
    assert_eq!(
        once(drain.addr, get("/ping"), "").await.status,
        StatusCode::UNAUTHORIZED
    );
    // The drain's own path keeps the drain's credentials.
    assert_eq!(
        once(drain.addr, logs_post(&[]), router(200)).await.status,
        StatusCode::OK
    );
    let ops_post = Request::post("/logs").header("authorization", basic_header("ops", "watch"));
    assert_eq!(
        once(drain.addr, ops_post, router(200)).await.status,
        StatusCode::UNAUTHORIZED
    );
    drain.stop().await;
}
