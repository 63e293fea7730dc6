//! The API keeps to its OpenAPI document at the edges a generated client reaches:
//! every string parameter of every route refuses a NUL byte with a 400 naming it
//! (PostgreSQL cannot hold one), an empty value is refused the same way, and a method
//! a path does not take is a 405 with `Allow`. The document itself is walked, so a new
//! route is covered the day it is documented. (`tests/schemathesis/run.sh` runs the
//! property-based side of the same promise in CI.)

use e2e::spawn_app;
use serde_json::Value;

const ALL_SCOPES: &str = "staff:read staff:read:pii facilities:read rosters:write reports:read sync:admin audit:read matches:review findings:review corrections:read subscriptions:admin";
const SOME_ID: &str = "67e55044-10b1-426f-9247-bb680e5fe0c8";

/// Every (method, path, parameter name, location) the document declares with a string
/// schema.
fn string_parameters(spec: &Value) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["schema"]["type"] == "string" {
                    out.push((
                        method.to_uppercase(),
                        path.clone(),
                        p["name"].as_str().expect("name").to_owned(),
                        p["in"].as_str().expect("in").to_owned(),
                    ));
                }
            }
        }
    }
    out
}

/// `path` with its templated segments filled with valid values, except `poisoned`.
fn fill(path: &str, poisoned: Option<(&str, &str)>) -> String {
    path.split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) if poisoned.is_some_and(|(n, _)| n == name) => {
                    poisoned.map(|(_, v)| v.to_owned()).unwrap_or_default()
                }
                Some("id" | "delivery_id") => SOME_ID.to_owned(),
                Some("code") => "12".to_owned(),
                Some("ministry") => "mcs".to_owned(),
                Some(other) => panic!("no value for path parameter {other}"),
                None => seg.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

async fn send(app: &e2e::TestApp, method: &str, url: &str, token: &str) -> reqwest::Response {
    let client = reqwest::Client::new();
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    client
        .request(method, app.url(url))
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn every_string_parameter_refuses_nul_and_empty_values_naming_itself() {
    let app = spawn_app().await;
    let token = app.token(ALL_SCOPES, None);
    let spec: Value = app
        .get("/openapi.json", None)
        .await
        .json()
        .await
        .expect("spec");
    let params = string_parameters(&spec);
    assert!(
        params.len() > 30,
        "the document declares {} string parameters",
        params.len()
    );
    let mut checked = 0;
    for (method, path, name, at) in &params {
        for (bad, why) in [("%00", "NUL"), ("a%00b", "NUL"), ("", "empty")] {
            let url = match at.as_str() {
                "query" => format!("{}?{name}={bad}", fill(path, None)),
                "path" if bad.is_empty() => continue, // an empty segment is another path
                "path" => fill(path, Some((name, bad))),
                "header" => {
                    // A header cannot carry NUL on the wire at all; its empty value is
                    // checked below.
                    continue;
                }
                other => panic!("parameter in {other}"),
            };
            let res = send(&app, method, &url, &token).await;
            let status = res.status().as_u16();
            let ctype = res.headers()["content-type"]
                .to_str()
                .unwrap_or("")
                .to_owned();
            let problem: Value = res.json().await.unwrap_or(Value::Null);
            assert_eq!(status, 400, "{method} {url}: {problem}");
            assert_eq!(ctype, "application/problem+json", "{method} {url}");
            assert_eq!(
                problem["parameter"],
                name.as_str(),
                "{method} {url}: {problem}"
            );
            let detail = problem["detail"].as_str().unwrap_or("");
            assert!(detail.contains(why), "{method} {url}: {detail}");
            checked += 1;
        }
    }
    assert!(checked > 60, "checked {checked}");
    // The roster's Idempotency-Key header: empty is refused, naming the header.
    let res = reqwest::Client::new()
        .post(app.url(&format!("/v1/facilities/{SOME_ID}/rosters")))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", "")
        .body(r#"{"period":"2025-12","entries":[]}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 400);
    let problem: Value = res.json().await.expect("json");
    assert_eq!(problem["parameter"], "Idempotency-Key", "{problem}");
}

#[tokio::test]
async fn searches_with_a_nul_byte_are_refused_not_a_server_error() {
    let app = spawn_app().await;
    app.load_sample(1).await;
    let token = app.token(ALL_SCOPES, None);
    for path in ["/v1/staff", "/v1/facilities", "/v1/admin-units"] {
        let res = app.get(&format!("{path}?q=%00"), Some(&token)).await;
        assert_eq!(res.status(), 400, "{path}");
        let res = app.get(&format!("{path}?q=ab%00cd"), Some(&token)).await;
        assert_eq!(res.status(), 400, "{path}");
        // Spaces alone search for nothing (the spec allows them), so every record.
        let (status, body) = app
            .get_json(&format!("{path}?q=%20%20&limit=1"), &token)
            .await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(
            body["items"].as_array().map(Vec::len),
            Some(1),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn a_method_a_path_does_not_take_is_a_405_with_allow() {
    let app = spawn_app().await;
    let token = app.token(ALL_SCOPES, None);
    for (method, path, allow) in [
        ("TRACE", "/healthz", "GET"),
        ("DELETE", "/v1/staff", "GET"),
        ("POST", "/v1/sync/runs", "GET"),
        (
            "PUT",
            &*format!("/v1/facilities/{SOME_ID}/rosters"),
            "GET, POST",
        ),
        ("GET", "/v1/sync/mcs", "POST"),
        ("DELETE", "/openapi.json", "GET"),
    ] {
        let res = send(&app, method, path, &token).await;
        assert_eq!(res.status(), 405, "{method} {path}");
        assert_eq!(res.headers()["allow"], allow, "{method} {path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem: Value = res.json().await.expect("json");
        assert_eq!(problem["code"], "method_not_allowed", "{problem}");
    }
    // A path nobody serves stays a 404, and a ministry that is none is named.
    let res = send(&app, "GET", "/v1/nothing-here", &token).await;
    assert_eq!(res.status(), 404);
    let res = send(&app, "POST", "/v1/sync/MCS", &token).await;
    assert_eq!(res.status(), 400);
    let problem: Value = res.json().await.expect("json");
    assert_eq!(problem["parameter"], "ministry", "{problem}");
}

#[tokio::test]
async fn every_text_field_of_a_roster_refuses_a_nul_naming_the_entry_and_field() {
    let app = spawn_app().await;
    let sample = app.load_sample(1).await;
    let facility = sample.facilities[0].id;
    let token = app.token("rosters:write facilities:read", None);
    let period = (chrono::Utc::now() + chrono::Duration::hours(7))
        .format("%Y-%m")
        .to_string();
    for field in [
        "civil_servant_id",
        "national_id",
        "name_km",
        "name_latin",
        "sex",
        "role",
        "note",
    ] {
        let mut entry = serde_json::json!({
            "civil_servant_id": "1000123456", "national_id": "010203040",
            "name_km": "សុខ ចាន់ថា", "name_latin": "Sok Chantha", "sex": "female",
            "role": "ឆ្មប", "present": true, "note": "ok"
        });
        entry[field] = Value::String("ab\u{0}cd".to_owned());
        let res = app
            .http
            .post(app.url(&format!("/v1/facilities/{facility}/rosters")))
            .bearer_auth(&token)
            .json(&serde_json::json!({"period": period, "entries": [entry]}))
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 422, "{field}");
        let problem: Value = res.json().await.expect("json");
        let errors = problem["errors"].as_array().expect("errors");
        assert!(
            errors.iter().any(|e| e["index"] == 0
                && e["field"] == field
                && e["detail"].as_str().is_some_and(|d| d.contains("NUL"))),
            "{field}: {problem}"
        );
    }
    // The month itself.
    let res = app
        .http
        .post(app.url(&format!("/v1/facilities/{facility}/rosters")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"period": "2025-1\u{0}", "entries": []}))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    assert_eq!(problem["errors"][0]["field"], "period", "{problem}");
}
