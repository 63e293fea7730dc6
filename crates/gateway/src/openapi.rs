//! The OpenAPI document, generated from the handlers and types: [`ApiDoc`] is its
//! front matter (title, description, tags, the bearer scheme); the paths are the ones
//! [`routes::register`] registers, the same call that gives the app its routes, so the
//! document and the app cannot list different routes; then each parameter's form and
//! the answers every operation can give are written in ([`spec`]).

use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::params::{self, Form, Location};
use crate::routes;

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
    modifiers(&BearerAuth),
    tags(
        (name = "staff", description = "Staff records (personal data: audited, masked by scope)"),
        (name = "facilities", description = "Health and education facilities"),
        (name = "admin-units", description = "The administrative gazetteer"),
        (name = "rosters", description = "Who actually serves at a health centre or school, as its head reports it each month"),
        (name = "reports", description = "Discrepancies between the sources, roster coverage, and facilities transferred to district administrations"),
        (name = "matches", description = "The review queue: pairs of records that may be one person, decided by a person (`matches:review`)"),
        (name = "sync", description = "Sync runs from the ministries' systems, and the records they rejected"),
        (name = "changes", description = "The change feed: follow the registry incrementally"),
        (name = "subscriptions", description = "Push: signed events delivered to a ministry's system (findings, corrections, record changes), retried, with dead letters to replay (`subscriptions:admin`)"),
        (name = "operations", description = "Health, readiness and metrics (no token)"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

/// The API's OpenAPI document: [`ApiDoc`], the operations of every route
/// [`routes::register`] serves, each parameter's form, and the common answers.
pub fn spec() -> utoipa::openapi::OpenApi {
    // An app is built only to be registered into; the document is what is kept.
    let (_, mut spec) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::register)
        .split_for_parts();
    // After the paths are in: these rewrite every operation.
    ParameterForms.modify(&mut spec);
    ProblemResponses.modify(&mut spec);
    spec
}

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

/// Writes each parameter's wire form (`params::form`, the table the server checks
/// against) into the document, so what the spec promises is what the server accepts.
struct ParameterForms;

impl Modify for ParameterForms {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            for op in operations_mut(item) {
                for param in op.parameters.iter_mut().flatten() {
                    let Some(at) = location(&param.parameter_in) else {
                        continue;
                    };
                    if let Some(form) = params::form(path, at, &param.name) {
                        param.schema = Some(RefOr::T(schema_of(&form)));
                    }
                }
            }
        }
    }
}

/// Answers every operation can give besides its own: 405 for a method the path does
/// not take, 429 when the caller is over its rate limit, 500 and 503 when the server
/// or its database fails.
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let problem = |description: &str| {
            ResponseBuilder::new().description(description).content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            for op in operations_mut(item) {
                let responses = &mut op.responses.responses;
                responses.entry("429".to_owned()).or_insert_with(|| {
                    RefOr::T(
                        problem("Too many requests from this client: wait as `Retry-After` says")
                            .header(
                                "Retry-After",
                                Header::new(ObjectBuilder::new().schema_type(Type::Integer)),
                            )
                            .build(),
                    )
                });
                responses
                    .entry("500".to_owned())
                    .or_insert_with(|| RefOr::T(problem("An internal error (logged)").build()));
                responses
                    .entry("503".to_owned())
                    .or_insert_with(|| RefOr::T(problem("The database is unavailable").build()));
            }
        }
    }
}

/// Where a documented parameter is sent, as `params::form` names it (no cookies here).
fn location(at: &ParameterIn) -> Option<Location> {
    match at {
        ParameterIn::Query => Some(Location::Query),
        ParameterIn::Path => Some(Location::Path),
        ParameterIn::Header => Some(Location::Header),
        ParameterIn::Cookie => None,
    }
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn schema_of(form: &Form) -> Schema {
    let text = ObjectBuilder::new().schema_type(Type::String);
    Schema::Object(match form {
        Form::Pattern(p) => text.pattern(Some(*p)).build(),
        Form::OneOf(words) => text.enum_values(Some(words.iter().copied())).build(),
        Form::Integer { min, max } => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(*min))
            .maximum(Some(*max))
            .build(),
        Form::DateTime => text
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .build(),
        Form::Uuid => text
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .pattern(Some(
                "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
            ))
            .build(),
        Form::Boolean => ObjectBuilder::new().schema_type(Type::Boolean).build(),
        Form::Text { max } => text
            .min_length(Some(1))
            .max_length(Some(*max))
            .pattern(Some("^[^\\u0000]*$"))
            .build(),
    })
}

/// A documented path, for answering requests no route took.
#[derive(Debug)]
pub(crate) struct DocumentedPath {
    template: String,
    def: actix_web::dev::ResourceDef,
    pub methods: Vec<&'static str>,
}

impl DocumentedPath {
    /// The first path segment that is not of its declared form, and why: the reason a
    /// route guarded by that form (`/v1/sync/{ministry}`) did not take the request.
    pub(crate) fn invalid_segment(&'static self, path: &str) -> Option<(&'static str, String)> {
        self.template
            .split('/')
            .zip(path.split('/'))
            .find_map(|(t, value)| {
                let name = t.strip_prefix('{')?.strip_suffix('}')?;
                let value = percent_decoded(value);
                let form = params::form(&self.template, Location::Path, name)?;
                form.check(&value).err().map(|reason| (name, reason))
            })
    }
}

fn percent_decoded(segment: &str) -> String {
    form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The documented path `path` falls under: literal paths before templated ones, as
/// OpenAPI reads them (`/v1/sync/runs` is not `/v1/sync/{ministry}`).
pub(crate) fn documented_path(path: &str) -> Option<&'static DocumentedPath> {
    use std::sync::OnceLock;
    static DOCUMENTED: OnceLock<Vec<DocumentedPath>> = OnceLock::new();
    let documented = DOCUMENTED.get_or_init(|| {
        let spec = spec();
        let mut paths: Vec<DocumentedPath> = spec
            .paths
            .paths
            .iter()
            .map(|(template, item)| DocumentedPath {
                template: template.clone(),
                def: actix_web::dev::ResourceDef::new(template.as_str()),
                methods: [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, on)| on.then_some(m))
                .collect(),
            })
            .collect();
        // Served beside the API, outside the document.
        for template in ["/openapi.json", "/docs", "/docs/{tail:.*}"] {
            paths.push(DocumentedPath {
                template: template.to_owned(),
                def: actix_web::dev::ResourceDef::new(template),
                methods: vec!["GET"],
            });
        }
        paths.sort_by_key(|r| r.template.matches('{').count());
        paths
    });
    documented.iter().find(|r| r.def.is_match(path))
}

/// The spec as committed in `openapi/openapi.json`.
pub fn spec_json() -> String {
    let mut json = spec().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new parameter cannot land without a declared form: the server checks each
    /// value against the same table, so an undeclared one would be checked by nothing.
    #[test]
    fn every_parameter_of_every_operation_has_a_form() {
        let spec = spec();
        let mut missing = Vec::new();
        for (path, item) in &spec.paths.paths {
            let mut item = item.clone();
            for op in operations_mut(&mut item) {
                for p in op.parameters.iter().flatten() {
                    let Some(at) = location(&p.parameter_in) else {
                        continue;
                    };
                    if params::form(path, at, &p.name).is_none() {
                        missing.push(format!("{path} {}", p.name));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "parameters without a form: {missing:?}");
    }

    #[test]
    fn methods_a_path_does_not_take_are_known() {
        let methods = |p: &str| documented_path(p).map(|d| d.methods.clone());
        assert_eq!(methods("/v1/staff"), Some(vec!["GET"]));
        assert_eq!(
            methods("/v1/facilities/67e55044-10b1-426f-9247-bb680e5fe0c8/rosters"),
            Some(vec!["GET", "POST"])
        );
        assert_eq!(methods("/v1/sync/runs"), Some(vec!["GET"]));
        assert_eq!(methods("/v1/sync/mcs"), Some(vec!["POST"]));
        assert_eq!(methods("/docs/index.html"), Some(vec!["GET"]));
        assert_eq!(methods("/v2/nothing"), None);
    }

    #[test]
    fn a_segment_off_its_form_is_named() {
        let d = documented_path("/v1/sync/MCS").expect("documented");
        let (name, reason) = d.invalid_segment("/v1/sync/MCS").expect("invalid");
        assert_eq!(name, "ministry");
        assert!(reason.contains("mcs, moh"), "{reason}");
        assert!(d.invalid_segment("/v1/sync/mcs").is_none());
    }
}
