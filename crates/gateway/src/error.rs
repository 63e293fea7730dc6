//! The gateway's one error type, and the one place that maps every error (its own and
//! the store's) to an HTTP status and an RFC 9457 `application/problem+json` body with
//! a stable `code`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use store::StoreError;
use sync::{SourceSettingsError, SyncError};
use utoipa::ToSchema;

/// Everything that can go wrong in the gateway.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("query parameter `{name}`: {reason}")]
    InvalidParameter { name: String, reason: String },
    #[error("unknown query parameter `{0}`")]
    UnknownParameter(String),
    #[error("path segment `{name}`: {reason}")]
    InvalidPath { name: &'static str, reason: String },
    #[error("no {what} {id}")]
    NotFound { what: &'static str, id: String },
    #[error("no route {method} {path}")]
    NoRoute { method: String, path: String },
    #[error("{method} is not allowed on {path}: it takes {}", .allow.join(", "))]
    MethodNotAllowed {
        method: String,
        path: String,
        allow: Vec<&'static str>,
    },
    #[error("missing bearer token: send `Authorization: Bearer <JWT>`")]
    MissingToken,
    #[error("invalid token: {0}")]
    InvalidToken(String),
    #[error("token expired")]
    TokenExpired,
    #[error("token algorithm {0} is not accepted")]
    UnsupportedAlgorithm(String),
    #[error("the token's key set could not be fetched: {0}")]
    KeySetUnavailable(String),
    #[error("this needs the `{0}` scope, which the token does not grant")]
    MissingScope(&'static str),
    #[error("{0} is not configured: set ministries.{0}.base_url")]
    SourceNotConfigured(String),
    #[error("too many requests from this client: try again in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error("{0} is being synced already")]
    SyncInProgress(String),
    #[error("request body: {0}")]
    InvalidBody(String),
    #[error("request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("send the body as {0}")]
    UnsupportedMediaType(&'static str),
    #[error("header `{name}`: {reason}")]
    InvalidHeader { name: &'static str, reason: String },
    #[error("the roster has {} invalid field(s); nothing was stored", .0.len())]
    InvalidRoster(Vec<schema::FieldError>),
    /// An action sent with an `If-Match` version someone else has moved past.
    #[error(
        "the finding changed since version given in If-Match: it is at version {current} now; read it again"
    )]
    StaleVersion { current: i64 },
    /// An action on a finding the sources have resolved.
    #[error("the finding is resolved: the sources agree now, there is nothing to act on")]
    FindingResolved,
    /// `reopen` on a finding that is open.
    #[error("the finding is open already")]
    FindingAlreadyOpen,
    /// A request body whose fields hold values that are not allowed.
    #[error("the request has {} invalid field(s); nothing was changed", .0.len())]
    InvalidFields(Vec<schema::FieldError>),
    /// A subscription's URL the gateway may not deliver to.
    #[error("url: {0}")]
    DestinationNotAllowed(String),
    #[error(
        "this Idempotency-Key was used for a different request; use a new key for a new roster"
    )]
    IdempotencyKeyReused,
    /// An app page or request without a live session (none, or it ended).
    #[error("sign in first: there is no session, or it has ended")]
    SignInRequired,
    /// An app form or request without its session's CSRF token.
    #[error("the request does not carry this session's CSRF token: reload the page and try again")]
    CsrfFailed,
    /// A sign-in that came back wrong: an unknown or expired state, the provider's
    /// error, an ID token that does not verify, a claim that cannot be read.
    #[error("sign-in failed: {0}")]
    SignInFailed(String),
    /// The OpenID provider could not be reached or answered something unreadable.
    #[error("the identity provider: {0}")]
    IdentityProvider(String),
    /// No OpenID provider is configured (`app.issuer`).
    #[error("sign-in is not configured on this gateway (app.issuer)")]
    SignInNotConfigured,
    /// A site head's page for a person the provider names no facility for.
    #[error("the identity provider names no facility for this person")]
    NoFacility,
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A setting that cannot be used (the file, the environment, a key too short).
    #[error("configuration: {0}")]
    Config(String),
    /// A ministry's settings that make no source (a malformed base URL, a month that
    /// is not one).
    #[error("configuration: ministries.{0}")]
    SourceSettings(#[from] SourceSettingsError),
    /// A command-line argument that cannot be read.
    #[error("{name}: {reason}")]
    InvalidArgument { name: &'static str, reason: String },
    /// A sync that failed (not one refused as busy or not configured: those are
    /// [`Error::SyncInProgress`] and [`Error::SourceNotConfigured`]).
    #[error("sync: {0}")]
    Sync(SyncError),
    /// A CSV answer that could not be written.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    /// An XLSX answer that could not be written.
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// Something the code relies on did not hold (a bug, not a request's fault).
    #[error("internal: {0}")]
    Internal(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<SyncError> for Error {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::NotConfigured(m) => Self::SourceNotConfigured(m.to_string()),
            SyncError::Busy(m) => Self::SyncInProgress(m.to_string()),
            SyncError::Store(e) => Self::Store(e),
            other => Self::Sync(other),
        }
    }
}

/// An RFC 9457 problem, as every error response carries it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:interop-gateway:problem:invalid_parameter",
    "title": "Invalid parameter",
    "status": 400,
    "detail": "query parameter `admin_unit`: \"01x\" must contain only digits",
    "code": "invalid_parameter",
    "parameter": "admin_unit"
}))]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:interop-gateway:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable code of the problem.
    pub code: &'static str,
    /// The query parameter or path segment at fault, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// Every invalid field of a submitted body, where there are several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldProblem>>,
}

/// One invalid field of a submitted body.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"index": 3, "field": "civil_servant_id", "detail": "\"12\" is not 6 to 12 digits"}))]
pub struct FieldProblem {
    /// The entry's position in `entries` (from 0); absent for the body's own fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    pub field: String,
    pub detail: String,
}

impl Error {
    pub(crate) fn invalid(name: &str, reason: impl ToString) -> Self {
        Self::InvalidParameter {
            name: name.to_owned(),
            reason: reason.to_string(),
        }
    }

    /// (status, code, title) of each error: the stable part of the contract.
    fn classify(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::InvalidParameter { .. } => (
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                "Invalid parameter",
            ),
            Self::UnknownParameter(_) => (
                StatusCode::BAD_REQUEST,
                "unknown_parameter",
                "Unknown parameter",
            ),
            Self::InvalidPath { .. } => (StatusCode::BAD_REQUEST, "invalid_path", "Invalid path"),
            Self::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found", "Not found"),
            Self::NoRoute { .. } => (StatusCode::NOT_FOUND, "no_route", "No such route"),
            Self::MethodNotAllowed { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
            ),
            Self::MissingToken => (
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "Authentication required",
            ),
            Self::InvalidToken(_) => (StatusCode::UNAUTHORIZED, "invalid_token", "Invalid token"),
            Self::TokenExpired => (StatusCode::UNAUTHORIZED, "token_expired", "Token expired"),
            Self::UnsupportedAlgorithm(_) => (
                StatusCode::UNAUTHORIZED,
                "unsupported_algorithm",
                "Token algorithm not accepted",
            ),
            Self::KeySetUnavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "key_set_unavailable",
                "Signing keys unavailable",
            ),
            Self::MissingScope(_) => (StatusCode::FORBIDDEN, "missing_scope", "Insufficient scope"),
            Self::SourceNotConfigured(_) => (
                StatusCode::NOT_FOUND,
                "source_not_configured",
                "Source not configured",
            ),
            Self::SyncInProgress(_) => {
                (StatusCode::CONFLICT, "sync_in_progress", "Sync in progress")
            }
            Self::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests",
            ),
            Self::InvalidBody(_) => (StatusCode::BAD_REQUEST, "invalid_body", "Invalid body"),
            Self::BodyTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "Body too large",
            ),
            Self::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
            ),
            Self::InvalidHeader { .. } => {
                (StatusCode::BAD_REQUEST, "invalid_header", "Invalid header")
            }
            Self::InvalidRoster(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_roster",
                "Invalid roster",
            ),
            Self::StaleVersion { .. } => (
                StatusCode::PRECONDITION_FAILED,
                "stale_version",
                "Changed since read",
            ),
            Self::FindingResolved => (StatusCode::CONFLICT, "finding_resolved", "Finding resolved"),
            Self::FindingAlreadyOpen => (StatusCode::CONFLICT, "already_open", "Already open"),
            Self::InvalidFields(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_fields",
                "Invalid fields",
            ),
            Self::DestinationNotAllowed(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "destination_not_allowed",
                "Destination not allowed",
            ),
            Self::Store(StoreError::MatchDecided(_)) => {
                (StatusCode::CONFLICT, "match_decided", "Already decided")
            }
            Self::Store(StoreError::LastRecord { .. }) => {
                (StatusCode::CONFLICT, "last_record", "Nothing to split")
            }
            Self::Store(StoreError::NotOnPerson { .. }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_on_person",
                "Record not on this person",
            ),
            Self::IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency key reused",
            ),
            Self::SignInRequired => (
                StatusCode::UNAUTHORIZED,
                "sign_in_required",
                "Sign-in required",
            ),
            Self::CsrfFailed => (StatusCode::FORBIDDEN, "csrf_failed", "CSRF check failed"),
            Self::SignInFailed(_) => (StatusCode::BAD_REQUEST, "sign_in_failed", "Sign-in failed"),
            Self::IdentityProvider(_) => (
                StatusCode::BAD_GATEWAY,
                "identity_provider_unavailable",
                "Identity provider unavailable",
            ),
            Self::SignInNotConfigured => (
                StatusCode::NOT_FOUND,
                "sign_in_not_configured",
                "Sign-in not configured",
            ),
            Self::NoFacility => (StatusCode::FORBIDDEN, "no_facility", "No facility"),
            Self::Store(StoreError::Pool(_) | StoreError::NotMigrated { .. }) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "Database unavailable",
            ),
            Self::Store(_)
            | Self::Config(_)
            | Self::SourceSettings(_)
            | Self::InvalidArgument { .. }
            | Self::Sync(_)
            | Self::Csv(_)
            | Self::Xlsx(_)
            | Self::Internal(_)
            | Self::Io(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }

    pub fn code(&self) -> &'static str {
        self.classify().1
    }

    pub fn problem(&self) -> Problem {
        let (status, code, title) = self.classify();
        // Server-side failures are logged in full and told to the client in general terms.
        let detail = if status.is_server_error() {
            match self {
                Self::KeySetUnavailable(_) => {
                    "the identity provider's keys could not be fetched; try again".to_owned()
                }
                Self::IdentityProvider(_) => {
                    "the identity provider could not be reached; try again".to_owned()
                }
                Self::Store(StoreError::Pool(_) | StoreError::NotMigrated { .. }) => {
                    "the database is unavailable; try again".to_owned()
                }
                _ => "an internal error occurred; it has been logged".to_owned(),
            }
        } else {
            self.to_string()
        };
        let parameter = match self {
            Self::InvalidParameter { name, .. } | Self::UnknownParameter(name) => {
                Some(name.clone())
            }
            Self::InvalidPath { name, .. } | Self::InvalidHeader { name, .. } => {
                Some((*name).to_owned())
            }
            _ => None,
        };
        let errors = match self {
            Self::DestinationNotAllowed(reason) => Some(vec![FieldProblem {
                index: None,
                field: "url".to_owned(),
                detail: reason.clone(),
            }]),
            Self::InvalidRoster(list) | Self::InvalidFields(list) => Some(
                list.iter()
                    .map(|e| FieldProblem {
                        index: e.index,
                        field: e.field.clone(),
                        detail: e.reason.clone(),
                    })
                    .collect(),
            ),
            _ => None,
        };
        Problem {
            kind: format!("urn:interop-gateway:problem:{code}"),
            title,
            status: status.as_u16(),
            detail,
            code,
            parameter,
            errors,
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        self.classify().0
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.problem();
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, code = problem.code, "request failed");
        }
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        // The app's own refusals are not about bearer tokens.
        let app = matches!(
            self,
            Self::SignInRequired | Self::CsrfFailed | Self::NoFacility
        );
        if status == StatusCode::UNAUTHORIZED && !app {
            let error = if matches!(self, Self::MissingToken) {
                ""
            } else {
                ", error=\"invalid_token\""
            };
            let challenge = format!("Bearer realm=\"interop-gateway\"{error}");
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                response.insert_header((header::WWW_AUTHENTICATE, v));
            }
        }
        if let Self::RateLimited {
            retry_after_seconds,
        } = self
        {
            response.insert_header((header::RETRY_AFTER, *retry_after_seconds));
        }
        if let Self::MethodNotAllowed { allow, .. } = self
            && let Ok(v) = HeaderValue::from_str(&allow.join(", "))
        {
            response.insert_header((header::ALLOW, v));
        }
        if status == StatusCode::FORBIDDEN && !app {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"interop-gateway\", error=\"insufficient_scope\"",
                ),
            ));
        }
        response.json(problem)
    }
}
