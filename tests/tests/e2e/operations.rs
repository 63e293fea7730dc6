//! Health, readiness, metrics, docs and the committed OpenAPI spec.

use e2e::spawn_app;
use serde_json::Value;

#[tokio::test]
async fn health_and_readiness_need_no_token() {
    let app = spawn_app().await;
    let res = app.get("/healthz", None).await;
    assert_eq!(res.status(), 200);
    let res = app.get("/readyz", None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn readiness_fails_on_a_database_that_is_not_migrated() {
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    store::create_database(e2e::database_server(), &name)
        .await
        .expect("create");
    let settings = e2e::test_settings(&name);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let app = gateway::startup::Application::build(&settings, listener)
        .await
        .expect("build");
    let url = format!("http://127.0.0.1:{}/readyz", app.port());
    tokio::spawn(app.run_until_stopped());
    let res = reqwest::get(&url).await.expect("get");
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["code"], "database_unavailable");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_show_the_pool() {
    let app = spawn_app().await;
    let token = app.token("facilities:read", None);
    for _ in 0..3 {
        assert_eq!(app.get("/v1/facilities", Some(&token)).await.status(), 200);
    }
    assert_eq!(app.get("/v1/facilities", None).await.status(), 401);
    let text = app.get("/metrics", None).await.text().await.expect("text");
    let count = |needle: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with("http_requests_total{") && l.contains(needle))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    // Metrics are per process; other tests in this process may add to them.
    assert!(
        count(r#"route="/v1/facilities",status="200""#) >= 3.0,
        "{text}"
    );
    assert!(
        count(r#"route="/v1/facilities",status="401""#) >= 1.0,
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket{"),
        "latency histogram"
    );
    // Each HTTP worker has a pool of its own; the figure is their sum, the configured size.
    let pool_max = text
        .lines()
        .find(|l| l.starts_with("db_pool_max_connections "))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok());
    assert_eq!(
        pool_max,
        Some(app.settings.database.pool_size as f64),
        "pool figures: {text}"
    );
    assert!(text.contains("db_pool_idle_connections"));
}

#[tokio::test]
async fn docs_and_the_spec_are_served_from_the_binary() {
    let app = spawn_app().await;
    let res = app.get("/docs", None).await;
    assert!(res.status().is_redirection());
    assert_eq!(res.headers()["location"], "/docs/");
    let res = app.get("/docs/", None).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("html");
    assert!(html.contains("swagger-ui"), "Swagger UI page");
    assert!(
        !html.contains("cdn") && !html.contains("unpkg"),
        "nothing loaded from a CDN"
    );
    let config = app
        .get("/docs/swagger-initializer.js", None)
        .await
        .text()
        .await
        .expect("js");
    assert!(config.contains("/openapi.json"), "{config}");
    assert!(
        config
            .replace(' ', "")
            .contains("\"validatorUrl\":\"none\""),
        "no online validator: {config}"
    );
    let spec: Value = app
        .get("/openapi.json", None)
        .await
        .json()
        .await
        .expect("spec");
    assert_eq!(
        spec["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true)
    );
}

#[test]
fn the_committed_spec_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = gateway::openapi::spec_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date: run `cargo run -p interop-gateway -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn the_spec_documents_every_route_with_errors_and_security() {
    let spec: Value = serde_json::from_str(&gateway::openapi::spec_json()).expect("json");
    let paths = spec["paths"].as_object().expect("paths");
    for route in [
        "/v1/staff",
        "/v1/staff/{id}",
        "/v1/facilities",
        "/v1/facilities/{id}",
        "/v1/facilities/{id}/staff",
        "/v1/admin-units",
        "/v1/admin-units/{code}",
        "/v1/sync/runs",
        "/v1/sync/rejections",
        "/v1/sync/{ministry}",
        "/v1/changes",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        let item = paths
            .get(route)
            .unwrap_or_else(|| panic!("{route} undocumented"));
        let op = if route == "/v1/sync/{ministry}" {
            &item["post"]
        } else {
            &item["get"]
        };
        assert!(
            op["description"].is_string() || op["summary"].is_string(),
            "{route} has no description"
        );
        if route.starts_with("/v1") {
            assert!(op["security"].is_array(), "{route} has no security");
            for status in ["400", "401", "403"] {
                let content = &op["responses"][status]["content"]["application/problem+json"];
                assert!(
                    content.is_object(),
                    "{route} does not document {status} as problem+json"
                );
            }
        }
    }
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}
