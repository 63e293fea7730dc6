//! Incremental filters: MoI, MCS and EMIS keep records updated at or after the
//! time (>=); DHIS2 and FHIR `gt` keep those strictly after it.

use chrono::DateTime;

use crate::harness::{column, parse_csv, start};

fn encode(time: &str) -> String {
    time.replace('+', "%2B")
}

fn millis(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("RFC 3339")
        .timestamp_millis()
}

#[tokio::test]
async fn since_filters_keep_records_at_or_after() {
    let mock = start(31).await;

    let units = mock.moi_units("").await;
    let t = units[units.len() / 2]["updated_at"]
        .as_str()
        .expect("time")
        .to_owned();
    let expected: Vec<&str> = units
        .iter()
        .filter(|u| millis(u["updated_at"].as_str().expect("time")) >= millis(&t))
        .map(|u| u["code"].as_str().expect("code"))
        .collect();
    let got = mock
        .moi_units(&format!("&updated_since={}", encode(&t)))
        .await;
    let got: Vec<&str> = got
        .iter()
        .map(|u| u["code"].as_str().expect("code"))
        .collect();
    assert_eq!(got, expected);
    assert!(got.len() < units.len() && !got.is_empty());

    let officers = mock.mcs_officers("").await;
    let t = officers[officers.len() / 3]["modified_at"]
        .as_str()
        .expect("time")
        .to_owned();
    assert!(t.ends_with("+07:00"));
    let expected: Vec<&str> = officers
        .iter()
        .filter(|o| millis(o["modified_at"].as_str().expect("time")) >= millis(&t))
        .map(|o| o["officer_id"].as_str().expect("id"))
        .collect();
    let got = mock
        .mcs_officers(&format!("&modified_since={}", encode(&t)))
        .await;
    let got: Vec<&str> = got
        .iter()
        .map(|o| o["officer_id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, expected);
    assert!(
        got.contains(
            &officers[officers.len() / 3]["officer_id"]
                .as_str()
                .expect("id")
        )
    );

    let text = mock.text("/emis/export/teachers.csv").await;
    let (header, rows) = parse_csv(&text);
    let updated = column(&header, "updated_at");
    let t = rows[rows.len() / 2][updated].clone();
    let expected: Vec<&str> = rows
        .iter()
        .filter(|r| millis(&r[updated]) >= millis(&t))
        .map(|r| r[0].as_str())
        .collect();
    let text = mock
        .text(&format!(
            "/emis/export/teachers.csv?updated_since={}",
            encode(&t)
        ))
        .await;
    let (_, got) = parse_csv(&text);
    let got: Vec<&str> = got.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(got, expected);

    assert_eq!(
        mock.get("/api/officers?modified_since=yesterday")
            .await
            .status(),
        400
    );
    mock.server.stop().await;
}

#[tokio::test]
async fn gt_filters_keep_records_strictly_after() {
    let mock = start(32).await;
    let units = mock.dhis2_units("").await;
    let t = units[units.len() / 2]["lastUpdated"]
        .as_str()
        .expect("time")
        .to_owned();
    let expected: Vec<&str> = units
        .iter()
        .filter(|u| u["lastUpdated"].as_str().expect("time") > t.as_str())
        .map(|u| u["id"].as_str().expect("id"))
        .collect();
    let got = mock
        .dhis2_units(&format!("&filter=lastUpdated:gt:{t}"))
        .await;
    let got: Vec<&str> = got.iter().map(|u| u["id"].as_str().expect("id")).collect();
    assert_eq!(got, expected);
    assert!(!got.contains(&units[units.len() / 2]["id"].as_str().expect("id")));

    let practitioners = mock.fhir("Practitioner", "").await;
    let t = practitioners[10]["meta"]["lastUpdated"]
        .as_str()
        .expect("time")
        .to_owned();
    let expected: Vec<&str> = practitioners
        .iter()
        .filter(|p| millis(p["meta"]["lastUpdated"].as_str().expect("time")) > millis(&t))
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    let got = mock
        .fhir("Practitioner", &format!("&_lastUpdated=gt{}", encode(&t)))
        .await;
    let got: Vec<&str> = got.iter().map(|p| p["id"].as_str().expect("id")).collect();
    assert_eq!(got, expected);
    assert!(!got.contains(&practitioners[10]["id"].as_str().expect("id")));
    mock.server.stop().await;
}
