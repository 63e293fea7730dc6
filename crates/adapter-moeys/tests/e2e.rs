#![allow(clippy::unwrap_used)]
//! The adapter against a small EMIS of our own on 127.0.0.1: exports streamed in chunks,
//! cut off mid-way, unavailable for a moment, filtered by `updated_since`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web::{self, Bytes};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer};
use adapter_core::{Adapter, ClientConfig, ClientError, Cursor, Feed, Page, Position, Record};
use adapter_moeys::{MoeysAdapter, MoeysError};
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::StreamExt;

const SCHOOLS_HEADER: &str = "school_code,school_name_kh,school_name_en,school_level,commune_code,latitude,longitude,status,managed_by,updated_at";

/// A fake EMIS: the exports it serves and the faults it is told to show.
#[derive(Debug, Default)]
struct Fake {
    schools: Vec<u8>,
    teachers: Vec<u8>,
    /// Requests still to answer 503.
    unavailable: AtomicUsize,
    /// Responses still to cut off after `cut_at` bytes, with a Content-Length for the whole.
    truncated: AtomicUsize,
    cut_at: usize,
    /// Every request's path and raw query.
    requests: Mutex<Vec<(String, String)>>,
}

fn take_one(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

async fn export(req: HttpRequest, fake: web::Data<Fake>, name: web::Path<String>) -> HttpResponse {
    fake.requests
        .lock()
        .unwrap()
        .push((req.path().to_owned(), req.query_string().to_owned()));
    if take_one(&fake.unavailable) {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let body = match name.as_str() {
        "schools.csv" => fake.schools.clone(),
        "teachers.csv" => fake.teachers.clone(),
        _ => return HttpResponse::NotFound().finish(),
    };
    if take_one(&fake.truncated) {
        let whole = body.len() as u64;
        let part = Bytes::copy_from_slice(&body[..fake.cut_at]);
        let broken = futures_util::stream::once(async {
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            Err::<Bytes, _>(std::io::Error::other("cut off"))
        });
        let stream = futures_util::stream::iter([Ok(part)]).chain(broken);
        return HttpResponse::Ok()
            .content_type("text/csv")
            .no_chunking(whole)
            .streaming(stream);
    }
    // In odd-sized chunks, so rows and Khmer letters straddle chunk boundaries.
    let chunks: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(997)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .streaming(futures_util::stream::iter(chunks))
}

/// Serves `fake` on 127.0.0.1 on a port of its own; the base URL.
fn serve(fake: Fake) -> (String, Arc<Fake>) {
    let fake = Arc::new(fake);
    let data = web::Data::from(fake.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .route("/emis/export/{name}", web::get().to(export))
            })
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    (format!("http://{}/", rx.recv().unwrap()), fake)
}

fn config(max_attempts: usize) -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
        read_timeout: Duration::from_secs(5),
        max_attempts,
        min_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        breaker_threshold: 1000,
        ..ClientConfig::default()
    }
}

fn base_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn khmer_digits(s: &str) -> String {
    s.chars()
        .map(|c| {
            c.to_digit(10)
                .map_or(c, |d| char::from_u32(0x17E0 + d).unwrap())
        })
        .collect()
}

/// `n` schools in the messy forms: a BOM, CRLF, quoted names with commas, quotes and line
/// breaks, Khmer digits; every 10th has an unknown level (rejected), every 13th an
/// invalid commune (unplaced, not rejected). School `i`'s code is `i`; it changed at
/// `base_time() + i minutes`.
fn schools_export(n: usize) -> Vec<u8> {
    let mut body = format!("\u{feff}{SCHOOLS_HEADER}\r\n");
    for i in 1..=n {
        let code = if i % 5 == 0 {
            khmer_digits(&i.to_string())
        } else {
            i.to_string()
        };
        let name_en = if i % 7 == 0 {
            format!("\"School {i}, \"\"the new\"\"\r\nbuilding\"")
        } else {
            format!("School {i}")
        };
        let level = if i % 10 == 0 {
            "university"
        } else {
            ["primary", "lower secondary", "high_school"][i % 3]
        };
        let commune = if i % 13 == 0 { "999999" } else { "010201" };
        let updated = (base_time() + TimeDelta::minutes(i as i64)).to_rfc3339();
        body.push_str(&format!(
            "{code},សាលា {},{name_en},{level},{commune},11.{i},104.9,open,MOEYS,{updated}\r\n",
            khmer_digits(&i.to_string())
        ));
    }
    body.into_bytes()
}

/// Pulls `feed` from `cursor` to the end; every page.
async fn pull(
    adapter: &MoeysAdapter,
    feed: &Feed,
    mut cursor: Cursor,
) -> Result<Vec<Page>, MoeysError> {
    let mut pages = Vec::new();
    for _ in 0..10_000 {
        let page = adapter.fetch_page(feed, &cursor).await?;
        cursor = page.next.clone();
        pages.push(page);
        if cursor.is_done() {
            return Ok(pages);
        }
    }
    panic!("the pull did not end");
}

/// Every source id delivered, valid or rejected, with how often.
fn delivered(pages: &[Page]) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for page in pages {
        let ids = page.items.iter().map(|f| f.source_id.clone());
        let rejected = page.rejections.iter().map(|r| r.source_id.clone().unwrap());
        for id in ids.chain(rejected) {
            *seen.entry(id).or_insert(0) += 1;
        }
    }
    seen
}

fn assert_each_once(pages: &[Page], n: usize) {
    let seen = delivered(pages);
    assert_eq!(seen.len(), n, "distinct rows delivered");
    for i in 1..=n {
        assert_eq!(seen.get(&i.to_string()), Some(&1), "school {i}");
    }
    let rejected: usize = pages.iter().map(|p| p.rejections.len()).sum();
    assert_eq!(rejected, n / 10, "every 10th row is rejected");
    for r in pages.iter().flat_map(|p| &p.rejections) {
        assert!(
            r.reason()
                .starts_with("school_level: is not a school level"),
            "{}",
            r.reason()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_batch_export_is_read_to_the_end_exactly_once() {
    let n = 2000;
    let (base, fake) = serve(Fake {
        schools: schools_export(n),
        ..Fake::default()
    });
    let adapter = MoeysAdapter::new(&base, config(3))
        .unwrap()
        .with_batch_size(150);
    assert_eq!(adapter.feeds(), [Feed::Schools, Feed::Teachers]);

    let pages = pull(&adapter, &Feed::Schools, Cursor::full())
        .await
        .unwrap();
    assert_eq!(pages.len(), 14);
    for (k, page) in pages.iter().enumerate() {
        if k + 1 < pages.len() {
            assert_eq!(page.len(), 150);
            assert_eq!(page.next.position, Position::Row(150 * (k as u64 + 1)));
        } else {
            assert_eq!(page.len(), 50);
            assert_eq!(page.next.position, Position::Done);
        }
    }
    assert_each_once(&pages, n);
    // Unplaced schools are reported, not rejected.
    let unplaced = pages
        .iter()
        .flat_map(|p| &p.items)
        .filter(|f| matches!(&f.record, Record::Facility(s) if s.admin_unit_code.is_none()))
        .count();
    assert_eq!(
        unplaced,
        (1..=n).filter(|i| i % 13 == 0 && i % 10 != 0).count()
    );
    // The high-water mark is the newest change among the normalised rows (2000 is rejected).
    let last = pages.last().unwrap();
    assert_eq!(
        last.next.high_water,
        Some(base_time() + TimeDelta::minutes(1999))
    );
    assert_eq!(
        fake.requests.lock().unwrap().len(),
        1,
        "one download for the whole export"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_off_mid_way_is_downloaded_again_without_duplicates() {
    let n = 2000;
    let schools = schools_export(n);
    let cut_at = schools.len() * 3 / 5;
    let (base, fake) = serve(Fake {
        schools,
        truncated: AtomicUsize::new(1),
        cut_at,
        ..Fake::default()
    });
    let adapter = MoeysAdapter::new(&base, config(3))
        .unwrap()
        .with_batch_size(150);

    let (mut pages, mut downloads) = (Vec::new(), Vec::new());
    let mut cursor = Cursor::full();
    while !cursor.is_done() {
        let page = adapter.fetch_page(&Feed::Schools, &cursor).await.unwrap();
        cursor = page.next.clone();
        pages.push(page);
        downloads.push(fake.requests.lock().unwrap().len());
    }
    assert_each_once(&pages, n);
    assert!(pages[..pages.len() - 1].iter().all(|p| p.len() == 150));
    // Cut off mid-way: the first pages came from the first download, the rest from a second.
    assert_eq!(downloads.first(), Some(&1));
    assert_eq!(
        downloads.last(),
        Some(&2),
        "the export was downloaded again once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_keeps_breaking_off_fails_after_the_clients_attempts() {
    let schools = schools_export(300);
    let cut_at = schools.len() / 2;
    let (base, fake) = serve(Fake {
        schools,
        truncated: AtomicUsize::new(usize::MAX),
        cut_at,
        ..Fake::default()
    });
    let adapter = MoeysAdapter::new(&base, config(3))
        .unwrap()
        .with_batch_size(1000);

    let err = adapter
        .fetch_page(&Feed::Schools, &Cursor::full())
        .await
        .unwrap_err();
    assert!(
        matches!(err, MoeysError::Client(ClientError::Body { .. })),
        "{err}"
    );
    assert!(
        err.to_string().contains("/emis/export/schools.csv"),
        "{err}"
    );
    assert_eq!(fake.requests.lock().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_is_retried() {
    let (base, fake) = serve(Fake {
        schools: schools_export(20),
        unavailable: AtomicUsize::new(1),
        ..Fake::default()
    });
    let adapter = MoeysAdapter::new(&base, config(3)).unwrap();
    let pages = pull(&adapter, &Feed::Schools, Cursor::full())
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
    assert_each_once(&pages, 20);
    assert_eq!(fake.requests.lock().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_pull_passes_updated_since() {
    let (base, fake) = serve(Fake {
        schools: schools_export(3),
        ..Fake::default()
    });
    let adapter = MoeysAdapter::new(&base, config(3)).unwrap();
    let since = DateTime::parse_from_rfc3339("2024-01-23T10:15:00+07:00")
        .unwrap()
        .with_timezone(&Utc);
    let pages = pull(&adapter, &Feed::Schools, Cursor::since(since))
        .await
        .unwrap();
    assert_eq!(pages[0].next.since, Some(since));
    let requests = fake.requests.lock().unwrap().clone();
    assert_eq!(
        requests,
        [(
            "/emis/export/schools.csv".to_owned(),
            "updated_since=2024-01-23T03%3A15%3A00Z".to_owned()
        )]
    );
    let query: HashMap<String, String> = serde_urlencoded_decode(&requests[0].1);
    assert_eq!(
        DateTime::parse_from_rfc3339(&query["updated_since"]).unwrap(),
        since
    );
}

/// Decodes a query string (only `%XX` escapes are needed here).
fn serde_urlencoded_decode(query: &str) -> HashMap<String, String> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_sync_resumes_from_its_row() {
    let n = 1000;
    let (base, fake) = serve(Fake {
        schools: schools_export(n),
        ..Fake::default()
    });
    let first = MoeysAdapter::new(&base, config(3))
        .unwrap()
        .with_batch_size(100);
    let mut pages = Vec::new();
    let mut cursor = Cursor::full();
    for _ in 0..3 {
        let page = first.fetch_page(&Feed::Schools, &cursor).await.unwrap();
        cursor = page.next.clone();
        pages.push(page);
    }
    assert_eq!(cursor.position, Position::Row(300));

    // The same page asked again (its storing failed): the same rows, from a new download.
    let again = first
        .fetch_page(&Feed::Schools, &pages[2].next)
        .await
        .unwrap();
    let retried = first
        .fetch_page(&Feed::Schools, &pages[2].next)
        .await
        .unwrap();
    assert_eq!(
        delivered(std::slice::from_ref(&again)),
        delivered(std::slice::from_ref(&retried))
    );
    assert_eq!(retried.next.position, Position::Row(400));

    // A new process resumes from the stored cursor.
    drop(first);
    let second = MoeysAdapter::new(&base, config(3))
        .unwrap()
        .with_batch_size(100);
    pages.extend(pull(&second, &Feed::Schools, cursor).await.unwrap());
    assert_each_once(&pages, n);
    assert_eq!(fake.requests.lock().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_column_is_an_unreadable_export() {
    let body = "school_code,school_name_kh,school_level,commune_code,latitude,longitude,status,managed_by,updated_at\r\n";
    let (base, _fake) = serve(Fake {
        schools: body.as_bytes().to_vec(),
        ..Fake::default()
    });
    let adapter = MoeysAdapter::new(&base, config(3)).unwrap();
    let err = adapter
        .fetch_page(&Feed::Schools, &Cursor::full())
        .await
        .unwrap_err();
    assert!(matches!(err, MoeysError::Export { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("/emis/export/schools.csv") && text.contains("`school_name_en`"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teachers_are_read_over_http() {
    let teachers = "\u{feff}teacher_id,officer_id,national_id,name_kh,name_en,sex,dob,school_code,position,employment_type,updated_at\r\n\
                    T1,100012345,,សុខ ចាន់ថា,Sok Chantha,F,07/03/1985,1234,គ្រូ,civil_servant,2024-01-23T10:15:00+07:00\r\n\
                    T2,,,ចាន់ ដារ៉ា,,M,,1234,គ្រូ,contract,2024-01-24T10:15:00+07:00\r\n\
                    T3,bad,,ក,,M,,1234,គ្រូ,civil_servant,2024-01-25T10:15:00+07:00\r\n";
    let (base, fake) = serve(Fake {
        teachers: teachers.as_bytes().to_vec(),
        ..Fake::default()
    });
    let adapter = MoeysAdapter::new(&base, config(3)).unwrap();
    let pages = pull(&adapter, &Feed::Teachers, Cursor::full())
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
    let page = &pages[0];
    assert_eq!(
        page.items
            .iter()
            .map(|f| f.source_id.as_str())
            .collect::<Vec<_>>(),
        ["T1", "T2"]
    );
    assert_eq!(page.rejections.len(), 1);
    assert!(
        page.rejections[0].reason().starts_with("officer_id:"),
        "{}",
        page.rejections[0].reason()
    );
    assert_eq!(page.rejections[0].feed, Feed::Teachers);
    assert_eq!(
        page.next.high_water,
        Some(
            DateTime::parse_from_rfc3339("2024-01-24T03:15:00Z")
                .unwrap()
                .with_timezone(&Utc)
        )
    );
    assert_eq!(
        fake.requests.lock().unwrap()[0].0,
        "/emis/export/teachers.csv"
    );

    // A done cursor fetches nothing; a feed EMIS does not have is an error.
    let done = adapter
        .fetch_page(&Feed::Teachers, &page.next)
        .await
        .unwrap();
    assert!(done.is_empty() && done.next.is_done());
    assert!(matches!(
        adapter.fetch_page(&Feed::Officers, &Cursor::full()).await,
        Err(MoeysError::Feed(_))
    ));
}
