//! Google service-account OAuth for the `google_analytics` input, without a Google SDK: reading a JSON key
//! file, decoding its PKCS#8 PEM key (also Dynosaur's form, newlines written as `|`), signing an RS256 JWT
//! assertion with `ring`, exchanging it at the token endpoint and caching the access token until shortly
//! before it expires.
//!
//! It is not a general Google client: no user (3-legged) OAuth, no metadata-server or workload-identity
//! credentials, no key rotation, one scope. Keys and tokens are [`Secret`]s; no error message holds either.

pub use super::super::clip;
#[cfg(test)]
use super::super::MESSAGE_CHARS;
use crate::secret::{http_error, Secret, SecretUrl};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The one scope asked for: read-only access to Analytics data.
pub const ANALYTICS_READONLY: &str = "https://www.googleapis.com/auth/analytics.readonly";

/// Google's token endpoint, used when neither the entry nor the key file names one.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// How long a signed assertion is valid (`exp - iat`): Google's maximum.
pub const ASSERTION_LIFETIME_SECS: u64 = 3600;

/// A cached token is refreshed when less than this remains (or less than a tenth of its lifetime, if shorter).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// What a service-account key provides.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccountKey {
    /// The account's e-mail (`name@project.iam.gserviceaccount.com`), the JWT's `iss`.
    pub client_email: String,
    /// The PEM private key.
    pub private_key: Secret,
    /// The token endpoint the key file names, if any.
    pub token_uri: Option<String>,
}

/// Reads a Google JSON key file. Errors name the file and the field, never a value.
pub fn read_key_file(path: &Path) -> Result<ServiceAccountKey, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read key_file {shown}: {e}"))?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "key_file {shown} is not a JSON key file (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    let field = |name: &str| -> Result<Option<String>, String> {
        match json.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("key_file {shown}: field `{name}` is not a string")),
        }
    };
    let required = |name: &str| -> Result<String, String> {
        field(name)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                format!("key_file {shown}: field `{name}` is missing (is this a service-account key file?)")
            })
    };
    let client_email = required("client_email")?;
    let private_key = Secret::new(required("private_key")?);
    let token_uri = field("token_uri")?.filter(|s| !s.trim().is_empty());
    Ok(ServiceAccountKey {
        client_email,
        private_key,
        token_uri,
    })
}

/// A PEM key as written in a config: real newlines, Dynosaur's `|` for newlines, or `\n` escapes (as a key
/// pasted into an environment variable often has them).
pub fn pem_text(raw: &str) -> String {
    raw.replace("\\n", "\n").replace('|', "\n")
}

/// The DER bytes of a PKCS#8 `PRIVATE KEY` PEM block. Other PEM kinds are refused with what to do.
pub fn pkcs8_der(raw: &str) -> Result<Vec<u8>, String> {
    let pem = pem_text(raw);
    let Some(begin) = pem.find("-----BEGIN ") else {
        return Err(
            "private_key is not a PEM key (expected -----BEGIN PRIVATE KEY-----)".to_string(),
        );
    };
    let after = &pem[begin + "-----BEGIN ".len()..];
    let Some(label_end) = after.find("-----") else {
        return Err("private_key has a broken PEM header".to_string());
    };
    let label = after[..label_end].trim();
    match label {
        "PRIVATE KEY" => {}
        "RSA PRIVATE KEY" => {
            return Err(
                "private_key is a PKCS#1 key (BEGIN RSA PRIVATE KEY); a PKCS#8 key \
                 (BEGIN PRIVATE KEY, as in Google's key files) is needed: convert it with \
                 `openssl pkcs8 -topk8 -nocrypt`"
                    .to_string(),
            )
        }
        "ENCRYPTED PRIVATE KEY" => {
            return Err(
                "private_key is encrypted; give the unencrypted PKCS#8 key from Google's key file"
                    .to_string(),
            )
        }
        other => {
            return Err(format!(
                "private_key is a PEM {other:?}, not a PRIVATE KEY (PKCS#8 RSA)"
            ))
        }
    }
    let body_and_rest = &after[label_end + "-----".len()..];
    let Some(end) = body_and_rest.find("-----END PRIVATE KEY-----") else {
        return Err("private_key has no -----END PRIVATE KEY----- line".to_string());
    };
    let body: String = body_and_rest[..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(body.as_bytes())
        .map_err(|_| "private_key: the PEM body is not valid base64".to_string())
}

/// An RSA key that signs RS256 (RSASSA-PKCS1-v1_5 with SHA-256).
pub struct Signer {
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(***)")
    }
}

impl Signer {
    /// Parses a PKCS#8 RSA private key in PEM (any of the forms [`pem_text`] reads).
    pub fn from_pem(private_key: &Secret) -> Result<Signer, String> {
        let der = pkcs8_der(private_key.expose())?;
        let key = RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| format!("private_key is not a PKCS#8 RSA key ({e})"))?;
        Ok(Signer {
            key,
            rng: SystemRandom::new(),
        })
    }

    /// The RS256 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature)
            .map_err(|_| "signing the token request failed".to_string())?;
        Ok(signature)
    }
}

/// The signed JWT assertion Google's token endpoint takes: header `{"alg":"RS256","typ":"JWT"}`, claims
/// `iss`, `scope`, `aud`, `iat`, `exp` (`iat` + [`ASSERTION_LIFETIME_SECS`]).
pub fn assertion(
    signer: &Signer,
    client_email: &str,
    audience: &str,
    iat: u64,
) -> Result<String, String> {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": client_email,
        "scope": ANALYTICS_READONLY,
        "aud": audience,
        "iat": iat,
        "exp": iat + ASSERTION_LIFETIME_SECS,
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{claims}");
    let signature = URL_SAFE_NO_PAD.encode(signer.sign(signing_input.as_bytes())?);
    Ok(format!("{signing_input}.{signature}"))
}

/// How much earlier than its expiry a token of `lifetime` is replaced: [`REFRESH_MARGIN`], or a tenth of the
/// lifetime when that is shorter.
pub fn refresh_margin(lifetime: Duration) -> Duration {
    REFRESH_MARGIN.min(lifetime / 10)
}

/// An access token and when it must be replaced.
struct AccessToken {
    token: Secret,
    refresh_at: Instant,
}

/// A service account that hands out access tokens, fetching one only when the cached one is near expiry.
pub struct ServiceAccount {
    client_email: String,
    token_uri: SecretUrl,
    signer: Signer,
    client: reqwest::Client,
    cached: Mutex<Option<AccessToken>>,
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<f64>,
}

#[derive(serde::Deserialize, Default)]
struct TokenRefusal {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

impl ServiceAccount {
    /// Checks the key and builds the HTTP client (requests time out after `timeout`).
    pub fn new(
        key: &ServiceAccountKey,
        token_uri: SecretUrl,
        timeout: Duration,
    ) -> Result<ServiceAccount, String> {
        let signer = Signer::from_pem(&key.private_key)?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("drainscale/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", http_error(&e)))?;
        Ok(ServiceAccount {
            client_email: key.client_email.clone(),
            token_uri,
            signer,
            client,
            cached: Mutex::new(None),
        })
    }

    /// The account's e-mail.
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// An access token valid at `now` (monotonic): the cached one, or a fresh one when less than the refresh
    /// margin remains.
    pub async fn token(&self, now: Instant) -> Result<Secret, String> {
        if let Some(token) = self.cached_at(now) {
            return Ok(token);
        }
        let (token, lifetime) = self.exchange().await?;
        let refresh_at = now + lifetime.saturating_sub(refresh_margin(lifetime));
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some(AccessToken {
            token: token.clone(),
            refresh_at,
        });
        Ok(token)
    }

    /// Forgets the cached token (the API refused it): the next [`ServiceAccount::token`] fetches a new one.
    pub fn invalidate(&self) {
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn cached_at(&self, now: Instant) -> Option<Secret> {
        let cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        cached
            .as_ref()
            .filter(|t| now < t.refresh_at)
            .map(|t| t.token.clone())
    }

    /// Signs an assertion and trades it for an access token and its lifetime.
    async fn exchange(&self) -> Result<(Secret, Duration), String> {
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let jwt = assertion(
            &self.signer,
            &self.client_email,
            self.token_uri.expose(),
            iat,
        )?;
        let body = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={jwt}"
        );
        let response = self
            .client
            .post(self.token_uri.expose())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("token endpoint {}: {}", self.token_uri, http_error(&e)))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| {
            format!(
                "token endpoint {}: reading the answer: {}",
                self.token_uri,
                http_error(&e)
            )
        })?;
        if (200..300).contains(&status) {
            let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(|_| {
                format!(
                    "token endpoint {} answered {status} with a body that is not a token answer",
                    self.token_uri
                )
            })?;
            let token = answer
                .access_token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    format!(
                        "token endpoint {} answered {status} without an access_token",
                        self.token_uri
                    )
                })?;
            // Google always says; an answer without it is treated as a token for one use.
            let secs = answer.expires_in.unwrap_or(0.0);
            let lifetime = if secs.is_finite() && secs > 0.0 {
                Duration::from_secs_f64(secs.min(86_400.0))
            } else {
                Duration::ZERO
            };
            return Ok((Secret::new(token), lifetime));
        }
        let refusal: TokenRefusal = serde_json::from_slice(&bytes).unwrap_or_default();
        let said = if refusal.error.is_empty() {
            clip(&String::from_utf8_lossy(&bytes))
        } else if refusal.error_description.is_empty() {
            refusal.error.clone()
        } else {
            clip(&format!("{}: {}", refusal.error, refusal.error_description))
        };
        if status == 400 || status == 401 {
            return Err(format!(
                "the token endpoint {} refused the service account {} (HTTP {status} {said}): check \
                 client_email and private_key, that the key was not deleted or disabled, and the \
                 machine's clock",
                self.token_uri, self.client_email
            ));
        }
        Err(format!(
            "token endpoint {} answered HTTP {status}: {said}",
            self.token_uri
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynosaur_bars_and_escaped_newlines_become_newlines() {
        assert_eq!(pem_text("a|b|c"), "a\nb\nc");
        assert_eq!(pem_text("a\\nb"), "a\nb");
        assert_eq!(pem_text("a\nb"), "a\nb");
    }

    #[test]
    fn other_pem_kinds_are_refused_with_advice() {
        let pkcs1 = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert!(pkcs8_der(pkcs1).unwrap_err().contains("openssl pkcs8"));
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(pkcs8_der(cert).unwrap_err().contains("CERTIFICATE"));
        assert!(pkcs8_der("hunter2").unwrap_err().contains("not a PEM key"));
        let bad = "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n";
        let e = pkcs8_der(bad).unwrap_err();
        assert!(e.contains("base64") && !e.contains("!!!!"), "{e}");
        let cut = "-----BEGIN PRIVATE KEY-----\nAAAA\n";
        assert!(pkcs8_der(cut).unwrap_err().contains("END PRIVATE KEY"));
    }

    #[test]
    fn a_pem_body_decodes_across_its_line_breaks() {
        let pem = "-----BEGIN PRIVATE KEY-----|AAEC|AwQF|-----END PRIVATE KEY-----|";
        assert_eq!(pkcs8_der(pem).unwrap(), vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn the_refresh_margin_is_five_minutes_or_a_tenth() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(300)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(100)),
            Duration::from_secs(10)
        );
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn clip_cuts_long_messages_to_one_line() {
        assert_eq!(clip(" a\nb "), "a b");
        let long = "x".repeat(500);
        let cut = clip(&long);
        assert_eq!(cut.chars().count(), MESSAGE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
