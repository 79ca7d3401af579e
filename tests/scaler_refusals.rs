//! A formation write Heroku refuses (422: more dynos than the account may run) against the fake Platform API
//! on a real socket: the same count is not sent again until the count asked for changes or
//! `scaler.heroku.refusal_backoff` passes, `/status` keeps showing the refusal, and the error handlers hear
//! of it once. Assertions count the PATCH requests the fake received.

#[path = "support/built.rs"]
mod built;
#[path = "support/fake_heroku.rs"]
mod fake_heroku;
#[path = "support/receiver.rs"]
mod receiver;
#[path = "support/serve.rs"]
mod serve;

use drainscale::config::load_str;
use drainscale::drain::StatusPage;
use drainscale::scaler::backend::heroku::{Heroku, HerokuSettings};
use drainscale::scaler::backend::{Backend, BackendError};
use fake_heroku::{FakeHeroku, MAX_QUANTITY};
use receiver::{Mode, Receiver};

use std::time::Duration;

fn client(fake: &FakeHeroku, refusal_backoff: Duration) -> Heroku {
    let mut s = HerokuSettings::new(&fake.url, &fake.app, &fake.token);
    s.backoff_base = Duration::from_millis(10);
    s.refusal_backoff = refusal_backoff;
    Heroku::new(s).unwrap()
}

#[tokio::test]
async fn a_refused_count_is_not_sent_again_until_the_count_changes() {
    let fake = FakeHeroku::start("shop", "t", &[("web", 2)]).await;
    let heroku = client(&fake, Duration::from_secs(3600));
    let over = MAX_QUANTITY + 50;

    let first = heroku.set("web", over).await.unwrap_err();
    assert!(
        matches!(&first, BackendError::Api { status: 422, .. }),
        "{first:?}"
    );
    assert_eq!(fake.count("PATCH"), 1);
    // Asked again for the same count: answered from memory, no request at all (not even the GET before it).
    let gets = fake.count("GET");
    for _ in 0..3 {
        let again = heroku.set("web", over).await.unwrap_err();
        assert!(matches!(again, BackendError::Refused { .. }), "{again:?}");
        // It reads as the refusal itself.
        assert_eq!(again.to_string(), first.to_string());
    }
    assert_eq!((fake.count("PATCH"), fake.count("GET")), (1, gets));

    // Another count is another question: sent at once (and refused too).
    assert!(heroku.set("web", over + 1).await.is_err());
    assert_eq!(fake.count("PATCH"), 2);
    // A count Heroku accepts goes through, and the refusal of another count no longer holds.
    assert_eq!(heroku.set("web", 50).await, Ok(50));
    assert_eq!(fake.count("PATCH"), 3);
    assert!(matches!(
        heroku.set("web", over + 1).await,
        Err(BackendError::Api { status: 422, .. })
    ));
    assert_eq!(fake.count("PATCH"), 4);
    assert_eq!(fake.writes(), [("web".to_string(), 50)]);
}

#[tokio::test]
async fn after_the_backoff_the_same_count_is_asked_for_again() {
    let fake = FakeHeroku::start("shop", "t", &[("web", 2)]).await;
    // A zero backoff has always passed.
    let heroku = client(&fake, Duration::ZERO);
    for n in 1..=3 {
        let e = heroku.set("web", MAX_QUANTITY + 1).await.unwrap_err();
        assert!(matches!(e, BackendError::Api { status: 422, .. }), "{e:?}");
        assert_eq!(fake.count("PATCH"), n);
    }
}

fn config(fake: &FakeHeroku, hook: &str, heroku: &str) -> String {
    format!(
        "scaler:\n  app: shop\n  api_key: {}\n  api_url: {}\n  interval: 20ms\n  stats: {{console: false, outlets: false}}\n  heroku: {{cache_ttl: 0s, max_attempts: 1{heroku}}}\n  error_handlers:\n    - {{type: webhook, url: '{hook}/hook', repeat_after: 0s}}\ncontrollers:\n  - name: web\n    min: {}\n    max: {}\n    inputs:\n      - {{name: wave, type: sine, interval: 20ms}}\n",
        fake.token,
        fake.url,
        MAX_QUANTITY + 50,
        MAX_QUANTITY + 60,
    )
}

#[tokio::test]
async fn passes_hold_a_refused_count_and_report_it_once() {
    let fake = FakeHeroku::start("shop", "tok", &[("web", 2)]).await;
    let rx = Receiver::start(Mode::Ok).await;
    let loaded = load_str(&config(&fake, &rx.url, ""), "t.yaml", &|_| None).unwrap();
    let mut scaler = built::scaler(&loaded, None);
    let status = scaler.status();
    let handlers = scaler.error_handlers().unwrap();
    for _ in 0..4 {
        let reports = scaler.pass_once().await;
        // Every pass still shows the refusal (in its report and on /status).
        let error = reports[0].error.clone().unwrap_or_default();
        assert!(error.contains("HTTP 422"), "{error}");
        let page = status.status();
        let shown = page["controllers"][0]["error"].as_str().unwrap_or_default();
        assert!(shown.contains("Cannot update to more than"), "{page}");
    }
    assert_eq!(fake.count("PATCH"), 1);
    assert_eq!(fake.quantity("web"), Some(2));

    // The lane sends in order: once a later event arrived, every earlier one did.
    handlers.pass_failed("web", "sentinel", jiff::Timestamp::now());
    let got = rx
        .wait_until("the sentinel", |r| {
            r.iter().any(|e| e.body["message"] == "sentinel")
        })
        .await;
    let refusals: Vec<_> = got
        .iter()
        .filter(|e| e.body["kind"] == "pass_error")
        .collect();
    assert_eq!(refusals.len(), 1, "{got:?}");
    assert!(refusals[0].body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("HTTP 422"));
}

#[tokio::test]
async fn refusal_backoff_is_read_from_the_config() {
    let fake = FakeHeroku::start("shop", "tok", &[("web", 2)]).await;
    let rx = Receiver::start(Mode::Ok).await;
    let text = config(&fake, &rx.url, ", refusal_backoff: 0s");
    let loaded = load_str(&text, "t.yaml", &|_| None).unwrap();
    assert_eq!(loaded.config.scaler.heroku.refusal_backoff, Duration::ZERO);
    let mut scaler = built::scaler(&loaded, None);
    for _ in 0..3 {
        scaler.pass_once().await;
    }
    assert_eq!(fake.count("PATCH"), 3);
    let default = load_str(&config(&fake, &rx.url, ""), "t.yaml", &|_| None).unwrap();
    assert_eq!(
        default.config.scaler.heroku.refusal_backoff,
        Duration::from_secs(3600)
    );
}
