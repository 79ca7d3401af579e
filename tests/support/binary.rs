//! The release binary run as a child process for end-to-end tests: `drainscale run CONFIG`, its stderr echoed
//! and read for the drain's listening address, stopped with SIGTERM (or killed when dropped).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `drainscale run`.
pub struct Drainscale {
    child: Child,
    /// The drain's address as logged (`0.0.0.0:PORT` or `127.0.0.1:PORT`).
    pub addr: String,
}

impl Drainscale {
    /// The drain's URL for `path`, on 127.0.0.1.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr.replace("0.0.0.0", "127.0.0.1"))
    }

    pub fn start(config_path: &std::path::Path) -> Drainscale {
        Self::start_with_env(config_path, &[], &[])
    }

    /// `drainscale run CONFIG ARGS...` with only `PATH`, `RUST_LOG=info` and `env` in its environment.
    pub fn start_with_env(
        config_path: &std::path::Path,
        args: &[&str],
        env: &[(&str, String)],
    ) -> Drainscale {
        let mut child = Command::new(env!("CARGO_BIN_EXE_drainscale"))
            .arg("run")
            .arg(config_path)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start drainscale");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[drainscale] {line}");
                if let Some(rest) = line.split("drain listening addr=").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("drainscale logs its listening address");
        Drainscale { child, addr }
    }

    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(killed.map(|s| s.success()).unwrap_or(false), "kill -TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "drainscale did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Drainscale {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
