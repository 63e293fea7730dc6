//! The app's handlers: the landing page, sign-in and sign-out, and the site head's
//! roster for this month.
//!
//! Pages are server-rendered (askama templates under `templates/app`, checked at
//! compile time), Khmer first with English beside. They reach the registry only
//! through the API's services, as the signed-in person's [`Caller`]: the roster page
//! lists the facility's staff with `routes::staff::staff_views` (the facility inside
//! the person's jurisdiction, personal fields masked by scope) and is audited like the
//! API's answer; a roster goes through `routes::rosters::submit`, whether the page's
//! form was posted (no script) or the page's outbox sent the roster API's JSON body.

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{Either, HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError, web};
use askama::Template;
use chrono::Utc;
use futures_util::StreamExt;
use schema::Explanation;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::{NewAppSession, PendingSignIn, StaffFilter, Store};
use uuid::Uuid;

use crate::Error;
use crate::app::session::{
    self, CSRF_HEADER, SESSION_COOKIE, SIGN_IN_COOKIE, SIGN_IN_MAX_AGE, SignedIn,
};
use crate::app::{AppContext, assets, khmer, oidc};
use crate::auth::Scope;
use crate::routes::facilities::facility_in_reach;
use crate::routes::rosters::{self, Submitted};
use crate::routes::staff::{PageArgs, staff_views};
use crate::routes::{AuditTrail, Audited};
use crate::views::StaffView;

/// Largest form the roster page posts (a hospital's list, with notes).
const MAX_FORM_BYTES: usize = 1024 * 1024;
/// The page size staff lists are read in.
const STAFF_PAGE: &str = "1000";

/// What every page's frame shows: titles, asset URLs, who is signed in.
#[derive(Debug)]
pub(crate) struct Chrome {
    pub(crate) title_km: &'static str,
    pub(crate) title_en: &'static str,
    pub(crate) css_url: String,
    pub(crate) js_url: String,
    pub(crate) font_url: String,
    pub(crate) licence_url: String,
    /// The signed-in person's name (or subject), with the sign-out form.
    pub(crate) who: Option<String>,
    pub(crate) csrf: String,
}

impl Chrome {
    pub(crate) fn new(
        title_km: &'static str,
        title_en: &'static str,
        person: Option<&SignedIn>,
    ) -> Self {
        Self {
            title_km,
            title_en,
            css_url: assets::url("app.css"),
            js_url: assets::url("roster.js"),
            font_url: assets::url("noto-sans-khmer-khmer-400-normal.woff2"),
            licence_url: assets::url("OFL.txt"),
            who: person.map(|p| p.name.clone().unwrap_or_else(|| p.caller.client.clone())),
            csrf: person.map(|p| p.csrf_token.clone()).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "app/landing.html")]
struct LandingPage {
    chrome: Chrome,
    signed_in_as: Option<String>,
    can_roster: bool,
    /// Whether the person reads the review queue (a reviewer, or a reader of reports).
    can_review: bool,
    /// A district or province officer: coverage and findings.
    can_read_reports: bool,
    sign_in_enabled: bool,
    /// Whether the demo's printed links sign people in here.
    demo_sign_in: bool,
}

#[derive(Template)]
#[template(path = "app/offline.html")]
struct OfflinePage {
    chrome: Chrome,
}

#[derive(Template)]
#[template(path = "app/error.html")]
struct ErrorPage {
    chrome: Chrome,
    heading_km: &'static str,
    heading_en: &'static str,
    detail: String,
    faults: Vec<String>,
    back: &'static str,
}

#[derive(Template)]
#[template(path = "app/roster.html")]
struct RosterPage {
    chrome: Chrome,
    facility_id: Uuid,
    facility_km: String,
    facility_latin: Option<String>,
    period: String,
    month_km: String,
    month_en: String,
    people: Vec<PersonRow>,
    reasons: Vec<ReasonOption>,
    added_slots: Vec<AddedSlot>,
    /// The one block the script copies (a list, for the template's loop).
    template_slots: Vec<AddedSlot>,
    idempotency_key: Uuid,
    last: Option<LastRoster>,
    sent: Option<Uuid>,
}

/// One person the registry lists at the facility.
#[derive(Debug)]
struct PersonRow {
    index: usize,
    civil_servant_id: Option<String>,
    name_km: String,
    name_latin: Option<String>,
    employer: Option<String>,
}

/// A reason an absence may give: the findings' vocabulary, as its note is written.
#[derive(Debug)]
struct ReasonOption {
    code: &'static str,
    label: String,
}

/// A block of fields for a person nobody listed (placeholders in the script's copy).
#[derive(Debug)]
struct AddedSlot {
    index: String,
    number: String,
    number_km: String,
}

/// The current roster of the month, if one was sent.
#[derive(Debug)]
struct LastRoster {
    when_km: String,
    when_en: String,
    present: u64,
    absent: u64,
    present_km: String,
    absent_km: String,
}

/// The reasons an absence may give: those of the findings' explanations that say
/// why a person is not at work (not a data error: that is a reviewer's word).
fn absence_reasons() -> Vec<ReasonOption> {
    Explanation::ALL
        .iter()
        .filter(|e| !matches!(e, Explanation::DataError))
        .map(|e| ReasonOption {
            code: e.as_str(),
            label: reason_label(*e),
        })
        .collect()
}

/// How an absence's reason is written into the roster entry's note.
fn reason_label(e: Explanation) -> String {
    format!("{} ({})", e.label_km(), e.label_en())
}

/// An HTML page: never cached by the browser (the pages name people; the service
/// worker keeps what is needed offline), and with a policy that lets it load nothing
/// from elsewhere.
fn html(status: StatusCode, body: String) -> HttpResponse {
    let mut response = HttpResponseBuilder::new(status);
    secure_headers(&mut response);
    response.content_type("text/html; charset=utf-8").body(body)
}

fn secure_headers(response: &mut HttpResponseBuilder) {
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
}

pub(crate) fn render(
    template: &impl Template,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let body = template
        .render()
        .map_err(|e| Error::Internal(format!("template: {e}")))?;
    Ok(html(status, body))
}

/// A 303 to `location` (after a form, or to the provider).
pub(crate) fn see_other(location: &str) -> HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.insert_header((header::LOCATION, v));
    }
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

/// A person without a session, told so by a redirect; any other failure stays one.
pub(crate) fn signed_in_or_none(
    session: Result<SignedIn, Error>,
) -> Result<Option<SignedIn>, Error> {
    match session {
        Ok(person) => Ok(Some(person)),
        Err(Error::SignInRequired) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A page's query as its GET forms send it: an empty field is no value (a form sends
/// every field it has), an unknown one is refused. The values' forms are checked by
/// the API's services the page hands them to.
pub(crate) fn page_query<T: serde::de::DeserializeOwned>(req: &HttpRequest) -> Result<T, Error> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    for (name, value) in &pairs {
        crate::params::refuse_nul(value).map_err(|reason| Error::invalid(name, reason))?;
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    crate::params::query_from(&query)
}

/// An error shown as a page (the app's forms and pages) rather than problem+json.
#[derive(Debug)]
pub(crate) struct PageError(pub(crate) Error);

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl From<store::StoreError> for PageError {
    fn from(e: store::StoreError) -> Self {
        Self(e.into())
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        if matches!(self.0, Error::SignInRequired) {
            return see_other("/app/").finish();
        }
        let status = self.0.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self.0, "app page failed");
        }
        let problem = self.0.problem();
        let (heading_km, heading_en) = match &self.0 {
            Error::InvalidRoster(_) => ("បញ្ជីមិនត្រូវបានទទួលយកទេ", "The roster was refused"),
            Error::CsrfFailed => ("សូមផ្ទុកទំព័រឡើងវិញ", "Please reload the page"),
            Error::SignInFailed(_) | Error::IdentityProvider(_) | Error::SignInNotConfigured => {
                ("ការចូលប្រើមិនបានសម្រេច", "Sign-in did not work")
            }
            Error::NoFacility | Error::MissingScope(_) => {
                ("ទំព័រនេះមិនមែនសម្រាប់អ្នកទេ", "This page is not for your role")
            }
            Error::NotFound { .. } => ("រកមិនឃើញ", "Not found"),
            _ if status.is_server_error() => ("មានបញ្ហា", "Something went wrong"),
            _ => ("សំណើមិនត្រឹមត្រូវ", "The request was refused"),
        };
        let faults = problem
            .errors
            .unwrap_or_default()
            .into_iter()
            .map(|f| match f.index {
                Some(i) => format!("#{} {}: {}", i + 1, f.field, f.detail),
                None => format!("{}: {}", f.field, f.detail),
            })
            .collect();
        let page = ErrorPage {
            chrome: Chrome::new(heading_km, heading_en, None),
            heading_km,
            heading_en,
            detail: problem.detail,
            faults,
            back: if matches!(self.0, Error::InvalidRoster(_)) {
                "/app/roster"
            } else {
                "/app/"
            },
        };
        match page.render() {
            Ok(body) => html(status, body),
            Err(_) => HttpResponse::build(status).finish(),
        }
    }
}

/// `GET /app`: the landing page is `/app/` (the service worker's scope).
pub(crate) async fn to_landing() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/app/"))
        .finish()
}

/// `GET /app/`: sign in, or where a signed-in person goes next.
pub(crate) async fn landing(
    session: Result<SignedIn, Error>,
    context: web::Data<AppContext>,
) -> Result<HttpResponse, PageError> {
    let person = signed_in_or_none(session)?;
    let page = LandingPage {
        chrome: Chrome::new("ការធ្វើបច្ចុប្បន្នភាពទិន្នន័យ", "Data update", person.as_ref()),
        signed_in_as: person
            .as_ref()
            .map(|p| p.name.clone().unwrap_or_else(|| p.caller.client.clone())),
        can_roster: person
            .as_ref()
            .is_some_and(|p| p.caller.has(Scope::RostersWrite) && p.facility.is_some()),
        can_review: person.as_ref().is_some_and(|p| {
            p.caller.has(Scope::MatchesReview) || p.caller.has(Scope::ReportsRead)
        }),
        can_read_reports: person
            .as_ref()
            .is_some_and(|p| p.caller.has(Scope::ReportsRead)),
        sign_in_enabled: context.settings.sign_in_enabled(),
        demo_sign_in: context.demo.is_some(),
    };
    render(&page, StatusCode::OK)
}

/// `GET /app/offline`: what the service worker shows for a page it does not keep.
pub(crate) async fn offline() -> Result<HttpResponse, PageError> {
    let page = OfflinePage {
        chrome: Chrome::new("គ្មានការតភ្ជាប់", "No connection", None),
    };
    render(&page, StatusCode::OK)
}

/// `GET /app/auth/sign-in`: off to the provider, with a fresh state, nonce and PKCE
/// challenge; the state is kept in a cookie too, so only this browser can finish.
pub(crate) async fn sign_in(
    context: web::Data<AppContext>,
    store: web::Data<Store>,
) -> Result<HttpResponse, PageError> {
    let provider = context.provider()?;
    let request = provider.begin().await?;
    store
        .begin_app_sign_in(
            &session::token_hash(&request.state),
            &PendingSignIn {
                pkce_verifier: request.pkce_verifier,
                nonce: request.nonce,
                return_to: None,
            },
            SIGN_IN_MAX_AGE,
        )
        .await?;
    let cookie = session::set_cookie(
        &context.settings,
        SIGN_IN_COOKIE,
        &request.state,
        "/app/auth",
        Some(SIGN_IN_MAX_AGE),
    );
    Ok(see_other(&request.url)
        .insert_header((header::SET_COOKIE, cookie))
        .finish())
}

/// What the provider sends back to the callback.
#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

/// `GET /app/auth/callback`: the provider's answer. The state must be the one this
/// browser was given, the sign-in still pending, the issuer (when named) ours; the
/// code is exchanged and the ID token verified; then a session begins.
pub(crate) async fn callback(
    req: HttpRequest,
    context: web::Data<AppContext>,
    store: web::Data<Store>,
) -> Result<HttpResponse, PageError> {
    let provider = context.provider()?;
    let q: CallbackQuery = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| Error::SignInFailed(format!("an unreadable answer: {e}")))?;
    if let Some(error) = q.error {
        let description = q.error_description.unwrap_or_default();
        return Err(
            Error::SignInFailed(format!("the provider answered {error}: {description}")).into(),
        );
    }
    let state = q
        .state
        .ok_or_else(|| Error::SignInFailed("the answer has no state".to_owned()))?;
    let ours = session::cookie(&req, SIGN_IN_COOKIE)
        .is_some_and(|kept| session::same_secret(kept, &state));
    if !ours {
        return Err(Error::SignInFailed(
            "this browser did not begin this sign-in; start again".to_owned(),
        )
        .into());
    }
    if let Some(iss) = q.iss
        && iss.trim_end_matches('/') != context.settings.issuer.trim().trim_end_matches('/')
    {
        return Err(Error::SignInFailed("the answer names another issuer".to_owned()).into());
    }
    let code = q
        .code
        .ok_or_else(|| Error::SignInFailed("the answer has no code".to_owned()))?;
    let pending = store
        .take_app_sign_in(&session::token_hash(&state), SIGN_IN_MAX_AGE)
        .await?
        .ok_or_else(|| {
            Error::SignInFailed("the sign-in is unknown or took too long; start again".to_owned())
        })?;
    let person = provider
        .finish(code, pending.pkce_verifier, pending.nonce)
        .await?;
    Ok(open_session(&store, &context, &person)
        .await?
        .append_header((
            header::SET_COOKIE,
            session::set_cookie(&context.settings, SIGN_IN_COOKIE, "", "/app/auth", None),
        ))
        .finish())
}

/// Opens a session for `person` (a fresh token and CSRF token, the absolute end from
/// the settings) and answers with a 303 to the landing page setting its cookie: what
/// every sign-in ends with, through the provider or the demo's links.
pub(crate) async fn open_session(
    store: &Store,
    context: &AppContext,
    person: &oidc::Person,
) -> Result<HttpResponseBuilder, Error> {
    let token = session::random_token()?;
    let csrf = session::random_token()?;
    let lifetime = Duration::from_secs(context.settings.absolute_timeout_hours.max(1) * 3600);
    let expires_at = Utc::now()
        + chrono::Duration::from_std(lifetime)
            .map_err(|e| Error::Internal(format!("session lifetime: {e}")))?;
    store
        .open_app_session(&NewAppSession {
            token_hash: &session::token_hash(&token),
            subject: &person.subject,
            display_name: person.name.as_deref(),
            scopes: &person.scopes,
            jurisdiction: person.jurisdiction.as_ref().map(|c| c.as_str()),
            facility_id: person.facility,
            csrf_token: &csrf,
            id_token: person.id_token.as_deref(),
            expires_at,
        })
        .await?;
    tracing::info!(subject = %person.subject, "signed in to the app");
    let mut response = see_other("/app/");
    response.append_header((
        header::SET_COOKIE,
        session::set_cookie(
            &context.settings,
            SESSION_COOKIE,
            &token,
            "/app",
            Some(lifetime),
        ),
    ));
    Ok(response)
}

/// Reads an `application/x-www-form-urlencoded` body of at most `MAX_FORM_BYTES`.
pub(crate) async fn form_body(mut payload: web::Payload) -> Result<Vec<(String, String)>, Error> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Error::InvalidBody(e.to_string()))?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(Error::BodyTooLarge {
                limit: MAX_FORM_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(form_urlencoded::parse(&body).into_owned().collect())
}

pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `POST /app/auth/sign-out`: ends the session here (the form carries its CSRF token)
/// and, when the provider has an end-session endpoint, there too.
pub(crate) async fn sign_out(
    req: HttpRequest,
    payload: web::Payload,
    session: Result<SignedIn, Error>,
    context: web::Data<AppContext>,
    store: web::Data<Store>,
) -> Result<HttpResponse, PageError> {
    let fields = form_body(payload).await?;
    let mut next = "/app/".to_owned();
    if let Some(person) = signed_in_or_none(session)? {
        person.check_csrf(field(&fields, "csrf"))?;
        if let Some(token) = session::cookie(&req, SESSION_COOKIE) {
            let ended = store.end_app_session(&session::token_hash(token)).await?;
            if let (Some(ended), Some(provider)) = (ended, context.provider.as_ref())
                && let Some(url) = provider.sign_out_url(ended.id_token.as_deref()).await
            {
                next = url;
            }
        }
        tracing::info!(subject = %person.caller.client, "signed out of the app");
    }
    Ok(see_other(&next)
        .insert_header((
            header::SET_COOKIE,
            session::set_cookie(&context.settings, SESSION_COOKIE, "", "/app", None),
        ))
        .finish())
}

/// What the page's script needs of the session: the CSRF token (a page kept offline
/// may hold an older one), the facility, the end.
#[derive(Debug, Serialize)]
struct SessionInfo {
    subject: String,
    name: Option<String>,
    facility_id: Option<Uuid>,
    csrf_token: String,
    expires_at: chrono::DateTime<Utc>,
}

/// `GET /app/session`: the signed-in person's session as JSON (401 without one).
pub(crate) async fn session_info(session: Result<SignedIn, Error>) -> Result<HttpResponse, Error> {
    let person = session?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(SessionInfo {
            subject: person.caller.client.clone(),
            name: person.name.clone(),
            facility_id: person.facility,
            csrf_token: person.csrf_token.clone(),
            expires_at: person.expires_at,
        }))
}

/// The facility a site head submits for: theirs, and inside their jurisdiction.
async fn own_facility(person: &SignedIn, store: &Store) -> Result<store::StoredFacility, Error> {
    person.caller.require(Scope::RostersWrite)?;
    let facility = person.facility.ok_or(Error::NoFacility)?;
    facility_in_reach(store, &person.caller, facility).await
}

/// Everyone the registry places at `facility`, as the API lists them to `person`.
pub(crate) async fn facility_staff(
    person: &SignedIn,
    store: &Store,
    facility: Uuid,
) -> Result<Vec<StaffView>, Error> {
    let filter = StaffFilter {
        facility_id: Some(facility),
        ..StaffFilter::default()
    };
    let mut staff = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = staff_views(
            &person.caller,
            store,
            &filter,
            PageArgs {
                limit: Some(STAFF_PAGE),
                cursor: cursor.as_deref(),
            },
        )
        .await?;
        staff.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(staff)
}

/// `GET /app/roster`: the site head's facility, who the registry lists there, and the
/// form to say who serves this month. Audited like the API's list of a facility's staff.
pub(crate) async fn roster_page(
    req: HttpRequest,
    session: Result<SignedIn, Error>,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Either<HttpResponse, Audited>, PageError> {
    let Some(person) = signed_in_or_none(session)? else {
        return Ok(Either::Left(see_other("/app/").finish()));
    };
    let facility = own_facility(&person, &store).await?;
    let staff = facility_staff(&person, &store, facility.facility.id).await?;
    let period = rosters::current_month()?;
    let last = store
        .list_rosters(facility.facility.id, Some(period), None, 1)
        .await?
        .items
        .into_iter()
        .next()
        .map(|r| {
            let (when_km, when_en) = khmer::time(r.submitted_at);
            let absent = r.counts.entries - r.counts.present;
            LastRoster {
                when_km,
                when_en,
                present: r.counts.present,
                absent,
                present_km: khmer::number(r.counts.present),
                absent_km: khmer::number(absent),
            }
        });
    let sent = web::Query::<BTreeMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get("sent").and_then(|v| Uuid::parse_str(v).ok()));
    let ids: Vec<Uuid> = staff.iter().map(|s| s.id).collect();
    let people = staff
        .into_iter()
        .enumerate()
        .map(|(index, s)| PersonRow {
            index,
            civil_servant_id: s.civil_servant_id,
            name_km: s.name_km,
            name_latin: s.name_latin,
            employer: s.employer,
        })
        .collect();
    let (month_km, month_en) = khmer::month(period);
    let page = RosterPage {
        chrome: Chrome::new("បញ្ជីបុគ្គលិកប្រចាំខែ", "Monthly roster", Some(&person)),
        facility_id: facility.facility.id,
        facility_km: facility.facility.name_km.as_str().to_owned(),
        facility_latin: facility
            .facility
            .name_latin
            .as_ref()
            .map(|n| n.as_str().to_owned()),
        period: period.to_string(),
        month_km,
        month_en,
        people,
        reasons: absence_reasons(),
        added_slots: vec![AddedSlot {
            index: "0".to_owned(),
            number: "1".to_owned(),
            number_km: khmer::number(1),
        }],
        template_slots: vec![AddedSlot {
            index: "__N__".to_owned(),
            number: "__NUMBER_EN__".to_owned(),
            number_km: "__NUMBER__".to_owned(),
        }],
        idempotency_key: Uuid::new_v4(),
        last,
        sent,
    };
    let response = render(&page, StatusCode::OK)?;
    Ok(Either::Right(
        trail.answer(&person.caller, ids, response).await,
    ))
}

/// The roster API's body from the roster page's form (the same reading as the page's
/// script: a person marked present or absent is an entry, one not marked or "not
/// known here" is left out, an added person is present).
fn roster_body(fields: &[(String, String)]) -> Value {
    let mut listed: BTreeMap<usize, BTreeMap<&str, &str>> = BTreeMap::new();
    let mut added: BTreeMap<usize, BTreeMap<&str, &str>> = BTreeMap::new();
    for (name, value) in fields {
        let mut parts = name.splitn(3, '.');
        let (Some(group), Some(index), Some(key)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Ok(index) = index.parse::<usize>() else {
            continue;
        };
        let target = match group {
            "e" => &mut listed,
            "a" => &mut added,
            _ => continue,
        };
        target.entry(index).or_default().insert(key, value.trim());
    }
    let text = |person: &BTreeMap<&str, &str>, key: &str| {
        person
            .get(key)
            .copied()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let mut entries = Vec::new();
    for person in listed.values() {
        let present = match person.get("status").copied() {
            Some("present") => true,
            Some("absent") => false,
            _ => continue,
        };
        let mut entry = serde_json::Map::new();
        for key in ["civil_servant_id", "name_km"] {
            if let Some(v) = text(person, key) {
                entry.insert(key.to_owned(), Value::String(v));
            }
        }
        entry.insert("present".to_owned(), Value::Bool(present));
        if !present {
            let reason = text(person, "reason")
                .and_then(|code| Explanation::from_name(&code))
                .map(reason_label);
            let note = match (reason, text(person, "note")) {
                (Some(reason), Some(note)) => Some(format!("{reason}: {note}")),
                (reason, note) => reason.or(note),
            };
            if let Some(note) = note {
                entry.insert("note".to_owned(), Value::String(note));
            }
        }
        entries.push(Value::Object(entry));
    }
    for person in added.values() {
        let mut entry = serde_json::Map::new();
        for key in [
            "civil_servant_id",
            "national_id",
            "name_km",
            "name_latin",
            "sex",
            "role",
        ] {
            if let Some(v) = text(person, key) {
                entry.insert(key.to_owned(), Value::String(v));
            }
        }
        if entry.is_empty() {
            continue;
        }
        entry.insert("present".to_owned(), Value::Bool(true));
        entries.push(Value::Object(entry));
    }
    json!({
        "period": fields.iter().find(|(n, _)| n == "period").map(|(_, v)| v.trim()),
        "entries": entries,
    })
}

/// An Idempotency-Key from the form: what the header would accept.
fn form_key(value: Option<&str>) -> Result<Option<String>, Error> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.len() <= 255 && v.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(v.to_owned()))
        }
        Some(_) => Err(Error::InvalidHeader {
            name: "Idempotency-Key",
            reason: "is not 1 to 255 visible ASCII characters".to_owned(),
        }),
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// `POST /app/roster`: a roster for the person's own facility, through the roster
/// API's service. The page's script sends the API's JSON body (`X-CSRF-Token`,
/// `Idempotency-Key`) and is answered as the API answers (201 with the roster, or
/// problem+json); the form posted without script is answered with a page.
pub(crate) async fn submit_roster(
    req: HttpRequest,
    payload: web::Payload,
    session: Result<SignedIn, Error>,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, actix_web::Error> {
    if is_json(&req) {
        let person = session?;
        person.check_csrf(req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()))?;
        let facility = person.facility.ok_or(Error::NoFacility)?;
        person.caller.require(Scope::RostersWrite)?;
        let key = rosters::idempotency_key(&req)?;
        let body = rosters::json_body(&req, payload).await?;
        let submitted =
            rosters::submit(&store, &person.caller, facility, key.as_deref(), &body).await?;
        return Ok(rosters::answer_submitted(trail, &person.caller, submitted).await);
    }
    let page = |e: Error| actix_web::Error::from(PageError(e));
    let person = session.map_err(page)?;
    let fields = form_body(payload).await.map_err(page)?;
    person.check_csrf(field(&fields, "csrf")).map_err(page)?;
    let facility = person.facility.ok_or(Error::NoFacility).map_err(page)?;
    let key = form_key(field(&fields, "idempotency_key")).map_err(page)?;
    let body = roster_body(&fields);
    let Submitted { view, .. } =
        rosters::submit(&store, &person.caller, facility, key.as_deref(), &body)
            .await
            .map_err(page)?;
    let staff_ids = view.staff_ids();
    let response = see_other(&format!("/app/roster?sent={}", view.id)).finish();
    Ok(trail.answer(&person.caller, staff_ids, response).await)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A form's fields as the page posts them.
    pub(crate) fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The form reads as the page's script reads it: marked people are entries, the
    /// rest are left out, an absence's reason is written into its note, added people
    /// are present.
    #[test]
    fn the_form_becomes_the_roster_apis_body() {
        let body = roster_body(&form(&[
            ("csrf", "t"),
            ("period", "2025-12"),
            ("e.0.civil_servant_id", "1000123456"),
            ("e.0.name_km", "សុខ ចាន់ថា"),
            ("e.0.status", "present"),
            ("e.1.civil_servant_id", "1000654321"),
            ("e.1.name_km", "កែវ សុភា"),
            ("e.1.status", "absent"),
            ("e.1.reason", "on_leave"),
            ("e.1.note", "ដល់ខែមីនា"),
            ("e.2.name_km", "ចាន់ ដារ៉ា"),
            ("e.2.status", "unknown"),
            ("e.3.name_km", "ហេង វណ្ណា"),
            ("a.0.name_km", "លី សុខា"),
            ("a.0.name_latin", "Ly Sokha"),
            ("a.0.sex", "female"),
            ("a.0.role", ""),
            ("a.1.name_km", ""),
        ]));
        assert_eq!(
            body,
            json!({"period": "2025-12", "entries": [
                {"civil_servant_id": "1000123456", "name_km": "សុខ ចាន់ថា", "present": true},
                {"civil_servant_id": "1000654321", "name_km": "កែវ សុភា", "present": false,
                 "note": "ច្បាប់ឈប់សម្រាក (On leave): ដល់ខែមីនា"},
                {"name_km": "លី សុខា", "name_latin": "Ly Sokha", "sex": "female", "present": true},
            ]})
        );
    }

    #[test]
    fn a_forms_idempotency_key_is_what_the_header_would_accept() {
        assert_eq!(form_key(None).ok(), Some(None));
        assert_eq!(form_key(Some(" ")).ok(), Some(None));
        assert_eq!(
            form_key(Some("67e55044-10b1-426f-9247-bb680e5fe0c8"))
                .ok()
                .flatten()
                .as_deref(),
            Some("67e55044-10b1-426f-9247-bb680e5fe0c8")
        );
        assert!(form_key(Some("has space")).is_err());
    }

    #[test]
    fn an_absence_gives_a_reason_of_the_findings_vocabulary_but_a_data_error() {
        let reasons = absence_reasons();
        assert!(reasons.iter().any(|r| r.code == "on_leave"));
        assert!(reasons.iter().all(|r| r.code != "data_error"));
    }
}
