//! Dynosaur's `Dynosaur::ErrorHandler::Ses` as drainscale's e-mail handler on Amazon SES's SMTP endpoint
//! (`email-smtp.<region>.amazonaws.com:587`, STARTTLS), signing in with the access key id and the SES SMTP
//! password that AWS's documented algorithm derives from the secret access key.

use crate::scaler::handlers::email::EmailParams;
use crate::secret::Secret;
use base64::Engine as _;
use ring::hmac;

/// The region when the entry names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The SES SMTP password for a secret access key in a region: HMAC-SHA256 from `"AWS4" + secret` over
/// `11111111`, the region, `ses`, `aws4_request`, `SendRawEmail`, then base64 of the version byte 0x04 and
/// the last signature.
pub fn smtp_password(secret_access_key: &str, region: &str) -> String {
    let mut key = format!("AWS4{secret_access_key}").into_bytes();
    for part in ["11111111", region, "ses", "aws4_request", "SendRawEmail"] {
        let k = hmac::Key::new(hmac::HMAC_SHA256, &key);
        key = hmac::sign(&k, part.as_bytes()).as_ref().to_vec();
    }
    let mut versioned = Vec::with_capacity(1 + key.len());
    versioned.push(0x04);
    versioned.extend_from_slice(&key);
    base64::engine::general_purpose::STANDARD.encode(versioned)
}

/// Why an entry was skipped.
#[derive(Debug, PartialEq, Eq)]
pub enum Skipped {
    /// These keys are empty or missing (an unset environment variable, usually).
    Empty(Vec<&'static str>),
    /// `port` is not a port number.
    BadPort(String),
}

/// The entry's keys (`from`, `to`, `aws_access_key_id`, `aws_secret_access_key`; drainscale's `aws_region`,
/// `host`, `port`, `ca_file`) as e-mail parameters.
pub fn email_params(rest: &serde_yaml_ng::Mapping) -> Result<EmailParams, Skipped> {
    let text = |k: &str| {
        match rest.get(k) {
            Some(serde_yaml_ng::Value::String(s)) => Some(s.trim().to_string()),
            Some(serde_yaml_ng::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
        .filter(|s| !s.is_empty())
    };
    let to: Vec<String> = match rest.get("to") {
        Some(serde_yaml_ng::Value::Sequence(list)) => list
            .iter()
            .filter_map(|v| v.as_str())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        // Dynosaur's sample gives one address, or several separated by commas.
        _ => text("to")
            .map(|t| {
                t.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    };
    let from = text("from");
    let key_id = text("aws_access_key_id");
    let secret = text("aws_secret_access_key");
    let mut empty = Vec::new();
    for (name, missing) in [
        ("from", from.is_none()),
        ("to", to.is_empty()),
        ("aws_access_key_id", key_id.is_none()),
        ("aws_secret_access_key", secret.is_none()),
    ] {
        if missing {
            empty.push(name);
        }
    }
    let (Some(from), Some(key_id), Some(secret), false) = (from, key_id, secret, to.is_empty())
    else {
        return Err(Skipped::Empty(empty));
    };
    let region = text("aws_region").unwrap_or_else(|| DEFAULT_REGION.to_string());
    let host = text("host").unwrap_or_else(|| format!("email-smtp.{region}.amazonaws.com"));
    let mut params = EmailParams::new(host, from, to);
    if let Some(p) = text("port") {
        params.port = Some(p.parse().map_err(|_| Skipped::BadPort(p))?);
    }
    params.ca_file = text("ca_file").map(Into::into);
    params.username = Some(Secret::new(key_id));
    params.password = Some(Secret::new(smtp_password(&secret, &region)));
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    // AWS's documentation example secret key. The expected passwords were computed independently with
    // python3's hmac and hashlib:
    //   sig = hmac.new(("AWS4" + secret).encode(), b"11111111", hashlib.sha256).digest()
    //   for m in (region, "ses", "aws4_request", "SendRawEmail"):
    //       sig = hmac.new(sig, m.encode(), hashlib.sha256).digest()
    //   base64.b64encode(bytes([4]) + sig)
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn the_smtp_password_is_awss_derivation() {
        assert_eq!(
            smtp_password(SECRET, "us-east-1"),
            "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"
        );
        assert_eq!(
            smtp_password(SECRET, "eu-west-1"),
            "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk"
        );
    }

    fn mapping(yaml: &str) -> serde_yaml_ng::Mapping {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn an_entry_maps_to_the_ses_endpoint_and_empty_keys_skip_it() {
        let p = email_params(&mapping(&format!(
            "{{from: ops@shop.example, to: 'a@shop.example, b@shop.example', aws_access_key_id: AKIDEXAMPLE, \
             aws_secret_access_key: '{SECRET}', aws_region: eu-west-1}}"
        )))
        .unwrap();
        assert_eq!(p.host, "email-smtp.eu-west-1.amazonaws.com");
        assert_eq!(p.port(), 587);
        assert_eq!(p.to, ["a@shop.example", "b@shop.example"]);
        assert_eq!(p.username.as_ref().unwrap().expose(), "AKIDEXAMPLE");
        assert_eq!(
            p.password.as_ref().unwrap().expose(),
            "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk"
        );
        let e = email_params(&mapping(
            "{from: '', to: a@shop.example, aws_access_key_id: AKID, aws_secret_access_key: ''}",
        ))
        .unwrap_err();
        assert_eq!(e, Skipped::Empty(vec!["from", "aws_secret_access_key"]));
    }
}
