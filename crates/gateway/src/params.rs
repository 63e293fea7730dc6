//! Reading parameters at the edge: the query strings, path segments and headers of a
//! request are held to their declared wire form ([`form`], the table the OpenAPI
//! document is written from) and become domain values here, before any I/O; every
//! failure names the parameter at fault.

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::Error;

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// Reads the query string of `req` into `T`, a struct of optional strings that refuses
/// unknown fields, so an unknown or repeated parameter is a 400 naming it. Every value
/// is first held to its [`Form`] (the one the OpenAPI document declares for this route
/// and name): a value the spec calls invalid never reaches a parser, and none the spec
/// calls valid is refused here.
pub fn raw_query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, Error> {
    let route = req.match_pattern().unwrap_or_default();
    for (name, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
        if let Some(form) = form(&route, Location::Query, &name) {
            form.check(&value)
                .map_err(|reason| Error::invalid(&name, reason))?;
        } else {
            refuse_nul(&value).map_err(|reason| Error::invalid(&name, reason))?;
        }
    }
    query_from(req.query_string())
}

/// A query string read into `T`, each fault named by its parameter (the forms of the
/// values are the caller's to check).
pub fn query_from<T: DeserializeOwned>(query: &str) -> Result<T, Error> {
    serde_urlencoded::from_str(query).map_err(|e| {
        let msg = e.to_string();
        let named = msg.split('`').nth(1).unwrap_or("?").to_owned();
        if msg.starts_with("unknown field") {
            Error::UnknownParameter(named)
        } else if msg.starts_with("duplicate field") {
            Error::invalid(&named, "is given more than once")
        } else if msg.starts_with("missing field") {
            Error::invalid(&named, "is required")
        } else {
            Error::invalid(&named, msg)
        }
    })
}

/// A path segment of `req`, held to the form the spec declares for it.
pub fn path_segment(req: &HttpRequest, name: &'static str) -> Result<String, Error> {
    let route = req.match_pattern().unwrap_or_default();
    let value = req.match_info().get(name).unwrap_or_default().to_owned();
    let checked = match form(&route, Location::Path, name) {
        Some(form) => form.check(&value),
        None => refuse_nul(&value),
    };
    checked.map_err(|reason| Error::InvalidPath { name, reason })?;
    Ok(value)
}

/// PostgreSQL's `text` cannot hold U+0000, so no text that contains it goes further.
pub fn refuse_nul(value: &str) -> Result<(), String> {
    if value.contains('\0') {
        Err("contains a NUL character (U+0000), which no field can hold".to_owned())
    } else {
        Ok(())
    }
}

/// Where a parameter is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Query,
    Path,
    Header,
}

/// How a parameter must look on the wire. The OpenAPI document declares each one
/// (`openapi::ParameterForms` writes them in by route and name) and the server checks
/// the same value before any parser runs: one table, so the spec and the server
/// cannot disagree. An empty value matches no form, so `name=` is a 400 everywhere.
#[derive(Debug, Clone, PartialEq)]
pub enum Form {
    /// The whole value matches this regular expression (ASCII classes only, so JSON
    /// Schema's dialect and Rust's read it alike).
    Pattern(&'static str),
    /// One of these words, exactly.
    OneOf(Vec<&'static str>),
    /// A whole number in this range, written in ASCII digits.
    Integer { min: i64, max: i64 },
    /// An RFC 3339 time (`2024-01-23T00:00:00Z`).
    DateTime,
    /// A UUID in its hyphenated form.
    Uuid,
    /// `true` or `false`.
    Boolean,
    /// Free text: 1 to `max` characters (Unicode scalar values), no NUL.
    Text { max: usize },
}

/// A gazetteer code as `schema::AdminCode` reads it: a province (01 to 25), then up to
/// three more pairs of digits for district, commune and village, the last not `00`.
pub const ADMIN_CODE: &str = "^(0[1-9]|1[0-9]|2[0-5])(([0-9]{2}){0,2}([0-9][1-9]|[1-9]0))?$";
/// A district's code (4 digits).
pub const DISTRICT_CODE: &str = "^(0[1-9]|1[0-9]|2[0-5])([0-9][1-9]|[1-9]0)$";
/// A ministry (a code starting with a letter), or the administration of a province,
/// district or commune that a function was transferred to.
pub const MANAGER: &str =
    "^([A-Za-z][A-Za-z0-9]{1,11}|(0[1-9]|1[0-9]|2[0-5])(([0-9]{2})?([0-9][1-9]|[1-9]0))?)$";
/// A month, `YYYY-MM`, in the years a period may name.
pub const PERIOD: &str = "^(199[0-9]|20[0-9]{2}|2100)-(0[1-9]|1[0-2])$";

impl Form {
    /// `Ok` when `value` has this form; else why not, naming no personal value.
    pub fn check(&self, value: &str) -> Result<(), String> {
        refuse_nul(value)?;
        if value.is_empty() {
            return Err("is empty: leave the parameter out instead".to_owned());
        }
        let fits = match self {
            Self::Pattern(p) => compiled(p).is_match(value),
            Self::OneOf(words) => words.contains(&value),
            Self::Integer { min, max } => {
                value.bytes().all(|b| b.is_ascii_digit() || b == b'-')
                    && value
                        .parse::<i64>()
                        .is_ok_and(|n| (*min..=*max).contains(&n))
            }
            Self::DateTime => is_rfc3339(value),
            Self::Uuid => is_hyphenated_uuid(value),
            Self::Boolean => matches!(value, "true" | "false"),
            Self::Text { max } => value.chars().count() <= *max,
        };
        if fits {
            return Ok(());
        }
        Err(match self {
            Self::Pattern(ADMIN_CODE) => "is not a gazetteer code (2, 4, 6 or 8 ASCII digits: \
                 a province 01 to 25, then district, commune and village, the last not 00)"
                .to_owned(),
            Self::Pattern(DISTRICT_CODE) => {
                "is not a district's gazetteer code (4 digits)".to_owned()
            }
            Self::Pattern(MANAGER) => {
                "is not a ministry code or the gazetteer code of a province, \
                 district or commune"
                    .to_owned()
            }
            Self::Pattern(PERIOD) => "is not a month written YYYY-MM (1990 to 2100)".to_owned(),
            Self::Pattern(p) => format!("does not match {p}"),
            Self::OneOf(words) => format!("is not one of {}", words.join(", ")),
            Self::Integer { min, max } => format!("is not a whole number from {min} to {max}"),
            Self::DateTime => "is not an RFC 3339 time (2024-01-23T00:00:00Z)".to_owned(),
            Self::Uuid => "is not a UUID (8-4-4-4-12 hexadecimal digits)".to_owned(),
            Self::Boolean => "is not true or false".to_owned(),
            Self::Text { max } => format!("is longer than {max} characters"),
        })
    }
}

fn compiled(pattern: &'static str) -> regex::Regex {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<Vec<(&'static str, regex::Regex)>>> =
        std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, re)) = cache.iter().find(|(p, _)| *p == pattern) {
        return re.clone();
    }
    // The patterns are constants of this module, checked by a unit test.
    let re = regex::Regex::new(pattern).unwrap_or_else(|_| regex::Regex::new("^$").expect("regex"));
    cache.push((pattern, re.clone()));
    re
}

/// RFC 3339 as JSON Schema's `date-time` reads it: `T` (or `t`) between date and time,
/// a zone of `Z` or `±hh:mm`.
fn is_rfc3339(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() >= 20
        && matches!(b.get(10), Some(b'T' | b't'))
        && DateTime::parse_from_rfc3339(value).is_ok()
}

fn is_hyphenated_uuid(value: &str) -> bool {
    value.len() == 36
        && value.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The form of each parameter, by route (the path as the spec writes it) and name.
/// `None`: the route takes no such parameter (serde then names it unknown).
pub fn form(route: &str, at: Location, name: &str) -> Option<Form> {
    use schema::{
        AdminLevel, DiscrepancyKind, FacilityKind, FindingState, Ministry, Sector, StaffStatus,
    };
    let names = |all: &'static [&'static str]| Form::OneOf(all.to_vec());
    Some(match (at, route, name) {
        (Location::Path, _, "id" | "delivery_id") => Form::Uuid,
        (Location::Path, "/v1/admin-units/{code}", "code") => Form::Pattern(ADMIN_CODE),
        (Location::Path, "/v1/sync/{ministry}", "ministry") => {
            Form::OneOf(Ministry::ALL.iter().map(|m| m.as_str()).collect())
        }
        (Location::Header, _, "Idempotency-Key") => Form::Pattern("^[!-~]{1,255}$"),
        (Location::Query, _, "admin_unit" | "parent") => Form::Pattern(ADMIN_CODE),
        (Location::Query, _, "district") => Form::Pattern(DISTRICT_CODE),
        (Location::Query, _, "employer") => Form::Pattern("^[A-Za-z0-9]{2,12}$"),
        (Location::Query, _, "managed_by") => Form::Pattern(MANAGER),
        (Location::Query, _, "ministry") => {
            Form::OneOf(Ministry::ALL.iter().map(|m| m.as_str()).collect())
        }
        (Location::Query, "/v1/reports/coverage", "level") => {
            names(&["province", "district", "commune"])
        }
        (Location::Query, _, "level") => Form::OneOf(
            [
                AdminLevel::Province,
                AdminLevel::District,
                AdminLevel::Commune,
                AdminLevel::Village,
            ]
            .iter()
            .map(|l| l.as_str())
            .collect(),
        ),
        (Location::Query, "/v1/discrepancies", "status") => names(&["open", "resolved", "all"]),
        (Location::Query, "/v1/discrepancies", "state") => {
            Form::OneOf(FindingState::ALL.iter().map(|s| s.as_str()).collect())
        }
        (Location::Query, _, "held_by") => Form::Text { max: 200 },
        (Location::Query, _, "format") => names(&["json", "csv", "xlsx"]),
        // Any entity-tag list: one naming no current version is a 412, not a 400.
        (Location::Header, _, "If-Match") => Form::Text { max: 1000 },
        (Location::Query, "/v1/corrections", "status") => {
            names(&["open", "done", "obsolete", "all"])
        }
        (Location::Query, "/v1/matches", "status") => names(&["pending", "decided", "all"]),
        (Location::Query, "/v1/matches", "kind") => {
            names(&["uncertain", "identifier_conflict", "distinct_officers"])
        }
        (Location::Query, _, "status") => {
            Form::OneOf(StaffStatus::ALL.iter().map(|s| s.as_str()).collect())
        }
        (Location::Query, "/v1/discrepancies", "kind") => Form::OneOf(DiscrepancyKind::names()),
        (Location::Query, _, "kind") => {
            Form::OneOf(FacilityKind::ALL.iter().map(|k| k.as_str()).collect())
        }
        (Location::Query, _, "sector") => {
            Form::OneOf(Sector::ALL.iter().map(|s| s.as_str()).collect())
        }
        (Location::Query, _, "q") => Form::Text { max: 100 },
        (Location::Query, _, "updated_since") => Form::DateTime,
        (Location::Query, _, "facility_id") => Form::Uuid,
        (Location::Query, _, "limit") => Form::Integer {
            min: 1,
            max: MAX_LIMIT as i64,
        },
        (Location::Query, _, "after") => Form::Integer {
            min: 0,
            max: i64::MAX,
        },
        (Location::Query, _, "run") => Form::Integer {
            min: 1,
            max: i64::MAX,
        },
        (Location::Query, _, "types") => {
            Form::Pattern("^(staff|facility|admin_unit)(,(staff|facility|admin_unit))*$")
        }
        (Location::Query, _, "full") => Form::Boolean,
        (Location::Query, _, "period") => Form::Pattern(PERIOD),
        (Location::Query, route, "cursor") => cursor_form(route)?,
        _ => return None,
    })
}

/// What a list's `next_cursor` looks like: the last key of the page, so any value of
/// that form is a position in the list (keyset paging re-applies every filter and the
/// caller's jurisdiction, so a made-up cursor reaches nothing a real one would not).
fn cursor_form(route: &str) -> Option<Form> {
    Some(match route {
        "/v1/staff"
        | "/v1/facilities"
        | "/v1/facilities/{id}/staff"
        | "/v1/discrepancies"
        | "/v1/matches"
        | "/v1/corrections"
        | "/v1/subscriptions/{id}/dead-letters" => Form::Pattern(CURSOR_UUID),
        "/v1/admin-units" => Form::Pattern(ADMIN_CODE),
        "/v1/changes" | "/v1/facilities/{id}/rosters" | "/v1/sync/runs" | "/v1/sync/rejections" => {
            Form::Pattern(CURSOR_NUMBER)
        }
        _ => return None,
    })
}

const CURSOR_UUID: &str = "^[0-9a-f]{32}$";
const CURSOR_NUMBER: &str = "^[0-9]{1,18}$";

/// Parses an optional parameter with a schema parser, naming the parameter on failure.
pub fn parse_opt<T>(
    name: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, schema::ParseError>,
) -> Result<Option<T>, Error> {
    value
        .map(|v| parse(v).map_err(|e| Error::invalid(name, e.reason)))
        .transpose()
}

pub fn limit(value: Option<&str>) -> Result<usize, Error> {
    match value {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(Error::invalid(
                "limit",
                format!("{v:?} is not a whole number from 1 to {MAX_LIMIT}"),
            )),
        },
    }
}

pub fn timestamp(name: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, Error> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    Error::invalid(
                        name,
                        format!("{v:?} is not an RFC 3339 time (2024-01-23T00:00:00Z)"),
                    )
                })
        })
        .transpose()
}

/// A free-text search, already held to its form (1 to 100 characters): surrounding
/// space is ignored, and a search of only spaces searches for nothing, as if absent.
pub fn search(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A list position: the last key of the page, in the form [`cursor_form`] declares.
pub trait CursorKey: Sized {
    fn encode(&self) -> String;
    fn decode(text: &str) -> Option<Self>;
}

impl CursorKey for uuid::Uuid {
    fn encode(&self) -> String {
        self.simple().to_string()
    }
    fn decode(text: &str) -> Option<Self> {
        (text.len() == 32)
            .then(|| uuid::Uuid::try_parse(text).ok())
            .flatten()
    }
}

impl CursorKey for i64 {
    fn encode(&self) -> String {
        self.to_string()
    }
    fn decode(text: &str) -> Option<Self> {
        text.parse().ok().filter(|n| *n >= 0)
    }
}

impl CursorKey for schema::AdminCode {
    fn encode(&self) -> String {
        self.as_str().to_owned()
    }
    fn decode(text: &str) -> Option<Self> {
        schema::AdminCode::parse(text).ok()
    }
}

pub fn encode_cursor<K: CursorKey>(key: &K) -> String {
    key.encode()
}

/// The position a client passed back (`raw_query` has held it to its form already).
pub fn decode_cursor<K: CursorKey>(value: Option<&str>) -> Result<Option<K>, Error> {
    value
        .map(|v| {
            K::decode(v).ok_or_else(|| {
                Error::invalid(
                    "cursor",
                    "is not a position in this list (pass back `next_cursor` as given)",
                )
            })
        })
        .transpose()
}

/// The UUID in path segment `name` of `req`.
pub fn path_uuid(req: &HttpRequest, name: &'static str) -> Result<uuid::Uuid, Error> {
    let value = path_segment(req, name)?;
    uuid::Uuid::parse_str(&value).map_err(|_| Error::InvalidPath {
        name,
        reason: "is not a UUID (8-4-4-4-12 hexadecimal digits)".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_in_rust() {
        for p in [
            ADMIN_CODE,
            DISTRICT_CODE,
            MANAGER,
            PERIOD,
            CURSOR_UUID,
            CURSOR_NUMBER,
        ] {
            assert!(regex::Regex::new(p).is_ok(), "{p}");
        }
    }

    /// The admin-code pattern accepts exactly what `AdminCode::parse` accepts among
    /// ASCII digit strings of every length up to 8 (sampled densely).
    #[test]
    fn the_admin_code_pattern_is_what_the_parser_accepts() {
        let form = Form::Pattern(ADMIN_CODE);
        let mut checked = 0;
        for len in 1..=9 {
            for n in (0..10u64.pow(len.min(5))).step_by(13) {
                let head = format!("{n:0width$}", width = len.min(5) as usize);
                for tail in ["", "000", "001", "010", "100", "120"] {
                    let code = format!("{head}{tail}");
                    if code.len() > 10 {
                        continue;
                    }
                    let pattern = form.check(&code).is_ok();
                    let parser = schema::AdminCode::parse(&code).is_ok();
                    assert_eq!(pattern, parser, "{code}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 5_000);
    }

    #[test]
    fn forms_refuse_nul_and_empty_values() {
        for form in [
            Form::Text { max: 100 },
            Form::Pattern(ADMIN_CODE),
            Form::OneOf(vec!["a"]),
            Form::Uuid,
        ] {
            assert!(form.check("").unwrap_err().contains("empty"));
            assert!(form.check("a\0b").unwrap_err().contains("NUL"));
        }
        assert!(Form::Text { max: 3 }.check("ចាន់").is_err());
        assert!(Form::Text { max: 4 }.check("ចាន់").is_ok());
    }

    #[test]
    fn times_uuids_and_numbers_are_read_as_the_spec_writes_them() {
        assert!(Form::DateTime.check("2024-01-23T00:00:00Z").is_ok());
        assert!(Form::DateTime.check("2024-01-23t00:00:00+07:00").is_ok());
        assert!(Form::DateTime.check("2024-01-23 00:00:00Z").is_err());
        assert!(Form::DateTime.check("2024-01-23").is_err());
        let id = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert!(Form::Uuid.check(id).is_ok());
        assert!(Form::Uuid.check(&id.to_uppercase()).is_ok());
        assert!(Form::Uuid.check(&id.replace('-', "")).is_err());
        assert!(Form::Uuid.check(&format!("{{{id}}}")).is_err());
        let limit = Form::Integer { min: 1, max: 1000 };
        assert!(limit.check("1000").is_ok());
        for bad in ["0", "1001", "+5", "1.0", " 5", "5 "] {
            assert!(limit.check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_cursor_of_the_declared_form_is_a_position() {
        let id = uuid::Uuid::new_v4();
        let text = encode_cursor(&id);
        assert!(Form::Pattern(CURSOR_UUID).check(&text).is_ok());
        assert_eq!(
            decode_cursor::<uuid::Uuid>(Some(&text)).ok().flatten(),
            Some(id)
        );
        assert!(
            Form::Pattern(CURSOR_NUMBER)
                .check(&encode_cursor(&42i64))
                .is_ok()
        );
        assert_eq!(decode_cursor::<i64>(Some("42")).ok().flatten(), Some(42));
        assert!(decode_cursor::<uuid::Uuid>(Some("zz")).is_err());
    }

    #[test]
    fn a_blank_search_searches_for_nothing() {
        assert_eq!(search(Some("  ")), None);
        assert_eq!(search(Some(" ចាន់ ")).as_deref(), Some("ចាន់"));
    }

    #[test]
    fn cursors_round_trip_and_refuse_what_no_page_ends_with() {
        let id = uuid::Uuid::new_v4();
        assert_eq!(<uuid::Uuid as CursorKey>::decode(&id.encode()), Some(id));
        // The hyphenated form is a UUID but not a cursor: cursors are 32 digits.
        assert_eq!(<uuid::Uuid as CursorKey>::decode(&id.to_string()), None);
        assert_eq!(i64::decode(&1234_i64.encode()), Some(1234));
        assert_eq!(i64::decode("-1"), None);
        assert_eq!(i64::decode("12a"), None);
        let code = schema::AdminCode::parse("010203").expect("code");
        assert_eq!(schema::AdminCode::decode(&code.encode()), Some(code));
        assert_eq!(schema::AdminCode::decode("99"), None);
        assert_eq!(decode_cursor::<i64>(None).ok().flatten(), None);
        match decode_cursor::<i64>(Some("-5")) {
            Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, "cursor"),
            other => panic!("expected an invalid cursor, got {other:?}"),
        }
    }

    /// Each list's cursor form is the form its key encodes to, and a route without
    /// paging has none.
    #[test]
    fn each_list_declares_the_cursor_form_of_its_key() {
        let uuid_cursor = encode_cursor(&uuid::Uuid::new_v4());
        for route in [
            "/v1/staff",
            "/v1/facilities",
            "/v1/facilities/{id}/staff",
            "/v1/discrepancies",
        ] {
            let form = form(route, Location::Query, "cursor").expect(route);
            assert!(form.check(&uuid_cursor).is_ok(), "{route}");
            assert!(form.check("42").is_err(), "{route}");
        }
        for route in [
            "/v1/changes",
            "/v1/facilities/{id}/rosters",
            "/v1/sync/runs",
            "/v1/sync/rejections",
        ] {
            let form = form(route, Location::Query, "cursor").expect(route);
            assert!(form.check(&encode_cursor(&42_i64)).is_ok(), "{route}");
            assert!(form.check(&uuid_cursor).is_err(), "{route}");
        }
        assert!(form("/v1/admin-units", Location::Query, "cursor").is_some());
        assert_eq!(
            form("/v1/reports/coverage", Location::Query, "cursor"),
            None
        );
    }

    #[test]
    fn a_name_can_mean_different_things_on_different_routes() {
        let status = |route| form(route, Location::Query, "status").expect("status");
        assert!(status("/v1/discrepancies").check("resolved").is_ok());
        assert!(status("/v1/discrepancies").check("active").is_err());
        assert!(status("/v1/staff").check("active").is_ok());
        let level = |route| form(route, Location::Query, "level").expect("level");
        assert!(level("/v1/reports/coverage").check("village").is_err());
        assert!(level("/v1/admin-units").check("village").is_ok());
        assert!(matches!(
            form("/v1/anything", Location::Path, "id"),
            Some(Form::Uuid)
        ));
        assert!(
            form("/v1/sync/{ministry}", Location::Path, "ministry")
                .expect("ministry")
                .check("mcs")
                .is_ok()
        );
        assert_eq!(form("/v1/staff", Location::Query, "no_such"), None);
        assert_eq!(form("/v1/staff", Location::Header, "X-Other"), None);
    }

    #[test]
    fn limits_default_and_stay_in_range() {
        assert_eq!(limit(None).ok(), Some(DEFAULT_LIMIT));
        assert_eq!(limit(Some("1")).ok(), Some(1));
        assert_eq!(limit(Some("1000")).ok(), Some(MAX_LIMIT));
        for bad in ["0", "1001", "-1", "ten"] {
            match limit(Some(bad)) {
                Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, "limit"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn times_and_schema_values_are_read_naming_the_parameter_at_fault() {
        let t = timestamp("updated_since", Some("2024-01-23T07:00:00+07:00"))
            .ok()
            .flatten()
            .expect("a time");
        assert_eq!(t.to_rfc3339(), "2024-01-23T00:00:00+00:00");
        match timestamp("updated_since", Some("yesterday")) {
            Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, "updated_since"),
            other => panic!("{other:?}"),
        }
        assert!(parse_opt("admin_unit", None, schema::AdminCode::parse).is_ok_and(|v| v.is_none()));
        match parse_opt("admin_unit", Some("99"), schema::AdminCode::parse) {
            Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, "admin_unit"),
            other => panic!("{other:?}"),
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read only to be refused
    struct ListQuery {
        q: Option<String>,
        limit: Option<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct RequiredQuery {
        level: String,
    }

    fn query(q: &str) -> actix_web::HttpRequest {
        actix_web::test::TestRequest::get()
            .uri(&format!("/v1/staff?{q}"))
            .to_http_request()
    }

    #[test]
    fn a_query_is_held_to_its_forms_and_its_fields() {
        let q: ListQuery = raw_query(&query("q=%E1%9E%85&limit=5")).expect("valid");
        assert_eq!(q.limit.as_deref(), Some("5"));
        let refused = |q: &str| raw_query::<ListQuery>(&query(q)).expect_err(q);
        assert!(matches!(refused("other=1"), Error::UnknownParameter(n) if n == "other"));
        for (q, named, why) in [
            ("limit=1&limit=2", "limit", "more than once"),
            ("limit=0", "limit", "whole number"),
            ("limit=", "limit", "empty"),
            ("q=a%00b", "q", "NUL"),
        ] {
            match refused(q) {
                Error::InvalidParameter { name, reason } => {
                    assert_eq!(name, named, "{q}");
                    assert!(reason.contains(why), "{q}: {reason}");
                }
                other => panic!("{q}: {other:?}"),
            }
        }
        match raw_query::<RequiredQuery>(&query("")) {
            Err(Error::InvalidParameter { name, reason }) => {
                assert_eq!((name.as_str(), reason.as_str()), ("level", "is required"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_path_uuid_names_its_segment_when_it_is_not_one() {
        let req = |id: &str| {
            actix_web::test::TestRequest::get()
                .param("id", id.to_owned())
                .to_http_request()
        };
        let id = uuid::Uuid::new_v4();
        assert_eq!(path_uuid(&req(&id.to_string()), "id").ok(), Some(id));
        match path_uuid(&req("42"), "id") {
            Err(Error::InvalidPath { name, .. }) => assert_eq!(name, "id"),
            other => panic!("{other:?}"),
        }
    }
}
