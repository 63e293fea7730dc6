//! The Ministry of Interior adapter: reads the administrative gazetteer (provinces,
//! districts, communes, villages) from MoI's gazetteer API and turns each unit into a
//! shared-schema [`AdminUnit`], its Khmer unit type mapped to a kind and its parent
//! checked against its code.
//!
//! `GET /api/v1/gazetteer/units?page=N&per_page=M[&updated_since=RFC3339]` answers
//! `{"page","per_page","total","items":[{"code","type_km","name_km","name_en",
//! "parent_code","updated_at"}]}`.

use adapter_core::{
    Adapter, ClientConfig, ClientError, Cursor, Feed, MinistryClient, Page, Position, Record, Url,
    page_of_items, paged_url, place_at, text_field,
};
use chrono::{DateTime, Utc};
use schema::{AdminCode, AdminKind, AdminUnit, Ministry, Name, ParseError, Provenance};
use serde::Deserialize;
use serde_json::Value;

/// What can go wrong reading the gazetteer.
#[derive(Debug, thiserror::Error)]
pub enum MoiError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("moi: bad base URL {url:?}: {cause}")]
    BaseUrl { url: String, cause: String },
    #[error("moi: {feed:?} is not a feed of the gazetteer")]
    UnknownFeed { feed: Feed },
}

#[derive(Debug, Deserialize)]
struct UnitsPage {
    page: u32,
    per_page: u32,
    total: u64,
    items: Vec<Value>,
}

/// Reads MoI's gazetteer.
#[derive(Debug)]
pub struct MoiAdapter {
    client: MinistryClient,
    base: Url,
    page_size: u32,
}

impl MoiAdapter {
    pub fn new(base_url: &str, config: ClientConfig) -> Result<Self, MoiError> {
        let base = Url::parse(base_url).map_err(|e| MoiError::BaseUrl {
            url: base_url.to_owned(),
            cause: e.to_string(),
        })?;
        Ok(Self {
            client: MinistryClient::new(Ministry::Moi, config)?,
            base,
            page_size: 1000,
        })
    }

    #[must_use]
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    pub fn client(&self) -> &MinistryClient {
        &self.client
    }

    fn url(&self, page: u32, since: Option<DateTime<Utc>>) -> Result<Url, MoiError> {
        paged_url(
            &self.base,
            "api/v1/gazetteer/units",
            ("page", page),
            ("per_page", self.page_size),
            since.map(|t| ("updated_since", t)),
        )
        .map_err(|cause| MoiError::BaseUrl {
            url: self.base.to_string(),
            cause,
        })
    }
}

/// Where MoI's gazetteer is and how to sign in to it: the typed settings
/// [`MoiAdapter`] is built from.
#[derive(Debug, Clone, Default)]
pub struct MoiSettings {
    pub endpoint: adapter_core::Endpoint,
}

impl adapter_core::SourceSettings for MoiSettings {
    fn ministry(&self) -> Ministry {
        Ministry::Moi
    }

    fn endpoint(&self) -> &adapter_core::Endpoint {
        &self.endpoint
    }

    fn build(&self) -> Result<std::sync::Arc<dyn adapter_core::Source>, adapter_core::SourceError> {
        let adapter = MoiAdapter::new(&self.endpoint.base_url, self.endpoint.client_config())?;
        Ok(std::sync::Arc::new(adapter))
    }
}

impl Adapter for MoiAdapter {
    type Error = MoiError;

    fn ministry(&self) -> Ministry {
        Ministry::Moi
    }

    fn feeds(&self) -> Vec<Feed> {
        vec![Feed::AdminUnits]
    }

    async fn fetch_page(&self, feed: &Feed, cursor: &Cursor) -> Result<Page, MoiError> {
        if *feed != Feed::AdminUnits {
            return Err(MoiError::UnknownFeed { feed: feed.clone() });
        }
        let page_no = cursor.page_number();
        let fetched_at = Utc::now();
        if cursor.is_done() {
            return Ok(Page::empty(cursor.clone()));
        }
        let url = self.url(page_no, cursor.since)?;
        let page: UnitsPage = self
            .client
            .get_json_page(url.as_str(), cursor.guard.as_deref(), |p: &UnitsPage| {
                p.items.first().and_then(|i| text_field(i, "code"))
            })
            .await?;
        let served = u64::from(page.page.max(1)) * u64::from(page.per_page.max(1));
        let position = if page.items.is_empty() || served >= page.total {
            Position::Done
        } else {
            Position::Page(page_no + 1)
        };
        Ok(page_of_items(
            Ministry::Moi,
            feed,
            cursor,
            &page.items,
            "code",
            position,
            // A unit is its own place; one whose code is unreadable is placed under
            // its parent, when that reads.
            |raw| place_at(raw, "/code").or_else(|| place_at(raw, "/parent_code")),
            |raw| {
                let (unit, updated_at) = unit_from_item(raw, fetched_at)?;
                let id = unit.code.to_string();
                Ok((Record::AdminUnit(unit), id, updated_at))
            },
        ))
    }
}

/// Normalises one gazetteer item; the error names the field at fault.
pub fn unit_from_item(
    raw: &Value,
    fetched_at: DateTime<Utc>,
) -> Result<(AdminUnit, Option<DateTime<Utc>>), ParseError> {
    let field = |name: &str| text_field(raw, name);
    let code =
        AdminCode::parse(&field("code").unwrap_or_default()).map_err(|e| e.in_field("code"))?;
    let kind = AdminKind::parse_khmer(&field("type_km").unwrap_or_default())
        .map_err(|e| e.in_field("type_km"))?;
    let name_km =
        Name::parse(&field("name_km").unwrap_or_default()).map_err(|e| e.in_field("name_km"))?;
    let name_latin = field("name_en")
        .map(|n| Name::parse(&n))
        .transpose()
        .map_err(|e| e.in_field("name_en"))?;
    let parent = field("parent_code")
        .map(|p| AdminCode::parse(&p))
        .transpose()
        .map_err(|e| e.in_field("parent_code"))?;
    let updated_at = field("updated_at")
        .map(|t| {
            DateTime::parse_from_rfc3339(&t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ParseError::new("updated_at", "is not an RFC 3339 time").with_value(t))
        })
        .transpose()?;
    let mut unit = AdminUnit::new(code.clone(), kind, name_km, name_latin, parent)?;
    unit.sources.push(Provenance {
        ministry: Ministry::Moi,
        source_id: code.to_string(),
        fetched_at,
        linked: None,
    });
    Ok((unit, updated_at))
}
