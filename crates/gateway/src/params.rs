//! Reading query parameters at the edge: the raw strings of a request become domain
//! values here, before any I/O, and every failure names the parameter at fault.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::Error;

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// Reads the query string into `T`, a struct of optional strings that refuses unknown
/// fields, so an unknown or repeated parameter is a 400 naming it.
pub fn raw_query<T: DeserializeOwned>(query_string: &str) -> Result<T, Error> {
    serde_urlencoded::from_str(query_string).map_err(|e| {
        let msg = e.to_string();
        let named = msg.split('`').nth(1).unwrap_or("?").to_owned();
        if msg.starts_with("unknown field") {
            Error::UnknownParameter(named)
        } else if msg.starts_with("duplicate field") {
            Error::invalid(&named, "is given more than once")
        } else {
            Error::invalid(&named, msg)
        }
    })
}

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

/// A free-text search: trimmed, 1 to 100 characters.
pub fn search(value: Option<&str>) -> Result<Option<String>, Error> {
    let Some(v) = value.map(str::trim) else {
        return Ok(None);
    };
    if v.is_empty() || v.chars().count() > 100 {
        return Err(Error::invalid("q", "must be 1 to 100 characters"));
    }
    Ok(Some(v.to_owned()))
}

/// An opaque list position. Clients pass back what `next_cursor` gave them; the
/// encoding may change between versions, so it carries its own version tag.
pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("c1:{key}"))
}

pub fn decode_cursor<T>(
    value: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, Error> {
    let Some(v) = value else { return Ok(None) };
    let bad = || {
        Error::invalid(
            "cursor",
            "is not a cursor this API issued (pass back `next_cursor` as given)",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(v).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let key = text.strip_prefix("c1:").ok_or_else(bad)?;
    parse(key).map(Some).ok_or_else(bad)
}

pub fn path_uuid(name: &'static str, value: &str) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::parse_str(value).map_err(|_| Error::InvalidPath {
        name,
        reason: format!("{value:?} is not a UUID"),
    })
}
