//! The HTTP routes. Handlers stay thin: read the caller and the parameters into
//! domain values, make one store call, shape the answer.

pub mod admin_units;
pub mod changes;
pub mod discrepancies;
pub mod facilities;
pub mod health;
pub mod reports;
pub mod rosters;
pub mod staff;
pub mod sync;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

/// A single record with its ETag, or 304 when the client's `If-None-Match` has it.
pub(crate) fn single_record<T: Serialize>(req: &HttpRequest, etag: &str, body: &T) -> HttpResponse {
    let quoted = format!("\"{etag}\"");
    let matches = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == quoted);
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    if let Ok(v) = HeaderValue::from_str(&quoted) {
        response.insert_header((header::ETAG, v));
    }
    response.insert_header((
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    ));
    if matches {
        response.finish()
    } else {
        response.json(body)
    }
}

/// The route and query of a request, as the audit log records them.
pub(crate) fn route_and_query(req: &HttpRequest) -> (String, String) {
    (req.path().to_owned(), req.query_string().to_owned())
}
