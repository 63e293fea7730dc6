//! The review queue: pairs of records the matcher could not settle, where a district
//! or provincial officer decides whether two records are one person, and undoes a link
//! that was wrong.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use schema::{AdminCode, Ministry};
use serde::Deserialize;
use store::{MatchFilter, MatchKind, MatchStatus, Store, StoredMatch};
use utoipa::IntoParams;

use crate::auth::{Caller, Scope};
use crate::error::{Error, Problem};
use crate::params::{self, encode_cursor, parse_opt};
use crate::routes::rosters::json_body;
use crate::routes::{AuditTrail, Audited, Routes};
use crate::views::{
    DecisionInput, MatchList, MatchView, SplitInput, SplitView, field_fault, parse_decision,
};

pub(crate) fn register(routes: &mut Routes<'_>) {
    routes
        .service(list_matches)
        .service(get_match)
        .service(decide_match)
        .service(split_staff);
}

/// Filters of `GET /v1/matches`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MatchQuery {
    /// `pending` (the default: waiting for a person), `decided`, or `all`.
    #[param(example = "pending")]
    pub(crate) status: Option<String>,
    /// Pairs with either person inside this province, district or commune.
    #[param(example = "07")]
    pub(crate) admin_unit: Option<String>,
    /// Pairs with a record from this source (`mcs`, `moh`, `moeys`, `mef`, `moi`).
    #[param(example = "moh")]
    pub(crate) ministry: Option<String>,
    /// `uncertain`, `identifier_conflict` or `distinct_officers`.
    #[param(example = "uncertain")]
    pub(crate) kind: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub(crate) limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub(crate) cursor: Option<String>,
}

pub(crate) fn status(value: &str) -> Result<MatchStatus, schema::ParseError> {
    match value {
        "pending" => Ok(MatchStatus::Pending),
        "decided" => Ok(MatchStatus::Decided),
        "all" => Ok(MatchStatus::Any),
        _ => Err(schema::ParseError::new(
            "status",
            format!("{value:?} is not pending, decided or all"),
        )),
    }
}

pub(crate) fn kind(value: &str) -> Result<MatchKind, schema::ParseError> {
    MatchKind::parse(value).ok_or_else(|| {
        let names: Vec<&str> = MatchKind::ALL.iter().map(|k| k.name()).collect();
        schema::ParseError::new(
            "kind",
            format!("{value:?} is not one of {}", names.join(", ")),
        )
    })
}

/// Reading the queue: a reviewer, or whoever reads the findings it feeds.
fn require_reader(caller: &Caller) -> Result<(), Error> {
    if caller.has(Scope::MatchesReview) || caller.has(Scope::ReportsRead) {
        Ok(())
    } else {
        Err(Error::MissingScope("matches:review"))
    }
}

/// Whether a pair is inside `within`: either person is (or, where neither is placed,
/// the pair's own admin unit).
fn in_reach(m: &StoredMatch, within: Option<&AdminCode>) -> bool {
    let Some(within) = within else {
        return true;
    };
    let inside = |code: Option<&str>| code.is_some_and(|c| c.starts_with(within.as_str()));
    [&m.left, &m.right].iter().any(|side| {
        side.staff
            .as_ref()
            .is_some_and(|s| inside(s.staff.admin_unit_code.as_ref().map(|c| c.as_str())))
    }) || inside(m.admin_unit_code.as_deref())
}

/// The pair `id`, if the caller may see it (outside its jurisdiction: no such pair).
async fn match_in_reach(
    store: &Store,
    caller: &Caller,
    id: uuid::Uuid,
) -> Result<StoredMatch, Error> {
    store
        .get_match(id)
        .await?
        .filter(|m| in_reach(m, caller.jurisdiction.as_ref()))
        .ok_or_else(|| Error::NotFound {
            what: "match",
            id: id.to_string(),
        })
}

/// A page of the review queue as `caller` may read it (the service of
/// `GET /v1/matches`, which the app's queue page calls too): kept to the caller's
/// jurisdiction, personal fields masked without `staff:read:pii`. The caller audits.
pub(crate) async fn match_page(
    store: &Store,
    caller: &Caller,
    q: &MatchQuery,
) -> Result<MatchList, Error> {
    require_reader(caller)?;
    let filter = MatchFilter {
        status: parse_opt("status", q.status.as_deref(), status)?.unwrap_or_default(),
        admin_unit: parse_opt("admin_unit", q.admin_unit.as_deref(), AdminCode::parse)?,
        ministry: parse_opt("ministry", q.ministry.as_deref(), Ministry::parse)?,
        kind: parse_opt("kind", q.kind.as_deref(), kind)?,
        within: caller.jurisdiction.clone(),
    };
    let limit = params::limit(q.limit.as_deref())?;
    let after = params::decode_cursor::<uuid::Uuid>(q.cursor.as_deref())?;
    let page = store.list_matches(&filter, after, limit).await?;
    let reveal = caller.has(Scope::StaffReadPii);
    Ok(MatchList {
        items: page
            .items
            .into_iter()
            .map(|m| MatchView::new(m, reveal))
            .collect(),
        next_cursor: page.next_after.map(|id| encode_cursor(&id)),
    })
}

/// The pair `id` as `caller` may read it (the service of `GET /v1/matches/{id}`).
pub(crate) async fn match_view(
    store: &Store,
    caller: &Caller,
    id: uuid::Uuid,
) -> Result<MatchView, Error> {
    require_reader(caller)?;
    let found = match_in_reach(store, caller, id).await?;
    Ok(MatchView::new(found, caller.has(Scope::StaffReadPii)))
}

/// Decides the pair `id` (the service of `POST /v1/matches/{id}/decision`): needs
/// `matches:review` and the pair in reach; a pair decided before is a 409.
pub(crate) async fn decide(
    store: &Store,
    caller: &Caller,
    id: uuid::Uuid,
    input: &DecisionInput,
) -> Result<MatchView, Error> {
    caller.require(Scope::MatchesReview)?;
    let (decision, note) = parse_decision(input).map_err(Error::InvalidFields)?;
    match_in_reach(store, caller, id).await?;
    let decided = store
        .decide_match(id, decision, note.as_deref(), &caller.client)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "match",
            id: id.to_string(),
        })?;
    Ok(MatchView::new(decided, caller.has(Scope::StaffReadPii)))
}

/// List the review queue.
///
/// Pairs of source records the matcher could not settle on its own, each with its
/// score, every field's part in it, and both records' current persons side by side.
/// A pending pair is also a `possible_duplicate` finding; a decided one is not. Needs
/// `matches:review` or `reports:read`; personal fields are masked without
/// `staff:read:pii`; a `jurisdiction` sees the pairs with either person inside it.
/// Audited (the pairs name staff).
#[utoipa::path(
    tag = "matches",
    params(MatchQuery),
    security(("bearer" = ["matches:review"]), ("bearer" = ["reports:read"])),
    responses(
        (status = 200, description = "A page of pairs", body = MatchList),
        (status = 400, description = "A malformed or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `matches:review` and `reports:read`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/matches")]
pub async fn list_matches(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    let q: MatchQuery = params::raw_query(&req)?;
    let body = match_page(&store, &caller, &q).await?;
    let ids = body.items.iter().flat_map(MatchView::staff_ids).collect();
    Ok(trail
        .answer(&caller, ids, HttpResponse::Ok().json(body))
        .await)
}

/// Get a pair.
///
/// Both records side by side (each as the registry person holding it now, with its
/// postings), the score, each field's level and weight, and the decision if one was
/// made. Needs `matches:review` or `reports:read`; personal fields are masked without
/// `staff:read:pii`; a pair outside the token's jurisdiction is a 404. Audited.
#[utoipa::path(
    tag = "matches",
    params(("id" = uuid::Uuid, Path, description = "The pair's id")),
    security(("bearer" = ["matches:review"]), ("bearer" = ["reports:read"])),
    responses(
        (status = 200, description = "The pair", body = MatchView),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `matches:review` and `reports:read`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such pair (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/matches/{id}")]
pub async fn get_match(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    let id = params::path_uuid(&req, "id")?;
    let view = match_view(&store, &caller, id).await?;
    let ids = view.staff_ids();
    Ok(trail
        .answer(&caller, ids, HttpResponse::Ok().json(view))
        .await)
}

/// Decide a pair.
///
/// `same`: the two records are one person, and are linked now (the person's `sources`
/// say the link was manual, by whom and when). `different`: they are two people, and
/// the engine never links them. The decision is kept with its note and author,
/// survives every later sync (full or incremental), and takes the pair out of the
/// `possible_duplicate` findings; a later change of either record re-scores the pair
/// without undoing it. A wrong `same` is undone with `POST /v1/staff/{id}/split`.
/// Needs `matches:review`; a pair outside the token's jurisdiction is a 404. Audited.
#[utoipa::path(
    tag = "matches",
    params(("id" = uuid::Uuid, Path, description = "The pair's id")),
    request_body(content = DecisionInput, content_type = "application/json"),
    security(("bearer" = ["matches:review"])),
    responses(
        (status = 200, description = "Decided: the pair as it is now", body = MatchView),
        (status = 400, description = "Not JSON, an unknown field, or a malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `matches:review`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such pair (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The pair was decided before", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 4 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not sent as application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field's value is not allowed (each one listed in `errors`)", body = Problem, content_type = "application/problem+json",
         example = json!({
            "type": "urn:interop-gateway:problem:invalid_fields", "title": "Invalid fields", "status": 422,
            "detail": "the request has 1 invalid field(s); nothing was changed", "code": "invalid_fields",
            "errors": [{"field": "decision", "detail": "\"maybe\" is not same or different"}]})),
    )
)]
#[post("/v1/matches/{id}/decision")]
pub async fn decide_match(
    req: HttpRequest,
    payload: web::Payload,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::MatchesReview)?;
    let id = params::path_uuid(&req, "id")?;
    let body = json_body(&req, payload).await?;
    let input: DecisionInput =
        serde_json::from_value(body).map_err(|e| Error::InvalidBody(e.to_string()))?;
    let view = decide(&store, &caller, id, &input).await?;
    let ids = view.staff_ids();
    Ok(trail
        .answer(&caller, ids, HttpResponse::Ok().json(view))
        .await)
}

/// Split a person.
///
/// Undoes a link: the named source record leaves the person and becomes a person of
/// its own; both are rebuilt from what their sources said, and the pair is re-scored
/// and waits in the queue again (the engine does not link it by itself). Needs
/// `matches:review`; a person outside the token's jurisdiction is a 404. Audited.
#[utoipa::path(
    tag = "matches",
    params(("id" = uuid::Uuid, Path, description = "The person's id")),
    request_body(content = SplitInput, content_type = "application/json"),
    security(("bearer" = ["matches:review"])),
    responses(
        (status = 200, description = "Split: where the record went, and the pair to review", body = SplitView),
        (status = 400, description = "Not JSON, an unknown field, or a malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `matches:review`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such person (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The record is the person's only one: nothing to split", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 4 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not sent as application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown ministry, or a record that is not one of the person's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/staff/{id}/split")]
pub async fn split_staff(
    req: HttpRequest,
    payload: web::Payload,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::MatchesReview)?;
    let staff_id = params::path_uuid(&req, "id")?;
    let body = json_body(&req, payload).await?;
    let input: SplitInput =
        serde_json::from_value(body).map_err(|e| Error::InvalidBody(e.to_string()))?;
    let (ministry, source_id) = parse_split(&input).map_err(Error::InvalidFields)?;
    let not_found = || Error::NotFound {
        what: "staff",
        id: staff_id.to_string(),
    };
    store
        .get_staff(staff_id, caller.jurisdiction.as_ref())
        .await?
        .ok_or_else(not_found)?;
    let outcome = store
        .split_staff(staff_id, ministry, &source_id, &caller.client)
        .await?
        .ok_or_else(not_found)?;
    let ids = vec![outcome.staff_id, outcome.detached_to];
    Ok(trail
        .answer(
            &caller,
            ids,
            HttpResponse::Ok().json(SplitView::from(outcome)),
        )
        .await)
}

fn parse_split(input: &SplitInput) -> Result<(Ministry, String), Vec<schema::FieldError>> {
    let mut faults = Vec::new();
    let ministry = Ministry::parse(&input.ministry)
        .map_err(|e| faults.push(field_fault("ministry", e.reason)))
        .ok();
    let source_id = input.source_id.trim();
    if source_id.is_empty() {
        faults.push(field_fault("source_id", "is empty"));
    } else if source_id.contains('\0') {
        faults.push(field_fault(
            "source_id",
            "contains a NUL character (U+0000), which no field can hold",
        ));
    } else if source_id.chars().count() > 200 {
        faults.push(field_fault("source_id", "is longer than 200 characters"));
    }
    match ministry {
        Some(m) if faults.is_empty() => Ok((m, source_id.to_owned())),
        _ => Err(faults),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_is_pending_decided_or_all() {
        assert!(matches!(status("pending"), Ok(MatchStatus::Pending)));
        assert!(matches!(status("decided"), Ok(MatchStatus::Decided)));
        assert!(matches!(status("all"), Ok(MatchStatus::Any)));
        assert!(status("open").is_err());
        assert!(matches!(MatchStatus::default(), MatchStatus::Pending));
    }

    #[test]
    fn a_kind_is_read_by_its_name_and_an_unknown_one_lists_them_all() {
        for k in MatchKind::ALL {
            assert_eq!(kind(k.name()).ok(), Some(k));
        }
        let err = kind("typo").expect_err("unknown");
        assert!(err.reason.contains("identifier_conflict"), "{}", err.reason);
    }

    #[test]
    fn a_split_names_a_known_source_and_a_record() {
        let ok = parse_split(&SplitInput {
            ministry: "moh".into(),
            source_id: " Xk3PqR8sT1a ".into(),
        });
        assert_eq!(ok, Ok((Ministry::Moh, "Xk3PqR8sT1a".to_owned())));
        let faults = parse_split(&SplitInput {
            ministry: "health".into(),
            source_id: "".into(),
        })
        .expect_err("two faults");
        let fields: Vec<&str> = faults.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["ministry", "source_id"]);
    }
}
