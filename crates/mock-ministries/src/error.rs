//! The crate's one error type: failures to start, and the HTTP errors the mock
//! answers with.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// Everything that can go wrong in the mock.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the generated gazetteer is malformed: {0}")]
    Gazetteer(String),
    #[error("unknown scale {0:?}: expected small or full")]
    UnknownScale(String),
    #[error("unknown ministry {0:?}: expected moi, mcs, moh, moeys or mef")]
    UnknownMinistry(String),
    #[error("generating the world failed: {0}")]
    Generation(String),
    /// A request the mock cannot read (answered 400).
    #[error("{0}")]
    BadRequest(String),
    /// Nothing at this address (answered 404).
    #[error("{0}")]
    NotFound(String),
    /// An injected server error (answered 503).
    #[error("service unavailable (injected fault)")]
    InjectedUnavailable,
    /// An injected throttle (answered 429 with `Retry-After: 1`).
    #[error("too many requests (injected fault)")]
    InjectedThrottle,
}

impl ResponseError for MockError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::UnknownMinistry(_) | Self::Json(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::InjectedUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::InjectedThrottle => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, Self::InjectedThrottle) {
            response.insert_header(("Retry-After", "1"));
        }
        response.json(serde_json::json!({ "error": self.to_string() }))
    }
}
