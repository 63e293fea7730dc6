//! Gazetteer units: Khmer types to kinds, parents checked against codes.

use adapter_moi::unit_from_item;
use chrono::Utc;
use serde_json::{Value, json};

fn unit(code: &str, type_km: &str, parent: Option<&str>) -> Value {
    json!({"code": code, "type_km": type_km, "name_km": "បាត់ដំបង", "name_en": "Battambang",
           "parent_code": parent, "updated_at": "2024-01-23T00:00:00Z"})
}

#[test]
fn units_at_every_level_normalise() {
    let cases = [
        (unit("02", "ខេត្ត", None), "province province"),
        (unit("12", "រាជធានី", None), "capital province"),
        (unit("0201", "ស្រុក", Some("02")), "district district"),
        (unit("0203", "ក្រុង", Some("02")), "municipality district"),
        (unit("1201", "ខណ្ឌ", Some("12")), "khan district"),
        (unit("020101", "ឃុំ", Some("0201")), "commune commune"),
        (unit("120101", "សង្កាត់", Some("1201")), "sangkat commune"),
        (unit("02010101", "ភូមិ", Some("020101")), "village village"),
        (unit("០២០១", "ស្រុក", Some("០២")), "district district"),
    ];
    for (raw, expected) in cases {
        let (u, updated) =
            unit_from_item(&raw, Utc::now()).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(
            format!("{} {}", u.kind, u.level.as_str()),
            expected,
            "{raw}"
        );
        assert_eq!(u.parent_code, u.code.parent());
        assert_eq!(u.sources[0].source_id, u.code.to_string());
        assert!(updated.is_some());
    }
}

#[test]
fn bad_units_are_rejected_naming_the_field() {
    let mut no_name = unit("02", "ខេត្ត", None);
    no_name["name_km"] = json!("");
    let cases = [
        (unit("2", "ខេត្ត", None), "code"),
        (unit("99", "ខេត្ត", None), "code"),
        (unit("0201", "province", Some("02")), "type_km"),
        (unit("0201", "ឃុំ", Some("02")), "kind"),
        (unit("020101", "ឃុំ", Some("0202")), "parent_code"),
        (unit("020101", "ឃុំ", None), "parent_code"),
        (unit("020101", "ឃុំ", Some("x")), "parent_code"),
        (no_name, "name_km"),
    ];
    for (raw, field) in cases {
        let e = unit_from_item(&raw, Utc::now()).expect_err(&format!("{raw} must be rejected"));
        assert_eq!(e.what, field, "{raw}: {e}");
    }
}
