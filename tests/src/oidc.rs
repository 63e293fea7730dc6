//! A real OpenID provider for the app's tests: `tests/oidc/provider.mjs`
//! (`oidc-provider` from npm) on the machine's Node.js, on a free port, with one
//! confidential client and the accounts a test gives. Installed from its lock file
//! by the first test to need it (`tools::npm_packages`; `.ci/run` does it up front).

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The client the gateway signs in as.
pub const CLIENT_ID: &str = "gateway-app";
pub const CLIENT_SECRET: &str = "gateway-app-test-secret";

/// A running provider; stopped when dropped.
#[derive(Debug)]
pub struct OidcProvider {
    pub issuer: String,
    child: Child,
}

/// An account of the provider: its username, password and claims.
pub fn account(username: &str, claims: Value) -> Value {
    json!({"username": username, "password": format!("{username}-password"), "claims": claims})
}

impl OidcProvider {
    /// Starts the provider for a gateway at `gateway` (e.g. `http://127.0.0.1:8080`)
    /// with `accounts` (see [`account`]), and waits until it listens.
    pub async fn start(gateway: &str, accounts: &[Value]) -> Self {
        Self::start_on(gateway, accounts, 0).await
    }

    /// [`start`](Self::start) on `port` (0: any free one), for a gateway configured
    /// with the issuer `http://127.0.0.1:{port}` before the accounts were known (the
    /// gateway reads the provider's discovery document at the first sign-in).
    pub async fn start_on(gateway: &str, accounts: &[Value], port: u16) -> Self {
        let dir = crate::tools::npm_packages("oidc", "oidc-provider");
        let dir = dir.display();
        let mut child = Command::new("node")
            .arg(format!("{dir}/provider.mjs"))
            .args(["--port", &port.to_string(), "--exit-with-stdin"])
            .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
            .args(["--redirect-uri", &format!("{gateway}/app/auth/callback")])
            .args(["--post-logout-redirect-uri", &format!("{gateway}/app/")])
            .args([
                "--accounts-json",
                &Value::Array(accounts.to_vec()).to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start node tests/oidc/provider.mjs (is Node.js installed?)");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the provider starts within 30 s")
            .expect("read its stdout")
            .expect("a line saying where it listens");
        let ready: Value = serde_json::from_str(&line).expect("a JSON line");
        let issuer = ready["issuer"].as_str().expect("issuer").to_owned();
        Self { issuer, child }
    }

    /// Stops the provider now.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The value of the first `attribute="..."` after `marker` in `html`.
pub fn attribute_after(html: &str, marker: &str, attribute: &str) -> Option<String> {
    let from = html.find(marker)?;
    let rest = &html[from..];
    let needle = format!("{attribute}=\"");
    let start = rest.find(&needle)? + needle.len();
    let end = rest[start..].find('"')?;
    Some(html_unescape(&rest[start..start + end]))
}

fn html_unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A finished sign-in: the page it ended on, and the session cookie's value.
#[derive(Debug)]
pub struct SignedIn {
    pub page: reqwest::Response,
    pub session_cookie: String,
}

/// Signs in through the gateway's app and the provider with `username`, by plain
/// HTTP as a browser would (following every redirect by hand, keeping cookies in
/// `http`'s store).
pub async fn sign_in(http: &reqwest::Client, gateway: &str, username: &str) -> SignedIn {
    let location = |r: &reqwest::Response| -> String {
        r.headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("a redirect from {} ({})", r.url(), r.status()))
            .to_owned()
    };
    let absolute = |base: &reqwest::Url, to: &str| base.join(to).expect("a URL").to_string();
    let start = http
        .get(format!("{gateway}/app/auth/sign-in"))
        .send()
        .await
        .expect("sign-in");
    assert_eq!(start.status(), 303, "sign-in starts with a redirect");
    let authorize = location(&start);
    let to_login = http.get(&authorize).send().await.expect("authorize");
    assert_eq!(to_login.status(), 303, "the provider asks for a login");
    let login_url = absolute(to_login.url(), &location(&to_login));
    let login_page = http.get(&login_url).send().await.expect("login page");
    let login_base = login_page.url().clone();
    let html = login_page.text().await.expect("login form");
    let action = attribute_after(&html, "id=\"login\"", "action").expect("the login form");
    let resumed = http
        .post(absolute(&login_base, &action))
        .form(&[
            ("username", username.to_owned()),
            ("password", format!("{username}-password")),
        ])
        .send()
        .await
        .expect("log in");
    assert_eq!(resumed.status(), 303, "the password is accepted");
    let resume_url = absolute(resumed.url(), &location(&resumed));
    let back = http.get(&resume_url).send().await.expect("resume");
    assert_eq!(back.status(), 303, "the provider sends the browser back");
    let callback = location(&back);
    assert!(
        callback.starts_with(&format!("{gateway}/app/auth/callback?")),
        "{callback}"
    );
    let signed_in = http.get(&callback).send().await.expect("callback");
    assert_eq!(
        signed_in.status(),
        303,
        "the callback signs in: {:?}",
        signed_in.headers()
    );
    let session_cookie = signed_in
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("gw_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let landing = absolute(signed_in.url(), &location(&signed_in));
    SignedIn {
        page: http.get(&landing).send().await.expect("landing"),
        session_cookie,
    }
}
