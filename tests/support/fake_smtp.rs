//! A fake SMTP relay on 127.0.0.1: ESMTP with STARTTLS (tokio-rustls, a self-signed certificate for
//! 127.0.0.1/localhost made with rcgen, written to a `ca_file` the client is given), implicit TLS, or plain;
//! AUTH PLAIN/LOGIN checking the credentials; recipients it refuses with 550. It records every mail and
//! command.
#![allow(dead_code)]

use base64::Engine as _;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

pub const USER: &str = "relay-user";
pub const PASSWORD: &str = "relay-pa55word";

/// How the fake relay talks.
#[derive(Clone, Copy, PartialEq)]
pub enum Security {
    /// Plain, offering STARTTLS; AUTH only after it.
    Starttls,
    /// TLS from the first byte; AUTH LOGIN only.
    Implicit,
    /// No TLS, no AUTH: a relay on this host.
    Plain,
}

/// One mail the relay accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub authenticated_as: Option<String>,
    pub over_tls: bool,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: String,
}

#[derive(Default)]
pub struct Recorded {
    pub mails: Vec<Received>,
    /// Every command line, AUTH payloads left out.
    pub commands: Vec<String>,
}

pub struct FakeRelay {
    pub port: u16,
    pub ca_file: tempfile::NamedTempFile,
    pub recorded: Arc<Mutex<Recorded>>,
}

impl FakeRelay {
    /// `refused`: recipients answered with 550. The relay takes [`USER`] / [`PASSWORD`].
    pub async fn start(security: Security, refused: &[&str]) -> FakeRelay {
        Self::start_for(security, refused, USER, PASSWORD).await
    }

    /// The same, taking these credentials.
    pub async fn start_for(
        security: Security,
        refused: &[&str],
        user: &str,
        password: &str,
    ) -> FakeRelay {
        let credentials = (user.to_string(), password.to_string());
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
                let credentials = credentials.clone();
                tokio::spawn(async move {
                    let session = Session {
                        credentials,
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

    pub fn ca(&self) -> String {
        self.ca_file.path().display().to_string()
    }

    pub fn mails(&self) -> Vec<Received> {
        self.recorded.lock().unwrap().mails.clone()
    }

    pub fn commands(&self) -> Vec<String> {
        self.recorded.lock().unwrap().commands.clone()
    }
}

pub struct Session {
    credentials: (String, String),
    rec: Arc<Mutex<Recorded>>,
    refused: Vec<String>,
    security: Security,
}

pub fn b64(text: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The address inside `MAIL FROM:<a>` / `RCPT TO:<a>`.
pub fn angle(line: &str) -> String {
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
                        Some((u, p)) if u == self.credentials.0 && p == self.credentials.1 => {
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

pub async fn read_line<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
) -> std::io::Result<String> {
    io.flush().await?;
    let mut l = String::new();
    io.read_line(&mut l).await?;
    Ok(l.trim_end().to_string())
}
