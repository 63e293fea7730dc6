#![allow(clippy::unwrap_used)]
//! The adapter against a small payroll of our own on 127.0.0.1: paged to the end, a page
//! served twice, another month's page, a moment of 503.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use adapter_core::{Adapter, ClientConfig, Cursor, Feed, Page, Position};
use adapter_mef::{MefAdapter, MefError};
use schema::Period;
use serde_json::{Value, json};

/// How the fake repeats a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// The page before's lines, under the page number asked.
    Content,
    /// The page before, its own number included.
    Whole,
}

/// A fake MEF payroll: each month's lines and the faults it is told to show.
#[derive(Debug, Default)]
struct Fake {
    months: HashMap<String, Vec<Value>>,
    /// Requests still to answer 503.
    unavailable: AtomicUsize,
    /// The page to serve wrongly, how, and how many times.
    repeat: Option<(u64, Repeat)>,
    repeats: AtomicUsize,
    /// Answer for this period whatever is asked.
    wrong_period: Option<String>,
    requests: Mutex<Vec<String>>,
}

async fn payroll(
    req: actix_web::HttpRequest,
    fake: web::Data<Fake>,
    period: web::Path<String>,
) -> HttpResponse {
    fake.requests
        .lock()
        .unwrap()
        .push(format!("{}?{}", req.path(), req.query_string()));
    if fake
        .unavailable
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let query: HashMap<String, String> =
        web::Query::<HashMap<String, String>>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .unwrap_or_default();
    let (Some(page), Some(size)) = (
        query.get("page").and_then(|p| p.parse::<u64>().ok()),
        query.get("size").and_then(|s| s.parse::<u64>().ok()),
    ) else {
        return HttpResponse::BadRequest().finish();
    };
    let Some(lines) = fake.months.get(period.as_str()) else {
        return HttpResponse::NotFound().finish();
    };
    let total_pages = (lines.len() as u64).div_ceil(size);
    let mut served = page;
    let mut number = page;
    if let Some((at, how)) = fake.repeat
        && at == page
        && fake
            .repeats
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    {
        served = page - 1;
        if how == Repeat::Whole {
            number = page - 1;
        }
    }
    let from = ((served - 1) * size) as usize;
    let items: Vec<Value> = lines
        .iter()
        .skip(from)
        .take(size as usize)
        .cloned()
        .collect();
    let period = fake
        .wrong_period
        .clone()
        .unwrap_or_else(|| period.into_inner());
    HttpResponse::Ok()
        .json(json!({"period": period, "items": items, "page": number, "total_pages": total_pages}))
}

fn serve(fake: Fake) -> (String, Arc<Fake>) {
    let fake = Arc::new(fake);
    let data = web::Data::from(fake.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .route("/api/payroll/{period}", web::get().to(payroll))
            })
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    (format!("http://{}", rx.recv().unwrap()), fake)
}

fn config() -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
        max_attempts: 3,
        min_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        breaker_threshold: 1000,
        ..ClientConfig::default()
    }
}

fn month(s: &str) -> Period {
    Period::parse(s).unwrap()
}

/// `n` payroll lines; every 9th has an unreadable officer id (`bad-<i>`), every 11th no
/// ministry. Line `i` is officer `1000000000 + i`.
fn lines(n: usize) -> Vec<Value> {
    (1..=n)
        .map(|i| {
            let officer = if i % 9 == 0 { format!("bad-{i}") } else { (1_000_000_000 + i).to_string() };
            if i % 11 == 0 {
                json!({"officer_id": officer, "budget_unit": "BU-1", "status": "paid"})
            } else {
                json!({"officer_id": officer, "ministry": "MOEYS", "budget_unit": format!("BU-{}", i % 25), "status": "paid"})
            }
        })
        .collect()
}

async fn pull(adapter: &MefAdapter, feed: &Feed) -> Result<Vec<Page>, MefError> {
    let mut cursor = Cursor::full();
    let mut pages = Vec::new();
    for _ in 0..1000 {
        let page = adapter.fetch_page(feed, &cursor).await?;
        cursor = page.next.clone();
        pages.push(page);
        if cursor.is_done() {
            return Ok(pages);
        }
    }
    panic!("the pull did not end");
}

fn assert_each_once(pages: &[Page], n: usize) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for page in pages {
        for id in page
            .items
            .iter()
            .map(|f| f.source_id.clone())
            .chain(page.rejections.iter().map(|r| r.source_id.clone().unwrap()))
        {
            *seen.entry(id).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), n);
    for i in 1..=n {
        let id = if i % 9 == 0 {
            format!("bad-{i}")
        } else {
            (1_000_000_000 + i).to_string()
        };
        assert_eq!(seen.get(&id), Some(&1), "line {i}");
    }
    let rejected: usize = pages.iter().map(|p| p.rejections.len()).sum();
    assert_eq!(
        rejected,
        (1..=n).filter(|i| i % 9 == 0 || i % 11 == 0).count()
    );
}

#[tokio::test]
async fn a_period_is_paged_to_the_end() {
    let (base, fake) = serve(Fake {
        months: HashMap::from([("2024-01".to_owned(), lines(2350))]),
        ..Fake::default()
    });
    let adapter = MefAdapter::new(&base, config(), vec![month("2024-01")])
        .unwrap()
        .with_page_size(500);
    let feed = Feed::Payroll(month("2024-01"));
    assert_eq!(adapter.feeds(), std::slice::from_ref(&feed));

    let pages = pull(&adapter, &feed).await.unwrap();
    let positions: Vec<Position> = pages.iter().map(|p| p.next.position.clone()).collect();
    assert_eq!(
        positions,
        [
            Position::Page(2),
            Position::Page(3),
            Position::Page(4),
            Position::Page(5),
            Position::Done
        ]
    );
    assert_eq!(
        pages.iter().map(Page::len).collect::<Vec<_>>(),
        [500, 500, 500, 500, 350]
    );
    assert_each_once(&pages, 2350);
    // The guard is the first officer of each page; there is no high-water mark.
    assert_eq!(pages[1].next.guard.as_deref(), Some("1000000501"));
    assert!(pages.iter().all(|p| p.next.high_water.is_none()));
    let requests = fake.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 5);
    assert_eq!(requests[0], "/api/payroll/2024-01?page=1&size=500");
}

#[tokio::test]
async fn a_month_not_published_is_told_from_a_failure() {
    let (base, fake) = serve(Fake {
        months: HashMap::from([
            ("2024-02".to_owned(), Vec::new()),
            ("2024-05".to_owned(), lines(20)),
        ]),
        ..Fake::default()
    });
    let adapter = MefAdapter::new(&base, config(), vec![month("2024-02")])
        .unwrap()
        .with_page_size(10);
    // An empty month and one the payroll does not know (404) are not published yet.
    for (asked, answer) in [("2024-02", "is empty"), ("2024-03", "answered 404")] {
        let err = adapter
            .fetch_page(&Feed::Payroll(month(asked)), &Cursor::full())
            .await
            .unwrap_err();
        match &err {
            MefError::NotPublished {
                period,
                url,
                answer: said,
            } => {
                assert_eq!(*period, month(asked));
                assert!(
                    url.contains(&format!("/api/payroll/{asked}?page=1")),
                    "{url}"
                );
                assert_eq!(*said, answer);
            }
            other => panic!("{asked}: {other}"),
        }
        assert!(adapter.not_published(&err));
    }
    // A 404 past the first page is a failure: the month was there when the pull began.
    let unknown = Feed::Payroll(month("2024-03"));
    let resumed = Cursor {
        position: Position::Page(2),
        ..Cursor::full()
    };
    let err = adapter.fetch_page(&unknown, &resumed).await.unwrap_err();
    assert!(matches!(&err, MefError::Client(_)), "{err}");
    assert!(!adapter.not_published(&err));
    // So is a month that keeps answering 503.
    fake.unavailable.store(100, Ordering::SeqCst);
    let may = Feed::Payroll(month("2024-05"));
    let err = adapter.fetch_page(&may, &Cursor::full()).await.unwrap_err();
    assert!(matches!(&err, MefError::Client(_)), "{err}");
    assert!(!adapter.not_published(&err));
    fake.unavailable.store(0, Ordering::SeqCst);
    let page = adapter.fetch_page(&may, &Cursor::full()).await.unwrap();
    assert_eq!(page.len(), 10);
}

#[tokio::test]
async fn a_page_served_again_is_fetched_again() {
    for how in [Repeat::Content, Repeat::Whole] {
        let fake = Fake {
            months: HashMap::from([("2024-01".to_owned(), lines(1000))]),
            repeat: Some((2, how)),
            repeats: AtomicUsize::new(2),
            ..Fake::default()
        };
        let (base, fake) = serve(fake);
        let adapter = MefAdapter::new(&base, config(), vec![month("2024-01")])
            .unwrap()
            .with_page_size(300);
        let pages = pull(&adapter, &Feed::Payroll(month("2024-01")))
            .await
            .unwrap();
        assert_eq!(pages.len(), 4, "{how:?}");
        assert_each_once(&pages, 1000);
        assert_eq!(
            fake.requests.lock().unwrap().len(),
            6,
            "{how:?}: page 2 fetched three times"
        );
    }
}

#[tokio::test]
async fn a_page_that_keeps_repeating_fails_the_pull() {
    for how in [Repeat::Content, Repeat::Whole] {
        let fake = Fake {
            months: HashMap::from([("2024-01".to_owned(), lines(1000))]),
            repeat: Some((2, how)),
            repeats: AtomicUsize::new(usize::MAX),
            ..Fake::default()
        };
        let (base, fake) = serve(fake);
        let adapter = MefAdapter::new(&base, config(), vec![month("2024-01")])
            .unwrap()
            .with_page_size(300);
        let feed = Feed::Payroll(month("2024-01"));
        let first = adapter.fetch_page(&feed, &Cursor::full()).await.unwrap();
        let err = adapter.fetch_page(&feed, &first.next).await.unwrap_err();
        match &err {
            MefError::RepeatedPage { url, attempts } => {
                assert!(
                    url.ends_with("/api/payroll/2024-01?page=2&size=300"),
                    "{url}"
                );
                assert_eq!(*attempts, 4);
            }
            other => panic!("{how:?}: {other}"),
        }
        assert_eq!(
            fake.requests.lock().unwrap().len(),
            1 + 4,
            "{how:?}: asked once, then 3 times more"
        );
    }
}

#[tokio::test]
async fn a_page_of_another_month_is_unreadable() {
    let fake = Fake {
        months: HashMap::from([("2024-01".to_owned(), lines(10))]),
        wrong_period: Some("2023-12".to_owned()),
        ..Fake::default()
    };
    let (base, _fake) = serve(fake);
    let adapter = MefAdapter::new(&base, config(), vec![month("2024-01")]).unwrap();
    let err = adapter
        .fetch_page(&Feed::Payroll(month("2024-01")), &Cursor::full())
        .await
        .unwrap_err();
    assert!(matches!(err, MefError::Page { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("/api/payroll/2024-01?page=1") && text.contains("2023-12"),
        "{text}"
    );
}

#[tokio::test]
async fn a_503_is_retried() {
    let fake = Fake {
        months: HashMap::from([("2024-01".to_owned(), lines(10))]),
        unavailable: AtomicUsize::new(1),
        ..Fake::default()
    };
    let (base, fake) = serve(fake);
    let adapter = MefAdapter::new(&base, config(), vec![month("2024-01")]).unwrap();
    let pages = pull(&adapter, &Feed::Payroll(month("2024-01")))
        .await
        .unwrap();
    assert_each_once(&pages, 10);
    assert_eq!(fake.requests.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn since_is_ignored_and_other_feeds_are_refused() {
    let (base, fake) = serve(Fake {
        months: HashMap::from([("2024-01".to_owned(), lines(3))]),
        ..Fake::default()
    });
    let adapter = MefAdapter::new(&base, config(), vec![month("2024-01")]).unwrap();
    let since = chrono::DateTime::parse_from_rfc3339("2024-01-15T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let page = adapter
        .fetch_page(&Feed::Payroll(month("2024-01")), &Cursor::since(since))
        .await
        .unwrap();
    assert_eq!(page.len(), 3, "a full pull whatever the cursor's since");
    assert_eq!(
        fake.requests.lock().unwrap()[0],
        "/api/payroll/2024-01?page=1&size=1000"
    );
    assert!(matches!(
        adapter.fetch_page(&Feed::Schools, &Cursor::full()).await,
        Err(MefError::Feed(_))
    ));
    let done = adapter
        .fetch_page(&Feed::Payroll(month("2024-01")), &page.next)
        .await
        .unwrap();
    assert!(done.is_empty() && done.next.is_done());
}
