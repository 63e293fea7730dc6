//! The review queue over HTTP, on a noisy world synced through the real path: a
//! district officer reads the pairs the matcher could not settle (masked and limited
//! like every staff answer), decides them, and undoes a wrong link; decisions hold
//! through later syncs.

use e2e::{TestApp, mock_config, spawn_app, start_mock_with};
use mock_ministries::{MockServer, Scale};
use serde_json::{Value, json};
use sync::Silent;

const READER: &str = "matches:review";

async fn noisy_world(seed: u64) -> (TestApp, MockServer) {
    let app = spawn_app().await;
    let mock = start_mock_with(mock_ministries::MockConfig {
        linkage_noise: true,
        ..mock_config(Scale::Small, seed)
    })
    .await;
    sync_all(&app, &mock, false).await;
    (app, mock)
}

async fn sync_all(app: &TestApp, mock: &MockServer, full: bool) {
    for (m, r) in e2e::mock_engine(&app.store, mock)
        .sync_all(full, &Silent)
        .await
    {
        r.unwrap_or_else(|e| panic!("sync {m}: {e}"));
    }
}

async fn post_json(app: &TestApp, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let res = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn pending(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    e2e::collect_pages(app, &format!("/v1/matches?limit=1000{query}"), token)
        .await
        .0
}

/// The (ministry, source_id) pairs a person's record lists as its sources.
fn sources(staff: &Value) -> Vec<(String, String)> {
    staff["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| {
            (
                s["ministry"].as_str().unwrap_or_default().to_owned(),
                s["source_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn side(pair: &Value, which: &str) -> (String, String) {
    (
        pair[which]["ministry"]
            .as_str()
            .expect("ministry")
            .to_owned(),
        pair[which]["source_id"]
            .as_str()
            .expect("source_id")
            .to_owned(),
    )
}

/// The person holding `record` now, read through the API.
async fn holder(app: &TestApp, token: &str, pair_id: &str, which: &str) -> Value {
    let (status, pair) = app.get_json(&format!("/v1/matches/{pair_id}"), token).await;
    assert_eq!(status, 200, "{pair}");
    pair[which]["staff"].clone()
}

#[tokio::test]
async fn the_queue_is_read_by_scope_and_jurisdiction_with_personal_fields_masked() {
    let (app, _mock) = noisy_world(41).await;
    // No token, and a token without either reading scope.
    assert_eq!(app.get("/v1/matches", None).await.status().as_u16(), 401);
    let staff_only = app.token("staff:read", None);
    let (status, body) = app.get_json("/v1/matches", &staff_only).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "missing_scope");

    let reviewer = app.token(READER, None);
    let all = pending(&app, &reviewer, "").await;
    assert!(
        all.len() >= 5,
        "a noisy world leaves pairs for review: {}",
        all.len()
    );
    let kinds: std::collections::BTreeSet<&str> =
        all.iter().filter_map(|p| p["kind"].as_str()).collect();
    assert!(
        kinds.contains("distinct_officers"),
        "the roll's duplicates wait as distinct officers: {kinds:?}"
    );
    for p in &all {
        assert_eq!(p["status"], "pending");
        let fields = p["fields"].as_array().expect("fields");
        assert_eq!(fields.len(), 7, "every field's part is shown: {p}");
        let sum: f64 = fields
            .iter()
            .map(|f| f["weight"].as_f64().expect("w"))
            .sum();
        assert!(
            sum <= p["weight"].as_f64().expect("weight") + 60.0,
            "weights are finite numbers"
        );
        for which in ["left", "right"] {
            let staff = &p[which]["staff"];
            assert!(staff.is_object(), "each record's person is shown: {p}");
            // Personal fields are masked without staff:read:pii, as everywhere.
            if !staff["birth_date"].is_null() {
                assert_eq!(staff["birth_date"], "***", "{staff}");
            }
            if !staff["national_id"].is_null() {
                assert_eq!(staff["national_id"], "***", "{staff}");
            }
        }
    }
    // With staff:read:pii the values are shown.
    let pii = app.token(&format!("{READER} staff:read:pii"), None);
    let revealed = pending(&app, &pii, "").await;
    assert!(revealed.iter().any(|p| {
        p["left"]["staff"]["birth_date"]
            .as_str()
            .is_some_and(|d| d != "***")
    }));

    // Filters: kind, and a province's officer sees the pairs with a person inside it.
    let conflicts = pending(&app, &reviewer, "&kind=distinct_officers").await;
    assert!(conflicts.iter().all(|p| p["kind"] == "distinct_officers"));
    assert_eq!(
        conflicts.len(),
        all.iter()
            .filter(|p| p["kind"] == "distinct_officers")
            .count()
    );
    let province = all
        .iter()
        .find_map(|p| p["left"]["staff"]["admin_unit_code"].as_str())
        .map(|c| c[..2].to_owned())
        .expect("a pair with a placed person");
    let inside = |p: &Value| {
        ["left", "right"].iter().any(|w| {
            p[*w]["staff"]["admin_unit_code"]
                .as_str()
                .is_some_and(|c| c.starts_with(&province))
        }) || p["admin_unit_code"]
            .as_str()
            .is_some_and(|c| c.starts_with(&province))
    };
    let officer = app.token(READER, Some(&province));
    let theirs = pending(&app, &officer, "").await;
    assert!(!theirs.is_empty());
    assert!(theirs.iter().all(inside), "only pairs inside {province}");
    assert_eq!(theirs.len(), all.iter().filter(|p| inside(p)).count());
    // A pair outside the jurisdiction is not there at all.
    if let Some(outside) = all.iter().find(|p| !inside(p)) {
        let id = outside["id"].as_str().expect("id");
        let (status, body) = app.get_json(&format!("/v1/matches/{id}"), &officer).await;
        assert_eq!(status, 404, "{body}");
        let (status, _) = post_json(
            &app,
            &format!("/v1/matches/{id}/decision"),
            &officer,
            &json!({"decision": "different"}),
        )
        .await;
        assert_eq!(status, 404, "a pair outside cannot be decided either");
    }
    // Paging reaches every pair once.
    let (paged, pages) = e2e::collect_pages(&app, "/v1/matches?limit=2", &reviewer).await;
    assert!(pages > 1);
    let ids: std::collections::BTreeSet<&str> =
        paged.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(ids.len(), all.len());
    app.stop().await;
}

#[tokio::test]
async fn decisions_link_or_separate_and_hold_through_later_syncs() {
    let (app, mock) = noisy_world(42).await;
    let reviewer = app.token_for("district-office-0702", READER, None);
    let all = pending(&app, &reviewer, "&kind=uncertain").await;
    let all = if all.len() >= 2 {
        all
    } else {
        pending(&app, &reviewer, "").await
    };
    assert!(all.len() >= 2, "two pairs to decide: {}", all.len());
    let (same, different) = (&all[0], &all[1]);
    let same_id = same["id"].as_str().expect("id").to_owned();
    let different_id = different["id"].as_str().expect("id").to_owned();

    // Reading is not deciding.
    let reader = app.token("reports:read", None);
    let (status, _) = post_json(
        &app,
        &format!("/v1/matches/{same_id}/decision"),
        &reader,
        &json!({"decision": "same"}),
    )
    .await;
    assert_eq!(status, 403);

    let (status, body) = post_json(
        &app,
        &format!("/v1/matches/{same_id}/decision"),
        &reviewer,
        &json!({"decision": "same", "note": "ជួបផ្ទាល់: one nurse"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "decided");
    assert_eq!(body["decision"]["decision"], "same");
    assert_eq!(body["decision"]["decided_by"], "district-office-0702");
    assert_eq!(body["decision"]["note"], "ជួបផ្ទាល់: one nurse");
    // One person now holds both records.
    assert_eq!(
        body["left"]["staff"]["id"], body["right"]["staff"]["id"],
        "{body}"
    );
    let person = &body["left"]["staff"];
    let held = sources(person);
    assert!(held.contains(&side(same, "left")) && held.contains(&side(same, "right")));

    let (status, body) = post_json(
        &app,
        &format!("/v1/matches/{different_id}/decision"),
        &reviewer,
        &json!({"decision": "different"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["left"]["staff"]["id"], body["right"]["staff"]["id"]);

    // A second decision is refused, and the first stands.
    let (status, body) = post_json(
        &app,
        &format!("/v1/matches/{same_id}/decision"),
        &reviewer,
        &json!({"decision": "different"}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "match_decided");

    // Decided pairs leave the queue and the possible duplicates.
    let left = pending(&app, &reviewer, "").await;
    assert!(
        left.iter()
            .all(|p| p["id"] != same_id && p["id"] != different_id)
    );
    let (decided, _) = e2e::collect_pages(&app, "/v1/matches?status=decided", &reviewer).await;
    assert_eq!(decided.len(), 2);

    // A full sync, then an incremental one: both decisions hold.
    sync_all(&app, &mock, true).await;
    sync_all(&app, &mock, false).await;
    let (status, pair) = app
        .get_json(&format!("/v1/matches/{same_id}"), &reviewer)
        .await;
    assert_eq!(status, 200);
    assert_eq!(pair["decision"]["decision"], "same");
    assert_eq!(
        pair["left"]["staff"]["id"], pair["right"]["staff"]["id"],
        "{pair}"
    );
    let (_, pair) = app
        .get_json(&format!("/v1/matches/{different_id}"), &reviewer)
        .await;
    assert_eq!(pair["decision"]["decision"], "different");
    assert_ne!(
        pair["left"]["staff"]["id"], pair["right"]["staff"]["id"],
        "{pair}"
    );
    let (findings, _) = e2e::collect_pages(
        &app,
        "/v1/discrepancies?kind=possible_duplicate&limit=1000",
        &app.token("reports:read staff:read:pii", None),
    )
    .await;
    // A finding is about two persons; several pending pairs of source records may
    // join the same two.
    let person_pair = |a: &Value, b: &Value| {
        let (a, b) = (a.as_str()?.to_owned(), b.as_str()?.to_owned());
        Some(if a < b { (a, b) } else { (b, a) }).filter(|(a, b)| a != b)
    };
    let from_queue: std::collections::BTreeSet<(String, String)> = pending(&app, &reviewer, "")
        .await
        .iter()
        .filter_map(|p| person_pair(&p["left"]["staff"]["id"], &p["right"]["staff"]["id"]))
        .collect();
    let from_findings: std::collections::BTreeSet<(String, String)> = findings
        .iter()
        .filter_map(|f| person_pair(&f["staff"][0]["id"], &f["staff"][1]["id"]))
        .collect();
    assert_eq!(
        from_findings, from_queue,
        "every pending pair's two persons, and only those, are a possible duplicate"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_link_is_split_and_waits_for_review_again() {
    let (app, _mock) = noisy_world(43).await;
    let reviewer = app.token(READER, None);
    let all = pending(&app, &reviewer, "").await;
    let pair = all.first().expect("a pair");
    let id = pair["id"].as_str().expect("id").to_owned();
    let (status, body) = post_json(
        &app,
        &format!("/v1/matches/{id}/decision"),
        &reviewer,
        &json!({"decision": "same"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let person = body["left"]["staff"]["id"]
        .as_str()
        .expect("person")
        .to_owned();
    let (ministry, source_id) = side(pair, "right");

    // A record the person does not hold, and a malformed body, are refused.
    let (status, body) = post_json(
        &app,
        &format!("/v1/staff/{person}/split"),
        &reviewer,
        &json!({"ministry": ministry, "source_id": "no-such-record"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "not_on_person");
    let (status, body) = post_json(
        &app,
        &format!("/v1/staff/{person}/split"),
        &reviewer,
        &json!({"ministry": "health", "source_id": ""}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["ministry", "source_id"]);

    let (status, split) = post_json(
        &app,
        &format!("/v1/staff/{person}/split"),
        &reviewer,
        &json!({"ministry": ministry, "source_id": source_id}),
    )
    .await;
    assert_eq!(status, 200, "{split}");
    assert_eq!(split["staff_id"], person.as_str());
    let detached = split["detached_to"].as_str().expect("detached").to_owned();
    assert_ne!(detached, person);
    let token = app.token("staff:read", None);
    let (_, kept) = app.get_json(&format!("/v1/staff/{person}"), &token).await;
    let (_, alone) = app.get_json(&format!("/v1/staff/{detached}"), &token).await;
    assert!(!sources(&kept).contains(&(ministry.clone(), source_id.clone())));
    assert_eq!(sources(&alone), [(ministry.clone(), source_id.clone())]);
    // The pair waits for review again.
    let again = split["match_id"].as_str().expect("re-scored pair");
    let (status, pair) = app
        .get_json(&format!("/v1/matches/{again}"), &reviewer)
        .await;
    assert_eq!(status, 200);
    assert_eq!(pair["status"], "pending", "{pair}");
    let holder_left = holder(&app, &reviewer, again, "left").await;
    let holder_right = holder(&app, &reviewer, again, "right").await;
    assert_ne!(holder_left["id"], holder_right["id"]);
    // The only record of a person cannot be split off.
    let (status, body) = post_json(
        &app,
        &format!("/v1/staff/{detached}/split"),
        &reviewer,
        &json!({"ministry": ministry, "source_id": source_id}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "last_record");
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_decision_is_refused_naming_what_was_wrong() {
    let app = spawn_app().await;
    let reviewer = app.token(READER, None);
    let id = uuid::Uuid::new_v4();
    let path = format!("/v1/matches/{id}/decision");
    let (status, body) = post_json(&app, &path, &reviewer, &json!({"decision": "maybe"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "invalid_fields");
    assert_eq!(body["errors"][0]["field"], "decision");
    let (status, body) = post_json(
        &app,
        &path,
        &reviewer,
        &json!({"decision": "same", "reason": "x"}),
    )
    .await;
    assert_eq!(status, 400, "an unknown field: {body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("reason")
    );
    let res = app
        .http
        .post(app.url(&path))
        .bearer_auth(&reviewer)
        .body("decision=same")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 415);
    // A well-formed decision on no pair.
    let (status, body) = post_json(&app, &path, &reviewer, &json!({"decision": "same"})).await;
    assert_eq!(status, 404, "{body}");
    app.stop().await;
}

/// A reviewer's "same person" on a sector record that lacks (or mistypes) the roll's
/// officer id asks that sector ministry to write the id on its record: the request
/// names the pair, the record, what it holds and the roll's id. The ministry applies
/// it and the next sync marks it done; a decision undone by a split makes its
/// request obsolete.
#[tokio::test]
async fn a_same_person_decision_asks_the_sector_ministry_for_the_officer_id() {
    let (app, mock) = noisy_world(43).await;
    let linkage = mock.truth().linkage.clone().expect("linkage truth");
    let reviewer = app.token("matches:review staff:read:pii", None);
    // Sector records paired with their own officer (by the truth) whose record does
    // not carry that officer's id.
    let mut chosen = Vec::new();
    for pair in pending(&app, &reviewer, "&kind=uncertain").await {
        let (l, r) = (
            crate::reconcile::truth_officer(&linkage, &pair["left"]),
            crate::reconcile::truth_officer(&linkage, &pair["right"]),
        );
        let sector = ["left", "right"]
            .into_iter()
            .find(|w| pair[*w]["ministry"] != "mcs");
        let roll = ["left", "right"]
            .into_iter()
            .find(|w| pair[*w]["ministry"] == "mcs");
        let (Some(sector), Some(roll)) = (sector, roll) else {
            continue;
        };
        let written = linkage
            .records
            .iter()
            .find(|x| {
                x.source.as_str() == pair[sector]["ministry"]
                    && x.record_id == pair[sector]["source_id"].as_str().unwrap_or_default()
            })
            .and_then(|x| x.written_officer_id.clone());
        let officer = pair[roll]["source_id"].as_str().expect("id").to_owned();
        if l.is_some() && l == r && written.as_deref() != Some(officer.as_str()) {
            chosen.push((pair, side_of(sector), officer, written));
        }
        if chosen.len() == 2 {
            break;
        }
    }
    assert_eq!(
        chosen.len(),
        2,
        "the noisy world queues sector records without their id"
    );
    for (pair, _, _, _) in &chosen {
        let (status, body) = post_json(
            &app,
            &format!("/v1/matches/{}/decision", pair["id"].as_str().expect("id")),
            &reviewer,
            &json!({"decision": "same"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }

    let ministry_reader = app.token("corrections:read", None);
    let (requests, _) = e2e::collect_pages(
        &app,
        "/v1/corrections?status=all&limit=1000",
        &ministry_reader,
    )
    .await;
    let mut ids = Vec::new();
    for (pair, sector, officer, written) in &chosen {
        let c = requests
            .iter()
            .find(|c| c["match_id"] == pair["id"])
            .unwrap_or_else(|| panic!("a request for pair {}: {requests:?}", pair["id"]));
        assert_eq!(c["kind"], "same_person", "{c}");
        assert_eq!(c["ministry"], pair[*sector]["ministry"], "{c}");
        assert_eq!(c["record_id"], pair[*sector]["source_id"], "{c}");
        assert_eq!(c["field"], "civil_servant_id", "{c}");
        assert_eq!(c["supported"], officer.as_str(), "{c}");
        assert_eq!(c["held"], json!(written), "{c}");
        assert_eq!(c["status"], "open", "{c}");
        assert!(c["discrepancy_id"].is_null(), "{c}");
        ids.push(c["id"].as_str().expect("id").to_owned());
    }
    // Only these two decisions asked for anything of the kind.
    assert_eq!(
        requests
            .iter()
            .filter(|c| c["kind"] == "same_person")
            .count(),
        2
    );

    // The second decision turns out wrong: split, its request is obsolete.
    let (second, second_side, _, _) = &chosen[1];
    let person = holder(
        &app,
        &reviewer,
        second["id"].as_str().expect("id"),
        second_side,
    )
    .await;
    let (status, body) = post_json(
        &app,
        &format!("/v1/staff/{}/split", person["id"].as_str().expect("id")),
        &reviewer,
        &json!({"ministry": second[*second_side]["ministry"], "source_id": second[*second_side]["source_id"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The ministry's staff apply the first request; the next sync sees the id.
    let (first, first_side, _, _) = &chosen[0];
    let applied = mock
        .apply_corrections(
            &serde_json::from_value::<Vec<mock_ministries::CorrectionRequest>>(json!([{
                "id": ids[0], "ministry": first[*first_side]["ministry"],
                "record_id": first[*first_side]["source_id"], "field": "civil_servant_id",
                "supported": chosen[0].2,
            }]))
            .expect("request"),
            1.0,
            1,
        )
        .expect("applied");
    assert_eq!(applied.applied, vec![ids[0].clone()], "{applied:?}");
    sync_all(&app, &mock, false).await;
    let (after, _) = e2e::collect_pages(
        &app,
        "/v1/corrections?status=all&limit=1000",
        &ministry_reader,
    )
    .await;
    let status_of = |id: &str| {
        after
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(status_of(&ids[0]).as_deref(), Some("done"));
    assert_eq!(status_of(&ids[1]).as_deref(), Some("obsolete"));
    // The record now carries the id, and its person is still the officer's.
    let (status, pair) = app
        .get_json(
            &format!("/v1/matches/{}", first["id"].as_str().expect("id")),
            &reviewer,
        )
        .await;
    assert_eq!(status, 200, "{pair}");
    assert_eq!(
        pair["left"]["staff"]["id"], pair["right"]["staff"]["id"],
        "{pair}"
    );
    app.stop().await;
}

fn side_of(which: &str) -> &'static str {
    if which == "left" { "left" } else { "right" }
}
