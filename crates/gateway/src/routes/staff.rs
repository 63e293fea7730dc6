//! Staff records: personal data, so every answer is audited and masked by scope.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::Utc;
use schema::{AdminCode, MinistryCode, StaffStatus};
use serde::Deserialize;
use store::{AuditEntry, StaffFilter, Store, StoredStaff};
use utoipa::IntoParams;

use crate::audit::AuditSink;
use crate::auth::{Caller, Scope};
use crate::error::{Error, Problem};
use crate::observe::RequestId;
use crate::params::{self, encode_cursor, parse_opt};
use crate::routes::{route_and_query, single_record};
use crate::views::{StaffList, StaffView};

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

/// Answers a page of staff, audited.
pub(crate) async fn staff_page(
    req: &HttpRequest,
    caller: &Caller,
    request_id: RequestId,
    store: &Store,
    audit: &AuditSink,
    filter: &StaffFilter,
    page: PageArgs<'_>,
) -> Result<HttpResponse, Error> {
    let limit = params::limit(page.limit)?;
    let after = params::decode_cursor::<uuid::Uuid>(page.cursor)?;
    let page = store.list_staff(filter, after, limit).await?;
    let ids: Vec<uuid::Uuid> = page.items.iter().map(|s| s.staff.id).collect();
    let reveal = caller.has(Scope::StaffReadPii);
    let body = StaffList {
        items: page
            .items
            .into_iter()
            .map(|s| StaffView::new(s, reveal, false))
            .collect(),
        next_cursor: page.next_after.map(|id| encode_cursor(&id)),
    };
    audit_access(req, caller, request_id, audit, 200, ids).await;
    Ok(HttpResponse::Ok().json(body))
}

pub(crate) async fn audit_access(
    req: &HttpRequest,
    caller: &Caller,
    request_id: RequestId,
    audit: &AuditSink,
    status: u16,
    record_ids: Vec<uuid::Uuid>,
) {
    let (route, query) = route_and_query(req);
    audit
        .record(AuditEntry {
            id: AuditEntry::new_id(),
            at: Utc::now(),
            request_id: request_id.0,
            client: caller.client.clone(),
            route,
            query,
            status,
            record_ids,
        })
        .await;
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
    request_id: RequestId,
    store: web::Data<Store>,
    audit: web::Data<AuditSink>,
) -> Result<HttpResponse, Error> {
    caller.require(Scope::StaffRead)?;
    let q: StaffQuery = params::raw_query(&req)?;
    let filter = staff_filter(&q, caller.jurisdiction.clone())?;
    let page = PageArgs {
        limit: q.limit.as_deref(),
        cursor: q.cursor.as_deref(),
    };
    staff_page(&req, &caller, request_id, &store, &audit, &filter, page).await
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
    request_id: RequestId,
    store: web::Data<Store>,
    audit: web::Data<AuditSink>,
) -> Result<HttpResponse, Error> {
    caller.require(Scope::StaffRead)?;
    let id = params::path_uuid(&req, "id")?;
    let found: Option<StoredStaff> = store.get_staff(id, caller.jurisdiction.as_ref()).await?;
    let stored = found.ok_or_else(|| Error::NotFound {
        what: "staff record",
        id: id.to_string(),
    })?;
    let reveal = caller.has(Scope::StaffReadPii);
    let etag = format!("s{}-{}", stored.version, if reveal { "p" } else { "m" });
    let view = StaffView::new(stored, reveal, true);
    let response = single_record(&req, &etag, &view);
    audit_access(
        &req,
        &caller,
        request_id,
        &audit,
        response.status().as_u16(),
        vec![id],
    )
    .await;
    Ok(response)
}
