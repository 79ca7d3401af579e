//! Loading config files: the shipped sample, errors that name file/key/line, interpolation, and Dynosaur's
//! layout read as it is.

use drainscale::config::{load, load_str, Layout};
use drainscale::scaler::backend::file::FileBackend;
use drainscale::scaler::input::Conversion;
use drainscale::scaler::inputs::drain::DrainParams;
use drainscale::window::Signal;
use std::time::Duration;

fn no_env(_: &str) -> Option<String> {
    None
}

fn err(text: &str) -> String {
    load_str(text, "app.yaml", &no_env).unwrap_err().to_string()
}

/// The typed error: (key path, line, message).
fn parts(text: &str) -> (Option<String>, Option<usize>, String) {
    let e = load_str(text, "app.yaml", &no_env).unwrap_err();
    assert_eq!(e.file, "app.yaml");
    (e.key, e.line, e.message)
}

const MINIMAL: &str = "drain: {auth: {insecure: true}}\nscaler:\n  dry_run: true\ncontrollers:\n  - name: web\n    max: 5\n    inputs:\n      - name: rpm\n        type: drain\n        query: {signal: request_rate}\n        per_dyno: 10\n";

#[test]
fn the_sample_loads_and_builds_without_env_or_secrets() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config.sample.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let loaded = load_str(&text, "config.sample.yaml", &no_env).unwrap();
    let c = &loaded.config;
    assert_eq!(loaded.layout, Layout::Native);
    assert!(c.scaler.dry_run);
    assert_eq!(c.drain.as_ref().unwrap().listen, "0.0.0.0:8080");
    assert_eq!(c.controllers.len(), 1);
    let web = &c.controllers[0];
    assert_eq!((web.process(), web.min, web.max), ("web", 1, 10));
    assert_eq!(
        web.inputs.iter().map(|i| i.kind()).collect::<Vec<_>>(),
        ["drain", "sine"]
    );
    assert_eq!(web.inputs[0].conversion, Conversion::PerDyno(600.0));
    assert!(
        matches!(web.inputs[0].params.get::<DrainParams>(), Some(p) if p.query == Signal::RequestRate)
    );
    // It also loads through the file path and builds into a scaler (dry run: no API key needed).
    let loaded = load(std::path::Path::new(path)).unwrap();
    let clock = std::sync::Arc::new(drainscale::scaler::clock::SystemClock);
    struct NoWindows;
    impl drainscale::window::WindowReader for NoWindows {
        fn read(
            &self,
            _: &drainscale::window::Query,
        ) -> Result<drainscale::window::Reading, drainscale::window::ReadError> {
            Err(drainscale::window::ReadError("not running".into()))
        }
    }
    let scaler = drainscale::scaler::build(
        &loaded.config.scaler,
        &loaded.config.controllers,
        Some(std::sync::Arc::new(NoWindows)),
        clock,
    )
    .unwrap();
    assert_eq!(
        drainscale::drain::StatusPage::status(&*scaler.status())["dry_run"],
        true
    );
}

#[test]
fn unknown_keys_name_the_file_the_key_and_the_line() {
    let text = "drain: {auth: {insecure: true}}\nscaler:\n  dry_run: true\n  intervall: 5s\n";
    let e = err(text);
    assert!(
        e.starts_with("app.yaml: line 4: scaler: unknown field `intervall`"),
        "{e}"
    );
    let (key, line, message) = parts(text);
    assert_eq!((key.as_deref(), line), (Some("scaler"), Some(4)));
    assert!(
        message.starts_with("unknown field `intervall`"),
        "{message}"
    );

    // Inside an input entry (its own type's keys), the line of the key itself.
    let text = MINIMAL.replace(
        "        per_dyno: 10\n",
        "        per_dyno: 10\n        spam: 3\n",
    );
    let e = err(&text);
    assert!(
        e.contains("unknown field `spam`") && e.contains("line 12") && e.contains("\"rpm\""),
        "{e}"
    );
}

#[test]
fn wrong_types_name_the_key_and_line() {
    let e = err(&MINIMAL.replace("max: 5", "max: lots"));
    assert!(
        e.contains("controllers[0].max") && e.contains("line 6"),
        "{e}"
    );
    let e = err(&MINIMAL.replace("dry_run: true", "dry_run: maybe"));
    assert!(e.contains("scaler.dry_run") && e.contains("line 3"), "{e}");
    let e = err(&MINIMAL.replace(
        "{signal: request_rate}",
        "{signal: service_time, quantile: 95}",
    ));
    assert!(e.contains("quantile 95") && e.contains("\"rpm\""), "{e}");
}

#[test]
fn semantic_errors_are_named() {
    let (key, line, message) = parts(&MINIMAL.replace("max: 5", "min: 6\n    max: 5"));
    assert_eq!(
        (key.as_deref(), line),
        (Some("controllers[0].min"), Some(6))
    );
    assert!(message.contains("6 is above max 5"), "{message}");
    let (key, line, _) = parts(&MINIMAL.replace("name: rpm", "name: \"r/m\""));
    assert_eq!(
        (key.as_deref(), line),
        (Some("controllers[0].inputs[0].name"), Some(8))
    );
    let e = err(&MINIMAL.replace("drain: {auth: {insecure: true}}\n", ""));
    assert!(e.contains("needs the drain"), "{e}");
    let e = err(&MINIMAL.replace("        per_dyno: 10\n", ""));
    assert!(e.contains("needs `per_dyno: N` or `target: N`"), "{e}");
    let e = err(&MINIMAL.replace("dry_run: true", "dry_run: false"));
    assert!(e.contains("scaler.app"), "{e}");
    let e = err(&MINIMAL.replace("dry_run: true", "dry_run: false\n  app: shop"));
    assert!(e.contains("scaler.api_key"), "{e}");
    let e = err(&MINIMAL.replace(
        "query: {signal: request_rate}",
        "query: {signal: request_rate}\n        span: 20m",
    ));
    assert!(
        e.contains("app.yaml: line 11: controllers[0].inputs[0].span: 20m is longer than windows.retention 10m"),
        "{e}"
    );
    let e = err(&MINIMAL.replace("type: drain", "type: loggly"));
    assert!(
        e.contains("unknown input type \"loggly\"") && e.contains("papertrail"),
        "{e}"
    );
    assert!(err("# nothing\n").contains("empty"));
}

#[test]
fn environment_interpolation_and_unset_variables() {
    let text = MINIMAL
        .replace("max: 5", "max: ${MAX_DYNOS:-7}")
        .replace("per_dyno: 10", "per_dyno: ${PER_DYNO}");
    let env = |name: &str| (name == "PER_DYNO").then(|| "25".to_string());
    let loaded = load_str(&text, "app.yaml", &env).unwrap();
    assert_eq!(loaded.config.controllers[0].max, 7);
    assert_eq!(
        loaded.config.controllers[0].inputs[0].conversion,
        Conversion::PerDyno(25.0)
    );
    let e = err(&text);
    assert!(
        e.starts_with("app.yaml: line 11:") && e.contains("PER_DYNO"),
        "{e}"
    );
}

#[test]
fn targets_tolerance_fallbacks_and_backends() {
    let text = MINIMAL
        .replace(
            "per_dyno: 10",
            "target: 250\n        tolerance: 0.2\n        fallback: 3",
        )
        .replace(
            "    max: 5\n",
            "    max: 5\n    process: worker\n    backend: {file: /tmp/formation}\n",
        );
    let c = load_str(&text, "app.yaml", &no_env).unwrap().config;
    let ctl = &c.controllers[0];
    assert_eq!(ctl.process(), "worker");
    assert_eq!(
        ctl.backend.get::<FileBackend>().map(|f| f.path.as_path()),
        Some(std::path::Path::new("/tmp/formation"))
    );
    assert_eq!(
        ctl.inputs[0].conversion,
        Conversion::Target {
            target: 250.0,
            tolerance: 0.2
        }
    );
    assert_eq!(ctl.inputs[0].fallback, Some(3));
    assert_eq!(ctl.inputs[0].interval, Duration::from_secs(10));
    let e = err(&MINIMAL.replace("per_dyno: 10", "per_dyno: 10\n        target: 3"));
    assert!(e.contains("not both"), "{e}");
}

const DYNOSAUR: &str = r#"scaler:
    heroku_app_name: my-heroku-app
    heroku_api_key: <%= ENV['HEROKU_API_KEY'] %>
    dry_run: true
    interval: 5
    relaxation_period: 600

stats_plugins:
    -
        type: Dynosaur::Stats::Librato
        api_email: <%= ENV['LIBRATO_USER'] %>
        api_key: <%= ENV['LIBRATO_TOKEN'] %>
    -
        type: Dynosaur::Stats::Console

success_handlers:
    -
        type: Dynosaur::Success::Cronut
        public_key: "<%= ENV.fetch('CRONUT_PUBLIC_KEY', '').gsub("\n", "|") %>"

error_handlers:
    -
        type: Dynosaur::ErrorHandler::Bugsnag
        api_key: <%= ENV['BUGSNAG_API_KEY'] %>
    -
        type: Dynosaur::ErrorHandler::Console

controller_plugins:
    -
        name: dynos
        type: Dynosaur::Controllers::DynosControllerPlugin
        min_resource: <%= ENV.fetch('MIN_WEB_DYNOS', 2) %>
        max_resource: <%= ENV.fetch('MAX_WEB_DYNOS', 15) %>
        input_plugins:
            -
                name: ga
                type: Dynosaur::Inputs::GoogleAnalyticsInputPlugin
                interval: 10
                analytics_view_id: 1234567
                users_per_dyno: 210
            -
                name: wave
                type: Dynosaur::Inputs::SinePlugin
                interval: 10
                hysteresis_period: 60
                period: 120
            -
                name: random
                type: Dynosaur::Inputs::RandomPlugin
                seed: 1234
"#;

#[test]
fn dynosaurs_layout_is_read_as_it_is() {
    let env = |name: &str| (name == "MAX_WEB_DYNOS").then(|| "12".to_string());
    let loaded = load_str(DYNOSAUR, "dynosaur.yaml", &env).unwrap();
    assert_eq!(loaded.layout, Layout::Dynosaur);
    let c = &loaded.config;
    assert_eq!(
        (c.scaler.app.as_str(), c.scaler.dry_run, c.scaler.interval),
        ("my-heroku-app", true, Duration::from_secs(5))
    );
    assert_eq!(c.scaler.api_key, None);
    assert_eq!(c.scaler.stats.prefix, "dynosaur");
    assert!(c.scaler.stats.console);
    let ctl = &c.controllers[0];
    assert_eq!(
        (ctl.name.as_str(), ctl.process(), ctl.min, ctl.max),
        ("dynos", "web", 2, 12)
    );
    assert_eq!(ctl.policy.down_cooldown, Duration::from_secs(600));
    let names: Vec<(&str, &str)> = ctl
        .inputs
        .iter()
        .map(|i| (i.name.as_str(), i.kind()))
        .collect();
    assert_eq!(names, [("wave", "sine"), ("random", "random")]);
    assert_eq!(ctl.inputs[0].conversion, Conversion::PerDyno(10.0));
    assert_eq!(ctl.inputs[0].hysteresis_period, Duration::from_secs(60));
    assert_eq!(ctl.inputs[1].conversion, Conversion::PerDyno(2.0));
    assert_eq!(ctl.inputs[1].interval, Duration::from_secs(60));
    let w = loaded.warnings.join("\n");
    assert!(
        w.contains("GoogleAnalyticsInputPlugin")
            && w.contains("property_id")
            && w.contains("skipped"),
        "{w}"
    );
    assert!(
        w.contains("Librato") && w.contains("Bugsnag") && w.contains("Cronut"),
        "{w}"
    );
}

#[test]
fn a_dynosaur_controller_with_only_unsupported_inputs_is_an_error() {
    let text = DYNOSAUR
        .split("            -\n                name: wave")
        .next()
        .unwrap();
    let e = load_str(text, "dynosaur.yaml", &no_env)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("GoogleAnalyticsInputPlugin")
            && e.contains("no input of this controller can run"),
        "{e}"
    );
    let e = load_str(
        &DYNOSAUR.replace("seed: 1234", "seed: 1234\n                sead: 1"),
        "d.yaml",
        &no_env,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown field `sead`"), "{e}");
}

#[test]
fn dynosaurs_older_layout_with_top_level_plugins() {
    let text = "scaler:\n    heroku_app_name: app\n    heroku_api_key: KEY\n    min_web_dynos: 3\n    max_web_dynos: 27\n    dry_run: true\n    interval: 0.1\n    blackout: 10\nplugins:\n    -\n        name: random_0\n        type: RandomPlugin\n        seed: 1234\n";
    let c = load_str(text, "old.yaml", &no_env).unwrap().config;
    let ctl = &c.controllers[0];
    assert_eq!(
        (ctl.min, ctl.max, ctl.policy.down_cooldown),
        (3, 27, Duration::from_secs(10))
    );
    assert_eq!(c.scaler.interval, Duration::from_millis(100));
    assert_eq!(c.scaler.api_key.as_ref().map(|k| k.expose()), Some("KEY"));
}

#[test]
fn the_readme_reference_example_loads() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("### Reference (drainscale's layout)")
        .nth(1)
        .unwrap();
    let yaml = section
        .split("```yaml\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let env = |name: &str| {
        matches!(name, "HEROKU_API_KEY" | "DRAIN_PASSWORD").then(|| "secret".to_string())
    };
    let loaded = load_str(yaml, "README.md", &env).unwrap();
    let web = &loaded.config.controllers[0];
    assert_eq!(web.inputs.len(), 4);
    assert_eq!(
        web.inputs[1].conversion,
        Conversion::Target {
            target: 300.0,
            tolerance: 0.1
        }
    );
    assert_eq!(
        loaded
            .config
            .scaler
            .dead_mans_switch
            .as_ref()
            .unwrap()
            .interval,
        Duration::from_secs(60)
    );
}

#[test]
fn window_and_outlet_sections_are_validated_too() {
    let e = err(&format!(
        "windows: {{resolution: 1m, retention: 10s}}\n{MINIMAL}"
    ));
    assert!(e.contains("windows.retention"), "{e}");
    let e = err(&format!(
        "outlets: {{statsd: {{address: nowhere}}}}\n{MINIMAL}"
    ));
    assert!(e.contains("outlets.statsd.address"), "{e}");
}

#[test]
fn an_open_drain_must_say_so() {
    let e = err(&MINIMAL.replace("drain: {auth: {insecure: true}}", "drain: {}"));
    assert!(
        e.contains("line 1: drain.auth: no users and no tokens"),
        "{e}"
    );
    // Open on purpose: allowed, with the drain's own warning.
    let loaded = load_str(MINIMAL, "app.yaml", &no_env).unwrap();
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("drain.auth.insecure")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn a_dynosaur_file_may_add_drainscales_drain_windows_and_outlets() {
    let text = format!(
        "{DYNOSAUR}\ndrain:\n  listen: \"127.0.0.1:0\"\n  auth:\n    tokens: [d.abc]\nwindows:\n  resolution: 5s\n"
    );
    let loaded = load_str(&text, "dynosaur.yaml", &no_env).unwrap();
    assert_eq!(loaded.layout, Layout::Dynosaur);
    let drain = loaded
        .config
        .drain
        .as_ref()
        .expect("the drain section is kept");
    assert_eq!(
        drain.auth.tokens,
        [drainscale::secret::Secret::new("d.abc")]
    );
    assert_eq!(loaded.config.windows.resolution, Duration::from_secs(5));

    // The drain's own checks apply in this layout too.
    let open = format!("{DYNOSAUR}\ndrain:\n  listen: \"127.0.0.1:0\"\n");
    let e = load_str(&open, "dynosaur.yaml", &no_env)
        .unwrap_err()
        .to_string();
    assert!(e.contains("insecure"), "{e}");
}

#[test]
fn a_dynosaur_ga_plugin_with_a_property_id_maps_to_the_ga4_input() {
    let text = DYNOSAUR.replace(
        "analytics_view_id: 1234567",
        "analytics_view_id: 1234567\n                property_id: 987654321\n                client_email: a@b.iam.gserviceaccount.com\n                key: \"-----BEGIN PRIVATE KEY-----|AAAA|-----END PRIVATE KEY-----\"",
    );
    let loaded = load_str(&text, "dynosaur.yaml", &no_env);
    // The inline key is checked at load: a key that is not an RSA key is refused, by name, without its text.
    let e = loaded.unwrap_err().to_string();
    assert!(
        e.contains("GoogleAnalyticsInputPlugin") && !e.contains("AAAA"),
        "{e}"
    );
    let pem = serde_json::from_str::<serde_json::Value>(include_str!(
        "fixtures/google/service_account.json"
    ))
    .unwrap()["private_key"]
        .as_str()
        .unwrap()
        .trim_end()
        .replace('\n', "|");
    let text = text.replace(
        "-----BEGIN PRIVATE KEY-----|AAAA|-----END PRIVATE KEY-----",
        &pem,
    );
    let loaded = load_str(&text, "dynosaur.yaml", &no_env).unwrap();
    let ga = &loaded.config.controllers[0].inputs[0];
    assert_eq!(ga.kind(), "google_analytics");
    assert_eq!(ga.conversion, Conversion::PerDyno(210.0));
    assert!(loaded
        .warnings
        .join("\n")
        .contains("analytics_view_id is ignored"));
}

#[test]
fn a_dynosaur_new_relic_plugin_maps_to_the_new_relic_input_in_rest_mode() {
    let text = DYNOSAUR.replace(
        "            -\n                name: wave",
        "            -\n                name: rpm\n                type: Dynosaur::Inputs::NewRelicInputPlugin\n                key: NRAK-ABC\n                app_id: 4242\n            -\n                name: wave",
    );
    let loaded = load_str(&text, "dynosaur.yaml", &no_env).unwrap();
    let nr = &loaded.config.controllers[0].inputs[0];
    assert_eq!((nr.name.as_str(), nr.kind()), ("rpm", "new_relic"));
    assert_eq!(nr.conversion, Conversion::PerDyno(150.0));
    assert!(nr.params.describe().contains("application 4242"));
    let w = loaded.warnings.join("\n");
    assert!(w.contains("2027-07-31") && !w.contains("NRAK-ABC"), "{w}");
    let text = text.replace(
        "app_id: 4242",
        "app_id: 4242\n                rpm_per_dyno: 90",
    );
    let loaded = load_str(&text, "dynosaur.yaml", &no_env).unwrap();
    assert_eq!(
        loaded.config.controllers[0].inputs[0].conversion,
        Conversion::PerDyno(90.0)
    );
}
