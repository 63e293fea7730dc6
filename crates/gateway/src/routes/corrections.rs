//! Corrections for each ministry: what its own system should change, derived from the
//! findings reviewers confirmed, as JSON, CSV or XLSX for the staff who make them.

use actix_web::{HttpRequest, HttpResponse, get, web};
use schema::{AdminCode, Ministry};
use serde::Deserialize;
use store::{CorrectionFilter, CorrectionStatus, Store, StoredCorrection};
use utoipa::IntoParams;

use crate::auth::{Caller, Scope};
use crate::error::{Error, Problem};
use crate::params::{self, encode_cursor, parse_opt};
use crate::routes::Routes;
use crate::tables::{Cell, Table, TableFormat};
use crate::views::{CorrectionList, CorrectionView};

pub(crate) fn register(routes: &mut Routes<'_>) {
    routes.service(list_corrections);
}

/// Filters of `GET /v1/corrections`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CorrectionQuery {
    /// Corrections for this ministry's records (`mcs`, `moh`, `moeys`, `mef`, `moi`).
    #[param(example = "moh")]
    ministry: Option<String>,
    /// Corrections located inside this province, district or commune.
    #[param(example = "07")]
    admin_unit: Option<String>,
    /// `open` (the default), `done`, `obsolete`, or `all`.
    #[param(example = "open")]
    status: Option<String>,
    /// `json` (the default), `csv` or `xlsx`; or ask by `Accept`.
    #[param(example = "xlsx")]
    format: Option<String>,
    /// Page size, 1 to 1000 (default 100; a CSV or XLSX answer holds every row).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn status(value: &str) -> Result<CorrectionStatus, schema::ParseError> {
    CorrectionStatus::parse(value).ok_or_else(|| {
        schema::ParseError::new(
            "status",
            format!("{value:?} is not open, done, obsolete or all"),
        )
    })
}

/// List corrections.
///
/// What each ministry's system should change: the record (that ministry's own id), the
/// field, the value it holds, the value the evidence supports, and the evidence, from
/// every finding a reviewer confirmed (`POST /v1/discrepancies/{id}/actions`). A
/// correction is `open`, then `done` once a later sync shows the ministry's record
/// changed and the finding resolved, or `obsolete` when the finding was settled
/// another way. Ids are stable: report back which ones were applied by id. Needs
/// `corrections:read`; a `jurisdiction` sees the corrections inside it, and a token
/// with a `ministry` claim (a ministry's own system) only that ministry's. JSON is
/// paged; `format=csv` or `format=xlsx` (or `Accept`) answer every row as a file with a
/// frozen header row, Khmer intact. Values of personal fields are masked without
/// `staff:read:pii`.
#[utoipa::path(
    tag = "reports",
    params(CorrectionQuery),
    security(("bearer" = ["corrections:read"])),
    responses(
        (status = 200, description = "Corrections", content(
            (CorrectionList = "application/json"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 400, description = "A malformed or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `corrections:read`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/corrections")]
pub async fn list_corrections(
    req: HttpRequest,
    caller: Caller,
    store: web::Data<Store>,
) -> Result<HttpResponse, Error> {
    corrections_answer(&req, &caller, &store).await
}

/// `GET /v1/corrections` for `caller`, its parameters read from `req`: the API's
/// answer, and the app's download of the same list.
pub(crate) async fn corrections_answer(
    req: &HttpRequest,
    caller: &Caller,
    store: &Store,
) -> Result<HttpResponse, Error> {
    caller.require(Scope::CorrectionsRead)?;
    let q: CorrectionQuery = params::raw_query(req)?;
    let filter = CorrectionFilter {
        ministry: parse_opt("ministry", q.ministry.as_deref(), Ministry::parse)?,
        admin_unit: parse_opt("admin_unit", q.admin_unit.as_deref(), AdminCode::parse)?,
        status: parse_opt("status", q.status.as_deref(), status)?.unwrap_or_default(),
        within: caller.jurisdiction.clone(),
        own: caller.ministry,
    };
    let format = TableFormat::requested(req, q.format.as_deref())?;
    let reveal = caller.has(Scope::StaffReadPii);
    if format == TableFormat::Json {
        let limit = params::limit(q.limit.as_deref())?;
        let after = params::decode_cursor::<uuid::Uuid>(q.cursor.as_deref())?;
        let page = store.list_corrections(&filter, after, limit).await?;
        return Ok(HttpResponse::Ok().json(CorrectionList {
            items: page
                .items
                .into_iter()
                .map(|c| CorrectionView::new(c, reveal))
                .collect(),
            next_cursor: page.next_after.map(|id| encode_cursor(&id)),
        }));
    }
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_corrections(&filter, after, 1000).await?;
        rows.extend(page.items);
        match page.next_after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    let name = match filter.ministry.or(filter.own) {
        Some(m) => format!("corrections-{m}"),
        None => "corrections".to_owned(),
    };
    corrections_table(&name, rows, reveal).respond(format)
}

fn corrections_table(name: &str, rows: Vec<StoredCorrection>, reveal: bool) -> Table {
    let mut table = Table::new(
        name,
        &[
            "id",
            "ministry",
            "record_id",
            "field",
            "held",
            "supported",
            "kind",
            "admin_unit_code",
            "status",
            "created",
            "finding_id",
            "match_id",
        ],
    );
    for c in rows {
        let v = CorrectionView::new(c, reveal);
        table.push(vec![
            v.id.to_string().into(),
            v.ministry.as_str().into(),
            v.record_id.clone().into(),
            v.field.as_str().into(),
            Cell::from(v.held_text()),
            Cell::from(v.supported_text()),
            v.kind.as_str().into(),
            v.admin_unit_code.clone().into(),
            v.status.as_str().into(),
            // Dates as people write them in Cambodia: day/month/year.
            v.created_at.format("%d/%m/%Y").to_string().into(),
            v.discrepancy_id.map(|d| d.to_string()).into(),
            v.match_id.map(|d| d.to_string()).into(),
        ]);
    }
    table
}
