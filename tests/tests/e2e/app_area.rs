//! The app for a district or province, on a synced world with findings: coverage
//! drilling down to a facility's staff, the findings list and a finding's triage
//! form, and the reports as files. A district officer sees in the app exactly what
//! the API shows them, and nothing outside their district; in a real browser the
//! coverage changes when a site head sends a roster, and a finding is explained.

use std::collections::BTreeMap;
use std::net::TcpListener;

use e2e::oidc::{self, OidcProvider, attribute_after};
use e2e::pages::{FirstLoad, browser, first_load};
use e2e::tools::{SCREENSHOTS, browser_script};
use e2e::{TestApp, collect_pages, mock_engine, spawn_app_on, start_mock};
use mock_ministries::Scale;
use serde_json::{Value, json};
use sync::Silent;

/// The district officer's permissions (as the provider's claim lists them).
const OFFICER_SCOPES: &str = "facilities:read findings:review reports:read staff:read";

/// A gateway on a synced mock world whose app signs in a district officer of the
/// district with the most findings, a provincial officer of its province and the
/// head of a health facility in that district.
struct World {
    app: TestApp,
    provider: OidcProvider,
    district: String,
    facility: String,
    commune: String,
}

async fn world() -> World {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let gateway = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    // The provider starts once the accounts are known (after the sync); the gateway
    // reads its discovery document at the first sign-in, so it is told the port now.
    let provider_port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let app = spawn_app_on(listener, |s| {
        s.app.issuer = issuer;
        s.app.client_id = oidc::CLIENT_ID.to_owned();
        s.app.client_secret = oidc::CLIENT_SECRET.into();
        s.app.public_url = gateway.clone();
    })
    .await;
    let mock = start_mock(Scale::Small, 17).await;
    for (m, r) in mock_engine(&app.store, &mock)
        .sync_all(false, &Silent)
        .await
    {
        r.unwrap_or_else(|e| panic!("sync {m}: {e}"));
    }
    let reader = app.token("reports:read", None);
    let (findings, _) = collect_pages(&app, "/v1/discrepancies?limit=1000", &reader).await;
    let mut by_district: BTreeMap<String, usize> = BTreeMap::new();
    for f in &findings {
        if let Some(code) = f["admin_unit_code"].as_str().filter(|c| c.len() >= 4) {
            *by_district.entry(code[..4].to_owned()).or_default() += 1;
        }
    }
    let district = by_district
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(d, _)| d.clone())
        .expect("a district with findings");
    assert!(
        findings.len() > by_district[&district],
        "findings outside the district too"
    );
    let lister = app.token("facilities:read staff:read", None);
    let (facilities, _) = collect_pages(
        &app,
        &format!("/v1/facilities?admin_unit={district}&sector=health&limit=1000"),
        &lister,
    )
    .await;
    let mut site = None;
    for f in facilities.iter().filter(|f| f["status"] == "open") {
        let id = f["id"].as_str().expect("id");
        let (status, staff) = app
            .get_json(&format!("/v1/facilities/{id}/staff"), &lister)
            .await;
        assert_eq!(status, 200, "{staff}");
        if staff["items"].as_array().is_some_and(|s| s.len() >= 2) {
            site = Some(f.clone());
            break;
        }
    }
    let site = site.expect("an open health facility with staff in the district");
    let facility = site["id"].as_str().expect("id").to_owned();
    let commune = site["admin_unit_code"]
        .as_str()
        .expect("commune")
        .to_owned();
    let accounts = [
        oidc::account(
            "district-officer",
            json!({"name": "ជា វណ្ណា", "permissions": OFFICER_SCOPES, "jurisdiction": district}),
        ),
        oidc::account(
            "provincial-officer",
            json!({"name": "លី សុភាព", "permissions": "reports:read",
                   "jurisdiction": &district[..2]}),
        ),
        oidc::account(
            "site-head",
            json!({"name": "សុខ ចាន់ថា", "permissions": "rosters:write facilities:read",
                   "jurisdiction": commune, "facility": facility}),
        ),
    ];
    let provider = OidcProvider::start_on(&gateway, &accounts, provider_port).await;
    World {
        app,
        provider,
        district,
        facility,
        commune,
    }
}

/// Every value of `attribute="..."` in `html`, in order.
fn attribute_values(html: &str, attribute: &str) -> Vec<String> {
    let needle = format!("{attribute}=\"");
    html.match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            rest.find('"').map(|end| rest[..end].to_owned())
        })
        .collect()
}

async fn page(http: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let res = http.get(app.url(path)).send().await.expect("get");
    let status = res.status().as_u16();
    (status, res.text().await.expect("html"))
}

/// Every finding the app lists from `path` on, following its "next page" links.
async fn app_finding_ids(http: &reqwest::Client, app: &TestApp, path: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next = Some(path.to_owned());
    while let Some(path) = next {
        let (status, html) = page(http, app, &path).await;
        assert_eq!(status, 200, "{path}: {html}");
        ids.extend(attribute_values(&html, "data-id"));
        next = attribute_after(&html, "rel=\"next\"", "href").map(|h| h.replace("&amp;", "&"));
        assert!(ids.len() < 100_000, "paging ends");
    }
    ids
}

/// The district officer's app pages against the API with a token of the same scopes
/// and jurisdiction: the coverage numbers, the findings (ids, in order), a facility's
/// staff (names, masked national ids), and the downloads byte for byte. Outside the
/// district: no coverage, and a finding or facility there is not found.
#[tokio::test]
async fn a_district_officer_sees_in_the_app_exactly_what_the_api_shows_them() {
    let world = world().await;
    let app = &world.app;
    let district = world.district.as_str();
    let http = browser();
    let landing = oidc::sign_in(&http, &app.address, "district-officer")
        .await
        .page
        .text()
        .await
        .expect("html");
    assert!(landing.contains("href=\"/app/coverage\""), "{landing}");
    assert!(landing.contains("href=\"/app/findings\""));
    let api = app.token_for("district-officer", OFFICER_SCOPES, Some(district));

    // Coverage: the officer's district by default, its communes as the API counts them.
    let (status, html) = page(&http, app, "/app/coverage").await;
    assert_eq!(status, 200, "{html}");
    let (status, communes) = app
        .get_json(
            &format!("/v1/reports/coverage?level=commune&parent={district}"),
            &api,
        )
        .await;
    assert_eq!(status, 200, "{communes}");
    let units = communes["units"].as_array().expect("units");
    assert!(!units.is_empty());
    assert_eq!(
        attribute_values(&html, "data-code"),
        units
            .iter()
            .map(|u| u["code"].as_str().expect("code").to_owned())
            .collect::<Vec<_>>()
    );
    let ratio = |u: &Value, done: &str, of: &str| format!("{}/{}", u[done], u[of]);
    for (i, u) in units.iter().enumerate() {
        let row = |attr| attribute_values(&html, attr)[i].clone();
        assert_eq!(
            row("data-health"),
            ratio(u, "health_facilities_reporting", "health_facilities")
        );
        assert_eq!(
            row("data-education"),
            ratio(u, "education_facilities_reporting", "education_facilities")
        );
        assert_eq!(
            row("data-staff"),
            ratio(u, "staff_confirmed_serving", "staff_on_roll")
        );
        let open: u64 = u["open_discrepancies"]
            .as_object()
            .expect("counts")
            .values()
            .map(|n| n.as_u64().expect("n"))
            .sum();
        assert_eq!(row("data-findings"), open.to_string());
    }
    assert!(html.contains("<svg"), "the chart is drawn on the server");
    let (_, own) = app
        .get_json(
            &format!("/v1/reports/coverage?level=district&parent={district}"),
            &api,
        )
        .await;
    let own = &own["units"][0];
    let tiles = attribute_values(&html, "data-value");
    assert_eq!(tiles[0], own["health_facilities_reporting"].to_string());
    assert_eq!(tiles[2], own["staff_confirmed_serving"].to_string());
    assert_eq!(tiles[3], own["people_reported_serving"].to_string());

    // Another district of the country shows nothing, as the API counts nothing there.
    let everyone = app.token("reports:read facilities:read staff:read", None);
    let (_, all) = app
        .get_json("/v1/reports/coverage?level=district", &everyone)
        .await;
    let elsewhere = all["units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|u| u["code"].as_str().expect("code").to_owned())
        .find(|c| c != district)
        .expect("another district");
    let (status, html) = page(&http, app, &format!("/app/coverage?parent={elsewhere}")).await;
    assert_eq!(status, 200);
    assert!(attribute_values(&html, "data-code").is_empty(), "{html}");
    let (_, api_elsewhere) = app
        .get_json(
            &format!("/v1/reports/coverage?level=commune&parent={elsewhere}"),
            &api,
        )
        .await;
    assert_eq!(api_elsewhere["units"], json!([]));

    // The commune's facilities, each to its staff page.
    let (status, html) = page(
        &http,
        app,
        &format!("/app/coverage?parent={}", world.commune),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(&format!("/app/facilities/{}", world.facility)),
        "{html}"
    );

    // The facility's staff as the API lists them: names, and national ids masked.
    let (status, html) = page(&http, app, &format!("/app/facilities/{}", world.facility)).await;
    assert_eq!(status, 200, "{html}");
    let (status, staff) = app
        .get_json(&format!("/v1/facilities/{}/staff", world.facility), &api)
        .await;
    assert_eq!(status, 200);
    let staff = staff["items"].as_array().expect("items");
    assert_eq!(
        attribute_values(&html, "data-month").len(),
        staff.len(),
        "one card a person"
    );
    let pii = app.token("staff:read staff:read:pii", None);
    let (_, revealed) = app
        .get_json(&format!("/v1/facilities/{}/staff", world.facility), &pii)
        .await;
    for (shown, real) in staff
        .iter()
        .zip(revealed["items"].as_array().expect("items"))
    {
        assert!(html.contains(shown["name_km"].as_str().expect("name")));
        if let Some(nid) = real["national_id"].as_str() {
            assert_eq!(shown["national_id"], "***");
            assert!(!html.contains(nid), "a national id is masked");
            assert!(html.contains("<dd class=\"national-id\">***</dd>"));
        }
    }

    // The findings, page by page, are the API's, in its order.
    let app_ids = app_finding_ids(&http, app, "/app/findings").await;
    let (api_findings, _) = collect_pages(app, "/v1/discrepancies?limit=1000", &api).await;
    let api_ids: Vec<String> = api_findings
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_owned())
        .collect();
    assert!(!api_ids.is_empty());
    assert_eq!(app_ids, api_ids);
    let filtered = app_finding_ids(&http, app, "/app/findings?kind=&state=open&status=").await;
    let (api_open, _) = collect_pages(app, "/v1/discrepancies?state=open&limit=1000", &api).await;
    assert_eq!(filtered.len(), api_open.len());

    // The facility's page leads to its findings, the API's for that facility.
    let at_facility = format!("/app/findings?facility_id={}", world.facility);
    let (_, html) = page(&http, app, &format!("/app/facilities/{}", world.facility)).await;
    assert!(html.contains(&format!("href=\"{at_facility}\"")));
    let (api_here, _) = collect_pages(
        app,
        &format!(
            "/v1/discrepancies?facility_id={}&limit=1000",
            world.facility
        ),
        &api,
    )
    .await;
    assert_eq!(
        app_finding_ids(&http, app, &at_facility).await,
        api_here
            .iter()
            .map(|f| f["id"].as_str().expect("id").to_owned())
            .collect::<Vec<_>>()
    );

    // A finding and a facility outside the district are not found.
    let (all_findings, _) = collect_pages(app, "/v1/discrepancies?limit=1000", &everyone).await;
    let outside = all_findings
        .iter()
        .find(|f| {
            f["admin_unit_code"]
                .as_str()
                .is_some_and(|c| !c.starts_with(district))
        })
        .expect("a finding elsewhere");
    let (status, _) = page(
        &http,
        app,
        &format!("/app/findings/{}", outside["id"].as_str().expect("id")),
    )
    .await;
    assert_eq!(status, 404);
    let (_, far) = app
        .get_json("/v1/facilities?sector=health&limit=1000", &everyone)
        .await;
    let far = far["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|f| {
            f["admin_unit_code"]
                .as_str()
                .is_some_and(|c| !c.starts_with(district))
        })
        .expect("a facility elsewhere");
    let (status, _) = page(
        &http,
        app,
        &format!("/app/facilities/{}", far["id"].as_str().expect("id")),
    )
    .await;
    assert_eq!(status, 404);

    // The downloads are the API's files for the same person.
    for (app_path, api_path) in [
        (
            format!("/app/downloads/coverage?level=commune&parent={district}&format=csv"),
            format!("/v1/reports/coverage?level=commune&parent={district}&format=csv"),
        ),
        (
            "/app/downloads/findings?format=csv".to_owned(),
            "/v1/discrepancies?format=csv".to_owned(),
        ),
        (
            "/app/downloads/transfers?format=csv".to_owned(),
            "/v1/reports/transfers?format=csv".to_owned(),
        ),
    ] {
        let from_app = http.get(app.url(&app_path)).send().await.expect("download");
        assert_eq!(from_app.status(), 200, "{app_path}");
        assert!(
            from_app.headers()[reqwest::header::CONTENT_TYPE]
                .to_str()
                .expect("type")
                .starts_with("text/csv")
        );
        let from_app = from_app.bytes().await.expect("bytes");
        let from_api = app
            .get(&api_path, Some(&api))
            .await
            .bytes()
            .await
            .expect("bytes");
        assert_eq!(from_app, from_api, "{app_path}");
        assert!(from_app.len() > 3, "{app_path} has a header at least");
    }
    let xlsx = http
        .get(app.url("/app/downloads/findings?format=xlsx"))
        .send()
        .await
        .expect("xlsx");
    assert_eq!(xlsx.status(), 200);
    assert!(xlsx.bytes().await.expect("bytes").starts_with(b"PK"));
    // Corrections need corrections:read, as in the API.
    let refused = http
        .get(app.url("/app/downloads/corrections?format=csv"))
        .send()
        .await
        .expect("corrections");
    assert_eq!(refused.status(), 403);
    // Without a session: back to sign-in, no file.
    let stranger = browser()
        .get(app.url("/app/downloads/findings?format=csv"))
        .send()
        .await
        .expect("stranger");
    assert_eq!(stranger.status(), 303);

    // A provincial officer (reports:read only) sees the province's districts as the
    // API counts them, reads findings without the form to act, and no staff.
    let province = &district[..2];
    let provincial = browser();
    oidc::sign_in(&provincial, &app.address, "provincial-officer").await;
    let (status, html) = page(&provincial, app, "/app/coverage").await;
    assert_eq!(status, 200, "{html}");
    let reader = app.token("reports:read", Some(province));
    let (_, districts) = app
        .get_json(
            &format!("/v1/reports/coverage?level=district&parent={province}"),
            &reader,
        )
        .await;
    assert_eq!(
        attribute_values(&html, "data-code"),
        districts["units"]
            .as_array()
            .expect("units")
            .iter()
            .map(|u| u["code"].as_str().expect("code").to_owned())
            .collect::<Vec<_>>()
    );
    let (status, html) = page(&provincial, app, &format!("/app/findings/{}", api_ids[0])).await;
    assert_eq!(status, 200);
    assert!(!html.contains("triage-form"), "no findings:review, no form");
    let (status, _) = page(
        &provincial,
        app,
        &format!("/app/facilities/{}", world.facility),
    )
    .await;
    assert_eq!(status, 403, "no staff:read");

    let db = app.settings.database.name.clone();
    world.provider.stop().await;
    world.app.stop().await;

    // The app's pages that name people are audited as the API's answers are: the
    // person, the page, the people shown.
    let rows = e2e::connect(&db)
        .await
        .query(
            "SELECT record_ids FROM audit_log WHERE client = 'district-officer' AND route = $1",
            &[&format!("/app/facilities/{}", world.facility)],
        )
        .await
        .expect("audit");
    assert_eq!(rows.len(), 2, "the facility page was read twice");
    let mut shown: Vec<uuid::Uuid> = staff
        .iter()
        .map(|s| s["id"].as_str().expect("id").parse().expect("uuid"))
        .collect();
    shown.sort();
    for row in rows {
        let mut audited: Vec<uuid::Uuid> = row.get(0);
        audited.sort();
        assert_eq!(audited, shown);
    }
}

/// What an officer's phone fetches the first time it opens the coverage, findings
/// and a finding's page: the page and every asset it loads (stylesheet, script, both
/// weights of the Khmer font), compressed as sent. The budget is 250 KB each.
#[tokio::test]
async fn the_officer_pages_first_loads_are_under_250_kb_compressed() {
    let world = world().await;
    let app = &world.app;
    let http = browser();
    oidc::sign_in(&http, &app.address, "district-officer").await;
    let api = app.token_for("district-officer", OFFICER_SCOPES, Some(&world.district));
    let (_, first) = app.get_json("/v1/discrepancies?limit=1", &api).await;
    let finding = format!(
        "/app/findings/{}",
        first["items"][0]["id"].as_str().expect("a finding")
    );
    for path in [
        "/app/coverage".to_owned(),
        format!("/app/coverage?parent={}", world.commune),
        format!("/app/facilities/{}", world.facility),
        "/app/findings".to_owned(),
        finding,
    ] {
        let FirstLoad { page, total, lines } = first_load(&http, app, &path).await;
        println!("first load of {path}: {total} bytes (page {page} gzip)");
        assert!(
            total <= 250_000,
            "{path}: {total} bytes\n{}",
            lines.join("\n")
        );
    }

    world.provider.stop().await;
    world.app.stop().await;
}

/// The finding's form acts through the API's service: CSRF required, the version it
/// showed checked (a colleague's action in between is refused, shown with where the
/// finding stands now), and the action stands in the API with who took it.
#[tokio::test]
async fn a_finding_is_explained_from_its_page_and_a_stale_form_is_refused() {
    let world = world().await;
    let app = &world.app;
    let http = browser();
    oidc::sign_in(&http, &app.address, "district-officer").await;
    let api = app.token_for("district-officer", OFFICER_SCOPES, Some(&world.district));
    let (open, _) = collect_pages(app, "/v1/discrepancies?state=open&limit=1000", &api).await;
    let id = open
        .iter()
        .find(|f| !f["staff"].as_array().is_some_and(Vec::is_empty))
        .and_then(|f| f["id"].as_str())
        .expect("an open finding about someone")
        .to_owned();
    let (status, html) = page(&http, app, &format!("/app/findings/{id}")).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("data-state=\"open\""));
    let csrf = attribute_after(&html, "name=\"csrf\"", "value").expect("csrf");
    let version = attribute_after(&html, "name=\"version\"", "value").expect("version");
    let explain = |csrf: &str, version: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("version".to_owned(), version.to_owned()),
            ("action".to_owned(), "explain".to_owned()),
            ("reason".to_owned(), "on_leave".to_owned()),
            ("ministry".to_owned(), String::new()),
            ("note".to_owned(), "ឈប់សម្រាកលំហែមាតុភាព".to_owned()),
        ]
    };
    let post = |form: Vec<(String, String)>| {
        http.post(app.url(&format!("/app/findings/{id}")))
            .form(&form)
            .send()
    };
    let refused = post(explain("wrong", &version)).await.expect("post");
    assert_eq!(refused.status(), 403);

    // A colleague acknowledges it through the API in between: the page's version is stale.
    let colleague = app.token_for("colleague", "findings:review", Some(&world.district));
    let res = app
        .http
        .post(app.url(&format!("/v1/discrepancies/{id}/actions")))
        .bearer_auth(&colleague)
        .json(&json!({"action": "acknowledge"}))
        .send()
        .await
        .expect("act");
    assert_eq!(res.status(), 200);
    let stale = post(explain(&csrf, &version)).await.expect("post");
    assert_eq!(stale.status(), 412);
    let html = stale.text().await.expect("html");
    assert!(html.contains("id=\"action-error\""), "{html}");
    assert!(
        html.contains("data-state=\"acknowledged\""),
        "where it stands now"
    );
    assert!(html.contains("ឈប់សម្រាកលំហែមាតុភាព"), "the note is kept");

    // Again at the version shown now: explained, as the API says.
    let version = attribute_after(&html, "name=\"version\"", "value").expect("version");
    let done = post(explain(&csrf, &version)).await.expect("post");
    assert_eq!(done.status(), 303);
    let location = done.headers()[reqwest::header::LOCATION]
        .to_str()
        .expect("location")
        .to_owned();
    let (_, html) = page(&http, app, &location).await;
    assert!(html.contains("data-state=\"explained\""), "{html}");
    let (status, finding) = app.get_json(&format!("/v1/discrepancies/{id}"), &api).await;
    assert_eq!(status, 200);
    assert_eq!(finding["state"], "explained");
    assert_eq!(finding["review"]["reason"], "on_leave");
    assert_eq!(finding["review"]["held_by"], "district-officer");
    assert_eq!(finding["review"]["note"], "ឈប់សម្រាកលំហែមាតុភាព");

    // A reason the API refuses is shown on the page with the field at fault.
    let (_, html) = page(&http, app, &format!("/app/findings/{id}")).await;
    let version = attribute_after(&html, "name=\"version\"", "value").expect("version");
    let mut other = explain(&csrf, &version);
    other[3].1 = "other".to_owned();
    other[5].1 = String::new();
    let invalid = post(other).await.expect("post");
    assert_eq!(invalid.status(), 422);
    let html = invalid.text().await.expect("html");
    assert!(html.contains("note"), "{html}");

    world.provider.stop().await;
    world.app.stop().await;
}

/// See the coverage change, in a real browser at 360 px (`tests/browser/coverage.mjs`):
/// the district officer's commune shows a health facility not reported; its head
/// sends this month's roster from their own browser; the officer's pages then show it
/// reported, its staff present, and the district one health site higher. Every page
/// passes axe-core (no serious or critical violation) and fits the screen.
#[tokio::test]
async fn the_coverage_changes_in_a_browser_when_a_site_sends_its_roster() {
    let world = world().await;
    browser_script(
        "coverage.mjs",
        &[
            world.app.address.as_str(),
            "district-officer",
            "district-officer-password",
            "site-head",
            "site-head-password",
            world.commune.as_str(),
            world.facility.as_str(),
            SCREENSHOTS,
        ],
    )
    .await;
    // The roster the head sent is the API's, for the month the officer looked at.
    let reader = world.app.token("reports:read", Some(&world.district));
    let (status, list) = world
        .app
        .get_json(
            &format!("/v1/facilities/{}/rosters", world.facility),
            &reader,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list["items"][0]["submitted_by"], "site-head");

    world.provider.stop().await;
    world.app.stop().await;
}

/// Explain a finding, in a real browser at 360 px (`tests/browser/finding.mjs`): the
/// open findings, one of them, "explain" with a reason and a Khmer note, saved and
/// shown explained; the API says the same. Each page passes axe-core at 360 px.
#[tokio::test]
async fn a_finding_is_explained_in_a_browser() {
    let world = world().await;
    let out = browser_script(
        "finding.mjs",
        &[
            world.app.address.as_str(),
            "district-officer",
            "district-officer-password",
            SCREENSHOTS,
        ],
    )
    .await;
    let seen: Value = serde_json::from_str(out.trim()).expect("a JSON line");
    let id = seen["finding"].as_str().expect("the finding's id");
    let api = world
        .app
        .token_for("district-officer", OFFICER_SCOPES, Some(&world.district));
    let (status, finding) = world
        .app
        .get_json(&format!("/v1/discrepancies/{id}"), &api)
        .await;
    assert_eq!(status, 200, "{finding}");
    assert_eq!(finding["state"], "explained");
    assert_eq!(finding["review"]["reason"], "on_leave");
    assert_eq!(finding["review"]["note"], "ឈប់សម្រាកលំហែមាតុភាព ដល់ខែមីនា");

    world.provider.stop().await;
    world.app.stop().await;
}
