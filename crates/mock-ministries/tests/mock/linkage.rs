//! The linkage noise against what is served: every noisy record's truth holds on the
//! wire (a record without ids really has none, a typo is one typo from its officer,
//! a hard negative pair shares a Khmer name and birth year and is two people), and
//! without the noise nothing changes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mock_ministries::{
    LinkageRecord, Ministry, MockConfig, NoiseClass, RecordRef, Scale, Truth, Variant,
};
use serde_json::Value;

use crate::harness::{Mock, as_of, column, parse_csv, start, start_with};
use crate::truth::{ascii_digits, iso_date};

async fn start_noisy(seed: u64) -> Mock {
    start_with(MockConfig {
        scale: Scale::Small,
        seed,
        as_of: Some(as_of()),
        linkage_noise: true,
    })
    .await
}

/// The Khmer name as the reconciliation compares it: zero-width characters
/// removed, whitespace collapsed.
fn khmer_key(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}'))
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether two officer ids are one typo apart: an adjacent transposition or one
/// digit wrong.
fn typo_kind(a: &str, b: &str) -> Option<Variant> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return None;
    }
    let diff: Vec<usize> = (0..a.len()).filter(|i| a[*i] != b[*i]).collect();
    match diff.as_slice() {
        [_] => Some(Variant::OfficerIdDigitOff),
        [i, j] if *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i] => {
            Some(Variant::OfficerIdTransposed)
        }
        _ => None,
    }
}

/// One valid sector record as served.
#[derive(Debug)]
struct Served {
    officer_id: Option<String>,
    national_id: Option<String>,
    name_km: String,
    sex: Option<&'static str>,
    /// ISO.
    birth: Option<String>,
    facility_code: String,
}

fn sex(written: &str) -> Option<&'static str> {
    match written {
        "" => None,
        "M" | "ប្រុស" | "male" => Some("male"),
        "F" | "ស្រី" | "female" => Some("female"),
        other => panic!("sex {other:?}"),
    }
}

/// The province (2-digit code) of a facility code: a DHIS2 `HC-030604-01` or an
/// 8-digit school code.
fn province_of_facility(code: &str) -> String {
    match code.split('-').nth(1) {
        Some(commune) => commune[..2].to_owned(),
        None => code[..2].to_owned(),
    }
}

/// Everything a linkage check reads, pulled once.
struct World {
    truth: Truth,
    roll: BTreeMap<String, Value>,
    /// Keyed by source and record id.
    sector: BTreeMap<(Ministry, String), Served>,
}

impl World {
    async fn pull(mock: &Mock) -> Self {
        let truth = mock.server.truth().clone();
        let invalid = &truth.invalid;
        let roll = mock
            .mcs_officers("")
            .await
            .into_iter()
            .map(|o| (o["officer_id"].as_str().expect("id").to_owned(), o))
            .filter(|(id, _)| !invalid.mcs_officers.iter().any(|i| &i.id == id))
            .collect();
        let code_of_uid: HashMap<String, String> = mock
            .dhis2_units("")
            .await
            .iter()
            .map(|u| {
                (
                    u["id"].as_str().expect("id").to_owned(),
                    u["code"].as_str().expect("code").to_owned(),
                )
            })
            .collect();
        let mut facility_of: HashMap<String, String> = HashMap::new();
        for r in mock.fhir("PractitionerRole", "").await {
            let id = r["id"].as_str().expect("id");
            if invalid.moh_practitioner_roles.iter().any(|i| i.id == id) {
                continue;
            }
            let practitioner = r["practitioner"]["reference"]
                .as_str()
                .expect("reference")
                .trim_start_matches("Practitioner/");
            let uid = r["location"][0]["reference"]
                .as_str()
                .expect("location")
                .trim_start_matches("Location/");
            facility_of.insert(practitioner.to_owned(), code_of_uid[uid].clone());
        }
        let mut sector = BTreeMap::new();
        for p in mock.fhir("Practitioner", "").await {
            let id = p["id"].as_str().expect("id").to_owned();
            if invalid.moh_practitioners.iter().any(|i| i.id == id) {
                continue;
            }
            let identifier = |system: &str| {
                p["identifier"].as_array().and_then(|ids| {
                    ids.iter()
                        .find(|i| i["system"] == system)
                        .and_then(|i| i["value"].as_str().map(str::to_owned))
                })
            };
            let served = Served {
                officer_id: identifier("https://hrmis.mcs.gov.kh/officer-id"),
                national_id: identifier("https://gdi.gov.kh/national-id"),
                name_km: p["name"][0]["text"].as_str().expect("text").to_owned(),
                sex: sex(p["gender"].as_str().unwrap_or("")),
                birth: iso_date(p["birthDate"].as_str().expect("birthDate")),
                facility_code: facility_of[&id].clone(),
            };
            sector.insert((Ministry::Moh, id), served);
        }
        let text = mock.text("/emis/export/teachers.csv").await;
        let (header, rows) = parse_csv(&text);
        let c = |n| column(&header, n);
        for r in rows {
            if invalid.moeys_teachers.iter().any(|i| i.id == r[0]) {
                continue;
            }
            let optional = |s: &str| (!s.is_empty()).then(|| ascii_digits(s));
            let served = Served {
                officer_id: optional(&r[c("officer_id")]),
                national_id: optional(&r[c("national_id")]),
                name_km: r[c("name_kh")].clone(),
                sex: sex(&r[c("sex")]),
                birth: iso_date(&r[c("dob")]),
                facility_code: r[c("school_code")].clone(),
            };
            sector.insert((Ministry::Moeys, r[0].clone()), served);
        }
        Self {
            truth,
            roll,
            sector,
        }
    }

    fn officer(&self, id: &str) -> &Value {
        self.roll
            .get(id)
            .unwrap_or_else(|| panic!("officer {id} is on the roll"))
    }

    fn roll_birth(&self, id: &str) -> String {
        iso_date(self.officer(id)["date_of_birth"].as_str().expect("dob")).expect("a date")
    }

    fn roll_name(&self, id: &str) -> String {
        khmer_key(self.officer(id)["name_kh"].as_str().expect("name"))
    }

    /// A record of either side: Khmer name key, ISO birth date, national id, province.
    fn side(&self, r: &RecordRef) -> (String, String, Option<String>, String) {
        if r.source == Ministry::Mcs {
            let o = self.officer(&r.record_id);
            let province = match o["work_unit"]["facility_code"].as_str() {
                Some(code) => province_of_facility(code),
                None => o["work_unit"]["admin_code"].as_str().expect("admin")[..2].to_owned(),
            };
            (
                self.roll_name(&r.record_id),
                self.roll_birth(&r.record_id),
                o["national_id"].as_str().map(str::to_owned),
                province,
            )
        } else {
            let s = &self.sector[&(r.source, r.record_id.clone())];
            (
                khmer_key(&s.name_km),
                s.birth.clone().expect("a date"),
                s.national_id.clone(),
                province_of_facility(&s.facility_code),
            )
        }
    }
}

/// A noisy record's name and birth date against its officer's roll record, as its
/// variants say.
fn check_variants(world: &World, r: &LinkageRecord, s: &Served, officer: &str) {
    let v = &r.variants;
    let renamed = v.iter().any(|x| x.changes_khmer_key());
    assert_eq!(
        khmer_key(&s.name_km) != world.roll_name(officer),
        renamed,
        "{r:?}: {} against {}",
        s.name_km,
        world.roll_name(officer)
    );
    if v.contains(&Variant::KhmerZeroWidth) {
        assert!(s.name_km.contains('\u{200B}'), "{r:?}");
    }
    let roll = world.roll_birth(officer);
    let served = s.birth.clone().expect("a readable date");
    let differing = roll.bytes().zip(served.bytes()).filter(|(a, b)| a != b);
    if v.contains(&Variant::BirthDateYearOnly) {
        assert_eq!(served, format!("{}-01-01", &roll[..4]), "{r:?}");
    } else if v.contains(&Variant::BirthDateDigitOff) {
        assert_eq!(differing.count(), 1, "{r:?}: {served} against {roll}");
    } else if v.contains(&Variant::BirthDateDayMonthSwapped) {
        assert_eq!(
            (&served[5..7], &served[8..10]),
            (&roll[8..10], &roll[5..7]),
            "{r:?}"
        );
    } else {
        assert_eq!(served, roll, "{r:?}");
    }
    assert_eq!(
        s.sex.is_none(),
        v.contains(&Variant::SexMissing),
        "{r:?}: sex"
    );
    assert_eq!(
        s.national_id.is_none(),
        v.contains(&Variant::NationalIdMissing),
        "{r:?}: national id"
    );
}

#[tokio::test]
async fn without_the_noise_the_truth_has_no_linkage() {
    let mock = start(61).await;
    let truth = mock.server.truth();
    assert!(truth.linkage.is_none());
    let json = serde_json::to_string(truth).expect("JSON");
    assert!(!json.contains("linkage"), "the truth file is as it was");
    mock.server.stop().await;
}

/// The noise adds records and changes none of the world's own: every officer,
/// practitioner and teacher served without it is served the same with it.
#[tokio::test]
async fn the_noise_only_adds_records() {
    let (plain, noisy) = tokio::join!(start(62), start_noisy(62));
    let rows = |v: Vec<Value>, key: &str| -> BTreeMap<String, Value> {
        v.into_iter()
            .map(|x| (x[key].as_str().expect("id").to_owned(), x))
            .collect()
    };
    let (a, b) = tokio::join!(plain.mcs_officers(""), noisy.mcs_officers(""));
    let (a, b) = (rows(a, "officer_id"), rows(b, "officer_id"));
    assert!(b.len() > a.len());
    for (id, o) in &a {
        assert_eq!(b.get(id), Some(o), "officer {id}");
    }
    let (a, b) = tokio::join!(
        plain.fhir("Practitioner", ""),
        noisy.fhir("Practitioner", "")
    );
    let (a, b) = (rows(a, "id"), rows(b, "id"));
    assert!(b.len() > a.len());
    for (id, p) in &a {
        assert_eq!(b.get(id), Some(p), "practitioner {id}");
    }
    let (a, b) = tokio::join!(
        plain.text("/emis/export/teachers.csv"),
        noisy.text("/emis/export/teachers.csv")
    );
    let lines = |t: &str| t.split("\r\n").map(str::to_owned).collect::<BTreeSet<_>>();
    let (a, b) = (lines(&a), lines(&b));
    assert!(b.len() > a.len());
    assert!(a.is_subset(&b), "every teacher row is served as it was");

    let (ta, tb) = (plain.server.truth(), noisy.server.truth());
    let facts = |t: &Truth| serde_json::to_value(&t.facts).expect("JSON");
    let (fa, fb) = (facts(ta), facts(tb));
    for kind in [
        "assignment_conflict",
        "serving_not_on_roll",
        "on_roll_not_serving",
        "on_roll_not_paid",
        "attribute_conflict",
        "possible_duplicate",
    ] {
        let list = |v: &Value| v[kind].as_array().expect("list").clone();
        let (la, lb) = (list(&fa), list(&fb));
        for fact in &la {
            assert!(lb.contains(fact), "{kind} {fact} is still planted");
        }
    }
    // Only attribute conflicts and duplicates are added (by the noisy records).
    assert_eq!(
        fa["on_roll_not_serving"], fb["on_roll_not_serving"],
        "every noisy record is where its officer's roll record is"
    );
    assert_eq!(fa["serving_not_on_roll"], fb["serving_not_on_roll"]);
    assert_eq!(fa["assignment_conflict"], fb["assignment_conflict"]);
    tokio::join!(plain.server.stop(), noisy.server.stop());
}

#[tokio::test]
async fn every_noisy_record_is_served_as_its_truth_says() {
    let mock = start_noisy(63).await;
    let world = World::pull(&mock).await;
    let linkage = world.truth.linkage.clone().expect("the linkage truth");

    // --- Enough of each class for per-class figures at small scale.
    let mut per_class: BTreeMap<NoiseClass, usize> = BTreeMap::new();
    for r in &linkage.records {
        *per_class.entry(r.class).or_default() += 1;
    }
    for class in [
        NoiseClass::NoIds,
        NoiseClass::IdTypo,
        NoiseClass::IdTypoOtherOfficer,
        NoiseClass::NationalIdOnly,
        NoiseClass::HardNegative,
    ] {
        assert!(
            per_class.get(&class).copied().unwrap_or(0) >= 40,
            "{class:?}: {per_class:?}"
        );
    }
    let varied = linkage
        .roll_duplicates
        .iter()
        .filter(|d| !d.variants.is_empty())
        .count();
    assert!(varied >= 40, "{varied} roll duplicates written otherwise");
    assert!(linkage.hard_negatives.len() >= 60);

    // --- Complete: every valid sector record without its own roll id is listed.
    let listed: HashMap<(Ministry, String), &LinkageRecord> = linkage
        .records
        .iter()
        .map(|r| ((r.source, r.record_id.clone()), r))
        .collect();
    assert_eq!(listed.len(), linkage.records.len(), "one entry per record");
    for (key, s) in &world.sector {
        let rolled = s
            .officer_id
            .as_deref()
            .is_some_and(|id| world.roll.contains_key(id));
        if !rolled {
            assert!(listed.contains_key(key), "{key:?} is in the linkage truth");
        }
    }

    // --- Each record as its class says.
    for r in &linkage.records {
        let s = world
            .sector
            .get(&(r.source, r.record_id.clone()))
            .unwrap_or_else(|| panic!("{r:?} is served and valid"));
        assert_eq!(s.officer_id, r.written_officer_id, "{r:?}");
        if let Some(officer) = &r.officer_id {
            let o = world.officer(officer);
            assert_eq!(o["status"], "active");
            assert_eq!(
                o["work_unit"]["facility_code"].as_str(),
                Some(s.facility_code.as_str()),
                "{r:?} serves where the roll puts its officer"
            );
        }
        match r.class {
            NoiseClass::NoIds => {
                let officer = r.officer_id.as_deref().expect("an officer");
                assert!(s.officer_id.is_none() && s.national_id.is_none(), "{r:?}");
                assert!(
                    r.variants
                        .iter()
                        .any(|v| v.changes_khmer_key() || v.is_birth_date()),
                    "{r:?} is written another way"
                );
                check_variants(&world, r, s, officer);
            }
            NoiseClass::NationalIdOnly => {
                let officer = r.officer_id.as_deref().expect("an officer");
                assert!(s.officer_id.is_none(), "{r:?}");
                assert_eq!(
                    s.national_id.as_deref(),
                    world.officer(officer)["national_id"].as_str(),
                    "{r:?}"
                );
                check_variants(&world, r, s, officer);
            }
            NoiseClass::IdTypo | NoiseClass::IdTypoOtherOfficer => {
                let officer = r.officer_id.as_deref().expect("an officer");
                let written = r.written_officer_id.as_deref().expect("a written id");
                let kind = typo_kind(officer, written)
                    .unwrap_or_else(|| panic!("{r:?}: one typo from the officer"));
                assert!(r.variants.contains(&kind), "{r:?}");
                check_variants(&world, r, s, officer);
                if r.class == NoiseClass::IdTypo {
                    assert!(!world.roll.contains_key(written), "{r:?}");
                } else {
                    // Another, real officer: someone else entirely.
                    assert_ne!(written, officer);
                    assert_ne!(world.roll_name(written), world.roll_name(officer), "{r:?}");
                    assert_ne!(world.roll_birth(written), world.roll_birth(officer));
                }
            }
            NoiseClass::HardNegative => {
                assert!(s.officer_id.is_none(), "{r:?}");
                if let Some(officer) = &r.officer_id {
                    assert_eq!(khmer_key(&s.name_km), world.roll_name(officer));
                    assert_eq!(s.birth.as_deref(), Some(world.roll_birth(officer).as_str()));
                }
                let pairs = linkage
                    .hard_negatives
                    .iter()
                    .filter(|h| h.b.source == r.source && h.b.record_id == r.record_id)
                    .count();
                assert_eq!(pairs, 1, "{r:?} is kept apart from its look-alike");
            }
            NoiseClass::Contract => {
                assert!(s.officer_id.is_none() && r.officer_id.is_none(), "{r:?}");
            }
            NoiseClass::NotOnRoll => {
                let written = r.written_officer_id.as_deref().expect("an id");
                assert!(!world.roll.contains_key(written), "{r:?}");
                assert!(r.officer_id.is_none());
            }
        }
    }

    // --- What a noisy record writes differently is an attribute conflict.
    let facts: BTreeSet<(String, String, String)> = world
        .truth
        .facts
        .attribute_conflict
        .iter()
        .map(|a| (a.record_id.clone(), a.field.clone(), a.officer_id.clone()))
        .collect();
    for r in &linkage.records {
        let (Some(officer), NoiseClass::NoIds) = (&r.officer_id, r.class) else {
            continue;
        };
        let s = &world.sector[&(r.source, r.record_id.clone())];
        let name = khmer_key(&s.name_km) != world.roll_name(officer);
        let birth = s.birth.as_deref() != Some(world.roll_birth(officer).as_str());
        for (field, differs) in [("name", name), ("birth_date", birth)] {
            assert_eq!(
                facts.contains(&(r.record_id.clone(), field.to_owned(), officer.clone())),
                differs,
                "{r:?}: {field}"
            );
        }
    }

    // --- Roll duplicates: one person under two ids.
    let duplicates: BTreeSet<[String; 2]> = world
        .truth
        .facts
        .possible_duplicate
        .iter()
        .cloned()
        .collect();
    for d in &linkage.roll_duplicates {
        assert!(duplicates.contains(&d.officer_ids), "{d:?} is a fact");
        let [a, b] = &d.officer_ids;
        let (oa, ob) = (world.officer(a), world.officer(b));
        match (oa["national_id"].as_str(), ob["national_id"].as_str()) {
            (Some(x), Some(y)) => assert_eq!(x, y, "{d:?}"),
            _ => assert!(d.variants.contains(&Variant::NationalIdMissing), "{d:?}"),
        }
        let renamed = d.variants.iter().any(|v| v.changes_khmer_key());
        let redated = d.variants.iter().any(|v| v.is_birth_date());
        assert_eq!(world.roll_name(a) != world.roll_name(b), renamed, "{d:?}");
        assert_eq!(world.roll_birth(a) != world.roll_birth(b), redated, "{d:?}");
        assert!(
            oa["work_unit"]["facility_code"].is_null()
                || ob["work_unit"]["facility_code"].is_null(),
            "{d:?}: one of the two is at an office"
        );
    }

    // --- Hard negatives: one Khmer name and birth year, two people, two provinces.
    for h in &linkage.hard_negatives {
        let (name_a, birth_a, nid_a, province_a) = world.side(&h.a);
        let (name_b, birth_b, nid_b, province_b) = world.side(&h.b);
        assert_eq!(name_a, khmer_key(&h.name_km), "{h:?}");
        assert_eq!(name_b, name_a, "{h:?}");
        assert_eq!(birth_a[..4], h.birth_year.to_string());
        assert_eq!(birth_b[..4], birth_a[..4], "{h:?}");
        assert_ne!(birth_a, birth_b, "{h:?}: two people");
        if let (Some(x), Some(y)) = (&nid_a, &nid_b) {
            assert_ne!(x, y, "{h:?}");
        }
        assert_ne!(province_a, province_b, "{h:?}: elsewhere");
        if h.b.source != Ministry::Mcs {
            let record = listed[&(h.b.source, h.b.record_id.clone())];
            assert_ne!(record.officer_id.as_deref(), Some(h.a.record_id.as_str()));
        }
    }
    mock.server.stop().await;
}
