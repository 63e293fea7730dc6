//! Finds the real gazetteer the `real_gazetteer` test compares the synthetic one with
//! (`REAL_GAZETTEER_DIR`, else `../shared/data/gazetteer` beside the workspace). With
//! it, `cfg(real_gazetteer)` is set and the test runs; without it the test is reported
//! as skipped, with the place it looked, never as a pass. Only the variable is
//! watched: data put in place later is seen after `cargo clean -p mock-ministries` or
//! a change of `REAL_GAZETTEER_DIR`.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(real_gazetteer)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=REAL_GAZETTEER_DIR");
    let dir = std::env::var_os("REAL_GAZETTEER_DIR").map_or_else(
        || {
            PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
                .join("../../../shared/data/gazetteer")
        },
        PathBuf::from,
    );
    if dir.join("villages.yml").is_file() {
        println!("cargo::rustc-cfg=real_gazetteer");
        println!("cargo::rustc-env=REAL_GAZETTEER_FOUND={}", dir.display());
    }
}
