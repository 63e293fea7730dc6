//! Reports for the working group and the administrations: roster coverage with open
//! discrepancies per unit, and facilities transferred to district administrations.
//! JSON, CSV or XLSX (see `tables`), by `Accept` or `format=`.

use actix_web::{HttpRequest, HttpResponse, get, web};
use schema::{AdminCode, AdminLevel, DiscrepancyKind, Period};
use serde::Deserialize;
use store::Store;
use utoipa::IntoParams;

use crate::auth::{Caller, Scope};
use crate::error::{Error, Problem};
use crate::params::{self, parse_opt};
use crate::routes::{AuditTrail, Audited, Routes};
use crate::tables::{Cell, Table, TableFormat};
use crate::views::{CoverageReport, CoverageUnit, TransferReport};

pub(crate) fn register(routes: &mut Routes<'_>) {
    routes.service(coverage).service(transfers);
}

/// Parameters of `GET /v1/reports/coverage`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// `province`, `district` or `commune`.
    #[param(example = "province")]
    level: String,
    /// The month (`YYYY-MM`) whose rosters count (default: the current month in
    /// Cambodia, UTC+7).
    #[param(example = "2025-12")]
    period: Option<String>,
    /// Only units inside this one (a gazetteer code).
    #[param(example = "07")]
    parent: Option<String>,
    /// `json` (the default), `csv` or `xlsx`; or ask by `Accept`.
    #[param(example = "xlsx")]
    format: Option<String>,
}

/// Parameters of `GET /v1/reports/transfers`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TransferQuery {
    /// Only this district administration (a 4-digit gazetteer code).
    #[param(example = "0701")]
    district: Option<String>,
    /// `json` (the default), `csv` or `xlsx`; or ask by `Accept`.
    #[param(example = "xlsx")]
    format: Option<String>,
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// Roster coverage by unit.
///
/// For each province, district or commune (inside `parent` when given): open health
/// and education facilities, how many submitted a roster for `period`, active
/// officers the roll posts there, how many of them their facility's roster confirms
/// serving, everyone reported serving, and open discrepancies by kind. A token with a
/// `jurisdiction` sees the units overlapping it, counted inside it only. Needs
/// `reports:read`. `Accept: text/csv` or `format=csv` answers CSV, `format=xlsx` (or the
/// XLSX media type) a workbook: one column per kind of discrepancy and per state.
#[utoipa::path(
    tag = "reports",
    params(CoverageQuery),
    security(("bearer" = ["reports:read"])),
    responses(
        (status = 200, description = "The coverage report", content(
            (CoverageReport = "application/json"),
            (String = "text/csv", example = "code,name_km,name_latin,health_facilities,...\r\n07,កំពត,Kampot,71,642,40,300,9120,4301,4420,212,...\r\n"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 400, description = "A missing, malformed or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `reports:read`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/reports/coverage")]
pub async fn coverage(
    req: HttpRequest,
    caller: Caller,
    store: web::Data<Store>,
) -> Result<HttpResponse, Error> {
    coverage_answer(&req, &caller, &store).await
}

/// `GET /v1/reports/coverage` for `caller`, its parameters read from `req`: the API's
/// answer, and the app's download of the same report.
pub(crate) async fn coverage_answer(
    req: &HttpRequest,
    caller: &Caller,
    store: &Store,
) -> Result<HttpResponse, Error> {
    caller.require(Scope::ReportsRead)?;
    let q: CoverageQuery = params::raw_query(req)?;
    let level = AdminLevel::parse(&q.level).map_err(|e| Error::invalid("level", e.reason))?;
    let period = match parse_opt("period", q.period.as_deref(), Period::parse)? {
        Some(p) => p,
        None => crate::routes::rosters::current_month()?,
    };
    let parent = parse_opt("parent", q.parent.as_deref(), AdminCode::parse)?;
    let format = TableFormat::requested(req, q.format.as_deref())?;
    let report = coverage_report(caller, store, level, period, parent).await?;
    let level_name = report.level;
    if format == TableFormat::Json {
        return Ok(HttpResponse::Ok().json(report));
    }
    let mut header = vec![
        "code",
        "name_km",
        "name_latin",
        "health_facilities",
        "education_facilities",
        "health_facilities_reporting",
        "education_facilities_reporting",
        "staff_on_roll",
        "staff_confirmed_serving",
        "people_reported_serving",
    ];
    let kind_columns: Vec<String> = DiscrepancyKind::ALL
        .iter()
        .map(|k| format!("open_{k}"))
        .collect();
    header.extend(kind_columns.iter().map(String::as_str));
    let state_columns: Vec<String> = FINDING_STATES
        .iter()
        .map(|s| format!("findings_{s}"))
        .collect();
    header.extend(state_columns.iter().map(String::as_str));
    let mut table = Table::new(&format!("coverage-{level_name}-{period}"), &header);
    for u in &report.units {
        let mut row: Vec<Cell> = vec![
            u.code.as_str().into(),
            u.name_km.as_str().into(),
            u.name_latin.clone().into(),
            u.health_facilities.into(),
            u.education_facilities.into(),
            u.health_facilities_reporting.into(),
            u.education_facilities_reporting.into(),
            u.staff_on_roll.into(),
            u.staff_confirmed_serving.into(),
            u.people_reported_serving.into(),
        ];
        row.extend(
            DiscrepancyKind::ALL
                .iter()
                .map(|k| Cell::from(u.open_discrepancies.get(k.as_str()).copied().unwrap_or(0))),
        );
        row.extend(
            FINDING_STATES
                .iter()
                .map(|s| Cell::from(u.findings_by_state.get(*s).copied().unwrap_or(0))),
        );
        table.push(row);
    }
    table.respond(format)
}

/// Roster coverage of `period` for each unit of `level` (inside `parent`), counted
/// inside `caller`'s jurisdiction: the one reading of the report, for the API and the
/// app's coverage pages.
pub(crate) async fn coverage_report(
    caller: &Caller,
    store: &Store,
    level: AdminLevel,
    period: Period,
    parent: Option<AdminCode>,
) -> Result<CoverageReport, Error> {
    caller.require(Scope::ReportsRead)?;
    if level == AdminLevel::Village {
        return Err(Error::invalid(
            "level",
            "must be province, district or commune (facilities are placed by commune)",
        ));
    }
    let lines = store
        .coverage(level, period, parent.as_ref(), caller.jurisdiction.as_ref())
        .await?;
    Ok(CoverageReport {
        level: level.as_str(),
        period: period.to_string(),
        parent: parent.map(|p| p.to_string()),
        units: lines.into_iter().map(CoverageUnit::from).collect(),
    })
}

/// The states an unresolved finding can be in, in the CSV's column order.
const FINDING_STATES: [&str; 4] = ["open", "acknowledged", "explained", "confirmed"];

/// Facilities transferred to district administrations.
///
/// For each district administration, the facilities whose function has been
/// transferred to it (`managed_by`), and the staff the ministries place there with
/// what the facility's latest roster says of each. A token with a `jurisdiction` sees
/// the districts and facilities inside it. Needs `reports:read`; audited (it names
/// staff). CSV or XLSX (`Accept` or `format=`) answer one row per facility and person.
#[utoipa::path(
    tag = "reports",
    params(TransferQuery),
    security(("bearer" = ["reports:read"])),
    responses(
        (status = 200, description = "The transfer report", content(
            (TransferReport = "application/json"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        (status = 400, description = "A malformed or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `reports:read`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/reports/transfers")]
pub async fn transfers(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    transfers_answer(&req, &caller, trail, &store).await
}

/// `GET /v1/reports/transfers` for `caller`, its parameters read from `req`: the API's
/// answer, and the app's download of the same report (audited alike).
pub(crate) async fn transfers_answer(
    req: &HttpRequest,
    caller: &Caller,
    trail: AuditTrail,
    store: &Store,
) -> Result<Audited, Error> {
    caller.require(Scope::ReportsRead)?;
    let q: TransferQuery = params::raw_query(req)?;
    let district = parse_opt("district", q.district.as_deref(), AdminCode::parse)?;
    let format = TableFormat::requested(req, q.format.as_deref())?;
    if let Some(d) = &district
        && d.level() != AdminLevel::District
    {
        return Err(Error::invalid(
            "district",
            format!("{d} is not a district code (4 digits)"),
        ));
    }
    let rows = store
        .transfers(district.as_ref(), caller.jurisdiction.as_ref())
        .await?;
    let report = TransferReport::new(rows);
    let staff_ids = report.staff_ids();
    let response = if format == TableFormat::Json {
        HttpResponse::Ok().json(report)
    } else {
        transfers_table(&report).respond(format)?
    };
    Ok(trail.answer(caller, staff_ids, response).await)
}

/// The transfer report as a table: one row per facility and person (a facility
/// nobody is placed at has one row with the person's columns empty).
fn transfers_table(report: &TransferReport) -> Table {
    let mut table = Table::new(
        "transfers",
        &[
            "district_code",
            "district_name_km",
            "district_name_latin",
            "facility_id",
            "facility_name_km",
            "facility_name_latin",
            "sector",
            "kind",
            "admin_unit_code",
            "staff_id",
            "civil_servant_id",
            "staff_name_km",
            "staff_name_latin",
            "role",
            "placed_by",
            "roster",
        ],
    );
    for d in &report.districts {
        for f in &d.facilities {
            let place = [
                d.code.clone(),
                opt(&d.name_km),
                opt(&d.name_latin),
                f.id.to_string(),
                f.name_km.clone(),
                opt(&f.name_latin),
                f.sector.clone(),
                f.kind.clone(),
                opt(&f.admin_unit_code),
            ];
            if f.staff.is_empty() {
                let mut row: Vec<Cell> = place.iter().map(|v| v.as_str().into()).collect();
                row.extend(std::iter::repeat_n(Cell::from(""), 7));
                table.push(row);
            }
            for s in &f.staff {
                let mut row: Vec<Cell> = place.iter().map(|v| v.as_str().into()).collect();
                row.extend([
                    s.id.to_string().into(),
                    s.civil_servant_id.clone().into(),
                    s.name_km.as_str().into(),
                    s.name_latin.clone().into(),
                    s.role.clone().into(),
                    s.placed_by.join(" ").into(),
                    s.roster.clone().into(),
                ]);
                table.push(row);
            }
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_value_is_an_empty_field() {
        assert_eq!(opt(&None), "");
        assert_eq!(opt(&Some("x".to_owned())), "x");
    }
}
