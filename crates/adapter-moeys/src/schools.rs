//! `schools.csv` rows into [`FacilityReport`]s.

use adapter_core::{Fetched, Record};
use schema::{
    AdminCode, AdminLevel, FacilityKind, FacilityReport, FacilityStatus, GeoPoint,
    IdentifierSystem, ManagedBy, Ministry, Name, ParseError, Sector, text,
};

use crate::cells::{self, Outcome, Problems, is_blank};
use crate::export::Row;

/// The forms of `school_level` read, each with the kind it means. Matched ignoring case,
/// surrounding space and zero-width characters, with spaces and hyphens taken as `_`;
/// a leading Khmer `សាលា` ("school") is ignored.
const LEVELS: &[(&str, FacilityKind)] = &[
    ("preschool", FacilityKind::Preschool),
    ("pre_school", FacilityKind::Preschool),
    ("pre_primary", FacilityKind::Preschool),
    ("kindergarten", FacilityKind::Preschool),
    ("មត្តេយ្យ", FacilityKind::Preschool),
    ("មត្តេយ្យសិក្សា", FacilityKind::Preschool),
    ("primary", FacilityKind::PrimarySchool),
    ("primary_school", FacilityKind::PrimarySchool),
    ("បឋមសិក្សា", FacilityKind::PrimarySchool),
    ("lower_secondary", FacilityKind::LowerSecondarySchool),
    ("lower_secondary_school", FacilityKind::LowerSecondarySchool),
    ("អនុវិទ្យាល័យ", FacilityKind::LowerSecondarySchool),
    ("មធ្យមសិក្សាបឋមភូមិ", FacilityKind::LowerSecondarySchool),
    ("upper_secondary", FacilityKind::UpperSecondarySchool),
    ("upper_secondary_school", FacilityKind::UpperSecondarySchool),
    ("មធ្យមសិក្សាទុតិយភូមិ", FacilityKind::UpperSecondarySchool),
    ("high_school", FacilityKind::HighSchool),
    ("highschool", FacilityKind::HighSchool),
    ("វិទ្យាល័យ", FacilityKind::HighSchool),
];

/// Reads a `school_level`. See [`LEVELS`] for the accepted forms; anything else (a
/// health facility kind included) is not a school level.
pub(crate) fn school_kind(cell: &str) -> Result<FacilityKind, ParseError> {
    let key: String = text::match_key(cell)
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect();
    let key = key
        .strip_prefix("សាលា")
        .map(|k| k.trim_start_matches('_'))
        .unwrap_or(&key);
    LEVELS
        .iter()
        .find(|(form, _)| text::match_key(form) == key)
        .map(|(_, kind)| *kind)
        .ok_or_else(|| {
            if is_blank(cell) {
                ParseError::new("school_level", "is empty")
            } else {
                ParseError::new(
                    "school_level",
                    "is not a school level (preschool, primary, lower_secondary, upper_secondary, \
                     high_school, or their Khmer names)",
                )
                .with_value(cell)
            }
        })
}

/// The commune a `commune_code` places the school in: a commune's code as it is, a
/// village's code as its commune's. Anything else (blank, unreadable, a province or
/// district) places it nowhere: the school is still reported, unplaced, and
/// reconciliation reports it; it is not a rejection.
pub(crate) fn commune(cell: &str) -> Option<AdminCode> {
    let code = AdminCode::parse(cell).ok()?;
    match code.level() {
        AdminLevel::Commune => Some(code),
        AdminLevel::Village => code.parent(),
        AdminLevel::Province | AdminLevel::District => None,
    }
}

/// The place a school's row names: its `commune_code` when that reads as a gazetteer
/// code (any level), where a rejected row is held.
fn place(cell: &str) -> Option<AdminCode> {
    AdminCode::parse(cell).ok()
}

/// Reads one `schools.csv` row.
pub(crate) fn school(row: &Row) -> Outcome {
    cells::check_shape(row)
        .map_err(|r| r.with_place(place(row.get("commune_code").unwrap_or(""))))?;
    let mut p = Problems::default();
    let id = p.take(cells::identifier(
        row,
        "school_code",
        IdentifierSystem::MoeysSchoolCode,
    ));
    let name_km =
        p.take(Name::parse(row.cell("school_name_kh")).map_err(|e| e.in_field("school_name_kh")));
    let name_latin = p.take(optional(row.cell("school_name_en"), |c| {
        Name::parse(c).map_err(|e| e.in_field("school_name_en"))
    }));
    let kind = p.take(school_kind(row.cell("school_level")));
    let admin_unit_code = commune(row.cell("commune_code"));
    let location = p.take(location(row.cell("latitude"), row.cell("longitude")));
    let status = p.take(if is_blank(row.cell("status")) {
        Ok(FacilityStatus::Open)
    } else {
        FacilityStatus::parse(row.cell("status")).map_err(|e| e.in_field("status"))
    });
    let managed_by = p.take(optional(row.cell("managed_by"), ManagedBy::parse));
    let updated_at = p.take(optional(row.cell("updated_at"), |c| {
        cells::timestamp(c, "updated_at")
    }));

    if let (
        Some(id),
        Some(name_km),
        Some(name_latin),
        Some(kind),
        Some(location),
        Some(status),
        Some(managed_by),
        Some(updated_at),
    ) = (
        id, name_km, name_latin, kind, location, status, managed_by, updated_at,
    ) && p.is_empty()
    {
        let report = FacilityReport {
            source: Ministry::Moeys,
            source_id: id.value.clone(),
            identifiers: vec![id.clone()],
            sector: Sector::Education,
            kind,
            name_km,
            name_latin,
            admin_unit_code,
            location,
            status,
            managed_by,
            updated_at,
        };
        Ok(Fetched {
            source_id: id.value,
            record: Record::Facility(report),
            raw: row.raw(),
        })
    } else {
        Err(cells::rejection(row, p.into_vec()).with_place(place(row.cell("commune_code"))))
    }
}

/// A cell read by `read` unless it is blank.
pub(crate) fn optional<T>(
    cell: &str,
    read: impl FnOnce(&str) -> Result<T, ParseError>,
) -> Result<Option<T>, ParseError> {
    if is_blank(cell) {
        Ok(None)
    } else {
        read(cell).map(Some)
    }
}

/// Both coordinates blank: no location. One without the other, or either unreadable or
/// out of range: a problem naming the column.
fn location(lat: &str, lon: &str) -> Result<Option<GeoPoint>, ParseError> {
    match (is_blank(lat), is_blank(lon)) {
        (true, true) => Ok(None),
        (true, false) => Err(ParseError::new(
            "latitude",
            "is empty while longitude is given",
        )),
        (false, true) => Err(ParseError::new(
            "longitude",
            "is empty while latitude is given",
        )),
        (false, false) => {
            let lat = cells::degrees(lat, "latitude")?;
            let lon = cells::degrees(lon, "longitude")?;
            GeoPoint::parse(lat, lon).map(Some)
        }
    }
}
