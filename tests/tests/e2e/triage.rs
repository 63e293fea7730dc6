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
    // The same list as a file people open: the reason in Khmer.
    let csv = app
        .http
        .get(app.url("/v1/discrepancies?state=explained&format=csv"))
        .bearer_auth(&officer)
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].starts_with(&first) && lines[1].contains("ច្បាប់ឈប់សម្រាក"),
        "{csv}"
    );
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

#[tokio::test]
async fn a_confirmed_finding_asks_the_right_ministry_for_a_correction_in_its_own_terms() {
    let app = synced().await;
    let reader = app.token("reports:read staff:read:pii", None);
    let (conflicts, _) = e2e::collect_pages(
        &app,
        "/v1/discrepancies?kind=attribute_conflict&limit=1000",
        &reader,
    )
    .await;
    let finding = conflicts
        .iter()
        .find(|f| {
            let ev = f["evidence"].as_array().expect("evidence");
            ev.iter().any(|e| e["source"] == "mcs")
                && ev
                    .iter()
                    .any(|e| e["source"] != "mcs" && e["record_id"].is_string())
        })
        .expect("an attribute conflict between the roll and a sector ministry");
    let id = finding["id"].as_str().expect("id");
    let evidence = finding["evidence"].as_array().expect("evidence");
    let roll = evidence
        .iter()
        .find(|e| e["source"] == "mcs")
        .expect("roll");
    let sector = evidence
        .iter()
        .find(|e| e["source"] != "mcs" && e["record_id"].is_string())
        .expect("sector");
    let sector_ministry = sector["source"].as_str().expect("source").to_owned();

    // Nothing is asked of anyone before a reviewer confirms.
    let all = app.token("corrections:read staff:read:pii", None);
    let (status, body) = app.get_json("/v1/corrections", &all).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(0));

    let reviewer = app.token("findings:review", None);
    let (status, body, _) = act(&app, &reviewer, id, json!({"action": "confirm"}), None).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = app.get_json("/v1/corrections", &all).await;
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().expect("items");
    assert_eq!(
        items.len(),
        1,
        "one request, to the sector ministry: {body}"
    );
    let c = &items[0];
    assert_eq!(c["ministry"], sector_ministry.as_str());
    assert_eq!(c["record_id"], sector["record_id"]);
    assert_eq!(c["field"], sector["field"]);
    assert_eq!(c["held"], sector["value"]);
    assert_eq!(c["supported"], roll["value"], "the roll owns the attribute");
    assert_eq!(c["status"], "open");
    assert_eq!(c["discrepancy_id"], id);
    let correction_id = c["id"].as_str().expect("id").to_owned();

    // A ministry's own system sees its own corrections only.
    let other = if sector_ministry == "moh" {
        "moeys"
    } else {
        "moh"
    };
    let own = |m: &str| {
        gateway::auth::issue_hs256_for(
            &app.settings.auth,
            &format!("{m}-hris"),
            &["corrections:read"],
            None,
            Some(schema::Ministry::parse_name(m).expect("ministry")),
            std::time::Duration::from_secs(600),
        )
        .expect("token")
    };
    let (_, mine) = app
        .get_json("/v1/corrections", &own(&sector_ministry))
        .await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1));
    let (_, theirs) = app.get_json("/v1/corrections", &own(other)).await;
    assert_eq!(theirs["items"].as_array().map(Vec::len), Some(0));
    // Without staff:read:pii a personal value is masked.
    if matches!(sector["field"].as_str(), Some("birth_date")) {
        let (_, masked) = app
            .get_json("/v1/corrections", &app.token("corrections:read", None))
            .await;
        assert_eq!(masked["items"][0]["held"], "***");
    }

    // The same list as files people open.
    let csv = app
        .http
        .get(app.url("/v1/corrections?format=csv"))
        .bearer_auth(&all)
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.status().as_u16(), 200);
    let text = csv.text().await.expect("text");
    assert!(text.starts_with("\u{FEFF}id,ministry,record_id,field,held,supported"));
    assert!(text.contains(&correction_id));
    let xlsx = app
        .http
        .get(app.url("/v1/corrections"))
        .bearer_auth(&all)
        .header("Accept", gateway::tables::XLSX)
        .send()
        .await
        .expect("xlsx");
    assert_eq!(xlsx.status().as_u16(), 200);
    assert_eq!(
        xlsx.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some(gateway::tables::XLSX)
    );
    let bytes = xlsx.bytes().await.expect("bytes");
    // Opened as a spreadsheet program opens it: a frozen header row, then the request.
    let sheets = e2e::workbook::read(&bytes).await;
    let sheet = &sheets[0];
    assert_eq!(sheet.freeze.as_deref(), Some("A2"), "{sheet:?}");
    assert_eq!(
        sheet.rows[0][..6],
        ["id", "ministry", "record_id", "field", "held", "supported"]
    );
    assert_eq!(sheet.rows.len(), 2, "{sheet:?}");
    assert_eq!(sheet.rows[1][0], correction_id);

    // The reviewer changes their mind: the request is obsolete, not done.
    let (status, body, _) = act(
        &app,
        &reviewer,
        id,
        json!({"action": "explain", "reason": "other", "note": "ថ្ងៃខែឆ្នាំកំណើតពិតប្រាកដមិនទាន់ច្បាស់"}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = app.get_json("/v1/corrections?status=obsolete", &all).await;
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], correction_id.as_str(), "the id is stable");
    let (_, open) = app.get_json("/v1/corrections", &all).await;
    assert_eq!(open["items"].as_array().map(Vec::len), Some(0));
    app.stop().await;
}
