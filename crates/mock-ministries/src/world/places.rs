//! The MoI gazetteer as served: every unit of the gazetteer, plus about 1% invalid
//! extra units.

use std::collections::HashSet;

use super::{UnitRecord, random_stamp, share_of};
use crate::gazetteer::Gazetteer;
use crate::random::Rng;
use crate::truth::{InvalidRecord, Truth};

/// Share of extra, invalid units.
pub(crate) const INVALID_SHARE: f64 = 0.01;

fn type_for(code_len: usize) -> &'static str {
    match code_len {
        2 => "ខេត្ត",
        4 => "ស្រុក",
        6 => "ឃុំ",
        _ => "ភូមិ",
    }
}

pub(super) fn generate(gaz: &Gazetteer, seed: u64, truth: &mut Truth) -> Vec<UnitRecord> {
    let mut rng = Rng::new(seed, "moi-units");
    let mut units: Vec<UnitRecord> = gaz
        .places()
        .iter()
        .map(|p| UnitRecord {
            code: p.code.to_owned(),
            type_km: p.type_km,
            name_km: p.name_km.to_owned(),
            name_en: (!p.name_latin.is_empty()).then(|| p.name_latin.to_owned()),
            parent_code: (p.code.len() > 2).then(|| p.code[..p.code.len() - 2].to_owned()),
            updated: random_stamp(&mut rng),
            respelled: false,
            invalid: false,
        })
        .collect();
    let mut taken: HashSet<String> = units.iter().map(|u| u.code.clone()).collect();
    let communes = gaz.level(6);
    let n = share_of(units.len(), INVALID_SHARE, 5);
    for k in 0..n {
        let commune = gaz.place(*rng.pick(&communes));
        let village_name = gaz
            .children(gaz.find(commune.code).unwrap_or(0), 8)
            .first()
            .map(|v| gaz.place(*v))
            .map_or(("ថ្មី", "Thmei"), |v| (v.name_km, v.name_latin));
        let (code, parent, name_km, reason) = match k % 5 {
            0 => {
                // A province that does not exist.
                let code = format!("{}{}", 26 + rng.index(74), &commune.code[2..]);
                let parent = code[..4].to_owned();
                let reason =
                    format!("code {code} starts with a province that does not exist (01-25)");
                (code, Some(parent), village_name.0.to_owned(), reason)
            }
            1 => {
                // A code ending in 00.
                let code = format!("{}00", commune.code);
                let reason = format!("code {code} ends in 00, which numbers no unit");
                (
                    code,
                    Some(commune.code.to_owned()),
                    village_name.0.to_owned(),
                    reason,
                )
            }
            2 => {
                // Seven digits.
                let code = format!("{}{}", commune.code, rng.index(9) + 1);
                let reason = format!("code {code} has 7 digits; a gazetteer code has 2, 4, 6 or 8");
                (
                    code,
                    Some(commune.code.to_owned()),
                    village_name.0.to_owned(),
                    reason,
                )
            }
            3 => {
                // No Khmer name.
                let code = unused_village(commune.code, &taken, &mut rng);
                let reason = "name_km is empty".to_owned();
                (code, Some(commune.code.to_owned()), String::new(), reason)
            }
            _ => {
                // The parent is not the unit the code extends.
                let code = unused_village(commune.code, &taken, &mut rng);
                let mut other = commune.code;
                while other == commune.code {
                    other = gaz.place(*rng.pick(&communes)).code;
                }
                let reason = format!("parent_code {other} is not the parent of {code}");
                (
                    code,
                    Some(other.to_owned()),
                    village_name.0.to_owned(),
                    reason,
                )
            }
        };
        if !taken.insert(code.clone()) {
            continue;
        }
        units.push(UnitRecord {
            type_km: type_for(code.len()),
            name_en: Some(village_name.1.to_owned()).filter(|s| !s.is_empty()),
            code: code.clone(),
            name_km,
            parent_code: parent,
            updated: random_stamp(&mut rng),
            respelled: false,
            invalid: true,
        });
        truth
            .invalid
            .moi_units
            .push(InvalidRecord { id: code, reason });
    }
    units.sort_by(|a, b| a.code.cmp(&b.code));
    units
}

/// A well-formed village code in `commune` that no village of the gazetteer has.
fn unused_village(commune: &str, taken: &HashSet<String>, rng: &mut Rng) -> String {
    loop {
        let code = format!("{commune}{}", 60 + rng.index(39));
        if !taken.contains(&code) {
            return code;
        }
    }
}
