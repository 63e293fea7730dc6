//! The discrepancy benchmark's driver (`bench/reconcile.sh`): the mock ministries at
//! full scale in this process, a full sync of every ministry into an empty database,
//! then the discrepancy pass over the whole country (timed from empty, and again as a
//! steady pass), rosters from a share of the service sites submitted over HTTP to a
//! running gateway (latency per submission, and the facility pass inside it): half of
//! them with nobody subscribed, half with a subscriber to every event (a receiver on
//! this machine answering 200) so the ratio shows what push adds; the open findings
//! scored against the mock's ground truth, per kind; and the correction requests for
//! the whole country derived from every conflict confirmed at once.
//!
//! Usage: reconcile_bench [--share 0.1]   (DATABASE_URL: the server; database
//! bench_reconcile on it is dropped and recreated)
//!        reconcile_bench --corrections-only   (the derivation again, on what the
//!                                             last run left)

use std::net::TcpListener;
use std::time::{Duration, Instant};

use e2e::scoring;
use gateway::startup::Application;
use gateway::views::DiscrepancyView;
use mock_ministries::Scale;
use serde_json::{Value, json};
use store::{DiscrepancyFilter, FindingStatus, Store};
use sync::Silent;

const DB: &str = "bench_reconcile";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn all_open_findings(store: &Store) -> Vec<Value> {
    let filter = DiscrepancyFilter {
        status: FindingStatus::Open,
        ..DiscrepancyFilter::default()
    };
    let (mut out, mut after) = (Vec::new(), None);
    loop {
        let page = store
            .list_discrepancies(&filter, after, 1000)
            .await
            .expect("findings");
        out.extend(
            page.items
                .into_iter()
                .map(|d| serde_json::to_value(DiscrepancyView::new(d, true)).expect("json")),
        );
        match page.next_after {
            Some(a) => after = Some(a),
            None => return out,
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let share: f64 = args
        .iter()
        .position(|a| a == "--share")
        .and_then(|i| args.get(i + 1))
        .map_or(0.1, |s| s.parse().expect("--share"));
    let server = e2e::database_server();
    if args.iter().any(|a| a == "--corrections-only") {
        return corrections_again(server).await;
    }
    store::recreate_database(server, DB)
        .await
        .expect("database");
    let store = Store::connect(server, Some(DB), 8).expect("connect");
    store.migrate().await.expect("migrate");

    eprintln!("== generating the full-scale world");
    let mock = e2e::start_mock(Scale::Full, 42).await;
    let truth = mock.truth().clone();
    let engine = e2e::mock_engine(&store, &mock);
    eprintln!("== full sync of every ministry (with its discrepancy pass)");
    let started = Instant::now();
    for (m, r) in engine.sync_all(true, &Silent).await {
        r.unwrap_or_else(|e| panic!("{m}: {e}"));
    }
    let sync_s = started.elapsed().as_secs_f64();

    // The pass from nothing (every finding new), then again (every finding seen again).
    let mut db = {
        let mut config: tokio_postgres::Config = server.parse().expect("url");
        config.dbname(DB);
        let (client, conn) = config.connect(tokio_postgres::NoTls).await.expect("sql");
        tokio::spawn(conn);
        client
    };
    db.batch_execute("TRUNCATE discrepancies CASCADE")
        .await
        .expect("truncate");
    let first = store.reconcile().await.expect("pass");
    let steady = store.reconcile().await.expect("pass");

    eprintln!(
        "== rosters from {:.0}% of the sites, over HTTP",
        share * 100.0
    );
    let mut settings = e2e::test_settings(DB);
    settings.log.filter = "warn".to_owned();
    // One client submits every site's roster back to back: this measures the pass
    // inside each submission, not the rate limiter.
    settings.rate_limit.enabled = false;
    // The subscriber's receiver listens on this machine.
    settings.push.allowed_hosts = vec!["http://127.0.0.1".to_owned()];
    let app = Application::build(&settings, TcpListener::bind("127.0.0.1:0").expect("bind"))
        .await
        .expect("gateway");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.server_handle();
    let serving = tokio::spawn(app.run_until_stopped());
    let token = gateway::auth::issue_hs256(
        &settings.auth,
        "bench-sites",
        &["rosters:write"],
        None,
        Duration::from_secs(3600),
    )
    .expect("token");
    let plan = mock.roster_plan(share, 7);
    let ids = facility_ids(&mut db, &plan.submissions).await;
    let http = reqwest::Client::new();
    let (mut latency, mut pass_ms) = (Vec::new(), Vec::new());
    let mut pushed_latency = Vec::new();
    let half = plan.submissions.len() / 2;
    let receiver = accepting_receiver().await;
    for (i, (r, id)) in plan.submissions.iter().zip(&ids).enumerate() {
        if i == half {
            subscribe_everything(&http, &address, &settings, &receiver).await;
        }
        let body = json!({"period": plan.period, "entries": r.entries});
        let t = Instant::now();
        let res = http
            .post(format!("{address}/v1/facilities/{id}/rosters"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("post");
        let status = res.status();
        let receipt: Value = res.json().await.expect("receipt");
        let took = t.elapsed().as_secs_f64() * 1000.0;
        if i < half {
            latency.push(took);
        } else {
            pushed_latency.push(took);
        }
        assert_eq!(status.as_u16(), 201, "{receipt}");
        pass_ms.push(receipt["discrepancies"]["took_ms"].as_f64().unwrap_or(0.0));
    }
    latency.sort_by(f64::total_cmp);
    pushed_latency.sort_by(f64::total_cmp);
    pass_ms.sort_by(f64::total_cmp);
    let entries: usize = plan.submissions.iter().map(|r| r.entries.len()).sum();
    let after_rosters = store.reconcile().await.expect("pass");
    let findings = all_open_findings(&store).await;
    let scores = scoring::score(&truth, Some(&plan), &findings);
    handle.stop(true).await;
    let _ = serving.await;

    // Every conflict confirmed as a real problem at once, then the requests for the
    // whole country derived in one go (what a pass or an action does after them).
    let confirmed = db
        .execute(
            "UPDATE discrepancies SET review_state = 'confirmed', review_version = review_version + 1
             WHERE resolved_at IS NULL
               AND kind IN ('attribute_conflict', 'assignment_conflict', 'paid_not_on_roll',
                            'on_roll_not_paid', 'serving_not_on_roll')",
            &[],
        )
        .await
        .expect("confirm");
    let t = Instant::now();
    let derived = store.refresh_corrections().await.expect("corrections");
    let derive_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let again = store.refresh_corrections().await.expect("corrections");
    let settle_s = t.elapsed().as_secs_f64();
    assert_eq!(again.created, 0, "derived twice: {again:?}");

    println!("================ discrepancy benchmark (full scale) ================");
    println!("full sync with its pass: {sync_s:.1} s");
    println!(
        "discrepancy pass, whole country: {:.2} s from empty ({} findings), {:.2} s steady, {:.2} s after the rosters",
        first.millis as f64 / 1000.0,
        first.open,
        steady.millis as f64 / 1000.0,
        after_rosters.millis as f64 / 1000.0
    );
    println!(
        "rosters: {} submissions ({entries} entries); without a subscriber, latency p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        plan.submissions.len(),
        percentile(&latency, 0.5),
        percentile(&latency, 0.95),
        percentile(&latency, 1.0)
    );
    println!(
        "  of which the facility's discrepancy pass: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        percentile(&pass_ms, 0.5),
        percentile(&pass_ms, 0.95),
        percentile(&pass_ms, 1.0)
    );
    let push_ratio = percentile(&pushed_latency, 0.5) / percentile(&latency, 0.5);
    println!(
        "  without a subscriber: {} rosters, p50 {:.1} ms, p95 {:.1} ms; with one to every event: {} rosters, p50 {:.1} ms, p95 {:.1} ms (p50 ratio {push_ratio:.2}); {} events delivered",
        latency.len(),
        percentile(&latency, 0.5),
        percentile(&latency, 0.95),
        pushed_latency.len(),
        percentile(&pushed_latency, 0.5),
        percentile(&pushed_latency, 0.95),
        receiver.taken()
    );
    println!(
        "corrections: {confirmed} findings confirmed at once; {} requests derived for the whole country in {derive_s:.2} s; an idle refresh {settle_s:.2} s",
        derived.created
    );
    print!("{}", scoring::table(&scores));
    println!("---------------- targets -------------------------------------");
    let pass_s = first.millis.max(steady.millis).max(after_rosters.millis) as f64 / 1000.0;
    let added = percentile(&pass_ms, 1.0);
    let worst = scores
        .iter()
        .map(|s| s.precision().min(s.recall()))
        .fold(1.0, f64::min);
    for (name, ok, got, want) in [
        (
            "country pass",
            pass_s < 10.0,
            format!("{pass_s:.2} s"),
            "< 10 s",
        ),
        (
            "roster pass",
            added < 200.0,
            format!("{added:.0} ms"),
            "< 200 ms added",
        ),
        (
            "push on/off",
            push_ratio <= 1.2,
            format!("{push_ratio:.2}x"),
            "<= 1.2x roster p50",
        ),
        (
            "corrections",
            derive_s < 5.0,
            format!("{derive_s:.2} s"),
            "< 5 s whole country",
        ),
        (
            "precision/recall",
            worst >= 0.99,
            format!("{worst:.4}"),
            ">= 0.99 each kind",
        ),
    ] {
        println!(
            "{}  {name:17} {got:>10}   target {want}",
            if ok { "PASS" } else { "MISS" }
        );
    }
}

/// Times the derivation again on the database the last full run left (its findings
/// confirmed, its subscriber still subscribed): the requests and their events are
/// deleted, then derived twice.
async fn corrections_again(server: &str) {
    let store = Store::connect(server, Some(DB), 8).expect("connect");
    let mut config: tokio_postgres::Config = server.parse().expect("url");
    config.dbname(DB);
    let (db, conn) = config.connect(tokio_postgres::NoTls).await.expect("sql");
    tokio::spawn(conn);
    db.batch_execute("DELETE FROM corrections; DELETE FROM deliveries; DELETE FROM outbox_events")
        .await
        .expect("clear");
    let t = Instant::now();
    let derived = store.refresh_corrections().await.expect("corrections");
    let derive_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let again = store.refresh_corrections().await.expect("corrections");
    let events: i64 = db
        .query_one("SELECT count(*) FROM deliveries", &[])
        .await
        .expect("count")
        .get(0);
    println!(
        "corrections: {} requests derived for the whole country in {derive_s:.2} s ({events} deliveries queued for the subscriber); an idle refresh {:.2} s ({} new)",
        derived.created,
        t.elapsed().as_secs_f64(),
        again.created
    );
}

/// A subscriber's receiver on this machine: answers every request 200 and counts them.
struct AcceptingReceiver {
    url: String,
    taken: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl AcceptingReceiver {
    fn taken(&self) -> usize {
        self.taken.load(std::sync::atomic::Ordering::Relaxed)
    }
}

async fn accepting_receiver() -> AcceptingReceiver {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://127.0.0.1:{}/hooks",
        listener.local_addr().expect("addr").port()
    );
    let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = taken.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                // Reads the head and the body its content-length names, then answers.
                let mut buf = Vec::new();
                let mut chunk = [0_u8; 8192];
                loop {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    AcceptingReceiver { url, taken }
}

/// Subscribes the receiver to every event type, as a ministry's system would.
async fn subscribe_everything(
    http: &reqwest::Client,
    address: &str,
    settings: &gateway::config::Settings,
    receiver: &AcceptingReceiver,
) {
    let token = gateway::auth::issue_hs256(
        &settings.auth,
        "bench-subscriber",
        &[
            "subscriptions:admin",
            "reports:read",
            "staff:read",
            "facilities:read",
        ],
        None,
        Duration::from_secs(3600),
    )
    .expect("token");
    let res = http
        .post(format!("{address}/v1/subscriptions"))
        .bearer_auth(token)
        .json(&json!({
            "url": receiver.url,
            "events": ["finding.opened", "finding.resolved", "correction.created",
                       "staff.changed", "facility.changed"],
        }))
        .send()
        .await
        .expect("subscribe");
    assert_eq!(res.status().as_u16(), 201, "{:?}", res.text().await);
}

/// The gateway ids of the facilities the rosters are for.
async fn facility_ids(
    db: &mut tokio_postgres::Client,
    rosters: &[mock_ministries::PlannedRoster],
) -> Vec<uuid::Uuid> {
    let mut ids = Vec::with_capacity(rosters.len());
    for r in rosters {
        let system = match r.source {
            mock_ministries::Ministry::Moh => "moh:dhis2",
            _ => "moeys:school_code",
        };
        let row = db
            .query_one(
                "SELECT entity_id FROM source_identifiers
                 WHERE entity_type = 'facility' AND system = $1 AND value = $2",
                &[&system, &r.record_id],
            )
            .await
            .unwrap_or_else(|e| panic!("facility {}: {e}", r.record_id));
        ids.push(row.get(0));
    }
    ids
}
