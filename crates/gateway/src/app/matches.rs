//! The review queue for a district or province officer: the pairs the matcher could
//! not settle, and a pair's two records side by side with each field's part in the
//! score, where a reviewer says "same" or "different".
//!
//! Every page is an answer of the API's own review-queue services
//! (`routes::matches::{match_page, match_view, decide}`) for the signed-in person's
//! [`Caller`](crate::auth::Caller): the same jurisdiction, the same masking of
//! personal fields, the same 409 for a pair decided before, audited the same way.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{Either, HttpRequest, HttpResponse, web};
use askama::Template;
use store::{Store, StoreError};
use uuid::Uuid;

use crate::Error;
use crate::app::khmer;
use crate::app::pages::{
    Chrome, PageError, field, form_body, render, see_other, signed_in_or_none,
};
use crate::app::session::SignedIn;
use crate::auth::Scope;
use crate::params;
use crate::routes::matches::{MatchQuery, decide as decide_pair, match_page, match_view};
use crate::routes::{AuditTrail, Audited};
use crate::views::{DecisionInput, MatchSideView, MatchView, StaffView};

/// Pairs on a page of the queue: few enough for a phone.
const PAGE_SIZE: &str = "20";

/// A choice of a filter's select.
#[derive(Debug)]
struct Choice {
    value: &'static str,
    label: String,
    selected: bool,
}

fn choices(options: &[(&'static str, &str, &str)], current: Option<&str>) -> Vec<Choice> {
    options
        .iter()
        .map(|(value, km, en)| Choice {
            value,
            label: if en.is_empty() {
                (*km).to_owned()
            } else {
                format!("{km} · {en}")
            },
            selected: current.unwrap_or("") == *value,
        })
        .collect()
}

const STATUSES: &[(&str, &str, &str)] = &[
    ("pending", "រង់ចាំការសម្រេច", "Waiting"),
    ("decided", "បានសម្រេចហើយ", "Decided"),
    ("all", "ទាំងអស់", "All"),
];
const KINDS: &[(&str, &str, &str)] = &[
    ("", "គ្រប់ប្រភេទ", "Any kind"),
    ("uncertain", "មិនច្បាស់", "Uncertain"),
    ("identifier_conflict", "លេខសម្គាល់ប៉ះគ្នា", "Identifier conflict"),
    ("distinct_officers", "អត្តលេខមន្ត្រីពីរ", "Two officer ids"),
];
const MINISTRIES: &[(&str, &str, &str)] = &[
    ("", "គ្រប់ប្រភព", "Any source"),
    ("mcs", "MCS", ""),
    ("moh", "MOH", ""),
    ("moeys", "MOEYS", ""),
    ("mef", "MEF", ""),
    ("moi", "MOI", ""),
];

/// A kind of pair, in Khmer and English.
fn kind_label(kind: &str) -> (String, String) {
    KINDS.iter().find(|(v, _, _)| *v == kind).map_or_else(
        || (kind.to_owned(), kind.to_owned()),
        |(_, km, en)| ((*km).to_owned(), (*en).to_owned()),
    )
}

#[derive(Template)]
#[template(path = "app/matches.html")]
struct QueuePage {
    chrome: Chrome,
    statuses: Vec<Choice>,
    kinds: Vec<Choice>,
    ministries: Vec<Choice>,
    admin_unit: String,
    pairs: Vec<PairRow>,
    next: Option<String>,
}

/// A pair in the queue's list.
#[derive(Debug)]
struct PairRow {
    id: Uuid,
    kind_km: String,
    kind_en: String,
    left: String,
    right: String,
    left_source: String,
    right_source: String,
    percent_km: String,
    percent: String,
    decided: bool,
}

fn side_name(side: &MatchSideView) -> String {
    side.staff
        .as_ref()
        .map_or_else(|| "—".to_owned(), |s| s.name_km.clone())
}

fn side_source(side: &MatchSideView) -> String {
    format!("{} {}", side.ministry.to_uppercase(), side.source_id)
}

/// A probability as a whole percentage, in both scripts.
fn percent(p: f64) -> (String, String) {
    if p > 0.0 && p < 0.005 {
        return ("តិចជាង ១%".to_owned(), "under 1%".to_owned());
    }
    let whole = (p * 100.0).round().clamp(0.0, 100.0);
    (format!("{}%", khmer::number(whole)), format!("{whole}%"))
}

impl PairRow {
    fn new(m: &MatchView) -> Self {
        let (kind_km, kind_en) = kind_label(&m.kind);
        let (percent_km, percent) = percent(m.probability);
        Self {
            id: m.id,
            kind_km,
            kind_en,
            left: side_name(&m.left),
            right: side_name(&m.right),
            left_source: side_source(&m.left),
            right_source: side_source(&m.right),
            percent_km,
            percent,
            decided: m.decision.is_some(),
        }
    }
}

/// The queue's filters from the page's query: those of `GET /v1/matches`, an empty
/// select or box meaning no filter.
fn queue_query(req: &HttpRequest) -> Result<(MatchQuery, BTreeMap<String, String>), Error> {
    let raw: BTreeMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).map_err(|e| Error::InvalidParameter {
            name: "query".to_owned(),
            reason: e.to_string(),
        })?;
    let given: BTreeMap<String, String> = raw
        .into_iter()
        .map(|(k, v)| (k, v.trim().to_owned()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let known = ["status", "kind", "ministry", "admin_unit", "cursor"];
    if let Some(unknown) = given.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(Error::UnknownParameter(unknown.clone()));
    }
    let get = |k: &str| given.get(k).cloned();
    let query = MatchQuery {
        status: get("status"),
        admin_unit: get("admin_unit"),
        ministry: get("ministry"),
        kind: get("kind"),
        limit: Some(PAGE_SIZE.to_owned()),
        cursor: get("cursor"),
    };
    Ok((query, given))
}

/// `GET /app/matches`: a page of the pairs in the person's jurisdiction, filtered as
/// the API filters (waiting ones first by default). Audited like `GET /v1/matches`.
pub(crate) async fn queue(
    req: HttpRequest,
    session: Result<SignedIn, Error>,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Either<HttpResponse, Audited>, PageError> {
    let Some(person) = signed_in_or_none(session)? else {
        return Ok(Either::Left(see_other("/app/").finish()));
    };
    let (query, given) = queue_query(&req)?;
    let list = match_page(&store, &person.caller, &query).await?;
    let ids = list.items.iter().flat_map(MatchView::staff_ids).collect();
    let next = list.next_cursor.as_ref().map(|cursor| {
        let mut q = given.clone();
        q.insert("cursor".to_owned(), cursor.clone());
        format!(
            "/app/matches?{}",
            serde_urlencoded::to_string(&q).unwrap_or_default()
        )
    });
    let page = QueuePage {
        chrome: Chrome::new("ការត្រួតពិនិត្យគូកំណត់ត្រា", "Match review", Some(&person)),
        statuses: choices(STATUSES, Some(query.status.as_deref().unwrap_or("pending"))),
        kinds: choices(KINDS, query.kind.as_deref()),
        ministries: choices(MINISTRIES, query.ministry.as_deref()),
        admin_unit: query.admin_unit.clone().unwrap_or_default(),
        pairs: list.items.iter().map(PairRow::new).collect(),
        next,
    };
    let response = render(&page, StatusCode::OK)?;
    Ok(Either::Right(
        trail.answer(&person.caller, ids, response).await,
    ))
}

#[derive(Template)]
#[template(path = "app/match.html")]
struct PairPage {
    chrome: Chrome,
    id: Uuid,
    kind_km: String,
    kind_en: String,
    percent_km: String,
    percent: String,
    rows: Vec<RecordRow>,
    fields: Vec<FieldRow>,
    masked: bool,
    decision: Option<DecisionShown>,
    can_decide: bool,
    /// A refusal to show above the form (a 409 or a 422), in English as the API says it.
    problem: Option<Problem>,
    note: String,
    decided_now: bool,
}

#[derive(Debug)]
struct Problem {
    heading_km: &'static str,
    heading_en: &'static str,
    detail: String,
    faults: Vec<String>,
}

/// A line of the two records side by side.
#[derive(Debug)]
struct RecordRow {
    label_km: &'static str,
    label_en: &'static str,
    left: String,
    right: String,
    differs: bool,
}

/// A field's part in the score.
#[derive(Debug)]
struct FieldRow {
    label_km: &'static str,
    label_en: &'static str,
    level_km: &'static str,
    level: String,
    weight: String,
    positive: bool,
    /// The bar's half-width share, 0 to 50 (of a 100-wide drawing centred at 50).
    bar: u32,
    bar_x: u32,
}

#[derive(Debug)]
struct DecisionShown {
    same: bool,
    note: Option<String>,
    by: String,
    when_km: String,
    when_en: String,
}

/// The labels of the compared fields, in the API's order.
fn field_label(field: &str) -> (&'static str, &'static str) {
    match field {
        "name_km" => ("ឈ្មោះជាអក្សរខ្មែរ", "Name in Khmer"),
        "name_latin" => ("ឈ្មោះជាអក្សរឡាតាំង", "Name in Latin letters"),
        "birth_date" => ("ថ្ងៃខែឆ្នាំកំណើត", "Birth date"),
        "sex" => ("ភេទ", "Sex"),
        "place" => ("ទីកន្លែង", "Place"),
        "officer_id" => ("អត្តលេខមន្ត្រី", "Officer id"),
        "national_id" => ("លេខអត្តសញ្ញាណប័ណ្ណ", "National id"),
        _ => ("ផ្សេងទៀត", "Other"),
    }
}

fn level_km(level: &str) -> &'static str {
    match level {
        "exact" | "equal" | "same" => "ដូចគ្នា",
        "close" => "ជិតដូច",
        "similar" => "ស្រដៀង",
        "different" => "ខុសគ្នា",
        "swapped" => "ថ្ងៃនិងខែឆ្លាស់គ្នា",
        "one_digit" => "ខុសមួយខ្ទង់",
        "one_edit" => "ខុសមួយតួ",
        "year_only" => "តែឆ្នាំ",
        "facility" => "មូលដ្ឋានតែមួយ",
        "commune" => "ឃុំតែមួយ",
        "district" => "ស្រុកតែមួយ",
        "province" => "ខេត្តតែមួយ",
        "elsewhere" => "កន្លែងផ្សេង",
        "missing" => "គ្មានទិន្នន័យ",
        _ => "—",
    }
}

fn record_rows(left: &MatchSideView, right: &MatchSideView) -> Vec<RecordRow> {
    type Get = fn(&StaffView) -> Option<String>;
    let lines: [(&str, &str, Get); 9] = [
        ("ឈ្មោះ", "Name in Khmer", |s| {
            Some(s.name_km.clone())
        }),
        (
            "ឈ្មោះឡាតាំង",
            "Name in Latin letters",
            |s| s.name_latin.clone(),
        ),
        ("ភេទ", "Sex", |s| s.sex.clone()),
        ("ថ្ងៃកំណើត", "Birth date", |s| {
            s.birth_date.clone()
        }),
        ("អត្តលេខមន្ត្រី", "Officer id", |s| s.civil_servant_id.clone()),
        ("អត្តសញ្ញាណប័ណ្ណ", "National id", |s| s.national_id.clone()),
        ("ក្រសួង", "Employer", |s| s.employer.clone()),
        ("ស្ថានភាព", "Status", |s| {
            Some(s.status.clone())
        }),
        ("ឃុំ", "Commune", |s| {
            s.admin_unit_code.as_ref().map(|c| c.as_str().to_owned())
        }),
    ];
    let mut rows = vec![RecordRow {
        label_km: "ប្រភព",
        label_en: "Source record",
        left: side_source(left),
        right: side_source(right),
        differs: false,
    }];
    for (label_km, label_en, get) in lines {
        let value = |side: &MatchSideView| side.staff.as_ref().and_then(get);
        let (l, r) = (value(left), value(right));
        rows.push(RecordRow {
            label_km,
            label_en,
            differs: l != r,
            left: l.unwrap_or_else(|| "—".to_owned()),
            right: r.unwrap_or_else(|| "—".to_owned()),
        });
    }
    rows
}

fn field_rows(view: &MatchView) -> Vec<FieldRow> {
    let widest = view
        .fields
        .iter()
        .map(|f| f.weight.abs())
        .fold(1.0_f64, f64::max);
    view.fields
        .iter()
        .map(|f| {
            let (label_km, label_en) = field_label(&f.field);
            // Half of a 100-wide drawing; a weight of zero draws nothing.
            let bar = ((f.weight.abs() / widest) * 50.0).round().clamp(0.0, 50.0) as u32;
            FieldRow {
                label_km,
                label_en,
                level_km: level_km(&f.level),
                level: f.level.replace('_', " "),
                weight: format!("{:+.1}", f.weight),
                positive: f.weight >= 0.0,
                bar,
                bar_x: if f.weight >= 0.0 { 50 } else { 50 - bar },
            }
        })
        .collect()
}

fn pair_page(
    person: &SignedIn,
    view: &MatchView,
    problem: Option<Problem>,
    note: String,
    decided_now: bool,
) -> PairPage {
    let (kind_km, kind_en) = kind_label(&view.kind);
    let (percent_km, percent) = percent(view.probability);
    let masked = [&view.left, &view.right]
        .iter()
        .any(|s| s.staff.as_ref().is_some_and(|s| s.pii_masked));
    PairPage {
        chrome: Chrome::new("គូកំណត់ត្រា", "A pair of records", Some(person)),
        id: view.id,
        kind_km,
        kind_en,
        percent_km,
        percent,
        rows: record_rows(&view.left, &view.right),
        fields: field_rows(view),
        masked,
        decision: view.decision.as_ref().map(|d| {
            let (when_km, when_en) = khmer::time(d.decided_at);
            DecisionShown {
                same: d.decision == "same",
                note: d.note.clone(),
                by: d.decided_by.clone(),
                when_km,
                when_en,
            }
        }),
        can_decide: view.decision.is_none() && person.caller.has(Scope::MatchesReview),
        problem,
        note,
        decided_now,
    }
}

/// `GET /app/matches/{id}`: the pair's two records side by side, each field's part in
/// the score, and the decision form (or the decision). Audited like `GET /v1/matches/{id}`.
pub(crate) async fn pair(
    req: HttpRequest,
    session: Result<SignedIn, Error>,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Either<HttpResponse, Audited>, PageError> {
    let Some(person) = signed_in_or_none(session)? else {
        return Ok(Either::Left(see_other("/app/").finish()));
    };
    let id = params::path_uuid(&req, "id")?;
    let view = match_view(&store, &person.caller, id).await?;
    let decided_now = req.query_string().split('&').any(|p| p == "decided=1");
    let page = pair_page(&person, &view, None, String::new(), decided_now);
    let response = render(&page, StatusCode::OK)?;
    Ok(Either::Right(
        trail
            .answer(&person.caller, view.staff_ids(), response)
            .await,
    ))
}

/// `POST /app/matches/{id}`: the form's decision, through the API's decision service
/// (the CSRF token checked first). Decided: back to the pair, showing the decision. A
/// pair someone decided first (409), or a refused note (422), is shown on the pair's
/// page with the form kept.
pub(crate) async fn decide(
    req: HttpRequest,
    payload: web::Payload,
    session: Result<SignedIn, Error>,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, PageError> {
    let person = session?;
    let id = params::path_uuid(&req, "id")?;
    let fields = form_body(payload).await?;
    person.check_csrf(field(&fields, "csrf"))?;
    let input = DecisionInput {
        decision: field(&fields, "decision").unwrap_or_default().to_owned(),
        note: field(&fields, "note").map(str::to_owned),
    };
    let problem = match decide_pair(&store, &person.caller, id, &input).await {
        Ok(view) => {
            let response = see_other(&format!("/app/matches/{id}?decided=1")).finish();
            return Ok(trail
                .answer(&person.caller, view.staff_ids(), response)
                .await);
        }
        Err(e @ Error::Store(StoreError::MatchDecided(_))) => (
            StatusCode::CONFLICT,
            Problem {
                heading_km: "គូនេះត្រូវបានសម្រេចរួចហើយ",
                heading_en: "This pair was already decided",
                detail: e.problem().detail,
                faults: Vec::new(),
            },
        ),
        Err(e @ Error::InvalidFields(_)) => {
            let problem = e.problem();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Problem {
                    heading_km: "សូមពិនិត្យចម្លើយ",
                    heading_en: "Please check the answer",
                    detail: problem.detail,
                    faults: problem
                        .errors
                        .unwrap_or_default()
                        .into_iter()
                        .map(|f| format!("{}: {}", f.field, f.detail))
                        .collect(),
                },
            )
        }
        Err(e) => return Err(e.into()),
    };
    let (status, problem) = problem;
    let view = match_view(&store, &person.caller, id).await?;
    let page = pair_page(
        &person,
        &view,
        Some(problem),
        input.note.unwrap_or_default(),
        false,
    );
    let response = render(&page, status)?;
    Ok(trail
        .answer(&person.caller, view.staff_ids(), response)
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_and_field_of_the_api_has_a_khmer_label() {
        for level in [
            "exact",
            "close",
            "similar",
            "different",
            "swapped",
            "one_digit",
            "year_only",
            "facility",
            "commune",
            "district",
            "province",
            "elsewhere",
            "equal",
            "one_edit",
            "missing",
        ] {
            assert_ne!(level_km(level), "—", "{level}");
        }
        for field in [
            "name_km",
            "name_latin",
            "birth_date",
            "sex",
            "place",
            "officer_id",
            "national_id",
        ] {
            assert_ne!(field_label(field).1, "Other", "{field}");
        }
    }

    #[test]
    fn a_probability_is_a_whole_percentage_in_both_scripts() {
        assert_eq!(percent(0.987), ("៩៩%".to_owned(), "99%".to_owned()));
        assert_eq!(percent(0.0), ("០%".to_owned(), "0%".to_owned()));
        assert_eq!(percent(0.001).1, "under 1%");
    }

    #[test]
    fn an_empty_filter_is_no_filter_and_an_unknown_one_is_refused() {
        let req = actix_web::test::TestRequest::get()
            .uri("/app/matches?status=decided&kind=&ministry=moh&admin_unit=+")
            .to_http_request();
        let (q, given) = queue_query(&req).expect("read");
        assert_eq!(q.status.as_deref(), Some("decided"));
        assert_eq!(q.kind, None);
        assert_eq!(q.ministry.as_deref(), Some("moh"));
        assert_eq!(q.admin_unit, None);
        assert_eq!(given.len(), 2);
        let typo = actix_web::test::TestRequest::get()
            .uri("/app/matches?stat=decided")
            .to_http_request();
        assert!(queue_query(&typo).is_err());
    }
}
