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
mod cursor;
mod record;

use std::future::Future;

pub use breaker::CircuitBreaker;
pub use client::{ClientConfig, ClientError, Credentials, MinistryClient};
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
