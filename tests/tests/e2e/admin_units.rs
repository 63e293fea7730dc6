//! The gazetteer routes.

use e2e::{collect_pages, spawn_app};

const READ: &str = "facilities:read";

fn codes(items: &[serde_json::Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["code"].as_str().expect("code").to_owned())
        .collect()
}

#[tokio::test]
async fn admin_units_by_level_parent_and_name() {
    let app = spawn_app().await;
    let sample = app.load_sample(0).await;
    let token = app.token(READ, None);
    let (items, pages) = collect_pages(&app, "/v1/admin-units?limit=10", &token).await;
    let mut all: Vec<String> = sample.units.iter().map(|u| u.code.to_string()).collect();
    all.sort();
    assert_eq!(codes(&items), all, "every unit, in code order");
    assert_eq!(pages, all.len().div_ceil(10));

    let (items, _) = collect_pages(&app, "/v1/admin-units?level=province", &token).await;
    assert_eq!(codes(&items), ["01", "12", "17"]);
    let (items, _) = collect_pages(&app, "/v1/admin-units?parent=12", &token).await;
    assert_eq!(codes(&items), ["1201", "1202"]);
    assert_eq!(items[0]["kind"], "khan");
    let (items, _) = collect_pages(&app, "/v1/admin-units?q=ទន្លេមាស", &token).await;
    assert_eq!(codes(&items), ["12"]);
    let (items, _) = collect_pages(
        &app,
        "/v1/admin-units?q=tuol%20krabau&level=commune",
        &token,
    )
    .await;
    assert_eq!(codes(&items), ["120109", "120110"]);

    let res = app.get("/v1/admin-units/1710", Some(&token)).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("etag"));
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["name_latin"], "Stueng Chrov");
    assert_eq!(body["kind"], "municipality");
    assert_eq!(body["level"], "district");
    assert_eq!(body["parent_code"], "17");

    assert_eq!(
        app.get("/v1/admin-units/1799", Some(&token)).await.status(),
        404
    );
    let (status, body) = app.get_json("/v1/admin-units/17x", &token).await;
    assert_eq!((status, body["parameter"].as_str()), (400, Some("code")));
    let (status, body) = app.get_json("/v1/admin-units?level=country", &token).await;
    assert_eq!((status, body["parameter"].as_str()), (400, Some("level")));
}

#[tokio::test]
async fn a_jurisdiction_sees_its_own_units_only() {
    let app = spawn_app().await;
    app.load_sample(0).await;
    let token = app.token(READ, Some("0102"));
    let (items, _) = collect_pages(&app, "/v1/admin-units", &token).await;
    assert_eq!(
        codes(&items),
        ["0102", "010201", "010202", "010203", "010204"]
    );
    assert_eq!(
        app.get("/v1/admin-units/0102", Some(&token)).await.status(),
        200
    );
    assert_eq!(
        app.get("/v1/admin-units/01", Some(&token)).await.status(),
        404
    );
    assert_eq!(
        app.get("/v1/admin-units/1201", Some(&token)).await.status(),
        404
    );
}
