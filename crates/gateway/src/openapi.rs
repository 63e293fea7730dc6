//! The OpenAPI document, generated from the handlers and types.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    admin_units, changes, discrepancies, facilities, health, reports, rosters, staff, sync,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Interop Gateway",
        description = "One access-controlled API over the staff and facility records of Cambodia's \
            ministries (Civil Service, Health, Education Youth and Sport, Interior, Economy and Finance).\n\n\
            Every `/v1` route needs `Authorization: Bearer <JWT>` with the scopes it names. Personal data \
            (`national_id`, `birth_date`) is masked without `staff:read:pii`; a `jurisdiction` claim (a \
            gazetteer code) limits a caller to the records inside that area. Errors are RFC 9457 \
            `application/problem+json` with a stable `code`. Lists are paged with `limit` and the opaque \
            `next_cursor`.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(
        staff::list_staff,
        staff::get_staff,
        facilities::list_facilities,
        facilities::get_facility,
        facilities::facility_staff,
        rosters::submit_roster,
        rosters::list_rosters,
        rosters::get_roster,
        discrepancies::list_discrepancies,
        discrepancies::get_discrepancy,
        reports::coverage,
        reports::transfers,
        admin_units::list_admin_units,
        admin_units::get_admin_unit,
        sync::list_runs,
        sync::start_run,
        sync::list_rejections,
        changes::list_changes,
        health::healthz,
        health::readyz,
        health::metrics_text,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "staff", description = "Staff records (personal data: audited, masked by scope)"),
        (name = "facilities", description = "Health and education facilities"),
        (name = "admin-units", description = "The administrative gazetteer"),
        (name = "rosters", description = "Who actually serves at a health centre or school, as its head reports it each month"),
        (name = "reports", description = "Discrepancies between the sources, roster coverage, and facilities transferred to district administrations"),
        (name = "sync", description = "Sync runs from the ministries' systems, and the records they rejected"),
        (name = "changes", description = "The change feed: follow the registry incrementally"),
        (name = "operations", description = "Health, readiness and metrics (no token)"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".to_owned());
        http.description = Some(
            "A JWT with `iss`, `aud`, `exp`, `sub`, a space-separated `scope` (staff:read, \
             staff:read:pii, facilities:read, ...) and optionally a `jurisdiction` gazetteer code."
                .to_owned(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// The spec as committed in `openapi/openapi.json`.
pub fn spec_json() -> String {
    let mut json = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
