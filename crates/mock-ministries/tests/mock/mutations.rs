//! A mutation changes exactly the records it reports, and an incremental pull from
//! its time returns exactly them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};
use serde_json::{Value, json};

use crate::harness::{Mock, parse_csv, start};

async fn mutate(mock: &Mock, ministry: &str, share: f64) -> Value {
    let response = mock
        .client
        .post(mock.url("/_control/mutate"))
        .json(&json!({ "ministry": ministry, "share": share }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON")
}

fn changed(m: &Value, kind: &str) -> BTreeSet<String> {
    m["changed"][kind]
        .as_array()
        .unwrap_or_else(|| panic!("changed.{kind}"))
        .iter()
        .map(|v| v.as_str().expect("id").to_owned())
        .collect()
}

fn ids(records: &[Value], key: &str) -> BTreeSet<String> {
    records
        .iter()
        .map(|r| r[key].as_str().expect("id").to_owned())
        .collect()
}

fn encode(time: &str) -> String {
    time.replace('+', "%2B")
}

/// DHIS2's form of a time: Cambodian local time without a zone.
fn dhis2_local(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("RFC 3339")
        .with_timezone(&FixedOffset::east_opt(7 * 3600).expect("offset"))
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string()
}

#[tokio::test]
async fn incremental_pulls_return_exactly_the_changed_records() {
    let mock = start(41).await;
    let truth_before = mock.json("/_control/truth").await;

    let before = mock.mcs_officers("").await;
    let m = mutate(&mock, "mcs", 0.01).await;
    let expected = changed(&m, "mcs_officers");
    assert!(!expected.is_empty() && expected.len() <= before.len() / 50);
    let at = m["at"].as_str().expect("at");
    let pulled = mock
        .mcs_officers(&format!("&modified_since={}", encode(at)))
        .await;
    assert_eq!(ids(&pulled, "officer_id"), expected);
    let old: BTreeMap<&str, &Value> = before
        .iter()
        .map(|o| (o["officer_id"].as_str().expect("id"), o))
        .collect();
    for o in &pulled {
        let was = old[o["officer_id"].as_str().expect("id")];
        assert_ne!(was["grade"], o["grade"], "the grade changed");
        assert_eq!(was["name_kh"], o["name_kh"]);
    }

    let m = mutate(&mock, "moi", 0.002).await;
    let pulled = mock
        .moi_units(&format!(
            "&updated_since={}",
            encode(m["at"].as_str().expect("at"))
        ))
        .await;
    assert_eq!(ids(&pulled, "code"), changed(&m, "moi_units"));
    assert!(!pulled.is_empty());

    let m = mutate(&mock, "moh", 0.05).await;
    let before_time = m["before"].as_str().expect("before");
    let pulled = mock
        .dhis2_units(&format!(
            "&filter=lastUpdated:gt:{}",
            dhis2_local(before_time)
        ))
        .await;
    assert_eq!(ids(&pulled, "id"), changed(&m, "moh_org_units"));
    let gt = format!("&_lastUpdated=gt{}", encode(before_time));
    let pulled = mock.fhir("Practitioner", &gt).await;
    assert_eq!(ids(&pulled, "id"), changed(&m, "moh_practitioners"));
    let pulled = mock.fhir("PractitionerRole", &gt).await;
    assert_eq!(ids(&pulled, "id"), changed(&m, "moh_practitioner_roles"));

    let m = mutate(&mock, "moeys", 0.02).await;
    let since = encode(m["at"].as_str().expect("at"));
    for (export, kind) in [("schools", "moeys_schools"), ("teachers", "moeys_teachers")] {
        let text = mock
            .text(&format!("/emis/export/{export}.csv?updated_since={since}"))
            .await;
        let (_, rows) = parse_csv(&text);
        let got: BTreeSet<String> = rows.iter().map(|r| r[0].clone()).collect();
        assert_eq!(got, changed(&m, kind), "{export}");
    }

    let payroll_before = mock.payroll("2025-12").await;
    let m = mutate(&mock, "mef", 0.01).await;
    let payroll_after = mock.payroll("2025-12").await;
    let differing: BTreeSet<String> = payroll_before
        .iter()
        .zip(&payroll_after)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a["officer_id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(differing, changed(&m, "mef_payroll"));

    // A later mutation is strictly later.
    let m2 = mutate(&mock, "mcs", 0.001).await;
    assert!(m2["at"].as_str() > m["at"].as_str());
    assert_eq!(m2["before"], m["at"]);
    // The truth does not move.
    assert_eq!(mock.json("/_control/truth").await, truth_before);
    mock.server.stop().await;
}
