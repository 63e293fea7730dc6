//! The app's pages as a person's browser meets them, for the tests: a client that
//! keeps cookies and sees each redirect, and what a phone fetches the first time it
//! opens a page.

use std::time::Duration;

use crate::TestApp;
use crate::oidc::attribute_after;

/// A browser: cookies kept, redirects seen one by one.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// What the first load of a page cost, compressed as sent.
#[derive(Debug)]
pub struct FirstLoad {
    /// The page alone.
    pub page: usize,
    /// The page and every asset it loads.
    pub total: usize,
    /// Each thing fetched, with its size and encoding.
    pub lines: Vec<String>,
}

async fn fetch(http: &reqwest::Client, url: &str) -> (usize, String) {
    let res = http
        .get(url)
        .header(reqwest::header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200, "{url}");
    let encoding = res
        .headers()
        .get(reqwest::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .to_owned();
    (res.bytes().await.expect("body").len(), encoding)
}

/// What a phone fetches the first time it opens `path` as `http`'s person: the page
/// (which must come compressed) and every asset it loads: stylesheet, script, and
/// both weights of the Khmer face (headings and labels are bold).
pub async fn first_load(http: &reqwest::Client, app: &TestApp, path: &str) -> FirstLoad {
    let (page, encoding) = fetch(http, &app.url(path)).await;
    assert_eq!(encoding, "gzip", "pages are compressed: {path}");
    let mut lines = vec![format!("{path}: {page} bytes ({encoding})")];
    // The page came compressed: read its asset URLs from an uncompressed copy.
    let html = http
        .get(app.url(path))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let css = attribute_after(&html, "rel=\"stylesheet\"", "href").expect("css");
    let js = attribute_after(&html, "<script", "src").expect("script");
    let fonts = ["400", "700"].map(|w| {
        css.replace(
            "app.css",
            &format!("noto-sans-khmer-khmer-{w}-normal.woff2"),
        )
    });
    let mut total = page;
    for asset in [css, js].into_iter().chain(fonts) {
        let (bytes, encoding) = fetch(http, &app.url(&asset)).await;
        lines.push(format!("{asset}: {bytes} bytes ({encoding})"));
        total += bytes;
    }
    FirstLoad { page, total, lines }
}
