//! `drainscale check CONFIG` as a user runs it: the binary, its output and its exit code.

use std::process::Command;

fn check(path: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_drainscale"))
        .arg("check")
        .arg(path)
        .env_remove("PORT")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_sample_checks_and_prints_the_plan() {
    let (code, out, err) = check(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config.sample.yaml"
    )));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("DRY RUN"), "{out}");
    assert!(
        out.contains("controller web: process web, min 1, max 10"),
        "{out}"
    );
    assert!(
        out.contains("input rpm (drain): drain request rate per minute"),
        "{out}"
    );
    assert!(out.contains("input sine (sine)"), "{out}");
    assert!(out.contains("schedule office-hours"), "{out}");
    assert!(
        out.contains("policy: up cool-down 0s, down cool-down 5m, max step up 4"),
        "{out}"
    );
}

#[test]
fn a_bad_file_exits_1_naming_file_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "drain: {auth: {insecure: true}}\ncontrollers:\n  - name: web\n    max: 3\n    mni: 1\n    inputs: []\n",
    )
    .unwrap();
    let (code, out, err) = check(&path);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("bad.yaml") && err.contains("unknown field `mni`") && err.contains("line 5"),
        "{err}"
    );
}

#[test]
fn secrets_are_masked_in_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.yaml");
    std::fs::write(
        &path,
        "drain: {auth: {users: [{user: logplex, password: pa55-drain}], tokens: [d.tok-secret]}}\nscaler:\n  app: shop\n  api_key: hunter2-token\n  dead_mans_switch: {url: 'https://u:pw-secret@hc.example/ping'}\ncontrollers:\n  - name: web\n    max: 3\n    inputs:\n      - {name: s, type: sine}\n",
    )
    .unwrap();
    let (code, out, err) = check(&path);
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains("hunter2") && !out.contains("pw-secret"),
        "{out}"
    );
    assert!(
        out.contains("key set") && out.contains("GET https://***@hc.example/*** at most"),
        "{out}"
    );
}
