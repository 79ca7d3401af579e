//! Dynosaur's own published sample config (`doc/config.sample.yaml` of Dynosaur 0.7, verbatim in
//! `tests/fixtures/dynosaur/`: its GA controller, the commented New Relic and RedisCloud blocks, the Papertrail
//! plan controller, Librato and Console stats, Cronut, Bugsnag, SES and Console handlers, and its ERB forms),
//! with its environment variables set:
//! - `drainscale check --dry-run` accepts it as it is, every plugin mapped to one of drainscale's (no plugin
//!   skipped or unsupported), and shows no secret;
//! - `drainscale run --dry-run` runs it against local fakes of every service it names (Heroku, Google, Papertrail,
//!   Cronut, Bugsnag, an SES-like SMTP relay, a Librato-format receiver), reached through base-URL keys added
//!   to the same text by the explicit line edits below: each service hears what it should, and nothing is
//!   written to Heroku.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use support::binary::Drainscale;
use support::fake_cronut::{FakeCronut, PUBLIC_KEY as CRONUT_PUBLIC_KEY};
use support::fake_google::FakeGoogle;
use support::fake_heroku::FakeHeroku;
use support::fake_papertrail::{FakePapertrail, Fault};
use support::fake_smtp::{FakeRelay, Security};
use support::receiver::{Mode, Receiver};

const SAMPLE: &str = include_str!("fixtures/dynosaur/config.sample.yaml");
const GOOGLE_PUBLIC_KEY: &[u8] = include_bytes!("fixtures/google/test_public_key.der");
const CLIENT_EMAIL: &str = "dynosaur@shop-analytics.iam.gserviceaccount.com";
const AWS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// The environment the sample reads, with values no output may show.
fn env() -> Vec<(&'static str, String)> {
    let key_file: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/google/service_account.json")).unwrap();
    vec![
        ("HEROKU_API_KEY", "heroku-secret-0001".into()),
        ("LIBRATO_USER", "ops@shop.example".into()),
        ("LIBRATO_TOKEN", "librato-secret-0002".into()),
        ("CRONUT_PUBLIC_KEY", CRONUT_PUBLIC_KEY.into()),
        ("CRONUT_API_TOKEN", "cronut-secret-0003".into()),
        ("BUGSNAG_API_KEY", "bugsnag-secret-0004".into()),
        ("AWS_ACCESS_KEY_ID", AWS_KEY_ID.into()),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET.into()),
        ("GOOGLE_CLIENT_EMAIL", CLIENT_EMAIL.into()),
        (
            "GA_PRIVATE_KEY",
            key_file["private_key"].as_str().unwrap().into(),
        ),
        ("GA4_PROPERTY_ID", "123456789".into()),
        ("PAPERTRAIL_API_KEY", "papertrail-secret-0005".into()),
    ]
}

const SECRETS: &[&str] = &[
    "heroku-secret-0001",
    "librato-secret-0002",
    "cronut-secret-0003",
    "bugsnag-secret-0004",
    AWS_SECRET,
    "papertrail-secret-0005",
    "BEGIN PRIVATE KEY",
    "BEGIN PUBLIC KEY",
];

fn drainscale(args: &[&str]) -> (bool, String) {
    drainscale_with(args, &[])
}

/// The same, with more variables.
fn drainscale_with(args: &[&str], more: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_drainscale"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env())
        .envs(more.iter().copied())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn check_accepts_the_published_sample_with_every_plugin_mapped() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/dynosaur/config.sample.yaml"
    );
    let (ok, out) = drainscale(&["check", "--dry-run", path]);
    assert!(ok, "check failed:\n{out}");
    for mapped in [
        // DynosControllerPlugin on GA.
        "controller dynos: process web, min 2, max 15",
        "google_analytics",
        "property 123456789",
        // PapertrailControllerPlugin with its input and threshold.
        "controller papertrail",
        "papertrail:liatorp",
        "papertrail:galant",
        // Librato stats, Cronut, Bugsnag, SES.
        "metrics-api.librato.com",
        "success handler: cronut POST https://your-cronut-app-here.herokuapp.com/ping/",
        "error handler: bugsnag",
        "email-smtp.us-east-1.amazonaws.com:587",
    ] {
        assert!(out.contains(mapped), "`{mapped}` not in:\n{out}");
    }
    for unmapped in ["skipped", "not supported", "unknown", "error:"] {
        assert!(!out.contains(unmapped), "`{unmapped}` in:\n{out}");
    }
    for secret in SECRETS {
        assert!(!out.contains(secret), "{secret} shown:\n{out}");
    }
}

/// `text` with `after` (which must occur exactly once) followed by `added`.
fn add_after(text: &str, after: &str, added: &str) -> String {
    assert_eq!(
        text.matches(after).count(),
        1,
        "{after:?} is not one line of the sample"
    );
    text.replace(after, &format!("{after}{added}"))
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_runs_in_dry_run_against_every_service_it_names() {
    let heroku = FakeHeroku::start("my-heroku-app", "heroku-secret-0001", &[("web", 4)]).await;
    heroku.set_addon("papertrail", "papertrail:liatorp");
    let google = FakeGoogle::start(CLIENT_EMAIL, GOOGLE_PUBLIC_KEY.to_vec()).await;
    let papertrail = FakePapertrail::start("papertrail-secret-0005").await;
    papertrail.set_used(300.0 * 1024.0 * 1024.0);
    // The first read fails: the input goes STALE, which the error handlers report, and recovers next pass.
    papertrail.fail_next(Fault::Status(503));
    let cronut = FakeCronut::start("cronut-secret-0003", "ABCDEFG123").await;
    let bugsnag = Receiver::start(Mode::Ok).await;
    let librato = Receiver::start(Mode::Ok).await;
    let ses_password = drainscale::config::dynosaur_ses::smtp_password(AWS_SECRET, "us-east-1");
    let relay = FakeRelay::start_for(Security::Starttls, &[], AWS_KEY_ID, &ses_password).await;

    // The sample, pointed at the fakes.
    let mut text = SAMPLE.to_string();
    text = add_after(
        &text,
        "    heroku_api_key: <%= ENV['HEROKU_API_KEY'] %>\n",
        &format!("    api_url: {}\n", heroku.url),
    );
    text = add_after(
        &text,
        "        api_key: <%= ENV['LIBRATO_TOKEN'] %>\n",
        &format!("        url: {}/v1/metrics\n", librato.url),
    );
    assert_eq!(
        text.matches("https://your-cronut-app-here.herokuapp.com")
            .count(),
        1
    );
    text = text.replace("https://your-cronut-app-here.herokuapp.com", &cronut.url);
    text = add_after(
        &text,
        "        api_key: <%= ENV['BUGSNAG_API_KEY'] %>\n",
        &format!("        endpoint: {}/\n", bugsnag.url),
    );
    text = add_after(
        &text,
        "        aws_secret_access_key: <%= ENV['AWS_SECRET_ACCESS_KEY'] %>\n",
        &format!(
            "        host: 127.0.0.1\n        port: {}\n        ca_file: {}\n",
            relay.port,
            relay.ca()
        ),
    );
    text = add_after(
        &text,
        "                analytics_view_id: 1234567\n",
        &format!(
            "                api_url: {g}\n                token_uri: {g}/token\n",
            g = google.url
        ),
    );
    text = add_after(
        &text,
        "                papertrail_api_key: <%= ENV['PAPERTRAIL_API_KEY'] %>\n",
        &format!("                api_url: {}\n", papertrail.api_url),
    );
    // A listener for `/status` (drainscale's own section, allowed beside Dynosaur's).
    text.push_str("\ndrain:\n    listen: \"127.0.0.1:0\"\n    auth: {insecure: true}\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yml");
    std::fs::write(&path, &text).unwrap();

    let app = Drainscale::start_with_env(&path, &["--dry-run"], &env());

    // Google: a token for the service account, then realtime reports for the GA4 property.
    wait_for("a GA4 report", || !google.reports().is_empty()).await;
    assert_eq!(google.claims()[0]["iss"], CLIENT_EMAIL);
    // Papertrail: the failed read, then good ones, with the token.
    wait_for("a good Papertrail read", || {
        papertrail.requests().len() >= 2
    })
    .await;
    // The failure reached Bugsnag and the SES relay (STARTTLS, the derived SMTP password).
    let events = bugsnag
        .wait_until("the STALE event", |r| !r.is_empty())
        .await;
    assert_eq!(
        events[0].headers.get("bugsnag-api-key").map(String::as_str),
        Some("bugsnag-secret-0004")
    );
    let text_of = serde_json::to_string(&events[0].body).unwrap();
    assert!(text_of.contains("papertrail_input"), "{text_of}");
    wait_for("the SES mail", || !relay.mails().is_empty()).await;
    let mail = &relay.mails()[0];
    assert_eq!(mail.authenticated_as.as_deref(), Some(AWS_KEY_ID));
    assert!(mail.over_tls);
    assert_eq!(mail.mail_from, "dynosaur@yourdomain.com");
    assert_eq!(mail.rcpt_to, ["you@yourdomain.com"]);
    // Cronut: a check-in sealed with the job's key, after a clean pass.
    wait_for("the Cronut check-in", || !cronut.check_ins().is_empty()).await;
    // Librato: the scaler's stats under Dynosaur's names, with the account's credentials.
    let posts = librato
        .wait_until("stats at the Librato-format receiver", |r| {
            r.iter()
                .any(|p| p.body.to_string().contains("dynosaur.my-heroku-app.dynos"))
        })
        .await;
    let auth = posts[0]
        .headers
        .get("authorization")
        .cloned()
        .unwrap_or_default();
    assert!(auth.starts_with("Basic "), "{auth}");
    // /status shows the dry run and both controllers.
    let status: serde_json::Value = reqwest::get(app.url("/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shown = status.to_string();
    assert!(
        shown.contains("\"dry_run\":true")
            && shown.contains("papertrail")
            && shown.contains("dynos"),
        "{shown}"
    );

    // /metrics: both handler families, valid to Prometheus' own checker.
    let page = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    support::promtool::check_metrics(&page);
    assert!(
        page.contains(
            "drainscale_success_handler_check_ins_total{handler=\"cronut http://127.0.0.1:"
        ) && page.contains("drainscale_error_handler_events_total{handler=\"email 127.0.0.1:"),
        "{page}"
    );
    let sent = |family: &str, handler: &str| -> f64 {
        page.lines()
            .find(|l| {
                l.starts_with(&format!("{family}{{handler=\"{handler}"))
                    && l.contains("result=\"sent\"}")
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1.0)
    };
    assert!(
        sent("drainscale_success_handler_check_ins_total", "cronut") >= 1.0,
        "{page}"
    );
    assert!(
        sent("drainscale_error_handler_events_total", "email") >= 1.0,
        "{page}"
    );

    // A dry run: Heroku was read, never written.
    assert!(heroku.writes().is_empty() && heroku.plan_writes().is_empty());
    assert!(heroku.count("GET") > 0);
    assert!(app.terminate().success());
}

/// The sample's commented blocks, uncommented: the New Relic input of the GA controller, and the RedisCloud
/// controller (whose first line, as published, is indented so that `type:` continues `name: redis` and the
/// file does not parse, in Ruby either: it is written here as its author meant it).
fn uncommented() -> String {
    let mut out = String::new();
    for line in SAMPLE.lines() {
        let line = match line.strip_prefix('#') {
            Some("    - name: redis") => "    -\n        name: redis",
            Some(rest) if !rest.trim().is_empty() => rest,
            Some(_) => continue,
            None => line,
        };
        out.push_str(line);
        out.push('\n');
    }
    out + "\ndrain:\n    listen: \"127.0.0.1:0\"\n    auth: {insecure: true}\n"
}

#[test]
fn the_commented_new_relic_and_rediscloud_blocks_map_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yml");
    std::fs::write(&path, uncommented()).unwrap();
    let path = path.display().to_string();
    let (ok, out) = drainscale_with(
        &["check", "--dry-run", &path],
        &[("NEW_RELIC_API_KEY", "NRAK-new-relic-secret")],
    );
    assert!(ok, "check failed:\n{out}");
    assert!(!out.contains("new-relic-secret"), "{out}");
    for mapped in [
        // NewRelicPlugin (appid, rpm_per_dyno) as a REST v2 new_relic input.
        "new_relic",
        "application 1234567",
        // RediscloudControllerPlugin with its two usage inputs, read from the drain.
        "controller redis",
        "rediscloud:100",
        "rediscloud:5000",
        "drain sample#memory-redis",
        "drain sample#active-connections",
    ] {
        assert!(out.contains(mapped), "`{mapped}` not in:\n{out}");
    }
    assert!(out.contains("New Relic's plugin metrics"), "{out}");
    for unmapped in ["skipped", "not supported", "unknown"] {
        assert!(!out.contains(unmapped), "`{unmapped}` in:\n{out}");
    }
    // Without NEW_RELIC_API_KEY the New Relic input is skipped with the reason (the GA input still runs).
    let (ok, out) = drainscale(&["check", "--dry-run", &path]);
    assert!(ok, "{out}");
    assert!(
        out.contains("NEW_RELIC_API_KEY is not set") && out.contains("`key` is missing or empty"),
        "{out}"
    );
}
