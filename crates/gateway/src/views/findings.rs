//! Discrepancies and the reports built on them, as clients see them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schema::DiscrepancyKind;
use serde::Serialize;
use serde_json::Value;
use store::{
    CoverageLine, FacilityRef, FindingEvent, ServingStaff, StaffRef, StoredDiscrepancy,
    TransferredFacility,
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::MASKED;

/// Where the sources disagree: one finding, its evidence, and whether it is still open.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "5b0c8a4e-57d1-4c38-9a0e-1f1f7c1f3a11",
    "kind": "assignment_conflict",
    "status": "open",
    "description": "The civil-service roll places this officer at one facility; the sector ministry at another.",
    "staff": [{"id": "0f6f3c1e-5d1b-5a57-9b41-3f1d2e7c9a10", "civil_servant_id": "1000123456",
               "name_km": "សុខ ចាន់ថា", "name_latin": "Sok Chantha"}],
    "facility": {"id": "8a1f0c55-7a3e-5b1e-8d6c-5e4b2a1c9f00", "name_km": "មណ្ឌលសុខភាពកំពង់ត្រាច",
                 "name_latin": "HC Kampong Trach", "identifiers": [{"system": "moh:code", "value": "HC-070101-01"}]},
    "admin_unit_code": "070101",
    "sources": ["mcs", "moh"],
    "evidence": [
        {"source": "mcs", "record_id": "1000123456", "field": "facility",
         "value": {"facility_id": "8a1f0c55-7a3e-5b1e-8d6c-5e4b2a1c9f00", "name_km": "មណ្ឌលសុខភាពកំពង់ត្រាច", "code": "HC-070101-01"},
         "seen_at": "2025-12-02T03:00:00Z"},
        {"source": "moh", "field": "facility",
         "value": {"facility_id": "1b2c3d4e-0000-5000-8000-000000000001", "name_km": "មណ្ឌលសុខភាពទូកមាស", "code": "HC-070102-01"},
         "seen_at": "2025-12-02T03:00:00Z"}
    ],
    "first_seen": "2025-12-02T03:01:00Z",
    "last_seen": "2025-12-09T03:01:00Z",
    "resolved_at": null
}))]
pub struct DiscrepancyView {
    pub id: Uuid,
    /// `on_roll_not_serving`, `serving_not_on_roll`, `assignment_conflict`,
    /// `attribute_conflict`, `paid_not_on_roll`, `on_roll_not_paid`,
    /// `possible_duplicate` or `facility_unplaced`.
    pub kind: String,
    /// `open`, or `resolved` once the sources agree.
    pub status: &'static str,
    /// What the kind means, in words.
    pub description: &'static str,
    /// The people the finding is about (two for a possible duplicate; none for a
    /// facility, or for a roster's unknown person).
    pub staff: Vec<StaffRefView>,
    pub facility: Option<FacilityRefView>,
    /// Where it is: the facility's commune, or the person's.
    pub admin_unit_code: Option<String>,
    /// The sources the evidence comes from (`mcs`, `moh`, `moeys`, `mef`, `roster`, ...).
    pub sources: Vec<String>,
    /// Which source said what, and when: `source`, `record_id`, `field`, `value`,
    /// `seen_at`, `note`. Birth dates and national ids are `***` without `staff:read:pii`.
    #[schema(value_type = Vec<Object>)]
    pub evidence: Value,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Where people are with it: `open` (nobody has taken it up), `acknowledged`,
    /// `explained`, `confirmed`, or `resolved` (the sources agree now, whatever was
    /// said of it).
    #[schema(example = "explained")]
    pub state: &'static str,
    /// What the last reviewer said; null while nobody has acted.
    pub review: Option<ReviewView>,
    /// Why a state people gave was dropped by a later pass (the evidence changed, or
    /// the finding came back after it resolved).
    pub reopened_because: Option<String>,
    /// The finding's review version: send it as `If-Match` with an action so that a
    /// colleague's action in between is not overwritten (also the `ETag`).
    pub version: i64,
    /// Every action taken, oldest first: on the single-finding endpoint only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<FindingEventView>>,
}

/// What the last reviewer said of a finding.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "held_by": "kampot-phd", "reason": "on_leave", "reason_km": "ច្បាប់ឈប់សម្រាក",
    "reason_en": "On leave", "ministry": null, "note": "ឈប់សម្រាកលំហែមាតុភាព ដល់ខែមីនា",
    "at": "2026-12-02T04:10:00Z"
}))]
pub struct ReviewView {
    /// The client that took the last action.
    pub held_by: Option<String>,
    /// The explanation's reason: `on_leave`, `studying`, `seconded`, `transferred`,
    /// `retired`, `deceased`, `data_error`, `other`.
    pub reason: Option<&'static str>,
    pub reason_km: Option<&'static str>,
    pub reason_en: Option<&'static str>,
    /// For `data_error` or a confirmed finding: the ministry whose record is wrong.
    pub ministry: Option<&'static str>,
    pub note: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

/// One action in a finding's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingEventView {
    /// `acknowledge`, `explain`, `confirm` or `reopen`.
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub reason: Option<String>,
    pub ministry: Option<String>,
    pub note: Option<String>,
    /// The client; `gateway` when a pass reopened it.
    pub by: String,
    pub at: DateTime<Utc>,
}

impl From<FindingEvent> for FindingEventView {
    fn from(e: FindingEvent) -> Self {
        Self {
            action: e.action,
            from_state: e.from_state,
            to_state: e.to_state,
            reason: e.explanation,
            ministry: e.ministry,
            note: e.note,
            by: e.by,
            at: e.at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffRefView {
    pub id: Uuid,
    pub civil_servant_id: Option<String>,
    pub name_km: String,
    pub name_latin: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FacilityRefView {
    pub id: Uuid,
    pub name_km: String,
    pub name_latin: Option<String>,
    #[schema(value_type = Vec<schema::SourceIdentifier>)]
    pub identifiers: Value,
}

impl From<StaffRef> for StaffRefView {
    fn from(s: StaffRef) -> Self {
        Self {
            id: s.id,
            civil_servant_id: s.civil_servant_id,
            name_km: s.name_km,
            name_latin: s.name_latin,
        }
    }
}

impl From<FacilityRef> for FacilityRefView {
    fn from(f: FacilityRef) -> Self {
        Self {
            id: f.id,
            name_km: f.name_km,
            name_latin: f.name_latin,
            identifiers: f.identifiers,
        }
    }
}

/// What each kind of finding means.
pub fn describe(kind: &str) -> &'static str {
    match DiscrepancyKind::from_name(kind) {
        Some(DiscrepancyKind::OnRollNotServing) => {
            "On the civil-service roll at a facility, but not serving there: the facility's latest roster lists them absent or not at all, or (before any roster) the sector ministry has no record of them."
        }
        Some(DiscrepancyKind::ServingNotOnRoll) => {
            "Serving at a facility (by the sector ministry's records or a roster) but not on the civil-service roll."
        }
        Some(DiscrepancyKind::AssignmentConflict) => {
            "The civil-service roll places this officer at one facility; the sector ministry at another."
        }
        Some(DiscrepancyKind::AttributeConflict) => {
            "Two ministries give this person a different birth date, sex or Khmer name."
        }
        Some(DiscrepancyKind::PaidNotOnRoll) => {
            "Paid in the latest payroll month under an officer id that is not on the roll."
        }
        Some(DiscrepancyKind::OnRollNotPaid) => {
            "Active on the roll, but missing from the latest payroll month."
        }
        Some(DiscrepancyKind::PossibleDuplicate) => {
            "Two records that look like one person: the same national id under two civil-servant ids, or the same name and birth date."
        }
        Some(DiscrepancyKind::FacilityUnplaced) => {
            "A facility whose commune code names no commune of the gazetteer."
        }
        None => "",
    }
}

/// Hides birth dates and national ids anywhere in a finding's evidence.
pub fn mask_evidence(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(mask_evidence),
        Value::Object(map) => {
            let personal_field = map
                .get("field")
                .and_then(Value::as_str)
                .is_some_and(|f| matches!(f, "birth_date" | "national_id"));
            for (key, v) in map.iter_mut() {
                let personal = matches!(key.as_str(), "birth_date" | "national_id")
                    || (personal_field && key == "value");
                if personal && !v.is_null() {
                    *v = Value::String(MASKED.to_owned());
                } else {
                    mask_evidence(v);
                }
            }
        }
        _ => {}
    }
}

impl DiscrepancyView {
    pub fn new(d: StoredDiscrepancy, reveal_pii: bool) -> Self {
        let state = d.state().as_str();
        let mut evidence = d.evidence;
        if !reveal_pii {
            mask_evidence(&mut evidence);
        }
        let review = d.review;
        let version = review.version;
        let reopened_because = review.reopened_because.clone();
        let review = (review.held_by.is_some()).then(|| ReviewView {
            held_by: review.held_by,
            reason: review.explanation.map(|e| e.as_str()),
            reason_km: review.explanation.map(|e| e.label_km()),
            reason_en: review.explanation.map(|e| e.label_en()),
            ministry: review.ministry.map(|m| m.as_str()),
            note: review.note,
            at: review.at,
        });
        Self {
            state,
            review,
            reopened_because,
            version,
            history: None,
            id: d.id,
            description: describe(&d.kind),
            kind: d.kind,
            status: if d.resolved_at.is_some() {
                "resolved"
            } else {
                "open"
            },
            staff: d.staff.into_iter().map(StaffRefView::from).collect(),
            facility: d.facility.map(FacilityRefView::from),
            admin_unit_code: d.admin_unit_code,
            sources: d.sources,
            evidence,
            first_seen: d.first_seen,
            last_seen: d.last_seen,
            resolved_at: d.resolved_at,
        }
    }
}

list_of!(DiscrepancyList, DiscrepancyView, "A page of discrepancies.");

/// Roster coverage and open discrepancies for each unit of one level.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageReport {
    #[schema(example = "province")]
    pub level: &'static str,
    #[schema(example = "2025-12")]
    pub period: String,
    pub parent: Option<String>,
    pub units: Vec<CoverageUnit>,
}

/// One unit's line of the coverage report. Facilities are those open and placed in
/// the unit; staff on the roll are active officers the roll posts to them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "code": "07", "name_km": "កំពត", "name_latin": "Kampot",
    "health_facilities": 71, "education_facilities": 642,
    "health_facilities_reporting": 40, "education_facilities_reporting": 300,
    "staff_on_roll": 9120, "staff_confirmed_serving": 4301, "people_reported_serving": 4420,
    "open_discrepancies": {"on_roll_not_serving": 212, "assignment_conflict": 180},
    "findings_by_state": {"open": 301, "acknowledged": 40, "explained": 35, "confirmed": 16}
}))]
pub struct CoverageUnit {
    pub code: String,
    pub name_km: String,
    pub name_latin: Option<String>,
    pub health_facilities: u64,
    pub education_facilities: u64,
    /// Health facilities that submitted a roster for the period.
    pub health_facilities_reporting: u64,
    pub education_facilities_reporting: u64,
    pub staff_on_roll: u64,
    /// Officers on the roll listed present on their own facility's roster for the period.
    pub staff_confirmed_serving: u64,
    /// Everyone listed present on the period's rosters, on the roll or not.
    pub people_reported_serving: u64,
    /// Open findings located in the unit, by kind.
    pub open_discrepancies: BTreeMap<String, u64>,
    /// Unresolved findings located in the unit, by state: `open`, `acknowledged`,
    /// `explained`, `confirmed`.
    pub findings_by_state: BTreeMap<String, u64>,
}

impl From<CoverageLine> for CoverageUnit {
    fn from(l: CoverageLine) -> Self {
        Self {
            code: l.code,
            name_km: l.name_km,
            name_latin: l.name_latin,
            health_facilities: l.health_facilities,
            education_facilities: l.education_facilities,
            health_facilities_reporting: l.health_reporting,
            education_facilities_reporting: l.education_reporting,
            staff_on_roll: l.staff_on_roll,
            staff_confirmed_serving: l.staff_confirmed_serving,
            people_reported_serving: l.people_reported_serving,
            open_discrepancies: l.open_discrepancies,
            findings_by_state: l.findings_by_state,
        }
    }
}

/// Facilities transferred to district administrations, by district.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferReport {
    pub districts: Vec<TransferDistrict>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransferDistrict {
    #[schema(example = "0701")]
    pub code: String,
    pub name_km: Option<String>,
    pub name_latin: Option<String>,
    pub facilities: Vec<TransferredFacilityView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransferredFacilityView {
    pub id: Uuid,
    pub name_km: String,
    pub name_latin: Option<String>,
    #[schema(example = "health")]
    pub sector: String,
    #[schema(example = "health_centre")]
    pub kind: String,
    pub admin_unit_code: Option<String>,
    #[schema(value_type = Vec<schema::SourceIdentifier>)]
    pub identifiers: Value,
    /// Who the ministries place here, and what the latest roster says of them.
    pub staff: Vec<ServingStaffView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServingStaffView {
    pub id: Uuid,
    pub civil_servant_id: Option<String>,
    pub name_km: String,
    pub name_latin: Option<String>,
    pub role: Option<String>,
    /// The sources that place the person here (`mcs`, `moh`, `moeys`).
    pub placed_by: Vec<String>,
    /// The latest roster: `present`, `absent`, `not_listed`; null before any roster.
    pub roster: Option<String>,
}

impl From<ServingStaff> for ServingStaffView {
    fn from(s: ServingStaff) -> Self {
        Self {
            id: s.id,
            civil_servant_id: s.civil_servant_id,
            name_km: s.name_km,
            name_latin: s.name_latin,
            role: s.role,
            placed_by: s.placed_by,
            roster: s.roster,
        }
    }
}

impl TransferReport {
    /// Groups facilities (ordered by district) under their districts.
    pub fn new(rows: Vec<TransferredFacility>) -> Self {
        let mut districts: Vec<TransferDistrict> = Vec::new();
        for f in rows {
            if districts.last().is_none_or(|d| d.code != f.district_code) {
                districts.push(TransferDistrict {
                    code: f.district_code.clone(),
                    name_km: f.district_name_km.clone(),
                    name_latin: f.district_name_latin.clone(),
                    facilities: Vec::new(),
                });
            }
            if let Some(d) = districts.last_mut() {
                d.facilities.push(TransferredFacilityView {
                    id: f.facility_id,
                    name_km: f.name_km,
                    name_latin: f.name_latin,
                    sector: f.sector,
                    kind: f.kind,
                    admin_unit_code: f.admin_unit_code,
                    identifiers: f.identifiers,
                    staff: f.staff.into_iter().map(ServingStaffView::from).collect(),
                });
            }
        }
        Self { districts }
    }

    pub fn staff_ids(&self) -> Vec<Uuid> {
        self.districts
            .iter()
            .flat_map(|d| &d.facilities)
            .flat_map(|f| &f.staff)
            .map(|s| s.id)
            .collect()
    }
}
