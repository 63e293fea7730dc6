//! Discrepancies: where the ministries' records (and the sites' rosters) disagree.

use actix_web::{HttpRequest, HttpResponse, get, web};
use schema::{AdminCode, DiscrepancyKind, Ministry};
use serde::Deserialize;
use store::{DiscrepancyFilter, FindingStatus, Store};
use utoipa::IntoParams;

use crate::auth::{Caller, Scope};
use crate::error::{Error, Problem};
use crate::params::{self, encode_cursor, parse_opt};
use crate::routes::{AuditTrail, Audited, Routes};
use crate::views::{DiscrepancyList, DiscrepancyView};

pub(crate) fn register(routes: &mut Routes<'_>) {
    routes.service(list_discrepancies).service(get_discrepancy);
}

/// Filters of `GET /v1/discrepancies`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiscrepancyQuery {
    /// `on_roll_not_serving`, `serving_not_on_roll`, `assignment_conflict`,
    /// `attribute_conflict`, `paid_not_on_roll`, `on_roll_not_paid`,
    /// `possible_duplicate` or `facility_unplaced`.
    #[param(example = "on_roll_not_serving")]
    kind: Option<String>,
    /// Findings with evidence from this source (`mcs`, `moh`, `moeys`, `mef`, `moi`).
    #[param(example = "moh")]
    ministry: Option<String>,
    /// Findings inside this province, district or commune (a gazetteer code).
    #[param(example = "07")]
    admin_unit: Option<String>,
    /// Findings about this facility.
    #[param(value_type = Option<uuid::Uuid>)]
    facility_id: Option<String>,
    /// `open` (the default), `resolved`, or `all`.
    #[param(example = "open")]
    status: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn kind(value: &str) -> Result<DiscrepancyKind, schema::ParseError> {
    DiscrepancyKind::from_name(value).ok_or_else(|| {
        schema::ParseError::new(
            "kind",
            format!(
                "{value:?} is not one of {}",
                DiscrepancyKind::names().join(", ")
            ),
        )
    })
}

fn status(value: &str) -> Result<FindingStatus, schema::ParseError> {
    match value {
        "open" => Ok(FindingStatus::Open),
        "resolved" => Ok(FindingStatus::Resolved),
        "all" => Ok(FindingStatus::Any),
        _ => Err(schema::ParseError::new(
            "status",
            format!("{value:?} is not open, resolved or all"),
        )),
    }
}

/// List discrepancies.
///
/// Findings of where the sources disagree, each with its evidence (which source said
/// what, and when), its first-seen and last-seen times, and whether it is still open.
/// Recomputed after every sync and every roster submission; a finding resolves itself
/// when the sources come to agree. Needs `reports:read`; personal fields in the
/// evidence are masked without `staff:read:pii`; a `jurisdiction` sees only findings
/// located inside it. Audited (the findings name staff).
#[utoipa::path(
    tag = "reports",
    params(DiscrepancyQuery),
    security(("bearer" = ["reports:read"])),
    responses(
        (status = 200, description = "A page of discrepancies", body = DiscrepancyList),
        (status = 400, description = "A malformed or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `reports:read`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/discrepancies")]
pub async fn list_discrepancies(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::ReportsRead)?;
    let q: DiscrepancyQuery = params::raw_query(&req)?;
    let filter = DiscrepancyFilter {
        kind: parse_opt("kind", q.kind.as_deref(), kind)?,
        ministry: parse_opt("ministry", q.ministry.as_deref(), Ministry::parse)?,
        admin_unit: parse_opt("admin_unit", q.admin_unit.as_deref(), AdminCode::parse)?,
        facility_id: q
            .facility_id
            .as_deref()
            .map(|v| {
                uuid::Uuid::parse_str(v)
                    .map_err(|_| Error::invalid("facility_id", format!("{v:?} is not a UUID")))
            })
            .transpose()?,
        status: parse_opt("status", q.status.as_deref(), status)?.unwrap_or_default(),
        within: caller.jurisdiction.clone(),
    };
    let limit = params::limit(q.limit.as_deref())?;
    let after = params::decode_cursor::<uuid::Uuid>(q.cursor.as_deref())?;
    let page = store.list_discrepancies(&filter, after, limit).await?;
    let reveal = caller.has(Scope::StaffReadPii);
    let ids = page
        .items
        .iter()
        .flat_map(|d| d.staff.iter().map(|s| s.id))
        .collect();
    let body = DiscrepancyList {
        items: page
            .items
            .into_iter()
            .map(|d| DiscrepancyView::new(d, reveal))
            .collect(),
        next_cursor: page.next_after.map(|id| encode_cursor(&id)),
    };
    Ok(trail
        .answer(&caller, ids, HttpResponse::Ok().json(body))
        .await)
}

/// Get a discrepancy.
///
/// One finding with its evidence, open or resolved. Needs `reports:read`; a finding
/// outside the token's jurisdiction is a 404. Audited.
#[utoipa::path(
    tag = "reports",
    params(("id" = uuid::Uuid, Path, description = "The finding's id")),
    security(("bearer" = ["reports:read"])),
    responses(
        (status = 200, description = "The finding", body = DiscrepancyView),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `reports:read`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such finding (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/discrepancies/{id}")]
pub async fn get_discrepancy(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::ReportsRead)?;
    let id = params::path_uuid(&req, "id")?;
    let found = store
        .get_discrepancy(id, caller.jurisdiction.as_ref())
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "discrepancy",
            id: id.to_string(),
        })?;
    let ids = found.staff.iter().map(|s| s.id).collect();
    let view = DiscrepancyView::new(found, caller.has(Scope::StaffReadPii));
    Ok(trail
        .answer(&caller, ids, HttpResponse::Ok().json(view))
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_is_read_by_its_name_and_an_unknown_one_lists_them_all() {
        for k in DiscrepancyKind::ALL {
            assert_eq!(kind(k.as_str()).ok(), Some(*k));
        }
        let err = kind("typo").expect_err("unknown");
        assert_eq!(err.what, "kind");
        assert!(err.reason.contains("on_roll_not_serving"), "{}", err.reason);
    }

    #[test]
    fn the_status_is_open_resolved_or_all() {
        assert!(matches!(status("open"), Ok(FindingStatus::Open)));
        assert!(matches!(status("resolved"), Ok(FindingStatus::Resolved)));
        assert!(matches!(status("all"), Ok(FindingStatus::Any)));
        assert!(status("Open").is_err());
        assert!(matches!(FindingStatus::default(), FindingStatus::Open));
    }
}
