//! The facility records a posting's facility code may name, and where a posting
//! places a person.

use std::collections::HashMap;

use schema::{AdminCode, IdentifierSystem, Posting, SourceIdentifier};
use uuid::Uuid;

/// The identifier keys (system, value) to look a posting's facility up by, in the
/// order to try them. The roll's `mcs:facility_code` does not say whether it is a
/// DHIS2 code or an EMIS school code, so it is looked up as either; any other
/// identifier is looked up as itself.
pub fn facility_candidates(facility: &SourceIdentifier) -> Vec<(String, String)> {
    let key = |system: &str| (system.to_owned(), facility.value.clone());
    if facility.is(IdentifierSystem::McsFacilityCode) {
        vec![
            key(IdentifierSystem::MohCode.as_str()),
            key(IdentifierSystem::MoeysSchoolCode.as_str()),
        ]
    } else {
        vec![key(&facility.system)]
    }
}

/// Where `posting` places a person: the facility its code names (the first candidate
/// the registry knows, from `facilities` by identifier key) and the commune where the
/// person serves: that facility's (from `communes`, when it is a valid code), else the
/// unit the posting names itself.
pub fn place_posting(
    posting: &Posting,
    facilities: &HashMap<(String, String), Uuid>,
    communes: &HashMap<Uuid, String>,
) -> (Option<Uuid>, Option<AdminCode>) {
    let facility_id = posting.facility.as_ref().and_then(|f| {
        facility_candidates(f)
            .iter()
            .find_map(|k| facilities.get(k).copied())
    });
    let serves = facility_id
        .and_then(|id| communes.get(&id))
        .and_then(|c| AdminCode::parse(c).ok())
        .or_else(|| posting.admin_unit_code.clone());
    (facility_id, serves)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(system: &str, value: &str) -> Vec<(String, String)> {
        facility_candidates(&SourceIdentifier {
            system: system.to_owned(),
            value: value.to_owned(),
        })
    }

    #[test]
    fn a_roll_facility_code_is_tried_as_a_dhis2_code_then_a_school_code() {
        assert_eq!(
            keys("mcs:facility_code", "HC-01"),
            [
                ("moh:code".to_owned(), "HC-01".to_owned()),
                ("moeys:school_code".to_owned(), "HC-01".to_owned())
            ]
        );
    }

    #[test]
    fn any_other_code_is_looked_up_as_itself() {
        for system in ["moh:dhis2", "moh:code", "moeys:school_code", "x:unknown"] {
            assert_eq!(keys(system, "V"), [(system.to_owned(), "V".to_owned())]);
        }
    }

    fn posting(facility: Option<(&str, &str)>, unit: Option<&str>) -> Posting {
        Posting {
            facility: facility.map(|(system, value)| SourceIdentifier {
                system: system.to_owned(),
                value: value.to_owned(),
            }),
            admin_unit_code: unit.map(|u| AdminCode::parse(u).unwrap()),
            unit_name: None,
            role: None,
            start_date: None,
        }
    }

    #[test]
    fn a_posting_is_placed_at_its_facility_and_in_the_facility_s_commune() {
        let (school, clinic) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let facilities = HashMap::from([
            (("moeys:school_code".to_owned(), "S-1".to_owned()), school),
            (("moh:dhis2".to_owned(), "Xk3p9QmRt2a".to_owned()), clinic),
        ]);
        // The school's commune is known; the clinic's is not a valid code.
        let communes = HashMap::from([
            (school, "010201".to_owned()),
            (clinic, "not a code".to_owned()),
        ]);
        let code = |c: &str| Some(AdminCode::parse(c).unwrap());
        let cases = [
            // The roll's code found as a school code; its commune beats the posting's unit.
            (
                posting(Some(("mcs:facility_code", "S-1")), Some("020304")),
                (Some(school), code("010201")),
            ),
            (
                posting(Some(("moeys:school_code", "S-1")), None),
                (Some(school), code("010201")),
            ),
            // A facility without a valid commune: the posting's own unit.
            (
                posting(Some(("moh:dhis2", "Xk3p9QmRt2a")), Some("020304")),
                (Some(clinic), code("020304")),
            ),
            (
                posting(Some(("moh:dhis2", "Xk3p9QmRt2a")), None),
                (Some(clinic), None),
            ),
            // An unknown facility: no facility, the posting's unit.
            (
                posting(Some(("moh:dhis2", "unknown")), Some("020304")),
                (None, code("020304")),
            ),
            (posting(None, Some("020304")), (None, code("020304"))),
            (posting(None, None), (None, None)),
        ];
        for (p, expected) in cases {
            assert_eq!(place_posting(&p, &facilities, &communes), expected, "{p:?}");
        }
    }
}
