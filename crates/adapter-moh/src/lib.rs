//! The Ministry of Health adapter: reads the MoH's facility register (a DHIS2 Web API,
//! organisation units of level 4) and its health-worker register (a FHIR R4 server,
//! iHRIS style: `Practitioner` and `PractitionerRole`), and normalises their records
//! into the shared schema's reports, a page at a time, from a resumable cursor.
//!
//! Three feeds, in this order: [`Feed::Facilities`] (DHIS2, paged by page number),
//! [`Feed::Practitioners`] and [`Feed::PractitionerRoles`] (FHIR, paged by following
//! each Bundle's `next` link as given). The mapping of one record is a pure function
//! ([`dhis2::facility_from_org_unit`], [`fhir::staff_from_practitioner`],
//! [`fhir::role_from_practitioner_role`]); a record it cannot read becomes a
//! [`Rejection`] naming the field, and the pull goes on.
//!
//! What a sync must know:
//! - Organisation units of levels other than 4 (country, province health department,
//!   operational district) are *skipped*: neither items nor rejections. A facilities
//!   page may therefore hold fewer records than the units DHIS2 served (even none, on a
//!   page that is not the last); [`MohAdapter::skipped_units`] counts them.
//! - A facility whose `ADMIN_CODE` attribute is missing, unreadable or not a commune's
//!   code is reported with `admin_unit_code: None` (unplaced), not rejected.
//! - Incremental pulls ask for changes since `cursor.since` less an overlap (5 minutes
//!   by default, [`MohAdapter::with_overlap`]): records near the boundary come again,
//!   so upserts must be idempotent. The adapter overlaps by itself; a sync need not
//!   add more (`Cursor::next_pull(Duration::zero())` is enough).
//! - The high-water mark is the newest change time read on the page, from every unit
//!   or resource whose time could be read (skipped and rejected ones too).
//! - A page is refused ([`MohError::RepeatedPage`]) when it starts with the same
//!   record as the page before, after asking for it again three times.
//! - Each role's facility is `moh:dhis2` + the DHIS2 org unit id; each role's
//!   `person_source_id` is a FHIR Practitioner id (`moh:fhir_practitioner`), not an
//!   officer id. Staff reports leave `employer`, `grade` and `posting` unset: the FHIR
//!   register does not say them (postings come as roles).

pub mod dhis2;
pub mod fhir;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration as StdDuration;

use adapter_core::{
    Adapter, ClientConfig, ClientError, Cursor, Feed, Fetched, MinistryClient, Page, Position,
    Record, Rejection, Url, text_field,
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use schema::{Ministry, ParseError};
use serde_json::Value;

/// Why a page of the MoH's systems could not be had.
#[derive(Debug, thiserror::Error)]
pub enum MohError {
    /// The request failed (after its retries), or the circuit is open.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The page came, but is not JSON or not the envelope the feed serves.
    #[error("moh: {url}: unreadable page: {cause}")]
    UnreadablePage { url: String, cause: String },
    /// The server served the page before again (same first record), even after
    /// asking again.
    #[error(
        "moh: {url}: the previous page was served again (it starts with {first_id:?} again, {attempts} attempts)"
    )]
    RepeatedPage {
        url: String,
        first_id: String,
        attempts: u32,
    },
    /// A base URL that is not an http(s) URL.
    #[error("moh: bad configuration: {0}")]
    Config(String),
    /// A cursor whose position this feed does not page by, or a feed MoH does not serve.
    #[error("moh: {feed}: cannot resume from {position:?}")]
    Cursor { feed: String, position: Position },
}

/// How often a page that repeats the one before is asked for again before giving up.
const REPEAT_REFETCHES: u32 = 3;

/// The MoH adapter: DHIS2 for facilities, FHIR for health workers.
#[derive(Debug)]
pub struct MohAdapter {
    base_url: String,
    fhir_base_url: String,
    dhis2: MinistryClient,
    fhir: MinistryClient,
    page_size: u32,
    overlap: Duration,
    repeat_pause: StdDuration,
    skipped: AtomicU64,
}

impl MohAdapter {
    /// An adapter reading DHIS2 at `base_url` (its `/api/...` is appended) and FHIR
    /// at `fhir_base_url` (default `<base_url>/fhir`). Each system gets its own client
    /// (and circuit breaker) made from `config`.
    pub fn new(
        base_url: &str,
        fhir_base_url: Option<&str>,
        config: ClientConfig,
    ) -> Result<Self, MohError> {
        let base_url = checked_base(base_url)?;
        let fhir_base_url = match fhir_base_url {
            Some(url) => checked_base(url)?,
            None => format!("{base_url}/fhir"),
        };
        Ok(Self {
            base_url,
            fhir_base_url,
            dhis2: MinistryClient::new(Ministry::Moh, config.clone())?,
            fhir: MinistryClient::new(Ministry::Moh, config)?,
            page_size: 500,
            overlap: Duration::minutes(5),
            repeat_pause: StdDuration::from_millis(500),
            skipped: AtomicU64::new(0),
        })
    }

    /// Records asked for per page (default 500; at least 1).
    #[must_use]
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// How far before `cursor.since` an incremental pull starts (default 5 minutes).
    #[must_use]
    pub fn with_overlap(mut self, overlap: Duration) -> Self {
        self.overlap = overlap.max(Duration::zero());
        self
    }

    /// The pause before asking again for a page that repeated the one before
    /// (default 500 ms, growing with each attempt).
    #[must_use]
    pub fn with_repeat_pause(mut self, pause: StdDuration) -> Self {
        self.repeat_pause = pause;
        self
    }

    /// A separate client configuration (credentials, timeouts) for the FHIR server,
    /// when it is not reached like DHIS2.
    pub fn with_fhir_config(mut self, config: ClientConfig) -> Result<Self, MohError> {
        self.fhir = MinistryClient::new(Ministry::Moh, config)?;
        Ok(self)
    }

    /// Organisation units skipped since this adapter was made because they are not
    /// facilities (level ≠ 4).
    pub fn skipped_units(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// The URL of the page `feed` is at with `cursor`; none when the pull is done.
    pub fn page_url(&self, feed: &Feed, cursor: &Cursor) -> Result<Option<String>, MohError> {
        let bad = || MohError::Cursor {
            feed: feed.name(),
            position: cursor.position.clone(),
        };
        let url = match (feed, &cursor.position) {
            (_, Position::Done) => return Ok(None),
            (Feed::Facilities, Position::Start) => self.facilities_url(1, cursor.since),
            (Feed::Facilities, Position::Page(n)) => self.facilities_url(*n, cursor.since),
            (Feed::Practitioners, Position::Start) => {
                self.fhir_search_url("Practitioner", cursor.since)
            }
            (Feed::PractitionerRoles, Position::Start) => {
                self.fhir_search_url("PractitionerRole", cursor.since)
            }
            (Feed::Practitioners | Feed::PractitionerRoles, Position::Link(url)) => url.clone(),
            _ => return Err(bad()),
        };
        Ok(Some(url))
    }

    fn facilities_url(&self, page: u32, since: Option<DateTime<Utc>>) -> String {
        let mut url = format!(
            "{}/api/organisationUnits.json?paging=true&page={page}&pageSize={}&fields={}",
            self.base_url,
            self.page_size,
            encode(dhis2::FIELDS)
        );
        if let Some(since) = since {
            url.push_str("&filter=");
            url.push_str(&encode(&dhis2::since_filter(since, self.overlap)));
        }
        url
    }

    fn fhir_search_url(&self, resource: &str, since: Option<DateTime<Utc>>) -> String {
        let mut url = format!(
            "{}/{resource}?_count={}",
            self.fhir_base_url, self.page_size
        );
        if let Some(since) = since {
            let from = (since - self.overlap).to_rfc3339_opts(SecondsFormat::Secs, true);
            url.push_str("&_lastUpdated=");
            url.push_str(&encode(&format!("gt{from}")));
        }
        url
    }

    async fn fetch_facilities(&self, cursor: &Cursor, url: String) -> Result<Page, MohError> {
        let requested = match cursor.position {
            Position::Page(n) => n,
            _ => 1,
        };
        let page = self
            .fetch_unrepeated(
                &self.dhis2,
                &url,
                cursor.guard.as_deref(),
                dhis2::read_org_unit_page,
                dhis2::OrgUnitPage::first_id,
            )
            .await?;
        let now = Utc::now();
        let (mut items, mut rejections, mut seen, mut skipped) =
            (Vec::new(), Vec::new(), Vec::new(), 0u64);
        for raw in &page.units {
            // Every readable change time counts toward the high-water mark, whatever
            // became of the unit.
            seen.extend(
                text_field(raw, "lastUpdated").and_then(|t| dhis2::parse_dhis2_time(&t).ok()),
            );
            // A unit with a NUL anywhere is rejected whatever its level: nothing the
            // registry stores may carry one.
            let read = adapter_core::find_nul(raw)
                .map_or_else(|| dhis2::facility_from_org_unit(raw, now), Err);
            match read {
                Ok(Some(facility)) => items.push(Fetched {
                    source_id: facility.source_id.clone(),
                    record: Record::Facility(facility),
                    raw: raw.clone(),
                }),
                Ok(None) => skipped += 1,
                Err(problem) => rejections.push(
                    rejection(Feed::Facilities, raw, problem)
                        .with_place(dhis2::place_of_org_unit(raw)),
                ),
            }
        }
        self.skipped.fetch_add(skipped, Ordering::Relaxed);
        tracing::debug!(%url, facilities = items.len(), rejected = rejections.len(), skipped, "DHIS2 page read");
        let position = if page.is_last(u64::from(requested)) {
            Position::Done
        } else {
            Position::Page(requested.saturating_add(1))
        };
        Ok(Page {
            items,
            rejections,
            next: cursor.advanced(position, seen, page.first_id()),
            fetched_at: now,
        })
    }

    async fn fetch_fhir(
        &self,
        feed: &Feed,
        cursor: &Cursor,
        url: String,
    ) -> Result<Page, MohError> {
        let resource_type = match feed {
            Feed::Practitioners => "Practitioner",
            _ => "PractitionerRole",
        };
        let page = self
            .fetch_unrepeated(
                &self.fhir,
                &url,
                cursor.guard.as_deref(),
                fhir::read_searchset,
                |p| p.first_id(resource_type),
            )
            .await?;
        let (mut items, mut rejections, mut seen) = (Vec::new(), Vec::new(), Vec::new());
        for raw in &page.resources {
            let kind = text_field(raw, "resourceType");
            if kind.as_deref() != Some(resource_type) {
                tracing::warn!(%url, resource_type = kind.as_deref().unwrap_or("(none)"), "FHIR search returned a resource of another type: ignored");
                continue;
            }
            seen.extend(fhir::last_updated(raw).ok().flatten());
            let record = match (adapter_core::find_nul(raw), feed) {
                (Some(problem), _) => Err(problem),
                (None, Feed::Practitioners) => fhir::staff_from_practitioner(raw)
                    .map(|s| (s.source_id.clone(), Record::Staff(s))),
                (None, _) => fhir::role_from_practitioner_role(raw)
                    .map(|r| (r.source_id.clone(), Record::Role(r))),
            };
            match record {
                Ok((source_id, record)) => items.push(Fetched {
                    source_id,
                    record,
                    raw: raw.clone(),
                }),
                // A FHIR resource names no gazetteer place: national callers only.
                Err(problem) => rejections.push(rejection(feed.clone(), raw, problem)),
            }
        }
        tracing::debug!(%url, records = items.len(), rejected = rejections.len(), "FHIR page read");
        let first_id = page.first_id(resource_type);
        let position = match &page.next {
            Some(next) => Position::Link(next_link(&url, next)?),
            None => Position::Done,
        };
        Ok(Page {
            items,
            rejections,
            next: cursor.advanced(position, seen, first_id),
            fetched_at: Utc::now(),
        })
    }

    /// GETs and reads a page; when its first record is `guard` (the first of the page
    /// before: the server served that page again), asks again a few times, pausing,
    /// before giving up with [`MohError::RepeatedPage`].
    async fn fetch_unrepeated<T>(
        &self,
        client: &MinistryClient,
        url: &str,
        guard: Option<&str>,
        read: impl Fn(Value) -> Result<T, String>,
        first_id: impl Fn(&T) -> Option<String>,
    ) -> Result<T, MohError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let body = client.get_bytes(url).await?;
            let unreadable = |cause: String| MohError::UnreadablePage {
                url: url.to_owned(),
                cause,
            };
            let value: Value =
                serde_json::from_slice(&body).map_err(|e| unreadable(format!("not JSON: {e}")))?;
            let page = read(value).map_err(unreadable)?;
            match (guard, first_id(&page)) {
                (Some(guard), Some(first)) if guard == first => {
                    if attempts > REPEAT_REFETCHES {
                        return Err(MohError::RepeatedPage {
                            url: url.to_owned(),
                            first_id: first,
                            attempts,
                        });
                    }
                    tracing::warn!(%url, first_id = %first, attempts, "page repeats the one before: asking again");
                    tokio::time::sleep(self.repeat_pause * attempts).await;
                }
                _ => return Ok(page),
            }
        }
    }
}

/// Where the MoH's DHIS2 (and FHIR) are and how to sign in to them: the typed
/// settings [`MohAdapter`] is built from.
#[derive(Debug, Clone, Default)]
pub struct MohSettings {
    pub endpoint: adapter_core::Endpoint,
    /// The FHIR server, when it is not at `<base_url>/fhir`.
    pub fhir_base_url: Option<String>,
}

impl adapter_core::SourceSettings for MohSettings {
    fn ministry(&self) -> Ministry {
        Ministry::Moh
    }

    fn endpoint(&self) -> &adapter_core::Endpoint {
        &self.endpoint
    }

    fn build(&self) -> Result<std::sync::Arc<dyn adapter_core::Source>, adapter_core::SourceError> {
        let fhir = self
            .fhir_base_url
            .as_deref()
            .filter(|u| !u.trim().is_empty());
        let adapter =
            MohAdapter::new(&self.endpoint.base_url, fhir, self.endpoint.client_config())?;
        Ok(std::sync::Arc::new(adapter))
    }
}

impl Adapter for MohAdapter {
    type Error = MohError;

    fn ministry(&self) -> Ministry {
        Ministry::Moh
    }

    fn feeds(&self) -> Vec<Feed> {
        vec![
            Feed::Facilities,
            Feed::Practitioners,
            Feed::PractitionerRoles,
        ]
    }

    async fn fetch_page(&self, feed: &Feed, cursor: &Cursor) -> Result<Page, MohError> {
        let Some(url) = self.page_url(feed, cursor)? else {
            return Ok(Page {
                items: Vec::new(),
                rejections: Vec::new(),
                next: cursor.clone(),
                fetched_at: Utc::now(),
            });
        };
        match feed {
            Feed::Facilities => self.fetch_facilities(cursor, url).await,
            _ => self.fetch_fhir(feed, cursor, url).await,
        }
    }
}

fn rejection(feed: Feed, raw: &Value, problem: ParseError) -> Rejection {
    // The problem's Display names the field and rule, never the value.
    tracing::debug!(feed = %feed.name(), reason = %problem, "record rejected");
    Rejection::new(Ministry::Moh, feed, raw.clone(), vec![problem])
        .with_source_id(text_field(raw, "id"))
}

fn checked_base(url: &str) -> Result<String, MohError> {
    let url = url.trim().trim_end_matches('/');
    let bad = |why: &str| MohError::Config(format!("{url:?} is not an http(s) base URL: {why}"));
    let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad("not http(s) with a host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("a base URL takes no query or fragment"));
    }
    Ok(url.to_owned())
}

/// The `next` link of the page at `page_url`, to follow as given when it is an
/// absolute http(s) URL (the contract); a relative one, which some servers write, is
/// resolved against the page's URL.
fn next_link(page_url: &str, next: &str) -> Result<String, MohError> {
    let unreadable = |cause: String| MohError::UnreadablePage {
        url: page_url.to_owned(),
        cause,
    };
    match Url::parse(next) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(next.to_owned()),
        Ok(_) => Err(unreadable(format!(
            "next link {next:?} is not an http(s) URL"
        ))),
        Err(_) => Url::parse(page_url)
            .and_then(|base| base.join(next))
            .map(String::from)
            .map_err(|e| unreadable(format!("next link {next:?} is not a URL: {e}"))),
    }
}

/// Percent-encodes a query value: everything but RFC 3986's unreserved characters
/// and `,` `:` (which a query may carry as they are) is written `%XX`.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b',' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_brackets_and_plus() {
        assert_eq!(encode("parent[id],a b+c"), "parent%5Bid%5D,a%20b%2Bc");
    }

    #[test]
    fn base_urls_are_checked() {
        assert!(checked_base("ftp://x").is_err());
        assert!(checked_base("http://").is_err());
        assert!(checked_base("http://x/?a=1").is_err());
        assert_eq!(
            checked_base("http://moh.example/ ").ok().as_deref(),
            Some("http://moh.example")
        );
    }

    #[test]
    fn next_links() {
        let page = "http://fhir.example/fhir/Practitioner?_count=2";
        let absolute = "http://other.example/fhir?_getpages=a%2Bb&_getpagesoffset=2";
        assert_eq!(next_link(page, absolute).ok().as_deref(), Some(absolute));
        assert_eq!(
            next_link(page, "?_getpages=t&_getpagesoffset=2")
                .ok()
                .as_deref(),
            Some("http://fhir.example/fhir/Practitioner?_getpages=t&_getpagesoffset=2")
        );
        assert!(matches!(
            next_link(page, "ftp://x/y"),
            Err(MohError::UnreadablePage { .. })
        ));
    }
}
