//! The change feed: every record that changed, in version order, for systems that
//! follow the registry incrementally.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use store::Store;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Scope};
use crate::error::{Error, Problem};
use crate::params::{self, encode_cursor};
use crate::routes::Routes;

pub(crate) fn register(routes: &mut Routes<'_>) {
    routes.service(list_changes);
}

/// One change: the record's type, id and the version it reached. A record changed
/// several times appears once, at its latest version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    /// staff, facility or admin_unit.
    #[serde(rename = "type")]
    #[schema(example = "staff")]
    pub kind: String,
    /// The record's id (an admin unit's code).
    pub id: String,
    pub version: i64,
}

crate::views::list_of!(
    ChangeList,
    ChangeView,
    "A page of changes in version order."
);

/// Parameters of `GET /v1/changes`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Changes after this version (default 0: from the beginning).
    #[param(value_type = Option<i64>)]
    after: Option<String>,
    /// Comma-separated: staff, facility, admin_unit (default: every type the token may read).
    #[param(example = "staff,facility")]
    types: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page (instead of `after`).
    cursor: Option<String>,
}

/// Follow the registry's changes.
///
/// Every change, in `version` order. Keep the last `version` (or `next_cursor`) and
/// ask again with `after=` it: the feed never skips a change, because the versions it
/// serves are all committed in order. `staff` needs `staff:read`; `facility` and
/// `admin_unit` need `facilities:read`. A `jurisdiction` limits the feed to its area.
#[utoipa::path(
    tag = "changes",
    params(ChangesQuery),
    security(("bearer" = ["staff:read", "facilities:read"])),
    responses(
        (status = 200, description = "A page of changes", body = ChangeList),
        (status = 400, description = "A malformed or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token may not read a type asked for", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/changes")]
pub async fn list_changes(
    req: HttpRequest,
    caller: Caller,
    store: web::Data<Store>,
) -> Result<HttpResponse, Error> {
    let q: ChangesQuery = params::raw_query(&req)?;
    let allowed = |kind: &str| match kind {
        "staff" => Some(Scope::StaffRead),
        "facility" | "admin_unit" => Some(Scope::FacilitiesRead),
        _ => None,
    };
    let kinds: Vec<&str> = match q.types.as_deref() {
        Some(t) => {
            let kinds: Vec<&str> = t
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .collect();
            for k in &kinds {
                let scope = allowed(k).ok_or_else(|| {
                    Error::invalid(
                        "types",
                        format!("{k:?} is not staff, facility or admin_unit"),
                    )
                })?;
                caller.require(scope)?;
            }
            if kinds.is_empty() {
                return Err(Error::invalid("types", "names no type"));
            }
            kinds
        }
        None => ["staff", "facility", "admin_unit"]
            .into_iter()
            .filter(|k| allowed(k).is_some_and(|s| caller.has(s)))
            .collect(),
    };
    if kinds.is_empty() {
        return Err(Error::MissingScope(Scope::FacilitiesRead.as_str()));
    }
    let limit = params::limit(q.limit.as_deref())?;
    let after = match (
        params::decode_cursor::<i64>(q.cursor.as_deref())?,
        q.after.as_deref(),
    ) {
        (Some(c), _) => c,
        (None, Some(a)) => a.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            Error::invalid("after", format!("{a:?} is not a version (a whole number)"))
        })?,
        (None, None) => 0,
    };
    let changes = store
        .list_changes(after, &kinds, caller.jurisdiction.as_ref(), limit)
        .await?;
    let next_cursor = changes.last().map(|c| encode_cursor(&c.version));
    let items = changes
        .into_iter()
        .map(|c| ChangeView {
            kind: c.kind,
            id: c.id,
            version: c.version,
        })
        .collect();
    Ok(HttpResponse::Ok().json(ChangeList { items, next_cursor }))
}
