//! Staff records: personal data, so every answer is audited and masked by scope.

use actix_web::{HttpRequest, HttpResponse, get, web};
use schema::{AdminCode, MinistryCode, StaffStatus};
use serde::Deserialize;
use store::{StaffFilter, Store, StoredStaff};
use utoipa::IntoParams;

use crate::auth::{Caller, Scope};
use crate::error::{Error, Problem};
use crate::params::{self, encode_cursor, parse_opt};
use crate::routes::{AuditTrail, Audited, Routes, single_record};
use crate::views::{StaffList, StaffView};

pub(crate) fn register(routes: &mut Routes<'_>) {
    routes.service(list_staff).service(get_staff);
}

/// Filters of `GET /v1/staff`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StaffQuery {
    /// The employing ministry's code.
    #[param(example = "MOH")]
    employer: Option<String>,
    /// Staff assigned to this facility.
    #[param(value_type = Option<uuid::Uuid>)]
    facility_id: Option<String>,
    /// Staff serving inside this province, district or commune (a gazetteer code).
    #[param(example = "0102")]
    admin_unit: Option<String>,
    /// active, suspended, retired, deceased or left.
    #[param(example = "active")]
    status: Option<String>,
    /// Part of a name, in Khmer or Latin script, or a civil-servant id.
    #[param(example = "ចាន់ថា")]
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

/// Scoped to `within` on top of the client's filters.
pub(crate) fn staff_filter(
    q: &StaffQuery,
    within: Option<AdminCode>,
) -> Result<StaffFilter, Error> {
    Ok(StaffFilter {
        employer: parse_opt("employer", q.employer.as_deref(), MinistryCode::parse)?,
        facility_id: q
            .facility_id
            .as_deref()
            .map(|v| {
                uuid::Uuid::parse_str(v)
                    .map_err(|_| Error::invalid("facility_id", format!("{v:?} is not a UUID")))
            })
            .transpose()?,
        admin_unit: parse_opt(
            "admin_unit",
            q.admin_unit.as_deref(),
            schema::AdminCode::parse,
        )?,
        status: parse_opt("status", q.status.as_deref(), StaffStatus::parse)?,
        q: params::search(q.q.as_deref()),
        updated_since: params::timestamp("updated_since", q.updated_since.as_deref())?,
        within,
    })
}

/// The raw `limit` and `cursor` of a list request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageArgs<'a> {
    pub limit: Option<&'a str>,
    pub cursor: Option<&'a str>,
}

/// A page of staff as `caller` may see them: personal fields masked without
/// `staff:read:pii`. The one reading of staff lists, for the API's answers and the
/// app's pages alike; whoever shows the page audits it (with [`StaffList::ids`]).
pub(crate) async fn staff_views(
    caller: &Caller,
    store: &Store,
    filter: &StaffFilter,
    page: PageArgs<'_>,
) -> Result<StaffList, Error> {
    let limit = params::limit(page.limit)?;
    let after = params::decode_cursor::<uuid::Uuid>(page.cursor)?;
    let page = store.list_staff(filter, after, limit).await?;
    let reveal = caller.has(Scope::StaffReadPii);
    Ok(StaffList {
        items: page
            .items
            .into_iter()
            .map(|s| StaffView::new(s, reveal, false))
            .collect(),
        next_cursor: page.next_after.map(|id| encode_cursor(&id)),
    })
}

/// Answers a page of staff, audited.
pub(crate) async fn staff_page(
    caller: &Caller,
    trail: AuditTrail,
    store: &Store,
    filter: &StaffFilter,
    page: PageArgs<'_>,
) -> Result<Audited, Error> {
    let body = staff_views(caller, store, filter, page).await?;
    let ids = body.ids();
    Ok(trail
        .answer(caller, ids, HttpResponse::Ok().json(body))
        .await)
}

/// A staff record's ETag: its version, and whether personal fields were shown, so a
/// copy cached under one scope is not taken for the other's.
fn staff_etag(version: i64, pii_shown: bool) -> String {
    format!("s{version}-{}", if pii_shown { "p" } else { "m" })
}

/// List staff.
///
/// Staff records with filters, in pages. Personal fields (`national_id`,
/// `birth_date`) are masked without the `staff:read:pii` scope. A token with a
/// `jurisdiction` sees only staff serving inside it. Every call is written to the audit
/// log with the ids of the records returned.
#[utoipa::path(
    tag = "staff",
    params(StaffQuery),
    security(("bearer" = ["staff:read"])),
    responses(
        (status = 200, description = "A page of staff", body = StaffList),
        (status = 400, description = "A malformed or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `staff:read`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/staff")]
pub async fn list_staff(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::StaffRead)?;
    let q: StaffQuery = params::raw_query(&req)?;
    let filter = staff_filter(&q, caller.jurisdiction.clone())?;
    let page = PageArgs {
        limit: q.limit.as_deref(),
        cursor: q.cursor.as_deref(),
    };
    staff_page(&caller, trail, &store, &filter, page).await
}

/// Get a staff record.
///
/// One staff record with its assignments and sources. Carries an `ETag`; send it back
/// in `If-None-Match` to get 304 when nothing changed. A record outside the token's
/// jurisdiction is a 404.
#[utoipa::path(
    tag = "staff",
    params(("id" = uuid::Uuid, Path, description = "The staff record's gateway id")),
    security(("bearer" = ["staff:read"])),
    responses(
        (status = 200, description = "The staff record", body = StaffView,
         headers(("ETag" = String, description = "Changes whenever the record (or its masking) changes"))),
        (status = 304, description = "Unchanged since the ETag given in If-None-Match"),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `staff:read`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/staff/{id}")]
pub async fn get_staff(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::StaffRead)?;
    let id = params::path_uuid(&req, "id")?;
    let found: Option<StoredStaff> = store.get_staff(id, caller.jurisdiction.as_ref()).await?;
    let stored = found.ok_or_else(|| Error::NotFound {
        what: "staff record",
        id: id.to_string(),
    })?;
    let reveal = caller.has(Scope::StaffReadPii);
    let etag = staff_etag(stored.version, reveal);
    let view = StaffView::new(stored, reveal, true);
    let response = single_record(&req, &etag, &view);
    Ok(trail.answer(&caller, vec![id], response).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> StaffQuery {
        serde_urlencoded::from_str(q).expect("a staff query")
    }

    /// A copy cached under one scope is never revalidated as the other's: the tag
    /// says whether personal fields were shown, and changes with every version.
    #[test]
    fn the_etag_changes_with_the_version_and_the_masking() {
        assert_eq!(staff_etag(7, false), "s7-m");
        assert_eq!(staff_etag(7, true), "s7-p");
        assert_ne!(staff_etag(7, false), staff_etag(8, false));
    }

    /// The caller's jurisdiction bounds the search whatever the client asks: the
    /// `admin_unit` filter narrows inside it but cannot replace it.
    #[test]
    fn the_jurisdiction_bounds_the_filter_beside_the_clients_own() {
        let area = AdminCode::parse("0102").expect("code");
        let f =
            staff_filter(&query("admin_unit=07&status=active"), Some(area.clone())).expect("valid");
        assert_eq!(f.within, Some(area));
        assert_eq!(f.admin_unit, AdminCode::parse("07").ok());
        assert_eq!(f.status, Some(StaffStatus::Active));
        let national = staff_filter(&query(""), None).expect("valid");
        assert_eq!(national.within, None);
    }

    #[test]
    fn a_bad_filter_value_names_its_parameter() {
        for (q, named) in [
            ("facility_id=42", "facility_id"),
            ("admin_unit=99", "admin_unit"),
            ("status=asleep", "status"),
            ("updated_since=yesterday", "updated_since"),
        ] {
            match staff_filter(&query(q), None) {
                Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, named, "{q}"),
                other => panic!("{q}: {other:?}"),
            }
        }
        let blank = staff_filter(&query("q=%20%20"), None).expect("valid");
        assert_eq!(blank.q, None);
    }
}
