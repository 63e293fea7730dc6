#![allow(clippy::unwrap_used)]
//! Hand-written EMIS exports in every messy form the contract allows, read without HTTP.

use adapter_core::{Feed, Record, Rejection};
use chrono::{DateTime, Utc};
use schema::{
    FacilityKind, FacilityReport, FacilityStatus, ManagedBy, Sex, StaffReport, StaffStatus,
};
use tokio::sync::mpsc;

use crate::cells::{self, Outcome};
use crate::download::{Chunk, read_export};
use crate::export::{Export, ExportReader, MAX_ROW_BYTES, ReadError};
use crate::{normalise, schools};

const SCHOOLS_HEADER: &str = "school_code,school_name_kh,school_name_en,school_level,commune_code,latitude,longitude,status,managed_by,updated_at";
const TEACHERS_HEADER: &str = "teacher_id,officer_id,national_id,name_kh,name_en,sex,dob,school_code,position,employment_type,updated_at";

/// Every row of an export, normalised or rejected.
fn read_all(export: Export, body: &[u8]) -> Result<Vec<Outcome>, ReadError> {
    let mut reader = ExportReader::new(export, body)?;
    let mut out = Vec::new();
    while let Some(row) = reader.next_row()? {
        out.push(normalise(&row));
    }
    Ok(out)
}

fn schools(body: &str) -> Vec<Outcome> {
    read_all(Export::Schools, body.as_bytes()).unwrap()
}

fn teachers(body: &str) -> Vec<Outcome> {
    read_all(Export::Teachers, body.as_bytes()).unwrap()
}

fn facility(outcome: &Outcome) -> &FacilityReport {
    match outcome {
        Ok(f) => match &f.record {
            Record::Facility(r) => r,
            other => panic!("not a facility: {other:?}"),
        },
        Err(r) => panic!("rejected: {}: {}", r.reason(), r.raw),
    }
}

fn staff(outcome: &Outcome) -> &StaffReport {
    match outcome {
        Ok(f) => match &f.record {
            Record::Staff(r) => r,
            other => panic!("not staff: {other:?}"),
        },
        Err(r) => panic!("rejected: {}: {}", r.reason(), r.raw),
    }
}

fn rejected(outcome: &Outcome) -> &Rejection {
    match outcome {
        Ok(f) => panic!("expected a rejection, got {:?}", f.record),
        Err(r) => r,
    }
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn schools_with_bom_crlf_and_quoted_fields() {
    let body = format!(
        "\u{feff}{SCHOOLS_HEADER}\r\n\
         1234,សាលាបឋមសិក្សា ភូមិថ្មី,Phum Thmei Primary,primary,010201,11.5564,104.9282,open,MOEYS,2024-01-23T10:15:00+07:00\r\n\
         \"5678\",\"វិទ្យាល័យ \"\"ហ៊ុន សែន\"\"\",\"Hun Sen, \"\"New\"\"\r\nHigh School\",high_school,\"120101\",\"\",\"\",closed,0102,2024-02-01T00:00:00Z\r\n"
    );
    let rows = schools(&body);
    assert_eq!(rows.len(), 2);

    let a = facility(&rows[0]);
    assert_eq!(a.source_id, "1234");
    assert_eq!(a.identifiers.len(), 1);
    assert_eq!(a.identifiers[0].system, "moeys:school_code");
    assert_eq!(a.identifiers[0].value, "1234");
    assert_eq!(a.sector, schema::Sector::Education);
    assert_eq!(a.kind, FacilityKind::PrimarySchool);
    assert_eq!(a.name_km.as_str(), "សាលាបឋមសិក្សា ភូមិថ្មី");
    assert_eq!(
        a.name_latin.as_ref().unwrap().as_str(),
        "Phum Thmei Primary"
    );
    assert_eq!(a.admin_unit_code.as_ref().unwrap().as_str(), "010201");
    let loc = a.location.unwrap();
    assert!((loc.lat - 11.5564).abs() < 1e-9 && (loc.lon - 104.9282).abs() < 1e-9);
    assert_eq!(a.status, FacilityStatus::Open);
    assert!(matches!(&a.managed_by, Some(ManagedBy::Ministry(m)) if m.as_str() == "MOEYS"));
    assert_eq!(a.updated_at, Some(t("2024-01-23T03:15:00Z")));

    let b = facility(&rows[1]);
    assert_eq!(b.source_id, "5678");
    assert_eq!(b.name_km.as_str(), "វិទ្យាល័យ \"ហ៊ុន សែន\"");
    // A line break inside a quoted field is part of the name (collapsed like any space).
    assert_eq!(
        b.name_latin.as_ref().unwrap().as_str(),
        "Hun Sen, \"New\" High School"
    );
    assert_eq!(b.kind, FacilityKind::HighSchool);
    assert_eq!(b.location, None);
    assert_eq!(b.status, FacilityStatus::Closed);
    assert!(matches!(&b.managed_by, Some(ManagedBy::Administration(c)) if c.as_str() == "0102"));
    // The raw record is the row as received, header name to cell text.
    let raw = rows[1].as_ref().unwrap().raw.clone();
    assert_eq!(raw["school_name_en"], "Hun Sen, \"New\"\r\nHigh School");
    assert_eq!(raw["latitude"], "");
    assert_eq!(raw.as_object().unwrap().len(), 10);
}

#[test]
fn lf_line_ends_blank_lines_and_no_final_newline() {
    let body = format!(
        "{SCHOOLS_HEADER}\n1,ក,,preschool,010201,,,,,\n\n   \n2,ខ,,primary,010201,,,,,2024-01-01T00:00:00Z"
    );
    let rows = schools(&body);
    assert_eq!(rows.len(), 2, "blank lines are not rows");
    assert_eq!(facility(&rows[0]).kind, FacilityKind::Preschool);
    assert_eq!(
        facility(&rows[0]).updated_at,
        None,
        "a blank updated_at is allowed"
    );
    assert_eq!(facility(&rows[1]).source_id, "2");
}

#[test]
fn khmer_digits_in_codes_coordinates_and_dates() {
    let body = format!(
        "{SCHOOLS_HEADER}\r\n១២៣៤៥,សាលាមត្តេយ្យ,,kindergarten,០១០២០១,១១.៥៥៦៤,១០៤.៩២៨២,,,២៣/០១/២០២៤\r\n"
    );
    let rows = schools(&body);
    let s = facility(&rows[0]);
    assert_eq!(s.source_id, "12345");
    assert_eq!(s.identifiers[0].value, "12345");
    assert_eq!(s.admin_unit_code.as_ref().unwrap().as_str(), "010201");
    let loc = s.location.unwrap();
    assert!((loc.lat - 11.5564).abs() < 1e-9 && (loc.lon - 104.9282).abs() < 1e-9);
    // A bare date is the start of that day in Cambodia (UTC+7).
    assert_eq!(s.updated_at, Some(t("2024-01-22T17:00:00Z")));
    assert_eq!(s.status, FacilityStatus::Open, "blank status is open");
    assert_eq!(s.managed_by, None, "blank managed_by is none");
}

#[test]
fn columns_found_by_name_in_any_order_and_extra_columns_kept_raw() {
    let body = "updated_at,Status,LONGITUDE,latitude,commune_code,school_level,school_name_en,school_name_kh,school_code,managed_by,district_name\r\n\
                2024-03-01T08:00:00+07:00,open,104.9,11.5,010201,Upper Secondary,Sisowath,ស៊ីសុវត្ថិ,77,MOEYS,Daun Penh\r\n";
    let rows = schools(body);
    let s = facility(&rows[0]);
    assert_eq!(s.source_id, "77");
    assert_eq!(s.kind, FacilityKind::UpperSecondarySchool);
    assert_eq!(s.name_km.as_str(), "ស៊ីសុវត្ថិ");
    assert_eq!(s.location.unwrap().lon, 104.9);
    assert_eq!(rows[0].as_ref().unwrap().raw["district_name"], "Daun Penh");
}

#[test]
fn invalid_commune_code_leaves_the_school_unplaced() {
    let cases = [
        ("999999", None),             // no such province
        ("0102", None),               // a district, not a commune
        ("", None),                   // blank
        ("01-02-01", None),           // not only digits
        ("01020101", Some("010201")), // a village: its commune
        ("០១០២០១", Some("010201")),
    ];
    for (code, want) in cases {
        let body = format!("{SCHOOLS_HEADER}\r\n1,ក,,primary,{code},,,,,\r\n");
        let rows = schools(&body);
        let s = facility(&rows[0]);
        assert_eq!(
            s.admin_unit_code.as_ref().map(|c| c.as_str()),
            want,
            "commune_code {code:?}"
        );
    }
}

#[test]
fn school_levels_are_read_generously() {
    let cases = [
        ("preschool", FacilityKind::Preschool),
        ("Pre-School", FacilityKind::Preschool),
        ("kindergarten", FacilityKind::Preschool),
        ("មត្តេយ្យសិក្សា", FacilityKind::Preschool),
        ("primary", FacilityKind::PrimarySchool),
        ("PRIMARY_SCHOOL", FacilityKind::PrimarySchool),
        ("សាលាបឋមសិក្សា", FacilityKind::PrimarySchool),
        ("lower_secondary", FacilityKind::LowerSecondarySchool),
        ("lower secondary", FacilityKind::LowerSecondarySchool),
        ("Lower-Secondary", FacilityKind::LowerSecondarySchool),
        ("lower_secondary_school", FacilityKind::LowerSecondarySchool),
        ("អនុវិទ្យាល័យ", FacilityKind::LowerSecondarySchool),
        ("upper_secondary", FacilityKind::UpperSecondarySchool),
        ("upper secondary", FacilityKind::UpperSecondarySchool),
        ("upper_secondary_school", FacilityKind::UpperSecondarySchool),
        ("high_school", FacilityKind::HighSchool),
        (" High School ", FacilityKind::HighSchool),
        ("វិទ្យាល័យ", FacilityKind::HighSchool),
    ];
    for (cell, want) in cases {
        assert_eq!(schools::school_kind(cell).unwrap(), want, "{cell:?}");
    }
    for cell in ["", "secondary", "health_centre", "university", "7"] {
        let e = schools::school_kind(cell).unwrap_err();
        assert_eq!(e.what, "school_level", "{cell:?}");
    }
}

/// Each invalid school row and the words its rejection must contain.
#[test]
fn invalid_school_rows_are_rejected_naming_the_column() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        (",ក,,primary,010201,,,,,", "school_code: is empty", None),
        (
            "9,,,primary,010201,,,,,",
            "school_name_kh: is empty",
            Some("9"),
        ),
        (
            "9,\u{200b},,primary,010201,,,,,",
            "school_name_kh: is empty",
            Some("9"),
        ),
        (
            "9,ក,,secondary,010201,,,,,",
            "school_level: is not a school level",
            Some("9"),
        ),
        ("9,ក,,health_centre,010201,,,,,", "school_level", Some("9")),
        ("9,ក,,,010201,,,,,", "school_level: is empty", Some("9")),
        (
            "9,ក,,primary,010201,abc,104.9,,,",
            "latitude: is not a number",
            Some("9"),
        ),
        (
            "9,ក,,primary,010201,11.5,,,,",
            "longitude: is empty while latitude is given",
            Some("9"),
        ),
        (
            "9,ក,,primary,010201,,104.9,,,",
            "latitude: is empty while longitude is given",
            Some("9"),
        ),
        (
            "9,ក,,primary,010201,95,104.9,,,",
            "latitude: is not between -90 and 90",
            Some("9"),
        ),
        ("9,ក,,primary,010201,11.5,190,,,", "longitude", Some("9")),
        ("9,ក,,primary,010201,NaN,104.9,,,", "latitude", Some("9")),
        (
            "9,ក,,primary,010201,,,demolished,,",
            "status: is not open or closed",
            Some("9"),
        ),
        ("9,ក,,primary,010201,,,,M!,", "managed_by", Some("9")),
        ("9,ក,,primary,010201,,,,01020101,", "managed_by", Some("9")),
        (
            "9,ក,,primary,010201,,,,,yesterday",
            "updated_at: is not a time",
            Some("9"),
        ),
        (
            "9,ក,,primary,010201,,,,,31/02/2024",
            "updated_at",
            Some("9"),
        ),
        (
            "9,ក,,primary,010201,,,,",
            "row: has 9 fields; the header has 10 columns",
            Some("9"),
        ),
        (
            "9,ក,,primary,010201,,,,,,",
            "row: has 11 fields; the header has 10 columns",
            Some("9"),
        ),
        ("9", "row: has 1 fields", Some("9")),
    ];
    for (line, reason, source_id) in cases {
        let body = format!("{SCHOOLS_HEADER}\r\n{line}\r\n");
        let rows = schools(&body);
        assert_eq!(rows.len(), 1, "{line}");
        let r = rejected(&rows[0]);
        assert!(
            r.reason().contains(reason),
            "{line}: reason {:?} lacks {reason:?}",
            r.reason()
        );
        assert_eq!(r.source_id.as_deref(), *source_id, "{line}");
        assert_eq!(r.ministry, schema::Ministry::Moeys);
        assert_eq!(r.feed, Feed::Schools);
        assert!(r.raw.is_object(), "{line}");
    }
}

#[test]
fn a_row_with_several_problems_names_them_all() {
    let body = format!("{SCHOOLS_HEADER}\r\n9,,,nursery,010201,x,y,,,\r\n");
    let r = rejected(&schools(&body)[0]).reason();
    for column in ["school_name_kh", "school_level", "latitude"] {
        assert!(r.contains(column), "{r}");
    }
}

#[test]
fn a_short_row_keeps_its_cells_raw_and_the_stream_goes_on() {
    let body = format!("{SCHOOLS_HEADER}\r\n1,ក,,primary\r\n2,ខ,,primary,010201,,,,,\r\n");
    let rows = schools(&body);
    assert_eq!(rows.len(), 2);
    let r = rejected(&rows[0]);
    assert_eq!(r.raw["school_level"], "primary");
    assert!(r.raw.get("commune_code").is_none());
    assert_eq!(facility(&rows[1]).source_id, "2");
}

#[test]
fn a_long_row_keeps_its_extra_cells_raw() {
    let body = format!("{SCHOOLS_HEADER}\r\n1,ក,,primary,010201,,,,,,surplus\r\n");
    let r = rejected(&schools(&body)[0]).clone();
    assert_eq!(r.raw["_extra"], serde_json::json!(["surplus"]));
}

#[test]
fn invalid_utf8_is_a_rejection() {
    let mut body = format!("{SCHOOLS_HEADER}\r\n1,").into_bytes();
    body.extend_from_slice(&[0xE1, 0x9E]); // a Khmer letter cut in half
    body.extend_from_slice(b",,primary,010201,,,,,\r\n2,\xe1\x9e\x80,,primary,010201,,,,,\r\n");
    let rows = read_all(Export::Schools, &body).unwrap();
    assert_eq!(rejected(&rows[0]).reason(), "row: is not valid UTF-8");
    assert_eq!(rejected(&rows[0]).source_id.as_deref(), Some("1"));
    assert_eq!(facility(&rows[1]).name_km.as_str(), "ក");
}

#[test]
fn a_missing_column_makes_the_export_unreadable() {
    let header = SCHOOLS_HEADER.replace(",commune_code", "");
    let body = format!("{header}\r\n1,ក,,primary,,,,,\r\n");
    match ExportReader::new(Export::Schools, body.as_bytes()).unwrap_err() {
        ReadError::Unreadable(cause) => assert!(cause.contains("`commune_code`"), "{cause}"),
        other => panic!("{other:?}"),
    }
    let twice = format!("{SCHOOLS_HEADER},school_code\r\n");
    match ExportReader::new(Export::Schools, twice.as_bytes()).unwrap_err() {
        ReadError::Unreadable(cause) => assert!(cause.contains("`school_code` twice"), "{cause}"),
        other => panic!("{other:?}"),
    }
    // The teachers' columns are not the schools'.
    assert!(ExportReader::new(Export::Teachers, SCHOOLS_HEADER.as_bytes()).is_err());
}

#[test]
fn a_quoted_header_after_a_bom_is_read() {
    let header = SCHOOLS_HEADER
        .split(',')
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(",");
    let body = format!("\u{feff}{header}\r\n1,ក,,primary,010201,,,,,\r\n");
    assert_eq!(facility(&schools(&body)[0]).source_id, "1");
}

#[test]
fn an_empty_body_is_an_export_without_rows() {
    assert!(schools("").is_empty());
    assert!(schools("\u{feff}").is_empty());
    assert!(schools(&format!("{SCHOOLS_HEADER}\r\n")).is_empty());
}

#[test]
fn an_unclosed_quote_cannot_swallow_the_export() {
    let mut body = format!("{SCHOOLS_HEADER}\r\n1,\"ក,,primary,010201,,,,,\r\n");
    let filler = "2,ខ,,primary,010201,,,,,\r\n";
    while (body.len() as u64) < MAX_ROW_BYTES + 64 * 1024 {
        body.push_str(filler);
    }
    match read_all(Export::Schools, body.as_bytes()).unwrap_err() {
        ReadError::Unreadable(cause) => assert!(cause.contains("row 1 runs past"), "{cause}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn timestamps_in_the_forms_written() {
    let cases = [
        ("2024-01-23T10:15:00+07:00", "2024-01-23T03:15:00Z"),
        ("2024-01-23T03:15:00Z", "2024-01-23T03:15:00Z"),
        ("2024-01-23T03:15:00.250z", "2024-01-23T03:15:00.250Z"),
        ("2024-01-23 10:15:00+07:00", "2024-01-23T03:15:00Z"),
        ("២០២៤-០១-២៣T១០:១៥:០០+០៧:០០", "2024-01-23T03:15:00Z"),
        ("23/01/2024", "2024-01-22T17:00:00Z"),
        ("2024-01-23", "2024-01-22T17:00:00Z"),
        ("ថ្ងៃទី២៣ ខែមករា ឆ្នាំ២០២៤", "2024-01-22T17:00:00Z"),
    ];
    for (cell, want) in cases {
        assert_eq!(
            cells::timestamp(cell, "updated_at").unwrap(),
            t(want),
            "{cell:?}"
        );
    }
    for cell in [
        "",
        "now",
        "2024-13-01T00:00:00Z",
        "23/01/24",
        "2024-01-23T10:15:00",
    ] {
        assert_eq!(
            cells::timestamp(cell, "updated_at").unwrap_err().what,
            "updated_at",
            "{cell:?}"
        );
    }
}

#[test]
fn teachers_civil_servant_and_contract() {
    let body = format!(
        "\u{feff}{TEACHERS_HEADER}\r\n\
         T-001,100012345,010203040,សុខ ចាន់ថា,Sok Chantha,ស្រី,07/03/1985,1234,\"គ្រូបង្រៀន, ថ្នាក់ទី១\",civil_servant,2024-01-23T10:15:00+07:00\r\n\
         T-002,,,ចាន់ ដារ៉ា,,M,,1234,គ្រូកិច្ចសន្យា,contract,2024-01-24T00:00:00Z\r\n"
    );
    let rows = teachers(&body);
    assert_eq!(rows.len(), 2);

    let a = staff(&rows[0]);
    assert_eq!(a.source, schema::Ministry::Moeys);
    assert_eq!(a.source_id, "T-001");
    let ids: Vec<(&str, &str)> = a
        .identifiers
        .iter()
        .map(|i| (i.system.as_str(), i.value.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("moeys:teacher_id", "T-001"),
            ("mcs:officer_id", "100012345")
        ]
    );
    assert_eq!(a.civil_servant_id.as_ref().unwrap().as_str(), "100012345");
    assert_eq!(a.national_id.as_ref().unwrap().as_str(), "010203040");
    assert_eq!(a.name_km.as_ref().unwrap().as_str(), "សុខ ចាន់ថា");
    assert_eq!(a.name_latin.as_ref().unwrap().as_str(), "Sok Chantha");
    assert_eq!(a.sex, Some(Sex::Female));
    assert_eq!(a.birth_date.unwrap().to_string(), "1985-03-07");
    assert_eq!(a.employer.as_ref().unwrap().as_str(), "MOEYS");
    assert_eq!(a.status, Some(StaffStatus::Active));
    assert_eq!(a.grade, None);
    let posting = a.posting.as_ref().unwrap();
    let school = posting.facility.as_ref().unwrap();
    assert_eq!(
        (school.system.as_str(), school.value.as_str()),
        ("moeys:school_code", "1234")
    );
    assert_eq!(posting.role.as_deref(), Some("គ្រូបង្រៀន, ថ្នាក់ទី១"));
    assert_eq!(
        (
            posting.admin_unit_code.as_ref(),
            posting.unit_name.as_ref(),
            posting.start_date
        ),
        (None, None, None)
    );
    assert_eq!(a.updated_at, Some(t("2024-01-23T03:15:00Z")));
    assert_eq!(
        rows[0].as_ref().unwrap().raw["employment_type"],
        "civil_servant"
    );

    // A contract teacher: no officer id, which is allowed.
    let b = staff(&rows[1]);
    assert_eq!(b.civil_servant_id, None);
    assert_eq!(b.employer, None);
    assert_eq!(b.identifiers.len(), 1);
    assert_eq!(b.identifiers[0].system, "moeys:teacher_id");
    assert_eq!(b.name_latin, None);
    assert_eq!(b.sex, Some(Sex::Male));
    assert_eq!(b.birth_date, None);
}

#[test]
fn teachers_with_khmer_digits_and_columns_reordered() {
    let body = "dob,sex,name_en,name_kh,national_id,officer_id,teacher_id,updated_at,employment_type,position,school_code\n\
                ០៧/០៣/១៩៨៥,F,Sok Chantha,សុខ ចាន់ថា,០១០២០៣០៤០,១០០០ ១២៣ ៤៥៦,០០៧,២៣/០១/២០២៤,civil_servant,,៥៦៧៨\n\
                ,,Dara,ដារ៉ា,,,008,,contract,,\n";
    let rows = teachers(body);
    let a = staff(&rows[0]);
    assert_eq!(a.source_id, "007");
    assert_eq!(a.civil_servant_id.as_ref().unwrap().as_str(), "1000123456");
    assert_eq!(a.national_id.as_ref().unwrap().as_str(), "010203040");
    assert_eq!(a.birth_date.unwrap().to_string(), "1985-03-07");
    assert_eq!(a.updated_at, Some(t("2024-01-22T17:00:00Z")));
    let posting = a.posting.as_ref().unwrap();
    assert_eq!(posting.facility.as_ref().unwrap().value, "5678");
    assert_eq!(posting.role, None);
    // No school and no position: no posting.
    assert_eq!(staff(&rows[1]).posting, None);
}

#[test]
fn invalid_teacher_rows_are_rejected_naming_the_column() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        (",,,ក,,,,1,,,", "teacher_id: is empty", None),
        (
            "T1,12ab,,ក,,,,1,,,",
            "officer_id: must contain only digits",
            Some("T1"),
        ),
        ("T1,123,,ក,,,,1,,,", "officer_id: has 3 digits", Some("T1")),
        ("T1,,12345,ក,,,,1,,,", "national_id", Some("T1")),
        ("T1,,,,,,,1,,,", "name_kh: is empty", Some("T1")),
        ("T1,,,ក,,X,,1,,,", "sex: is not M, F", Some("T1")),
        (
            "T1,,,ក,,,31/02/1990,1,,,",
            "dob: names a day its month does not have",
            Some("T1"),
        ),
        ("T1,,,ក,,,1990,1,,,", "dob", Some("T1")),
        ("T1,,,ក,,,,1,,,soon", "updated_at", Some("T1")),
        (
            "T1,,,ក,,,,1,,",
            "row: has 10 fields; the header has 11 columns",
            Some("T1"),
        ),
    ];
    for (line, reason, source_id) in cases {
        let body = format!("{TEACHERS_HEADER}\r\n{line}\r\n");
        let rows = teachers(&body);
        let r = rejected(&rows[0]);
        assert!(
            r.reason().contains(reason),
            "{line}: reason {:?} lacks {reason:?}",
            r.reason()
        );
        assert_eq!(r.source_id.as_deref(), *source_id, "{line}");
        assert_eq!(r.feed, Feed::Teachers);
        assert_eq!(r.raw["teacher_id"], line.split(',').next().unwrap());
    }
}

/// Runs the reading thread's loop over `body` and collects what it sends.
fn chunks(body: Vec<u8>, skip: u64, batch: usize) -> Vec<(Vec<String>, bool)> {
    let (tx, mut rx) = mpsc::channel(1);
    let reader =
        std::thread::spawn(move || read_export(Export::Schools, body.as_slice(), skip, batch, &tx));
    let mut out = Vec::new();
    while let Some(chunk) = rx.blocking_recv() {
        match chunk {
            Chunk::Rows { rows, last } => out.push((
                rows.iter()
                    .map(|r| r.cell("school_code").to_owned())
                    .collect(),
                last,
            )),
            Chunk::Failed(e) => panic!("{e:?}"),
        }
    }
    reader.join().unwrap();
    out
}

fn numbered_export(n: usize) -> Vec<u8> {
    let mut body = format!("{SCHOOLS_HEADER}\r\n");
    for i in 1..=n {
        body.push_str(&format!("{i},ក,,primary,010201,,,,,\r\n"));
    }
    body.into_bytes()
}

#[test]
fn batches_end_with_the_last_flag_and_skip_counts_rows() {
    let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        chunks(numbered_export(5), 0, 2),
        [
            (ids(&["1", "2"]), false),
            (ids(&["3", "4"]), false),
            (ids(&["5"]), true)
        ]
    );
    assert_eq!(
        chunks(numbered_export(4), 0, 2),
        [(ids(&["1", "2"]), false), (ids(&["3", "4"]), true)]
    );
    assert_eq!(chunks(numbered_export(5), 3, 2), [(ids(&["4", "5"]), true)]);
    assert_eq!(chunks(numbered_export(5), 5, 2), [(ids(&[]), true)]);
    assert_eq!(chunks(numbered_export(5), 9, 2), [(ids(&[]), true)]);
    assert_eq!(chunks(numbered_export(0), 0, 2), [(ids(&[]), true)]);
    assert_eq!(chunks(Vec::new(), 0, 2), [(ids(&[]), true)]);
}

/// A body that breaks off after `n` bytes.
struct Broken(Vec<u8>, usize);

impl std::io::Read for Broken {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.1 == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection reset",
            ));
        }
        let k = buf.len().min(self.1).min(self.0.len());
        buf[..k].copy_from_slice(&self.0[..k]);
        self.0.drain(..k);
        self.1 -= k;
        Ok(k)
    }
}

#[test]
fn a_broken_body_is_reported_as_broken() {
    let body = numbered_export(50);
    let (tx, mut rx) = mpsc::channel(8);
    let cut = body.len() / 2;
    std::thread::spawn(move || read_export(Export::Schools, Broken(body, cut), 0, 10, &tx));
    let mut delivered = 0;
    loop {
        match rx.blocking_recv().unwrap() {
            Chunk::Rows { rows, last } => {
                assert!(!last);
                delivered += rows.len();
            }
            Chunk::Failed(ReadError::Broken(cause)) => {
                assert!(cause.contains("connection reset"), "{cause}");
                break;
            }
            Chunk::Failed(other) => panic!("{other:?}"),
        }
    }
    assert!(delivered < 50);
}

#[test]
fn the_incremental_url_encodes_updated_since() {
    let adapter = crate::MoeysAdapter::new(
        "http://emis.example/",
        adapter_core::ClientConfig::default(),
    )
    .unwrap();
    assert_eq!(
        adapter.url(Export::Schools, None),
        "http://emis.example/emis/export/schools.csv"
    );
    assert_eq!(
        adapter.url(Export::Teachers, Some(t("2024-01-23T10:15:00+07:00"))),
        "http://emis.example/emis/export/teachers.csv?updated_since=2024-01-23T03%3A15%3A00Z"
    );
    assert!(
        crate::MoeysAdapter::new("emis.example", adapter_core::ClientConfig::default()).is_err()
    );
}

#[test]
fn a_nul_in_any_cell_rejects_the_row_naming_the_column_and_keeping_its_place() {
    let body = format!("{SCHOOLS_HEADER}\r\n9,ក,Sch\0ool,primary,010201,,,,,\r\n");
    let r = rejected(&schools(&body)[0]).clone();
    assert_eq!(r.problems[0].what, "school_name_en");
    assert_eq!(r.problems[0].reason, schema::NUL_RULE);
    assert_eq!(
        r.place.as_ref().map(ToString::to_string).as_deref(),
        Some("010201")
    );
    assert_eq!(r.source_id.as_deref(), Some("9"));
    // A column the adapter does not read is no exception; a teacher's row names no place.
    let body = format!("{TEACHERS_HEADER}\r\nT1,,,ក,,,,1,,contr\0act,\r\n");
    let r = rejected(&teachers(&body)[0]).clone();
    assert_eq!(r.problems[0].what, "employment_type");
    assert_eq!(r.place, None);
    // A NUL in a column name the contract does not know is in every row's raw record.
    let body = format!("{SCHOOLS_HEADER},no\0te\r\n9,ក,,primary,010201,,,,,,x\r\n");
    let r = rejected(&schools(&body)[0]).clone();
    assert_eq!(r.problems[0].reason, schema::NUL_RULE, "{}", r.reason());
    assert!(!r.problems[0].what.contains('\0'));
}

#[test]
fn a_rejected_school_is_placed_where_its_commune_code_says_and_no_value_is_in_the_reason() {
    let body = format!("{SCHOOLS_HEADER}\r\n9,ក,,college,1201,,,,,\r\n");
    let r = rejected(&schools(&body)[0]).clone();
    assert_eq!(
        r.place.as_ref().map(ToString::to_string).as_deref(),
        Some("1201")
    );
    assert!(!r.reason().contains("college"), "{}", r.reason());
    assert!(r.reason_quoting_values().contains("\"college\""));
}
