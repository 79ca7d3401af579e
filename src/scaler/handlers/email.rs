//! The e-mail handler: one plain-text mail per event through an SMTP relay (STARTTLS, implicit TLS, or plain
//! SMTP to a relay on this host), with optional AUTH PLAIN/LOGIN, at most `max_per_hour` mails in any rolling
//! hour (the rest are counted as rate limited, not sent). Amazon SES's SMTP endpoint is one such relay
//! (Dynosaur's SES handler maps to it).

use super::spec::{parse_as, HandlerKind, HandlerSpec};
use super::{ErrorEvent, ErrorHandler, HandlerError, Sending};
use crate::invalid::Invalid;
use crate::secret::Secret;
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
use serde::{Deserialize, Deserializer};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `type: email`.
pub const KIND: HandlerKind = HandlerKind {
    name: "email",
    parse: parse_as::<EmailParams>,
};

/// The subject's first word by default.
pub const DEFAULT_SUBJECT_PREFIX: &str = "[drainscale]";
/// Mails per rolling hour by default (Dynosaur's README warns its SES mail is noisy).
pub const DEFAULT_MAX_PER_HOUR: u32 = 10;
const HOUR: Duration = Duration::from_secs(3600);

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which the relay must offer (port 587 by default).
    #[default]
    Starttls,
    /// TLS from the first byte, "SMTPS" (port 465 by default).
    Tls,
    /// No encryption (port 25 by default): only for a relay on this host.
    None,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Starttls => "starttls",
            TlsMode::Tls => "tls",
            TlsMode::None => "none",
        }
    }

    /// The usual port of the mode.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        }
    }
}

/// `type: email` parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailParams {
    /// The SMTP relay's host name or address (required).
    pub host: String,
    /// The relay's port (default 587 for `starttls`, 465 for `tls`, 25 for `none`).
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` (implicit TLS) or `none` (only with host 127.0.0.1 or localhost).
    #[serde(default)]
    pub tls: TlsMode,
    /// The AUTH user name (give `password` too, or neither: no AUTH).
    #[serde(default)]
    pub username: Option<Secret>,
    /// The AUTH password (never shown).
    #[serde(default)]
    pub password: Option<Secret>,
    /// The sender: `ops@example.com` or `Ops <ops@example.com>` (required).
    pub from: String,
    /// The recipients: one address or a list (required).
    #[serde(deserialize_with = "one_or_many")]
    pub to: Vec<String>,
    /// The subject's first word (default `[drainscale]`).
    #[serde(default = "default_subject_prefix")]
    pub subject_prefix: String,
    /// A PEM file of extra CA roots to trust besides the usual ones (private relays, tests).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// At most this many mails in any rolling hour; the rest are counted as rate limited (default 10).
    #[serde(default = "default_max_per_hour")]
    pub max_per_hour: u32,
}

fn default_subject_prefix() -> String {
    DEFAULT_SUBJECT_PREFIX.into()
}

fn default_max_per_hour() -> u32 {
    DEFAULT_MAX_PER_HOUR
}

/// `to: a@x` or `to: [a@x, b@y]`.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    match OneOrMany::deserialize(d) {
        Ok(OneOrMany::One(s)) => Ok(vec![s]),
        Ok(OneOrMany::Many(v)) => Ok(v),
        Err(_) => Err(serde::de::Error::custom(
            "`to` must be an e-mail address or a list of them",
        )),
    }
}

impl EmailParams {
    /// A STARTTLS relay on its default port, no AUTH, the default prefix and limit.
    pub fn new(host: impl Into<String>, from: impl Into<String>, to: Vec<String>) -> Self {
        EmailParams {
            host: host.into(),
            port: None,
            tls: TlsMode::Starttls,
            username: None,
            password: None,
            from: from.into(),
            to,
            subject_prefix: default_subject_prefix(),
            ca_file: None,
            max_per_hour: DEFAULT_MAX_PER_HOUR,
        }
    }

    /// The port given, or the mode's usual one.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(self.tls.default_port())
    }

    fn is_local(&self) -> bool {
        matches!(
            self.host.trim().to_ascii_lowercase().as_str(),
            "127.0.0.1" | "localhost"
        )
    }

    fn mailboxes(&self) -> Result<(Mailbox, Vec<Mailbox>), Invalid> {
        let from = parse_mailbox("from", &self.from)?;
        let to = self
            .to
            .iter()
            .map(|t| parse_mailbox("to", t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((from, to))
    }

    fn read_ca(&self) -> Result<Option<Certificate>, Invalid> {
        let Some(path) = &self.ca_file else {
            return Ok(None);
        };
        let pem = std::fs::read(path).map_err(|e| {
            Invalid::at(
                "ca_file",
                format!(
                    "cannot read {}: {e} (expected a PEM file of CA certificates)",
                    path.display()
                ),
            )
        })?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(Invalid::at(
                "ca_file",
                format!(
                    "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    path.display()
                ),
            ));
        }
        Certificate::from_pem(&pem).map(Some).map_err(|e| {
            Invalid::at(
                "ca_file",
                format!("{}: not a PEM certificate file: {e}", path.display()),
            )
        })
    }
}

fn parse_mailbox(key: &str, text: &str) -> Result<Mailbox, Invalid> {
    text.trim()
        .parse::<Mailbox>()
        .map_err(|e| Invalid::at(key, format!("{text:?} is not an e-mail address ({e})")))
}

impl HandlerSpec for EmailParams {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn describe(&self) -> String {
        let auth = match &self.username {
            Some(u) => format!(", auth as {} (password ***)", u.masked()),
            None => String::new(),
        };
        format!(
            "email via {}:{} ({}{auth}) from {} to {}, at most {}/hour",
            self.host.trim(),
            self.port(),
            self.tls.as_str(),
            self.from.trim(),
            self.to.join(", "),
            self.max_per_hour
        )
    }

    /// A host, a port, encryption unless the relay is local, AUTH with both keys or neither, addresses that
    /// parse, a readable `ca_file`, a limit of at least one mail.
    fn validate(&self) -> Result<(), Invalid> {
        if self.host.trim().is_empty() {
            return Err(Invalid::at(
                "host",
                "is empty (expected the SMTP relay's host name)",
            ));
        }
        if self.port == Some(0) {
            return Err(Invalid::at("port", "must be 1 to 65535"));
        }
        if self.tls == TlsMode::None && !self.is_local() {
            return Err(Invalid::at(
                "tls",
                format!(
                    "`none` sends the mail and the password in clear: only allowed with host 127.0.0.1 or \
                     localhost, not {:?}; use `starttls` or `tls`",
                    self.host.trim()
                ),
            ));
        }
        match (&self.username, &self.password) {
            (Some(_), None) => {
                return Err(Invalid::at(
                    "password",
                    "missing: `username` is set, give both `username` and `password` or neither",
                ))
            }
            (None, Some(_)) => {
                return Err(Invalid::at(
                    "username",
                    "missing: `password` is set, give both `username` and `password` or neither",
                ))
            }
            (Some(u), _) if u.is_blank() => return Err(Invalid::at("username", "is empty")),
            (_, Some(p)) if p.is_empty() => return Err(Invalid::at("password", "is empty")),
            _ => {}
        }
        if self.to.is_empty() {
            return Err(Invalid::at(
                "to",
                "is empty (expected one address or a list)",
            ));
        }
        self.mailboxes()?;
        self.read_ca()?;
        if self.max_per_hour == 0 {
            return Err(Invalid::at("max_per_hour", "must be at least 1"));
        }
        Ok(())
    }

    fn build(&self, timeout: Duration) -> Result<Arc<dyn ErrorHandler>, HandlerError> {
        Ok(Arc::new(Email::new(self, timeout)?))
    }
}

/// A built e-mail handler.
pub struct Email {
    name: String,
    host: String,
    port: u16,
    tls: TlsMode,
    tls_parameters: Option<TlsParameters>,
    credentials: Option<Credentials>,
    from: Mailbox,
    to: Vec<Mailbox>,
    subject_prefix: String,
    max_per_hour: usize,
    timeout: Duration,
    /// When the mails of the last hour went out.
    sent_at: Mutex<VecDeque<Instant>>,
}

impl Email {
    pub fn new(p: &EmailParams, timeout: Duration) -> Result<Self, HandlerError> {
        let host = p.host.trim().to_string();
        let name = format!("email {host}:{}", p.port());
        let bad = |message: String| HandlerError::Config {
            handler: name.clone(),
            message,
        };
        let (from, to) = p.mailboxes().map_err(|e| bad(e.to_string()))?;
        let ca = p.read_ca().map_err(|e| bad(e.to_string()))?;
        let tls_parameters = match p.tls {
            TlsMode::None => None,
            TlsMode::Starttls | TlsMode::Tls => {
                let mut b = TlsParameters::builder(host.clone());
                if let Some(ca) = ca {
                    b = b.add_root_certificate(ca);
                }
                Some(
                    b.build_rustls()
                        .map_err(|e| bad(format!("TLS setup: {e}")))?,
                )
            }
        };
        let credentials = match (&p.username, &p.password) {
            (Some(u), Some(pw)) => Some(Credentials::new(
                u.expose().to_string(),
                pw.expose().to_string(),
            )),
            _ => None,
        };
        Ok(Email {
            name,
            host,
            port: p.port(),
            tls: p.tls,
            tls_parameters,
            credentials,
            from,
            to,
            subject_prefix: p.subject_prefix.clone(),
            max_per_hour: p.max_per_hour.max(1) as usize,
            timeout,
            sent_at: Mutex::new(VecDeque::new()),
        })
    }

    /// `<prefix> <app> <controller>: <kind>`.
    pub fn subject(&self, event: &ErrorEvent) -> String {
        format!(
            "{} {} {}: {}",
            self.subject_prefix,
            event.app,
            event.controller,
            event.kind.as_str()
        )
    }

    /// The plain-text body.
    pub fn body(event: &ErrorEvent) -> String {
        let mut body = format!(
            "app: {}\ncontroller: {}\ninput: {}\nevent: {}\n",
            event.app,
            event.controller,
            event.input.as_deref().unwrap_or("-"),
            event.kind.as_str(),
        );
        if let Some(h) = event.health {
            body.push_str(&format!("health: {h}\n"));
        }
        body.push_str(&format!(
            "time: {}\n\n{}\n\n-- \nsent by drainscale's email error handler\n",
            event.at, event.message
        ));
        body
    }

    /// The whole message, headers and body, as sent after DATA.
    fn message(&self, event: &ErrorEvent) -> Result<Vec<u8>, HandlerError> {
        let mut b = lettre::Message::builder()
            .from(self.from.clone())
            .subject(self.subject(event))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            b = b.to(to.clone());
        }
        let message = b
            .body(Self::body(event))
            .map_err(|e| HandlerError::Config {
                handler: self.name.clone(),
                message: format!("cannot build the mail: {e}"),
            })?;
        Ok(message.formatted())
    }

    /// Whether a mail may go out now: fewer than `max_per_hour` went out in the last hour. The lane sends one
    /// event at a time, so the answer holds until [`Email::record_sent`].
    fn has_room(&self) -> bool {
        let now = Instant::now();
        let mut sent = self.sent_at.lock().unwrap_or_else(|p| p.into_inner());
        while sent.front().is_some_and(|t| now.duration_since(*t) >= HOUR) {
            sent.pop_front();
        }
        sent.len() < self.max_per_hour
    }

    fn record_sent(&self) {
        self.sent_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(Instant::now());
    }

    fn failed(&self, stage: &str, e: impl std::fmt::Display) -> HandlerError {
        HandlerError::Smtp {
            handler: self.name.clone(),
            message: format!("{stage}: {e}"),
        }
    }

    /// One SMTP session: connect (TLS at once for `tls`), STARTTLS, AUTH, MAIL, RCPT per recipient, DATA.
    async fn deliver(&self, mail: &[u8]) -> Result<(), HandlerError> {
        let hello = ClientId::default();
        let implicit = match self.tls {
            TlsMode::Tls => self.tls_parameters.clone(),
            _ => None,
        };
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(self.timeout),
            &hello,
            implicit,
            None,
        )
        .await
        .map_err(|e| self.failed(&format!("connecting to {}:{}", self.host, self.port), e))?;
        let result = self.session(&mut conn, &hello, mail).await;
        match result {
            Ok(()) => {
                let _ = conn.quit().await;
                Ok(())
            }
            Err(e) => {
                conn.abort().await;
                Err(e)
            }
        }
    }

    async fn session(
        &self,
        conn: &mut AsyncSmtpConnection,
        hello: &ClientId,
        mail: &[u8],
    ) -> Result<(), HandlerError> {
        if self.tls == TlsMode::Starttls {
            if !conn.can_starttls() {
                return Err(self.failed(
                    "STARTTLS",
                    "the relay does not offer STARTTLS (use `tls: tls` for implicit TLS)",
                ));
            }
            let params = self
                .tls_parameters
                .clone()
                .ok_or_else(|| self.failed("STARTTLS", "no TLS parameters"))?;
            conn.starttls(params, hello)
                .await
                .map_err(|e| self.failed("STARTTLS", e))?;
        }
        if let Some(c) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], c)
                .await
                .map_err(|e| self.failed("authentication refused", e))?;
        }
        conn.command(Mail::new(Some(self.from.email.clone()), vec![]))
            .await
            .map_err(|e| self.failed(&format!("sender <{}> refused", self.from.email), e))?;
        for to in &self.to {
            conn.command(Rcpt::new(to.email.clone(), vec![]))
                .await
                .map_err(|e| self.failed(&format!("recipient <{}> refused", to.email), e))?;
        }
        conn.command(Data)
            .await
            .map_err(|e| self.failed("DATA refused", e))?;
        conn.message(mail)
            .await
            .map_err(|e| self.failed("the mail was refused", e))?;
        Ok(())
    }
}

impl ErrorHandler for Email {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn send<'a>(&'a self, event: &'a ErrorEvent) -> Sending<'a> {
        Box::pin(async move {
            if !self.has_room() {
                return Err(HandlerError::RateLimited {
                    handler: self.name.clone(),
                    message: format!(
                        "{} mails sent in the last hour (max_per_hour), this {} is not mailed",
                        self.max_per_hour,
                        event.kind.as_str()
                    ),
                });
            }
            let mail = self.message(event)?;
            self.deliver(&mail).await?;
            self.record_sent();
            Ok(())
        })
    }
}
