//! Stats after every pass, named as Dynosaur named them: per input
//! `<prefix>.<app>.<controller>.<input>.{value,max,estimate}` and per controller
//! `<prefix>.<app>.<controller>.combined.{estimate,actual}`. With prefix `dynosaur` the names are Dynosaur's.
//!
//! [`stat_lines`] makes the list; each [`StatsReporter`] sends it somewhere: the console, or the outlets
//! (statsd and Librato-format HTTP, through [`crate::outlet::StatsSender`]), where the outlet's own `prefix`
//! takes the place of `<prefix>`.

use super::controller::PassReport;
use std::io::Write;
use std::sync::Mutex;

/// Where pass stats go.
pub trait StatsReporter: Send + Sync {
    fn report(&self, pass: &PassReport);
}

/// Keeps metric names to `[A-Za-z0-9_-]` segments (Dynosaur allowed "redis connections").
pub fn segment(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The stats of one pass: `(name, value)`; values that do not exist yet (no retrieval) are left out.
/// An empty `prefix` gives names starting at `<app>`.
pub fn stat_lines(prefix: &str, app: &str, pass: &PassReport) -> Vec<(String, f64)> {
    let app = if app.is_empty() { "app" } else { app };
    let base = crate::outlet::names::prefixed(
        prefix,
        '.',
        &format!("{}.{}", segment(app), segment(&pass.controller)),
    );
    let mut out = Vec::with_capacity(pass.inputs.len() * 3 + 2);
    for input in &pass.inputs {
        let name = format!("{base}.{}", segment(&input.name));
        if let Some(v) = input.value {
            out.push((format!("{name}.value"), v));
        }
        if let Some(m) = input.max {
            out.push((format!("{name}.max"), m));
        }
        if let Some(e) = input.estimate {
            out.push((format!("{name}.estimate"), f64::from(e)));
        }
    }
    if let Some(e) = pass.estimate {
        out.push((format!("{base}.combined.estimate"), f64::from(e)));
    }
    if let Some(a) = pass.actual {
        out.push((format!("{base}.combined.actual"), f64::from(a)));
    }
    out
}

/// Prints one line per pass: `stats <name>=<value> ...` (stdout by default).
pub struct Console {
    prefix: String,
    app: String,
    out: Mutex<Box<dyn Write + Send>>,
}

impl Console {
    pub fn stdout(prefix: &str, app: &str) -> Self {
        Console::to(prefix, app, Box::new(std::io::stdout()))
    }

    pub fn to(prefix: &str, app: &str, out: Box<dyn Write + Send>) -> Self {
        Console {
            prefix: prefix.to_string(),
            app: app.to_string(),
            out: Mutex::new(out),
        }
    }
}

impl StatsReporter for Console {
    fn report(&self, pass: &PassReport) {
        let mut line = String::from("stats");
        for (name, value) in stat_lines(&self.prefix, &self.app, pass) {
            line.push_str(&format!(" {name}={}", fmt_value(value)));
        }
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // Console stats are best effort: a closed stdout must not stop the scaler.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

/// Sends every stat through the outlets (statsd, Librato-format HTTP) as `<outlet prefix>.<app>.<controller>...`.
pub struct OutletGauges {
    sender: crate::outlet::StatsSender,
    prefix: String,
    app: String,
}

impl OutletGauges {
    /// Names are `<prefix>.<app>...` as the outlets send gauge names as given.
    pub fn new(sender: crate::outlet::StatsSender, prefix: &str, app: &str) -> Self {
        OutletGauges {
            sender,
            prefix: prefix.to_string(),
            app: app.to_string(),
        }
    }
}

impl StatsReporter for OutletGauges {
    fn report(&self, pass: &PassReport) {
        let gauges: Vec<crate::outlet::StatGauge> = stat_lines(&self.prefix, &self.app, pass)
            .into_iter()
            .map(|(name, value)| crate::outlet::StatGauge::new(name, value))
            .collect();
        self.sender.gauges(&gauges);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::scaler::controller::InputReport;
    use crate::scaler::health::Health;
    use crate::scaler::policy::Bounds;

    pub(crate) fn sample_pass() -> PassReport {
        PassReport {
            controller: "web".into(),
            process: "web".into(),
            at: jiff::Timestamp::UNIX_EPOCH,
            inputs: vec![
                InputReport {
                    name: "rpm".into(),
                    kind: "drain",
                    description: String::new(),
                    unit: "per minute".into(),
                    value: Some(1200.0),
                    max: Some(1500.5),
                    estimate: Some(3),
                    health: Health::Ok,
                    age: None,
                    last_error: None,
                    fallback_used: false,
                },
                InputReport {
                    name: "redis connections".into(),
                    kind: "sine",
                    description: String::new(),
                    unit: String::new(),
                    value: None,
                    max: None,
                    estimate: None,
                    health: Health::Stale,
                    age: None,
                    last_error: None,
                    fallback_used: false,
                },
            ],
            current: Some(2),
            estimate: Some(3),
            actual: Some(3),
            bounds: Bounds {
                min: 1,
                max: 10,
                schedule: None,
            },
            reason: String::new(),
            change: None,
            error: None,
            error_repeated: false,
            dry_run: true,
            plans: None,
            size: None,
        }
    }

    #[test]
    fn names_follow_dynosaur() {
        let lines = stat_lines("dynosaur", "my-app", &sample_pass());
        let names: Vec<&str> = lines.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "dynosaur.my-app.web.rpm.value",
                "dynosaur.my-app.web.rpm.max",
                "dynosaur.my-app.web.rpm.estimate",
                "dynosaur.my-app.web.combined.estimate",
                "dynosaur.my-app.web.combined.actual"
            ]
        );
        assert_eq!(lines[1].1, 1500.5);
        assert_eq!(
            stat_lines("", "my-app", &sample_pass())[0].0,
            "my-app.web.rpm.value"
        );
        assert_eq!(
            stat_lines("x", "", &sample_pass())[0].0,
            "x.app.web.rpm.value"
        );
    }

    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn console_prints_one_line_per_pass() {
        let buf = Shared::default();
        let console = Console::to("drainscale", "app", Box::new(buf.clone()));
        console.report(&sample_pass());
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "stats drainscale.app.web.rpm.value=1200 drainscale.app.web.rpm.max=1500.500 \
             drainscale.app.web.rpm.estimate=3 drainscale.app.web.combined.estimate=3 \
             drainscale.app.web.combined.actual=3\n"
        );
    }
}
