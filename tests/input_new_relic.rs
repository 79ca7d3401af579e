//! The `new_relic` input against a fake of New Relic's NerdGraph and REST v2 APIs on 127.0.0.1: each mode reads
//! the fake's figure with the right key header, body and query; every failure is an error, never zero requests;
//! a 429's Retry-After holds every request back until it has passed.

mod support;

use drainscale::config::{load_str, Layout};
use drainscale::scaler::clock::Tick;
use drainscale::scaler::input::{Conversion, Input, InputError};
use drainscale::scaler::inputs::new_relic::{
    default_nrql, NewRelicInput, NewRelicParams, Region, EU_API_URL,
};
use drainscale::scaler::inputs::InputParams;
use drainscale::secret::SecretUrl;
use std::time::{Duration, Instant};
use support::fake_new_relic::{FakeNewRelic, Fault};

const KEY: &str = "NRAK-TESTKEY0123456789ABCDEFGH";
const ACCOUNT: u64 = 1234567;
const APP_ID: u64 = 98765;

async fn fake() -> FakeNewRelic {
    FakeNewRelic::start(KEY, ACCOUNT, &default_nrql("Bob's shop"), APP_ID).await
}

fn nerdgraph(fake: &FakeNewRelic, key: &str) -> NewRelicInput {
    let mut p = NewRelicParams::new(key, ACCOUNT, "Bob's shop");
    p.api_url = Some(SecretUrl::new(&fake.url));
    p.timeout = Duration::from_millis(500);
    NewRelicInput::new(p, Conversion::PerDyno(150.0)).unwrap()
}

fn rest(fake: &FakeNewRelic, key: &str) -> NewRelicInput {
    let mut p = NewRelicParams::rest(key, APP_ID);
    p.api_url = Some(SecretUrl::new(&fake.url));
    p.timeout = Duration::from_millis(500);
    NewRelicInput::new(p, Conversion::PerDyno(150.0)).unwrap()
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

#[tokio::test]
async fn nerdgraph_reads_the_apps_rate_with_the_user_key_and_nrql_as_variables() {
    let fake = fake().await;
    let input = nerdgraph(&fake, KEY);
    let mut t = Ticks::new();
    assert_eq!(
        input.retrieve(t.next()).await,
        Ok(1234.5),
        "refused: {:?}",
        fake.refused()
    );
    assert_eq!(input.unit(), "rpm");
    assert_eq!(input.conversion().estimate(1234.5, 1), 9);
    fake.set_rpm("0");
    assert_eq!(
        input.retrieve(t.next()).await,
        Ok(0.0),
        "a row with 0 is no traffic"
    );
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/graphql");
    assert_eq!(reqs[0].api_key.as_deref(), Some(KEY));
    let body: serde_json::Value = serde_json::from_str(&reqs[0].body).unwrap();
    assert_eq!(body["variables"]["id"], ACCOUNT);
    assert_eq!(
        body["variables"]["nrql"],
        "SELECT rate(count(*), 1 minute) FROM Transaction WHERE appName = 'Bob\\'s shop' SINCE 5 minutes ago"
    );
    assert!(fake.refused().is_empty(), "{:?}", fake.refused());
}

#[tokio::test]
async fn any_nrql_returning_one_number_drives_the_input() {
    let nrql =
        "SELECT average(duration) * 1000 FROM Transaction WHERE appName = \"x\" SINCE 1 minute ago";
    let fake = FakeNewRelic::start(KEY, ACCOUNT, nrql, APP_ID).await;
    let mut p: NewRelicParams = serde_yaml_ng::from_str(&format!(
        "api_key: {KEY}\naccount_id: {ACCOUNT}\nnrql: '{nrql}'\napi_url: {}\n",
        fake.url
    ))
    .unwrap();
    p.timeout = Duration::from_millis(500);
    let input = NewRelicInput::new(p, Conversion::PerDyno(150.0)).unwrap();
    fake.set_rpm("87");
    assert_eq!(input.retrieve(Ticks::new().next()).await, Ok(87.0));
    assert_eq!(input.unit(), "value");
}

#[tokio::test]
async fn rest_v2_reads_http_dispatcher_over_ten_minutes() {
    let fake = fake().await;
    let input = rest(&fake, KEY);
    fake.set_rpm("12.3");
    assert_eq!(
        input.retrieve(Ticks::new().next()).await,
        Ok(12.3),
        "refused: {:?}",
        fake.refused()
    );
    let reqs = fake.requests();
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(
        reqs[0].path,
        format!("/v2/applications/{APP_ID}/metrics/data.json")
    );
    assert_eq!(reqs[0].api_key.as_deref(), Some(KEY));
    let names: Vec<&str> = reqs[0].query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["names[]", "values[]", "from", "to", "summarize"]);
    assert!(fake.refused().is_empty(), "{:?}", fake.refused());

    // A configured window is the span asked for.
    let mut p = NewRelicParams::rest(KEY, APP_ID);
    p.api_url = Some(SecretUrl::new(&fake.url));
    p.window = Some(Duration::from_secs(300));
    let input = NewRelicInput::new(p, Conversion::PerDyno(150.0)).unwrap();
    fake.set_window(Duration::from_secs(300));
    assert_eq!(input.retrieve(Ticks::new().next()).await, Ok(12.3));
}

/// Each fault is an error, and never a value that would lower a count.
async fn every_fault_is_an_error(input: &NewRelicInput, fake: &FakeNewRelic, faults: &[Fault]) {
    let mut t = Ticks::new();
    for fault in faults {
        fake.fail_next(fault.clone());
        let got = input.retrieve(t.next()).await;
        assert!(got.is_err(), "{fault:?} gave {got:?}");
        // The next request is fine again (a 429 is tested on its own).
        assert_eq!(
            input.retrieve(t.next()).await,
            Ok(1234.5),
            "after {fault:?}"
        );
    }
}

fn common_faults() -> Vec<Fault> {
    vec![
        Fault::Status(401),
        Fault::Status(403),
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(503),
        Fault::Stall(Duration::from_secs(2)),
        Fault::NotJson,
        Fault::Value("\"abc\""),
        Fault::Value("null"),
        Fault::Value("-5"),
        Fault::NoRows,
    ]
}

#[tokio::test]
async fn every_nerdgraph_failure_is_an_error_never_zero() {
    let fake = fake().await;
    let input = nerdgraph(&fake, KEY);
    let mut faults = common_faults();
    faults.push(Fault::GraphErrors);
    every_fault_is_an_error(&input, &fake, &faults).await;
    fake.fail_next(Fault::GraphErrors);
    let got = input.retrieve(Ticks::new().next()).await;
    assert!(
        matches!(&got, Err(InputError::Unavailable(m)) if m.contains("NRQL query timed out")),
        "{got:?}"
    );
    fake.fail_next(Fault::NoRows);
    let got = input.retrieve(Ticks::new().next()).await;
    assert!(
        matches!(&got, Err(InputError::BadValue(m)) if m.contains("no rows")),
        "{got:?}"
    );
}

#[tokio::test]
async fn every_rest_failure_is_an_error_never_zero() {
    let fake = fake().await;
    let input = rest(&fake, KEY);
    fake.set_rpm("1234.5");
    every_fault_is_an_error(&input, &fake, &common_faults()).await;
}

#[tokio::test]
async fn a_refused_key_is_named_without_printing_it() {
    let fake = fake().await;
    let wrong = "NRAK-WRONGKEY999";
    for input in [nerdgraph(&fake, wrong), rest(&fake, wrong)] {
        let got = input.retrieve(Ticks::new().next()).await;
        let Err(InputError::Unavailable(m)) = got else {
            panic!("{got:?}")
        };
        assert!(m.contains("401") && m.contains("user key"), "{m}");
        assert!(!m.contains(wrong) && !m.contains(KEY), "{m}");
    }
    // The fake said why: NerdGraph's errors[].message, REST's error.title.
    let got = nerdgraph(&fake, wrong).retrieve(Ticks::new().next()).await;
    assert!(format!("{got:?}").contains("Invalid API key"), "{got:?}");
    let got = rest(&fake, wrong).retrieve(Ticks::new().next()).await;
    assert!(
        format!("{got:?}").contains("The API key provided is invalid"),
        "{got:?}"
    );
    // An unknown application is a 404 naming the id.
    let mut p = NewRelicParams::rest(KEY, 5);
    p.api_url = Some(SecretUrl::new(&fake.url));
    let got = NewRelicInput::new(p, Conversion::PerDyno(150.0))
        .unwrap()
        .retrieve(Ticks::new().next())
        .await;
    assert!(
        matches!(&got, Err(InputError::Unavailable(m)) if m.contains("404") && m.contains("No Application found")),
        "{got:?}"
    );
}

#[tokio::test]
async fn a_429_holds_requests_back_until_retry_after_has_passed() {
    let fake = fake().await;
    for input in [nerdgraph(&fake, KEY), rest(&fake, KEY)] {
        let mut t = Ticks::new();
        assert_eq!(input.retrieve(t.next()).await, Ok(1234.5));
        fake.fail_next(Fault::RateLimited(120));
        let got = input.retrieve(t.next()).await;
        assert!(
            matches!(&got, Err(InputError::Unavailable(m)) if m.contains("429") && m.contains("120s")),
            "{got:?}"
        );
        let sent = fake.requests().len();
        // 119 s later (synthetic clock): no request, still an error, never zero.
        for secs in [1, 60, 119] {
            let got = input.retrieve(t.at(Duration::from_secs(secs))).await;
            assert!(
                matches!(&got, Err(InputError::Unavailable(m)) if m.contains("429")),
                "{got:?}"
            );
        }
        assert_eq!(fake.requests().len(), sent, "no request while waiting");
        // Once it has passed, the next retrieval asks again.
        assert_eq!(
            input.retrieve(t.at(Duration::from_secs(120))).await,
            Ok(1234.5)
        );
        assert_eq!(fake.requests().len(), sent + 1);
    }
}

#[test]
fn the_eu_region_is_chosen_by_region_and_overridden_by_api_url() {
    let mut p = NewRelicParams::new(KEY, ACCOUNT, "shop");
    p.region = Region::Eu;
    assert_eq!(p.base_url().expose(), EU_API_URL);
    let input = NewRelicInput::new(p.clone(), Conversion::PerDyno(150.0)).unwrap();
    assert_eq!(
        input.request_url(jiff::Timestamp::now()).expose(),
        "https://api.eu.newrelic.com/graphql"
    );
    let params = InputParams::parse(
        "new_relic",
        serde_yaml_ng::from_str(&format!(
            "api_key: {KEY}\naccount_id: {ACCOUNT}\napp_name: shop\nregion: eu\n"
        ))
        .unwrap(),
    )
    .unwrap();
    let d = params.describe();
    assert!(d.contains("api.eu.newrelic.com") && !d.contains(KEY), "{d}");
    assert_eq!(
        params.default_conversion(),
        Some(Conversion::PerDyno(150.0))
    );
    assert_eq!(params.default_interval(), Duration::from_secs(60));
}

const DYNOSAUR: &str = r#"
scaler:
    heroku_app_name: my-heroku-app
    heroku_api_key: <%= ENV['HEROKU_API_KEY'] %>
    dry_run: true

controller_plugins:
    -
        name: dynos
        type: Dynosaur::Controllers::DynosControllerPlugin
        min_resource: 2
        max_resource: 15
        input_plugins:
            -
                name: newrelic
                type: Dynosaur::Inputs::NewRelicInputPlugin
                key: <%= ENV['NEW_RELIC_API_KEY'] %>
                app_id: 98765
                hysteresis_period: 120
"#;

#[test]
fn dynosaurs_new_relic_plugins_map_to_the_rest_mode() {
    let env = |name: &str| (name == "NEW_RELIC_API_KEY").then(|| KEY.to_string());
    let loaded = load_str(DYNOSAUR, "dynosaur.yaml", &env).unwrap();
    assert_eq!(loaded.layout, Layout::Dynosaur);
    let nr = &loaded.config.controllers[0].inputs[0];
    assert_eq!(nr.kind(), "new_relic");
    assert_eq!(nr.conversion, Conversion::PerDyno(150.0));
    assert_eq!(nr.hysteresis_period, Duration::from_secs(120));
    let p = nr.params.get::<NewRelicParams>().unwrap();
    assert_eq!((p.app_id, p.account_id), (Some(APP_ID), None));
    assert_eq!(p.api_key.expose(), KEY);
    let w = loaded.warnings.join("\n");
    assert!(
        w.contains("NewRelicInputPlugin") && w.contains("2027-07-31") && w.contains("app_name"),
        "{w}"
    );
    assert!(!w.contains(KEY), "{w}");

    // The older class, with `appid` and `rpm_per_dyno`.
    let older = DYNOSAUR
        .replace("NewRelicInputPlugin", "NewRelicPlugin")
        .replace(
            "app_id: 98765",
            "appid: 98765\n                rpm_per_dyno: 200",
        );
    let loaded = load_str(&older, "dynosaur.yaml", &env).unwrap();
    let nr = &loaded.config.controllers[0].inputs[0];
    assert_eq!(nr.kind(), "new_relic");
    assert_eq!(nr.conversion, Conversion::PerDyno(200.0));

    // An unset key: the input cannot run, and with no other input the file says why.
    let e = load_str(DYNOSAUR, "dynosaur.yaml", &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("NewRelicInputPlugin") && e.contains("`key`"),
        "{e}"
    );
    // An unknown key is refused by name.
    let e = load_str(
        &DYNOSAUR.replace("app_id: 98765", "app_id: 98765\n                metric: x"),
        "dynosaur.yaml",
        &env,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown field `metric`"), "{e}");
}
