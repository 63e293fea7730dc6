//! The closed vocabularies of the schema. Each reads its snake_case name (and, where
//! ministries write them so, Khmer or short forms) through `parse`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{AdminLevel, ParseError, text};

/// An enum of names with `parse_name`, `from_name`, `as_str`, `ALL` and Display. Each
/// variant is serialised as its name, so serde, the OpenAPI document and `as_str`
/// cannot drift apart.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $what:literal {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $text)] #[schema(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value named exactly `name` (as stored and as the API writes it),
            /// without the leniency of `parse_name`.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == name)
            }

            /// Reads the snake_case name, ignoring case and surrounding space.
            pub fn parse_name(input: &str) -> Result<Self, ParseError> {
                ParseError::refuse_nul($what, input)?;
                let key = input.trim().to_ascii_lowercase();
                Self::ALL.iter().copied().find(|v| v.as_str() == key).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    ParseError::new($what, format!("is not one of {}", names.join(", ")))
                        .with_value(input)
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// The ministry systems the gateway reads.
    Ministry, "ministry" {
        Mcs = "mcs",
        Moh = "moh",
        Moeys = "moeys",
        Moi = "moi",
        Mef = "mef",
    }
);

vocabulary!(
    /// The service sector a facility belongs to.
    Sector, "sector" { Health = "health", Education = "education" }
);

vocabulary!(
    /// What a facility is.
    FacilityKind, "kind" {
        NationalHospital = "national_hospital",
        ProvincialHospital = "provincial_hospital",
        ReferralHospital = "referral_hospital",
        HealthCentre = "health_centre",
        HealthPost = "health_post",
        Preschool = "preschool",
        PrimarySchool = "primary_school",
        LowerSecondarySchool = "lower_secondary_school",
        UpperSecondarySchool = "upper_secondary_school",
        HighSchool = "high_school",
    }
);

vocabulary!(
    /// Whether a facility is open.
    FacilityStatus, "status" { Open = "open", Closed = "closed" }
);

vocabulary!(
    /// A staff member's standing.
    StaffStatus, "status" {
        Active = "active",
        Suspended = "suspended",
        Retired = "retired",
        Deceased = "deceased",
        Left = "left",
    }
);

vocabulary!(
    /// Sex as the civil-service roll records it.
    Sex, "sex" { Male = "male", Female = "female" }
);

vocabulary!(
    /// The kind of an administrative unit. The capital's districts are khans and its
    /// communes sangkats; a municipality's communes are sangkats too.
    AdminKind, "kind" {
        Capital = "capital",
        Province = "province",
        Municipality = "municipality",
        District = "district",
        Khan = "khan",
        Commune = "commune",
        Sangkat = "sangkat",
        Village = "village",
    }
);

vocabulary!(
    /// A kind of discrepancy finding: where the sources (or the sites' rosters)
    /// disagree. The order is the API's and the coverage CSV's column order.
    DiscrepancyKind, "kind" {
        OnRollNotServing = "on_roll_not_serving",
        ServingNotOnRoll = "serving_not_on_roll",
        AssignmentConflict = "assignment_conflict",
        AttributeConflict = "attribute_conflict",
        PaidNotOnRoll = "paid_not_on_roll",
        OnRollNotPaid = "on_roll_not_paid",
        PossibleDuplicate = "possible_duplicate",
        FacilityUnplaced = "facility_unplaced",
    }
);

vocabulary!(
    /// An identifier system: which system issued an id and what the id names, written
    /// `<ministry>:<kind>` in stored records, the API and source identifiers. Records
    /// keep the system as the text they were given ([`crate::SourceIdentifier`]): a
    /// source may send a system not listed here, and it is kept and served as sent.
    IdentifierSystem, "identifier system" {
        /// The Ministry of Civil Service's officer id (the roll, and FHIR or EMIS
        /// records that quote it).
        McsOfficerId = "mcs:officer_id",
        /// A work unit's facility code on the roll: a DHIS2 code or an EMIS school
        /// code, the roll does not say which.
        McsFacilityCode = "mcs:facility_code",
        /// A DHIS2 organisation unit's uid.
        MohDhis2 = "moh:dhis2",
        /// A DHIS2 organisation unit's `code`.
        MohCode = "moh:code",
        /// A FHIR Practitioner id in the Ministry of Health's iHRIS.
        MohFhirPractitioner = "moh:fhir_practitioner",
        /// An EMIS school code.
        MoeysSchoolCode = "moeys:school_code",
        /// An EMIS teacher id.
        MoeysTeacherId = "moeys:teacher_id",
        /// The national identity card number (issued by the Ministry of Interior's
        /// identification department). Sources send it as a field of the person today;
        /// a source that sends it as an identifier uses this system.
        NationalId = "moi:national_id",
    }
);

/// What the values of an identifier system name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Identifies {
    /// One person, in every source that carries the value: a key that links a person
    /// across ministries.
    PersonAcrossSources,
    /// One person's record in the one source that issues the value.
    PersonInSource,
    /// A facility.
    Facility,
}

impl IdentifierSystem {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        Self::parse_name(input)
    }

    pub const fn identifies(self) -> Identifies {
        match self {
            Self::McsOfficerId | Self::NationalId => Identifies::PersonAcrossSources,
            Self::MohFhirPractitioner | Self::MoeysTeacherId => Identifies::PersonInSource,
            Self::McsFacilityCode | Self::MohDhis2 | Self::MohCode | Self::MoeysSchoolCode => {
                Identifies::Facility
            }
        }
    }

    /// Whether a value is personal data: masked without the `staff:read:pii` scope,
    /// like the national id field.
    pub const fn is_personal(self) -> bool {
        matches!(self, Self::NationalId)
    }

    /// Whether one value is one person: two records with the same value are the same
    /// person, so a value that matches links without other evidence. Person ids are;
    /// facility codes are not.
    pub const fn is_hard_key(self) -> bool {
        !matches!(self.identifies(), Identifies::Facility)
    }

    /// Whether values of the system named `system` are personal data, for a system
    /// read back from storage or sent by a source. A known system answers for itself;
    /// an unknown one is personal only when its name says it holds national id numbers
    /// (`national-id` or `national_id`, in any case, as in a FHIR system URI), so a
    /// source the gateway has not met cannot leak them.
    pub fn is_personal_name(system: &str) -> bool {
        match Self::from_name(system) {
            Some(known) => known.is_personal(),
            None => {
                let s = system.to_ascii_lowercase();
                s.contains("national-id") || s.contains("national_id")
            }
        }
    }
}

impl Ministry {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        Self::parse_name(input)
    }
}

impl Sector {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        Self::parse_name(input)
    }
}

impl FacilityKind {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        Self::parse_name(input)
    }

    pub fn sector(self) -> Sector {
        match self {
            Self::NationalHospital
            | Self::ProvincialHospital
            | Self::ReferralHospital
            | Self::HealthCentre
            | Self::HealthPost => Sector::Health,
            Self::Preschool
            | Self::PrimarySchool
            | Self::LowerSecondarySchool
            | Self::UpperSecondarySchool
            | Self::HighSchool => Sector::Education,
        }
    }
}

impl FacilityStatus {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        ParseError::refuse_nul("status", input)?;
        match text::match_key(input).as_str() {
            "open" | "active" | "opened" | "បើក" => Ok(Self::Open),
            "closed" | "inactive" | "បិទ" => Ok(Self::Closed),
            _ => Err(ParseError::new("status", "is not open or closed").with_value(input)),
        }
    }
}

impl DiscrepancyKind {
    /// The names of all kinds, in order.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|k| k.as_str()).collect()
    }
}

impl StaffStatus {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        Self::parse_name(input)
    }
}

impl Sex {
    /// Reads `M`/`F`, `male`/`female` and the Khmer `ប្រុស`/`ស្រី`.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        ParseError::refuse_nul("sex", input)?;
        match text::match_key(input).as_str() {
            "m" | "male" | "ប្រុស" => Ok(Self::Male),
            "f" | "female" | "ស្រី" => Ok(Self::Female),
            "" => Err(ParseError::new("sex", "is empty")),
            _ => Err(
                ParseError::new("sex", "is not M, F, male, female, ប្រុស or ស្រី").with_value(input),
            ),
        }
    }
}

impl AdminKind {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        Self::parse_name(input)
    }

    /// Reads the Khmer unit type the gazetteer writes (`type_km`).
    pub fn parse_khmer(input: &str) -> Result<Self, ParseError> {
        ParseError::refuse_nul("type_km", input)?;
        match text::match_key(input).as_str() {
            "រាជធានី" => Ok(Self::Capital),
            "ខេត្ត" => Ok(Self::Province),
            "ក្រុង" => Ok(Self::Municipality),
            "ស្រុក" => Ok(Self::District),
            "ខណ្ឌ" => Ok(Self::Khan),
            "ឃុំ" => Ok(Self::Commune),
            "សង្កាត់" => Ok(Self::Sangkat),
            "ភូមិ" => Ok(Self::Village),
            _ => Err(
                ParseError::new("type_km", "is not one of រាជធានី ខេត្ត ក្រុង ស្រុក ខណ្ឌ ឃុំ សង្កាត់ ភូមិ")
                    .with_value(input),
            ),
        }
    }

    pub fn level(self) -> AdminLevel {
        match self {
            Self::Capital | Self::Province => AdminLevel::Province,
            Self::Municipality | Self::District | Self::Khan => AdminLevel::District,
            Self::Commune | Self::Sangkat => AdminLevel::Commune,
            Self::Village => AdminLevel::Village,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discrepancy_kind_names_round_trip() {
        assert_eq!(
            DiscrepancyKind::names(),
            [
                "on_roll_not_serving",
                "serving_not_on_roll",
                "assignment_conflict",
                "attribute_conflict",
                "paid_not_on_roll",
                "on_roll_not_paid",
                "possible_duplicate",
                "facility_unplaced",
            ]
        );
        for &k in DiscrepancyKind::ALL {
            assert_eq!(DiscrepancyKind::from_name(k.as_str()), Some(k));
            assert_eq!(DiscrepancyKind::parse_name(k.as_str()), Ok(k));
            assert_eq!(k.to_string(), k.as_str());
            let json = serde_json::to_value(k).unwrap();
            assert_eq!(json, serde_json::Value::from(k.as_str()));
            assert_eq!(serde_json::from_value::<DiscrepancyKind>(json).unwrap(), k);
        }
        assert_eq!(DiscrepancyKind::from_name("On_roll_not_serving"), None);
        assert_eq!(DiscrepancyKind::from_name(" facility_unplaced"), None);
        assert_eq!(DiscrepancyKind::from_name(""), None);
        assert!(DiscrepancyKind::parse_name("unplaced").is_err());
    }

    #[test]
    fn identifier_systems_are_written_as_stored_data_and_the_api_write_them() {
        let names: Vec<&str> = IdentifierSystem::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "mcs:officer_id",
                "mcs:facility_code",
                "moh:dhis2",
                "moh:code",
                "moh:fhir_practitioner",
                "moeys:school_code",
                "moeys:teacher_id",
                "moi:national_id",
            ]
        );
        for &s in IdentifierSystem::ALL {
            assert_eq!(IdentifierSystem::from_name(s.as_str()), Some(s));
            assert_eq!(IdentifierSystem::parse(s.as_str()), Ok(s));
            assert_eq!(s.to_string(), s.as_str());
            let json = serde_json::to_value(s).unwrap();
            assert_eq!(json, serde_json::Value::from(s.as_str()));
            assert_eq!(serde_json::from_value::<IdentifierSystem>(json).unwrap(), s);
        }
        assert_eq!(
            IdentifierSystem::parse(" MOH:DHIS2 "),
            Ok(IdentifierSystem::MohDhis2)
        );
        assert_eq!(IdentifierSystem::from_name("MOH:DHIS2"), None);
        assert_eq!(IdentifierSystem::from_name("moh_dhis2"), None);
        assert!(IdentifierSystem::parse("https://hrmis.mcs.gov.kh/officer-id").is_err());
    }

    #[test]
    fn the_other_vocabularies_still_serialise_as_their_snake_case_names() {
        for (json, text) in [
            (
                serde_json::to_value(FacilityKind::NationalHospital),
                "national_hospital",
            ),
            (serde_json::to_value(Ministry::Moeys), "moeys"),
            (serde_json::to_value(AdminKind::Sangkat), "sangkat"),
            (serde_json::to_value(StaffStatus::Deceased), "deceased"),
        ] {
            assert_eq!(json.unwrap(), serde_json::Value::from(text));
        }
        assert_eq!(
            serde_json::from_str::<FacilityKind>("\"upper_secondary_school\"").unwrap(),
            FacilityKind::UpperSecondarySchool
        );
    }

    #[test]
    fn only_the_national_id_is_personal_and_only_person_ids_are_hard_keys() {
        use IdentifierSystem as S;
        let personal: Vec<S> = S::ALL.iter().copied().filter(|s| s.is_personal()).collect();
        assert_eq!(personal, [S::NationalId]);
        let hard: Vec<S> = S::ALL.iter().copied().filter(|s| s.is_hard_key()).collect();
        assert_eq!(
            hard,
            [
                S::McsOfficerId,
                S::MohFhirPractitioner,
                S::MoeysTeacherId,
                S::NationalId
            ]
        );
        assert_eq!(
            S::McsOfficerId.identifies(),
            Identifies::PersonAcrossSources
        );
        assert_eq!(S::NationalId.identifies(), Identifies::PersonAcrossSources);
        assert_eq!(S::MoeysTeacherId.identifies(), Identifies::PersonInSource);
        assert_eq!(S::McsFacilityCode.identifies(), Identifies::Facility);
        assert_eq!(S::MohDhis2.identifies(), Identifies::Facility);
    }

    #[test]
    fn a_system_name_is_personal_wherever_the_old_substring_rule_said_so() {
        // The rule masking used before systems were a type, kept as the floor.
        let old_rule = |s: &str| {
            let s = s.to_ascii_lowercase();
            s.contains("national-id") || s.contains("national_id")
        };
        let names = [
            "https://gdi.gov.kh/national-id",
            "HTTPS://GDI.GOV.KH/NATIONAL-ID",
            "national_id",
            "moi:national_id",
            "x:National_Id:old",
            "mcs:officer_id",
            "moh:dhis2",
            "moh:fhir_practitioner",
            "moeys:teacher_id",
            "https://hrmis.mcs.gov.kh/officer-id",
            "nationalid",
            "",
        ];
        for name in names {
            if old_rule(name) {
                assert!(IdentifierSystem::is_personal_name(name), "{name}");
            }
            let known = IdentifierSystem::from_name(name).map(IdentifierSystem::is_personal);
            if known == Some(false) || (known.is_none() && !old_rule(name)) {
                assert!(!IdentifierSystem::is_personal_name(name), "{name}");
            }
        }
        assert!(IdentifierSystem::is_personal_name("moi:national_id"));
        assert!(!IdentifierSystem::is_personal_name("mcs:officer_id"));
        assert!(!IdentifierSystem::is_personal_name("nationalid"));
    }

    /// The names the OpenAPI document lists for a vocabulary.
    fn documented<T: utoipa::PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        let names = schema["enum"].as_array().expect("an enum").iter();
        names.map(|n| n.as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn the_openapi_document_lists_each_vocabulary_by_its_names() {
        fn names(all: &[&'static str]) -> Vec<String> {
            all.iter().map(|n| (*n).to_owned()).collect()
        }
        macro_rules! check {
            ($($t:ty),+) => {$(
                let all: Vec<&str> = <$t>::ALL.iter().map(|v| v.as_str()).collect();
                assert_eq!(documented::<$t>(), names(&all), stringify!($t));
            )+};
        }
        check!(
            Ministry,
            Sector,
            FacilityKind,
            FacilityStatus,
            StaffStatus,
            Sex,
            AdminKind,
            DiscrepancyKind,
            IdentifierSystem
        );
    }
}
