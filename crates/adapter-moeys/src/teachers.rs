//! `teachers.csv` rows into [`StaffReport`]s.

use adapter_core::{Fetched, Record};
use schema::{
    CivilServantId, Date, IdentifierSystem, Ministry, MinistryCode, Name, NationalId, Posting, Sex,
    SourceIdentifier, StaffReport, StaffStatus, text,
};

use crate::cells::{self, Outcome, Problems, is_blank};
use crate::export::Row;
use crate::schools::optional;

/// Reads one `teachers.csv` row.
///
/// `officer_id` is blank for contract teachers: allowed, the report then has no
/// civil-servant id and no employer. `employment_type` is kept in the raw record only.
pub(crate) fn teacher(row: &Row) -> Outcome {
    cells::check_shape(row)?;
    let mut p = Problems::default();
    let id = p.take(cells::identifier(
        row,
        "teacher_id",
        IdentifierSystem::MoeysTeacherId,
    ));
    let officer = p.take(optional(row.cell("officer_id"), |c| {
        CivilServantId::parse(c).map_err(|e| e.in_field("officer_id"))
    }));
    let national_id = p.take(optional(row.cell("national_id"), |c| {
        NationalId::parse(c).map_err(|e| e.in_field("national_id"))
    }));
    // The shared staff record is named in Khmer: name_kh is required.
    let name_km = p.take(
        Name::parse(row.cell("name_kh"))
            .map_err(|e| e.in_field("name_kh"))
            .map(Some),
    );
    let name_latin = p.take(optional(row.cell("name_en"), |c| {
        Name::parse(c).map_err(|e| e.in_field("name_en"))
    }));
    let sex = p.take(optional(row.cell("sex"), |c| {
        Sex::parse(c).map_err(|e| e.in_field("sex"))
    }));
    let birth_date = p.take(optional(row.cell("dob"), |c| {
        Date::parse(c).map_err(|e| e.in_field("dob"))
    }));
    let school = p.take(optional(row.cell("school_code"), |c| {
        SourceIdentifier::parse_of(IdentifierSystem::MoeysSchoolCode, c)
            .map_err(|e| e.in_field("school_code"))
    }));
    let updated_at = p.take(optional(row.cell("updated_at"), |c| {
        cells::timestamp(c, "updated_at")
    }));

    if let (
        Some(id),
        Some(officer),
        Some(national_id),
        Some(name_km),
        Some(name_latin),
        Some(sex),
        Some(birth_date),
        Some(school),
        Some(updated_at),
    ) = (
        id,
        officer,
        national_id,
        name_km,
        name_latin,
        sex,
        birth_date,
        school,
        updated_at,
    ) && p.is_empty()
    {
        let mut identifiers = vec![id.clone()];
        if let Some(officer) = &officer {
            identifiers.push(SourceIdentifier::of(
                IdentifierSystem::McsOfficerId,
                officer.to_string(),
            ));
        }
        let role = Some(text::normalize(row.cell("position"))).filter(|r| !is_blank(r));
        let posting = (school.is_some() || role.is_some()).then_some(Posting {
            facility: school,
            admin_unit_code: None,
            unit_name: None,
            role,
            start_date: None,
        });
        let report = StaffReport {
            source: Ministry::Moeys,
            source_id: id.value.clone(),
            identifiers,
            employer: officer
                .as_ref()
                .and_then(|_| MinistryCode::parse("MOEYS").ok()),
            civil_servant_id: officer,
            national_id,
            name_km,
            name_latin,
            sex,
            birth_date,
            grade: None,
            status: Some(StaffStatus::Active),
            posting,
            updated_at,
        };
        Ok(Fetched {
            source_id: id.value,
            record: Record::Staff(report),
            raw: row.raw(),
        })
    } else {
        // A teacher's row names a school, not a place: held for national callers.
        Err(cells::rejection(row, p.into_vec()))
    }
}
