//! A config value that cannot be used: where it sits (a key path relative to whoever checked it, such as
//! `resolution` or `inputs[1].query`) and what was expected. Components return it from their checks; each
//! level up prefixes its own key ([`Invalid::under`]), and the config loader adds the file and the line
//! (`crate::config::ConfigError`). A leaf module: it knows no component and no file.

use std::fmt;

/// A value that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    key: String,
    message: String,
}

impl Invalid {
    /// A problem with the checked value as a whole (no key below it).
    pub fn new(message: impl Into<String>) -> Invalid {
        Invalid {
            key: String::new(),
            message: message.into(),
        }
    }

    /// A problem at `key` (`max_bytes`, `statsd.address`, `inputs[0]`) below the checked value.
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> Invalid {
        Invalid {
            key: key.into(),
            message: message.into(),
        }
    }

    /// The same problem seen from one level up: `parent` (`windows`, `controllers[2]`, `[0]`) goes in front.
    pub fn under(mut self, parent: &str) -> Invalid {
        self.key = join(parent, &self.key);
        self
    }

    /// The key path (empty: the checked value itself).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What is wrong and what was expected.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// `parent` then `child`, with a dot unless the child is an index.
pub fn join(parent: &str, child: &str) -> String {
    match (parent.is_empty(), child.is_empty()) {
        (true, _) => child.to_string(),
        (false, true) => parent.to_string(),
        (false, false) if child.starts_with('[') => format!("{parent}{child}"),
        (false, false) => format!("{parent}.{child}"),
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

impl std::error::Error for Invalid {}

/// A message without a key: what a check that only knows "this value" says.
impl From<String> for Invalid {
    fn from(message: String) -> Invalid {
        Invalid::new(message)
    }
}

impl From<&str> for Invalid {
    fn from(message: &str) -> Invalid {
        Invalid::new(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_join_from_the_inside_out() {
        let e = Invalid::at("query", "expected a signal")
            .under("inputs[1]")
            .under("[0]")
            .under("controllers");
        assert_eq!(e.key(), "controllers[0].inputs[1].query");
        assert_eq!(
            e.to_string(),
            "controllers[0].inputs[1].query: expected a signal"
        );
        assert_eq!(Invalid::new("empty").under("scaler").key(), "scaler");
        assert_eq!(Invalid::new("empty").to_string(), "empty");
    }
}
