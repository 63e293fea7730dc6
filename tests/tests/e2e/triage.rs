//! Findings people act on, over HTTP on a synced world: a district officer
//! acknowledges, explains and confirms findings; the state holds while the evidence
//! does, reopens (saying why) when a roster changes it, and a resolved finding takes
//! no action; two reviewers cannot overwrite each other unseen.

use e2e::{TestApp, mock_engine, spawn_app, start_mock};
use mock_ministries::Scale;
use serde_json::{Value, json};
use sync::Silent;

async fn synced() -> TestApp {
    let app = spawn_app().await;
    let mock = start_mock(Scale::Small, 17).await;
    for (m, r) in mock_engine(&app.store, &mock)
        .sync_all(false, &Silent)
        .await
    {
        r.unwrap_or_else(|e| panic!("sync {m}: {e}"));
    }
    app
}

async fn act(
    app: &TestApp,
    token: &str,
    id: &str,
    body: Value,
    if_match: Option<&str>,
) -> (u16, Value, Option<String>) {
    let mut req = app
        .http
        .post(app.url(&format!("/v1/discrepancies/{id}/actions")))
        .bearer_auth(token)
        .json(&body);
    if let Some(v) = if_match {
        req = req.header("If-Match", v);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let etag = res
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, res.json().await.unwrap_or(Value::Null), etag)
}

fn current_month() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(7))
        .format("%Y-%m")
        .to_string()
}

#[tokio::test]
async fn a_reviewer_moves_findings_through_their_states_and_a_roster_reopens_one() {
    let app = synced().await;
    let reader = app.token("reports:read", None);
    let (findings, _) = e2e::collect_pages(
        &app,
        "/v1/discrepancies?kind=on_roll_not_serving&limit=1000",
        &reader,
    )
    .await;
    assert!(
        findings.len() >= 3,
        "findings to act on: {}",
        findings.len()
    );
    assert!(
        findings
            .iter()
            .all(|f| f["state"] == "open" && f["review"].is_null())
    );
    let first = findings[0]["id"].as_str().expect("id").to_owned();
    let province = findings[0]["admin_unit_code"].as_str().expect("unit")[..2].to_owned();
    let officer = app.token_for(
        "kampot-phd",
        "findings:review reports:read",
        Some(&province),
    );

    // Reading findings is not acting on them.
    let (status, body, _) = act(
        &app,
        &reader,
        &first,
        json!({"action": "acknowledge"}),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");

    let (status, body, etag) = act(
        &app,
        &officer,
        &first,
        json!({"action": "acknowledge"}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "acknowledged");
    assert_eq!(body["review"]["held_by"], "kampot-phd");
    let v1 = etag.expect("an ETag");
    assert_eq!(v1, format!("\"{}\"", body["version"]));

    // A colleague explains it; the first reviewer's stale version is refused.
    let (status, body, etag) = act(
        &app,
        &officer,
        &first,
        json!({"action": "explain", "reason": "on_leave", "note": "ឈប់សម្រាកលំហែមាតុភាព ដល់ខែមីនា"}),
        Some(&v1),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "explained");
    assert_eq!(body["review"]["reason"], "on_leave");
    assert_eq!(body["review"]["reason_km"], "ច្បាប់ឈប់សម្រាក");
    assert_eq!(body["review"]["reason_en"], "On leave");
    let v2 = etag.expect("an ETag");
    let (status, body, _) = act(
        &app,
        &officer,
        &first,
        json!({"action": "confirm", "ministry": "mcs"}),
        Some(&v1),
    )
    .await;
    assert_eq!(status, 412, "{body}");
    assert_eq!(body["code"], "stale_version");

    // Every fault of a body is named.
    let (status, body, _) = act(
        &app,
        &officer,
        &first,
        json!({"action": "explain", "reason": "data_error"}),
        Some(&v2),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "ministry");

    // The history, on the finding itself.
    let (status, one) = app
        .get_json(&format!("/v1/discrepancies/{first}"), &officer)
        .await;
    assert_eq!(status, 200);
    let history = one["history"].as_array().expect("history");
    let steps: Vec<(&str, &str)> = history
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap(),
                h["to_state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [("acknowledge", "acknowledged"), ("explain", "explained")]
    );
    assert!(history.iter().all(|h| h["by"] == "kampot-phd"));

    // Filters by state and holder; the coverage report counts by state.
    let (mine, _) = e2e::collect_pages(
        &app,
        "/v1/discrepancies?state=explained&held_by=kampot-phd",
        &officer,
    )
    .await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], first.as_str());
    let (status, coverage) = app
        .get_json(
            &format!(
                "/v1/reports/coverage?level=province&period={}",
                current_month()
            ),
            &reader,
        )
        .await;
    assert_eq!(status, 200, "{coverage}");
    let explained: u64 = coverage["units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|u| u["findings_by_state"]["explained"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(explained, 1);

    // A sync that changes nothing keeps the explanation.
    let same = app.store.reconcile().await;
    assert!(same.is_ok(), "{same:?}");
    let (_, one) = app
        .get_json(&format!("/v1/discrepancies/{first}"), &officer)
        .await;
    assert_eq!(one["state"], "explained", "{one}");

    // The facility's roster lists the officer absent: the evidence changes, and the
    // explanation no longer holds.
    let facility = one["facility"]["id"].as_str().expect("facility").to_owned();
    let officer_id = one["staff"][0]["civil_servant_id"].as_str().expect("id");
    let site = app.token("rosters:write", None);
    let res = app
        .http
        .post(app.url(&format!("/v1/facilities/{facility}/rosters")))
        .bearer_auth(&site)
        .json(&json!({"period": current_month(), "entries": [
            {"civil_servant_id": officer_id, "present": false, "note": "មិនបានមកធ្វើការ"}
        ]}))
        .send()
        .await
        .expect("roster");
    assert_eq!(res.status().as_u16(), 201);
    let (_, one) = app
        .get_json(&format!("/v1/discrepancies/{first}"), &officer)
        .await;
    assert_eq!(one["state"], "open", "{one}");
    assert!(
        one["reopened_because"]
            .as_str()
            .is_some_and(|r| r.contains("evidence changed")),
        "{one}"
    );
    let last = one["history"].as_array().expect("history").last().cloned();
    assert_eq!(
        last.as_ref().map(|h| h["by"].clone()),
        Some(json!("gateway"))
    );

    // Outside the jurisdiction there is no such finding.
    let elsewhere = if province == "01" { "02" } else { "01" };
    let other = app.token("findings:review", Some(elsewhere));
    let (status, _, _) = act(&app, &other, &first, json!({"action": "acknowledge"}), None).await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test]
async fn a_resolved_finding_takes_no_action() {
    let app = synced().await;
    let reader = app.token("reports:read", None);
    let (findings, _) = e2e::collect_pages(
        &app,
        "/v1/discrepancies?kind=on_roll_not_serving&limit=1000",
        &reader,
    )
    .await;
    let f = &findings[0];
    let id = f["id"].as_str().expect("id");
    let reviewer = app.token("findings:review reports:read", None);
    let (status, _, _) = act(&app, &reviewer, id, json!({"action": "confirm"}), None).await;
    assert_eq!(status, 200);
    // The site's roster lists the officer present: the sources agree now.
    let facility = f["facility"]["id"].as_str().expect("facility");
    let officer_id = f["staff"][0]["civil_servant_id"].as_str().expect("id");
    let site = app.token("rosters:write", None);
    let res = app
        .http
        .post(app.url(&format!("/v1/facilities/{facility}/rosters")))
        .bearer_auth(&site)
        .json(&json!({"period": current_month(), "entries": [
            {"civil_servant_id": officer_id, "present": true}
        ]}))
        .send()
        .await
        .expect("roster");
    assert_eq!(res.status().as_u16(), 201);
    let (_, one) = app
        .get_json(&format!("/v1/discrepancies/{id}"), &reader)
        .await;
    assert_eq!(one["state"], "resolved", "{one}");
    let (status, body, _) = act(&app, &reviewer, id, json!({"action": "acknowledge"}), None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "finding_resolved");
    app.stop().await;
}
