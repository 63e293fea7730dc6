//! What the registry's record says once a source has spoken: field ownership and the
//! merge of one source's report into the record.
//!
//! The Ministry of Civil Service owns the civil-service fields (names, birth date,
//! sex, national id, employer, grade, status): its roll overwrites them. The sector
//! ministries own where a person serves: their postings overwrite it. Any other source
//! fills a field only where the record has none, and a missing value never clears
//! one. What each source said is kept whole beside the record (`source_reports`), so a
//! disagreement keeps both values.

use chrono::{DateTime, Utc};
use schema::{AdminCode, Ministry, Provenance, Staff, StaffReport, StaffStatus};

use crate::stable_id;

/// Whether `ministry`'s reports overwrite the civil-service fields: only the roll's.
pub fn owns_civil_service_fields(ministry: Ministry) -> bool {
    ministry == Ministry::Mcs
}

/// Sets `slot` from `value` when the source owns the field or the record has none.
fn take<T: Clone>(slot: &mut Option<T>, value: &Option<T>, owns: bool) {
    if value.is_some() && (owns || slot.is_none()) {
        slot.clone_from(value);
    }
}

/// The registry's record after report `r` (from a source that owns the civil-service
/// fields, `owns_roll`, or not) joined `existing`, or a new record when it matched
/// nobody. `serves` is the commune where the report places the person. None for a new
/// person without a Khmer name, whom the registry cannot hold.
pub fn merge(
    existing: Option<Staff>,
    r: &StaffReport,
    owns_roll: bool,
    serves: Option<AdminCode>,
    fetched_at: DateTime<Utc>,
) -> Option<Staff> {
    let is_new = existing.is_none();
    let mut s = match existing {
        Some(s) => s,
        None => Staff {
            id: stable_id("staff", r.source, &r.source_id),
            civil_servant_id: None,
            national_id: None,
            birth_date: None,
            name_km: r.name_km.clone()?,
            name_latin: None,
            sex: None,
            employer: None,
            grade: None,
            status: StaffStatus::Active,
            admin_unit_code: None,
            identifiers: vec![],
            sources: vec![],
        },
    };
    // A new record is the report's own: every field it gives is taken.
    let owns = owns_roll || is_new;
    take(&mut s.civil_servant_id, &r.civil_servant_id, owns);
    take(&mut s.national_id, &r.national_id, owns);
    take(&mut s.birth_date, &r.birth_date, owns);
    take(&mut s.name_latin, &r.name_latin, owns);
    take(&mut s.sex, &r.sex, owns);
    take(&mut s.employer, &r.employer, owns);
    take(&mut s.grade, &r.grade, owns);
    if owns {
        if let Some(name) = &r.name_km {
            s.name_km = name.clone();
        }
        if let Some(status) = r.status {
            s.status = status;
        }
    }
    // Where a person serves belongs to the sector ministry; the roll fills it in.
    take(&mut s.admin_unit_code, &serves, !owns_roll || is_new);
    for id in &r.identifiers {
        if !s.identifiers.contains(id) {
            s.identifiers.push(id.clone());
        }
    }
    // How the record was linked (by score, by a reviewer) outlives its next fetch.
    let linked = s
        .sources
        .iter()
        .find(|p| p.ministry == r.source && p.source_id == r.source_id)
        .and_then(|p| p.linked.clone());
    s.sources
        .retain(|p| !(p.ministry == r.source && p.source_id == r.source_id));
    s.sources.push(Provenance {
        ministry: r.source,
        source_id: r.source_id.clone(),
        fetched_at,
        linked,
    });
    Some(s)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use schema::{
        CivilServantId, Date, IdentifierSystem, MinistryCode, Name, NationalId, Sex,
        SourceIdentifier,
    };

    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 12, day, 8, 0, 0).unwrap()
    }

    fn code(c: &str) -> AdminCode {
        AdminCode::parse(c).unwrap()
    }

    fn report(source: Ministry, source_id: &str) -> StaffReport {
        StaffReport {
            source,
            source_id: source_id.to_owned(),
            identifiers: vec![],
            civil_servant_id: None,
            national_id: None,
            name_km: None,
            name_latin: None,
            sex: None,
            birth_date: None,
            employer: None,
            grade: None,
            status: None,
            posting: None,
            updated_at: None,
        }
    }

    /// The roll's record of officer 1000123456.
    fn roll() -> StaffReport {
        StaffReport {
            identifiers: vec![SourceIdentifier::of(
                IdentifierSystem::McsOfficerId,
                "1000123456",
            )],
            civil_servant_id: Some(CivilServantId::parse("1000123456").unwrap()),
            national_id: Some(NationalId::parse("010203040").unwrap()),
            name_km: Some(Name::parse("សុខ ចាន់ថា").unwrap()),
            name_latin: Some(Name::parse("Sok Chantha").unwrap()),
            sex: Some(Sex::Female),
            birth_date: Some(Date::parse("1985-03-07").unwrap()),
            employer: Some(MinistryCode::parse("MOH").unwrap()),
            grade: Some("B.2".to_owned()),
            status: Some(StaffStatus::Active),
            ..report(Ministry::Mcs, "1000123456")
        }
    }

    /// The MoH's record of the same person, spelled and placed its own way.
    fn health() -> StaffReport {
        StaffReport {
            identifiers: vec![
                SourceIdentifier::of(IdentifierSystem::MohFhirPractitioner, "P-1"),
                SourceIdentifier::of(IdentifierSystem::McsOfficerId, "1000123456"),
            ],
            civil_servant_id: Some(CivilServantId::parse("1000123456").unwrap()),
            name_km: Some(Name::parse("សុខ ចាន់ធា").unwrap()),
            name_latin: Some(Name::parse("Sok Chanthea").unwrap()),
            sex: Some(Sex::Male),
            birth_date: Some(Date::parse("1985-07-03").unwrap()),
            status: Some(StaffStatus::Left),
            ..report(Ministry::Moh, "P-1")
        }
    }

    fn first_from(r: &StaffReport, serves: Option<AdminCode>) -> Staff {
        let owns = owns_civil_service_fields(r.source);
        merge(None, r, owns, serves, at(1)).unwrap()
    }

    #[test]
    fn only_the_roll_owns_the_civil_service_fields() {
        assert!(owns_civil_service_fields(Ministry::Mcs));
        for m in [Ministry::Moh, Ministry::Moeys, Ministry::Moi, Ministry::Mef] {
            assert!(!owns_civil_service_fields(m), "{m}");
        }
    }

    #[test]
    fn a_new_record_takes_everything_its_report_gives_under_a_stable_id() {
        let r = health();
        let s = first_from(&r, Some(code("010201")));
        assert_eq!(s.id, stable_id("staff", Ministry::Moh, "P-1"));
        assert_eq!(s.name_km, r.name_km.clone().unwrap());
        assert_eq!(s.birth_date, r.birth_date);
        assert_eq!(s.sex, Some(Sex::Male));
        assert_eq!(s.status, StaffStatus::Left);
        assert_eq!(s.admin_unit_code, Some(code("010201")));
        assert_eq!(s.identifiers, r.identifiers);
        assert_eq!(
            s.sources,
            [Provenance {
                ministry: Ministry::Moh,
                source_id: "P-1".to_owned(),
                fetched_at: at(1),
                linked: None,
            }]
        );
    }

    #[test]
    fn a_new_person_without_a_khmer_name_cannot_be_held() {
        let r = StaffReport {
            name_km: None,
            ..health()
        };
        assert_eq!(merge(None, &r, false, None, at(1)), None);
        // An existing record needs none from the report.
        let s = first_from(&roll(), None);
        assert!(merge(Some(s), &r, false, None, at(2)).is_some());
    }

    #[test]
    fn a_report_without_a_status_leaves_a_new_record_active() {
        let r = StaffReport {
            status: None,
            ..health()
        };
        assert_eq!(first_from(&r, None).status, StaffStatus::Active);
    }

    #[test]
    fn the_roll_overwrites_what_a_sector_ministry_said_first() {
        let first = first_from(&health(), Some(code("010201")));
        let r = roll();
        let s = merge(Some(first), &r, true, Some(code("020304")), at(2)).unwrap();
        assert_eq!(s.id, stable_id("staff", Ministry::Moh, "P-1"));
        assert_eq!(s.name_km, r.name_km.clone().unwrap());
        assert_eq!(s.name_latin, r.name_latin);
        assert_eq!(s.birth_date, r.birth_date);
        assert_eq!(s.sex, Some(Sex::Female));
        assert_eq!(s.status, StaffStatus::Active);
        assert_eq!(s.national_id, r.national_id);
        assert_eq!(s.employer, r.employer);
        assert_eq!(s.grade, r.grade);
        // ... but not where the person serves, which the sector ministry said.
        assert_eq!(s.admin_unit_code, Some(code("010201")));
    }

    #[test]
    fn the_roll_fills_in_where_a_person_serves_when_nobody_said() {
        let first = first_from(&health(), None);
        let s = merge(Some(first), &roll(), true, Some(code("020304")), at(2)).unwrap();
        assert_eq!(s.admin_unit_code, Some(code("020304")));
    }

    #[test]
    fn a_sector_ministry_fills_only_empty_fields_and_owns_the_place() {
        let first = first_from(&roll(), Some(code("020304")));
        let r = StaffReport {
            national_id: Some(NationalId::parse("999999999").unwrap()),
            ..health()
        };
        let s = merge(Some(first.clone()), &r, false, Some(code("010201")), at(2)).unwrap();
        assert_eq!(s.name_km, first.name_km);
        assert_eq!(s.name_latin, first.name_latin);
        assert_eq!(s.birth_date, first.birth_date);
        assert_eq!(s.sex, first.sex);
        assert_eq!(s.status, first.status);
        assert_eq!(s.national_id, first.national_id);
        assert_eq!(s.admin_unit_code, Some(code("010201")));

        // A field the roll left empty is filled.
        let bare = first_from(
            &StaffReport {
                national_id: None,
                grade: None,
                ..roll()
            },
            None,
        );
        let r = StaffReport {
            grade: Some("teacher".to_owned()),
            ..r
        };
        let s = merge(Some(bare), &r, false, None, at(2)).unwrap();
        assert_eq!(s.national_id, r.national_id);
        assert_eq!(s.grade, r.grade);
    }

    #[test]
    fn a_missing_value_never_clears_a_field() {
        let first = first_from(&roll(), Some(code("020304")));
        let empty = StaffReport {
            name_km: None,
            status: None,
            ..report(Ministry::Mcs, "1000123456")
        };
        let s = merge(Some(first.clone()), &empty, true, None, at(2)).unwrap();
        assert_eq!(s.sources.len(), 1);
        assert_eq!(s.sources[0].fetched_at, at(2));
        let sources = first.sources.clone();
        assert_eq!(Staff { sources, ..s }, first);
    }

    #[test]
    fn identifiers_gather_without_repeats_and_each_source_is_listed_once() {
        let first = first_from(&roll(), None);
        let s = merge(Some(first), &health(), false, None, at(2)).unwrap();
        let s = merge(Some(s), &health(), false, None, at(3)).unwrap();
        let s = merge(Some(s), &roll(), true, None, at(4)).unwrap();
        let systems: Vec<&str> = s.identifiers.iter().map(|i| i.system.as_str()).collect();
        assert_eq!(systems, ["mcs:officer_id", "moh:fhir_practitioner"]);
        let sources: Vec<(Ministry, DateTime<Utc>)> = s
            .sources
            .iter()
            .map(|p| (p.ministry, p.fetched_at))
            .collect();
        // The latest report of a source replaces its earlier one, and goes last.
        assert_eq!(sources, [(Ministry::Moh, at(3)), (Ministry::Mcs, at(4))]);
    }
}
