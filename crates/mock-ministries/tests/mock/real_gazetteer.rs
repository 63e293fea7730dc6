//! The synthetic gazetteer against the shape of Cambodia's real one (NCDD codes, as
//! compiled by the `pumi` project), read from a copy beside the workspace
//! (`../shared/data/gazetteer`, where developers and CI have it) or from
//! `REAL_GAZETTEER_DIR`. The real files are only read here, never copied: the mock
//! does not depend on them.
//!
//! A pass means the shapes were compared. The build script looks for the data: where
//! it is absent the test is marked ignored, so the runner reports it as skipped (with
//! the reason), never as passed having compared nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::harness::start;

/// Where the build script found the real gazetteer.
#[cfg(real_gazetteer)]
fn real_gazetteer_dir() -> PathBuf {
    PathBuf::from(env!("REAL_GAZETTEER_FOUND"))
}

#[cfg(not(real_gazetteer))]
fn real_gazetteer_dir() -> PathBuf {
    unreachable!("the test is ignored without the data")
}

/// Per code length (2, 4, 6, 8): how many units, and their Khmer kinds.
type Shape = BTreeMap<usize, (usize, BTreeSet<String>)>;

/// Reads one level's YAML file by hand: `  '010201':` starts a unit, and the `km:`
/// line right under its `    administrative_unit:` gives its kind.
fn read_level(path: &std::path::Path, shape: &mut Shape) {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let (mut units, mut kinds) = (0, 0);
    let mut digits = 0;
    let mut in_unit_kind = false;
    for line in text.lines() {
        if let Some(code) = line
            .strip_prefix("  '")
            .and_then(|rest| rest.strip_suffix("':"))
            .filter(|code| code.bytes().all(|b| b.is_ascii_digit()))
        {
            digits = code.len();
            shape.entry(digits).or_default().0 += 1;
            units += 1;
            in_unit_kind = false;
        } else if line == "    administrative_unit:" {
            in_unit_kind = true;
        } else if in_unit_kind && let Some(kind) = line.strip_prefix("      km: ") {
            in_unit_kind = false;
            kinds += 1;
            shape
                .entry(digits)
                .or_default()
                .1
                .insert(kind.trim().to_owned());
        }
    }
    assert!(units > 0, "no units in {}", path.display());
    assert_eq!(units, kinds, "a kind for every unit in {}", path.display());
}

#[tokio::test]
#[cfg_attr(
    not(real_gazetteer),
    ignore = "skipped: no real gazetteer at ../shared/data/gazetteer or REAL_GAZETTEER_DIR"
)]
async fn shaped_like_the_real_gazetteer() {
    let folder = real_gazetteer_dir();
    let mut real = Shape::new();
    for level in ["provinces", "districts", "communes", "villages"] {
        read_level(&folder.join(format!("{level}.yml")), &mut real);
    }

    // The synthetic gazetteer, as the MoI serves it, minus the planted invalid units.
    let mock = start(3).await;
    let invalid: BTreeSet<&str> = mock
        .server
        .truth()
        .invalid
        .moi_units
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    let mut synthetic = Shape::new();
    for unit in mock.moi_units("").await {
        let code = unit["code"].as_str().expect("code");
        if invalid.contains(code) {
            continue;
        }
        let level = synthetic.entry(code.len()).or_default();
        level.0 += 1;
        level
            .1
            .insert(unit["type_km"].as_str().expect("type_km").to_owned());
    }
    mock.server.stop().await;

    assert_eq!(
        synthetic.keys().collect::<Vec<_>>(),
        real.keys().collect::<Vec<_>>(),
        "code lengths"
    );
    for (digits, (count, kinds)) in &real {
        let (ours, our_kinds) = &synthetic[digits];
        println!("{digits}-digit units: real {count}, synthetic {ours}");
        if *digits == 2 {
            assert_eq!((*count, *ours), (25, 25), "provinces");
        } else {
            let off = (*ours as f64 - *count as f64).abs() / *count as f64;
            assert!(off <= 0.15, "{digits}-digit units: {ours} against {count}");
        }
        assert_eq!(our_kinds, kinds, "kinds of {digits}-digit units");
    }
}
