//! Push over real HTTP both ways: the gateway delivers to a receiver on 127.0.0.1
//! that fails, hangs past the attempt's timeout and answers slowly as each test
//! scripts it. Every event arrives (answered 2xx) exactly once, signed as Standard
//! Webhooks says; a gateway restarted mid-retry carries on; the last failed try makes
//! a dead letter, which a replay delivers; a destination off the allow-list is refused;
//! a deleted subscription receives nothing more. Retry waits are a few milliseconds
//! and every wait below is "until it happened", bounded only to fail rather than hang.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use e2e::{TestApp, mock_engine, spawn_app_with, start_mock};
use gateway::config::Settings;
use gateway::startup::Application;
use hmac::{Hmac, Mac};
use mock_ministries::Scale;
use serde_json::{Value, json};
use sha2::Sha256;
use store::{EventType, NewEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How the receiver answers the `nth` attempt (from 1) of an event.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Answer {
    Status(u16),
    /// Never answers (the gateway's attempt times out).
    Hang,
    /// Answers 200 after this long (within the gateway's timeout).
    Slow(Duration),
}

/// How to answer an event (its `webhook-id`) on its `nth` attempt.
type Script = Arc<dyn Fn(&str, usize) -> Answer + Send + Sync>;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) id: String,
    timestamp: String,
    signature: String,
    pub(crate) body: String,
    /// The status it answered with, once it has.
    pub(crate) answered: Option<u16>,
}

#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    script: Arc<Mutex<Script>>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(script: impl Fn(usize) -> Answer + Send + Sync + 'static) -> Self {
        Self::start_keyed(move |_, nth| script(nth)).await
    }

    /// A receiver answering each event by its id as well as its attempt.
    pub(crate) async fn start_keyed(
        script: impl Fn(&str, usize) -> Answer + Send + Sync + 'static,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let receiver = Self {
            url: format!("http://127.0.0.1:{port}/hooks"),
            script: Arc::new(Mutex::new(Arc::new(script))),
            got: Arc::default(),
        };
        let serving = receiver.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serving.clone().answer(socket));
            }
        });
        receiver
    }

    fn rescript(&self, script: impl Fn(usize) -> Answer + Send + Sync + 'static) {
        *self.script.lock().expect("lock") = Arc::new(move |_: &str, nth| script(nth));
    }

    /// Reads one request (headers, then `content-length` bytes), answers as scripted
    /// and closes the connection.
    async fn answer(self, mut socket: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0_u8; 4096];
        let head_end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case(name)
                        .then(|| v.trim().to_owned())
                })
                .unwrap_or_default()
        };
        let length: usize = header("content-length").parse().unwrap_or(0);
        while buf.len() < head_end + length {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let id = header("webhook-id");
        let (index, nth) = {
            let mut got = self.got.lock().expect("lock");
            got.push(Received {
                id: id.clone(),
                timestamp: header("webhook-timestamp"),
                signature: header("webhook-signature"),
                body: String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string(),
                answered: None,
            });
            (got.len() - 1, got.iter().filter(|r| r.id == id).count())
        };
        let script = Arc::clone(&self.script.lock().expect("lock"));
        let status = match script(&id, nth) {
            Answer::Status(s) => s,
            Answer::Hang => {
                tokio::time::sleep(Duration::from_secs(60)).await;
                return;
            }
            Answer::Slow(wait) => {
                tokio::time::sleep(wait).await;
                200
            }
        };
        let reply =
            format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        if socket.write_all(reply.as_bytes()).await.is_ok() {
            self.got.lock().expect("lock")[index].answered = Some(status);
        }
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }

    /// The event ids answered 2xx, in order (an id twice would be a duplicate).
    pub(crate) fn accepted(&self) -> Vec<String> {
        self.received()
            .into_iter()
            .filter(|r| r.answered.is_some_and(|s| (200..300).contains(&s)))
            .map(|r| r.id)
            .collect()
    }
}

/// Waits until `done` holds, failing after a minute: no test depends on how long.
pub(crate) async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Push settings for tests: the receiver's host over plain HTTP, waits of milliseconds.
pub(crate) fn quick(s: &mut Settings, attempts: u32, first_retry_ms: u64) {
    s.push.allowed_hosts = vec!["http://127.0.0.1".to_owned(), "*.moh.gov.kh".to_owned()];
    s.push.max_attempts = attempts;
    s.push.first_retry_ms = first_retry_ms;
    s.push.retry_factor = 2.0;
    s.push.max_retry_ms = first_retry_ms * 4;
    s.push.attempt_timeout_ms = 800;
    s.push.poll_interval_ms = 20;
}

/// Subscribes `url` to `events`; returns the subscription's id and secret.
pub(crate) async fn subscribe(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let token = app.token(
        "subscriptions:admin reports:read staff:read facilities:read",
        None,
    );
    let res = app
        .http
        .post(app.url("/v1/subscriptions"))
        .bearer_auth(&token)
        .json(&json!({"url": url, "events": events, "description": "test receiver"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 201);
    assert!(res.headers().get("location").is_some());
    let body: Value = res.json().await.expect("json");
    (
        body["id"].as_str().expect("id").to_owned(),
        body["secret"].as_str().expect("secret").to_owned(),
    )
}

async fn correction(app: &TestApp, n: u32) {
    let tx = app.store.begin().await.expect("begin");
    tx.enqueue_event(&NewEvent {
        event_type: EventType::CorrectionCreated,
        data: json!({"id": format!("correction-{n}"), "ministry": "moh"}),
        admin_unit_code: Some("0102".to_owned()),
        ministry: Some("moh".to_owned()),
    })
    .await
    .expect("enqueue");
    tx.commit().await.expect("commit");
}

/// The signature a receiver computes from the secret, by the Standard Webhooks formula.
fn expected_signature(secret: &str, r: &Received) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{}.{}.{}", r.id, r.timestamp, r.body).as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

async fn subscription(app: &TestApp, id: &str) -> Value {
    let token = app.token("subscriptions:admin", None);
    let (status, body) = app
        .get_json(&format!("/v1/subscriptions/{id}"), &token)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn each_event_arrives_once_signed_despite_failures_a_hang_and_a_slow_answer() {
    let app = spawn_app_with(|s| quick(s, 6, 50)).await;
    app.load_sample(2).await;
    // Each event: a 500, then a hang past the timeout, a 503, then a slow 200.
    let receiver = Receiver::start(|nth| match nth {
        1 => Answer::Status(500),
        2 => Answer::Hang,
        3 => Answer::Status(503),
        _ => Answer::Slow(Duration::from_millis(300)),
    })
    .await;
    let (id, secret) = subscribe(
        &app,
        &receiver.url,
        &["correction.created", "staff.changed"],
    )
    .await;
    for n in 0..3 {
        correction(&app, n).await;
    }
    // Two staff records take a new version: two `staff.changed` events.
    let mut sample = e2e::sample::sample_registry(2).expect("sample").staff;
    sample.truncate(2);
    for s in &mut sample {
        s.grade = Some("grade changed".to_owned());
    }
    app.store.upsert_staff(&sample).await.expect("upsert");

    until("five events delivered", || receiver.accepted().len() >= 5).await;
    // The receiver has answered; the gateway records each delivery once it reads the
    // answer, a moment later.
    let mut body = subscription(&app, &id).await;
    for _ in 0..500 {
        if body["deliveries"]["delivered"] == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        body = subscription(&app, &id).await;
    }
    assert_eq!(
        body["deliveries"],
        json!({"pending": 0, "delivered": 5, "dead": 0})
    );
    let accepted = receiver.accepted();
    let mut distinct = accepted.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        accepted.len(),
        "an event delivered twice: {accepted:?}"
    );
    let got = receiver.received();
    for r in &got {
        assert_eq!(
            r.signature,
            expected_signature(&secret, r),
            "signature of {}",
            r.id
        );
        let sent: i64 = r.timestamp.parse().expect("a Unix time");
        assert!((chrono::Utc::now().timestamp() - sent).abs() < 300);
    }
    // Every attempt of one event carries the same id and body; each went through all four.
    for id in &accepted {
        let tries: Vec<&Received> = got.iter().filter(|r| &r.id == id).collect();
        assert_eq!(tries.len(), 4, "{id}");
        assert!(tries.iter().all(|r| r.body == tries[0].body));
    }
    let bodies: Vec<Value> = accepted
        .iter()
        .filter_map(|id| got.iter().find(|r| &r.id == id))
        .map(|r| serde_json::from_str(&r.body).expect("JSON body"))
        .collect();
    let types: Vec<&str> = bodies.iter().filter_map(|b| b["type"].as_str()).collect();
    assert_eq!(
        types.iter().filter(|t| **t == "correction.created").count(),
        3
    );
    assert_eq!(types.iter().filter(|t| **t == "staff.changed").count(), 2);
    let changed: Vec<String> = bodies
        .iter()
        .filter(|b| b["type"] == "staff.changed")
        .map(|b| b["data"]["id"].as_str().expect("id").to_owned())
        .collect();
    for s in &sample {
        assert!(changed.contains(&s.id.to_string()), "{} told", s.id);
    }
    app.stop().await;
}

/// Starts a gateway on `settings` (an existing database); returns its stop handle.
async fn serve(settings: &Settings) -> (actix_web::dev::ServerHandle, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let app = Application::build(settings, listener).await.expect("build");
    let handle = app.server_handle();
    let done = tokio::spawn(async move {
        let _ = app.run_until_stopped().await;
    });
    (handle, done)
}

#[tokio::test]
async fn a_gateway_restarted_mid_retry_still_delivers_once() {
    // The first retry waits long enough for the gateway to be stopped before it.
    let app = spawn_app_with(|s| quick(s, 5, 1500)).await;
    let receiver = Receiver::start(|nth| {
        if nth == 1 {
            Answer::Status(500)
        } else {
            Answer::Status(204)
        }
    })
    .await;
    subscribe(&app, &receiver.url, &["correction.created"]).await;
    correction(&app, 1).await;
    until("the first attempt", || {
        receiver
            .received()
            .first()
            .is_some_and(|r| r.answered.is_some())
    })
    .await;
    let settings = app.settings.clone();
    let store = app.store.clone();
    app.stop().await;
    let db = e2e::connect(&settings.database.name).await;
    let row = db
        .query_one("SELECT status, attempts FROM deliveries", &[])
        .await
        .expect("the delivery");
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, i32>(1)),
        ("pending".to_owned(), 1)
    );
    let (handle, done) = serve(&settings).await;
    until("delivered by the restarted gateway", || {
        receiver.accepted().len() == 1
    })
    .await;
    let row = db
        .query_one("SELECT status, attempts FROM deliveries", &[])
        .await
        .expect("the delivery");
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, i32>(1)),
        ("delivered".to_owned(), 2)
    );
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].id, got[1].id, "the same event id on every attempt");
    handle.stop(true).await;
    let _ = done.await;
    drop(store);
}

#[tokio::test]
async fn the_last_failed_try_makes_a_dead_letter_and_a_replay_delivers_it() {
    let app = spawn_app_with(|s| quick(s, 3, 20)).await;
    let receiver = Receiver::start(|_| Answer::Status(503)).await;
    let (id, _) = subscribe(&app, &receiver.url, &["correction.created"]).await;
    correction(&app, 7).await;
    let token = app.token("subscriptions:admin", None);
    let path = format!("/v1/subscriptions/{id}/dead-letters");
    let mut letters = Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while letters["items"].as_array().is_none_or(Vec::is_empty) {
        assert!(tokio::time::Instant::now() < deadline, "no dead letter");
        tokio::time::sleep(Duration::from_millis(20)).await;
        letters = app.get_json(&path, &token).await.1;
    }
    let letter = &letters["items"][0];
    assert_eq!(letter["attempts"], 3);
    assert_eq!(letter["last_status"], 503);
    assert_eq!(letter["event_type"], "correction.created");
    assert_eq!(letter["payload"]["data"]["id"], "correction-7");
    assert_eq!(receiver.received().len(), 3, "three tries, no more");
    assert_eq!(subscription(&app, &id).await["deliveries"]["dead"], 1);

    receiver.rescript(|_| Answer::Status(200));
    let replay = |delivery: &str| {
        app.http
            .post(app.url(&format!("{path}/{delivery}/replay")))
            .bearer_auth(&token)
            .send()
    };
    let delivery = letter["id"].as_str().expect("id");
    let res = replay(delivery).await.expect("replay");
    assert_eq!(res.status(), 202);
    until("the replay delivered", || receiver.accepted().len() == 1).await;
    assert_eq!(
        receiver.accepted()[0],
        letter["event_id"].as_str().expect("event id")
    );
    let after = app.get_json(&path, &token).await.1;
    assert_eq!(after["items"], json!([]));
    // Not a dead letter any more, or never one: 404.
    assert_eq!(replay(delivery).await.expect("replay").status(), 404);
    let other = "5f0c1e2a-8b7d-4e3f-a1b2-c3d4e5f60718";
    assert_eq!(replay(other).await.expect("replay").status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_destination_off_the_allow_list_is_refused_naming_url() {
    let app = spawn_app_with(|s| quick(s, 3, 20)).await;
    let token = app.token("subscriptions:admin", None);
    let post = |body: Value, token: String| {
        app.http
            .post(app.url("/v1/subscriptions"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    for url in [
        "https://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/admin",
        "https://localhost/hooks",
        "http://hooks.moh.gov.kh/events",
        "https://hooks.moh.gov.kh.attacker.example/",
    ] {
        let res = post(
            json!({"url": url, "events": ["finding.opened"]}),
            token.clone(),
        )
        .await
        .expect("request");
        assert_eq!(res.status(), 422, "{url}");
        assert_eq!(
            res.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        let problem: Value = res.json().await.expect("json");
        assert_eq!(problem["code"], "destination_not_allowed", "{url}");
        assert_eq!(problem["errors"][0]["field"], "url", "{url}");
    }
    let res = post(
        json!({"url": "https://hooks.moh.gov.kh/e", "events": ["finding.closed"]}),
        token.clone(),
    )
    .await
    .expect("request");
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    assert_eq!(
        (
            problem["code"].as_str(),
            problem["errors"][0]["field"].as_str()
        ),
        (Some("invalid_fields"), Some("events"))
    );
    let res = post(
        json!({"url": "https://hooks.moh.gov.kh/e", "events": ["finding.opened"]}),
        app.token("reports:read", None),
    )
    .await
    .expect("request");
    assert_eq!(res.status(), 403);
    // Told only what the maker may read: staff changes need staff:read.
    let res = post(
        json!({"url": "https://hooks.moh.gov.kh/e", "events": ["staff.changed"]}),
        token.clone(),
    )
    .await
    .expect("request");
    assert_eq!(res.status(), 403);
    let problem: Value = res.json().await.expect("json");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("staff:read")),
        "{problem}"
    );
    let res = post(
        json!({"url": "https://hooks.moh.gov.kh/e", "events": ["finding.opened"]}),
        app.token("subscriptions:admin reports:read", None),
    )
    .await
    .expect("request");
    assert_eq!(res.status(), 201);
    let (_, list) = app.get_json("/v1/subscriptions", &token).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert!(
        list["items"][0].get("secret").is_none(),
        "the secret is shown once"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_deleted_subscription_receives_nothing_more() {
    let app = spawn_app_with(|s| quick(s, 50, 20)).await;
    let failing = Receiver::start(|_| Answer::Status(500)).await;
    let control = Receiver::start(|_| Answer::Status(200)).await;
    let (gone, _) = subscribe(&app, &failing.url, &["correction.created"]).await;
    correction(&app, 1).await;
    until("a few failed tries", || failing.received().len() >= 2).await;
    let token = app.token("subscriptions:admin", None);
    let res = app
        .http
        .delete(app.url(&format!("/v1/subscriptions/{gone}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 204);
    let tried = failing.received().len();
    let (status, _) = app
        .get_json(&format!("/v1/subscriptions/{gone}"), &token)
        .await;
    assert_eq!(status, 404);
    subscribe(&app, &control.url, &["correction.created"]).await;
    for n in 2..4 {
        correction(&app, n).await;
    }
    until("the control receiver got both", || {
        control.accepted().len() == 2
    })
    .await;
    // An attempt already under way at the delete may still arrive; nothing after it.
    assert!(
        failing.received().len() <= tried + 1,
        "a deleted subscription was tried again: {} after {tried}",
        failing.received().len()
    );
    let db = e2e::connect(&app.settings.database.name).await;
    let left: i64 = db
        .query_one(
            "SELECT count(*) FROM deliveries WHERE subscription_id = $1::text::uuid",
            &[&gone],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(left, 0);
    app.stop().await;
}

/// A pass writes `finding.opened` for each finding it opens and `finding.resolved`
/// for each it resolves, in its own transaction: the events told are exactly the
/// findings the API lists as opened and resolved.
#[tokio::test]
async fn findings_opened_and_resolved_by_a_pass_are_each_told_once() {
    let app = spawn_app_with(|s| quick(s, 5, 20)).await;
    let receiver = Receiver::start(|_| Answer::Status(200)).await;
    subscribe(&app, &receiver.url, &["finding.opened", "finding.resolved"]).await;
    let mock = start_mock(Scale::Small, 17).await;
    for (m, r) in mock_engine(&app.store, &mock)
        .sync_all(false, &sync::Silent)
        .await
    {
        r.unwrap_or_else(|e| panic!("sync {m}: {e}"));
    }
    let reader = app.token("reports:read", None);
    let (open, _) =
        e2e::collect_pages(&app, "/v1/discrepancies?status=all&limit=1000", &reader).await;
    assert!(open.len() > 10, "findings: {}", open.len());
    let mut opened_ids: Vec<String> = open
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_owned())
        .collect();
    opened_ids.sort();
    let told = |kind: &str| {
        let mut ids: Vec<String> = receiver
            .received()
            .iter()
            .filter(|r| r.answered == Some(200))
            .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok())
            .filter(|b| b["type"] == kind)
            .map(|b| b["data"]["id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        ids
    };
    until("every opened finding told", || {
        told("finding.opened").len() >= opened_ids.len()
    })
    .await;
    assert_eq!(told("finding.opened"), opened_ids);

    // The payroll goes: the payroll findings are no longer found, so they resolve.
    let db = e2e::connect(&app.settings.database.name).await;
    db.execute("DELETE FROM payroll_entries", &[])
        .await
        .expect("delete payroll");
    let pass = app.store.reconcile().await.expect("pass");
    assert!(pass.resolved > 0, "{pass:?}");
    let (resolved, _) = e2e::collect_pages(
        &app,
        "/v1/discrepancies?status=resolved&limit=1000",
        &reader,
    )
    .await;
    let mut resolved_ids: Vec<String> = resolved
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_owned())
        .collect();
    resolved_ids.sort();
    assert_eq!(resolved_ids.len() as u64, pass.resolved);
    until("every resolved finding told", || {
        told("finding.resolved").len() >= resolved_ids.len()
    })
    .await;
    assert_eq!(told("finding.resolved"), resolved_ids);
    // Nothing was opened twice.
    assert_eq!(told("finding.opened"), opened_ids);
    app.stop().await;
}
