//! Property: no config text makes `drainscale check` print a value of a secret field. Generated secrets (with
//! `@`, `:`, `/`, `?`, `%`, `#`, `&`, `=`) are written into every credential and every URL that can hold one
//! (userinfo with and without a colon, path, query, header values), in valid files and in files with a type
//! error in that very field (the kind of error whose serde message quotes the value); the output (stdout and
//! stderr) must not contain the secret or any 6-character piece of it.
//!
//! Two layers: the library functions `check` uses (`load_str` + `plan::render`, many cases) and the real binary
//! (fewer cases: each one starts a process).

use drainscale::config::{load_str, plan};
use proptest::prelude::*;
use std::process::Command;

/// The shortest piece of a secret that must not be printed.
const PIECE: usize = 6;

/// Secrets: 8-24 characters from an alphabet with URL delimiters, and at least one digit, so a secret is never
/// a plain word (a name made only of letters, where a key goes, may be shown as the key it looks like).
fn secret() -> impl Strategy<Value = String> {
    "[A-Za-z0-9@:/?%#&=._~+-]{7,23}[0-9]".prop_map(|s| s)
}

/// Single-quoted YAML (the alphabet has no `'`).
fn q(s: &str) -> String {
    format!("'{s}'")
}

/// A valid file with `s` in one place (`slot`); every other secret field holds a fixed placeholder.
fn valid(slot: usize, s: &str) -> String {
    let v = |i: usize, default: &str| {
        if i == slot {
            s.to_string()
        } else {
            default.to_string()
        }
    };
    format!(
        "drain:\n  auth:\n    users: [{{user: logplex, password: {}}}]\n    tokens: [{}]\n  status_auth:\n    users: [{{user: ops, password: {}}}]\n    tokens: [{}]\n\
         outlets:\n  librato:\n    url: {}\n    user: me@example.com\n    token: {}\n\
         scaler:\n  app: shop\n  api_key: {}\n  api_url: {}\n\
         \x20 dead_mans_switch: {{url: {}}}\n\
         \x20 error_handlers:\n    - {{type: webhook, url: {}, headers: {{Authorization: {}}}}}\n    - {{type: webhook, url: {}}}\n    - {{type: bugsnag, api_key: {}, endpoint: {}}}\n\
         controllers:\n  - name: web\n    max: 3\n    inputs:\n      - {{name: wave, type: sine}}\n",
        q(&v(0, "pw0")),
        q(&v(1, "tok1")),
        q(&v(2, "pw2")),
        q(&v(3, "tok3")),
        q(&format!("https://me:{}@librato.example/v1/metrics", v(4, "pw4"))),
        q(&v(5, "tok5")),
        q(&v(6, "key6")),
        q(&if slot == 7 {
            format!("https://{s}@api.example.com")
        } else {
            format!("https://u:{}@api.example.com", v(8, "pw8"))
        }),
        q(&if slot == 9 {
            format!("https://hc.example/ping?token={s}")
        } else {
            format!("https://hc.example/{}", v(10, "uuid10"))
        }),
        q(&if slot == 11 {
            format!("https://hooks.example/x?token={s}")
        } else {
            format!("https://hooks.example/services/{}", v(12, "path12"))
        }),
        q(&format!("Bearer {}", v(13, "hdr13"))),
        q(&format!("https://{}@hooks2.example/", v(14, "user14"))),
        q(&v(15, "key15")),
        q(&format!("https://{}@notify.example", v(16, "user16"))),
    )
}

/// Slots of [`valid`].
const SLOTS: usize = 17;

/// Files with a type error in a secret field, holding `s` where the error is.
fn broken(s: &str) -> Vec<String> {
    let base =
        "controllers:\n  - name: web\n    max: 3\n    inputs:\n      - {name: wave, type: sine}\n";
    let s = q(s);
    [
        format!("drain:\n  auth:\n    tokens: {s}\n"),
        format!("drain:\n  auth:\n    users: [{s}]\n"),
        format!("drain:\n  auth:\n    users: {s}\n"),
        format!("drain:\n  auth: {{users: [{{user: u, password: [{s}]}}]}}\n"),
        format!("drain:\n  status_auth: {s}\n"),
        format!("drain:\n  auth:\n    {s}: 1\n"),
        format!("outlets:\n  librato: {s}\n"),
        format!("outlets:\n  librato: {{token: {{{s}: 1}}}}\n"),
        format!("outlets:\n  librato: {{url: [{s}]}}\n"),
        format!("scaler:\n  api_key: [{s}]\n"),
        format!("scaler:\n  api_url: {{{s}: x}}\n"),
        format!("scaler:\n  dead_mans_switch: {s}\n"),
        format!("scaler:\n  dead_mans_switch: {{url: {s}, interval: [1]}}\n"),
        format!("scaler:\n  error_handlers: [{s}]\n"),
        format!("scaler:\n  error_handlers: [{{type: webhook, url: 'https://h.example', headers: {s}}}]\n"),
        format!("scaler:\n  error_handlers: [{{type: webhook, url: {s}}}]\n"),
        format!("scaler:\n  error_handlers: [{{type: bugsnag, api_key: {{k: {s}}}}}]\n"),
        format!("scaler:\n  heroku_api_key: [{s}]\ncontroller_plugins: []\n"),
        format!("scaler:\n  heroku_app_name: shop\n  heroku_api_key: {s}\n  interval: [1]\ncontroller_plugins: []\n"),
        format!("drain:\n  auth:\n    tokens: [{s}\n"),
    ]
    .into_iter()
    .map(|head| format!("{head}{base}"))
    .collect()
}

/// The first piece of `secret` found in `out`.
fn leaked(out: &str, secret: &str) -> Option<String> {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(PIECE.min(chars.len()))
        .map(|w| w.iter().collect::<String>())
        .find(|piece| out.contains(piece.as_str()))
}

/// What `drainscale check` prints for a text, computed in-process as `check` does.
fn check_in_process(text: &str) -> (bool, String) {
    match load_str(text, "secrets.yaml", &|_| None) {
        // The plan, and the config's `Debug` (what a log line with `?config` would show).
        Ok(loaded) => (true, format!("{}{loaded:?}", plan::render(&loaded))),
        Err(e) => (false, format!("{e:#}")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_plan_never_shows_a_secret(s in secret(), slot in 0..SLOTS) {
        let (ok, out) = check_in_process(&valid(slot, &s));
        prop_assert!(ok, "{out}");
        prop_assert_eq!(leaked(&out, &s), None, "{}", out);
    }

    #[test]
    fn errors_never_show_a_secret(s in secret()) {
        for text in broken(&s) {
            let (ok, out) = check_in_process(&text);
            prop_assert!(!ok, "{text} -> {out}");
            prop_assert_eq!(leaked(&out, &s), None, "{}\n-> {}", text, out);
            // Still a useful error: the file, and a line or a key.
            prop_assert!(out.starts_with("secrets.yaml: "), "{}", out);
        }
    }
}

fn run_check(text: &str, env: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.yaml");
    std::fs::write(&path, text).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_drainscale"));
    cmd.arg("check").arg(&path).env_remove("PORT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn the_binary_never_prints_a_secret(s in secret()) {
        // Every slot at once: one valid file holding the secret everywhere.
        let mut text = valid(usize::MAX, "");
        for slot in (0..SLOTS).filter(|i| !placeholder(*i).is_empty()) {
            text = text.replacen(placeholder(slot), &s, 1);
        }
        let (code, out) = run_check(&text, &[]);
        prop_assert_eq!(code, 0, "{}", out);
        prop_assert!(out.contains("OK (drainscale layout)"), "{}", out);
        prop_assert_eq!(leaked(&out, &s), None, "{}", out);
        for text in broken(&s) {
            let (code, out) = run_check(&text, &[]);
            prop_assert_eq!(code, 1, "{}", out);
            prop_assert_eq!(leaked(&out, &s), None, "{}\n-> {}", text, out);
        }
        // The same secrets arriving through environment interpolation, mistyped.
        let text = "drain:\n  auth:\n    tokens: '${DS_TOKEN}'\n    users: [{user: u, password: '${DS_PASSWORD}'}]\ncontrollers: []\n";
        let (code, out) = run_check(text, &[("DS_TOKEN", &s), ("DS_PASSWORD", &s)]);
        prop_assert_eq!(code, 1, "{}", out);
        prop_assert_eq!(leaked(&out, &s), None, "{}", out);
        // Unquoted, the value may even read as YAML syntax (a comment, an anchor): whatever comes of it, unseen.
        let text = "drain:\n  auth:\n    tokens: ${DS_TOKEN}\ncontrollers: []\n";
        let (_, out) = run_check(text, &[("DS_TOKEN", &s)]);
        prop_assert_eq!(leaked(&out, &s), None, "{}", out);
    }
}

/// The placeholder [`valid`] writes in `slot` when the secret is elsewhere.
fn placeholder(slot: usize) -> &'static str {
    [
        "pw0", "tok1", "pw2", "tok3", "pw4", "tok5", "key6", "", "pw8", "", "uuid10", "", "path12",
        "hdr13", "user14", "key15", "user16",
    ][slot]
}

#[test]
fn placeholders_fill_every_slot() {
    let text = valid(usize::MAX, "");
    for slot in 0..SLOTS {
        let p = placeholder(slot);
        assert!(p.is_empty() || text.contains(p), "slot {slot}: {p}");
    }
    // Each slot holds the secret when asked to.
    for slot in 0..SLOTS {
        assert!(valid(slot, "S3CRET-x").contains("S3CRET-x"), "slot {slot}");
    }
}
