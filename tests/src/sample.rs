//! A small sample registry for the API tests: gazetteer-shaped units of three
//! provinces (made-up names, real code structure) with generated facilities and staff
//! (Khmer and Latin names, every facility kind).
//!
//! Deterministic: the same records, with the same ids, on every run.

use chrono::Utc;
use schema::{
    AdminCode, AdminKind, AdminUnit, Assignment, CivilServantId, Date, Facility, FacilityKind,
    FacilityStatus, GeoPoint, ManagedBy, Ministry, MinistryCode, Name, NationalId, Provenance, Sex,
    SourceIdentifier, Staff, StaffStatus,
};
use uuid::Uuid;

/// Units shaped like the NCDD gazetteer (codes, kinds, Khmer and Latin names), with
/// made-up names: the project carries no copy of the real gazetteer.
const UNITS: &[(&str, &str, &str, &str)] = &[
    ("01", "ខេត្ត", "ព្រៃស្វាយ", "Prey Svay"),
    ("12", "រាជធានី", "ទន្លេមាស", "Tonle Meas"),
    ("17", "ខេត្ត", "ស្ទឹងជ្រៅ", "Stueng Chrov"),
    ("0102", "ស្រុក", "ភ្នំដី", "Phnum Dei"),
    ("010201", "ឃុំ", "កំពង់ត្រាច", "Kampong Trach"),
    ("010202", "ឃុំ", "ត្រពាំងវែង", "Trapeang Veaeng"),
    ("010203", "ឃុំ", "ស្វាយចាស់", "Svay Chas"),
    ("010204", "ឃុំ", "ព្រៃធំ", "Prey Thum"),
    ("0103", "ស្រុក", "ដូនតី", "Doun Tei"),
    ("010301", "ឃុំ", "អូរស្រឡៅ", "Ou Sralau"),
    ("010302", "ឃុំ", "ក្រាំងលាវ", "Krang Leav"),
    ("010303", "ឃុំ", "ស្រែថ្មី", "Srae Thmei"),
    ("010304", "ឃុំ", "ទួលពង្រ", "Tuol Pongro"),
    ("1201", "ខណ្ឌ", "បឹងថ្មី", "Boeng Thmei"),
    ("120101", "សង្កាត់", "ទួលស្វាយ", "Tuol Svay"),
    ("120109", "សង្កាត់", "ទួលក្របៅទី ២", "Tuol Krabau Ti Pir"),
    ("120110", "សង្កាត់", "ទួលក្របៅទី ១", "Tuol Krabau Ti Muoy"),
    ("120111", "សង្កាត់", "បឹងរាំង", "Boeng Reang"),
    ("1202", "ខណ្ឌ", "ផ្សារចាស់", "Phsar Chas"),
    ("120201", "សង្កាត់", "ផ្សារចាស់ទី ១", "Phsar Chas Ti Muoy"),
    ("120202", "សង្កាត់", "ផ្សារចាស់ទី ២", "Phsar Chas Ti Pir"),
    ("120203", "សង្កាត់", "ផ្សារចាស់ទី ៣", "Phsar Chas Ti Bei"),
    ("120204", "សង្កាត់", "ស្រះចក", "Srah Chak"),
    ("1710", "ក្រុង", "ស្ទឹងជ្រៅ", "Stueng Chrov"),
    ("171001", "សង្កាត់", "គោកត្នោត", "Kouk Tnaot"),
    ("171002", "សង្កាត់", "វាលស្បូវ", "Veal Sbov"),
    ("171003", "សង្កាត់", "ជ្រៃកោង", "Chrey Kaong"),
    ("171004", "សង្កាត់", "អូរតាគី", "Ou Ta Kei"),
];

const FAMILY: &[(&str, &str)] = &[
    ("សុខ", "Sok"),
    ("ចាន់", "Chan"),
    ("កែវ", "Keo"),
    ("ហេង", "Heng"),
    ("លី", "Ly"),
    ("ម៉ៅ", "Mao"),
    ("សេង", "Seng"),
    ("ឈឹម", "Chhim"),
    ("ពៅ", "Pov"),
    ("ស៊ុន", "Sun"),
];
const GIVEN: &[(&str, &str)] = &[
    ("ចាន់ថា", "Chantha"),
    ("សុភា", "Sophea"),
    ("ដារ៉ា", "Dara"),
    ("វណ្ណា", "Vanna"),
    ("សុខា", "Sokha"),
    ("រតនា", "Ratana"),
    ("បូរ៉ា", "Bora"),
    ("ស្រីមុំ", "Sreymom"),
    ("ពិសី", "Pisey"),
    ("វិចិត្រ", "Vichet"),
    ("សំណាង", "Samnang"),
];

/// The sample registry: units, facilities, staff and their assignments.
#[derive(Debug)]
pub struct SampleRegistry {
    pub units: Vec<AdminUnit>,
    pub facilities: Vec<Facility>,
    pub staff: Vec<Staff>,
    pub assignments: Vec<Assignment>,
}

/// A fixed, readable id: `prefix` names the record type, `n` its number.
fn sample_id(prefix: u32, n: u32) -> Uuid {
    Uuid::from_u128((u128::from(prefix) << 96) | u128::from(n))
}

/// Builds the sample with `staff_per_facility` staff at each facility.
pub fn sample_registry(staff_per_facility: u32) -> Result<SampleRegistry, schema::ParseError> {
    let now = Utc::now();
    let mut units = Vec::new();
    for (code, type_km, km, latin) in UNITS {
        let code = AdminCode::parse(code)?;
        let mut unit = AdminUnit::new(
            code.clone(),
            AdminKind::parse_khmer(type_km)?,
            Name::parse(km)?,
            Some(Name::parse(latin)?),
            code.parent(),
        )?;
        unit.sources.push(Provenance {
            ministry: Ministry::Moi,
            source_id: code.to_string(),
            fetched_at: now,
            linked: None,
        });
        units.push(unit);
    }
    let communes: Vec<&AdminUnit> = units
        .iter()
        .filter(|u| u.code.as_str().len() == 6)
        .collect();
    let kinds = [
        (
            FacilityKind::HealthCentre,
            "មណ្ឌលសុខភាព",
            "Health Centre",
            Ministry::Moh,
        ),
        (
            FacilityKind::PrimarySchool,
            "សាលាបឋមសិក្សា",
            "Primary School",
            Ministry::Moeys,
        ),
        (
            FacilityKind::LowerSecondarySchool,
            "អនុវិទ្យាល័យ",
            "Lower Secondary School",
            Ministry::Moeys,
        ),
        (
            FacilityKind::HealthPost,
            "ប៉ុស្តិ៍សុខភាព",
            "Health Post",
            Ministry::Moh,
        ),
    ];
    let (mut facilities, mut staff, mut assignments) = (Vec::new(), Vec::new(), Vec::new());
    let mut person = 0_u32;
    for (i, commune) in communes.iter().enumerate() {
        for (j, (kind, kind_km, kind_latin, ministry)) in kinds.iter().enumerate() {
            let n = u32::try_from(i * kinds.len() + j + 1).unwrap_or(u32::MAX);
            let source_code = format!("{}{:02}", commune.code, j + 1);
            let latin = commune.name_latin.as_ref().map_or("", |l| l.as_str());
            // One in five facilities has been transferred to its district administration.
            let managed_by = match commune.code.parent() {
                Some(district) if n.is_multiple_of(5) => ManagedBy::Administration(district),
                _ => ManagedBy::Ministry(MinistryCode::parse(ministry.as_str())?),
            };
            let system = if kind.sector() == schema::Sector::Health {
                "moh:code"
            } else {
                "moeys:school_code"
            };
            let facility = Facility {
                id: sample_id(0xF, n),
                sector: kind.sector(),
                kind: *kind,
                name_km: Name::parse(&format!("{kind_km}{}", commune.name_km))?,
                name_latin: Some(Name::parse(&format!("{latin} {kind_latin}"))?),
                admin_unit_code: Some(commune.code.clone()),
                location: Some(GeoPoint::parse(
                    11.5 + f64::from(n % 20) * 0.1,
                    104.9 - f64::from(n % 13) * 0.1,
                )?),
                status: FacilityStatus::Open,
                managed_by,
                identifiers: vec![SourceIdentifier::parse(system, &source_code)?],
                sources: vec![Provenance {
                    ministry: *ministry,
                    source_id: source_code,
                    fetched_at: now,
                    linked: None,
                }],
            };
            for _ in 0..staff_per_facility {
                person += 1;
                let (fam_km, fam_latin) = FAMILY[person as usize % FAMILY.len()];
                let (giv_km, giv_latin) = GIVEN[(person as usize / FAMILY.len()) % GIVEN.len()];
                let csid = CivilServantId::parse(&format!("{}", 1_000_000_000 + person))?;
                let member = Staff {
                    id: sample_id(0x5, person),
                    civil_servant_id: Some(csid.clone()),
                    national_id: Some(NationalId::parse(&format!(
                        "{:09}",
                        10_000_000 + person * 7
                    ))?),
                    birth_date: Some(Date::parse(&format!(
                        "{:02}/{:02}/{}",
                        1 + person % 28,
                        1 + person % 12,
                        1965 + person % 35
                    ))?),
                    name_km: Name::parse(&format!("{fam_km} {giv_km}"))?,
                    name_latin: Some(Name::parse(&format!("{fam_latin} {giv_latin}"))?),
                    sex: Some(if person.is_multiple_of(2) {
                        Sex::Female
                    } else {
                        Sex::Male
                    }),
                    employer: Some(MinistryCode::parse(ministry.as_str())?),
                    grade: Some(["A1", "B2", "C1"][person as usize % 3].to_owned()),
                    status: if person.is_multiple_of(17) {
                        StaffStatus::Suspended
                    } else {
                        StaffStatus::Active
                    },
                    admin_unit_code: Some(commune.code.clone()),
                    identifiers: vec![SourceIdentifier::parse("mcs:officer_id", csid.as_str())?],
                    sources: vec![Provenance {
                        ministry: Ministry::Mcs,
                        source_id: csid.to_string(),
                        fetched_at: now,
                        linked: None,
                    }],
                };
                assignments.push(Assignment {
                    id: sample_id(0xA, person),
                    staff_id: member.id,
                    facility_id: Some(facility.id),
                    admin_unit_code: None,
                    role: if kind.sector() == schema::Sector::Health {
                        "nurse"
                    } else {
                        "teacher"
                    }
                    .to_owned(),
                    source: *ministry,
                    start_date: Some(Date::parse(&format!("{}-01-15", 2005 + person % 18))?),
                    end_date: None,
                });
                staff.push(member);
            }
            facilities.push(facility);
        }
    }
    Ok(SampleRegistry {
        units,
        facilities,
        staff,
        assignments,
    })
}
