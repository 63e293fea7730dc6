//! The app's review queue and the demo's sign-in: the demo's links sign its three
//! people in with the session a provider's sign-in opens; a district officer reviews
//! in the app exactly the pairs the API shows them (kept to their district, personal
//! fields masked the same), and decides one through the API's own decision service
//! (CSRF, 409 once decided); `serve` never signs anyone in through a demo link.

use std::net::TcpListener;

use e2e::TestApp;
use e2e::oidc::attribute_after;
use e2e::pages::{browser, first_load};
use gateway::app::demo::{DemoPerson, DemoSignIn};
use gateway::startup::Application;
use mock_ministries::{MockServer, Scale};
use serde_json::Value;
use sync::Silent;

/// The demo's world: the noisy mock ministries synced, the demo's own three people
/// (chosen by the demo command's code), and a gateway with their sign-in links.
struct DemoWorld {
    app: TestApp,
    people: Vec<DemoPerson>,
    links: Vec<String>,
    _mock: MockServer,
}

impl DemoWorld {
    fn person(&self, subject: &str) -> (&DemoPerson, &str) {
        let i = self
            .people
            .iter()
            .position(|p| p.subject == subject)
            .unwrap_or_else(|| panic!("no demo person {subject}"));
        (&self.people[i], &self.links[i])
    }

    /// A bearer token with the person's scopes and jurisdiction: what the API shows them.
    fn token_of(&self, person: &DemoPerson) -> String {
        self.app.token_for(
            &person.subject,
            &person.scopes.join(" "),
            person.jurisdiction.as_ref().map(|c| c.as_str()),
        )
    }
}

async fn demo_world() -> DemoWorld {
    let mock = e2e::start_mock_with(mock_ministries::MockConfig {
        linkage_noise: true,
        ..e2e::mock_config(Scale::Small, 11)
    })
    .await;
    let (name, store) = e2e::fresh_database().await;
    for (m, r) in e2e::mock_engine(&store, &mock)
        .sync_all(false, &Silent)
        .await
    {
        r.unwrap_or_else(|e| panic!("sync {m}: {e}"));
    }
    let people = interop_gateway::demo::demo_people(&store)
        .await
        .expect("the demo's people");
    let demo = DemoSignIn::new(people.clone()).expect("demo sign-in");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let links = demo.links(&base).into_iter().map(|(_, l)| l).collect();
    let settings = e2e::test_settings(&name);
    let app = Application::build_with_demo_sign_in(&settings, listener, demo)
        .await
        .expect("build app");
    DemoWorld {
        app: e2e::serve_built(app, store, settings),
        people,
        links,
        _mock: mock,
    }
}

async fn text(http: &reqwest::Client, url: &str) -> (u16, String) {
    let res = http.get(url).send().await.expect("get");
    let status = res.status().as_u16();
    (status, res.text().await.expect("html"))
}

/// Opens `link` in a fresh browser: signed in, or the answer's status.
async fn signed_in(link: &str) -> (reqwest::Client, reqwest::Response) {
    let http = browser();
    let res = http.get(link).send().await.expect("link");
    (http, res)
}

/// The pair ids a queue page links to, in order.
fn pair_ids(html: &str) -> Vec<String> {
    html.split("href=\"/app/matches/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

async fn post_form(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let res = http.post(url).form(form).send().await.expect("post");
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, location, res.text().await.unwrap_or_default())
}

#[tokio::test]
async fn the_demos_links_sign_its_three_people_in_with_the_providers_kind_of_session() {
    let world = demo_world().await;
    let app = &world.app;
    assert_eq!(world.people.len(), 3);
    let (head, _) = world.person("demo-site-head");
    let (officer, _) = world.person("demo-district-officer");
    let (province, _) = world.person("demo-provincial-officer");
    // The three are one place: the centre in the officer's district, in the province.
    let district = officer.jurisdiction.clone().expect("a district");
    assert_eq!(district.as_str().len(), 4);
    let commune = head.jurisdiction.clone().expect("a commune");
    assert!(commune.as_str().starts_with(district.as_str()), "{commune}");
    assert!(
        district
            .as_str()
            .starts_with(province.jurisdiction.as_ref().expect("province").as_str())
    );
    // The officer's district is where pairs wait for review.
    let (status, queue) = app
        .get_json("/v1/matches?limit=5", &world.token_of(officer))
        .await;
    assert_eq!(status, 200, "{queue}");
    assert!(!queue["items"].as_array().expect("items").is_empty());

    for (person, link) in world.people.iter().zip(&world.links) {
        let (http, res) = signed_in(link).await;
        assert_eq!(res.status(), 303, "{}", person.subject);
        assert_eq!(res.headers()[reqwest::header::LOCATION], "/app/");
        let cookie = res.headers()[reqwest::header::SET_COOKIE]
            .to_str()
            .expect("cookie")
            .to_owned();
        assert!(
            cookie.starts_with("gw_session=")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && cookie.contains("Secure")
                && cookie.contains("Path=/app"),
            "{cookie}"
        );
        let (status, landing) = text(&http, &app.url("/app/")).await;
        assert_eq!(status, 200);
        assert!(landing.contains(&person.name), "{}", person.subject);
        let session: Value = http
            .get(app.url("/app/session"))
            .send()
            .await
            .expect("session")
            .json()
            .await
            .expect("json");
        assert_eq!(session["subject"], person.subject.as_str());
        assert_eq!(
            session["facility_id"].as_str().map(str::to_owned),
            person.facility.map(|f| f.to_string())
        );
    }
    // Stored in PostgreSQL like any session: one row a person, the scopes and area kept.
    let db = e2e::connect(app.settings.database.database_name().expect("db")).await;
    let rows = db
        .query(
            "SELECT subject, scopes, jurisdiction, id_token FROM app_sessions ORDER BY subject",
            &[],
        )
        .await
        .expect("sessions");
    assert_eq!(rows.len(), 3);
    let officer_row = rows
        .iter()
        .find(|r| r.get::<_, String>(0) == "demo-district-officer")
        .expect("the officer's session");
    assert_eq!(officer_row.get::<_, Vec<String>>(1), officer.scopes);
    assert_eq!(
        officer_row.get::<_, Option<String>>(2).as_deref(),
        Some(district.as_str())
    );
    assert_eq!(officer_row.get::<_, Option<String>>(3), None);

    // The head's page is their own centre's roster; the queue is not for them.
    let (_, head_link) = world.person("demo-site-head");
    let (http, _) = signed_in(head_link).await;
    let (status, roster) = text(&http, &app.url("/app/roster")).await;
    assert_eq!(status, 200);
    assert!(roster.contains(&head.facility.expect("facility").to_string()));
    let (status, _) = text(&http, &app.url("/app/matches")).await;
    assert_eq!(status, 403);

    // A key of no one, or none, opens nothing.
    let guessed = format!("{}x", world.links[0]);
    for url in [
        guessed,
        app.url("/app/auth/demo"),
        app.url("/app/auth/demo?key="),
    ] {
        let (http, res) = signed_in(&url).await;
        assert_eq!(res.status(), 404, "{url}");
        assert!(res.headers().get(reqwest::header::SET_COOKIE).is_none());
        let (status, _) = text(&http, &app.url("/app/session")).await;
        assert_eq!(status, 401);
    }
    world.app.stop().await;
}

#[tokio::test]
async fn a_district_officer_reviews_in_the_app_what_the_api_shows_them_and_decides_a_pair() {
    let world = demo_world().await;
    let app = &world.app;
    let (officer, link) = world.person("demo-district-officer");
    let token = world.token_of(officer);
    let district = officer.jurisdiction.clone().expect("district");
    let (http, res) = signed_in(link).await;
    assert_eq!(res.status(), 303);

    // The queue: the API's first page, the same pairs in the same order; a filter
    // is the API's filter.
    for (page, api) in [
        ("/app/matches", "/v1/matches?limit=20"),
        (
            "/app/matches?status=pending&kind=distinct_officers&ministry=&admin_unit=",
            "/v1/matches?limit=20&kind=distinct_officers",
        ),
        ("/app/matches?status=all", "/v1/matches?limit=20&status=all"),
    ] {
        let (status, html) = text(&http, &app.url(page)).await;
        assert_eq!(status, 200, "{page}");
        let (status, body) = app.get_json(api, &token).await;
        assert_eq!(status, 200, "{body}");
        let ids: Vec<String> = body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|p| p["id"].as_str().expect("id").to_owned())
            .collect();
        assert_eq!(pair_ids(&html), ids, "{page}");
        assert_eq!(
            html.contains("Next page"),
            body["next_cursor"].is_string(),
            "{page}"
        );
    }
    let (_, first) = app.get_json("/v1/matches?limit=1", &token).await;
    let pair = first["items"][0].clone();
    let id = pair["id"].as_str().expect("a pending pair").to_owned();
    let page_url = app.url(&format!("/app/matches/{id}"));

    // The pair: both records as the API shows them to the officer (masked: no
    // staff:read:pii), each field's level and weight.
    let (status, html) = text(&http, &page_url).await;
    assert_eq!(status, 200);
    for side in ["left", "right"] {
        let staff = &pair[side]["staff"];
        assert!(html.contains(staff["name_km"].as_str().expect("name")));
        assert_eq!(staff["birth_date"], "***", "the API masks it: {staff}");
    }
    assert!(html.contains("<td>***</td>"), "masked as the API masks");
    let (_, revealed) = app
        .get_json(
            &format!("/v1/matches/{id}"),
            &app.token("matches:review staff:read:pii", None),
        )
        .await;
    for side in ["left", "right"] {
        if let Some(birth) = revealed[side]["staff"]["birth_date"].as_str() {
            assert!(!html.contains(birth), "{birth} shown to a masked reader");
        }
    }
    for field in pair["fields"].as_array().expect("fields") {
        let weight = format!("{:+.1}", field["weight"].as_f64().expect("weight"));
        assert!(html.contains(&weight), "{field}");
        let level = field["level"].as_str().expect("level").replace('_', " ");
        assert!(html.contains(&level), "{field}");
    }
    let csrf = attribute_after(&html, "name=\"csrf\"", "value").expect("csrf");
    assert!(html.contains("name=\"decision\" value=\"same\""));
    // What a phone fetches the first time: each page and its assets, as sent.
    for page in ["/app/matches".to_owned(), format!("/app/matches/{id}")] {
        let total = first_load(&http, app, &page).await.total;
        println!("first load of {page}: {total} bytes compressed");
        assert!(total <= 250_000, "{page}: {total} bytes");
    }
    assert!(html.contains("<label for=\"decision-note\""));

    // A pair outside the district is no page at all, as in the API.
    let (_, everywhere) = app
        .get_json("/v1/matches?limit=1000", &app.token("matches:review", None))
        .await;
    let outside = everywhere["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|p| {
            ["left", "right"].iter().all(|s| {
                !p[s]["staff"]["admin_unit_code"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with(district.as_str())
            }) && !p["admin_unit_code"]
                .as_str()
                .unwrap_or("")
                .starts_with(district.as_str())
        })
        .expect("a pair elsewhere");
    let outside = outside["id"].as_str().expect("id");
    let (status, _) = app
        .get_json(&format!("/v1/matches/{outside}"), &token)
        .await;
    assert_eq!(status, 404);
    let (status, _) = text(&http, &app.url(&format!("/app/matches/{outside}"))).await;
    assert_eq!(status, 404);
    let (status, _, _) = post_form(
        &http,
        &app.url(&format!("/app/matches/{outside}")),
        &[("csrf", &csrf), ("decision", "same")],
    )
    .await;
    assert_eq!(status, 404);

    // Without the session's CSRF token nothing is decided; a decision that is neither
    // answer is refused with the API's reason.
    let note = "ឈ្មោះ និងថ្ងៃកំណើតខុសគ្នា";
    let (status, _, _) = post_form(
        &http,
        &page_url,
        &[("csrf", "forged"), ("decision", "different")],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, html) =
        post_form(&http, &page_url, &[("csrf", &csrf), ("decision", "maybe")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("is not same or different"), "{html}");
    let (_, still) = app.get_json(&format!("/v1/matches/{id}"), &token).await;
    assert_eq!(still["status"], "pending");

    // Decided through the API's service: the API shows the decision, by the officer.
    let (status, location, _) = post_form(
        &http,
        &page_url,
        &[("csrf", &csrf), ("decision", "different"), ("note", note)],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some(format!("/app/matches/{id}?decided=1").as_str())
    );
    let (_, decided) = app.get_json(&format!("/v1/matches/{id}"), &token).await;
    assert_eq!(decided["status"], "decided");
    assert_eq!(decided["decision"]["decision"], "different");
    assert_eq!(decided["decision"]["decided_by"], "demo-district-officer");
    assert_eq!(decided["decision"]["note"], note);
    let (_, html) = text(&http, &format!("{page_url}?decided=1")).await;
    assert!(html.contains("The decision was saved"));
    assert!(html.contains("Different people") && html.contains(note));
    assert!(!html.contains("name=\"decision\""), "no form once decided");

    // A second decision is the API's 409, shown as such.
    let (status, _, html) =
        post_form(&http, &page_url, &[("csrf", &csrf), ("decision", "same")]).await;
    assert_eq!(status, 409);
    assert!(html.contains("already decided"), "{html}");
    let (_, unchanged) = app.get_json(&format!("/v1/matches/{id}"), &token).await;
    assert_eq!(unchanged["decision"]["decision"], "different");

    // The province reads the queue (reports:read) but may not decide.
    let (province, province_link) = world.person("demo-provincial-officer");
    let (reader, _) = signed_in(province_link).await;
    let (_, other) = app
        .get_json("/v1/matches?limit=1", &world.token_of(province))
        .await;
    let other_id = other["items"][0]["id"].as_str().expect("a pair");
    let other_url = app.url(&format!("/app/matches/{other_id}"));
    let (status, html) = text(&reader, &other_url).await;
    assert_eq!(status, 200);
    assert!(!html.contains("name=\"decision\""));
    let reader_csrf = attribute_after(&html, "name=\"csrf\"", "value").expect("csrf");
    let (status, _, _) = post_form(
        &reader,
        &other_url,
        &[("csrf", &reader_csrf), ("decision", "same")],
    )
    .await;
    assert_eq!(status, 403);
    let db = world.app.settings.database.name.clone();
    world.app.stop().await;

    // The pages were audited as the API's answers are: by the person, naming the staff.
    let rows = e2e::connect(&db)
        .await
        .query(
            "SELECT route, record_ids FROM audit_log WHERE client = 'demo-district-officer'",
            &[],
        )
        .await
        .expect("audit")
        .into_iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, Vec<uuid::Uuid>>(1)))
        .collect::<Vec<_>>();
    let audited = |route: &str, staff: &Value| {
        let staff = uuid::Uuid::parse_str(staff.as_str().expect("staff id")).expect("uuid");
        rows.iter()
            .any(|(r, ids)| r == route && ids.contains(&staff))
    };
    assert!(
        audited("/app/matches", &pair["left"]["staff"]["id"]),
        "{rows:?}"
    );
    assert!(
        audited(&format!("/app/matches/{id}"), &pair["right"]["staff"]["id"]),
        "{rows:?}"
    );
}

/// `serve` builds the gateway with `Application::build`: whatever its settings say,
/// the demo's sign-in is off. Settings that try to turn it on do nothing, and only
/// the demo command's code builds a gateway with it.
#[tokio::test]
async fn serve_never_signs_anyone_in_through_a_demo_link() {
    let dir = std::env::temp_dir().join(format!("demo-sign-in-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("gateway.toml");
    std::fs::write(
        &file,
        "[app]\ndemo = true\ndemo_sign_in = true\ndemo_people = [\"district-officer\"]\n",
    )
    .expect("write");
    let loaded = gateway::config::Settings::load(Some(&file)).expect("settings");
    let app = e2e::spawn_app_with(|s| s.app = loaded.app.clone()).await;
    let http = browser();
    for path in [
        "/app/auth/demo",
        "/app/auth/demo?key=",
        "/app/auth/demo?key=district-officer",
    ] {
        let res = http.get(app.url(path)).send().await.expect("get");
        assert_eq!(res.status(), 404, "{path}");
        assert!(res.headers().get(reqwest::header::SET_COOKIE).is_none());
    }
    let (_, landing) = text(&http, &app.url("/app/")).await;
    assert!(!landing.contains("demo"), "{landing}");
    app.stop().await;
    let _ = std::fs::remove_dir_all(&dir);

    // The one way in is the demo command's.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates");
    let mut callers = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(root)];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read dir") {
                stack.push(entry.expect("entry").path());
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).expect("source");
            if source.contains("build_with_demo_sign_in(")
                && !source.contains("async fn build_with_demo_sign_in(")
            {
                callers.push(
                    path.strip_prefix(root)
                        .expect("under")
                        .display()
                        .to_string(),
                );
            }
        }
    }
    assert_eq!(callers, ["interop-gateway/src/demo.rs"]);
    let cli = std::fs::read_to_string(format!("{root}/gateway/src/cli.rs")).expect("cli");
    assert!(cli.contains("Application::build(settings"));
}

/// Deciding a pair in Debian's headless Chromium at 360 px (`tests/browser/decide.mjs`):
/// signed in through the demo's link as the district officer, the queue, the pair side
/// by side, "different" with a note, the decision shown; axe-core finds no serious or
/// critical violation on any of them, nothing is wider than the screen. Screenshots
/// in `target/screenshots/`.
#[tokio::test]
async fn a_district_officer_decides_a_match_in_a_browser() {
    let world = demo_world().await;
    let (officer, link) = world.person("demo-district-officer");
    let stdout = e2e::tools::browser_script("decide.mjs", &[link, e2e::tools::SCREENSHOTS]).await;
    let seen: Value = serde_json::from_str(stdout.trim()).expect("the script's JSON line");
    let id = seen["pair"].as_str().expect("the pair it decided");
    let (status, pair) = world
        .app
        .get_json(&format!("/v1/matches/{id}"), &world.token_of(officer))
        .await;
    assert_eq!(status, 200, "{pair}");
    assert_eq!(pair["decision"]["decision"], "different");
    assert_eq!(pair["decision"]["decided_by"], "demo-district-officer");
    assert_eq!(pair["decision"]["note"], "ឈ្មោះខុសគ្នា");
    world.app.stop().await;
}
