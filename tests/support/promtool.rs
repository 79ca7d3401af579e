//! `promtool check metrics` (Prometheus' own parser and linter) run on a page of exposition text. promtool is
//! required: CI installs it (Debian's `prometheus` package); a missing promtool fails the test, it never skips.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

/// Panics with promtool's complaints unless `text` parses and lints clean.
pub fn check_metrics(text: &str) {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!(
            "promtool not found ({e}): install it (`apt-get install -y prometheus` on Debian; .ci/run does) \
             and run the tests again"
        ),
    };
    let mut stdin = child.stdin.take().unwrap();
    let page = text.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(page.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}\n{}{}\n--- page ---\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}
