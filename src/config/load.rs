//! Reading a config file: interpolate the environment, recognise the layout (drainscale's or Dynosaur's),
//! deserialize, validate. Every error names the file, the key path and, where it can, the line; no error
//! repeats a value from the file (see [`super::redact`]), so a mistyped secret is not printed.

use super::interpolate::interpolate;
use super::locate::line_of_path;
use super::redact::redact;
use super::{dynosaur, validate, Config};
use crate::invalid::Invalid;
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

/// A config file that cannot be used: the file, the key path and the line where known, and what was expected.
/// Its message never repeats a value from the file (see [`super::redact`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    pub file: String,
    /// The key path (`controllers[0].inputs[1].query`), when the problem sits at one.
    pub key: Option<String>,
    /// The 1-based line, when it could be found.
    pub line: Option<usize>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl ConfigError {
    /// A problem with the file as a whole.
    fn whole(file: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: file.to_string(),
            key: None,
            line: None,
            message: message.into(),
        }
    }

    /// A check's finding, located in the file's text by its key path.
    fn invalid(file: &str, text: &str, e: Invalid) -> ConfigError {
        let key = (!e.key().is_empty()).then(|| e.key().to_string());
        ConfigError {
            file: file.to_string(),
            line: key.as_deref().and_then(|k| line_of_path(text, k)),
            key,
            message: redact(e.message()),
        }
    }

    /// serde's message (`path: what at line L column C`), redacted, split into its parts.
    fn parsed(file: &str, text: &str, raw: &str) -> ConfigError {
        let refined = redact(&refine(raw, text));
        let (body, line) = match refined.rsplit_once(" at line ") {
            Some((body, at)) => {
                let line = at.split_whitespace().next().and_then(|n| n.parse().ok());
                (body.to_string(), line)
            }
            None => (refined.clone(), None),
        };
        let (key, message) = match body.split_once(": ") {
            Some((key, rest)) if is_key_path(key) => (Some(key.to_string()), rest.to_string()),
            _ => (None, body),
        };
        let (key, message, line) = match (key, line) {
            (Some(key), Some(line)) => entry_key(text, key, message, line),
            (key, line) => (key, message, line),
        };
        let line = line.or_else(|| key.as_deref().and_then(|k| line_of_path(text, k)));
        ConfigError {
            file: file.to_string(),
            key,
            line,
            message,
        }
    }

    /// `file: line L: key: message`, each part when known.
    fn render(&self) -> String {
        let mut out = self.file.clone();
        if let Some(line) = self.line {
            out += &format!(": line {line}");
        }
        if let Some(key) = &self.key {
            out += &format!(": {key}");
        }
        out + ": " + &self.message
    }
}

/// A check an entry makes of its own keys (its `TryFrom`) reports at the entry's first line, under the list's
/// path, naming the key first (`controllers: max: ...` at line 5): find which entry starts at that line and
/// point at the key's own line (`controllers[0].max`, line 6).
fn entry_key(
    text: &str,
    list: String,
    message: String,
    line: usize,
) -> (Option<String>, String, Option<usize>) {
    let Some((sub, rest)) = message.split_once(": ") else {
        return (Some(list), message, Some(line));
    };
    let simple = !sub.is_empty() && sub.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    let index = (0..1_000)
        .map(|i| (i, line_of_path(text, &format!("{list}[{i}]"))))
        .take_while(|(_, at)| at.is_some_and(|at| at <= line))
        .find(|(_, at)| *at == Some(line))
        .map(|(i, _)| i);
    match index {
        Some(i) if simple => {
            let key = format!("{list}[{i}].{sub}");
            let at = line_of_path(text, &key).unwrap_or(line);
            (Some(key), rest.to_string(), Some(at))
        }
        Some(i) => (Some(format!("{list}[{i}]")), message, Some(line)),
        None => (Some(list), message, Some(line)),
    }
}

/// Whether serde's prefix is a key path (`controllers[0].inputs[1]`), not words of a message.
fn is_key_path(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']'))
}

/// What the command line sets over the file, before it is validated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--dry-run`: as `scaler.dry_run: true`.
    pub dry_run: bool,
}

/// Reads, interpolates (with the process environment) and validates a config file.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    load_overriding(path, Overrides::default())
}

/// Like [`load`], with the command line's overrides.
pub fn load_overriding(path: &Path, overrides: Overrides) -> Result<Loaded, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::whole(&file, format!("cannot read: {e}")))?;
    load_str_overriding(&text, &file, &|name| std::env::var(name).ok(), overrides)
}

/// Like [`load`], from text and an environment lookup.
pub fn load_str(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    load_str_overriding(text, file, env, Overrides::default())
}

/// Like [`load_str`], with the command line's overrides.
pub fn load_str_overriding(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
    overrides: Overrides,
) -> Result<Loaded, ConfigError> {
    let (text, mut warnings) = interpolate(text, env).map_err(|e| ConfigError {
        line: Some(e.line),
        ..ConfigError::whole(file, e.message)
    })?;
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(ConfigError::whole(file, "the file is empty"));
    }
    let parse_error = |e: &str| ConfigError::parsed(file, &text, e);
    let layout = detect(&text).map_err(|e| parse_error(&e.to_string()))?;
    let mut config = match layout {
        Layout::Native => {
            serde_yaml_ng::from_str::<Config>(&text).map_err(|e| parse_error(&e.to_string()))?
        }
        Layout::Dynosaur => {
            let (config, more) = dynosaur::parse(&text, env).map_err(|e| parse_error(&e))?;
            warnings.extend(more);
            config
        }
    };
    if overrides.dry_run {
        config.scaler.dry_run = true;
    }
    warnings.extend(
        validate::validate(&config, &text).map_err(|e| ConfigError::invalid(file, &text, e))?,
    );
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
