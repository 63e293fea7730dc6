//! What the API answers: the stored records as clients see them, with personal data
//! masked unless the caller may see it.

use chrono::{DateTime, Utc};
use schema::{AdminCode, Assignment, Provenance, SourceIdentifier};
use serde::Serialize;
use store::{StoredAdminUnit, StoredFacility, StoredStaff};
use utoipa::ToSchema;
use uuid::Uuid;

/// What a masked personal field reads.
pub const MASKED: &str = "***";

/// A staff record.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffView {
    pub id: Uuid,
    #[schema(value_type = Option<String>, example = "1000123456")]
    pub civil_servant_id: Option<String>,
    /// Personal data: `***` unless the token has `staff:read:pii`.
    #[schema(example = "010203040")]
    pub national_id: Option<String>,
    /// Personal data: `***` unless the token has `staff:read:pii`.
    #[schema(example = "1985-03-07")]
    pub birth_date: Option<String>,
    #[schema(example = "សុខ ចាន់ថា")]
    pub name_km: String,
    #[schema(example = "Sok Chantha")]
    pub name_latin: Option<String>,
    #[schema(example = "female")]
    pub sex: Option<String>,
    /// The employing ministry's code.
    #[schema(example = "MOH")]
    pub employer: Option<String>,
    pub grade: Option<String>,
    #[schema(example = "active")]
    pub status: String,
    /// The commune where the person serves.
    #[schema(value_type = Option<String>, example = "010201")]
    pub admin_unit_code: Option<AdminCode>,
    pub identifiers: Vec<SourceIdentifier>,
    pub sources: Vec<Provenance>,
    /// Where the person is assigned; given on the single-record endpoint only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignments: Option<Vec<Assignment>>,
    /// Whether personal fields were masked for this caller.
    pub pii_masked: bool,
    pub updated_at: DateTime<Utc>,
    /// Increases on every change to the record.
    pub version: i64,
}

impl StaffView {
    pub fn new(s: StoredStaff, reveal_pii: bool, with_assignments: bool) -> Self {
        let staff = s.staff;
        let mask = |v: Option<String>| {
            if reveal_pii {
                v
            } else {
                v.map(|_| MASKED.to_owned())
            }
        };
        let identifiers = staff
            .identifiers
            .into_iter()
            .map(|mut i| {
                // Personal identifier systems (national ids) are masked like the field.
                if !reveal_pii && i.is_personal() {
                    i.value = MASKED.to_owned();
                }
                i
            })
            .collect();
        Self {
            id: staff.id,
            civil_servant_id: staff.civil_servant_id.map(String::from),
            national_id: mask(staff.national_id.map(String::from)),
            birth_date: mask(staff.birth_date.map(String::from)),
            name_km: staff.name_km.into(),
            name_latin: staff.name_latin.map(String::from),
            sex: staff.sex.map(|x| x.as_str().to_owned()),
            employer: staff.employer.map(String::from),
            grade: staff.grade,
            status: staff.status.as_str().to_owned(),
            admin_unit_code: staff.admin_unit_code,
            identifiers,
            sources: staff.sources,
            assignments: with_assignments.then_some(s.assignments),
            pii_masked: !reveal_pii,
            updated_at: s.updated_at,
            version: s.version,
        }
    }
}

/// A facility record.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacilityView {
    #[serde(flatten)]
    pub facility: schema::Facility,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<StoredFacility> for FacilityView {
    fn from(f: StoredFacility) -> Self {
        Self {
            facility: f.facility,
            updated_at: f.updated_at,
            version: f.version,
        }
    }
}

/// A unit of the administrative gazetteer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUnitView {
    #[serde(flatten)]
    pub unit: schema::AdminUnit,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<StoredAdminUnit> for AdminUnitView {
    fn from(u: StoredAdminUnit) -> Self {
        Self {
            unit: u.unit,
            updated_at: u.updated_at,
            version: u.version,
        }
    }
}

/// A page type: `items` and the `next_cursor`.
macro_rules! list_of {
    ($name:ident, $item:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `cursor` to get the next page; null on the last page.
            pub next_cursor: Option<String>,
        }
    };
}

pub(crate) use list_of;

list_of!(StaffList, StaffView, "A page of staff records.");

impl StaffList {
    /// The ids of the records on the page, for its audit entry.
    pub fn ids(&self) -> Vec<Uuid> {
        self.items.iter().map(|s| s.id).collect()
    }
}
list_of!(FacilityList, FacilityView, "A page of facilities.");
list_of!(AdminUnitList, AdminUnitView, "A page of admin units.");

/// Status of a health check.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    #[schema(example = "ok")]
    pub status: &'static str,
}

mod corrections;
mod findings;
mod matches;
mod rosters;

pub use corrections::{CorrectionList, CorrectionView};
pub use findings::{
    CoverageReport, CoverageUnit, DiscrepancyList, DiscrepancyView, FacilityRefView,
    FindingEventView, ReviewView, ServingStaffView, StaffRefView, TransferDistrict, TransferReport,
    TransferredFacilityView, mask_evidence,
};
pub use matches::{
    DecisionInput, DecisionView, FieldWeightView, MatchList, MatchSideView, MatchView, SplitInput,
    SplitView, field_fault, parse_decision,
};
pub use rosters::{EntryCountsView, PassView, RosterEntryView, RosterList, RosterView};

#[cfg(test)]
mod tests {
    use schema::{Name, NationalId, SourceIdentifier, Staff, StaffStatus};

    use super::*;

    fn stored(identifiers: Vec<SourceIdentifier>) -> StoredStaff {
        StoredStaff {
            staff: Staff {
                id: Uuid::nil(),
                civil_servant_id: None,
                national_id: Some(NationalId::parse("010203040").expect("nid")),
                birth_date: None,
                name_km: Name::parse("សុខ ចាន់ថា").expect("name"),
                name_latin: None,
                sex: None,
                employer: None,
                grade: None,
                status: StaffStatus::Active,
                admin_unit_code: None,
                identifiers,
                sources: vec![],
            },
            assignments: vec![],
            updated_at: DateTime::<Utc>::MIN_UTC,
            version: 1,
        }
    }

    fn id(system: &str, value: &str) -> SourceIdentifier {
        SourceIdentifier {
            system: system.to_owned(),
            value: value.to_owned(),
        }
    }

    #[test]
    fn personal_identifiers_are_masked_without_the_pii_scope() {
        let identifiers = vec![
            id("mcs:officer_id", "1000123456"),
            id("moh:fhir_practitioner", "P-1"),
            id("moi:national_id", "010203040"),
            // Systems the gateway does not know, read back from the database.
            id("https://gdi.gov.kh/national-id", "010203040"),
            id("moh:ihris_code", "X-1"),
        ];
        let masked = StaffView::new(stored(identifiers.clone()), false, false);
        let values: Vec<&str> = masked
            .identifiers
            .iter()
            .map(|i| i.value.as_str())
            .collect();
        assert_eq!(values, ["1000123456", "P-1", MASKED, MASKED, "X-1"]);
        assert_eq!(masked.national_id.as_deref(), Some(MASKED));
        assert!(masked.pii_masked);

        let clear = StaffView::new(stored(identifiers.clone()), true, false);
        assert_eq!(clear.identifiers, identifiers);
        assert_eq!(clear.national_id.as_deref(), Some("010203040"));
        assert!(!clear.pii_masked);
    }
}
