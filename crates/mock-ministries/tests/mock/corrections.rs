//! The ministries' staff applying correction requests: the chosen share changes
//! exactly its records (in each ministry's own wire format), an incremental pull finds
//! them, what cannot be applied is refused with a reason, and the truth records it.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::harness::{Mock, column, parse_csv, start};

async fn apply(mock: &Mock, corrections: &[Value], share: f64, seed: u64) -> Value {
    let response = mock
        .client
        .post(mock.url("/_control/corrections"))
        .json(&json!({ "corrections": corrections, "share": share, "seed": seed }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON")
}

fn ids(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|i| i.as_str().expect("id").to_owned())
        .collect()
}

fn ascii_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '០'..='៩' => char::from(b'0' + (c as u32 - '០' as u32) as u8),
            c => c,
        })
        .collect()
}

fn gateway_field(truth_field: &str) -> &str {
    if truth_field == "name" {
        "name_km"
    } else {
        truth_field
    }
}

#[tokio::test]
async fn applied_corrections_change_exactly_their_records_and_the_truth_says_which() {
    let mock = start(29).await;
    let truth = mock.server.truth().clone();
    let conflict = |source: &str| {
        truth
            .facts
            .attribute_conflict
            .iter()
            .find(|c| c.source.as_str() == source)
            .unwrap_or_else(|| panic!("a planted {source} attribute conflict"))
            .clone()
    };
    let (moh, moeys) = (conflict("moh"), conflict("moeys"));
    let moved = truth.facts.assignment_conflict[0].clone();
    let request = |id: &str, ministry: &str, record: &str, field: &str, supported: Value| json!({"id": id, "ministry": ministry, "record_id": record, "field": field, "supported": supported});
    let corrections = vec![
        request(
            "c-moh",
            "moh",
            &moh.record_id,
            gateway_field(&moh.field),
            json!(moh.mcs_value),
        ),
        request(
            "c-moeys",
            "moeys",
            &moeys.record_id,
            gateway_field(&moeys.field),
            json!(moeys.mcs_value),
        ),
        request(
            "c-mcs",
            "mcs",
            &moved.officer_id,
            "facility",
            json!({"code": moved.other_facility_code, "name_km": "x"}),
        ),
        request("c-unknown", "moh", "pr-0", "sex", json!("male")),
        request("c-field", "moeys", &moeys.record_id, "position", json!("x")),
        request("c-mef", "mef", &moved.officer_id, "sex", json!("male")),
        request(
            "c-value",
            "moh",
            &moh.record_id,
            "birth_date",
            json!("1 March"),
        ),
    ];

    // Nothing is applied at a share of 0; what cannot be applied says why.
    let none = apply(&mock, &corrections, 0.0, 7).await;
    assert_eq!(ids(&none["applied"]), BTreeSet::new());
    assert_eq!(
        ids(&none["skipped"]),
        ["c-mcs", "c-moeys", "c-moh"]
            .map(str::to_owned)
            .into_iter()
            .collect()
    );
    let reasons: Vec<(String, String)> = none["refused"]
        .as_array()
        .expect("refused")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().expect("id").into(),
                r["reason"].as_str().expect("reason").into(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("c-field", "unsupported_field"),
            ("c-mef", "unsupported_field"),
            ("c-unknown", "unknown_record"),
            ("c-value", "unreadable_value"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert!(
        mock.json("/_control/truth")
            .await
            .get("corrections_applied")
            .is_none()
    );

    let all = apply(&mock, &corrections, 1.0, 7).await;
    let applied = ids(&all["applied"]);
    assert_eq!(applied.len(), 3, "{all}");
    let before = all["before"].as_str().expect("before").replace('+', "%2B");
    let at = all["at"].as_str().expect("at");

    // MoH: exactly the practitioner, holding the roll's value.
    let changed = mock
        .fhir("Practitioner", &format!("&_lastUpdated=gt{before}"))
        .await;
    assert_eq!(changed.len(), 1, "{changed:?}");
    let p = &changed[0];
    assert_eq!(p["id"], moh.record_id.as_str());
    match moh.field.as_str() {
        "sex" => assert_eq!(p["gender"], moh.mcs_value.as_str()),
        "birth_date" => assert_eq!(p["birthDate"], moh.mcs_value.as_str()),
        _ => assert_eq!(p["name"][0]["text"], moh.mcs_value.as_str()),
    }

    // MoEYS: exactly the teacher row, in EMIS's own forms.
    let (header, rows) = parse_csv(
        &mock
            .text(&format!("/emis/export/teachers.csv?updated_since={at}"))
            .await,
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row[column(&header, "teacher_id")], moeys.record_id);
    match moeys.field.as_str() {
        "sex" => {
            let written = &row[column(&header, "sex")];
            let expected: &[&str] = if moeys.mcs_value == "male" {
                &["M", "ប្រុស"]
            } else {
                &["F", "ស្រី"]
            };
            assert!(expected.contains(&written.as_str()), "{written}");
        }
        "birth_date" => {
            let iso =
                chrono::NaiveDate::parse_from_str(&moeys.mcs_value, "%Y-%m-%d").expect("date");
            assert_eq!(
                ascii_digits(&row[column(&header, "dob")]),
                iso.format("%d/%m/%Y").to_string()
            );
        }
        _ => assert_eq!(row[column(&header, "name_kh")], moeys.mcs_value),
    }

    // MCS: the officer now posted where the sector ministry sees them.
    let officers = mock
        .mcs_officers(&format!("&modified_since={}", at.replace('+', "%2B")))
        .await;
    assert_eq!(officers.len(), 1, "{officers:?}");
    assert_eq!(officers[0]["officer_id"], moved.officer_id.as_str());
    assert_eq!(
        officers[0]["work_unit"]["facility_code"],
        moved.other_facility_code.as_str()
    );

    // The truth says what was applied, over HTTP and in Rust.
    let truth_now = mock.json("/_control/truth").await;
    let recorded: BTreeSet<String> = truth_now["corrections_applied"]
        .as_array()
        .expect("corrections_applied")
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(recorded, applied);
    assert_eq!(mock.server.truth_now().corrections_applied.len(), 3);
    assert!(mock.server.truth().corrections_applied.is_empty());
}

#[tokio::test]
async fn the_share_applied_is_chosen_by_the_seed_whatever_the_order() {
    let (a, b) = (start(31).await, start(31).await);
    let truth = a.server.truth().clone();
    let corrections: Vec<Value> = truth
        .facts
        .attribute_conflict
        .iter()
        .filter(|c| c.source.as_str() == "moeys")
        .enumerate()
        .map(|(i, c)| {
            json!({"id": format!("c-{i:03}"), "ministry": "moeys", "record_id": c.record_id,
                   "field": gateway_field(&c.field), "supported": c.mcs_value})
        })
        .collect();
    assert!(corrections.len() >= 4, "{}", corrections.len());
    let mut reversed = corrections.clone();
    reversed.reverse();
    let first = apply(&a, &corrections, 0.5, 3).await;
    let second = apply(&b, &reversed, 0.5, 3).await;
    assert_eq!(first["applied"], second["applied"]);
    assert_eq!(ids(&first["applied"]).len(), corrections.len().div_ceil(2));
    assert_eq!(
        ids(&first["applied"]).len() + ids(&first["skipped"]).len(),
        corrections.len()
    );
    let other = apply(&b, &corrections, 0.5, 4).await;
    assert_eq!(other["refused"], json!([]));
}
