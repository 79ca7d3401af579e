//! `app.json`, the manifest of the Deploy to Heroku button, against the rules of Heroku's app.json schema
//! (devcenter.heroku.com/articles/app-json-schema) it relies on, and against this repository: the buildpack
//! builds what the `Procfile` runs, the config it names loads with the environment the button sets, and the
//! postdeploy script prints the `heroku drains:add` line without the password.

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const RUST_BUILDPACK: &str = "https://github.com/emk/heroku-buildpack-rust";

/// Runs `cmd`; its stdout, after asserting it succeeded.
fn succeeds(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    printed
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn manifest() -> Map<String, Value> {
    let text = std::fs::read_to_string(root().join("app.json")).expect("app.json at the top level");
    match serde_json::from_str(&text).expect("app.json is JSON") {
        Value::Object(m) => m,
        other => panic!("app.json is not an object: {other}"),
    }
}

/// `keys` of `object` are all among `allowed` (the schema's objects take no other keys).
fn only_keys(what: &str, object: &Map<String, Value>, allowed: &[&str]) {
    for k in object.keys() {
        assert!(
            allowed.contains(&k.as_str()),
            "{what}: `{k}` is not an app.json key ({allowed:?})"
        );
    }
}

fn object<'a>(what: &str, v: &'a Value) -> &'a Map<String, Value> {
    v.as_object()
        .unwrap_or_else(|| panic!("{what} must be an object, is {v}"))
}

fn string<'a>(what: &str, v: &'a Value) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} must be a string, is {v}"))
}

/// The schema's rules for the keys this manifest uses.
fn assert_schema(m: &Map<String, Value>) {
    only_keys(
        "app.json",
        m,
        &[
            "name",
            "description",
            "keywords",
            "website",
            "repository",
            "logo",
            "success_url",
            "scripts",
            "env",
            "formation",
            "image",
            "addons",
            "buildpacks",
            "environments",
            "stack",
        ],
    );
    let name = string("name", &m["name"]);
    assert!(
        (3..=30).contains(&name.chars().count()),
        "name: 3 to 30 characters"
    );
    assert!(
        string("description", &m["description"]).chars().count() <= 140,
        "description: at most 140"
    );
    for k in m["keywords"].as_array().expect("keywords: an array") {
        string("a keyword", k);
    }
    string("success_url", &m["success_url"]);

    for (i, b) in m["buildpacks"]
        .as_array()
        .expect("buildpacks: an array")
        .iter()
        .enumerate()
    {
        let b = object("a buildpack", b);
        only_keys(&format!("buildpacks[{i}]"), b, &["url"]);
        string("a buildpack url", &b["url"]);
    }

    for (process, f) in object("formation", &m["formation"]) {
        let f = object(&format!("formation.{process}"), f);
        only_keys(&format!("formation.{process}"), f, &["quantity", "size"]);
        assert!(
            f["quantity"].is_u64(),
            "formation.{process}.quantity: a whole number"
        );
        if let Some(size) = f.get("size") {
            string("a formation size", size);
        }
    }

    for (key, v) in object("env", &m["env"]) {
        let well_named = key.starts_with(|c: char| c.is_ascii_uppercase())
            && key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        assert!(
            well_named,
            "env: `{key}` is not an environment variable name"
        );
        let Some(spec) = v.as_object() else {
            string(&format!("env.{key}"), v);
            continue;
        };
        only_keys(
            &format!("env.{key}"),
            spec,
            &["description", "value", "required", "generator"],
        );
        if let Some(d) = spec.get("description") {
            string("a description", d);
        }
        if let Some(value) = spec.get("value") {
            string(&format!("env.{key}.value"), value);
        }
        if let Some(r) = spec.get("required") {
            assert!(r.is_boolean(), "env.{key}.required: a boolean");
        }
        if let Some(g) = spec.get("generator") {
            assert_eq!(
                g, "secret",
                "env.{key}.generator: `secret` is the only generator"
            );
            assert!(
                spec.get("value").is_none(),
                "env.{key}: a generated value has no `value`"
            );
        }
    }

    let scripts = object("scripts", &m["scripts"]);
    only_keys("scripts", scripts, &["postdeploy", "pr-predestroy"]);
    for (k, v) in scripts {
        string(&format!("scripts.{k}"), v);
    }
}

#[test]
fn app_json_follows_the_schema() {
    assert_schema(&manifest());
}

#[test]
fn the_schema_rules_catch_what_heroku_would_refuse() {
    let refused = |edit: &dyn Fn(&mut Map<String, Value>)| {
        let mut m = manifest();
        edit(&mut m);
        std::panic::catch_unwind(|| assert_schema(&m)).is_err()
    };
    assert!(refused(&|m| {
        m.insert("procfile".into(), Value::Null);
    }));
    assert!(refused(
        &|m| m["env"]["DRAIN_PASSWORD"]["generator"] = "uuid".into()
    ));
    assert!(refused(
        &|m| m["env"]["SCALED_APP"]["required"] = "yes".into()
    ));
    assert!(refused(&|m| m["formation"]["web"]["quantity"] = "1".into()));
    assert!(refused(&|m| m["name"] = "x".repeat(31).into()));
    assert!(refused(&|m| {
        m["env"]["lower_case"] = "v".into();
    }));
}

#[test]
fn the_button_builds_and_runs_what_the_procfile_says() {
    let m = manifest();
    let buildpacks: Vec<&str> = m["buildpacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["url"].as_str().unwrap())
        .collect();
    assert_eq!(buildpacks, [RUST_BUILDPACK]);
    let procfile = std::fs::read_to_string(root().join("Procfile")).unwrap();
    let web = procfile
        .lines()
        .find_map(|l| l.strip_prefix("web:"))
        .expect("a web process in the Procfile");
    // The Rust buildpack leaves release binaries in target/release.
    assert!(
        web.trim()
            .starts_with("./target/release/drainscale run ${DRAINSCALE_CONFIG"),
        "{web}"
    );
    assert!(m["formation"]
        .as_object()
        .unwrap()
        .keys()
        .all(|p| p == "web"));

    let env = &m["env"];
    assert_eq!(env["DRAIN_PASSWORD"]["generator"], "secret");
    for asked in ["HEROKU_API_KEY", "SCALED_APP"] {
        assert_eq!(env[asked]["required"], true, "{asked} is asked for");
        assert!(env[asked].get("value").is_none(), "{asked} has no default");
    }
    assert_eq!(
        env["DRY_RUN"]["value"], "true",
        "a new drain starts in dry run"
    );
}

/// The environment a deploy gets: every `value`, a stand-in for the generated secret and the asked values.
fn deployed_env(m: &Map<String, Value>) -> Vec<(String, String)> {
    object("env", &m["env"])
        .iter()
        .map(|(k, spec)| {
            let v = match spec["value"].as_str() {
                Some(v) => v.to_string(),
                None if spec.get("generator").is_some() => "generated-7f3a9c".to_string(),
                None => format!("asked-{}", k.to_ascii_lowercase().replace('_', "-")),
            };
            (k.clone(), v)
        })
        .collect()
}

#[test]
fn the_config_it_names_loads_with_the_deployed_environment() {
    let m = manifest();
    let env = deployed_env(&m);
    let config = &env
        .iter()
        .find(|(k, _)| k == "DRAINSCALE_CONFIG")
        .unwrap()
        .1;
    assert!(
        Path::new(&root().join(config)).is_file(),
        "{config} is in the repository"
    );
    let printed = succeeds(
        Command::new(env!("CARGO_BIN_EXE_drainscale"))
            .args(["check", config])
            .current_dir(root())
            .env_clear()
            .env("PORT", "5000")
            .envs(env.iter().map(|(k, v)| (k, v))),
    );
    assert!(printed.contains("DRY RUN"), "{printed}");
    assert!(
        printed.contains("\"listen\":\"0.0.0.0:5000\""),
        "the drain listens on $PORT: {printed}"
    );
    assert!(
        printed.contains("scaler: app asked-scaled-app"),
        "{printed}"
    );
    assert!(
        !printed.contains("generated-7f3a9c"),
        "the password is masked: {printed}"
    );
}

#[test]
fn postdeploy_prints_the_drains_add_line_without_the_password() {
    let m = manifest();
    let script = string("scripts.postdeploy", &m["scripts"]["postdeploy"]);
    let printed = succeeds(
        Command::new("bash")
            .args(["-c", script])
            .current_dir(root())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HEROKU_APP_NAME", "shop-drain")
            .envs(deployed_env(&m)),
    );
    assert!(
        printed.contains(
            "heroku drains:add \"https://logplex:$(heroku config:get DRAIN_PASSWORD -a shop-drain)@HOST/logs\" -a asked-scaled-app"
        ),
        "{printed}"
    );
    assert!(!printed.contains("generated-7f3a9c"), "{printed}");
}
