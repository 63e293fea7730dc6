//! The adapter for the Ministry of Economy and Finance's payroll: for each configured
//! month it pages through `GET {base}/api/payroll/{YYYY-MM}?page=N&size=M` and
//! normalises each line into a [`schema::PayrollEntry`] (who the state paid, under which
//! ministry and budget unit), or into an [`adapter_core::Rejection`] naming the field that
//! could not be read.
//!
//! What a sync should know:
//! - One feed per period, [`Feed::Payroll`]: the months given, in their order, or
//!   ([`Periods::LastMonth`]) the month before the current one in Cambodia, as the
//!   clock says at each sync, so a long-running server moves on with the calendar.
//! - A month not published yet (its first page answers 404, or holds no line and no
//!   page) is [`MefError::NotPublished`]: not a failure ([`Adapter::not_published`]);
//!   the sync reports it as not yet available and asks again next time. A 404 past
//!   the first page, and every other error, still fails the pull.
//! - The payroll has **no incremental filter**: every pull of a period is a full pull,
//!   `Cursor::since` is ignored and no high-water mark is reported. A closed month does
//!   not change; pull the open one as often as needed.
//! - Pages are numbered from 1; [`Position::Page`] is the next page to ask for, and the
//!   pull is done once the page asked is the last (`page >= total_pages`).
//! - A page whose `period` is not the month asked for is unreadable ([`MefError::Page`]).
//! - A page served twice: the cursor's `guard` holds the first officer id of the page
//!   before; a page starting with the same id, or answering with another page number than
//!   the one asked, is fetched again up to 3 times, then the pull fails with
//!   [`MefError::RepeatedPage`] (nothing of the repeated page is delivered).
//! - `source_id` is the officer id (normalised: Khmer digits, spaces and hyphens read
//!   away); an unreadable `officer_id` or `ministry` is a rejection, blank `budget_unit`
//!   and `status` are allowed (empty text).

use std::time::Duration;

use adapter_core::{
    Adapter, ClientConfig, ClientError, Clock, Cursor, Feed, Fetched, MinistryClient, Page,
    Position, Record, Rejection, text_field,
};
use chrono::{Datelike, NaiveDate, Utc};
use schema::{AdminCode, CivilServantId, Ministry, MinistryCode, ParseError, PayrollEntry, Period};
use serde::Deserialize;
use serde_json::Value;

/// Why a page of the payroll could not be had.
#[derive(Debug, thiserror::Error)]
pub enum MefError {
    /// The month is not published yet: its first page answered 404, or is empty.
    /// Not a failure: a sync reports it as not yet available.
    #[error("mef: the payroll of {period} is not published yet ({url} {answer})")]
    NotPublished {
        period: Period,
        url: String,
        /// What the payroll answered: `answered 404` or `is empty`.
        answer: &'static str,
    },
    /// The request failed after its retries.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The page came but cannot be read (not the expected shape, another period).
    #[error("mef: {url}: unreadable page: {cause}")]
    Page { url: String, cause: String },
    /// The page asked for kept coming back as the page before (or another page).
    #[error("mef: {url}: the page before was served again, {attempts} times in a row")]
    RepeatedPage { url: String, attempts: usize },
    /// The adapter was asked for a feed the payroll does not have.
    #[error("mef: the payroll has no feed {0:?} (its feeds are payroll:YYYY-MM)")]
    Feed(String),
    /// The cursor's position is not a page number.
    #[error(
        "mef: feed {feed}: cannot resume the payroll from {position}; expected start, a page or done"
    )]
    Cursor { feed: String, position: String },
}

/// How many times a repeated page is fetched again before the pull fails.
pub const REPEATED_PAGE_REFETCHES: usize = 3;

/// Which months of the payroll to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Periods {
    /// These months, in this order.
    Listed(Vec<Period>),
    /// The month before the current one in Cambodia, by this clock at each sync: the
    /// payroll most recently closed.
    LastMonth(Clock),
}

impl From<Vec<Period>> for Periods {
    fn from(periods: Vec<Period>) -> Self {
        Self::Listed(periods)
    }
}

impl Periods {
    /// The months to read now, duplicates dropped, order kept.
    pub fn now(&self) -> Vec<Period> {
        match self {
            Self::Listed(periods) => {
                let mut unique = Vec::with_capacity(periods.len());
                for p in periods {
                    if !unique.contains(p) {
                        unique.push(*p);
                    }
                }
                unique
            }
            Self::LastMonth(clock) => month_before(clock.cambodia_today()).into_iter().collect(),
        }
    }
}

/// The month before `today`'s: the payroll most recently closed (none outside the
/// years a [`Period`] can name).
pub fn month_before(today: NaiveDate) -> Option<Period> {
    let (y, m) = if today.month() == 1 {
        (today.year() - 1, 12)
    } else {
        (today.year(), today.month() - 1)
    };
    Period::parse(&format!("{y:04}-{m:02}")).ok()
}

/// Reads MEF's payroll for the configured months.
#[derive(Debug)]
pub struct MefAdapter {
    base: String,
    client: MinistryClient,
    periods: Periods,
    page_size: u32,
    refetch_wait: Duration,
}

impl MefAdapter {
    /// Lines per page unless [`with_page_size`](Self::with_page_size) says otherwise.
    pub const DEFAULT_PAGE_SIZE: u32 = 1000;

    /// An adapter reading the payroll at `base_url` (`http://` or `https://`, with or
    /// without a trailing slash) for `periods`: a list of months (duplicates dropped,
    /// order kept) or [`Periods::LastMonth`].
    pub fn new(
        base_url: &str,
        config: ClientConfig,
        periods: impl Into<Periods>,
    ) -> Result<Self, MefError> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            let reason = format!("base URL {base_url:?} is not an http:// or https:// URL");
            return Err(ClientError::Config(reason, Ministry::Mef).into());
        }
        let refetch_wait = config.min_backoff;
        Ok(Self {
            base,
            client: MinistryClient::new(Ministry::Mef, config)?,
            periods: periods.into(),
            page_size: Self::DEFAULT_PAGE_SIZE,
            refetch_wait,
        })
    }

    /// Lines per page (at least 1).
    #[must_use]
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// The client, e.g. to look at its circuit breaker.
    pub fn client(&self) -> &MinistryClient {
        &self.client
    }

    fn url(&self, period: Period, page: u32) -> String {
        format!(
            "{}/api/payroll/{period}?page={page}&size={}",
            self.base, self.page_size
        )
    }

    async fn read_page(
        &self,
        period: Period,
        page: u32,
        cursor: &Cursor,
    ) -> Result<Page, MefError> {
        let url = self.url(period, page);
        let not_published = |url: &str, answer| MefError::NotPublished {
            period,
            url: url.to_owned(),
            answer,
        };
        let mut refetches = 0;
        loop {
            let body = match self.client.get_bytes(&url).await {
                Err(ClientError::Status { status: 404, .. }) if page == 1 => {
                    return Err(not_published(&url, "answered 404"));
                }
                other => other?,
            };
            let envelope = read_envelope(&body, period).map_err(|cause| MefError::Page {
                url: url.clone(),
                cause,
            })?;
            // A month without a line or a page has not been filled in yet (the month in
            // progress may be opened empty).
            if page == 1 && envelope.total_pages == 0 && envelope.items.is_empty() {
                return Err(not_published(&url, "is empty"));
            }
            let first_id = envelope.items.first().and_then(item_source_id);
            let repeated = envelope.page != u64::from(page)
                || (first_id.is_some() && first_id == cursor.guard);
            if !repeated {
                let position = if u64::from(page) >= envelope.total_pages {
                    Position::Done
                } else {
                    Position::Page(page + 1)
                };
                let (mut items, mut rejections) = (Vec::new(), Vec::new());
                for item in envelope.items {
                    match payroll_entry(period, item) {
                        Ok(fetched) => items.push(fetched),
                        Err(rejection) => rejections.push(rejection),
                    }
                }
                let next = cursor.advanced(position, [], first_id);
                return Ok(Page {
                    items,
                    rejections,
                    next,
                    fetched_at: Utc::now(),
                });
            }
            if refetches >= REPEATED_PAGE_REFETCHES {
                return Err(MefError::RepeatedPage {
                    url,
                    attempts: refetches + 1,
                });
            }
            refetches += 1;
            tracing::warn!(%url, answered_page = envelope.page, ?first_id, refetches, "page served again: fetching it again");
            tokio::time::sleep(self.refetch_wait).await;
        }
    }
}

/// Where MEF's payroll is, how to sign in to it, and which months to read: the
/// typed settings [`MefAdapter`] is built from.
#[derive(Debug, Clone, Default)]
pub struct MefSettings {
    pub endpoint: adapter_core::Endpoint,
    /// The months to read, as configured (`YYYY-MM`); empty: the month before the
    /// current one, by `clock`, at each sync ([`Periods::LastMonth`]), so a server
    /// running for months moves on with the calendar. Read when the source is built,
    /// so a source left out is never refused for them.
    pub periods: Vec<String>,
    /// The clock that decides the current month.
    pub clock: Clock,
}

impl MefSettings {
    /// The months these settings ask for.
    pub fn periods(&self) -> Result<Periods, schema::ParseError> {
        if self.periods.is_empty() {
            return Ok(Periods::LastMonth(self.clock));
        }
        let listed = self
            .periods
            .iter()
            .map(|p| Period::parse(p))
            .collect::<Result<_, _>>()?;
        Ok(Periods::Listed(listed))
    }
}

impl adapter_core::SourceSettings for MefSettings {
    fn ministry(&self) -> Ministry {
        Ministry::Mef
    }

    fn endpoint(&self) -> &adapter_core::Endpoint {
        &self.endpoint
    }

    fn build(&self) -> Result<std::sync::Arc<dyn adapter_core::Source>, adapter_core::SourceError> {
        let adapter = MefAdapter::new(
            &self.endpoint.base_url,
            self.endpoint.client_config(),
            self.periods()?,
        )?;
        Ok(std::sync::Arc::new(adapter))
    }
}

impl Adapter for MefAdapter {
    type Error = MefError;

    fn ministry(&self) -> Ministry {
        Ministry::Mef
    }

    fn feeds(&self) -> Vec<Feed> {
        self.periods.now().into_iter().map(Feed::Payroll).collect()
    }

    fn not_published(&self, error: &MefError) -> bool {
        matches!(error, MefError::NotPublished { .. })
    }

    /// A month's payroll, once published, does not change; and the API has no filter
    /// to ask for changes. Only a full sync reads a month again.
    fn settled_once_pulled(&self, _feed: &Feed) -> bool {
        true
    }

    async fn fetch_page(&self, feed: &Feed, cursor: &Cursor) -> Result<Page, MefError> {
        let Feed::Payroll(period) = feed else {
            return Err(MefError::Feed(feed.name()));
        };
        match &cursor.position {
            Position::Start => self.read_page(*period, 1, cursor).await,
            Position::Page(n) => self.read_page(*period, (*n).max(1), cursor).await,
            Position::Done => Ok(Page {
                items: Vec::new(),
                rejections: Vec::new(),
                next: cursor.clone(),
                fetched_at: Utc::now(),
            }),
            other => Err(MefError::Cursor {
                feed: feed.name(),
                position: format!("{other:?}"),
            }),
        }
    }
}

/// A page of the payroll as it comes: the lines are read one by one, so one bad line
/// is a rejection, not an unreadable page.
#[derive(Debug, Deserialize)]
struct Envelope {
    period: String,
    items: Vec<Value>,
    page: u64,
    total_pages: u64,
}

/// Reads a page's envelope, checking it is for the month asked.
fn read_envelope(body: &[u8], asked: Period) -> Result<Envelope, String> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    match Period::parse(&envelope.period) {
        Ok(p) if p == asked => Ok(envelope),
        Ok(p) => Err(format!("the page is for period {p}, not {asked}")),
        Err(e) => Err(e.to_string()),
    }
}

/// A line's id in the payroll: its officer id, normalised when readable, else as given.
fn item_source_id(item: &Value) -> Option<String> {
    let raw = text_field(item, "officer_id")?;
    Some(CivilServantId::parse(&raw).map(String::from).unwrap_or(raw))
}

/// Reads one payroll line of `period`: `officer_id` and `ministry` must be readable;
/// `budget_unit` and `status` are kept as given (trimmed; empty when missing).
pub fn payroll_entry(period: Period, item: Value) -> Result<Fetched, Rejection> {
    let reject = |item: Value, problems: Vec<ParseError>| {
        // The contract does not make `budget_unit` a gazetteer code; it places a line
        // only when it is one.
        let place = text_field(&item, "budget_unit").and_then(|b| AdminCode::parse(&b).ok());
        let source_id = item_source_id(&item);
        Rejection::new(Ministry::Mef, Feed::Payroll(period), item, problems)
            .with_source_id(source_id)
            .with_place(place)
    };
    if !item.is_object() {
        return Err(reject(
            item,
            vec![ParseError::new("line", "is not a JSON object")],
        ));
    }
    if let Some(problem) = adapter_core::find_nul(&item) {
        return Err(reject(item, vec![problem]));
    }
    let field = |name: &str| {
        text_field(&item, name).ok_or_else(|| ParseError::new(name, "is missing or empty"))
    };
    let officer = field("officer_id")
        .and_then(|s| CivilServantId::parse(&s).map_err(|e| e.in_field("officer_id")));
    let ministry =
        field("ministry").and_then(|s| MinistryCode::parse(&s).map_err(|e| e.in_field("ministry")));
    match (officer, ministry) {
        (Ok(civil_servant_id), Ok(ministry)) => {
            let entry = PayrollEntry {
                period,
                budget_unit: text_field(&item, "budget_unit").unwrap_or_default(),
                status: text_field(&item, "status").unwrap_or_default(),
                civil_servant_id,
                ministry,
            };
            Ok(Fetched {
                source_id: entry.civil_servant_id.to_string(),
                record: Record::Payroll(entry),
                raw: item,
            })
        }
        (officer, ministry) => {
            let problems = [officer.err(), ministry.err()]
                .into_iter()
                .flatten()
                .collect();
            Err(reject(item, problems))
        }
    }
}

#[cfg(test)]
mod tests;
