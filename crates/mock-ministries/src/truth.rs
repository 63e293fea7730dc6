//! The ground truth of a generated world: how many records each endpoint serves,
//! which ones are invalid and why, and every planted cross-ministry fact, so that a
//! reconciliation engine can be scored (precision and recall per kind).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::corrections::AppliedCorrection;
use crate::spelling::Variant;
use crate::{Ministry, Scale};

/// Everything planted in one generated world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub seed: u64,
    pub scale: Scale,
    /// Every payroll period served, oldest first: the 24 months up to the current one
    /// (`2024-01` ... `2025-12` as of January 2026).
    pub periods: Vec<String>,
    /// The newest period: the payroll facts are about this one.
    pub current_period: String,
    /// Records served by a full pull of each endpoint (invalid records included).
    pub counts: Counts,
    /// The planted invalid records, per endpoint kind. Each is isolated: its person
    /// or facility appears in no other source and takes part in no fact.
    pub invalid: InvalidRecords,
    /// The planted cross-ministry facts. A person or facility is in at most one.
    pub facts: Facts,
    /// Contract staff: known to MoH or MoEYS without an officer id. Not discrepancies.
    pub contract_staff: Vec<RecordRef>,
    /// Facilities that are closed (DHIS2 `closedDate`, EMIS `status` closed). No
    /// staff serve there.
    pub closed_facilities: Vec<FacilityRef>,
    /// A sample of people linked across sources by their officer id.
    pub same_person: Vec<SamePerson>,
    /// Who the records without a shared id really are: only in a world generated
    /// with the linkage noise (absent otherwise, so the file is as it was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linkage: Option<Linkage>,
    /// The correction requests the ministries have applied so far
    /// (`POST /_control/corrections`), sorted by id: absent from the truth as
    /// generated, so the file is as it was until one is applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrections_applied: Vec<AppliedCorrection>,
}

/// The truth of the linkage noise, to score a matcher per class: which roll officer
/// each sector record that does not carry its person's own roll id really is, the
/// roll's duplicates, and the look-alikes who must stay apart.
///
/// Every valid sector record (FHIR Practitioner, EMIS teacher) whose officer id is
/// missing, mistyped or not on the roll is in `records`; every other valid sector
/// record carries the officer id of the roll record it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Linkage {
    pub records: Vec<LinkageRecord>,
    /// Pairs of roll records of one person under two officer ids (each is also a
    /// `possible_duplicate` fact).
    pub roll_duplicates: Vec<RollDuplicate>,
    /// Pairs of records of two different people with one Khmer name and one birth
    /// year, in different provinces: never one person.
    pub hard_negatives: Vec<HardNegative>,
}

/// The classes of records a matcher is scored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseClass {
    /// A rolled officer's sector record with no officer id and no national id, its
    /// name and/or birth date written another way.
    NoIds,
    /// A rolled officer's sector record whose officer id has a typo that is on no
    /// roll record.
    IdTypo,
    /// A rolled officer's sector record whose officer id has a typo that is another
    /// officer's id on the roll.
    IdTypoOtherOfficer,
    /// A rolled officer's sector record with no officer id but the right national id.
    NationalIdOnly,
    /// A sector record of someone who shares a Khmer name and birth year with an
    /// officer elsewhere (see `hard_negatives`); on the roll or not.
    HardNegative,
    /// Contract staff: known to the sector ministry only, no officer id.
    Contract,
    /// An officer id that is on no roll record and no typo: the person is not on
    /// the roll (the `serving_not_on_roll` facts).
    NotOnRoll,
}

/// One sector record and who it really is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkageRecord {
    pub source: Ministry,
    /// The Practitioner id (`pr-…`) or the teacher_id.
    pub record_id: String,
    pub class: NoiseClass,
    /// The roll officer id the record really is; `None`: nobody on the roll.
    pub officer_id: Option<String>,
    /// The officer id the record carries, when it carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_officer_id: Option<String>,
    /// How the record differs from the roll record it is (sorted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
}

/// Two roll records of one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollDuplicate {
    /// Sorted.
    pub officer_ids: [String; 2],
    /// How the second record is written differently (empty: the same name, birth
    /// date and national id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
}

/// Two records of different people that must never be linked. A roll record is
/// `{"source": "mcs", "record_id": <officer id>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardNegative {
    pub a: RecordRef,
    pub b: RecordRef,
    /// The Khmer name both are written with (no zero-width spaces).
    pub name_km: String,
    pub birth_year: i32,
}

/// Records per endpoint kind in a full pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub moi_units: u64,
    pub mcs_officers: u64,
    /// All levels: country, provincial health departments, operational districts,
    /// facilities.
    pub moh_org_units: u64,
    /// Level 4 only.
    pub moh_facilities: u64,
    pub moh_practitioners: u64,
    pub moh_practitioner_roles: u64,
    pub moeys_schools: u64,
    pub moeys_teachers: u64,
    /// Items per payroll period.
    pub mef_payroll: BTreeMap<String, u64>,
}

/// One invalid record: its source id (as served) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidRecord {
    pub id: String,
    pub reason: String,
}

/// Invalid records per endpoint kind. Ids: gazetteer code, MCS officer_id, DHIS2
/// id, FHIR resource id, school_code, teacher_id, MEF officer_id (the same MEF
/// items are in every period).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidRecords {
    pub moi_units: Vec<InvalidRecord>,
    pub mcs_officers: Vec<InvalidRecord>,
    pub moh_org_units: Vec<InvalidRecord>,
    pub moh_practitioners: Vec<InvalidRecord>,
    pub moh_practitioner_roles: Vec<InvalidRecord>,
    pub moeys_schools: Vec<InvalidRecord>,
    pub moeys_teachers: Vec<InvalidRecord>,
    pub mef_payroll: Vec<InvalidRecord>,
}

/// The planted cross-ministry facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub assignment_conflict: Vec<AssignmentConflict>,
    pub serving_not_on_roll: Vec<ServingNotOnRoll>,
    pub on_roll_not_serving: Vec<OnRollNotServing>,
    pub paid_not_on_roll: Vec<PaidNotOnRoll>,
    pub on_roll_not_paid: Vec<OnRollNotPaid>,
    /// Pairs of officer ids of one person (same name, birth date and national id).
    pub possible_duplicate: Vec<[String; 2]>,
    pub attribute_conflict: Vec<AttributeConflict>,
    pub transferred_facilities: Vec<TransferredFacility>,
    pub facility_unplaced: Vec<UnplacedFacility>,
}

/// The roll puts an officer at one facility, the sector ministry at another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentConflict {
    pub officer_id: String,
    /// `work_unit.facility_code` on the roll.
    pub mcs_facility_code: String,
    pub other_source: Ministry,
    /// The PractitionerRole id or the teacher_id.
    pub other_record_id: String,
    /// The DHIS2 facility `code` of the role's location, or the teacher's school_code.
    pub other_facility_code: String,
}

/// A health worker or teacher whose officer id is not on the roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServingNotOnRoll {
    pub officer_id: String,
    pub source: Ministry,
    /// The Practitioner id or the teacher_id.
    pub record_id: String,
    pub facility_code: String,
}

/// An officer the roll puts at a facility, unknown to the sector ministry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnRollNotServing {
    pub officer_id: String,
    pub mcs_facility_code: String,
    pub expected_source: Ministry,
}

/// An officer id paid in the current period that is not on the roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidNotOnRoll {
    pub officer_id: String,
    pub ministry: String,
}

/// An active officer on the roll missing from the current period's payroll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnRollNotPaid {
    pub officer_id: String,
    pub ministry: String,
    /// The last period the officer was paid in.
    pub last_paid_period: Option<String>,
}

/// The roll and a sector ministry disagree on one attribute of one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeConflict {
    pub officer_id: String,
    pub source: Ministry,
    /// The Practitioner id or the teacher_id.
    pub record_id: String,
    /// `birth_date` (ISO dates), `sex` (`male`/`female`) or `name` (Khmer names).
    pub field: String,
    pub mcs_value: String,
    pub other_value: String,
}

/// A facility whose function has been transferred to a district administration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferredFacility {
    pub source: Ministry,
    /// DHIS2 `code` or school_code.
    pub facility_code: String,
    /// DHIS2 id or school_code.
    pub record_id: String,
    pub district_code: String,
}

/// A facility whose commune code is well formed but names no commune.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnplacedFacility {
    pub source: Ministry,
    pub facility_code: String,
    pub record_id: String,
    /// The code as written (`ADMIN_CODE` or `commune_code`).
    pub written_code: String,
}

/// One record of one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    pub source: Ministry,
    pub record_id: String,
}

/// One facility of one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacilityRef {
    pub source: Ministry,
    pub facility_code: String,
    pub record_id: String,
}

/// One person's records across sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamePerson {
    pub officer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fhir_practitioner_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emis_teacher_id: Option<String>,
}

impl Truth {
    /// Sorts every list, so the truth reads the same whatever order it was built in.
    pub(crate) fn sort(&mut self) {
        let inv = &mut self.invalid;
        for list in [
            &mut inv.moi_units,
            &mut inv.mcs_officers,
            &mut inv.moh_org_units,
            &mut inv.moh_practitioners,
            &mut inv.moh_practitioner_roles,
            &mut inv.moeys_schools,
            &mut inv.moeys_teachers,
            &mut inv.mef_payroll,
        ] {
            list.sort_by(|a, b| a.id.cmp(&b.id));
        }
        let f = &mut self.facts;
        f.assignment_conflict
            .sort_by(|a, b| a.officer_id.cmp(&b.officer_id));
        f.serving_not_on_roll
            .sort_by(|a, b| a.officer_id.cmp(&b.officer_id));
        f.on_roll_not_serving
            .sort_by(|a, b| a.officer_id.cmp(&b.officer_id));
        f.paid_not_on_roll
            .sort_by(|a, b| a.officer_id.cmp(&b.officer_id));
        f.on_roll_not_paid
            .sort_by(|a, b| a.officer_id.cmp(&b.officer_id));
        f.possible_duplicate.sort();
        f.attribute_conflict
            .sort_by(|a, b| a.officer_id.cmp(&b.officer_id));
        f.transferred_facilities
            .sort_by(|a, b| (a.source, &a.record_id).cmp(&(b.source, &b.record_id)));
        f.facility_unplaced
            .sort_by(|a, b| (a.source, &a.record_id).cmp(&(b.source, &b.record_id)));
        self.contract_staff
            .sort_by(|a, b| (a.source, &a.record_id).cmp(&(b.source, &b.record_id)));
        self.closed_facilities
            .sort_by(|a, b| (a.source, &a.record_id).cmp(&(b.source, &b.record_id)));
        self.same_person
            .sort_by(|a, b| a.officer_id.cmp(&b.officer_id));
        if let Some(linkage) = &mut self.linkage {
            linkage
                .records
                .sort_by(|a, b| (a.source, &a.record_id).cmp(&(b.source, &b.record_id)));
            linkage
                .roll_duplicates
                .sort_by(|a, b| a.officer_ids.cmp(&b.officer_ids));
            linkage.hard_negatives.sort_by(|x, y| {
                (x.a.source, &x.a.record_id, x.b.source, &x.b.record_id).cmp(&(
                    y.a.source,
                    &y.a.record_id,
                    y.b.source,
                    &y.b.record_id,
                ))
            });
        }
    }
}
