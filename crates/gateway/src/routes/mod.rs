//! The HTTP routes. Handlers stay thin: read the caller and the parameters into
//! domain values, make one store call, shape the answer.
//!
//! Each module registers its own handlers ([`register`]) into utoipa-actix-web's
//! service config, which adds a handler to the app and its operation to the OpenAPI
//! document in one call: the app (`startup`) and the document (`openapi::spec`) are
//! both made by [`register`], so neither can have a route the other lacks. Answers
//! that name people are [`Audited`] (see `audited`).

pub mod admin_units;
pub mod audited;
pub mod changes;
pub mod corrections;
pub mod discrepancies;
pub mod facilities;
pub mod health;
pub mod matches;
pub mod reports;
pub mod rosters;
pub mod staff;
pub mod subscriptions;
pub mod sync;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

pub use audited::{AuditTrail, Audited};

/// Where a route module registers its handlers: each one for the app and the document.
pub type Routes<'a> = utoipa_actix_web::service_config::ServiceConfig<'a>;

/// Registers every route of the API. The order is the order actix tries them in; no
/// two of them match the same request (`/v1/sync/{ministry}` takes only the five
/// ministries, so `/v1/sync/runs` is not one), so it does not change which answers.
pub fn register(routes: &mut Routes<'_>) {
    health::register(routes);
    staff::register(routes);
    facilities::register(routes);
    rosters::register(routes);
    admin_units::register(routes);
    sync::register(routes);
    changes::register(routes);
    discrepancies::register(routes);
    matches::register(routes);
    corrections::register(routes);
    reports::register(routes);
    subscriptions::register(routes);
}

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

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;
    use actix_web::http::StatusCode;
    use actix_web::test::TestRequest;

    use super::*;

    fn answer(if_none_match: Option<&'static str>) -> HttpResponse {
        let mut req = TestRequest::get();
        if let Some(v) = if_none_match {
            req = req.insert_header((header::IF_NONE_MATCH, v));
        }
        single_record(
            &req.to_http_request(),
            "s7-m",
            &serde_json::json!({"id": 1}),
        )
    }

    fn header_of(r: &HttpResponse, name: header::HeaderName) -> Option<&str> {
        r.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn a_record_carries_its_quoted_etag_and_is_revalidated_each_time() {
        let r = answer(None);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header_of(&r, header::ETAG), Some("\"s7-m\""));
        assert_eq!(
            header_of(&r, header::CACHE_CONTROL),
            Some("private, no-cache")
        );
        let body = r.into_body().try_into_bytes().expect("a body in memory");
        assert_eq!(&body[..], br#"{"id":1}"#);
    }

    #[test]
    fn a_matching_if_none_match_is_a_304_without_a_body() {
        for matching in ["\"s7-m\"", "W/\"s7-m\"", "\"s6-m\", \"s7-m\"", "*"] {
            let r = answer(Some(matching));
            assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{matching}");
            assert_eq!(header_of(&r, header::ETAG), Some("\"s7-m\""));
            let body = r.into_body().try_into_bytes().expect("empty");
            assert!(body.is_empty(), "{matching}");
        }
    }

    /// Another version, the other masking, or an unquoted tag is not a match.
    #[test]
    fn another_etag_is_answered_in_full() {
        for other in ["\"s6-m\"", "\"s7-p\"", "s7-m", ""] {
            assert_eq!(answer(Some(other)).status(), StatusCode::OK, "{other}");
        }
    }
}
