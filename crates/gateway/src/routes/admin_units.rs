//! The administrative gazetteer: provinces, districts, communes, villages.

use actix_web::{HttpRequest, HttpResponse, get, web};
use schema::{AdminCode, AdminLevel};
use serde::Deserialize;
use store::{AdminUnitFilter, Store};
use utoipa::IntoParams;

use crate::auth::{Caller, Scope};
use crate::error::{Error, Problem};
use crate::params::{self, encode_cursor, parse_opt};
use crate::routes::{Routes, single_record};
use crate::views::{AdminUnitList, AdminUnitView};

pub(crate) fn register(routes: &mut Routes<'_>) {
    routes.service(list_admin_units).service(get_admin_unit);
}

/// Filters of `GET /v1/admin-units`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminUnitQuery {
    /// province, district, commune or village.
    #[param(example = "district")]
    level: Option<String>,
    /// The children of this unit.
    #[param(example = "01")]
    parent: Option<String>,
    /// Part of a name in Khmer or Latin script, or a code.
    #[param(example = "បាត់ដំបង")]
    q: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List admin units.
///
/// Units of the gazetteer in code order. A token with a `jurisdiction` sees its own
/// unit and the units inside it.
#[utoipa::path(
    tag = "admin-units",
    params(AdminUnitQuery),
    security(("bearer" = ["facilities:read"])),
    responses(
        (status = 200, description = "A page of admin units", body = AdminUnitList),
        (status = 400, description = "A malformed or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `facilities:read`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin-units")]
pub async fn list_admin_units(
    req: HttpRequest,
    caller: Caller,
    store: web::Data<Store>,
) -> Result<HttpResponse, Error> {
    caller.require(Scope::FacilitiesRead)?;
    let q: AdminUnitQuery = params::raw_query(&req)?;
    let filter = AdminUnitFilter {
        level: parse_opt("level", q.level.as_deref(), AdminLevel::parse)?,
        parent: parse_opt("parent", q.parent.as_deref(), AdminCode::parse)?,
        q: params::search(q.q.as_deref()),
        within: caller.jurisdiction.clone(),
    };
    let limit = params::limit(q.limit.as_deref())?;
    let after = params::decode_cursor::<AdminCode>(q.cursor.as_deref())?;
    let page = store.list_admin_units(&filter, after, limit).await?;
    Ok(HttpResponse::Ok().json(AdminUnitList {
        items: page.items.into_iter().map(AdminUnitView::from).collect(),
        next_cursor: page.next_after.map(|c| encode_cursor(&c)),
    }))
}

/// Get an admin unit.
///
/// One unit by its gazetteer code. Carries an `ETag` (304 on `If-None-Match`).
#[utoipa::path(
    tag = "admin-units",
    params(("code" = String, Path, description = "The gazetteer code (2, 4, 6 or 8 digits)", example = "0102")),
    security(("bearer" = ["facilities:read"])),
    responses(
        (status = 200, description = "The unit", body = AdminUnitView, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the ETag given in If-None-Match"),
        (status = 400, description = "The code is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `facilities:read`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin-units/{code}")]
pub async fn get_admin_unit(
    req: HttpRequest,
    caller: Caller,
    store: web::Data<Store>,
) -> Result<HttpResponse, Error> {
    caller.require(Scope::FacilitiesRead)?;
    let code =
        AdminCode::parse(&params::path_segment(&req, "code")?).map_err(|e| Error::InvalidPath {
            name: "code",
            reason: e.reason,
        })?;
    let stored = store
        .get_admin_unit(&code, caller.jurisdiction.as_ref())
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "admin unit",
            id: code.to_string(),
        })?;
    let etag = format!("a{}", stored.version);
    Ok(single_record(&req, &etag, &AdminUnitView::from(stored)))
}
