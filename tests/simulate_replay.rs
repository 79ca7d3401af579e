//! `drainscale simulate` on a generated day of `heroku logs` router lines (a diurnal wave and a flash spike
//! at 14:00): the decisions it makes, the summary's figures against the decision CSV, and `--compare`.

mod support;

use std::ffi::OsStr;
use support::simulate::{config, read_csv, simulate_logs, test_day, write_day};

fn s(p: &std::path::Path) -> &OsStr {
    p.as_os_str()
}

/// The test day replayed with `web.yaml` (10 requests per minute per dyno: the wave needs 3..10 dynos, the
/// spike, 3.52/s, 22) and `--capacity rpm=10`, plus `extra` (configs made by `more` in the same folder):
/// stdout and the decision CSV.
fn replay_day(
    more: impl FnOnce(&std::path::Path) -> Vec<std::ffi::OsString>,
) -> (String, Vec<support::simulate::CsvRow>) {
    let dir = tempfile::tempdir().unwrap();
    let logs = write_day(dir.path(), "day.log", &test_day());
    let cfg = config(dir.path(), "web.yaml", 1, 30, 10, "{down_cooldown: 5m}");
    let csv = dir.path().join("decisions.csv");
    let extra = more(dir.path());
    let mut args = vec![
        OsStr::new("--capacity"),
        OsStr::new("rpm=10"),
        OsStr::new("--csv"),
        s(&csv),
    ];
    args.extend(extra.iter().map(|a| a.as_os_str()));
    let (ok, out, err) = simulate_logs(&cfg, &logs, &args);
    assert!(ok, "{out}\n{err}");
    (out, read_csv(&csv))
}

#[test]
fn a_day_replays_into_the_expected_decisions() {
    let (out, rows) = replay_day(|_| Vec::new());
    assert!(rows.len() > 17_000, "{} passes", rows.len());
    let at = |second: f64| {
        rows.iter()
            .rfind(|r| r.second() <= second)
            .unwrap_or_else(|| panic!("no pass before {second}"))
    };
    // The trough (04:00, 0.4/s = 24 rpm) and the wave's peak (16:00, 1.6/s = 96 rpm).
    assert_eq!(at(4.0 * 3600.0).num("count"), 3.0);
    assert_eq!(at(16.0 * 3600.0).num("count"), 10.0);
    // The spike: 14:00 at 3.52/s = 211 rpm, 22 dynos, reached within the 1m span and no later.
    let spike = 14.0 * 3600.0;
    let before = at(spike - 10.0).num("count");
    assert_eq!(before, 10.0);
    assert_eq!(at(spike + 70.0).num("count"), 22.0);
    let first_up = rows
        .iter()
        .find(|r| r.second() >= spike && r.num("count") > before)
        .unwrap();
    assert!(first_up.second() - spike <= 15.0, "{}", first_up.second());
    // The boot delay leaves the spike's first minute under-provisioned: serving lags the count.
    let lagging = rows
        .iter()
        .filter(|r| (spike..spike + 120.0).contains(&r.second()))
        .filter(|r| r.num("serving") < r.num("needed"))
        .count();
    assert!(
        lagging >= 6,
        "{lagging} passes under-provisioned in the spike"
    );
    // After the spike (14:10) the count comes down, but only once the down cool-down from the last change
    // has run.
    let end = spike + 600.0;
    let last_up = rows
        .iter()
        .rfind(|r| {
            r.get("change") == "1" && r.second() < end + 60.0 && r.get("reason").contains(" up ")
        })
        .unwrap()
        .second();
    let first_down = rows
        .iter()
        .find(|r| r.second() > end && r.num("count") < 22.0)
        .unwrap();
    assert!(
        first_down.second() - last_up >= 300.0,
        "{} vs {last_up}",
        first_down.second()
    );
    assert!(
        first_down.get("reason").contains("down"),
        "{}",
        first_down.get("reason")
    );
    assert!(out.contains("web.yaml"), "{out}");
}

#[test]
fn the_summary_matches_the_decision_series() {
    // Sized for the spike: 22 dynos at all times.
    let (out, rows) = replay_day(|dir| {
        let peak = config(dir, "peak.yaml", 22, 30, 10, "{}");
        vec!["--compare".into(), peak.into_os_string()]
    });
    let line = |run: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.starts_with(run))
            .unwrap_or_else(|| panic!("no {run} line in {out}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    for run in ["web.yaml", "peak.yaml"] {
        let mine: Vec<_> = rows.iter().filter(|r| r.get("run") == run).collect();
        // Dyno-hours: each count held until the next pass (the last for one interval).
        let integral: f64 = mine
            .windows(2)
            .map(|w| w[0].num("count") * (w[1].second() - w[0].second()))
            .sum::<f64>()
            + mine.last().unwrap().num("count") * 5.0;
        let figures = line(run);
        let printed: f64 = figures[1].parse().unwrap();
        assert!(
            (printed - integral / 3600.0).abs() < 0.006,
            "{run}: {printed} vs {}",
            integral / 3600.0
        );
        let changes = mine.iter().filter(|r| r.get("change") == "1").count();
        assert_eq!(figures[2], changes.to_string(), "{run}");
    }
    let peak_line = line("peak.yaml");
    assert_eq!(peak_line[3], "22");
    assert_eq!(
        peak_line[4], "0.0",
        "a policy sized for the peak is never under-provisioned: {out}"
    );
    let web_line = line("web.yaml");
    assert!(web_line[4].parse::<f64>().unwrap() > 0.5, "{out}");
    assert!(out.contains("peak.yaml vs web.yaml: dyno-hours +"), "{out}");
}

#[test]
fn compare_with_itself_shows_no_difference() {
    let dir = tempfile::tempdir().unwrap();
    let mut day = test_day();
    day.mean_rps = 0.5;
    let logs = write_day(dir.path(), "day.log", &day);
    let cfg = config(dir.path(), "web.yaml", 1, 30, 6, "{down_cooldown: 5m}");
    let same = dir.path().join("same.yaml");
    std::fs::copy(&cfg, &same).unwrap();
    let (ok, out, err) = simulate_logs(&cfg, &logs, &[OsStr::new("--compare"), s(&same)]);
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("same.yaml vs web.yaml: no difference"),
        "{out}"
    );
    let figures = |run: &str| {
        out.lines()
            .find(|l| l.starts_with(run))
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
    };
    assert_eq!(figures("web.yaml"), figures("same.yaml"));
    // A longer down cool-down is a difference, and it costs dyno-hours.
    let (ok, out, err) = simulate_logs(
        &cfg,
        &logs,
        &[OsStr::new("--policy"), OsStr::new("down_cooldown=30m")],
    );
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("policy down_cooldown=30m vs web.yaml: dyno-hours +"),
        "{out}"
    );
}
