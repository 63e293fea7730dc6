//! Health, readiness and metrics: open to load balancers and scrapers, no token.

use actix_web::{HttpResponse, get, web};
use store::Store;

use crate::error::{Error, Problem};
use crate::observe::prometheus;
use crate::routes::Routes;
use crate::views::HealthStatus;
use crate::worker_pools::WorkerPools;

pub(crate) fn register(routes: &mut Routes<'_>) {
    routes
        .service(healthz)
        .service(readyz)
        .service(metrics_text);
}

/// Liveness: the process is up and serving.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Up", body = HealthStatus)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus { status: "ok" })
}

/// Readiness: the database answers and carries every migration this build needs.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = HealthStatus),
        (status = 503, description = "Database unreachable or not migrated", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(store: web::Data<Store>) -> Result<HttpResponse, Error> {
    store.is_ready().await?;
    Ok(HttpResponse::Ok().json(HealthStatus { status: "ready" }))
}

/// Prometheus metrics: request counts and latencies by route and status, and the
/// database pool's figures.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"))
)]
#[get("/metrics")]
pub async fn metrics_text(pools: web::Data<WorkerPools>) -> HttpResponse {
    let pool = pools.status();
    ::metrics::gauge!("db_pool_max_connections").set(pool.max_size as f64);
    ::metrics::gauge!("db_pool_connections").set(pool.size as f64);
    ::metrics::gauge!("db_pool_idle_connections").set(pool.available as f64);
    ::metrics::gauge!("db_pool_waiting_requests").set(pool.waiting as f64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(prometheus().render())
}
