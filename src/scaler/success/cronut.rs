//! `type: cronut`: Cronut's check-in (Dynosaur's `Dynosaur::Success::Cronut`). `POST {host}/ping/`,
//! form-encoded `public_id=<base64 of the RSA (PKCS#1 v1.5) encryption of "<unix seconds>-<cronut_token>"
//! with the job's public key>`, header `X-CRONUT-API-TOKEN: <api_token>`. The timestamp inside lets Cronut
//! refuse a replayed check-in; the key is the job's, so only its holder can forge one.
//!
//! Only the public-key operation is used (no private key is ever held), which is why the `rsa` crate's
//! timing advisory on decryption (RUSTSEC-2023-0071) does not apply here.

use super::{error, SuccessHandler};
use crate::scaler::handlers::Sending;
use crate::secret::{http_error, Secret, SecretUrl};
use base64::Engine;
use jiff::Timestamp;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Encrypt, RsaPublicKey};
use std::time::Duration;

/// The public key from its PEM text; `|` stands for a newline, as in Dynosaur's config (YAML could not hold
/// the unindented lines). SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
pub fn public_key(pem: &str) -> Result<RsaPublicKey, String> {
    let text = pem.trim().replace('|', "\n");
    if text.is_empty() {
        return Err("is empty (set CRONUT_PUBLIC_KEY?)".into());
    }
    if text.contains("PRIVATE KEY") {
        return Err("is a private key: give the job's public key".into());
    }
    RsaPublicKey::from_public_key_pem(&text)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(&text))
        .map_err(|e| {
            format!(
                "is not an RSA public key in PEM (BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY): {e}"
            )
        })
}

/// The `public_id` form value for a check-in at `unix` seconds.
pub fn public_id(key: &RsaPublicKey, unix: i64, cronut_token: &str) -> Result<String, String> {
    let plain = format!("{unix}-{cronut_token}");
    let sealed = key
        .encrypt(
            &mut rsa::rand_core::OsRng,
            Pkcs1v15Encrypt,
            plain.as_bytes(),
        )
        .map_err(|e| format!("encrypting the check-in: {e}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
}

pub struct Cronut {
    /// The base URL, without trailing `/` (shown masked).
    host: SecretUrl,
    key: RsaPublicKey,
    cronut_token: Secret,
    api_token: Secret,
    interval: Duration,
    client: reqwest::Client,
}

impl Cronut {
    pub fn new(
        host: SecretUrl,
        key: RsaPublicKey,
        cronut_token: Secret,
        api_token: Secret,
        interval: Duration,
        timeout: Duration,
    ) -> Result<Cronut, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| http_error(&e))?;
        Ok(Cronut {
            host: host.trim_end_slashes(),
            key,
            cronut_token,
            api_token,
            interval,
            client,
        })
    }
}

impl SuccessHandler for Cronut {
    fn name(&self) -> String {
        format!("cronut {}", self.host)
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn send(&self, at: Timestamp) -> Sending<'_> {
        Box::pin(async move {
            let id = public_id(&self.key, at.as_second(), self.cronut_token.expose())
                .map_err(|e| error(self.name(), e))?;
            let response = self
                .client
                .post(self.host.join("/ping/").expose())
                .header("X-CRONUT-API-TOKEN", self.api_token.expose())
                .form(&[("public_id", id)])
                .send()
                .await
                .map_err(|e| error(self.name(), http_error(&e)))?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let body = response.text().await.unwrap_or_default();
            Err(error(
                self.name(),
                format!("HTTP {status}: {}", crate::scaler::inputs::clip(&body)),
            ))
        })
    }
}
