//! Test support for the end-to-end tests: a throwaway database per test and the
//! gateway serving it on a free port, over real HTTP.
//!
//! The database server is `DATABASE_URL` when set; otherwise a throwaway PostgreSQL
//! cluster this process makes (and that disappears when it exits). Each test gets a
//! database of its own on that server, migrated.

pub mod linkage_world;
pub mod oidc;
pub mod pages;
pub mod sample;
pub mod scoring;
pub mod tools;
pub mod workbook;

use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use gateway::config::Settings;
use gateway::startup::Application;
use store::{ScratchCluster, Store};

pub const SECRET: &str = "test-secret-that-is-long-enough-for-hs256";
/// The key test gateways sign audit checkpoints with.
pub const CHECKPOINT_KEY: &str = "test-audit-checkpoint-key";

/// The server every test database is made on.
pub fn database_server() -> &'static str {
    static SERVER: OnceLock<(String, Option<ScratchCluster>)> = OnceLock::new();
    &SERVER
        .get_or_init(|| match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => (url, None),
            _ => {
                let cluster =
                    ScratchCluster::start().expect("start a throwaway PostgreSQL cluster");
                (cluster.url().to_owned(), Some(cluster))
            }
        })
        .0
}

/// Test databases older than this are dropped when a later test makes its own: long
/// enough for any test still running, short enough that a developer's server does not
/// fill up with them.
const STALE_TEST_DATABASE_SECS: u64 = 6 * 3600;

/// A fresh, migrated database; returns its name and a store on it. The name carries
/// its creation time (`t_<unix seconds>_<uuid>`), so stale ones can be dropped.
pub async fn fresh_database() -> (String, Store) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    drop_stale_databases(now).await;
    let name = format!("t_{now}_{}", uuid::Uuid::new_v4().simple());
    store::create_database(database_server(), &name)
        .await
        .expect("create test database");
    let store = Store::connect(database_server(), Some(&name), 4).expect("connect");
    store.migrate().await.expect("migrate");
    (name, store)
}

/// Drops the test databases made more than [`STALE_TEST_DATABASE_SECS`] ago, once per
/// test process. Failures are ignored: tidying up must never fail a test.
async fn drop_stale_databases(now: u64) {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if DONE.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let Ok(config) = database_server().parse::<tokio_postgres::Config>() else {
        return;
    };
    let Ok((client, conn)) = config.connect(tokio_postgres::NoTls).await else {
        return;
    };
    let task = tokio::spawn(conn);
    let stale = |name: &str| {
        name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && name
                .split('_')
                .nth(1)
                .and_then(|t| t.parse::<u64>().ok())
                .is_some_and(|made| made + STALE_TEST_DATABASE_SECS < now)
    };
    if let Ok(rows) = client
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 't\\_%'",
            &[],
        )
        .await
    {
        for name in rows.iter().map(|r| r.get::<_, String>(0)) {
            if stale(&name) {
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
            }
        }
    }
    drop(client);
    let _ = task.await;
}

/// A plain connection to database `db` on the test server, for reading or tampering
/// with what the code under test wrote.
pub async fn connect(db: &str) -> tokio_postgres::Client {
    let mut config: tokio_postgres::Config = database_server().parse().expect("url");
    config.dbname(db);
    let (client, conn) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}

/// Settings for a test gateway on database `name`, HS256 with [`SECRET`], audit
/// checkpoints signed with [`CHECKPOINT_KEY`].
pub fn test_settings(name: &str) -> Settings {
    let mut s = Settings::defaults().expect("default settings");
    s.database.url = database_server().into();
    s.database.name = name.to_owned();
    s.database.pool_size = 8;
    s.auth.hs256_secret = SECRET.into();
    s.audit.checkpoint_key = CHECKPOINT_KEY.into();
    s.server.workers = 2;
    s.log.filter = "warn".to_owned();
    s
}

/// A gateway running for one test.
#[derive(Debug)]
pub struct TestApp {
    pub address: String,
    pub store: Store,
    pub settings: Settings,
    pub http: reqwest::Client,
    handle: ServerHandle,
    done: tokio::task::JoinHandle<()>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a gateway on a fresh database, after `configure` adjusts its settings.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_on(TcpListener::bind("127.0.0.1:0").expect("bind"), configure).await
}

/// [`spawn_app_with`] on a listener bound already (when its address must be known
/// before the gateway starts: an identity provider's redirect URI names it).
pub async fn spawn_app_on(listener: TcpListener, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let (name, store) = fresh_database().await;
    let mut settings = test_settings(&name);
    configure(&mut settings);
    let app = Application::build(&settings, listener)
        .await
        .expect("build app");
    serve_built(app, store, settings)
}

/// Runs a gateway the test built itself (e.g. with the demo's sign-in) on `store`,
/// the database `settings` name.
pub fn serve_built(app: Application, store: Store, settings: Settings) -> TestApp {
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.server_handle();
    let done = tokio::spawn(async move {
        let _ = app.run_until_stopped().await;
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    TestApp {
        address,
        store,
        settings,
        http,
        handle,
        done,
    }
}

impl TestApp {
    /// A valid HS256 token for `scopes`, optionally limited to a jurisdiction.
    pub fn token(&self, scopes: &str, jurisdiction: Option<&str>) -> String {
        self.token_for("test-client", scopes, jurisdiction)
    }

    /// A valid HS256 token for client `sub`.
    pub fn token_for(&self, sub: &str, scopes: &str, jurisdiction: Option<&str>) -> String {
        let j = jurisdiction.map(|c| schema::AdminCode::parse(c).expect("code"));
        let scopes: Vec<&str> = scopes.split_whitespace().collect();
        gateway::auth::issue_hs256(
            &self.settings.auth,
            sub,
            &scopes,
            j.as_ref(),
            Duration::from_secs(600),
        )
        .expect("token")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    /// GETs `path` and returns status and JSON body.
    pub async fn get_json(&self, path: &str, token: &str) -> (u16, serde_json::Value) {
        let res = self.get(path, Some(token)).await;
        let status = res.status().as_u16();
        let body = res.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// Stops the server gracefully and waits until it (and its audit writer) finished.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.done.await;
    }

    /// Loads the sample registry (deterministic) and returns it.
    pub async fn load_sample(&self, staff_per_facility: u32) -> crate::sample::SampleRegistry {
        let sample = crate::sample::sample_registry(staff_per_facility).expect("sample");
        self.store
            .upsert_admin_units(&sample.units)
            .await
            .expect("units");
        self.store
            .upsert_facilities(&sample.facilities)
            .await
            .expect("facilities");
        self.store.upsert_staff(&sample.staff).await.expect("staff");
        self.store
            .upsert_assignments(&sample.assignments)
            .await
            .expect("assignments");
        sample
    }
}

/// Follows `next_cursor` from `path` (which has no cursor yet) and returns every item.
pub async fn collect_pages(
    app: &TestApp,
    path: &str,
    token: &str,
) -> (Vec<serde_json::Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut next: Option<String> = None;
    loop {
        let url = match &next {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_owned(),
        };
        let (status, body) = app.get_json(&url, token).await;
        assert_eq!(status, 200, "GET {url}: {body}");
        pages += 1;
        items.extend(body["items"].as_array().expect("items").iter().cloned());
        match body["next_cursor"].as_str() {
            Some(c) => next = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 10_000, "paging does not end");
    }
    (items, pages)
}

/// The day the tests' mock worlds are as of: their current period is 2025-12 whatever
/// today's date, so a test sees the same world every day (the mock's own tests, and
/// `calendar.rs`, try other dates).
pub fn mock_as_of() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 1, 15).expect("a date")
}

/// The mock ministries' configuration for the tests: `scale`, `seed`, [`mock_as_of`].
pub fn mock_config(scale: mock_ministries::Scale, seed: u64) -> mock_ministries::MockConfig {
    mock_ministries::MockConfig {
        scale,
        seed,
        as_of: Some(mock_as_of()),
        linkage_noise: false,
    }
}

/// The mock ministries of `config` on a free port.
pub async fn start_mock_with(config: mock_ministries::MockConfig) -> mock_ministries::MockServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    mock_ministries::start(listener, config)
        .await
        .expect("mock ministries")
}

/// The mock ministries on a free port, as of [`mock_as_of`].
pub async fn start_mock(scale: mock_ministries::Scale, seed: u64) -> mock_ministries::MockServer {
    start_mock_with(mock_config(scale, seed)).await
}

/// A sync engine reading every ministry from `mock` (the payroll of its current month)
/// into `store`.
pub fn mock_engine(store: &Store, mock: &mock_ministries::MockServer) -> sync::SyncEngine {
    use adapter_core::ClientConfig;
    let base = mock.base_url();
    let period = schema::Period::parse(&mock.truth().current_period).expect("period");
    let c = ClientConfig::default;
    sync::SyncEngine::new(
        store.clone(),
        sync::Sources::new()
            .with(adapter_moi::MoiAdapter::new(&base, c()).expect("moi"))
            .with(adapter_mcs::McsAdapter::new(&base, c()).expect("mcs"))
            .with(adapter_moh::MohAdapter::new(&base, None, c()).expect("moh"))
            .with(adapter_moeys::MoeysAdapter::new(&base, c()).expect("moeys"))
            .with(adapter_mef::MefAdapter::new(&base, c(), vec![period]).expect("mef")),
    )
}
