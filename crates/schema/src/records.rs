use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    AdminCode, AdminKind, AdminLevel, CivilServantId, Date, FacilityKind, FacilityStatus,
    IdentifierSystem, ManagedBy, Ministry, MinistryCode, Name, NationalId, ParseError, Sector, Sex,
    StaffStatus,
};

/// One identifier a source system gives a record: `system` names the system and the
/// kind of id (`mcs:officer_id`, `moh:dhis2`, `moeys:school_code`, ...), `value` the id.
// (Not in the doc comment, which is the OpenAPI description.) The system is kept as the
// text received: a source may send one the gateway does not know. `known_system` reads
// it as an `IdentifierSystem`, and `is_personal` asks that type whether to mask it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
pub struct SourceIdentifier {
    #[schema(example = "moh:dhis2")]
    pub system: String,
    #[schema(example = "Xk3p9QmRt2a")]
    pub value: String,
}

impl SourceIdentifier {
    pub fn parse(system: &str, value: &str) -> Result<Self, ParseError> {
        ParseError::refuse_nul("identifier system", system)?;
        ParseError::refuse_nul("identifier", value)?;
        let system = system.trim();
        let value = crate::text::for_reading(value);
        if system.is_empty() {
            return Err(ParseError::new("identifier system", "is empty"));
        }
        if value.is_empty() {
            return Err(ParseError::new(
                "identifier",
                format!("the {system} identifier is empty"),
            ));
        }
        Ok(Self {
            system: system.to_owned(),
            value,
        })
    }

    /// An identifier of a known system, read through [`Self::parse`].
    pub fn parse_of(system: IdentifierSystem, value: &str) -> Result<Self, ParseError> {
        Self::parse(system.as_str(), value)
    }

    /// An identifier of a known system whose value the caller has already read.
    pub fn of(system: IdentifierSystem, value: impl Into<String>) -> Self {
        Self {
            system: system.as_str().to_owned(),
            value: value.into(),
        }
    }

    /// The system, when it is one the gateway knows.
    pub fn known_system(&self) -> Option<IdentifierSystem> {
        IdentifierSystem::from_name(&self.system)
    }

    /// Whether this is an identifier of `system`.
    pub fn is(&self, system: IdentifierSystem) -> bool {
        self.system == system.as_str()
    }

    /// Whether the value is personal data (see [`IdentifierSystem::is_personal_name`]).
    pub fn is_personal(&self) -> bool {
        IdentifierSystem::is_personal_name(&self.system)
    }
}

/// Which ministry said a record, its id there, and when the gateway fetched it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Provenance {
    pub ministry: Ministry,
    #[schema(example = "1000123456")]
    pub source_id: String,
    pub fetched_at: DateTime<Utc>,
    /// How this source's record was joined to the person when no identifier joined
    /// it: by its score, or by a reviewer. Absent for a record an identifier joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked: Option<LinkedBy>,
}

/// How a source record was linked to the person holding it, where no identifier did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum LinkedBy {
    /// The matcher's score was above the link threshold.
    Score {
        /// The match weight (log2 odds) it was linked at.
        #[schema(example = 14.2)]
        weight: f64,
        at: DateTime<Utc>,
    },
    /// A reviewer decided the two records are one person.
    Manual {
        /// The client (token subject) that decided.
        #[schema(example = "district-officer-1201")]
        by: String,
        at: DateTime<Utc>,
    },
}

// A weight is never NaN: it is a sum of finite log-ratios.
impl Eq for LinkedBy {}

/// A latitude/longitude in degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GeoPoint {
    #[schema(example = 11.5564)]
    pub lat: f64,
    #[schema(example = 104.9282)]
    pub lon: f64,
}

impl GeoPoint {
    pub fn parse(lat: f64, lon: f64) -> Result<Self, ParseError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(ParseError::new("latitude", "is not between -90 and 90")
                .with_value(lat.to_string()));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(ParseError::new("longitude", "is not between -180 and 180")
                .with_value(lon.to_string()));
        }
        Ok(Self { lat, lon })
    }
}

/// A unit of the administrative gazetteer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminUnit {
    pub code: AdminCode,
    pub level: AdminLevel,
    pub kind: AdminKind,
    pub name_km: Name,
    pub name_latin: Option<Name>,
    pub parent_code: Option<AdminCode>,
    pub sources: Vec<Provenance>,
}

impl AdminUnit {
    /// Builds a unit, checking that its kind fits its code's level and that its parent
    /// is the unit its code extends.
    pub fn new(
        code: AdminCode,
        kind: AdminKind,
        name_km: Name,
        name_latin: Option<Name>,
        parent_code: Option<AdminCode>,
    ) -> Result<Self, ParseError> {
        let level = code.level();
        if kind.level() != level {
            return Err(ParseError::new(
                "kind",
                format!(
                    "is a {} kind but the code is a {} code",
                    kind.level().as_str(),
                    level.as_str()
                ),
            )
            .with_value(format!("{kind} for {code}")));
        }
        if parent_code != code.parent() {
            let got = parent_code
                .as_ref()
                .map_or_else(|| "none".to_owned(), ToString::to_string);
            return Err(ParseError::new(
                "parent_code",
                "is not the unit the code extends (a province has none)",
            )
            .with_value(format!("{got} for {code}")));
        }
        Ok(Self {
            code,
            level,
            kind,
            name_km,
            name_latin,
            parent_code,
            sources: Vec::new(),
        })
    }
}

/// A health or education facility: a site where services are delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Facility {
    /// The gateway's id, stable across syncs.
    pub id: Uuid,
    pub sector: Sector,
    pub kind: FacilityKind,
    pub name_km: Name,
    pub name_latin: Option<Name>,
    /// The commune the facility is in; none when no source gave a valid one.
    pub admin_unit_code: Option<AdminCode>,
    pub location: Option<GeoPoint>,
    pub status: FacilityStatus,
    pub managed_by: ManagedBy,
    pub identifiers: Vec<SourceIdentifier>,
    pub sources: Vec<Provenance>,
}

impl Facility {
    /// Checks what the field types alone cannot: the kind belongs to the sector and
    /// the place is a commune.
    pub fn check(&self) -> Result<(), ParseError> {
        if self.kind.sector() != self.sector {
            return Err(
                ParseError::new("kind", format!("is not a {} facility kind", self.sector))
                    .with_value(self.kind.to_string()),
            );
        }
        if let Some(code) = &self.admin_unit_code
            && code.level() != AdminLevel::Commune
        {
            return Err(ParseError::new(
                "admin_unit_code",
                format!(
                    "is a {} code; a facility is placed in a commune (6 digits)",
                    code.level().as_str()
                ),
            )
            .with_value(code.to_string()));
        }
        Ok(())
    }
}

/// A person who works for the state: a civil servant, or a contract worker known to a
/// sector ministry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Staff {
    /// The gateway's id, stable across syncs.
    pub id: Uuid,
    /// The MCS officer id; none for contract staff.
    pub civil_servant_id: Option<CivilServantId>,
    /// Personal data.
    pub national_id: Option<NationalId>,
    /// Personal data.
    pub birth_date: Option<Date>,
    pub name_km: Name,
    pub name_latin: Option<Name>,
    pub sex: Option<Sex>,
    /// The ministry that employs the person.
    pub employer: Option<MinistryCode>,
    pub grade: Option<String>,
    pub status: StaffStatus,
    /// The commune where the person serves (from their current assignment); used to
    /// filter by area and to scope sub-national access.
    pub admin_unit_code: Option<AdminCode>,
    pub identifiers: Vec<SourceIdentifier>,
    pub sources: Vec<Provenance>,
}

/// A staff member at a facility (or an administrative unit) in a role, as one source
/// says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Assignment {
    pub id: Uuid,
    pub staff_id: Uuid,
    pub facility_id: Option<Uuid>,
    pub admin_unit_code: Option<AdminCode>,
    #[schema(example = "midwife")]
    pub role: String,
    pub source: Ministry,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
}

impl Assignment {
    pub fn check(&self) -> Result<(), ParseError> {
        if self.facility_id.is_none() && self.admin_unit_code.is_none() {
            return Err(ParseError::new(
                "assignment",
                "names neither a facility nor a unit",
            ));
        }
        if let (Some(start), Some(end)) = (self.start_date, self.end_date)
            && end < start
        {
            return Err(ParseError::new("end_date", "is before the start date")
                .with_value(format!("{start} to {end}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identifier_of_a_known_system_is_written_with_its_name() {
        let officer = SourceIdentifier::of(IdentifierSystem::McsOfficerId, "1000123456");
        assert_eq!(officer.system, "mcs:officer_id");
        assert_eq!(officer.known_system(), Some(IdentifierSystem::McsOfficerId));
        assert!(officer.is(IdentifierSystem::McsOfficerId));
        assert!(!officer.is(IdentifierSystem::NationalId));
        assert!(!officer.is_personal());
        assert_eq!(
            SourceIdentifier::parse_of(IdentifierSystem::MohCode, " HC-01 "),
            SourceIdentifier::parse("moh:code", "HC-01")
        );
        assert!(SourceIdentifier::parse_of(IdentifierSystem::MohCode, " ").is_err());
        assert_eq!(
            serde_json::to_value(&officer).unwrap(),
            serde_json::json!({"system": "mcs:officer_id", "value": "1000123456"})
        );
    }

    #[test]
    fn an_identifier_of_an_unknown_system_is_kept_as_sent() {
        let uri = SourceIdentifier::parse("https://gdi.gov.kh/national-id", "010203040").unwrap();
        assert_eq!(uri.known_system(), None);
        assert!(uri.is_personal());
        let other = SourceIdentifier::parse("moh:ihris_code", "X1").unwrap();
        assert_eq!(other.system, "moh:ihris_code");
        assert_eq!(other.known_system(), None);
        assert!(!other.is_personal());
        let back: SourceIdentifier =
            serde_json::from_value(serde_json::json!({"system": "moh:ihris_code", "value": "X1"}))
                .unwrap();
        assert_eq!(back, other);
    }
}
