//! Rosters from service sites: submitting, linking, refusing, replaying, superseding,
//! access, masking, and what a roster does to the facility's discrepancies.

use std::collections::{BTreeSet, HashMap};

use chrono::Datelike;
use e2e::{TestApp, collect_pages, spawn_app};
use mock_ministries::{MockServer, PlannedRoster, Scale};
use serde_json::{Value, json};
use sync::Silent;

const SITE: &str = "rosters:write";
const PERIOD: &str = "2025-11";

/// A mock of every ministry at small scale.
pub(crate) async fn mock(seed: u64) -> MockServer {
    e2e::start_mock(Scale::Small, seed).await
}

/// Syncs every ministry of `mock` into the app's registry.
pub(crate) async fn sync_all(app: &TestApp, mock: &MockServer) {
    for (m, r) in e2e::mock_engine(&app.store, mock)
        .sync_all(false, &Silent)
        .await
    {
        r.unwrap_or_else(|e| panic!("{m}: {e}"));
    }
}

/// Every facility of the registry, as the API lists them.
pub(crate) async fn all_facilities(app: &TestApp) -> Vec<Value> {
    let token = app.token("facilities:read", None);
    collect_pages(app, "/v1/facilities?limit=1000", &token)
        .await
        .0
}

/// The gateway id of each facility, by `(identifier system, value)`.
pub(crate) fn ids_by_identifier(facilities: &[Value]) -> HashMap<(String, String), String> {
    let mut out = HashMap::new();
    for f in facilities {
        for i in f["identifiers"].as_array().expect("identifiers") {
            out.insert(
                (
                    i["system"].as_str().expect("system").to_owned(),
                    i["value"].as_str().expect("value").to_owned(),
                ),
                f["id"].as_str().expect("id").to_owned(),
            );
        }
    }
    out
}

/// The identifier a mock record id is known by in the registry.
pub(crate) fn system_of(source: mock_ministries::Ministry) -> &'static str {
    match source {
        mock_ministries::Ministry::Moh => "moh:dhis2",
        _ => "moeys:school_code",
    }
}

/// The gateway id of the facility a planned roster is for.
pub(crate) fn planned_facility(
    ids: &HashMap<(String, String), String>,
    r: &PlannedRoster,
) -> String {
    ids.get(&(system_of(r.source).to_owned(), r.record_id.clone()))
        .unwrap_or_else(|| panic!("facility {} not in the registry", r.record_id))
        .clone()
}

/// POSTs a roster body (as JSON) for a facility.
pub(crate) async fn post_roster(
    app: &TestApp,
    token: &str,
    facility: &str,
    body: &Value,
    key: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url(&format!("/v1/facilities/{facility}/rosters")))
        .bearer_auth(token)
        .json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    req.send().await.expect("post")
}

/// Submits a roster that must be accepted; returns the receipt.
pub(crate) async fn submit(app: &TestApp, token: &str, facility: &str, body: &Value) -> Value {
    let res = post_roster(app, token, facility, body, None).await;
    let status = res.status().as_u16();
    let receipt: Value = res.json().await.expect("json");
    assert_eq!(status, 201, "{receipt}");
    receipt
}

/// The ids of a facility's rosters, as listed (newest first).
async fn listed(app: &TestApp, facility: &str, query: &str) -> Vec<String> {
    let token = app.token("reports:read", None);
    let (items, _) = collect_pages(
        app,
        &format!("/v1/facilities/{facility}/rosters{query}"),
        &token,
    )
    .await;
    items
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The `on_roll_not_serving` finding with `status` about `officer` at `facility`.
async fn finding_about(
    app: &TestApp,
    reader: &str,
    facility: &str,
    status: &str,
    officer: &str,
) -> Option<Value> {
    let (items, _) = collect_pages(
        app,
        &format!(
            "/v1/discrepancies?kind=on_roll_not_serving&facility_id={facility}&status={status}"
        ),
        reader,
    )
    .await;
    items.into_iter().find(|d| {
        d["staff"]
            .as_array()
            .is_some_and(|s| s.iter().any(|p| p["civil_servant_id"] == officer))
    })
}

fn entry(e: &Value) -> (Option<&str>, Option<&str>) {
    (e["staff_id"].as_str(), e["linked_by"].as_str())
}

#[tokio::test]
async fn a_submitted_roster_is_stored_in_order_and_each_known_person_is_linked() {
    let app = spawn_app().await;
    let sample = app.load_sample(3).await;
    let facility = &sample.facilities[0];
    let (s0, s1, s2) = (&sample.staff[0], &sample.staff[1], &sample.staff[2]);
    // Someone the ministries place at another facility: their name is no link here.
    let elsewhere = &sample.staff[3];
    let body = json!({"period": PERIOD, "entries": [
        {"civil_servant_id": s0.civil_servant_id.as_ref().expect("csid").as_str(),
         "name_km": s0.name_km.as_str(), "role": "គិលានុបដ្ឋាក", "present": true},
        {"name_km": s1.name_km.as_str(), "name_latin": "Somebody Else", "present": true},
        {"national_id": s2.national_id.as_ref().expect("nid").as_str(), "present": false,
         "note": "ច្បាប់ឈប់សម្រាកប្រចាំឆ្នាំ"},
        {"name_km": elsewhere.name_km.as_str(), "present": true},
        {"name_km": "មិនស្គាល់ ឈ្មោះ", "sex": "female", "role": "អ្នកស្ម័គ្រចិត្ត", "present": true}
    ]});
    let site = app.token(SITE, None);
    let res = post_roster(&app, &site, &facility.id.to_string(), &body, None).await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let receipt: Value = res.json().await.expect("json");
    let id = receipt["id"].as_str().expect("id");
    assert_eq!(location, format!("/v1/rosters/{id}"));
    assert_eq!(receipt["facility_id"], facility.id.to_string());
    assert_eq!(receipt["period"], PERIOD);
    assert_eq!(receipt["submitted_by"], "test-client");
    assert_eq!(
        receipt["counts"],
        json!({"entries": 5, "present": 4, "absent": 1, "linked": 3})
    );

    let (status, roster) = app.get_json(&location, &site).await;
    assert_eq!(status, 200, "{roster}");
    let entries = roster["entries"].as_array().expect("entries");
    let indices: Vec<u64> = entries
        .iter()
        .map(|e| e["index"].as_u64().expect("index"))
        .collect();
    assert_eq!(indices, vec![0, 1, 2, 3, 4], "entries keep their order");
    let (id0, id1, id2) = (s0.id.to_string(), s1.id.to_string(), s2.id.to_string());
    assert_eq!(
        entry(&entries[0]),
        (Some(id0.as_str()), Some("civil_servant_id"))
    );
    assert_eq!(
        entry(&entries[1]),
        (Some(id1.as_str()), Some("name_at_facility")),
        "a name alone links to the one person of that name at the facility"
    );
    assert_eq!(
        entry(&entries[2]),
        (Some(id2.as_str()), Some("national_id"))
    );
    assert_eq!(
        entry(&entries[3]),
        (None, None),
        "a name known only at another facility is not linked here"
    );
    assert_eq!(
        entry(&entries[4]),
        (None, None),
        "an unknown person stays unlinked"
    );
    // What was sent is what is shown.
    assert_eq!(entries[0]["role"], "គិលានុបដ្ឋាក");
    assert_eq!(entries[1]["name_latin"], "Somebody Else");
    assert_eq!(entries[2]["present"], false);
    assert_eq!(entries[2]["note"], "ច្បាប់ឈប់សម្រាកប្រចាំឆ្នាំ");
    assert_eq!(entries[4]["name_km"], "មិនស្គាល់ ឈ្មោះ");
    assert_eq!(entries[4]["sex"], "female");
    assert_eq!(roster["supersedes"], Value::Null);
    assert_eq!(roster["superseded_by"], Value::Null);

    // The list shows it, without entries.
    let (status, list) = app
        .get_json(&format!("/v1/facilities/{}/rosters", facility.id), &site)
        .await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id);
    assert!(items[0].get("entries").is_none(), "{list}");
    app.stop().await;
}

#[tokio::test]
async fn a_roster_with_bad_entries_is_refused_whole_naming_every_fault() {
    let app = spawn_app().await;
    let sample = app.load_sample(2).await;
    let facility = sample.facilities[1].id.to_string();
    let next_month = chrono::Utc::now() + chrono::Duration::hours(7) + chrono::Duration::days(32);
    let future = format!("{:04}-{:02}", next_month.year(), next_month.month());
    let body = json!({"period": future, "entries": [
        {"civil_servant_id": "12", "present": true},
        {"name_km": "សុខ ដារ៉ា", "present": true},
        {"name_km": "កែវ សុភា"},
        {"name_km": "ចាន់ ថា", "present": true, "salary": 10}
    ]});
    let site = app.token(SITE, None);
    let res = post_roster(&app, &site, &facility, &body, None).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.expect("json");
    assert_eq!(problem["code"], "invalid_roster", "{problem}");
    let faults: BTreeSet<(Option<u64>, String)> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            assert!(
                !e["detail"].as_str().expect("detail").is_empty(),
                "{problem}"
            );
            (
                e["index"].as_u64(),
                e["field"].as_str().expect("field").to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(Option<u64>, String)> = [
        (None, "period"),
        (Some(0), "civil_servant_id"),
        (Some(2), "present"),
        (Some(3), "salary"),
    ]
    .into_iter()
    .map(|(i, f)| (i, f.to_owned()))
    .collect();
    assert_eq!(faults, expected, "{problem}");
    assert!(
        listed(&app, &facility, "").await.is_empty(),
        "nothing was stored"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_retried_submission_with_its_idempotency_key_is_stored_once() {
    let app = spawn_app().await;
    let sample = app.load_sample(2).await;
    let facility = sample.facilities[2].id.to_string();
    let site = app.token(SITE, None);
    let csid = sample.staff[4].civil_servant_id.as_ref().expect("csid");
    let body = json!({"period": PERIOD, "entries": [
        {"civil_servant_id": csid.as_str(), "present": true},
        {"name_km": "លី សុខា", "present": true}
    ]});
    let key = uuid::Uuid::new_v4().to_string();
    let first = post_roster(&app, &site, &facility, &body, Some(&key)).await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.expect("json");
    let again = post_roster(&app, &site, &facility, &body, Some(&key)).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let location = again.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["id"], first["id"], "the same roster answers");
    assert_eq!(
        location,
        format!("/v1/rosters/{}", first["id"].as_str().expect("id"))
    );
    assert_eq!(
        again, first,
        "the replay answers the first result, word for word"
    );
    assert!(first["discrepancies"].is_object(), "{first}");
    assert_eq!(listed(&app, &facility, "").await.len(), 1, "stored once");

    let other = json!({"period": PERIOD, "entries": [
        {"civil_servant_id": csid.as_str(), "present": false}
    ]});
    let res = post_roster(&app, &site, &facility, &other, Some(&key)).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.expect("json");
    assert_eq!(problem["code"], "idempotency_key_reused", "{problem}");
    assert_eq!(listed(&app, &facility, "").await.len(), 1);

    // A new key is a new roster.
    let fresh = uuid::Uuid::new_v4().to_string();
    let res = post_roster(&app, &site, &facility, &other, Some(&fresh)).await;
    assert_eq!(res.status(), 201);
    assert_eq!(listed(&app, &facility, "").await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn a_later_roster_for_the_same_month_supersedes_the_earlier_which_stays_readable() {
    let app = spawn_app().await;
    let sample = app.load_sample(2).await;
    let facility = sample.facilities[3].id.to_string();
    let site = app.token(SITE, None);
    let csid = sample.staff[6]
        .civil_servant_id
        .as_ref()
        .expect("csid")
        .to_string();
    let roster = |present: bool, period: &str| json!({"period": period, "entries": [{"civil_servant_id": csid, "present": present}]});
    let october = submit(&app, &site, &facility, &roster(true, "2025-10")).await;
    let first = submit(&app, &site, &facility, &roster(true, PERIOD)).await;
    let second = submit(&app, &site, &facility, &roster(false, PERIOD)).await;
    let id = |r: &Value| r["id"].as_str().expect("id").to_owned();
    let (first_id, second_id, october_id) = (id(&first), id(&second), id(&october));
    assert_eq!(second["supersedes"], first_id.as_str());

    assert_eq!(
        listed(&app, &facility, &format!("?period={PERIOD}")).await,
        vec![second_id.clone(), first_id.clone()],
        "both, newest first"
    );
    assert_eq!(
        listed(&app, &facility, "?limit=1").await,
        vec![second_id.clone(), first_id.clone(), october_id.clone()],
        "every roster of the facility, newest first, page by page"
    );

    let (status, old) = app
        .get_json(&format!("/v1/rosters/{first_id}"), &site)
        .await;
    assert_eq!(status, 200, "the superseded roster stays readable");
    assert_eq!(old["superseded_by"], second_id.as_str());
    assert_eq!(old["supersedes"], Value::Null);
    assert_eq!(old["entries"][0]["present"], true, "as it was submitted");
    let (_, new) = app
        .get_json(&format!("/v1/rosters/{second_id}"), &site)
        .await;
    assert_eq!(new["supersedes"], first_id.as_str());
    assert_eq!(new["superseded_by"], Value::Null);
    assert_eq!(new["entries"][0]["present"], false);
    let (_, oct) = app
        .get_json(&format!("/v1/rosters/{october_id}"), &site)
        .await;
    assert_eq!(
        (oct["supersedes"].clone(), oct["superseded_by"].clone()),
        (Value::Null, Value::Null),
        "another month's roster is not superseded"
    );
    app.stop().await;
}

#[tokio::test]
async fn submitting_needs_the_scope_a_jurisdiction_over_the_facility_and_a_json_body() {
    let app = spawn_app().await;
    let sample = app.load_sample(1).await;
    // The facility is in commune 010201 (district 0102, province 01).
    let facility = &sample.facilities[0];
    assert_eq!(
        facility.admin_unit_code.as_ref().expect("code").as_str(),
        "010201"
    );
    let facility = facility.id.to_string();
    let body = json!({"period": PERIOD, "entries": [{"name_km": "សុខ ដារ៉ា", "present": true}]});
    let url = app.url(&format!("/v1/facilities/{facility}/rosters"));

    let res = app.http.post(&url).json(&body).send().await.expect("post");
    assert_eq!(res.status(), 401);

    let reader = app.token("reports:read facilities:read staff:read", None);
    let res = post_roster(&app, &reader, &facility, &body, None).await;
    assert_eq!(res.status(), 403);
    let problem: Value = res.json().await.expect("json");
    assert_eq!(problem["code"], "missing_scope", "{problem}");

    let elsewhere = app.token(SITE, Some("17"));
    let res = post_roster(&app, &elsewhere, &facility, &body, None).await;
    assert_eq!(res.status(), 404, "outside the jurisdiction looks absent");
    let problem: Value = res.json().await.expect("json");
    assert_eq!(problem["code"], "not_found", "{problem}");
    assert!(
        listed(&app, &facility, "").await.is_empty(),
        "nothing stored"
    );

    let district = app.token(SITE, Some("0102"));
    let receipt = submit(&app, &district, &facility, &body).await;
    let id = receipt["id"].as_str().expect("id");
    // The roster itself is not shown outside the jurisdiction either.
    let (status, _) = app.get_json(&format!("/v1/rosters/{id}"), &elsewhere).await;
    assert_eq!(status, 404);
    let (status, _) = app
        .get_json(&format!("/v1/facilities/{facility}/rosters"), &elsewhere)
        .await;
    assert_eq!(status, 404);
    let (status, _) = app.get_json(&format!("/v1/rosters/{id}"), &district).await;
    assert_eq!(status, 200);

    let site = app.token(SITE, None);
    let res = app
        .http
        .post(&url)
        .bearer_auth(&site)
        .header("content-type", "text/plain")
        .body(body.to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 415);
    let problem: Value = res.json().await.expect("json");
    assert_eq!(problem["code"], "unsupported_media_type", "{problem}");

    let res = app
        .http
        .post(&url)
        .bearer_auth(&site)
        .header("content-type", "application/json")
        .body(r#"{"period": "2025-11", "entries": [{"#)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.expect("json");
    assert_eq!(problem["code"], "invalid_body", "{problem}");

    assert_eq!(
        listed(&app, &facility, "").await,
        vec![id.to_owned()],
        "only the accepted roster was stored"
    );
    app.stop().await;
}

#[tokio::test]
async fn national_ids_on_a_roster_are_masked_without_the_pii_scope() {
    let app = spawn_app().await;
    let sample = app.load_sample(2).await;
    let facility = sample.facilities[0].id.to_string();
    let nid = sample.staff[0]
        .national_id
        .as_ref()
        .expect("nid")
        .to_string();
    let body = json!({"period": PERIOD, "entries": [
        {"national_id": nid, "present": true},
        {"name_km": "លី សុខា", "present": true}
    ]});
    let site = app.token(SITE, None);
    let receipt = submit(&app, &site, &facility, &body).await;
    assert_eq!(receipt["entries"][0]["national_id"], "***", "{receipt}");
    assert_eq!(
        receipt["entries"][0]["staff_id"],
        sample.staff[0].id.to_string()
    );
    assert_eq!(receipt["entries"][1]["national_id"], Value::Null);
    let path = format!("/v1/rosters/{}", receipt["id"].as_str().expect("id"));
    let (_, masked) = app.get_json(&path, &app.token("reports:read", None)).await;
    assert_eq!(masked["entries"][0]["national_id"], "***", "{masked}");
    assert_eq!(masked["entries"][1]["national_id"], Value::Null);
    let (_, clear) = app
        .get_json(&path, &app.token("reports:read staff:read:pii", None))
        .await;
    assert_eq!(clear["entries"][0]["national_id"], nid.as_str(), "{clear}");
    app.stop().await;
}

#[tokio::test]
async fn an_officer_listed_absent_is_found_not_serving_until_a_later_roster_lists_them_present() {
    let mock = mock(21).await;
    let app = spawn_app().await;
    sync_all(&app, &mock).await;
    let facilities = all_facilities(&app).await;
    let ids = ids_by_identifier(&facilities);
    let plan = mock.roster_plan(0.05, 5);
    let (planned, absent) = plan
        .submissions
        .iter()
        .find_map(|r| {
            r.entries
                .iter()
                .position(|e| !e.present && e.civil_servant_id.is_some())
                .map(|i| (r, i))
        })
        .expect("the plan lists an absent officer");
    let officer = planned.entries[absent]
        .civil_servant_id
        .clone()
        .expect("officer id");
    let facility = planned_facility(&ids, planned);
    let site = app.token(SITE, None);
    let reader = app.token("reports:read", None);

    let receipt = submit(
        &app,
        &site,
        &facility,
        &json!({"period": plan.period, "entries": planned.entries}),
    )
    .await;
    assert!(
        receipt["discrepancies"]["open"].as_u64().expect("open") >= 1,
        "{receipt}"
    );
    let open = finding_about(&app, &reader, &facility, "open", &officer)
        .await
        .expect("an open finding about the absent officer");
    assert_eq!(open["status"], "open");
    assert_eq!(open["facility"]["id"], facility.as_str());
    assert_eq!(open["resolved_at"], Value::Null);
    assert!(
        open["evidence"]
            .as_array()
            .expect("evidence")
            .iter()
            .any(|e| e["source"] == "roster" && e["value"] == false),
        "the roster's word is evidence: {open}"
    );

    // The head sends a corrected roster: the officer is there after all.
    let mut entries = planned.entries.clone();
    entries[absent].present = true;
    entries[absent].note = None;
    let receipt = submit(
        &app,
        &site,
        &facility,
        &json!({"period": plan.period, "entries": entries}),
    )
    .await;
    assert!(
        receipt["discrepancies"]["resolved"]
            .as_u64()
            .expect("resolved")
            >= 1,
        "{receipt}"
    );
    assert!(
        finding_about(&app, &reader, &facility, "open", &officer)
            .await
            .is_none(),
        "no longer open once the roster lists them present"
    );
    let resolved = finding_about(&app, &reader, &facility, "resolved", &officer)
        .await
        .expect("shown as resolved");
    assert_eq!(resolved["id"], open["id"]);
    assert_eq!(resolved["status"], "resolved");
    assert!(resolved["resolved_at"].is_string(), "{resolved}");
    let (status, single) = app
        .get_json(
            &format!("/v1/discrepancies/{}", open["id"].as_str().expect("id")),
            &reader,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(single["status"], "resolved");
    app.stop().await;
}
