//! Per-client rate limiting: a client is its token's `sub`, or, without a valid token,
//! its address. Each class of request (reads, roster writes, sync administration,
//! anything unauthenticated) has its own quota, so a site head's submissions are not
//! spent by a dashboard's reads. The limiters are made once and shared by every HTTP
//! worker (GCRA state in a concurrent map), so N workers do not grant N times the
//! quota. Over the limit: 429 problem+json with `Retry-After`.
//!
//! The token is verified here, once: the caller it yields is left in the request for
//! the handlers' `Caller` extractor, which then does not verify it again.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::Error;
use crate::auth::{Verifier, bearer_token};
use crate::config::{RateLimitSettings, RateQuota};

/// Who is counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Client {
    Subject(String),
    Address(IpAddr),
}

/// What kind of request is counted, each with a quota of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// With a valid token: reads.
    Read,
    /// With a valid token: a roster submitted.
    Write,
    /// With a valid token: a sync started.
    Admin,
    /// Without a valid token (health, metrics, docs, and refused attempts), by address.
    Anonymous,
}

impl Class {
    /// The class of an authenticated request.
    pub fn of(method: &Method, path: &str) -> Self {
        if *method == Method::POST && path.starts_with("/v1/sync/") {
            Self::Admin
        } else if *method == Method::GET || *method == Method::HEAD {
            Self::Read
        } else {
            Self::Write
        }
    }
}

/// The limiters, one per class; `None` where that class is not limited.
#[derive(Debug, Clone, Default)]
pub struct RateLimits {
    read: Option<Arc<DefaultKeyedRateLimiter<Client>>>,
    write: Option<Arc<DefaultKeyedRateLimiter<Client>>>,
    admin: Option<Arc<DefaultKeyedRateLimiter<Client>>>,
    anonymous: Option<Arc<DefaultKeyedRateLimiter<Client>>>,
}

fn limiter(q: &RateQuota) -> Option<Arc<DefaultKeyedRateLimiter<Client>>> {
    let per_second = NonZeroU32::new(q.per_second)?;
    let burst = NonZeroU32::new(q.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Some(Arc::new(RateLimiter::keyed(
        Quota::per_second(per_second).allow_burst(burst),
    )))
}

impl RateLimits {
    pub fn from_settings(s: &RateLimitSettings) -> Self {
        if !s.enabled {
            return Self::default();
        }
        Self {
            read: limiter(&s.read),
            write: limiter(&s.write),
            admin: limiter(&s.admin),
            anonymous: limiter(&s.anonymous),
        }
    }

    fn of(&self, class: Class) -> Option<&DefaultKeyedRateLimiter<Client>> {
        match class {
            Class::Read => self.read.as_deref(),
            Class::Write => self.write.as_deref(),
            Class::Admin => self.admin.as_deref(),
            Class::Anonymous => self.anonymous.as_deref(),
        }
        .map(|l| l as _)
    }

    /// `Err` with how long to wait when `client` is over its quota for `class`.
    fn check(&self, class: Class, client: &Client) -> Result<(), Duration> {
        let Some(limiter) = self.of(class) else {
            return Ok(());
        };
        limiter
            .check_key(client)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets clients whose quota has refilled, so the maps stay as small as the set
    /// of recently active clients. Run now and then.
    pub fn forget_idle(&self) {
        for l in [&self.read, &self.write, &self.admin, &self.anonymous]
            .into_iter()
            .flatten()
        {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    /// Runs [`Self::forget_idle`] every `period` on the current runtime.
    pub fn spawn_upkeep(&self, period: Duration) {
        let limits = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                limits.forget_idle();
            }
        });
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let limits = req.app_data::<web::Data<RateLimits>>().cloned();
    let verifier = req.app_data::<web::Data<Verifier>>().cloned();
    if let Some(limits) = limits {
        let caller = match (bearer_token(req.headers()), verifier) {
            (Some(token), Some(verifier)) => verifier.verify(token).await.ok(),
            _ => None,
        };
        let (class, client) = match &caller {
            Some(c) => (
                Class::of(req.method(), req.path()),
                Client::Subject(c.client.clone()),
            ),
            None => (
                Class::Anonymous,
                Client::Address(
                    req.peer_addr()
                        .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip()),
                ),
            ),
        };
        if let Err(wait) = limits.check(class, &client) {
            metrics::counter!("http_requests_limited_total", "class" => class.name()).increment(1);
            return Err(Error::RateLimited {
                retry_after_seconds: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
            .into());
        }
        if let Some(caller) = caller {
            req.extensions_mut().insert(caller);
        }
    }
    next.call(req).await
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
            Self::Anonymous => "anonymous",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(per_second: u32, burst: u32) -> RateQuota {
        RateQuota { per_second, burst }
    }

    fn settings() -> RateLimitSettings {
        RateLimitSettings {
            enabled: true,
            read: quota(1, 3),
            write: quota(1, 1),
            admin: quota(0, 0),
            anonymous: quota(1, 2),
        }
    }

    #[test]
    fn a_client_gets_its_burst_then_waits_and_others_are_not_touched() {
        let limits = RateLimits::from_settings(&settings());
        let a = Client::Subject("a".into());
        let b = Client::Subject("b".into());
        for _ in 0..3 {
            assert!(limits.check(Class::Read, &a).is_ok());
        }
        let wait = limits.check(Class::Read, &a).expect_err("over the burst");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(limits.check(Class::Read, &b).is_ok());
        // Each class has its own quota.
        assert!(limits.check(Class::Write, &a).is_ok());
        assert!(limits.check(Class::Write, &a).is_err());
    }

    #[test]
    fn a_zero_rate_or_disabled_limiting_limits_nothing() {
        let limits = RateLimits::from_settings(&settings());
        let a = Client::Subject("a".into());
        for _ in 0..100 {
            assert!(limits.check(Class::Admin, &a).is_ok());
        }
        let off = RateLimits::from_settings(&RateLimitSettings {
            enabled: false,
            ..settings()
        });
        for _ in 0..100 {
            assert!(off.check(Class::Read, &a).is_ok());
        }
    }

    #[test]
    fn requests_are_classed_by_what_they_do() {
        assert_eq!(Class::of(&Method::GET, "/v1/staff"), Class::Read);
        assert_eq!(
            Class::of(&Method::POST, "/v1/facilities/x/rosters"),
            Class::Write
        );
        assert_eq!(Class::of(&Method::POST, "/v1/sync/mcs"), Class::Admin);
        assert_eq!(Class::of(&Method::DELETE, "/v1/staff"), Class::Write);
    }

    /// Only starting a sync is administration; reading runs and rejections is a read,
    /// and HEAD counts as the GET it is.
    #[test]
    fn only_a_post_under_sync_is_administration() {
        assert_eq!(Class::of(&Method::GET, "/v1/sync/runs"), Class::Read);
        assert_eq!(Class::of(&Method::HEAD, "/v1/staff"), Class::Read);
        assert_eq!(Class::of(&Method::POST, "/v1/synchronise"), Class::Write);
        assert_eq!(Class::of(&Method::PUT, "/v1/sync/mcs"), Class::Write);
    }

    #[test]
    fn clients_are_counted_apart_by_subject_and_by_address() {
        let limits = RateLimits::from_settings(&settings());
        let subject = Client::Subject("10.0.0.1".into());
        let address = Client::Address(IpAddr::from([10, 0, 0, 1]));
        assert!(limits.check(Class::Write, &subject).is_ok());
        assert!(limits.check(Class::Write, &address).is_ok());
        assert!(limits.check(Class::Write, &subject).is_err());
    }
}
