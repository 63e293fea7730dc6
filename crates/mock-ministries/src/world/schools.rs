//! The MoEYS EMIS schools, placed in real communes; a school's code is its
//! commune's code and a serial.

use std::collections::HashMap;

use super::{School, Sizes, random_stamp, share_of};
use crate::Ministry;
use crate::gazetteer::Gazetteer;
use crate::khmer;
use crate::random::Rng;
use crate::truth::{FacilityRef, InvalidRecord, TransferredFacility, Truth, UnplacedFacility};
use crate::vocabulary::SchoolLevel;

/// Share of schools that are invalid (unreadable `commune_code`, or no Khmer name).
pub(crate) const INVALID_SHARE: f64 = 0.01;
/// Share of schools whose `commune_code` names no commune.
pub(crate) const UNPLACED_SHARE: f64 = 0.01;
/// Share of schools transferred to their district's administration.
pub(crate) const TRANSFERRED_SHARE: f64 = 0.03;
/// Share of schools that are closed.
pub(crate) const CLOSED_SHARE: f64 = 0.01;

const BAD_COMMUNE_CODES: [&str; 4] = ["2601", "01O201", "0102010", "010200"];

pub(super) fn generate(
    gaz: &Gazetteer,
    sizes: &Sizes,
    seed: u64,
    truth: &mut Truth,
) -> Vec<School> {
    let mut rng = Rng::new(seed, "moeys-schools");
    let communes = gaz.level(6);
    let shares: Vec<u32> = SchoolLevel::ALL.iter().map(|l| l.share()).collect();
    let mut per_commune: Vec<Vec<SchoolLevel>> = vec![Vec::new(); communes.len()];
    for _ in 0..sizes.schools {
        let c = rng.index(communes.len());
        per_commune[c].push(SchoolLevel::ALL[rng.weighted(&shares)]);
    }
    let mut schools = Vec::with_capacity(sizes.schools);
    for (c, levels) in per_commune.iter().enumerate() {
        let commune = communes[c];
        let place = gaz.place(commune);
        let villages = gaz.children(commune, 8);
        let mut seen: HashMap<(u32, SchoolLevel), u32> = HashMap::new();
        for (serial, level) in levels.iter().enumerate() {
            let village = if villages.is_empty() {
                commune
            } else {
                *rng.pick(&villages)
            };
            let v = gaz.place(village);
            let latin = if v.name_latin.is_empty() {
                place.name_latin
            } else {
                v.name_latin
            };
            let mut name_km = format!("{}{}", level.name_km(), v.name_km);
            let mut name_en = format!("{latin} {}", level.name_en());
            let repeat = seen.entry((village, *level)).or_insert(0);
            *repeat += 1;
            if *repeat > 1 {
                // A second school of a level in one village: a letter in quotes.
                let letter = char::from(b'A' + (*repeat as u8 - 1).min(25));
                name_km = format!(
                    "{name_km} ({})",
                    ["ក", "ខ", "គ", "ឃ"][(*repeat as usize - 1).min(3)]
                );
                name_en = format!("{name_en} \"{letter}\"");
            } else if rng.chance(0.03) {
                // Some exports name the commune after a comma.
                name_en = format!("{name_en}, {}", place.name_latin);
            }
            let commune_number: u32 = place.code.parse().unwrap_or(0);
            let location = (!rng.chance(0.03)).then(|| {
                let (lat, lon) = gaz.point(commune);
                let round = |x: f64| (x * 1e6).round() / 1e6;
                (
                    round(lat + (rng.unit() - 0.5) * 0.03),
                    round(lon + (rng.unit() - 0.5) * 0.03),
                )
            });
            schools.push(School {
                code: commune_number * 100 + serial as u32 + 1,
                name_km,
                name_en,
                level: *level,
                commune,
                commune_written: place.code.to_owned(),
                location,
                khmer_digits: rng.chance(0.05),
                closed: false,
                managed_by: None,
                updated: random_stamp(&mut rng),
                respelled: false,
                invalid: false,
            });
        }
    }

    let mut order: Vec<usize> = (0..schools.len()).collect();
    rng.shuffle(&mut order);
    let n = order.len();
    let mut next = order.into_iter();
    let invalid: Vec<usize> = next.by_ref().take(share_of(n, INVALID_SHARE, 2)).collect();
    let unplaced: Vec<usize> = next.by_ref().take(share_of(n, UNPLACED_SHARE, 2)).collect();
    let transferred: Vec<usize> = next
        .by_ref()
        .take(share_of(n, TRANSFERRED_SHARE, 2))
        .collect();
    let closed: Vec<usize> = next.by_ref().take(share_of(n, CLOSED_SHARE, 1)).collect();
    let khmer_codes: Vec<usize> = next.by_ref().take(share_of(n, 0.02, 1)).collect();
    for (k, i) in invalid.into_iter().enumerate() {
        let s = &mut schools[i];
        s.invalid = true;
        let reason = if k % 3 == 2 {
            s.name_km.clear();
            "school_name_kh is empty".to_owned()
        } else {
            let bad = BAD_COMMUNE_CODES[k % BAD_COMMUNE_CODES.len()];
            s.commune_written = bad.to_owned();
            format!("commune_code {bad:?} is not a gazetteer code")
        };
        truth.invalid.moeys_schools.push(InvalidRecord {
            id: s.code_string(),
            reason,
        });
    }
    for i in unplaced {
        let district = &gaz.place(schools[i].commune).code[..4];
        let written = (1..=99)
            .rev()
            .map(|n| format!("{district}{n:02}"))
            .find(|c| gaz.find(c).is_none())
            .unwrap_or_else(|| format!("{district}99"));
        let s = &mut schools[i];
        s.commune_written = written.clone();
        truth.facts.facility_unplaced.push(UnplacedFacility {
            source: Ministry::Moeys,
            facility_code: s.code_string(),
            record_id: s.code_string(),
            written_code: written,
        });
    }
    for i in transferred {
        let district = gaz.place(schools[i].commune).code[..4].to_owned();
        let s = &mut schools[i];
        s.managed_by = Some(district.clone());
        truth
            .facts
            .transferred_facilities
            .push(TransferredFacility {
                source: Ministry::Moeys,
                facility_code: s.code_string(),
                record_id: s.code_string(),
                district_code: district,
            });
    }
    for i in closed {
        let s = &mut schools[i];
        s.closed = true;
        truth.closed_facilities.push(FacilityRef {
            source: Ministry::Moeys,
            facility_code: s.code_string(),
            record_id: s.code_string(),
        });
    }
    for i in khmer_codes {
        let s = &mut schools[i];
        s.commune_written = khmer::digits(&s.commune_written);
    }
    schools
}
