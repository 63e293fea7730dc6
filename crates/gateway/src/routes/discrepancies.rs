//! Discrepancies: where the ministries' records (and the sites' rosters) disagree.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use schema::{
    AdminCode, DiscrepancyKind, FindingAction, FindingState, Ministry, TransitionRefused,
};
use serde::Deserialize;
use store::{ActionOutcome, DiscrepancyFilter, FindingStatus, Store};
use utoipa::IntoParams;

use crate::auth::{Caller, Scope};
use crate::error::{Error, Problem};
use crate::params::{self, encode_cursor, parse_opt};
use crate::routes::rosters::json_body;
use crate::routes::{AuditTrail, Audited, Routes, single_record};
use crate::tables::{Cell, Table, TableFormat};
use crate::views::{DiscrepancyList, DiscrepancyView, FindingEventView};

pub(crate) fn register(routes: &mut Routes<'_>) {
    routes
        .service(list_discrepancies)
        .service(get_discrepancy)
        .service(act_on_discrepancy);
}

/// Filters of `GET /v1/discrepancies`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiscrepancyQuery {
    /// `on_roll_not_serving`, `serving_not_on_roll`, `assignment_conflict`,
    /// `attribute_conflict`, `paid_not_on_roll`, `on_roll_not_paid`,
    /// `possible_duplicate` or `facility_unplaced`.
    #[param(example = "on_roll_not_serving")]
    pub(crate) kind: Option<String>,
    /// Findings with evidence from this source (`mcs`, `moh`, `moeys`, `mef`, `moi`).
    #[param(example = "moh")]
    pub(crate) ministry: Option<String>,
    /// Findings inside this province, district or commune (a gazetteer code).
    #[param(example = "07")]
    pub(crate) admin_unit: Option<String>,
    /// Findings about this facility.
    #[param(value_type = Option<uuid::Uuid>)]
    pub(crate) facility_id: Option<String>,
    /// `open` (the default), `resolved`, or `all`: whether the sources still disagree.
    #[param(example = "open")]
    pub(crate) status: Option<String>,
    /// Where people are with it: `open` (nobody has taken it up), `acknowledged`,
    /// `explained`, `confirmed`, or `resolved`.
    #[param(example = "confirmed")]
    pub(crate) state: Option<String>,
    /// Findings whose last action was this client's (a token's `sub`).
    #[param(example = "kampot-phd")]
    pub(crate) held_by: Option<String>,
    /// `json` (the default), `csv` or `xlsx`; or ask by `Accept`. A CSV or XLSX
    /// answer holds every finding the filters select, one row each.
    #[param(example = "xlsx")]
    pub(crate) format: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub(crate) limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub(crate) cursor: Option<String>,
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
        (status = 200, description = "A page of discrepancies (or, as CSV or XLSX, all of them)", content(
            (DiscrepancyList = "application/json"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
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
    list_answer(&req, &caller, trail, &store).await
}

/// The findings `q` selects as `caller` may see them: `q`'s filters read, kept inside
/// the caller's jurisdiction.
pub(crate) fn discrepancy_filter(
    caller: &Caller,
    q: &DiscrepancyQuery,
) -> Result<DiscrepancyFilter, Error> {
    caller.require(Scope::ReportsRead)?;
    Ok(DiscrepancyFilter {
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
        state: parse_opt("state", q.state.as_deref(), FindingState::parse_name)?,
        held_by: q.held_by.clone(),
    })
}

/// A page of the findings `q` selects, as `caller` may see them (evidence masked
/// without `staff:read:pii`), with the ids of the people it names for the audit: the
/// one reading of the list, for the API and the app's findings page.
pub(crate) async fn discrepancy_page(
    caller: &Caller,
    store: &Store,
    q: &DiscrepancyQuery,
) -> Result<(DiscrepancyList, Vec<uuid::Uuid>), Error> {
    let filter = discrepancy_filter(caller, q)?;
    let limit = params::limit(q.limit.as_deref())?;
    let after = params::decode_cursor::<uuid::Uuid>(q.cursor.as_deref())?;
    let page = store.list_discrepancies(&filter, after, limit).await?;
    let ids = page
        .items
        .iter()
        .flat_map(|d| d.staff.iter().map(|s| s.id))
        .collect();
    let reveal = caller.has(Scope::StaffReadPii);
    let body = DiscrepancyList {
        items: page
            .items
            .into_iter()
            .map(|d| DiscrepancyView::new(d, reveal))
            .collect(),
        next_cursor: page.next_after.map(|id| encode_cursor(&id)),
    };
    Ok((body, ids))
}

/// `GET /v1/discrepancies` for `caller`, its parameters read from `req`: the API's
/// answer, and the app's download of the findings (audited alike).
pub(crate) async fn list_answer(
    req: &HttpRequest,
    caller: &Caller,
    trail: AuditTrail,
    store: &Store,
) -> Result<Audited, Error> {
    let q: DiscrepancyQuery = params::raw_query(req)?;
    let filter = discrepancy_filter(caller, &q)?;
    let format = TableFormat::requested(req, q.format.as_deref())?;
    if format == TableFormat::Json {
        let (body, ids) = discrepancy_page(caller, store, &q).await?;
        return Ok(trail
            .answer(caller, ids, HttpResponse::Ok().json(body))
            .await);
    }
    let reveal = caller.has(Scope::StaffReadPii);
    let mut table = findings_table();
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_discrepancies(&filter, after, 1000).await?;
        for d in page.items {
            ids.extend(d.staff.iter().map(|s| s.id));
            table.push(finding_row(DiscrepancyView::new(d, reveal)));
        }
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    Ok(trail.answer(caller, ids, table.respond(format)?).await)
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
    let (view, ids) = discrepancy(&caller, &store, id).await?;
    let etag = view.version.to_string();
    Ok(trail
        .answer(&caller, ids, single_record(&req, &etag, &view))
        .await)
}

/// One finding as `caller` may see it, with its history and the ids of the people it
/// names for the audit; a 404 outside the caller's jurisdiction.
pub(crate) async fn discrepancy(
    caller: &Caller,
    store: &Store,
    id: uuid::Uuid,
) -> Result<(DiscrepancyView, Vec<uuid::Uuid>), Error> {
    caller.require(Scope::ReportsRead)?;
    let found = store
        .get_discrepancy(id, caller.jurisdiction.as_ref())
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "discrepancy",
            id: id.to_string(),
        })?;
    let ids = found.staff.iter().map(|s| s.id).collect();
    let mut view = DiscrepancyView::new(found, caller.has(Scope::StaffReadPii));
    view.history = Some(
        store
            .discrepancy_history(id)
            .await?
            .into_iter()
            .map(FindingEventView::from)
            .collect(),
    );
    Ok((view, ids))
}

/// The findings as a table people open: one row per finding.
fn findings_table() -> Table {
    Table::new(
        "findings",
        &[
            "id",
            "kind",
            "state",
            "admin_unit_code",
            "staff",
            "civil_servant_ids",
            "facility",
            "sources",
            "first_seen",
            "last_seen",
            "held_by",
            "reason",
            "reason_km",
            "ministry",
            "note",
            "description",
        ],
    )
}

/// Dates as people write them in Cambodia: day/month/year.
fn day(t: chrono::DateTime<chrono::Utc>) -> Cell {
    t.format("%d/%m/%Y").to_string().into()
}

fn finding_row(v: DiscrepancyView) -> Vec<Cell> {
    let names: Vec<&str> = v.staff.iter().map(|s| s.name_km.as_str()).collect();
    let ids: Vec<&str> = v
        .staff
        .iter()
        .filter_map(|s| s.civil_servant_id.as_deref())
        .collect();
    let review = v.review.as_ref();
    vec![
        v.id.to_string().into(),
        v.kind.as_str().into(),
        v.state.into(),
        v.admin_unit_code.clone().into(),
        names.join("; ").into(),
        ids.join("; ").into(),
        v.facility.as_ref().map(|f| f.name_km.clone()).into(),
        v.sources.join(" ").into(),
        day(v.first_seen),
        day(v.last_seen),
        review.and_then(|r| r.held_by.clone()).into(),
        review.and_then(|r| r.reason).unwrap_or_default().into(),
        review.and_then(|r| r.reason_km).unwrap_or_default().into(),
        review.and_then(|r| r.ministry).unwrap_or_default().into(),
        review.and_then(|r| r.note.clone()).into(),
        v.description.into(),
    ]
}

/// The versions an `If-Match` header names (RFC 9110: a list of entity tags, weak or
/// strong; `*` names any, which is no condition). A tag that is no version of ours
/// names none, so the action is refused as stale rather than as malformed.
fn if_match(req: &HttpRequest) -> Result<Option<Vec<i64>>, Error> {
    let Some(v) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = v.to_str().map_err(|_| Error::InvalidHeader {
        name: "If-Match",
        reason: "is not visible ASCII".to_owned(),
    })?;
    params::form("", params::Location::Header, "If-Match")
        .map_or(Ok(()), |form| form.check(text))
        .map_err(|reason| Error::InvalidHeader {
            name: "If-Match",
            reason,
        })?;
    if text.trim() == "*" {
        return Ok(None);
    }
    Ok(Some(
        text.split(',')
            .filter_map(|t| {
                t.trim()
                    .trim_start_matches("W/")
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .and_then(|t| t.parse::<i64>().ok())
            })
            .collect(),
    ))
}

/// Act on a discrepancy.
///
/// A reviewer says where a finding stands: `acknowledge` (I am on it), `explain` with
/// a `reason` (`on_leave`, `studying`, `seconded`, `transferred`, `retired`,
/// `deceased`, `data_error` naming the `ministry` whose record is wrong, or `other`
/// with a `note`), `confirm` (a real problem for a ministry to fix; name it in
/// `ministry` where known), or `reopen`. Who, when and why are kept in the finding's
/// history (`GET /v1/discrepancies/{id}`) and the call is audited. An explained or
/// confirmed finding keeps its state while its evidence is unchanged; when a later
/// sync changes the evidence it reopens and says why (`reopened_because`). Send the
/// finding's `version` as `If-Match` (`"3"`) so that a colleague's action in between
/// is not overwritten: a stale one is a 412. A resolved finding takes no action (409).
/// Needs `findings:review`; a finding outside the token's jurisdiction is a 404.
#[utoipa::path(
    tag = "reports",
    // `If-Match` is described above rather than declared: a fuzzer cannot know which
    // version is current, and any it sends but the current one is rightly a 412.
    params(("id" = uuid::Uuid, Path, description = "The finding's id")),
    request_body(content = ActionInput, content_type = "application/json"),
    security(("bearer" = ["findings:review"])),
    responses(
        (status = 200, description = "Done: the finding as it is now", body = DiscrepancyView,
         headers(("ETag" = String, description = "The finding's new version"))),
        (status = 400, description = "Not JSON, or a malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `findings:review`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such finding (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The finding is resolved, or already open (for `reopen`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names no current version: someone acted on the finding since", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 4 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not sent as application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field's value is not allowed (each one listed in `errors`)", body = Problem, content_type = "application/problem+json",
         example = json!({
            "type": "urn:interop-gateway:problem:invalid_fields", "title": "Invalid fields", "status": 422,
            "detail": "the request has 1 invalid field(s); nothing was changed", "code": "invalid_fields",
            "errors": [{"field": "ministry", "detail": "is required for data_error: whose record is wrong"}]})),
    )
)]
#[post("/v1/discrepancies/{id}/actions")]
pub async fn act_on_discrepancy(
    req: HttpRequest,
    payload: web::Payload,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::FindingsReview)?;
    let id = params::path_uuid(&req, "id")?;
    let expected = if_match(&req)?;
    let body = json_body(&req, payload).await?;
    let (view, ids) = act(&caller, &store, id, &body, expected.as_deref()).await?;
    let mut response = HttpResponse::Ok();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", view.version)) {
        response.insert_header((header::ETAG, v));
    }
    Ok(trail.answer(&caller, ids, response.json(view)).await)
}

/// `caller` acts on finding `id` with an action's JSON `body`, if the finding is still
/// at one of the `expected` versions: the finding as it is now, and the ids of the
/// people it names for the audit. The one way to act, for the API and the app's form.
pub(crate) async fn act(
    caller: &Caller,
    store: &Store,
    id: uuid::Uuid,
    body: &serde_json::Value,
    expected: Option<&[i64]>,
) -> Result<(DiscrepancyView, Vec<uuid::Uuid>), Error> {
    caller.require(Scope::FindingsReview)?;
    let action = FindingAction::parse(body).map_err(Error::InvalidFields)?;
    let outcome = store
        .act_on_discrepancy(
            id,
            &action,
            &caller.client,
            caller.jurisdiction.as_ref(),
            expected,
        )
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "discrepancy",
            id: id.to_string(),
        })?;
    let found = match outcome {
        ActionOutcome::Done(found) => *found,
        ActionOutcome::Stale { current } => return Err(Error::StaleVersion { current }),
        ActionOutcome::Refused(TransitionRefused::Resolved) => {
            return Err(Error::FindingResolved);
        }
        ActionOutcome::Refused(TransitionRefused::AlreadyOpen) => {
            return Err(Error::FindingAlreadyOpen);
        }
    };
    let ids = found.staff.iter().map(|s| s.id).collect();
    Ok((
        DiscrepancyView::new(found, caller.has(Scope::StaffReadPii)),
        ids,
    ))
}

/// An action on a finding, as documented (the body is read field by field, so every
/// fault is reported at once).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"action": "explain", "reason": "on_leave", "note": "ឈប់សម្រាកលំហែមាតុភាព ដល់ខែមីនា"}))]
pub struct ActionInput {
    /// `acknowledge`, `explain`, `confirm` or `reopen`.
    pub action: String,
    /// For `explain`: `on_leave`, `studying`, `seconded`, `transferred`, `retired`,
    /// `deceased`, `data_error` or `other`.
    pub reason: Option<String>,
    /// For `explain` with `data_error` (required) or `confirm` (optional): the
    /// ministry whose record should change (`mcs`, `moh`, `moeys`, `mef`, `moi`).
    pub ministry: Option<String>,
    /// Up to 1,000 characters (required for the reason `other`).
    pub note: Option<String>,
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
