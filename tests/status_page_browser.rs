//! The status page in a real browser (Debian's headless chromium): the DOM it builds has the DRY RUN banner and
//! the figures of `/status`, and it takes screenshots at desktop and phone widths (PNG, of the asked width,
//! kept under the target directory to look at). Fails, saying so, when chromium is not installed.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::status_page::{assert_matches, Running};

/// `/usr/bin/chromium`, else `chromium` on `PATH`.
fn chromium() -> PathBuf {
    let debian = Path::new("/usr/bin/chromium");
    if debian.exists() {
        return debian.to_path_buf();
    }
    let on_path = std::env::var_os("PATH").map(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("chromium"))
            .find(|c| c.exists())
    });
    match on_path.flatten() {
        Some(c) => c,
        None => panic!(
            "chromium is not installed (neither /usr/bin/chromium nor `chromium` on PATH): \
             `apt-get install -y chromium` (.ci/run does it when absent)"
        ),
    }
}

/// Runs headless chromium with a throwaway profile; returns its stdout.
fn headless(profile: &Path, args: &[&str]) -> String {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A PNG's width and height, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.len() > 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG"
    );
    let be =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    (be(16), be(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_page_as_status_says() {
    let browser = chromium();
    // A pass every 2 s: the browser's read fits between two passes.
    let running = Running::start_with(true, "2s").await;
    let profile = tempfile::tempdir().unwrap();
    let url = running.page_url();

    let (dom, doc) = running
        .read_between_passes(|| {
            let (profile, url) = (profile.path().to_path_buf(), url.clone());
            async move {
                tokio::task::spawn_blocking(move || headless(&profile, &["--dump-dom", &url]))
                    .await
                    .unwrap()
            }
        })
        .await;
    assert!(
        dom.contains("<strong>DRY RUN</strong>"),
        "{browser:?} DOM has no banner: {dom}"
    );
    assert!(dom.contains("<svg class=\"chart\""), "no chart in the DOM");
    assert_matches(&dom, &doc["controllers"][0]);

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));
    for (name, width, height) in [("desktop", 1280u32, 1400u32), ("phone", 390, 1800)] {
        let file = shots.join(format!("status-page-{name}.png"));
        let _ = std::fs::remove_file(&file);
        headless(
            profile.path(),
            &[
                &format!("--screenshot={}", file.display()),
                &format!("--window-size={width},{height}"),
                &url,
            ],
        );
        let png = std::fs::read(&file).expect("chromium wrote the screenshot");
        assert_eq!(png_size(&png), (width, height), "{name}");
        eprintln!(
            "{name} screenshot: {} ({} bytes)",
            file.display(),
            png.len()
        );
    }
    running.stop();
}
