//! Building and running the HTTP application.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use store::Store;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::audit::{self, AuditWriter};
use crate::auth::Verifier;
use crate::config::Settings;
use crate::delivery::DeliveryWorker;
use crate::syncs::Syncs;
use crate::worker_pools::WorkerPools;
use crate::{Error, observe, openapi, routes};

/// A bound, ready-to-run gateway.
pub struct Application {
    port: u16,
    server: Server,
    audit: AuditWriter,
    delivery: DeliveryWorker,
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
        Self::assemble(settings, listener, None).await
    }

    /// [`build`](Self::build) with the demo's sign-in links working (the app's
    /// `/app/auth/demo`): for `interop-gateway demo` only. No setting reaches this,
    /// so `serve` never signs anyone in without the provider.
    pub async fn build_with_demo_sign_in(
        settings: &Settings,
        listener: TcpListener,
        demo: crate::app::demo::DemoSignIn,
    ) -> Result<Self, Error> {
        Self::assemble(settings, listener, Some(demo)).await
    }

    async fn assemble(
        settings: &Settings,
        listener: TcpListener,
        demo: Option<crate::app::demo::DemoSignIn>,
    ) -> Result<Self, Error> {
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
        // Push deliveries, on this runtime with a pool of their own, like the audit writer.
        let delivery = DeliveryWorker::start(
            Store::connect(
                settings.database.url.expose(),
                settings.database.database_name(),
                2,
            )?,
            settings.push.worker(),
        )?;
        let push = web::Data::new(settings.push.clone());
        let mut app_context = crate::app::AppContext::from_settings(&settings.app)?;
        app_context.demo = demo.map(std::sync::Arc::new);
        let app_context = web::Data::new(app_context);
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
        let spec = openapi::spec();
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
                .app_data(push.clone())
                .app_data(app_context.clone())
                // The API's routes, from the list the served document (`spec`) is made
                // from too; the copy of the document this makes is not needed here.
                .into_utoipa_app()
                .configure(routes::register)
                .into_app()
                // The app's pages: not part of the API or its document.
                .configure(crate::app::register)
                .route("/docs", web::get().to(docs_redirect))
                .service(
                    SwaggerUi::new("/docs/{_:.*}")
                        .url("/openapi.json", spec.clone())
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
            delivery,
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
        // Requests are answered; the sync runs end their page, the audit queue drains,
        // the deliveries under way end and are recorded.
        let ((), written, ()) = tokio::join!(
            self.syncs.shutdown(),
            self.audit.shutdown(),
            self.delivery.shutdown()
        );
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
    let Some(documented) = openapi::documented_path(&path) else {
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

#[cfg(test)]
mod tests {
    use actix_web::http::{Method, StatusCode};
    use actix_web::test::{TestRequest, call_service, init_service};

    use super::*;

    /// The routes as `build` registers them, with a token verifier and the fallback
    /// but no database: enough to see which handler (if any) takes a request, since
    /// a `/v1` handler asks for its caller before anything else.
    macro_rules! routed_app {
        () => {{
            let mut auth = Settings::defaults().expect("defaults").auth;
            auth.hs256_secret = "a-secret-for-routing-tests".into();
            let verifier = web::Data::new(Verifier::from_settings(&auth).expect("verifier"));
            init_service(
                App::new()
                    .app_data(verifier)
                    .into_utoipa_app()
                    .configure(routes::register)
                    .into_app()
                    .default_service(web::to(no_route)),
            )
            .await
        }};
    }

    /// A concrete path for a documented template.
    fn concrete(template: &str) -> String {
        template
            .replace("{id}", "67e55044-10b1-426f-9247-bb680e5fe0c8")
            .replace("{delivery_id}", "5f0c1e2a-8b7d-4e3f-a1b2-c3d4e5f60718")
            .replace("{code}", "0102")
            .replace("{ministry}", "mcs")
    }

    /// Every operation of the document reaches a handler of the app: a `/v1` one
    /// answers 401 to a request without a token, never 404 or 405.
    #[actix_web::test]
    async fn every_documented_operation_is_served() {
        let app = routed_app!();
        let spec = openapi::spec();
        let mut checked = 0;
        for (template, item) in &spec.paths.paths {
            let methods = [
                (Method::GET, item.get.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::DELETE, item.delete.is_some()),
                (Method::PATCH, item.patch.is_some()),
            ];
            for (method, _) in methods.into_iter().filter(|(_, documented)| *documented) {
                let path = concrete(template);
                let req = TestRequest::default()
                    .method(method.clone())
                    .uri(&path)
                    .to_request();
                let status = call_service(&app, req).await.status();
                if path.starts_with("/v1/") {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
                } else {
                    assert!(
                        ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&status),
                        "{method} {path}: {status}"
                    );
                }
                checked += 1;
            }
        }
        assert!(checked >= 21, "{checked} operations");
    }

    #[actix_web::test]
    async fn a_method_a_path_does_not_take_is_a_405_naming_those_it_does() {
        let app = routed_app!();
        for (method, path, allow) in [
            (Method::POST, "/v1/sync/runs", "GET"),
            (Method::DELETE, "/v1/staff", "GET"),
            (
                Method::PUT,
                "/v1/facilities/67e55044-10b1-426f-9247-bb680e5fe0c8/rosters",
                "GET, POST",
            ),
            (Method::GET, "/v1/sync/mcs", "POST"),
        ] {
            let req = TestRequest::default()
                .method(method.clone())
                .uri(path)
                .to_request();
            let res = call_service(&app, req).await;
            assert_eq!(
                res.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            let allowed = res.headers().get("allow").and_then(|v| v.to_str().ok());
            assert_eq!(allowed, Some(allow), "{method} {path}");
        }
    }

    /// `/v1/sync/runs` is its own path, not a ministry; a ministry off its form is a
    /// 400 naming the segment; an unknown path is a 404.
    #[actix_web::test]
    async fn literal_paths_win_and_guarded_segments_are_named() {
        let app = routed_app!();
        let status = |method: Method, path: &str| {
            TestRequest::default().method(method).uri(path).to_request()
        };
        let res = call_service(&app, status(Method::GET, "/v1/sync/runs")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let res = call_service(&app, status(Method::POST, "/v1/sync/moh")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let res = call_service(&app, status(Method::POST, "/v1/sync/MCS")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = actix_web::test::read_body_json(res).await;
        assert_eq!(body["code"], "invalid_path");
        let res = call_service(&app, status(Method::GET, "/v2/nothing")).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
}
