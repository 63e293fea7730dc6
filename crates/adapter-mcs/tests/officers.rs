//! The civil-servant roll's records, in every form the HRMIS writes them.

use adapter_mcs::officer_from_item;
use serde_json::{Value, json};

fn officer(overrides: Value) -> Value {
    let mut o = json!({
        "officer_id": "1000123456", "national_id": "010203040", "name_kh": "សុខ ចាន់ថា",
        "name_latin": "Sok Chantha", "gender": "F", "date_of_birth": "1985-03-07", "ministry": "MOH",
        "work_unit": {"code": "WU-01", "name_kh": "មណ្ឌលសុខភាពបន្ទាយនាង", "facility_code": "HC-010201-01", "admin_code": "010201"},
        "position_kh": "ឆ្មប", "grade": "B2", "status": "active", "modified_at": "2024-01-23T10:00:00+07:00"
    });
    for (k, v) in overrides.as_object().expect("object") {
        o[k] = v.clone();
    }
    o
}

#[test]
fn every_valid_form_normalises() {
    // (overrides, field to check, expected rendering)
    let cases: &[(Value, &str, &str)] = &[
        (json!({}), "sex", "Some(Female)"),
        (json!({"gender": "M"}), "sex", "Some(Male)"),
        (json!({"gender": "ប្រុស"}), "sex", "Some(Male)"),
        (json!({"gender": "ស្រី"}), "sex", "Some(Female)"),
        (json!({"gender": null}), "sex", "None"),
        (
            json!({"date_of_birth": "07/03/1985"}),
            "birth",
            "1985-03-07",
        ),
        (
            json!({"date_of_birth": "០៧-០៣-១៩៨៥"}),
            "birth",
            "1985-03-07",
        ),
        (
            json!({"date_of_birth": "ថ្ងៃទី២៣ ខែមករា ឆ្នាំ១៩៨៤"}),
            "birth",
            "1984-01-23",
        ),
        (json!({"date_of_birth": ""}), "birth", "none"),
        (json!({"officer_id": "១០០០១២៣៤៥៦"}), "id", "1000123456"),
        (json!({"officer_id": 1000123456}), "id", "1000123456"),
        (
            json!({"name_kh": "សុខ\u{200B}ចាន់ថា"}),
            "name",
            "សុខ\u{200B}ចាន់ថា",
        ),
        (json!({"status": "retired"}), "status", "Some(Retired)"),
        (json!({"work_unit": null}), "posting", "none"),
        (
            json!({"work_unit": {"code": "X", "name_kh": "ក្រសួង", "facility_code": null, "admin_code": "12"}}),
            "posting",
            "None 12",
        ),
        (json!({}), "posting", "Some(\"HC-010201-01\") 010201"),
        (
            json!({"modified_at": "2024-01-23T10:00:00+07:00"}),
            "updated",
            "2024-01-23T03:00:00+00:00",
        ),
    ];
    for (overrides, field, expected) in cases {
        let raw = officer(overrides.clone());
        let r = officer_from_item(&raw).unwrap_or_else(|e| panic!("{overrides}: {e}"));
        let got = match *field {
            "sex" => format!("{:?}", r.sex),
            "birth" => r.birth_date.map_or("none".to_owned(), |d| d.to_string()),
            "id" => r
                .civil_servant_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            "name" => r
                .name_km
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            "status" => format!("{:?}", r.status),
            "posting" => r.posting.as_ref().map_or("none".to_owned(), |p| {
                format!(
                    "{:?} {}",
                    p.facility.as_ref().map(|f| f.value.clone()),
                    p.admin_unit_code
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )
            }),
            "updated" => r.updated_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            _ => unreachable!(),
        };
        assert_eq!(got, *expected, "{overrides}");
        assert_eq!(
            r.source_id,
            r.civil_servant_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        assert_eq!(r.identifiers[0].system, "mcs:officer_id");
    }
}

#[test]
fn every_invalid_form_is_rejected_naming_the_field() {
    let cases: &[(Value, &str)] = &[
        (json!({"officer_id": null}), "officer_id"),
        (json!({"officer_id": "12AB"}), "officer_id"),
        (json!({"name_kh": ""}), "name_kh"),
        (json!({"name_kh": null}), "name_kh"),
        (json!({"gender": "X"}), "gender"),
        (json!({"date_of_birth": "31/02/1985"}), "date_of_birth"),
        (json!({"date_of_birth": "yesterday"}), "date_of_birth"),
        (json!({"national_id": "12"}), "national_id"),
        (json!({"ministry": "M"}), "ministry"),
        (json!({"status": "on holiday"}), "status"),
        (
            json!({"work_unit": {"admin_code": "99"}}),
            "work_unit.admin_code",
        ),
        (json!({"modified_at": "Tuesday"}), "modified_at"),
    ];
    for (overrides, field) in cases {
        let e = officer_from_item(&officer(overrides.clone()))
            .expect_err(&format!("{overrides} must be rejected"));
        assert_eq!(e.what, *field, "{overrides}: {e}");
    }
}

#[test]
fn a_personal_value_is_never_in_the_reason_only_beside_it() {
    for (overrides, value) in [
        (json!({"national_id": "1234567890123"}), "1234567890123"),
        (json!({"date_of_birth": "31/02/1985"}), "31/02/1985"),
    ] {
        let e = officer_from_item(&officer(overrides.clone())).expect_err("rejected");
        assert!(!e.to_string().contains(value), "{e}");
        assert!(!e.reason.contains(value), "{e}");
        assert_eq!(e.value.as_deref(), Some(value));
    }
}
