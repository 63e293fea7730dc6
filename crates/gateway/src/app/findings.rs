//! Findings for a district or province to review: the list (`/app/findings`, paged
//! and filtered like `GET /v1/discrepancies`) and one finding (`/app/findings/{id}`)
//! with the triage actions of `POST /v1/discrepancies/{id}/actions` as a form.
//!
//! Both read and act through the API's own services as the signed-in person's
//! [`Caller`](crate::auth::Caller): `routes::discrepancies::{discrepancy_page,
//! discrepancy, act}`, so jurisdiction (a finding elsewhere is a 404), masking of the
//! evidence, the version check (the form carries the version it was shown, as
//! `If-Match` does) and the audit are the API's.

use actix_web::http::StatusCode;
use actix_web::{Either, HttpRequest, HttpResponse, web};
use askama::Template;
use schema::{DiscrepancyKind, Explanation, FindingState, Ministry};
use serde::Deserialize;
use serde_json::{Map, Value};
use store::Store;
use uuid::Uuid;

use crate::Error;
use crate::app::coverage::Download;
use crate::app::khmer;
use crate::app::pages::{
    Chrome, PageError, field, form_body, page_query, render, see_other, signed_in_or_none,
};
use crate::app::session::SignedIn;
use crate::auth::Scope;
use crate::params;
use crate::routes::discrepancies::{self, DiscrepancyQuery};
use crate::routes::{AuditTrail, Audited};
use crate::views::DiscrepancyView;

/// Findings a page lists.
const PAGE_SIZE: &str = "25";

/// A kind of finding as a reviewer reads it.
fn kind_names(kind: &str) -> (&'static str, &'static str) {
    match DiscrepancyKind::from_name(kind) {
        Some(DiscrepancyKind::OnRollNotServing) => {
            ("មានក្នុងបញ្ជីមន្ត្រី តែមិនបម្រើការងារ", "On the roll, not serving")
        }
        Some(DiscrepancyKind::ServingNotOnRoll) => {
            ("បម្រើការងារ តែគ្មានក្នុងបញ្ជីមន្ត្រី", "Serving, not on the roll")
        }
        Some(DiscrepancyKind::AssignmentConflict) => {
            ("កន្លែងបម្រើការងារមិនដូចគ្នា", "Placed at different facilities")
        }
        Some(DiscrepancyKind::AttributeConflict) => ("ព័ត៌មានមិនដូចគ្នា", "Details disagree"),
        Some(DiscrepancyKind::PaidNotOnRoll) => ("ទទួលបៀវត្សរ៍ តែគ្មានក្នុងបញ្ជីមន្ត្រី", "Paid, not on the roll"),
        Some(DiscrepancyKind::OnRollNotPaid) => {
            ("មានក្នុងបញ្ជីមន្ត្រី តែមិនបានទទួលបៀវត្សរ៍", "On the roll, not paid")
        }
        Some(DiscrepancyKind::PossibleDuplicate) => ("ប្រហែលជាកំណត់ត្រាស្ទួន", "Possible duplicate"),
        Some(DiscrepancyKind::FacilityUnplaced) => ("មូលដ្ឋានគ្មានទីតាំងរដ្ឋបាល", "Facility not placed"),
        None => ("ផ្សេងៗ", "Other"),
    }
}

fn state_names(state: &str) -> (&'static str, &'static str) {
    match FindingState::from_name(state) {
        Some(FindingState::Open) => ("មិនទាន់មាននរណាពិនិត្យ", "Open"),
        Some(FindingState::Acknowledged) => ("កំពុងពិនិត្យ", "Acknowledged"),
        Some(FindingState::Explained) => ("បានពន្យល់", "Explained"),
        Some(FindingState::Confirmed) => ("បានបញ្ជាក់ថាជាបញ្ហា", "Confirmed"),
        Some(FindingState::Resolved) => ("បានដោះស្រាយ", "Resolved"),
        None => ("ផ្សេងៗ", "Other"),
    }
}

fn ministry_names(m: Ministry) -> (&'static str, &'static str) {
    match m {
        Ministry::Mcs => ("ក្រសួងមុខងារសាធារណៈ", "Civil Service (MCS)"),
        Ministry::Moh => ("ក្រសួងសុខាភិបាល", "Health (MoH)"),
        Ministry::Moeys => ("ក្រសួងអប់រំ យុវជន និងកីឡា", "Education (MoEYS)"),
        Ministry::Moi => ("ក្រសួងមហាផ្ទៃ", "Interior (MoI)"),
        Ministry::Mef => ("ក្រសួងសេដ្ឋកិច្ច និងហិរញ្ញវត្ថុ", "Economy and Finance (MEF)"),
    }
}

/// What each action is called, in the order the form offers them.
const ACTIONS: [(&str, &str, &str); 4] = [
    ("acknowledge", "ទទួលយកមកពិនិត្យ", "Acknowledge: I am on it"),
    ("explain", "ពន្យល់ (មិនមែនជាកំហុស)", "Explain: not an error"),
    (
        "confirm",
        "បញ្ជាក់ថាជាបញ្ហាដែលក្រសួងត្រូវកែ",
        "Confirm: a ministry must fix it",
    ),
    ("reopen", "បើកឡើងវិញ", "Reopen"),
];

/// An option of a filter or a select.
#[derive(Debug)]
struct Choice {
    value: &'static str,
    label: String,
    selected: bool,
}

fn choices<T: Copy>(
    all: &[T],
    value: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> String,
    selected: Option<&str>,
) -> Vec<Choice> {
    all.iter()
        .map(|t| Choice {
            value: value(*t),
            label: label(*t),
            selected: selected == Some(value(*t)),
        })
        .collect()
}

/// A finding in the list.
#[derive(Debug)]
struct FindingCard {
    id: Uuid,
    kind_km: &'static str,
    kind_en: &'static str,
    state: &'static str,
    state_km: &'static str,
    state_en: &'static str,
    people: Vec<String>,
    facility: Option<String>,
    place: Option<String>,
    last_seen_km: String,
}

impl From<&DiscrepancyView> for FindingCard {
    fn from(v: &DiscrepancyView) -> Self {
        let (kind_km, kind_en) = kind_names(&v.kind);
        let (state_km, state_en) = state_names(v.state);
        Self {
            id: v.id,
            kind_km,
            kind_en,
            state: v.state,
            state_km,
            state_en,
            people: v.staff.iter().map(|s| s.name_km.clone()).collect(),
            facility: v.facility.as_ref().map(|f| f.name_km.clone()),
            place: v.admin_unit_code.as_deref().map(khmer::digits),
            last_seen_km: khmer::time(v.last_seen).0,
        }
    }
}

#[derive(Template)]
#[template(path = "app/findings.html")]
struct FindingsPage {
    chrome: Chrome,
    kinds: Vec<Choice>,
    states: Vec<Choice>,
    statuses: Vec<Choice>,
    admin_unit: String,
    items: Vec<FindingCard>,
    shown_km: String,
    shown: usize,
    next: Option<String>,
    downloads: Vec<Download>,
}

/// The query of `/app/findings`: the API's filters (an empty one is no filter, as a
/// form sends it).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingsArgs {
    kind: Option<String>,
    state: Option<String>,
    status: Option<String>,
    admin_unit: Option<String>,
    facility_id: Option<String>,
    cursor: Option<String>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The same filters as a query string (for the next page and the downloads).
fn filters_query(q: &DiscrepancyQuery) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("kind", &q.kind),
        ("state", &q.state),
        ("status", &q.status),
        ("admin_unit", &q.admin_unit),
        ("facility_id", &q.facility_id),
    ] {
        if let Some(v) = value {
            s.append_pair(name, v);
        }
    }
    s.finish()
}

/// `GET /app/findings`: a page of the findings the person may see, filtered.
pub(crate) async fn findings_page(
    req: HttpRequest,
    session: Result<SignedIn, Error>,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Either<HttpResponse, Audited>, PageError> {
    let Some(person) = signed_in_or_none(session)? else {
        return Ok(Either::Left(see_other("/app/").finish()));
    };
    let args: FindingsArgs = page_query(&req)?;
    let q = DiscrepancyQuery {
        kind: given(&args.kind),
        state: given(&args.state),
        status: given(&args.status),
        admin_unit: given(&args.admin_unit),
        facility_id: given(&args.facility_id),
        cursor: given(&args.cursor),
        limit: Some(PAGE_SIZE.to_owned()),
        ..DiscrepancyQuery::default()
    };
    let (list, ids) = discrepancies::discrepancy_page(&person.caller, &store, &q).await?;
    let filters = filters_query(&q);
    let sep = if filters.is_empty() { "" } else { "&" };
    let items: Vec<FindingCard> = list.items.iter().map(FindingCard::from).collect();
    let page = FindingsPage {
        chrome: Chrome::new("ការរកឃើញ", "Findings", Some(&person)),
        kinds: choices(
            DiscrepancyKind::ALL,
            |k| k.as_str(),
            |k| {
                let (km, en) = kind_names(k.as_str());
                format!("{km} ({en})")
            },
            q.kind.as_deref(),
        ),
        states: choices(
            FindingState::ALL,
            |s| s.as_str(),
            |s| {
                let (km, en) = state_names(s.as_str());
                format!("{km} ({en})")
            },
            q.state.as_deref(),
        ),
        statuses: choices(
            &["open", "resolved", "all"],
            |s| s,
            |s| {
                match s {
                    "open" => "មិនទាន់ដោះស្រាយ (Unresolved)",
                    "resolved" => "បានដោះស្រាយ (Resolved)",
                    _ => "ទាំងអស់ (All)",
                }
                .to_owned()
            },
            q.status.as_deref(),
        ),
        admin_unit: q.admin_unit.clone().unwrap_or_default(),
        shown_km: khmer::number(items.len()),
        shown: items.len(),
        items,
        next: list
            .next_cursor
            .map(|c| format!("/app/findings?{filters}{sep}cursor={c}")),
        downloads: vec![Download {
            label_km: "ការរកឃើញតាមតម្រង",
            label_en: "Findings with these filters",
            csv: format!("/app/downloads/findings?{filters}{sep}format=csv"),
            xlsx: format!("/app/downloads/findings?{filters}{sep}format=xlsx"),
        }],
    };
    let response = render(&page, StatusCode::OK)?;
    Ok(Either::Right(
        trail.answer(&person.caller, ids, response).await,
    ))
}

/// A piece of evidence as the page shows it.
#[derive(Debug)]
struct EvidenceRow {
    source: String,
    field: String,
    value: String,
    seen_km: String,
    note: Option<String>,
}

fn evidence_rows(evidence: &Value) -> Vec<EvidenceRow> {
    let text = |v: &Value, key: &str| match v.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    evidence
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| EvidenceRow {
            source: text(e, "source"),
            field: text(e, "field"),
            value: text(e, "value"),
            seen_km: e
                .get("seen_at")
                .and_then(Value::as_str)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| khmer::time(t.to_utc()).0)
                .unwrap_or_default(),
            note: Some(text(e, "note")).filter(|n| !n.is_empty()),
        })
        .collect()
}

/// One step of the finding's history.
#[derive(Debug)]
struct HistoryRow {
    action_km: &'static str,
    action_en: &'static str,
    to_km: &'static str,
    to_en: &'static str,
    by: String,
    at_km: String,
    reason: Option<String>,
    note: Option<String>,
}

/// An action the form offers.
#[derive(Debug)]
struct ActionChoice {
    value: &'static str,
    label_km: &'static str,
    label_en: &'static str,
    checked: bool,
}

/// What the form said that the API refused, shown above the form.
#[derive(Debug)]
struct FormError {
    heading_km: &'static str,
    heading_en: &'static str,
    detail: String,
    faults: Vec<String>,
}

#[derive(Template)]
#[template(path = "app/finding.html")]
struct FindingPage {
    chrome: Chrome,
    id: Uuid,
    version: i64,
    kind_km: &'static str,
    kind_en: &'static str,
    description: &'static str,
    state: &'static str,
    state_km: &'static str,
    state_en: &'static str,
    people: Vec<(String, Option<String>, Option<String>)>,
    facility: Option<(String, Option<String>, Option<String>)>,
    place: Option<String>,
    first_seen_km: String,
    evidence: Vec<EvidenceRow>,
    reason_km: Option<String>,
    reopened_because: Option<String>,
    history: Vec<HistoryRow>,
    can_act: bool,
    actions: Vec<ActionChoice>,
    reasons: Vec<Choice>,
    ministries: Vec<Choice>,
    note: String,
    error: Option<FormError>,
    done: bool,
}

/// What the person had put in the form, kept when it is shown again with an error.
#[derive(Debug, Default)]
struct Entered {
    action: Option<String>,
    reason: Option<String>,
    ministry: Option<String>,
    note: String,
}

fn action_names(action: &str) -> (&'static str, &'static str) {
    ACTIONS
        .iter()
        .find(|(a, _, _)| *a == action)
        .map_or(("សកម្មភាព", "Action"), |(_, km, en)| {
            (km, en)
        })
}

fn finding_page(
    person: &SignedIn,
    view: DiscrepancyView,
    entered: Entered,
    error: Option<FormError>,
    done: bool,
) -> FindingPage {
    let (kind_km, kind_en) = kind_names(&view.kind);
    let (state_km, state_en) = state_names(view.state);
    let state = FindingState::from_name(view.state);
    let can_act = person.caller.has(Scope::FindingsReview) && state != Some(FindingState::Resolved);
    let actions = ACTIONS
        .iter()
        .filter(|(a, _, _)| match *a {
            "reopen" => state != Some(FindingState::Open),
            "acknowledge" => state == Some(FindingState::Open),
            _ => true,
        })
        .map(|(value, label_km, label_en)| ActionChoice {
            value,
            label_km,
            label_en,
            checked: entered.action.as_deref() == Some(*value),
        })
        .collect();
    let history = view
        .history
        .iter()
        .flatten()
        .map(|h| {
            let (action_km, action_en) = action_names(&h.action);
            let (to_km, to_en) = state_names(&h.to_state);
            HistoryRow {
                action_km,
                action_en,
                to_km,
                to_en,
                by: h.by.clone(),
                at_km: khmer::time(h.at).0,
                reason: h
                    .reason
                    .as_deref()
                    .and_then(Explanation::from_name)
                    .map(|e| format!("{} ({})", e.label_km(), e.label_en())),
                note: h.note.clone(),
            }
        })
        .collect();
    let reason_km = view
        .review
        .as_ref()
        .and_then(|r| match (r.reason_km, r.reason_en) {
            (Some(km), Some(en)) => Some(format!("{km} ({en})")),
            _ => None,
        });
    FindingPage {
        chrome: Chrome::new("ការរកឃើញ", "Finding", Some(person)),
        id: view.id,
        version: view.version,
        kind_km,
        kind_en,
        description: view.description,
        state: view.state,
        state_km,
        state_en,
        people: view
            .staff
            .iter()
            .map(|s| {
                (
                    s.name_km.clone(),
                    s.name_latin.clone(),
                    s.civil_servant_id.clone(),
                )
            })
            .collect(),
        // The facility's page lists its staff: offered to those who may read them.
        facility: view.facility.as_ref().map(|f| {
            (
                f.name_km.clone(),
                f.name_latin.clone(),
                person
                    .caller
                    .has(Scope::StaffRead)
                    .then(|| format!("/app/facilities/{}", f.id)),
            )
        }),
        place: view.admin_unit_code.as_deref().map(khmer::digits),
        first_seen_km: khmer::time(view.first_seen).0,
        evidence: evidence_rows(&view.evidence),
        reason_km,
        reopened_because: view.reopened_because.clone(),
        history,
        can_act,
        actions,
        reasons: choices(
            Explanation::ALL,
            |e| e.as_str(),
            |e| format!("{} ({})", e.label_km(), e.label_en()),
            entered.reason.as_deref(),
        ),
        ministries: choices(
            Ministry::ALL,
            |m| m.as_str(),
            |m| {
                let (km, en) = ministry_names(m);
                format!("{km} ({en})")
            },
            entered.ministry.as_deref(),
        ),
        note: entered.note,
        error,
        done,
    }
}

/// `GET /app/findings/{id}`: one finding, its evidence and history, and the form to
/// act on it. A finding outside the person's jurisdiction is not found.
pub(crate) async fn finding(
    req: HttpRequest,
    session: Result<SignedIn, Error>,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Either<HttpResponse, Audited>, PageError> {
    let Some(person) = signed_in_or_none(session)? else {
        return Ok(Either::Left(see_other("/app/").finish()));
    };
    let id = params::path_uuid(&req, "id")?;
    let done = req.query_string().split('&').any(|p| p == "done=1");
    let (view, ids) = discrepancies::discrepancy(&person.caller, &store, id).await?;
    let page = finding_page(&person, view, Entered::default(), None, done);
    let response = render(&page, StatusCode::OK)?;
    Ok(Either::Right(
        trail.answer(&person.caller, ids, response).await,
    ))
}

/// The action's JSON body from the form: only what the chosen action takes (a reason
/// to explain; a ministry to explain a data error or to confirm).
fn action_body(fields: &[(String, String)]) -> Value {
    let text = |name: &str| {
        field(fields, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| Value::String(v.to_owned()))
    };
    let mut body = Map::new();
    let action = field(fields, "action").map(str::trim).unwrap_or_default();
    body.insert("action".to_owned(), Value::String(action.to_owned()));
    if action == "explain"
        && let Some(r) = text("reason")
    {
        body.insert("reason".to_owned(), r);
    }
    if matches!(action, "explain" | "confirm")
        && let Some(m) = text("ministry")
    {
        body.insert("ministry".to_owned(), m);
    }
    if let Some(n) = text("note") {
        body.insert("note".to_owned(), n);
    }
    Value::Object(body)
}

/// A refusal the person can put right on the same page, in words.
fn form_error(e: &Error) -> Option<FormError> {
    let (heading_km, heading_en) = match e {
        Error::InvalidFields(_) => ("សូមពិនិត្យទម្រង់ម្តងទៀត", "Please check the form"),
        Error::StaleVersion { .. } => (
            "មាននរណាម្នាក់បានធ្វើសកម្មភាពលើការរកឃើញនេះរួចហើយ",
            "Someone acted on this finding since you opened it: see where it stands now",
        ),
        Error::FindingResolved => ("ការរកឃើញនេះបានដោះស្រាយរួចហើយ", "This finding is resolved"),
        Error::FindingAlreadyOpen => ("ការរកឃើញនេះបើករួចហើយ", "This finding is open already"),
        _ => return None,
    };
    let problem = e.problem();
    Some(FormError {
        heading_km,
        heading_en,
        detail: problem.detail,
        faults: problem
            .errors
            .unwrap_or_default()
            .into_iter()
            .map(|f| format!("{}: {}", f.field, f.detail))
            .collect(),
    })
}

/// `POST /app/findings/{id}`: an action from the finding's form, through the API's
/// service, at the version the page showed (a colleague's action in between is
/// refused, not overwritten). Done: back to the finding (303). Refused: the finding
/// as it is now, with why, and what the person entered.
pub(crate) async fn act(
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
    let version = field(&fields, "version")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .ok_or_else(|| Error::invalid("version", "the form lacks the finding's version"))?;
    let body = action_body(&fields);
    match discrepancies::act(&person.caller, &store, id, &body, Some(&[version])).await {
        Ok((_, ids)) => {
            let response = see_other(&format!("/app/findings/{id}?done=1")).finish();
            Ok(trail.answer(&person.caller, ids, response).await)
        }
        Err(e) => {
            let Some(error) = form_error(&e) else {
                return Err(e.into());
            };
            let status = actix_web::ResponseError::status_code(&e);
            let (view, ids) = discrepancies::discrepancy(&person.caller, &store, id).await?;
            let entered = Entered {
                action: field(&fields, "action").map(str::to_owned),
                reason: field(&fields, "reason").map(str::to_owned),
                ministry: field(&fields, "ministry").map(str::to_owned),
                note: field(&fields, "note").unwrap_or_default().to_owned(),
            };
            let page = finding_page(&person, view, entered, Some(error), false);
            let response = render(&page, status)?;
            Ok(trail.answer(&person.caller, ids, response).await)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::app::pages::tests::form;

    /// The form carries every control; the body carries what the action takes.
    #[test]
    fn the_form_sends_only_what_the_chosen_action_takes() {
        let explain = action_body(&form(&[
            ("action", "explain"),
            ("reason", "on_leave"),
            ("ministry", ""),
            ("note", " ដល់ខែមីនា "),
        ]));
        assert_eq!(
            explain,
            json!({"action": "explain", "reason": "on_leave", "note": "ដល់ខែមីនា"})
        );
        let acknowledge = action_body(&form(&[
            ("action", "acknowledge"),
            ("reason", "on_leave"),
            ("ministry", "moh"),
            ("note", ""),
        ]));
        assert_eq!(acknowledge, json!({"action": "acknowledge"}));
        let confirm = action_body(&form(&[
            ("action", "confirm"),
            ("reason", "studying"),
            ("ministry", "moh"),
        ]));
        assert_eq!(confirm, json!({"action": "confirm", "ministry": "moh"}));
    }

    #[test]
    fn every_kind_and_state_has_khmer_and_english_names() {
        for k in DiscrepancyKind::ALL {
            assert_ne!(kind_names(k.as_str()).1, "Other", "{k:?}");
        }
        for s in FindingState::ALL {
            assert_ne!(state_names(s.as_str()).1, "Other", "{s:?}");
        }
    }
}
