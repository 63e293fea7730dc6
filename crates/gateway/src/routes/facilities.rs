//! Facilities: health and education sites, and who is assigned there.

use actix_web::{HttpRequest, HttpResponse, get, web};
use schema::{FacilityKind, ManagedBy, Sector};
use serde::Deserialize;
use store::{FacilityFilter, StaffFilter, Store};
use utoipa::IntoParams;

use crate::auth::{Caller, Scope};
use crate::error::{Error, Problem};
use crate::params::{self, encode_cursor, parse_opt};
use crate::routes::staff::{PageArgs, staff_page};
use crate::routes::{AuditTrail, Audited, Routes, single_record};
use crate::views::{FacilityList, FacilityView, StaffList};

pub(crate) fn register(routes: &mut Routes<'_>) {
    routes
        .service(list_facilities)
        .service(facility_staff)
        .service(get_facility);
}

/// Filters of `GET /v1/facilities`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FacilityQuery {
    /// health or education.
    #[param(example = "health")]
    sector: Option<String>,
    /// The kind of facility.
    #[param(example = "health_centre")]
    kind: Option<String>,
    /// Facilities inside this province, district or commune (a gazetteer code).
    #[param(example = "0102")]
    admin_unit: Option<String>,
    /// The ministry code, or the gazetteer code of the administration it was transferred to.
    #[param(example = "MOH")]
    managed_by: Option<String>,
    /// Part of a name in Khmer or Latin script, or a source id (school code, DHIS2 id).
    q: Option<String>,
    /// Only records changed at or after this time (RFC 3339).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    updated_since: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Paging of `GET /v1/facilities/{id}/staff`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The facility `id`, or a 404 when there is none inside the caller's jurisdiction.
pub(crate) async fn facility_in_reach(
    store: &Store,
    caller: &Caller,
    id: uuid::Uuid,
) -> Result<store::StoredFacility, Error> {
    store
        .get_facility(id, caller.jurisdiction.as_ref())
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "facility",
            id: id.to_string(),
        })
}

/// List facilities.
///
/// Health and education facilities with filters, in pages. A token with a
/// `jurisdiction` sees only facilities inside it.
#[utoipa::path(
    tag = "facilities",
    params(FacilityQuery),
    security(("bearer" = ["facilities:read"])),
    responses(
        (status = 200, description = "A page of facilities", body = FacilityList),
        (status = 400, description = "A malformed or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `facilities:read`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/facilities")]
pub async fn list_facilities(
    req: HttpRequest,
    caller: Caller,
    store: web::Data<Store>,
) -> Result<HttpResponse, Error> {
    caller.require(Scope::FacilitiesRead)?;
    let q: FacilityQuery = params::raw_query(&req)?;
    let filter = FacilityFilter {
        sector: parse_opt("sector", q.sector.as_deref(), Sector::parse)?,
        kind: parse_opt("kind", q.kind.as_deref(), FacilityKind::parse)?,
        admin_unit: parse_opt(
            "admin_unit",
            q.admin_unit.as_deref(),
            schema::AdminCode::parse,
        )?,
        managed_by: parse_opt("managed_by", q.managed_by.as_deref(), ManagedBy::parse)?,
        q: params::search(q.q.as_deref()),
        updated_since: params::timestamp("updated_since", q.updated_since.as_deref())?,
        within: caller.jurisdiction.clone(),
    };
    let page = PageArgs {
        limit: q.limit.as_deref(),
        cursor: q.cursor.as_deref(),
    };
    Ok(HttpResponse::Ok().json(facility_views(&caller, &store, filter, page).await?))
}

/// A page of the facilities `filter` selects, inside `caller`'s jurisdiction whatever
/// the filter says: the one reading of facility lists, for the API and the app.
pub(crate) async fn facility_views(
    caller: &Caller,
    store: &Store,
    filter: FacilityFilter,
    page: PageArgs<'_>,
) -> Result<FacilityList, Error> {
    caller.require(Scope::FacilitiesRead)?;
    let filter = FacilityFilter {
        within: caller.jurisdiction.clone(),
        ..filter
    };
    let limit = params::limit(page.limit)?;
    let after = params::decode_cursor::<uuid::Uuid>(page.cursor)?;
    let page = store.list_facilities(&filter, after, limit).await?;
    Ok(FacilityList {
        items: page.items.into_iter().map(FacilityView::from).collect(),
        next_cursor: page.next_after.map(|id| encode_cursor(&id)),
    })
}

/// Get a facility.
///
/// One facility, with its identifiers in every source and its sources. Carries an
/// `ETag` (304 on `If-None-Match`). A facility outside the token's jurisdiction is a 404.
#[utoipa::path(
    tag = "facilities",
    params(("id" = uuid::Uuid, Path, description = "The facility's gateway id")),
    security(("bearer" = ["facilities:read"])),
    responses(
        (status = 200, description = "The facility", body = FacilityView, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given in If-None-Match"),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `facilities:read`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such facility (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/facilities/{id}")]
pub async fn get_facility(
    req: HttpRequest,
    caller: Caller,
    store: web::Data<Store>,
) -> Result<HttpResponse, Error> {
    caller.require(Scope::FacilitiesRead)?;
    let id = params::path_uuid(&req, "id")?;
    let stored = facility_in_reach(&store, &caller, id).await?;
    let etag = format!("f{}", stored.version);
    Ok(single_record(&req, &etag, &FacilityView::from(stored)))
}

/// List a facility's staff.
///
/// The staff assigned to one facility, in pages, masked and audited like
/// `GET /v1/staff`. A facility outside the token's jurisdiction is a 404.
#[utoipa::path(
    tag = "facilities",
    params(("id" = uuid::Uuid, Path, description = "The facility's gateway id"), PageQuery),
    security(("bearer" = ["staff:read"])),
    responses(
        (status = 200, description = "A page of the facility's staff", body = StaffList),
        (status = 400, description = "A malformed id or parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `staff:read`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such facility (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/facilities/{id}/staff")]
pub async fn facility_staff(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::StaffRead)?;
    let id = params::path_uuid(&req, "id")?;
    let q: PageQuery = params::raw_query(&req)?;
    facility_in_reach(&store, &caller, id).await?;
    // The facility is inside the caller's area, so everyone assigned there may be
    // listed, even one whose own posting is elsewhere.
    let filter = StaffFilter {
        facility_id: Some(id),
        ..StaffFilter::default()
    };
    let page = PageArgs {
        limit: q.limit.as_deref(),
        cursor: q.cursor.as_deref(),
    };
    staff_page(&caller, trail, &store, &filter, page).await
}
