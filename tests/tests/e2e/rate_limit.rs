//! Per-client rate limits over real HTTP: a client over its quota gets 429
//! problem+json with `Retry-After`, other clients and other classes are untouched,
//! requests without a token count by address, and the quota is one per client across
//! the HTTP workers, not one per worker.

use e2e::{TestApp, spawn_app_with};
use gateway::config::RateQuota;
use serde_json::Value;

async fn limited_app(read: RateQuota, anonymous: RateQuota) -> TestApp {
    spawn_app_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.read = read;
        s.rate_limit.anonymous = anonymous;
        s.server.workers = 2;
    })
    .await
}

fn quota(per_second: u32, burst: u32) -> RateQuota {
    RateQuota { per_second, burst }
}

#[tokio::test]
async fn a_client_over_its_quota_is_told_to_wait_and_others_are_served() {
    let app = limited_app(quota(1, 5), quota(0, 0)).await;
    let a = app.token("facilities:read", None);
    let b = app.token_for("another-client", "facilities:read", None);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(
            app.get("/v1/facilities?limit=1", Some(&a))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    let res = app.get("/v1/facilities?limit=1", Some(&a)).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    let problem: Value = res.json().await.expect("json");
    assert_eq!(problem["code"], "rate_limited", "{problem}");
    // Another client has its own quota.
    let res = app.get("/v1/facilities?limit=1", Some(&b)).await;
    assert_eq!(res.status(), 200);
    // After the wait it says, the client is served again.
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    let res = app.get("/v1/facilities?limit=1", Some(&a)).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_quota_is_one_per_client_across_the_http_workers() {
    let app = limited_app(quota(1, 10), quota(0, 0)).await;
    let token = app.token("facilities:read", None);
    // A connection each, so the requests spread over both workers.
    let requests = (0..30).map(|_| {
        let url = app.url("/v1/facilities?limit=1");
        let token = token.clone();
        async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("client");
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    });
    let started = std::time::Instant::now();
    let statuses = futures_util::future::join_all(requests).await;
    let refill = started.elapsed().as_secs() as usize + 1;
    let served = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        (10..=10 + refill).contains(&served),
        "{served} served of 30 with a burst of 10: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn requests_without_a_token_count_by_address() {
    let app = limited_app(quota(0, 0), quota(1, 3)).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(app.get("/healthz", None).await.status().as_u16());
    }
    assert_eq!(statuses[..3], [200, 200, 200], "{statuses:?}");
    assert_eq!(statuses[3..], [429, 429], "{statuses:?}");
    // A forged token does not buy a quota of its own: it is counted by address too.
    let res = app.get("/v1/staff", Some("not-a-token")).await;
    assert_eq!(res.status(), 429);
    // A valid token is counted by its subject (reads are unlimited here).
    let token = app.token("staff:read", None);
    assert_eq!(
        app.get("/v1/staff?limit=1", Some(&token)).await.status(),
        200
    );
}
