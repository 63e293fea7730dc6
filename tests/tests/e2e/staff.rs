//! The staff routes: paging, every filter, ETags, masking and jurisdiction.

use std::collections::HashSet;

use e2e::{collect_pages, spawn_app};
use serde_json::Value;

const READ: &str = "staff:read facilities:read";
const READ_PII: &str = "staff:read staff:read:pii facilities:read";

fn ids(items: &[Value]) -> HashSet<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn paging_walks_every_record_once_in_pages_of_the_requested_size() {
    let app = spawn_app().await;
    let sample = app.load_sample(3).await;
    let token = app.token(READ, None);
    let (items, pages) = collect_pages(&app, "/v1/staff?limit=50", &token).await;
    let expected: HashSet<String> = sample.staff.iter().map(|s| s.id.to_string()).collect();
    assert_eq!(items.len(), expected.len(), "every record once");
    assert_eq!(ids(&items), expected);
    assert_eq!(pages, expected.len().div_ceil(50));
    // The default page is 100 records.
    let (_, body) = app.get_json("/v1/staff", &token).await;
    assert_eq!(body["items"].as_array().expect("items").len(), 100);
    assert!(body["next_cursor"].is_string());
}

#[tokio::test]
async fn every_filter_selects_exactly_the_matching_records() {
    let app = spawn_app().await;
    let sample = app.load_sample(3).await;
    let token = app.token(READ, None);
    let all = |pred: &dyn Fn(&schema::Staff) -> bool| -> HashSet<String> {
        sample
            .staff
            .iter()
            .filter(|s| pred(s))
            .map(|s| s.id.to_string())
            .collect()
    };
    let check = |path: String, expected: HashSet<String>| {
        let app = &app;
        let token = &token;
        async move {
            let (items, _) = collect_pages(app, &path, token).await;
            assert!(
                !expected.is_empty(),
                "{path}: the sample must have matches for a meaningful test"
            );
            assert_eq!(ids(&items), expected, "{path}");
        }
    };
    check(
        "/v1/staff?employer=MOH&limit=1000".into(),
        all(&|s| s.employer.as_ref().is_some_and(|e| e.as_str() == "MOH")),
    )
    .await;
    check(
        "/v1/staff?employer=moeys".into(),
        all(&|s| s.employer.as_ref().is_some_and(|e| e.as_str() == "MOEYS")),
    )
    .await;
    check(
        "/v1/staff?status=suspended".into(),
        all(&|s| s.status == schema::StaffStatus::Suspended),
    )
    .await;
    for area in ["12", "0102", "171003"] {
        check(
            format!("/v1/staff?admin_unit={area}"),
            all(&|s| {
                s.admin_unit_code
                    .as_ref()
                    .is_some_and(|c| c.as_str().starts_with(area))
            }),
        )
        .await;
    }
    let facility = &sample.facilities[5];
    let at_facility: HashSet<String> = sample
        .assignments
        .iter()
        .filter(|a| a.facility_id == Some(facility.id))
        .map(|a| a.staff_id.to_string())
        .collect();
    check(
        format!("/v1/staff?facility_id={}", facility.id),
        at_facility,
    )
    .await;
    // q finds names in Khmer (also when written with a zero-width space), Latin, and ids.
    check(
        "/v1/staff?q=ចាន់ថា".into(),
        all(&|s| s.name_km.as_str().contains("ចាន់ថា")),
    )
    .await;
    check(
        "/v1/staff?q=ចាន់\u{200B}ថា".into(),
        all(&|s| s.name_km.as_str().contains("ចាន់ថា")),
    )
    .await;
    check(
        "/v1/staff?q=sok%20chantha".into(),
        all(&|s| {
            s.name_latin
                .as_ref()
                .is_some_and(|n| n.as_str() == "Sok Chantha")
        }),
    )
    .await;
    let csid = sample.staff[7].civil_servant_id.clone().expect("csid");
    check(
        format!("/v1/staff?q={csid}"),
        all(&|s| s.civil_servant_id.as_ref() == Some(&csid)),
    )
    .await;
    // Filters combine.
    check(
        "/v1/staff?employer=MOH&admin_unit=01&status=active".into(),
        all(&|s| {
            s.employer.as_ref().is_some_and(|e| e.as_str() == "MOH")
                && s.admin_unit_code
                    .as_ref()
                    .is_some_and(|c| c.as_str().starts_with("01"))
                && s.status == schema::StaffStatus::Active
        }),
    )
    .await;
}

#[tokio::test]
async fn updated_since_returns_only_records_changed_since() {
    let app = spawn_app().await;
    let sample = app.load_sample(2).await;
    let token = app.token(READ, None);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let cutoff = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let mut changed = sample.staff[3].clone();
    changed.grade = Some("Z9".to_owned());
    app.store
        .upsert_staff(std::slice::from_ref(&changed))
        .await
        .expect("upsert");
    let since = cutoff
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        .replace('+', "%2B");
    let (status, body) = app
        .get_json(&format!("/v1/staff?updated_since={since}"), &token)
        .await;
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(items[0]["id"], changed.id.to_string());
    assert_eq!(items[0]["grade"], "Z9");
}

#[tokio::test]
async fn a_single_record_has_an_etag_and_answers_304_until_it_changes() {
    let app = spawn_app().await;
    let sample = app.load_sample(1).await;
    let token = app.token(READ, None);
    let person = &sample.staff[0];
    let path = format!("/v1/staff/{}", person.id);
    let res = app.get(&path, Some(&token)).await;
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["name_km"], person.name_km.as_str());
    assert_eq!(
        body["civil_servant_id"],
        person.civil_servant_id.as_ref().expect("csid").as_str()
    );
    assert_eq!(
        body["assignments"].as_array().expect("assignments").len(),
        1
    );
    assert_eq!(body["sources"][0]["ministry"], "mcs");

    let again = app
        .http
        .get(app.url(&path))
        .bearer_auth(&token)
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("send");
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.expect("body").is_empty());

    let mut changed = person.clone();
    changed.status = schema::StaffStatus::Retired;
    app.store.upsert_staff(&[changed]).await.expect("upsert");
    let after = app
        .http
        .get(app.url(&path))
        .bearer_auth(&token)
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("send");
    assert_eq!(after.status(), 200, "a changed record is sent again");
    assert_ne!(after.headers()["etag"], etag.as_str());
    // Masked and unmasked views of one version are different representations.
    let pii = app.get(&path, Some(&app.token(READ_PII, None))).await;
    assert_ne!(pii.headers()["etag"], after.headers()["etag"]);
}

#[tokio::test]
async fn personal_data_is_masked_without_the_pii_scope() {
    let app = spawn_app().await;
    let sample = app.load_sample(1).await;
    let mut person = sample.staff[0].clone();
    person.identifiers.push(
        schema::SourceIdentifier::parse("https://gdi.gov.kh/national-id", "010203040").expect("id"),
    );
    app.store
        .upsert_staff(std::slice::from_ref(&person))
        .await
        .expect("upsert");
    let path = format!("/v1/staff/{}", person.id);
    let nid = person.national_id.as_ref().expect("nid").as_str();
    let birth = person.birth_date.expect("birth").to_string();

    let (_, masked) = app.get_json(&path, &app.token(READ, None)).await;
    assert_eq!(masked["national_id"], "***");
    assert_eq!(masked["birth_date"], "***");
    assert_eq!(masked["pii_masked"], true);
    assert!(
        !masked.to_string().contains(nid),
        "the national id must not leak anywhere: {masked}"
    );
    assert!(
        !masked.to_string().contains("010203040"),
        "nor through identifiers"
    );
    let (_, list) = app
        .get_json("/v1/staff?limit=1000", &app.token(READ, None))
        .await;
    assert!(
        !list.to_string().contains(nid) && !list.to_string().contains(&birth),
        "lists are masked too"
    );

    let (_, clear) = app.get_json(&path, &app.token(READ_PII, None)).await;
    assert_eq!(clear["national_id"], nid);
    assert_eq!(clear["birth_date"], birth);
    assert_eq!(clear["pii_masked"], false);
}

#[tokio::test]
async fn a_jurisdiction_sees_only_its_own_area_in_lists_and_single_records() {
    let app = spawn_app().await;
    let sample = app.load_sample(2).await;
    let province = app.token(READ, Some("12"));
    let (items, _) = collect_pages(&app, "/v1/staff?limit=1000", &province).await;
    let inside: HashSet<String> = sample
        .staff
        .iter()
        .filter(|s| {
            s.admin_unit_code
                .as_ref()
                .is_some_and(|c| c.as_str().starts_with("12"))
        })
        .map(|s| s.id.to_string())
        .collect();
    assert!(!inside.is_empty());
    assert_eq!(ids(&items), inside);
    // Asking for another area inside the token's gives nothing outside it.
    let (outside_filter, _) = collect_pages(&app, "/v1/staff?admin_unit=01", &province).await;
    assert!(outside_filter.is_empty());

    let outsider = sample
        .staff
        .iter()
        .find(|s| !inside.contains(&s.id.to_string()))
        .expect("one outside");
    let insider = sample
        .staff
        .iter()
        .find(|s| inside.contains(&s.id.to_string()))
        .expect("one inside");
    let res = app
        .get(&format!("/v1/staff/{}", outsider.id), Some(&province))
        .await;
    assert_eq!(
        res.status(),
        404,
        "a record outside the jurisdiction is not found, never shown"
    );
    let unknown = app
        .get(
            "/v1/staff/00000000-0000-4000-8000-00000000ffff",
            Some(&province),
        )
        .await;
    let (a, b): (Value, Value) = (
        res.json().await.expect("json"),
        unknown.json().await.expect("json"),
    );
    assert_eq!(a["code"], b["code"], "outside and absent look alike");
    assert_eq!(
        app.get(&format!("/v1/staff/{}", insider.id), Some(&province))
            .await
            .status(),
        200
    );
    // A commune-level jurisdiction narrows further.
    let commune = app.token(READ, Some("120101"));
    let (items, _) = collect_pages(&app, "/v1/staff", &commune).await;
    assert!(!items.is_empty());
    assert!(items.iter().all(|i| {
        i["admin_unit_code"]
            .as_str()
            .expect("code")
            .starts_with("120101")
    }));
}

#[tokio::test]
async fn malformed_input_is_a_400_naming_the_parameter_and_unknown_ids_are_404() {
    let app = spawn_app().await;
    app.load_sample(1).await;
    let token = app.token(READ, None);
    for (path, parameter) in [
        ("/v1/staff?limit=0", "limit"),
        ("/v1/staff?limit=1001", "limit"),
        ("/v1/staff?limit=ten", "limit"),
        ("/v1/staff?limit=-5", "limit"),
        ("/v1/staff?cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("/v1/staff?cursor=%%%", "cursor"),
        ("/v1/staff?admin_unit=99", "admin_unit"),
        ("/v1/staff?admin_unit=01x", "admin_unit"),
        ("/v1/staff?status=sleeping", "status"),
        ("/v1/staff?employer=%20", "employer"),
        ("/v1/staff?facility_id=42", "facility_id"),
        ("/v1/staff?updated_since=yesterday", "updated_since"),
        ("/v1/staff?q=", "q"),
        ("/v1/staff?colour=blue", "colour"),
        ("/v1/staff?limit=5&limit=6", "limit"),
        ("/v1/staff/not-a-uuid", "id"),
    ] {
        let res = app.get(path, Some(&token)).await;
        assert_eq!(res.status(), 400, "{path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["parameter"], parameter, "{path}: {body}");
        assert!(
            body["detail"].as_str().expect("detail").contains(parameter),
            "{path}: {body}"
        );
        for field in ["type", "title", "status", "detail", "code"] {
            assert!(!body[field].is_null(), "{path}: problem lacks {field}");
        }
    }
    let res = app
        .get(
            "/v1/staff/00000000-0000-4000-8000-00000000ffff",
            Some(&token),
        )
        .await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["code"], "not_found");
    let res = app.get("/v1/nothing-here", Some(&token)).await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}
