//! The app: signing in through a real OpenID provider (`oidc-provider` on Node.js,
//! started here), a site head's roster page and its submissions, the session's
//! cookie, CSRF and sign-out, and the REST API staying bearer-only.

use std::net::TcpListener;
use std::time::Duration;

use e2e::oidc::{self, OidcProvider, attribute_after};
use e2e::pages::{FirstLoad, browser, first_load};
use e2e::{TestApp, spawn_app_on};
use schema::FacilityKind;
use serde_json::{Value, json};

/// A gateway whose app signs in through a provider with a site head of a health
/// centre in commune 010201 (sample registry, 3 staff a facility), a district
/// officer of 0102 and a provincial officer of 01.
struct World {
    app: TestApp,
    provider: OidcProvider,
    facility: String,
    staff_names: Vec<String>,
}

async fn world() -> World {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let gateway = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let sample = e2e::sample::sample_registry(3).expect("sample");
    let facility = sample
        .facilities
        .iter()
        .find(|f| {
            f.kind == FacilityKind::HealthCentre
                && f.admin_unit_code
                    .as_ref()
                    .is_some_and(|c| c.as_str() == "010201")
        })
        .expect("a health centre in 010201");
    let facility_id = facility.id.to_string();
    let accounts = [
        oidc::account(
            "site-head",
            json!({"name": "សុខ ចាន់ថា", "permissions": "rosters:write facilities:read",
                   "jurisdiction": "010201", "facility": facility_id}),
        ),
        oidc::account(
            "district-officer",
            json!({"name": "ជា វណ្ណា",
                   "permissions": ["findings:review", "matches:review", "reports:read", "staff:read"],
                   "jurisdiction": "0102"}),
        ),
        oidc::account(
            "provincial-officer",
            json!({"name": "លី សុភាព", "permissions": "reports:read", "jurisdiction": "01"}),
        ),
    ];
    let provider = OidcProvider::start(&gateway, &accounts).await;
    let issuer = provider.issuer.clone();
    let app = spawn_app_on(listener, |s| {
        s.app.issuer = issuer;
        s.app.client_id = oidc::CLIENT_ID.to_owned();
        s.app.client_secret = oidc::CLIENT_SECRET.into();
        s.app.public_url = gateway.clone();
    })
    .await;
    app.load_sample(3).await;
    let token = app.token("staff:read", Some("010201"));
    let (status, staff) = app
        .get_json(&format!("/v1/facilities/{facility_id}/staff"), &token)
        .await;
    assert_eq!(status, 200, "{staff}");
    let staff_names = staff["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["name_km"].as_str().expect("name").to_owned())
        .collect();
    World {
        app,
        provider,
        facility: facility_id,
        staff_names,
    }
}

fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// The site head signs in through the provider's login form, sees their facility's
/// staff (as the API lists them), submits a roster from the form (the no-script
/// path) and again with the API's JSON body (the page's outbox path): both go through
/// the roster service, are kept to the facility, replay on their Idempotency-Key, and
/// need the session's CSRF token. The API never takes the cookie. Sign-out ends it.
#[tokio::test]
async fn a_site_head_signs_in_and_submits_this_months_roster() {
    let world = world().await;
    let app = &world.app;
    let http = browser();

    // The landing page offers sign-in; starting it sets the binding cookie and asks
    // for PKCE S256.
    let landing = http.get(app.url("/app/")).send().await.expect("landing");
    assert_eq!(landing.status(), 200);
    assert!(
        landing
            .text()
            .await
            .expect("html")
            .contains("/app/auth/sign-in")
    );
    let start = http
        .get(app.url("/app/auth/sign-in"))
        .send()
        .await
        .expect("sign-in");
    assert_eq!(start.status(), 303);
    let authorize = start.headers()[reqwest::header::LOCATION]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(authorize.starts_with(&world.provider.issuer), "{authorize}");
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    let cookie = set_cookies(&start).join(" | ");
    assert!(
        cookie.contains("gw_sign_in=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Secure"),
        "{cookie}"
    );

    // The whole sign-in, through the provider's form.
    let signed_in = oidc::sign_in(&http, &app.address, "site-head").await;
    let page = signed_in.page;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("សុខ ចាន់ថា"), "the person's name is shown");
    assert!(
        html.contains("href=\"/app/roster\""),
        "a site head is offered the roster"
    );

    // The roster page lists who the registry says serves there, as the API does.
    let roster = http
        .get(app.url("/app/roster"))
        .send()
        .await
        .expect("roster");
    assert_eq!(roster.status(), 200);
    let cache = roster.headers()[reqwest::header::CACHE_CONTROL]
        .to_str()
        .expect("cc")
        .to_owned();
    assert_eq!(cache, "no-store");
    let html = roster.text().await.expect("html");
    assert!(!world.staff_names.is_empty());
    for name in &world.staff_names {
        assert!(html.contains(name.as_str()), "{name} is listed");
    }
    assert!(html.contains(&world.facility));
    let csrf = attribute_after(&html, "name=\"csrf\"", "value").expect("csrf");
    let key = attribute_after(&html, "name=\"idempotency_key\"", "value").expect("key");
    let period = attribute_after(&html, "name=\"period\"", "value").expect("period");
    let csid =
        |i: usize| attribute_after(&html, &format!("name=\"e.{i}.civil_servant_id\""), "value");
    let name = |i: usize| {
        attribute_after(&html, &format!("name=\"e.{i}.name_km\""), "value").expect("name")
    };

    // Posted as the form (no script): present, absent with a reason, one added.
    let mut form: Vec<(String, String)> = vec![
        ("csrf".into(), csrf.clone()),
        ("idempotency_key".into(), key.clone()),
        ("period".into(), period.clone()),
        ("e.0.name_km".into(), name(0)),
        ("e.0.status".into(), "present".into()),
        ("e.1.name_km".into(), name(1)),
        ("e.1.status".into(), "absent".into()),
        ("e.1.reason".into(), "on_leave".into()),
        ("e.1.note".into(), "ដល់ខែមីនា".into()),
        ("e.2.name_km".into(), name(2)),
        ("e.2.status".into(), "unknown".into()),
        ("a.0.name_km".into(), "លី សុខា".into()),
        ("a.0.name_latin".into(), "Ly Sokha".into()),
        ("a.0.sex".into(), "female".into()),
        ("a.0.role".into(), "អ្នកស្ម័គ្រចិត្ត".into()),
    ];
    for i in 0..2 {
        if let Some(id) = csid(i) {
            form.push((format!("e.{i}.civil_servant_id"), id));
        }
    }
    let sent = http
        .post(app.url("/app/roster"))
        .form(&form)
        .send()
        .await
        .expect("post form");
    assert_eq!(sent.status(), 303);
    let location = sent.headers()[reqwest::header::LOCATION]
        .to_str()
        .expect("loc")
        .to_owned();
    let first_id = location
        .strip_prefix("/app/roster?sent=")
        .unwrap_or_else(|| panic!("{location}"))
        .to_owned();

    // The API shows it, submitted by the person, with what the form said.
    let reader = app.token("reports:read", Some("0102"));
    let (status, stored) = app
        .get_json(&format!("/v1/rosters/{first_id}"), &reader)
        .await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["facility_id"], world.facility.as_str());
    assert_eq!(stored["submitted_by"], "site-head");
    assert_eq!(stored["period"], period.as_str());
    assert_eq!(stored["counts"]["entries"], 3, "{stored}");
    assert_eq!(stored["counts"]["present"], 2, "{stored}");
    let absent = &stored["entries"][1];
    assert_eq!(absent["present"], false);
    assert_eq!(absent["note"], "ច្បាប់ឈប់សម្រាក (On leave): ដល់ខែមីនា");
    assert_eq!(stored["entries"][2]["name_latin"], "Ly Sokha");

    // The same form again (a double tap) is the same roster.
    let again = http
        .post(app.url("/app/roster"))
        .form(&form)
        .send()
        .await
        .expect("again");
    assert_eq!(again.status(), 303);
    assert_eq!(
        again.headers()[reqwest::header::LOCATION],
        location.as_str()
    );

    // The page now says the month's roster was sent.
    let html = http
        .get(app.url(&location))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("notice ok"), "the sent notice");

    // The outbox's way: the API's JSON body, the CSRF token from /app/session, an
    // Idempotency-Key. It supersedes the form's roster.
    let session: Value = http
        .get(app.url("/app/session"))
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("json");
    assert_eq!(session["subject"], "site-head");
    assert_eq!(session["facility_id"], world.facility.as_str());
    let token = session["csrf_token"].as_str().expect("csrf").to_owned();
    assert_eq!(token, csrf);
    let body = json!({"period": period, "entries": [
        {"name_km": name(0), "present": true},
        {"name_km": "លី សុខា", "name_latin": "Ly Sokha", "present": true}
    ]});
    let outbox_key = uuid::Uuid::new_v4().to_string();
    let post = |csrf: Option<&str>| {
        let mut req = http
            .post(app.url("/app/roster"))
            .header("Idempotency-Key", &outbox_key)
            .json(&body);
        if let Some(c) = csrf {
            req = req.header("X-CSRF-Token", c);
        }
        req.send()
    };
    let refused = post(None).await.expect("no csrf");
    assert_eq!(refused.status(), 403);
    let problem: Value = refused.json().await.expect("problem");
    assert_eq!(problem["code"], "csrf_failed");
    let refused = post(Some("not-the-token")).await.expect("wrong csrf");
    assert_eq!(refused.status(), 403);
    let created = post(Some(&token)).await.expect("json roster");
    assert_eq!(created.status(), 201);
    let second: Value = created.json().await.expect("roster");
    assert_eq!(second["supersedes"], first_id.as_str());
    assert_eq!(second["submitted_by"], "site-head");
    let replay = post(Some(&token)).await.expect("replay");
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replayed: Value = replay.json().await.expect("roster");
    assert_eq!(replayed["id"], second["id"]);

    // An invalid roster is refused whole, every fault listed, as the API does.
    let bad = http
        .post(app.url("/app/roster"))
        .header("X-CSRF-Token", &token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&json!({"period": period, "entries": [{"civil_servant_id": "12", "present": true}]}))
        .send()
        .await
        .expect("bad");
    assert_eq!(bad.status(), 422);
    let problem: Value = bad.json().await.expect("problem");
    assert_eq!(problem["code"], "invalid_roster");
    assert_eq!(problem["errors"][0]["field"], "civil_servant_id");

    // The API stays bearer-only: the session cookie opens nothing under /v1.
    let with_cookie = http
        .get(app.url(&format!("/v1/facilities/{}", world.facility)))
        .header(
            reqwest::header::COOKIE,
            format!("gw_session={}", signed_in.session_cookie),
        )
        .send()
        .await
        .expect("api");
    assert_eq!(with_cookie.status(), 401);

    // Sign-out needs the form's token, ends the session here and at the provider.
    let out = http
        .post(app.url("/app/auth/sign-out"))
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .expect("sign-out");
    assert_eq!(out.status(), 403);
    let out = http
        .post(app.url("/app/auth/sign-out"))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .expect("sign-out");
    assert_eq!(out.status(), 303);
    let next = out.headers()[reqwest::header::LOCATION]
        .to_str()
        .expect("loc")
        .to_owned();
    assert!(
        next.starts_with(&format!("{}/session/end", world.provider.issuer)),
        "{next}"
    );
    assert!(set_cookies(&out).join(" ").contains("gw_session=;"));
    let after = http
        .get(app.url("/app/roster"))
        .send()
        .await
        .expect("roster");
    assert_eq!(after.status(), 303, "signed out: back to the landing page");
    let session = http
        .get(app.url("/app/session"))
        .send()
        .await
        .expect("session");
    assert_eq!(session.status(), 401);

    world.provider.stop().await;
    world.app.stop().await;
}

/// A district officer signs in (permissions as a list); the site head's page is not
/// theirs. A sign-in answer that this browser did not begin is refused.
#[tokio::test]
async fn a_district_officer_has_no_roster_page_and_a_foreign_callback_is_refused() {
    let world = world().await;
    let app = &world.app;
    let http = browser();
    let page = oidc::sign_in(&http, &app.address, "district-officer")
        .await
        .page;
    let html = page.text().await.expect("html");
    assert!(html.contains("ជា វណ្ណា"));
    assert!(!html.contains("href=\"/app/roster\""));
    let roster = http
        .get(app.url("/app/roster"))
        .send()
        .await
        .expect("roster");
    assert_eq!(roster.status(), 403);
    let text = roster.text().await.expect("html");
    assert!(text.contains("This page is not for your role"), "{text}");

    // Another browser brings back a state it was never given.
    let stranger = browser();
    let forged = stranger
        .get(app.url("/app/auth/callback?code=abc&state=not-yours"))
        .send()
        .await
        .expect("callback");
    assert_eq!(forged.status(), 400);
    // And the provider's refusal is shown, not a session.
    let denied = stranger
        .get(app.url("/app/auth/callback?error=access_denied&state=x"))
        .send()
        .await
        .expect("callback");
    assert_eq!(denied.status(), 400);
    assert!(
        set_cookies(&denied)
            .iter()
            .all(|c| !c.starts_with("gw_session="))
    );

    world.provider.stop().await;
    world.app.stop().await;
}

/// Assets come from the binary under one content version, cached for a year; the
/// service worker is revalidated and names them.
#[tokio::test]
async fn assets_are_served_from_the_binary_with_long_cache_lifetimes() {
    let world = world().await;
    let app = &world.app;
    let html = reqwest::get(app.url("/app/"))
        .await
        .expect("landing")
        .text()
        .await
        .expect("html");
    let css = attribute_after(&html, "rel=\"stylesheet\"", "href").expect("stylesheet");
    let res = reqwest::get(app.url(&css)).await.expect("css");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()[reqwest::header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(res.text().await.expect("css").contains("Noto Sans Khmer"));
    let font = css.replace("app.css", "noto-sans-khmer-khmer-400-normal.woff2");
    let res = reqwest::get(app.url(&font)).await.expect("font");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[reqwest::header::CONTENT_TYPE], "font/woff2");
    assert!(res.bytes().await.expect("bytes").starts_with(b"wOF2"));
    let sw = reqwest::get(app.url("/app/sw.js")).await.expect("sw");
    assert_eq!(sw.headers()[reqwest::header::CACHE_CONTROL], "no-cache");
    let sw = sw.text().await.expect("js");
    assert!(sw.starts_with("self.APP_VERSION = "), "{}", &sw[..80]);
    assert!(sw.contains(&css), "the worker keeps the stylesheet");
    let missing = reqwest::get(app.url(&css.replace("app.css", "nope.css")))
        .await
        .expect("missing");
    assert_eq!(missing.status(), 404);

    world.provider.stop().await;
    world.app.stop().await;
}

/// A session is found by its token's hash, ends when unused for longer than the idle
/// time or past its absolute end, and once ended stays ended; a pending sign-in is
/// taken once, and not after its time.
#[tokio::test]
async fn sessions_end_when_idle_or_at_their_end_and_sign_ins_are_taken_once() {
    let (_name, store) = e2e::fresh_database().await;
    let scopes = vec!["rosters:write".to_owned()];
    let open = |hash: &'static [u8], expires_in: i64| {
        let store = store.clone();
        let scopes = scopes.clone();
        async move {
            store
                .open_app_session(&store::NewAppSession {
                    token_hash: hash,
                    subject: "site-head",
                    display_name: Some("សុខ ចាន់ថា"),
                    scopes: &scopes,
                    jurisdiction: Some("010201"),
                    facility_id: None,
                    csrf_token: "csrf",
                    id_token: None,
                    expires_at: chrono::Utc::now() + chrono::Duration::seconds(expires_in),
                })
                .await
                .expect("open");
        }
    };
    let hour = Duration::from_secs(3600);
    open(b"live", 3600).await;
    let live = store.use_app_session(b"live", hour).await.expect("use");
    let live = live.expect("a live session");
    assert_eq!(live.subject, "site-head");
    assert_eq!(live.scopes, ["rosters:write"]);
    assert_eq!(live.jurisdiction.as_deref(), Some("010201"));
    assert!(
        store
            .use_app_session(b"unknown", hour)
            .await
            .expect("use")
            .is_none()
    );

    // Idle: unused for longer than allowed ends it, for good.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        store
            .use_app_session(b"live", Duration::from_secs(1))
            .await
            .expect("use")
            .is_none()
    );
    assert!(
        store
            .use_app_session(b"live", hour)
            .await
            .expect("use")
            .is_none()
    );

    // Absolute: past its end, whatever the activity.
    open(b"short", 1).await;
    assert!(
        store
            .use_app_session(b"short", hour)
            .await
            .expect("use")
            .is_some()
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        store
            .use_app_session(b"short", hour)
            .await
            .expect("use")
            .is_none()
    );

    // Ended by sign-out.
    open(b"signed-out", 3600).await;
    assert!(
        store
            .end_app_session(b"signed-out")
            .await
            .expect("end")
            .is_some()
    );
    assert!(
        store
            .use_app_session(b"signed-out", hour)
            .await
            .expect("use")
            .is_none()
    );

    // A sign-in under way is taken once, and only within its time.
    let pending = store::PendingSignIn {
        pkce_verifier: "verifier".into(),
        nonce: "nonce".into(),
        return_to: None,
    };
    store
        .begin_app_sign_in(b"state", &pending, Duration::from_secs(600))
        .await
        .expect("begin");
    let taken = store
        .take_app_sign_in(b"state", Duration::from_secs(600))
        .await
        .expect("take");
    assert_eq!(taken.expect("pending").pkce_verifier, "verifier");
    assert!(
        store
            .take_app_sign_in(b"state", Duration::from_secs(600))
            .await
            .expect("take")
            .is_none()
    );
    store
        .begin_app_sign_in(b"old", &pending, Duration::from_secs(600))
        .await
        .expect("begin");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        store
            .take_app_sign_in(b"old", Duration::from_secs(1))
            .await
            .expect("take")
            .is_none()
    );
}

/// The roster page in Debian's headless Chromium at 360 px (`tests/browser/roster.mjs`):
/// signed in through the provider's form, checked with axe-core (no serious or
/// critical violation), nothing wider than the screen, a roster sent online, another
/// made offline that waits in the outbox and is sent when the connection returns:
/// once, superseding the first. Screenshots in `target/screenshots/`.
#[tokio::test]
async fn a_roster_made_offline_in_a_browser_is_sent_once_when_back_online() {
    let world = world().await;
    e2e::tools::browser_script(
        "roster.mjs",
        &[
            world.app.address.as_str(),
            "site-head",
            "site-head-password",
            e2e::tools::SCREENSHOTS,
        ],
    )
    .await;

    // Two rosters reached the gateway, no more: the offline one once, superseding
    // the online one.
    let reader = world.app.token("reports:read", Some("0102"));
    let (status, list) = world
        .app
        .get_json(
            &format!("/v1/facilities/{}/rosters", world.facility),
            &reader,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["supersedes"], items[1]["id"]);
    assert_eq!(items[0]["counts"]["entries"], 2);
    assert_eq!(items[0]["counts"]["absent"], 1);
    assert_eq!(items[1]["counts"]["entries"], 1);

    world.provider.stop().await;
    world.app.stop().await;
}

/// What a site head's phone fetches the first time it opens the roster page: the page
/// and every asset it loads (stylesheet, script, both weights of the Khmer font),
/// compressed as sent. The budget is 250 KB.
#[tokio::test]
async fn the_roster_pages_first_load_is_under_250_kb_compressed() {
    let world = world().await;
    let app = &world.app;
    let http = browser();
    oidc::sign_in(&http, &app.address, "site-head").await;
    let FirstLoad { total, lines, .. } = first_load(&http, app, "/app/roster").await;
    println!(
        "first load of the roster page: {total} bytes\n{}",
        lines.join("\n")
    );
    assert!(total <= 250_000, "{total} bytes:\n{}", lines.join("\n"));

    world.provider.stop().await;
    world.app.stop().await;
}
