//! The e-mail handler against a fake SMTP relay on 127.0.0.1 written here: ESMTP with STARTTLS (tokio-rustls,
//! a self-signed certificate for 127.0.0.1/localhost made with rcgen and passed as `ca_file`), implicit TLS,
//! AUTH PLAIN/LOGIN checking the credentials, and refusals; the rolling-hour limit and its counter; config
//! errors; Dynosaur's SES handler mapped to it.

use base64::Engine as _;
use drainscale::config::{load_str, ErrorHandlerConfig};
use drainscale::scaler::handlers::{self, ErrorEvent, EventKind, Notifier};
use drainscale::scaler::health::Health;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

const USER: &str = "relay-user";
const PASSWORD: &str = "relay-pa55word";

/// How the fake relay talks.
#[derive(Clone, Copy, PartialEq)]
enum Security {
    /// Plain, offering STARTTLS; AUTH only after it.
    Starttls,
    /// TLS from the first byte; AUTH LOGIN only.
    Implicit,
    /// No TLS, no AUTH: a relay on this host.
    Plain,
}

/// One mail the relay accepted.
#[derive(Debug, Clone)]
struct Received {
    authenticated_as: Option<String>,
    over_tls: bool,
    mail_from: String,
    rcpt_to: Vec<String>,
    data: String,
}

#[derive(Default)]
struct Recorded {
    mails: Vec<Received>,
    /// Every command line, AUTH payloads left out.
    commands: Vec<String>,
}

struct FakeRelay {
    port: u16,
    ca_file: tempfile::NamedTempFile,
    recorded: Arc<Mutex<Recorded>>,
}

impl FakeRelay {
    /// `refused`: recipients answered with 550.
    async fn start(security: Security, refused: &[&str]) -> FakeRelay {
        let certified =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
                .unwrap();
        let mut ca_file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut ca_file, certified.cert.pem().as_bytes()).unwrap();
        let cert = certified.cert.der().clone();
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let refused: Vec<String> = refused.iter().map(|r| r.to_string()).collect();
        let rec = recorded.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, rec, refused) = (acceptor.clone(), rec.clone(), refused.clone());
                tokio::spawn(async move {
                    let session = Session {
                        rec,
                        refused,
                        security,
                    };
                    match security {
                        Security::Implicit => {
                            if let Ok(tls) = acceptor.accept(tcp).await {
                                let _ = session.serve(tls, true, true).await;
                            }
                        }
                        Security::Plain => {
                            let _ = session.serve(tcp, false, true).await;
                        }
                        Security::Starttls => {
                            if let Ok(Some(tcp)) = session.serve(tcp, false, true).await {
                                if let Ok(tls) = acceptor.accept(tcp).await {
                                    let _ = session.serve(tls, true, false).await;
                                }
                            }
                        }
                    }
                });
            }
        });
        FakeRelay {
            port,
            ca_file,
            recorded,
        }
    }

    fn ca(&self) -> String {
        self.ca_file.path().display().to_string()
    }

    fn mails(&self) -> Vec<Received> {
        self.recorded.lock().unwrap().mails.clone()
    }

    fn commands(&self) -> Vec<String> {
        self.recorded.lock().unwrap().commands.clone()
    }
}

struct Session {
    rec: Arc<Mutex<Recorded>>,
    refused: Vec<String>,
    security: Security,
}

fn b64(text: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The address inside `MAIL FROM:<a>` / `RCPT TO:<a>`.
fn angle(line: &str) -> String {
    let start = line.find('<').map_or(0, |i| i + 1);
    let end = line.rfind('>').unwrap_or(line.len());
    line[start..end].to_string()
}

impl Session {
    /// Speaks ESMTP until QUIT; `Some(stream)` when the client asked for STARTTLS (answered 220).
    async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
        over_tls: bool,
        greet: bool,
    ) -> std::io::Result<Option<S>> {
        let mut io = BufReader::new(stream);
        if greet {
            io.write_all(b"220 fake.relay ESMTP ready\r\n").await?;
        }
        let mut authenticated_as: Option<String> = None;
        let mut mail_from: Option<String> = None;
        let mut rcpt_to = Vec::new();
        loop {
            let mut line = String::new();
            if io.read_line(&mut line).await? == 0 {
                return Ok(None);
            }
            let line = line.trim_end().to_string();
            let upper = line.to_ascii_uppercase();
            let recorded = if upper.starts_with("AUTH") {
                line.split(' ').take(2).collect::<Vec<_>>().join(" ")
            } else {
                line.clone()
            };
            self.rec.lock().unwrap().commands.push(recorded);
            let reply: String = if upper.starts_with("EHLO") {
                let mut r = String::from("250-fake.relay greets you\r\n");
                if !over_tls && self.security == Security::Starttls {
                    r.push_str("250-STARTTLS\r\n");
                }
                match (over_tls, self.security) {
                    (true, Security::Implicit) => r.push_str("250-AUTH LOGIN\r\n"),
                    (true, _) => r.push_str("250-AUTH PLAIN LOGIN\r\n"),
                    (false, _) => {}
                }
                r.push_str("250 8BITMIME\r\n");
                r
            } else if upper.starts_with("STARTTLS")
                && !over_tls
                && self.security == Security::Starttls
            {
                io.write_all(b"220 2.0.0 Ready to start TLS\r\n").await?;
                io.flush().await?;
                return Ok(Some(io.into_inner()));
            } else if upper.starts_with("AUTH") {
                if !over_tls {
                    "538 5.7.11 Encryption required for requested authentication mechanism\r\n"
                        .into()
                } else {
                    let words: Vec<&str> = line.split(' ').collect();
                    let creds = match words.get(1).map(|m| m.to_ascii_uppercase()).as_deref() {
                        Some("PLAIN") => {
                            let payload = match words.get(2) {
                                Some(p) => p.to_string(),
                                None => {
                                    io.write_all(b"334 \r\n").await?;
                                    read_line(&mut io).await?
                                }
                            };
                            b64(&payload).and_then(|p| {
                                let parts: Vec<&str> = p.split('\0').collect();
                                (parts.len() == 3)
                                    .then(|| (parts[1].to_string(), parts[2].to_string()))
                            })
                        }
                        Some("LOGIN") => {
                            let user = match words.get(2) {
                                Some(u) => u.to_string(),
                                None => {
                                    io.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
                                    read_line(&mut io).await?
                                }
                            };
                            io.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
                            let pass = read_line(&mut io).await?;
                            b64(&user).zip(b64(&pass))
                        }
                        _ => None,
                    };
                    match creds {
                        Some((u, p)) if u == USER && p == PASSWORD => {
                            authenticated_as = Some(u);
                            "235 2.7.0 Authentication successful\r\n".into()
                        }
                        _ => "535 5.7.8 Authentication credentials invalid\r\n".into(),
                    }
                }
            } else if upper.starts_with("MAIL FROM:") {
                if authenticated_as.is_none() && self.security != Security::Plain {
                    "530 5.7.0 Authentication required\r\n".into()
                } else {
                    mail_from = Some(angle(&line));
                    rcpt_to.clear();
                    "250 2.1.0 Ok\r\n".into()
                }
            } else if upper.starts_with("RCPT TO:") {
                let to = angle(&line);
                if mail_from.is_none() {
                    "503 5.5.1 Error: need MAIL command\r\n".into()
                } else if self.refused.contains(&to) {
                    // The refusal does not repeat the address: the handler's error must name it.
                    "550 5.1.1 Mailbox unavailable\r\n".into()
                } else {
                    rcpt_to.push(to);
                    "250 2.1.5 Ok\r\n".into()
                }
            } else if upper == "DATA" {
                if rcpt_to.is_empty() {
                    "554 5.5.1 Error: no valid recipients\r\n".into()
                } else {
                    io.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    let mut data = String::new();
                    loop {
                        let mut l = String::new();
                        if io.read_line(&mut l).await? == 0 {
                            return Ok(None);
                        }
                        if l == ".\r\n" {
                            break;
                        }
                        data.push_str(l.strip_prefix('.').unwrap_or(&l));
                    }
                    self.rec.lock().unwrap().mails.push(Received {
                        authenticated_as: authenticated_as.clone(),
                        over_tls,
                        mail_from: mail_from.take().unwrap_or_default(),
                        rcpt_to: std::mem::take(&mut rcpt_to),
                        data,
                    });
                    "250 2.0.0 Ok: queued as 1F2E3D\r\n".into()
                }
            } else if upper == "QUIT" {
                io.write_all(b"221 2.0.0 Bye\r\n").await?;
                io.flush().await?;
                return Ok(None);
            } else if upper == "RSET" || upper == "NOOP" {
                "250 2.0.0 Ok\r\n".into()
            } else {
                "502 5.5.2 Error: command not recognized\r\n".into()
            };
            io.write_all(reply.as_bytes()).await?;
            io.flush().await?;
        }
    }
}

async fn read_line<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
) -> std::io::Result<String> {
    io.flush().await?;
    let mut l = String::new();
    io.read_line(&mut l).await?;
    Ok(l.trim_end().to_string())
}

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
