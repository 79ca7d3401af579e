//! Reading a config file: interpolate the environment, recognise the layout (drainscale's or Dynosaur's),
//! deserialize, validate. Every error names the file, the key path and, where it can, the line; no error
//! repeats a value from the file (see [`super::redact`]), so a mistyped secret is not printed.

use super::interpolate::interpolate;
use super::redact::redact;
use super::{dynosaur, validate, Config};
use std::path::Path;

/// Which layout the file was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Native,
    Dynosaur,
}

/// A validated config and what the user should know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    pub layout: Layout,
    pub warnings: Vec<String>,
    /// The file name, for messages.
    pub file: String,
}

/// A config file that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

/// Reads, interpolates (with the process environment) and validates a config file.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        message: format!("cannot read: {e}"),
    })?;
    load_str(&text, &file, &|name| std::env::var(name).ok())
}

/// Like [`load`], from text and an environment lookup.
pub fn load_str(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    let fail = |message: String| ConfigError {
        file: file.to_string(),
        message,
    };
    let (text, mut warnings) = interpolate(text, env).map_err(|e| fail(e.to_string()))?;
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(fail("the file is empty".into()));
    }
    let parse_error = |e: &str| fail(redact(&refine(e, &text)));
    let layout = detect(&text).map_err(|e| parse_error(&e.to_string()))?;
    let config = match layout {
        Layout::Native => {
            serde_yaml_ng::from_str::<Config>(&text).map_err(|e| parse_error(&e.to_string()))?
        }
        Layout::Dynosaur => {
            let (config, more) = dynosaur::parse(&text).map_err(|e| parse_error(&e))?;
            warnings.extend(more);
            config
        }
    };
    warnings.extend(validate::validate(&config, &text).map_err(fail)?);
    Ok(Loaded {
        config,
        layout,
        warnings,
        file: file.to_string(),
    })
}

/// Dynosaur's files have `controller_plugins` (or, before 0.5, `plugins`) at the top.
fn detect(text: &str) -> Result<Layout, serde_yaml_ng::Error> {
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text)?;
    let dynosaur = value
        .as_mapping()
        .is_some_and(|m| m.contains_key("controller_plugins") || m.contains_key("plugins"));
    Ok(if dynosaur {
        Layout::Dynosaur
    } else {
        Layout::Native
    })
}

/// serde reports errors inside an input entry at the line where its list starts: when the message names an
/// unknown field, point at the line of that key instead.
pub fn refine(message: &str, text: &str) -> String {
    let Some(field) = message
        .split("unknown field `")
        .nth(1)
        .and_then(|r| r.split('`').next())
    else {
        return message.to_string();
    };
    let Some((head, tail)) = message.rsplit_once(" at line ") else {
        return message.to_string();
    };
    let Some(line) = tail
        .split_whitespace()
        .next()
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return message.to_string();
    };
    let found = text
        .lines()
        .enumerate()
        .skip(line.saturating_sub(1))
        .find(|(_, l)| {
            let l = l.trim_start().trim_start_matches("- ").trim_start();
            l.strip_prefix(field)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        });
    match found {
        Some((i, _)) if i + 1 != line => format!("{head} at line {}", i + 1),
        _ => message.to_string(),
    }
}

/// The 1-based line of the first `key: value` in the text, for messages about validated values.
pub fn line_of(text: &str, key: &str, value: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches("- ").trim_start();
            l.strip_prefix(key)
                .and_then(|r| r.trim_start().strip_prefix(':'))
                .is_some_and(|v| {
                    let v = v.trim();
                    v == value || v.trim_matches(|c| c == '"' || c == '\'') == value
                })
        })
        .map(|i| i + 1)
}
