//! The status page tests' shared setup: the real binary with a drain (Basic auth), a scaler against the fake
//! Heroku API with a `drain` input and a `sine` input, router lines POSTed in the background, and small
//! readers for the page's `data-field` cells.

use super::binary::Drainscale;
use super::fake_heroku::FakeHeroku;
use super::router::router_body;
use serde_json::Value;
use std::time::{Duration, Instant};

pub const USER: &str = "ops";
pub const PASSWORD: &str = "page-s3cret";
/// The two schedules that together cover the day, so one is always in force.
pub const SCHEDULES: [&str; 2] = ["launch-week", "launch-week-evening"];

/// A running `drainscale run` with its fake Heroku and the traffic it is sent.
pub struct Running {
    pub app: Drainscale,
    pub fake: FakeHeroku,
    _dir: tempfile::TempDir,
    traffic: tokio::task::JoinHandle<()>,
}

fn config(api_url: &str, dry_run: bool, interval: &str) -> String {
    format!(
        r#"
drain:
  listen: "127.0.0.1:0"
  auth:
    users: [{{user: {USER}, password: {PASSWORD}}}]
windows: {{resolution: 1s, retention: 2m}}
scaler:
  app: shop
  api_key: tok-page
  api_url: "{api_url}"
  interval: {interval}
  dry_run: {dry_run}
  stats: {{console: false}}
controllers:
  - name: web
    min: 1
    max: 12
    policy: {{up_cooldown: 0s, down_cooldown: 0s}}
    schedules:
      - {{name: {am}, start: "00:00", end: "12:00", min: 2}}
      - {{name: {pm}, start: "12:00", end: "00:00", min: 2}}
    inputs:
      - {{name: rps, type: drain, query: {{signal: request_rate}}, span: 2s, per_dyno: 100, interval: 200ms}}
      - {{name: wave, type: sine, period: 20s, interval: 200ms}}
"#,
        am = SCHEDULES[0],
        pm = SCHEDULES[1],
    )
}

impl Running {
    /// Starts everything with a 200 ms scaler interval and waits until `/status` shows a pass of `web` with
    /// both inputs read.
    pub async fn start(dry_run: bool) -> Running {
        Self::start_with(dry_run, "200ms").await
    }

    /// [`Running::start`] with another scaler `interval` (e.g. `2s`, for readers slower than a pass).
    pub async fn start_with(dry_run: bool, interval: &str) -> Running {
        let fake = FakeHeroku::start("shop", "tok-page", &[("web", 2)]).await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("drainscale.yaml");
        std::fs::write(&path, config(&fake.url, dry_run, interval)).unwrap();
        let app = Drainscale::start(&path);
        let logs = app.url("/logs");
        let traffic = tokio::spawn(async move {
            let client = reqwest::Client::new();
            for batch in 0u64.. {
                // About 300 requests a second.
                let _ = client
                    .post(&logs)
                    .basic_auth(USER, Some(PASSWORD))
                    .header("Logplex-Frame-Id", format!("page-{batch}"))
                    .body(router_body(30))
                    .send()
                    .await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let running = Running {
            app,
            fake,
            _dir: dir,
            traffic,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = running.status().await;
            let read = s["controllers"][0]["inputs"]
                .as_array()
                .is_some_and(|i| i.len() == 2 && i.iter().all(|i| i["value"].is_number()));
            if read {
                break;
            }
            assert!(Instant::now() < deadline, "no pass read both inputs: {s}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        running
    }

    /// `GET path` with the page credentials: (status, content type, body).
    pub async fn get(&self, path: &str) -> (u16, String, String) {
        let resp = reqwest::Client::new()
            .get(self.app.url(path))
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let kind = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, kind, resp.text().await.unwrap())
    }

    /// The page's URL with the credentials in it, as a browser is given it.
    pub fn page_url(&self) -> String {
        self.app
            .url("/")
            .replacen("http://", &format!("http://{USER}:{PASSWORD}@"), 1)
    }

    pub async fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.get("/status").await.2).unwrap()
    }

    /// The page and the `/status` document it was rendered from: fetched between two identical documents
    /// (no pass in between), so every figure must match.
    pub async fn page_and_status(&self) -> (String, serde_json::Value) {
        self.read_between_passes(|| async { self.get("/").await.2 })
            .await
    }

    /// What `read` returns, with the `/status` document before and after it when they are the same.
    pub async fn read_between_passes<F, Fut>(&self, read: F) -> (String, serde_json::Value)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = String>,
    {
        for _ in 0..200 {
            let before = self.status().await;
            let page = read().await;
            let after = self.status().await;
            if before == after {
                return (page, before);
            }
        }
        panic!("a pass ran between every /status and / fetch")
    }

    pub fn stop(self) {
        self.traffic.abort();
        assert!(self.app.terminate().success());
    }
}

/// The text of the first `data-field="FIELD"` element inside `scope` (up to its first tag), trimmed.
pub fn field<'a>(scope: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!("data-field=\"{name}\"");
    let at = scope.find(&marker)?;
    let rest = &scope[at + marker.len()..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    Some(rest[start..end].trim())
}

/// The markup of the element opened by the first `ATTR="VALUE"`, to the next `</TAG>` (sections and table rows
/// are not nested in the page, so the first close ends it).
pub fn element<'a>(html: &'a str, attr: &str, value: &str, tag: &str) -> Option<&'a str> {
    let at = html.find(&format!("{attr}=\"{value}\""))?;
    let end = html[at..].find(&format!("</{tag}>"))? + at;
    Some(&html[at..end])
}

/// Every figure of controller `web` on `page` against its `/status` entry `c`.
pub fn assert_matches(page: &str, c: &Value) {
    let section = element(page, "data-controller", "web", "section").expect("a web section");
    assert_eq!(
        field(section, "current"),
        Some(c["current"].to_string().as_str())
    );
    assert_eq!(
        field(section, "estimate"),
        Some(c["estimate"].to_string().as_str())
    );
    let bounds = format!("{}–{}", c["min"], c["max"]);
    assert_eq!(field(section, "bounds"), Some(bounds.as_str()));
    let schedule = c["schedule"].as_str().expect("a schedule in force");
    assert!(SCHEDULES.contains(&schedule), "{schedule}");
    assert_eq!(field(section, "schedule"), Some(schedule));
    let at = format!("<time datetime=\"{}\">", c["at"].as_str().unwrap());
    assert!(section.contains(&at), "the pass time {at}");
    match c["last_change"].as_object() {
        Some(ch) => {
            assert_eq!(
                field(section, "change_from"),
                Some(ch["from"].to_string().as_str())
            );
            assert_eq!(
                field(section, "change_to"),
                Some(ch["to"].to_string().as_str())
            );
        }
        None => assert_eq!(
            field(section, "last_change"),
            Some("No change since the scaler started.")
        ),
    }
    let inputs = c["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    for i in inputs {
        let name = i["name"].as_str().unwrap();
        let row =
            element(section, "data-input", name, "tr").unwrap_or_else(|| panic!("row {name}"));
        let shown: f64 = field(row, "value").unwrap().parse().unwrap();
        let value = i["value"].as_f64().unwrap();
        assert!(
            (shown - value).abs() <= 0.005 + 1e-9,
            "{name}: {shown} vs {value}"
        );
        assert_eq!(
            field(row, "estimate"),
            Some(i["estimate"].to_string().as_str())
        );
        assert_eq!(field(row, "health"), Some(""), "the health is in a badge");
        assert!(
            row.contains(&format!(">{}</span>", i["health"].as_str().unwrap())),
            "{row}"
        );
        let seconds = format!("data-seconds=\"{:.3}\"", i["age_seconds"].as_f64().unwrap());
        assert!(row.contains(&seconds), "{name}: {seconds} not in {row}");
    }
    for series in ["dynos", "estimate", "rps", "wave"] {
        assert!(
            section.contains(&format!("data-series=\"{series}\"")),
            "the chart has no {series} line"
        );
    }
}
