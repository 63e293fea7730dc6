//! The dependency direction of ARCHITECTURE.md, checked from `cargo metadata`.

use std::collections::{BTreeMap, BTreeSet};

/// What each workspace crate may depend on inside the workspace.
fn allowed(krate: &str) -> Option<&'static [&'static str]> {
    Some(match krate {
        "schema" => &[],
        "matching" => &["schema"],
        "store" => &["schema", "matching"],
        "adapter-core" => &["schema"],
        k if k.starts_with("adapter-") => &["schema", "adapter-core"],
        "sync" => &[
            "schema",
            "matching",
            "store",
            "adapter-core",
            "adapter-mcs",
            "adapter-moh",
            "adapter-moeys",
            "adapter-moi",
            "adapter-mef",
        ],
        "mock-ministries" => &[],
        "gateway" => &[
            "schema",
            "store",
            "sync",
            "adapter-core",
            "adapter-mcs",
            "adapter-moh",
            "adapter-moeys",
            "adapter-moi",
            "adapter-mef",
            "mock-ministries",
        ],
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
        "schema" | "matching" => &[
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
    let packages = meta["packages"].as_array().expect("packages");
    let members: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_owned())
        .collect();
    for required in ["schema", "matching", "store", "gateway", "e2e"] {
        assert!(members.contains(required), "workspace lacks {required}");
    }
    let mut violations = BTreeMap::new();
    for p in packages {
        let name = p["name"].as_str().expect("name");
        let deps: Vec<(&str, &str)> = p["dependencies"]
            .as_array()
            .expect("deps")
            .iter()
            .map(|d| {
                (
                    d["name"].as_str().expect("dep"),
                    d["kind"].as_str().unwrap_or("normal"),
                )
            })
            .collect();
        for (dep, kind) in deps {
            if kind == "dev" {
                continue;
            }
            if members.contains(dep) {
                if let Some(ok) = allowed(name)
                    && !ok.contains(&dep)
                {
                    violations.insert(
                        format!("{name} -> {dep}"),
                        "workspace crate against the direction",
                    );
                }
            } else if forbidden(name).contains(&dep) {
                violations.insert(format!("{name} -> {dep}"), "I/O this crate must never do");
            }
        }
    }
    assert!(
        violations.is_empty(),
        "dependency rules broken: {violations:#?}"
    );
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
