//! Who may talk to the drain: HTTP Basic (from the drain URL's userinfo) and/or an allowlist of
//! `Logplex-Drain-Token`s, compared in constant time. It decides; it does not answer HTTP or log.

use super::config::AuthConfig;
use base64::Engine;
use hyper::header::{HeaderMap, AUTHORIZATION};

/// Why a request was refused. The secret itself is never part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// No `Authorization` header (or not `Basic`, or undecodable) while users are configured.
    MissingBasic,
    /// A Basic user/password pair that matched no configured user; the user name is kept for the log.
    WrongBasic { user: String },
    /// No `Logplex-Drain-Token` header while tokens are configured.
    MissingToken,
    /// A token not in the allowlist.
    WrongToken,
}

impl Denied {
    /// A stable label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Denied::MissingBasic => "missing_basic",
            Denied::WrongBasic { .. } => "wrong_basic",
            Denied::MissingToken => "missing_token",
            Denied::WrongToken => "wrong_token",
        }
    }

    pub const REASONS: [&'static str; 4] = [
        "missing_basic",
        "wrong_basic",
        "missing_token",
        "wrong_token",
    ];
}

/// A compiled [`AuthConfig`].
#[derive(Clone)]
pub struct Authenticator {
    users: Vec<(Vec<u8>, Vec<u8>)>,
    tokens: Vec<Vec<u8>>,
}

impl Authenticator {
    /// `None` when the config is open (no users, no tokens): the caller must have checked `insecure`.
    pub fn new(cfg: &AuthConfig) -> Option<Authenticator> {
        if cfg.is_open() {
            return None;
        }
        Some(Authenticator {
            users: cfg
                .users
                .iter()
                .map(|u| {
                    (
                        u.user.clone().into_bytes(),
                        u.password.expose().as_bytes().to_vec(),
                    )
                })
                .collect(),
            tokens: cfg
                .tokens
                .iter()
                .map(|t| t.expose().as_bytes().to_vec())
                .collect(),
        })
    }

    /// Every configured mechanism must pass.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Denied> {
        if !self.users.is_empty() {
            let (user, password) = basic_credentials(headers).ok_or(Denied::MissingBasic)?;
            // Check every user without short-circuiting, so timing does not tell which user exists.
            let mut ok = false;
            for (u, p) in &self.users {
                ok |= constant_time_eq(u, &user) & constant_time_eq(p, &password);
            }
            if !ok {
                return Err(Denied::WrongBasic {
                    user: String::from_utf8_lossy(&user).into_owned(),
                });
            }
        }
        if !self.tokens.is_empty() {
            let token = headers
                .get("logplex-drain-token")
                .ok_or(Denied::MissingToken)?
                .as_bytes();
            let mut ok = false;
            for t in &self.tokens {
                ok |= constant_time_eq(t, token);
            }
            if !ok {
                return Err(Denied::WrongToken);
            }
        }
        Ok(())
    }
}

/// The decoded `user` and `password` of an `Authorization: Basic ...` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(Vec<u8>, Vec<u8>)> {
    let value = headers.get(AUTHORIZATION)?.as_bytes();
    let (scheme, rest) = value.split_at(value.iter().position(|b| *b == b' ')?);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim_ascii())
        .ok()?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

/// Compares two byte strings in time that depends only on their lengths, never on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drain::config::BasicUser;
    use hyper::header::HeaderValue;

    fn auth(users: &[(&str, &str)], tokens: &[&str]) -> Authenticator {
        Authenticator::new(&AuthConfig {
            users: users
                .iter()
                .map(|(u, p)| BasicUser {
                    user: u.to_string(),
                    password: (*p).into(),
                })
                .collect(),
            tokens: tokens.iter().map(|t| (*t).into()).collect(),
            insecure: false,
        })
        .unwrap()
    }

    fn basic(user: &str, pass: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {enc}")).unwrap(),
        );
        h
    }

    #[test]
    fn basic_users() {
        let a = auth(&[("u", "p:with:colons"), ("v", "q")], &[]);
        assert_eq!(a.check(&basic("u", "p:with:colons")), Ok(()));
        assert_eq!(a.check(&basic("v", "q")), Ok(()));
        assert_eq!(
            a.check(&basic("u", "q")),
            Err(Denied::WrongBasic { user: "u".into() })
        );
        assert_eq!(a.check(&HeaderMap::new()), Err(Denied::MissingBasic));
        let mut bearer = HeaderMap::new();
        bearer.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(a.check(&bearer), Err(Denied::MissingBasic));
    }

    #[test]
    fn tokens_and_both() {
        let a = auth(&[], &["d.1", "d.2"]);
        let mut h = HeaderMap::new();
        assert_eq!(a.check(&h), Err(Denied::MissingToken));
        h.insert("logplex-drain-token", HeaderValue::from_static("d.3"));
        assert_eq!(a.check(&h), Err(Denied::WrongToken));
        h.insert("logplex-drain-token", HeaderValue::from_static("d.2"));
        assert_eq!(a.check(&h), Ok(()));

        let both = auth(&[("u", "p")], &["d.1"]);
        let mut h = basic("u", "p");
        assert_eq!(both.check(&h), Err(Denied::MissingToken));
        h.insert("logplex-drain-token", HeaderValue::from_static("d.1"));
        assert_eq!(both.check(&h), Ok(()));
    }

    #[test]
    fn constant_time_eq_is_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }
}
