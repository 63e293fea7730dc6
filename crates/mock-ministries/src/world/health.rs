//! The MoH's DHIS2 organisation units: the country, a provincial health department
//! per province, operational districts, and facilities placed in real communes.

use std::collections::{HashMap, HashSet};

use super::{Geometry, OrgUnit, Sizes, random_date, random_stamp, share_of};
use crate::gazetteer::Gazetteer;
use crate::khmer;
use crate::random::Rng;
use crate::truth::{FacilityRef, InvalidRecord, TransferredFacility, Truth, UnplacedFacility};
use crate::vocabulary::HealthKind;
use crate::{Ministry, MockConfig, Scale};

/// Share of facilities that are invalid (unreadable `ADMIN_CODE`, or no name).
pub(crate) const INVALID_SHARE: f64 = 0.01;
/// Share of facilities whose `ADMIN_CODE` names no commune.
pub(crate) const UNPLACED_SHARE: f64 = 0.01;
/// Share of facilities transferred to their district's administration.
pub(crate) const TRANSFERRED_SHARE: f64 = 0.03;
/// Share of facilities that are closed.
pub(crate) const CLOSED_SHARE: f64 = 0.01;

/// Unreadable admin codes written by invalid records.
pub(crate) const BAD_ADMIN_CODES: [&str; 5] = ["2601", "0102010", "ABC", "010200", "99"];

const UID_LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const UID_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A DHIS2 UID: a letter, then 10 letters or digits.
fn uid(rng: &mut Rng, taken: &mut HashSet<String>) -> String {
    loop {
        let mut s = String::with_capacity(11);
        s.push(char::from(*rng.pick(UID_LETTERS)));
        for _ in 0..10 {
            s.push(char::from(*rng.pick(UID_CHARS)));
        }
        if taken.insert(s.clone()) {
            return s;
        }
    }
}

fn jitter(rng: &mut Rng, (lat, lon): (f64, f64)) -> (f64, f64) {
    let round = |x: f64| (x * 1e6).round() / 1e6;
    (
        round(lat + (rng.unit() - 0.5) * 0.04),
        round(lon + (rng.unit() - 0.5) * 0.04),
    )
}

fn place_name(gaz: &Gazetteer, index: u32) -> (&'static str, &'static str) {
    let p = gaz.place(index);
    (p.name_km, p.name_latin)
}

pub(super) fn generate(
    gaz: &Gazetteer,
    sizes: &Sizes,
    config: MockConfig,
    truth: &mut Truth,
) -> Vec<OrgUnit> {
    let mut rng = Rng::new(config.seed, "moh-org-units");
    let mut taken = HashSet::new();
    let mut units = Vec::new();
    let unit =
        |uid: String, level: u8, code: String, name: String, short: String, parent| OrgUnit {
            uid,
            level,
            code,
            name,
            short_name: short,
            parent,
            kind: None,
            commune: None,
            admin_code: None,
            managed_by: None,
            geometry: Geometry::None,
            opening: chrono::NaiveDate::from_ymd_opt(1979, 1, 7).expect("valid date"),
            closed: None,
            updated: 0,
            respelled: false,
            invalid: false,
        };
    units.push(unit(
        uid(&mut rng, &mut taken),
        1,
        "KH".into(),
        "កម្ពុជា".into(),
        "Cambodia".into(),
        None,
    ));
    let mut district_od: HashMap<u32, u32> = HashMap::new();
    for province in gaz.level(2) {
        let p = gaz.place(province);
        let phd = units.len() as u32;
        units.push(unit(
            uid(&mut rng, &mut taken),
            2,
            format!("PHD-{}", p.code),
            format!("មន្ទីរសុខាភិបាល{}{}", p.type_km, p.name_km),
            format!("PHD {}", p.name_latin),
            Some(0),
        ));
        let districts = gaz.children(province, 4);
        let ods = match config.scale {
            Scale::Small => 1,
            Scale::Full => ((districts.len() as f64 / 2.2).round() as usize).max(1),
        };
        for j in 0..ods {
            let group = &districts[j * districts.len() / ods..(j + 1) * districts.len() / ods];
            let Some(first) = group.first() else { continue };
            let (km, latin) = place_name(gaz, *first);
            let od = units.len() as u32;
            units.push(unit(
                uid(&mut rng, &mut taken),
                3,
                format!("OD-{}", gaz.place(*first).code),
                format!("ស្រុកប្រតិបត្តិ{km}"),
                format!("OD {latin}"),
                Some(phd),
            ));
            for d in group {
                district_od.insert(*d, od);
            }
        }
    }
    let communes = gaz.level(6);
    let kinds = [
        (HealthKind::ReferralHospital, sizes.referral_hospitals),
        (HealthKind::HealthCentre, sizes.health_centres),
        (HealthKind::HealthPost, sizes.health_posts),
    ];
    let mut serials: HashMap<(&str, u32), u32> = HashMap::new();
    let first_facility = units.len();
    for (kind, count) in kinds {
        for _ in 0..count {
            let commune = *rng.pick(&communes);
            let district = gaz.ancestor(commune, 4).unwrap_or(commune);
            let od = district_od.get(&district).copied().unwrap_or(0);
            let serial = serials.entry((kind.group(), commune)).or_insert(0);
            *serial += 1;
            let serial = *serial;
            let named_after = match kind {
                HealthKind::ReferralHospital => district,
                HealthKind::HealthCentre => commune,
                HealthKind::HealthPost => {
                    let villages = gaz.children(commune, 8);
                    if villages.is_empty() {
                        commune
                    } else {
                        *rng.pick(&villages)
                    }
                }
            };
            let (km, mut latin) = place_name(gaz, named_after);
            if latin.is_empty() {
                latin = gaz.place(commune).name_latin;
            }
            let (mut name, mut short) = (
                format!("{}{km}", kind.name_km()),
                format!("{} {latin}", kind.group()),
            );
            if serial > 1 {
                name = format!("{name} {}", khmer::digits(&serial.to_string()));
                short = format!("{short} {serial}");
            }
            let commune_code = gaz.place(commune).code;
            let mut facility = unit(
                uid(&mut rng, &mut taken),
                4,
                format!("{}-{commune_code}-{serial:02}", kind.group()),
                name,
                short,
                Some(od),
            );
            facility.kind = Some(kind);
            facility.commune = Some(commune);
            facility.admin_code = Some(commune_code.to_owned());
            let (lat, lon) = jitter(&mut rng, gaz.point(commune));
            let shape = rng.unit();
            facility.geometry = if shape < 0.90 {
                Geometry::Point(lon, lat)
            } else if shape < 0.96 {
                Geometry::Polygon(lon, lat)
            } else {
                Geometry::None
            };
            facility.opening = random_date(&mut rng, 1980, 2020);
            units.push(facility);
        }
    }
    for u in &mut units {
        u.updated = random_stamp(&mut rng);
    }

    // Flags: each facility gets at most one.
    let mut order: Vec<usize> = (first_facility..units.len()).collect();
    rng.shuffle(&mut order);
    let n = order.len();
    let mut next = order.into_iter();
    let invalid: Vec<usize> = next.by_ref().take(share_of(n, INVALID_SHARE, 1)).collect();
    let unplaced: Vec<usize> = next.by_ref().take(share_of(n, UNPLACED_SHARE, 2)).collect();
    let transferred: Vec<usize> = next
        .by_ref()
        .take(share_of(n, TRANSFERRED_SHARE, 2))
        .collect();
    let closed: Vec<usize> = next.by_ref().take(share_of(n, CLOSED_SHARE, 1)).collect();
    for (k, i) in invalid.into_iter().enumerate() {
        let u = &mut units[i];
        u.invalid = true;
        let reason = if k % 3 == 2 {
            u.name.clear();
            u.short_name.clear();
            "name is empty".to_owned()
        } else {
            let bad = BAD_ADMIN_CODES[k % BAD_ADMIN_CODES.len()];
            u.admin_code = Some(bad.to_owned());
            format!("attribute ADMIN_CODE {bad:?} is not a gazetteer code")
        };
        truth.invalid.moh_org_units.push(InvalidRecord {
            id: u.uid.clone(),
            reason,
        });
    }
    for i in unplaced {
        let commune = units[i].commune.unwrap_or(0);
        let district = gaz.place(commune).code[..4].to_owned();
        let written = (1..=99)
            .rev()
            .map(|n| format!("{district}{n:02}"))
            .find(|c| gaz.find(c).is_none())
            .unwrap_or_else(|| format!("{district}99"));
        let u = &mut units[i];
        u.admin_code = Some(written.clone());
        truth.facts.facility_unplaced.push(UnplacedFacility {
            source: Ministry::Moh,
            facility_code: u.code.clone(),
            record_id: u.uid.clone(),
            written_code: written,
        });
    }
    for i in transferred {
        let commune = units[i].commune.unwrap_or(0);
        let district = gaz.place(commune).code[..4].to_owned();
        let u = &mut units[i];
        u.managed_by = Some(district.clone());
        truth
            .facts
            .transferred_facilities
            .push(TransferredFacility {
                source: Ministry::Moh,
                facility_code: u.code.clone(),
                record_id: u.uid.clone(),
                district_code: district,
            });
    }
    for i in closed {
        let u = &mut units[i];
        u.closed = Some(random_date(&mut rng, 2021, 2024));
        truth.closed_facilities.push(FacilityRef {
            source: Ministry::Moh,
            facility_code: u.code.clone(),
            record_id: u.uid.clone(),
        });
    }

    // Sort by id, and point parents at their new places.
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|a, b| units[*a].uid.cmp(&units[*b].uid));
    let mut new_index = vec![0u32; units.len()];
    for (new, old) in order.iter().enumerate() {
        new_index[*old] = new as u32;
    }
    let mut slots: Vec<Option<OrgUnit>> = units.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|old| slots[*old].take())
        .map(|mut u| {
            u.parent = u.parent.map(|p| new_index[p as usize]);
            u
        })
        .collect()
}
