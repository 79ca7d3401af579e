//! The `Dockerfile`, read rather than built (a release build in Docker takes minutes; README "Deploying" has
//! the manual check): two stages, a non-root final user, the binary and config where the entry point looks,
//! `$PORT` set, and the dependency-caching stubs in step with the `[[bench]]` targets of `Cargo.toml`.

use std::path::PathBuf;

fn read(name: &str) -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined, comments left out.
fn instructions() -> Vec<(String, String)> {
    let text = read("Dockerfile").replace("\\\n", " ");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, rest) = l.split_once(' ').unwrap_or((l, ""));
            (k.to_ascii_uppercase(), rest.trim().to_string())
        })
        .collect()
}

#[test]
fn the_final_stage_is_small_non_root_and_runs_the_copied_binary_on_port() {
    let ins = instructions();
    let stages: Vec<usize> = (0..ins.len()).filter(|&i| ins[i].0 == "FROM").collect();
    assert_eq!(stages.len(), 2, "a build stage and a final stage");
    assert!(
        ins[stages[0]].1.ends_with(" AS build"),
        "{:?}",
        ins[stages[0]]
    );
    let last = &ins[stages[1]..];
    assert!(
        last[0].1.starts_with("gcr.io/distroless/cc-debian12"),
        "{:?}",
        last[0]
    );
    let user = last
        .iter()
        .rev()
        .find(|(k, _)| k == "USER")
        .expect("a USER");
    assert!(
        !user.1.starts_with("root") && !user.1.starts_with('0'),
        "runs as {}",
        user.1
    );
    let has = |k: &str, v: &str| last.iter().any(|(key, args)| key == k && args == v);
    assert!(has(
        "COPY",
        "--from=build /drainscale /usr/local/bin/drainscale"
    ));
    assert!(has(
        "COPY",
        "config.sample.yaml /etc/drainscale/config.yaml"
    ));
    assert!(has(
        "ENTRYPOINT",
        "[\"/usr/local/bin/drainscale\", \"run\"]"
    ));
    assert!(has("CMD", "[\"/etc/drainscale/config.yaml\"]"));
    assert!(has("ENV", "PORT=8080"));
    // The shipped config is what reads $PORT.
    assert!(read("config.sample.yaml").contains("listen: \"0.0.0.0:${PORT:-8080}\""));
}

#[test]
fn the_dependency_stubs_cover_every_bench_target() {
    let cargo = read("Cargo.toml");
    let benches: Vec<&str> = cargo
        .split("[[bench]]")
        .skip(1)
        .filter_map(|b| b.lines().find_map(|l| l.trim().strip_prefix("name = ")))
        .map(|n| n.trim_matches('"'))
        .collect();
    assert!(!benches.is_empty());
    let dockerfile = read("Dockerfile");
    let stubbed = dockerfile
        .lines()
        .find_map(|l| l.trim().strip_prefix("&& for b in "))
        .and_then(|l| l.split("; do").next())
        .expect("the bench stub loop");
    let stubbed: Vec<&str> = stubbed.split_whitespace().collect();
    assert_eq!(
        stubbed, benches,
        "Dockerfile bench stubs vs Cargo.toml [[bench]]"
    );
    let ignored = read(".dockerignore");
    for needed in [
        "src",
        "benches",
        "Cargo.toml",
        "Cargo.lock",
        "config.sample.yaml",
    ] {
        assert!(
            !ignored.lines().any(|l| l.trim() == needed),
            ".dockerignore drops {needed}"
        );
    }
}
