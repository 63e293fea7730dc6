//! The adapter for the Ministry of Education, Youth and Sport's EMIS: it reads the
//! `schools.csv` and `teachers.csv` exports and normalises each row into the shared
//! schema (a [`schema::FacilityReport`] per school, a [`schema::StaffReport`] per
//! teacher), or into a [`adapter_core::Rejection`] naming the column that could not be
//! read.
//!
//! An export is one large CSV body, read as a stream and never held whole in memory: the
//! body feeds a CSV reader on a blocking thread, which hands batches of rows over a
//! bounded channel. The adapter keeps each feed's download in progress between
//! `fetch_page` calls; a page is `batch_size` rows and the cursor's
//! [`Position::Row`] counts the rows already delivered. A
//! cursor that does not match the download in progress (a sync resumed after a restart)
//! starts a new download that skips those rows, and a body that breaks off mid-way is
//! downloaded again (up to the client's `max_attempts`) and read on from the same row, so
//! each row reaches the caller exactly once.
//!
//! What the export looks like (the contract, in `DESIGN.md`): UTF-8, perhaps with a BOM;
//! CRLF or LF line ends; quoted fields (commas, doubled quotes and line breaks inside);
//! a header row naming the columns, found by name in any order (every contract column
//! must be there, or the export is unreadable); Khmer digits read as digits in codes,
//! coordinates and dates; dates `DD/MM/YYYY` (and the other forms [`schema::Date`]
//! reads). An empty body (no header at all) is an export with no rows.
//!
//! Mapping rules a sync should know:
//! - **schools**: `source_id` and identifier `moeys:school_code` from `school_code`;
//!   `school_level` read generously (`preschool`/`pre-school`/`kindergarten`/`មត្តេយ្យ`,
//!   `primary`/`បឋមសិក្សា`, `lower_secondary`/`lower secondary`/`អនុវិទ្យាល័យ`,
//!   `upper_secondary`/`upper secondary`, `high_school`/`វិទ្យាល័យ`, and the education
//!   kinds' snake_case names); `school_name_kh` required; an invalid `commune_code` is
//!   **not** a rejection: the school is reported with `admin_unit_code: None` (unplaced;
//!   reconciliation reports it), and a village code places it in its commune; blank
//!   coordinates are no location, one without the other is a rejection; blank `status`
//!   is open; blank `managed_by` is none.
//! - **teachers**: `source_id` and identifier `moeys:teacher_id` from `teacher_id`, plus
//!   `mcs:officer_id` when `officer_id` is present; a blank `officer_id` (a contract
//!   teacher) is allowed and leaves `civil_servant_id` and `employer` empty (`MOEYS`
//!   otherwise); `name_kh` required (the shared record is named in Khmer), `name_en` optional; status active; the posting names the
//!   school as `moeys:school_code` with `position` as the role; `employment_type` stays
//!   in the raw record only.
//! - `updated_at`: RFC 3339, or a bare date taken as the start of that day in Cambodia
//!   (UTC+07:00); blank is allowed (no change time). The page's high-water mark is the
//!   newest `updated_at` of its normalised rows.
//! - A row with the wrong number of fields, or not UTF-8, is a rejection; the pull goes on.

mod cells;
mod download;
mod export;
mod schools;
mod teachers;
#[cfg(test)]
mod tests;

use std::time::Duration;

use adapter_core::{
    Adapter, ClientConfig, ClientError, Cursor, Feed, MinistryClient, Page, Position, Record,
};
use chrono::{DateTime, SecondsFormat, Utc};
use schema::Ministry;
use tokio::sync::Mutex;

use crate::download::{Chunk, Download};
use crate::export::{Export, ReadError, Row};

/// Why a page of an EMIS export could not be had.
#[derive(Debug, thiserror::Error)]
pub enum MoeysError {
    /// The request failed after its retries (a body that kept breaking off included).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The export came but cannot be read (a missing column, an endless row).
    #[error("moeys: {url}: unreadable export: {cause}")]
    Export { url: String, cause: String },
    /// The adapter was asked for a feed EMIS does not have.
    #[error("moeys: EMIS has no feed {0:?} (it exports schools and teachers)")]
    Feed(String),
    /// The cursor's position is not one an export is read by.
    #[error(
        "moeys: feed {feed}: cannot resume an export from {position}; expected start, a row or done"
    )]
    Cursor { feed: String, position: String },
}

/// Reads MoEYS EMIS: feeds [`Feed::Schools`] then [`Feed::Teachers`].
#[derive(Debug)]
pub struct MoeysAdapter {
    base: String,
    client: MinistryClient,
    batch_size: usize,
    max_attempts: usize,
    min_backoff: Duration,
    max_backoff: Duration,
    schools: Mutex<Option<Download>>,
    teachers: Mutex<Option<Download>>,
}

impl MoeysAdapter {
    /// Rows per page unless [`with_batch_size`](Self::with_batch_size) says otherwise.
    pub const DEFAULT_BATCH_SIZE: usize = 1000;

    /// An adapter reading the EMIS at `base_url` (`http://` or `https://`, with or
    /// without a trailing slash).
    pub fn new(base_url: &str, config: ClientConfig) -> Result<Self, MoeysError> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            let reason = format!("base URL {base_url:?} is not an http:// or https:// URL");
            return Err(ClientError::Config(reason, Ministry::Moeys).into());
        }
        let (max_attempts, min_backoff, max_backoff) = (
            config.max_attempts.max(1),
            config.min_backoff,
            config.max_backoff,
        );
        Ok(Self {
            base,
            client: MinistryClient::new(Ministry::Moeys, config)?,
            batch_size: Self::DEFAULT_BATCH_SIZE,
            max_attempts,
            min_backoff,
            max_backoff,
            schools: Mutex::new(None),
            teachers: Mutex::new(None),
        })
    }

    /// Rows per page (at least 1).
    #[must_use]
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// The client, e.g. to look at its circuit breaker.
    pub fn client(&self) -> &MinistryClient {
        &self.client
    }

    /// The export's URL, with `updated_since` for an incremental pull.
    fn url(&self, export: Export, since: Option<DateTime<Utc>>) -> String {
        let mut url = format!("{}{}", self.base, export.path());
        if let Some(since) = since {
            url.push_str("?updated_since=");
            url.push_str(&percent_encode(
                &since.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ));
        }
        url
    }

    fn slot(&self, export: Export) -> &Mutex<Option<Download>> {
        match export {
            Export::Schools => &self.schools,
            Export::Teachers => &self.teachers,
        }
    }

    fn backoff(&self, failures: usize) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(16);
        self.min_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    async fn read_page(
        &self,
        export: Export,
        cursor: &Cursor,
        skip: u64,
    ) -> Result<Page, MoeysError> {
        let url = self.url(export, cursor.since);
        let mut slot = self.slot(export).lock().await;
        let mut download = match slot.take() {
            Some(d) if d.since == cursor.since && d.delivered == skip => d,
            previous => {
                if previous.is_some() {
                    tracing::info!(%url, skip, "cursor does not match the download in progress: downloading again");
                }
                tracing::debug!(%url, skip, "downloading export");
                Download::start(
                    &self.client,
                    &url,
                    export,
                    cursor.since,
                    skip,
                    self.batch_size,
                )
                .await?
            }
        };
        let mut failures = 0;
        loop {
            match download.next().await {
                Chunk::Rows { rows, last } => {
                    download.delivered += rows.len() as u64;
                    let position = if last {
                        Position::Done
                    } else {
                        Position::Row(download.delivered)
                    };
                    let page = build_page(&rows, cursor, position);
                    if !last {
                        *slot = Some(download);
                    }
                    return Ok(page);
                }
                Chunk::Failed(ReadError::Unreadable(cause)) => {
                    return Err(MoeysError::Export { url, cause });
                }
                Chunk::Failed(ReadError::Broken(cause)) => {
                    failures += 1;
                    if failures >= self.max_attempts {
                        return Err(ClientError::Body {
                            ministry: Ministry::Moeys,
                            url,
                            cause,
                        }
                        .into());
                    }
                    let wait = self.backoff(failures);
                    tracing::warn!(%url, %cause, skip, failures, ?wait, "export broke off: downloading again");
                    tokio::time::sleep(wait).await;
                    download = Download::start(
                        &self.client,
                        &url,
                        export,
                        cursor.since,
                        skip,
                        self.batch_size,
                    )
                    .await?;
                }
            }
        }
    }
}

/// Where MoEYS's EMIS is and how to sign in to it: the typed settings
/// [`MoeysAdapter`] is built from.
#[derive(Debug, Clone, Default)]
pub struct MoeysSettings {
    pub endpoint: adapter_core::Endpoint,
}

impl adapter_core::SourceSettings for MoeysSettings {
    fn ministry(&self) -> Ministry {
        Ministry::Moeys
    }

    fn endpoint(&self) -> &adapter_core::Endpoint {
        &self.endpoint
    }

    fn build(&self) -> Result<std::sync::Arc<dyn adapter_core::Source>, adapter_core::SourceError> {
        let adapter = MoeysAdapter::new(&self.endpoint.base_url, self.endpoint.client_config())?;
        Ok(std::sync::Arc::new(adapter))
    }
}

impl Adapter for MoeysAdapter {
    type Error = MoeysError;

    fn ministry(&self) -> Ministry {
        Ministry::Moeys
    }

    fn feeds(&self) -> Vec<Feed> {
        vec![Feed::Schools, Feed::Teachers]
    }

    async fn fetch_page(&self, feed: &Feed, cursor: &Cursor) -> Result<Page, MoeysError> {
        let export = Export::of(feed).ok_or_else(|| MoeysError::Feed(feed.name()))?;
        match &cursor.position {
            Position::Start => self.read_page(export, cursor, 0).await,
            Position::Row(n) => self.read_page(export, cursor, *n).await,
            Position::Done => Ok(Page {
                items: Vec::new(),
                rejections: Vec::new(),
                next: cursor.clone(),
                fetched_at: Utc::now(),
            }),
            other => Err(MoeysError::Cursor {
                feed: feed.name(),
                position: format!("{other:?}"),
            }),
        }
    }
}

/// A page of normalised rows and rejections, its cursor moved to `position`.
fn build_page(rows: &[Row], cursor: &Cursor, position: Position) -> Page {
    let (mut items, mut rejections, mut seen) = (Vec::new(), Vec::new(), Vec::new());
    for row in rows {
        match normalise(row) {
            Ok(fetched) => {
                seen.extend(updated_at(&fetched.record));
                items.push(fetched);
            }
            Err(rejection) => rejections.push(rejection),
        }
    }
    Page {
        items,
        rejections,
        next: cursor.advanced(position, seen, None),
        fetched_at: Utc::now(),
    }
}

/// One row of either export, normalised or rejected.
fn normalise(row: &Row) -> cells::Outcome {
    match row.header.export() {
        Export::Schools => schools::school(row),
        Export::Teachers => teachers::teacher(row),
    }
}

fn updated_at(record: &Record) -> Option<DateTime<Utc>> {
    match record {
        Record::Facility(f) => f.updated_at,
        Record::Staff(s) => s.updated_at,
        _ => None,
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
