//! The Ministry of Civil Service adapter: reads the civil-servant roll from the HRMIS
//! and turns each officer into a shared-schema [`StaffReport`], with the work unit,
//! position, grade and status the roll records. Gender comes as `M`/`F` or Khmer
//! (`ប្រុស`/`ស្រី`); dates of birth in any form Cambodian systems write.
//!
//! `GET /api/officers?page=N&size=M[&modified_since=RFC3339]` answers
//! `{"data":[{"officer_id","national_id","name_kh","name_latin","gender",
//! "date_of_birth","ministry","work_unit":{"code","name_kh","facility_code",
//! "admin_code"},"position_kh","grade","status","modified_at"}],
//! "meta":{"page","size","total_pages"}}`.

use adapter_core::{
    Adapter, ClientConfig, ClientError, Cursor, Feed, MinistryClient, Page, Position, Record, Url,
    page_of_items, paged_url, place_at, text_field,
};
use chrono::{DateTime, Utc};
use schema::{
    AdminCode, CivilServantId, Date, IdentifierSystem, Ministry, MinistryCode, Name, NationalId,
    ParseError, Posting, Sex, SourceIdentifier, StaffReport, StaffStatus,
};
use serde::Deserialize;
use serde_json::Value;

/// What can go wrong reading the roll.
#[derive(Debug, thiserror::Error)]
pub enum McsError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("mcs: bad base URL {url:?}: {cause}")]
    BaseUrl { url: String, cause: String },
    #[error("mcs: {feed:?} is not a feed of the HRMIS")]
    UnknownFeed { feed: Feed },
}

#[derive(Debug, Deserialize)]
struct OfficersPage {
    data: Vec<Value>,
    meta: Meta,
}

#[derive(Debug, Deserialize)]
struct Meta {
    page: u32,
    total_pages: u32,
}

/// Reads the MCS HRMIS.
#[derive(Debug)]
pub struct McsAdapter {
    client: MinistryClient,
    base: Url,
    page_size: u32,
}

impl McsAdapter {
    pub fn new(base_url: &str, config: ClientConfig) -> Result<Self, McsError> {
        let base = Url::parse(base_url).map_err(|e| McsError::BaseUrl {
            url: base_url.to_owned(),
            cause: e.to_string(),
        })?;
        Ok(Self {
            client: MinistryClient::new(Ministry::Mcs, config)?,
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

    fn url(&self, page: u32, since: Option<DateTime<Utc>>) -> Result<Url, McsError> {
        paged_url(
            &self.base,
            "api/officers",
            ("page", page),
            ("size", self.page_size),
            since.map(|t| ("modified_since", t)),
        )
        .map_err(|cause| McsError::BaseUrl {
            url: self.base.to_string(),
            cause,
        })
    }
}

/// Where MCS's civil-servant roll is and how to sign in to it: the typed settings
/// [`McsAdapter`] is built from.
#[derive(Debug, Clone, Default)]
pub struct McsSettings {
    pub endpoint: adapter_core::Endpoint,
}

impl adapter_core::SourceSettings for McsSettings {
    fn ministry(&self) -> Ministry {
        Ministry::Mcs
    }

    fn endpoint(&self) -> &adapter_core::Endpoint {
        &self.endpoint
    }

    fn build(&self) -> Result<std::sync::Arc<dyn adapter_core::Source>, adapter_core::SourceError> {
        let adapter = McsAdapter::new(&self.endpoint.base_url, self.endpoint.client_config())?;
        Ok(std::sync::Arc::new(adapter))
    }
}

impl Adapter for McsAdapter {
    type Error = McsError;

    fn ministry(&self) -> Ministry {
        Ministry::Mcs
    }

    fn feeds(&self) -> Vec<Feed> {
        vec![Feed::Officers]
    }

    async fn fetch_page(&self, feed: &Feed, cursor: &Cursor) -> Result<Page, McsError> {
        if *feed != Feed::Officers {
            return Err(McsError::UnknownFeed { feed: feed.clone() });
        }
        if cursor.is_done() {
            return Ok(Page::empty(cursor.clone()));
        }
        let page_no = cursor.page_number();
        let url = self.url(page_no, cursor.since)?;
        let page: OfficersPage = self
            .client
            .get_json_page(url.as_str(), cursor.guard.as_deref(), |p: &OfficersPage| {
                p.data.first().and_then(|o| text_field(o, "officer_id"))
            })
            .await?;
        let last = page.data.is_empty() || page.meta.page >= page.meta.total_pages;
        let position = if last {
            Position::Done
        } else {
            Position::Page(page_no + 1)
        };
        Ok(page_of_items(
            Ministry::Mcs,
            feed,
            cursor,
            &page.data,
            "officer_id",
            position,
            // The roll places an officer by the work unit's commune.
            |raw| place_at(raw, "/work_unit/admin_code"),
            |raw| {
                let report = officer_from_item(raw)?;
                let (id, updated_at) = (report.source_id.clone(), report.updated_at);
                Ok((Record::Staff(report), id, updated_at))
            },
        ))
    }
}

/// Reads `field` with `parse` when present; the error names the field.
fn optional<T>(
    raw: &Value,
    field: &str,
    parse: impl Fn(&str) -> Result<T, ParseError>,
) -> Result<Option<T>, ParseError> {
    text_field(raw, field)
        .map(|v| parse(&v))
        .transpose()
        .map_err(|e| e.in_field(field))
}

/// Normalises one officer; the error names the field at fault and the rule it broke.
pub fn officer_from_item(raw: &Value) -> Result<StaffReport, ParseError> {
    let officer_id =
        text_field(raw, "officer_id").ok_or_else(|| ParseError::new("officer_id", "is missing"))?;
    let civil_servant_id =
        CivilServantId::parse(&officer_id).map_err(|e| e.in_field("officer_id"))?;
    let name_km = Name::parse(&text_field(raw, "name_kh").unwrap_or_default())
        .map_err(|e| e.in_field("name_kh"))?;
    let status = optional(raw, "status", |s| {
        match s.trim().to_ascii_lowercase().as_str() {
            "serving" | "in service" => Ok(StaffStatus::Active),
            _ => StaffStatus::parse(s),
        }
    })?;
    let posting = match raw.get("work_unit").filter(|w| w.is_object()) {
        None => None,
        Some(unit) => Some(Posting {
            facility: text_field(unit, "facility_code")
                // A DHIS2 or an EMIS code, the roll does not say: the sync engine tries both.
                .map(|c| SourceIdentifier::parse_of(IdentifierSystem::McsFacilityCode, &c))
                .transpose()
                .map_err(|e| e.in_field("work_unit.facility_code"))?,
            admin_unit_code: optional(unit, "admin_code", AdminCode::parse)
                .map_err(|e| e.in_field("work_unit.admin_code"))?,
            unit_name: optional(unit, "name_kh", Name::parse)
                .map_err(|e| e.in_field("work_unit.name_kh"))?,
            role: text_field(raw, "position_kh"),
            start_date: None,
        }),
    };
    let updated_at = text_field(raw, "modified_at")
        .map(|t| DateTime::parse_from_rfc3339(&t).map(|t| t.with_timezone(&Utc)))
        .transpose()
        .map_err(|_| {
            ParseError::new("modified_at", "is not an RFC 3339 time")
                .with_value(text_field(raw, "modified_at").unwrap_or_default())
        })?;
    Ok(StaffReport {
        source: Ministry::Mcs,
        source_id: civil_servant_id.to_string(),
        identifiers: vec![SourceIdentifier::parse_of(
            IdentifierSystem::McsOfficerId,
            civil_servant_id.as_str(),
        )?],
        civil_servant_id: Some(civil_servant_id),
        national_id: optional(raw, "national_id", NationalId::parse)?,
        name_km: Some(name_km),
        name_latin: optional(raw, "name_latin", Name::parse)?,
        sex: optional(raw, "gender", Sex::parse)?,
        birth_date: optional(raw, "date_of_birth", Date::parse)?,
        employer: optional(raw, "ministry", MinistryCode::parse)?,
        grade: text_field(raw, "grade"),
        status,
        posting,
        updated_at,
    })
}
