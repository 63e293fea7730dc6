//! What a district or province looks at: roster coverage of its area for a month
//! (`/app/coverage`), drilling from province to district to commune to a facility's
//! roster (`/app/facilities/{id}`), with charts drawn on the server as inline SVG (no
//! script, no external service), and the reports as CSV or XLSX (`/app/downloads/*`).
//!
//! Every number and name comes from the API's own services, as the signed-in
//! person's [`Caller`](crate::auth::Caller): `routes::reports::coverage_report` (counted
//! inside their jurisdiction), `routes::facilities::facility_views`,
//! `routes::staff::staff_views` (masked by scope, audited here like the API's answer),
//! `routes::rosters::{roster_views, roster_view}`; a download is the API's own answer
//! (`*_answer`), so the file is the one `GET /v1/...` gives that caller.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{Either, HttpRequest, HttpResponse, web};
use askama::Template;
use schema::{AdminCode, AdminLevel, Period, Sector};
use serde::Deserialize;
use store::{FacilityFilter, Store};
use uuid::Uuid;

use crate::Error;
use crate::app::khmer;
use crate::app::pages::{
    Chrome, PageError, facility_staff, page_query, render, see_other, signed_in_or_none,
};
use crate::app::session::SignedIn;
use crate::auth::Scope;
use crate::params;
use crate::routes::facilities::{facility_in_reach, facility_views};
use crate::routes::rosters::{self, roster_view, roster_views};
use crate::routes::staff::PageArgs;
use crate::routes::{AuditTrail, Audited, corrections, discrepancies, reports};
use crate::views::{CoverageUnit, RosterView};

/// The page size lists are read in (a commune's facilities, a facility's staff).
const LIST_PAGE: &str = "1000";

/// The chart's drawing width (SVG user units; the chart scales to the screen).
const CHART_WIDTH: u32 = 320;
/// The longest bar: room is left on its right for the percentage.
const BAR_SPAN: u32 = 224;
/// One unit's block in the chart: its name, then three bars.
const BLOCK_HEIGHT: u32 = 84;
const LEGEND_HEIGHT: u32 = 28;

/// `done` of `of`, as the page writes it.
#[derive(Debug)]
struct Ratio {
    done: u64,
    of: u64,
    done_km: String,
    of_km: String,
    percent: u64,
    percent_km: String,
}

impl Ratio {
    fn new(done: u64, of: u64) -> Self {
        let percent = (done * 100).checked_div(of).unwrap_or(0);
        Self {
            done,
            of,
            done_km: khmer::number(done),
            of_km: khmer::number(of),
            percent,
            percent_km: khmer::number(percent),
        }
    }
}

/// One unit's line of the coverage table.
#[derive(Debug)]
struct UnitRow {
    code: String,
    name_km: String,
    name_latin: Option<String>,
    /// The page one level down (none below a commune: its facilities are listed).
    href: Option<String>,
    health: Ratio,
    education: Ratio,
    staff: Ratio,
    reported: u64,
    reported_km: String,
    findings: u64,
    findings_km: String,
    findings_href: String,
}

/// A bar of the chart.
#[derive(Debug)]
struct Bar {
    y: u32,
    width: u32,
    class: &'static str,
    text_y: u32,
    text: String,
}

/// One unit in the chart: its name and its three bars.
#[derive(Debug)]
struct ChartBlock {
    name_y: u32,
    name: String,
    bars: Vec<Bar>,
}

#[derive(Debug)]
struct Chart {
    width: u32,
    height: u32,
    blocks: Vec<ChartBlock>,
}

/// A facility of a commune, with its roster of the month.
#[derive(Debug)]
struct FacilityRow {
    href: String,
    name_km: String,
    name_latin: Option<String>,
    sector_km: &'static str,
    sector_en: &'static str,
    /// (present, entries) of the month's current roster, in Khmer digits and not.
    roster: Option<RosterCounts>,
}

#[derive(Debug)]
struct RosterCounts {
    present: u64,
    present_km: String,
    when_km: String,
    when_en: String,
}

/// A step of the breadcrumb trail.
#[derive(Debug)]
struct Crumb {
    href: String,
    label: String,
    current: bool,
}

/// A report the page offers as CSV and XLSX.
#[derive(Debug)]
pub(crate) struct Download {
    pub(crate) label_km: &'static str,
    pub(crate) label_en: &'static str,
    pub(crate) csv: String,
    pub(crate) xlsx: String,
}

#[derive(Template)]
#[template(path = "app/coverage.html")]
struct CoveragePage {
    chrome: Chrome,
    period: String,
    max_period: String,
    month_km: String,
    month_en: String,
    parent: String,
    crumbs: Vec<Crumb>,
    area_km: String,
    area_en: String,
    area: UnitRow,
    units_km: &'static str,
    units_en: &'static str,
    units: Vec<UnitRow>,
    chart: Chart,
    /// A commune's facilities; None above a commune.
    facilities: Option<Vec<FacilityRow>>,
    /// At a commune, without `facilities:read`: why no list is shown.
    facilities_hidden: bool,
    downloads: Vec<Download>,
}

#[derive(Template)]
#[template(path = "app/facility.html")]
struct FacilityPage {
    chrome: Chrome,
    id: Uuid,
    name_km: String,
    name_latin: Option<String>,
    sector_km: &'static str,
    sector_en: &'static str,
    period: String,
    max_period: String,
    month_km: String,
    month_en: String,
    back: String,
    roster: Option<RosterCounts>,
    /// The person cannot read rosters: the month's column is left out.
    roster_hidden: bool,
    people: Vec<PersonRow>,
    unlisted: Vec<UnlistedRow>,
}

/// A person the registry places at the facility, as the API shows them to the caller.
#[derive(Debug)]
struct PersonRow {
    name_km: String,
    name_latin: Option<String>,
    civil_servant_id: Option<String>,
    national_id: Option<String>,
    birth_date: Option<String>,
    employer: Option<String>,
    /// What the month's roster says: "present", "absent", "not_listed" or "no_roster".
    month: &'static str,
    month_km: &'static str,
    month_en: &'static str,
    note: Option<String>,
}

/// Someone the month's roster reports that no registry record was linked to.
#[derive(Debug)]
struct UnlistedRow {
    name_km: String,
    name_latin: Option<String>,
    role: Option<String>,
    present: bool,
}

/// The query of `/app/coverage`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CoverageArgs {
    period: Option<String>,
    /// A province, district or commune; absent: the person's own area (or, without
    /// a jurisdiction, the whole country's provinces).
    parent: Option<String>,
}

/// The query of `/app/facilities/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FacilityArgs {
    period: Option<String>,
}

/// The month asked for (default: this month in Cambodia).
fn month_of(value: Option<&str>) -> Result<Period, Error> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => Period::parse(v).map_err(|e| Error::invalid("period", e.reason)),
        None => rosters::current_month(),
    }
}

fn sector_names(sector: Sector) -> (&'static str, &'static str) {
    match sector {
        Sector::Health => ("សុខាភិបាល", "Health"),
        Sector::Education => ("អប់រំ", "Education"),
    }
}

/// The level whose units are listed inside `parent` (a commune lists itself, then
/// its facilities).
fn child_level(parent: Option<&AdminCode>) -> Result<AdminLevel, Error> {
    match parent.map(AdminCode::level) {
        None => Ok(AdminLevel::Province),
        Some(AdminLevel::Province) => Ok(AdminLevel::District),
        Some(AdminLevel::District | AdminLevel::Commune) => Ok(AdminLevel::Commune),
        Some(AdminLevel::Village) => Err(Error::invalid(
            "parent",
            "must be a province, district or commune (facilities are placed by commune)",
        )),
    }
}

fn level_names(level: AdminLevel) -> (&'static str, &'static str) {
    match level {
        AdminLevel::Province => ("ខេត្ត/រាជធានី", "Provinces"),
        AdminLevel::District => ("ស្រុក/ខណ្ឌ/ក្រុង", "Districts"),
        AdminLevel::Commune | AdminLevel::Village => ("ឃុំ/សង្កាត់", "Communes"),
    }
}

fn coverage_href(parent: &str, period: Period) -> String {
    format!("/app/coverage?period={period}&parent={parent}")
}

fn unit_row(u: &CoverageUnit, period: Period, drill: bool) -> UnitRow {
    let findings: u64 = u.open_discrepancies.values().sum();
    UnitRow {
        code: u.code.clone(),
        name_km: u.name_km.clone(),
        name_latin: u.name_latin.clone(),
        href: drill.then(|| coverage_href(&u.code, period)),
        health: Ratio::new(u.health_facilities_reporting, u.health_facilities),
        education: Ratio::new(u.education_facilities_reporting, u.education_facilities),
        staff: Ratio::new(u.staff_confirmed_serving, u.staff_on_roll),
        reported: u.people_reported_serving,
        reported_km: khmer::number(u.people_reported_serving),
        findings,
        findings_km: khmer::number(findings),
        findings_href: format!("/app/findings?admin_unit={}", u.code),
    }
}

/// The sum of `units` (the whole country, or everything the person may see).
fn total(units: &[CoverageUnit]) -> CoverageUnit {
    let mut t = CoverageUnit {
        code: String::new(),
        name_km: String::new(),
        name_latin: None,
        health_facilities: 0,
        education_facilities: 0,
        health_facilities_reporting: 0,
        education_facilities_reporting: 0,
        staff_on_roll: 0,
        staff_confirmed_serving: 0,
        people_reported_serving: 0,
        open_discrepancies: Default::default(),
        findings_by_state: Default::default(),
    };
    for u in units {
        t.health_facilities += u.health_facilities;
        t.education_facilities += u.education_facilities;
        t.health_facilities_reporting += u.health_facilities_reporting;
        t.education_facilities_reporting += u.education_facilities_reporting;
        t.staff_on_roll += u.staff_on_roll;
        t.staff_confirmed_serving += u.staff_confirmed_serving;
        t.people_reported_serving += u.people_reported_serving;
        for (k, n) in &u.open_discrepancies {
            *t.open_discrepancies.entry(k.clone()).or_insert(0) += n;
        }
    }
    t
}

/// The bars of each unit: health sites reporting, education sites reporting, staff
/// on the roll confirmed, each as a share of its whole.
fn chart(rows: &[UnitRow]) -> Chart {
    let blocks = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let top = LEGEND_HEIGHT + i as u32 * BLOCK_HEIGHT;
            let bars = [
                ("health", &row.health),
                ("education", &row.education),
                ("staff", &row.staff),
            ]
            .into_iter()
            .enumerate()
            .map(|(k, (class, ratio))| {
                let y = top + 24 + k as u32 * 18;
                Bar {
                    y,
                    width: (BAR_SPAN as u64 * ratio.percent.min(100) / 100) as u32,
                    class,
                    text_y: y + 12,
                    text: format!("{}%", ratio.percent_km),
                }
            })
            .collect();
            ChartBlock {
                name_y: top + 17,
                name: row.name_km.clone(),
                bars,
            }
        })
        .collect::<Vec<_>>();
    Chart {
        width: CHART_WIDTH,
        height: LEGEND_HEIGHT + blocks.len() as u32 * BLOCK_HEIGHT,
        blocks,
    }
}

/// A commune's open facilities with the month's roster of each, as the API lists them.
async fn commune_facilities(
    person: &SignedIn,
    store: &Store,
    commune: &AdminCode,
    period: Period,
) -> Result<Vec<FacilityRow>, Error> {
    let filter = FacilityFilter {
        admin_unit: Some(commune.clone()),
        ..FacilityFilter::default()
    };
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = facility_views(
            &person.caller,
            store,
            filter.clone(),
            PageArgs {
                limit: Some(LIST_PAGE),
                cursor: cursor.as_deref(),
            },
        )
        .await?;
        for f in page.items {
            let f = f.facility;
            if f.status != schema::FacilityStatus::Open {
                continue;
            }
            let roster = month_roster(person, store, f.id, period).await?;
            let (sector_km, sector_en) = sector_names(f.sector);
            rows.push(FacilityRow {
                href: format!("/app/facilities/{}?period={period}", f.id),
                name_km: f.name_km.as_str().to_owned(),
                name_latin: f.name_latin.as_ref().map(|n| n.as_str().to_owned()),
                sector_km,
                sector_en,
                roster: roster.as_ref().map(counts),
            });
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(rows)
}

/// The facility's current roster of `period`, without entries (none sent yet).
async fn month_roster(
    person: &SignedIn,
    store: &Store,
    facility: Uuid,
    period: Period,
) -> Result<Option<RosterView>, Error> {
    let page = roster_views(
        &person.caller,
        store,
        facility,
        Some(period),
        PageArgs {
            limit: Some("1"),
            cursor: None,
        },
    )
    .await?;
    Ok(page.items.into_iter().next())
}

fn counts(r: &RosterView) -> RosterCounts {
    let (when_km, when_en) = khmer::time(r.submitted_at);
    RosterCounts {
        present: r.counts.present,
        present_km: khmer::number(r.counts.present),
        when_km,
        when_en,
    }
}

/// The reports the page offers, for what it shows.
fn downloads(
    person: &SignedIn,
    level: AdminLevel,
    parent: Option<&AdminCode>,
    period: Period,
) -> Vec<Download> {
    let both = |label_km, label_en, path: String| {
        let sep = if path.contains('?') { '&' } else { '?' };
        Download {
            label_km,
            label_en,
            csv: format!("{path}{sep}format=csv"),
            xlsx: format!("{path}{sep}format=xlsx"),
        }
    };
    let within = parent.map(|p| p.as_str().to_owned());
    let mut out = vec![both(
        "គម្របនៃការរាយការណ៍",
        "Coverage",
        match &within {
            Some(p) => format!(
                "/app/downloads/coverage?level={}&period={period}&parent={p}",
                level.as_str()
            ),
            None => format!(
                "/app/downloads/coverage?level={}&period={period}",
                level.as_str()
            ),
        },
    )];
    out.push(both(
        "មូលដ្ឋានដែលបានផ្ទេរ",
        "Transferred facilities",
        match parent {
            Some(p) if p.level() == AdminLevel::District => {
                format!("/app/downloads/transfers?district={p}")
            }
            _ => "/app/downloads/transfers".to_owned(),
        },
    ));
    out.push(both(
        "ការរកឃើញ",
        "Findings",
        match &within {
            Some(p) => format!("/app/downloads/findings?admin_unit={p}"),
            None => "/app/downloads/findings".to_owned(),
        },
    ));
    if person.caller.has(Scope::CorrectionsRead) {
        out.push(both(
            "ការកែតម្រូវ",
            "Corrections",
            match &within {
                Some(p) => format!("/app/downloads/corrections?admin_unit={p}"),
                None => "/app/downloads/corrections".to_owned(),
            },
        ));
    }
    out
}

/// `GET /app/coverage?period=&parent=`: a unit's coverage for a month, the units one
/// level down (a chart and a table), and at a commune its facilities.
pub(crate) async fn coverage_page(
    req: HttpRequest,
    session: Result<SignedIn, Error>,
    store: web::Data<Store>,
) -> Result<HttpResponse, PageError> {
    let Some(person) = signed_in_or_none(session)? else {
        return Ok(see_other("/app/").finish());
    };
    person.caller.require(Scope::ReportsRead)?;
    let args: CoverageArgs = page_query(&req)?;
    let period = month_of(args.period.as_deref())?;
    let parent = match args.parent.as_deref().map(str::trim) {
        None => person.caller.jurisdiction.clone(),
        Some(code) => Some(AdminCode::parse(code).map_err(|e| Error::invalid("parent", e.reason))?),
    };
    let level = child_level(parent.as_ref())?;
    let caller = &person.caller;
    let report = reports::coverage_report(caller, &store, level, period, parent.clone()).await?;
    let at_commune = parent
        .as_ref()
        .is_some_and(|p| p.level() == AdminLevel::Commune);
    // The area itself: its own line of the report (counted inside the jurisdiction).
    let area = match &parent {
        None => total(&report.units),
        Some(p) if at_commune => report
            .units
            .iter()
            .find(|u| u.code == p.as_str())
            .cloned()
            .unwrap_or_else(|| total(&[])),
        Some(p) => reports::coverage_report(caller, &store, p.level(), period, Some(p.clone()))
            .await?
            .units
            .into_iter()
            .find(|u| u.code == p.as_str())
            .unwrap_or_else(|| total(&[])),
    };
    let (area_km, area_en) = match &parent {
        None => ("ទូទាំងប្រទេស".to_owned(), "Whole country".to_owned()),
        Some(p) if area.name_km.is_empty() => (khmer::digits(p.as_str()), p.to_string()),
        Some(_) => (
            area.name_km.clone(),
            area.name_latin.clone().unwrap_or_default(),
        ),
    };
    // The trail from the person's own area (or the country) down to here.
    let mut crumbs = Vec::new();
    if caller.jurisdiction.is_none() {
        crumbs.push(Crumb {
            href: format!("/app/coverage?period={period}"),
            label: "ទូទាំងប្រទេស All".to_owned(),
            current: parent.is_none(),
        });
    }
    if let Some(p) = &parent {
        let mut ancestors = Vec::new();
        let mut up = p.parent();
        while let Some(a) = up {
            up = a.parent();
            ancestors.push(a);
        }
        for a in ancestors.into_iter().rev() {
            if caller
                .jurisdiction
                .as_ref()
                .is_some_and(|j| !j.contains(&a))
            {
                continue;
            }
            let name = reports::coverage_report(caller, &store, a.level(), period, Some(a.clone()))
                .await?
                .units
                .into_iter()
                .find(|u| u.code == a.as_str())
                .map_or_else(|| khmer::digits(a.as_str()), |u| u.name_km);
            crumbs.push(Crumb {
                href: coverage_href(a.as_str(), period),
                label: name,
                current: false,
            });
        }
        crumbs.push(Crumb {
            href: coverage_href(p.as_str(), period),
            label: area_km.clone(),
            current: true,
        });
    }
    let (units_km, units_en) = level_names(level);
    let units: Vec<UnitRow> = if at_commune {
        Vec::new()
    } else {
        report
            .units
            .iter()
            .map(|u| unit_row(u, period, true))
            .collect()
    };
    let (facilities, facilities_hidden) = match &parent {
        Some(p) if at_commune => {
            if caller.has(Scope::FacilitiesRead) {
                (
                    Some(commune_facilities(&person, &store, p, period).await?),
                    false,
                )
            } else {
                (None, true)
            }
        }
        _ => (None, false),
    };
    let (month_km, month_en) = khmer::month(period);
    let page = CoveragePage {
        chrome: Chrome::new("គម្របនៃការរាយការណ៍", "Coverage", Some(&person)),
        period: period.to_string(),
        max_period: rosters::current_month()?.to_string(),
        month_km,
        month_en,
        parent: parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
        crumbs,
        area_km,
        area_en,
        area: unit_row(&area, period, false),
        units_km,
        units_en,
        chart: chart(&units),
        units,
        facilities,
        facilities_hidden,
        downloads: downloads(&person, level, parent.as_ref(), period),
    };
    render(&page, StatusCode::OK)
}

/// What the month's roster says of a person on the registry's list.
fn month_state(
    roster: Option<&RosterView>,
    person: Uuid,
) -> (&'static str, &'static str, &'static str, Option<String>) {
    let Some(r) = roster else {
        return ("no_roster", "គ្មានបញ្ជី", "No roster", None);
    };
    let entry = r
        .entries
        .iter()
        .flatten()
        .find(|e| e.staff_id == Some(person));
    match entry {
        Some(e) if e.present => ("present", "មានវត្តមាន", "Present", e.note.clone()),
        Some(e) => ("absent", "អវត្តមាន", "Absent", e.note.clone()),
        None => ("not_listed", "មិនមានក្នុងបញ្ជី", "Not on the roster", None),
    }
}

/// `GET /app/facilities/{id}?period=`: a facility's staff as the API shows them to
/// the person (`staff:read`; personal fields masked by scope), with what the month's
/// roster says of each. Read-only; audited like the API's list.
pub(crate) async fn facility_page(
    req: HttpRequest,
    session: Result<SignedIn, Error>,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Either<HttpResponse, Audited>, PageError> {
    let Some(person) = signed_in_or_none(session)? else {
        return Ok(Either::Left(see_other("/app/").finish()));
    };
    person.caller.require(Scope::StaffRead)?;
    let id = params::path_uuid(&req, "id")?;
    let args: FacilityArgs = page_query(&req)?;
    let period = month_of(args.period.as_deref())?;
    let facility = facility_in_reach(&store, &person.caller, id)
        .await?
        .facility;
    let staff = facility_staff(&person, &store, id).await?;
    let roster_hidden =
        !(person.caller.has(Scope::ReportsRead) || person.caller.has(Scope::RostersWrite));
    let roster = if roster_hidden {
        None
    } else {
        match month_roster(&person, &store, id, period).await? {
            Some(r) => Some(roster_view(&person.caller, &store, r.id).await?),
            None => None,
        }
    };
    let mut ids: Vec<Uuid> = staff.iter().map(|s| s.id).collect();
    if let Some(r) = &roster {
        ids.extend(r.staff_ids());
    }
    let listed: HashMap<Uuid, ()> = staff.iter().map(|s| (s.id, ())).collect();
    let unlisted = roster
        .iter()
        .flat_map(|r| r.entries.iter().flatten())
        .filter(|e| e.staff_id.is_none_or(|s| !listed.contains_key(&s)))
        .map(|e| UnlistedRow {
            name_km: e.name_km.clone().unwrap_or_default(),
            name_latin: e.name_latin.clone(),
            role: e.role.clone(),
            present: e.present,
        })
        .collect();
    let people = staff
        .into_iter()
        .map(|s| {
            let (month, month_km, month_en, note) = month_state(roster.as_ref(), s.id);
            PersonRow {
                name_km: s.name_km,
                name_latin: s.name_latin,
                civil_servant_id: s.civil_servant_id,
                national_id: s.national_id,
                birth_date: s.birth_date,
                employer: s.employer,
                month,
                month_km,
                month_en,
                note,
            }
        })
        .collect();
    let (sector_km, sector_en) = sector_names(facility.sector);
    let (month_km, month_en) = khmer::month(period);
    let back = match &facility.admin_unit_code {
        Some(c) => coverage_href(c.as_str(), period),
        None => format!("/app/coverage?period={period}"),
    };
    let page = FacilityPage {
        chrome: Chrome::new("បុគ្គលិកនៅមូលដ្ឋាន", "Facility staff", Some(&person)),
        id,
        name_km: facility.name_km.as_str().to_owned(),
        name_latin: facility.name_latin.as_ref().map(|n| n.as_str().to_owned()),
        sector_km,
        sector_en,
        period: period.to_string(),
        max_period: rosters::current_month()?.to_string(),
        month_km,
        month_en,
        back,
        roster: roster.as_ref().map(counts),
        roster_hidden,
        people,
        unlisted,
    };
    let response = render(&page, StatusCode::OK)?;
    Ok(Either::Right(
        trail.answer(&person.caller, ids, response).await,
    ))
}

/// `GET /app/downloads/{report}?...`: a report as CSV or XLSX (`format=`), the API's
/// own answer to the signed-in person: the same parameters, jurisdiction, masking and
/// audit as `GET /v1/reports/coverage`, `/v1/reports/transfers`, `/v1/discrepancies`
/// and `/v1/corrections`.
pub(crate) async fn download(
    req: HttpRequest,
    session: Result<SignedIn, Error>,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Either<HttpResponse, Audited>, PageError> {
    let Some(person) = signed_in_or_none(session)? else {
        return Ok(Either::Left(see_other("/app/").finish()));
    };
    let caller = &person.caller;
    let answer = match req.match_info().get("report").unwrap_or_default() {
        "coverage" => Either::Left(reports::coverage_answer(&req, caller, &store).await?),
        "transfers" => Either::Right(reports::transfers_answer(&req, caller, trail, &store).await?),
        "findings" => Either::Right(discrepancies::list_answer(&req, caller, trail, &store).await?),
        "corrections" => Either::Left(corrections::corrections_answer(&req, caller, &store).await?),
        other => {
            return Err(Error::NotFound {
                what: "report",
                id: other.to_owned(),
            }
            .into());
        }
    };
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, health: (u64, u64), staff: (u64, u64)) -> CoverageUnit {
        let mut u = total(&[]);
        u.code = code.to_owned();
        u.name_km = format!("ឃុំ {code}");
        (u.health_facilities_reporting, u.health_facilities) = health;
        (u.staff_confirmed_serving, u.staff_on_roll) = staff;
        u
    }

    /// Each unit gets three bars whose lengths are its shares, a share of nothing is
    /// an empty bar, and the drawing is as tall as its units.
    #[test]
    fn the_chart_draws_each_units_shares_as_bars() {
        let period = Period::parse("2026-12").expect("period");
        let rows: Vec<UnitRow> = [
            unit("010201", (1, 2), (3, 3)),
            unit("010202", (0, 0), (0, 4)),
        ]
        .iter()
        .map(|u| unit_row(u, period, true))
        .collect();
        let c = chart(&rows);
        assert_eq!(c.height, LEGEND_HEIGHT + 2 * BLOCK_HEIGHT);
        let widths: Vec<Vec<u32>> = c
            .blocks
            .iter()
            .map(|b| b.bars.iter().map(|bar| bar.width).collect())
            .collect();
        assert_eq!(widths, [[BAR_SPAN / 2, 0, BAR_SPAN], [0, 0, 0]]);
        assert_eq!(c.blocks[0].bars[0].text, "៥០%");
        assert!(c.blocks[1].bars[0].y > c.blocks[0].bars[2].y);
        assert_eq!(
            rows[0].href.as_deref(),
            Some("/app/coverage?period=2026-12&parent=010201")
        );
    }

    #[test]
    fn a_parent_lists_the_level_below_and_a_commune_itself() {
        let code = |c: &str| AdminCode::parse(c).expect("code");
        assert_eq!(child_level(None).ok(), Some(AdminLevel::Province));
        assert_eq!(
            child_level(Some(&code("01"))).ok(),
            Some(AdminLevel::District)
        );
        assert_eq!(
            child_level(Some(&code("0102"))).ok(),
            Some(AdminLevel::Commune)
        );
        assert_eq!(
            child_level(Some(&code("010201"))).ok(),
            Some(AdminLevel::Commune)
        );
        assert!(child_level(Some(&code("01020101"))).is_err());
    }
}
