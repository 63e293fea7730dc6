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
    let packages = packages();
    let members: BTreeSet<&str> = packages.iter().map(|(name, _)| name.as_str()).collect();
    for required in [
        "schema",
        "matching",
        "store",
        "gateway",
        "interop-gateway",
        "e2e",
    ] {
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
                // The mock's build script is told where the optional real gazetteer
                // is by the environment.
                let allowed = path.ends_with("gateway/src/config.rs")
                    || path.ends_with("store/src/scratch.rs")
                    || path.ends_with("mock-ministries/build.rs");
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

/// The gateway's modules refer to one another (`crate::...` paths, outside unit
/// tests) without a cycle: `openapi` -> `routes` -> `startup` -> `openapi` was one,
/// broken by each route module registering itself and `worker_pools` leaving
/// `startup`. A module reaches its children; its use of its own parent is not
/// counted (that is the tree).
#[test]
fn the_gateway_modules_have_no_cycle() {
    let src = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/gateway/src"
    ));
    let mut modules: BTreeMap<String, String> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path
                    .strip_prefix(&src)
                    .expect("under src")
                    .with_extension("");
                let name = relative.to_string_lossy().replace('/', "::");
                let name = match name.strip_suffix("::mod").unwrap_or(&name) {
                    "lib" | "main" => String::new(),
                    other => other.to_owned(),
                };
                let text = std::fs::read_to_string(&path).expect("read");
                let code = text.split("#[cfg(test)]").next().unwrap_or("").to_owned();
                modules.insert(name, code);
            }
        }
    }
    let uses = |code: &str| -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            // `crate::a::b::{c, d::e}` names a::b::c and a::b::d::e.
            let end = rest
                .find(|c: char| {
                    !(c.is_alphanumeric()
                        || c == '_'
                        || c == ':'
                        || c == '{'
                        || c == '}'
                        || c == ','
                        || c.is_whitespace())
                })
                .unwrap_or(rest.len());
            let path = &rest[..end];
            let (head, group) = match path.find('{') {
                Some(open) => (
                    &path[..open],
                    &path[open + 1..path.find('}').unwrap_or(path.len())],
                ),
                None => (path, ""),
            };
            let head: Vec<&str> = head
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::trim)
                .collect();
            let mut candidates: Vec<Vec<&str>> = group
                .split(',')
                .map(|t| t.trim().split("::").next().unwrap_or("").trim())
                .filter(|t| !t.is_empty())
                .map(|t| head.iter().copied().chain([t]).collect())
                .collect();
            if candidates.is_empty() {
                candidates.push(
                    head.iter()
                        .copied()
                        .take_while(|s| !s.contains(char::is_whitespace))
                        .collect(),
                );
            }
            for c in candidates {
                // The longest prefix that is a module.
                if let Some(m) = (1..=c.len())
                    .rev()
                    .map(|k| c[..k].join("::"))
                    .find(|m| modules.contains_key(m))
                {
                    found.insert(m);
                }
            }
        }
        found
    };
    let graph: BTreeMap<&String, BTreeSet<String>> = modules
        .iter()
        .map(|(name, code)| {
            // A module reaches its children too (it declares and calls them).
            let children = modules.keys().filter(|child| {
                !name.is_empty()
                    && child
                        .strip_prefix(&format!("{name}::"))
                        .is_some_and(|rest| !rest.contains("::"))
            });
            let edges = uses(code)
                .into_iter()
                .filter(|m| m != name && !name.starts_with(&format!("{m}::")))
                .chain(children.cloned())
                .collect();
            (name, edges)
        })
        .collect();
    assert!(graph.contains_key(&"openapi".to_owned()) && graph.contains_key(&"startup".to_owned()));
    // Depth-first search for a back edge, reporting the cycle it closes.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<&String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| *p == m) {
            let mut cycle: Vec<String> = path[at..].iter().map(|s| (*s).to_owned()).collect();
            cycle.push(m.to_owned());
            return Some(cycle);
        }
        if !done.insert(m) {
            return None;
        }
        path.push(m);
        let edges = graph.iter().find(|(k, _)| k.as_str() == m).map(|(_, e)| e);
        for next in edges.into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        let mut path = Vec::new();
        let cycle = visit(m, &graph, &mut path, &mut done);
        assert!(
            cycle.is_none(),
            "a cycle among gateway modules: {}",
            cycle.unwrap_or_default().join(" -> ")
        );
    }
}

/// Every gateway handler documented as answering people (staff, roster entries,
/// discrepancy evidence, the transfer report, raw rejected records) returns
/// `Audited`, which only recording the audit entry makes: a new route that shows
/// people cannot answer unaudited by forgetting the call.
#[test]
fn handlers_that_answer_people_return_audited() {
    const PERSONAL: &[&str] = &[
        "StaffList",
        "StaffView",
        "RosterView",
        "DiscrepancyList",
        "DiscrepancyView",
        "TransferReport",
        "RejectionList",
    ];
    let routes = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/gateway/src/routes");
    let mut unaudited = Vec::new();
    let mut personal = 0;
    for entry in std::fs::read_dir(routes).expect("read dir").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("read");
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for block in code.split("#[utoipa::path(").skip(1) {
            let Some((doc, handler)) = block.split_once("pub async fn ") else {
                continue;
            };
            let names_people = PERSONAL.iter().any(|schema| {
                doc.match_indices(schema).any(|(at, _)| {
                    !doc[at + schema.len()..].starts_with(|c: char| c.is_alphanumeric())
                })
            });
            if !names_people {
                continue;
            }
            personal += 1;
            let name = handler.split('(').next().unwrap_or("?");
            let returns = handler
                .split_once("->")
                .map(|(_, r)| r.split('{').next().unwrap_or(""))
                .unwrap_or("");
            if !returns.contains("Audited") {
                unaudited.push(format!("{name} -> {}", returns.trim()));
            }
        }
    }
    assert!(personal >= 9, "found {personal} handlers answering people");
    assert!(
        unaudited.is_empty(),
        "handlers answering people without Audited: {unaudited:?}"
    );
}
