//! The Heroku backend against a fake Platform API on a real socket: headers, caching, no write when nothing
//! changes, Heroku's errors reported with their id and message, and API faults (429, 503, stalls) that never
//! produce a wrong or repeated write.

mod support;

use drainscale::scaler::backend::heroku::{Heroku, HerokuSettings};
use drainscale::scaler::backend::{Backend, BackendError};
use std::time::Duration;
use support::fake_heroku::{FakeHeroku, Fault};

fn client(fake: &FakeHeroku) -> Heroku {
    let mut s = HerokuSettings::new(&fake.url, &fake.app, &fake.token);
    s.timeout = Duration::from_secs(2);
    s.backoff_base = Duration::from_millis(20);
    s.backoff_max = Duration::from_millis(200);
    Heroku::new(s).unwrap()
}

#[tokio::test]
async fn reads_and_writes_the_formation_with_the_right_headers() {
    let fake = FakeHeroku::start("shop", "tok-123", &[("web", 2), ("worker", 1)]).await;
    let heroku = client(&fake);
    assert_eq!(heroku.current("web").await, Ok(2));
    assert_eq!(heroku.set("web", 5).await, Ok(5));
    assert_eq!(fake.quantity("web"), Some(5));
    assert_eq!(fake.quantity("worker"), Some(1));
    let log = fake.log();
    // GET (current), GET (refresh before the write), PATCH; all accepted (the fake checks Accept and Bearer).
    assert_eq!(
        log.iter()
            .map(|s| (s.method.as_str(), s.status))
            .collect::<Vec<_>>(),
        [("GET", 200), ("GET", 200), ("PATCH", 200)]
    );
    assert_eq!(log[2].path, "/apps/shop/formation/web");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&log[2].body).unwrap(),
        serde_json::json!({"quantity": 5})
    );
}

#[tokio::test]
async fn reads_are_cached_and_refreshed_before_a_write() {
    let fake = FakeHeroku::start("shop", "t", &[("web", 2)]).await;
    let heroku = client(&fake);
    assert_eq!(heroku.current("web").await, Ok(2));
    // Someone scales by hand: the cache still answers 2 ...
    fake.set_quantity("web", 4);
    assert_eq!(heroku.current("web").await, Ok(2));
    assert_eq!(fake.count("GET"), 1);
    // ... but a write re-reads first, and writes nothing when the formation already matches.
    assert_eq!(heroku.set("web", 4).await, Ok(4));
    assert_eq!(fake.count("PATCH"), 0);
    assert_eq!(heroku.current("web").await, Ok(4));
}

#[tokio::test]
async fn errors_carry_herokus_id_and_message_and_are_not_retried() {
    let fake = FakeHeroku::start("shop", "right", &[("web", 2)]).await;
    let mut s = HerokuSettings::new(&fake.url, "shop", "wrong");
    s.backoff_base = Duration::from_millis(10);
    let heroku = Heroku::new(s).unwrap();
    match heroku.set("web", 3).await {
        Err(BackendError::Api {
            status: 401,
            id,
            message,
            ..
        }) => {
            assert_eq!(id, "unauthorized");
            assert_eq!(message, "Invalid credentials provided.");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((fake.count("GET"), fake.count("PATCH")), (1, 0));

    let heroku = client(&fake);
    match heroku.current("clock").await {
        Err(BackendError::Api {
            status: 404,
            id,
            message,
            path,
            ..
        }) => {
            assert_eq!(
                (id.as_str(), message.as_str()),
                ("not_found", "Couldn't find that formation.")
            );
            assert_eq!(path, "/apps/shop/formation/clock");
        }
        other => panic!("{other:?}"),
    }
    // 422 on the write: reported, not retried, nothing written.
    let e = heroku.set("web", 500).await.unwrap_err();
    assert!(
        matches!(&e, BackendError::Api { status: 422, id, .. } if id == "invalid_params"),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("Cannot update to more than 100 dynos"),
        "{e}"
    );
    assert_eq!(fake.count("PATCH"), 1);
    assert_eq!(fake.quantity("web"), Some(2));
}

#[tokio::test]
async fn rate_limited_writes_wait_and_land_once() {
    let fake = FakeHeroku::start("shop", "t", &[("web", 2)]).await;
    let heroku = client(&fake);
    fake.fail_next(Some("PATCH"), Fault::RateLimited { retry_after: 0 });
    fake.fail_next(Some("PATCH"), Fault::RateLimited { retry_after: 0 });
    assert_eq!(heroku.set("web", 6).await, Ok(6));
    assert_eq!(fake.writes(), [("web".to_string(), 6)]);
    let patches: Vec<u16> = fake
        .log()
        .iter()
        .filter(|s| s.method == "PATCH")
        .map(|s| s.status)
        .collect();
    assert_eq!(patches, [429, 429, 200]);
}

#[tokio::test]
async fn a_write_that_landed_behind_a_503_is_not_sent_again() {
    let fake = FakeHeroku::start("shop", "t", &[("web", 2)]).await;
    let heroku = client(&fake);
    fake.fail_next(Some("PATCH"), Fault::ApplyThen503);
    assert_eq!(heroku.set("web", 7).await, Ok(7));
    assert_eq!(fake.writes(), [("web".to_string(), 7)]);
    assert_eq!(fake.count("PATCH"), 1);
}

#[tokio::test]
async fn a_write_that_landed_behind_a_timeout_is_not_sent_again() {
    let fake = FakeHeroku::start("shop", "t", &[("web", 2)]).await;
    let mut s = HerokuSettings::new(&fake.url, "shop", "t");
    s.timeout = Duration::from_secs(1);
    s.backoff_base = Duration::from_millis(10);
    let heroku = Heroku::new(s).unwrap();
    fake.fail_next(Some("PATCH"), Fault::ApplyThenStall(Duration::from_secs(5)));
    assert_eq!(heroku.set("web", 8).await, Ok(8));
    assert_eq!(fake.writes(), [("web".to_string(), 8)]);
}

#[tokio::test]
async fn slow_and_failing_reads_are_retried_within_a_budget() {
    let fake = FakeHeroku::start("shop", "t", &[("web", 3)]).await;
    let mut s = HerokuSettings::new(&fake.url, "shop", "t");
    s.timeout = Duration::from_secs(1);
    s.backoff_base = Duration::from_millis(10);
    s.max_attempts = 3;
    let heroku = Heroku::new(s).unwrap();
    fake.fail_next(Some("GET"), Fault::Stall(Duration::from_secs(5)));
    fake.fail_next(
        Some("GET"),
        Fault::Status {
            status: 503,
            id: "unavailable",
            message: "Service unavailable",
        },
    );
    assert_eq!(heroku.current("web").await, Ok(3));

    // Past the budget: a clear error, and no write was attempted.
    for _ in 0..3 {
        fake.fail_next(
            Some("GET"),
            Fault::Status {
                status: 503,
                id: "unavailable",
                message: "down",
            },
        );
    }
    match heroku.set("web", 9).await {
        Err(BackendError::Exhausted {
            method: "GET",
            attempts: 3,
            last,
            ..
        }) => assert!(last.contains("503"), "{last}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.count("PATCH"), 0);
    assert_eq!(fake.quantity("web"), Some(3));
}

#[tokio::test]
async fn persistent_write_failures_give_up_without_a_wrong_write() {
    let fake = FakeHeroku::start("shop", "t", &[("web", 2)]).await;
    let mut s = HerokuSettings::new(&fake.url, "shop", "t");
    s.backoff_base = Duration::from_millis(10);
    s.max_attempts = 3;
    let heroku = Heroku::new(s).unwrap();
    for _ in 0..3 {
        fake.fail_next(
            Some("PATCH"),
            Fault::Status {
                status: 503,
                id: "unavailable",
                message: "down",
            },
        );
    }
    let e = heroku.set("web", 4).await.unwrap_err();
    assert!(
        matches!(
            e,
            BackendError::Exhausted {
                method: "PATCH",
                attempts: 3,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(fake.writes().is_empty());
    assert_eq!(fake.quantity("web"), Some(2));
}

#[tokio::test]
async fn a_low_rate_limit_slows_the_loop() {
    let fake = FakeHeroku::start("shop", "t", &[("web", 2)]).await;
    let heroku = client(&fake);
    heroku.current("web").await.unwrap();
    assert_eq!(heroku.rate_limit_remaining(), Some(4500));
    assert_eq!(heroku.pace(), None);
    fake.set_rate_limit_remaining(25);
    heroku.set("web", 3).await.unwrap();
    assert_eq!(heroku.rate_limit_remaining(), Some(25));
    // 75 requests short of the low-water mark at ~75/min: about a minute.
    assert_eq!(heroku.pace(), Some(Duration::from_secs(60)));
}

#[tokio::test]
async fn a_wrong_accept_header_is_refused_like_heroku_does() {
    // The fake is strict: a raw request without the versioned Accept gets 406.
    let fake = FakeHeroku::start("shop", "t", &[("web", 2)]).await;
    let resp = reqwest::Client::new()
        .get(format!("{}/apps/shop/formation/web", fake.url))
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 406);
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn transport_errors_and_descriptions_never_show_the_url_or_the_token() {
    let port = closed_port().await;
    let url = format!("http://proxy-user:pw-s3cret@127.0.0.1:{port}/tok-path-9f3");
    let mut s = HerokuSettings::new(&url, "shop", "api-t0ken");
    s.max_attempts = 2;
    s.backoff_base = Duration::from_millis(5);
    let heroku = Heroku::new(s).unwrap();
    let e = heroku.current("web").await.unwrap_err();
    let shown = format!("{e} {e:?} {}", heroku.describe());
    assert!(matches!(e, BackendError::Exhausted { .. }), "{e:?}");
    assert!(shown.contains("cannot connect"), "{shown}");
    for secret in ["proxy-user", "pw-s3cret", "tok-path", "api-t0ken"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(
        heroku
            .describe()
            .contains(&format!("http://***@127.0.0.1:{port}/***")),
        "{}",
        heroku.describe()
    );
}
