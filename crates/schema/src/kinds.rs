//! The closed vocabularies of the schema. Each reads its snake_case name (and, where
//! ministries write them so, Khmer or short forms) through `parse`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{AdminLevel, ParseError, text};

/// An enum of snake_case names with `parse`, `as_str`, `ALL` and Display.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
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
    /// The kind named exactly `name` (as stored and as the API writes it), without the
    /// leniency of `parse_name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == name)
    }

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
}
