//! `--policy KEY=VALUE[,KEY=VALUE...]`: a variant of the controller's `policy:` section, with the keys and
//! values written as in the file (`down_cooldown=15m,max_step_down=1`).

use crate::scaler::policy::Policy;
use serde_yaml_ng::{Mapping, Value};

/// `policy` with the overrides of `spec` applied; errors name the key and what was expected.
pub fn apply(policy: &Policy, spec: &str) -> Result<Policy, String> {
    let Ok(Value::Mapping(mut keys)) = serde_yaml_ng::to_value(policy) else {
        return Err("the policy cannot be written as keys".into());
    };
    let known: Vec<String> = keys
        .keys()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("--policy {spec}: expected KEY=VALUE, got {pair:?}"));
        };
        let key = key.trim();
        if !known.iter().any(|k| k == key) {
            return Err(format!(
                "--policy {spec}: unknown key {key:?} (known: {})",
                known.join(", ")
            ));
        }
        let value: Value = serde_yaml_ng::from_str(value.trim())
            .map_err(|e| format!("--policy {spec}: {key}: {e}"))?;
        keys.insert(Value::from(key), value);
    }
    serde_yaml_ng::from_value(Value::Mapping(Mapping::from_iter(keys)))
        .map_err(|e| format!("--policy {spec}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn overrides_keys_as_written_in_the_file() {
        let p = apply(&Policy::default(), "down_cooldown=15m, max_step_down=1").unwrap();
        assert_eq!(p.down_cooldown, Duration::from_secs(900));
        assert_eq!(p.max_step_down, Some(1));
        assert_eq!(p.up_cooldown, Policy::default().up_cooldown);
    }

    #[test]
    fn errors_name_the_key() {
        let e = apply(&Policy::default(), "down_cooldwn=1m").unwrap_err();
        assert!(
            e.contains("\"down_cooldwn\"") && e.contains("down_cooldown"),
            "{e}"
        );
        let e = apply(&Policy::default(), "max_step_up=many").unwrap_err();
        assert!(e.contains("max_step_up") || e.contains("invalid"), "{e}");
        assert!(apply(&Policy::default(), "down_cooldown").is_err());
    }
}
