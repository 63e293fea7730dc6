//! Two `interop-gateway serve` processes on one database, as N replicas behind a load
//! balancer would run: each syncing on its own schedule and serving reads and rosters.
//! No source is pulled by both at once, either serves the same change feed, a retried
//! roster stores once whichever replica each try reached, the shared audit chain
//! holds, and SIGTERM to one answers what it was asked, closes its sync run as
//! `interrupted` and exits cleanly.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mock_ministries::{FaultSettings, Ministry as MockMinistry, MockServer, Scale};
use serde_json::{Value, json};

/// Long enough for a loaded two-core machine; the test only waits this long on failure.
const PATIENCE: Duration = Duration::from_secs(240);

/// A `serve` process of the test.
struct Replica {
    name: &'static str,
    child: Child,
    address: String,
    log: PathBuf,
}

impl Replica {
    fn start(name: &'static str, db: &str, mock: &MockServer, interval_seconds: u64) -> Self {
        // A port free a moment ago; `serve` binds it itself.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = std::env::temp_dir().join(format!("replica-{name}-{db}.log"));
        let mut cmd = Command::new(crate::auth::e2e_bin());
        cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env_remove("DATABASE_URL")
            .env("GATEWAY__DATABASE__URL", e2e::database_server())
            .env("GATEWAY__DATABASE__NAME", db)
            .env("GATEWAY__DATABASE__POOL_SIZE", "6")
            .env("GATEWAY__SERVER__WORKERS", "2")
            .env("GATEWAY__AUTH__HS256_SECRET", e2e::SECRET)
            // One key for both: each replica checkpoints the shared chain.
            .env("GATEWAY__AUDIT__CHECKPOINT_KEY", e2e::CHECKPOINT_KEY)
            .env("GATEWAY__AUDIT__CHECKPOINT_INTERVAL_SECONDS", "1")
            .env("GATEWAY__AUDIT__MAX_DELAY_MS", "5")
            .env("GATEWAY__RATE_LIMIT__ENABLED", "false")
            .env(
                "GATEWAY__SYNC__INTERVAL_SECONDS",
                interval_seconds.to_string(),
            )
            .env("GATEWAY__LOG__FILTER", "info")
            .env(
                "GATEWAY__MINISTRIES__MEF__PERIODS",
                &mock.truth().current_period,
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        for m in ["MOI", "MCS", "MOH", "MOEYS", "MEF"] {
            cmd.env(
                format!("GATEWAY__MINISTRIES__{m}__BASE_URL"),
                mock.base_url(),
            );
        }
        let child = cmd.spawn().expect("start interop-gateway serve");
        Self {
            name,
            child,
            address: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls until the process answers `/healthz`.
    async fn wait_ready(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(res) = http.get(self.url("/healthz")).send().await
                && res.status() == 200
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}):\n{}", self.name, self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "{} never answered:\n{}",
                self.name,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success(), "kill -TERM {}", self.name);
    }

    /// Waits for the process to exit and returns its status.
    async fn exited(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit after SIGTERM:\n{}",
                self.name,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Its `sync_runs_total` counts, by outcome (every ministry summed).
    async fn sync_outcomes(&self, http: &reqwest::Client) -> BTreeMap<String, f64> {
        let text = http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        let mut out = BTreeMap::new();
        for line in text.lines().filter(|l| l.starts_with("sync_runs_total{")) {
            let outcome = line
                .split("outcome=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or_default();
            let n: f64 = line
                .rsplit(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0.0);
            *out.entry(outcome.to_owned()).or_default() += n;
        }
        out
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        // A failed test must not leave a server running; its log is kept to read.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

fn token(sub: &str, scopes: &str) -> String {
    let mut settings = gateway::config::Settings::defaults().expect("defaults");
    settings.auth.hs256_secret = e2e::SECRET.into();
    let scopes: Vec<&str> = scopes.split_whitespace().collect();
    gateway::auth::issue_hs256(
        &settings.auth,
        sub,
        &scopes,
        None,
        Duration::from_secs(3600),
    )
    .expect("token")
}

async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> Value {
    let res = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200, "GET {url}");
    res.json().await.expect("json")
}

/// Every item of a paged list, following `next_cursor`.
async fn all_pages(
    http: &reqwest::Client,
    replica: &Replica,
    path: &str,
    token: &str,
) -> Vec<Value> {
    let mut items = Vec::new();
    let mut url = replica.url(path);
    loop {
        let body = get_json(http, &url, token).await;
        items.extend(body["items"].as_array().expect("items").iter().cloned());
        match body["next_cursor"].as_str() {
            Some(c) => url = replica.url(&format!("{path}&cursor={c}")),
            None => return items,
        }
    }
}

/// (id, ministry, status, started, finished) of every run, in start order.
type Run = (
    i64,
    String,
    String,
    chrono::DateTime<chrono::Utc>,
    Option<chrono::DateTime<chrono::Utc>>,
);

async fn runs(db: &tokio_postgres::Client) -> Vec<Run> {
    db.query(
        "SELECT id, ministry, status, started_at, finished_at FROM sync_runs ORDER BY started_at, id",
        &[],
    )
    .await
    .expect("runs")
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
    .collect()
}

/// No two runs of one source overlap in time: each began after the one before ended.
fn assert_no_overlap(runs: &[Run]) {
    let mut last: BTreeMap<&str, &Run> = BTreeMap::new();
    for run in runs {
        if let Some(before) = last.get(run.1.as_str()) {
            let ended = before.4.unwrap_or_else(|| {
                panic!(
                    "run {} of {} still open when {} began",
                    before.0, run.1, run.0
                )
            });
            assert!(
                ended <= run.3,
                "runs {} and {} of {} overlap: {before:?} / {run:?}",
                before.0,
                run.0,
                run.1
            );
        }
        last.insert(&run.1, run);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_database_and_one_stops_gracefully() {
    let mock = e2e::start_mock(Scale::Small, 11).await;
    let (db_name, _store) = e2e::fresh_database().await;
    let db = e2e::connect(&db_name).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let mut a = Replica::start("a", &db_name, &mock, 2);
    let mut b = Replica::start("b", &db_name, &mock, 3);
    a.wait_ready(&http).await;
    b.wait_ready(&http).await;

    // Both sync on their own schedules until every source has been pulled and each
    // replica has run a source itself (it may also have found one busy).
    let deadline = Instant::now() + PATIENCE;
    loop {
        let pulled: i64 = db
            .query_one(
                "SELECT count(DISTINCT ministry) FROM sync_runs WHERE status = 'succeeded'",
                &[],
            )
            .await
            .expect("count")
            .get(0);
        let (oa, ob) = (a.sync_outcomes(&http).await, b.sync_outcomes(&http).await);
        let ran = |o: &BTreeMap<String, f64>| o.get("succeeded").copied().unwrap_or(0.0) >= 1.0;
        if pulled == 5 && ran(&oa) && ran(&ob) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sources pulled: {pulled}; a: {oa:?}; b: {ob:?}\n{}\n{}",
            a.log_text(),
            b.log_text()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_no_overlap(&runs(&db).await);

    // The same roster, with one Idempotency-Key, sent to both at once: stored once.
    let reader = token("reader", "facilities:read staff:read");
    let facility =
        get_json(&http, &a.url("/v1/facilities?limit=1"), &reader).await["items"][0]["id"]
            .as_str()
            .expect("a facility")
            .to_owned();
    let period = mock.truth().current_period.clone();
    let roster = json!({"period": period, "entries": [{"name_km": "សុខ ដារ៉ា", "present": true}]});
    let site = token("site-head", "rosters:write");
    let submit = |r: &Replica| {
        http.post(r.url(&format!("/v1/facilities/{facility}/rosters")))
            .bearer_auth(&site)
            .header("Idempotency-Key", "replicas-roster-1")
            .json(&roster)
            .send()
    };
    let (ra, rb) = tokio::join!(submit(&a), submit(&b));
    let (ra, rb) = (ra.expect("post to a"), rb.expect("post to b"));
    assert_eq!((ra.status().as_u16(), rb.status().as_u16()), (201, 201));
    let replayed = [&ra, &rb]
        .iter()
        .filter(|r| r.headers().contains_key("Idempotent-Replayed"))
        .count();
    assert_eq!(replayed, 1, "one stored it, the other answered it");
    let (ra, rb): (Value, Value) = (
        ra.json().await.expect("json"),
        rb.json().await.expect("json"),
    );
    assert_eq!(ra["id"], rb["id"], "both name the same roster");
    let stored: i64 = db
        .query_one(
            "SELECT count(*) FROM rosters WHERE facility_id = $1::text::uuid AND period = $2",
            &[&facility, &period],
        )
        .await
        .expect("rosters")
        .get(0);
    assert_eq!(stored, 1, "one roster for the facility and month");

    // Reads on both, each replica's by a client of its own.
    for (r, sub) in [(&a, "reader-a"), (&b, "reader-b")] {
        let t = token(sub, "staff:read facilities:read");
        for path in [
            "/v1/staff?limit=20",
            "/v1/facilities?limit=20",
            "/v1/changes?limit=50",
        ] {
            get_json(&http, &r.url(path), &t).await;
        }
    }

    // The change feed reads the same from either, up to the version both have reached
    // (a sync may commit between the two reads; nothing under it can still appear).
    let (fa, fb) = (
        all_pages(&http, &a, "/v1/changes?limit=1000", &reader).await,
        all_pages(&http, &b, "/v1/changes?limit=1000", &reader).await,
    );
    let top = |f: &[Value]| f.last().and_then(|c| c["version"].as_i64()).unwrap_or(0);
    let common = top(&fa).min(top(&fb));
    let upto = |f: &[Value]| -> Vec<Value> {
        f.iter()
            .filter(|c| c["version"].as_i64().is_some_and(|v| v <= common))
            .cloned()
            .collect()
    };
    assert!(common > 0, "the feed has the synced records");
    assert_eq!(
        upto(&fa),
        upto(&fb),
        "one change feed, whichever replica serves it"
    );

    // SIGTERM to `a` while it runs a sync and answers a request. The run is started on
    // `a` (slow pages keep it going); staff is then locked, so neither the run's next
    // write nor the request's read can finish until the signal has landed.
    mock.set_faults(
        MockMinistry::Mcs,
        FaultSettings {
            latency_ms: 1500,
            ..Default::default()
        },
    )
    .expect("faults");
    let admin = token("operator", "sync:admin");
    let locker = e2e::connect(&db_name).await;
    let newest_mcs_run = || async {
        db.query_one(
            "SELECT coalesce(max(id), 0) FROM sync_runs WHERE ministry = 'mcs'",
            &[],
        )
        .await
        .expect("newest run")
        .get::<_, i64>(0)
    };
    let deadline = Instant::now() + PATIENCE;
    let run_id = loop {
        assert!(Instant::now() < deadline, "a never got to run mcs");
        let before = newest_mcs_run().await;
        let res = http
            .post(a.url("/v1/sync/mcs?full=true"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("start a run");
        if res.status() != 202 {
            assert_eq!(res.status(), 409, "only a run elsewhere refuses it");
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        }
        // `a` holds the source's lock: the next mcs run recorded is its own.
        let mut id = newest_mcs_run().await;
        while id <= before {
            assert!(Instant::now() < deadline, "a's run was never recorded");
            tokio::time::sleep(Duration::from_millis(50)).await;
            id = newest_mcs_run().await;
        }
        locker
            .batch_execute("BEGIN; LOCK TABLE staff IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock staff");
        let status: String = locker
            .query_one("SELECT status FROM sync_runs WHERE id = $1", &[&id])
            .await
            .expect("run")
            .get(0);
        if status == "running" {
            // It cannot end now: every mcs page writes staff.
            break id;
        }
        locker.batch_execute("ROLLBACK").await.expect("rollback");
    };
    let in_flight = tokio::spawn({
        let (http, url) = (http.clone(), a.url("/v1/staff?limit=5"));
        let t = token("in-flight", "staff:read");
        async move { http.get(url).bearer_auth(t).send().await }
    });
    // The request has reached the database and waits there.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let waiting: i64 = db
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()
                 AND wait_event_type = 'Lock' AND query LIKE '%FROM staff s%ORDER BY s.id LIMIT%'",
                &[],
            )
            .await
            .expect("activity")
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(
            !in_flight.is_finished(),
            "the request ended before the signal"
        );
        assert!(
            Instant::now() < deadline,
            "the request never reached the database"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.terminate();
    // The signal has landed once `a` stops listening.
    let port = a.address.rsplit(':').next().expect("port").to_owned();
    let deadline = Instant::now() + PATIENCE;
    while std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_ok() {
        assert!(Instant::now() < deadline, "a kept listening after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!in_flight.is_finished(), "the request is still in flight");
    locker.batch_execute("COMMIT").await.expect("unlock staff");

    let res = in_flight
        .await
        .expect("request task")
        .expect("the request in flight is answered");
    assert_eq!(res.status(), 200, "drained, not dropped");
    let body: Value = res.json().await.expect("json");
    assert!(!body["items"].as_array().expect("items").is_empty());
    let status = a.exited().await;
    assert!(
        status.success(),
        "a exits cleanly: {status}\n{}",
        a.log_text()
    );

    let run = db
        .query_one(
            "SELECT status, finished_at IS NOT NULL, error FROM sync_runs WHERE id = $1",
            &[&run_id],
        )
        .await
        .expect("run");
    let (status, finished, error): (String, bool, Option<String>) =
        (run.get(0), run.get(1), run.get(2));
    assert_eq!(status, "interrupted", "{error:?}\n{}", a.log_text());
    assert!(finished, "an interrupted run has ended");
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("shutting down")),
        "closed by its own process, not found by the next run: {error:?}"
    );

    // `b` goes on: mcs resumes where `a`'s run stopped, and ends.
    mock.clear_faults();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let resumed: i64 = db
            .query_one(
                "SELECT count(*) FROM sync_runs WHERE ministry = 'mcs' AND id > $1 AND status = 'succeeded'",
                &[&run_id],
            )
            .await
            .expect("resumed")
            .get(0);
        if resumed > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "b never synced mcs again:\n{}",
            b.log_text()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    b.terminate();
    let status = b.exited().await;
    assert!(
        status.success(),
        "b exits cleanly: {status}\n{}",
        b.log_text()
    );

    let all = runs(&db).await;
    assert!(
        all.iter().all(|r| r.2 != "running"),
        "no run is left running: {all:?}"
    );
    assert_no_overlap(&all);

    // One audit chain, written by both, intact, holding every entry of both.
    let clients: BTreeMap<String, i64> = db
        .query(
            "SELECT client, count(*) FROM audit_log GROUP BY client",
            &[],
        )
        .await
        .expect("audit")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for client in ["reader-a", "reader-b", "in-flight", "site-head"] {
        assert!(
            clients.get(client).is_some_and(|n| *n > 0),
            "{client}'s reads are audited: {clients:?}"
        );
    }
    let total: i64 = clients.values().sum();
    let out = Command::new(crate::auth::e2e_bin())
        .args(["audit", "verify"])
        .env_remove("DATABASE_URL")
        .env("GATEWAY__DATABASE__URL", e2e::database_server())
        .env("GATEWAY__DATABASE__NAME", &db_name)
        .env("GATEWAY__AUDIT__CHECKPOINT_KEY", e2e::CHECKPOINT_KEY)
        .env("GATEWAY__LOG__FILTER", "warn")
        .output()
        .expect("run audit verify");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!(" {total} entries")),
        "counts every entry ({total}): {said}"
    );
    mock.stop().await;
}
