//! What one source says about a record, before the registry links it.
//!
//! An adapter cannot know the gateway's ids: it reports what its ministry's system
//! said, keyed by that system's own identifiers. The sync engine links reports to
//! registry records (by civil-servant id, national id, facility codes) and keeps each
//! source's version of each field.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    AdminCode, CivilServantId, Date, FacilityKind, FacilityStatus, GeoPoint, ManagedBy, Ministry,
    MinistryCode, Name, NationalId, ParseError, Sector, Sex, SourceIdentifier, StaffStatus, text,
};

/// A person as one source describes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffReport {
    pub source: Ministry,
    /// The person's id in the source (officer id, FHIR Practitioner id, EMIS teacher id).
    pub source_id: String,
    pub identifiers: Vec<SourceIdentifier>,
    pub civil_servant_id: Option<CivilServantId>,
    pub national_id: Option<NationalId>,
    pub name_km: Option<Name>,
    pub name_latin: Option<Name>,
    pub sex: Option<Sex>,
    pub birth_date: Option<Date>,
    pub employer: Option<MinistryCode>,
    pub grade: Option<String>,
    pub status: Option<StaffStatus>,
    /// Where the source says the person serves.
    pub posting: Option<Posting>,
    /// When the source last changed the record.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A place of service as a source names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    /// The facility in the source's own terms (`moh:code`, `moeys:school_code`, ...).
    pub facility: Option<SourceIdentifier>,
    /// The commune (or other unit) of the place.
    pub admin_unit_code: Option<AdminCode>,
    pub unit_name: Option<Name>,
    pub role: Option<String>,
    pub start_date: Option<Date>,
}

/// A facility as one source describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FacilityReport {
    pub source: Ministry,
    pub source_id: String,
    pub identifiers: Vec<SourceIdentifier>,
    pub sector: Sector,
    pub kind: FacilityKind,
    pub name_km: Name,
    pub name_latin: Option<Name>,
    /// None when the source gave no valid commune: the facility is unplaced.
    pub admin_unit_code: Option<AdminCode>,
    pub location: Option<GeoPoint>,
    pub status: FacilityStatus,
    /// None when the source does not say (its ministry runs it).
    pub managed_by: Option<ManagedBy>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A person's role at a facility, as one source records it (FHIR PractitionerRole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleReport {
    pub source: Ministry,
    pub source_id: String,
    /// The person's id in the same source.
    pub person_source_id: String,
    pub facility: SourceIdentifier,
    pub role: Option<String>,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    pub active: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A month, `YYYY-MM`: a payroll period, or the month a roster is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Period {
    year: u16,
    month: u8,
}

impl Period {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        const WHAT: &str = "period";
        ParseError::refuse_nul(WHAT, input)?;
        let s = text::for_reading(input);
        let bad = || ParseError::new(WHAT, "is not a month written YYYY-MM").with_value(input);
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let (year, month): (u16, u8) =
            (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if !(1..=12).contains(&month) || !(1990..=2100).contains(&year) {
            return Err(bad());
        }
        Ok(Self { year, month })
    }

    pub fn year(self) -> u16 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl TryFrom<String> for Period {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Period> for String {
    fn from(value: Period) -> Self {
        value.to_string()
    }
}

/// One line of a month's payroll: an officer the state paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayrollEntry {
    pub period: Period,
    pub civil_servant_id: CivilServantId,
    pub ministry: MinistryCode,
    pub budget_unit: String,
    pub status: String,
}
