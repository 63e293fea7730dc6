//! The app: Khmer-first pages under `/app` for the people who carry out the
//! data-update programme (a site head's monthly roster first), served by the gateway
//! itself with every asset in the binary.
//!
//! People sign in through an OpenID provider ([`oidc`]: authorization code with PKCE,
//! the ID token verified) and get a server-side session in PostgreSQL behind an
//! HttpOnly cookie ([`session`]), which yields the same [`Caller`](crate::auth::Caller)
//! a bearer token does: the app's handlers ([`pages`]) call the API's own services
//! (`routes::rosters::submit`, `routes::staff::staff_views`), so jurisdiction, masking
//! and audit apply to a page exactly as to the API. The REST API stays bearer-only:
//! nothing under `/v1` reads the app's cookie.
//!
//! Without script a page is plain HTML forms; with it ([`assets`]: `roster.js` and a
//! service worker) the roster page works offline, keeping rosters in an outbox on the
//! device until they can be sent.

pub mod assets;
mod coverage;
pub mod demo;
mod findings;
mod khmer;
mod matches;
pub mod oidc;
mod pages;
pub mod session;

use std::sync::Arc;

use actix_web::web;

use crate::Error;
use crate::config::AppSettings;

/// What the app's handlers share: its settings, the provider it signs people in
/// through (none when `app.issuer` is empty), and the demo's sign-in (only ever set
/// by the demo command, never from settings).
#[derive(Debug, Clone)]
pub struct AppContext {
    pub settings: Arc<AppSettings>,
    pub provider: Option<Arc<oidc::RelyingParty>>,
    pub(crate) demo: Option<Arc<demo::DemoSignIn>>,
}

impl AppContext {
    pub fn from_settings(settings: &AppSettings) -> Result<Self, Error> {
        let provider = if settings.sign_in_enabled() {
            Some(Arc::new(oidc::RelyingParty::new(settings)?))
        } else {
            None
        };
        Ok(Self {
            settings: Arc::new(settings.clone()),
            provider,
            demo: None,
        })
    }

    /// The provider, or why nobody can sign in.
    pub(crate) fn provider(&self) -> Result<&oidc::RelyingParty, Error> {
        self.provider.as_deref().ok_or(Error::SignInNotConfigured)
    }
}

/// Adds the app's routes (everything under `/app`).
pub fn register(cfg: &mut web::ServiceConfig) {
    cfg.route("/app", web::get().to(pages::to_landing))
        .route("/app/", web::get().to(pages::landing))
        .route("/app/auth/sign-in", web::get().to(pages::sign_in))
        .route("/app/auth/callback", web::get().to(pages::callback))
        .route("/app/auth/sign-out", web::post().to(pages::sign_out))
        .route(demo::DEMO_SIGN_IN_PATH, web::get().to(demo::sign_in))
        .route("/app/session", web::get().to(pages::session_info))
        .route("/app/roster", web::get().to(pages::roster_page))
        .route("/app/roster", web::post().to(pages::submit_roster))
        .route("/app/offline", web::get().to(pages::offline))
        .route("/app/matches", web::get().to(matches::queue))
        .route("/app/matches/{id}", web::get().to(matches::pair))
        .route("/app/matches/{id}", web::post().to(matches::decide))
        .route("/app/coverage", web::get().to(coverage::coverage_page))
        .route(
            "/app/facilities/{id}",
            web::get().to(coverage::facility_page),
        )
        .route("/app/downloads/{report}", web::get().to(coverage::download))
        .route("/app/findings", web::get().to(findings::findings_page))
        .route("/app/findings/{id}", web::get().to(findings::finding))
        .route("/app/findings/{id}", web::post().to(findings::act))
        .route("/app/sw.js", web::get().to(assets::service_worker))
        .route("/app/assets/{version}/{name}", web::get().to(assets::asset));
}
