//! Answers that name people cannot leave without an audit entry.
//!
//! A handler whose answer carries staff (or raw ministry records, which name people)
//! returns [`Audited`] rather than an `HttpResponse`. The only way to make one is
//! [`AuditTrail::answer`], which queues the entry (caller, route and query, request
//! id, the status being sent, the ids of the records named) before it hands the
//! response back: such a handler cannot forget the audit, and the entry records the
//! status actually answered (a 304 as a 304).

use std::future::{Ready, ready};

use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder, web};
use chrono::Utc;
use store::AuditEntry;

use crate::audit::AuditSink;
use crate::auth::Caller;
use crate::error::Error;
use crate::observe::RequestId;

/// The request's side of an audit entry, taken from the request as a handler
/// argument: the audit queue, the request id, and the route and query asked.
#[derive(Debug)]
pub struct AuditTrail {
    sink: web::Data<AuditSink>,
    request_id: RequestId,
    route: String,
    query: String,
}

impl FromRequest for AuditTrail {
    type Error = Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let Some(sink) = req.app_data::<web::Data<AuditSink>>().cloned() else {
            return ready(Err(Error::Config("no audit sink".to_owned())));
        };
        let request_id = match RequestId::from_request(req, payload).into_inner() {
            Ok(id) => id,
            Err(never) => match never {},
        };
        ready(Ok(Self {
            sink,
            request_id,
            route: req.path().to_owned(),
            query: req.query_string().to_owned(),
        }))
    }
}

impl AuditTrail {
    /// Records that `caller` is answered `response`, which names `record_ids`, and
    /// hands the response back as the [`Audited`] the handler returns.
    pub async fn answer(
        self,
        caller: &Caller,
        record_ids: Vec<uuid::Uuid>,
        response: HttpResponse,
    ) -> Audited {
        self.sink
            .record(self.entry(caller, record_ids, &response))
            .await;
        Audited(response)
    }

    fn entry(
        &self,
        caller: &Caller,
        record_ids: Vec<uuid::Uuid>,
        response: &HttpResponse,
    ) -> AuditEntry {
        AuditEntry {
            id: AuditEntry::new_id(),
            at: Utc::now(),
            request_id: self.request_id.0.clone(),
            client: caller.client.clone(),
            route: self.route.clone(),
            query: self.query.clone(),
            status: response.status().as_u16(),
            record_ids,
        }
    }
}

/// A response whose audit entry is queued: made only by [`AuditTrail::answer`].
#[derive(Debug)]
#[must_use = "an audited answer is meant to be returned"]
pub struct Audited(HttpResponse);

impl Responder for Audited {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse<Self::Body> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::test::TestRequest;

    use super::*;

    fn trail(req: &HttpRequest) -> AuditTrail {
        AuditTrail::from_request(req, &mut Payload::None)
            .into_inner()
            .expect("a sink is configured")
    }

    #[test]
    fn the_entry_names_the_caller_route_query_request_and_status_sent() {
        let (sink, _queue) = AuditSink::for_tests(4);
        let req = TestRequest::get()
            .uri("/v1/staff?employer=MOH&limit=2")
            .app_data(web::Data::new(sink))
            .to_http_request();
        let caller = Caller::for_tests("hr-app", &["staff:read"], None);
        let id = uuid::Uuid::new_v4();
        let not_modified = HttpResponse::NotModified().finish();
        let entry = trail(&req).entry(&caller, vec![id], &not_modified);
        assert_eq!(entry.client, "hr-app");
        assert_eq!(entry.route, "/v1/staff");
        assert_eq!(entry.query, "employer=MOH&limit=2");
        assert_eq!(entry.status, 304);
        assert_eq!(entry.record_ids, vec![id]);
        // Without a request id from the observe middleware, a fresh one.
        assert!(uuid::Uuid::parse_str(&entry.request_id).is_ok());
    }

    #[test]
    fn the_request_id_is_the_one_the_request_carries() {
        let (sink, _queue) = AuditSink::for_tests(4);
        let req = TestRequest::get()
            .uri("/v1/staff")
            .app_data(web::Data::new(sink))
            .to_http_request();
        actix_web::HttpMessage::extensions_mut(&req).insert(RequestId("req-42".to_owned()));
        let caller = Caller::for_tests("a", &[], None);
        let entry = trail(&req).entry(&caller, Vec::new(), &HttpResponse::Ok().finish());
        assert_eq!(entry.request_id, "req-42");
        assert_eq!(entry.status, 200);
    }

    #[tokio::test]
    async fn answering_queues_the_entry_and_returns_the_response_unchanged() {
        let (sink, mut queue) = AuditSink::for_tests(4);
        let req = TestRequest::get()
            .uri("/v1/rosters/x")
            .app_data(web::Data::new(sink))
            .to_http_request();
        let caller = Caller::for_tests("site-head", &["rosters:write"], None);
        let audited = trail(&req)
            .answer(&caller, Vec::new(), HttpResponse::Created().finish())
            .await;
        let queued = queue.try_recv().expect("an entry is queued");
        assert_eq!((queued.client.as_str(), queued.status), ("site-head", 201));
        assert_eq!(audited.respond_to(&req).status(), StatusCode::CREATED);
    }

    #[test]
    fn without_a_sink_the_request_is_refused_not_answered_unaudited() {
        let req = TestRequest::get().uri("/v1/staff").to_http_request();
        let refused = AuditTrail::from_request(&req, &mut Payload::None).into_inner();
        assert!(refused.is_err());
    }
}
