//! What every ministry adapter shares.
//!
//! An adapter reads one ministry's system in that system's own format and hands back
//! the shared schema's records, a page at a time, from a [`Cursor`] a sync can store
//! and resume from. A record that cannot be read becomes a [`Rejection`] carrying its
//! raw payload and the reason, and the pull goes on. [`MinistryClient`] is the HTTP
//! client all adapters use: timeouts, retries with backoff and jitter (honouring
//! `Retry-After`), a circuit breaker per ministry, a body size limit, credentials.
//!
//! Adapters know nothing of PostgreSQL or of serving HTTP.

mod breaker;
mod client;
mod clock;
mod cursor;
mod record;

use std::future::Future;

pub use breaker::CircuitBreaker;
pub use client::{ClientConfig, ClientError, Credentials, MinistryClient};
pub use clock::Clock;
pub use cursor::{Cursor, Position};
pub use record::{Feed, Fetched, Page, Record, Rejection};
/// URLs with properly encoded query strings, for building page requests.
pub use reqwest::Url;
use schema::Ministry;

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
/// by `normalise` or, failing that, rejected with its reason and raw payload (its
/// source id read from `id_field` when it has one). The next cursor moves to
/// `position`, folds the items' change times into the high-water mark, and guards
/// against the same page being served again.
pub fn page_of_items(
    ministry: Ministry,
    feed: &Feed,
    cursor: &Cursor,
    items: &[serde_json::Value],
    id_field: &str,
    position: Position,
    normalise: impl Fn(&serde_json::Value) -> Result<Normalised, String>,
) -> Page {
    let (mut fetched, mut rejections, mut seen) = (Vec::new(), Vec::new(), Vec::new());
    for raw in items {
        match normalise(raw) {
            Ok((record, source_id, updated_at)) => {
                seen.extend(updated_at);
                fetched.push(Fetched {
                    source_id,
                    record,
                    raw: raw.clone(),
                });
            }
            Err(reason) => rejections.push(Rejection {
                ministry,
                feed: feed.clone(),
                source_id: text_field(raw, id_field),
                raw: raw.clone(),
                reason,
            }),
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
