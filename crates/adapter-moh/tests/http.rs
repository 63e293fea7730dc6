//! The adapter against a small fake DHIS2 + FHIR server on 127.0.0.1: paging to the
//! end, next links followed as given, broken envelopes, repeated pages.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration as StdDuration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use adapter_core::{Adapter, ClientConfig, Cursor, Feed, Page, Position, Record};
use adapter_moh::{MohAdapter, MohError};
use chrono::DateTime;
use serde_json::{Value, json};

#[derive(Default)]
struct Fake {
    port: u16,
    /// Every path and query asked, in order.
    asked: Mutex<Vec<String>>,
}

impl Fake {
    fn hits(&self, path_prefix: &str) -> usize {
        self.asked
            .lock()
            .expect("lock")
            .iter()
            .filter(|a| a.starts_with(path_prefix))
            .count()
    }
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("a fixture")).expect("fixture JSON")
}

type Query = web::Query<HashMap<String, String>>;

fn page_number(q: &Query) -> u32 {
    q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1)
}

async fn org_units(q: Query) -> HttpResponse {
    match page_number(&q) {
        1 => HttpResponse::Ok().json(fixture("dhis2_org_units_page1.json")),
        2 => HttpResponse::Ok().json(fixture("dhis2_org_units_page2.json")),
        _ => HttpResponse::Ok()
            .json(json!({"pager": {"page": 3, "pageCount": 2}, "organisationUnits": []})),
    }
}

/// Always the first page, whatever page is asked: a server stuck on one page.
async fn stuck_org_units() -> HttpResponse {
    HttpResponse::Ok().json(fixture("dhis2_org_units_page1.json"))
}

/// Page 2 repeats page 1 the first time it is asked, then comes right.
async fn flaky_org_units(q: Query, fake: web::Data<Fake>) -> HttpResponse {
    if page_number(&q) == 2
        && fake.hits("/flaky/api/organisationUnits.json?paging=true&page=2") <= 1
    {
        return HttpResponse::Ok().json(fixture("dhis2_org_units_page1.json"));
    }
    org_units(q).await
}

async fn garbage() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body("{\"pager\": {\"page\": 1}, \"organisationUnits\": [")
}

fn practitioner(id: &str, n: u32) -> Value {
    json!({
        "fullUrl": format!("Practitioner/{id}"),
        "resource": {
            "resourceType": "Practitioner",
            "id": id,
            "meta": {"lastUpdated": format!("2024-01-{:02}T00:00:00Z", 10 + n)},
            "name": [{"use": "official", "text": "សុខ ចាន់ថា"}, {"use": "usual", "text": format!("Worker {n}")}],
            "birthDate": if n == 4 { "1985-02-30" } else { "1980-01-01" }
        }
    })
}

/// Three pages of Practitioners: the first by search, the others through HAPI-style
/// paging links that point at the server's root, absolute.
async fn practitioners(req: HttpRequest, q: Query, fake: web::Data<Fake>) -> HttpResponse {
    let offset: u32 = q
        .get("_getpagesoffset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    if offset == 0 && !req.path().ends_with("/Practitioner") {
        return HttpResponse::NotFound().finish();
    }
    let ids: Vec<u32> = match offset {
        0 => vec![1, 2],
        2 => vec![3, 4],
        _ => vec![5],
    };
    let mut links = vec![
        json!({"relation": "self", "url": format!("http://127.0.0.1:{}{}", fake.port, req.uri())}),
    ];
    if offset < 4 {
        links.push(json!({
            "relation": "next",
            "url": format!("http://127.0.0.1:{}/fhir?_getpages=token-1&_getpagesoffset={}&_count=2&_bundletype=searchset", fake.port, offset + 2)
        }));
    }
    let mut entries: Vec<Value> = ids
        .iter()
        .map(|n| practitioner(&format!("prac-{n:04}"), *n))
        .collect();
    if offset == 2 {
        entries.push(json!({"resource": {"resourceType": "OperationOutcome", "issue": []}, "search": {"mode": "outcome"}}));
    }
    HttpResponse::Ok()
        .content_type("application/fhir+json")
        .json(json!({"resourceType": "Bundle", "type": "searchset", "total": 5, "link": links, "entry": entries}))
}

async fn roles() -> HttpResponse {
    HttpResponse::Ok().json(fixture("fhir_practitioner_roles.json"))
}

async fn not_a_searchset() -> HttpResponse {
    HttpResponse::Ok().json(json!({"resourceType": "Bundle", "type": "history", "entry": []}))
}

/// Starts the fake on a free port; returns its state and base URL.
async fn start() -> (web::Data<Fake>, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("an address").port();
    let fake = web::Data::new(Fake {
        port,
        ..Fake::default()
    });
    let state = fake.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap_fn(|req, srv| {
                use actix_web::dev::Service;
                let fake = req.app_data::<web::Data<Fake>>().cloned();
                if let Some(fake) = fake {
                    fake.asked.lock().expect("lock").push(req.uri().to_string());
                }
                srv.call(req)
            })
            .route("/api/organisationUnits.json", web::get().to(org_units))
            .route(
                "/stuck/api/organisationUnits.json",
                web::get().to(stuck_org_units),
            )
            .route(
                "/flaky/api/organisationUnits.json",
                web::get().to(flaky_org_units),
            )
            .route(
                "/garbage/api/organisationUnits.json",
                web::get().to(garbage),
            )
            .route("/fhir/Practitioner", web::get().to(practitioners))
            .route("/fhir", web::get().to(practitioners))
            .route("/fhir/PractitionerRole", web::get().to(roles))
            .route("/odd/Practitioner", web::get().to(not_a_searchset))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("listening")
    .run();
    tokio::spawn(server);
    (fake, format!("http://127.0.0.1:{port}"))
}

fn config() -> ClientConfig {
    ClientConfig {
        max_attempts: 2,
        min_backoff: StdDuration::from_millis(10),
        ..ClientConfig::default()
    }
}

fn adapter(base: &str) -> MohAdapter {
    MohAdapter::new(base, None, config())
        .expect("an adapter")
        .with_repeat_pause(StdDuration::from_millis(5))
}

/// Pulls `feed` to its end; the pages and the cursors that led to them.
async fn pull(
    adapter: &MohAdapter,
    feed: &Feed,
    mut cursor: Cursor,
) -> Result<(Vec<Page>, Cursor), MohError> {
    let mut pages = Vec::new();
    for _ in 0..20 {
        let page = adapter.fetch_page(feed, &cursor).await?;
        cursor = page.next.clone();
        pages.push(page);
        if cursor.is_done() {
            return Ok((pages, cursor));
        }
    }
    panic!("the pull did not end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facilities_are_paged_to_the_end() {
    let (fake, base) = start().await;
    let moh = adapter(&base).with_page_size(6);
    assert_eq!(
        moh.feeds(),
        vec![
            Feed::Facilities,
            Feed::Practitioners,
            Feed::PractitionerRoles
        ]
    );
    let (pages, end) = pull(&moh, &Feed::Facilities, Cursor::full())
        .await
        .expect("a full pull");
    assert_eq!(pages.len(), 2);
    let items: Vec<_> = pages.iter().flat_map(|p| &p.items).collect();
    let ids: Vec<&str> = items.iter().map(|f| f.source_id.as_str()).collect();
    assert_eq!(ids, ["RHcheungpr1", "HCsotip0001", "HPchrey0001"]);
    assert!(
        items
            .iter()
            .all(|f| matches!(f.record, Record::Facility(_)))
    );
    assert_eq!(items[0].raw["code"], "MOH-RH-0301");
    let rejections: Vec<_> = pages.iter().flat_map(|p| &p.rejections).collect();
    let reasons: Vec<(&str, String)> = rejections
        .iter()
        .map(|r| (r.source_id.as_deref().unwrap_or(""), r.reason()))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].0 == "HPnoGroup01" && reasons[0].1.starts_with("organisationUnitGroups:"));
    assert!(reasons[1].0 == "HCbadGeom01" && reasons[1].1.starts_with("geometry:"));
    assert_eq!(rejections[0].feed, Feed::Facilities);
    assert_eq!(
        moh.skipped_units(),
        4,
        "the country, the province department, two operational districts"
    );
    // The high-water mark is the newest change seen, read as UTC+7.
    assert_eq!(
        end.high_water,
        Some(
            DateTime::parse_from_rfc3339("2024-03-01T01:00:00Z")
                .expect("t")
                .to_utc()
        )
    );
    assert_eq!(pages[0].next.position, Position::Page(2));
    assert_eq!(pages[0].next.guard.as_deref(), Some("KH000000001"));

    let asked = fake.asked.lock().expect("lock").clone();
    assert_eq!(asked.len(), 2);
    assert!(asked[0].starts_with("/api/organisationUnits.json?paging=true&page=1&pageSize=6&fields=id,code,name,shortName,level,path,parent%5Bid%5D,geometry,"), "{}", asked[0]);
    assert!(
        asked[0].contains(
            ",organisationUnitGroups%5Bcode%5D,attributeValues%5Bvalue,attribute%5Bcode%5D%5D"
        ),
        "{}",
        asked[0]
    );
    assert!(!asked[0].contains("filter="));
    assert!(asked[1].contains("&page=2&"));

    // A done cursor is an empty page and stays done.
    let done = moh
        .fetch_page(&Feed::Facilities, &end)
        .await
        .expect("a page");
    assert!(done.is_empty() && done.next.is_done());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_facility_pull_asks_with_an_overlap() {
    let (fake, base) = start().await;
    let moh = adapter(&base);
    let since = DateTime::parse_from_rfc3339("2024-01-23T07:05:00Z")
        .expect("t")
        .to_utc();
    moh.fetch_page(&Feed::Facilities, &Cursor::since(since))
        .await
        .expect("a page");
    let asked = fake.asked.lock().expect("lock").clone();
    assert!(
        asked[0].ends_with("&filter=lastUpdated:gt:2024-01-23T14:00:00.000"),
        "{}",
        asked[0]
    );
    assert!(asked[0].contains("pageSize=500"));

    let url = moh
        .page_url(&Feed::Practitioners, &Cursor::since(since))
        .expect("a url")
        .expect("not done");
    assert_eq!(
        url,
        format!("{base}/fhir/Practitioner?_count=500&_lastUpdated=gt2024-01-23T07:00:00Z")
    );
    let moh = moh.with_overlap(chrono::Duration::zero());
    let url = moh
        .page_url(&Feed::PractitionerRoles, &Cursor::since(since))
        .expect("a url")
        .expect("not done");
    assert!(
        url.ends_with("/fhir/PractitionerRole?_count=500&_lastUpdated=gt2024-01-23T07:05:00Z"),
        "{url}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn practitioners_follow_next_links_to_the_end() {
    let (fake, base) = start().await;
    let moh = adapter(&base).with_page_size(2);
    let (pages, end) = pull(&moh, &Feed::Practitioners, Cursor::full())
        .await
        .expect("a full pull");
    assert_eq!(pages.len(), 3);
    let ids: Vec<&str> = pages
        .iter()
        .flat_map(|p| &p.items)
        .map(|f| f.source_id.as_str())
        .collect();
    assert_eq!(ids, ["prac-0001", "prac-0002", "prac-0003", "prac-0005"]);
    let rejected: Vec<_> = pages.iter().flat_map(|p| &p.rejections).collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].source_id.as_deref(), Some("prac-0004"));
    assert_eq!(rejected[0].feed, Feed::Practitioners);
    assert!(
        rejected[0]
            .reason()
            .starts_with("birthDate: names a day its month does not have"),
        "{}",
        rejected[0].reason()
    );
    assert_eq!(rejected[0].raw["id"], "prac-0004");
    assert_eq!(
        pages[0].next.position,
        Position::Link(format!(
            "http://127.0.0.1:{}/fhir?_getpages=token-1&_getpagesoffset=2&_count=2&_bundletype=searchset",
            fake.port
        ))
    );
    assert_eq!(pages[1].next.guard.as_deref(), Some("prac-0003"));
    assert_eq!(
        end.high_water,
        Some(
            DateTime::parse_from_rfc3339("2024-01-15T00:00:00Z")
                .expect("t")
                .to_utc()
        )
    );
    let asked = fake.asked.lock().expect("lock").clone();
    assert_eq!(
        asked,
        [
            "/fhir/Practitioner?_count=2".to_owned(),
            "/fhir?_getpages=token-1&_getpagesoffset=2&_count=2&_bundletype=searchset".to_owned(),
            "/fhir?_getpages=token-1&_getpagesoffset=4&_count=2&_bundletype=searchset".to_owned(),
        ]
    );
    assert!(
        pages
            .iter()
            .flat_map(|p| &p.items)
            .all(|f| matches!(f.record, Record::Staff(_)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn practitioner_roles_in_one_page() {
    let (_fake, base) = start().await;
    let moh = adapter(&base);
    let (pages, _) = pull(&moh, &Feed::PractitionerRoles, Cursor::full())
        .await
        .expect("a pull");
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].items.len(), 2);
    assert_eq!(pages[0].rejections.len(), 1);
    assert_eq!(
        pages[0].rejections[0].source_id.as_deref(),
        Some("role-0003")
    );
    let Record::Role(role) = &pages[0].items[0].record else {
        panic!("a role")
    };
    assert_eq!(
        (role.person_source_id.as_str(), role.facility.value.as_str()),
        ("prac-0001", "HCsotip0001")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_that_is_not_a_searchset_is_an_error_naming_the_url() {
    let (_fake, base) = start().await;
    let moh = MohAdapter::new(&base, Some(&format!("{base}/odd/")), config()).expect("an adapter");
    let err = moh
        .fetch_page(&Feed::Practitioners, &Cursor::full())
        .await
        .expect_err("not a searchset");
    let url = format!("{base}/odd/Practitioner?_count=500");
    assert!(
        matches!(&err, MohError::UnreadablePage { url: u, .. } if *u == url),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("moh: ") && text.contains(&url) && text.contains("searchset"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_is_not_json_is_an_error_naming_the_url() {
    let (_fake, base) = start().await;
    let moh = adapter(&format!("{base}/garbage"));
    let err = moh
        .fetch_page(&Feed::Facilities, &Cursor::full())
        .await
        .expect_err("not JSON");
    let text = err.to_string();
    assert!(
        text.contains(&format!("{base}/garbage/api/organisationUnits.json?"))
            && text.contains("not JSON"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_page_is_asked_again_then_refused() {
    let (fake, base) = start().await;
    let moh = adapter(&format!("{base}/stuck"));
    let first = moh
        .fetch_page(&Feed::Facilities, &Cursor::full())
        .await
        .expect("page 1");
    assert_eq!(first.next.guard.as_deref(), Some("KH000000001"));
    let err = moh
        .fetch_page(&Feed::Facilities, &first.next)
        .await
        .expect_err("page 2 repeats page 1");
    match &err {
        MohError::RepeatedPage {
            url,
            first_id,
            attempts,
        } => {
            assert!(
                url.contains("/stuck/api/organisationUnits.json?paging=true&page=2&"),
                "{url}"
            );
            assert_eq!(first_id, "KH000000001");
            assert_eq!(*attempts, 4);
        }
        other => panic!("{other:?}"),
    }
    // Page 1 once, page 2 once and three times again.
    assert_eq!(fake.hits("/stuck/"), 5);
    assert!(err.to_string().contains("served again"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_repeated_once_is_read_when_asked_again() {
    let (fake, base) = start().await;
    let moh = adapter(&format!("{base}/flaky"));
    let (pages, _) = pull(&moh, &Feed::Facilities, Cursor::full())
        .await
        .expect("a pull");
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1].items[0].source_id, "HPchrey0001");
    assert_eq!(fake.hits("/flaky/"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_and_configuration_that_do_not_fit() {
    let (_fake, base) = start().await;
    let moh = adapter(&base);
    let link = Cursor {
        position: Position::Link(format!("{base}/x")),
        ..Cursor::full()
    };
    assert!(matches!(
        moh.fetch_page(&Feed::Facilities, &link).await,
        Err(MohError::Cursor { .. })
    ));
    assert!(matches!(
        moh.fetch_page(&Feed::Officers, &Cursor::full()).await,
        Err(MohError::Cursor { .. })
    ));
    assert!(matches!(
        MohAdapter::new("moh.gov.kh", None, config()),
        Err(MohError::Config(_))
    ));
}

#[test]
fn the_facilities_url_in_full() {
    let moh = MohAdapter::new("https://dhis2.moh.gov.kh/", None, ClientConfig::default())
        .expect("an adapter");
    let since = DateTime::parse_from_rfc3339("2024-01-23T07:05:00Z")
        .expect("t")
        .to_utc();
    let cursor = Cursor {
        position: Position::Page(3),
        ..Cursor::since(since)
    };
    assert_eq!(
        moh.page_url(&Feed::Facilities, &cursor)
            .expect("a url")
            .as_deref(),
        Some(
            "https://dhis2.moh.gov.kh/api/organisationUnits.json?paging=true&page=3&pageSize=500\
             &fields=id,code,name,shortName,level,path,parent%5Bid%5D,geometry,openingDate,closedDate,lastUpdated,\
             organisationUnitGroups%5Bcode%5D,attributeValues%5Bvalue,attribute%5Bcode%5D%5D\
             &filter=lastUpdated:gt:2024-01-23T14:00:00.000"
        )
    );
    assert_eq!(
        moh.page_url(&Feed::Practitioners, &Cursor::full())
            .expect("a url")
            .as_deref(),
        Some("https://dhis2.moh.gov.kh/fhir/Practitioner?_count=500")
    );
    assert_eq!(
        moh.page_url(
            &Feed::Facilities,
            &Cursor {
                position: Position::Done,
                ..Cursor::full()
            }
        )
        .expect("done"),
        None
    );
}
