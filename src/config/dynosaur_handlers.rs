//! Dynosaur's `stats_plugins`, `error_handlers` and `success_handlers` entries that map to drainscale's own:
//! Librato stats to the Librato-format outlet, Bugsnag to the bugsnag handler, Cronut to the cronut success
//! handler (SES is in `dynosaur_ses.rs`). Each returns `None` when the entry's credentials are empty (unset
//! environment variables), for the caller to skip it with a warning.

use super::ErrorHandlerConfig;
use crate::outlet::OutletConfig;
use crate::scaler::handlers::bugsnag::BugsnagParams;
use crate::scaler::success::SuccessHandlerConfig;
use crate::secret::{Secret, SecretUrl};

/// One entry of those sections: its class (`Dynosaur::Stats::Librato`) and its other keys.
pub struct Entry<'a> {
    pub kind: &'a str,
    pub rest: &'a serde_yaml_ng::Mapping,
}

/// `Dynosaur::ErrorHandler::Bugsnag` (`api_key`, `release_stage` defaulting to `production` as in Dynosaur, and
/// drainscale's `endpoint` if given) as drainscale's bugsnag handler; `None` when the key is empty (an unset
/// environment variable).
pub fn bugsnag(h: &Entry<'_>) -> Option<ErrorHandlerConfig> {
    let text = |k: &str| match h.rest.get(k) {
        Some(serde_yaml_ng::Value::String(s)) => Some(s.trim().to_string()),
        Some(serde_yaml_ng::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let api_key = text("api_key").filter(|k| !k.is_empty())?;
    let mut params = BugsnagParams::new(Secret::new(api_key));
    if let Some(e) = text("endpoint").filter(|e| !e.is_empty()) {
        params.endpoint = SecretUrl::new(e);
    }
    // Dynosaur's handler set `release_stage` to "production" unless told otherwise.
    params.release_stage = Some(
        text("release_stage")
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "production".into()),
    );
    Some(ErrorHandlerConfig::new(params))
}

/// `Dynosaur::Stats::Librato` (`api_email`, `api_key`, and drainscale's `url` if given) as the Librato-format
/// outlet, which carries the scaler's stats under Dynosaur's names (and the drain's windows, if any). `None`
/// when the email or key is empty (unset environment variables); `Some(note)` when mapped. An `outlets.librato`
/// written beside it in the file wins.
pub fn librato(h: &Entry<'_>, outlets: &mut OutletConfig) -> Result<Option<String>, String> {
    let text = |k: &str| match h.rest.get(k) {
        Some(serde_yaml_ng::Value::String(s)) => s.trim().to_string(),
        Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    if let Some(k) = h
        .rest
        .keys()
        .filter_map(|k| k.as_str())
        .find(|k| !["api_email", "api_key", "url"].contains(k))
    {
        return Err(format!(
            "stats_plugins {}: unknown key `{k}` (expected api_email, api_key, url)",
            h.kind
        ));
    }
    let (user, token) = (text("api_email"), text("api_key"));
    if user.is_empty() || token.is_empty() {
        return Ok(None);
    }
    if outlets.librato.is_some() {
        return Ok(Some(
            "outlets.librato in this file is used instead of api_email/api_key".into(),
        ));
    }
    let mut config = crate::outlet::LibratoConfig {
        user,
        token: Secret::new(token),
        ..Default::default()
    };
    let url = text("url");
    if !url.is_empty() {
        config.url = SecretUrl::new(url);
    }
    let note = format!(
        "the Librato-format outlet to {} as {} (the hosted Librato service is retired: add `url:` to this \
         entry for a compatible receiver)",
        config.url, config.user
    );
    outlets.librato = Some(config);
    Ok(Some(note))
}

/// `Dynosaur::Success::Cronut` (`host`, `public_key` with `|` for newlines, `cronut_token`, `api_token`,
/// `interval` in seconds) as drainscale's cronut success handler, keys unchanged; `None` when the key or the
/// API token is empty (unset environment variables).
pub fn cronut(h: &Entry<'_>) -> Result<Option<SuccessHandlerConfig>, String> {
    let empty = |k: &str| match h.rest.get(k) {
        None | Some(serde_yaml_ng::Value::Null) => true,
        Some(serde_yaml_ng::Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    };
    if empty("public_key") || empty("api_token") {
        return Ok(None);
    }
    let mut keys = h.rest.clone();
    keys.insert("type".into(), "cronut".into());
    let config: SuccessHandlerConfig = serde_yaml_ng::from_value(keys.into())
        .map_err(|e| format!("success_handlers {}: {e}", h.kind))?;
    config
        .validate()
        .map_err(|e| format!("success_handlers {}: {e}", h.kind))?;
    Ok(Some(config))
}
