//! The `papertrail` input against a fake of Papertrail's account API on 127.0.0.1: the token header, today's
//! bytes, every failure an error and never 0 bytes, a 429's wait honoured without a request; a plan decision
//! through the real controller against the fake Heroku API (120 MB then 30 MB in the window keeps the plan for
//! 120 MB; after UTC midnight yesterday's peak no longer counts); and Dynosaur's Papertrail plugins mapped.

mod support;

use drainscale::config::load_str;
use drainscale::scaler::backend::addon::AddonPlans;
use drainscale::scaler::backend::heroku::{Heroku, HerokuSettings};
use drainscale::scaler::clock::{Clock, ManualClock, Tick};
use drainscale::scaler::controller::{Controller, InputSlot};
use drainscale::scaler::input::{Conversion, Input, InputError};
use drainscale::scaler::inputs::papertrail::{PapertrailInput, PapertrailParams};
use drainscale::scaler::inputs::InputContext;
use drainscale::scaler::plans::PlanTable;
use drainscale::scaler::policy::Policy;
use drainscale::secret::SecretUrl;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::fake_heroku::FakeHeroku;
use support::fake_papertrail::{FakePapertrail, Fault};

const TOKEN: &str = "pt0123456789abcdefTOKEN";
const MB: f64 = 1024.0 * 1024.0;

fn input(fake: &FakePapertrail, token: &str) -> PapertrailInput {
    let mut p = PapertrailParams::new(token);
    p.api_url = Some(SecretUrl::new(&fake.api_url));
    p.timeout = Duration::from_millis(500);
    PapertrailInput::new(p, Conversion::PerDyno(1.0)).unwrap()
}

/// Ticks a minute apart on a synthetic monotonic clock.
struct Ticks(Instant, u64);
impl Ticks {
    fn new() -> Ticks {
        Ticks(Instant::now(), 0)
    }
    fn next(&mut self) -> Tick {
        self.1 += 1;
        self.at(Duration::ZERO)
    }
    /// The current tick plus `extra`.
    fn at(&self, extra: Duration) -> Tick {
        Tick {
            mono: self.0 + Duration::from_secs(60 * self.1) + extra,
            wall: jiff::Timestamp::now(),
        }
    }
}

fn unavailable(got: Result<f64, InputError>) -> String {
    match got {
        Err(InputError::Unavailable(m)) => m,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn todays_bytes_are_read_with_the_token_header() {
    let fake = FakePapertrail::start(TOKEN).await;
    fake.set_used(125_829_120.0);
    let input = input(&fake, TOKEN);
    let mut t = Ticks::new();
    assert_eq!(input.retrieve(t.next()).await, Ok(125_829_120.0));
    assert_eq!(input.unit(), "bytes");
    fake.set_used(0.0);
    assert_eq!(input.retrieve(t.next()).await, Ok(0.0), "no logs yet today");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/api/v1/accounts");
    assert_eq!(reqs[0].token.as_deref(), Some(TOKEN));
    assert_eq!(reqs[0].accept.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn a_wrong_token_is_refused_and_named_without_showing_it() {
    let fake = FakePapertrail::start(TOKEN).await;
    fake.set_used(5.0 * MB);
    let input = input(&fake, "wrongTOKEN42");
    let m = unavailable(input.retrieve(Ticks::new().next()).await);
    assert!(
        m.contains("refused the token") && m.contains("401") && m.contains("invalid API token"),
        "{m}"
    );
    assert!(!m.contains("wrongTOKEN42"), "{m}");
    assert_eq!(fake.requests()[0].token.as_deref(), Some("wrongTOKEN42"));
}

#[tokio::test]
async fn a_429_holds_every_request_back_until_its_wait_has_passed() {
    let fake = FakePapertrail::start(TOKEN).await;
    fake.set_used(7.0 * MB);
    let input = input(&fake, TOKEN);
    let t = Ticks::new();
    fake.fail_next(Fault::RateLimited {
        retry_after: Some(120),
        reset: Some(3),
    });
    let m = unavailable(input.retrieve(t.at(Duration::ZERO)).await);
    assert!(m.contains("429") && m.contains("120s"), "{m}");
    assert_eq!(fake.requests().len(), 1);
    // During the wait: an error, and no request.
    let m = unavailable(input.retrieve(t.at(Duration::from_secs(60))).await);
    assert!(m.contains("429") && m.contains("60s more"), "{m}");
    assert_eq!(fake.requests().len(), 1);
    // After it: asked again.
    assert_eq!(
        input.retrieve(t.at(Duration::from_secs(121))).await,
        Ok(7.0 * MB)
    );
    assert_eq!(fake.requests().len(), 2);

    // Without Retry-After: X-Rate-Limit-Reset's seconds; with neither: 60 s.
    let t = Ticks::new();
    fake.fail_next(Fault::RateLimited {
        retry_after: None,
        reset: Some(4),
    });
    let m = unavailable(input.retrieve(t.at(Duration::ZERO)).await);
    assert!(m.contains("no request for 4s"), "{m}");
    assert!(input.retrieve(t.at(Duration::from_secs(3))).await.is_err());
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(
        input.retrieve(t.at(Duration::from_secs(4))).await,
        Ok(7.0 * MB)
    );
    let t = Ticks::new();
    fake.fail_next(Fault::RateLimited {
        retry_after: None,
        reset: None,
    });
    let m = unavailable(input.retrieve(t.at(Duration::ZERO)).await);
    assert!(m.contains("no request for 60s"), "{m}");
    assert!(input.retrieve(t.at(Duration::from_secs(59))).await.is_err());
    assert_eq!(fake.requests().len(), 5);
}

#[tokio::test]
async fn papertrails_own_limit_is_met_with_its_reset_header() {
    let fake = FakePapertrail::start(TOKEN).await;
    fake.set_used(1.0);
    // A 100 s window instead of 5 s, so the burst below lands in one window on any machine.
    fake.set_limit_window(Duration::from_secs(100));
    let input = input(&fake, TOKEN);
    let t = Ticks::new();
    for i in 0..25 {
        assert_eq!(
            input.retrieve(t.at(Duration::from_millis(i))).await,
            Ok(1.0)
        );
    }
    // The 26th in the window: 429 with X-Rate-Limit-* and no Retry-After; the reset's seconds are the wait.
    let m = unavailable(input.retrieve(t.at(Duration::from_millis(30))).await);
    assert!(
        m.contains("429") && m.contains("Rate limit exceeded"),
        "{m}"
    );
    let wait: u64 = m
        .split("no request for ")
        .nth(1)
        .and_then(|rest| rest.split('s').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no wait in {m}"));
    assert!((1..=100).contains(&wait), "the reset's seconds: {m}");
    assert!(input
        .retrieve(t.at(Duration::from_millis(530)))
        .await
        .is_err());
    assert_eq!(fake.requests().len(), 26);
}

#[tokio::test]
async fn every_failure_is_unavailable_and_never_zero() {
    let fake = FakePapertrail::start(TOKEN).await;
    fake.set_used(42.0 * MB);
    let input = input(&fake, TOKEN);
    let mut t = Ticks::new();
    let cases: Vec<(Fault, &str)> = vec![
        (Fault::Status(500), "HTTP 500 (fake status 500)"),
        (Fault::Status(503), "HTTP 503"),
        (Fault::Status(403), "refused the token"),
        (Fault::Status(404), "HTTP 404"),
        (Fault::Stall(Duration::from_secs(2)), "Papertrail"),
        (Fault::Body("<html>Service Unavailable</html>"), "not JSON"),
        (
            Fault::Body("<html>Service Unavailable</html>"),
            "Service Unavailable",
        ),
        (
            Fault::Body(r#"{"log_data_transfer_plan_limit":1}"#),
            "no log_data_transfer_used",
        ),
        (Fault::Body(r#"{"log_data_transfer_used":-1}"#), "-1"),
        (
            Fault::Body(r#"{"log_data_transfer_used":"lots"}"#),
            "\"lots\"",
        ),
        (Fault::Body(r#"{"log_data_transfer_used":null}"#), "null"),
        (Fault::Body(""), "not JSON"),
    ];
    for (fault, says) in cases {
        fake.fail_next(fault.clone());
        let m = unavailable(input.retrieve(t.next()).await);
        assert!(m.contains(says), "{fault:?}: {m}");
        assert!(!m.contains(TOKEN), "{m}");
        assert_eq!(
            input.retrieve(t.next()).await,
            Ok(42.0 * MB),
            "after {fault:?}"
        );
    }
    // Nothing listens: an error too.
    let mut p = PapertrailParams::new(TOKEN);
    p.api_url = Some(SecretUrl::new("http://127.0.0.1:9/api/v1"));
    let closed = PapertrailInput::new(p, Conversion::PerDyno(1.0)).unwrap();
    assert!(matches!(
        closed.retrieve(t.next()).await,
        Err(InputError::Unavailable(_))
    ));
}

/// A Papertrail controller as a config writes it (defaults), its input built through the registry and driven
/// by a manual clock, over the fake Heroku API.
fn papertrail_controller(
    heroku: &FakeHeroku,
    papertrail: &FakePapertrail,
    clock: &ManualClock,
) -> Controller {
    let text = format!(
        "scaler: {{app: shop, dry_run: true}}\ncontrollers:\n  - name: logs\n    addon: papertrail\n    inputs:\n      - {{name: volume, type: papertrail, api_token: {TOKEN}, api_url: '{}'}}\n",
        papertrail.api_url
    );
    let loaded = load_str(&text, "t.yaml", &|_| None).unwrap();
    let entry = &loaded.config.controllers[0].inputs[0];
    assert_eq!(entry.kind(), "papertrail");
    assert_eq!(entry.interval, Duration::from_secs(300));
    assert_eq!(entry.hysteresis_period, Duration::from_secs(86_400));
    assert!(
        matches!(&entry.conversion, Conversion::Plan { figure, threshold, .. } if figure == "log_volume" && *threshold == 90.0),
        "{:?}",
        entry.conversion
    );
    let input = entry
        .params
        .build(
            entry.conversion.clone(),
            &InputContext::default(),
            clock.tick(),
        )
        .unwrap();
    let slot = InputSlot::new(
        entry.name.clone(),
        entry.kind(),
        entry.params.describe(),
        input,
        entry.interval,
        entry.hysteresis_period,
        None,
        entry.outage_after,
        clock.tick().mono,
    );
    let mut settings = HerokuSettings::new(&heroku.url, &heroku.app, &heroku.token);
    settings.backoff_base = Duration::from_millis(5);
    settings.cache_ttl = Duration::ZERO;
    let client = Arc::new(Heroku::new(settings).unwrap());
    let table = PlanTable::built_in("papertrail").unwrap();
    let policy = Policy {
        down_cooldown: Duration::ZERO,
        ..Policy::default()
    };
    let last = u32::try_from(table.plans.len() - 1).unwrap();
    Controller::new(
        "logs".into(),
        "papertrail".into(),
        0,
        last,
        vec![],
        policy,
        vec![slot],
        Arc::new(AddonPlans::new(client, table.clone())),
    )
    .with_plans(table)
}

#[tokio::test]
async fn the_plan_follows_the_days_peak_and_starts_again_at_utc_midnight() {
    let heroku = FakeHeroku::start("shop", "tok", &[]).await;
    heroku.set_addon("papertrail", "papertrail:choklad");
    let papertrail = FakePapertrail::start(TOKEN).await;
    let clock = ManualClock::starting_at("2026-12-03T23:40:00Z".parse().unwrap());
    let mut c = papertrail_controller(&heroku, &papertrail, &clock);

    // 120 MB at 90%: ludvig's 100 MB is too small, forsta's 200 MB * 0.9 = 180 MB fits.
    papertrail.set_used(120.0 * MB);
    let r = c.pass(clock.tick()).await;
    assert_eq!(r.error, None, "{r:?}");
    assert_eq!(
        heroku.plan("papertrail").as_deref(),
        Some("papertrail:forsta")
    );
    assert_eq!(r.inputs[0].unit, "bytes");

    // Inside the interval the cached value stands: no request.
    clock.advance(Duration::from_secs(60));
    c.pass(clock.tick()).await;
    assert_eq!(papertrail.requests().len(), 1);

    // 30 MB within the window (fixa's 50 MB would fit): the max is still 120 MB, the plan stays.
    clock.advance(Duration::from_secs(240));
    papertrail.set_used(30.0 * MB);
    let r = c.pass(clock.tick()).await;
    assert_eq!(papertrail.requests().len(), 2);
    assert_eq!(r.inputs[0].value, Some(30.0 * MB));
    assert_eq!(r.inputs[0].max, Some(120.0 * MB));
    assert_eq!(r.label(r.estimate.unwrap()), "papertrail:forsta");
    assert_eq!(
        heroku.plan("papertrail").as_deref(),
        Some("papertrail:forsta")
    );

    // 23:50, still today: the same.
    clock.advance(Duration::from_secs(300));
    let r = c.pass(clock.tick()).await;
    assert_eq!(r.label(r.estimate.unwrap()), "papertrail:forsta");

    // 23:55, then 00:00:00 UTC: Papertrail's volume started again, and so does the window: 30 MB -> fixa.
    clock.advance(Duration::from_secs(300));
    c.pass(clock.tick()).await;
    clock.advance(Duration::from_secs(300));
    assert_eq!(
        clock.tick().wall,
        "2026-12-04T00:00:00Z".parse::<jiff::Timestamp>().unwrap()
    );
    let r = c.pass(clock.tick()).await;
    assert_eq!(r.error, None, "{r:?}");
    assert_eq!(r.inputs[0].max, Some(30.0 * MB));
    assert_eq!(
        heroku.plan("papertrail").as_deref(),
        Some("papertrail:fixa")
    );
    assert_eq!(
        heroku.plan_writes(),
        [
            ("papertrail".to_string(), "papertrail:forsta".to_string()),
            ("papertrail".to_string(), "papertrail:fixa".to_string())
        ]
    );
}

#[tokio::test]
async fn a_failure_after_midnight_keeps_yesterdays_plan() {
    let heroku = FakeHeroku::start("shop", "tok", &[]).await;
    heroku.set_addon("papertrail", "papertrail:choklad");
    let papertrail = FakePapertrail::start(TOKEN).await;
    let clock = ManualClock::starting_at("2026-12-03T23:58:00Z".parse().unwrap());
    let mut c = papertrail_controller(&heroku, &papertrail, &clock);
    papertrail.set_used(120.0 * MB);
    c.pass(clock.tick()).await;
    assert_eq!(
        heroku.plan("papertrail").as_deref(),
        Some("papertrail:forsta")
    );
    // After midnight Papertrail fails: no value of today, so yesterday's stands (a failure is never 0 bytes).
    clock.advance(Duration::from_secs(300));
    papertrail.fail_next(Fault::Status(500));
    let r = c.pass(clock.tick()).await;
    assert!(r.inputs[0].last_error.is_some(), "{r:?}");
    assert_eq!(r.inputs[0].max, Some(120.0 * MB));
    assert_eq!(
        heroku.plan("papertrail").as_deref(),
        Some("papertrail:forsta")
    );
    assert_eq!(heroku.plan_writes().len(), 1);
}

#[test]
fn dynosaurs_sample_maps_the_papertrail_plugin_with_its_threshold() {
    let text = include_str!("fixtures/dynosaur/config.sample.yaml");
    let pem = serde_json::from_str::<serde_json::Value>(include_str!(
        "fixtures/google/service_account.json"
    ))
    .unwrap()["private_key"]
        .as_str()
        .unwrap()
        .to_string();
    let vars = move |name: &str, papertrail: bool| match name {
        "PAPERTRAIL_API_KEY" if papertrail => Some("ptKEY123".to_string()),
        "HEROKU_API_KEY" => Some("hk".to_string()),
        "GOOGLE_CLIENT_EMAIL" => Some("a@b.iam.gserviceaccount.com".to_string()),
        "GA_PRIVATE_KEY" => Some(pem.clone()),
        "GA4_PROPERTY_ID" => Some("987654321".to_string()),
        _ => None,
    };
    let loaded = load_str(text, "config.yml", &|n| vars(n, true)).unwrap();
    let logs = loaded
        .config
        .controllers
        .iter()
        .find(|c| c.name == "papertrail")
        .unwrap();
    let input = &logs.inputs[0];
    assert_eq!(input.kind(), "papertrail");
    assert!(
        matches!(&input.conversion, Conversion::Plan { figure, threshold, .. } if figure == "log_volume" && *threshold == 95.0),
        "{:?}",
        input.conversion
    );
    let p = input.params.get::<PapertrailParams>().unwrap();
    assert_eq!(p.api_token.expose(), "ptKEY123");
    let w = loaded.warnings.join("\n");
    assert!(!w.contains("PapertrailInputPlugin"), "{w}");

    // The key's variable unset: an error naming the key, not a plan controller without input.
    let e = load_str(text, "config.yml", &|n| vars(n, false))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("papertrail_api_key") && e.contains("PapertrailInputPlugin"),
        "{e}"
    );
}

#[test]
fn dynosaurs_random_papertrail_plugin_is_a_random_volume_against_the_plans() {
    let text = "scaler:\n    heroku_app_name: app\n    dry_run: true\ncontroller_plugins:\n    -\n        name: papertrail\n        type: Dynosaur::Controllers::PapertrailControllerPlugin\n        input_plugins:\n            -\n                name: volume\n                type: Dynosaur::Inputs::PapertrailRandomInputPlugin\n                max_percentage_threshold: 80\n";
    let loaded = load_str(text, "config.yml", &|_| None).unwrap();
    let input = &loaded.config.controllers[0].inputs[0];
    assert_eq!(input.kind(), "random");
    assert!(
        matches!(&input.conversion, Conversion::Plan { figure, threshold, .. } if figure == "log_volume" && *threshold == 80.0),
        "{:?}",
        input.conversion
    );
    let p = input
        .params
        .get::<drainscale::scaler::inputs::random::RandomParams>()
        .unwrap();
    assert_eq!((p.min, p.max), (Some(0.0), Some(1024.0 * MB)));
    // Under a dyno controller a plan threshold means nothing: refused.
    let dynos = text.replace(
        "Dynosaur::Controllers::PapertrailControllerPlugin",
        "Dynosaur::Controllers::DynosControllerPlugin",
    );
    let e = load_str(&dynos, "config.yml", &|_| None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("PapertrailControllerPlugin"), "{e}");
}
