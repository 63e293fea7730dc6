//! What every ministry adapter shares.
//!
//! An adapter reads one ministry's system in that system's own format and hands back
//! the shared schema's records, a page at a time, from a [`Cursor`] a sync can store
//! and resume from. A record that cannot be read becomes a [`Rejection`] carrying its
//! raw payload and the reason, and the pull goes on. [`MinistryClient`] is the HTTP
//! client all adapters use: timeouts, retries with backoff and jitter (honouring
//! `Retry-After`), a circuit breaker per ministry, a body size limit, credentials.
//! [`Source`] is any adapter as a value (`Arc<dyn Source>`), and [`SourceSettings`] what
//! each adapter crate's typed settings implement so a sync can build its sources from
//! them.
//!
//! Adapters know nothing of PostgreSQL or of serving HTTP.

mod breaker;
mod client;
mod clock;
mod cursor;
mod record;
mod source;

use std::future::Future;

pub use breaker::CircuitBreaker;
pub use client::{ClientConfig, ClientError, Credentials, MinistryClient};
pub use clock::Clock;
pub use cursor::{Cursor, Position};
pub use record::{Feed, Fetched, Page, Record, Rejection};
/// URLs with properly encoded query strings, for building page requests.
pub use reqwest::Url;
use schema::{AdminCode, Ministry, ParseError};
pub use source::{Endpoint, Source, SourceError, SourceFuture, SourceSettings, configured_source};

/// One ministry's system, read as feeds of pages.
pub trait Adapter: Send + Sync {
    /// The adapter's own error: a page that could not be fetched or read at all.
    type Error: std::error::Error + Send + Sync + 'static;

    fn ministry(&self) -> Ministry;

    /// The feeds this system provides, in the order a sync should pull them.
    fn feeds(&self) -> Vec<Feed>;

    /// Whether a feed, once pulled to the end, never changes (a closed month's
    /// payroll): an incremental sync then skips it, and only a full one reads it again.
    fn settled_once_pulled(&self, feed: &Feed) -> bool {
        let _ = feed;
        false
    }

    /// Whether `error` says the feed asked for is not published yet (a payroll month still to
    /// come): not a failure. A sync reports the feed as not yet available, stores
    /// nothing for it, and asks again next time.
    fn not_published(&self, error: &Self::Error) -> bool {
        let _ = error;
        false
    }

    /// The page of `feed` at `cursor`. The page's `next` cursor is where to resume once
    /// the page is stored; a pull is complete when it is done.
    fn fetch_page(
        &self,
        feed: &Feed,
        cursor: &Cursor,
    ) -> impl Future<Output = Result<Page, Self::Error>> + Send;
}

/// Reads a JSON string field that may be missing, null, a number or blank: the text,
/// trimmed, or none.
pub fn text_field(value: &serde_json::Value, field: &str) -> Option<String> {
    match value.get(field)? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Pulls `feed` from `cursor` to its end, handing each page to `on_page` as it comes
/// (so memory holds one page, not the feed), and returns the final cursor: the one a
/// sync stores to start the next incremental pull from.
pub async fn pull_to_end<A: Adapter>(
    adapter: &A,
    feed: &Feed,
    mut cursor: Cursor,
    mut on_page: impl FnMut(Page),
) -> Result<Cursor, A::Error> {
    while !cursor.is_done() {
        let page = adapter.fetch_page(feed, &cursor).await?;
        cursor = page.next.clone();
        on_page(page);
    }
    Ok(cursor)
}

/// One normalised record, its source id, and when the source last changed it.
pub type Normalised = (Record, String, Option<chrono::DateTime<chrono::Utc>>);

/// Builds the page of a feed from the items a source returned: each item normalised
/// by `normalise` or, failing that (or when it carries a NUL character anywhere, see
/// [`find_nul`]), rejected with its problems, its raw payload, its source id read from
/// `id_field` when it has one, and the place `place` reads from it. The next cursor
/// moves to `position`, folds the items' change times into the high-water mark, and
/// guards against the same page being served again.
#[allow(clippy::too_many_arguments)] // each is one thing a feed's format decides
pub fn page_of_items(
    ministry: Ministry,
    feed: &Feed,
    cursor: &Cursor,
    items: &[serde_json::Value],
    id_field: &str,
    position: Position,
    place: impl Fn(&serde_json::Value) -> Option<AdminCode>,
    normalise: impl Fn(&serde_json::Value) -> Result<Normalised, ParseError>,
) -> Page {
    let (mut fetched, mut rejections, mut seen) = (Vec::new(), Vec::new(), Vec::new());
    for raw in items {
        match find_nul(raw).map_or_else(|| normalise(raw), Err) {
            Ok((record, source_id, updated_at)) => {
                seen.extend(updated_at);
                fetched.push(Fetched {
                    source_id,
                    record,
                    raw: raw.clone(),
                });
            }
            Err(problem) => rejections.push(
                Rejection::new(ministry, feed.clone(), raw.clone(), vec![problem])
                    .with_source_id(text_field(raw, id_field))
                    .with_place(place(raw)),
            ),
        }
    }
    let first = items.first().and_then(|i| text_field(i, id_field));
    Page {
        items: fetched,
        rejections,
        next: cursor.advanced(position, seen, first),
        fetched_at: chrono::Utc::now(),
    }
}

/// The first NUL character in a JSON record, in a value or a key, as a problem naming
/// where it is (`work_unit.name_kh`, `identifier[0].value`). PostgreSQL stores no NUL
/// in `text` nor the `\u0000` escape in `jsonb`: such a record is rejected whatever
/// field it is in, so nothing with a NUL reaches the registry's tables.
pub fn find_nul(raw: &serde_json::Value) -> Option<ParseError> {
    fn walk(v: &serde_json::Value, path: &mut String) -> Option<ParseError> {
        match v {
            serde_json::Value::String(s) => {
                let what = if path.is_empty() { "record" } else { path };
                ParseError::refuse_nul(what, s).err()
            }
            serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                path.truncate(len);
                found
            }),
            serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                // A key with a NUL is named with it escaped: the name itself is stored.
                path.push_str(&key.replace('\0', "\\0"));
                let found = if key.contains('\0') {
                    Some(ParseError::new(path.clone(), schema::NUL_RULE))
                } else {
                    walk(item, path)
                };
                path.truncate(len);
                found
            }),
            _ => None,
        }
    }
    walk(raw, &mut String::new())
}

/// The gazetteer code at `pointer` (a JSON pointer, `/work_unit/admin_code`) in a
/// record, when there is one there that reads as a code.
pub fn place_at(raw: &serde_json::Value, pointer: &str) -> Option<AdminCode> {
    match raw.pointer(pointer)? {
        serde_json::Value::String(s) => AdminCode::parse(s).ok(),
        serde_json::Value::Number(n) => AdminCode::parse(&n.to_string()).ok(),
        _ => None,
    }
}

/// The URL of one page of a page-numbered feed under `base`:
/// `path?{page}=N&{size}=M`, plus `&{since}=<RFC 3339>` for an incremental pull.
pub fn paged_url(
    base: &Url,
    path: &str,
    (page_param, page): (&str, u32),
    (size_param, size): (&str, u32),
    since: Option<(&str, chrono::DateTime<chrono::Utc>)>,
) -> Result<Url, String> {
    let mut url = base.join(path).map_err(|e| format!("{base}{path}: {e}"))?;
    url.query_pairs_mut()
        .append_pair(page_param, &page.to_string())
        .append_pair(size_param, &size.to_string());
    if let Some((param, t)) = since {
        url.query_pairs_mut().append_pair(param, &t.to_rfc3339());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_nul_anywhere_is_found_and_named_by_its_path() {
        let clean = json!({"a": "x", "b": [{"c": "y"}], "n": 1});
        assert_eq!(find_nul(&clean), None);
        let deep = json!({"a": "x", "work_unit": {"name_kh": "ក\u{0}ខ"}});
        let e = find_nul(&deep).expect("found");
        assert_eq!(
            (e.what.as_str(), e.reason.as_str()),
            ("work_unit.name_kh", schema::NUL_RULE)
        );
        assert_eq!(e.value.as_deref(), Some("ក\u{0}ខ"));
        let listed = json!({"identifier": [{"value": "1"}, {"value": "\u{0}"}]});
        assert_eq!(
            find_nul(&listed).expect("found").what,
            "identifier[1].value"
        );
        let key = json!({"ba\u{0}d": 1});
        let e = find_nul(&key).expect("found");
        assert!(!e.what.contains('\0'), "the name is storable: {e}");
        assert_eq!(find_nul(&json!("\u{0}")).expect("found").what, "record");
    }

    #[test]
    fn a_place_is_read_only_when_it_is_a_gazetteer_code() {
        let raw = json!({"work_unit": {"admin_code": "120101"}, "n": 1203, "bad": "99"});
        assert_eq!(
            place_at(&raw, "/work_unit/admin_code").map(String::from),
            Some("120101".to_owned())
        );
        assert_eq!(
            place_at(&raw, "/n").map(String::from),
            Some("1203".to_owned())
        );
        assert_eq!(place_at(&raw, "/bad"), None);
        assert_eq!(place_at(&raw, "/missing"), None);
    }

    #[test]
    fn a_rejection_says_what_is_wrong_without_the_value_unless_asked() {
        let problems = vec![
            ParseError::new("national_id", "has 13 digits; expected 9 to 12")
                .with_value("1234567890123"),
            ParseError::new("name_kh", "is empty"),
        ];
        let r = Rejection::new(Ministry::Mcs, Feed::Officers, json!({}), problems)
            .with_source_id(Some("a\u{0}b".to_owned()));
        assert_eq!(r.source_id, None, "an id with a NUL is no id");
        assert_eq!(
            r.reason(),
            "national_id: has 13 digits; expected 9 to 12; name_kh: is empty"
        );
        assert!(r.reason_quoting_values().contains("\"1234567890123\""));
    }
}
