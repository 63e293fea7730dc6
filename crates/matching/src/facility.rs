//! The facility records a posting's facility code may name.

use schema::{IdentifierSystem, SourceIdentifier};

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
}
