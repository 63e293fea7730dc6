//! The facility routes.

use std::collections::HashSet;

use e2e::{collect_pages, spawn_app};
use serde_json::Value;

const READ: &str = "staff:read facilities:read";

fn ids(items: &[Value]) -> HashSet<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn facility_filters_select_exactly_the_matching_facilities() {
    let app = spawn_app().await;
    let sample = app.load_sample(1).await;
    let token = app.token(READ, None);
    let expect = |pred: &dyn Fn(&schema::Facility) -> bool| -> HashSet<String> {
        sample
            .facilities
            .iter()
            .filter(|f| pred(f))
            .map(|f| f.id.to_string())
            .collect()
    };
    let cases: Vec<(String, HashSet<String>)> = vec![
        (
            "/v1/facilities?sector=health".into(),
            expect(&|f| f.sector == schema::Sector::Health),
        ),
        (
            "/v1/facilities?kind=primary_school".into(),
            expect(&|f| f.kind == schema::FacilityKind::PrimarySchool),
        ),
        (
            "/v1/facilities?admin_unit=0103".into(),
            expect(&|f| {
                f.admin_unit_code
                    .as_ref()
                    .is_some_and(|c| c.as_str().starts_with("0103"))
            }),
        ),
        (
            "/v1/facilities?managed_by=MOH".into(),
            expect(&|f| f.managed_by.to_string() == "MOH"),
        ),
        (
            "/v1/facilities?managed_by=1201".into(),
            expect(&|f| f.managed_by.to_string() == "1201"),
        ),
        (
            "/v1/facilities?q=Health%20Post".into(),
            expect(&|f| f.kind == schema::FacilityKind::HealthPost),
        ),
        (
            "/v1/facilities?q=មណ្ឌលសុខភាព".into(),
            expect(&|f| f.kind == schema::FacilityKind::HealthCentre),
        ),
        (
            "/v1/facilities?sector=education&admin_unit=17".into(),
            expect(&|f| {
                f.sector == schema::Sector::Education
                    && f.admin_unit_code
                        .as_ref()
                        .is_some_and(|c| c.as_str().starts_with("17"))
            }),
        ),
    ];
    for (path, expected) in cases {
        assert!(!expected.is_empty(), "{path}: the sample must have matches");
        let (items, _) = collect_pages(&app, &path, &token).await;
        assert_eq!(ids(&items), expected, "{path}");
    }
    let code = sample.facilities[9].identifiers[0].value.clone();
    let (items, _) = collect_pages(&app, &format!("/v1/facilities?q={code}"), &token).await;
    assert_eq!(
        ids(&items),
        HashSet::from([sample.facilities[9].id.to_string()]),
        "q finds a source id"
    );

    let (all, pages) = collect_pages(&app, "/v1/facilities?limit=7", &token).await;
    assert_eq!(all.len(), sample.facilities.len());
    assert_eq!(pages, sample.facilities.len().div_ceil(7));

    for (path, parameter) in [
        ("/v1/facilities?sector=agriculture", "sector"),
        ("/v1/facilities?kind=clinic", "kind"),
        ("/v1/facilities?managed_by=01020101", "managed_by"),
        ("/v1/facilities?updated_since=2024-13-01", "updated_since"),
    ] {
        let (status, body) = app.get_json(path, &token).await;
        assert_eq!(
            (status, body["parameter"].as_str()),
            (400, Some(parameter)),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn updated_since_on_facilities() {
    let app = spawn_app().await;
    let sample = app.load_sample(1).await;
    let token = app.token(READ, None);
    let cutoff = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mut closed = sample.facilities[2].clone();
    closed.status = schema::FacilityStatus::Closed;
    app.store
        .upsert_facilities(&[closed.clone()])
        .await
        .expect("upsert");
    let since = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (items, _) = collect_pages(
        &app,
        &format!("/v1/facilities?updated_since={since}"),
        &token,
    )
    .await;
    assert_eq!(ids(&items), HashSet::from([closed.id.to_string()]));
    assert_eq!(items[0]["status"], "closed");
}

#[tokio::test]
async fn a_facility_and_its_staff() {
    let app = spawn_app().await;
    let sample = app.load_sample(4).await;
    let token = app.token(READ, None);
    let facility = &sample.facilities[3];
    let res = app
        .get(&format!("/v1/facilities/{}", facility.id), Some(&token))
        .await;
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["name_km"], facility.name_km.as_str());
    assert_eq!(body["kind"], facility.kind.as_str());
    assert_eq!(
        body["admin_unit_code"],
        facility.admin_unit_code.as_ref().expect("code").as_str()
    );
    assert_eq!(
        body["identifiers"][0]["value"],
        facility.identifiers[0].value.as_str()
    );
    assert!(body["location"]["lat"].is_number());
    let again = app
        .http
        .get(app.url(&format!("/v1/facilities/{}", facility.id)))
        .bearer_auth(&token)
        .header("If-None-Match", format!("W/{etag}, \"other\""))
        .send()
        .await
        .expect("send");
    assert_eq!(again.status(), 304);

    let expected: HashSet<String> = sample
        .assignments
        .iter()
        .filter(|a| a.facility_id == Some(facility.id))
        .map(|a| a.staff_id.to_string())
        .collect();
    assert_eq!(expected.len(), 4);
    let (items, pages) = collect_pages(
        &app,
        &format!("/v1/facilities/{}/staff?limit=3", facility.id),
        &token,
    )
    .await;
    assert_eq!(ids(&items), expected);
    assert_eq!(pages, 2);
    assert!(items.iter().all(|i| i["national_id"] == "***"));

    let unknown = "00000000-0000-4000-9000-0000000fffff";
    assert_eq!(
        app.get(&format!("/v1/facilities/{unknown}"), Some(&token))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get(&format!("/v1/facilities/{unknown}/staff"), Some(&token))
            .await
            .status(),
        404
    );
    let (status, body) = app.get_json("/v1/facilities/xyz/staff", &token).await;
    assert_eq!((status, body["parameter"].as_str()), (400, Some("id")));
}

#[tokio::test]
async fn a_jurisdiction_limits_facilities_and_their_staff() {
    let app = spawn_app().await;
    let sample = app.load_sample(2).await;
    let district = app.token(READ, Some("0102"));
    let (items, _) = collect_pages(&app, "/v1/facilities", &district).await;
    let inside: HashSet<String> = sample
        .facilities
        .iter()
        .filter(|f| {
            f.admin_unit_code
                .as_ref()
                .is_some_and(|c| c.as_str().starts_with("0102"))
        })
        .map(|f| f.id.to_string())
        .collect();
    assert_eq!(ids(&items), inside);
    let outside = sample
        .facilities
        .iter()
        .find(|f| !inside.contains(&f.id.to_string()))
        .expect("outside");
    assert_eq!(
        app.get(&format!("/v1/facilities/{}", outside.id), Some(&district))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get(
            &format!("/v1/facilities/{}/staff", outside.id),
            Some(&district)
        )
        .await
        .status(),
        404
    );
    let own = sample
        .facilities
        .iter()
        .find(|f| inside.contains(&f.id.to_string()))
        .expect("inside");
    assert_eq!(
        app.get(&format!("/v1/facilities/{}/staff", own.id), Some(&district))
            .await
            .status(),
        200
    );
}
