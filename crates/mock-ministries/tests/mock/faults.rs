//! Every fault kind, set through the control API.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Mock, start};

async fn set(mock: &Mock, body: Value) {
    let response = mock
        .client
        .post(mock.url("/_control/faults"))
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn fail_throttle_and_clear() {
    let mock = start(21).await;
    set(
        &mock,
        json!({ "ministry": "mcs", "fail_next": 2, "throttle_next": 1 }),
    )
    .await;
    let shown = mock.json("/_control/faults").await;
    assert_eq!(shown["mcs"]["fail_next"], 2);
    assert_eq!(shown["moi"]["fail_next"], 0);
    // Another ministry is untouched.
    assert_eq!(
        mock.get("/api/v1/gazetteer/units?per_page=1")
            .await
            .status(),
        200
    );
    assert_eq!(mock.get("/api/officers?size=1").await.status(), 503);
    assert_eq!(mock.get("/api/officers?size=1").await.status(), 503);
    let throttled = mock.get("/api/officers?size=1").await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(
        throttled
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_eq!(mock.get("/api/officers?size=1").await.status(), 200);

    set(&mock, json!({ "ministry": "moeys", "error_rate": 0.5 })).await;
    let mut failed = 0;
    for _ in 0..40 {
        if mock.get("/emis/export/schools.csv").await.status() == 503 {
            failed += 1;
        }
    }
    assert!(
        (8..=32).contains(&failed),
        "{failed} of 40 failed at rate 0.5"
    );
    set(&mock, json!({ "ministry": "mef", "throttle_rate": 1.0 })).await;
    assert_eq!(mock.get("/api/payroll/2025-12").await.status(), 429);

    let cleared = mock
        .client
        .delete(mock.url("/_control/faults"))
        .send()
        .await
        .expect("sent");
    assert_eq!(cleared.status(), 200);
    assert_eq!(mock.get("/api/payroll/2025-12").await.status(), 200);
    assert_eq!(mock.get("/emis/export/schools.csv").await.status(), 200);

    // Bad settings are refused.
    let bad = mock
        .client
        .post(mock.url("/_control/faults"))
        .json(&json!({ "ministry": "nowhere" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(bad.status(), 400);
    mock.server.stop().await;
}

#[tokio::test]
async fn latency_and_hang() {
    let mock = start(22).await;
    set(&mock, json!({ "ministry": "moi", "latency_ms": 300 })).await;
    let started = Instant::now();
    assert_eq!(
        mock.get("/api/v1/gazetteer/units?per_page=1")
            .await
            .status(),
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));

    set(&mock, json!({ "ministry": "moh", "hang_next": 1 })).await;
    let hung = mock
        .client
        .get(mock.url("/fhir/Practitioner?_count=1"))
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(hung.is_err_and(|e| e.is_timeout()), "the request hangs");
    assert_eq!(mock.get("/fhir/Practitioner?_count=1").await.status(), 200);
    // Stopping releases the hanging request.
    let started = Instant::now();
    mock.server.stop().await;
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn truncated_bodies_break() {
    let mock = start(23).await;
    set(&mock, json!({ "ministry": "mcs", "truncate_next": 1 })).await;
    let response = mock.get("/api/officers?size=500").await;
    assert_eq!(response.status(), 200);
    let promised: usize = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("the full length is promised");
    assert!(promised > 1000);
    assert!(response.bytes().await.is_err(), "the body breaks off");
    let whole = mock
        .get("/api/officers?size=500")
        .await
        .bytes()
        .await
        .expect("whole body");
    assert_eq!(whole.len(), promised);

    set(&mock, json!({ "ministry": "moeys", "truncate_next": 1 })).await;
    let response = mock.get("/emis/export/teachers.csv").await;
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.is_err(), "the export breaks off");
    mock.server.stop().await;
}

#[tokio::test]
async fn repeated_pages() {
    let mock = start(24).await;
    let page1 = mock.json("/api/officers?page=1&size=50").await;
    let page2 = mock.json("/api/officers?page=2&size=50").await;
    set(&mock, json!({ "ministry": "mcs", "repeat_next": 2 })).await;
    // The first page is served normally even when a repeat is due.
    assert_eq!(mock.json("/api/officers?page=1&size=50").await, page1);
    let repeated = mock.json("/api/officers?page=2&size=50").await;
    assert_eq!(
        repeated["data"], page1["data"],
        "page 2 serves page 1's records"
    );
    assert_eq!(repeated["meta"]["page"], 2);
    assert_eq!(mock.json("/api/officers?page=2&size=50").await, page2);

    // FHIR: the next link still points past the asked page.
    let first = mock.json("/fhir/PractitionerRole?_count=20").await;
    set(&mock, json!({ "ministry": "moh", "repeat_next": 1 })).await;
    let again = mock.json("/fhir/PractitionerRole?_count=20&page=2").await;
    assert_eq!(again["entry"], first["entry"]);
    let next = again["link"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["relation"] == "next")
        .and_then(|l| l["url"].as_str())
        .expect("next");
    assert!(next.contains("page=3"));

    // CSV: the first batch of rows comes twice.
    set(&mock, json!({ "ministry": "moeys", "repeat_next": 1 })).await;
    let text = mock.text("/emis/export/schools.csv").await;
    let (_, rows) = crate::harness::parse_csv(&text);
    assert_eq!(
        rows.len() as u64,
        2 * mock.server.truth().counts.moeys_schools
    );
    mock.server.stop().await;
}
