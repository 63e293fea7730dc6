//! Secrets stay secret: the gateway, run as a real process with known secrets and
//! debug logging, never shows one on its output, in a response, or in `/metrics`.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use gateway::config::Settings;
use serde_json::Value;

const JWT_SECRET: &str = "jwt-secret-5b1f0c2e9d8a4e67b3a1";
const CHECKPOINT_KEY: &str = "checkpoint-key-8c3d2e1f0a9b";
const RETIRED_KEY: &str = "retired-checkpoint-key-1d3f5b7a9c";
const MCS_TOKEN: &str = "mcs-bearer-token-4f6e8d0c2b1a";
const MEF_USER: &str = "payroll-reader";
const MEF_PASSWORD: &str = "mef-basic-password-7a9c1e3b5d";
const DB_PASSWORD: &str = "db-password-2e4c6a8f0b1d";
const APP_CLIENT_SECRET: &str = "app-client-secret-9e7c5a3b1d0f";

/// Kills the gateway if the test fails before it stops it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The test server's URL with a password in it. The test server trusts local
/// connections, so the password is sent nowhere, but the gateway holds it all the same.
fn url_with_password() -> String {
    let url = e2e::database_server();
    match url.split_once("://").and_then(|(scheme, rest)| {
        let (user, host) = rest.split_once('@')?;
        (!user.contains(':')).then(|| format!("{scheme}://{user}:{DB_PASSWORD}@{host}"))
    }) {
        Some(with) => with,
        None => url.to_owned(),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The gateway command with the secrets in its environment, logging at debug.
fn gateway(db: &str, mock: &str, period: &str) -> Command {
    let mut cmd = Command::new(crate::auth::e2e_bin());
    cmd.env("DATABASE_URL", url_with_password())
        .env("GATEWAY__DATABASE__NAME", db)
        .env("GATEWAY__AUTH__HS256_SECRET", JWT_SECRET)
        .env("GATEWAY__AUDIT__CHECKPOINT_KEY", CHECKPOINT_KEY)
        .env("GATEWAY__AUDIT__RETIRED_CHECKPOINT_KEYS", RETIRED_KEY)
        .env("GATEWAY__MINISTRIES__MCS__BASE_URL", mock)
        .env("GATEWAY__MINISTRIES__MCS__TOKEN", MCS_TOKEN)
        .env("GATEWAY__MINISTRIES__MEF__BASE_URL", mock)
        .env("GATEWAY__MINISTRIES__MEF__USERNAME", MEF_USER)
        .env("GATEWAY__MINISTRIES__MEF__PASSWORD", MEF_PASSWORD)
        .env("GATEWAY__MINISTRIES__MEF__PERIODS", period)
        // The app's client secret, for a provider that is not there: a sign-in fails.
        .env(
            "GATEWAY__APP__ISSUER",
            format!("http://127.0.0.1:{}", free_port()),
        )
        .env("GATEWAY__APP__CLIENT_ID", "interop-gateway")
        .env("GATEWAY__APP__CLIENT_SECRET", APP_CLIENT_SECRET)
        .env("GATEWAY__LOG__FILTER", "debug")
        .env("GATEWAY__SERVER__WORKERS", "1")
        .env("NO_COLOR", "1");
    cmd
}

/// Everything an HTTP exchange shows: status, headers and body.
async fn shown(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let mut text = format!("{status}\n");
    for (name, value) in res.headers() {
        text.push_str(&format!(
            "{name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    text.push_str(&res.text().await.unwrap_or_default());
    (status, text)
}

#[tokio::test]
async fn no_secret_reaches_the_logs_the_responses_or_the_metrics() {
    let (db, _) = e2e::fresh_database().await;
    let mock = e2e::start_mock(mock_ministries::Scale::Small, 3).await;
    let period = mock.truth().current_period.clone();
    let port = free_port();
    let out_dir = std::env::temp_dir().join(format!("secrets-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&out_dir).expect("temp dir");
    let (stdout, stderr) = (out_dir.join("stdout"), out_dir.join("stderr"));
    let child = gateway(&db, &mock.base_url(), &period)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::from(std::fs::File::create(&stdout).expect("file")))
        .stderr(Stdio::from(std::fs::File::create(&stderr).expect("file")))
        .spawn()
        .expect("start interop-gateway serve");
    let mut running = Running(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .map_or(true, |r| !r.status().is_success())
    {
        assert!(
            running.0.try_wait().expect("wait").is_none(),
            "the gateway exited: {}",
            std::fs::read_to_string(&stderr).unwrap_or_default()
        );
        assert!(Instant::now() < deadline, "the gateway did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut seen = Vec::new();
    let mut settings = Settings::defaults().expect("settings");
    settings.auth.hs256_secret = JWT_SECRET.into();
    let token = |scopes: &[&str]| {
        gateway::auth::issue_hs256(
            &settings.auth,
            "secrets-test",
            scopes,
            None,
            Duration::from_secs(600),
        )
        .expect("token")
    };
    let admin = token(&["sync:admin", "staff:read", "staff:read:pii"]);
    // A pull from each ministry with credentials: a bearer token, basic auth.
    for ministry in ["mcs", "mef"] {
        let (status, text) = shown(
            http.post(format!("{base}/v1/sync/{ministry}"))
                .bearer_auth(&admin)
                .send()
                .await
                .expect("post"),
        )
        .await;
        assert_eq!(status, 202, "{text}");
        seen.push(text);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let res = http
                .get(format!("{base}/v1/sync/runs?ministry={ministry}&limit=1"))
                .bearer_auth(&admin)
                .send()
                .await
                .expect("get");
            let runs: Value = res.json().await.expect("json");
            if runs["items"]
                .get(0)
                .is_some_and(|r| r["status"] != "running")
            {
                seen.push(runs.to_string());
                break;
            }
            assert!(Instant::now() < deadline, "the {ministry} run did not end");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Reads (audited), and refusals: a token signed with another secret, none at all,
    // one for another audience.
    let forged = {
        let mut other = Settings::defaults().expect("settings");
        other.auth.hs256_secret = "not-the-gateway-secret-at-all".into();
        gateway::auth::issue_hs256(
            &other.auth,
            "x",
            &["staff:read"],
            None,
            Duration::from_secs(60),
        )
        .expect("token")
    };
    let mut wrong_audience = settings.clone();
    wrong_audience.auth.audience = "someone-else".to_owned();
    let wrong_audience = gateway::auth::issue_hs256(
        &wrong_audience.auth,
        "x",
        &["staff:read"],
        None,
        Duration::from_secs(60),
    )
    .expect("token");
    for (path, bearer) in [
        ("/v1/staff?limit=3", Some(admin.as_str())),
        ("/v1/staff?limit=3", Some(forged.as_str())),
        ("/v1/staff?limit=3", Some(wrong_audience.as_str())),
        ("/v1/staff?limit=3", None),
        ("/v1/staff?limit=3&nonsense=1", Some(admin.as_str())),
        ("/v1/sync/runs", Some(admin.as_str())),
        ("/v1/sync/rejections?limit=5", Some(admin.as_str())),
        ("/readyz", None),
        ("/healthz", None),
        ("/metrics", None),
        ("/openapi.json", None),
        ("/app/", None),
        ("/app/auth/sign-in", None),
    ] {
        let mut req = http.get(format!("{base}{path}"));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        seen.push(shown(req.send().await.expect("request")).await.1);
    }
    // SIGTERM: a graceful stop, which drains the audit queue and checkpoints the chain.
    let pid = running.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while running.0.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "the gateway did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The commands that use the secrets, at debug logging too.
    for args in [&["audit", "verify"][..], &["audit", "head"], &["migrate"]] {
        let out = gateway(&db, &mock.base_url(), &period)
            .args(args)
            .output()
            .expect("run interop-gateway");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{args:?}: {text}");
        seen.push(text);
    }
    let mut logs = String::new();
    for file in [&stdout, &stderr] {
        std::fs::File::open(file)
            .and_then(|mut f| f.read_to_string(&mut logs))
            .expect("read output");
    }
    let _ = std::fs::remove_dir_all(&out_dir);

    // The test can fail: debug logging was on, the syncs ran, the chain was anchored.
    assert!(logs.contains("DEBUG"), "no debug logging:\n{logs}");
    assert!(logs.contains("audit chain checkpointed"), "{logs}");
    let everything = format!("{logs}\n{}", seen.join("\n"));
    assert!(everything.contains("intact: "), "{everything}");
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{MEF_USER}:{MEF_PASSWORD}"));
    for secret in [
        JWT_SECRET,
        CHECKPOINT_KEY,
        RETIRED_KEY,
        MCS_TOKEN,
        MEF_PASSWORD,
        basic.as_str(),
        DB_PASSWORD,
        APP_CLIENT_SECRET,
    ] {
        if let Some(at) = everything.find(secret) {
            let from = everything[..at].rfind('\n').map_or(0, |i| i + 1);
            let to = everything[at..]
                .find('\n')
                .map_or(everything.len(), |i| at + i);
            panic!("a secret was shown: {}", &everything[from..to]);
        }
    }
}
