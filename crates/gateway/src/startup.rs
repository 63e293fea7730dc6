//! Building and running the HTTP application.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use store::{PoolStatus, Store};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::audit::{self, AuditWriter};
use crate::auth::Verifier;
use crate::config::Settings;
use crate::openapi::ApiDoc;
use crate::routes::sync as sync_routes;
use crate::routes::{
    admin_units, changes, discrepancies, facilities, health, reports, rosters, staff,
};
use crate::syncs::Syncs;
use crate::{Error, observe};

/// A bound, ready-to-run gateway.
pub struct Application {
    port: u16,
    server: Server,
    audit: AuditWriter,
    store: Store,
    syncs: Syncs,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Connects to the database (lazily), checks the auth settings, binds `listener`.
    /// Refuses to build without a token verification key.
    pub async fn build(settings: &Settings, listener: TcpListener) -> Result<Self, Error> {
        let verifier = web::Data::new(Verifier::from_settings(&settings.auth)?);
        let store = Store::connect(
            settings.database.url.expose(),
            settings.database.database_name(),
            settings.database.pool_size,
        )?;
        // The audit writer has a pool of its own: its connections are made by the writer
        // task, so they live on this runtime and outlast the HTTP workers at shutdown.
        let audit_store = Store::connect(
            settings.database.url.expose(),
            settings.database.database_name(),
            2,
        )?;
        let (sink, writer) = audit::start(
            audit_store,
            settings.audit.batching(),
            settings.audit.checkpoints()?,
        );
        let port = listener.local_addr()?.port();
        observe::spawn_upkeep(std::time::Duration::from_secs(5));
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            n => n,
        };
        let pools = WorkerPools::new(store.clone(), workers, settings.database.pool_size);
        let pools_data = web::Data::new(pools.clone());
        let syncs = Syncs::new(sync::SyncEngine::new(
            store.clone(),
            settings.ministries.sources()?,
        ));
        let syncs_data = web::Data::new(syncs.clone());
        let sink = web::Data::new(sink);
        // One set of limiters for every worker: the quota is per client, not per thread.
        let limits = crate::rate_limit::RateLimits::from_settings(&settings.rate_limit);
        limits.spawn_upkeep(std::time::Duration::from_secs(60));
        let limits = web::Data::new(limits);
        let openapi = ApiDoc::openapi();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(crate::rate_limit::middleware))
                .wrap(Compress::default())
                .wrap(from_fn(observe::middleware))
                .app_data(web::Data::new(pools.open()))
                .app_data(pools_data.clone())
                .app_data(sink.clone())
                .app_data(verifier.clone())
                .app_data(limits.clone())
                .app_data(syncs_data.clone())
                .service(health::healthz)
                .service(health::readyz)
                .service(health::metrics_text)
                .service(staff::list_staff)
                .service(staff::get_staff)
                .service(facilities::list_facilities)
                .service(facilities::facility_staff)
                .service(rosters::submit_roster)
                .service(rosters::list_rosters)
                .service(rosters::get_roster)
                .service(facilities::get_facility)
                .service(admin_units::list_admin_units)
                .service(admin_units::get_admin_unit)
                .service(sync_routes::list_runs)
                .service(sync_routes::list_rejections)
                .service(sync_routes::start_run)
                .service(changes::list_changes)
                .service(discrepancies::list_discrepancies)
                .service(discrepancies::get_discrepancy)
                .service(reports::coverage)
                .service(reports::transfers)
                .route("/docs", web::get().to(docs_redirect))
                .service(
                    SwaggerUi::new("/docs/{_:.*}")
                        .url("/openapi.json", openapi.clone())
                        .config(utoipa_swagger_ui::Config::default().validator_url("none")),
                )
                .default_service(web::to(no_route))
        })
        .workers(workers)
        .listen(listener)?;
        Ok(Self {
            port,
            server: server.run(),
            audit: writer,
            store,
            syncs,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server (gracefully or not) from elsewhere.
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The process's sync runs (periodic ones are started by `serve`).
    pub fn syncs(&self) -> &Syncs {
        &self.syncs
    }

    /// Serves until the server stops (SIGTERM starts a graceful stop: requests in
    /// flight are answered; SIGINT a forced one), then writes every queued audit entry.
    /// Sync runs stop at the signal, after the page each is writing, and are closed as
    /// `interrupted` before this returns.
    pub async fn run_until_stopped(self) -> Result<(), Error> {
        let syncs = self.syncs.clone();
        let on_signal = tokio::spawn(async move {
            stop_signal().await;
            syncs.stop();
        });
        let served = self.server.await;
        on_signal.abort();
        // Requests are answered; the sync runs end their page, the audit queue drains.
        let ((), written) = tokio::join!(self.syncs.shutdown(), self.audit.shutdown());
        tracing::info!(audit_entries_written = written, "gateway stopped");
        Ok(served?)
    }
}

/// SIGTERM or SIGINT (the server itself listens to them too, to stop serving).
pub(crate) async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        // Without signal handling the syncs stop when the server has.
        _ => std::future::pending().await,
    }
}

/// The pools of the HTTP workers, one each (see [`Store::another_pool`]), and their
/// figures together for the metrics endpoint.
#[derive(Debug, Clone)]
pub(crate) struct WorkerPools {
    shared: Store,
    per_worker: usize,
    workers: usize,
    opened: Arc<Mutex<VecDeque<Store>>>,
}

impl WorkerPools {
    fn new(shared: Store, workers: usize, pool_size: usize) -> Self {
        Self {
            shared,
            per_worker: pool_size.div_ceil(workers.max(1)).max(1),
            workers: workers.max(1),
            opened: Arc::default(),
        }
    }

    /// A pool for the worker calling it (a worker's app factory).
    fn open(&self) -> Store {
        let store = self
            .shared
            .another_pool(self.per_worker)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "no pool of its own for an HTTP worker; it shares one");
                self.shared.clone()
            });
        let mut opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        opened.push_back(store.clone());
        // A restarted worker opens a new pool; the dead worker's is forgotten.
        while opened.len() > self.workers {
            opened.pop_front();
        }
        store
    }

    /// The workers' pools summed.
    pub(crate) fn status(&self) -> PoolStatus {
        let opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        opened
            .iter()
            .map(Store::pool_status)
            .fold(PoolStatus::default(), |sum, s| PoolStatus {
                max_size: sum.max_size + s.max_size,
                size: sum.size + s.size,
                available: sum.available + s.available,
                waiting: sum.waiting + s.waiting,
            })
    }
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/docs/"))
        .finish()
}

/// A path nobody serves is a 404; a known path asked with a method it does not take is
/// a 405 naming the methods it does (from the OpenAPI document, so they agree); a
/// path segment off its declared form is a 400 naming it.
async fn no_route(req: HttpRequest) -> Result<HttpResponse, Error> {
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let Some(documented) = crate::openapi::documented_path(&path) else {
        return Err(Error::NoRoute { method, path });
    };
    if !documented.methods.contains(&method.as_str()) {
        return Err(Error::MethodNotAllowed {
            method,
            path,
            allow: documented.methods.clone(),
        });
    }
    // A route whose path segment is guarded by its form did not take the request.
    Err(match documented.invalid_segment(&path) {
        Some((name, reason)) => Error::InvalidPath { name, reason },
        None => Error::NoRoute { method, path },
    })
}
