//! The `google_analytics` input against a fake of Google's token endpoint and the GA4 Data API on 127.0.0.1:
//! the JWT is verified by the fake with the test key's public half, tokens are reused and refreshed before
//! expiry, users are summed, and every failure is an error, never zero users.

mod support;

use drainscale::scaler::clock::Tick;
use drainscale::scaler::input::{Conversion, Input, InputError};
use drainscale::scaler::inputs::google_analytics::{GoogleAnalyticsInput, GoogleAnalyticsParams};
use drainscale::scaler::inputs::InputParams;
use drainscale::secret::{Secret, SecretUrl};
use std::time::{Duration, Instant};
use support::fake_google::{FakeGoogle, Fault};

const KEY_JSON: &str = include_str!("fixtures/google/service_account.json");
const PUBLIC_KEY: &[u8] = include_bytes!("fixtures/google/test_public_key.der");

fn key() -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(KEY_JSON).unwrap();
    (
        v["client_email"].as_str().unwrap().to_string(),
        v["private_key"].as_str().unwrap().to_string(),
    )
}

async fn setup(private_key: String) -> (FakeGoogle, GoogleAnalyticsInput) {
    let (email, _) = key();
    let fake = FakeGoogle::start(&email, PUBLIC_KEY.to_vec()).await;
    let mut p = GoogleAnalyticsParams::new("123456789");
    p.client_email = Some(email);
    p.private_key = Some(Secret::new(private_key));
    p.token_uri = Some(SecretUrl::new(fake.token_uri()));
    p.api_url = SecretUrl::new(&fake.url);
    p.timeout = Duration::from_millis(500);
    let input = GoogleAnalyticsInput::new(p, Conversion::PerDyno(100.0)).unwrap();
    (fake, input)
}

/// Ticks a minute apart (past the pacer's interval), so each retrieval calls the API.
struct Ticks(Instant, u64);
impl Ticks {
    fn next(&mut self) -> Tick {
        self.1 += 1;
        Tick {
            mono: self.0 + Duration::from_secs(60 * self.1),
            wall: jiff::Timestamp::now(),
        }
    }
}

#[tokio::test]
async fn users_are_summed_with_a_verified_token_that_is_reused_then_refreshed() {
    let (fake, input) = setup(key().1).await;
    let mut t = Ticks(Instant::now(), 0);
    assert_eq!(input.retrieve(t.next()).await, Ok(127.0));
    assert_eq!(fake.tokens_issued(), 1, "refused: {:?}", fake.refused());
    let claims = &fake.claims()[0];
    assert_eq!(claims["aud"], fake.token_uri().as_str());
    assert_eq!(input.conversion().estimate(127.0, 1), 2);
    fake.set_users(&[5, 6, 7]);
    assert_eq!(input.retrieve(t.next()).await, Ok(18.0));
    assert_eq!(fake.tokens_issued(), 1, "a valid token is reused");
    // A token of 400 s is refreshed a tenth of its life (40 s) before it expires: seven minutes later it is.
    fake.set_token_lifetime(400);
    fake.revoke();
    assert_eq!(
        input.retrieve(t.next()).await,
        Ok(18.0),
        "a 401 gets a fresh token, once"
    );
    assert_eq!(fake.tokens_issued(), 2);
    for _ in 0..6 {
        t.next();
    }
    assert_eq!(input.retrieve(t.next()).await, Ok(18.0));
    assert_eq!(
        fake.tokens_issued(),
        3,
        "refreshed before expiry, without a 401"
    );
    assert!(fake.reports().iter().all(|b| b.contains("activeUsers")));
}

#[tokio::test]
async fn dynosaurs_bar_form_of_the_key_signs_the_same() {
    let (_, pem) = key();
    let (fake, input) = setup(pem.trim_end().replace('\n', "|")).await;
    assert_eq!(
        input.retrieve(Ticks(Instant::now(), 0).next()).await,
        Ok(127.0)
    );
    assert_eq!(fake.tokens_issued(), 1);
}

#[tokio::test]
async fn no_rows_is_zero_users_and_every_failure_is_an_error() {
    let (fake, input) = setup(key().1).await;
    let mut t = Ticks(Instant::now(), 0);
    fake.fail_next(Fault::NoRows);
    assert_eq!(input.retrieve(t.next()).await, Ok(0.0));
    for fault in [
        Fault::Status(403, "PERMISSION_DENIED"),
        Fault::Status(500, "INTERNAL"),
        Fault::Status(503, "UNAVAILABLE"),
        Fault::NotJson,
        Fault::BadValue,
        Fault::Stall(Duration::from_secs(2)),
    ] {
        fake.fail_next(fault.clone());
        let got = input.retrieve(t.next()).await;
        assert!(got.is_err(), "{fault:?} gave {got:?}");
    }
    fake.fail_next(Fault::Status(429, "RESOURCE_EXHAUSTED"));
    let got = input.retrieve(t.next()).await;
    assert!(
        matches!(&got, Err(InputError::Unavailable(m)) if m.contains("RESOURCE_EXHAUSTED") || m.contains("429")),
        "{got:?}"
    );
    // Backing off after the 429: no call, still an error, never zero.
    let before = fake.reports().len();
    let again = input
        .retrieve(Tick {
            mono: t.0 + Duration::from_secs(60 * t.1 + 1),
            wall: jiff::Timestamp::now(),
        })
        .await;
    assert!(again.is_err(), "{again:?}");
    assert_eq!(fake.reports().len(), before, "no call while backing off");
}

#[tokio::test]
async fn a_refused_service_account_is_an_auth_error_without_the_key() {
    let (email, pem) = key();
    let fake = FakeGoogle::start(
        "someone-else@example.iam.gserviceaccount.com",
        PUBLIC_KEY.to_vec(),
    )
    .await;
    let mut p = GoogleAnalyticsParams::new("123456789");
    p.client_email = Some(email);
    p.private_key = Some(Secret::new(pem.clone()));
    p.token_uri = Some(SecretUrl::new(fake.token_uri()));
    p.api_url = SecretUrl::new(&fake.url);
    let input = GoogleAnalyticsInput::new(p, Conversion::PerDyno(100.0)).unwrap();
    let got = input.retrieve(Ticks(Instant::now(), 0).next()).await;
    let Err(InputError::Unavailable(msg)) = got else {
        panic!("{got:?}")
    };
    assert!(
        !msg.contains("PRIVATE KEY") && !msg.contains(&pem[40..80]),
        "{msg}"
    );
    assert_eq!(fake.refused().len(), 1);
    assert!(fake.reports().is_empty());
}

#[test]
fn the_registry_and_dynosaurs_layout_know_it() {
    let yaml = "property_id: 123456789\nkey_file: tests/fixtures/google/service_account.json\n";
    let params =
        InputParams::parse("google_analytics", serde_yaml_ng::from_str(yaml).unwrap()).unwrap();
    assert!(params.describe().contains("123456789"));
    assert_eq!(
        params.default_conversion(),
        Some(Conversion::PerDyno(100.0))
    );
    let ua = InputParams::parse(
        "google_analytics",
        serde_yaml_ng::from_str("property_id: ga:1234\nkey_file: x.json").unwrap(),
    );
    assert!(ua.unwrap_err().contains("GA4"));
}
