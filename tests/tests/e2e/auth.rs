//! Every way a token can be wrong, and the key sources that make one right.

use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use e2e::{SECRET, spawn_app, spawn_app_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({
        "sub": "ministry-app", "iss": "interop-gateway", "aud": "interop-gateway",
        "iat": now, "nbf": now, "exp": now + 600, "scope": "staff:read facilities:read",
    });
    for (k, v) in overrides.as_object().expect("object") {
        if v.is_null() {
            c.as_object_mut().expect("object").remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn hs256(overrides: Value, secret: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims(overrides),
        &EncodingKey::from_secret(secret),
    )
    .expect("sign")
}

async fn assert_401(app: &e2e::TestApp, token: &str, code: &str) {
    let res = app.get("/v1/facilities", Some(token)).await;
    assert_eq!(res.status(), 401, "token should be refused with {code}");
    assert!(
        res.headers().contains_key("www-authenticate"),
        "401 must carry WWW-Authenticate"
    );
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], 401);
    assert!(body["type"].as_str().is_some_and(|t| t.ends_with(code)));
}

#[tokio::test]
async fn no_token_is_401_with_a_challenge() {
    let app = spawn_app().await;
    for path in [
        "/v1/staff",
        "/v1/staff/00000000-0000-0000-0000-000000000001",
        "/v1/facilities",
        "/v1/admin-units",
    ] {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), 401, "{path}");
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["code"], "missing_token");
    }
    // A non-bearer scheme is no token either.
    let res = app
        .http
        .get(app.url("/v1/staff"))
        .basic_auth("user", Some("pw"))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn bad_signature_expired_wrong_audience_wrong_issuer_and_not_yet_valid_are_401() {
    let app = spawn_app().await;
    assert_401(
        &app,
        &hs256(json!({}), b"some-other-secret-entirely-not-ours"),
        "invalid_token",
    )
    .await;
    let now = chrono::Utc::now().timestamp();
    assert_401(
        &app,
        &hs256(
            json!({"exp": now - 3600, "nbf": now - 7200, "iat": now - 7200}),
            SECRET.as_bytes(),
        ),
        "token_expired",
    )
    .await;
    assert_401(
        &app,
        &hs256(json!({"aud": "someone-else"}), SECRET.as_bytes()),
        "invalid_token",
    )
    .await;
    assert_401(
        &app,
        &hs256(json!({"iss": "rogue-issuer"}), SECRET.as_bytes()),
        "invalid_token",
    )
    .await;
    assert_401(
        &app,
        &hs256(json!({"nbf": now + 3600}), SECRET.as_bytes()),
        "invalid_token",
    )
    .await;
    assert_401(
        &app,
        &hs256(json!({"exp": null}), SECRET.as_bytes()),
        "invalid_token",
    )
    .await;
    assert_401(
        &app,
        &hs256(json!({"jurisdiction": "99"}), SECRET.as_bytes()),
        "invalid_token",
    )
    .await;
    assert_401(&app, "not.a.jwt", "invalid_token").await;
    // A valid token passes, so the refusals above are about the token.
    let res = app
        .get("/v1/facilities", Some(&hs256(json!({}), SECRET.as_bytes())))
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn alg_none_is_refused() {
    use base64::Engine;
    let app = spawn_app().await;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64.encode(claims(json!({})).to_string());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        assert_401(&app, &token, "unsupported_algorithm").await;
    }
}

#[tokio::test]
async fn a_missing_scope_is_403() {
    let app = spawn_app().await;
    let only_facilities = app.token("facilities:read", None);
    for path in [
        "/v1/staff",
        "/v1/staff/00000000-0000-0000-0000-000000000001",
    ] {
        let res = app.get(path, Some(&only_facilities)).await;
        assert_eq!(res.status(), 403, "{path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["code"], "missing_scope");
        assert!(
            body["detail"]
                .as_str()
                .expect("detail")
                .contains("staff:read")
        );
    }
    let only_staff = app.token("staff:read", None);
    for path in ["/v1/facilities", "/v1/admin-units", "/v1/admin-units/01"] {
        assert_eq!(
            app.get(path, Some(&only_staff)).await.status(),
            403,
            "{path}"
        );
    }
}

/// Serves a JWKS document on a free port, as an identity provider would.
async fn jwks_server(document: Vec<u8>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = HttpServer::new(move || {
        let doc = document.clone();
        App::new().route(
            "/.well-known/jwks.json",
            web::get().to(move || {
                let doc = doc.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(doc)
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}/.well-known/jwks.json")
}

fn rs256(kid: Option<&str>, key_file: &str, overrides: Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    encode(
        &header,
        &claims(overrides),
        &EncodingKey::from_rsa_pem(&fixture(key_file)).expect("key"),
    )
    .expect("sign")
}

#[tokio::test]
async fn rs256_tokens_verify_against_a_jwks_url_and_unknown_keys_do_not() {
    let url = jwks_server(fixture("jwks.json")).await;
    let app = spawn_app_with(|s| {
        s.auth.hs256_secret = String::new().into();
        s.auth.jwks_url = url;
    })
    .await;
    let good = rs256(Some("test-rsa-1"), "rsa_private.pem", json!({}));
    let res = app.get("/v1/facilities", Some(&good)).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    // Same kid, other key: the signature does not verify.
    assert_401(
        &app,
        &rs256(Some("test-rsa-1"), "rsa_other_private.pem", json!({})),
        "invalid_token",
    )
    .await;
    // A kid the identity provider does not publish.
    assert_401(
        &app,
        &rs256(Some("unknown-kid"), "rsa_private.pem", json!({})),
        "invalid_token",
    )
    .await;
    // HS256 is off when no secret is configured, whatever the token says.
    assert_401(
        &app,
        &hs256(json!({}), SECRET.as_bytes()),
        "unsupported_algorithm",
    )
    .await;
}

#[tokio::test]
async fn an_hs256_token_signed_with_the_public_key_is_refused() {
    // The classic confusion: the attacker signs HS256 with the (public) RSA key bytes.
    let public_pem = String::from_utf8(fixture("rsa_public.pem")).expect("utf8");
    let app = spawn_app_with(|s| {
        s.auth.hs256_secret = String::new().into();
        s.auth.public_key_pem = public_pem.clone();
        s.auth.public_key_algorithm = "RS256".to_owned();
    })
    .await;
    assert_401(
        &app,
        &hs256(json!({}), public_pem.as_bytes()),
        "unsupported_algorithm",
    )
    .await;
    let good = rs256(None, "rsa_private.pem", json!({}));
    assert_eq!(app.get("/v1/facilities", Some(&good)).await.status(), 200);
}

#[tokio::test]
async fn es256_tokens_verify_against_a_pem_public_key() {
    let app = spawn_app_with(|s| {
        s.auth.hs256_secret = String::new().into();
        s.auth.public_key_file = format!("{}/fixtures/ec_public.pem", env!("CARGO_MANIFEST_DIR"));
        s.auth.public_key_algorithm = "ES256".to_owned();
    })
    .await;
    let token = encode(
        &Header::new(Algorithm::ES256),
        &claims(json!({})),
        &EncodingKey::from_ec_pem(&fixture("ec_private.pem")).expect("key"),
    )
    .expect("sign");
    assert_eq!(app.get("/v1/facilities", Some(&token)).await.status(), 200);
    // An RS256 token is not accepted by an ES256-only gateway.
    assert_401(
        &app,
        &rs256(None, "rsa_private.pem", json!({})),
        "unsupported_algorithm",
    )
    .await;
}

#[tokio::test]
async fn the_gateway_refuses_to_start_without_a_verification_key() {
    let (name, _) = e2e::fresh_database().await;
    let mut settings = e2e::test_settings(&name);
    settings.auth.hs256_secret = String::new().into();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let err = gateway::startup::Application::build(&settings, listener)
        .await
        .expect_err("must refuse");
    assert!(
        err.to_string().contains("GATEWAY__AUTH__HS256_SECRET"),
        "{err}"
    );
}

#[tokio::test]
async fn the_token_command_mints_a_token_the_gateway_accepts() {
    let app = spawn_app().await;
    let out = std::process::Command::new(e2e_bin())
        .args([
            "token",
            "--sub",
            "cli",
            "--scope",
            "facilities:read",
            "--jurisdiction",
            "12",
            "--ttl",
            "5m",
        ])
        .env("GATEWAY__AUTH__HS256_SECRET", SECRET)
        .output()
        .expect("run interop-gateway token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned();
    assert_eq!(app.get("/v1/facilities", Some(&token)).await.status(), 200);
    let data = jsonwebtoken::dangerous::insecure_decode::<Value>(&token).expect("decode");
    assert_eq!(data.claims["jurisdiction"], "12");
    let ttl = data.claims["exp"].as_i64().expect("exp") - data.claims["iat"].as_i64().expect("iat");
    assert_eq!(ttl, Duration::from_secs(300).as_secs() as i64);
}

/// The `interop-gateway` command line (the test package's build of it, from crate
/// `interop-gateway`: cargo builds a package's binaries before its integration tests,
/// on any machine).
pub fn e2e_bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_gateway-cli"))
}
