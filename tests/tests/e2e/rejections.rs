//! Rejected records held like the records they are: a sub-national token sees only the
//! rejections placed inside its jurisdiction, a reason quotes a value only for tokens
//! with `staff:read:pii`, and a record carrying a NUL is quarantined while the rest of
//! its page is stored.

use chrono::Utc;
use e2e::{TestApp, collect_pages, mock_engine, spawn_app, start_mock};
use mock_ministries::Scale;
use schema::{AdminCode, Ministry, NUL_RULE, ParseError};
use serde_json::{Value, json};
use store::RawRecord;

const PP_NATIONAL_ID: &str = "1234567890123";
const KANDAL_BIRTH_DATE: &str = "31/02/1985";
const UNPLACED_NATIONAL_ID: &str = "9876543210987";

fn rejected(
    source_id: &str,
    payload: Value,
    problem: ParseError,
    place: Option<&str>,
) -> RawRecord {
    RawRecord {
        ministry: Ministry::Mcs,
        record_type: "officers".to_owned(),
        source_id: Some(source_id.to_owned()),
        payload,
        fetched_at: Utc::now(),
        rejection: Some(vec![problem]),
        place: place.map(|p| AdminCode::parse(p).expect("code")),
        run_id: None,
    }
}

/// Three rejected roll records: one placed in Phnom Penh (12), one in Kandal (08),
/// one whose place could not be read.
async fn three_rejections(app: &TestApp) {
    let records = vec![
        rejected(
            "1000000001",
            json!({"officer_id": "1000000001", "national_id": PP_NATIONAL_ID,
                   "work_unit": {"admin_code": "120101"}}),
            schema::NationalId::parse(PP_NATIONAL_ID)
                .expect_err("13 digits")
                .in_field("national_id"),
            Some("120101"),
        ),
        rejected(
            "1000000002",
            json!({"officer_id": "1000000002", "date_of_birth": KANDAL_BIRTH_DATE,
                   "work_unit": {"admin_code": "080101"}}),
            schema::Date::parse(KANDAL_BIRTH_DATE)
                .expect_err("no such day")
                .in_field("date_of_birth"),
            Some("080101"),
        ),
        rejected(
            "1000000003",
            json!({"officer_id": "1000000003", "national_id": UNPLACED_NATIONAL_ID,
                   "work_unit": {"admin_code": "99"}}),
            schema::NationalId::parse(UNPLACED_NATIONAL_ID)
                .expect_err("13 digits")
                .in_field("national_id"),
            None,
        ),
    ];
    app.store.put_raw_records(&records).await.expect("stored");
}

fn source_ids(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|r| r["source_id"].as_str().expect("source_id"))
        .collect()
}

#[tokio::test]
async fn a_jurisdiction_sees_only_the_rejections_placed_inside_it() {
    let app = spawn_app().await;
    three_rejections(&app).await;

    let phnom_penh = app.token("sync:admin staff:read:pii", Some("12"));
    let (items, _) = collect_pages(&app, "/v1/sync/rejections?limit=1", &phnom_penh).await;
    assert_eq!(source_ids(&items), ["1000000001"]);
    assert_eq!(items[0]["place"], "120101");

    // A district inside the province, and a province with none of them.
    let khan = app.token("sync:admin", Some("1201"));
    let (items, _) = collect_pages(&app, "/v1/sync/rejections", &khan).await;
    assert_eq!(source_ids(&items), ["1000000001"]);
    let siem_reap = app.token("sync:admin", Some("17"));
    let (items, _) = collect_pages(&app, "/v1/sync/rejections", &siem_reap).await;
    assert!(items.is_empty(), "{items:?}");

    // A national token sees all, the unplaced one included.
    let national = app.token("sync:admin", None);
    let (items, _) = collect_pages(&app, "/v1/sync/rejections", &national).await;
    assert_eq!(
        source_ids(&items),
        ["1000000001", "1000000002", "1000000003"]
    );
    assert!(items[2]["place"].is_null());
    let db = app.settings.database.name.clone();
    app.stop().await;
    // Raw records name people: every read of them is in the audit log.
    let client = e2e::connect(&db).await;
    let reads: i64 = client
        .query_one(
            "SELECT count(*) FROM audit_log WHERE route = '/v1/sync/rejections'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert!(reads >= 4, "{reads} reads of rejections audited");
}

#[tokio::test]
async fn a_reason_quotes_the_value_only_with_staff_read_pii() {
    let app = spawn_app().await;
    three_rejections(&app).await;
    let personal = [PP_NATIONAL_ID, KANDAL_BIRTH_DATE, UNPLACED_NATIONAL_ID];

    let without = app.token("sync:admin", None);
    let res = app.get("/v1/sync/rejections", Some(&without)).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.expect("body");
    for value in personal {
        assert!(!text.contains(value), "{value} leaks without pii: {text}");
    }
    // The 13 digits are not there in any other spelling either.
    assert!(!text.contains("1234567890"), "{text}");
    let body: Value = serde_json::from_str(&text).expect("json");
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[0]["reason"],
        "national_id: has 13 digits; expected 9 to 12"
    );
    assert_eq!(items[0]["problems"][0]["field"], "national_id");
    assert_eq!(
        items[0]["problems"][0]["rule"],
        "has 13 digits; expected 9 to 12"
    );
    assert!(items[0]["problems"][0]["value"].is_null());
    assert_eq!(
        items[1]["reason"],
        "date_of_birth: names a day its month does not have"
    );
    assert!(
        items
            .iter()
            .all(|r| r["raw"].is_null() && r["raw_masked"] == true)
    );

    let with = app.token("sync:admin staff:read:pii", None);
    let (status, body) = app.get_json("/v1/sync/rejections", &with).await;
    assert_eq!(status, 200);
    let items = body["items"].as_array().expect("items");
    assert_eq!(
        items[0]["reason"],
        format!("national_id: has 13 digits; expected 9 to 12 (got \"{PP_NATIONAL_ID}\")")
    );
    assert_eq!(items[0]["problems"][0]["value"], PP_NATIONAL_ID);
    assert_eq!(items[1]["problems"][0]["value"], KANDAL_BIRTH_DATE);
    assert!(
        items[1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains(KANDAL_BIRTH_DATE))
    );
    assert_eq!(items[2]["raw"]["national_id"], UNPLACED_NATIONAL_ID);
    assert_eq!(items[0]["raw_masked"], false);
    app.stop().await;
}

#[tokio::test]
async fn a_rejection_stored_before_values_were_kept_apart_is_masked_whole() {
    let app = spawn_app().await;
    // What a rejection looked like before migration V7: the value inside the reason.
    app.store
        .put_raw_records(&[rejected(
            "1000000009",
            json!({"officer_id": "1000000009"}),
            ParseError::new("national_id", "has 13 digits"),
            None,
        )])
        .await
        .expect("stored");
    let client = e2e::connect(&app.settings.database.name).await;
    client
        .execute(
            "UPDATE raw_records SET rejection_problems = NULL,
                    rejection_reason = 'national_id: \"1234567890123\" has 13 digits'",
            &[],
        )
        .await
        .expect("made old");
    let without = app.token("sync:admin", None);
    let res = app.get("/v1/sync/rejections", Some(&without)).await;
    let text = res.text().await.expect("body");
    assert!(!text.contains(PP_NATIONAL_ID), "{text}");
    let with = app.token("sync:admin staff:read:pii", None);
    let (_, body) = app.get_json("/v1/sync/rejections", &with).await;
    assert!(
        body["items"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains(PP_NATIONAL_ID))
    );
    app.stop().await;
}

#[tokio::test]
async fn a_record_with_a_nul_is_quarantined_and_the_rest_of_its_page_is_stored() {
    let mock = start_mock(Scale::Small, 11).await;
    let app = spawn_app().await;
    let planted: Vec<String> = mock
        .truth()
        .invalid
        .mcs_officers
        .iter()
        .filter(|i| i.reason.contains("NUL"))
        .map(|i| i.id.clone())
        .collect();
    assert!(!planted.is_empty(), "the mock plants a NUL");

    let engine = mock_engine(&app.store, &mock);
    let run = engine
        .sync(Ministry::Mcs, true, &sync::Silent)
        .await
        .expect("the sync does not fail on a NUL");
    let t = run.totals;
    assert_eq!(t.rejected, mock.truth().invalid.mcs_officers.len() as u64);
    assert_eq!(t.fetched, mock.truth().counts.mcs_officers);
    assert_eq!(t.inserted + t.updated + t.unchanged + t.rejected, t.fetched);

    let national = app.token("sync:admin staff:read:pii", None);
    let (items, _) = collect_pages(&app, "/v1/sync/rejections?ministry=mcs", &national).await;
    for id in &planted {
        let r = items
            .iter()
            .find(|r| r["source_id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} is quarantined"));
        assert_eq!(r["problems"][0]["field"], "name_kh", "{r}");
        assert_eq!(r["problems"][0]["rule"], NUL_RULE, "{r}");
        // The raw record is kept exactly as it came, NUL and all.
        assert!(
            r["raw"]["name_kh"]
                .as_str()
                .is_some_and(|n| n.contains('\0')),
            "{r}"
        );
        // And it is held where its work unit is.
        let place = r["raw"]["work_unit"]["admin_code"]
            .as_str()
            .expect("admin_code");
        assert_eq!(r["place"], place, "{r}");
        let inside = app.token("sync:admin", Some(&place[..2]));
        let (seen, _) = collect_pages(&app, "/v1/sync/rejections?ministry=mcs", &inside).await;
        assert!(seen.iter().any(|s| s["source_id"] == id.as_str()));
        assert!(
            seen.iter().all(|s| s["place"]
                .as_str()
                .is_some_and(|p| p.starts_with(&place[..2]))),
            "only rejections inside {}",
            &place[..2]
        );
    }
    // The officers beside it on its page are in the registry; it is not.
    let client = e2e::connect(&app.settings.database.name).await;
    let stored: i64 = client
        .query_one("SELECT count(*) FROM staff", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(stored as u64, t.inserted);
    let nul_staff: i64 = client
        .query_one(
            "SELECT count(*) FROM staff WHERE civil_servant_id = ANY($1)",
            &[&planted],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(nul_staff, 0);
    app.stop().await;
    mock.stop().await;
}

#[tokio::test]
async fn a_payload_with_a_nul_is_archived_whole_and_read_back_exactly() {
    let app = spawn_app().await;
    let payload =
        json!({"officer_id": "1000000007", "name_kh": "សុខ\u{0}ដារ៉ា", "k\u{0}": ["\u{0}"]});
    let mut nul = rejected(
        "1000000007",
        payload.clone(),
        ParseError::refuse_nul("name_kh", "សុខ\u{0}ដារ៉ា").expect_err("NUL"),
        Some("120101"),
    );
    // A valid record whose payload carries one is archived too (no adapter sends it,
    // but the archive must not be what fails a page).
    let mut valid = nul.clone();
    valid.source_id = Some("1000000008".to_owned());
    valid.rejection = None;
    nul.run_id = Some(1);
    app.store
        .put_raw_records(&[nul, valid])
        .await
        .expect("a NUL does not fail the archive");
    let rows = app
        .store
        .list_rejections(Some(Ministry::Mcs), None, None, None, 10)
        .await
        .expect("listed");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].raw, payload, "read back exactly");
    let problems = rows[0].problems.as_ref().expect("problems");
    assert_eq!(problems[0].reason, NUL_RULE);
    assert_eq!(
        problems[0].value.as_deref(),
        Some("សុខ\u{FFFD}ដារ៉ា"),
        "the value's NUL is stood in for"
    );
    let client = e2e::connect(&app.settings.database.name).await;
    let readable: String = client
        .query_one(
            "SELECT payload->>'name_kh' FROM raw_records WHERE source_id = '1000000008'",
            &[],
        )
        .await
        .expect("valid row")
        .get(0);
    assert_eq!(readable, "សុខ\u{FFFD}ដារ៉ា");
    app.stop().await;
}
