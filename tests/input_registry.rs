//! The registry's claim: an input type added in one file with one line in `KINDS` (here `constant`, the
//! smallest) is accepted by `drainscale check`, described, built and run, like every registered type.

use drainscale::config::load_str;
use drainscale::scaler::clock::{Clock, SystemClock};
use drainscale::scaler::inputs::{InputContext, KINDS};
use std::process::Command;

const CONFIG: &str = "scaler:\n  dry_run: true\ncontrollers:\n  - name: web\n    max: 10\n    inputs:\n      - name: floor\n        type: constant\n        value: 3\n        unit: dynos\n";

#[test]
fn check_accepts_and_describes_the_constant_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    std::fs::write(&path, CONFIG).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_drainscale"))
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("constant 3 dynos"), "{stdout}");
}

#[tokio::test]
async fn the_constant_input_builds_and_reads_its_value() {
    let loaded = load_str(CONFIG, "c.yaml", &|_| None).unwrap();
    let entry = &loaded.config.controllers[0].inputs[0];
    assert_eq!(entry.kind(), "constant");
    let input = entry
        .params
        .build(
            entry.conversion.clone(),
            &InputContext::default(),
            SystemClock.tick(),
        )
        .unwrap();
    assert_eq!(input.retrieve(SystemClock.tick()).await, Ok(3.0));
    assert_eq!(input.unit(), "dynos");
    assert_eq!(input.conversion().estimate(3.0, 1), 3);
    let bad = load_str(&CONFIG.replace("value: 3", "value: -1"), "c.yaml", &|_| {
        None
    });
    assert!(bad.unwrap_err().to_string().contains("value must be"));
}

#[test]
fn every_registered_type_is_named_in_the_unknown_type_error() {
    let e = load_str(
        &CONFIG.replace("type: constant", "type: nope"),
        "c.yaml",
        &|_| None,
    )
    .unwrap_err()
    .to_string();
    for k in KINDS {
        assert!(e.contains(k.name), "{e}");
    }
}
