//! Reports for the working group and the administrations: roster coverage with open
//! discrepancies per unit, and facilities transferred to district administrations.
//! JSON, or CSV (UTF-8 with a byte-order mark, so spreadsheets show Khmer) on
//! `Accept: text/csv`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};
use schema::{AdminCode, AdminLevel, DiscrepancyKind, Period};
use serde::Deserialize;
use store::Store;
use utoipa::IntoParams;

use crate::auth::{Caller, Scope};
use crate::error::{Error, Problem};
use crate::params::{self, parse_opt};
use crate::routes::{AuditTrail, Audited, Routes};
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
}

/// Parameters of `GET /v1/reports/transfers`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TransferQuery {
    /// Only this district administration (a 4-digit gazetteer code).
    #[param(example = "0701")]
    district: Option<String>,
}

/// Whether the client asked for CSV.
fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| {
            m.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("text/csv")
        })
}

/// A CSV table: UTF-8 with a byte-order mark and CRLF line ends, as spreadsheets
/// expect, so Khmer names open cleanly.
struct CsvTable {
    writer: csv::Writer<Vec<u8>>,
}

impl CsvTable {
    fn new(header: &[&str]) -> Result<Self, Error> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer("\u{FEFF}".as_bytes().to_vec());
        writer.write_record(header)?;
        Ok(Self { writer })
    }

    fn row(&mut self, fields: &[String]) -> Result<(), Error> {
        Ok(self.writer.write_record(fields)?)
    }

    fn respond(self, filename: &str) -> Result<HttpResponse, Error> {
        let bytes = self
            .writer
            .into_inner()
            .map_err(|e| Error::Csv(e.into_error().into()))?;
        let mut response = HttpResponse::Ok();
        response.content_type("text/csv; charset=utf-8");
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
            response.insert_header((header::CONTENT_DISPOSITION, v));
        }
        Ok(response.body(bytes))
    }
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
/// `reports:read`. `Accept: text/csv` answers CSV (one column per kind of discrepancy).
#[utoipa::path(
    tag = "reports",
    params(CoverageQuery),
    security(("bearer" = ["reports:read"])),
    responses(
        (status = 200, description = "The coverage report", content(
            (CoverageReport = "application/json"),
            (String = "text/csv", example = "code,name_km,name_latin,health_facilities,...\r\n07,កំពត,Kampot,71,642,40,300,9120,4301,4420,212,...\r\n")
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
    caller.require(Scope::ReportsRead)?;
    let q: CoverageQuery = params::raw_query(&req)?;
    let level = AdminLevel::parse(&q.level).map_err(|e| Error::invalid("level", e.reason))?;
    if level == AdminLevel::Village {
        return Err(Error::invalid(
            "level",
            "must be province, district or commune (facilities are placed by commune)",
        ));
    }
    let period = match parse_opt("period", q.period.as_deref(), Period::parse)? {
        Some(p) => p,
        None => crate::routes::rosters::current_month()?,
    };
    let parent = parse_opt("parent", q.parent.as_deref(), AdminCode::parse)?;
    let lines = store
        .coverage(level, period, parent.as_ref(), caller.jurisdiction.as_ref())
        .await?;
    let level_name = level.as_str();
    let report = CoverageReport {
        level: level_name,
        period: period.to_string(),
        parent: parent.map(|p| p.to_string()),
        units: lines.into_iter().map(CoverageUnit::from).collect(),
    };
    if !wants_csv(&req) {
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
    let mut table = CsvTable::new(&header)?;
    for u in &report.units {
        let mut row = vec![
            u.code.clone(),
            u.name_km.clone(),
            opt(&u.name_latin),
            u.health_facilities.to_string(),
            u.education_facilities.to_string(),
            u.health_facilities_reporting.to_string(),
            u.education_facilities_reporting.to_string(),
            u.staff_on_roll.to_string(),
            u.staff_confirmed_serving.to_string(),
            u.people_reported_serving.to_string(),
        ];
        row.extend(DiscrepancyKind::ALL.iter().map(|k| {
            u.open_discrepancies
                .get(k.as_str())
                .copied()
                .unwrap_or(0)
                .to_string()
        }));
        row.extend(FINDING_STATES.iter().map(|s| {
            u.findings_by_state
                .get(*s)
                .copied()
                .unwrap_or(0)
                .to_string()
        }));
        table.row(&row)?;
    }
    table.respond(&format!("coverage-{level_name}-{period}.csv"))
}

/// The states an unresolved finding can be in, in the CSV's column order.
const FINDING_STATES: [&str; 4] = ["open", "acknowledged", "explained", "confirmed"];

/// Facilities transferred to district administrations.
///
/// For each district administration, the facilities whose function has been
/// transferred to it (`managed_by`), and the staff the ministries place there with
/// what the facility's latest roster says of each. A token with a `jurisdiction` sees
/// the districts and facilities inside it. Needs `reports:read`; audited (it names
/// staff). `Accept: text/csv` answers one row per facility and person.
#[utoipa::path(
    tag = "reports",
    params(TransferQuery),
    security(("bearer" = ["reports:read"])),
    responses(
        (status = 200, description = "The transfer report", content(
            (TransferReport = "application/json"),
            (String = "text/csv")
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
    caller.require(Scope::ReportsRead)?;
    let q: TransferQuery = params::raw_query(&req)?;
    let district = parse_opt("district", q.district.as_deref(), AdminCode::parse)?;
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
    let response = if wants_csv(&req) {
        transfers_csv(&report)?
    } else {
        HttpResponse::Ok().json(report)
    };
    Ok(trail.answer(&caller, staff_ids, response).await)
}

/// The transfer report as CSV: one row per facility and person (a facility nobody is
/// placed at has one row with the person's columns empty).
fn transfers_csv(report: &TransferReport) -> Result<HttpResponse, Error> {
    let mut table = CsvTable::new(&[
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
    ])?;
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
                let mut row = place.to_vec();
                row.extend(std::iter::repeat_n(String::new(), 7));
                table.row(&row)?;
            }
            for s in &f.staff {
                let mut row = place.to_vec();
                row.extend([
                    s.id.to_string(),
                    opt(&s.civil_servant_id),
                    s.name_km.clone(),
                    opt(&s.name_latin),
                    opt(&s.role),
                    s.placed_by.join(" "),
                    opt(&s.roster),
                ]);
                table.row(&row)?;
            }
        }
    }
    table.respond("transfers.csv")
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;
    use actix_web::test::TestRequest;

    use super::*;

    fn accepting(accept: &str) -> HttpRequest {
        TestRequest::get()
            .insert_header((header::ACCEPT, accept))
            .to_http_request()
    }

    #[test]
    fn csv_is_answered_only_when_asked_for() {
        assert!(wants_csv(&accepting("text/csv")));
        assert!(wants_csv(&accepting(
            "application/json;q=0.5, Text/CSV; charset=utf-8"
        )));
        assert!(!wants_csv(&accepting("application/json")));
        assert!(!wants_csv(&accepting("text/csvx")));
        assert!(!wants_csv(&TestRequest::get().to_http_request()));
    }

    /// UTF-8 with a byte-order mark and CRLF, so a spreadsheet opens Khmer cleanly;
    /// fields that need it are quoted.
    #[test]
    fn a_csv_table_is_what_spreadsheets_expect() {
        let mut table = CsvTable::new(&["code", "name_km"]).expect("header");
        table
            .row(&["07".to_owned(), "កំពត, ខេត្ត".to_owned()])
            .expect("row");
        let response = table.respond("coverage.csv").expect("response");
        let disposition = response
            .headers()
            .get(header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok());
        assert_eq!(disposition, Some("attachment; filename=\"coverage.csv\""));
        let body = response.into_body().try_into_bytes().expect("in memory");
        let text = std::str::from_utf8(&body).expect("UTF-8");
        assert_eq!(text, "\u{FEFF}code,name_km\r\n07,\"កំពត, ខេត្ត\"\r\n");
    }

    #[test]
    fn an_absent_value_is_an_empty_field() {
        assert_eq!(opt(&None), "");
        assert_eq!(opt(&Some("x".to_owned())), "x");
    }
}
