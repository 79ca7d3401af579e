//! Values that must never be printed: [`Secret`] (a password, token or API key) and [`SecretUrl`] (a URL that
//! may carry one in its userinfo, path or query). Their `Debug`, `Display` and `Serialize` show a mask; only
//! [`Secret::expose`] / [`SecretUrl::expose`] give the value, to the code that must send it. [`http_error`]
//! tells a `reqwest` error without the URL it carries.
//!
//! This is a leaf module: it knows nothing of the config layout, the drain or the scaler. It does not
//! validate URLs (the config checks do); it only decides what of one may be shown.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// What a set secret prints as.
pub const MASK: &str = "***";

/// A credential. Prints as `***` (or `(empty)` when empty, so a missing value stays visible).
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the code that sends it (an `Authorization` header, a comparison).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when empty or only whitespace.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// What `Display` shows: `***`, or `(empty)`.
    pub fn masked(&self) -> &'static str {
        if self.0.is_empty() {
            "(empty)"
        } else {
            MASK
        }
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

/// For comparing configs; the drain's credential checks compare in constant time themselves.
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.masked())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.masked())
    }
}

/// Serializes as `"***"` (or `""` when empty): a rendered config never holds the value.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { MASK })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(SecretVisitor).map(Secret)
    }
}

/// Reads a string (or a number or boolean, as its text: a numeric API key written unquoted). Its errors never
/// contain the value.
struct SecretVisitor;

impl de::Visitor<'_> for SecretVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string (a secret)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<String, E> {
        String::from_utf8(v.to_vec())
            .map_err(|_| E::invalid_type(de::Unexpected::Other("bytes that are not UTF-8"), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<String, E> {
        // Its text would not survive the round trip through f64: ask for quotes, without echoing it.
        Err(E::invalid_type(
            de::Unexpected::Other("a number with a fraction or exponent"),
            &"a string (quote the secret)",
        ))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// A URL that may hold a credential (`https://user:pass@host`, `https://hc.example/ping/<token>`,
/// `https://hooks.example/x?token=...`). Prints as `scheme://host[:port]` plus `***@` when it has userinfo,
/// `/***` when it has a path beyond `/`, `?***` when it has a query and `#***` when it has a fragment. When the
/// host cannot be told for sure (no `scheme://`, a character no host name has, an `@` outside the authority
/// that might be an unencoded userinfo), the host is masked too.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(url: impl Into<String>) -> Self {
        SecretUrl(url.into())
    }

    /// The URL itself, for the code that requests it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `http://` or `https://`.
    pub fn is_http(&self) -> bool {
        self.0.starts_with("http://") || self.0.starts_with("https://")
    }

    /// The same URL without trailing `/`s (a base URL, to be joined with a path).
    pub fn trim_end_slashes(&self) -> SecretUrl {
        SecretUrl(self.0.trim_end_matches('/').to_string())
    }

    /// The URL with `suffix` appended (`base.join("/apps/x")`); still a secret.
    pub fn join(&self, suffix: &str) -> SecretUrl {
        SecretUrl(format!("{}{suffix}", self.0))
    }

    /// What `Display` shows.
    pub fn masked(&self) -> String {
        mask_url(&self.0)
    }
}

impl From<String> for SecretUrl {
    fn from(s: String) -> Self {
        SecretUrl(s)
    }
}

impl From<&str> for SecretUrl {
    fn from(s: &str) -> Self {
        SecretUrl(s.to_string())
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.masked())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(UrlVisitor).map(SecretUrl)
    }
}

struct UrlVisitor;

impl de::Visitor<'_> for UrlVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a URL string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
}

/// The shown form of a URL: scheme, host and port only, every other part replaced by its mask.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return if url.is_empty() {
            "(empty)".into()
        } else {
            MASK.into()
        };
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return MASK.into();
    }
    // RFC 3986: the authority ends at the first `/`, `?` or `#`; its userinfo ends at its last `@`.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => (true, &authority[at + 1..]),
        None => (false, authority),
    };
    let mut out = format!("{scheme}://");
    if userinfo {
        out.push_str(MASK);
        out.push('@');
    }
    // An `@` further on may be a userinfo written with an unencoded `/`, `?` or `#`: then what looks like the
    // host is part of the secret.
    let host_known = !tail.contains('@') && valid_host_port(hostport);
    if host_known {
        out.push_str(hostport);
    } else {
        out.push_str(MASK);
    }
    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((b, _)) => (b, true),
        None => (tail, false),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, _)) => (p, true),
        None => (before_fragment, false),
    };
    if path == "/" {
        out.push('/');
    } else if !path.is_empty() {
        out.push('/');
        out.push_str(MASK);
    }
    if query {
        out.push('?');
        out.push_str(MASK);
    }
    if fragment {
        out.push('#');
        out.push_str(MASK);
    }
    out
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`, with a host name of letters, digits, `-`, `.` and `_`.
fn valid_host_port(s: &str) -> bool {
    let port_ok = |p: &str| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
    if let Some(v6) = s.strip_prefix('[') {
        let Some((inside, after)) = v6.split_once(']') else {
            return false;
        };
        let inside_ok = !inside.is_empty()
            && inside
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return inside_ok && (after.is_empty() || after.strip_prefix(':').is_some_and(port_ok));
    }
    let (host, port) = match s.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    host_ok && port.is_none_or(port_ok)
}

/// A `reqwest` error in words, without the URL it carries (which may hold a credential): its kind and the
/// chain of causes.
pub fn http_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_redirect() {
        "too many redirects"
    } else if e.is_body() || e.is_decode() {
        "reading the body failed"
    } else if e.is_builder() {
        "bad request"
    } else if e.is_request() {
        "sending the request failed"
    } else if e.is_status() {
        "error status"
    } else {
        "HTTP error"
    };
    let mut out = kind.to_string();
    let mut source = std::error::Error::source(e);
    let mut seen = 0;
    while let Some(s) = source {
        let text = s.to_string();
        // A cause may carry the URL again (`reqwest`'s own wrappers): keep such a link out.
        if !text.contains("://") && !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        seen += 1;
        if seen == 4 {
            break;
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(url: &str) -> String {
        SecretUrl::new(url).to_string()
    }

    #[test]
    fn a_secret_prints_as_its_mask_everywhere() {
        let s = Secret::new("hunter2");
        assert_eq!(s.to_string(), "***");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "hunter2");
        let empty = Secret::default();
        assert_eq!(empty.to_string(), "(empty)");
        assert_eq!(serde_json::to_string(&empty).unwrap(), "\"\"");
        assert_eq!(Secret::new("a"), Secret::new("a"));
        assert_ne!(Secret::new("a"), Secret::new("ab"));
    }

    #[test]
    fn a_secret_reads_strings_and_unquoted_numbers() {
        let s: Secret = serde_yaml_ng::from_str("'p@ss:w/rd?%'").unwrap();
        assert_eq!(s.expose(), "p@ss:w/rd?%");
        let n: Secret = serde_yaml_ng::from_str("123456").unwrap();
        assert_eq!(n.expose(), "123456");
        let e = serde_yaml_ng::from_str::<Secret>("[hunter2]").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        // YAML hands a plain scalar over as its text: nothing is lost to number parsing.
        let f: Secret = serde_yaml_ng::from_str("1.50e3").unwrap();
        assert_eq!(f.expose(), "1.50e3");
    }

    #[test]
    fn userinfo_with_and_without_a_colon_is_never_shown() {
        assert_eq!(
            shown("https://u:pw@host.example/"),
            "https://***@host.example/"
        );
        assert_eq!(
            shown("https://tokenonly@host.example"),
            "https://***@host.example"
        );
        assert_eq!(
            shown("https://u:p@ss@host.example:8443"),
            "https://***@host.example:8443"
        );
        assert_eq!(
            shown("https://:pw@host.example"),
            "https://***@host.example"
        );
        assert_eq!(shown("https://@host.example"), "https://***@host.example");
    }

    #[test]
    fn paths_queries_and_fragments_are_masked() {
        assert_eq!(shown("https://api.heroku.com"), "https://api.heroku.com");
        assert_eq!(shown("https://api.heroku.com/"), "https://api.heroku.com/");
        assert_eq!(
            shown("https://hc-ping.com/8f6c-uuid-token"),
            "https://hc-ping.com/***"
        );
        assert_eq!(
            shown("https://hooks.example/services/T0/B0/xyz"),
            "https://hooks.example/***"
        );
        assert_eq!(
            shown("https://nosnch.in/abc?m=ok"),
            "https://nosnch.in/***?***"
        );
        assert_eq!(
            shown("https://h.example?token=abc"),
            "https://h.example?***"
        );
        assert_eq!(
            shown("https://h.example/?token=abc"),
            "https://h.example/?***"
        );
        assert_eq!(
            shown("http://127.0.0.1:9/x#frag"),
            "http://127.0.0.1:9/***#***"
        );
        assert_eq!(shown("http://[::1]:8080/p"), "http://[::1]:8080/***");
    }

    #[test]
    fn an_ambiguous_host_is_masked_too() {
        // A user name with an unencoded `/`: the authority ends early and what follows is secret.
        assert_eq!(shown("https://tok/en@host.example/x"), "https://***/***");
        assert_eq!(shown("https://u:pa?ss@host.example/x"), "https://***?***");
        assert_eq!(shown("https://u:pa#ss@host.example"), "https://***#***");
        // A port that is not a port: `u:secret` without `@` is userinfo-like.
        assert_eq!(shown("https://u:secret/x"), "https://***/***");
        assert_eq!(shown("https://ho%73t.example/"), "https://***/");
        assert_eq!(shown("host.example/token"), "***");
        assert_eq!(shown(""), "(empty)");
        assert_eq!(shown("javascript:alert"), "***");
    }

    #[test]
    fn debug_and_serialize_use_the_mask() {
        let u = SecretUrl::new("https://u:pw@h.example/t?k=v");
        assert_eq!(format!("{u:?}"), "SecretUrl(https://***@h.example/***?***)");
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            "\"https://***@h.example/***?***\""
        );
        assert_eq!(u.expose(), "https://u:pw@h.example/t?k=v");
        assert_eq!(
            u.trim_end_slashes().join("/apps/x").expose(),
            "https://u:pw@h.example/t?k=v/apps/x"
        );
    }
}
