//! Rosters from service sites: who actually serves at a health centre or school.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{Datelike, FixedOffset, Utc};
use futures_util::StreamExt;
use schema::{Period, RosterSubmission};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use store::{NewRoster, RosterOutcome, Store};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::{Caller, Scope};
use crate::error::{Error, Problem};
use crate::params::{self, encode_cursor, parse_opt};
use crate::routes::facilities::facility_in_reach;
use crate::routes::staff::PageArgs;
use crate::routes::{AuditTrail, Audited, Routes};
use crate::views::{RosterList, RosterView};

pub(crate) fn register(routes: &mut Routes<'_>) {
    routes
        .service(submit_roster)
        .service(list_rosters)
        .service(get_roster);
}

/// Largest roster body accepted: 5,000 entries with long notes fit well inside.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// A roster submission, as documented (the body is read field by field, so every
/// fault can be reported at once).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "period": "2025-12",
    "entries": [
        {"civil_servant_id": "1000123456", "name_km": "សុខ ចាន់ថា", "name_latin": "Sok Chantha",
         "sex": "female", "role": "ឆ្មប", "present": true},
        {"civil_servant_id": "1000654321", "name_km": "កែវ សុភា", "present": false,
         "note": "ឈប់សម្រាកលំហែមាតុភាព"},
        {"national_id": "010203040", "name_km": "ចាន់ ដារ៉ា", "name_latin": "Chan Dara",
         "sex": "male", "role": "គិលានុបដ្ឋាក", "present": true},
        {"name_km": "លី សុខា", "name_latin": "Ly Sokha", "sex": "female", "role": "អ្នកស្ម័គ្រចិត្ត",
         "present": true, "note": "volunteer, not on any list"}
    ]
}))]
pub struct RosterInput {
    /// The month the roster is for (`YYYY-MM`); not after the current month.
    pub period: String,
    /// Everyone who serves at the site this month, present or absent (at most 5,000;
    /// empty when nobody does).
    #[schema(max_items = 5000)]
    pub entries: Vec<RosterEntryInput>,
}

/// One person on a submitted roster: a civil-servant id where the person has one,
/// otherwise a national id or a Khmer name.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterEntryInput {
    /// 6 to 12 digits (Khmer digits accepted).
    pub civil_servant_id: Option<String>,
    /// 9 to 12 digits.
    pub national_id: Option<String>,
    /// Needed when neither id is given.
    pub name_km: Option<String>,
    pub name_latin: Option<String>,
    /// `male` or `female` (ប្រុស / ស្រី accepted).
    pub sex: Option<String>,
    /// The person's role at the site, up to 100 characters.
    pub role: Option<String>,
    /// True when the person serves here this month; false when absent.
    pub present: bool,
    /// Up to 500 characters (for example why the person is absent).
    pub note: Option<String>,
}

/// Paging and filter of `GET /v1/facilities/{id}/rosters`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RosterQuery {
    /// Only rosters for this month (`YYYY-MM`).
    #[param(example = "2025-12")]
    period: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The current month in Cambodia (UTC+7): the latest a roster may be for.
pub(crate) fn current_month() -> Result<Period, Error> {
    let offset = FixedOffset::east_opt(7 * 3600).ok_or_else(|| Error::Internal("UTC+7".into()))?;
    let now = Utc::now().with_timezone(&offset);
    Period::parse(&format!("{:04}-{:02}", now.year(), now.month()))
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Reads a JSON body of at most `MAX_BODY_BYTES`.
pub(crate) async fn json_body(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<serde_json::Value, Error> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let mime = v.split(';').next().unwrap_or("").trim();
            mime.eq_ignore_ascii_case("application/json")
        });
    if !is_json {
        return Err(Error::UnsupportedMediaType("application/json"));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Error::InvalidBody(e.to_string()))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Error::BodyTooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| Error::InvalidBody(format!("not valid JSON: {e}")))
}

pub(crate) fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, Error> {
    let Some(v) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let bad = |reason: String| Error::InvalidHeader {
        name: "Idempotency-Key",
        reason: format!("{reason} (1 to 255 visible ASCII characters: a UUID is a good key)"),
    };
    let s = v
        .to_str()
        .map_err(|_| bad("is not visible ASCII".to_owned()))?;
    params::form("", params::Location::Header, "Idempotency-Key")
        .map_or(Ok(()), |form| form.check(s))
        .map_err(bad)?;
    Ok(Some(s.to_owned()))
}

/// Submit a roster.
///
/// The head of a health centre or school (through the ministry app, or a district
/// administration's system) says who actually serves at the site in a month. Needs
/// `rosters:write`, and the token's jurisdiction must contain the facility (else 404).
/// Every entry is checked; a roster with any invalid entry is refused whole with a 422
/// listing every fault by entry index and field. Each entry is linked to a staff
/// record where one can be found (civil-servant id, then national id, then the one
/// person of that Khmer name the ministries place at the facility).
///
/// Rosters are append-only: a later roster for the same facility and month supersedes
/// the earlier one, which stays readable. Send an `Idempotency-Key` to make a retry
/// safe: the same key and body answer the first result (with
/// `Idempotent-Replayed: true`) instead of storing it twice; the same key with another
/// body is a 422. The facility's discrepancies (`on_roll_not_serving`,
/// `serving_not_on_roll`) are recomputed before the answer.
#[utoipa::path(
    tag = "rosters",
    params(
        ("id" = uuid::Uuid, Path, description = "The facility's gateway id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried submission answer the first result"),
    ),
    request_body(content = RosterInput, content_type = "application/json"),
    security(("bearer" = ["rosters:write"])),
    responses(
        (status = 201, description = "Stored (or, with a known Idempotency-Key, stored before)", body = RosterView,
         headers(("Location" = String, description = "/v1/rosters/{id}"))),
        (status = 400, description = "Not JSON, or a malformed id or header", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `rosters:write`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such facility (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 4 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not sent as application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid entries (every one listed in `errors`), or an Idempotency-Key reused for another body", body = Problem, content_type = "application/problem+json",
         example = json!({
            "type": "urn:interop-gateway:problem:invalid_roster", "title": "Invalid roster", "status": 422,
            "detail": "the roster has 2 invalid field(s); nothing was stored", "code": "invalid_roster",
            "errors": [
                {"index": 0, "field": "civil_servant_id", "detail": "\"12\" is not 6 to 12 digits"},
                {"index": 3, "field": "present", "detail": "is required: true when the person serves here this month, false when absent"}
            ]})),
    )
)]
#[post("/v1/facilities/{id}/rosters")]
pub async fn submit_roster(
    req: HttpRequest,
    payload: web::Payload,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::RostersWrite)?;
    let facility_id = params::path_uuid(&req, "id")?;
    let key = idempotency_key(&req)?;
    let body = json_body(&req, payload).await?;
    let submitted = submit(&store, &caller, facility_id, key.as_deref(), &body).await?;
    Ok(answer_submitted(trail, &caller, submitted).await)
}

/// What a roster submission came to.
#[derive(Debug)]
pub(crate) struct Submitted {
    pub view: RosterView,
    /// The same Idempotency-Key and body were stored before: this is that roster.
    pub replayed: bool,
}

/// Submits the roster API's `body` for `facility_id` on behalf of `caller`: the one
/// path of every roster, the API's and the app's, so both are checked, stored and
/// recomputed alike. Needs `rosters:write`; a facility outside the caller's
/// jurisdiction is a 404.
pub(crate) async fn submit(
    store: &Store,
    caller: &Caller,
    facility_id: uuid::Uuid,
    key: Option<&str>,
    body: &serde_json::Value,
) -> Result<Submitted, Error> {
    caller.require(Scope::RostersWrite)?;
    let submission =
        RosterSubmission::parse(body, current_month()?).map_err(Error::InvalidRoster)?;
    facility_in_reach(store, caller, facility_id).await?;
    let request_hash = hex::encode(Sha256::digest(format!("{facility_id}\n{body}")));
    let outcome = store
        .submit_roster(NewRoster {
            facility_id,
            submission: &submission,
            client: &caller.client,
            idempotency_key: key,
            request_hash: &request_hash,
        })
        .await?;
    let reveal = caller.has(Scope::StaffReadPii);
    match outcome {
        RosterOutcome::Created(roster) => Ok(Submitted {
            view: RosterView::new(roster, reveal, true),
            replayed: false,
        }),
        RosterOutcome::Replayed(roster) => Ok(Submitted {
            view: RosterView::new(roster, reveal, true),
            replayed: true,
        }),
        RosterOutcome::KeyReused => Err(Error::IdempotencyKeyReused),
    }
}

/// The 201 answer to a submission (its `Location`, `Idempotent-Replayed` on a
/// replay), audited with the staff its entries name.
pub(crate) async fn answer_submitted(
    trail: AuditTrail,
    caller: &Caller,
    submitted: Submitted,
) -> Audited {
    let Submitted { view, replayed } = submitted;
    let mut response = HttpResponse::Created();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/rosters/{}", view.id)) {
        response.insert_header((header::LOCATION, v));
    }
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    let staff_ids = view.staff_ids();
    trail.answer(caller, staff_ids, response.json(view)).await
}

fn require_roster_reader(caller: &Caller) -> Result<(), Error> {
    if caller.has(Scope::RostersWrite) || caller.has(Scope::ReportsRead) {
        Ok(())
    } else {
        Err(Error::MissingScope("reports:read"))
    }
}

/// List a facility's rosters.
///
/// Every roster submitted for the facility, newest first, superseded ones included
/// (each says what it superseded and what superseded it), without entries. Needs
/// `rosters:write` or `reports:read`; a facility outside the token's jurisdiction is a 404.
#[utoipa::path(
    tag = "rosters",
    params(("id" = uuid::Uuid, Path, description = "The facility's gateway id"), RosterQuery),
    security(("bearer" = ["reports:read"]), ("bearer" = ["rosters:write"])),
    responses(
        (status = 200, description = "A page of rosters", body = RosterList),
        (status = 400, description = "A malformed id or parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `reports:read` and `rosters:write`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such facility (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/facilities/{id}/rosters")]
pub async fn list_rosters(
    req: HttpRequest,
    caller: Caller,
    store: web::Data<Store>,
) -> Result<HttpResponse, Error> {
    require_roster_reader(&caller)?;
    let facility_id = params::path_uuid(&req, "id")?;
    let q: RosterQuery = params::raw_query(&req)?;
    let period = parse_opt("period", q.period.as_deref(), Period::parse)?;
    let page = PageArgs {
        limit: q.limit.as_deref(),
        cursor: q.cursor.as_deref(),
    };
    Ok(HttpResponse::Ok().json(roster_views(&caller, &store, facility_id, period, page).await?))
}

/// A page of a facility's rosters (of `period`, when given), newest first, without
/// entries; a 404 for a facility outside `caller`'s jurisdiction. The one reading of
/// a facility's rosters, for the API and the app.
pub(crate) async fn roster_views(
    caller: &Caller,
    store: &Store,
    facility_id: Uuid,
    period: Option<Period>,
    page: PageArgs<'_>,
) -> Result<RosterList, Error> {
    require_roster_reader(caller)?;
    let limit = params::limit(page.limit)?;
    let before = params::decode_cursor::<i64>(page.cursor)?;
    facility_in_reach(store, caller, facility_id).await?;
    let page = store
        .list_rosters(facility_id, period, before, limit)
        .await?;
    Ok(RosterList {
        items: page
            .items
            .into_iter()
            .map(|r| RosterView::new(r, false, false))
            .collect(),
        next_cursor: page.next_after.map(|seq| encode_cursor(&seq)),
    })
}

/// Get a roster.
///
/// One roster with its entries and the staff records they were linked to. National
/// ids are masked without `staff:read:pii`. Needs `rosters:write` or `reports:read`;
/// a roster of a facility outside the token's jurisdiction is a 404. Audited.
#[utoipa::path(
    tag = "rosters",
    params(("id" = uuid::Uuid, Path, description = "The roster's id")),
    security(("bearer" = ["reports:read"]), ("bearer" = ["rosters:write"])),
    responses(
        (status = 200, description = "The roster", body = RosterView),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `reports:read` and `rosters:write`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such roster (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/rosters/{id}")]
pub async fn get_roster(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    require_roster_reader(&caller)?;
    let id = params::path_uuid(&req, "id")?;
    let view = roster_view(&caller, &store, id).await?;
    let staff_ids = view.staff_ids();
    Ok(trail
        .answer(&caller, staff_ids, HttpResponse::Ok().json(view))
        .await)
}

/// One roster with its entries as `caller` may see it (national ids masked without
/// `staff:read:pii`); a 404 for a facility outside the caller's jurisdiction. Whoever
/// shows it audits it (with [`RosterView::staff_ids`]).
pub(crate) async fn roster_view(
    caller: &Caller,
    store: &Store,
    id: Uuid,
) -> Result<RosterView, Error> {
    require_roster_reader(caller)?;
    let not_found = || Error::NotFound {
        what: "roster",
        id: id.to_string(),
    };
    let roster = store.get_roster(id).await?.ok_or_else(not_found)?;
    if store
        .get_facility(roster.facility_id, caller.jurisdiction.as_ref())
        .await?
        .is_none()
    {
        return Err(not_found());
    }
    Ok(RosterView::new(
        roster,
        caller.has(Scope::StaffReadPii),
        true,
    ))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn with_key(key: &str) -> HttpRequest {
        TestRequest::post()
            .insert_header(("Idempotency-Key", key))
            .to_http_request()
    }

    #[test]
    fn an_idempotency_key_is_visible_ascii_up_to_255_characters() {
        assert_eq!(
            idempotency_key(&TestRequest::post().to_http_request()).ok(),
            Some(None)
        );
        let key = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert_eq!(
            idempotency_key(&with_key(key)).ok().flatten().as_deref(),
            Some(key)
        );
        for bad in ["has space", &"k".repeat(256)] {
            match idempotency_key(&with_key(bad)) {
                Err(Error::InvalidHeader { name, reason }) => {
                    assert_eq!(name, "Idempotency-Key");
                    assert!(reason.contains("a UUID is a good key"), "{reason}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    /// Rosters are read by whoever may submit them or read reports.
    #[test]
    fn a_roster_reader_writes_rosters_or_reads_reports() {
        for scopes in [&["rosters:write"][..], &["reports:read"]] {
            let caller = Caller::for_tests("c", scopes, None);
            assert!(require_roster_reader(&caller).is_ok(), "{scopes:?}");
        }
        let staff_reader = Caller::for_tests("c", &["staff:read", "staff:read:pii"], None);
        assert!(matches!(
            require_roster_reader(&staff_reader),
            Err(Error::MissingScope("reports:read"))
        ));
    }

    /// The latest month a roster may be for is Cambodia's (UTC+7), which is the
    /// UTC month or the one after it.
    #[test]
    fn the_current_month_is_cambodias() {
        let utc = Utc::now();
        let month = current_month().expect("a month").to_string();
        let here = format!("{:04}-{:02}", utc.year(), utc.month());
        let ahead = utc + chrono::Duration::hours(7);
        let there = format!("{:04}-{:02}", ahead.year(), ahead.month());
        assert!(month == here || month == there, "{month}");
    }
}
