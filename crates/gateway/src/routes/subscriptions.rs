//! Subscriptions: a ministry's system asks to be told of events (findings opened and
//! resolved, corrections for it, staff and facility records changed), delivered to its
//! URL signed as Standard Webhooks does, and reads and replays what could not be
//! delivered. Every route needs `subscriptions:admin`; a caller with a jurisdiction
//! sees only the subscriptions made inside it, which receive only the events there.
//! Each call is audited (who subscribed where; dead letters name records).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use schema::{FieldError, Ministry};
use serde::{Deserialize, Serialize};
use store::{DeadLetter, EventType, NewSubscription, Store, StoredSubscription};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Scope};
use crate::config::PushSettings;
use crate::error::{Error, Problem};
use crate::params::{self, encode_cursor};
use crate::routes::rosters::json_body;
use crate::routes::{AuditTrail, Audited, Routes};

pub(crate) fn register(routes: &mut Routes<'_>) {
    routes
        .service(create_subscription)
        .service(list_subscriptions)
        .service(get_subscription)
        .service(delete_subscription)
        .service(list_dead_letters)
        .service(replay_dead_letter);
}

/// A subscription to make.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "url": "https://hooks.moh.gov.kh/interop/events",
    "events": ["finding.opened", "finding.resolved", "correction.created"],
    "description": "MoH HRIS: findings and corrections in Kampot",
    "ministry": "moh"
}))]
pub struct SubscriptionInput {
    /// Where to deliver: an `https://` URL on a host the gateway's allow-list names.
    pub url: String,
    /// Any of `finding.opened`, `finding.resolved`, `correction.created`,
    /// `staff.changed`, `facility.changed`.
    pub events: Vec<String>,
    /// Up to 500 characters: whose system this is, what for.
    pub description: Option<String>,
    /// Only the events that concern this ministry (`mcs`, `moh`, `moeys`, `mef`,
    /// `moi`), such as corrections to its records; events that name no ministry
    /// (findings, record changes) are delivered anyway.
    pub ministry: Option<String>,
}

/// A subscription.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0b8f3f0e-5d5a-4c4f-9a51-3f1f2c6d7e80",
    "url": "https://hooks.moh.gov.kh/interop/events",
    "events": ["finding.opened", "finding.resolved", "correction.created"],
    "description": "MoH HRIS: findings and corrections in Kampot",
    "ministry": "moh",
    "jurisdiction": "07",
    "created_by": "moh-hris",
    "created_at": "2026-12-02T08:00:00Z",
    "deliveries": {"pending": 2, "delivered": 1520, "dead": 0}
}))]
pub struct SubscriptionView {
    pub id: uuid::Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub ministry: Option<String>,
    /// The area whose events it receives: its maker's jurisdiction (none: the country).
    pub jurisdiction: Option<String>,
    /// The client (token `sub`) that made it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub deliveries: DeliveryCounts,
}

/// How a subscription's deliveries stand.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryCounts {
    /// Not delivered yet: due, or waiting for a retry.
    pub pending: i64,
    pub delivered: i64,
    /// Failed their last try: see `/dead-letters`.
    pub dead: i64,
}

impl From<StoredSubscription> for SubscriptionView {
    fn from(s: StoredSubscription) -> Self {
        Self {
            id: s.id,
            url: s.url,
            events: s.events,
            description: s.description,
            ministry: s.ministry,
            jurisdiction: s.jurisdiction,
            created_by: s.created_by,
            created_at: s.created_at,
            deliveries: DeliveryCounts {
                pending: s.pending,
                delivered: s.delivered,
                dead: s.dead,
            },
        }
    }
}

/// A subscription just made, with its signing secret: shown this once, never again.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0b8f3f0e-5d5a-4c4f-9a51-3f1f2c6d7e80",
    "url": "https://hooks.moh.gov.kh/interop/events",
    "events": ["finding.opened", "finding.resolved", "correction.created"],
    "description": "MoH HRIS: findings and corrections in Kampot",
    "ministry": "moh",
    "jurisdiction": "07",
    "created_by": "moh-hris",
    "created_at": "2026-12-02T08:00:00Z",
    "deliveries": {"pending": 0, "delivered": 0, "dead": 0},
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwNWdyZWVkYmFjaw=="
}))]
pub struct CreatedSubscription {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    /// Verifies each delivery's `webhook-signature`: HMAC-SHA256 under the base64
    /// after `whsec_`, of `{webhook-id}.{webhook-timestamp}.{body}`, in base64 after
    /// `v1,`. Keep it secret; it is not shown again (delete and subscribe anew to
    /// change it).
    pub secret: String,
}

/// The subscriptions the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionList {
    pub items: Vec<SubscriptionView>,
}

/// A delivery that failed its last try.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "5f0c1e2a-8b7d-4e3f-a1b2-c3d4e5f60718",
    "event_id": "9a7b6c5d-4e3f-4a1b-8c2d-1e0f9a8b7c6d",
    "event_type": "finding.opened",
    "payload": {"type": "finding.opened", "timestamp": "2026-12-02T08:00:00Z",
                "data": {"id": "2d1c0b9a-8f7e-4d6c-b5a4-93827160f5e4", "kind": "on_roll_not_serving",
                         "facility_id": "67e55044-10b1-426f-9247-bb680e5fe0c8", "admin_unit_code": "070201",
                         "staff_ids": ["b1a2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"]}},
    "attempts": 10,
    "last_status": 503,
    "last_error": "answered 503 Service Unavailable",
    "last_attempt_at": "2026-12-03T20:00:00Z",
    "created_at": "2026-12-02T08:00:00Z"
}))]
pub struct DeadLetterView {
    /// The delivery's id: replay it by this.
    pub id: uuid::Uuid,
    /// The event's id, sent as `webhook-id` on every attempt and after a replay.
    pub event_id: uuid::Uuid,
    pub event_type: String,
    /// The body that was sent.
    pub payload: serde_json::Value,
    pub attempts: i32,
    /// The last answer's status, when there was one.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<DeadLetter> for DeadLetterView {
    fn from(d: DeadLetter) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            payload: d.payload,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            last_attempt_at: d.last_attempt_at,
            created_at: d.created_at,
        }
    }
}

/// A page of dead letters.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterList {
    pub items: Vec<DeadLetterView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// A dead letter put back in the queue.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "5f0c1e2a-8b7d-4e3f-a1b2-c3d4e5f60718", "status": "pending",
                          "next_attempt_at": "2026-12-04T09:00:00Z"}))]
pub struct ReplayView {
    pub id: uuid::Uuid,
    /// `pending`: it is due now, with its tries counted afresh.
    pub status: &'static str,
    pub next_attempt_at: DateTime<Utc>,
}

/// Paging of `GET /v1/subscriptions/{id}/dead-letters`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

const MAX_DESCRIPTION: usize = 500;

/// The scope that reads what an event tells of: a subscription tells nobody more than
/// its maker may read (as the change feed and the discrepancy list ask the same).
fn reading_scope(event: EventType) -> Option<Scope> {
    match event {
        EventType::FindingOpened | EventType::FindingResolved => Some(Scope::ReportsRead),
        EventType::StaffChanged => Some(Scope::StaffRead),
        EventType::FacilityChanged => Some(Scope::FacilitiesRead),
        // Corrections are read under their own module's scope; the event names the
        // correction only.
        EventType::CorrectionCreated => None,
    }
}

/// Reads a subscription's body field by field, so every fault is reported at once; a
/// URL off the allow-list is its own problem (`destination_not_allowed`).
fn read_input(
    body: &serde_json::Value,
    push: &PushSettings,
    caller: &Caller,
) -> Result<NewSubscription, Error> {
    let mut errors = Vec::new();
    let mut fault = |field: &str, reason: String| {
        errors.push(FieldError {
            index: None,
            field: field.to_owned(),
            reason,
        });
    };
    let Some(object) = body.as_object() else {
        return Err(Error::InvalidBody("send a JSON object".to_owned()));
    };
    for key in object.keys() {
        if !["url", "events", "description", "ministry"].contains(&key.as_str()) {
            fault(key, "is not a field of a subscription".to_owned());
        }
    }
    let url = match object.get("url") {
        Some(serde_json::Value::String(u)) if !u.contains('\0') && u.len() <= 2000 => {
            Some(u.clone())
        }
        Some(serde_json::Value::String(_)) => {
            fault(
                "url",
                "must be at most 2000 characters, without NUL".to_owned(),
            );
            None
        }
        Some(_) => {
            fault("url", "must be a string".to_owned());
            None
        }
        None => {
            fault("url", "is required".to_owned());
            None
        }
    };
    let mut events = Vec::new();
    match object.get("events") {
        Some(serde_json::Value::Array(list)) if !list.is_empty() => {
            for e in list {
                match e.as_str().and_then(EventType::parse) {
                    Some(t) if !events.contains(&t) => events.push(t),
                    Some(_) => {}
                    None => fault(
                        "events",
                        format!("{e} is not one of {}", EventType::names().join(", ")),
                    ),
                }
            }
        }
        Some(_) => fault(
            "events",
            "must be a non-empty list of event types".to_owned(),
        ),
        None => fault("events", "is required".to_owned()),
    }
    let description = match object.get("description") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(d))
            if d.chars().count() <= MAX_DESCRIPTION && !d.contains('\0') =>
        {
            Some(d.clone())
        }
        Some(_) => {
            fault(
                "description",
                format!("must be text of at most {MAX_DESCRIPTION} characters, without NUL"),
            );
            None
        }
    };
    let ministry = match object.get("ministry") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(m)) => match Ministry::parse(m) {
            Ok(m) => Some(m.as_str().to_owned()),
            Err(e) => {
                fault("ministry", e.reason);
                None
            }
        },
        Some(_) => {
            fault("ministry", "must be a ministry code".to_owned());
            None
        }
    };
    if !errors.is_empty() {
        return Err(Error::InvalidFields(errors));
    }
    let url = url.unwrap_or_default();
    let url = push
        .destinations()
        .check(&url)
        .map_err(Error::DestinationNotAllowed)?
        .to_string();
    Ok(NewSubscription {
        url,
        events,
        description,
        ministry,
        jurisdiction: caller.jurisdiction.clone(),
        secret: crate::push::new_secret()?,
        created_by: caller.client.clone(),
    })
}

/// Subscribe to events.
///
/// Events are delivered to `url` as `POST` requests with a JSON body
/// `{"type", "timestamp", "data"}` (`data` holds ids and places, never a personal value:
/// read the record through the API), signed as Standard Webhooks does: headers
/// `webhook-id` (the event's id: the same on every retry, so drop what you have seen),
/// `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` and the base64
/// HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` under the secret this
/// answer shows, once). Any 2xx is delivered; anything else, a timeout included, is
/// tried again later with growing waits, and after the last try the delivery is a
/// dead letter (`/dead-letters`), which can be replayed. Delivery is at least once.
/// The URL's host must be on the gateway's allow-list (`push.allowed_hosts`), over
/// HTTPS. The events: `finding.opened` (`data`: `id`, `kind`, `facility_id`,
/// `admin_unit_code`, `staff_ids`), `finding.resolved` (the same), `correction.created`
/// (the correction), `staff.changed` and `facility.changed` (`id`, `version`,
/// `admin_unit_code`). With a jurisdiction, only the events placed inside it.
/// Needs `subscriptions:admin`, and the scope that reads what each event type tells of
/// (`reports:read` for findings, `staff:read`, `facilities:read`).
#[utoipa::path(
    tag = "subscriptions",
    request_body(content = SubscriptionInput, content_type = "application/json"),
    security(("bearer" = ["subscriptions:admin", "reports:read", "staff:read", "facilities:read"])),
    responses(
        (status = 201, description = "Subscribed: the subscription and its signing secret (shown once)", body = CreatedSubscription,
         headers(("Location" = String, description = "The subscription's URL"))),
        (status = 400, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `subscriptions:admin`, or the scope reading an event type asked for", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 4 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not sent as application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid (`invalid_fields`), or the URL is not an allowed destination (`destination_not_allowed`)", body = Problem, content_type = "application/problem+json",
         example = json!({
            "type": "urn:interop-gateway:problem:destination_not_allowed", "title": "Destination not allowed", "status": 422,
            "detail": "url: host 169.254.169.254 is not on the gateway's allow-list (push.allowed_hosts)",
            "code": "destination_not_allowed",
            "errors": [{"field": "url", "detail": "host 169.254.169.254 is not on the gateway's allow-list (push.allowed_hosts)"}]})),
    )
)]
#[post("/v1/subscriptions")]
pub async fn create_subscription(
    req: HttpRequest,
    payload: web::Payload,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
    push: web::Data<PushSettings>,
) -> Result<Audited, Error> {
    caller.require(Scope::SubscriptionsAdmin)?;
    let body = json_body(&req, payload).await?;
    let new = read_input(&body, &push, &caller)?;
    for event in &new.events {
        if let Some(scope) = reading_scope(*event) {
            caller.require(scope)?;
        }
    }
    let secret = new.secret.expose().to_owned();
    let stored = store.create_subscription(&new).await?;
    let view = CreatedSubscription {
        subscription: stored.into(),
        secret,
    };
    let mut response = HttpResponse::Created();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/subscriptions/{}", view.subscription.id)) {
        response.insert_header((header::LOCATION, v));
    }
    response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    Ok(trail.answer(&caller, Vec::new(), response.json(view)).await)
}

/// List subscriptions.
///
/// The subscriptions made inside the caller's jurisdiction (every one for a national
/// token), oldest first, each with how its deliveries stand. Secrets are never shown.
/// Needs `subscriptions:admin`.
#[utoipa::path(
    tag = "subscriptions",
    security(("bearer" = ["subscriptions:admin"])),
    responses(
        (status = 200, description = "The subscriptions", body = SubscriptionList),
        (status = 400, description = "A query parameter was given (there are none)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `subscriptions:admin`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/subscriptions")]
pub async fn list_subscriptions(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::SubscriptionsAdmin)?;
    let _: NoQuery = params::raw_query(&req)?;
    let items = store
        .list_subscriptions(caller.jurisdiction.as_ref())
        .await?
        .into_iter()
        .map(SubscriptionView::from)
        .collect();
    Ok(trail
        .answer(
            &caller,
            Vec::new(),
            HttpResponse::Ok().json(SubscriptionList { items }),
        )
        .await)
}

/// No query parameters at all.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoQuery {}

fn not_found(id: uuid::Uuid) -> Error {
    Error::NotFound {
        what: "subscription",
        id: id.to_string(),
    }
}

/// Get a subscription.
///
/// One subscription (without its secret) and how its deliveries stand. Needs
/// `subscriptions:admin`; one made outside the caller's jurisdiction is a 404.
#[utoipa::path(
    tag = "subscriptions",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id")),
    security(("bearer" = ["subscriptions:admin"])),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionView),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `subscriptions:admin`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/subscriptions/{id}")]
pub async fn get_subscription(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::SubscriptionsAdmin)?;
    let id = params::path_uuid(&req, "id")?;
    let found = store
        .get_subscription(id, caller.jurisdiction.as_ref())
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(trail
        .answer(
            &caller,
            Vec::new(),
            HttpResponse::Ok().json(SubscriptionView::from(found)),
        )
        .await)
}

/// Delete a subscription.
///
/// Stops its deliveries: those not yet made are dropped, with its dead letters (an
/// attempt already under way ends). Needs `subscriptions:admin`; one made outside the
/// caller's jurisdiction is a 404.
#[utoipa::path(
    tag = "subscriptions",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id")),
    security(("bearer" = ["subscriptions:admin"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `subscriptions:admin`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/subscriptions/{id}")]
pub async fn delete_subscription(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::SubscriptionsAdmin)?;
    let id = params::path_uuid(&req, "id")?;
    if !store
        .delete_subscription(id, caller.jurisdiction.as_ref())
        .await?
    {
        return Err(not_found(id));
    }
    Ok(trail
        .answer(&caller, Vec::new(), HttpResponse::NoContent().finish())
        .await)
}

/// List a subscription's dead letters.
///
/// Deliveries that failed their last try, with the body that was sent and the last
/// failure. Replay one with `POST .../dead-letters/{delivery_id}/replay`. Needs
/// `subscriptions:admin`; a subscription outside the caller's jurisdiction is a 404.
/// Audited (the events name records).
#[utoipa::path(
    tag = "subscriptions",
    params(("id" = uuid::Uuid, Path, description = "The subscription's id"), DeadLetterQuery),
    security(("bearer" = ["subscriptions:admin"])),
    responses(
        (status = 200, description = "A page of dead letters", body = DeadLetterList),
        (status = 400, description = "A malformed id or parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `subscriptions:admin`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/subscriptions/{id}/dead-letters")]
pub async fn list_dead_letters(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::SubscriptionsAdmin)?;
    let id = params::path_uuid(&req, "id")?;
    let q: DeadLetterQuery = params::raw_query(&req)?;
    let limit = params::limit(q.limit.as_deref())?;
    let after = params::decode_cursor::<uuid::Uuid>(q.cursor.as_deref())?;
    let letters = store
        .list_dead_letters(id, caller.jurisdiction.as_ref(), after, limit)
        .await?
        .ok_or_else(|| not_found(id))?;
    let next_cursor = (letters.len() == limit)
        .then(|| letters.last().map(|d| encode_cursor(&d.id)))
        .flatten();
    // The staff named: those whose changes the events tell.
    let staff = letters
        .iter()
        .filter(|d| d.event_type == EventType::StaffChanged.as_str())
        .filter_map(|d| d.payload["data"]["id"].as_str()?.parse().ok())
        .chain(letters.iter().flat_map(|d| {
            d.payload["data"]["staff_ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str()?.parse().ok())
        }))
        .collect();
    let body = DeadLetterList {
        items: letters.into_iter().map(DeadLetterView::from).collect(),
        next_cursor,
    };
    Ok(trail
        .answer(&caller, staff, HttpResponse::Ok().json(body))
        .await)
}

/// Replay a dead letter.
///
/// Puts the delivery back in the queue, due now, with its tries counted afresh; the
/// event keeps its id (`webhook-id`), so a receiver that did get it after all drops it.
/// Needs `subscriptions:admin`; 404 when the subscription (inside the caller's
/// jurisdiction) has no such dead letter.
#[utoipa::path(
    tag = "subscriptions",
    params(
        ("id" = uuid::Uuid, Path, description = "The subscription's id"),
        ("delivery_id" = uuid::Uuid, Path, description = "The dead letter's id"),
    ),
    security(("bearer" = ["subscriptions:admin"])),
    responses(
        (status = 202, description = "Queued again", body = ReplayView),
        (status = 400, description = "An id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `subscriptions:admin`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dead letter of this subscription (or not in the caller's jurisdiction)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/subscriptions/{id}/dead-letters/{delivery_id}/replay")]
pub async fn replay_dead_letter(
    req: HttpRequest,
    caller: Caller,
    trail: AuditTrail,
    store: web::Data<Store>,
) -> Result<Audited, Error> {
    caller.require(Scope::SubscriptionsAdmin)?;
    let id = params::path_uuid(&req, "id")?;
    let delivery = params::path_uuid(&req, "delivery_id")?;
    let due = store
        .replay_dead_letter(id, delivery, caller.jurisdiction.as_ref())
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "dead letter",
            id: delivery.to_string(),
        })?;
    let view = ReplayView {
        id: delivery,
        status: "pending",
        next_attempt_at: due,
    };
    Ok(trail
        .answer(&caller, Vec::new(), HttpResponse::Accepted().json(view))
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push() -> PushSettings {
        let mut s = crate::config::Settings::defaults().expect("defaults").push;
        s.allowed_hosts = vec!["hooks.moh.gov.kh".to_owned()];
        s
    }

    fn caller() -> Caller {
        Caller::for_tests("moh-hris", &["subscriptions:admin"], Some("07"))
    }

    #[test]
    fn a_subscription_is_read_with_every_fault_named() {
        let ok = serde_json::json!({"url": "https://hooks.moh.gov.kh/e", "events": ["finding.opened", "finding.opened"], "ministry": "moh"});
        let new = read_input(&ok, &push(), &caller()).expect("valid");
        assert_eq!(new.events, [EventType::FindingOpened]);
        assert_eq!(
            new.jurisdiction.map(|j| j.to_string()).as_deref(),
            Some("07")
        );
        assert!(new.secret.expose().starts_with("whsec_"));
        let bad = serde_json::json!({"url": 5, "events": ["finding.closed"], "ministry": "xyz", "colour": "red"});
        match read_input(&bad, &push(), &caller()) {
            Err(Error::InvalidFields(list)) => {
                let fields: Vec<&str> = list.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["colour", "url", "events", "ministry"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_url_off_the_allow_list_is_its_own_problem_naming_url() {
        let body = serde_json::json!({"url": "http://10.0.0.5/admin", "events": ["staff.changed"]});
        let err = read_input(&body, &push(), &caller()).expect_err("refused");
        let problem = err.problem();
        assert_eq!(
            (problem.status, problem.code),
            (422, "destination_not_allowed")
        );
        let errors = problem.errors.expect("errors");
        assert_eq!(errors[0].field, "url");
    }
}
