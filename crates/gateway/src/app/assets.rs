//! The app's static files, carried in the binary (no CDN: ministry networks may have
//! no internet): the stylesheet, the roster page's script, the Khmer font and its
//! licence, and the service worker.
//!
//! Every asset is served under one version, a hash of them all
//! (`/app/assets/<version>/<name>`), with a year-long immutable cache lifetime: a new
//! build has a new version, so a browser never keeps a stale file, and the stylesheet
//! finds the fonts beside it by relative URL. The service worker is served at a fixed
//! address (`/app/sw.js`, revalidated every time) with the version and the list of
//! files to keep put before its code, so a new build installs a new worker.

use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::Error;

/// One file the app serves.
#[derive(Debug)]
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/app.css"),
    },
    Asset {
        name: "roster.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/roster.js"),
    },
    Asset {
        name: "noto-sans-khmer-khmer-400-normal.woff2",
        content_type: "font/woff2",
        bytes: include_bytes!("../../assets/fonts/noto-sans-khmer-khmer-400-normal.woff2"),
    },
    Asset {
        name: "noto-sans-khmer-khmer-700-normal.woff2",
        content_type: "font/woff2",
        bytes: include_bytes!("../../assets/fonts/noto-sans-khmer-khmer-700-normal.woff2"),
    },
    Asset {
        name: "OFL.txt",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../../assets/fonts/OFL.txt"),
    },
];

const SERVICE_WORKER: &str = include_str!("../../assets/sw.js");

/// The pages the service worker keeps for use offline.
pub(crate) const OFFLINE_PAGES: &[&str] = &["/app/roster"];

/// The page the service worker shows offline for a page it does not keep.
pub(crate) const OFFLINE_PAGE: &str = "/app/offline";

/// The version every asset is served under: the first 12 hex digits of a SHA-256
/// over every asset (and the service worker).
pub fn version() -> &'static str {
    static VERSION: LazyLock<String> = LazyLock::new(|| {
        let mut hash = Sha256::new();
        for asset in ASSETS {
            hash.update(asset.name.as_bytes());
            hash.update((asset.bytes.len() as u64).to_be_bytes());
            hash.update(asset.bytes);
        }
        hash.update(SERVICE_WORKER.as_bytes());
        hex::encode(hash.finalize())[..12].to_owned()
    });
    &VERSION
}

/// Where an asset is served (its versioned URL).
pub fn url(name: &str) -> String {
    format!("/app/assets/{}/{name}", version())
}

/// `GET /app/assets/{version}/{name}`. The current version is cached for a year; an
/// older one (a page from before an upgrade) is answered with today's file, revalidated.
pub(crate) async fn asset(req: HttpRequest) -> Result<HttpResponse, Error> {
    let asked_version = req.match_info().get("version").unwrap_or_default();
    let name = req.match_info().get("name").unwrap_or_default();
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return Err(Error::NotFound {
            what: "asset",
            id: name.to_owned(),
        });
    };
    let etag = format!("\"{}\"", version());
    let cache = if asked_version == version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(cache)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        response.insert_header((header::ETAG, v));
    }
    if fresh {
        return Ok(response.finish());
    }
    if asset.name.ends_with(".woff2") {
        // WOFF2 is compressed already: gzip would only make it larger.
        response.insert_header((header::CONTENT_ENCODING, "identity"));
    }
    Ok(response.content_type(asset.content_type).body(asset.bytes))
}

/// `GET /app/sw.js`: the service worker, with this build's version and the files to
/// keep put before it.
pub(crate) async fn service_worker() -> HttpResponse {
    static BODY: LazyLock<String> = LazyLock::new(|| {
        let mut shell: Vec<String> = ASSETS
            .iter()
            .filter(|a| a.name != "OFL.txt")
            .map(|a| url(a.name))
            .collect();
        shell.push(OFFLINE_PAGE.to_owned());
        let list = |items: &[String]| serde_json::to_string(items).unwrap_or_else(|_| "[]".into());
        let pages: Vec<String> = OFFLINE_PAGES.iter().map(|p| (*p).to_owned()).collect();
        format!(
            "self.APP_VERSION = {};\nself.APP_SHELL = {};\nself.APP_PAGES = {};\n{SERVICE_WORKER}",
            serde_json::to_string(version()).unwrap_or_else(|_| "\"dev\"".into()),
            list(&shell),
            list(&pages),
        )
    });
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(BODY.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_twelve_hex_digits_and_every_asset_has_a_url_under_it() {
        assert_eq!(version().len(), 12);
        assert!(version().chars().all(|c| c.is_ascii_hexdigit()));
        for asset in ASSETS {
            assert_eq!(
                url(asset.name),
                format!("/app/assets/{}/{}", version(), asset.name)
            );
            assert!(!asset.bytes.is_empty(), "{}", asset.name);
        }
    }

    /// The stylesheet names the fonts by the names they are served under, so its
    /// relative URLs reach them.
    #[test]
    fn the_stylesheet_finds_the_fonts_beside_it() {
        let css = std::str::from_utf8(ASSETS[0].bytes).expect("utf-8");
        for font in ASSETS.iter().filter(|a| a.name.ends_with(".woff2")) {
            assert!(
                css.contains(&format!("url({})", font.name)),
                "{}",
                font.name
            );
        }
    }
}
