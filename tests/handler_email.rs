//! The e-mail handler against a fake SMTP relay on 127.0.0.1 (`support/fake_smtp.rs`): ESMTP with STARTTLS (tokio-rustls,
//! a self-signed certificate for 127.0.0.1/localhost made with rcgen and passed as `ca_file`), implicit TLS,
//! AUTH PLAIN/LOGIN checking the credentials, and refusals; the rolling-hour limit and its counter; config
//! errors; Dynosaur's SES handler mapped to it.

mod support;

use drainscale::config::{load_str, ErrorHandlerConfig};
use drainscale::scaler::handlers::{self, ErrorEvent, EventKind, Notifier};
use drainscale::scaler::health::Health;
use std::time::{Duration, Instant};
use support::fake_smtp::{FakeRelay, Security, PASSWORD, USER};
use tokio::net::TcpListener;

fn handler(yaml: &str) -> ErrorHandlerConfig {
    let c: ErrorHandlerConfig = serde_yaml_ng::from_str(yaml).unwrap();
    c.validate().unwrap();
    c
}

fn event(message: &str) -> ErrorEvent {
    ErrorEvent {
        app: "shop".into(),
        controller: "web".into(),
        input: Some("rps".into()),
        kind: EventKind::InputOutage,
        message: message.into(),
        health: Some(Health::Outage),
        at: "2026-11-23T15:00:00Z".parse().unwrap(),
    }
}

/// The header block's value of `name` (unfolded).
fn header(data: &str, name: &str) -> String {
    let head = data.split("\r\n\r\n").next().unwrap();
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .split("\r\n")
        .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_string))
        .unwrap_or_else(|| panic!("no {name} header in {data}"))
}

fn body(data: &str) -> String {
    data.split_once("\r\n\r\n").unwrap().1.replace("\r\n", "\n")
}

#[tokio::test]
async fn starttls_and_auth_deliver_the_mail() {
    let relay = FakeRelay::start(Security::Starttls, &[]).await;
    let c = handler(&format!(
        "{{type: email, host: 127.0.0.1, port: {}, username: {USER}, password: {PASSWORD}, \
         from: 'Drainscale <alerts@shop.example>', to: [ops@shop.example, oncall@shop.example], \
         ca_file: '{}'}}",
        relay.port,
        relay.ca()
    ));
    let shown = c.params.describe();
    assert!(
        shown.contains(&format!("127.0.0.1:{}", relay.port)),
        "{shown}"
    );
    assert!(shown.contains("starttls"), "{shown}");
    assert!(shown.contains("alerts@shop.example"), "{shown}");
    assert!(
        shown.contains("ops@shop.example, oncall@shop.example"),
        "{shown}"
    );
    assert!(
        !shown.contains(PASSWORD) && !shown.contains(USER),
        "{shown}"
    );

    let h = handlers::from_config(&c).unwrap();
    h.send(&event("input rps is OUTAGE: no logs from the drain"))
        .await
        .unwrap();
    let mails = relay.mails();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert!(m.over_tls, "the mail went in clear");
    assert_eq!(m.authenticated_as.as_deref(), Some(USER));
    assert_eq!(m.mail_from, "alerts@shop.example");
    assert_eq!(m.rcpt_to, ["ops@shop.example", "oncall@shop.example"]);
    assert_eq!(header(&m.data, "From"), "Drainscale <alerts@shop.example>");
    assert_eq!(
        header(&m.data, "To"),
        "ops@shop.example, oncall@shop.example"
    );
    assert_eq!(
        header(&m.data, "Subject"),
        "[drainscale] shop web: input_outage"
    );
    assert!(header(&m.data, "Content-Type").starts_with("text/plain"));
    let b = body(&m.data);
    for line in [
        "app: shop\n",
        "controller: web\n",
        "input: rps\n",
        "event: input_outage\n",
        "health: OUTAGE\n",
        "time: 2026-11-23T15:00:00Z\n",
        "\ninput rps is OUTAGE: no logs from the drain\n",
    ] {
        assert!(b.contains(line), "{line:?} not in {b}");
    }
    // STARTTLS came before AUTH, and the session ended with QUIT.
    let commands = relay.commands();
    let at = |c: &str| commands.iter().position(|l| l.starts_with(c)).unwrap();
    assert!(at("STARTTLS") < at("AUTH PLAIN"), "{commands:?}");
    assert_eq!(commands.last().map(String::as_str), Some("QUIT"));
}

#[tokio::test]
async fn implicit_tls_delivers_on_the_given_port() {
    let relay = FakeRelay::start(Security::Implicit, &[]).await;
    let c = handler(&format!(
        "{{type: email, host: localhost, port: {}, tls: tls, username: {USER}, password: {PASSWORD}, \
         from: alerts@shop.example, to: ops@shop.example, subject_prefix: '[prod]', ca_file: '{}'}}",
        relay.port,
        relay.ca()
    ));
    assert!(
        c.params.describe().contains("(tls,"),
        "{}",
        c.params.describe()
    );
    let h = handlers::from_config(&c).unwrap();
    h.send(&event("down")).await.unwrap();
    let mails = relay.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].over_tls);
    assert_eq!(mails[0].rcpt_to, ["ops@shop.example"]);
    assert_eq!(
        header(&mails[0].data, "Subject"),
        "[prod] shop web: input_outage"
    );
    let commands = relay.commands();
    assert!(!commands.iter().any(|c| c == "STARTTLS"), "{commands:?}");
    assert!(commands.iter().any(|c| c == "AUTH LOGIN"), "{commands:?}");
    assert_eq!(mails[0].authenticated_as.as_deref(), Some(USER));
}

#[tokio::test]
async fn a_local_relay_without_tls_gets_the_mail_in_clear() {
    let relay = FakeRelay::start(Security::Plain, &[]).await;
    let c = handler(&format!(
        "{{type: email, host: 127.0.0.1, port: {}, tls: none, from: alerts@shop.example, to: ops@shop.example}}",
        relay.port
    ));
    let h = handlers::from_config(&c).unwrap();
    h.send(&event("down")).await.unwrap();
    let mails = relay.mails();
    assert_eq!(mails.len(), 1);
    assert!(!mails[0].over_tls);
    assert_eq!(mails[0].authenticated_as, None);
}

#[tokio::test]
async fn starttls_is_required_not_hoped_for() {
    // A relay that does not offer STARTTLS: nothing is sent in clear, the error says why.
    let relay = FakeRelay::start(Security::Plain, &[]).await;
    let c = handler(&format!(
        "{{type: email, host: 127.0.0.1, port: {}, username: {USER}, password: {PASSWORD}, \
         from: alerts@shop.example, to: ops@shop.example}}",
        relay.port
    ));
    let h = handlers::from_config(&c).unwrap();
    let e = h.send(&event("down")).await.unwrap_err().to_string();
    assert!(e.contains("does not offer STARTTLS"), "{e}");
    let commands = relay.commands();
    assert!(
        !commands
            .iter()
            .any(|c| c.starts_with("AUTH") || c.starts_with("MAIL")),
        "{commands:?}"
    );
    assert!(relay.mails().is_empty());
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_nothing_is_sent() {
    let relay = FakeRelay::start(Security::Starttls, &[]).await;
    let c = handler(&format!(
        "{{type: email, host: 127.0.0.1, port: {}, username: {USER}, password: not-it, \
         from: alerts@shop.example, to: ops@shop.example, ca_file: '{}'}}",
        relay.port,
        relay.ca()
    ));
    let h = handlers::from_config(&c).unwrap();
    let e = h.send(&event("down")).await.unwrap_err().to_string();
    assert!(e.contains("535"), "{e}");
    assert!(e.contains("authentication refused"), "{e}");
    assert!(
        e.contains(&format!("email 127.0.0.1:{}", relay.port)),
        "{e}"
    );
    assert!(!e.contains("not-it"), "{e}");
    assert!(relay.mails().is_empty());
    assert!(!relay.commands().iter().any(|c| c.starts_with("MAIL")));
}

#[tokio::test]
async fn a_refused_recipient_is_named_in_the_error() {
    let relay = FakeRelay::start(Security::Starttls, &["gone@shop.example"]).await;
    let c = handler(&format!(
        "{{type: email, host: 127.0.0.1, port: {}, username: {USER}, password: {PASSWORD}, \
         from: alerts@shop.example, to: [ops@shop.example, gone@shop.example], ca_file: '{}'}}",
        relay.port,
        relay.ca()
    ));
    let h = handlers::from_config(&c).unwrap();
    let e = h.send(&event("down")).await.unwrap_err().to_string();
    assert!(e.contains("recipient <gone@shop.example> refused"), "{e}");
    assert!(e.contains("550"), "{e}");
    assert!(relay.mails().is_empty());
    assert!(!relay.commands().iter().any(|c| c == "DATA"));
}

#[tokio::test]
async fn a_relay_that_is_not_there_is_a_connection_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let c = handler(&format!(
        "{{type: email, host: 127.0.0.1, port: {port}, from: alerts@shop.example, to: ops@shop.example}}"
    ));
    let h = handlers::from_config(&c).unwrap();
    let e = h.send(&event("down")).await.unwrap_err().to_string();
    assert!(
        e.contains(&format!("connecting to 127.0.0.1:{port}")),
        "{e}"
    );
}

#[tokio::test]
async fn at_most_max_per_hour_mails_and_the_rest_are_counted() {
    use drainscale::drain::MetricsPage;
    let relay = FakeRelay::start(Security::Starttls, &[]).await;
    let c = handler(&format!(
        "{{type: email, host: 127.0.0.1, port: {}, username: {USER}, password: {PASSWORD}, \
         from: alerts@shop.example, to: ops@shop.example, ca_file: '{}', max_per_hour: 2}}",
        relay.port,
        relay.ca()
    ));
    let n = Notifier::from_config("shop", &[c]).unwrap().unwrap();
    // Five different events (the lane's repeat suppression would hold back repeats).
    for i in 0..5 {
        n.pass_failed("web", &format!("panic {i}"), jiff::Timestamp::UNIX_EPOCH);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = &n.stats()[0];
        if s.sent + s.failed + s.rate_limited + s.dropped >= 5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all events were handled: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = &n.stats()[0];
    assert_eq!(
        (s.sent, s.rate_limited, s.failed, s.dropped),
        (2, 3, 0, 0),
        "{s:?}"
    );
    let mails = relay.mails();
    assert_eq!(mails.len(), 2);
    assert!(body(&mails[0].data).contains("panic 0"));
    assert!(body(&mails[1].data).contains("panic 1"));
    assert_eq!(
        header(&mails[0].data, "Subject"),
        "[drainscale] shop web: pass_panic"
    );
    let mut page = String::new();
    n.render(&mut page);
    assert!(page.contains(",result=\"rate_limited\"} 3"), "{page}");
    assert!(page.contains(",result=\"sent\"} 2"), "{page}");
}

fn config_error(entry: &str) -> String {
    let text = format!("scaler:\n  app: shop\n  error_handlers:\n    - {entry}\n");
    match load_str(&text, "drainscale.yaml", &|_| None) {
        Ok(_) => panic!("{entry} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn config_errors_name_the_key() {
    let e = config_error(
        "{type: email, host: smtp.example, from: a@shop.example, to: [ok@shop.example, 'not an address']}",
    );
    assert!(e.contains("scaler.error_handlers[0].to"), "{e}");
    assert!(e.contains("\"not an address\""), "{e}");

    let e = config_error(
        "{type: email, host: smtp.example, from: 'alerts at shop', to: a@shop.example}",
    );
    assert!(e.contains("scaler.error_handlers[0].from"), "{e}");
    assert!(e.contains("alerts at shop"), "{e}");

    let e = config_error(
        "{type: email, host: smtp.example, tls: none, from: a@shop.example, to: b@shop.example}",
    );
    assert!(e.contains("scaler.error_handlers[0].tls"), "{e}");
    assert!(e.contains("127.0.0.1 or localhost"), "{e}");

    let e = config_error(
        "{type: email, host: smtp.example, username: u, from: a@shop.example, to: b@shop.example}",
    );
    assert!(e.contains("scaler.error_handlers[0].password"), "{e}");
    assert!(e.contains("both"), "{e}");

    let e = config_error(
        "{type: email, host: smtp.example, from: a@shop.example, to: b@shop.example, ca_file: /nonexistent/ca.pem}",
    );
    assert!(e.contains("scaler.error_handlers[0].ca_file"), "{e}");

    let e = config_error(
        "{type: email, host: smtp.example, from: a@shop.example, to: b@shop.example, max_per_hour: 0}",
    );
    assert!(e.contains("scaler.error_handlers[0].max_per_hour"), "{e}");

    let e = config_error(
        "{type: email, host: smtp.example, from: a@shop.example, to: b@shop.example, pasword: x}",
    );
    assert!(e.contains("unknown field `pasword`"), "{e}");

    // A local relay may go without TLS; the ports default by mode.
    let c = handler(
        "{type: email, host: localhost, tls: none, from: a@shop.example, to: b@shop.example}",
    );
    assert!(
        c.params.describe().contains("localhost:25 (none"),
        "{}",
        c.params.describe()
    );
    let c = handler("{type: email, host: smtp.example, from: a@shop.example, to: b@shop.example}");
    assert!(
        c.params.describe().contains("smtp.example:587 (starttls"),
        "{}",
        c.params.describe()
    );
    let c = handler(
        "{type: email, host: smtp.example, tls: tls, from: a@shop.example, to: b@shop.example}",
    );
    assert!(
        c.params.describe().contains("smtp.example:465 (tls"),
        "{}",
        c.params.describe()
    );
}

const DYNOSAUR_SES: &str = r#"scaler:
    heroku_app_name: shop
    dry_run: true
error_handlers:
    -
        type: Dynosaur::ErrorHandler::Ses
        from: alerts@shop.example
        to: <%= ENV['ALERT_TO'] %>
        aws_access_key_id: <%= ENV['AWS_ACCESS_KEY_ID'] %>
        aws_secret_access_key: <%= ENV['AWS_SECRET_ACCESS_KEY'] %>
        aws_region: eu-west-1
controller_plugins:
    -
        name: dynos
        type: Dynosaur::Controllers::DynosControllerPlugin
        input_plugins:
            -
                name: wave
                type: Dynosaur::Inputs::SinePlugin
"#;

#[test]
fn dynosaurs_ses_handler_maps_to_an_email_handler_on_the_ses_endpoint() {
    use drainscale::scaler::handlers::email::{EmailParams, TlsMode};
    let env = |name: &str| match name {
        "ALERT_TO" => Some("ops@shop.example".to_string()),
        "AWS_ACCESS_KEY_ID" => Some("AKIAIOSFODNN7EXAMPLE".to_string()),
        "AWS_SECRET_ACCESS_KEY" => Some("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string()),
        _ => None,
    };
    let loaded = load_str(DYNOSAUR_SES, "dynosaur.yaml", &env).unwrap();
    let handlers = &loaded.config.scaler.error_handlers;
    assert_eq!(handlers.len(), 1);
    let p: &EmailParams = handlers[0].params.get().unwrap();
    assert_eq!(p.host, "email-smtp.eu-west-1.amazonaws.com");
    assert_eq!((p.port(), p.tls), (587, TlsMode::Starttls));
    assert_eq!(p.from, "alerts@shop.example");
    assert_eq!(p.to, ["ops@shop.example"]);
    assert_eq!(
        p.username.as_ref().unwrap().expose(),
        "AKIAIOSFODNN7EXAMPLE"
    );
    // Computed with python3 hmac/hashlib (see src/config/dynosaur_ses.rs).
    assert_eq!(
        p.password.as_ref().unwrap().expose(),
        "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk"
    );
    let plan = drainscale::config::plan::render(&loaded);
    assert!(
        plan.contains("email via email-smtp.eu-west-1.amazonaws.com:587 (starttls"),
        "{plan}"
    );
    assert!(
        !plan.contains("BMW5RD") && !plan.contains("wJalr"),
        "{plan}"
    );

    // Unset variables: skipped with a warning naming the empty keys, not an error.
    let loaded = load_str(DYNOSAUR_SES, "dynosaur.yaml", &|_| None).unwrap();
    assert!(loaded.config.scaler.error_handlers.is_empty());
    let w = loaded.warnings.join("\n");
    assert!(
        w.contains("Ses: to, aws_access_key_id, aws_secret_access_key empty; skipped"),
        "{w}"
    );
}
