//! Table-driven tests of every parser in the shared schema, valid and invalid input.
#![allow(clippy::unwrap_used)] // a failed parse in a test should panic with its message

use schema::{
    AdminCode, AdminKind, AdminLevel, AdminUnit, CivilServantId, Date, FacilityKind,
    FacilityStatus, ManagedBy, Name, NationalId, Sector, Sex, text,
};

/// Runs `parse` on every input and compares with the expected rendering, or expects
/// an error whose message contains the given fragment.
fn check<T, E: std::fmt::Display>(
    parse: impl Fn(&str) -> Result<T, E>,
    render: impl Fn(&T) -> String,
    cases: &[(&str, Result<&str, &str>)],
) {
    for (input, expected) in cases {
        match (parse(input), expected) {
            (Ok(v), Ok(want)) => assert_eq!(render(&v), *want, "input {input:?}"),
            (Err(e), Err(fragment)) => assert!(
                e.to_string().contains(fragment),
                "input {input:?}: error {e:?} should mention {fragment:?}",
                e = e.to_string()
            ),
            (Ok(v), Err(_)) => panic!("input {input:?} should fail, got {:?}", render(&v)),
            (Err(e), Ok(_)) => panic!("input {input:?} should parse, got error {e}"),
        }
    }
}

#[test]
fn dates_in_every_form_ministries_write() {
    check(
        Date::parse,
        ToString::to_string,
        &[
            ("1985-03-07", Ok("1985-03-07")),
            ("07/03/1985", Ok("1985-03-07")),
            ("7/3/1985", Ok("1985-03-07")),
            ("07-03-1985", Ok("1985-03-07")),
            ("០៧-០៣-១៩៨៥", Ok("1985-03-07")),
            ("០៧/០៣/១៩៨៥", Ok("1985-03-07")),
            ("១៩៨៥-០៣-០៧", Ok("1985-03-07")),
            (" 1985-03-07 ", Ok("1985-03-07")),
            ("ថ្ងៃទី២៣ ខែមករា ឆ្នាំ២០២៤", Ok("2024-01-23")),
            ("ថ្ងៃទី 1 ខែកុម្ភៈ ឆ្នាំ 1990", Ok("1990-02-01")),
            ("ថ្ងៃទី១៥ ខែមីនា ឆ្នាំ២០០០", Ok("2000-03-15")),
            ("ថ្ងៃទី៣០ ខែមេសា ឆ្នាំ១៩៧៩", Ok("1979-04-30")),
            ("ថ្ងៃទី៩ ខែឧសភា ឆ្នាំ២០១០", Ok("2010-05-09")),
            ("ថ្ងៃទី៦ ខែមិថុនា ឆ្នាំ២០១២", Ok("2012-06-06")),
            ("ថ្ងៃទី៣១ ខែកក្កដា ឆ្នាំ១៩៩៩", Ok("1999-07-31")),
            ("ថ្ងៃទី១ ខែសីហា ឆ្នាំ១៩៦៥", Ok("1965-08-01")),
            ("ថ្ងៃទី២ ខែកញ្ញា ឆ្នាំ២០២០", Ok("2020-09-02")),
            ("ថ្ងៃទី១០ ខែតុលា ឆ្នាំ២០២១", Ok("2021-10-10")),
            ("ថ្ងៃទី១១ ខែវិច្ឆិកា ឆ្នាំ២០២២", Ok("2022-11-11")),
            ("ថ្ងៃទី២៥ ខែធ្នូ ឆ្នាំ២០២៣", Ok("2023-12-25")),
            // Zero-width spaces between the words, as Khmer keyboards insert them.
            ("ថ្ងៃទី២៣\u{200B}ខែមករា\u{200B}ឆ្នាំ២០២៤", Ok("2024-01-23")),
            ("29/02/2024", Ok("2024-02-29")),
            // Plain ISO dates take a shorter road; it must agree with the long one.
            ("2024-02-29", Ok("2024-02-29")),
            ("2100-12-31", Ok("2100-12-31")),
            ("2023-02-29", Err("a day its month does not have")),
            ("2024-13-01", Err("a month that does not exist")),
            ("1899-12-31", Err("outside 1900-2100")),
            ("2101-01-01", Err("outside 1900-2100")),
            ("", Err("empty")),
            ("   ", Err("empty")),
            ("yesterday", Err("not a date")),
            ("1985/13/01", Err("a month that does not exist")),
            ("31/02/1985", Err("a day its month does not have")),
            ("29/02/2023", Err("a day its month does not have")),
            ("07/03/85", Err("four-digit year")),
            ("1985-03", Err("not a date")),
            ("07/03/1785", Err("outside 1900-2100")),
            ("ថ្ងៃទី២៣ ខែមករ ឆ្នាំ២០២៤", Err("unknown Khmer month")),
            ("ថ្ងៃទី២៣ ខែមករា", Err("no year")),
            ("ខែមករា ឆ្នាំ២០២៤", Err("no day")),
            ("07/0x/1985", Err("not a date")),
        ],
    );
}

#[test]
fn gazetteer_codes() {
    check(
        AdminCode::parse,
        |c| format!("{c} {}", c.level().as_str()),
        &[
            ("01", Ok("01 province")),
            ("12", Ok("12 province")),
            ("25", Ok("25 province")),
            ("0102", Ok("0102 district")),
            ("010201", Ok("010201 commune")),
            ("01020101", Ok("01020101 village")),
            ("០១០២០១", Ok("010201 commune")),
            (" 120101 ", Ok("120101 commune")),
            ("", Err("empty")),
            ("1", Err("has 1 digits")),
            ("010", Err("has 3 digits")),
            ("0102010101", Err("has 10 digits")),
            ("26", Err("a province that does not exist")),
            ("00", Err("a province that does not exist")),
            ("01A2", Err("only digits")),
            ("0100", Err("ends in 00")),
        ],
    );
}

#[test]
fn a_child_code_extends_its_parent() {
    let district = AdminCode::parse("0102").unwrap();
    assert!(AdminCode::parse_child_of("010201", &district).is_ok());
    let err = AdminCode::parse_child_of("010301", &district).unwrap_err();
    assert_eq!(err.what, "parent_code");
    let err = AdminCode::parse_child_of("01020101", &district).unwrap_err();
    assert!(err.reason.contains("not the parent"), "{err}");
    let commune = AdminCode::parse("010201").unwrap();
    assert_eq!(commune.parent(), Some(district.clone()));
    assert!(district.contains(&commune));
    assert!(!commune.contains(&district));
    assert_eq!(AdminCode::parse("01").unwrap().parent(), None);
}

#[test]
fn admin_units_check_kind_and_parent() {
    let name = Name::parse("បាត់ដំបង").unwrap();
    let code = AdminCode::parse("0201").unwrap();
    let parent = AdminCode::parse("02").unwrap();
    assert!(
        AdminUnit::new(
            code.clone(),
            AdminKind::District,
            name.clone(),
            None,
            Some(parent.clone())
        )
        .is_ok()
    );
    let wrong_kind = AdminUnit::new(
        code.clone(),
        AdminKind::Commune,
        name.clone(),
        None,
        Some(parent),
    )
    .unwrap_err();
    assert_eq!(wrong_kind.what, "kind");
    let wrong_parent = AdminUnit::new(
        code,
        AdminKind::District,
        name,
        None,
        Some(AdminCode::parse("03").unwrap()),
    )
    .unwrap_err();
    assert_eq!(wrong_parent.what, "parent_code");
}

#[test]
fn khmer_unit_types() {
    check(
        AdminKind::parse_khmer,
        |k| format!("{k} {}", k.level().as_str()),
        &[
            ("រាជធានី", Ok("capital province")),
            ("ខេត្ត", Ok("province province")),
            ("ក្រុង", Ok("municipality district")),
            ("ស្រុក", Ok("district district")),
            ("ខណ្ឌ", Ok("khan district")),
            ("ឃុំ", Ok("commune commune")),
            ("សង្កាត់", Ok("sangkat commune")),
            ("ភូមិ", Ok("village village")),
            ("ភូមិ\u{200B}", Ok("village village")),
            ("village", Err("type_km")),
        ],
    );
}

#[test]
fn civil_servant_and_national_ids() {
    check(
        CivilServantId::parse,
        ToString::to_string,
        &[
            ("1000123456", Ok("1000123456")),
            ("១០០០១២៣៤៥៦", Ok("1000123456")),
            ("100-012-3456", Ok("1000123456")),
            ("", Err("empty")),
            ("12345", Err("has 5 digits")),
            ("ABC123456", Err("only digits")),
        ],
    );
    check(
        NationalId::parse,
        ToString::to_string,
        &[
            ("010203040", Ok("010203040")),
            ("០១០២០៣០៤០", Ok("010203040")),
            ("0102030", Err("has 7 digits")),
            ("01020304X", Err("only digits")),
        ],
    );
}

#[test]
fn sex_in_latin_and_khmer() {
    check(
        Sex::parse,
        ToString::to_string,
        &[
            ("M", Ok("male")),
            ("f", Ok("female")),
            ("Female", Ok("female")),
            ("ប្រុស", Ok("male")),
            ("ស្រី", Ok("female")),
            ("ស្រី\u{200B}", Ok("female")),
            ("", Err("empty")),
            ("X", Err("not M, F")),
        ],
    );
}

#[test]
fn facility_kinds_and_statuses() {
    check(
        FacilityKind::parse,
        |k| format!("{k} {}", k.sector()),
        &[
            ("health_centre", Ok("health_centre health")),
            ("Referral_Hospital", Ok("referral_hospital health")),
            ("primary_school", Ok("primary_school education")),
            (
                "lower_secondary_school",
                Ok("lower_secondary_school education"),
            ),
            ("clinic", Err("is not one of")),
        ],
    );
    check(
        FacilityStatus::parse,
        ToString::to_string,
        &[
            ("open", Ok("open")),
            ("CLOSED", Ok("closed")),
            ("maybe", Err("not open or closed")),
        ],
    );
    assert_eq!(Sector::parse("education").unwrap(), Sector::Education);
    assert_eq!(AdminLevel::parse("Commune").unwrap(), AdminLevel::Commune);
    assert!(AdminLevel::parse("country").is_err());
}

#[test]
fn managed_by_a_ministry_or_an_administration() {
    check(
        ManagedBy::parse,
        |m| match m {
            ManagedBy::Ministry(c) => format!("ministry {c}"),
            ManagedBy::Administration(c) => format!("administration {c}"),
        },
        &[
            ("MOH", Ok("ministry MOH")),
            ("moeys", Ok("ministry MOEYS")),
            ("0102", Ok("administration 0102")),
            ("០១០២", Ok("administration 0102")),
            ("01020101", Err("village")),
            ("0199x", Err("only digits")),
            ("M", Err("not a ministry code")),
        ],
    );
}

#[test]
fn names_are_nfc_and_never_empty() {
    // "កើ" written decomposed (KA + E + vowel sign) and the NFC forms must agree.
    let decomposed = "\u{1780}\u{17be}";
    let name = Name::parse(&format!("  {decomposed}   ស៊ុន  ")).unwrap();
    assert_eq!(name.as_str(), "\u{1780}\u{17be} ស៊ុន");
    assert!(Name::parse("").is_err());
    assert!(
        Name::parse("\u{200B}\u{200B}").is_err(),
        "zero-width spaces only is an empty name"
    );
    assert!(Name::parse(&"ក".repeat(201)).is_err());
}

#[test]
fn match_keys_ignore_zero_width_spaces_case_and_digit_script() {
    assert_eq!(
        text::match_key("សុខ\u{200B}ចាន់ថា"),
        text::match_key("សុខចាន់ថា")
    );
    assert_eq!(text::match_key("Sok  CHANTHA"), "sok chantha");
    assert_eq!(text::match_key("ភូមិ ១២"), "ភូមិ 12");
    assert_eq!(text::khmer_digits_to_ascii("០១២៣៤៥៦៧៨៩"), "0123456789");
    // normalize keeps zero-width spaces (they are the source's spelling) but composes.
    assert_eq!(text::normalize("a\u{200B}b"), "a\u{200B}b");
}

#[test]
fn newtypes_deserialize_through_parse() {
    let code: AdminCode = serde_json::from_str("\"០១០២\"").unwrap();
    assert_eq!(code.as_str(), "0102");
    assert!(serde_json::from_str::<AdminCode>("\"0\"").is_err());
    let date: Date = serde_json::from_str("\"07/03/1985\"").unwrap();
    assert_eq!(serde_json::to_string(&date).unwrap(), "\"1985-03-07\"");
}

#[test]
fn no_parser_takes_a_nul_and_each_says_so() {
    use schema::{MinistryCode, NUL_RULE, ParseError, Period, SourceIdentifier, StaffStatus};
    type Parser = Box<dyn Fn(&str) -> Result<(), ParseError>>;
    let parsers: Vec<(&str, Parser)> = vec![
        ("admin code", Box::new(|s| AdminCode::parse(s).map(drop))),
        ("level", Box::new(|s| AdminLevel::parse(s).map(drop))),
        ("managed_by", Box::new(|s| ManagedBy::parse(s).map(drop))),
        ("date", Box::new(|s| Date::parse(s).map(drop))),
        (
            "civil_servant_id",
            Box::new(|s| CivilServantId::parse(s).map(drop)),
        ),
        ("national_id", Box::new(|s| NationalId::parse(s).map(drop))),
        ("ministry", Box::new(|s| MinistryCode::parse(s).map(drop))),
        ("name", Box::new(|s| Name::parse(s).map(drop))),
        ("status", Box::new(|s| StaffStatus::parse(s).map(drop))),
        ("status", Box::new(|s| FacilityStatus::parse(s).map(drop))),
        ("sex", Box::new(|s| Sex::parse(s).map(drop))),
        ("kind", Box::new(|s| FacilityKind::parse(s).map(drop))),
        ("type_km", Box::new(|s| AdminKind::parse_khmer(s).map(drop))),
        ("period", Box::new(|s| Period::parse(s).map(drop))),
        (
            "identifier",
            Box::new(|s| SourceIdentifier::parse("moh:code", s).map(drop)),
        ),
    ];
    // Each input would read without its NUL (or fail for another reason): the NUL
    // must be what is named.
    for input in ["0102\0", "\0", "សុខ\0ដារ៉ា", "1985-03-0\0"] {
        for (what, parse) in &parsers {
            let e = parse(input).expect_err("a NUL is refused");
            assert_eq!(
                (e.what.as_str(), e.reason.as_str()),
                (*what, NUL_RULE),
                "{input:?}"
            );
            assert_eq!(e.value.as_deref(), Some(input));
        }
    }
}

#[test]
fn an_error_names_the_rule_and_keeps_the_value_apart() {
    for (e, value) in [
        (
            NationalId::parse("1234567890123").unwrap_err(),
            "1234567890123",
        ),
        (Date::parse("31/02/1985").unwrap_err(), "31/02/1985"),
        (Date::parse("07/03/1785").unwrap_err(), "07/03/1785"),
        (
            Date::parse("ថ្ងៃទី២៣ ខែមករ ឆ្នាំ១៩៨៥").unwrap_err(),
            "ថ្ងៃទី២៣ ខែមករ ឆ្នាំ១៩៨៥",
        ),
        (CivilServantId::parse("12AB").unwrap_err(), "12AB"),
        (AdminCode::parse("2699").unwrap_err(), "2699"),
    ] {
        let shown = e.to_string();
        for piece in [
            "1234567890",
            "1985",
            "1785",
            "31/02",
            "12AB",
            "2699",
            "១៩៨៥",
        ] {
            assert!(!shown.contains(piece), "{shown:?} quotes the value");
        }
        assert_eq!(e.value.as_deref(), Some(value), "{shown}");
        assert!(e.quoting_value().contains(value));
    }
}
