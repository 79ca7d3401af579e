//! Running `drainscale simulate` on generated files: a day of router lines with a known shape
//! ([`drainscale::simulate::day`]), configs, and the decision CSV read back.

use drainscale::simulate::day::Day;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The test day: 1 request/s on average (86 400 lines), the spike at 14:00 adding 2/s for 10 minutes.
pub fn test_day() -> Day {
    Day::new(1.0)
}

/// Writes the whole of `day` as `heroku logs` output to `dir/name`.
pub fn write_day(dir: &Path, name: &str, day: &Day) -> PathBuf {
    let mut out = Vec::new();
    day.write_lines(0, drainscale::simulate::day::DAY_SECONDS, &mut out);
    let path = dir.join(name);
    std::fs::write(&path, out).expect("write the day");
    path
}

/// A config with one web controller reading the drain's requests per minute, `per_dyno` each.
pub fn config(dir: &Path, name: &str, min: u32, max: u32, per_dyno: u32, policy: &str) -> PathBuf {
    let text = format!(
        "drain: {{listen: \"127.0.0.1:0\", auth: {{insecure: true}}}}\n\
         windows: {{resolution: 10s, retention: 10m}}\n\
         scaler: {{app: shop, dry_run: true, interval: 5s, stats: {{console: false}}}}\n\
         controllers:\n\
         - name: web\n  process: web\n  min: {min}\n  max: {max}\n  policy: {policy}\n  inputs:\n\
         \x20 - {{name: rpm, type: drain, query: {{signal: request_rate}}, per: minute, span: 1m, per_dyno: {per_dyno}}}\n"
    );
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the config");
    path
}

/// `drainscale simulate ARGS...`: (exit success, stdout, stderr).
pub fn simulate(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_drainscale"))
        .arg("simulate")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run drainscale simulate");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `drainscale simulate CONFIG --logs LOGS EXTRA...`.
pub fn simulate_logs(
    config: &Path,
    logs: &Path,
    extra: &[&std::ffi::OsStr],
) -> (bool, String, String) {
    let mut args = vec![
        config.as_os_str(),
        std::ffi::OsStr::new("--logs"),
        logs.as_os_str(),
    ];
    args.extend_from_slice(extra);
    simulate(&args)
}

/// One row of the decision CSV, by column name.
pub struct CsvRow {
    pub header: std::rc::Rc<Vec<String>>,
    pub cells: Vec<String>,
}

impl CsvRow {
    pub fn get(&self, column: &str) -> &str {
        let i = self
            .header
            .iter()
            .position(|h| h == column)
            .unwrap_or_else(|| panic!("no column {column} in {:?}", self.header));
        &self.cells[i]
    }

    pub fn num(&self, column: &str) -> f64 {
        self.get(column)
            .parse()
            .unwrap_or_else(|_| panic!("{column}={:?} is not a number", self.get(column)))
    }

    /// Seconds since midnight of the test day.
    pub fn second(&self) -> f64 {
        let t: jiff::Timestamp = self.get("time").parse().expect("an RFC 3339 time");
        (t.as_microsecond() - drainscale::simulate::day::DAY_START_MICROS) as f64 / 1e6
    }
}

/// Reads the decision CSV (reasons hold no commas in these tests but are quoted when they do).
pub fn read_csv(path: &Path) -> Vec<CsvRow> {
    let text = std::fs::read_to_string(path).expect("read the CSV");
    let mut lines = text.lines();
    let header = std::rc::Rc::new(split(lines.next().expect("a header")));
    lines
        .map(|l| CsvRow {
            header: header.clone(),
            cells: split(l),
        })
        .collect()
}

fn split(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}
