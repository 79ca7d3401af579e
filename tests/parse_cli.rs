//! `drainscale parse` as a user runs it: the real binary, a body on stdin or in files, JSON lines out, the
//! summary on stderr.

use std::io::Write;
use std::process::{Command, Stdio};

fn run(args: &[&str], stdin: &[u8]) -> (i32, Vec<serde_json::Value>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_drainscale"))
        .arg("parse")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let events = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.code().unwrap(),
        events,
        String::from_utf8(out.stderr).unwrap(),
    )
}

const ROUTER: &str = "<158>1 2012-07-22T00:06:26.123456+00:00 host heroku router - at=error code=H12 desc=\"Request timeout\" method=GET path=\"/\" host=a.example.com request_id=r1 fwd=\"1.2.3.4\" dyno=web.1 connect=0ms service=30000ms status=503 bytes=0 protocol=https\n";

/// A good frame, one whose count (12) is one more than its length, and a router line.
fn body() -> Vec<u8> {
    let mut body =
        b"70 <174>1 2012-07-22T00:06:26+00:00 host erlang console - Hi from erlang\n".to_vec();
    body.extend_from_slice(b"12 <13>1 oops\n");
    body.extend(format!("{} {ROUTER}", ROUTER.len()).into_bytes());
    body
}

#[test]
fn stdin_body_to_json_lines_with_summary() {
    let (code, events, stderr) = run(&[], &body());
    assert_eq!(code, 0);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["kind"], "line");
    assert_eq!(events[0]["message"], "Hi from erlang");
    assert_eq!(events[0]["timestamp"], "2012-07-22T00:06:26Z");
    assert_eq!(events[0]["app"], "erlang");
    let r = &events[1];
    assert_eq!(r["kind"], "router");
    assert_eq!(r["timestamp"], "2012-07-22T00:06:26.123456Z");
    assert_eq!(
        (r["app"].as_str(), r["procid"].as_str()),
        (Some("heroku"), Some("router"))
    );
    assert_eq!(r["code"], "H12");
    assert_eq!(r["desc"], "Request timeout");
    assert_eq!(r["service_ms"], 30000.0);
    assert_eq!(r["status"], 503);
    assert_eq!(r["fwd"], "1.2.3.4");
    assert_eq!(
        stderr.trim_end(),
        "frames=3 events=2 bad=1 (length_mismatch=1) bad_values=0"
    );
}

#[test]
fn files_are_bodies_and_lines_work_too() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    std::fs::write(
        &a,
        "2012-07-22T00:06:26Z app[web.1]: measure#q=-1.5ms source=web.1 count#hit unique#u=bob\n",
    )
    .unwrap();
    let b = dir.path().join("b.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&body()).unwrap();
    std::fs::write(&b, gz.finish().unwrap()).unwrap();
    let (code, events, stderr) = run(&[a.to_str().unwrap(), b.to_str().unwrap()], b"");
    assert_eq!(code, 0);
    let kinds: Vec<_> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["measure", "count", "unique", "line", "router"]);
    assert_eq!(events[0]["value"], -1.5);
    assert_eq!(events[0]["unit"], "ms");
    assert_eq!(events[0]["source"], "web.1");
    assert_eq!(events[1]["value"], 1.0);
    assert_eq!(events[2]["member"], "bob");
    assert_eq!(
        stderr.trim_end(),
        "frames=4 events=5 bad=1 (length_mismatch=1) bad_values=0"
    );
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let (code, _, stderr) = run(&["/nonexistent/drain.log"], b"");
    assert_eq!(code, 1);
    assert!(stderr.contains("/nonexistent/drain.log"), "{stderr}");
}

#[test]
fn strict_fails_on_bad_frames_and_values_only() {
    let good = b"<13>1 2026-01-01T00:00:00Z host app web.1 - measure#x=1ms\n";
    let (code, events, _) = run(&["--strict"], good);
    assert_eq!(code, 0);
    assert_eq!(events.len(), 1);

    let bad_value = b"<13>1 2026-01-01T00:00:00Z host app web.1 - measure#x=abc count#y\n";
    let (code, events, summary) = run(&["--strict"], bad_value);
    assert_eq!(code, 1, "{summary}");
    assert_eq!(
        events.len(),
        1,
        "the good metric of the line is still printed"
    );
    assert!(summary.contains("bad_values=1"), "{summary}");

    let (code, _, _) = run(&[], bad_value);
    assert_eq!(code, 0, "without --strict bad input is reported, not fatal");
}
