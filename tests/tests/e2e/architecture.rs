//! The dependency direction of ARCHITECTURE.md, checked from `cargo metadata`.

use std::collections::{BTreeMap, BTreeSet};

/// What each workspace crate may depend on inside the workspace.
fn allowed(krate: &str) -> Option<&'static [&'static str]> {
    Some(match krate {
        "schema" => &[],
        "store" => &["schema"],
        "adapter-core" => &["schema"],
        k if k.starts_with("adapter-") => &["schema", "adapter-core"],
        "sync" => &[
            "schema",
            "store",
            "adapter-core",
            "adapter-mcs",
            "adapter-moh",
            "adapter-moeys",
            "adapter-moi",
            "adapter-mef",
        ],
        "mock-ministries" => &[],
        // Sources reach the gateway through `sync` alone; the mock never.
        "gateway" => &["schema", "store", "sync"],
        // The binary: the gateway's commands, and the demo over the mock ministries.
        "interop-gateway" => &["schema", "store", "sync", "gateway", "mock-ministries"],
        "e2e" => return None,
        _ => return Some(&[]),
    })
}

/// External crates that mean I/O of a kind the crate must never do.
fn forbidden(krate: &str) -> &'static [&'static str] {
    const SERVING: &[&str] = &["actix-web", "actix-http", "axum", "hyper-server"];
    const DATABASE: &[&str] = &[
        "tokio-postgres",
        "deadpool-postgres",
        "postgres",
        "sqlx",
        "refinery",
    ];
    match krate {
        "schema" => &[
            "tokio",
            "reqwest",
            "actix-web",
            "tokio-postgres",
            "deadpool-postgres",
            "hyper",
        ],
        "store" => &["actix-web", "reqwest", "axum"],
        k if k.starts_with("adapter-") => &[
            "actix-web",
            "tokio-postgres",
            "deadpool-postgres",
            "sqlx",
            "refinery",
            "axum",
        ],
        "sync" => SERVING,
        "mock-ministries" => DATABASE,
        _ => &[],
    }
}

#[test]
fn dependencies_point_one_way() {
    let packages = packages();
    let members: BTreeSet<&str> = packages.iter().map(|(name, _)| name.as_str()).collect();
    for required in ["schema", "store", "gateway", "interop-gateway", "e2e"] {
        assert!(members.contains(required), "workspace lacks {required}");
    }
    let mut violations = BTreeMap::new();
    for (name, deps) in &packages {
        for (dep, kind) in deps {
            if kind == "dev" {
                continue;
            }
            if members.contains(dep.as_str()) {
                if let Some(ok) = allowed(name)
                    && !ok.contains(&dep.as_str())
                {
                    violations.insert(
                        format!("{name} -> {dep}"),
                        "workspace crate against the direction",
                    );
                }
            } else if forbidden(name).contains(&dep.as_str()) {
                violations.insert(format!("{name} -> {dep}"), "I/O this crate must never do");
            }
        }
    }
    assert!(
        violations.is_empty(),
        "dependency rules broken: {violations:#?}"
    );
}

/// The workspace's packages and their dependencies (`kind` "normal", "dev" or "build").
fn packages() -> Vec<(String, Vec<(String, String)>)> {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .expect("deps")
                .iter()
                .map(|d| {
                    (
                        d["name"].as_str().expect("dep").to_owned(),
                        d["kind"].as_str().unwrap_or("normal").to_owned(),
                    )
                })
                .collect();
            (p["name"].as_str().expect("name").to_owned(), deps)
        })
        .collect()
}

/// The gateway library reads sources through `sync` only, and never links the mock
/// ministries (not even as a dev-dependency: its tests go through the `e2e` crate):
/// `serve` cannot reach a mock, and a new source needs no gateway change.
#[test]
fn the_gateway_knows_no_adapter_and_no_mock() {
    let packages = packages();
    let (_, gateway) = packages
        .iter()
        .find(|(name, _)| name == "gateway")
        .expect("gateway");
    let adapters: Vec<&str> = packages
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| name.starts_with("adapter-"))
        .collect();
    assert!(adapters.contains(&"adapter-core"), "{adapters:?}");
    let offending: Vec<String> = gateway
        .iter()
        .filter(|(dep, _)| adapters.contains(&dep.as_str()) || dep == "mock-ministries")
        .map(|(dep, kind)| format!("gateway -> {dep} ({kind})"))
        .collect();
    assert!(offending.is_empty(), "{offending:?}");
}

#[test]
fn only_the_config_module_reads_the_environment() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates");
    let mut offenders = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(root)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("examples") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read");
                let allowed = path.ends_with("gateway/src/config.rs")
                    || path.ends_with("store/src/scratch.rs");
                if !allowed
                    && (text.contains("env::var(")
                        || text.contains("env::var_os(")
                        || text.contains("env::vars("))
                {
                    offenders.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "read the environment outside config.rs: {offenders:?}"
    );
}
