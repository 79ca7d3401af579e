//! Success handlers against a fake Cronut (a real HTTP server that decrypts check-ins with the job's private
//! key, as Cronut does): a check-in only after clean passes, at most once per interval, with the time and the
//! job token sealed inside; refusals are counted, never fatal; bad keys are config errors naming the key.

mod support;

use drainscale::config::load_str;
use drainscale::scaler::success::Switch;
use drainscale::scaler::Scaler;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::fake_cronut::{FakeCronut, PUBLIC_KEY};
use support::fake_heroku::FakeHeroku;

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The scaler a config describes, and its success handlers.
fn built(text: &str) -> (Scaler, Arc<Switch>) {
    let loaded = load_str(text, "t.yaml", &|_| None).unwrap();
    let scaler = support::built::scaler(&loaded, None);
    let switch = scaler.success_handlers().expect("a success handler");
    (scaler, switch)
}

/// The public key as Dynosaur's config writes it: one line, `|` for newlines.
fn piped_key() -> String {
    PUBLIC_KEY.trim().replace('\n', "|")
}

fn config(heroku: &FakeHeroku, cronut: &FakeCronut, process: &str, api_token: &str) -> String {
    format!(
        "scaler:\n  app: shop\n  api_key: tok\n  api_url: {heroku}\n  interval: 20ms\n  stats: {{console: false}}\n  \
         success_handlers:\n    - type: cronut\n      host: {cronut}\n      public_key: \"{key}\"\n      \
         cronut_token: ABCDEFG123\n      api_token: {api_token}\n      interval: 1h\n\
         controllers:\n  - name: web\n    process: {process}\n    max: 3\n    inputs:\n      - {{name: wave, type: sine, interval: 20ms}}\n",
        heroku = heroku.url,
        cronut = cronut.url,
        key = piped_key(),
    )
}

#[tokio::test]
async fn cronut_hears_one_sealed_check_in_per_interval_after_clean_passes_only() {
    let heroku = FakeHeroku::start("shop", "tok", &[("web", 1)]).await;
    let cronut = FakeCronut::start("api-secret", "ABCDEFG123").await;

    // `clock` is not in the formation: every pass fails with Heroku's 404, so no check-in.
    let (mut scaler, switch) = built(&config(&heroku, &cronut, "clock", "api-secret"));
    for _ in 0..5 {
        let reports = scaler.pass_once().await;
        assert!(reports.iter().all(|r| r.error.is_some()));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(cronut.check_ins().is_empty() && cronut.refused().is_empty());
    assert_eq!(switch.stats()[0].sent, 0);

    // Clean passes: exactly one check-in within the hour, carrying the pass's time.
    let (mut scaler, switch) = built(&config(&heroku, &cronut, "web", "api-secret"));
    let before = jiff::Timestamp::now().as_second();
    for _ in 0..10 {
        scaler.pass_once().await;
    }
    wait_for("the check-in", || switch.stats()[0].sent == 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let check_ins = cronut.check_ins();
    assert_eq!(check_ins.len(), 1, "{:?}", cronut.refused());
    assert!(check_ins[0] >= before && check_ins[0] <= jiff::Timestamp::now().as_second());
    assert_eq!(switch.stats()[0].failed, 0);
    assert!(switch.stats()[0]
        .handler
        .starts_with("cronut http://127.0.0.1:"));
}

#[tokio::test]
async fn refused_check_ins_are_counted_and_the_scaler_goes_on() {
    let heroku = FakeHeroku::start("shop", "tok", &[("web", 1)]).await;
    let cronut = FakeCronut::start("api-secret", "ABCDEFG123").await;
    // A wrong API token: Cronut answers 403.
    let loaded = load_str(&config(&heroku, &cronut, "web", "wrong"), "t.yaml", &|_| {
        None
    })
    .unwrap();
    let mut scaler = support::built::scaler(&loaded, None);
    let switch = scaler.success_handlers().unwrap();
    scaler.pass_once().await;
    wait_for("the refusal", || switch.stats()[0].failed == 1).await;
    assert_eq!(cronut.refused()[0].0, 403);
    // The next passes run as usual and do not hammer Cronut (a failure waits before the next try).
    for _ in 0..5 {
        let reports = scaler.pass_once().await;
        assert!(reports.iter().all(|r| r.error.is_none()));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(cronut.refused().len(), 1);

    // A 5xx is a failure too, and a fresh scaler with the right token checks in.
    cronut.fail_next(503);
    let (mut scaler, switch) = built(&config(&heroku, &cronut, "web", "api-secret"));
    scaler.pass_once().await;
    wait_for("the 503", || switch.stats()[0].failed == 1).await;
    assert!(cronut.check_ins().is_empty());
}

#[test]
fn bad_cronut_entries_are_config_errors_naming_the_key() {
    let entry = |key: &str, host: &str| {
        format!(
            "scaler:\n  app: shop\n  api_key: tok\n  success_handlers:\n    - type: cronut\n      host: {host}\n      \
             public_key: \"{key}\"\n      cronut_token: ABC\n      api_token: t\n\
             controllers:\n  - name: web\n    max: 3\n    inputs:\n      - {{name: wave, type: sine}}\n"
        )
    };
    let good = piped_key();
    let cases = [
        (
            entry("", "https://c.example"),
            "scaler.success_handlers[0].public_key",
            "empty",
        ),
        (
            entry(
                "-----BEGIN RSA PRIVATE KEY-----|abc|-----END RSA PRIVATE KEY-----",
                "https://c.example",
            ),
            "scaler.success_handlers[0].public_key",
            "private key",
        ),
        (
            entry("not a key", "https://c.example"),
            "scaler.success_handlers[0].public_key",
            "PEM",
        ),
        (
            entry(&good, "c.example"),
            "scaler.success_handlers[0].host",
            "http",
        ),
    ];
    for (text, key, words) in cases {
        let e = load_str(&text, "t.yaml", &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(key) && e.contains(words) && e.contains("t.yaml"),
            "{e}"
        );
    }
    let e = load_str(
        &entry(&good, "https://c.example").replace(
            "      api_token: t\n",
            "      api_token: t\n      colour: red\n",
        ),
        "t.yaml",
        &|_| None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("colour"), "{e}");
    // A good entry loads, and `check` describes it without a token.
    let loaded = load_str(&entry(&good, "https://c.example/"), "t.yaml", &|_| None).unwrap();
    let plan = drainscale::config::plan::render(&loaded);
    assert!(
        plan.contains("success handler: cronut POST https://c.example/ping/"),
        "{plan}"
    );
    assert!(!plan.contains("ABC") && !plan.contains("BEGIN"), "{plan}");
    // A host with a credential in it is shown masked, by `check` and in the handler's name.
    let loaded = load_str(
        &entry(&good, "https://cronut:pw-s3cret@c.example/jobs/"),
        "t.yaml",
        &|_| None,
    )
    .unwrap();
    let plan = drainscale::config::plan::render(&loaded);
    assert!(
        plan.contains("success handler: cronut POST https://***@c.example/***/ping/"),
        "{plan}"
    );
    assert!(
        !plan.contains("pw-s3cret") && !plan.contains("jobs"),
        "{plan}"
    );
    let handler = loaded.config.scaler.success_handlers[0].build().unwrap();
    assert_eq!(handler.name(), "cronut https://***@c.example/***");
}
